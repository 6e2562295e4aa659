"""Validation of inputs: shapes, dtypes, finiteness and labels, with messages naming the problem."""

from __future__ import annotations

import numpy as np
import pytest

from xperceptron._namespace import default_float_dtype, get_namespace
from xperceptron._validation import check_features, check_labels, check_X


def _check(X, backend):
    return check_X(X, xp=backend.xp, device=backend.device)


def test_float_input_keeps_its_dtype(backend):
    for dtype in (backend.xp.float32, backend.float_dtype):
        X = backend.asarray(np.ones((2, 3)), dtype=dtype)
        out = _check(X, backend)
        backend.assert_array(out, shape=(2, 3), dtype=dtype)


@pytest.mark.parametrize("kind", ["int64", "bool"])
def test_integer_and_boolean_input_become_the_default_float(backend, kind):
    X = backend.xp.asarray(np.ones((2, 3), dtype=kind), device=backend.device)
    out = _check(X, backend)
    backend.assert_array(out, shape=(2, 3), dtype=default_float_dtype(backend.xp, backend.device))


def test_python_lists_are_read_with_numpy():
    xp, device = get_namespace(X=[[0, 1], [1, 0]])
    out = check_X([[0, 1], [1, 0]], xp=xp, device=device)
    assert isinstance(out, np.ndarray)
    assert out.dtype == np.float64


@pytest.mark.parametrize(
    ("shape", "match"),
    [
        ((3,), "must be 2-D"),
        ((2, 3, 1), "must be 2-D"),
        ((0, 3), "at least one sample"),
        ((3, 0), "at least one sample and one feature"),
    ],
)
def test_bad_shapes(backend, shape, match):
    with pytest.raises(ValueError, match=match):
        _check(backend.asarray(np.ones(shape)), backend)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values(backend, bad):
    values = np.ones((3, 2))
    values[1, 0] = bad
    with pytest.raises(ValueError, match="NaN or infinity"):
        _check(backend.asarray(values), backend)


def test_complex_and_text_are_rejected():
    with pytest.raises(TypeError, match="expected real numbers"):
        check_X(np.ones((2, 2), dtype=complex), xp=get_namespace()[0], device="cpu")
    with pytest.raises(TypeError, match="expected real numbers"):
        check_X([["a", "b"]], xp=get_namespace()[0], device="cpu")


def test_feature_count_is_named():
    with pytest.raises(ValueError, match="X has 3 features, but the estimator was fitted with 2"):
        check_features(np.ones((4, 3)), 2)


def test_labels_come_back_to_the_host(backend):
    labels = check_labels(backend.asarray(np.array([2, 0, 1])), 3)
    assert isinstance(labels, np.ndarray)
    np.testing.assert_array_equal(labels, [2, 0, 1])


@pytest.mark.parametrize(
    ("y", "match"),
    [
        ([[0], [1], [0]], r"pass a 1-D array"),
        ([[0, 1, 0]], "must be 1-D"),
        ([0, 1], "X has 3 samples but y has 2"),
        ([0.0, np.nan, 1.0], "NaN or infinity"),
    ],
)
def test_bad_labels(y, match):
    with pytest.raises(ValueError, match=match):
        check_labels(y, 3)
