"""``solver="lbfgs"``: full-batch L-BFGS on the device, as scikit-learn's MLPs run it."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from xperceptron import ConvergenceWarning, MLPClassifier, MLPRegressor, load, save
from xperceptron._namespace import to_numpy


def _data(task, n=80, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    scores = X @ rng.normal(size=(4, 3))
    if task == "classification":
        return X, np.argmax(scores, axis=1)
    return X, scores[:, 0] + np.sin(X[:, 1])


def _estimator(task, **params):
    cls = MLPClassifier if task == "classification" else MLPRegressor
    return cls((6,), solver="lbfgs", random_state=0, **params)


def _quietly(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_every_backend_follows_numpy(backend64, task):
    # The same seed, the same iterates: float64 sums in another order differ by rounding
    # (~1e-16 relative), which 15 iterations of L-BFGS keep far below 1e-9.
    X, y = _data(task)
    ours = _quietly(_estimator(task, max_iter=15), backend64.asarray(X), backend64.asarray(y))
    reference = _quietly(_estimator(task, max_iter=15), X, y)
    assert ours.n_iter_ == reference.n_iter_ == 15
    np.testing.assert_allclose(ours.loss_curve_, reference.loss_curve_, rtol=1e-9)
    for W, W_ref in zip(ours.coefs_, reference.coefs_, strict=True):
        backend64.assert_close(W, to_numpy(W_ref), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_float32_devices_train_in_float32(backend, task):
    X, y = _data(task)
    est = _quietly(_estimator(task, max_iter=20), backend.asarray(X), backend.asarray(y))
    backend.assert_array(est.coefs_[0], dtype=backend.float_dtype)
    assert est.n_iter_ == len(est.loss_curve_) <= 20
    assert est.loss_curve_[-1] < est.loss_curve_[0]


def test_limits_warn_as_scikit_learn():
    X, y = _data("classification")
    with pytest.warns(ConvergenceWarning, match=r"lbfgs failed to converge after 3 iteration"):
        est = _estimator("classification", max_iter=3).fit(X, y)
    assert est.n_iter_ == 3
    with pytest.warns(ConvergenceWarning, match="EVALUATIONS EXCEEDS LIMIT"):
        est = _estimator("classification", max_fun=5).fit(X, y)
    assert est.n_iter_ < 200


def test_partial_fit_is_only_for_stochastic_solvers():
    est = _estimator("classification")
    assert not hasattr(est, "partial_fit")
    with pytest.raises(AttributeError, match="lbfgs is not stochastic"):
        est.partial_fit  # noqa: B018
    assert hasattr(est.set_params(solver="adam"), "partial_fit")


def test_warm_start_continues_and_counts_its_own_iterations():
    X, y = _data("regression")
    est = _quietly(_estimator("regression", max_iter=5, warm_start=True), X, y)
    first = est.loss_curve_[-1]
    _quietly(est, X, y)
    assert est.n_iter_ == 5
    assert len(est.loss_curve_) == 10
    assert est.loss_curve_[5] <= first


def test_callbacks_see_each_iteration_and_can_stop(tmp_path):
    X, y = _data("classification")
    seen = []

    class Stop:
        def on_epoch_end(self, estimator, epoch):
            seen.append((epoch.epoch, epoch.loss))
            return epoch.epoch == 4

    est = _estimator("classification", callbacks=[Stop()]).fit(X, y)  # stopped: no warning
    assert [e for e, _ in seen] == [1, 2, 3, 4]
    assert [loss for _, loss in seen] == est.loss_curve_
    save(est, tmp_path / "m.npz")
    loaded = load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    assert loaded.n_iter_ == 4


def test_scikit_learns_model_on_digits():
    # The same initial weights (scikit-learn's draws) and the same L-BFGS: the same run.
    sklearn = pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier as SkMLPClassifier

    X, y = load_digits(return_X_y=True)
    X = X[:600] / 16.0
    y = y[:600]
    params = {"hidden_layer_sizes": (16,), "solver": "lbfgs", "random_state": 0,
              "max_iter": 40}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        ours = MLPClassifier(**params).fit(X, y)
        theirs = SkMLPClassifier(**params).fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_
    # 40 iterations of float64 L-BFGS, the direction computed in another (equivalent) form.
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-8)
    for W, W_ref in zip(ours.coefs_, theirs.coefs_, strict=True):
        np.testing.assert_allclose(W, W_ref, rtol=1e-5, atol=1e-7)
