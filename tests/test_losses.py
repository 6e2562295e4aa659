"""Output/loss pairs: values, the output - y delta against finite differences, stability."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import one_hot_or_values
from scipy.special import xlogy

from xperceptron._namespace import to_numpy
from xperceptron.losses import OUTPUT_LOSSES, get_output_loss, log_softmax, softmax


def _numpy_loss(name, z, Y):
    if name == "logistic":
        p = 1.0 / (1.0 + np.exp(-z))
        return -np.sum(Y * np.log(p) + (1 - Y) * np.log(1 - p)) / z.shape[0]
    if name == "softmax":
        p = np.exp(z) / np.sum(np.exp(z), axis=1, keepdims=True)
        return -np.sum(Y * np.log(p)) / z.shape[0]
    if name == "exp":  # scikit-learn's poisson_loss of the mean e^z
        return np.sum(xlogy(Y, Y / np.exp(z)) - Y + np.exp(z)) / z.shape[0]
    return 0.5 * np.sum((z - Y) ** 2) / z.shape[0]


def test_unknown_output_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"one of \['exp', 'identity', 'logistic', 'softmax'\]"):
        get_output_loss("tanh")


@pytest.mark.parametrize("name", sorted(OUTPUT_LOSSES))
def test_loss_value_matches_the_textbook_formula(backend, name):
    rng = np.random.default_rng(0)
    z, Y = rng.normal(size=(6, 3)), one_hot_or_values(name, 6, 3, rng)
    loss = OUTPUT_LOSSES[name].loss(backend.asarray(z), backend.asarray(Y), xp=backend.xp)
    backend.assert_array(loss, shape=(), dtype=backend.float_dtype)
    rtol = 1e-12 if backend.float64 else 1e-5
    backend.assert_close(loss, _numpy_loss(name, z, Y), rtol=rtol)


@pytest.mark.parametrize("name", sorted(OUTPUT_LOSSES))
def test_delta_is_the_gradient_of_the_per_sample_loss(backend64, name):
    rng = np.random.default_rng(1)
    n, k, h = 5, 3, 1e-6
    z, Y = rng.normal(size=(n, k)), one_hot_or_values(name, n, k, rng)
    pair, xp = OUTPUT_LOSSES[name], backend64.xp
    Y_dev = backend64.asarray(Y)
    delta = pair.delta(pair.output(backend64.asarray(z), xp=xp), Y_dev, xp=xp)
    expected = np.empty_like(z)
    for index in np.ndindex(z.shape):
        step = np.zeros_like(z)
        step[index] = h
        plus = float(pair.loss(backend64.asarray(z + step), Y_dev, xp=xp))
        minus = float(pair.loss(backend64.asarray(z - step), Y_dev, xp=xp))
        expected[index] = n * (plus - minus) / (2 * h)  # the loss is a mean over n samples
    backend64.assert_close(delta, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", ["logistic", "softmax"])
def test_log_losses_are_stable_for_huge_logits(backend, name):
    z = np.array([[1e4, -1e4], [-1e5, 1e5]])
    Y = np.array([[1.0, 0.0], [1.0, 0.0]])
    pair = OUTPUT_LOSSES[name]
    loss = float(pair.loss(backend.asarray(z), backend.asarray(Y), xp=backend.xp))
    output = to_numpy(pair.output(backend.asarray(z), xp=backend.xp))
    # Row 1 is right with a margin of 1e4 (loss 0); row 2 is wrong by 1e5 (logistic: the
    # second unit's target 0 costs 1e5 and the first unit's target 1 costs 1e5; softmax: 2e5).
    expected = {"logistic": (0.0 + 2e5) / 2, "softmax": 2e5 / 2}[name]
    assert loss == pytest.approx(expected, rel=1e-6)
    assert np.all((output >= 0) & (output <= 1))


def test_softmax_rows_sum_to_one_and_match_log_softmax(backend):
    z = np.random.default_rng(3).normal(scale=30.0, size=(7, 4))
    xp = backend.xp
    probabilities = softmax(backend.asarray(z), xp=xp)
    backend.assert_array(probabilities, shape=(7, 4), dtype=backend.float_dtype)
    eps = np.finfo(np.float64 if backend.float64 else np.float32).eps
    backend.assert_close(xp.sum(probabilities, axis=1), np.ones(7), rtol=8 * eps)
    logs = to_numpy(log_softmax(backend.asarray(z), xp=xp))
    np.testing.assert_allclose(np.exp(logs), to_numpy(probabilities), rtol=64 * eps, atol=1e-30)


@pytest.mark.parametrize("name", sorted(OUTPUT_LOSSES))
def test_loss_and_delta_share_work_but_not_results(backend, name):
    rng = np.random.default_rng(4)
    z, Y = rng.normal(scale=3.0, size=(6, 3)), one_hot_or_values(name, 6, 3, rng)
    pair, xp = OUTPUT_LOSSES[name], backend.xp
    z_dev, Y_dev = backend.asarray(z), backend.asarray(Y)
    loss, delta = pair.loss_and_delta(z_dev, Y_dev, xp=xp)
    eps = np.finfo(np.float64 if backend.float64 else np.float32).eps
    backend.assert_close(loss, to_numpy(pair.loss(z_dev, Y_dev, xp=xp)), rtol=16 * eps)
    expected = to_numpy(pair.delta(pair.output(z_dev, xp=xp), Y_dev, xp=xp))
    backend.assert_close(delta, expected, rtol=16 * eps, atol=16 * eps)
    backend.assert_array(delta, shape=(6, 3), dtype=backend.float_dtype)
