"""Batch sources held in memory (the training loop's first seam: :class:`BatchSource`)."""

from __future__ import annotations

import math
from collections.abc import Iterator

from ._namespace import (
    Array,
    Device,
    Namespace,
    compile_step,
    index_array,
    is_sparse,
    numpy_dtype,
    on_gpu,
)
from ._sparse import row_slice, take_rows
from .initializers import HostRandom

__all__ = ["GATHER_BYTES", "SLICE_ALIGNMENT", "InMemoryBatches"]

GATHER_BYTES = 8 * 2**20
"""About how many bytes of rows one gather copies: shuffled batches are gathered that many
at a time (at least one batch), then sliced. On a GPU each gather is a launch the host
pays for (35-65 µs on the H100's host), as much as the step's cheaper operations."""

SLICE_ALIGNMENT = 256
"""Bytes to which a batch sliced from a larger gather must stay aligned (cuBLASLt's default
minimum alignment preference; CuPy's and PyTorch's allocators align to 512)."""


class InMemoryBatches:
    """Mini-batches of arrays held on the device: consecutive slices, or with ``shuffle``
    rows gathered in an order drawn on the host once per epoch and moved once. The rows of
    several consecutive batches are gathered together, about :data:`GATHER_BYTES` at a
    time on a GPU, and each batch is a slice of them (no shuffled copy of the data set is
    made). Elsewhere each batch is one gather (on JAX one compiled call).

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
        self.batches_per_gather = _batches_per_gather(self.arrays, batch_size, xp=xp, device=device)

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
        step = self.batches_per_gather
        for first in range(0, n_full, step):
            if step == 1:
                yield self._gather(arrays, full, first, xp=xp)
                continue
            count = min(step, n_full - first)
            rows = xp.reshape(full[first : first + count, ...], (-1,))
            gathered = [take_rows(a, rows, xp=xp) for a in arrays]
            for j in range(0, count * size, size):
                yield tuple(row_slice(a, j, j + size) for a in gathered)
        if n_full * size < n:
            rows = index_array(order[n_full * size :], xp, self._device)
            yield tuple(take_rows(a, rows, xp=xp) for a in arrays)


def _batches_per_gather(
    arrays: tuple[Array, ...], batch_size: int, *, xp: Namespace, device: Device
) -> int:
    """How many batches one gather takes: on a GPU, as many as fit in :data:`GATHER_BYTES`
    (at least one); elsewhere one. On the CPU a call costs little and a batch gathered just
    before its step is still in the cache (NumPy, workload 2: 8 MB gathers were 2% slower);
    JAX's gather is compiled already, and sparse rows are copied by their slices too.

    Only where every array's batch is a multiple of :data:`SLICE_ALIGNMENT` bytes: each
    slice then starts as aligned as a fresh allocation would. cuBLAS picks its kernels by
    the alignment of its operands, and another kernel may round otherwise: the batches
    must be multiplied as they were when each was gathered alone.
    """
    if not on_gpu(xp, device) or any(is_sparse(a) for a in arrays):
        return 1
    row_bytes = [int(math.prod(a.shape[1:])) * numpy_dtype(a.dtype).itemsize for a in arrays]
    batch_bytes = [batch_size * size for size in row_bytes]
    if any(size % SLICE_ALIGNMENT for size in batch_bytes):
        return 1
    return max(1, GATHER_BYTES // max(1, sum(batch_bytes)))


def _gather(
    arrays: tuple[Array, ...], batches: Array, i: int, *, xp: Namespace
) -> tuple[Array, ...]:
    """The rows of batch ``i`` of each array (``batches[i]`` lists them)."""
    rows = batches[i, ...]
    return tuple(take_rows(a, rows, xp=xp) for a in arrays)
