"""MLPRegressor(loss="poisson"): exponential output and half Poisson deviance, as scikit-learn."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.neural_network._base import poisson_loss

from xperceptron import MLPRegressor, load, save
from xperceptron._namespace import to_numpy
from xperceptron.losses import OUTPUT_LOSSES
from xperceptron.network import value_and_grad


def _data(n=120, outputs=1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    mean = np.exp(0.5 * X[:, :1] - 0.3 * X[:, 1:2] + 0.2 * np.arange(outputs))
    return X, rng.poisson(mean).astype(float)[:, 0] if outputs == 1 else rng.poisson(mean) * 1.0


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning after a few epochs
        return est.fit(X, y)


_OPTIONS = {"hidden_layer_sizes": (7, 5), "max_iter": 10, "random_state": 0, "alpha": 0.01,
            "batch_size": 32, "learning_rate_init": 0.01}  # fmt: skip


def test_loss_is_scikit_learns_poisson_loss_of_the_mean(backend64):
    rng = np.random.default_rng(0)
    z, Y = rng.normal(size=(9, 2)), rng.poisson(1.5, size=(9, 2)).astype(float)
    assert np.any(Y == 0)
    loss = OUTPUT_LOSSES["exp"].loss(backend64.asarray(z), backend64.asarray(Y), xp=backend64.xp)
    backend64.assert_close(loss, poisson_loss(Y, np.exp(z)), rtol=1e-13)
    pair = OUTPUT_LOSSES["exp"]
    value, delta = pair.loss_and_delta(backend64.asarray(z), backend64.asarray(Y), xp=backend64.xp)
    backend64.assert_close(value, poisson_loss(Y, np.exp(z)), rtol=1e-13)
    backend64.assert_close(delta, np.exp(z) - Y, rtol=1e-14)
    assert pair.loss_name == "poisson"


def test_network_gradient_matches_finite_differences(backend64):
    rng = np.random.default_rng(1)
    X_host, Y = rng.normal(size=(6, 3)), rng.poisson(1.0, size=(6, 2)).astype(float)
    host = [
        [rng.normal(size=(3, 4)), rng.normal(size=4)],
        [rng.normal(size=(4, 2)), rng.normal(size=2)],
    ]
    options = {"activation": "tanh", "out_activation": "exp", "alpha": 0.3, "xp": backend64.xp}
    X, Y_dev = backend64.asarray(X_host), backend64.asarray(Y)

    def loss_at(host):
        params = [(backend64.asarray(W), backend64.asarray(b)) for W, b in host]
        return float(value_and_grad(params, X, Y_dev, **options)[0])

    params = [(backend64.asarray(W), backend64.asarray(b)) for W, b in host]
    _, grads = value_and_grad(params, X, Y_dev, **options)
    h = 1e-6
    for layer, pair in enumerate(grads):
        for which, grad in enumerate(pair):
            expected = np.empty_like(host[layer][which])
            for index in np.ndindex(expected.shape):
                original = host[layer][which][index]
                host[layer][which][index] = original + h
                plus = loss_at(host)
                host[layer][which][index] = original - h
                minus = loss_at(host)
                host[layer][which][index] = original
                expected[index] = (plus - minus) / (2 * h)
            backend64.assert_close(grad, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("outputs", [1, 2])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_stochastic_fit_is_scikit_learns(solver, outputs):
    X, y = _data(outputs=outputs)
    ours = _fit(MLPRegressor(loss="poisson", solver=solver, **_OPTIONS), X, y)
    theirs = _fit(SkMLPRegressor(loss="poisson", solver=solver, **_OPTIONS), X, y)
    assert ours.out_activation_ == theirs.out_activation_ == "exp"
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=0, atol=1e-10)
    for mine, sk in zip(
        ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_, strict=True
    ):
        np.testing.assert_allclose(mine, sk, rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-10)
    assert ours.score(X, y) == pytest.approx(theirs.score(X, y), abs=1e-10)


@pytest.mark.parametrize("outputs", [1, 2])
def test_lbfgs_fit_is_scikit_learns(outputs):
    X, y = _data(outputs=outputs)
    options = {**_OPTIONS, "solver": "lbfgs"}
    ours = _fit(MLPRegressor(loss="poisson", **options), X, y)
    theirs = _fit(SkMLPRegressor(loss="poisson", **options), X, y)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.loss_ == pytest.approx(theirs.loss_, abs=1e-10)
    for mine, sk in zip(
        ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_, strict=True
    ):
        np.testing.assert_allclose(mine, sk, rtol=0, atol=1e-10)


def test_early_stopping_scores_r2_of_the_predictions_as_scikit_learn():
    X, y = _data()
    options = {"hidden_layer_sizes": (6,), "max_iter": 30, "random_state": 0,
               "early_stopping": True, "learning_rate_init": 0.01}  # fmt: skip
    ours = _fit(MLPRegressor(loss="poisson", **options), X, y)
    theirs = _fit(SkMLPRegressor(loss="poisson", **options), X, y)
    np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_, atol=1e-10)
    assert ours.best_validation_score_ == pytest.approx(theirs.best_validation_score_, abs=1e-10)


def test_negative_targets_are_refused_before_anything_changes():
    X, y = _data(n=30)
    bad = y.copy()
    bad[3] = -1.0
    with pytest.raises(ValueError, match=r"loss='poisson' requires non-negative targets"):
        MLPRegressor(loss="poisson").fit(X, bad)
    est = _fit(MLPRegressor((4,), loss="poisson", max_iter=2, random_state=0), X, y)
    before = [c.copy() for c in est.coefs_], list(est.loss_curve_)
    with pytest.raises(ValueError, match="negative values"):
        est.partial_fit(X, bad)
    est.set_params(warm_start=True)
    with pytest.raises(ValueError, match="negative values"):
        est.fit(X, bad)
    assert est.loss_curve_ == before[1]
    for W, saved in zip(est.coefs_, before[0], strict=True):
        np.testing.assert_array_equal(W, saved)
    # Squared error takes them; zeros are fine for Poisson.
    _fit(MLPRegressor((4,), max_iter=2, random_state=0), X, bad)
    _fit(MLPRegressor((4,), loss="poisson", max_iter=2, random_state=0), X, np.zeros(30))


def test_loss_is_a_validated_keyword_parameter():
    est = MLPRegressor((3,), loss="poisson")
    assert est.get_params()["loss"] == "poisson"
    assert clone(est).loss == "poisson"
    assert MLPRegressor().loss == "squared_error"
    assert "loss='poisson'" in repr(est)
    X, y = _data(n=20)
    with pytest.raises(ValueError, match="loss must be one of"):
        MLPRegressor(loss="absolute_error").fit(X, y)
    reg = _fit(MLPRegressor((3,), max_iter=2, random_state=0), X, y)
    assert reg.out_activation_ == "identity"
    reg.set_params(loss="poisson", warm_start=True)
    with pytest.raises(ValueError, match="exp outputs"):
        reg.fit(X, y)


def test_every_backend_gives_the_numpy_model_and_positive_predictions(backend):
    X, y = _data(n=64, outputs=2)
    options = {"hidden_layer_sizes": (5,), "solver": "adam", "max_iter": 5, "random_state": 0,
               "learning_rate_init": 0.01}  # fmt: skip
    reference = _fit(MLPRegressor(loss="poisson", **options), X.astype(np.float32), y)
    est = _fit(MLPRegressor(loss="poisson", **options), backend.asarray(X), backend.asarray(y))
    assert est.out_activation_ == "exp"
    rtol = 1e-10 if backend.float64 else 1e-4
    expected = (
        reference if not backend.float64 else _fit(MLPRegressor(loss="poisson", **options), X, y)
    )
    np.testing.assert_allclose(est.loss_curve_, expected.loss_curve_, rtol=rtol)
    for mine, ref in zip(est.coefs_, expected.coefs_, strict=True):
        np.testing.assert_allclose(to_numpy(mine), ref, rtol=rtol, atol=rtol)
    predictions = est.predict(backend.asarray(X))
    backend.assert_array(predictions, shape=(64, 2), dtype=backend.float_dtype)
    assert np.all(to_numpy(predictions) > 0)


def test_checkpoint_round_trip(tmp_path, backend):
    X_host, y_host = _data(n=40)
    X, y = backend.asarray(X_host), backend.asarray(y_host)
    est = _fit(MLPRegressor((4,), loss="poisson", max_iter=3, random_state=0), X, y)
    save(est, tmp_path / "m.npz")
    again = load(tmp_path / "m.npz", xp=backend.xp, device=backend.device)
    assert again.loss == "poisson"
    assert again.out_activation_ == "exp"
    np.testing.assert_array_equal(to_numpy(again.predict(X)), to_numpy(est.predict(X)))
    # Training on from the checkpoint is training on from the estimator saved.
    _fit(again.set_params(warm_start=True, max_iter=2), X, y)
    _fit(est.set_params(warm_start=True, max_iter=2), X, y)
    assert again.loss_curve_ == est.loss_curve_


def test_checkpoint_of_another_loss_is_refused(tmp_path):
    X, y = _data(n=40)
    est = _fit(MLPRegressor((4,), loss="poisson", max_iter=2, random_state=0), X, y)
    est.out_activation_ = "identity"  # a squared-error model claiming loss="poisson"
    save(est, tmp_path / "m.npz")
    with pytest.raises(ValueError, match="not those of a regressor with loss='poisson'"):
        load(tmp_path / "m.npz")
