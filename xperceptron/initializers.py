"""Initial parameters, drawn on the host and moved once to the target device.

The array API standard has no random numbers, so weights come from a
``numpy.random.Generator``, are cast to the target dtype while still on the host, and are
moved with one ``xp.asarray`` each: the same seed gives the same initial weights on every
backend.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._namespace import Array, Device, Namespace, host_dtype

__all__ = ["check_random_state", "glorot_uniform", "is_random_state"]


def is_random_state(value: object) -> bool:
    """``None``, an int seed, or a ``numpy.random.Generator``."""
    return (
        value is None
        or isinstance(value, np.random.Generator)
        or (isinstance(value, (int, np.integer)) and not isinstance(value, bool))
    )


def check_random_state(random_state: int | np.random.Generator | None) -> np.random.Generator:
    """A ``numpy.random.Generator`` from ``None`` (fresh entropy), a seed, or a Generator."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if is_random_state(random_state):
        return np.random.default_rng(random_state)
    raise ValueError(
        f"random_state must be None, an int or a numpy.random.Generator, got {random_state!r}."
    )


def glorot_uniform(
    layer_sizes: Sequence[int],
    *,
    activation: str,
    rng: np.random.Generator,
    dtype: Any,
    device: Device,
    xp: Namespace,
) -> list[tuple[Array, Array]]:
    """Glorot-uniform weights and biases, as scikit-learn's MLP draws them.

    Each layer draws ``W`` of shape ``(fan_in, fan_out)`` then ``b`` of shape ``(fan_out,)``
    from ``U(-bound, bound)`` with ``bound = sqrt(factor / (fan_in + fan_out))``, ``factor``
    2 for a logistic hidden activation and 6 otherwise.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``[n_features, hidden..., n_outputs]``.
    """
    factor = 2.0 if activation == "logistic" else 6.0
    host = host_dtype(dtype, xp)
    params = []
    for fan_in, fan_out in itertools.pairwise(layer_sizes):
        bound = np.sqrt(factor / (fan_in + fan_out))
        W = rng.uniform(-bound, bound, size=(fan_in, fan_out)).astype(host)
        b = rng.uniform(-bound, bound, size=fan_out).astype(host)
        params.append((xp.asarray(W, device=device), xp.asarray(b, device=device)))
    return params
