"""The one table of array backends: the command line, the tests, the benchmarks and the
noxfile all read it.

Standard library only: the noxfile loads this file by its path, before any of the package's
dependencies are installed.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BACKENDS", "NAMES", "Backend"]


@dataclass(frozen=True)
class Backend:
    """One array library xperceptron trains on."""

    name: str
    """What users, ``XPERCEPTRON_BACKENDS``, ``--backend`` and the nox sessions call it."""
    module: str
    """The module whose arrays it is."""
    test_packages: tuple[str, ...]
    """Installed for its nox test session, beyond the test extra (which has torch, the
    gradient oracle of every backend, and array-api-strict)."""
    gpu: bool
    """Whether it needs an NVIDIA GPU (its test session and benchmarks skip without one)."""
    benchmarked: bool
    """Whether ``benchmarks/run.py`` times it (array-api-strict is a checker, not a target)."""
    description: str


BACKENDS: tuple[Backend, ...] = (
    Backend("numpy", "numpy", (), False, True, "NumPy on the CPU"),
    Backend(
        "strict", "array_api_strict", (), False, False,
        "array-api-strict: the standard and nothing more, on simulated devices",
    ),
    Backend("torch", "torch", (), False, True, "PyTorch on the CPU"),
    Backend("torch-cuda", "torch", (), True, True, "PyTorch on an NVIDIA GPU (CUDA)"),
    Backend("jax", "jax.numpy", ("jax",), False, True, "JAX, float64 on; steps compiled"),
    Backend("cupy", "cupy", (".[cupy]",), True, True, "CuPy on an NVIDIA GPU"),
)  # fmt: skip

NAMES: tuple[str, ...] = tuple(backend.name for backend in BACKENDS)
