"""Property-based tests: random shapes, dtypes and label sets through validation, fit, save/load."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from xperceptron import ConvergenceWarning, MLPClassifier, MLPRegressor, load, save
from xperceptron._namespace import get_namespace
from xperceptron._validation import check_X

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def classification(draw):
    n_samples = draw(st.integers(2, 25))
    n_features = draw(st.integers(1, 5))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    X = draw(hnp.arrays(dtype, (n_samples, n_features), elements=st.floats(-5, 5, width=32)))
    n_classes = draw(st.integers(2, 4))
    codes = draw(hnp.arrays(np.int64, n_samples, elements=st.integers(0, n_classes - 1)))
    assume(np.unique(codes).size >= 2)
    names = draw(st.sampled_from(["ints", "strings", "floats"]))
    labels = {
        "ints": codes * 3 - 2,
        "strings": np.array([f"class-{c}" for c in codes]),
        "floats": codes.astype(np.float64) / 2.0 * 2.0,
    }[names]
    return X, labels


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def _rtol(dtype):
    # A handful of roundings of the dtype through a small network.
    return 1e3 * np.finfo(dtype).eps


@SETTINGS
@given(problem=classification(), hidden=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_probabilities_are_distributions_over_classes_(problem, hidden, seed):
    X, y = problem
    est = _fit(MLPClassifier((hidden,), max_iter=3, random_state=seed), X, y)
    np.testing.assert_array_equal(est.classes_, np.unique(y))
    assert est.coefs_[0].dtype == X.dtype
    proba = est.predict_proba(X)
    assert proba.shape == (X.shape[0], est.classes_.size)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=_rtol(X.dtype))
    assert set(est.predict(X).tolist()) <= set(est.classes_.tolist())


@SETTINGS
@given(problem=classification(), seed=st.integers(0, 2**16), row=st.integers(0, 24))
def test_a_rows_prediction_does_not_depend_on_the_other_rows(problem, seed, row):
    X, y = problem
    row = row % X.shape[0]
    est = _fit(MLPClassifier((4,), max_iter=2, random_state=seed), X, y)
    alone = est.predict_proba(X[row : row + 1])[0]
    in_batch = est.predict_proba(X)[row]
    # Matrix products of different sizes may sum in another order: rounding only.
    np.testing.assert_allclose(alone, in_batch, rtol=_rtol(X.dtype), atol=_rtol(X.dtype))
    margin = np.sort(in_batch)[-1] - np.sort(in_batch)[-2]
    if margin > 10 * _rtol(X.dtype):
        assert est.predict(X[row : row + 1])[0] == est.predict(X)[row]


@SETTINGS
@given(
    problem=classification(),
    regression=st.booleans(),
    solver=st.sampled_from(["sgd", "adam"]),
    seed=st.integers(0, 2**16),
)
def test_save_then_load_is_the_identity(problem, regression, solver, seed):
    X, y = problem
    if regression:
        est = _fit(MLPRegressor((3,), solver=solver, max_iter=2, random_state=seed), X, X[:, 0])
    else:
        est = _fit(MLPClassifier((3, 2), solver=solver, max_iter=2, random_state=seed), X, y)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "model.npz"
        save(est, path)
        again = load(path)
    assert again.get_params() == est.get_params()
    for ours, theirs in zip(
        again.coefs_ + again.intercepts_, est.coefs_ + est.intercepts_, strict=True
    ):
        np.testing.assert_array_equal(ours, theirs, strict=True)
    np.testing.assert_array_equal(again.predict(X), est.predict(X))


@SETTINGS
@given(
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
    dtype=st.sampled_from([np.float32, np.float64, np.int32, np.bool_, np.complex64]),
)
def test_validation_accepts_exactly_the_non_empty_real_matrices(shape, dtype):
    X = np.ones(shape, dtype=dtype)
    xp, device = get_namespace(X=X)
    valid = len(shape) == 2 and min(shape) > 0 and np.dtype(dtype).kind != "c"
    if valid:
        out = check_X(X, xp=xp, device=device)
        assert out.shape == shape
        assert out.dtype == (dtype if np.dtype(dtype).kind == "f" else np.float64)
    else:
        with pytest.raises(ValueError, match=r"2-D|0 sample|0 feature|Complex"):
            check_X(X, xp=xp, device=device)
