"""Callbacks and progress: called once per epoch, able to stop, never a host read per batch."""

from __future__ import annotations

import csv
import io
import re
import warnings

import array_api_strict
import numpy as np
import pytest

from xperceptron import ConvergenceWarning, MLPClassifier, MLPRegressor, load
from xperceptron._namespace import to_numpy
from xperceptron.callbacks import (
    CallbackList,
    CSVLogger,
    EarlyStopping,
    Epoch,
    History,
    ModelCheckpoint,
    ProgressBar,
    StopOnNonFinite,
)


def _data(n=80, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, (X[:, 0] + X[:, 1] > 0).astype(np.int64)


def _quiet_fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


class _Recorder:
    def __init__(self, stop_at=None):
        self.stop_at = stop_at
        self.calls = []
        self.weights = []

    def on_train_begin(self, estimator):
        self.calls.append("begin")

    def on_epoch_end(self, estimator, epoch):
        self.calls.append(epoch.epoch)
        self.weights.append(to_numpy(estimator.coefs_[0]).copy())
        return epoch.epoch == self.stop_at

    def on_train_end(self, estimator):
        self.calls.append("end")


def test_callbacks_see_each_epoch_and_can_stop(backend):
    X, y = _data()
    recorder, history = _Recorder(stop_at=3), History()
    est = MLPClassifier((5,), random_state=0, callbacks=[recorder, history])
    est.fit(backend.asarray(X), backend.asarray(y))  # stopped by the callback: no warning
    assert recorder.calls == ["begin", 1, 2, 3, "end"]
    assert est.n_iter_ == 3
    assert history["loss"] == est.loss_curve_
    assert history["epoch"] == [1, 2, 3]
    assert all(e.seconds >= 0 and e.max_epochs == 200 for e in history.epochs)
    # What a callback sees is the estimator as of that epoch.
    np.testing.assert_array_equal(recorder.weights[-1], to_numpy(est.coefs_[0]))
    assert not np.array_equal(recorder.weights[0], recorder.weights[-1])


def test_early_stopping_restores_the_best_weights(backend):
    X, y = _data()
    X, y = backend.asarray(X), backend.asarray(y)
    # With min_delta so large that nothing after epoch 1 counts as better, training stops
    # after `patience` more epochs and puts back the weights of epoch 1.
    stopper = EarlyStopping(patience=3, min_delta=1e9)
    est = MLPClassifier((5,), random_state=0, callbacks=[stopper]).fit(X, y)
    assert est.n_iter_ == 4
    assert stopper.best_epoch == 1
    assert stopper.stopped_epoch == 4
    one_epoch = _quiet_fit(MLPClassifier((5,), random_state=0, max_iter=1), X, y)
    for ours, theirs in zip(est.coefs_, one_epoch.coefs_, strict=True):
        np.testing.assert_array_equal(to_numpy(ours), to_numpy(theirs))


def test_early_stopping_on_the_validation_score_needs_the_split():
    X, y = _data()
    est = MLPClassifier((5,), random_state=0, callbacks=[EarlyStopping("validation_score")])
    with pytest.raises(ValueError, match="needs early_stopping=True"):
        est.fit(X, y)
    with pytest.raises(ValueError, match="monitor must be"):
        EarlyStopping("accuracy")


def test_checkpoints_are_the_model_of_their_epoch(tmp_path):
    X, y = _data()
    saver = ModelCheckpoint(tmp_path / "model-{epoch}.npz", every=2)
    _quiet_fit(MLPClassifier((5,), random_state=0, max_iter=5, callbacks=[saver]), X, y)
    assert [p.rsplit("/", 1)[-1] for p in saver.saved] == ["model-2.npz", "model-4.npz"]
    second = load(tmp_path / "model-2.npz")
    reference = _quiet_fit(MLPClassifier((5,), random_state=0, max_iter=2), X, y)
    assert second.n_iter_ == 2
    for ours, theirs in zip(second.coefs_, reference.coefs_, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_best_only_checkpoint_keeps_improving_epochs(tmp_path):
    X, y = _data()
    saver = ModelCheckpoint(tmp_path / "best.npz", save_best_only=True)
    est = _quiet_fit(MLPClassifier((5,), random_state=0, max_iter=6, callbacks=[saver]), X, y)
    improving = [
        i + 1 for i, loss in enumerate(est.loss_curve_) if loss == min(est.loss_curve_[: i + 1])
    ]
    assert len(saver.saved) == len(improving)
    assert load(tmp_path / "best.npz").n_iter_ == improving[-1]


def test_csv_logger_writes_one_row_per_epoch(tmp_path):
    X, y = _data()
    path = tmp_path / "log.csv"
    est = MLPClassifier(
        (5,), random_state=0, max_iter=4, early_stopping=True, callbacks=[CSVLogger(path)]
    )
    _quiet_fit(est, X, y)
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    assert [float(r["loss"]) for r in rows] == est.loss_curve_
    assert [float(r["validation_score"]) for r in rows] == est.validation_scores_


def test_stop_on_non_finite_ends_quietly_with_the_last_finite_model():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = X @ rng.normal(size=5) * 100
    stopper = StopOnNonFinite()
    est = MLPRegressor(
        (32,), solver="sgd", learning_rate_init=1.0, random_state=0, callbacks=[stopper]
    )
    with pytest.warns(ConvergenceWarning, match="non-finite in epoch"):
        est.fit(X, y)
    assert stopper.stopped_epoch == est.n_iter_ + 1
    assert all(np.all(np.isfinite(W)) for W in est.coefs_)


def test_callbacks_add_no_host_read_per_batch(host_reads):
    counts = host_reads
    device = array_api_strict.Device("device1")
    X_host, y_host = _data(n=240)
    X = array_api_strict.asarray(X_host, device=device)
    y = array_api_strict.asarray(y_host, device=device)

    def syncs(batch_size):
        counts["n"] = 0
        hooks = [History(), _Recorder(), EarlyStopping(patience=50), ProgressBar(io.StringIO())]
        est = MLPClassifier(
            (8,), batch_size=batch_size, max_iter=3, random_state=0, callbacks=hooks
        )
        _quiet_fit(est, X, y)
        return counts["n"]

    assert syncs(4) == syncs(120) <= 2 + 3


def test_verbose_false_prints_nothing(capsys):
    X, y = _data()
    _quiet_fit(MLPClassifier((5,), max_iter=3, random_state=0), X, y)
    assert capsys.readouterr() == ("", "")


def test_verbose_prints_a_line_per_epoch_when_not_interactive(capsys):
    X, y = _data()
    est = _quiet_fit(
        MLPClassifier((5,), max_iter=3, random_state=0, verbose=True, early_stopping=True), X, y
    )
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("Iteration 1, loss = ")
    assert f"{est.loss_curve_[-1]:.8f}" in lines[-1]
    assert "validation score = " in lines[-1]


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal():
    pytest.importorskip("tqdm")
    X, y = _data()
    terminal = _Terminal()
    _quiet_fit(
        MLPClassifier((5,), max_iter=4, random_state=0, callbacks=[ProgressBar(terminal)]), X, y
    )
    shown = terminal.getvalue()
    assert "4/4" in shown
    assert "loss=" in shown
    assert "Iteration" not in shown


def test_bad_callbacks_are_named():
    X, y = _data()
    with pytest.raises(ValueError, match=r"^callbacks must be None or a list"):
        MLPClassifier(callbacks=[print]).fit(X, y)


# --------------------------------------------------------------------------- issue 12
SCHEDULES = {
    # invscaling: the rate of each epoch depends on the samples seen before it.
    "invscaling": {"learning_rate": "invscaling", "learning_rate_init": 0.5},
    # adaptive, never improving by tol after the first epoch: the rate is divided by 5
    # after epoch 4, then every third epoch.
    "adaptive": {"learning_rate": "adaptive", "learning_rate_init": 0.1, "tol": 1e9,
                 "n_iter_no_change": 2},
}  # fmt: skip


@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
def test_a_checkpoint_from_a_callback_resumes_bit_for_bit(backend, tmp_path, schedule):
    # A run of 8 epochs checkpointed after each; resuming epoch 5's file for 3 more epochs
    # must be the same run: the schedule and the counters saved are those of epoch 6.
    X, y = (backend.asarray(a) for a in _data())
    params = {"solver": "sgd", "random_state": 0, "max_iter": 8, **SCHEDULES[schedule]}
    saver = ModelCheckpoint(tmp_path / "epoch{epoch}.npz")
    full = _quiet_fit(MLPClassifier((5,), callbacks=[saver], **params), X, y)
    history = History()
    resumed = load(tmp_path / "epoch5.npz", xp=backend.xp, device=backend.device)
    resumed.set_params(callbacks=[history])
    for _ in range(3):
        resumed.partial_fit(X, y)
    assert resumed.loss_curve_ == full.loss_curve_
    assert resumed._progress == full._progress
    for ours, theirs in zip(resumed.coefs_ + resumed.intercepts_,
                            full.coefs_ + full.intercepts_, strict=True):  # fmt: skip
        np.testing.assert_array_equal(to_numpy(ours), to_numpy(theirs))
    # The Epoch record still gives the rate each epoch trained with.
    if schedule == "adaptive":
        assert history["learning_rate"] == [0.1 / 5, 0.1 / 5, 0.1 / 25]


def test_epoch_records_give_the_rate_the_epoch_trained_with():
    X, y = _data()
    history = History()
    est = MLPClassifier((5,), solver="sgd", random_state=0, callbacks=[history], max_iter=4,
                        **SCHEDULES["adaptive"])  # fmt: skip
    _quiet_fit(est, X, y)
    assert history["learning_rate"] == [0.1] * 4  # reduced after epoch 4, for epoch 5
    assert est._progress.learning_rate == 0.1 / 5


# --------------------------------------------------------------------------- issue 13
def test_callbacks_show_their_parameters():
    assert repr(EarlyStopping(patience=5)) == "EarlyStopping(patience=5)"
    assert repr(EarlyStopping("validation_score", min_delta=0.0)) == (
        "EarlyStopping(monitor='validation_score', min_delta=0.0)"
    )
    assert repr(ModelCheckpoint("m-{epoch}.npz", every=10)) == (
        "ModelCheckpoint(path='m-{epoch}.npz', every=10)"
    )
    assert repr(CSVLogger("log.csv")) == "CSVLogger(path='log.csv')"
    assert repr(History()) == "History()"
    assert repr(StopOnNonFinite()) == "StopOnNonFinite()"
    assert repr(ProgressBar()) == "ProgressBar()"
    # In an estimator's repr too (scikit-learn prints the parameters it was given).
    assert "EarlyStopping(patience=5)" in repr(MLPClassifier(callbacks=[EarlyStopping(patience=5)]))


def _own_line(text, message):
    """Whether ``message`` starts a line of its own (after a newline or a carriage return
    that tqdm wrote to clear its bar), rather than following the bar's text."""
    return re.search(rf"(^|[\r\n]){re.escape(message)}\n", text) is not None


def test_loop_messages_go_through_the_bar():
    pytest.importorskip("tqdm")
    terminal = _Terminal()
    bar = ProgressBar(terminal)
    hooks = CallbackList([bar])
    hooks.train_begin(None)
    epoch = Epoch(1, 0.5, None, 0.001, 0.01, 3)
    hooks.epoch_end(None, epoch)
    hooks.log("Training loss did not improve. Stopping.")
    hooks.train_end(None)
    assert _own_line(terminal.getvalue(), "Training loss did not improve. Stopping.")


def test_loop_messages_without_a_bar_are_lines(capsys):
    CallbackList([History()]).log("Setting learning rate to 0.000200")
    assert capsys.readouterr().out == "Setting learning rate to 0.000200\n"
    stream = io.StringIO()
    bar = ProgressBar(stream)  # not a terminal: lines on its stream
    bar.on_train_begin(None)
    bar.on_epoch_end(None, Epoch(1, 0.5, None, 0.001, 0.01, 3))
    CallbackList([bar]).log("Stopping.")
    assert stream.getvalue().splitlines() == ["Iteration 1, loss = 0.50000000", "Stopping."]


def test_verbose_early_stopping_message_is_not_written_into_the_bar(monkeypatch):
    pytest.importorskip("tqdm")
    terminal = _Terminal()  # standard output and standard error on one terminal
    monkeypatch.setattr("sys.stdout", terminal)
    monkeypatch.setattr("sys.stderr", terminal)
    X, y = _data()
    est = MLPClassifier((5,), random_state=0, verbose=True, tol=1e9, n_iter_no_change=2)
    est.fit(X, y)
    assert est.n_iter_ == 4  # epoch 1 improves on nothing; 3 more do not
    message = "Training loss did not improve more than tol=1000000000.0 for 2 consecutive "
    assert _own_line(terminal.getvalue(), message + "epochs. Stopping.")
