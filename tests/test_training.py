"""The training engine alone: its stopping rule as pure functions, and its seams replaced
one at a time (a batch source, a gradient combiner) without touching the rest."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from xperceptron import ConvergenceWarning, MLPRegressor, _batches
from xperceptron._namespace import to_numpy
from xperceptron._stopping import Progress, StopRule, next_epoch, record_epoch
from xperceptron._training import (
    LOCAL,
    InMemoryBatches,
    Network,
    TrainingState,
    make_step,
    train,
)
from xperceptron.initializers import HostRandom, glorot_uniform
from xperceptron.optimizers import sgd


# ------------------------------------------------------------------ the stopping rule
def test_record_epoch_counts_and_tracks_the_best_loss_without_changing_its_input():
    start = Progress(0.1)
    after, best = record_epoch(start, 2.0, 50, None, tol=0.1)
    assert (after.n_iter, after.t, after.loss_curve, after.best_loss) == (1, 50, [2.0], 2.0)
    assert after.no_improvement == 0
    assert best is False
    assert start == Progress(0.1)  # pure: the input is untouched
    worse, _ = record_epoch(after, 1.95, 50, None, tol=0.1)  # better, but by less than tol
    assert worse.no_improvement == 1
    assert worse.best_loss == 1.95


def test_record_epoch_on_a_validation_score_marks_the_best_epochs():
    progress, best = record_epoch(Progress(0.1), 1.0, 10, 0.5, tol=0.0)
    assert best
    assert progress.best_validation_score == 0.5
    assert progress.validation_scores == [0.5]
    progress, best = record_epoch(progress, 0.9, 10, 0.4, tol=0.0)
    assert not best
    assert progress.no_improvement == 1
    assert progress.best_validation_score == 0.5


@pytest.mark.parametrize(
    ("schedule", "no_improvement", "learning_rate", "expected"),
    [
        ("constant", 3, 0.1, (0.1, "go")),
        ("constant", 4, 0.1, (0.1, "stop")),
        ("adaptive", 4, 0.1, (0.02, "reduced")),
        ("adaptive", 4, 1e-6, (1e-6, "stop")),
        ("invscaling", 0, 0.1, (0.1 / (100 + 1) ** 0.5, "go")),
    ],
)
def test_next_epoch_sets_the_rate_and_decides(schedule, no_improvement, learning_rate, expected):
    rule = StopRule(tol=1e-4, n_iter_no_change=3, schedule=schedule, learning_rate_init=0.1)
    progress = Progress(learning_rate, t=100, no_improvement=no_improvement)
    after, action = next_epoch(progress, rule)
    assert (after.learning_rate, action) == pytest.approx(expected)
    assert after.no_improvement == (0 if action == "reduced" else no_improvement)


def test_an_infinite_patience_never_stops():
    rule = StopRule(tol=1e-4, n_iter_no_change=math.inf)
    _, action = next_epoch(Progress(0.1, no_improvement=10**9), rule)
    assert action == "go"


def test_progress_round_trips_through_json_and_refuses_bad_fields():
    progress = Progress(0.01, n_iter=3, t=30, loss_curve=[3.0, 2.0, 1.0], best_loss=1.0)
    assert Progress.from_json(progress.to_json()) == progress
    bad = {**progress.to_json(), "n_iter": -1}
    with pytest.raises(ValueError, match="n_iter must be an int >= 0"):
        Progress.from_json(bad)
    with pytest.raises(ValueError, match="unexpected fields"):
        Progress.from_json({**progress.to_json(), "extra": 1})
    with pytest.raises(ValueError, match="loss_curve must be a list of numbers"):
        Progress.from_json({**progress.to_json(), "loss_curve": ["1.0"]})


# ------------------------------------------------------------------ the seams
def _run(backend, *, batches=None, combine=LOCAL, learning_rate=0.05, n_epochs=3, alpha=0.0):
    rng = np.random.default_rng(0)
    X = backend.asarray(rng.normal(size=(40, 3)))
    Y = backend.asarray(rng.normal(size=(40, 2)))
    pairs = glorot_uniform([3, 5, 2], activation="tanh", rng=np.random.default_rng(1),
                           dtype=X.dtype, device=backend.device, xp=backend.xp)  # fmt: skip
    params = [a for pair in pairs for a in pair]
    optimizer = sgd(momentum=0.0)
    in_place = False
    step = make_step(Network("tanh", "identity", alpha), optimizer, combine=combine,
                     in_place=in_place, xp=backend.xp)  # fmt: skip
    source = batches(X, Y) if batches else InMemoryBatches(
        X, Y, 10, shuffle=False, xp=backend.xp, device=backend.device
    )  # fmt: skip
    state = TrainingState(params, optimizer.init(params), Progress(learning_rate), rng)
    rule = StopRule(tol=0.0, n_iter_no_change=math.inf)
    return train(state, step=step, batches=source, rule=rule, n_epochs=n_epochs,
                 in_place=in_place, xp=backend.xp, combine=combine)  # fmt: skip


class _Chunks:
    """Another batch source: a stream of host chunks, moved to the device one at a time."""

    def __init__(self, X, Y, backend):
        self.host = to_numpy(X), to_numpy(Y)
        self.backend = backend
        self.n_samples = X.shape[0]

    def epoch(self, rng):
        X, Y = self.host
        for start in range(0, self.n_samples, 10):
            yield (
                self.backend.asarray(X[start : start + 10]),
                self.backend.asarray(Y[start : start + 10]),
            )


class _Twins:
    """Another combiner: a second process with the very same batches (every sum doubled)."""

    def sum(self, buffer):
        return buffer * 2.0

    def mean(self, total, n_samples):
        return float(total) / n_samples

    def count(self, n):
        return 2 * n


class _Idle:
    """Another combiner: a second process whose batches are all empty (nothing added)."""

    def sum(self, buffer):
        return buffer

    def mean(self, total, n_samples):
        return float(total) / n_samples

    def count(self, n):
        return n


class _Crowd(_Idle):
    """Another combiner: processes holding 2^24 + 1 rows besides this one's 40, rows like
    these (every sum scaled by the rows: the same mean loss and gradient)."""

    others = 2**24 + 1

    def sum(self, buffer):
        return buffer * ((40 + self.others) / 40)

    def count(self, n):
        return n + self.others


def test_lbfgs_counts_every_processs_rows_exactly_in_float32(backend):
    # The rows of every process are the objective's n and t_'s step: integers, never a
    # float32 (exact only to 2^24).
    from xperceptron._full_batch import train_lbfgs
    from xperceptron.optimizers import full_batch

    rng = np.random.default_rng(0)
    X = backend.asarray(rng.normal(size=(40, 3)), dtype=backend.xp.float32)
    Y = backend.asarray(rng.normal(size=(40, 2)), dtype=backend.xp.float32)
    pairs = glorot_uniform([3, 5, 2], activation="tanh", rng=np.random.default_rng(1),
                           dtype=X.dtype, device=backend.device, xp=backend.xp)  # fmt: skip
    params = [a for pair in pairs for a in pair]
    state = TrainingState(params, full_batch().init(params), Progress(0.0), rng)
    outcome, _ = train_lbfgs(state, X, Y, network=Network("tanh", "identity", 0.0), max_iter=3,
                             max_fun=100, tol=0.0, xp=backend.xp, combine=_Crowd())  # fmt: skip
    progress = outcome.state.progress
    assert progress.n_iter >= 1
    assert progress.t == progress.n_iter * (40 + _Crowd.others)


def test_a_streamed_batch_source_trains_as_the_in_memory_one(backend):
    ours = _run(backend)
    streamed = _run(backend, batches=lambda X, Y: _Chunks(X, Y, backend))
    assert streamed.state.progress.loss_curve == ours.state.progress.loss_curve
    for a, b in zip(streamed.state.params, ours.state.params, strict=True):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b))


@pytest.mark.parametrize(
    ("combine", "alpha", "local_alpha", "loss_factor"),
    [(_Idle(), 0.0, 0.0, 1.0), (_Idle(), 0.3, 0.3, 1.0), (_Twins(), 0.0, 0.0, 2.0),
     (_Twins(), 0.3, 0.15, None)],
    ids=["idle", "idle-l2", "twins", "twins-l2"],
)  # fmt: skip
def test_a_combined_step_is_the_global_batchs(backend, combine, alpha, local_alpha, loss_factor):
    # The global batch of one process and an idle one is the local batch; that of two
    # identical processes has twice the rows: the same mean gradient, an L2 term over twice
    # the rows (counted once), twice the loss total over the local sample count. To
    # rounding: the sums are scaled by the count and back (on JAX the local run is compiled).
    local = _run(backend, alpha=local_alpha)
    combined = _run(backend, combine=combine, alpha=alpha)
    eps = float(np.finfo(to_numpy(local.state.params[0]).dtype).eps)  # a few ulps a step
    for a, b in zip(combined.state.params, local.state.params, strict=True):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), rtol=1e3 * eps, atol=1e2 * eps)
    if loss_factor is not None:
        np.testing.assert_allclose(combined.state.progress.loss_curve,
                                   np.multiply(local.state.progress.loss_curve, loss_factor),
                                   rtol=1e3 * eps)  # fmt: skip
    other = _run(backend, combine=combine, alpha=alpha + 0.2)
    assert other.state.progress.loss_curve != combined.state.progress.loss_curve


def test_train_leaves_the_state_it_was_given_alone(backend):
    outcome = _run(backend)
    assert outcome.state.progress.n_iter == 3
    assert not outcome.diverged
    assert not outcome.stopped
    again = _run(backend)
    assert again.state.progress.loss_curve == outcome.state.progress.loss_curve


def test_verbose_runs_report_through_the_log_seam(capsys):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 2)), rng.normal(size=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPRegressor(
            (3,), solver="sgd", learning_rate="adaptive", learning_rate_init=1e-5,
            n_iter_no_change=1, max_iter=5, random_state=0, verbose=True,
        ).fit(X, y)  # fmt: skip
    assert "Setting learning rate to" in capsys.readouterr().out


def test_unshuffled_batches_end_inside_the_arrays(backend):
    # The last batch is partial: its slice must stop at the end (array-api-strict refuses
    # slices past it, as the standard leaves them unspecified).
    rng = np.random.default_rng(0)
    X, Y = backend.asarray(rng.normal(size=(45, 3))), backend.asarray(rng.normal(size=(45, 2)))
    source = InMemoryBatches(X, Y, 16, shuffle=False, xp=backend.xp, device=backend.device)
    sizes = [batch[0].shape[0] for batch in source.epoch(None)]
    assert sizes == [16, 16, 13]


@pytest.mark.parametrize("per_gather", [1, 2, 3, 100])
def test_shuffled_batches_are_the_same_rows_however_many_one_gather_takes(backend, per_gather):
    # 7 full batches of 6 rows and a partial one: gathers of 2 and 3 batches leave a shorter
    # last gather; the rows, their order and the batch boundaries must not depend on it.
    rng = np.random.default_rng(0)
    X = backend.asarray(rng.normal(size=(45, 3)))
    Y = backend.asarray(np.arange(45.0).reshape(45, 1) * np.ones((1, 2)))
    weights = backend.asarray(np.arange(45.0))
    source = InMemoryBatches(
        X, Y, 6, shuffle=True, xp=backend.xp, device=backend.device, weights=weights
    )
    source.batches_per_gather = per_gather
    order = HostRandom(np.random.default_rng(3)).shuffled(45)
    epoch = source.epoch(HostRandom(np.random.default_rng(3)))
    batches = [[to_numpy(a) for a in batch] for batch in epoch]
    assert [b[0].shape[0] for b in batches] == [6] * 7 + [3]
    rows = np.concatenate([b[2] for b in batches]).astype(int)
    assert rows.tolist() == order.tolist()
    X_host = to_numpy(X)
    for X_batch, Y_batch, w in batches:
        np.testing.assert_array_equal(X_batch, X_host[w.astype(int)])
        np.testing.assert_array_equal(Y_batch[:, 0], w)


@pytest.mark.parametrize(
    ("n_features", "n_outputs", "batch_size", "expected"),
    [
        (1024, 32, 4, "fill"),  # 4 x 1024 and 4 x 32 elements: multiples of 256 bytes
        (1001, 32, 4, 1),  # 4 x 1001 elements of X: later slices less aligned
        (1024, 20, 3, 1),  # 3 x 20 elements of Y
    ],
)
def test_one_gather_on_a_gpu_takes_as_many_aligned_batches_as_fit_in_its_bytes(
    backend, monkeypatch, n_features, n_outputs, batch_size, expected
):
    X = backend.asarray(np.zeros((10, n_features), dtype=np.float32))
    Y = backend.asarray(np.zeros((10, n_outputs), dtype=np.float32))
    args = (X, Y, batch_size)
    on_cpu = InMemoryBatches(*args, shuffle=True, xp=backend.xp, device=backend.device)
    gpu = backend.name in ("cupy", "torch-cuda")
    assert (on_cpu.batches_per_gather == 1) is (not gpu or expected == 1)
    monkeypatch.setattr(_batches, "on_gpu", lambda xp, device: True)
    source = InMemoryBatches(*args, shuffle=True, xp=backend.xp, device=backend.device)
    itemsize = to_numpy(X).dtype.itemsize  # the backend's widest float
    batch_bytes = batch_size * (n_features + n_outputs) * itemsize
    assert source.batches_per_gather == (
        _batches.GATHER_BYTES // batch_bytes if expected == "fill" else 1
    )
