"""Where one epoch of the reference MLP spends its time, line by line (line_profiler).

    python -m pip install line_profiler
    python benchmarks/profile_epoch.py                 # 784-256-128-10, batch 256, 60,000 samples
    python benchmarks/profile_epoch.py --samples 6000  # quicker
    python benchmarks/profile_epoch.py --sizes 4096,4096,4096,10 --batch 1024 --samples 4096

It times one ``partial_fit`` epoch of the benchmark's workload 2 on NumPy (after an untimed
one) and prints, for the training loop and the core functions it calls, the lines that take
at least ``--min-share`` of the epoch. Profiling slows every line a little; read shares, not
absolute times, and take speed figures from ``run.py``.
"""

from __future__ import annotations

import argparse
import io
import sys
import time

import numpy as np
from _peers import synthetic_classification

from xperceptron import (
    MLPClassifier,
    _mlp_base,
    _training,
    activations,
    losses,
    network,
    optimizers,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=60_000, help="samples in the epoch")
    parser.add_argument(
        "--sizes", default="784,256,128,10", help="layer sizes, input to output (10 classes)"
    )
    parser.add_argument("--batch", type=int, default=256, help="batch size")
    parser.add_argument(
        "--min-share", type=float, default=0.005, help="hide lines below this share of the epoch"
    )
    args = parser.parse_args(argv)
    try:
        from line_profiler import LineProfiler
    except ImportError:
        print("needs line_profiler: python -m pip install line_profiler", file=sys.stderr)
        return 2

    sizes = [int(n) for n in args.sizes.split(",")]
    X, y = synthetic_classification(args.samples, sizes[0], sizes[-1])
    clf = MLPClassifier(
        tuple(sizes[1:-1]), solver="sgd", momentum=0.0, learning_rate_init=0.01, alpha=0.0,
        batch_size=args.batch, max_iter=1, random_state=0,
    )  # fmt: skip
    clf.partial_fit(X, y, classes=np.arange(sizes[-1]))  # untimed: weights, state, caches
    functions = [
        _mlp_base.BaseMLP._fit,
        _training.train,
        _training.run_epoch,
        _training.InMemoryBatches.epoch,
        network.value_and_grad,
        network._propagate,
        network._affine,
        network.backward,
        losses.OUTPUT_LOSSES["softmax"].loss_and_delta,
        activations.ACTIVATIONS["relu"].with_derivative,
        optimizers.apply_updates,
    ]
    profiler = LineProfiler(*[f for f in functions if f is not None])
    started = time.perf_counter()
    profiler.runcall(clf.partial_fit, X, y)
    epoch = time.perf_counter() - started
    print(f"one epoch of {args.samples} samples under the profiler: {epoch * 1e3:.1f} ms\n")

    text = io.StringIO()
    profiler.print_stats(stream=text, output_unit=1e-3)
    for line in text.getvalue().splitlines():
        fields = line.split()
        if line.startswith(("Function:", "Total time:")):
            print(line)
            continue
        # Data lines: line number, hits, time (ms), per hit, % of the function, source.
        is_data = len(fields) >= 6 and fields[0].isdigit() and fields[1].isdigit()
        if is_data and float(fields[2]) / 1e3 >= args.min_share * epoch:
            print(f"  {float(fields[2]):8.1f} ms  {line.split(None, 5)[5]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
