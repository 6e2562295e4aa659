"""``sample_weight`` in ``fit``, ``partial_fit`` and ``score`` (issue 11, item 2): scikit-learn
1.9's semantics, measured against scikit-learn itself, and the properties that define them
(integer weights are repeated rows, zero weights are absent rows), on every backend."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from task_data import task_data

from xperceptron import MLPClassifier, MLPRegressor
from xperceptron._namespace import to_numpy

sklearn = pytest.importorskip("sklearn")
from sklearn.metrics import accuracy_score, r2_score  # noqa: E402
from sklearn.neural_network import MLPClassifier as SkMLPClassifier  # noqa: E402
from sklearn.neural_network import MLPRegressor as SkMLPRegressor  # noqa: E402

N = 90  # not a multiple of the batch size: the last batch is partial


def _data(task, n=N, seed=0):
    X, y, rng = task_data(task, n, seed=seed, threshold=0.3)
    weights = rng.uniform(0.0, 3.0, size=n)
    return X, y, weights


def _estimators(task, **params):
    ours, theirs = (
        (MLPRegressor, SkMLPRegressor) if task == "regression" else (MLPClassifier, SkMLPClassifier)
    )
    common = {"hidden_layer_sizes": (6,), "max_iter": 8, "learning_rate_init": 0.01,
              "batch_size": 16, "tol": 0.0, "n_iter_no_change": 1000, "random_state": 0,
              "alpha": 0.01, **params}  # fmt: skip
    return ours(**common), theirs(**common)


def _quiet(fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter is reached on purpose
        return fit()


def _assert_same(a, b, *, atol):
    pairs = zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True)
    for ours, theirs in pairs:
        np.testing.assert_allclose(to_numpy(ours), to_numpy(theirs), rtol=0, atol=atol)


# ------------------------------------------------------------------ scikit-learn's model
@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel", "regression"])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_weighted_fit_gives_scikit_learns_model(task, solver):
    X, y, weights = _data(task)
    ours, theirs = _estimators(task, solver=solver)
    _quiet(lambda: theirs.fit(X, y, sample_weight=weights))
    _quiet(lambda: ours.fit(X, y, sample_weight=weights))
    # float64 throughout: the two differ only in the order of sums (a few ulps a step).
    _assert_same(ours, theirs, atol=1e-10)
    if solver == "lbfgs":  # scikit-learn keeps no curve for L-BFGS
        assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-12)
    else:
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-12)


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_weighted_validation_scores_are_scikit_learns(task):
    X, y, weights = _data(task, n=120)
    ours, theirs = _estimators(task, solver="adam", early_stopping=True)
    _quiet(lambda: theirs.fit(X, y, sample_weight=weights))
    _quiet(lambda: ours.fit(X, y, sample_weight=weights))
    np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_, rtol=1e-12)
    assert ours.best_validation_score_ == pytest.approx(theirs.best_validation_score_, rel=1e-12)
    _assert_same(ours, theirs, atol=1e-10)
    # The weights count: unweighted, the scores are others.
    plain = _quiet(lambda: _estimators(task, solver="adam", early_stopping=True)[0].fit(X, y))
    assert plain.validation_scores_ != ours.validation_scores_


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_weighted_partial_fit_gives_scikit_learns_model(task):
    # Without shuffling: scikit-learn reseeds an int random_state at every call, where
    # xperceptron's partial_fit epochs go on as more epochs of one fit (the README says so).
    X, y, weights = _data(task)
    ours, theirs = _estimators(task, solver="sgd", shuffle=False)
    extra = {"classes": np.unique(y)} if task != "regression" else {}
    for start in (0, 30, 60):
        rows = slice(start, start + 30)
        theirs.partial_fit(X[rows], y[rows], sample_weight=weights[rows], **extra)
        ours.partial_fit(X[rows], y[rows], sample_weight=weights[rows], **extra)
    _assert_same(ours, theirs, atol=1e-10)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-12)


@pytest.mark.parametrize("task", ["binary", "multilabel", "regression"])
def test_weighted_score_is_scikit_learns(task):
    X, y, weights = _data(task)
    ours, _ = _estimators(task, solver="sgd", max_iter=2)  # far from a perfect fit
    _quiet(lambda: ours.fit(X, y))
    metric = r2_score if task == "regression" else accuracy_score
    expected = metric(y, to_numpy(ours.predict(X)), sample_weight=weights)
    assert ours.score(X, y, sample_weight=weights) == pytest.approx(expected, rel=1e-12)
    assert ours.score(X, y, sample_weight=weights) != pytest.approx(ours.score(X, y), rel=1e-3)


# ------------------------------------------------------------------ what weights mean
@pytest.mark.parametrize("task", ["multiclass", "regression"])
@pytest.mark.parametrize("solver", ["lbfgs", "sgd", "adam"])
def test_integer_weights_are_repeated_rows(backend, task, solver):
    # One batch an epoch (batch_size >= n, no shuffle): the weighted batch is the repeated
    # one. The loss is the same mean, over other summation orders.
    X, y, _ = _data(task, n=40)
    counts = np.random.default_rng(1).integers(0, 4, size=40)
    counts[:3] = (1, 2, 3)  # every class keeps a row
    params = {"solver": solver, "batch_size": 200, "shuffle": False, "max_iter": 15}
    weighted, repeated = (_estimators(task, **params)[0] for _ in range(2))
    _quiet(lambda: weighted.fit(backend.asarray(X), backend.asarray(y),
                                sample_weight=backend.asarray(counts)))  # fmt: skip
    rows = np.repeat(np.arange(40), counts)
    _quiet(lambda: repeated.fit(backend.asarray(X[rows]), backend.asarray(y[rows])))
    eps = np.finfo(to_numpy(weighted.coefs_[0]).dtype).eps
    _assert_same(weighted, repeated, atol=1e4 * eps)  # sums of ~100 terms, 15 steps
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e4 * eps)


def test_zero_weights_are_absent_rows(backend):
    X, y, _ = _data("binary", n=60)
    weights = np.ones(60)
    weights[::3] = 0.0
    kept = weights > 0
    a, b = (_estimators("binary", solver="lbfgs", max_iter=20)[0] for _ in range(2))
    _quiet(lambda: a.fit(backend.asarray(X), backend.asarray(y), sample_weight=weights))
    _quiet(lambda: b.fit(backend.asarray(X[kept]), backend.asarray(y[kept])))
    eps = np.finfo(to_numpy(a.coefs_[0]).dtype).eps
    _assert_same(a, b, atol=1e4 * eps)


def test_ones_weigh_as_none_and_a_number_scales_the_l2_term(backend):
    # The loss is a weighted mean, but the L2 term is over the weights' sum (scikit-learn's
    # objective): weights c everywhere are no weights with alpha / c.
    X, y, _ = _data("regression")

    def fit(sample_weight, alpha=0.01):
        est = _estimators("regression", solver="adam", early_stopping=True, alpha=alpha)[0]
        return _quiet(lambda: est.fit(backend.asarray(X), backend.asarray(y),
                                      sample_weight=sample_weight))  # fmt: skip

    plain = fit(None)
    eps = np.finfo(to_numpy(plain.coefs_[0]).dtype).eps
    for same, other in ((fit(np.ones(N)), plain), (fit(2.5), fit(None, alpha=0.01 / 2.5))):
        _assert_same(same, other, atol=1e3 * eps)
        np.testing.assert_allclose(same.validation_scores_, other.validation_scores_,
                                   rtol=1e3 * eps)  # fmt: skip
    _assert_same(fit(2.5), fit(np.full(N, 2.5)), atol=0.0)
    with pytest.raises(AssertionError):  # the term counts
        _assert_same(fit(2.5), plain, atol=1e-3)


def test_a_batch_of_zero_weight_changes_nothing(backend):
    # The first batch weighs nothing: no division by zero, no step from it.
    X, y, _ = _data("regression", n=40)
    weights = np.ones(40)
    weights[:10] = 0.0
    params = {"solver": "sgd", "batch_size": 10, "shuffle": False, "max_iter": 3,
              "momentum": 0.0}  # fmt: skip
    a, b = (_estimators("regression", **params)[0] for _ in range(2))
    _quiet(lambda: a.fit(backend.asarray(X), backend.asarray(y), sample_weight=weights))
    _quiet(lambda: b.fit(backend.asarray(X[10:]), backend.asarray(y[10:])))
    assert all(np.isfinite(to_numpy(W)).all() for W in a.coefs_)
    eps = np.finfo(to_numpy(a.coefs_[0]).dtype).eps
    _assert_same(a, b, atol=1e3 * eps)


def test_device_weights_train_as_host_weights(backend):
    X, y, weights = _data("multiclass")
    a, b = (_estimators("multiclass", solver="adam")[0] for _ in range(2))
    _quiet(lambda: a.fit(backend.asarray(X), backend.asarray(y),
                         sample_weight=backend.asarray(weights)))  # fmt: skip
    _quiet(lambda: b.fit(backend.asarray(X), backend.asarray(y), sample_weight=weights.tolist()))
    _assert_same(a, b, atol=0.0)
    backend.assert_array(a.coefs_[0])


# ------------------------------------------------------------------ refused
@pytest.mark.parametrize(
    ("sample_weight", "error", "match"),
    [
        (np.ones(N - 1), ValueError, f"X has {N} samples but sample_weight has {N - 1}"),
        (np.ones((N, 1)), ValueError, r"1-D of shape \(n_samples,\), got shape \(90, 1\)"),
        (np.r_[-1.0, np.ones(N - 1)], ValueError, "negative values"),
        (np.r_[np.nan, np.ones(N - 1)], ValueError, "sample_weight contains NaN or infinity"),
        (np.zeros(N), ValueError, "at least one non-zero weight"),
        (np.array(["a"] * N), TypeError, "sample_weight must hold real numbers"),
        (["a"] * N, TypeError, "sample_weight must hold real numbers"),
    ],
)
def test_bad_weights_are_refused_before_anything_changes(sample_weight, error, match):
    X, y, _ = _data("binary")
    est = _quiet(lambda: _estimators("binary", solver="adam")[0].fit(X, y))
    before = [W.copy() for W in est.coefs_], est.loss_curve_.copy(), est.t_
    for call in (
        lambda: est.fit(X, y, sample_weight=sample_weight),
        lambda: est.partial_fit(X, y, sample_weight=sample_weight),
        lambda: est.score(X, y, sample_weight=sample_weight),
    ):
        with pytest.raises(error, match=match):
            call()
    assert est.loss_curve_ == before[1]
    assert est.t_ == before[2]
    for W, W0 in zip(est.coefs_, before[0], strict=True):
        np.testing.assert_array_equal(W, W0)
