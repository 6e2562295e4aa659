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

import array_api_compat
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import distributed_cases
from distributed_cases import CASES, shard

from xperceptron import fit_stream
from xperceptron._namespace import to_numpy
from xperceptron.callbacks import CSVLogger, EarlyStopping


def _rank(engine: str) -> int:
    if engine == "torch":
        return int(os.environ["RANK"])
    from mpi4py import MPI

    return int(MPI.COMM_WORLD.Get_rank())


def _fail_reading_chunk_3() -> None:
    """This rank's stream fails as a file that cannot be read would, at its 4th chunk."""
    chunks = distributed_cases._chunks

    def failing(*args):
        for index, chunk in enumerate(chunks(*args)):
            if index == 3:
                raise OSError("chunk 3 could not be read")
            yield chunk

    distributed_cases._chunks = failing


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
    train = case.train
    if case.tweak == "callback_fails":  # rank 0 runs the callbacks: its error must spread
        est.set_params(callbacks=[CSVLogger("/nonexistent-folder/log.csv")])
    elif case.tweak == "restore_best":  # rank 0's callback sets the weights of every rank
        est.set_params(callbacks=[EarlyStopping(patience=2, restore_best_weights=True)])
    elif case.tweak == "batch_differs" and rank == 1:
        est.set_params(batch_size=8)
    elif case.tweak == "no_y_on_rank_1" and rank == 1:
        y = None
    elif case.tweak == "unreadable_chunk_on_rank_1" and rank == 1:
        _fail_reading_chunk_3()
    elif case.tweak == "bad_batch_size_on_rank_1" and rank == 1:
        est.set_params(batch_size=0)
    elif case.tweak == "no_weights_on_rank_1" and rank == 1:
        weights = None
    elif case.tweak == "one_shot_on_rank_1" and rank == 1:  # not a stream to read per epoch

        def train(est, X, y, weights):
            fit_stream(est, distributed_cases._chunks(X, y, weights), classes=np.arange(2))

    elif case.tweak == "arrays_on_rank_1" and rank == 1:  # rank 0 gives a Dask array

        def train(est, X, y, weights):
            est.fit(X, y, sample_weight=weights)

    result: dict = {"rank": rank}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # max_iter is reached on purpose: recorded
            train(est, X, y, weights)
        result["warnings"] = [f"{w.category.__name__}: {w.message}" for w in caught]
    except Exception as exc:  # the test checks that every rank raised, and what
        result["error"] = f"{type(exc).__name__}: {exc}"
    else:
        result |= {
            "params": [to_numpy(a).tolist() for a in est.coefs_ + est.intercepts_],
            "device": str(array_api_compat.device(est.coefs_[0])),
            "loss_curve": est.loss_curve_,
            "n_iter": est.n_iter_,
            "t": est.t_,
            "classes": np.asarray(getattr(est, "classes_", [])).tolist(),
            "validation_scores": est.validation_scores_,
        }
    Path(args.out, f"rank{rank}.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main()
