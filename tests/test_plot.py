"""Plots render with Agg, write a PNG of the expected size, and draw the estimator's data."""

from __future__ import annotations

import struct
import warnings

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from xperceptron import ConvergenceWarning, MLPClassifier, Perceptron  # noqa: E402
from xperceptron._namespace import to_numpy  # noqa: E402
from xperceptron.datasets import logic_gate  # noqa: E402
from xperceptron.plot import decision_boundary, loss_curve  # noqa: E402


def _png_size(path):
    with open(path, "rb") as file:
        header = file.read(24)
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_loss_curve_draws_the_estimators_curves(tmp_path):
    X, y = logic_gate("xor")
    est = MLPClassifier(
        (8,), "tanh", learning_rate_init=0.05, max_iter=30, random_state=0,
        early_stopping=True, validation_fraction=0.5, n_iter_no_change=100,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(np.tile(X, (10, 1)), np.tile(y, 10))
    ax = loss_curve(est)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), est.loss_curve_)
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), np.arange(1, est.n_iter_ + 1))
    twin = ax.figure.axes[-1]
    np.testing.assert_array_equal(twin.lines[0].get_ydata(), est.validation_scores_)
    path = tmp_path / "loss.png"
    ax.figure.savefig(path, dpi=50)
    assert _png_size(path) == (300, 200)  # figsize (6, 4) inches at 50 dpi


def test_perceptron_curve_shows_its_errors(backend):
    X, y = logic_gate("and")
    est = Perceptron().fit(backend.asarray(X), backend.asarray(y), coef_init=[[0.4, 0.2]],
                           intercept_init=[1.0])  # fmt: skip
    ax = loss_curve(est)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), est.errors_)
    assert len(ax.figure.axes) == 1  # the threshold rule has no loss curve
    logistic = Perceptron(rule="logistic", max_iter=5).fit(backend.asarray(X), backend.asarray(y))
    ax = loss_curve(logistic)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), logistic.loss_curve_)
    np.testing.assert_array_equal(ax.figure.axes[-1].lines[0].get_ydata(), logistic.errors_)


def test_decision_boundary_of_the_and_gate_on_any_backend(backend, tmp_path):
    X, y = logic_gate("and")
    est = Perceptron().fit(backend.asarray(X), backend.asarray(y), coef_init=[[0.4, 0.2]],
                           intercept_init=[1.0])  # fmt: skip
    ax = decision_boundary(est, backend.asarray(X), backend.asarray(y), resolution=50)
    np.testing.assert_array_equal(ax.collections[-1].get_offsets(), X)  # the samples drawn
    # The filled regions are the estimator's predictions on the grid.
    contour = ax.collections[0]
    assert contour.levels.tolist() == [-0.5, 0.5, 1.5]
    path = tmp_path / "boundary.png"
    ax.figure.savefig(path, dpi=40)
    assert _png_size(path) == (240, 160)
    # Far corners: (0, 0) side is class 0, beyond (1, 1) is class 1.
    corners = backend.asarray(np.array([[-0.1, -0.1], [1.1, 1.1]]))
    assert to_numpy(est.predict(corners)).tolist() == [0, 1]


def test_decision_boundary_needs_two_features():
    est = Perceptron(max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(np.eye(3), [0, 1, 1])
    with pytest.raises(ValueError, match="draws 2-feature inputs; the estimator has 3"):
        decision_boundary(est, np.eye(3), [0, 1, 1])


def test_decision_boundary_refuses_what_it_cannot_draw(backend):
    X, y = logic_gate("xor")
    est = Perceptron(max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(backend.asarray(X), backend.asarray(y))
    three = backend.asarray(np.hstack([X, X[:, :1]]))
    with pytest.raises(ValueError, match=r"X must have shape \(n_samples, 2\).*\(4, 3\)"):
        decision_boundary(est, three, backend.asarray(y))  # never the first two columns
    with pytest.raises(ValueError, match=r"X must have shape \(n_samples, 2\).*\(4, 1\)"):
        decision_boundary(est, backend.asarray(X[:, :1]), backend.asarray(y))
    with pytest.raises(ValueError, match=r"y holds labels \[7\] that are not in classes"):
        decision_boundary(est, backend.asarray(X), backend.asarray(np.array([0, 1, 7, 0])))
    multilabel = MLPClassifier((3,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        multilabel.fit(backend.asarray(X), backend.asarray(np.stack([y, 1 - y], axis=1)))
    with pytest.raises(ValueError, match="this classifier is multilabel"):
        decision_boundary(multilabel, backend.asarray(X), backend.asarray(y))


# --------------------------------------------------------------------------- issue 13
def _points_on_screen(ax):
    """Every vertex of every line of ``ax`` and of its twins, in display coordinates."""
    axes = [a for a in ax.figure.axes if a is ax or a.bbox.bounds == ax.bbox.bounds]
    return np.concatenate([a.transData.transform(line.get_xydata()) for a in axes
                           for line in a.lines])  # fmt: skip


def _fitted_curves():
    X, y = logic_gate("xor")
    mlp = MLPClassifier(
        (8,), "tanh", learning_rate_init=0.05, max_iter=30, random_state=0,
        early_stopping=True, validation_fraction=0.5, n_iter_no_change=100,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(np.tile(X, (10, 1)), np.tile(y, 10))
        logistic = Perceptron(rule="logistic", max_iter=7).fit(X, y)
    X_and, y_and = logic_gate("and")
    tutorial = Perceptron().fit(X_and, y_and, coef_init=[[0.4, 0.2]], intercept_init=[1.0])
    return {"mlp": mlp, "logistic": logistic, "tutorial": tutorial}


@pytest.mark.parametrize("name", ["mlp", "logistic", "tutorial"])
def test_loss_curve_legend_covers_no_curve_and_epochs_are_integers(name):
    est = _fitted_curves()[name]
    ax = loss_curve(est)
    ax.figure.canvas.draw()
    box = ax.get_legend().get_window_extent()
    points = _points_on_screen(ax)
    assert len(points) >= len(est.loss_curve_ or est.errors_)
    assert not box.count_contains(points), "the legend hides part of a curve"
    low, high = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if low <= t <= high]
    assert ticks
    assert all(float(t).is_integer() for t in ticks), ticks


def test_loss_curve_titles_say_what_is_drawn():
    curves = _fitted_curves()
    assert loss_curve(curves["mlp"]).get_title() == (
        "MLPClassifier: training loss and validation score per epoch"
    )
    assert loss_curve(curves["logistic"]).get_title() == (
        "Perceptron: training loss and misclassified samples per iteration"
    )
    ax = loss_curve(curves["tutorial"])
    assert ax.get_title() == "Perceptron: misclassified samples per iteration"
    assert ax.get_xlabel() == "iteration"


def test_decision_boundary_legend_is_beside_the_regions():
    X, y = logic_gate("and")
    est = Perceptron().fit(X, y, coef_init=[[0.4, 0.2]], intercept_init=[1.0])
    ax = decision_boundary(est, X, y, resolution=20)
    ax.figure.canvas.draw()
    legend, plane = ax.get_legend().get_window_extent(), ax.get_window_extent()
    assert legend.x0 >= plane.x1  # right of the axes, not over the regions
    assert legend.x1 <= ax.figure.bbox.x1  # and still inside the figure
    assert ax.get_title() == "Perceptron: predicted class and samples"
