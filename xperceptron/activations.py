"""Hidden-layer activations: each one's forward and its local chain rule, side by side.

``backward(delta, output, xp=xp)`` returns ``delta * f'(z)`` with ``f'`` written in terms of
the activation's *output* ``f(z)`` (``tanh' = 1 - tanh²``), so backprop needs no
pre-activations. Every function takes the namespace ``xp`` and uses the array API standard
only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from ._namespace import Array, Namespace, constant

__all__ = [
    "ACTIVATIONS",
    "LEAKY_RELU_SLOPE",
    "Activation",
    "get_activation",
    "log_logistic",
    "logistic",
]

LEAKY_RELU_SLOPE = 0.01
"""Slope of ``leaky_relu`` for negative inputs (as Keras' and PyTorch's default)."""


class Activation(NamedTuple):
    """An activation ``f``: ``forward(z) = f(z)``, ``backward(delta, f(z)) = delta * f'(z)``.

    ``with_derivative(z, in_place=)``, where given, returns ``(f(z), f'(z))`` for training:
    for activations whose derivative is cheaper to keep from the forward pass than to
    recompute from the output (ReLU's 0/1 mask). With ``in_place`` it may write into ``z``,
    a fresh array the caller owns.
    """

    forward: Callable[..., Array]
    backward: Callable[..., Array]
    with_derivative: Callable[..., tuple[Array, Array]] | None = None


def _identity(z: Array, *, xp: Namespace) -> Array:
    return z


def _identity_backward(delta: Array, output: Array, *, xp: Namespace) -> Array:
    return delta


def log_logistic(z: Array, *, xp: Namespace) -> Array:
    """``log(sigmoid(z)) = -log(1 + exp(-z))``, exact where ``sigmoid`` rounds to 0 or 1."""
    return -xp.logaddexp(constant(0.0, z, xp=xp), -z)


def logistic(z: Array, *, xp: Namespace) -> Array:
    """``1 / (1 + exp(-z))`` computed as ``exp(log_logistic(z))``: no overflow for any ``z``.

    The one stable sigmoid of the package: hidden layers, outputs and probabilities use it.
    """
    return xp.exp(log_logistic(z, xp=xp))


def _logistic_backward(delta: Array, output: Array, *, xp: Namespace) -> Array:
    return delta * output * (1.0 - output)


def _tanh(z: Array, *, xp: Namespace) -> Array:
    return xp.tanh(z)


def _tanh_backward(delta: Array, output: Array, *, xp: Namespace) -> Array:
    return delta * (1.0 - output * output)


def _relu(z: Array, *, xp: Namespace) -> Array:
    return xp.maximum(z, constant(0.0, z, xp=xp))


def _relu_backward(delta: Array, output: Array, *, xp: Namespace) -> Array:
    # A 0/1 mask times delta: NumPy's where() with a scalar is several times slower.
    return delta * xp.astype(output > 0.0, delta.dtype)


def _relu_with_derivative(
    z: Array, *, in_place: bool = False, xp: Namespace
) -> tuple[Array, Array]:
    # relu(z) = z * [z > 0], and the mask is relu'(z): in NumPy one comparison, one cast and
    # one product cost less than maximum() alone, and backprop then just multiplies.
    # (Only z = -inf differs from maximum: NaN instead of 0, where training has diverged.)
    mask = xp.astype(z > 0.0, z.dtype)
    if in_place:
        z *= mask
        return z, mask
    return z * mask, mask


def _leaky_relu(z: Array, *, xp: Namespace) -> Array:
    return xp.where(z > 0.0, z, LEAKY_RELU_SLOPE * z)


def _leaky_relu_backward(delta: Array, output: Array, *, xp: Namespace) -> Array:
    # The slope is positive, so the output has the sign of z: slope + (1 - slope) * [z > 0].
    positive = xp.astype(output > 0.0, delta.dtype)
    return delta * (LEAKY_RELU_SLOPE + (1.0 - LEAKY_RELU_SLOPE) * positive)


def _softplus(z: Array, *, xp: Namespace) -> Array:
    return xp.logaddexp(0.0, z)


def _softplus_backward(delta: Array, output: Array, *, xp: Namespace) -> Array:
    # softplus'(z) = sigmoid(z) = 1 - exp(-softplus(z)).
    return delta * -xp.expm1(-output)


ACTIVATIONS: dict[str, Activation] = {
    "identity": Activation(_identity, _identity_backward),
    "logistic": Activation(logistic, _logistic_backward),
    "tanh": Activation(_tanh, _tanh_backward),
    "relu": Activation(_relu, _relu_backward, _relu_with_derivative),
    "leaky_relu": Activation(_leaky_relu, _leaky_relu_backward),
    "softplus": Activation(_softplus, _softplus_backward),
}
"""Hidden activations by name: scikit-learn's four, then ``leaky_relu`` and ``softplus``."""


def get_activation(name: str) -> Activation:
    """Look up an activation by name.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the known ones.
    """
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}."
        ) from None
