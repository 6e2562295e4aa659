"""Initial parameters and the other random draws of training, all on the host.

The array API standard has no random numbers, so weights come from a NumPy generator on the
host, are cast to the target dtype while still there, and are moved with one ``xp.asarray``
each: the same seed gives the same initial weights on every backend. With an int seed or a
``numpy.random.RandomState`` they are scikit-learn's: the MLPs draw their weights, their
early-stopping split and their epoch shuffles from the same ``RandomState``, in the same
order, with the same calls as scikit-learn's MLPs.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._namespace import Array, Device, Namespace, host_dtype

__all__ = [
    "HostRandom",
    "RandomSource",
    "check_random_state",
    "glorot_uniform",
    "is_random_state",
]

RandomSource = np.random.Generator | np.random.RandomState
"""What draws on the host: a ``numpy.random.Generator`` or a legacy ``RandomState``."""

MAX_SEED = 2**32 - 1
"""The largest int seed (``numpy.random.RandomState`` takes seeds in ``[0, 2**32)``)."""


def is_random_state(value: object) -> bool:
    """``None``, an int seed in ``[0, 2**32)``, a ``numpy.random.RandomState`` or a
    ``numpy.random.Generator``."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return bool(0 <= value <= MAX_SEED)
    return value is None or isinstance(value, (np.random.RandomState, np.random.Generator))


def check_random_state(random_state: Any) -> RandomSource:
    """The generator to draw from, as scikit-learn's ``check_random_state`` gives it.

    ``None`` is NumPy's global ``RandomState`` (``numpy.random.seed`` seeds it); an int
    a new ``RandomState`` seeded with it; a ``RandomState`` or a ``Generator`` itself (its
    draws advance it, as scikit-learn's do).
    """
    if not is_random_state(random_state):
        raise ValueError(
            "random_state must be None, an int in [0, 2**32 - 1], a numpy.random.RandomState "
            f"or a numpy.random.Generator, got {random_state!r:.100}."
        )
    if random_state is None:
        return np.random.mtrand._rand
    if isinstance(random_state, (np.random.RandomState, np.random.Generator)):
        return random_state
    return np.random.RandomState(int(random_state))


@dataclasses.dataclass
class HostRandom:
    """The randomness a training run carries on from call to call: the generator, and the
    order of the training rows its epoch shuffles have reached.

    As scikit-learn, each epoch shuffles the previous epoch's order (the rows of epoch ``k``
    are in the order of ``k`` permutations composed), starting from ``0..n-1``; the order is
    kept with the generator, so that a run continued by ``partial_fit`` (or from a
    checkpoint) draws as if it had never stopped. It starts again from ``0..n-1`` when the
    number of training rows changes.
    """

    generator: RandomSource
    order: np.ndarray[Any, Any] | None = None

    def shuffled(self, n_samples: int) -> np.ndarray[Any, Any]:
        """The next epoch's order of ``n_samples`` rows (one permutation drawn)."""
        previous = self.order
        if previous is None or previous.shape[0] != n_samples:
            previous = np.arange(n_samples)
        self.order = previous[self.generator.permutation(n_samples)]
        return self.order


def glorot_uniform(
    layer_sizes: Sequence[int],
    *,
    activation: str,
    rng: RandomSource,
    dtype: Any,
    device: Device,
    xp: Namespace,
) -> list[tuple[Array, Array]]:
    """Glorot-uniform weights and biases, drawn as scikit-learn's MLP draws them.

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
