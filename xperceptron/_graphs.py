"""One training step replayed as a CUDA graph (``cuda_graph=True``): the training engine's
step seam, for namespaces that can record one: PyTorch on CUDA. (CuPy 14 refuses cuBLAS
calls on a capturing stream, so its matrix products cannot be recorded.)

At batch 256 the reference MLP's step is about 30 small kernels: launching them one by one
from Python costs more than running them. A graph records them once and replays them with
one launch. The math is untouched: the step the loop would run is recorded as it is, on
buffers of its own (the parameters, the optimizer state, the batch, the running loss), and
what changes from step to step goes into those buffers before each replay:

- the batch is copied in (the batches of one shape; another shape, the last partial
  batch, runs uncaptured on the same buffers);
- a host number the optimizer computes per step (Adam's bias-corrected rate,
  :attr:`~xperceptron.optimizers.Optimizer.step_size`) is written into a 0-d array;
- the learning rate, which changes only between epochs, keys the graph: a new rate records
  a new one.

The first step of each run runs uncaptured (it compiles the kernels and fills the memory
pool); the second is recorded, then replayed. The results equal uncaptured training bit
for bit (``tests/test_graphs.py`` checks it with a stand-in that replays the recorded step
with the arguments it was recorded with, as a graph does; the GPU run checks the real ones).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import array_api_compat

from ._namespace import Array, Namespace, on_gpu
from ._training import Step
from .optimizers import Optimizer

__all__ = ["Recorder", "graphed", "recorder_for"]


class Recorder(Protocol):
    """How a namespace records a step and replays it."""

    def warm(self, fn: Callable[[], Any]) -> Any:
        """``fn()`` run now, uncaptured, where recording will allocate (its memory pool)."""
        ...

    def record(self, fn: Callable[[], None]) -> Callable[[], None]:
        """``fn``'s device work recorded (not run); the function that replays it."""
        ...

    def fill(self, buffer: Array, value: float) -> None:
        """``buffer`` (0-d, on the device) set to ``value`` without a copy from the host."""
        ...


class _TorchRecorder:
    """``torch.cuda.CUDAGraph``: torch records on a side stream, into a private memory pool
    that no later allocation reuses; ``replay`` launches on the current stream."""

    def __init__(self) -> None:
        import torch

        self._torch = torch

    def warm(self, fn: Callable[[], Any]) -> Any:
        return fn()

    def record(self, fn: Callable[[], None]) -> Callable[[], None]:
        graph = self._torch.cuda.CUDAGraph()
        with self._torch.cuda.graph(graph):
            fn()
        replay: Callable[[], None] = graph.replay
        return replay

    def fill(self, buffer: Array, value: float) -> None:
        buffer.fill_(value)  # a kernel with the number as its argument


def recorder_for(xp: Namespace, device: Any) -> Recorder | None:
    """A recorder for arrays of ``xp`` on ``device``, or ``None`` where there is none (NumPy,
    array-api-strict, torch on the CPU; JAX compiles its step already)."""
    if array_api_compat.is_cupy_namespace(xp):
        # CuPy 14 refuses cuBLAS calls on a capturing stream ("calling cuBLAS API during
        # stream capture is currently unsupported"): its matrix products cannot be recorded.
        return None
    if array_api_compat.is_torch_namespace(xp) and on_gpu(xp, device):
        return _TorchRecorder()
    return None


def graphed(step: Step, optimizer: Optimizer, recorder: Recorder, *, xp: Namespace) -> Step:
    """``step`` (updating the parameters in place) replayed from a recording where it can be:
    the same arguments and results, the same numbers. Its results are its own buffers,
    written again by the next step: the loop must copy what it keeps (``consumes``)."""
    return Step(_Graphed(step, optimizer, recorder, xp).run, consumes=True)


class _Graphed:
    def __init__(self, step: Step, optimizer: Optimizer, recorder: Recorder, xp: Namespace):
        self._step, self._optimizer, self._recorder, self._xp = step, optimizer, recorder, xp
        self._shape: tuple[Any, ...] | None = None  # the batches recorded: the first's shape
        self._warmed = False
        self._replay: Callable[[], None] | None = None
        self._rate: float | None = None
        self._own: dict[str, Any] = {}

    def run(
        self,
        params: list[Array],
        state: Any,
        X: Array,
        Y: Array,
        learning_rate: float,
        total: Array,
        weights: Array | None = None,
    ) -> tuple[list[Array], Any, Array]:
        shape = (tuple(X.shape), tuple(Y.shape), None if weights is None else tuple(weights.shape))
        if self._shape is None:
            self._shape = shape
        extra = () if weights is None else (weights,)
        if shape != self._shape:  # another shape (the last partial batch): uncaptured
            return self._step.run(params, state, X, Y, learning_rate, total, *extra)
        if not self._warmed:
            self._warmed = True
            warmed: tuple[list[Array], Any, Array] = self._recorder.warm(
                lambda: self._step.run(params, state, X, Y, learning_rate, total, *extra)
            )
            return warmed
        if self._replay is None or learning_rate != self._rate:
            self._record(params, state, X, Y, learning_rate, total, weights)
        own = self._own
        _copy_in(own["params"], params)
        _copy_in(_arrays_of(own["state"]), _arrays_of(state))
        _copy_in([own["X"], own["Y"], own["total"], *own["weights"]], [X, Y, total, *extra])
        if own["size"] is not None:
            self._recorder.fill(own["size"], self._optimizer.step_size(state, learning_rate))  # type: ignore[misc]
        assert self._replay is not None
        self._replay()
        return own["params"], self._next_state(state, learning_rate), own["total"]

    def _next_state(self, state: Any, learning_rate: float) -> Any:
        """The recording's state arrays, with the host counters one update past ``state``'s
        (those of an update over no parameters)."""
        own = self._own["state"]
        if not isinstance(state, tuple) or not hasattr(state, "_fields"):
            return own
        empty = type(state)(*([] if isinstance(v, list) else v for v in state))
        counters = self._optimizer.update([], empty, learning_rate, xp=self._xp)[1]
        return type(own)(
            *(a if isinstance(a, list) else c for a, c in zip(own, counters, strict=True))
        )

    def _record(
        self,
        params: list[Array],
        state: Any,
        X: Array,
        Y: Array,
        learning_rate: float,
        total: Array,
        weights: Array | None,
    ) -> None:
        xp = self._xp
        if not self._own:  # the buffers the recording reads and writes, made once
            new = xp.empty_like  # filled before each replay (run's copies in)
            self._own = {
                "params": [new(p) for p in params],
                "state": _with_arrays(state, [new(a) for a in _arrays_of(state)]),
                "X": new(X), "Y": new(Y), "total": new(total),
                "weights": [] if weights is None else [new(weights)],
                "size": None if self._optimizer.step_size is None else xp.zeros_like(total),
            }  # fmt: skip
        own, step = self._own, self._step

        def body() -> None:
            given = {} if own["size"] is None else {"step_size": own["size"]}
            new_params, new_state, new_total = step.run(
                own["params"], own["state"], own["X"], own["Y"], learning_rate, own["total"],
                *own["weights"], **given,
            )  # fmt: skip
            _copy_in(own["params"], new_params)
            _copy_in(_arrays_of(own["state"]), _arrays_of(new_state))
            _copy_in([own["total"]], [new_total])

        self._replay = None  # the last recording's memory goes before the next is made
        self._replay, self._rate = self._recorder.record(body), learning_rate


def _copy_in(own: list[Array], given: list[Array]) -> None:
    """Each given array's values into the buffer beside it, where it is not that buffer."""
    for mine, theirs in zip(own, given, strict=True):
        if mine is not theirs:
            mine[...] = theirs


def _arrays_of(state: Any) -> list[Array]:
    """The arrays of an optimizer state (a named tuple of counters and lists of arrays)."""
    if isinstance(state, tuple) and hasattr(state, "_fields"):
        return [a for value in state if isinstance(value, list) for a in value]
    return []


def _with_arrays(state: Any, arrays: list[Array]) -> Any:
    """``state`` with its arrays, in order, replaced by ``arrays``."""
    if not (isinstance(state, tuple) and hasattr(state, "_fields")):
        return state
    it = iter(arrays)
    return type(state)(*([next(it) for _ in v] if isinstance(v, list) else v for v in state))
