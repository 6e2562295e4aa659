"""The GPU step's options, one by one: workload 2 (784-256-128-10, ReLU, softmax, SGD, batch
256) with and without fused element-wise kernels (CuPy) and batched row gathers (CuPy and
torch on CUDA), beside PyTorch eager on CUDA, in paired rounds.

    python benchmarks/step_variants.py --out $OUT          # on a GPU machine

Each timed run is one ``partial_fit`` epoch of 60,000 rows (after an untimed first call), as
in workload 2. Every variant trains the same model: the script checks that a fresh 2-epoch
fit gives the same weights bit for bit under each, and prints the medians and the paired
ratios against eager, then writes ``step-variants.json`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from _harness import Backend, Peer, detect_backends, measure
from _peers import TorchMLP, synthetic_classification

from xperceptron import MLPClassifier, _batches, _namespace
from xperceptron._namespace import to_numpy

LAYERS = (784, 256, 128, 10)


@contextmanager
def _options(*, fuse: bool, batched_gathers: bool) -> Iterator[None]:
    """The engine with fused kernels and batched gathers on or off (both on by default)."""
    fuser_for, gather_bytes = _namespace.fuser_for, _batches.GATHER_BYTES
    if not fuse:
        _namespace.fuser_for = lambda xp: None
    if not batched_gathers:
        _batches.GATHER_BYTES = 0
    try:
        yield
    finally:
        _namespace.fuser_for, _batches.GATHER_BYTES = fuser_for, gather_bytes


def _estimator(epochs: int) -> MLPClassifier:
    return MLPClassifier(
        LAYERS[1:-1], solver="sgd", momentum=0.0, learning_rate_init=0.1, alpha=0.0,
        batch_size=256, max_iter=epochs, random_state=0,
    )  # fmt: skip


def _peer(backend: Backend, X: Any, y: Any, label: str, options: dict[str, bool]) -> Peer:
    clf = _estimator(1)
    with _options(**options):
        clf.partial_fit(X[:256], y[:256], classes=np.arange(10))

    def run() -> None:
        with _options(**options):
            clf.partial_fit(X, y)

    return Peer(f"{label} [{backend.name}]", run, sync=backend.sync, backend=backend.name)


def _same_model(backend: Backend, X: Any, y: Any, variants: dict[str, dict[str, bool]]) -> bool:
    weights = []
    for options in variants.values():
        with _options(**options):
            clf = _estimator(2).fit(X, y)
        weights.append([to_numpy(a) for a in clf.coefs_ + clf.intercepts_])
    return all(
        all(np.array_equal(a, b) for a, b in zip(weights[0], w, strict=True)) for w in weights
    )


VARIANTS = {
    "cupy": {
        "unfused, a gather a batch": {"fuse": False, "batched_gathers": False},
        "unfused, batched gathers": {"fuse": False, "batched_gathers": True},
        "fused, a gather a batch": {"fuse": True, "batched_gathers": False},
        "fused, batched gathers (default)": {"fuse": True, "batched_gathers": True},
    },
    "torch-cuda": {
        "a gather a batch": {"fuse": True, "batched_gathers": False},
        "batched gathers (default)": {"fuse": True, "batched_gathers": True},
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="cupy,torch-cuda")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--samples", type=int, default=60_000, help="rows of an epoch")
    parser.add_argument("--out", type=Path, default=Path("."))
    args = parser.parse_args()
    backends, skipped = detect_backends(args.backends.split(","))
    X_host, y_host = synthetic_classification(args.samples, LAYERS[0], LAYERS[-1])
    peers, identical = [], {}
    for backend in backends:
        X, y = backend.asarray(X_host), backend.asarray(y_host)
        variants = VARIANTS.get(backend.name, VARIANTS["torch-cuda"])
        identical[backend.name] = _same_model(backend, X, y, variants)
        peers += [_peer(backend, X, y, label, options) for label, options in variants.items()]
    torch_cuda = next((b for b in backends if b.name == "torch-cuda"), None)
    if torch_cuda is not None:
        Xt, yt = torch_cuda.asarray(X_host), torch_cuda.asarray(y_host)
        eager = TorchMLP(
            LAYERS, learning_rate=0.1, batch_size=256, seed=0, device=torch_cuda.device
        )
        eager.epoch(Xt, yt)
        run = lambda: eager.epoch(Xt, yt)  # noqa: E731
        peers.append(Peer("PyTorch eager [torch-cuda]", run, sync=torch_cuda.sync))
    times, errors = measure(peers, repeats=args.repeats, warmup=1, name="variants", settle=0.2)
    report = _report(times, identical, skipped, errors)
    print(report["table"])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "step-variants.json").write_text(json.dumps({**report, "times": times}, indent=1))


def _report(
    times: dict[str, list[float]], identical: dict[str, bool], skipped: dict[str, str],
    errors: dict[str, str],
) -> dict[str, Any]:  # fmt: skip
    eager = times.get("PyTorch eager [torch-cuda]", [])

    def ratio(t: list[float]) -> float:
        pairs = [a / b for a, b in zip(t, eager, strict=False)]
        return statistics.median(pairs) if pairs else float("nan")

    lines = ["| variant | median epoch | paired ratio to eager |", "|---|---|---|"]
    for label, t in times.items():
        if t:
            lines.append(f"| {label} | {statistics.median(t) * 1e3:.1f} ms | {ratio(t):.2f}x |")
    lines.append(f"\nsame model bit for bit under every variant: {identical}")
    if skipped or errors:
        lines.append(f"skipped: {skipped}; errors: {errors}")
    return {"table": "\n".join(lines), "identical": identical, "errors": errors}


if __name__ == "__main__":
    main()
