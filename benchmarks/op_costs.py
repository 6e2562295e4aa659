"""What one training step of the reference MLP costs, operation by operation, per backend.

    python benchmarks/op_costs.py --backends cupy,torch-cuda      # on a GPU machine
    python benchmarks/op_costs.py --backends numpy,torch --batch 64 --samples 2048

Two views, printed as tables:

* **Operations.** Each array operation a step of workload 2 makes (784-256-128-10, ReLU,
  softmax, SGD), on arrays of the step's shapes, through the namespace the training core
  gets (array-api-compat's). ``host`` is the time a call takes to return (what the Python
  thread pays: on a GPU, the launch); ``total`` adds the wait for the device at the end of
  ``--calls`` calls. Where ``host`` is close to ``total``, the operation is bound by its
  launch, not by the device.
* **Profile.** One ``partial_fit`` epoch under ``cProfile`` (after an untimed one): the
  functions with the most own time, ours and the library's (compiled functions show as
  ``{method ...}`` or ``{built-in ...}``). Profiling slows each Python call; read shares.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from collections.abc import Callable
from typing import Any

import array_api_compat
import numpy as np
from _harness import Backend, detect_backends
from _peers import synthetic_classification

from xperceptron import MLPClassifier


def _arrays(backend: Backend, batch: int, samples: int) -> dict[str, Any]:
    rng = np.random.default_rng(0)

    def put(*shape: int) -> Any:
        return backend.asarray(rng.normal(size=shape).astype(np.float32))

    order = rng.permutation(samples)[: (samples // batch) * batch].reshape(-1, batch)
    return {
        "X_all": put(samples, 784),
        "rows": backend.asarray(order),
        "A": put(batch, 784),
        "W1": put(784, 256),
        "b1": put(256),
        "Z1": put(batch, 256),
        "W2": put(256, 128),
        "Z2": put(batch, 128),
        "W3": put(128, 10),
        "L": put(batch, 10),
        "ones": backend.asarray(np.ones(batch, dtype=np.float32)),
        "s": put(),
    }


def _operations(xp: Any, a: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    A, Z1, Z2, L = a["A"], a["Z1"], a["Z2"], a["L"]
    positive = xp.abs(L) + 1.0
    return {
        "take rows (batch of X)": lambda: xp.take(a["X_all"], a["rows"][0, ...], axis=0),
        "index row (rows[i, ...])": lambda: a["rows"][1, ...],
        "A @ W1 (forward)": lambda: A @ a["W1"],
        "Z1 @ W2 (forward)": lambda: Z1 @ a["W2"],
        "A.T @ Z1 (grad W1)": lambda: A.T @ Z1,
        "Z2 @ W2.T (delta)": lambda: Z2 @ a["W2"].T,
        "Z1 + b1": lambda: Z1 + a["b1"],
        "Z1 > 0.0": lambda: Z1 > 0.0,
        "astype(Z1 > 0, f32)": lambda: xp.astype(Z1 > 0.0, Z1.dtype),
        "Z1 * Z1": lambda: Z1 * Z1,
        "Z1 * 0.5": lambda: Z1 * 0.5,
        "maximum(Z1, 0.0)": lambda: xp.maximum(Z1, 0.0),
        "exp(L)": lambda: xp.exp(L),
        "log(L+)": lambda: xp.log(positive),
        "max(L, axis=1)": lambda: xp.max(L, axis=1, keepdims=True),
        "sum(L, axis=1)": lambda: xp.sum(L, axis=1, keepdims=True),
        "sum(L)": lambda: xp.sum(L),
        "sum(Z1, axis=0)": lambda: xp.sum(Z1, axis=0),
        "ones @ Z1": lambda: a["ones"] @ Z1,
        "0-d s + s": lambda: a["s"] + a["s"],
    }


def _time(op: Callable[[], Any], sync: Callable[[], None], calls: int) -> tuple[float, float]:
    for _ in range(10):
        op()
    sync()
    started = time.perf_counter()
    for _ in range(calls):
        op()
    returned = time.perf_counter()
    sync()
    finished = time.perf_counter()
    return (returned - started) / calls, (finished - started) / calls


def operation_table(backends: list[Backend], args: argparse.Namespace) -> None:
    rows: dict[str, dict[str, tuple[float, float]]] = {}
    for backend in backends:
        arrays = _arrays(backend, args.batch, args.samples)
        xp = array_api_compat.array_namespace(arrays["A"])
        for name, op in _operations(xp, arrays).items():
            rows.setdefault(name, {})[backend.name] = _time(op, backend.sync, args.calls)
    names = [b.name for b in backends]
    print(f"\n## Operations, batch {args.batch}: µs per call, host / total\n")
    print("| operation | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for op_name, by_backend in rows.items():
        cells = [f"{by_backend[n][0] * 1e6:.1f} / {by_backend[n][1] * 1e6:.1f}" for n in names]
        print(f"| {op_name} | " + " | ".join(cells) + " |")


def profile(backend: Backend, args: argparse.Namespace) -> None:
    X, y = synthetic_classification(args.samples, 784, 10)
    Xd, yd = backend.asarray(X), backend.asarray(y)
    clf = MLPClassifier(
        (256, 128), solver="sgd", momentum=0.0, learning_rate_init=0.01, alpha=0.0,
        batch_size=args.batch, max_iter=1, random_state=0,
    )  # fmt: skip
    clf.partial_fit(Xd, yd, classes=np.arange(10))  # untimed: weights, state, kernels
    backend.sync()
    started = time.perf_counter()
    clf.partial_fit(Xd, yd)
    backend.sync()
    plain = time.perf_counter() - started
    profiler = cProfile.Profile()
    profiler.enable()
    clf.partial_fit(Xd, yd)
    backend.sync()
    profiler.disable()
    steps = -(-args.samples // args.batch)
    print(f"\n## Profile [{backend.name}], batch {args.batch}, {steps} steps\n")
    print(f"epoch without the profiler: {plain * 1e3:.1f} ms ({plain / steps * 1e6:.0f} µs a step)")
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(args.top)
    print("```")
    print("\n".join(line for line in text.getvalue().splitlines() if line.strip())[-6000:])
    print("```")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--backends", default="numpy,torch", help="comma-separated")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--samples", type=int, default=60_000, help="samples in the epoch")
    parser.add_argument("--calls", type=int, default=300, help="timed calls per operation")
    parser.add_argument("--top", type=int, default=30, help="functions shown in a profile")
    args = parser.parse_args(argv)
    backends, skipped = detect_backends(args.backends.split(","))
    for name, why in skipped.items():
        print(f"{name}: skipped ({why})", file=sys.stderr)
    if not backends:
        return 2
    operation_table(backends, args)
    for backend in backends:
        profile(backend, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
