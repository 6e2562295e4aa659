"""What a user's arrays may be: autograd tensors, device arrays that refuse ``np.asarray``,
devices without float64 or int64, float16, and Python lists beside any of them."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from xperceptron import ConvergenceWarning, MLPClassifier, MLPRegressor, Perceptron
from xperceptron._namespace import default_float_dtype


def _data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5)  # labels 0, 1, 2


def _quietly(fit, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit(*args, **kwargs)


def _params(est):
    if isinstance(est, Perceptron):
        return [est.coef_, est.intercept_]
    return [*est.coefs_, *est.intercepts_]


ESTIMATORS = {
    "classifier": lambda: MLPClassifier((5,), max_iter=4, random_state=0),
    "regressor": lambda: MLPRegressor((5,), max_iter=4, random_state=0),
    "perceptron": lambda: Perceptron(max_iter=4, rule="logistic"),
}


@pytest.mark.parametrize("kind", sorted(ESTIMATORS))
def test_torch_tensors_that_require_grad_train_detached(kind):
    # Without detaching, every step chains into one autograd graph that grows each epoch,
    # and the fitted parameters and predictions carry it.
    torch = pytest.importorskip("torch")
    X_host, labels = _data()
    y_host = X_host[:, 0] * 2.0 if kind == "regressor" else labels
    X = torch.tensor(X_host, requires_grad=True)
    y = torch.tensor(y_host, requires_grad=kind == "regressor")
    est = _quietly(ESTIMATORS[kind]().fit, X, y)
    plain = _quietly(ESTIMATORS[kind]().fit, X.detach(), y.detach())
    for ours, theirs in zip(_params(est), _params(plain), strict=True):
        assert not ours.requires_grad
        assert ours.grad_fn is None
        assert torch.equal(ours, theirs)
    for method in ("predict_proba", "predict_log_proba", "decision_function", "predict"):
        if hasattr(est, method):
            out = getattr(est, method)(X)
            assert not out.requires_grad
            assert out.grad_fn is None
    assert X.grad is None  # nothing flowed back into the user's tensor
    if kind != "perceptron":
        est.partial_fit(X, y)
        assert all(p.grad_fn is None for p in _params(est))


def test_partial_fit_classes_on_the_device(backend):
    # array-api-strict's device1 refuses np.asarray, as CuPy and CUDA tensors do.
    X_host, y_host = _data()
    X, y = backend.asarray(X_host), backend.asarray(y_host)
    classes = backend.asarray(np.array([0, 1, 2]))
    est = MLPClassifier((5,), random_state=0).partial_fit(X, y, classes=classes)
    np.testing.assert_array_equal(est.classes_, [0, 1, 2])
    est.partial_fit(X, y, classes=classes)  # checked against the fitted classes again
    with pytest.raises(ValueError, match=r"classes=\[0, 1, 3\] differs"):
        est.partial_fit(X, y, classes=backend.asarray(np.array([0, 1, 3])))


def test_lists_follow_the_arrays_they_come_with(backend):
    # Python lists take the namespace and device of the arrays beside them (or of the fitted
    # model), in the device's default float dtype: never float64 on a device without it.
    X_host, y_host = _data()
    X = backend.asarray(X_host)
    default = default_float_dtype(backend.xp, backend.device)
    reg = _quietly(MLPRegressor((5,), max_iter=3, random_state=0).fit, X, X_host[:, 0].tolist())
    backend.assert_array(reg.coefs_[0], dtype=backend.float_dtype)
    clf = _quietly(
        MLPClassifier((5,), max_iter=3, random_state=0).fit,
        X_host.tolist(),
        backend.asarray(y_host),
    )
    backend.assert_array(clf.coefs_[0], dtype=default)
    predicted = clf.predict(X_host.tolist())  # a list, predicted by a model on the device
    backend.assert_array(predicted, shape=(60,))
    backend.assert_array(clf.predict_proba(X_host[:2].tolist()), shape=(2, 3), dtype=default)
    assert 0.0 <= clf.score(X_host.tolist(), y_host.tolist()) <= 1.0
    clf.partial_fit(X_host.tolist(), y_host.tolist())  # continues on the device
    backend.assert_array(clf.coefs_[0], dtype=default)
    perceptron = _quietly(Perceptron(max_iter=3).fit, X, backend.asarray(y_host),
                          coef_init=[[0.1, 0.2, 0.3]] * 3)  # fmt: skip
    backend.assert_array(perceptron.coef_, shape=(3, 3), dtype=backend.float_dtype)


def test_float16_trains_in_float32(backend):
    # float16 cannot hold Adam's epsilon (1e-8 rounds to 0: the first step is 0/0) nor an
    # epoch's loss total beyond 65,504: float16 data is computed in float32, as scikit-learn
    # computes it in float64.
    float16 = getattr(backend.xp, "float16", None)
    if float16 is None:
        pytest.skip(f"{backend.name} has no float16")
    X_host, _ = _data(n=200)
    y_host = 1000.0 * X_host[:, 0]  # squared errors ~1e6: an epoch's total overflows float16
    X, y = backend.asarray(X_host, dtype=float16), backend.asarray(y_host, dtype=float16)
    reg = _quietly(MLPRegressor((5,), solver="adam", max_iter=3, random_state=0).fit, X, y)
    reference = _quietly(
        MLPRegressor((5,), solver="adam", max_iter=3, random_state=0).fit,
        backend.asarray(X_host.astype(np.float16).astype(np.float32), dtype=backend.xp.float32),
        backend.asarray(y_host.astype(np.float16).astype(np.float32), dtype=backend.xp.float32),
    )
    assert reg.loss_curve_ == reference.loss_curve_
    assert all(np.isfinite(reg.loss_curve_))
    backend.assert_array(reg.coefs_[0], dtype=backend.xp.float32)
    backend.assert_array(reg.predict(X), shape=(200,), dtype=backend.xp.float32)
    clf = _quietly(Perceptron(max_iter=3, rule="logistic").fit, X, backend.asarray(y_host > 0))
    backend.assert_array(clf.coef_, dtype=backend.xp.float32)
