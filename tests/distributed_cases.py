"""The data-parallel test cases, shared by the ranks (tests/distributed_worker.py) and the
test that compares them with one process (tests/test_distributed.py).

Two ranks, equal shards of ``N`` rows each, a global batch ``B`` divisible by 2: step ``k``
of the run holds rank 0's ``k``-th slice of ``B / 2`` rows, then rank 1's. One process
given the rows in that order (:func:`interleaved`) takes the very same steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from task_data import task_data

from xperceptron import MLPClassifier, MLPRegressor, fit_stream

RANKS = 2
N = 45  # rows a rank: not a multiple of the slices, so the last step is partial
SHORTER = 20  # rank 1's rows where its stream is the shorter


@dataclass(frozen=True)
class Case:
    task: str  # binary, multiclass, multilabel, regression
    params: dict[str, Any] = field(default_factory=dict)
    calls: int = 1  # partial_fit calls (0: one fit)
    weighted: bool = False
    tweak: str = ""  # a rank's data made special: "missing_class", "nan_on_rank_1"
    namespace: str = "numpy"  # the ranks' arrays: numpy, torch, torch-cuda, cupy or jax
    source: str = "arrays"  # how a rank gives its rows: arrays, chunks (fit_stream) or dask

    def estimator(self, **extra: Any) -> Any:
        cls = MLPRegressor if self.task == "regression" else MLPClassifier
        common = {"hidden_layer_sizes": (6,), "max_iter": 5, "batch_size": 16, "tol": 0.0,
                  "n_iter_no_change": 1000, "random_state": 0, "shuffle": False,
                  "alpha": 0.01, "learning_rate_init": 0.01}  # fmt: skip
        return cls(**(common | self.params | extra))

    def train(self, est: Any, X: Any, y: Any, weights: Any) -> None:
        if self.source == "chunks":  # chunks of 7 rows: not a multiple of the shares (8)
            classes = {"binary": np.arange(2), "multiclass": np.arange(3)}.get(self.task)
            fit_stream(est, lambda: _chunks(X, y, weights), classes=classes)
            return
        if self.source == "dask":
            import dask.array as da

            X, y = da.from_array(X, chunks=(7, -1)), da.from_array(y, chunks=7)
            weights = None if weights is None else da.from_array(weights, chunks=7)
        if self.tweak == "warm_start":  # a second fit goes on from the first
            est.fit(X, y, sample_weight=weights)
            est.set_params(warm_start=True)
        if not self.calls:
            est.fit(X, y, sample_weight=weights)
            return
        extra = {"classes": np.arange(3)} if self.task == "multiclass" else {}
        for _ in range(self.calls):
            est.partial_fit(X, y, sample_weight=weights, **extra)


CASES: dict[str, Case] = {
    "binary-adam": Case("binary", {"solver": "adam"}, calls=0),
    "multiclass-sgd": Case("multiclass", {"solver": "sgd", "momentum": 0.9}, calls=0),
    "multilabel-adam": Case("multilabel", {"solver": "adam"}, calls=0),
    "regression-sgd-weighted": Case("regression", {"solver": "sgd"}, calls=0, weighted=True),
    "multiclass-lbfgs": Case("multiclass", {"solver": "lbfgs", "max_iter": 15}, calls=0),
    "regression-lbfgs-weighted": Case(
        "regression", {"solver": "lbfgs", "max_iter": 15}, calls=0, weighted=True
    ),
    "multiclass-partial_fit": Case("multiclass", {"solver": "sgd"}, calls=3),
    "torch-tensors": Case("multiclass", {"solver": "adam"}, calls=0, namespace="torch"),
    "jax-arrays": Case("regression", {"solver": "sgd"}, calls=0, namespace="jax"),
    # On a GPU (both ranks may share one: gloo then carries the CUDA buffers).
    "cupy-arrays": Case("multiclass", {"solver": "adam"}, calls=0, namespace="cupy"),
    "torch-cuda-tensors": Case(
        "regression", {"solver": "sgd"}, calls=0, weighted=True, namespace="torch-cuda"
    ),
    "missing-class": Case("multiclass", {"solver": "adam"}, calls=0, tweak="missing_class"),
    # Each rank streams its own rows (fit_stream; a Dask array's blocks).
    "stream-multiclass-adam": Case("multiclass", {"solver": "adam"}, calls=0, source="chunks"),
    "stream-regression-weighted": Case(
        "regression", {"solver": "sgd", "shuffle": False}, calls=0, weighted=True, source="chunks"
    ),
    "dask-missing-class": Case(
        "multiclass", {"solver": "sgd"}, calls=0, tweak="missing_class", source="dask"
    ),
    "stream-nan-in-chunk-3-on-rank-1": Case(
        "binary", {"solver": "adam"}, calls=0, tweak="nan_in_chunk_3", source="chunks"
    ),
    "stream-unreadable-on-rank-1": Case(
        "binary", {"solver": "adam"}, calls=0, tweak="unreadable_chunk_on_rank_1", source="chunks"
    ),
    # What one rank does differently must be refused on every rank, none left waiting.
    "bad-batch-size-on-rank-1": Case(
        "binary", {"solver": "adam"}, calls=0, tweak="bad_batch_size_on_rank_1"
    ),
    "stream-bad-batch-size-on-rank-1": Case(
        "binary", {"solver": "adam"}, calls=0, tweak="bad_batch_size_on_rank_1", source="chunks"
    ),
    "weights-on-rank-0-only": Case(
        "regression", {"solver": "sgd"}, calls=0, weighted=True, tweak="no_weights_on_rank_1"
    ),
    "stream-weights-on-rank-0-only": Case(
        "regression",
        {"solver": "sgd"},
        calls=0,
        weighted=True,
        tweak="no_weights_on_rank_1",
        source="chunks",
    ),
    "stream-batch-below-ranks": Case(
        "binary", {"solver": "adam", "batch_size": 1}, calls=0, source="chunks"
    ),
    "stream-one-shot-on-rank-1": Case(
        "binary", {"solver": "adam"}, calls=0, tweak="one_shot_on_rank_1", source="chunks"
    ),
    "dask-on-rank-0-only": Case(
        "binary", {"solver": "adam"}, calls=0, tweak="arrays_on_rank_1", source="dask"
    ),
    "stream-shorter-on-rank-1": Case(
        "binary", {"solver": "adam"}, calls=0, tweak="shorter_on_rank_1", source="chunks"
    ),
    "nan-on-rank-1": Case("binary", {"solver": "adam"}, calls=0, tweak="nan_on_rank_1"),
    "unseeded": Case("binary", {"solver": "adam", "random_state": None}, calls=0),
    # What one rank does alone must reach the others (tests/distributed_worker.py applies
    # the rank-dependent part of each tweak).
    "callback-fails": Case("binary", {"solver": "adam"}, calls=0, tweak="callback_fails"),
    "restore-best-weights": Case(
        "binary",
        {"solver": "adam", "max_iter": 40, "learning_rate_init": 0.3},
        calls=0,
        tweak="restore_best",
    ),
    "batch-differs": Case("binary", {"solver": "adam"}, calls=0, tweak="batch_differs"),
    "no-y-on-rank-1": Case("binary", {"solver": "adam"}, calls=0, tweak="no_y_on_rank_1"),
    "zero-weights-on-rank-1": Case(
        "regression", {"solver": "sgd"}, calls=0, weighted=True, tweak="zero_weights_on_rank_1"
    ),
    "warm-start-missing-class": Case("multiclass", {"solver": "adam"}, calls=0, tweak="warm_start"),
    # Each rank holds out its own rows; the score is of them all together.
    "early-stopping-classifier": Case(
        "multiclass",
        {
            "solver": "adam",
            "early_stopping": True,
            "max_iter": 30,
            "n_iter_no_change": 3,
            "tol": 1e-3,
            "learning_rate_init": 0.05,
        },
        calls=0,
        weighted=True,
    ),
    "early-stopping-regressor": Case(
        "regression",
        {
            "solver": "sgd",
            "early_stopping": True,
            "max_iter": 30,
            "n_iter_no_change": 3,
            "tol": 1e-3,
        },
        calls=0,
    ),
}


def _chunks(X: Any, y: Any, weights: Any) -> Any:
    for start in range(0, X.shape[0], 7):
        rows = slice(start, start + 7)
        yield (X[rows], y[rows]) if weights is None else (X[rows], y[rows], weights[rows])


def data(case: Case) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Every rank's rows, rank 0's first: ``X``, ``y``, sample weights."""
    X, y, rng = task_data(case.task, RANKS * N)
    if case.tweak in ("missing_class", "warm_start"):  # rank 1 has no row of class 2
        y[N:] = np.where(y[N:] == 2, 0, y[N:])
    weights = rng.uniform(0.0, 2.0, size=RANKS * N) if case.weighted else None
    return X, y, weights


def shard(case: Case, rank: int) -> tuple[Any, Any, Any]:
    """Rank ``rank``'s rows, as arrays of the case's namespace."""
    X, y, weights = data(case)
    rows = slice(rank * N, (rank + 1) * N)
    X = X[rows].copy()
    if case.tweak == "nan_in_chunk_3" and rank == 1:  # chunk 3 starts at row 21
        X[21, 0] = np.nan
    if case.tweak == "nan_on_rank_1" and rank == 1:
        X[3, 1] = np.nan
    arrays = (X, y[rows], None if weights is None else weights[rows])
    if case.tweak == "zero_weights_on_rank_1" and rank == 1:
        arrays = (X, y[rows], np.zeros(N))
    if case.tweak == "shorter_on_rank_1" and rank == 1:  # 20 rows where rank 0 has 45
        arrays = tuple(None if a is None else a[:SHORTER] for a in arrays)
    if case.namespace in ("torch", "torch-cuda"):
        import torch

        device = "cuda" if case.namespace == "torch-cuda" else "cpu"
        return tuple(None if a is None else torch.asarray(a, device=device) for a in arrays)
    if case.namespace == "cupy":
        import cupy

        return tuple(None if a is None else cupy.asarray(a) for a in arrays)
    if case.namespace == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
        return tuple(None if a is None else jax.numpy.asarray(a) for a in arrays)
    return arrays


def interleaved(case: Case, global_batch: int) -> tuple[np.ndarray, np.ndarray, Any]:
    """The rows in the order one process must take them to step as the ranks do."""
    local = global_batch // RANKS
    order = [r * N + i for start in range(0, N, local) for r in range(RANKS)
             for i in range(start, min(start + local, N))]  # fmt: skip
    X, y, weights = data(case)
    return X[order], y[order], None if weights is None else weights[order]


Trainer = Callable[[Any, Any, Any, Any], None]
