"""Validation of inputs: shapes, dtypes, finiteness and labels, with messages naming the problem."""

from __future__ import annotations

import numpy as np
import pytest

from xperceptron import DataConversionWarning
from xperceptron._namespace import default_float_dtype, get_namespace
from xperceptron._validation import check_features, check_labels, check_X


def _check(X, backend):
    return check_X(X, xp=backend.xp, device=backend.device)


def test_float_input_keeps_its_dtype(backend):
    for dtype in (backend.xp.float32, backend.float_dtype):
        X = backend.asarray(np.ones((2, 3)), dtype=dtype)
        out = _check(X, backend)
        backend.assert_array(out, shape=(2, 3), dtype=dtype)


@pytest.mark.parametrize("kind", ["int64", "int32", "bool"])
def test_integer_and_boolean_input_become_the_default_float(backend, kind):
    X = backend.asarray(np.ones((2, 3), dtype=kind))  # int32 where the device has no int64
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
        ((0, 3), r"0 sample\(s\) \(shape=\(0, 3\)\) while a minimum of 1"),
        ((3, 0), r"0 feature\(s\) \(shape=\(3, 0\)\) while a minimum of 1"),
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


def test_complex_text_and_sparse_are_rejected():
    xp = get_namespace()[0]
    with pytest.raises(ValueError, match="Complex data not supported"):
        check_X(np.ones((2, 2), dtype=complex), xp=xp, device="cpu")
    with pytest.raises(TypeError, match="must hold real numbers"):
        check_X([["a", "b"]], xp=xp, device="cpu")
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="sparse input is not supported"):
        check_X(sparse.csr_matrix(np.eye(3)), xp=xp, device="cpu")


def test_object_arrays_of_numbers_are_numbers():
    out = check_X(np.ones((2, 2), dtype=object), xp=get_namespace()[0], device="cpu")
    assert out.dtype == np.float64


def test_feature_count_is_named():
    class Fitted:
        n_features_in_ = 2

    with pytest.raises(ValueError, match="X has 3 features, but Fitted is expecting 2 features"):
        check_features(np.ones((4, 3)), Fitted())


def test_labels_come_back_to_the_host(backend):
    labels = check_labels(backend.asarray(np.array([2, 0, 1])), 3)
    assert isinstance(labels, np.ndarray)
    np.testing.assert_array_equal(labels, [2, 0, 1])


@pytest.mark.parametrize(
    ("y", "match"),
    [
        ([[0, 1, 0]], "must be 1-D"),
        ([0, 1], "X has 3 samples but y has 2"),
        ([0.0, np.nan, 1.0], "NaN or infinity"),
    ],
)
def test_bad_labels(y, match):
    with pytest.raises(ValueError, match=match):
        check_labels(y, 3)


def test_column_vector_labels_are_flattened_with_a_warning():
    with pytest.warns(
        DataConversionWarning, match="A column-vector y was passed when a 1d array was expected"
    ):
        labels = check_labels([[0], [1], [0]], 3)
    np.testing.assert_array_equal(labels, [0, 1, 0])


def test_continuous_or_missing_labels_are_refused():
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        check_labels([0.5, 1.0, 2.0], 3)
    with pytest.raises(ValueError, match="requires y to be passed"):
        check_labels(None, 3)


def test_huge_finite_values_are_not_mistaken_for_infinity(backend):
    # Their sum overflows float32; the values themselves are finite.
    X = backend.asarray(np.full((4, 2), 3e38), dtype=backend.xp.float32)
    out = check_X(X, xp=backend.xp, device=backend.device)
    backend.assert_array(out, shape=(4, 2), dtype=backend.xp.float32)


def test_an_int_beyond_the_largest_float_is_out_of_bounds_not_an_overflow():
    from xperceptron import MLPClassifier
    from xperceptron._validation import Interval

    with pytest.raises(ValueError, match="max_iter must be an int >= 1"):
        MLPClassifier(max_iter=-(10**400)).fit([[0.0], [1.0]], [0, 1])
    assert Interval("int", 1, None, closed="left")(10**400)
    assert not Interval("int", 1, 10, closed="both")(10**400)
