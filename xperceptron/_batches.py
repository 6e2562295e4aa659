"""Batch sources held in memory (the training loop's first seam: :class:`BatchSource`)."""

from __future__ import annotations

from collections.abc import Iterator

from ._namespace import Array, Device, Namespace, compile_step, index_array
from ._sparse import row_slice, take_rows
from .initializers import HostRandom

__all__ = ["InMemoryBatches"]


class InMemoryBatches:
    """Mini-batches of arrays held on the device: consecutive slices, or with ``shuffle``
    rows gathered in an order drawn on the host once per epoch and moved once (no shuffled
    copy of the data set is made). On JAX each gather is one compiled call.

    The order is scikit-learn's: each epoch permutes the previous epoch's order
    (:meth:`HostRandom.shuffled`), and the batches are its consecutive slices, the last one
    partial. With ``weights`` (shape ``(n_samples,)``) each batch carries its rows' weights.
    """

    def __init__(
        self,
        X: Array,
        Y: Array,
        batch_size: int,
        *,
        shuffle: bool,
        xp: Namespace,
        device: Device,
        weights: Array | None = None,
    ) -> None:
        self.arrays = (X, Y) if weights is None else (X, Y, weights)
        self.batch_size, self.shuffle = batch_size, shuffle
        self.n_samples = int(X.shape[0])
        self._xp, self._device = xp, device
        self._gather = compile_step(_gather, xp=xp, static_argnames=("xp",))

    def epoch(self, rng: HostRandom) -> Iterator[tuple[Array, ...]]:
        xp, arrays, n, size = self._xp, self.arrays, self.n_samples, self.batch_size
        if not self.shuffle:
            for start in range(0, n, size):
                yield tuple(row_slice(a, start, min(start + size, n)) for a in arrays)
            return
        order = rng.shuffled(n)
        n_full = n // size
        # The full batches' rows as one (n_full, batch_size) array, the rest apart.
        full = index_array(order[: n_full * size].reshape(n_full, size), xp, self._device)
        for i in range(n_full):
            yield self._gather(arrays, full, i, xp=xp)
        if n_full * size < n:
            rows = index_array(order[n_full * size :], xp, self._device)
            yield tuple(take_rows(a, rows, xp=xp) for a in arrays)


def _gather(
    arrays: tuple[Array, ...], batches: Array, i: int, *, xp: Namespace
) -> tuple[Array, ...]:
    """The rows of batch ``i`` of each array (``batches[i]`` lists them)."""
    rows = batches[i, ...]
    return tuple(take_rows(a, rows, xp=xp) for a in arrays)
