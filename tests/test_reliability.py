"""Bad input gets a clear error before anything changes; divergence keeps the last finite model."""

# ruff: noqa: E501  (the table of bad inputs reads best one case per line)

from __future__ import annotations

import re
import warnings

import array_api_strict
import numpy as np
import pytest

from xperceptron import (
    ConvergenceWarning,
    DivergenceError,
    MLPClassifier,
    MLPRegressor,
    NotFittedError,
    Perceptron,
)
from xperceptron._checkpoint_schema import generator_state
from xperceptron._namespace import to_numpy

N, F = 40, 3


def _data(kind, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, F))
    if kind == "regressor":
        return X, X @ rng.normal(size=F)
    return X, (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5)  # labels 0, 1, 2


def _fitted(kind, backend):
    X, y = _data(kind)
    X, y = backend.asarray(X), backend.asarray(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if kind == "perceptron":
            return Perceptron(max_iter=5).fit(X, y), X, y
        cls = MLPRegressor if kind == "regressor" else MLPClassifier
        return cls((4,), max_iter=3, random_state=0).fit(X, y), X, y


def _snapshot(est):
    """Everything fitted, as host copies: parameters, optimizer state, curves, counters."""
    state = {}
    for name, value in vars(est).items():
        if name.endswith("_") and not name.startswith("__"):
            state[name] = _host(value)
    if hasattr(est, "_optimizer_state"):
        state["optimizer"] = [_host(v) for v in est._optimizer_state]
        state["progress"] = {k: _host(v) for k, v in vars(est._progress).items()}
        state["rng"] = generator_state(est._rng.generator)
        state["order"] = None if est._rng.order is None else est._rng.order.tolist()
    return state


def _host(value):
    if isinstance(value, list | tuple):
        return [_host(v) for v in value]
    if hasattr(value, "shape") and not isinstance(value, np.ndarray | float | int):
        return to_numpy(value).copy()
    return value.copy() if isinstance(value, np.ndarray) else value


def _assert_same(before, after):
    assert before.keys() == after.keys()
    for key in before:
        _assert_equal(before[key], after[key], key)


def _assert_equal(a, b, where):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _assert_equal(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_equal(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where, strict=True)
    else:
        assert a == b or (a != a and b != b), where  # NaN == NaN here


def _other_namespace(backend, values):
    # An array of another namespace than the backend's.
    if backend.xp is array_api_strict:
        return np.asarray(values)
    return array_api_strict.asarray(np.asarray(values))


def _with(values, index, bad):
    values = np.array(values, dtype=float)
    values[index] = bad
    return values


# (estimator kind, method, arguments from (backend, X_host, y_host), exception, message)
CASES = {
    "X with NaN": ("classifier", "fit", lambda b, X, y: (b.asarray(_with(X, (0, 0), np.nan)), b.asarray(y)), ValueError, "NaN"),
    "X with inf": ("classifier", "fit", lambda b, X, y: (b.asarray(_with(X, (3, 1), np.inf)), b.asarray(y)), ValueError, "NaN or infinity"),
    "X with -inf in predict": ("classifier", "predict", lambda b, X, y: (b.asarray(_with(X, (3, 1), -np.inf)),), ValueError, "NaN or infinity"),
    "y with NaN (regression)": ("regressor", "fit", lambda b, X, y: (b.asarray(X), b.asarray(_with(y, 2, np.nan))), ValueError, "NaN"),
    "labels with NaN": ("classifier", "fit", lambda b, X, y: (b.asarray(X), b.asarray(_with(y, 2, np.nan))), ValueError, "NaN"),
    "complex X": ("classifier", "fit", lambda b, X, y: (b.xp.asarray(X.astype(np.complex64), device=b.device), b.asarray(y)), ValueError, "Complex data not supported"),
    "text X": ("classifier", "fit", lambda b, X, y: ([["a"] * F] * N, y.tolist()), TypeError, "must hold real numbers"),
    "1-D X": ("classifier", "fit", lambda b, X, y: (b.asarray(X[:, 0]), b.asarray(y)), ValueError, "must be 2-D"),
    "3-D X": ("regressor", "fit", lambda b, X, y: (b.asarray(X[:, :, None]), b.asarray(y)), ValueError, "must be 2-D"),
    "3-D y": ("regressor", "fit", lambda b, X, y: (b.asarray(X), b.asarray(y[:, None, None])), ValueError, "1-D or 2-D"),
    "2-D y not an indicator": ("classifier", "fit", lambda b, X, y: (b.asarray(X), b.asarray(np.stack([y, y], axis=1))), ValueError, "0/1 multilabel indicator"),
    "length mismatch": ("classifier", "fit", lambda b, X, y: (b.asarray(X), b.asarray(y[:-1])), ValueError, f"X has {N} samples but y has {N - 1}"),
    "length mismatch (regression)": ("regressor", "partial_fit", lambda b, X, y: (b.asarray(X[:5]), b.asarray(y)), ValueError, f"X has 5 samples but y has {N}"),
    "zero samples": ("classifier", "fit", lambda b, X, y: (b.asarray(X[:0]), b.asarray(y[:0])), ValueError, "0 sample"),
    "features in predict": ("classifier", "predict_proba", lambda b, X, y: (b.asarray(X[:, :2]),), ValueError, f"X has 2 features, but MLPClassifier is expecting {F}"),
    "features in partial_fit": ("regressor", "partial_fit", lambda b, X, y: (b.asarray(np.hstack([X, X])), b.asarray(y)), ValueError, f"X has {2 * F} features, but MLPRegressor is expecting {F}"),
    "features in score": ("perceptron", "score", lambda b, X, y: (b.asarray(X[:, :1]), b.asarray(y)), ValueError, f"X has 1 features, but Perceptron is expecting {F}"),
    "unseen label": ("classifier", "partial_fit", lambda b, X, y: (b.asarray(X), b.asarray(np.where(y == 2, 9, y))), ValueError, "labels [9] that are not in classes"),
    "continuous labels": ("classifier", "fit", lambda b, X, y: (b.asarray(X), b.asarray(X[:, 0])), ValueError, "Unknown label type: continuous"),
    "y of another namespace": ("classifier", "fit", lambda b, X, y: (b.asarray(X), _other_namespace(b, y)), TypeError, "X is a "),
    "X of another namespace in predict": ("regressor", "predict", lambda b, X, y: (_other_namespace(b, X),), TypeError, "fitted on"),
    "perceptron X with NaN": ("perceptron", "fit", lambda b, X, y: (b.asarray(_with(X, (1, 1), np.nan)), b.asarray(y)), ValueError, "NaN"),
    "perceptron bad coef_init": ("perceptron", "fit", lambda b, X, y: (b.asarray(X), b.asarray(y), [[1.0, 2.0]]), ValueError, "coef_init must have shape"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_refused_and_changes_nothing(backend, case):
    kind, method, make_args, error, message = CASES[case]
    est, X, y = _fitted(kind, backend)
    before = _snapshot(est)
    X_host, y_host = _data(kind)
    with pytest.raises(error, match=_escape(message)):
        getattr(est, method)(*make_args(backend, X_host, y_host))
    _assert_same(before, _snapshot(est))
    # ... and it keeps working afterwards.
    if kind == "perceptron":
        with pytest.warns(ConvergenceWarning):
            est.fit(X, y)
    else:
        est.partial_fit(X, y)
        assert est.n_iter_ == 1  # this call's epoch (scikit-learn's n_iter_)
        assert len(est.loss_curve_) == len(before["loss_curve_"]) + 1


def _escape(message):
    return message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(").replace(")", r"\)")


def test_mixed_devices_are_refused_and_change_nothing():
    backend_device = array_api_strict.Device("device1")
    X_host, y_host = _data("classifier")
    X = array_api_strict.asarray(X_host, device=backend_device)
    est = MLPClassifier((4,), max_iter=2, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(X, array_api_strict.asarray(y_host, device=backend_device))
    before = _snapshot(est)
    with pytest.raises(ValueError, match=r"X is on device .*device1.* but y is on device"):
        est.partial_fit(X, array_api_strict.asarray(y_host))
    with pytest.raises(ValueError, match="move X there first"):
        est.predict(array_api_strict.asarray(X_host))
    _assert_same(before, _snapshot(est))


@pytest.mark.parametrize(
    ("cls", "method"),
    [
        (cls, method)
        for cls in (MLPClassifier, MLPRegressor, Perceptron)
        for method in (
            "predict",
            "predict_proba",
            "predict_log_proba",
            "decision_function",
            "score",
        )
        if hasattr(cls, method)
    ],
)
def test_not_fitted_says_to_call_fit(backend, cls, method):
    X = backend.asarray(np.ones((3, 2)))
    args = (X, backend.asarray(np.array([0, 1, 0]))) if method == "score" else (X,)
    with pytest.raises(NotFittedError, match="not fitted yet; call 'fit'"):
        getattr(cls(), method)(*args)


def test_first_partial_fit_needs_classes(backend):
    X, y = _data("classifier")
    est = MLPClassifier()
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        est.partial_fit(backend.asarray(X), backend.asarray(y))
    assert not hasattr(est, "coefs_")


def _diverging(**params):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = X @ rng.normal(size=5) * 100
    defaults = {"hidden_layer_sizes": (32,), "solver": "sgd", "learning_rate_init": 1.0,
                "momentum": 0.9, "random_state": 0}  # fmt: skip
    return MLPRegressor(**{**defaults, **params}), X, y


def test_divergence_stops_with_a_clear_error_and_keeps_the_last_finite_model(backend64):
    est, X_host, y_host = _diverging(max_iter=50)
    X, y = backend64.asarray(X_host), backend64.asarray(y_host)
    with pytest.raises(
        DivergenceError, match=r"diverged in epoch (\d+): the loss is not finite"
    ) as info:
        est.fit(X, y)  # and no RuntimeWarning: warnings are errors in this suite
    assert "smaller learning_rate_init" in str(info.value)
    assert isinstance(info.value, FloatingPointError)
    epoch = int(re.search(r"epoch (\d+)", str(info.value)).group(1))
    assert est.n_iter_ == epoch - 1 == len(est.loss_curve_)
    assert all(np.isfinite(est.loss_curve_))
    for W in est.coefs_:
        assert np.all(np.isfinite(to_numpy(W)))
    # The kept model is the one training reached before the diverging epoch.
    reference, _, _ = _diverging(max_iter=epoch - 1)
    with pytest.warns(ConvergenceWarning):
        reference.fit(X, y)
    for ours, theirs in zip(est.coefs_, reference.coefs_, strict=True):
        np.testing.assert_array_equal(to_numpy(ours), to_numpy(theirs))


def test_a_diverging_partial_fit_keeps_the_model_it_started_from(backend64):
    # One epoch per call: the rollback point is the estimator's own arrays, which training
    # (on copies, in place where the namespace allows) must have left untouched.
    est, X_host, y_host = _diverging()
    X, y = backend64.asarray(X_host), backend64.asarray(y_host)
    before: list[np.ndarray] = []
    for _ in range(50):
        if hasattr(est, "coefs_"):
            before = [to_numpy(a).copy() for a in (*est.coefs_, *est.intercepts_)]
        try:
            est.partial_fit(X, y)
        except DivergenceError:
            break
    else:
        pytest.fail("training never diverged")
    assert before, "diverged on the first call: nothing to compare"
    after = [to_numpy(a) for a in (*est.coefs_, *est.intercepts_)]
    for kept, started in zip(after, before, strict=True):
        np.testing.assert_array_equal(kept, started)


def test_huge_logits_give_finite_probabilities_without_warnings(backend):
    X, y = _data("classifier")
    for est in (MLPClassifier((4,), max_iter=2, random_state=0), Perceptron(max_iter=2)):
        with pytest.warns(ConvergenceWarning):
            est.fit(backend.asarray(X), backend.asarray(y))
        huge = backend.asarray(X * 1e7)
        proba = to_numpy(est.predict_proba(huge))
        assert np.all(np.isfinite(proba))
        assert np.all((proba >= 0) & (proba <= 1))
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
        if hasattr(est, "predict_log_proba"):
            log_proba = to_numpy(est.predict_log_proba(huge))
            assert not np.any(np.isnan(log_proba))
            assert np.all(log_proba <= 0)


class _Raising:
    """A callback that raises ``error`` at the end of epoch ``at``."""

    def __init__(self, at, error):
        self.at, self.error = at, error

    def on_epoch_end(self, estimator, epoch):
        if epoch.epoch == self.at:
            raise self.error


@pytest.mark.parametrize("error", [RuntimeError("callback failed"), KeyboardInterrupt()])
@pytest.mark.parametrize("how", ["warm_start fit", "partial_fit", "first fit"])
def test_a_call_that_fails_in_a_callback_changes_nothing(backend, how, error):
    # Callbacks see the estimator as of each epoch; a call that then fails puts it back as
    # it was before the call, however far training went.
    kind = "classifier" if how != "partial_fit" else "regressor"
    est, X, y = _fitted(kind, backend)
    if how == "first fit":
        est = type(est)(**est.get_params())
    before = _snapshot(est)
    # Epochs count on across calls: fail in the second epoch of this call.
    at = before.get("n_iter_", 0) + (1 if how == "partial_fit" else 2)
    est.set_params(warm_start=True, max_iter=5, callbacks=[_Raising(at, error)])
    with pytest.raises(type(error)):
        est.fit(X, y) if how != "partial_fit" else est.partial_fit(X, y)
    _assert_same(before, _snapshot(est))
    if how == "first fit":
        with pytest.raises(NotFittedError):
            est.predict(X)


@pytest.mark.parametrize(
    ("kind", "make_y", "message"),
    [
        ("classifier", lambda y: [[1, 2], [1], *y[2:].tolist()], "y is ragged: its rows have different lengths"),
        ("regressor", lambda y: [[1.0, 2.0], [1.0], *y[2:].tolist()], "y is ragged"),
        ("regressor", lambda y: np.stack([y, y], axis=1), "y needs 2 output unit(s) but the model was fitted with 1"),
        ("classifier", lambda y: np.stack([y > 0, y > 1], axis=1).astype(int), "y has 2 labels but the model was fitted with 3"),
    ],
)  # fmt: skip
def test_messages_name_the_problem_of_y(backend, kind, make_y, message):
    est, X, _ = _fitted(kind, backend)
    _, y_host = _data(kind)
    y = make_y(y_host)
    before = _snapshot(est)
    with pytest.raises(ValueError, match=_escape(message)):
        est.partial_fit(X, backend.asarray(y) if isinstance(y, np.ndarray) else y)
    _assert_same(before, _snapshot(est))


@pytest.mark.parametrize("kind", ["perceptron", "classifier"])
@pytest.mark.parametrize("fitted", [True, False])
def test_a_warning_turned_into_an_error_changes_nothing(backend, kind, fitted):
    # With warnings as errors, the ConvergenceWarning ends the call: it failed, so the
    # estimator stays as it was (fitted before, or not fitted at all).
    est, X, _y = _fitted(kind, backend)
    if not fitted:
        est = type(est)(**est.get_params())
    before = _snapshot(est)
    other = backend.asarray(_data(kind, seed=1)[1])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        with pytest.raises(ConvergenceWarning):
            est.fit(X, other)
    _assert_same(before, _snapshot(est))


def test_lists_continue_a_model_in_its_own_dtype():
    # partial_fit with lists on a float64 torch model: straight to float64, never rounded
    # through torch's default float32 on the way.
    torch = pytest.importorskip("torch")
    X_host, y_host = _data("regressor")
    X = torch.asarray(X_host)
    models = [MLPRegressor((4,), max_iter=3, random_state=0) for _ in range(2)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for est in models:
            est.fit(X, torch.asarray(y_host))
    models[0].partial_fit(X, torch.asarray(y_host))
    models[1].partial_fit(X_host.tolist(), y_host.tolist())
    for ours, theirs in zip(models[0].coefs_, models[1].coefs_, strict=True):
        assert torch.equal(ours, theirs)


@pytest.mark.parametrize(
    ("make_classes", "error", "message"),
    [
        (lambda b: [b.xp.asarray(v, device=b.device) for v in (0, 1, 2)], None, None),
        (lambda b: [[0, 1, 2]], ValueError, "classes must be 1-D"),
        (lambda b: [[0, 1], [2]], ValueError, "classes is ragged"),
    ],
)
def test_classes_are_read_as_labels(backend, make_classes, error, message):
    X, y = _data("classifier")
    est = MLPClassifier((4,), random_state=0)
    args = (backend.asarray(X), backend.asarray(y))
    if error is None:  # a list of 0-d device arrays: read one by one, never with np.asarray
        est.partial_fit(*args, classes=make_classes(backend))
        np.testing.assert_array_equal(est.classes_, [0, 1, 2])
        return
    with pytest.raises(error, match=message):
        est.partial_fit(*args, classes=make_classes(backend))
    assert not hasattr(est, "coefs_")


def test_labels_of_mixed_types_are_refused():
    X, _ = _data("classifier")
    with pytest.raises(TypeError, match="y mixes strings and numbers"):
        MLPClassifier().fit(X[:6], [0, "a", 0, 1, 2, 2])
    with pytest.raises(TypeError, match="y mixes strings and numbers"):
        Perceptron().fit(X[:4], ["a", 1, "b", 2])


def test_multilabel_score_needs_a_numeric_indicator(backend):
    X, _ = _data("classifier")
    Y = (X[:, :2] > 0).astype(np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((4,), max_iter=3, random_state=0).fit(
            backend.asarray(X), backend.asarray(Y)
        )
    with pytest.raises(ValueError, match="a multilabel indicator holds 0/1 numbers"):
        clf.score(backend.asarray(X), Y.astype(str))
    with pytest.raises(ValueError, match="y is ragged"):
        clf.score(backend.asarray(X), [[0, 1]] * (N - 1) + [[0]])
