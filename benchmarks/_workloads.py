"""The workloads (the GPU ones and the host-sync check are in ``_workload_gpu``).

Each workload builds its peers (data moved to every device before any clock starts), times
them interleaved with :func:`_harness.measure` and returns a JSON-ready dict: its settings,
one or more *cases* (a table each) with a row per peer and the time ratios asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from _harness import Backend, Peer, compare, log, measure, mlp_flops, summarize
from _peers import (
    NumpyMLP,
    TorchMLP,
    glorot_uniform,
    matmul_floor_epoch,
    synthetic_classification,
    tutorial_loop,
)

from xperceptron import MLPClassifier, Perceptron
from xperceptron.datasets import logic_gate

__all__ = ["WORKLOADS", "Settings"]

RAW = "raw NumPy"
FLOOR = "matmul floor (NumPy products only)"
WIDE_LEARNING_RATE = 0.01
SKLEARN = "scikit-learn"


@dataclass
class Settings:
    """What a run was asked for (``repeats`` by workload number)."""

    quick: bool
    repeats: dict[int, int]
    warmup: int
    backends: list[Backend]
    skipped_backends: dict[str, str]
    peaks: dict[str, dict[str, Any]]
    wide_cpu_samples: int
    wide_gpu_samples: int
    settle: float = 0.0

    def backend(self, name: str) -> Backend | None:
        return next((b for b in self.backends if b.name == name), None)


def xp_label(backend: str, what: str = "") -> str:
    return f"xperceptron{what} [{backend}]"


def torch_label(backend: str) -> str:
    return f"PyTorch eager [{backend}]"


def _sklearn() -> Any:
    """scikit-learn's ``MLPClassifier``, or None where it is not installed."""
    try:
        from sklearn.neural_network import MLPClassifier as SkMLP
    except ImportError:
        return None
    return SkMLP


def _run_case(
    name: str,
    peers: Sequence[Peer],
    *,
    settings: Settings,
    workload: int,
    baseline: str,
    pairs: Sequence[tuple[str, str]],
    config: dict[str, Any],
    setup_errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Time the peers of one table and turn the times into rows and ratios."""
    times, errors = measure(
        peers,
        repeats=settings.repeats[workload],
        warmup=settings.warmup,
        name=name,
        settle=settings.settle,
    )
    errors = {**(setup_errors or {}), **errors}
    base = next((p for p in peers if p.label == baseline), None)
    rows = []
    for peer in peers:
        row = summarize(
            peer,
            times[peer.label],
            baseline=base,
            baseline_times=times.get(baseline, []),
            peaks=settings.peaks,
        )
        if peer.label in errors:
            row["error"] = errors[peer.label]
        elif peer.finish is not None:
            try:
                row["extra"] = peer.finish()
            except Exception as exc:
                row["error"] = f"after timing: {exc!r}"
                errors[peer.label] = row["error"]
        rows.append(row)
    return {
        "name": name,
        "config": config,
        "baseline": baseline,
        "results": rows,
        "comparisons": compare(pairs, peers, times),
        "errors": errors,
    }


def _device_peer_pairs(labels: Sequence[str], settings: Settings) -> list[tuple[str, str]]:
    """xperceptron on each backend against raw NumPy, scikit-learn and PyTorch eager on the
    same kind of device (CPU against CPU, GPU against GPU)."""
    pairs = []
    for backend in settings.backends:
        mine = xp_label(backend.name)
        torch_peer = torch_label("torch-cuda" if backend.gpu else "torch")
        for other in (RAW, torch_peer, SKLEARN):
            if other in labels:
                pairs.append((mine, other))
    if torch_label("torch") in labels:
        pairs.append((torch_label("torch"), RAW))
    return pairs


# ------------------------------------------------------------------------------ workload 1
def tutorial(settings: Settings) -> dict[str, Any]:
    """The single-layer Perceptron on XOR, full batch, against the tutorial's NumPy loop."""
    n_iter = 20 if settings.quick else 1000
    learning_rate = 0.1
    X, y = logic_gate("xor")  # (4, 2) float64: the tutorial's dtype
    x_cols, y_row = np.ascontiguousarray(X.T), y[None, :].astype(np.float64)
    w0, b0 = np.array([[0.4], [0.2]]), 1.0
    raw_result: dict[str, Any] = {}

    def raw() -> None:
        raw_result["w"], raw_result["b"] = tutorial_loop(
            x_cols, y_row, w0, b0, learning_rate, n_iter
        )

    peers = [Peer(RAW, raw, units=n_iter, kind="peer")]
    for backend in settings.backends:
        peers.append(_perceptron_peer(backend, X, y, learning_rate, n_iter, raw_result))
    config = {
        "data": "logic_gate('xor'): 4 samples, 2 features, float64",
        "initial": "w = [0.4, 0.2], b = 1",
        "learning_rate": learning_rate,
        "iterations": n_iter,
        "unit": "iteration",
    }
    case = _run_case(
        "tutorial",
        peers,
        settings=settings,
        workload=1,
        baseline=RAW,
        pairs=[(xp_label(b.name), RAW) for b in settings.backends],
        config=config,
    )
    return {
        "id": 1,
        "key": "tutorial",
        "title": "Tutorial loop: single-layer Perceptron on XOR",
        "unit": "iteration",
        "config": config,
        "notes": [
            f"{n_iter} full-batch iterations; XOR is not linearly separable, so neither side "
            "stops early (xperceptron's ConvergenceWarning is silenced).",
            "xperceptron's iteration also counts the misclassified samples and reads the count "
            "to the host (errors_, and its stopping test); the tutorial loop does not.",
            "Each timed run is a whole fit (validation included) divided by the iterations.",
        ],
        "cases": [case],
    }


def _perceptron_peer(
    backend: Backend,
    X: np.ndarray[Any, Any],
    y: np.ndarray[Any, Any],
    learning_rate: float,
    n_iter: int,
    raw_result: dict[str, Any],
) -> Peer:
    Xd, yd = backend.asarray(X), backend.asarray(y)
    clf = Perceptron(learning_rate=learning_rate, max_iter=n_iter)

    def run() -> None:
        clf.fit(Xd, yd, coef_init=[[0.4, 0.2]], intercept_init=[1.0])

    def finish() -> dict[str, Any]:
        coef = np.asarray(_host(clf.coef_), dtype=np.float64)[0]
        intercept = float(np.asarray(_host(clf.intercept_))[0])
        extra: dict[str, Any] = {"n_iter": clf.n_iter_, "coef": coef.tolist(), "b": intercept}
        if raw_result:
            diff = max(
                float(np.max(np.abs(coef - raw_result["w"][:, 0]))),
                abs(intercept - raw_result["b"]),
            )
            extra["max_abs_diff_vs_raw"] = diff
        return extra

    return Peer(
        xp_label(backend.name),
        run,
        lambda: backend.sync(clf.coef_) if hasattr(clf, "coef_") else backend.sync(),
        units=n_iter,
        engine=backend.name,
        backend=backend.name,
        device=backend.device,
        kind="xperceptron",
        finish=finish,
    )


def _host(a: Any) -> np.ndarray[Any, Any]:
    """A NumPy copy of a NumPy, CuPy, PyTorch or JAX array (after the timing only)."""
    if hasattr(a, "detach"):  # torch
        return np.asarray(a.detach().cpu().numpy())
    if hasattr(a, "get") and not isinstance(a, np.ndarray):  # cupy
        return np.asarray(a.get())
    return np.asarray(a)


# ------------------------------------------------------------------------------ MLP peers
@dataclass(frozen=True)
class MLPSpec:
    layer_sizes: tuple[int, ...]
    batch_size: int
    learning_rate: float = 0.1
    seed: int = 0

    @property
    def hidden(self) -> tuple[int, ...]:
        return self.layer_sizes[1:-1]

    @property
    def n_classes(self) -> int:
        return self.layer_sizes[-1]


def _raw_peer(spec: MLPSpec, X: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> Peer:
    mlp = NumpyMLP(
        spec.layer_sizes,
        learning_rate=spec.learning_rate,
        batch_size=spec.batch_size,
        seed=spec.seed,
    )
    # As the first partial_fit call of the estimators: one batch, outside the timing, so
    # this peer's generator stays in step with xperceptron's (same weights, same orders).
    mlp.epoch(X[: spec.batch_size], y[: spec.batch_size])
    losses: list[float] = []
    return Peer(
        RAW,
        lambda: losses.append(mlp.epoch(X, y)),
        units=X.shape[0],
        samples=X.shape[0],
        flops=mlp_flops(spec.layer_sizes, X.shape[0]),
        finish=lambda: {"last_epoch_loss": losses[-1]},
    )


def _floor_peer(spec: MLPSpec, X: np.ndarray[Any, Any]) -> Peer:
    """An epoch's matrix products alone with NumPy: what no NumPy-based peer can beat."""
    weights = [W for W, _ in glorot_uniform(spec.layer_sizes, np.random.default_rng(0), np.float32)]
    return Peer(
        FLOOR,
        lambda: matmul_floor_epoch(X, weights, spec.batch_size),
        units=X.shape[0],
        samples=X.shape[0],
        flops=mlp_flops(spec.layer_sizes, X.shape[0]),
        kind="bound",
    )


def _torch_peer(
    spec: MLPSpec, backend: Backend, X: np.ndarray[Any, Any], y: np.ndarray[Any, Any]
) -> Peer:
    mlp = TorchMLP(
        spec.layer_sizes,
        learning_rate=spec.learning_rate,
        batch_size=spec.batch_size,
        seed=spec.seed,
        device=backend.device,
    )
    Xd, yd = backend.asarray(X), backend.asarray(y)
    losses: list[float] = []
    return Peer(
        torch_label(backend.name),
        lambda: losses.append(mlp.epoch(Xd, yd)),
        backend.sync,
        units=X.shape[0],
        samples=X.shape[0],
        flops=mlp_flops(spec.layer_sizes, X.shape[0]),
        engine=backend.name,
        backend=backend.name,
        device=backend.device,
        kind="peer",
        finish=lambda: {"last_epoch_loss": losses[-1]},
    )


def _xp_estimator(spec: MLPSpec, max_iter: int = 1) -> MLPClassifier:
    return MLPClassifier(
        hidden_layer_sizes=spec.hidden,
        solver="sgd",
        momentum=0.0,
        learning_rate_init=spec.learning_rate,
        batch_size=spec.batch_size,
        alpha=0.0,
        max_iter=max_iter,
        shuffle=True,
        random_state=spec.seed,
    )


def _xp_peer(
    spec: MLPSpec,
    backend: Backend,
    X: np.ndarray[Any, Any],
    y: np.ndarray[Any, Any],
    *,
    cuda_graph: bool = False,
    what: str = "",
) -> Peer:
    """xperceptron's ``partial_fit``: one epoch per call, after an untimed first call."""
    Xd, yd = backend.asarray(X), backend.asarray(y)
    clf = _xp_estimator(spec).set_params(cuda_graph=cuda_graph)
    # The first call pays the one-time costs (weights, optimizer state); one batch suffices.
    clf.partial_fit(Xd[: spec.batch_size], yd[: spec.batch_size], classes=np.arange(spec.n_classes))
    return Peer(
        xp_label(backend.name, what),
        lambda: clf.partial_fit(Xd, yd),
        lambda: backend.sync(*clf.coefs_),
        units=X.shape[0],
        samples=X.shape[0],
        flops=mlp_flops(spec.layer_sizes, X.shape[0]),
        engine=backend.name,
        backend=backend.name,
        device=backend.device,
        kind="xperceptron",
        finish=lambda: {"last_epoch_loss": clf.loss_curve_[-1]},
    )


def _xp_fit_peer(
    spec: MLPSpec, backend: Backend, X: np.ndarray[Any, Any], y: np.ndarray[Any, Any]
) -> Peer:
    """xperceptron's ``fit`` with ``max_iter=1``: a fresh estimator, one-time costs included."""
    Xd, yd = backend.asarray(X), backend.asarray(y)
    fitted: list[MLPClassifier] = []

    def run() -> None:
        fitted[:] = [_xp_estimator(spec, max_iter=1).fit(Xd, yd)]

    return Peer(
        xp_label(backend.name, " fit(max_iter=1)"),
        run,
        lambda: backend.sync(*fitted[0].coefs_) if fitted else backend.sync(),
        units=X.shape[0],
        samples=X.shape[0],
        flops=mlp_flops(spec.layer_sizes, X.shape[0]),
        engine=backend.name,
        backend=backend.name,
        device=backend.device,
        kind="xperceptron",
        finish=lambda: {"epoch_loss": fitted[0].loss_curve_[-1]},
    )


def _sk_estimator(spec: MLPSpec, SkMLP: Any) -> Any:
    return SkMLP(
        hidden_layer_sizes=spec.hidden,
        solver="sgd",
        momentum=0.0,
        learning_rate_init=spec.learning_rate,
        batch_size=spec.batch_size,
        alpha=0.0,
        max_iter=1,
        shuffle=True,
        random_state=spec.seed,
    )


def _sklearn_peers(
    spec: MLPSpec, X: np.ndarray[Any, Any], y: np.ndarray[Any, Any], SkMLP: Any, with_fit: bool
) -> list[Peer]:
    clf = _sk_estimator(spec, SkMLP)
    clf.partial_fit(X[: spec.batch_size], y[: spec.batch_size], classes=np.arange(spec.n_classes))
    flops = mlp_flops(spec.layer_sizes, X.shape[0])
    peers = [
        Peer(
            SKLEARN,
            lambda: clf.partial_fit(X, y),
            units=X.shape[0],
            samples=X.shape[0],
            flops=flops,
            finish=lambda: {"last_epoch_loss": float(clf.loss_)},
        )
    ]
    if with_fit:
        fitted: list[Any] = []

        def run() -> None:
            fitted[:] = [_sk_estimator(spec, SkMLP).fit(X, y)]

        peers.append(
            Peer(
                f"{SKLEARN} fit(max_iter=1)",
                run,
                units=X.shape[0],
                samples=X.shape[0],
                flops=flops,
                finish=lambda: {"epoch_loss": float(fitted[0].loss_)},
            )
        )
    return peers


def _build(
    peers: list[Peer], make: Callable[[], Peer | list[Peer]], label: str, errors: dict[str, str]
) -> None:
    """Add a peer (or peers); a failure to set one up is recorded, not fatal."""
    try:
        made = make()
    except Exception as exc:
        errors[label] = f"setup failed: {exc!r}"
        log(f"setting up {label} FAILED: {exc!r}")
        return
    peers.extend(made if isinstance(made, list) else [made])


# ------------------------------------------------------------------------------ workload 2
def reference_mlp(settings: Settings) -> dict[str, Any]:
    """784-256-128-10, ReLU, softmax, SGD lr 0.1, batch 256, float32, 60,000 samples."""
    if settings.quick:
        spec, n_samples = MLPSpec((64, 32, 16, 10), batch_size=256), 512
    else:
        spec, n_samples = MLPSpec((784, 256, 128, 10), batch_size=256), 60_000
    X, y = synthetic_classification(n_samples, spec.layer_sizes[0], spec.n_classes)
    peers: list[Peer] = []
    setup_errors: dict[str, str] = {}
    SkMLP = _sklearn()
    _build(peers, lambda: _raw_peer(spec, X, y), RAW, setup_errors)
    _build(peers, lambda: _floor_peer(spec, X), FLOOR, setup_errors)
    for backend in settings.backends:
        if backend.name in ("torch", "torch-cuda"):
            make = partial(_torch_peer, spec, backend, X, y)
            _build(peers, make, torch_label(backend.name), setup_errors)
    if SkMLP is not None:
        make_sk = partial(_sklearn_peers, spec, X, y, SkMLP, with_fit=True)
        _build(peers, make_sk, SKLEARN, setup_errors)
    for backend in settings.backends:
        _build(peers, partial(_xp_peer, spec, backend, X, y), xp_label(backend.name), setup_errors)
    numpy_backend = settings.backend("numpy")
    fit_label = xp_label("numpy", " fit(max_iter=1)")
    if numpy_backend is not None:
        _build(peers, partial(_xp_fit_peer, spec, numpy_backend, X, y), fit_label, setup_errors)

    pairs = _device_peer_pairs([p.label for p in peers], settings)
    pairs += [(fit_label, f"{SKLEARN} fit(max_iter=1)"), (fit_label, xp_label("numpy"))]
    pairs += [(xp_label("numpy"), FLOOR), (RAW, FLOOR)]
    config = _mlp_config(spec, n_samples)
    case = _run_case(
        "reference_mlp",
        peers,
        settings=settings,
        workload=2,
        baseline=RAW,
        pairs=pairs,
        config=config,
        setup_errors=setup_errors,
    )
    notes = [
        "One timed run = one epoch. xperceptron and scikit-learn: partial_fit(X, y) after an "
        "untimed first partial_fit on one batch (weights and optimizer state made there); "
        "each timed call still validates X (a finite check) and encodes y, as partial_fit "
        "does. Rows 'fit(max_iter=1)' time a fresh estimator's whole fit instead: "
        "initialisation and validation included.",
        "raw NumPy draws its weights and permutations from the same seeded generator as "
        "xperceptron's random_state, so both follow the same trajectory (compare their "
        "losses). PyTorch starts from the same weights, permutes with torch.randperm.",
        "scikit-learn keeps its own initialisation (same Glorot rule) and shuffles the "
        "indices, gathering each batch.",
        "Every peer reads the epoch's loss to the host once per epoch (scikit-learn per batch).",
        f"'{FLOOR}' is not a trainer: it runs only the epoch's matrix products (those the "
        "GFLOP/s column counts) on contiguous batches, nothing else. Its time is a floor for "
        "every peer whose products run on NumPy's BLAS; the gap above it is the element-wise "
        "work, the batch gathers, the updates and the validation.",
    ]
    if SkMLP is None:
        notes.append("scikit-learn is not installed: its rows are missing.")
    return {
        "id": 2,
        "key": "reference_mlp",
        "title": "Reference MLP: " + "-".join(map(str, spec.layer_sizes)) + ", batch 256",
        "unit": "sample",
        "config": config,
        "notes": notes,
        "cases": [case],
    }


def _mlp_config(spec: MLPSpec, n_samples: int, **more: Any) -> dict[str, Any]:
    return {
        "layer_sizes": list(spec.layer_sizes),
        "activation": "relu",
        "output": "softmax + cross-entropy",
        "optimizer": f"SGD lr={spec.learning_rate}, momentum 0, alpha 0",
        "batch_size": spec.batch_size,
        "n_samples": n_samples,
        "dtype": "float32",
        "data": "Gaussian X, labels argmax(X @ T) of a random teacher T (seed 0)",
        "flops_per_sample": mlp_flops(spec.layer_sizes, 1),
        **more,
    }


# ------------------------------------------------------------------------------ workload 3
def wide_mlp(settings: Settings) -> dict[str, Any]:
    """4096-4096-4096-10 at batch 1024 and 4096: the GPU workload, reduced on the CPU."""
    if settings.quick:
        sizes, batch_sizes = (128, 128, 128, 10), (64, 256)
    else:
        sizes, batch_sizes = (4096, 4096, 4096, 10), (1024, 4096)
    n_cpu = max(settings.wide_cpu_samples, max(batch_sizes))
    any_gpu = any(b.gpu for b in settings.backends)
    n_gpu = max(settings.wide_gpu_samples, max(batch_sizes))
    X, y = synthetic_classification(n_gpu if any_gpu else n_cpu, sizes[0], sizes[-1])
    X_cpu, y_cpu = X[:n_cpu], y[:n_cpu]
    notes = [
        f"On the CPU every peer trains on a reduced {n_cpu} samples per epoch "
        f"({', '.join(f'{n_cpu // b} x {b}' for b in batch_sizes)} per batch size) so that the "
        "run finishes in minutes; figures are per sample and GFLOP/s, comparable across "
        "sample counts." + (f" GPU peers train on {n_gpu} samples." if any_gpu else ""),
        "scikit-learn is not run here (CPU only); it is compared in workloads 2 and 4.",
        "Timed runs are epochs: partial_fit for xperceptron after an untimed first call.",
        f"Learning rate {WIDE_LEARNING_RATE} (0.1 diverges at this width); otherwise the "
        "math of workload 2.",
    ]
    if not any_gpu:
        gpu_names = ", ".join(f"{k} ({v})" for k, v in settings.skipped_backends.items()) or (
            "none requested"
        )
        notes.append(f"No GPU backend here: the GPU peers were skipped. Skipped: {gpu_names}.")
    cases = []
    for batch_size in batch_sizes:
        spec = MLPSpec(sizes, batch_size=batch_size, learning_rate=WIDE_LEARNING_RATE)
        peers: list[Peer] = []
        setup_errors: dict[str, str] = {}
        _build(peers, partial(_raw_peer, spec, X_cpu, y_cpu), RAW, setup_errors)
        for backend in settings.backends:
            data = (X, y) if backend.gpu else (X_cpu, y_cpu)
            if backend.name in ("torch", "torch-cuda"):
                make = partial(_torch_peer, spec, backend, *data)
                _build(peers, make, torch_label(backend.name), setup_errors)
            make = partial(_xp_peer, spec, backend, *data)
            _build(peers, make, xp_label(backend.name), setup_errors)
        config = _mlp_config(
            spec, n_cpu, n_samples_cpu=n_cpu, n_samples_gpu=n_gpu if any_gpu else None
        )
        case = _run_case(
            f"wide_mlp_b{batch_size}",
            peers,
            settings=settings,
            workload=3,
            baseline=RAW,
            pairs=_device_peer_pairs([p.label for p in peers], settings),
            config=config,
            setup_errors=setup_errors,
        )
        cases.append(case)
        del peers  # free this batch size's models and device copies before the next
    return {
        "id": 3,
        "key": "wide_mlp",
        "title": f"Wide MLP: {'-'.join(map(str, sizes))}, batch {batch_sizes[0]} and "
        f"{batch_sizes[1]}",
        "unit": "sample",
        "config": {
            "layer_sizes": list(sizes),
            "batch_sizes": list(batch_sizes),
            "n_samples_cpu": n_cpu,
            "n_samples_gpu": n_gpu if any_gpu else None,
            "learning_rate": WIDE_LEARNING_RATE,
            "dtype": "float32",
        },
        "notes": notes,
        "cases": cases,
    }


# ------------------------------------------------------------------------------ workload 4
def digits(settings: Settings) -> dict[str, Any]:
    """load_digits, standardised, 75/25 split; default MLPClassifier to default stopping."""
    SkMLP = _sklearn()
    if SkMLP is None:
        return {
            "id": 4,
            "key": "digits",
            "title": "Real data: load_digits",
            "skipped": "scikit-learn is not installed (it provides the data and the peer)",
            "cases": [],
        }
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    params: dict[str, Any] = {"random_state": 0}
    if settings.quick:
        params["max_iter"] = 3
    peers: list[Peer] = []
    sk_fitted: list[Any] = []

    def sk_run() -> None:
        sk_fitted[:] = [SkMLP(**params).fit(X_train, y_train)]

    def sk_finish() -> dict[str, Any]:
        clf = sk_fitted[0]
        return {"test_accuracy": float(clf.score(X_test, y_test)), "n_iter": clf.n_iter_}

    peers.append(Peer(SKLEARN, sk_run, finish=sk_finish))
    setup_errors: dict[str, str] = {}
    for backend in settings.backends:
        make = partial(_digits_peer, backend, params, X_train, y_train, X_test, y_test)
        _build(peers, make, xp_label(backend.name), setup_errors)
    config = {
        "data": "sklearn.datasets.load_digits: 1797 x 64, 10 classes, float64",
        "split": "train_test_split(test_size=0.25, stratify=y, random_state=0)",
        "preprocessing": "StandardScaler fitted on the training part",
        "estimator": "MLPClassifier(random_state=0): defaults (hidden (100,), adam, "
        "lr 1e-3, alpha 1e-4, batch min(200, n), max_iter 200, tol 1e-4, n_iter_no_change 10)"
        + (", max_iter=3 (--quick)" if settings.quick else ""),
        "dtype": "float64",
        "unit": "fit",
    }
    case = _run_case(
        "digits",
        peers,
        settings=settings,
        workload=4,
        baseline=SKLEARN,
        pairs=[(xp_label(b.name), SKLEARN) for b in settings.backends],
        config=config,
        setup_errors=setup_errors,
    )
    return {
        "id": 4,
        "key": "digits",
        "title": "Real data: load_digits to default stopping",
        "unit": "fit",
        "config": config,
        "notes": [
            "One timed run = one whole fit of a fresh estimator (validation, initialisation "
            "and every epoch until the default stopping rule or max_iter). ConvergenceWarning "
            "is silenced.",
            "Test accuracy and epochs (n_iter) are read after the timing.",
        ],
        "cases": [case],
    }


def _digits_peer(
    backend: Backend,
    params: dict[str, Any],
    X_train: np.ndarray[Any, Any],
    y_train: np.ndarray[Any, Any],
    X_test: np.ndarray[Any, Any],
    y_test: np.ndarray[Any, Any],
) -> Peer:
    Xd, yd, Xt = backend.asarray(X_train), backend.asarray(y_train), backend.asarray(X_test)
    fitted: list[MLPClassifier] = []

    def run() -> None:
        fitted[:] = [MLPClassifier(**params).fit(Xd, yd)]

    def finish() -> dict[str, Any]:
        clf = fitted[0]
        predicted = _host(clf.predict(Xt))
        return {"test_accuracy": float(np.mean(predicted == y_test)), "n_iter": clf.n_iter_}

    return Peer(
        xp_label(backend.name),
        run,
        lambda: backend.sync(*fitted[0].coefs_) if fitted else backend.sync(),
        engine=backend.name,
        backend=backend.name,
        device=backend.device,
        kind="xperceptron",
        finish=finish,
    )


def lbfgs(settings: Settings) -> dict[str, Any]:
    """Workload 5, in its own module (imported here: it builds on this one's helpers)."""
    from _workload_lbfgs import lbfgs as run

    return run(settings)


def cuda_graphs(settings: Settings) -> dict[str, Any]:
    """Workload 6, in its own module (GPU only)."""
    from _workload_gpu import cuda_graphs as run

    return run(settings)


WORKLOADS: dict[int, Callable[[Settings], dict[str, Any]]] = {
    1: tutorial,
    2: reference_mlp,
    3: wide_mlp,
    4: digits,
    5: lbfgs,
    6: cuda_graphs,
}
