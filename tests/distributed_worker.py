"""One rank of a data-parallel test run (tests/test_distributed.py starts two, under torchrun
or mpiexec): fits on its shard and writes what it got to ``OUT/rank<r>.json``.

    python -m torch.distributed.run --nproc-per-node 2 tests/distributed_worker.py CASE OUT
    mpiexec -n 2 python tests/distributed_worker.py CASE OUT --engine mpi
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from distributed_cases import CASES, shard

from xperceptron._namespace import to_numpy


def _rank(engine: str) -> int:
    if engine == "torch":
        return int(os.environ["RANK"])
    from mpi4py import MPI

    return int(MPI.COMM_WORLD.Get_rank())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("case")
    parser.add_argument("out")
    parser.add_argument("--engine", default="torch")
    args = parser.parse_args()
    rank = _rank(args.engine)
    case = CASES[args.case]
    est = case.estimator(distributed=args.engine)
    X, y, weights = shard(case, rank)
    result: dict = {"rank": rank}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # max_iter is reached on purpose
            case.train(est, X, y, weights)
    except Exception as exc:  # the test checks that every rank raised, and what
        result["error"] = f"{type(exc).__name__}: {exc}"
    else:
        result |= {
            "params": [to_numpy(a).tolist() for a in est.coefs_ + est.intercepts_],
            "loss_curve": est.loss_curve_,
            "n_iter": est.n_iter_,
            "t": est.t_,
            "classes": np.asarray(getattr(est, "classes_", [])).tolist(),
        }
    Path(args.out, f"rank{rank}.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main()
