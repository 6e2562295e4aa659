"""Activations: values, derivatives against float64 finite differences, and stability."""

from __future__ import annotations

import numpy as np
import pytest

from xperceptron._namespace import to_numpy
from xperceptron.activations import ACTIVATIONS, LEAKY_RELU_SLOPE, get_activation

REFERENCE = {
    "identity": lambda z: z,
    "logistic": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    "leaky_relu": lambda z: np.where(z > 0, z, LEAKY_RELU_SLOPE * z),
    "softplus": lambda z: np.log1p(np.exp(z)),
}


def _points(seed=0):
    # Away from relu's kink at 0, so central differences are valid everywhere.
    z = np.random.default_rng(seed).uniform(0.1, 4.0, size=(5, 4))
    return z * np.where(np.arange(20).reshape(5, 4) % 2, 1.0, -1.0)


def test_registry_holds_sklearns_four_and_more():
    assert {"identity", "logistic", "tanh", "relu", "leaky_relu", "softplus"} <= set(ACTIVATIONS)


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"activation must be one of \[.*'relu'.*\], got 'gelu'"):
        get_activation("gelu")


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_forward_matches_its_formula(backend, name):
    z = _points()
    out = ACTIVATIONS[name].forward(backend.asarray(z), xp=backend.xp)
    backend.assert_array(out, shape=z.shape, dtype=backend.float_dtype)
    # Tolerance: a few ulps of the backend's dtype for these smooth functions.
    rtol = 8 * np.finfo(np.float64 if backend.float64 else np.float32).eps
    backend.assert_close(out, REFERENCE[name](z), rtol=rtol)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_backward_matches_central_differences(backend64, name):
    xp, z, h = backend64.xp, _points(1), 1e-6
    activation = ACTIVATIONS[name]
    delta = np.random.default_rng(2).normal(size=z.shape)
    output = activation.forward(backend64.asarray(z), xp=xp)
    got = activation.backward(backend64.asarray(delta), output, xp=xp)
    plus = to_numpy(activation.forward(backend64.asarray(z + h), xp=xp))
    minus = to_numpy(activation.forward(backend64.asarray(z - h), xp=xp))
    # Central differences err by O(h^2 f''') ~ 1e-12 plus rounding eps/h ~ 1e-10.
    backend64.assert_close(got, delta * (plus - minus) / (2 * h), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", ["logistic", "softplus", "tanh"])
def test_huge_inputs_stay_finite_without_warnings(backend, name):
    z = np.array([[-1e5, -1e4, 0.0, 1e4, 1e5]])
    out = to_numpy(ACTIVATIONS[name].forward(backend.asarray(z), xp=backend.xp))
    assert np.all(np.isfinite(out))
    if name == "logistic":
        np.testing.assert_array_equal(out, [[0.0, 0.0, 0.5, 1.0, 1.0]])
    if name == "softplus":
        np.testing.assert_allclose(out, [[0.0, 0.0, np.log(2.0), 1e4, 1e5]], rtol=1e-7)


def test_float32_stays_float32(backend):
    z = backend.asarray(_points(), dtype=backend.xp.float32)
    for name, activation in ACTIVATIONS.items():
        out = activation.forward(z, xp=backend.xp)
        backend.assert_array(out, dtype=backend.xp.float32)
        grad = activation.backward(out, out, xp=backend.xp)
        backend.assert_array(grad, dtype=backend.xp.float32), name
