"""What the figures were measured on: machine, OS, libraries, BLAS, threads, GPU settings."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["describe", "load_average"]

DISTRIBUTIONS = (
    "xperceptron",
    "numpy",
    "torch",
    "jax",
    "jaxlib",
    "scikit-learn",
    "scipy",
    "array-api-compat",
    "cupy-cuda12x",
    "cupy-cuda13x",
    "cupy",
    "threadpoolctl",
)
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "XLA_FLAGS",
    "CUPY_TF32",
    "NVIDIA_TF32_OVERRIDE",
    "CUDA_VISIBLE_DEVICES",
)


def load_average() -> list[float] | None:
    """1, 5 and 15 minute load averages: how busy the machine was (noise)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _versions() -> dict[str, str]:
    found = {}
    for name in DISTRIBUTIONS:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found[name] = importlib.metadata.version(name)
    return found


def _numpy_blas() -> dict[str, Any]:
    try:
        config = np.show_config(mode="dicts")  # numpy >= 1.25
    except TypeError:  # pragma: no cover - old numpy
        return {}
    deps = config.get("Build Dependencies", {}) if isinstance(config, dict) else {}
    return {
        key: {k: deps[key].get(k) for k in ("name", "version", "openblas configuration")}
        for key in ("blas", "lapack")
        if key in deps
    }


def _threadpools() -> list[dict[str, Any]] | str:
    try:
        import threadpoolctl
    except ImportError:
        return "threadpoolctl is not installed"
    return [
        {
            "user_api": pool.get("user_api"),
            "internal_api": pool.get("internal_api"),
            "version": pool.get("version"),
            "num_threads": pool.get("num_threads"),
            "threading_layer": pool.get("threading_layer"),
            "architecture": pool.get("architecture"),
            "library": Path(pool.get("filepath", "")).name,
        }
        for pool in threadpoolctl.threadpool_info()
    ]


def set_tf32_env(enabled: bool) -> None:
    """TF32 for CuPy's float32 matmuls, on or off explicitly (CuPy reads it at import)."""
    if "cupy" in sys.modules:
        raise RuntimeError("set CUPY_TF32 before cupy is imported")
    os.environ["CUPY_TF32"] = "1" if enabled else "0"


def set_tf32_torch(enabled: bool) -> None:
    """TF32 for PyTorch's float32 CUDA matmuls, on or off explicitly (if torch is loaded)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return
    torch.backends.cuda.matmul.allow_tf32 = enabled
    torch.set_float32_matmul_precision("high" if enabled else "highest")


def _torch(gpu_used: bool) -> dict[str, Any]:
    torch = sys.modules.get("torch")
    if torch is None:
        return {}
    info: dict[str, Any] = {
        "num_threads": torch.get_num_threads(),
        "num_interop_threads": torch.get_num_interop_threads(),
        "mkldnn": bool(torch.backends.mkldnn.is_available()),
        "cuda_available": bool(torch.cuda.is_available()),
    }
    if torch.cuda.is_available():
        index = torch.cuda.current_device()
        info["cuda"] = {
            "device": torch.cuda.get_device_name(index),
            "capability": ".".join(map(str, torch.cuda.get_device_capability(index))),
            "memory_gib": round(torch.cuda.get_device_properties(index).total_memory / 2**30, 1),
            "cuda_version": torch.version.cuda,
            "cudnn_version": torch.backends.cudnn.version(),
            # TF32 changes float32 matmul results and speed: off unless --tf32.
            "tf32_matmul": bool(torch.backends.cuda.matmul.allow_tf32),
            "tf32_cudnn": bool(torch.backends.cudnn.allow_tf32),
            "float32_matmul_precision": torch.get_float32_matmul_precision(),
            "used": gpu_used,
        }
    return info


def _cupy() -> dict[str, Any]:
    cupy = sys.modules.get("cupy")
    if cupy is None:
        return {}
    try:
        device = cupy.cuda.Device()
        props = cupy.cuda.runtime.getDeviceProperties(device.id)
        name = props["name"]
        return {
            "device": name.decode() if isinstance(name, bytes) else str(name),
            "runtime_version": cupy.cuda.runtime.runtimeGetVersion(),
            "tf32": os.environ.get("CUPY_TF32", "0") == "1",
        }
    except Exception as exc:  # no driver: cupy raises its own error types
        return {"error": str(exc)}


def _jax() -> dict[str, Any]:
    jax = sys.modules.get("jax")
    if jax is None:
        return {}
    return {
        "devices": [str(d) for d in jax.devices()],
        "x64": bool(jax.config.jax_enable_x64),
        "default_matmul_precision": str(jax.config.jax_default_matmul_precision),
    }


def _git() -> dict[str, Any]:
    root = Path(__file__).resolve().parents[1]

    def git(*args: str) -> str:
        result = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=False, timeout=10
        )
        return result.stdout.strip() if result.returncode == 0 else ""

    try:
        return {
            "commit": git("rev-parse", "HEAD"),
            "dirty_files": len(git("status", "--porcelain", "--untracked-files=no").splitlines()),
        }
    except (OSError, subprocess.SubprocessError):
        return {}


def describe(*, gpu_used: bool) -> dict[str, Any]:
    """The machine and software the run measured (call after the array libraries loaded)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return {
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_usable": len(affinity(0)) if affinity is not None else os.cpu_count(),
        "machine": platform.machine(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "versions": _versions(),
        "numpy_blas": _numpy_blas(),
        "threadpools": _threadpools(),
        "thread_environment": {k: os.environ[k] for k in THREAD_VARIABLES if k in os.environ},
        "torch": _torch(gpu_used),
        "cupy": _cupy(),
        "jax": _jax(),
        "git": _git(),
    }
