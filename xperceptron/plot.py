"""Plots of fitted estimators (the optional ``plot`` extra: matplotlib).

Both functions work on estimators fitted on any backend: what they draw is read to the host
once. They return matplotlib objects and draw on ``ax`` when one is given. Legends never
cover what is drawn, epoch axes have integer ticks, and titles say what is drawn.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._base import check_is_fitted
from ._frames import check_feature_names, feature_names, frame_values, is_frame
from ._labels import find_classes
from ._namespace import get_namespace, to_numpy
from ._validation import check_labels, host_values

__all__ = ["decision_boundary", "loss_curve"]


def _axes(ax: Any) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    return ax


def _headroom(ax: Any, fraction: float = 0.3) -> None:
    """Raise the top of the y axis so that the curves keep out of its top ``fraction``:
    the legend's place (a curve may start high on the left and end high on the right)."""
    low, high = ax.get_ylim()
    ax.set_ylim(low, high + (high - low) * fraction / (1.0 - fraction))


def loss_curve(estimator: Any, ax: Any = None) -> Any:
    """The training loss per epoch, and the validation score when early stopping held one out.

    For a :class:`~xperceptron.Perceptron`, the misclassified samples per iteration (beside
    its log-loss with ``rule="logistic"``).

    Parameters
    ----------
    estimator : a fitted MLPClassifier, MLPRegressor or Perceptron
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure otherwise.

    Returns
    -------
    matplotlib.axes.Axes
        The loss axes. The validation score or error count, when drawn, is on a twin axes
        that shares its x axis (``ax.figure.axes[-1]``). The legend sits in a band kept
        free above the curves.
    """
    from matplotlib.ticker import MaxNLocator

    check_is_fitted(estimator)
    ax = _axes(ax)
    curve, label = estimator.loss_curve_, "training loss"
    second, second_label = getattr(estimator, "validation_scores_", None), "validation score"
    step = "epoch"
    if hasattr(estimator, "errors_"):  # the Perceptron: its errors, and its loss if any
        second, second_label, step = estimator.errors_, "misclassified samples", "iteration"
        if not curve:
            curve, label, second = estimator.errors_, "misclassified samples", None
    epochs = np.arange(1, len(curve) + 1)
    ax.plot(epochs, curve, color="tab:blue", label=label)
    ax.set_xlabel(step)
    ax.set_ylabel("loss" if label == "training loss" else label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    drawn = label if second is None else f"{label} and {second_label}"
    ax.set_title(f"{type(estimator).__name__}: {drawn} per {step}")
    _headroom(ax)
    handles = ax.get_legend_handles_labels()[0]
    if second is not None:
        right = ax.twinx()
        right.plot(epochs[: len(second)], second, color="tab:orange", label=second_label)
        right.set_ylabel(second_label)
        _headroom(right)
        handles += right.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="upper center", ncols=len(handles), frameon=False)
    return ax


def decision_boundary(
    estimator: Any, X: Any, y: Any, ax: Any = None, *, resolution: int = 200
) -> Any:
    """The predicted class over the plane, with the samples on top (2-feature inputs).

    Parameters
    ----------
    estimator : a fitted classifier of 2 features
    X : array of shape (n_samples, 2), any backend, or a pandas DataFrame
        A DataFrame's columns are checked against ``feature_names_in_`` as ``predict``
        checks them, and name the axes.
    y : labels of shape (n_samples,) (a pandas Series too)
    resolution : int
        Grid points along each axis.

    Returns
    -------
    matplotlib.axes.Axes
    """
    check_is_fitted(estimator)
    if estimator.n_features_in_ != 2:
        raise ValueError(
            f"decision_boundary draws 2-feature inputs; the estimator has "
            f"{estimator.n_features_in_} features."
        )
    if getattr(estimator, "out_activation_", None) == "logistic" and estimator.n_outputs_ > 1:
        raise ValueError(
            "decision_boundary draws one label per point; this classifier is multilabel "
            f"({estimator.n_outputs_} labels): plot one label at a time."
        )
    # X's column names are checked as predict checks them; the grid, made here, has none.
    names = feature_names(X)
    check_feature_names(estimator, names)
    points = frame_values(X, "X") if is_frame(X) else host_values(X, "X")
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(
            f"X must have shape (n_samples, 2), as the estimator was fitted; got {points.shape}."
        )
    # Every label must be a class: its colour is its class's.
    _, sample_codes = find_classes(check_labels(y, points.shape[0]), estimator.classes_)
    low, high = points.min(axis=0), points.max(axis=0)
    margin = 0.1 * np.maximum(high - low, 1.0)
    xs = np.linspace(low[0] - margin[0], high[0] + margin[0], resolution)
    ys = np.linspace(low[1] - margin[1], high[1] + margin[1], resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    grid = np.column_stack([grid_x.ravel(), grid_y.ravel()])
    # The grid goes to the estimator's namespace and device, in its dtype.
    fitted = estimator.coefs_[0] if hasattr(estimator, "coefs_") else estimator.coef_
    xp, device = get_namespace(fitted=fitted)
    grid_on_device = xp.asarray(grid.astype(to_numpy(fitted).dtype), device=device)
    classes = np.asarray(estimator.classes_)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "X does not have valid feature names", UserWarning)
        predicted = to_numpy(estimator.predict(grid_on_device))
    codes = np.searchsorted(classes, predicted).reshape(grid_x.shape)
    ax = _axes(ax)
    cmap = "coolwarm" if classes.size == 2 else "viridis"
    ax.contourf(grid_x, grid_y, codes, levels=np.arange(classes.size + 1) - 0.5, cmap=cmap,
                alpha=0.35)  # fmt: skip
    scatter = ax.scatter(points[:, 0], points[:, 1], c=sample_codes, cmap=cmap, edgecolors="k",
                         vmin=0, vmax=max(classes.size - 1, 1), s=60)  # fmt: skip
    handles, _ = scatter.legend_elements()
    # Outside the axes, to their right: inside, it would hide part of the regions.
    ax.legend(handles, [str(c) for c in classes], title="class", loc="upper left",
              bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)  # fmt: skip
    ax.set_xlabel("x1" if names is None else names[0])
    ax.set_ylabel("x2" if names is None else names[1])
    ax.set_title(f"{type(estimator).__name__}: predicted class and samples")
    return ax
