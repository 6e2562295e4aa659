"""Timing, backends and figures shared by the workloads.

A *peer* is one contestant of a workload: a callable that does one unit of work (an epoch, a
fit) plus what is needed to read its clock honestly (a device synchronisation) and to turn a
time into figures (samples, FLOPs). :func:`measure` runs peers interleaved, round by round
(A, B, C, A, B, C, ...), after warm-up rounds, so that a slow drift of the machine (another
process, thermal state) touches every peer alike.
"""

from __future__ import annotations

import gc
import itertools
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xperceptron._backends import BACKENDS

__all__ = [
    "BACKEND_NAMES",
    "Backend",
    "Peer",
    "compare",
    "detect_backends",
    "matmul_peaks",
    "measure",
    "mlp_flops",
    "summarize",
]

BACKEND_NAMES = tuple(b.name for b in BACKENDS if b.benchmarked)
"""xperceptron backends the suite knows (the package's table, less array-api-strict);
``torch`` is PyTorch on the CPU, ``torch-cuda`` on the GPU."""

DEFAULT_OFF = {"jax": "opt-in (XLA compiles every configuration first): pass --backends ...,jax"}


def _nothing(*arrays: Any) -> None:
    return None


def log(message: str) -> None:
    """Progress goes to stderr; stdout carries only the final summary."""
    print(message, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- backends
@dataclass(frozen=True)
class Backend:
    """Where xperceptron (and the matching PyTorch eager peer) runs.

    ``asarray`` moves a NumPy array there (outside any timing); ``sync`` waits until the
    device has finished the work queued so far (for JAX: until the given arrays are ready).
    """

    name: str
    device: str
    asarray: Callable[[np.ndarray[Any, Any]], Any]
    sync: Callable[..., None] = _nothing

    @property
    def gpu(self) -> bool:
        return self.device != "cpu"


def _numpy_backend() -> Backend:
    return Backend("numpy", "cpu", np.asarray)


def _torch_backend() -> Backend:
    import torch

    return Backend("torch", "cpu", lambda a: torch.from_numpy(np.ascontiguousarray(a)))


def _torch_cuda_backend() -> Backend:
    import torch

    if not torch.cuda.is_available():
        raise RuntimeError("torch.cuda.is_available() is False (no CUDA GPU or a CPU build)")

    def sync(*arrays: Any) -> None:
        torch.cuda.synchronize()

    name = f"cuda:{torch.cuda.current_device()}"
    return Backend("torch-cuda", name, lambda a: torch.asarray(a, device=name), sync)


def _cupy_backend() -> Backend:
    import cupy

    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # cupy raises its own CUDARuntimeError without a driver
        raise RuntimeError(f"no usable CUDA device ({exc})") from None
    if count < 1:
        raise RuntimeError("no CUDA device")

    def sync(*arrays: Any) -> None:
        cupy.cuda.Device().synchronize()

    return Backend("cupy", f"cuda:{cupy.cuda.Device().id}", cupy.asarray, sync)


def _jax_backend() -> Backend:
    import jax

    # Before the first array: float64 inputs (workloads 1 and 4) stay float64.
    jax.config.update("jax_enable_x64", True)  # type: ignore[no-untyped-call]
    import jax.numpy as jnp

    def sync(*arrays: Any) -> None:
        jax.block_until_ready(arrays)  # type: ignore[no-untyped-call]

    device = jax.devices()[0]
    name = "cpu" if device.platform == "cpu" else f"{device.platform}:{device.id}"
    return Backend("jax", name, jnp.asarray, sync)


_FACTORIES: dict[str, Callable[[], Backend]] = {
    "numpy": _numpy_backend,
    "torch": _torch_backend,
    "jax": _jax_backend,
    "cupy": _cupy_backend,
    "torch-cuda": _torch_cuda_backend,
}


def detect_backends(requested: Sequence[str] | None) -> tuple[list[Backend], dict[str, str]]:
    """The usable backends among ``requested`` (default: all present but the opt-in ones),
    and for each one left out, why."""
    if requested is None:
        names = [name for name in BACKEND_NAMES if name not in DEFAULT_OFF]
    else:
        names = list(requested)
    unknown = sorted(set(names) - set(BACKEND_NAMES))
    if unknown:
        raise ValueError(f"unknown backends {unknown}; known: {list(BACKEND_NAMES)}")
    backends: list[Backend] = []
    skipped: dict[str, str] = {}
    for name in BACKEND_NAMES:
        if name not in names:
            if requested is None:
                skipped[name] = DEFAULT_OFF[name]
            continue
        try:
            backends.append(_FACTORIES[name]())
        except ImportError as exc:
            skipped[name] = f"not installed ({exc})"
        except RuntimeError as exc:
            skipped[name] = f"no GPU: {exc}"
    return backends, skipped


# ----------------------------------------------------------------------------- timing
@dataclass
class Peer:
    """One contestant: ``run`` does one timed unit of work.

    ``units`` is what one run processes (iterations, samples or fits): figures per unit and
    ratios are taken per unit, so peers that process different sample counts (the reduced
    CPU runs of the wide MLP) still compare. ``flops`` counts the matrix products of one run.
    ``finish`` reads figures after the timing (final loss, accuracy, a check).
    """

    label: str
    run: Callable[[], object]
    sync: Callable[[], None] = _nothing
    units: float = 1.0
    samples: int | None = None
    flops: float | None = None
    engine: str = "numpy"
    backend: str = "numpy"
    device: str = "cpu"
    kind: str = "peer"
    finish: Callable[[], dict[str, Any]] | None = None
    notes: list[str] = field(default_factory=list)


def _time_once(peer: Peer, settle: float) -> float:
    peer.sync()
    # Let the thread pools of the previous peer go idle: PyTorch's OpenMP workers keep
    # spinning for a while after its last operation and would slow the next peer down.
    time.sleep(settle)
    start = time.perf_counter()
    peer.run()
    peer.sync()
    return time.perf_counter() - start


def measure(
    peers: Sequence[Peer], *, repeats: int, warmup: int, name: str, settle: float = 0.0
) -> tuple[dict[str, list[float]], dict[str, str]]:
    """Times of each peer over ``repeats`` interleaved rounds after ``warmup`` rounds, the
    order rotated by one peer each round.

    A peer that raises is dropped from the later rounds; its error is returned.
    """
    times: dict[str, list[float]] = {peer.label: [] for peer in peers}
    errors: dict[str, str] = {}
    rounds = [("warm-up", i) for i in range(warmup)] + [("round", i) for i in range(repeats)]
    for number, (what, index) in enumerate(rounds):
        gc.collect()  # outside the clock: no collection of earlier garbage inside a run
        line = []
        # Each round starts with the next peer: no peer always runs right after the same
        # one (a peer's freed memory and idle threads weigh on whoever runs next).
        shift = number % max(len(peers), 1)
        for peer in [*peers[shift:], *peers[:shift]]:
            if peer.label in errors:
                continue
            try:
                elapsed = _time_once(peer, settle)
            except Exception as exc:
                errors[peer.label] = "".join(traceback.format_exception_only(exc)).strip()
                log(f"[{name}] {peer.label} FAILED: {errors[peer.label]}")
                log(traceback.format_exc())
                continue
            if what == "round":
                times[peer.label].append(elapsed)
            line.append(f"{peer.label} {elapsed:.4g}s")
        total = repeats if what == "round" else warmup
        log(f"[{name}] {what} {index + 1}/{total}: " + ", ".join(line))
    return times, errors


def summarize(
    peer: Peer,
    times: Sequence[float],
    *,
    baseline: Peer | None,
    baseline_times: Sequence[float],
    peaks: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """A peer's row: median time, per-unit time, throughput, GFLOP/s and the baseline ratio."""
    row: dict[str, Any] = {
        "label": peer.label,
        "kind": peer.kind,
        "backend": peer.backend,
        "device": peer.device,
        "engine": peer.engine,
        "units_per_run": peer.units,
        "samples_per_run": peer.samples,
        "flops_per_run": peer.flops,
        "times_s": list(times),
        "notes": list(peer.notes),
    }
    if not times:
        return row
    median = statistics.median(times)
    row.update(
        median_s=median,
        min_s=min(times),
        max_s=max(times),
        per_unit_s=median / peer.units,
    )
    if peer.samples:
        row["samples_per_s"] = peer.samples / median
    if peer.flops:
        row["gflops"] = peer.flops / median / 1e9
        peak = peaks.get(peer.engine, {}).get("gflops")
        if peak:
            row["peak_fraction"] = row["gflops"] / peak
    if baseline is not None and baseline_times:
        row["vs_baseline"] = _ratio(peer, times, baseline, baseline_times)
    return row


def _ratio(num: Peer, num_times: Sequence[float], den: Peer, den_times: Sequence[float]) -> float:
    """Median over rounds of (time per unit of ``num``) / (time per unit of ``den``).

    Rounds are paired: both were measured side by side, under the same machine state.
    """
    pairs = [(a / num.units) / (b / den.units) for a, b in zip(num_times, den_times, strict=False)]
    return statistics.median(pairs)


def compare(
    pairs: Sequence[tuple[str, str]],
    peers: Sequence[Peer],
    times: dict[str, list[float]],
) -> list[dict[str, Any]]:
    """Time ratios ``numerator / denominator`` for the pairs whose peers both have times.

    Above 1: the numerator is that many times slower (per iteration, sample or fit).
    """
    by_label = {peer.label: peer for peer in peers}
    out = []
    for num, den in pairs:
        if not (times.get(num) and times.get(den)):
            continue
        ratio = _ratio(by_label[num], times[num], by_label[den], times[den])
        medians = (
            statistics.median(times[num]) / by_label[num].units,
            statistics.median(times[den]) / by_label[den].units,
        )
        out.append(
            {
                "numerator": num,
                "denominator": den,
                "ratio": ratio,
                "ratio_of_medians": medians[0] / medians[1],
            }
        )
    return out


# ----------------------------------------------------------------------------- FLOPs, peaks
def mlp_flops(layer_sizes: Sequence[int], n_samples: int) -> float:
    """Matrix-product FLOPs of one training pass over ``n_samples``.

    Per layer of ``n_in -> n_out``: forward ``2 n n_in n_out``, weight gradient as much, and
    the input gradient as much again for every layer but the first (nothing needs the
    gradient of the data). Element-wise work (bias, activation, softmax) is not counted.
    """
    total = 0
    for layer, (n_in, n_out) in enumerate(itertools.pairwise(layer_sizes)):
        product = 2 * n_samples * n_in * n_out
        total += product * (2 if layer == 0 else 3)
    return float(total)


def _matmul_peer(engine: str, backend: Backend | None, n: int) -> Peer:
    """A float32 ``n x n`` matrix product on ``engine``."""
    rng = np.random.default_rng(1)
    host_a = rng.standard_normal((n, n), dtype=np.float32)
    host_b = rng.standard_normal((n, n), dtype=np.float32)
    if backend is None:  # NumPy's BLAS: raw NumPy, scikit-learn, xperceptron[numpy]
        a, b = host_a, host_b
        return Peer(f"matmul [{engine}]", lambda: a @ b, flops=2.0 * n**3, engine=engine)
    da, db = backend.asarray(host_a), backend.asarray(host_b)
    result: list[Any] = [None]

    def run() -> None:
        result[0] = da @ db

    def sync() -> None:
        backend.sync(result[0])

    return Peer(
        f"matmul [{engine}]",
        run,
        sync,
        flops=2.0 * n**3,
        engine=engine,
        backend=backend.name,
        device=backend.device,
    )


def matmul_peaks(
    backends: Sequence[Backend],
    *,
    n_cpu: int,
    n_gpu: int,
    repeats: int,
    warmup: int,
    settle: float = 0.0,
) -> dict[str, dict[str, Any]]:
    """float32 matmul GFLOP/s of each engine (best and median of interleaved runs): the
    roofline is the best."""
    peers = [_matmul_peer("numpy", None, n_cpu)]
    for backend in backends:
        if backend.name != "numpy":
            n = n_gpu if backend.gpu else n_cpu
            peers.append(_matmul_peer(backend.name, backend, n))
    times, errors = measure(peers, repeats=repeats, warmup=warmup, name="peak", settle=settle)
    peaks: dict[str, dict[str, Any]] = {}
    for peer in peers:
        if peer.label in errors or not times[peer.label]:
            peaks[peer.engine] = {"error": errors.get(peer.label, "no time")}
            continue
        median, best = statistics.median(times[peer.label]), min(times[peer.label])
        assert peer.flops is not None
        peaks[peer.engine] = {
            "device": peer.device,
            "n": round((peer.flops / 2) ** (1 / 3)),
            "dtype": "float32",
            "times_s": times[peer.label],
            "median_s": median,
            "gflops_median": peer.flops / median / 1e9,
            # The roofline is what the engine can do: its best run, not a run slowed down by
            # whatever else the machine was doing (the median is kept beside it).
            "gflops": peer.flops / best / 1e9,
        }
    return peaks
