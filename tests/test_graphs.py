"""``cuda_graph=True``: one step recorded and replayed gives the model uncaptured training
gives, bit for bit.

On the CPU a stand-in recorder plays the graph's part: ``record`` runs nothing, and each
replay calls the recorded function again with what it closed over when it was recorded (the
same buffers, the same Python numbers), which is what a CUDA graph replays. A step that let
a number change between steps on the host, or read a buffer the loop had not filled, gives
another model here as it would on the GPU. The GPU run (``benchmarks/gpu.sh``) runs the
same tests with CuPy's and torch's own graphs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from xperceptron import MLPClassifier, MLPRegressor, _graphs
from xperceptron._namespace import is_writeable, to_numpy
from xperceptron.exceptions import DivergenceError


class StandIn:
    """Records nothing, replays by calling again; counts what it was asked to do."""

    def __init__(self) -> None:
        self.warmed = self.recorded = self.replayed = 0

    def warm(self, fn: Callable[[], Any]) -> Any:
        self.warmed += 1
        return fn()

    def record(self, fn: Callable[[], None]) -> Callable[[], None]:
        self.recorded += 1

        def replay() -> None:
            self.replayed += 1
            fn()

        return replay

    def fill(self, buffer: Any, value: float) -> None:
        buffer[...] = value


@pytest.fixture
def recorder(backend, monkeypatch):
    """The stand-in, for arrays of any namespace where a real graph would record (on a GPU
    backend, the real recorder runs instead)."""
    stand_in = StandIn()
    real = _graphs.recorder_for(backend.xp, backend.device)
    if real is None:
        monkeypatch.setattr(_graphs, "recorder_for", lambda xp, device: stand_in)
    return stand_in if real is None else None


def _data(backend, n=300, n_features=6, *, regression=False, dtype=None):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, n_features))
    y = X @ rng.normal(size=(n_features, 2)) if regression else (X[:, 0] + X[:, 1] > 0) * 1
    return backend.asarray(X, dtype), backend.asarray(y)


def _fit_both(cls, X, y, **params):
    plain = cls(random_state=0, **params).fit(X, y)
    graphed = cls(random_state=0, cuda_graph=True, **params).fit(X, y)
    return plain, graphed


def _assert_identical(plain, graphed):
    for a, b in zip(
        plain.coefs_ + plain.intercepts_, graphed.coefs_ + graphed.intercepts_, strict=True
    ):
        np.testing.assert_array_equal(to_numpy(b), to_numpy(a))
    assert graphed.loss_curve_ == plain.loss_curve_
    assert graphed.n_iter_ == plain.n_iter_


CASES = {
    "sgd": {"solver": "sgd", "momentum": 0.0, "learning_rate_init": 0.1},
    "sgd-nesterov": {"solver": "sgd", "momentum": 0.9, "learning_rate_init": 0.05},
    "sgd-invscaling": {"solver": "sgd", "learning_rate": "invscaling", "momentum": 0.5},
    "adam": {"solver": "adam", "learning_rate_init": 0.01},
}


@pytest.mark.filterwarnings("ignore::xperceptron.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("case", list(CASES))
def test_replayed_steps_give_the_same_model_bit_for_bit(backend, recorder, case):
    X, y = _data(backend)
    plain, graphed = _fit_both(
        MLPClassifier, X, y, hidden_layer_sizes=(16, 8), batch_size=64, max_iter=6, **CASES[case]
    )
    _assert_identical(plain, graphed)
    if recorder is None:  # the real recorder ran (a GPU backend)
        return
    if not is_writeable(X):  # JAX: immutable arrays, a compiled step already
        assert recorder.recorded == 0
        return
    # 300 rows at batch 64: 4 full batches and one of 44 a epoch, for 6 epochs. The first
    # full batch runs to warm up, the second is recorded (the rate keys the recording: the
    # invscaling schedule changes it every epoch).
    assert recorder.warmed == 1
    assert recorder.recorded == (6 if case == "sgd-invscaling" else 1)
    assert recorder.replayed == 6 * 4 - 1


@pytest.mark.filterwarnings("ignore::xperceptron.exceptions.ConvergenceWarning")
def test_float32_regression_with_weights_and_early_stopping(backend, recorder):
    X, Y = _data(backend, n=400, regression=True, dtype=backend.xp.float32)
    weights = backend.asarray(np.random.default_rng(1).uniform(0.5, 2.0, size=400))
    params = dict(hidden_layer_sizes=(12,), batch_size=32, max_iter=8, early_stopping=True,
                  solver="adam", learning_rate_init=0.01, random_state=0)  # fmt: skip
    plain = MLPRegressor(**params).fit(X, Y, sample_weight=weights)
    graphed = MLPRegressor(cuda_graph=True, **params).fit(X, Y, sample_weight=weights)
    _assert_identical(plain, graphed)
    assert graphed.validation_scores_ == plain.validation_scores_
    if recorder is not None and is_writeable(X):
        assert recorder.replayed > 0


def test_partial_fit_calls_each_record_their_own_step(backend, recorder):
    X, y = _data(backend)
    params = dict(hidden_layer_sizes=(10,), batch_size=50, solver="adam", random_state=0)
    plain, graphed = MLPClassifier(**params), MLPClassifier(cuda_graph=True, **params)
    for _ in range(3):
        plain.partial_fit(X, y, classes=backend.asarray([0, 1]))
        graphed.partial_fit(X, y, classes=backend.asarray([0, 1]))
    _assert_identical(plain, graphed)
    if recorder is not None and is_writeable(X):  # 6 full batches a call: 1 warms, 5 replay
        assert (recorder.warmed, recorder.recorded, recorder.replayed) == (3, 3, 15)


def test_a_divergent_run_keeps_the_same_weights_as_without_graphs(backend, recorder):
    """The loop's rollback point is a copy, not the recording's buffers, which the diverging
    epoch goes on writing: the weights kept are those uncaptured training keeps."""
    X, y = _data(backend)
    params = dict(hidden_layer_sizes=(8,), activation="identity", batch_size=64, solver="sgd",
                  momentum=0.9, learning_rate_init=1e4, max_iter=20, random_state=0)  # fmt: skip
    fitted, messages = [], []
    for cuda_graph in (False, True):
        clf = MLPClassifier(cuda_graph=cuda_graph, **params)
        with (
            pytest.raises(DivergenceError, match=r"after epoch [1-9]") as info,
            np.errstate(all="ignore"),
        ):
            clf.fit(X, y)
        fitted.append(clf)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    for a, b in zip(fitted[0].coefs_, fitted[1].coefs_, strict=True):
        np.testing.assert_array_equal(to_numpy(b), to_numpy(a))


def test_cuda_graph_is_a_checked_parameter():
    X, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="cuda_graph"):
        MLPClassifier(cuda_graph="yes").fit(X, y)


@pytest.mark.parametrize("activation", ["relu", "logistic", "tanh"])
def test_a_torch_epoch_makes_no_tensor_from_a_python_number(activation, monkeypatch):
    """A Python number given to ``xp.maximum`` or ``xp.logaddexp`` is copied to the device
    by array-api-compat's torch wrapper (``torch.asarray(0.0, device=...)``): on CUDA a host
    copy at every step, which a CUDA graph cannot record (found on the GPU). The math must
    make its constants on the device. Checked on the CPU, where torch counts the same calls."""
    torch = pytest.importorskip("torch")
    from xperceptron import _training

    rng = np.random.default_rng(0)
    X = torch.asarray(rng.normal(size=(300, 6)))
    y = torch.asarray((rng.normal(size=300) > 0) * 1)
    weights = torch.asarray(np.linspace(0.5, 2.0, 300))
    clf = MLPClassifier((8,), activation=activation, batch_size=64, solver="adam", random_state=0)
    clf.partial_fit(X, y, classes=torch.asarray([0, 1]))
    made, real_asarray, real_run_epoch = [], torch.asarray, _training.run_epoch

    def asarray(obj, *args, **kwargs):
        if isinstance(obj, (int, float)):
            made.append(obj)
        return real_asarray(obj, *args, **kwargs)

    def run_epoch(*args, **kwargs):
        monkeypatch.setattr(torch, "asarray", asarray)
        try:
            return real_run_epoch(*args, **kwargs)
        finally:
            monkeypatch.setattr(torch, "asarray", real_asarray)

    monkeypatch.setattr(_training, "run_epoch", run_epoch)
    clf.partial_fit(X, y, sample_weight=weights)
    assert made == []
