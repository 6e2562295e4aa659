"""Backends, defined once: every array test takes the ``backend`` fixture.

``XPERCEPTRON_BACKENDS`` (comma-separated: numpy, strict, torch, torch-cuda, jax, cupy)
selects a subset; a backend named there must be importable (a GPU backend may skip, where no
GPU is usable). Unset, every installed backend runs and the missing ones are skipped with the
reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import array_api_compat
import numpy as np
import pytest

from xperceptron._backends import BACKENDS as BACKEND_TABLE
from xperceptron._backends import NAMES as BACKEND_FAMILIES
from xperceptron._namespace import default_float_dtype, device_dtype, numpy_dtype, to_numpy


@dataclass(frozen=True)
class Backend:
    """A namespace, a device on it, and the widest float dtype that device supports."""

    name: str
    xp: Any
    device: Any
    float_dtype: Any
    float64: bool = field(default=True)

    def asarray(self, a: Any, dtype: Any = None) -> Any:
        """A NumPy (or nested list) value as an array of this backend, cast on the host first."""
        a = np.asarray(a)
        if dtype is None and a.dtype.kind == "f":
            dtype = self.float_dtype
        if dtype is None and a.dtype.kind in "iu":  # int32 on a device without int64
            dtype = device_dtype(a.dtype, self.xp, self.device)
        if dtype is not None:
            a = a.astype(numpy_dtype(dtype))
        return self.xp.asarray(a, device=self.device)

    def assert_array(
        self, a: Any, *, shape: tuple[int, ...] | None = None, dtype: Any = None
    ) -> None:
        """``a`` is an array of this backend's namespace and device, with that dtype and shape."""
        assert array_api_compat.is_array_api_obj(a), f"expected an array, got {type(a)}"
        assert array_api_compat.array_namespace(a) is self.xp, (
            f"expected a {self.name} array, got {type(a)}"
        )
        assert array_api_compat.device(a) == self.device
        if dtype is not None:
            assert a.dtype == dtype, f"dtype {a.dtype}, expected {dtype}"
        if shape is not None:
            assert tuple(a.shape) == shape

    def assert_close(self, actual: Any, expected: Any, *, rtol: float, atol: float = 0.0) -> None:
        """Namespace and device checked, then values compared on the host."""
        self.assert_array(actual)
        np.testing.assert_allclose(to_numpy(actual), np.asarray(expected), rtol=rtol, atol=atol)


def _selected() -> set[str] | None:
    raw = os.environ.get("XPERCEPTRON_BACKENDS", "").strip()
    if not raw:
        return None
    chosen = {part.strip() for part in raw.split(",") if part.strip()}
    unknown = chosen - set(BACKEND_FAMILIES)
    if unknown:
        raise pytest.UsageError(
            f"XPERCEPTRON_BACKENDS names unknown backends {sorted(unknown)}; "
            f"known: {list(BACKEND_FAMILIES)}"
        )
    return chosen


def _numpy() -> list[Backend]:
    xp = array_api_compat.array_namespace(np.empty(0))
    return [Backend("numpy", xp, "cpu", xp.float64)]


def _strict() -> list[Backend]:
    import array_api_strict as xp

    device1, no_float64, no_x64 = (xp.Device(name) for name in ("device1", "no_float64", "no_x64"))
    return [
        Backend("strict-device1", xp, device1, xp.float64),
        Backend("strict-no_float64", xp, no_float64, default_float_dtype(xp, no_float64), False),
        # Neither float64 nor int64 (indices and labels in int32), as JAX without x64.
        Backend("strict-no_x64", xp, no_x64, default_float_dtype(xp, no_x64), False),
    ]


def _torch() -> list[Backend]:
    import torch

    xp = array_api_compat.array_namespace(torch.empty(0))
    return [Backend("torch", xp, torch.device("cpu"), xp.float64)]


def _torch_cuda() -> list[Backend]:
    import torch

    if not torch.cuda.is_available():
        raise RuntimeError("no usable CUDA GPU (torch.cuda.is_available() is False)")
    xp = array_api_compat.array_namespace(torch.empty(0))
    device = torch.device("cuda", torch.cuda.current_device())
    return [Backend("torch-cuda", xp, device, xp.float64)]


def _jax() -> list[Backend]:
    import jax

    # float64 must be switched on before the first array is made.
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    return [Backend("jax", jnp, jnp.empty(0).device, jnp.float64)]


def _cupy() -> list[Backend]:
    import cupy

    if not cupy.cuda.is_available():
        raise RuntimeError("no usable CUDA GPU (cupy.cuda.is_available() is False)")
    xp = array_api_compat.array_namespace(cupy.empty(0))
    return [Backend("cupy", xp, cupy.cuda.Device(0), xp.float64)]


_FACTORIES: dict[str, Callable[[], list[Backend]]] = {
    "numpy": _numpy,
    "strict": _strict,
    "torch": _torch,
    "torch-cuda": _torch_cuda,
    "jax": _jax,
    "cupy": _cupy,
}


def _collect() -> list[Any]:
    selected = _selected()
    params = []
    gpu = {b.name for b in BACKEND_TABLE if b.gpu}
    for family in BACKEND_FAMILIES:  # the package's table: each backend has a factory here
        factory = _FACTORIES[family]
        if selected is not None and family not in selected:
            continue
        try:
            backends = factory()
        except ImportError as exc:
            if selected is not None and family not in gpu:
                raise pytest.UsageError(
                    f"backend {family!r} was selected by XPERCEPTRON_BACKENDS but cannot be "
                    f"imported: {exc}"
                ) from exc
            reason = f"{family} is not installed ({exc})"
            params.append(pytest.param(None, id=family, marks=pytest.mark.skip(reason=reason)))
            continue
        except RuntimeError as exc:
            reason = f"{family} backend skipped: {exc}"
            params.append(pytest.param(None, id=family, marks=pytest.mark.skip(reason=reason)))
            continue
        params.extend(pytest.param(b, id=b.name) for b in backends)
    if not params:
        raise pytest.UsageError("XPERCEPTRON_BACKENDS selected no backend")
    return params


BACKENDS = _collect()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each selected backend in turn."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=[b for b in BACKENDS if b.values[0] is None or b.values[0].float64])
def backend64(request: pytest.FixtureRequest) -> Backend:
    """Each selected backend whose device has float64 (for finite-difference oracles)."""
    return request.param  # type: ignore[no-any-return]


def one_hot_or_values(out_activation: str, n: int, k: int, rng: np.random.Generator) -> Any:
    """Targets for an output/loss pair: one-hot rows (softmax), 0/1 (logistic), counts with
    zeros among them (exp: Poisson), values."""
    if out_activation == "softmax":
        return np.eye(k)[rng.integers(0, k, size=n)]
    if out_activation == "logistic":
        return rng.integers(0, 2, size=(n, k)).astype(float)
    if out_activation == "exp":
        return rng.poisson(1.5, size=(n, k)).astype(float)
    return rng.normal(size=(n, k))


@pytest.fixture
def host_reads(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts every conversion of an array-api-strict array to a Python scalar (``n``)."""
    import array_api_strict

    counts = {"n": 0}
    array_class = type(array_api_strict.asarray(0.0))
    for name in ("__bool__", "__float__", "__int__", "__index__"):
        original = getattr(array_class, name)

        def counting(self: Any, _original: Any = original) -> Any:
            counts["n"] += 1
            return _original(self)

        monkeypatch.setattr(array_class, name, counting)
    return counts
