"""Data-parallel training (issue 15, item 1): two CPU processes, over torch.distributed (gloo,
started by torchrun) and over MPI (mpiexec, where mpi4py and an MPI are installed), each
with its shard, give what one process gives on the rows in step order, and agree with each
other bit for bit. Refusals on one rank reach every rank, so none waits forever.

The processes run with one BLAS/OpenMP thread each, and under a timeout: a hang fails.
Run on the NumPy backend's session (the processes train NumPy shards).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import array_api_compat.numpy
import numpy as np
import pytest
from conftest import BACKENDS
from distributed_cases import CASES, RANKS, SHORTER, N, interleaved

from xperceptron import MLPClassifier, MLPRegressor
from xperceptron._namespace import to_numpy

HERE = Path(__file__).parent
WORKER = HERE / "distributed_worker.py"
TIMEOUT = 240  # seconds for a whole two-process run (a hang fails the test)
_SELECTED = any(b.id == "numpy" for b in BACKENDS)
_SKIP = pytest.mark.skip(reason="numpy backend not selected")


def _mpiexec() -> str | None:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return None
    beside = Path(sys.executable).parent / "mpiexec"  # pip's mpich puts it in the venv
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def _engines() -> list:
    torch_ok = pytest.importorskip("torch").distributed.is_available()
    engines = [pytest.param("torch", marks=[] if torch_ok else [pytest.mark.skip])]
    if _mpiexec() is not None:
        engines.append(pytest.param("mpi"))
    return [pytest.param(*e.values, marks=[*e.marks, _SKIP]) for e in engines] if not _SELECTED \
        else engines  # fmt: skip


ENGINES = _engines()


def _launch(engine: str, case: str, out: Path) -> list[dict]:
    env = os.environ | {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                        "MKL_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}  # fmt: skip
    env = {k: v for k, v in env.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    if engine == "torch":
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   "--nproc-per-node", str(RANKS), str(WORKER), case, str(out)]  # fmt: skip
    else:
        command = [_mpiexec(), "-n", str(RANKS), sys.executable, str(WORKER), case, str(out),
                   "--engine", "mpi"]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    files = sorted(out.glob("rank*.json"))
    report = f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert len(files) == RANKS, report
    assert result.returncode == 0, report  # every rank ended cleanly
    return [json.loads(f.read_text()) for f in files]


def _single_process(case_name: str):
    """The estimator trained in this process on the rows in step order, and the warnings
    that training gave."""
    case = CASES[case_name]
    est = case.estimator()
    X, y, weights = interleaved(case, est.batch_size)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        case.train(est, X, y, weights)
    return est, [f"{w.category.__name__}: {w.message}" for w in caught]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    "case",
    ["binary-adam", "multiclass-sgd", "multilabel-adam", "regression-sgd-weighted",
     "multiclass-lbfgs", "regression-lbfgs-weighted", "multiclass-partial_fit",
     "missing-class", "torch-tensors", "jax-arrays", "stream-multiclass-adam",
     "stream-regression-weighted", "dask-missing-class"],
)  # fmt: skip
def test_two_ranks_train_as_one_process_on_the_rows_in_step_order(engine, case, tmp_path):
    if CASES[case].namespace != "numpy":
        pytest.importorskip(CASES[case].namespace)
    if CASES[case].source == "dask":
        pytest.importorskip("dask.array")
    _assert_as_one_process(case, _launch(engine, case, tmp_path))


# Each GPU backend's case: its arrays on the GPU, both ranks on the first one where the
# machine has one (gloo then carries the CUDA buffers; NCCL needs a GPU a rank).
GPU_CASES = {"cupy": "cupy-arrays", "torch-cuda": "torch-cuda-tensors"}


@pytest.mark.parametrize("backend", [p for p in BACKENDS if p.id in GPU_CASES])
def test_two_ranks_on_the_gpu_train_as_one_process(backend, tmp_path):
    case = GPU_CASES[backend.name]
    ranks = _launch("torch", case, tmp_path)
    _assert_as_one_process(case, ranks)
    assert all(r["device"] == str(backend.device) for r in ranks), ranks  # never the host


def _assert_as_one_process(case: str, ranks: list[dict]) -> None:
    assert all("error" not in r for r in ranks), ranks
    assert ranks[0]["params"] == ranks[1]["params"]  # bit for bit
    assert ranks[0]["loss_curve"] == ranks[1]["loss_curve"]
    one, warned = _single_process(case)
    # What one process warns of, rank 0 alone warns of (max_iter is reached on purpose).
    assert ranks[0]["warnings"] == warned
    assert ranks[1]["warnings"] == []
    if CASES[case].calls == 0:  # a fit stopped by max_iter: there was something to report
        assert any(w.startswith("ConvergenceWarning") for w in warned), warned
    for ours, theirs in zip(ranks[0]["params"], one.coefs_ + one.intercepts_, strict=True):
        # float64; the sums add the ranks' rows in another order (a few ulps a step)
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ranks[0]["loss_curve"], one.loss_curve_, rtol=1e-12)
    assert ranks[0]["n_iter"] == one.n_iter_
    assert ranks[0]["t"] == one.t_
    assert (
        ranks[0]["classes"]
        == ranks[1]["classes"]
        == np.asarray(getattr(one, "classes_", [])).tolist()
    )
    if case == "missing-class":  # rank 1 saw no row of class 2: it still has its unit
        assert ranks[1]["classes"] == [0, 1, 2]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_refusal_on_one_rank_reaches_every_rank(engine, tmp_path):
    rank0, rank1 = _launch(engine, "nan-on-rank-1", tmp_path)
    assert rank1["error"].startswith("ValueError: X contains NaN or infinity")
    assert rank0["error"].startswith("RuntimeError: rank 1 of 2 refused its data: ValueError")


@pytest.mark.parametrize("engine", ENGINES)
def test_streams_of_different_lengths_end_together_and_agree(engine, tmp_path):
    # Rank 1's stream ends first: it takes empty steps until rank 0's ends, every epoch.
    ranks = _launch(engine, "stream-shorter-on-rank-1", tmp_path)
    assert all("error" not in r for r in ranks), ranks
    assert ranks[0]["params"] == ranks[1]["params"]
    assert ranks[0]["loss_curve"] == ranks[1]["loss_curve"]
    assert ranks[0]["n_iter"] == ranks[1]["n_iter"] == 5
    assert ranks[0]["t"] == ranks[1]["t"] == 5 * (N + SHORTER)  # every rank's rows, each epoch


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("case", "error"),
    [("stream-nan-in-chunk-3-on-rank-1", "ValueError: Chunk 3: X contains NaN or infinity"),
     ("stream-unreadable-on-rank-1", "OSError: chunk 3 could not be read")],
)  # fmt: skip
def test_a_chunk_failing_on_one_rank_mid_stream_stops_every_rank(engine, case, error, tmp_path):
    rank0, rank1 = _launch(engine, case, tmp_path)
    assert rank1["error"].startswith(error)
    assert rank0["error"].startswith(f"RuntimeError: rank 1 of 2 refused its data: {error}")


REFUSED = "RuntimeError: rank 1 of 2 refused its data: "


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("case", "rank1", "rank0"),
    [("bad-batch-size-on-rank-1", "ValueError: batch_size must be 'auto' or an int >= 1", REFUSED),
     ("stream-bad-batch-size-on-rank-1", "ValueError: batch_size must be 'auto'", REFUSED),
     ("stream-one-shot-on-rank-1", "TypeError: chunks must be a function", REFUSED),
     ("weights-on-rank-0-only", "ValueError: The call (the estimator fitted, classes given, "
      "sample_weight given) differs across ranks", None),
     ("stream-weights-on-rank-0-only", "ValueError: The call (the estimator", None),
     ("dask-on-rank-0-only", "ValueError: Whether the data are Dask arrays differs", None),
     ("stream-batch-below-ranks", "ValueError: batch_size=1 is smaller than the 2 ranks", None)],
)  # fmt: skip
def test_a_rank_that_differs_is_refused_on_every_rank(engine, case, rank1, rank0, tmp_path):
    if "dask" in case:
        pytest.importorskip("dask.array")
    ranks = _launch(engine, case, tmp_path)
    assert ranks[1]["error"].startswith(rank1), ranks
    # rank 0 names rank 1's refusal, or (a difference found together) raises the same
    assert ranks[0]["error"].startswith(rank1 if rank0 is None else rank0 + rank1), ranks


@pytest.mark.parametrize("engine", ENGINES)
def test_different_initial_weights_are_refused_on_every_rank(engine, tmp_path):
    ranks = _launch(engine, "unseeded", tmp_path)  # random_state=None: each rank draws its own
    for rank in ranks:
        assert "The initial weights (set the same int random_state on every rank) differs " \
            "across ranks" in rank["error"]  # fmt: skip


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_what_cannot_run_distributed_is_refused_before_anything_starts(cls, monkeypatch):
    X, y = np.zeros((N, 4)), np.arange(N) % 2
    with pytest.raises(ValueError, match="distributed must be"):
        cls(distributed="nccl").fit(X, y)
    for name in ("RANK", "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    torch = pytest.importorskip("torch")
    if not torch.distributed.is_initialized():
        with pytest.raises(RuntimeError, match="start the script with torchrun"):
            cls(distributed="torch").fit(X, y)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", ["early-stopping-classifier", "early-stopping-regressor"])
def test_early_stopping_scores_every_ranks_held_out_rows(engine, case, tmp_path):
    ranks = _launch(engine, case, tmp_path)
    assert all("error" not in r for r in ranks), ranks
    assert ranks[0]["params"] == ranks[1]["params"]
    scores = ranks[0]["validation_scores"]
    assert scores == ranks[1]["validation_scores"]  # one global score, every epoch
    assert len(scores) == ranks[0]["n_iter"] < 30  # it stopped early, on every rank alike
    assert all(np.isfinite(scores))


@pytest.mark.parametrize("task", ["multiclass", "multilabel", "regression", "offset"])
@pytest.mark.parametrize("weighted", [False, True])
def test_validation_figures_of_parts_add_up_to_the_score_of_the_whole(backend, task, weighted):
    # "offset": targets far from 0 (1e4 + noise), where a one-pass sum of squares would
    # cancel in float32; the two passes keep R² to the dtype's precision.
    from xperceptron._targets import (
        accuracy,
        mean_figures,
        r2,
        score_of_figures,
        spread_figures,  # fmt: skip
        validation_figures,
    )

    rng = np.random.default_rng(0)
    n, k = 30, 3
    output = rng.normal(size=(n, k))
    Y = {"multiclass": np.eye(k)[rng.integers(0, k, n)], "multilabel": rng.integers(0, 2, (n, k)),
         "regression": output + rng.normal(size=(n, k)),
         "offset": 1e4 + output + rng.normal(size=(n, k))}[task].astype(float)  # fmt: skip
    if task == "offset":
        output = output + 1e4
    out_activation = {"multiclass": "softmax", "multilabel": "logistic"}.get(task, "identity")
    if task == "multilabel":
        output = 1 / (1 + np.exp(-output))
    weights = rng.uniform(0, 2, n) if weighted else None
    xp = backend.xp
    P, T = backend.asarray(output), backend.asarray(Y)
    w = None if weights is None else backend.asarray(weights)
    parts = [slice(0, 11), slice(11, n)]

    def part(rows):
        return T[rows, ...], None if w is None else w[rows]

    summed = sum(validation_figures(P[rows, ...], part(rows)[0], out_activation=out_activation,
                                    xp=xp, weights=part(rows)[1]) for rows in parts)  # fmt: skip
    total = None
    if out_activation == "identity":
        means = sum(mean_figures(part(rows)[0], xp=xp, weights=part(rows)[1]) for rows in parts)
        total = sum(spread_figures(part(rows)[0], means, xp=xp, weights=part(rows)[1])
                    for rows in parts)  # fmt: skip
    score = float(score_of_figures(summed, out_activation=out_activation, xp=xp, total=total))
    whole = (r2(T, P, xp=xp, weights=w) if out_activation == "identity"
             else accuracy(P, T, out_activation=out_activation, xp=xp, weights=w))  # fmt: skip
    expected = (r2(Y, output, xp=array_api_compat.numpy, weights=weights)
                if out_activation == "identity" else whole)  # fmt: skip
    eps = float(np.finfo(to_numpy(P).dtype).eps)
    assert score == pytest.approx(float(whole), rel=1e2 * eps, abs=1e2 * eps)
    # and the float64 R² (the offset data's is about 0.5: a one-pass float32 sum gives 0)
    assert score == pytest.approx(float(expected), abs=1e3 * eps if task == "offset" else 1e-2)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("case", "on_rank_0", "on_rank_1"),
    [
        ("callback-fails", "FileNotFoundError", "RuntimeError: a callback failed on rank 0"),
        ("batch-differs", "ValueError: The estimator's parameters", "ValueError: The estimator"),
        ("no-y-on-rank-1", "RuntimeError: rank 1 of 2 refused its data", "ValueError"),
    ],
)
def test_what_one_rank_meets_every_rank_meets(engine, case, on_rank_0, on_rank_1, tmp_path):
    rank0, rank1 = _launch(engine, case, tmp_path)  # and neither waits forever
    assert rank0.get("error", "").startswith(on_rank_0), rank0
    assert rank1.get("error", "").startswith(on_rank_1), rank1


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    "case", ["restore-best-weights", "zero-weights-on-rank-1", "warm-start-missing-class"]
)
def test_every_rank_ends_with_the_same_model(engine, case, tmp_path):
    # rank 0's callback restores its best weights; a shard may weigh nothing; a warm start
    # checks the classes of every shard together.
    rank0, rank1 = _launch(engine, case, tmp_path)
    assert "error" not in rank0, rank0
    assert "error" not in rank1, rank1
    assert rank0["params"] == rank1["params"]
    if case == "restore-best-weights":
        assert rank0["n_iter"] < 40  # the callback stopped the run, on both ranks
