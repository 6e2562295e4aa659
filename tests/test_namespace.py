"""The namespace layer: (xp, device) from the inputs, and clear errors when they are mixed."""

from __future__ import annotations

import array_api_strict
import numpy as np
import pytest

from xperceptron._namespace import default_float_dtype, get_namespace, host_dtype, to_numpy


def test_namespace_and_device_follow_the_array(backend):
    X = backend.asarray(np.ones((3, 2)))
    xp, device = get_namespace(X=X, y=None, labels=[1, 2, 3])
    assert xp is backend.xp
    assert device == backend.device


def test_no_array_means_numpy_on_the_cpu():
    xp, device = get_namespace(X=[[1.0, 2.0]], y=(0,))
    assert xp.__name__ == "array_api_compat.numpy"
    assert device == "cpu"


def test_mixed_namespaces_name_both_arguments(backend):
    X = backend.asarray(np.ones((3, 2)))
    # Any backend mixed with array-api-strict's CPU device is a mix of namespaces,
    # except strict itself, which is mixed with NumPy.
    other = np.ones(3) if backend.xp is array_api_strict else array_api_strict.ones(3)
    with pytest.raises(TypeError, match=r"X is a .* array but y is a .* array"):
        get_namespace(X=X, y=other)


def test_mixed_devices_name_both_devices():
    X = array_api_strict.ones((3, 2), device=array_api_strict.Device("device1"))
    y = array_api_strict.ones(3)
    with pytest.raises(ValueError, match=r"X is on device .*device1.* but y is on device .*CPU"):
        get_namespace(X=X, y=y)


def test_to_numpy_copies_values_to_the_host(backend):
    values = np.arange(6.0).reshape(2, 3)
    host = to_numpy(backend.asarray(values))
    assert isinstance(host, np.ndarray)
    np.testing.assert_array_equal(host, values)


def test_default_float_dtype_respects_the_device():
    xp = array_api_strict
    assert default_float_dtype(xp, xp.Device("device1")) == xp.float64
    assert default_float_dtype(xp, xp.Device("no_float64")) == xp.float32


def test_host_dtype_maps_floats_and_rejects_others(backend):
    xp = backend.xp
    assert host_dtype(xp.float32, xp) is np.float32
    assert host_dtype(xp.float64, xp) is np.float64
    with pytest.raises(TypeError, match="not a real floating dtype"):
        host_dtype(xp.int64, xp)
