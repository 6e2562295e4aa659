"""One rank of benchmarks/distributed.py: trains its shard, rank 0 writes the timing."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import warnings
from pathlib import Path

import numpy as np

from xperceptron import MLPClassifier

LAYERS = (784, 256, 128, 10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--repeats", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--engine", choices=("torch", "mpi"), required=True)
    args = parser.parse_args()
    est = MLPClassifier(LAYERS[1:-1], solver="adam", batch_size=args.batch, shuffle=False,
                        random_state=0, distributed=args.engine)  # fmt: skip
    group_size, rank = _world(args.engine)
    n_local = args.batch * args.steps // group_size
    rng = np.random.default_rng(rank)
    X = rng.normal(size=(n_local, LAYERS[0]))
    y = rng.integers(0, LAYERS[-1], size=n_local)
    classes = np.arange(LAYERS[-1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.partial_fit(X, y, classes=classes)  # warm-up epoch (and the process group)
        seconds = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            est.partial_fit(X, y)
            seconds.append(time.perf_counter() - started)
    if rank == 0:
        median = statistics.median(seconds)
        figures = {
            "seconds_per_epoch": median,
            "steps_per_second": args.steps / median,
            "samples_per_second": args.batch * args.steps / median,
        }
        args.out.write_text(json.dumps(figures))


def _world(engine: str) -> tuple[int, int]:
    if engine == "torch":  # torchrun's environment (fit initialises the group from it)
        return int(os.environ["WORLD_SIZE"]), int(os.environ["RANK"])
    from mpi4py import MPI

    return MPI.COMM_WORLD.Get_size(), MPI.COMM_WORLD.Get_rank()


if __name__ == "__main__":
    main()
