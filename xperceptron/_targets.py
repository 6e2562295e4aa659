"""What the MLPs learn to predict: targets encoded on the device, the held-out split, and
its scores (accuracy, R²) computed on the device."""

from __future__ import annotations

import math
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
    "REGRESSION_OUTPUTS",
    "accuracy",
    "check_poisson_targets",
    "classification_targets",
    "early_stopping_split",
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
    y: Any,
    X: Array,
    *,
    xp: Namespace,
    device: Device,
    fitted: Any,
    classes: Any,
    same_classes: bool = False,
) -> tuple[Array, dict[str, Any], np.ndarray[Any, Any] | None]:
    """0/1 targets on the device, the attributes they imply (``classes_``,
    ``out_activation_``), and the host labels to stratify on (None for multilabel).

    ``fitted`` are the classes of a model being continued (or None); ``classes`` those a
    first ``partial_fit`` announces. With ``same_classes`` (a warm start), ``y`` must hold
    exactly the fitted classes, as scikit-learn requires.
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
    if fitted is not None and same_classes and not np.array_equal(np.unique(labels), fitted):
        raise ValueError(
            "warm_start can only be used where `y` has the same classes as in the previous "
            f"call to fit. Previously got {fitted}, `y` has {np.unique(labels)}"
        )
    if fitted is not None:
        given = None if classes is None else host_values(classes, "classes")
        if given is not None and not np.array_equal(np.unique(given), fitted):
            raise ValueError(
                f"classes={given.tolist()} differs from the classes the model "
                f"was fitted with, {fitted.tolist()}; fit a new estimator to change them."
            )
        classes = fitted
    # One class is fitted as scikit-learn fits it: one logistic unit, every target 0.
    known, indices = find_classes(labels, classes, min_classes=1)
    binary = known.shape[0] <= 2
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


REGRESSION_OUTPUTS = {"squared_error": "identity", "poisson": "exp"}
"""A regressor's ``loss`` -> its output activation (``out_activation_``)."""


def check_poisson_targets(Y: Array, *, xp: Namespace) -> None:
    """Raise ``ValueError`` where finite targets ``Y`` hold a negative value (Poisson)."""
    if bool(xp.any(Y < 0)):
        smallest = float(xp.min(Y))
        raise ValueError(
            f"loss='poisson' requires non-negative targets y, but y has negative values "
            f"(the smallest is {smallest!r}); use loss='squared_error' for such targets."
        )


def accuracy(
    output: Array, Y: Array, *, out_activation: str, xp: Namespace, weights: Array | None = None
) -> Array:
    """The fraction of rows predicted right (every label right, for multilabel), or their
    share of the total weight."""
    return _average(_right(output, Y, out_activation=out_activation, xp=xp), weights, xp=xp)


def _right(output: Array, Y: Array, *, out_activation: str, xp: Namespace) -> Array:
    """1 for each row predicted right (every label, for multilabel), else 0."""
    if out_activation == "softmax":
        _, device = get_namespace(output=output)
        right = argmax_rows(output, xp=xp, device=device) == argmax_rows(Y, xp=xp, device=device)
    else:
        right = xp.all((output > 0.5) == (Y > 0.5), axis=1)
    return xp.astype(right, output.dtype)


def _average(values: Array, weights: Array | None, *, xp: Namespace) -> Array:
    """The mean of ``values`` over axis 0, or their weighted mean (``weights`` 1-D)."""
    if weights is None:
        return xp.mean(values, axis=0)
    column = weights if values.ndim == 1 else xp.reshape(weights, (-1, 1))
    return xp.sum(values * column, axis=0) / xp.sum(weights)


def r2(Y: Array, predicted: Array, *, xp: Namespace, weights: Array | None = None) -> Array:
    """R² averaged over outputs, as scikit-learn's ``r2_score`` (a constant target that is
    predicted exactly scores 1, otherwise 0), with sample ``weights`` as it weighs them.

    ``Y`` and ``predicted`` are 1-D or 2-D; a 1-D array is one output. Their shapes must then
    agree: nothing is broadcast.
    """
    Y, predicted = (a[:, None] if a.ndim == 1 else a for a in (Y, predicted))
    if tuple(Y.shape) != tuple(predicted.shape):
        raise ValueError(
            f"y has {Y.shape[0]} samples and {Y.shape[1]} output(s) but the predictions have "
            f"{predicted.shape[0]} and {predicted.shape[1]}; they must match."
        )
    w = 1.0 if weights is None else xp.reshape(weights, (-1, 1))
    residual = xp.sum(w * (Y - predicted) ** 2, axis=0)
    total = xp.sum(w * (Y - _average(Y, weights, xp=xp)) ** 2, axis=0)
    constant = total == 0
    safe_total = xp.where(constant, 1.0, total)
    exact = xp.astype(residual == 0, residual.dtype)
    scores = xp.where(constant, exact, 1.0 - residual / safe_total)
    return xp.mean(scores)


def validation_score(output: Array, Y: Array, *, out_activation: str, xp: Namespace,
                     weights: Array | None = None) -> Array:  # fmt: skip
    """The early-stopping score of ``output`` against ``Y``: accuracy for a classifier's
    outputs, R² for a regressor's (scikit-learn's ``score``), weighted where given."""
    if out_activation in REGRESSION_OUTPUTS.values():
        return r2(Y, output, xp=xp, weights=weights)
    return accuracy(output, Y, out_activation=out_activation, xp=xp, weights=weights)


def validation_figures(output: Array, Y: Array, *, out_activation: str, xp: Namespace,
                       weights: Array | None = None) -> Array:  # fmt: skip
    """The sums a validation score is made of (1-D), which add up over disjoint sets of
    rows: for a classifier (accuracy) the weight of the rows predicted right and the total
    weight; for a regressor (R²) the weighted sum of squared residuals of each output.
    :func:`score_of_figures` makes the score."""
    if out_activation not in REGRESSION_OUTPUTS.values():
        right = _right(output, Y, out_activation=out_activation, xp=xp)
        w = xp.ones_like(right) if weights is None else weights
        return xp.stack([xp.sum(w * right), xp.sum(w)])
    return xp.sum(_column(Y, weights, xp=xp) * (Y - output) ** 2, axis=0)


def mean_figures(Y: Array, *, xp: Namespace, weights: Array | None = None) -> Array:
    """The total weight and the weighted sum of each output of ``Y``, which add up over
    disjoint sets of rows (the first pass of R²'s total sum of squares)."""
    w = _column(Y, weights, xp=xp)
    return xp.concat([xp.reshape(xp.sum(w), (1,)), xp.sum(w * Y, axis=0)])


def spread_figures(Y: Array, means: Array, *, xp: Namespace, weights: Array | None = None) -> Array:
    """The weighted sum of squares of ``Y`` about the mean that the summed
    :func:`mean_figures` ``means`` give (the second pass: no cancellation)."""
    mean = means[1:] / means[0]
    return xp.sum(_column(Y, weights, xp=xp) * (Y - mean) ** 2, axis=0)


def _column(Y: Array, weights: Array | None, *, xp: Namespace) -> Array:
    return xp.ones_like(Y[:, :1]) if weights is None else xp.reshape(weights, (-1, 1))


def score_of_figures(
    figures: Array, *, out_activation: str, xp: Namespace, total: Array | None = None
) -> Array:
    """The validation score of summed :func:`validation_figures`: the accuracy, or R²
    averaged over outputs, ``total`` being the summed :func:`spread_figures`."""
    if out_activation not in REGRESSION_OUTPUTS.values():
        return figures[0] / figures[1]
    if total is None:
        raise ValueError("R² needs the total sum of squares (spread_figures).")
    constant = total == 0
    safe_total = xp.where(constant, 1.0, total)
    exact = xp.astype(figures == 0, figures.dtype)
    return xp.mean(xp.where(constant, exact, 1.0 - figures / safe_total))


def early_stopping_split(
    n_samples: int,
    validation_fraction: float,
    labels: np.ndarray[Any, Any] | None,
    classes: np.ndarray[Any, Any] | None,
    rng: Any,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The MLPs' early-stopping split, scikit-learn's: :func:`validation_split` stratified,
    where a binary classifier's ``labels`` are given, on its binarized y (the classes named
    ``'False'`` and ``'True'``, in the order of ``classes``).

    Raises
    ------
    ValueError
        Where :func:`validation_split` does, and for fewer than 2 validation rows.
    """
    strata = None
    if labels is not None:
        if classes is None:
            raise TypeError("labels to stratify on come with their classes.")
        strata = np.where(labels == classes[-1], "True", "False")
    train, valid = validation_split(n_samples, validation_fraction, strata, rng)
    if valid.shape[0] < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' or the size of "
            "your dataset."
        )
    return train, valid


def validation_split(
    n_samples: int,
    validation_fraction: float,
    strata: np.ndarray[Any, Any] | None,
    rng: Any,
    *,
    fall_back: bool = False,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Training and validation rows, drawn from ``rng`` as scikit-learn's
    ``train_test_split(..., test_size=validation_fraction, stratify=strata)`` draws them.

    ``ceil(validation_fraction * n_samples)`` rows are held out. Without ``strata`` they are
    the first of one permutation, the training rows the rest (``ShuffleSplit``); with
    ``strata`` each class gives its share to each side (``StratifiedShuffleSplit``). The
    rows come in the order drawn, not sorted: scikit-learn trains on them in that order.
    With ``fall_back``, strata that cannot be split (below) give an unstratified split.

    Raises
    ------
    ValueError
        With scikit-learn's messages: no training row left; with ``strata`` (unless
        ``fall_back``), a class of one member, or fewer rows on a side than classes.
    """
    n_valid = math.ceil(validation_fraction * n_samples)
    n_train = n_samples - n_valid
    if n_train <= 0:
        raise ValueError(
            f"With n_samples={n_samples}, test_size={validation_fraction} and "
            "train_size=None, the resulting train set will be empty. Adjust any of the "
            "aforementioned parameters."
        )
    if strata is not None:
        try:
            return _stratified_split(strata, n_train, n_valid, rng)
        except ValueError:  # raised before any draw
            if not fall_back:
                raise
    order = rng.permutation(n_samples)
    return order[n_valid:], order[:n_valid]


def _stratified_split(
    strata: np.ndarray[Any, Any], n_train: int, n_valid: int, rng: Any
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """``n_train`` and ``n_valid`` rows, each class giving its share to each side."""
    classes, members, counts = np.unique(strata, return_inverse=True, return_counts=True)
    if counts.min() < 2:
        raise ValueError(
            "The least populated classes in y have only 1 member, which is too few. The "
            "minimum number of groups for any class cannot be less than 2. Classes with too "
            f"few members are: {classes[counts < 2].tolist()}"
        )
    for side, size in (("train_size", n_train), ("test_size", n_valid)):
        if size < classes.shape[0]:
            raise ValueError(
                f"The {side} = {size} should be greater or equal to the number of "
                f"classes = {classes.shape[0]}"
            )
    # Each class's rows, in the order they come.
    by_class = np.split(np.argsort(members.reshape(-1), kind="stable"), np.cumsum(counts)[:-1])
    train_counts = _apportion(counts, n_train, rng)
    valid_counts = _apportion(counts - train_counts, n_valid, rng)
    train, valid = [], []
    for members_of_class, n_t, n_v in zip(by_class, train_counts, valid_counts, strict=True):
        rows = members_of_class[rng.permutation(members_of_class.shape[0])]
        train.append(rows[:n_t])
        valid.append(rows[n_t : n_t + n_v])
    train_rows, valid_rows = np.concatenate(train), np.concatenate(valid)
    train_rows = train_rows[rng.permutation(train_rows.shape[0])]
    return train_rows, valid_rows[rng.permutation(valid_rows.shape[0])]


def _apportion(counts: np.ndarray[Any, Any], total: int, rng: Any) -> np.ndarray[Any, Any]:
    """``total`` draws shared among classes of ``counts`` members as scikit-learn shares
    them: each class the floor of its proportional share, then one more to each class of
    the largest remainders, ties broken by a draw (``rng.choice``), until ``total``."""
    share = counts / counts.sum() * total
    given: np.ndarray[Any, Any] = np.floor(share)
    missing = int(total - given.sum())
    remainders = share - given
    for remainder in np.unique(remainders)[::-1]:
        if missing == 0:
            break
        tied = np.flatnonzero(remainders == remainder)
        chosen = rng.choice(tied, size=min(tied.shape[0], missing), replace=False)
        given[chosen] += 1
        missing -= chosen.shape[0]
    return given.astype(np.int64)
