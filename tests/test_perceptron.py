"""The tutorial's Perceptron on every backend, then what a user expects around it."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from xperceptron import ConvergenceWarning, DivergenceError, NotFittedError, Perceptron
from xperceptron._namespace import default_float_dtype, is_writeable, to_numpy
from xperceptron.datasets import logic_gate
from xperceptron.network import value_and_grad

TUTORIAL_INIT = {"coef_init": [[0.4, 0.2]], "intercept_init": [1.0]}


def _tolerance(backend):
    # float64: the weights move by multiples of 0.025 from 0.4, 0.2 and 1, so only the
    # representation error of those decimals accumulates (~1e-16 per step, 26 steps).
    # float32: the same with eps(float32) ~ 1.2e-7.
    return 1e-13 if backend.float64 else 50 * np.finfo(np.float32).eps


def _and_gate(backend):
    X, y = logic_gate("and")
    return backend.asarray(X), backend.asarray(y)


def test_tutorial_after_one_iteration(backend):
    X, y = _and_gate(backend)
    clf = Perceptron(max_iter=1)
    with pytest.warns(ConvergenceWarning, match="max_iter=1 with 3 misclassified"):
        clf.fit(X, y, **TUTORIAL_INIT)
    atol = _tolerance(backend)
    backend.assert_array(clf.coef_, shape=(1, 2), dtype=backend.float_dtype)
    backend.assert_array(clf.intercept_, shape=(1,), dtype=backend.float_dtype)
    backend.assert_close(clf.coef_, [[0.375, 0.175]], rtol=0, atol=atol)
    backend.assert_close(clf.intercept_, [0.925], rtol=0, atol=atol)
    assert clf.errors_ == [3]  # the initial weights predict 1 for every input


def test_tutorial_after_1000_iterations(backend):
    X, y = _and_gate(backend)
    clf = Perceptron(learning_rate=0.1, max_iter=1000).fit(X, y, **TUTORIAL_INIT)
    atol = _tolerance(backend)
    backend.assert_close(clf.coef_, [[0.05, 0.05]], rtol=0, atol=atol)
    backend.assert_close(clf.intercept_, [-0.075], rtol=0, atol=atol)
    predictions = clf.predict(X)
    backend.assert_array(predictions, shape=(4,))
    np.testing.assert_array_equal(to_numpy(predictions), [0, 0, 0, 1])
    assert clf.errors_[-1] == 0
    assert clf.n_iter_ == len(clf.errors_) < 1000
    assert clf.score(X, y) == 1.0


def _tutorial_loop(X, y, n_iter=1000):
    # The tutorial's own loop, written out in NumPy with its (features, samples) layout.
    x, target, w, b = X.T, y[None, :], np.array([[0.4], [0.2]]), 1.0
    for _ in range(n_iter):
        y_pred = (1.0 / (1.0 + np.exp(-(w.T @ x + b))) >= 0.5).astype(float)
        w = w - 0.1 * (x @ (y_pred - target).T) / 4
        b = b - 0.1 * np.sum(y_pred - target) / 4
    return w.T, np.array([b])


@pytest.mark.parametrize("gate", ["and", "or", "nand", "xor"])
def test_every_gate_follows_the_tutorials_loop_bit_for_bit(gate):
    # XOR runs all 1000 iterations and meets z = -2.8e-16, where the rounding of the
    # tutorial's sigmoid (0.49999999999999994, not 0.5) decides the threshold.
    X, y = logic_gate(gate)
    clf = Perceptron(max_iter=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y, **TUTORIAL_INIT)
    coef, intercept = _tutorial_loop(X, y)
    np.testing.assert_array_equal(clf.coef_, coef)
    np.testing.assert_array_equal(clf.intercept_, intercept)
    if gate == "and":
        assert clf.n_iter_ == 26


def test_threshold_is_inclusive():
    # Zero weights give sigmoid(z) = 0.5 exactly: at the threshold, the unit predicts 1.
    X, y = logic_gate("and")
    clf = Perceptron(max_iter=1)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y, coef_init=[[0.0, 0.0]], intercept_init=[0.0])
    assert clf.errors_ == [3]
    # errors on (0,0), (1,0), (0,1): dW = X.T @ [1, 1, 1, 0] / 4 = [0.25, 0.25]; with `>` the
    # unit would predict 0 everywhere, make 1 error and move the other way.
    np.testing.assert_array_equal(clf.coef_, [[-0.025, -0.025]])


@pytest.mark.parametrize("gate", ["and", "or", "nand"])
def test_linearly_separable_gates_are_learnt_from_zeros(backend, gate):
    X, y = logic_gate(gate)
    clf = Perceptron().fit(backend.asarray(X), backend.asarray(y))
    np.testing.assert_array_equal(to_numpy(clf.predict(backend.asarray(X))), y)
    assert clf.errors_[-1] == 0


def test_xor_never_converges_and_says_so(backend):
    X, y = logic_gate("xor")
    clf = Perceptron(max_iter=50)
    with pytest.warns(ConvergenceWarning, match="not linearly separable"):
        clf.fit(backend.asarray(X), backend.asarray(y))
    assert clf.n_iter_ == 50
    assert min(clf.errors_) > 0


def test_logistic_rule_is_a_gradient_step_on_the_log_loss(backend):
    X, y = _and_gate(backend)
    clf = Perceptron(rule="logistic", max_iter=1).fit(X, y, **TUTORIAL_INIT)
    params = [(backend.asarray([[0.4], [0.2]]), backend.asarray([1.0]))]
    Y = backend.xp.astype(y[:, None] == 1, backend.float_dtype)
    _, ((grad_W, grad_b),) = value_and_grad(
        params, X, Y, activation="identity", out_activation="logistic", xp=backend.xp
    )
    eps = np.finfo(np.float64 if backend.float64 else np.float32).eps
    expected_W = to_numpy(params[0][0] - 0.1 * grad_W).T
    backend.assert_close(clf.coef_, expected_W, rtol=0, atol=4 * eps)
    backend.assert_close(
        clf.intercept_, to_numpy(params[0][1] - 0.1 * grad_b), rtol=0, atol=4 * eps
    )


def test_loss_curve_is_the_logistic_rules(backend):
    X, y = _and_gate(backend)
    assert Perceptron().fit(X, y).loss_curve_ == []
    clf = Perceptron(rule="logistic", max_iter=3)
    clf.fit(X, y, **TUTORIAL_INIT)
    assert len(clf.loss_curve_) == 3


def test_logistic_rule_lowers_the_loss_and_stops_at_tol(backend):
    X, y = _and_gate(backend)
    clf = Perceptron(rule="logistic", learning_rate=1.0, max_iter=5000, tol=1e-3)
    clf.fit(X, y)
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert clf.n_iter_ < 5000
    np.testing.assert_array_equal(to_numpy(clf.predict(X)), [0, 0, 0, 1])


def _blobs(n_per_class=20, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 6.0], [6.0, 0.0], [-6.0, -6.0]])
    X = np.concatenate([c + rng.normal(size=(n_per_class, 2)) for c in centres])
    return X, np.repeat([3, 5, 9], n_per_class)


def test_one_vs_rest_for_three_classes(backend):
    X_host, y_host = _blobs()
    X, y = backend.asarray(X_host), backend.asarray(y_host)
    clf = Perceptron(learning_rate=0.5).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, [3, 5, 9])
    backend.assert_array(clf.coef_, shape=(3, 2), dtype=backend.float_dtype)
    backend.assert_array(clf.intercept_, shape=(3,), dtype=backend.float_dtype)
    assert clf.errors_[-1] == 0
    predictions = clf.predict(X)
    backend.assert_array(predictions, shape=(60,))
    np.testing.assert_array_equal(to_numpy(predictions), y_host)
    proba = clf.predict_proba(X)
    backend.assert_array(proba, shape=(60, 3), dtype=backend.float_dtype)
    eps = np.finfo(np.float64 if backend.float64 else np.float32).eps
    backend.assert_close(backend.xp.sum(proba, axis=1), np.ones(60), rtol=8 * eps)
    backend.assert_array(clf.decision_function(X), shape=(60, 3))


def test_binary_outputs_in_the_inputs_namespace(backend):
    X, y = _and_gate(backend)
    clf = Perceptron().fit(X, y, **TUTORIAL_INIT)
    backend.assert_array(clf.decision_function(X), shape=(4,), dtype=backend.float_dtype)
    proba = clf.predict_proba(X)
    backend.assert_array(proba, shape=(4, 2), dtype=backend.float_dtype)
    proba_host = to_numpy(proba)
    np.testing.assert_allclose(proba_host.sum(axis=1), 1.0)
    np.testing.assert_array_equal(proba_host.argmax(axis=1), [0, 0, 0, 1])


def test_float32_stays_float32_and_integers_become_the_default_float(backend):
    X, y = logic_gate("and")
    clf = Perceptron().fit(backend.asarray(X, dtype=backend.xp.float32), backend.asarray(y))
    backend.assert_array(clf.coef_, dtype=backend.xp.float32)
    clf = Perceptron().fit(backend.asarray(X.astype(np.int64)), backend.asarray(y))
    backend.assert_array(clf.coef_, dtype=default_float_dtype(backend.xp, backend.device))


def test_string_labels_and_python_lists():
    X, y = logic_gate("or")
    labels = np.where(y == 1, "on", "off")
    clf = Perceptron().fit(X.tolist(), labels.tolist())
    assert clf.classes_.tolist() == ["off", "on"]
    assert clf.predict(X).tolist() == labels.tolist()
    assert clf.score(X, labels) == 1.0


def test_list_labels_follow_the_arrays_namespace(backend):
    X, _ = _and_gate(backend)
    clf = Perceptron().fit(X, [0, 0, 0, 1], coef_init=[[0.4, 0.2]], intercept_init=[1.0])
    backend.assert_array(clf.predict(X), shape=(4,))


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"max_iter": 0}, "max_iter"),
        ({"max_iter": 2.5}, "max_iter"),
        ({"rule": "hebb"}, "rule"),
        ({"threshold": 1.0}, "threshold"),
        ({"fit_intercept": "yes"}, "fit_intercept"),
        ({"tol": -1.0}, "tol"),
        ({"n_iter_no_change": 0}, "n_iter_no_change"),
    ],
)
def test_bad_hyperparameters_are_named(params, name):
    X, y = logic_gate("and")
    with pytest.raises(ValueError, match=f"^{name} must be"):
        Perceptron(**params).fit(X, y)


def test_bad_initial_weights_and_labels():
    X, y = logic_gate("and")
    with pytest.raises(ValueError, match=r"coef_init must have shape \(1, 2\), got \(2,\)"):
        Perceptron().fit(X, y, coef_init=[0.4, 0.2])
    with pytest.raises(ValueError, match=r"intercept_init must have shape \(1,\)"):
        Perceptron().fit(X, y, intercept_init=[1.0, 2.0])
    with pytest.raises(ValueError, match="y has 1 class"):
        Perceptron().fit(X, [1, 1, 1, 1])


def test_rejected_calls_change_nothing(backend):
    X, y = _and_gate(backend)
    clf = Perceptron().fit(X, y, **TUTORIAL_INIT)
    coef, intercept, errors = (
        to_numpy(clf.coef_).copy(),
        to_numpy(clf.intercept_).copy(),
        clf.errors_,
    )
    bad_X = backend.asarray(np.array([[0.0, np.nan], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="NaN"):
        clf.fit(bad_X, y)
    with pytest.raises(ValueError, match="coef_init"):
        clf.fit(X, y, coef_init=[[1.0]])
    np.testing.assert_array_equal(to_numpy(clf.coef_), coef)
    np.testing.assert_array_equal(to_numpy(clf.intercept_), intercept)
    assert clf.errors_ is errors


def test_predict_checks_fit_features_and_namespace(backend):
    X, y = _and_gate(backend)
    with pytest.raises(NotFittedError, match="call 'fit'"):
        Perceptron().predict(X)
    clf = Perceptron().fit(X, y)
    with pytest.raises(
        ValueError, match="X has 3 features, but Perceptron is expecting 2 features as input"
    ):
        clf.predict(backend.asarray(np.ones((2, 3))))
    other = (
        np.ones((2, 2)) if backend.name != "numpy" else __import__("array_api_strict").ones((2, 2))
    )
    with pytest.raises(TypeError, match="fitted on"):
        clf.predict(other)


def test_not_fitted_error_is_value_and_attribute_error():
    assert issubclass(NotFittedError, ValueError)
    assert issubclass(NotFittedError, AttributeError)


def test_parameters_round_trip_through_sklearn_clone():
    sklearn_base = pytest.importorskip("sklearn.base")
    clf = Perceptron(learning_rate=0.5, rule="logistic", tol=1e-3)
    assert clf.get_params()["rule"] == "logistic"
    copy = sklearn_base.clone(clf)
    assert copy.get_params() == clf.get_params()
    assert repr(copy) == "Perceptron(learning_rate=0.5, rule='logistic', tol=0.001)"
    assert sklearn_base.is_classifier(clf)
    with pytest.raises(ValueError, match=r"Invalid parameter\(s\) \['eta'\]"):
        clf.set_params(eta=1.0)
    assert clf.set_params(max_iter=3).max_iter == 3


# --------------------------------------------------------------------------- issue 12
def _three_classes(backend, n=60, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = np.digitize(X[:, 0] + 0.5 * rng.normal(size=n), [-0.5, 0.5])  # 0, 1, 2, overlapping
    return backend.asarray(X), backend.asarray(y), y


def test_multiclass_errors_count_misclassified_samples(backend):
    # errors_[k] is measured on the weights after k updates: exactly what a Perceptron
    # stopped after k iterations predicts wrong. Unit errors of the one-vs-rest units are
    # more (a sample can have two wrong units, or a wrong unit and a right argmax).
    X, y, labels = _three_classes(backend)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        errors = Perceptron(max_iter=6).fit(X, y).errors_
        for k in range(1, 6):
            stopped = Perceptron(max_iter=k).fit(X, y)
            assert errors[k] == int(np.sum(to_numpy(stopped.predict(X)) != labels))
    with pytest.warns(ConvergenceWarning) as caught:
        clf = Perceptron(max_iter=6).fit(X, y)
    message = str(caught[0].message)
    assert f"with {clf.errors_[-1]} misclassified samples (" in message
    units = int(message.split("(")[1].split(" one-vs-rest")[0])
    assert units > clf.errors_[-1]  # this data set has more unit errors than samples wrong


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_the_model_never_aliases_the_initial_weights(backend, fit_intercept):
    X, y = _and_gate(backend)
    # Weights that already classify the AND gate: training stops before any update.
    coef_init = backend.asarray(np.array([[1.0, 1.0]]))
    intercept_init = backend.asarray(np.array([-1.5]))
    clf = Perceptron(fit_intercept=fit_intercept).fit(
        X, y, coef_init=coef_init, intercept_init=intercept_init
    )
    assert clf.n_iter_ == 1
    assert clf.errors_ == [0]
    assert clf.coef_ is not coef_init
    assert clf.intercept_ is not intercept_init
    if not is_writeable(coef_init):
        return  # JAX arrays cannot change: nothing more can alias
    coef_init[...] = 99.0
    intercept_init[...] = 99.0
    backend.assert_close(clf.coef_, [[1.0, 1.0]], rtol=0)
    backend.assert_close(clf.intercept_, [-1.5], rtol=0)


@pytest.mark.parametrize("rule", ["threshold", "logistic"])
def test_divergence_raises_and_keeps_the_last_finite_weights(backend, rule):
    # Inputs near the dtype's largest value: the first update already overflows the
    # products X @ coef_.T (without an error, NumPy would warn and leave NaN weights).
    big = float(np.finfo(to_numpy(backend.asarray(np.zeros(1))).dtype).max) / 4
    X = backend.asarray(np.array([[big, 0.0], [0.0, big], [big, big], [-big, -big]]))
    y = backend.asarray(np.array([0, 0, 1, 1]))
    clf = Perceptron(rule=rule, max_iter=50)
    with pytest.raises(DivergenceError, match="Perceptron diverged: iteration 1's update"):
        clf.fit(X, y)
    # The weights iteration 1 started from (zeros) are kept, and are what errors_ measured.
    backend.assert_close(clf.coef_, [[0.0, 0.0]], rtol=0)
    backend.assert_close(clf.intercept_, [0.0], rtol=0)
    assert clf.n_iter_ == 1
    assert clf.errors_ == [2]
    assert np.all(np.isfinite(to_numpy(clf.predict_proba(backend.asarray(np.eye(2))))))


def test_divergence_in_the_last_update_is_caught(backend):
    # One iteration only: its update overflows the weights themselves, checked after the loop.
    big = float(np.finfo(to_numpy(backend.asarray(np.zeros(1))).dtype).max) / 1.5
    X = backend.asarray(np.array([[big, 0.0], [big, 0.0], [0.0, 1.0]]))
    y = backend.asarray(np.array([0, 0, 1]))
    with pytest.raises(DivergenceError, match="iteration 1's update"):
        Perceptron(learning_rate=10.0, max_iter=1).fit(X, y)
