"""Workload 6 (steps on a GPU, with and without ``cuda_graph``) and the host-sync check.

Both need a GPU backend (``cupy`` or ``torch-cuda``); without one they say so and skip.
"""

from __future__ import annotations

import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from _harness import Backend, Peer, log
from _peers import synthetic_classification
from _workloads import (
    MLPSpec,
    Settings,
    _build,
    _host,
    _mlp_config,
    _run_case,
    _torch_peer,
    _xp_estimator,
    _xp_peer,
    torch_label,
    xp_label,
)

from xperceptron import MLPClassifier, _training

__all__ = ["cuda_graphs", "sync_check"]

GRAPH = " cuda_graph"


def _gpu_backends(settings: Settings) -> list[Backend]:
    return [b for b in settings.backends if b.gpu]


def cuda_graphs(settings: Settings) -> dict[str, Any]:
    """The reference MLP at batch 256 and 4096 on each GPU backend: ``partial_fit`` epochs
    with and without ``cuda_graph=True``, beside PyTorch eager on CUDA."""
    gpus = _gpu_backends(settings)
    if not gpus:
        return {"id": 6, "key": "cuda_graphs", "title": "CUDA graphs", "skipped": "no GPU backend"}
    layers = (64, 32, 16, 10) if settings.quick else (784, 256, 128, 10)
    n_samples = 2048 if settings.quick else 60_000
    X, y = synthetic_classification(n_samples, layers[0], layers[-1])
    cases = []
    for batch_size in (256, 4096):
        spec = MLPSpec(layers, batch_size=batch_size)
        peers: list[Peer] = []
        errors: dict[str, str] = {}
        pairs = []
        torch_cuda = settings.backend("torch-cuda")
        if torch_cuda is not None:
            label = torch_label("torch-cuda")
            _build(peers, partial(_torch_peer, spec, torch_cuda, X, y), label, errors)
        for backend in gpus:
            plain, graphed = xp_label(backend.name), xp_label(backend.name, GRAPH)
            _build(peers, partial(_xp_peer, spec, backend, X, y), plain, errors)
            if torch_cuda is not None:
                pairs += [(plain, torch_label("torch-cuda"))]
            if not _records(backend):
                continue
            make = partial(_xp_peer, spec, backend, X, y, cuda_graph=True, what=GRAPH)
            _build(peers, make, graphed, errors)
            pairs += [(graphed, plain)]
            if torch_cuda is not None:
                pairs += [(graphed, torch_label("torch-cuda"))]
        config = _mlp_config(spec, n_samples, steps_per_epoch=-(-n_samples // batch_size))
        case = _run_case(
            f"cuda_graphs_b{batch_size}", peers, settings=settings, workload=6,
            baseline=torch_label("torch-cuda"), pairs=pairs, config=config, setup_errors=errors,
        )  # fmt: skip
        cases.append(case)
        del peers
    return {
        "id": 6,
        "key": "cuda_graphs",
        "title": "Steps on the GPU: " + "-".join(map(str, layers)) + ", batch 256 and 4096, "
        "with and without cuda_graph",
        "unit": "sample",
        "config": {"layer_sizes": list(layers), "n_samples": n_samples, "dtype": "float32"},
        "notes": [
            "One timed run = one epoch of partial_fit (xperceptron) or of the hand-written "
            "PyTorch loop, after an untimed first call. Steps per second = samples per second "
            "/ batch size.",
            "cuda_graph=True: the first full batch of each partial_fit call runs uncaptured, "
            "the second is recorded, the rest replay it; the last partial batch runs "
            "uncaptured. Recording is inside the timing.",
        ],
        "identical": {b.name: _graphs_identical(b, X, y) for b in gpus if _records(b)},
        "cases": cases,
    }


def _records(backend: Backend) -> bool:
    """Whether ``cuda_graph=True`` records steps on this backend."""
    from array_api_compat import array_namespace

    from xperceptron import _graphs

    probe = backend.asarray(np.zeros(1, dtype=np.float32))
    return _graphs.recorder_for(array_namespace(probe), getattr(probe, "device", None)) is not None


def _graphs_identical(backend: Backend, X: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> Any:
    """Whether ``cuda_graph=True`` gave the model uncaptured training gives, bit for bit
    (three epochs of adam and of SGD with momentum, 8192 samples, batch 256)."""
    Xd, yd = backend.asarray(X[:8192]), backend.asarray(y[:8192])
    found = {}
    for solver in ("adam", "sgd"):
        models = []
        for cuda_graph in (False, True):
            clf = MLPClassifier(
                (256, 128), solver=solver, batch_size=256, max_iter=3, learning_rate_init=0.01,
                random_state=0, cuda_graph=cuda_graph,
            )  # fmt: skip
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                clf.fit(Xd, yd)
            models.append([_host(a) for a in clf.coefs_ + clf.intercepts_])
        found[solver] = all(np.array_equal(a, b) for a, b in zip(models[0], models[1], strict=True))
    return found


# ------------------------------------------------------------------------------ sync check
@contextmanager
def _around_epochs(enter: Callable[[], Any], leave: Callable[[Any], None]) -> Iterator[None]:
    """``enter()`` before and ``leave(token)`` after every epoch's batch loop (the loop's
    ``run_epoch``, nothing before or after it)."""
    original = _training.run_epoch

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        token = enter()
        try:
            return original(*args, **kwargs)
        finally:
            leave(token)

    _training.run_epoch = wrapped  # type: ignore[assignment]
    try:
        yield
    finally:
        _training.run_epoch = original  # type: ignore[assignment]


CONFIGS = {
    "sgd": {"solver": "sgd", "momentum": 0.0, "learning_rate_init": 0.1},
    "adam": {"solver": "adam", "learning_rate_init": 0.001},
    "adam cuda_graph": {"solver": "adam", "learning_rate_init": 0.001, "cuda_graph": True},
}


def sync_check(settings: Settings) -> dict[str, Any]:
    """Does an epoch make the host wait on the GPU?

    (a) torch on CUDA: the training loop's batch loop (``_training.run_epoch``, as
    ``partial_fit`` runs it) under ``torch.cuda.set_sync_debug_mode("error")``: any hidden
    synchronisation raises. (b) Every GPU backend: the same loop under the CUDA profiler
    (CUPTI, through ``torch.profiler``), which sees every CUDA call of the process, CuPy's
    too: synchronisations, device-to-host copies and kernel launches per step.
    """
    gpus = _gpu_backends(settings)
    if not gpus:
        return {"skipped": "needs a GPU backend (cupy or torch-cuda)"}
    spec = MLPSpec((64, 32, 16, 10) if settings.quick else (784, 256, 128, 10), batch_size=256)
    n = 2048 if settings.quick else 8192
    X, y = synthetic_classification(n, spec.layer_sizes[0], spec.n_classes)
    result: dict[str, Any] = {"samples": n, "batch_size": spec.batch_size}
    for backend in gpus:
        Xd, yd = backend.asarray(X), backend.asarray(y)
        found: dict[str, Any] = {}
        for name, params in CONFIGS.items():
            if params.get("cuda_graph") and not _records(backend):
                continue
            clf = _xp_estimator(spec).set_params(**params)
            clf.partial_fit(Xd, yd, classes=np.arange(spec.n_classes))  # warm: kernels, pools
            entry: dict[str, Any] = {}
            if backend.name == "torch-cuda" and not params.get("cuda_graph"):
                entry["debug_mode_error"] = _torch_debug_mode(clf, Xd, yd)
            entry["profiled"] = _profiled(clf, Xd, yd, steps=-(-n // spec.batch_size))
            found[name] = entry
            log(f"sync check [{backend.name}] {name}: {entry}")
        result[backend.name] = found
    result["expected"] = "no synchronisation and no device-to-host copy inside an epoch"
    return result


def _torch_debug_mode(clf: MLPClassifier, X: Any, y: Any) -> dict[str, Any]:
    import torch

    def enter() -> None:
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")

    def leave(_: Any) -> None:
        torch.cuda.set_sync_debug_mode("default")

    try:
        with _around_epochs(enter, leave):
            clf.partial_fit(X, y)
    except RuntimeError as exc:
        frames = traceback.extract_tb(exc.__traceback__)[-4:]
        return {
            "raised": True,
            "error": str(exc).splitlines()[0],
            "sites": [f"{Path(f.filename).name}:{f.lineno} in {f.name}" for f in frames],
        }
    return {"raised": False}


def _profiled(clf: MLPClassifier, X: Any, y: Any, *, steps: int) -> dict[str, Any]:
    """CUDA calls and device activities recorded during one epoch's batch loop."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    profiles: list[Any] = []

    def enter() -> Any:
        torch.cuda.synchronize()
        prof = profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA])
        prof.__enter__()
        return prof

    def leave(prof: Any) -> None:
        torch.cuda.synchronize()  # outside the loop: its queued work lands in the profile
        prof.__exit__(None, None, None)
        profiles.append(prof)

    with _around_epochs(enter, leave):
        clf.partial_fit(X, y)
    names = Counter(event.name for event in profiles[0].events())
    syncs = {k: v for k, v in names.items() if "Synchronize" in k}
    syncs.pop("cudaDeviceSynchronize", None)  # ours, in leave(), after the loop
    to_host = {k: v for k, v in names.items() if "DtoH" in k or "Device -> Pageable" in k}
    launches = sum(v for k, v in names.items() if "LaunchKernel" in k or "GraphLaunch" in k)
    return {
        "synchronisations": syncs,
        "device_to_host_copies": to_host,
        "launches_per_step": round(launches / steps, 1),
        "graph_launches": sum(v for k, v in names.items() if "GraphLaunch" in k),
    }
