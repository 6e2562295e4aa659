"""Sparse X (issue 11, item 4): SciPy's CSR/CSC matrices and arrays on the NumPy backend,
never densified whole, give the model dense X gives; ``predict`` takes what ``fit`` takes.

``cupyx.scipy.sparse`` takes the same path on CuPy: the tests that take ``sparse_backend``
run on both (CuPy where a GPU is usable).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import BACKENDS

from xperceptron import MLPClassifier, MLPRegressor, Perceptron
from xperceptron._namespace import to_numpy

sp = pytest.importorskip("scipy.sparse")

FORMATS = ["csr_matrix", "csc_matrix", "coo_matrix", "csr_array", "csc_array"]
# The backends with a sparse library: SciPy's for NumPy arrays, cupyx's for CuPy's.
SPARSE_LIBRARIES = {"numpy": "scipy.sparse", "cupy": "cupyx.scipy.sparse"}


@pytest.fixture(params=[p for p in BACKENDS if p.id in SPARSE_LIBRARIES])
def sparse_backend(request, monkeypatch):
    """A backend and its sparse module, whose matrices refuse to be densified."""
    backend = request.param
    module = pytest.importorskip(SPARSE_LIBRARIES[backend.name])

    def refuse(self, *args, **kwargs):
        raise AssertionError("a sparse X was densified")

    for fmt in ("csr_matrix", "csc_matrix", "coo_matrix"):
        for method in ("toarray", "todense", "__array__", "get"):
            monkeypatch.setattr(getattr(module, fmt), method, refuse, raising=False)
    return backend, module


def _data(task, n=120, d=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * (rng.uniform(size=(n, d)) < 0.15)  # 85% zeros
    scores = X @ rng.normal(size=(d, 3))
    y = {
        "binary": (scores[:, 0] > 0).astype(np.int64),
        "multiclass": np.argmax(scores, axis=1),
        "multilabel": (scores > 0).astype(np.int64),
        "regression": scores[:, 0],
    }[task]
    return X, y


def _estimator(task, **params):
    cls = MLPRegressor if task == "regression" else MLPClassifier
    common = {"hidden_layer_sizes": (8,), "max_iter": 6, "batch_size": 32, "random_state": 0,
              "tol": 0.0, "n_iter_no_change": 1000, **params}  # fmt: skip
    return cls(**common)


def _fit(est, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter is reached on purpose
        return est.fit(X, y, **kwargs)


def _outputs(est, X):
    return est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)


@pytest.fixture
def never_dense(monkeypatch):
    """Any densifying of a SciPy sparse matrix or array fails the test."""

    def refuse(self, *args, **kwargs):
        raise AssertionError("a sparse X was densified")

    for name in ("csr", "csc", "coo"):
        for kind in ("matrix", "array"):
            cls = getattr(sp, f"{name}_{kind}")
            for method in ("toarray", "todense", "__array__"):
                monkeypatch.setattr(cls, method, refuse, raising=False)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("task", "solver", "early_stopping"),
    [("binary", "adam", False), ("multiclass", "sgd", True), ("multilabel", "adam", False),
     ("regression", "lbfgs", False), ("regression", "sgd", True)],
)  # fmt: skip
def test_sparse_x_trains_the_dense_model_without_densifying(
    never_dense, fmt, task, solver, early_stopping
):
    X, y = _data(task)
    dense = _fit(_estimator(task, solver=solver, early_stopping=early_stopping), X, y)
    est = _fit(_estimator(task, solver=solver, early_stopping=early_stopping),
               getattr(sp, fmt)(X), y)  # fmt: skip
    # float64: the sparse products add the nonzero terms only, in another order (a few
    # ulps each, carried through the epochs).
    for a, b in zip(est.coefs_ + est.intercepts_, dense.coefs_ + dense.intercepts_, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    np.testing.assert_allclose(est.loss_curve_, dense.loss_curve_, rtol=1e-12)
    # predict takes what fit takes, and a model fitted on dense X takes sparse X too
    for model in (est, dense):
        np.testing.assert_allclose(_outputs(model, getattr(sp, fmt)(X)), _outputs(est, X),
                                   rtol=0, atol=1e-12)  # fmt: skip
    if task != "regression":  # the labels are exactly the same
        np.testing.assert_array_equal(est.predict(getattr(sp, fmt)(X)), est.predict(X))


def test_partial_fit_and_sample_weight_take_sparse_x(never_dense):
    X, y = _data("multiclass")
    weights = np.random.default_rng(1).uniform(0, 2, size=X.shape[0])
    sparse, dense = _estimator("multiclass", solver="sgd"), _estimator("multiclass", solver="sgd")
    for rows in (slice(0, 60), slice(60, 120)):
        sparse.partial_fit(sp.csr_matrix(X[rows]), y[rows], sample_weight=weights[rows],
                           classes=np.arange(3))  # fmt: skip
        dense.partial_fit(X[rows], y[rows], sample_weight=weights[rows], classes=np.arange(3))
    for a, b in zip(sparse.coefs_, dense.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    assert sparse.score(sp.csr_matrix(X), y, sample_weight=weights) == pytest.approx(
        dense.score(X, y, sample_weight=weights), abs=1e-12
    )


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [(np.float32, np.float32), (np.float64, np.float64), (np.int64, np.float64),
     (bool, np.float64)],  # SciPy has no float16
)  # fmt: skip
def test_sparse_dtypes_as_dense_ones(dtype, expected):
    X, y = _data("binary")
    est = _fit(_estimator("binary"), sp.csr_matrix((X != 0).astype(dtype) * X.astype(dtype)), y)
    assert est.coefs_[0].dtype == expected
    assert est.predict_proba(sp.csr_matrix(X.astype(dtype))).dtype == expected


def test_bad_sparse_x_is_refused_before_anything_changes():
    X, y = _data("binary")
    est = _fit(_estimator("binary"), sp.csr_matrix(X), y)
    before = [W.copy() for W in est.coefs_]
    bad = sp.csr_matrix(X)
    bad.data[3] = np.nan
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        est.fit(bad, y)
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        est.predict(bad)
    with pytest.raises(ValueError, match="X has 39 features, but"):
        est.predict(sp.csr_matrix(X[:, 1:]))
    with pytest.raises(ValueError, match="Complex data not supported"):
        est.fit(sp.csr_matrix(X.astype(complex)), y)
    with pytest.raises(ValueError, match=r"has 0 sample\(s\)"):
        est.fit(sp.csr_matrix((0, X.shape[1])), y[:0])
    with pytest.raises(ValueError, match="must be 2-D"):
        est.fit(sp.coo_array(X[0]), y[:1])
    for W, W0 in zip(est.coefs_, before, strict=True):
        np.testing.assert_array_equal(W, W0)


@pytest.mark.parametrize(
    ("task", "solver", "early_stopping"),
    [("multiclass", "sgd", True), ("multilabel", "adam", False), ("regression", "lbfgs", False)],
)  # fmt: skip
def test_sparse_x_on_its_backend_trains_the_dense_model(
    sparse_backend, task, solver, early_stopping
):
    backend, module = sparse_backend
    X, y = _data(task)
    Xd, yd = backend.asarray(X), backend.asarray(y)
    Xs = module.csr_matrix(Xd)  # made on the device, from the device's dense array
    dense = _fit(_estimator(task, solver=solver, early_stopping=early_stopping), Xd, yd)
    est = _fit(_estimator(task, solver=solver, early_stopping=early_stopping), Xs, yd)
    for a, b in zip(est.coefs_ + est.intercepts_, dense.coefs_ + dense.intercepts_, strict=True):
        backend.assert_array(a)
        # float64, as in the test above: the nonzero terms only, added in another order
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), rtol=0, atol=1e-12)
    np.testing.assert_allclose(est.loss_curve_, dense.loss_curve_, rtol=1e-12)
    outputs = _outputs(est, module.csc_matrix(Xd))
    backend.assert_close(outputs, to_numpy(_outputs(dense, Xd)), rtol=0, atol=1e-12)
    if task != "regression":  # the labels are exactly the same
        labels = est.predict(Xs)
        backend.assert_array(labels)
        np.testing.assert_array_equal(to_numpy(labels), to_numpy(dense.predict(Xd)))


def test_the_perceptron_names_sparse_input_it_does_not_take():
    X, y = _data("binary")
    with pytest.raises(TypeError, match="sparse input is not supported by this estimator"):
        Perceptron().fit(sp.csr_matrix(X), y)
