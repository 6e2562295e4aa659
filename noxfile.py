"""Sessions: tests per backend, the oldest supported versions, lint, typecheck, docs, demo,
bench.

python -m pip install "nox[uv]" && python -m nox -s tests   # every backend (cupy: GPU only)
python -m nox -s "tests(backend='torch')"                    # one backend
python -m nox -s oldest                                      # the oldest pins
python -m nox -s docs                                        # the site, in docs/_build/html

Environments are made with uv where it is installed (``nox[uv]``): it links packages from one
cache instead of unpacking torch into every session, which is most of what the test command
costs in time and disk. Without uv, nox falls back to virtualenv and pip.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nox

nox.options.sessions = ["tests", "oldest", "lint", "typecheck"]
nox.options.error_on_missing_interpreters = True
nox.options.default_venv_backend = "uv|virtualenv"


def _backend_table() -> object:
    """xperceptron/_backends.py, loaded by path: nox runs before the package is installed."""
    path = Path(__file__).parent / "xperceptron" / "_backends.py"
    spec = importlib.util.spec_from_file_location("_xperceptron_backends", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


BACKENDS = {b.name: b for b in _backend_table().BACKENDS}  # type: ignore[attr-defined]

# torch 2.13.0's CPU build lies on disk on our machines (pip's find-links); any other build
# downloads CUDA libraries of several GB. It is also the autograd oracle of the gradient
# tests on every backend. uv does not read pip's configuration: hand it the same folders,
# and name the CPU build where it is there (a lowest-version resolution would otherwise take
# PyPI's 2.13.0, which sorts before 2.13.0+cpu).
FIND_LINKS = os.environ.get("PIP_FIND_LINKS", "")
UV_ENV = {"UV_FIND_LINKS": FIND_LINKS} if FIND_LINKS else {}
_CPU_WHEELS = [w for folder in FIND_LINKS.split() for w in Path(folder).glob("torch-2.13.0+cpu-*")]
TORCH = "torch==2.13.0+cpu" if _CPU_WHEELS else "torch==2.13.0"


def _nvidia_gpu() -> str | None:
    """Why there is no usable NVIDIA GPU here, or None if there is one."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return "nvidia-smi is not on PATH"
    result = subprocess.run([smi, "-L"], capture_output=True, text=True, check=False)
    if result.returncode != 0 or "GPU" not in result.stdout:
        return f"nvidia-smi lists no GPU ({(result.stderr or result.stdout).strip()[:200]})"
    return None


def _install(session: nox.Session, *packages: str) -> None:
    session.install(*packages, env=UV_ENV)


def _pytest(session: nox.Session, backends: str, *, doctests: bool) -> None:
    args = ["-p", "no:cacheprovider", *session.posargs]
    if doctests:  # the docstring examples run on NumPy
        args += ["--doctest-modules", "xperceptron", "tests"]
    session.run("pytest", *args, env={"XPERCEPTRON_BACKENDS": backends})


@nox.session
@nox.parametrize("backend", list(BACKENDS))
def tests(session: nox.Session, backend: str) -> None:
    """The test suite on one backend (XPERCEPTRON_BACKENDS selects it in tests/conftest.py)."""
    if BACKENDS[backend].gpu:
        missing = _nvidia_gpu()
        if missing is not None:
            session.skip(f"{backend} backend skipped: no NVIDIA GPU on this machine ({missing})")
    # The ONNX round trip (ndonnx, onnxruntime) runs once, in the numpy session: an export
    # from any backend is tested there too, where the other backends are installed. So do
    # the Dask tests (NumPy blocks) and dask-ml's wrappers around the estimators, and the
    # data-parallel tests (two processes over torch.distributed's gloo and over MPI).
    numpy_only = ["dask-ml"] if backend == "numpy" else []
    extras = ".[test,onnx,dask,mpi]" if backend == "numpy" else ".[test]"
    # PyPI's Linux build of torch is a CUDA one: the GPU session takes it, not the CPU build.
    torch = "torch==2.13.0" if backend == "torch-cuda" else TORCH
    _install(session, "-e", extras, torch, *numpy_only, *BACKENDS[backend].test_packages)
    _pytest(session, backend, doctests=backend == "numpy")


@nox.session(venv_backend="uv")
def oldest(session: nox.Session) -> None:
    """The numpy and strict suites on the oldest versions pyproject.toml allows: uv resolves
    every direct dependency (numpy, array-api-compat, the test extra) to its lowest bound."""
    # Transitive dependencies resolve to their newest; pyparsing 3.3 deprecates names that
    # matplotlib 3.8 (our lowest) calls, and the suite turns warnings into errors.
    _install(session, "--resolution=lowest-direct", "-e", ".[test]", TORCH, "pyparsing>=3.2,<3.3")
    versions = "import numpy, array_api_compat as c; print(numpy.__version__, c.__version__)"
    session.run("python", "-c", versions)
    _pytest(session, "numpy,strict", doctests=False)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    _install(session, "ruff==0.17.6")  # pinned: formatting changes between releases
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package."""
    _install(session, "-e", ".[typecheck]", "mypy==2.4.1")
    session.run("mypy")


# Pinned: a new release of any of them can add a warning, and the build treats warnings as
# errors.
DOCS_PINS = (
    "sphinx==9.0.4",
    "pydata-sphinx-theme==0.24.0",
    "numpydoc==1.11.0",
    "myst-parser==5.2.0",
    "sphinx-gallery==0.22.1",
)


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site, warnings as errors: the HTML (API reference from the
    docstrings, the guide, the examples gallery, whose scripts run), then the guide's code
    examples (Sphinx doctest). Output in docs/_build/html; arguments after -- go to both
    sphinx-build runs."""
    _install(session, "-e", ".[docs]", *DOCS_PINS)
    common = ["-W", "--keep-going", "-q", *session.posargs]
    session.run("sphinx-build", *common, "-b", "html", "docs", "docs/_build/html")
    # The gallery ran in the HTML build; here only the guide's ```{doctest} blocks run.
    doctest = ["-b", "doctest", "-D", "plot_gallery=0", "docs", "docs/_build/doctest"]
    session.run("sphinx-build", *common, *doctest)


@nox.session
def demo(session: nox.Session) -> None:
    """Install the package and run the tutorial through the console script."""
    _install(session, ".")
    session.run("xperceptron", "demo")


@nox.session
def sklearn_suite(session: nox.Session) -> None:
    """scikit-learn's own MLP tests (test_mlp.py, test_base.py of the scikit-learn installed
    here) against xperceptron: tests/sklearn_suite/run.py copies them to a temporary folder,
    swaps the import, and marks the expected failures listed, with reasons, in
    tests/sklearn_suite/expected_failures.txt and deliberate_differences.txt. Arguments
    after -- go to pytest:
    python -m nox -s sklearn_suite -- -k warm_start."""
    # The expected-failure lists name scikit-learn 1.9's tests: another minor release may
    # rename them (the session then says which entries no longer match).
    _install(session, "-e", ".[test]", "scikit-learn>=1.9,<1.10")
    session.run("python", "tests/sklearn_suite/run.py", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmark suite (benchmarks/run.py): every workload on the backends present,
    JSON and Markdown written to benchmarks/results/. Arguments after -- go to run.py:
    python -m nox -s bench -- --quick --out /tmp/bench."""
    extras = ".[test,cupy]" if _nvidia_gpu() is None else ".[test]"
    _install(session, extras, TORCH, "jax")
    session.run("python", "benchmarks/run.py", *session.posargs)
