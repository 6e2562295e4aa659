"""Data-parallel training (``distributed="torch"`` or ``"mpi"``): one process a rank, each
with its own shard of the rows, all with the same model.

Each step takes from every rank a share of the global batch proportional to its shard, and
sums one flat buffer over the ranks (:class:`DataParallel`, the training loop's combiner
seam): the gradient sums, the counts, the loss. Every rank then takes the same step, so the
ranks stay identical bit for bit, and every figure the stopping rules read (the loss, the
sample count) is global: every decision is the same on every rank, and no rank waits on
another that has stopped.

What a rank is given is checked on that rank, and the outcome agreed before any collective
that could wait forever: when one rank refuses its data, every rank raises.
"""

from __future__ import annotations

import atexit
import math
import os
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import numpy as np

from ._namespace import Array, Device, Namespace, namespace_name, to_numpy
from ._sparse import row_slice
from ._targets import is_indicator
from ._training import InMemoryBatches
from ._validation import check_labels
from .initializers import HostRandom

__all__ = [
    "DataParallel",
    "Group",
    "RankZeroHooks",
    "agreed",
    "exchanged",
    "group_of",
    "prepare",
    "process_group",
    "shard_batches",
]

ENGINES = ("torch", "mpi")


class Group(Protocol):
    """The processes training together: this one's ``rank`` among ``size``."""

    rank: int
    size: int

    def all_reduce(self, buffer: Array, xp: Namespace) -> Array:
        """``buffer`` (1-D, fresh) summed element-wise over the ranks."""
        ...

    def all_gather(self, value: Any) -> list[Any]:
        """Every rank's ``value`` (small host objects), in rank order."""
        ...

    def all_sum(self, values: list[int]) -> list[int]:
        """``values`` (a few host integers) summed element-wise over the ranks: one
        all-reduce, cheaper than :meth:`all_gather` (no pickling)."""
        ...


def group_of(estimator: Any) -> Group | None:
    """The process group of ``estimator.distributed`` (None for one process), once its
    parameters are checked (a bad one is refused on every rank alike)."""
    kind = getattr(estimator, "distributed", None)
    if kind is None:
        return None
    if kind not in ENGINES:  # no group to agree in: refused as parameters are
        estimator._validate_params()
    group = process_group(kind)
    agreed(group, estimator._validate_params)  # one rank's bad parameter: every rank raises
    return group


def process_group(kind: str) -> Group:
    """The group of ``distributed=kind``: torch.distributed's default process group
    (initialised from the launcher's environment where the script has not), or
    ``MPI.COMM_WORLD``."""
    return _TorchGroup() if kind == "torch" else _MPIGroup()


class _TorchGroup:
    def __init__(self) -> None:
        try:
            import torch
            import torch.distributed as dist
        except ImportError:
            raise ImportError(
                "distributed='torch' needs PyTorch: pip install 'xperceptron[torch]'."
            ) from None
        if not dist.is_initialized():
            if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
                raise RuntimeError(
                    "distributed='torch' needs a process group: start the script with "
                    "torchrun --nproc-per-node N, or call torch.distributed."
                    "init_process_group() before fit."
                )
            dist.init_process_group(_torch_backend(torch))
            # The group is ours: torn down before the interpreter exits (left to the C++
            # destructors, gloo's threads can abort the process as it ends).
            atexit.register(_destroy, dist)
        self._torch, self._dist = torch, dist
        self.rank, self.size = dist.get_rank(), dist.get_world_size()

    def all_reduce(self, buffer: Array, xp: Namespace) -> Array:
        torch, name = self._torch, namespace_name(xp)
        if name == "torch":
            self._dist.all_reduce(buffer)
            return buffer
        if name == "numpy":  # no copy: the tensor is the array's memory
            self._dist.all_reduce(torch.from_numpy(buffer))
            return buffer
        if name == "cupy":  # DLPack: the same device memory (NCCL)
            self._dist.all_reduce(torch.from_dlpack(buffer))
            return buffer
        # JAX arrays are immutable (an all-reduce through DLPack would change one): a copy.
        host = np.array(to_numpy(buffer), copy=True)  # writeable, and JAX's left alone
        self._dist.all_reduce(torch.from_numpy(host))
        return xp.asarray(host, device=_device(buffer))

    def all_gather(self, value: Any) -> list[Any]:
        out: list[Any] = [None] * self.size
        self._dist.all_gather_object(out, value)
        return out

    def all_sum(self, values: list[int]) -> list[int]:
        summed = self._torch.tensor(values, dtype=self._torch.int64)  # on the host: gloo
        self._dist.all_reduce(summed)
        return [int(v) for v in summed.tolist()]


def _torch_backend(torch: Any) -> str:
    """gloo for host tensors; for CUDA tensors NCCL where this node has a GPU for each of its
    ranks (each rank then takes the GPU of its ``LOCAL_RANK``), else gloo too (NCCL refuses
    two ranks on one GPU; gloo carries CUDA tensors through the host)."""
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    local_size = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    if not torch.cuda.is_available() or local_size > torch.cuda.device_count():
        return "gloo"
    torch.cuda.set_device(local_rank)
    return "cpu:gloo,cuda:nccl"


class _MPIGroup:
    def __init__(self) -> None:
        try:
            from mpi4py import MPI
        except ImportError:
            raise ImportError(
                "distributed='mpi' needs mpi4py: pip install 'xperceptron[mpi]' (and an MPI, "
                "such as pip's mpich)."
            ) from None
        self._MPI, self._comm = MPI, MPI.COMM_WORLD
        self.rank, self.size = self._comm.Get_rank(), self._comm.Get_size()

    def all_reduce(self, buffer: Array, xp: Namespace) -> Array:
        if namespace_name(xp) == "numpy":
            self._comm.Allreduce(self._MPI.IN_PLACE, buffer, op=self._MPI.SUM)
            return buffer
        host = np.array(to_numpy(buffer), copy=True)  # other namespaces through the host
        self._comm.Allreduce(self._MPI.IN_PLACE, host, op=self._MPI.SUM)
        return xp.asarray(host, device=_device(buffer))

    def all_gather(self, value: Any) -> list[Any]:
        return list(self._comm.allgather(value))

    def all_sum(self, values: list[int]) -> list[int]:
        summed = np.asarray(values, dtype=np.int64)
        self._comm.Allreduce(self._MPI.IN_PLACE, summed, op=self._MPI.SUM)
        return [int(v) for v in summed]


def _destroy(dist: Any) -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def _device(a: Array) -> Device:
    import array_api_compat

    return array_api_compat.device(a)


class DataParallel:
    """The combiner of a group: one all-reduce a step; the epoch's total is already global."""

    def __init__(self, group: Group, xp: Namespace) -> None:
        self.group, self._xp = group, xp

    def sum(self, buffer: Array) -> Array:
        return self.group.all_reduce(buffer, self._xp)

    def count(self, n: int) -> int:
        return self.group.all_sum([n])[0]

    def mean(self, total: Array, n_samples: int) -> float:
        return float(total) / n_samples


# ---------------------------------------------------------------------------- agreement
def agreed(group: Group, attempt: Callable[[], Any]) -> Any:
    """``attempt()`` on every rank; if it raised on any rank, every rank raises (that rank
    its own error, the others one naming it), so that none goes on to wait for it."""
    kept: list[Any] = []
    exchanged(group, lambda: kept.append(attempt()))  # the result stays here: None is sent
    return kept[0]


def exchanged(group: Group, attempt: Callable[[], Any]) -> list[Any]:
    """Every rank's ``attempt()`` (a small host object), in rank order, as :func:`agreed`
    runs it: if it raised on any rank, every rank raises."""
    try:
        result, error = attempt(), None
    except Exception as exc:  # every rank must learn of it before anything collective
        result, error = None, exc
    text = None if error is None else f"{type(error).__name__}: {error}"
    outcomes = group.all_gather((result, text))
    if error is not None:
        raise error
    for rank, (_, failure) in enumerate(outcomes):
        if failure is not None:
            raise RuntimeError(f"rank {rank} of {group.size} refused its data: {failure}")
    return [result for result, _ in outcomes]


def global_classes(group: Group, y: Any) -> np.ndarray[Any, Any] | None:
    """The classes of every rank's labels together (None for a multilabel indicator), so
    that every rank encodes them alike."""

    def labels() -> np.ndarray[Any, Any] | None:
        if y is not None and is_indicator(y):
            return None
        n_samples = int(y.shape[0]) if hasattr(y, "shape") else len(y or ())
        return np.unique(check_labels(y, n_samples))

    local = agreed(group, labels)
    shards = group.all_gather(local)
    if any(s is None for s in shards):
        return None
    return np.unique(np.concatenate(shards))


def check_same(group: Group, what: str, value: Any) -> None:
    """That ``value`` (a small host object) is the same on every rank."""
    values = group.all_gather(value)
    if any(v != values[0] for v in values[1:]):
        raise ValueError(f"{what} differs across ranks: {values!r:.300}.")


def fingerprint(params: list[Array]) -> list[float]:
    """Two figures of the parameters that differ where the parameters do (sum, sum of
    squares, weighted by position), read once at the start."""
    figures = []
    for p in params:
        host = to_numpy(p).ravel()
        figures += [float(host.sum()), float((host * np.arange(1, host.size + 1)).sum())]
    return figures


class RankZeroHooks:
    """Rank 0's callbacks, as every rank sees them: each call runs on rank 0, and its outcome
    (what it returns, or its error) reaches every rank, which returns or raises alike. At
    the end, the weights rank 0's callbacks leave (best weights restored...) go to every
    rank."""

    def __init__(self, group: Group, hooks: Any, xp: Namespace) -> None:
        self.group, self._hooks, self._xp = group, hooks, xp

    def __bool__(self) -> bool:
        return True  # every rank takes part in every call, whatever rank 0 holds

    def _shared(self, call: Callable[[], Any]) -> Any:
        result, error = None, None
        if self.group.rank == 0:
            try:
                result = call()
            except BaseException as exc:  # the other ranks must hear of it, then it goes on
                error = exc
        outcomes = self.group.all_gather((result, None if error is None else repr(error)))
        if error is not None:
            raise error
        if outcomes[0][1] is not None:
            raise RuntimeError(f"a callback failed on rank 0: {outcomes[0][1]}")
        return outcomes[0][0]

    def train_begin(self, estimator: Any) -> None:
        self._shared(lambda: self._hooks.train_begin(estimator))

    def epoch_end(self, estimator: Any, epoch: Any) -> bool:
        return bool(self._shared(lambda: self._hooks.epoch_end(estimator, epoch)))

    def non_finite(self, estimator: Any, epoch_number: int) -> bool:
        return bool(self._shared(lambda: self._hooks.non_finite(estimator, epoch_number)))

    def train_end(self, estimator: Any) -> None:
        self._shared(lambda: self._hooks.train_end(estimator))
        xp, rank0 = self._xp, self.group.rank == 0
        arrays = [*estimator.coefs_, *estimator.intercepts_]
        flat = xp.concat([xp.reshape(a if rank0 else xp.zeros_like(a), (-1,)) for a in arrays])
        flat = self.group.all_reduce(flat, xp)  # rank 0's weights, on every rank
        start, parts = 0, []
        for a in arrays:
            size = math.prod(a.shape)
            parts.append(xp.reshape(flat[start : start + size], a.shape))
            start += size
        n = len(estimator.coefs_)
        estimator.coefs_, estimator.intercepts_ = parts[:n], parts[n:]

    def log(self, message: str) -> None:
        if self.group.rank == 0:
            self._hooks.log(message)


# ---------------------------------------------------------------------------- batches
class _Shard:
    """A rank's batches: its share of each global batch, then empty batches once its rows
    run out while others' have not (every rank takes the same number of steps)."""

    def __init__(self, source: InMemoryBatches, n_steps: int, n_samples: int) -> None:
        self._source, self._n_steps, self.n_samples = source, n_steps, n_samples

    def epoch(self, rng: HostRandom) -> Iterator[tuple[Array, ...]]:
        taken = 0
        for batch in self._source.epoch(rng):
            taken += 1
            yield batch
        empty = tuple(row_slice(a, 0, 0) for a in self._source.arrays)
        for _ in range(self._n_steps - taken):
            yield empty


def shard_batches(
    group: Group,
    X: Array,
    Y: Array,
    weights: Array | None,
    batch_size: Callable[[int], int],
    *,
    shuffle: bool,
    xp: Namespace,
    device: Device,
) -> _Shard:
    """This rank's batches. ``batch_size(n)`` is the global batch for ``n`` samples in all;
    each rank's share is proportional to its rows, so with equal shards and a global batch
    divisible by the ranks, step ``k`` is every rank's ``k``-th slice in rank order."""
    sizes = group.all_gather(int(X.shape[0]))
    n_global = sum(sizes)
    global_batch = batch_size(n_global)
    shares = [max(1, round(global_batch * n / n_global)) for n in sizes]
    n_steps = max(math.ceil(n / b) for n, b in zip(sizes, shares, strict=True))
    local = InMemoryBatches(X, Y, shares[group.rank], shuffle=shuffle, xp=xp, device=device,
                            weights=weights)  # fmt: skip
    return _Shard(local, n_steps, n_global)


# ---------------------------------------------------------------------------- a fit
def prepare(
    estimator: Any, X: Any, y: Any, *, incremental: bool, classes: Any, sample_weight: Any
) -> Any:
    """The estimator's checks of a fit on this rank's shard, agreed by every rank, and the
    classes of all the shards (a classifier encodes labels the same way everywhere).
    Returns the estimator's run, with the group."""
    group = group_of(estimator)
    assert group is not None  # a data-parallel fit
    params = estimator.get_params()
    check_same(group, "The estimator's parameters (but callbacks, verbose and random_state)",
               {k: repr(v) for k, v in params.items() if k not in _PER_RANK})  # fmt: skip
    # What the steps below branch on, so that every rank takes the same collectives.
    call = (hasattr(estimator, "coefs_"), classes is not None, sample_weight is not None)
    check_same(group, "The call (the estimator fitted, classes given, sample_weight given)", call)
    continues = hasattr(estimator, "coefs_") and (incremental or estimator.warm_start)
    same_classes = None
    if hasattr(estimator, "predict_proba") and (classes is None or continues):
        labels = global_classes(group, y)
        if continues and labels is not None and not incremental:  # a warm start
            agreed(group, lambda: _same_classes(labels, estimator.classes_))
            same_classes = False  # checked on the union: a shard may lack a class
        elif not continues:
            classes = labels
    run = agreed(group, lambda: estimator._prepare(
        X, y, incremental=incremental, classes=classes, sample_weight=sample_weight,
        same_classes=same_classes, all_zero_weights=True,
    ))  # fmt: skip
    check_same(group, "X's dtype", str(run.X.dtype))
    check_same(group, "The layer sizes (features, hidden units, outputs)", run.layer_sizes)
    labels = run.targets.get("classes_")
    check_same(group, "classes_", None if labels is None else labels.tolist())
    if run.weights is not None:  # a shard may weigh 0, not all of them
        totals = group.all_gather(float(run.xp.sum(run.weights)))
        if not any(totals):
            raise ValueError("sample_weight must contain at least one non-zero weight.")
    run.group = group
    return run


_PER_RANK = ("callbacks", "verbose", "random_state")  # may differ (the weights are checked)


def _same_classes(labels: np.ndarray[Any, Any] | None, fitted: np.ndarray[Any, Any]) -> None:
    if labels is None or not np.array_equal(labels, fitted):
        raise ValueError(
            "warm_start can only be used where `y` has the same classes as in the previous "
            f"call to fit. Previously got {fitted}, `y` (every rank's) has {labels}"
        )
