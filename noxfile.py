"""Sessions: tests per backend, lint, typecheck, demo.

python -m pip install nox && python -m nox -s tests     # every backend (cupy skips without a GPU)
python -m nox -s "tests(backend='torch')"               # one backend
"""

from __future__ import annotations

import shutil
import subprocess

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.error_on_missing_interpreters = True

# torch 2.13.0's CPU build lies on disk on our machines; any other version downloads a CUDA
# build of several GB. It is also the autograd oracle of the gradient tests on every backend.
TORCH = "torch==2.13.0"
BACKEND_PACKAGES = {
    "numpy": [],
    "strict": [],  # array-api-strict comes with the test extra
    "torch": [],
    "jax": ["jax"],
    "cupy": [".[cupy]"],
}


def _nvidia_gpu() -> str | None:
    """Why there is no usable NVIDIA GPU here, or None if there is one."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return "nvidia-smi is not on PATH"
    result = subprocess.run([smi, "-L"], capture_output=True, text=True, check=False)
    if result.returncode != 0 or "GPU" not in result.stdout:
        return f"nvidia-smi lists no GPU ({(result.stderr or result.stdout).strip()[:200]})"
    return None


@nox.session
@nox.parametrize("backend", list(BACKEND_PACKAGES))
def tests(session: nox.Session, backend: str) -> None:
    """The test suite on one backend (XPERCEPTRON_BACKENDS selects it in tests/conftest.py)."""
    if backend == "cupy":
        missing = _nvidia_gpu()
        if missing is not None:
            session.skip(f"cupy backend skipped: no NVIDIA GPU on this machine ({missing})")
    session.install("-e", ".[test]", TORCH, *BACKEND_PACKAGES[backend])
    args = ["-p", "no:cacheprovider", *session.posargs]
    if backend == "numpy":  # the docstring examples run on NumPy
        args += ["--doctest-modules", "xperceptron", "tests"]
    session.run("pytest", *args, env={"XPERCEPTRON_BACKENDS": backend})


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install("ruff==0.17.6")  # pinned: formatting changes between releases
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package."""
    session.install("-e", ".[typecheck]", "mypy==2.4.1")
    session.run("mypy")


@nox.session
def demo(session: nox.Session) -> None:
    """Install the package and run the tutorial through the console script."""
    session.install(".")
    session.run("xperceptron", "demo")


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmark suite (benchmarks/run.py): every workload on the backends present,
    JSON and Markdown written to benchmarks/results/. Arguments after -- go to run.py:
    python -m nox -s bench -- --quick --out /tmp/bench."""
    extras = ".[test,cupy]" if _nvidia_gpu() is None else ".[test]"
    session.install(extras, TORCH)
    if any("jax" in arg for arg in session.posargs):  # jax is opt-in: --backends ...,jax
        session.install("jax")
    session.run("python", "benchmarks/run.py", *session.posargs)
