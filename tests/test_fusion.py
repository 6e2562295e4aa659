"""Fused element-wise kernels (:func:`xperceptron._namespace.fused`): on CuPy a ReLU layer's
bias, mask and product are one kernel, the softmax loss's element-wise work two; the model
is the one unfused training gives, bit for bit.

On the CPU a stand-in fuser plays ``cupy.fuse``'s part: it calls the function on tracers
that allow what a fused kernel's body allows (operators, element-wise functions, ``astype``,
``dtype``, Python numbers) and refuse the rest (shapes, indexing, reductions, reading a
value). The GPU run (``benchmarks/gpu.sh``) runs the CuPy test with ``cupy.fuse`` itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from conftest import BACKENDS

from xperceptron import MLPClassifier, MLPRegressor, _namespace
from xperceptron._namespace import to_numpy


class Traced:
    """A NumPy array seen through a fusion tracer."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    @property
    def dtype(self) -> Any:
        return self.array.dtype

    def astype(self, dtype: Any, copy: bool = True) -> Traced:
        return Traced(self.array.astype(dtype, copy=copy))

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if method != "__call__" or kwargs:
            raise AssertionError(f"a fused function called {ufunc.__name__}.{method}")
        return Traced(ufunc(*(x.array if isinstance(x, Traced) else x for x in inputs)))

    def _refuse(self, *args: Any) -> Any:
        raise AssertionError("a fused function did what no element-wise kernel can")

    shape = property(_refuse)
    __getitem__ = __setitem__ = __bool__ = __float__ = __len__ = __array__ = _refuse

    for _name, _ufunc in {
        "add": np.add, "sub": np.subtract, "mul": np.multiply, "truediv": np.true_divide,
    }.items():  # fmt: skip
        locals()[f"__{_name}__"] = lambda self, other, f=_ufunc: f(self, other)
        locals()[f"__r{_name}__"] = lambda self, other, f=_ufunc: f(other, self)
    __gt__ = lambda self, other: np.greater(self, other)  # noqa: E731
    __neg__ = lambda self: np.negative(self)  # noqa: E731


class StandIn:
    """Fuses by tracing: each kernel call runs the function on tracers; counts the calls."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}

    def __call__(self, function: Callable[..., Any], name: str) -> Callable[..., Any]:
        def kernel(*arrays: np.ndarray) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            out = function(*(Traced(a) for a in arrays))
            return tuple(o.array for o in out) if isinstance(out, tuple) else out.array

        return kernel


def _fit(cls: type, X: Any, y: Any, **params: Any) -> Any:
    return cls(random_state=0, batch_size=32, max_iter=4, **params).fit(X, y)


def _assert_identical(a: Any, b: Any) -> None:
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        np.testing.assert_array_equal(to_numpy(p), to_numpy(q))
    assert a.loss_curve_ == b.loss_curve_


@pytest.mark.filterwarnings("ignore::xperceptron.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_fused_functions_trace_as_kernels_and_train_the_same_model(monkeypatch, solver):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5)).astype(np.float32)
    y = np.argmax(X[:, :3], axis=1)
    params = {"hidden_layer_sizes": (16, 8), "solver": solver}
    plain = _fit(MLPClassifier, X, y, **params)
    plain_regressor = _fit(MLPRegressor, X, X[:, :2], **params)
    stand_in = StandIn()
    monkeypatch.setattr(_namespace, "fuser_for", lambda xp: stand_in)
    _assert_identical(_fit(MLPClassifier, X, y, **params), plain)
    # 200 rows at batch 32: 7 steps an epoch, 4 epochs; 2 ReLU layers a step.
    steps = 7 * 4
    assert stand_in.calls == {
        "xperceptron_biased_relu": 2 * steps,
        "xperceptron_shifted_exp": steps,
        "xperceptron_log_loss_terms": steps,
    }
    _assert_identical(_fit(MLPRegressor, X, X[:, :2], **params), plain_regressor)
    assert stand_in.calls["xperceptron_biased_relu"] == 4 * steps


@pytest.mark.filterwarnings("ignore::xperceptron.exceptions.ConvergenceWarning")
def test_only_what_training_repeats_is_fused(monkeypatch):
    # ReLU's forward with its derivative and the softmax loss: tanh layers (no kept
    # derivative) and predictions run as written.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 5)).astype(np.float32)
    y = np.argmax(X[:, :3], axis=1)
    stand_in = StandIn()
    monkeypatch.setattr(_namespace, "fuser_for", lambda xp: stand_in)
    tanh = _fit(MLPClassifier, X, y, hidden_layer_sizes=(8,), activation="tanh")
    assert set(stand_in.calls) == {"xperceptron_shifted_exp", "xperceptron_log_loss_terms"}
    relu = _fit(MLPClassifier, X, y, hidden_layer_sizes=(8,))
    before = dict(stand_in.calls)
    tanh.predict_proba(X), relu.predict_proba(X)
    assert stand_in.calls == before


FUSING = [b for b in BACKENDS if b.id == "cupy"]


@pytest.mark.filterwarnings("ignore::xperceptron.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("backend", FUSING)
@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_kernels_train_the_unfused_model_bit_for_bit(backend, solver, dtype, monkeypatch):
    assert _namespace.fuses(backend.xp)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(300, 6)), rng.integers(0, 3, size=300)
    Xd, yd = backend.asarray(X, getattr(backend.xp, dtype)), backend.asarray(y)
    params = {"hidden_layer_sizes": (16, 8), "solver": solver}
    fused = _fit(MLPClassifier, Xd, yd, **params)
    monkeypatch.setattr(_namespace, "fuser_for", lambda xp: None)
    _assert_identical(fused, _fit(MLPClassifier, Xd, yd, **params))
