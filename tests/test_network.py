"""The network core: initial weights, forward shapes, and exact gradients on every backend."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import one_hot_or_values

from xperceptron._namespace import to_numpy
from xperceptron.activations import ACTIVATIONS
from xperceptron.initializers import check_random_state, glorot_uniform
from xperceptron.losses import OUTPUT_LOSSES
from xperceptron.network import backward, forward, predict, value_and_grad

SIZES = [3, 4, 3, 2]  # two hidden layers: every kind of layer in backprop is exercised


def _params(backend, sizes=SIZES, activation="tanh", seed=0, dtype=None):
    return glorot_uniform(
        sizes,
        activation=activation,
        rng=np.random.default_rng(seed),
        dtype=dtype if dtype is not None else backend.float_dtype,
        device=backend.device,
        xp=backend.xp,
    )


def test_glorot_uniform_shapes_bounds_and_placement(backend):
    params = _params(backend, activation="relu")
    assert len(params) == len(SIZES) - 1
    for (W, b), fan_in, fan_out in zip(params, SIZES[:-1], SIZES[1:], strict=True):
        backend.assert_array(W, shape=(fan_in, fan_out), dtype=backend.float_dtype)
        backend.assert_array(b, shape=(fan_out,), dtype=backend.float_dtype)
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        assert np.all(np.abs(to_numpy(W)) <= bound)
        assert np.all(np.abs(to_numpy(b)) <= bound)


def test_glorot_bound_is_narrower_for_logistic(backend):
    ((W, _),) = _params(backend, sizes=[400, 400], activation="logistic")
    bound = np.sqrt(2.0 / 800)
    values = to_numpy(W)
    assert np.abs(values).max() <= bound
    assert np.abs(values).max() > 0.99 * bound  # the whole interval is used


def test_same_seed_same_weights_on_every_backend(backend):
    numpy_xp = __import__("array_api_compat").array_namespace(np.empty(0))
    dtype = backend.float_dtype
    host = glorot_uniform(
        SIZES,
        activation="tanh",
        rng=np.random.default_rng(7),
        dtype=numpy_xp.float64 if backend.float64 else numpy_xp.float32,
        device="cpu",
        xp=numpy_xp,
    )
    on_device = _params(backend, seed=7, dtype=dtype)
    for (W, b), (W_host, b_host) in zip(on_device, host, strict=True):
        np.testing.assert_array_equal(to_numpy(W), W_host)
        np.testing.assert_array_equal(to_numpy(b), b_host)


def test_random_state_accepts_seed_generator_and_none():
    # As scikit-learn's check_random_state, and a Generator too.
    for generator in (np.random.default_rng(1), np.random.RandomState(1)):
        assert check_random_state(generator) is generator
    assert check_random_state(3).random() == np.random.RandomState(3).random()
    assert check_random_state(None) is np.random.mtrand._rand
    with pytest.raises(ValueError, match="random_state must be"):
        check_random_state("seed")


@pytest.mark.parametrize("out_activation", sorted(OUTPUT_LOSSES))
def test_forward_and_predict_shapes(backend, out_activation):
    params = _params(backend)
    X = backend.asarray(np.random.default_rng(0).normal(size=(5, 3)))
    logits, activations = forward(params, X, activation="relu", xp=backend.xp)
    backend.assert_array(logits, shape=(5, 2), dtype=backend.float_dtype)
    assert [tuple(a.shape) for a in activations] == [(5, 3), (5, 4), (5, 3)]
    output = predict(params, X, activation="relu", out_activation=out_activation, xp=backend.xp)
    backend.assert_array(output, shape=(5, 2), dtype=backend.float_dtype)


def _loss_on_host_params(backend, host_params, X, Y, **kwargs):
    params = [(backend.asarray(W), backend.asarray(b)) for W, b in host_params]
    loss, _ = value_and_grad(params, X, Y, xp=backend.xp, **kwargs)
    return float(loss)


@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize(
    ("activation", "out_activation"),
    list(itertools.product(sorted(ACTIVATIONS), sorted(OUTPUT_LOSSES))),
)
def test_gradients_match_central_differences(backend64, activation, out_activation, alpha):
    rng = np.random.default_rng(11)
    n = 6
    X = backend64.asarray(rng.normal(size=(n, SIZES[0])))
    Y = backend64.asarray(one_hot_or_values(out_activation, n, SIZES[-1], rng))
    params = _params(backend64, activation=activation, seed=5)
    kwargs = {"activation": activation, "out_activation": out_activation, "alpha": alpha}
    loss, grads = value_and_grad(params, X, Y, xp=backend64.xp, **kwargs)
    backend64.assert_array(loss, shape=(), dtype=backend64.float_dtype)

    host = [[to_numpy(W).copy(), to_numpy(b).copy()] for W, b in params]
    h = 1e-6
    for layer, (grad_W, grad_b) in enumerate(grads):
        for which, grad in ((0, grad_W), (1, grad_b)):
            backend64.assert_array(grad, shape=host[layer][which].shape)
            expected = np.empty_like(host[layer][which])
            for index in np.ndindex(expected.shape):
                original = host[layer][which][index]
                host[layer][which][index] = original + h
                plus = _loss_on_host_params(backend64, host, X, Y, **kwargs)
                host[layer][which][index] = original - h
                minus = _loss_on_host_params(backend64, host, X, Y, **kwargs)
                host[layer][which][index] = original
                expected[index] = (plus - minus) / (2 * h)
            # float64: truncation O(h^2) ~ 1e-12, cancellation eps * loss / h ~ 1e-10.
            backend64.assert_close(grad, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("out_activation", sorted(OUTPUT_LOSSES))
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_gradients_match_pytorch_autograd(backend64, activation, out_activation, alpha):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    rng = np.random.default_rng(12)
    X_host = rng.normal(size=(7, SIZES[0]))
    Y_host = one_hot_or_values(out_activation, 7, SIZES[-1], rng)
    params = _params(backend64, activation=activation, seed=6)
    loss, grads = value_and_grad(
        params,
        backend64.asarray(X_host),
        backend64.asarray(Y_host),
        xp=backend64.xp,
        activation=activation,
        out_activation=out_activation,
        alpha=alpha,
    )

    # The same objective written independently with torch.nn.functional.
    hidden = {
        "identity": lambda z: z,
        "logistic": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": functional.relu,
        "leaky_relu": functional.leaky_relu,
        "softplus": functional.softplus,
    }[activation]
    tensors = [
        (
            torch.tensor(to_numpy(W), requires_grad=True),
            torch.tensor(to_numpy(b), requires_grad=True),
        )
        for W, b in params
    ]
    h = torch.tensor(X_host)
    for W, b in tensors[:-1]:
        h = hidden(h @ W + b)
    z = h @ tensors[-1][0] + tensors[-1][1]
    Y = torch.tensor(Y_host)
    n = X_host.shape[0]
    if out_activation == "logistic":
        data = functional.binary_cross_entropy_with_logits(z, Y, reduction="sum") / n
    elif out_activation == "softmax":
        data = -(Y * functional.log_softmax(z, dim=1)).sum() / n
    elif out_activation == "exp":  # e^z - y z, plus the constant xlogy(y, y) - y
        constant = (torch.special.xlogy(Y, Y) - Y).sum()
        data = (functional.poisson_nll_loss(z, Y, reduction="sum") + constant) / n
    else:
        data = 0.5 * ((z - Y) ** 2).sum() / n
    total = data + alpha / (2 * n) * sum((W**2).sum() for W, _ in tensors)
    total.backward()

    # Two float64 computations of the same expression: agreement to rounding.
    backend64.assert_close(loss, total.detach().numpy(), rtol=1e-12)
    for (grad_W, grad_b), (W, b) in zip(grads, tensors, strict=True):
        backend64.assert_close(grad_W, W.grad.numpy(), rtol=1e-10, atol=1e-14)
        backend64.assert_close(grad_b, b.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_backward_never_writes_into_its_inputs():
    numpy_xp = __import__("array_api_compat").array_namespace(np.empty(0))
    rng = np.random.default_rng(0)
    params = glorot_uniform(
        SIZES, activation="relu", rng=rng, dtype=numpy_xp.float64, device="cpu", xp=numpy_xp
    )
    X, Y = rng.normal(size=(4, 3)), np.eye(2)[[0, 1, 1, 0]]
    for array in [X, Y, *(a for pair in params for a in pair)]:
        array.flags.writeable = False  # any in-place write raises
    loss, grads = value_and_grad(
        params, X, Y, activation="relu", out_activation="softmax", alpha=0.1, xp=numpy_xp
    )
    assert np.isfinite(loss)
    assert len(grads) == len(params)


def test_backward_accepts_any_output_delta(backend):
    # The Perceptron seeds backprop with its thresholded error instead of output - y.
    params = _params(backend, sizes=[2, 1])
    X = backend.asarray(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
    delta = backend.asarray(np.array([[1.0], [1.0], [1.0], [0.0]]))
    _, activations = forward(params, X, activation="identity", xp=backend.xp)
    ((grad_W, grad_b),) = backward(params, activations, delta, activation="identity", xp=backend.xp)
    backend.assert_close(grad_W, [[0.25], [0.25]], rtol=1e-6)
    backend.assert_close(grad_b, [0.75], rtol=1e-6)


@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_scale_multiplies_every_gradient(backend, alpha):
    # Plain SGD folds -learning_rate into the output delta; every gradient, the L2 term
    # included, must come back scaled, and the loss must not.
    rng = np.random.default_rng(13)
    X = backend.asarray(rng.normal(size=(9, SIZES[0])))
    Y = backend.asarray(one_hot_or_values("softmax", 9, SIZES[-1], rng))
    params = _params(backend, activation="relu", seed=7)
    kwargs = {"activation": "relu", "out_activation": "softmax", "alpha": alpha}
    loss, grads = value_and_grad(params, X, Y, xp=backend.xp, **kwargs)
    scaled_loss, scaled = value_and_grad(params, X, Y, scale=-0.1, xp=backend.xp, **kwargs)
    backend.assert_close(scaled_loss, to_numpy(loss), rtol=0.0)
    # Same products, one more rounding of the delta: a few units of the dtype's epsilon.
    eps = float(np.finfo(np.dtype(str(to_numpy(loss).dtype))).eps)
    for pair, scaled_pair in zip(grads, scaled, strict=True):
        for grad, scaled_grad in zip(pair, scaled_pair, strict=True):
            backend.assert_array(scaled_grad, shape=tuple(grad.shape), dtype=grad.dtype)
            backend.assert_close(scaled_grad, -0.1 * to_numpy(grad), rtol=8 * eps, atol=8 * eps)


def test_bias_gradients_follow_each_call_batch_size_dtype_and_device(backend):
    # The bias gradient reuses a ones vector between calls: a call with another batch size,
    # dtype, device or namespace must get one of its own (a stale one fails or mismatches).
    rng = np.random.default_rng(14)
    params = _params(backend, sizes=[2, 1])
    for n in (4, 3, 4):
        X = backend.asarray(rng.normal(size=(n, 2)))
        delta = rng.normal(size=(n, 1))
        _, activations = forward(params, X, activation="identity", xp=backend.xp)
        ((_, grad_b),) = backward(
            params, activations, backend.asarray(delta), activation="identity", xp=backend.xp
        )
        backend.assert_array(grad_b, shape=(1,), dtype=backend.float_dtype)
        backend.assert_close(grad_b, delta.sum(axis=0) / n, rtol=1e-6)
    numpy_xp = __import__("array_api_compat").array_namespace(np.empty(0))
    host_params = [(np.ones((2, 1), dtype=np.float32), np.zeros(1, dtype=np.float32))]
    host_delta = np.arange(4, dtype=np.float32)[:, None]
    ((_, grad_b),) = backward(
        host_params, [np.ones((4, 2), dtype=np.float32)], host_delta, activation="identity",
        xp=numpy_xp,
    )  # fmt: skip
    assert isinstance(grad_b, np.ndarray)
    assert grad_b.dtype == np.float32
    np.testing.assert_array_equal(grad_b, [1.5])


def test_kept_relu_derivatives_give_the_recomputed_gradients(backend):
    # Training keeps ReLU's 0/1 mask from the forward pass (written into fresh products where
    # the namespace allows); backprop from the outputs alone must give the same numbers.
    rng = np.random.default_rng(15)
    X = backend.asarray(rng.normal(size=(12, SIZES[0])))
    Y = backend.asarray(one_hot_or_values("softmax", 12, SIZES[-1], rng))
    params = _params(backend, activation="relu", seed=8)
    xp = backend.xp
    loss, kept = value_and_grad(params, X, Y, activation="relu", out_activation="softmax", xp=xp)
    logits, activations = forward(params, X, activation="relu", xp=xp)
    assert any(float(xp.min(h)) == 0.0 for h in activations[1:])  # some units are off
    expected_loss, delta = OUTPUT_LOSSES["softmax"].loss_and_delta(logits, Y, xp=xp)
    recomputed = backward(params, activations, delta, activation="relu", xp=xp)
    np.testing.assert_array_equal(to_numpy(loss), to_numpy(expected_loss))
    for pair, other in zip(kept, recomputed, strict=True):
        for grad, expected in zip(pair, other, strict=True):
            backend.assert_array(grad, shape=tuple(expected.shape), dtype=expected.dtype)
            np.testing.assert_array_equal(to_numpy(grad), to_numpy(expected))
