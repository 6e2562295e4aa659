"""What the MLPs learn to predict: targets encoded on the device, the held-out split, and
its scores (accuracy, R²) computed on the device."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._labels import encode, find_classes
from ._namespace import (
    Array,
    Device,
    Namespace,
    argmax_rows,
    get_namespace,
    is_array,
    to_numpy,
)
from ._validation import as_float_array, check_finite, check_labels, host_values

__all__ = [
    "accuracy",
    "classification_targets",
    "is_indicator",
    "r2",
    "regression_targets",
    "validation_split",
]


def is_indicator(y: Any) -> bool:
    """Whether ``y`` is 2-D with several columns: a multilabel indicator for a classifier."""
    if is_array(y) or hasattr(y, "shape"):  # arrays, and pandas objects
        shape = tuple(y.shape)
    else:
        try:
            shape = np.asarray(y).shape
        except ValueError:  # ragged: check_labels says so
            return False
    return len(shape) == 2 and shape[1] > 1


def classification_targets(
    y: Any, X: Array, *, xp: Namespace, device: Device, fitted: Any, classes: Any
) -> tuple[Array, dict[str, Any], np.ndarray[Any, Any] | None]:
    """0/1 targets on the device, the attributes they imply (``classes_``,
    ``out_activation_``), and the host labels to stratify on (None for multilabel).

    ``fitted`` are the classes of a model being continued (or None); ``classes`` those a
    first ``partial_fit`` announces.
    """
    n_samples = X.shape[0]
    if is_indicator(y):
        indicator = as_float_array(y, xp=xp, device=device, name="y", dtype=X.dtype)
        if indicator.shape[0] != n_samples:
            raise ValueError(
                f"X has {n_samples} samples but y has {indicator.shape[0]}; they must match."
            )
        values = to_numpy(indicator)
        if not np.all((values == 0) | (values == 1)):
            raise ValueError("A 2-D y must be a 0/1 multilabel indicator matrix (no NaN or NA).")
        labels = np.arange(indicator.shape[1])
        if fitted is not None and not np.array_equal(labels, fitted):
            raise ValueError(
                f"y has {labels.shape[0]} labels but the model was fitted with {fitted.shape[0]}."
            )
        return indicator, {"classes_": labels, "out_activation_": "logistic"}, None

    labels = check_labels(y, n_samples)
    if fitted is not None:
        given = None if classes is None else host_values(classes, "classes")
        if given is not None and not np.array_equal(np.unique(given), fitted):
            raise ValueError(
                f"classes={given.tolist()} differs from the classes the model "
                f"was fitted with, {fitted.tolist()}; fit a new estimator to change them."
            )
        classes = fitted
    known, indices = find_classes(labels, classes)
    binary = known.shape[0] == 2
    units = [1] if binary else range(known.shape[0])
    Y = encode(indices, units, dtype=X.dtype, xp=xp, device=device)
    out_activation = "logistic" if binary else "softmax"
    return Y, {"classes_": known, "out_activation_": out_activation}, labels


def regression_targets(y: Any, like: Array, *, xp: Namespace, device: Device) -> Array:
    """``y`` as a finite float array of ``like``'s dtype, 1-D or 2-D, one row per sample."""
    if y is None:
        raise ValueError("This estimator requires y to be passed, but the target y is None.")
    Y = as_float_array(y, xp=xp, device=device, name="y", dtype=like.dtype)
    if Y.ndim not in (1, 2):
        raise ValueError(f"y must be 1-D or 2-D, got shape {tuple(Y.shape)}.")
    if Y.shape[0] != like.shape[0]:
        raise ValueError(f"X has {like.shape[0]} samples but y has {Y.shape[0]}; they must match.")
    check_finite(Y, xp=xp, name="y")
    return Y


def accuracy(output: Array, Y: Array, *, out_activation: str, xp: Namespace) -> Array:
    """The fraction of rows predicted right (every label right, for multilabel)."""
    if out_activation == "softmax":
        _, device = get_namespace(output=output)
        right = argmax_rows(output, xp=xp, device=device) == argmax_rows(Y, xp=xp, device=device)
    else:
        right = xp.all((output > 0.5) == (Y > 0.5), axis=1)
    return xp.mean(xp.astype(right, output.dtype))


def r2(Y: Array, predicted: Array, *, xp: Namespace) -> Array:
    """R² averaged over outputs, as scikit-learn's ``r2_score`` (a constant target that is
    predicted exactly scores 1, otherwise 0).

    ``Y`` and ``predicted`` are 1-D or 2-D; a 1-D array is one output. Their shapes must then
    agree: nothing is broadcast.
    """
    Y, predicted = (a[:, None] if a.ndim == 1 else a for a in (Y, predicted))
    if tuple(Y.shape) != tuple(predicted.shape):
        raise ValueError(
            f"y has {Y.shape[0]} samples and {Y.shape[1]} output(s) but the predictions have "
            f"{predicted.shape[0]} and {predicted.shape[1]}; they must match."
        )
    residual = xp.sum((Y - predicted) ** 2, axis=0)
    total = xp.sum((Y - xp.mean(Y, axis=0)) ** 2, axis=0)
    constant = total == 0
    safe_total = xp.where(constant, 1.0, total)
    exact = xp.astype(residual == 0, residual.dtype)
    scores = xp.where(constant, exact, 1.0 - residual / safe_total)
    return xp.mean(scores)


def validation_split(
    n_samples: int,
    validation_fraction: float,
    strata: np.ndarray[Any, Any] | None,
    rng: np.random.Generator,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Training and validation indices, stratified on ``strata`` when every class can give
    a sample to each side."""
    n_valid = int(np.ceil(validation_fraction * n_samples))
    if not 1 <= n_valid < n_samples:
        raise ValueError(
            f"validation_fraction={validation_fraction} leaves {n_valid} of {n_samples} "
            "samples for validation; early stopping needs at least one on each side."
        )
    order = rng.permutation(n_samples)
    if strata is not None:
        _, counts = np.unique(strata, return_counts=True)
        if counts.min() >= 2 and n_valid >= counts.shape[0]:
            # Group the shuffled samples by class, then take evenly spaced positions: each
            # class gives its share (to within one) and which members it gives is random.
            order = order[np.argsort(strata[order], kind="stable")]
    picks = np.zeros(n_samples, dtype=bool)
    picks[((np.arange(n_valid) + 0.5) * n_samples / n_valid).astype(np.int64)] = True
    return np.sort(order[~picks]), np.sort(order[picks])
