"""Workload 5: ``solver="lbfgs"`` to convergence, against scikit-learn's (SciPy's L-BFGS-B).

Two cases: load_digits (standardised) and a 100,000-sample synthetic set. Each timed run is
one whole fit of a fresh estimator from ``random_state=0``, which both libraries draw alike,
so both start from the same weights. After the timing, each peer's final loss, iterations
and function evaluations are read, and xperceptron's final loss is compared with
scikit-learn's (the target: within 1e-4 relative).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
from _harness import Backend, Peer
from _peers import synthetic_classification
from _workloads import SKLEARN, Settings, _build, _run_case, _sklearn, xp_label

from xperceptron import MLPClassifier

__all__ = ["lbfgs"]

LOSS_RTOL = 1e-4  # the target for the final loss against scikit-learn's


def _digits() -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], dict[str, Any], str]:
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    params = {"hidden_layer_sizes": (100,), "max_iter": 2000}
    data = "load_digits 1797 x 64, StandardScaler, 10 classes, float64"
    return StandardScaler().fit_transform(X), y, params, data


def _synthetic(n: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], dict[str, Any], str]:
    # A linear teacher with 20% of the labels redrawn at random: a noisy problem whose
    # minimum a small network reaches (no separable data driving the loss towards 0).
    X, y = synthetic_classification(n, 20, 5)
    rng = np.random.default_rng(1)
    noisy = rng.random(n) < 0.2
    y = np.where(noisy, rng.integers(0, 5, n), y)
    params = {"hidden_layer_sizes": (8,), "max_iter": 3000, "tol": 1e-3}
    data = f"synthetic {n} x 20, 5 classes (linear teacher, 20% labels redrawn), float64"
    return X.astype(np.float64), y, params, data


def _peer(label: str, make: Any, X: Any, y: Any, sync: Any = None, **about: Any) -> Peer:
    fitted: list[Any] = []

    def run() -> None:
        fitted[:] = [make().fit(X, y)]

    def finish() -> dict[str, Any]:
        est = fitted[0]
        return {"loss": float(est.loss_), "n_iter": int(est.n_iter_)}

    def wait() -> None:
        if sync is not None:
            sync(*fitted[0].coefs_) if fitted else sync()

    return Peer(label, run, wait, finish=finish, **about)


def _xp_peer(backend: Backend, params: dict[str, Any], X: Any, y: Any) -> Peer:
    make = partial(MLPClassifier, solver="lbfgs", random_state=0, **params)
    return _peer(xp_label(backend.name), make, backend.asarray(X), backend.asarray(y),
                 backend.sync, engine=backend.name, backend=backend.name, device=backend.device,
                 kind="xperceptron")  # fmt: skip


def lbfgs(settings: Settings) -> dict[str, Any]:
    """L-BFGS to convergence on digits and on 100,000 synthetic samples."""
    SkMLP = _sklearn()
    if SkMLP is None:
        reason = "scikit-learn is not installed (the peer and the digits data)"
        return {"id": 5, "key": "lbfgs", "title": "L-BFGS to convergence", "cases": [],
                "skipped": reason}  # fmt: skip
    cases = []
    n = 10_000 if settings.quick else 100_000
    for name, (X, y, params, data) in {"digits": _digits(), "synthetic": _synthetic(n)}.items():
        if settings.quick:
            params = {**params, "max_iter": 10}
        peers = [_peer(SKLEARN, partial(SkMLP, solver="lbfgs", random_state=0, **params), X, y,
                       kind="peer")]  # fmt: skip
        errors: dict[str, str] = {}
        for backend in settings.backends:
            _build(peers, partial(_xp_peer, backend, params, X, y), xp_label(backend.name), errors)
        given = ", ".join(f"{k}={v!r}" for k, v in params.items())
        estimator = f"MLPClassifier(solver='lbfgs', random_state=0, {given})"
        config = {"data": data, "estimator": estimator, "unit": "fit"}
        case = _run_case(
            f"lbfgs-{name}", peers, settings=settings, workload=5, baseline=SKLEARN,
            pairs=[(xp_label(b.name), SKLEARN) for b in settings.backends], config=config,
            setup_errors=errors,
        )  # fmt: skip
        case["agreement"] = _agreement(case)
        cases.append(case)
    return {
        "id": 5,
        "key": "lbfgs",
        "title": "L-BFGS to convergence (solver='lbfgs')",
        "unit": "fit",
        "notes": [
            "One timed run = one whole fit of a fresh estimator; both libraries draw the same "
            "initial weights from random_state=0 and stop by SciPy's rules (max |g| <= tol, "
            "relative reduction <= 2.2e-9, max_iter, max_fun).",
            f"agreement: |loss - loss_sklearn| / loss_sklearn per backend; target <= {LOSS_RTOL}.",
        ],
        "cases": cases,
    }


def _agreement(case: dict[str, Any]) -> dict[str, Any]:
    """Each xperceptron row's final loss relative to scikit-learn's, and whether within the
    target."""
    rows = {row["label"]: row.get("extra") for row in case["results"]}
    theirs = rows.get(SKLEARN)
    out: dict[str, Any] = {}
    if not theirs:
        return out
    for label, extra in rows.items():
        if label == SKLEARN or not extra:
            continue
        gap = abs(extra["loss"] - theirs["loss"]) / abs(theirs["loss"])
        out[label] = {"relative_loss_gap": gap, "within_target": gap <= LOSS_RTOL,
                      "n_iter": extra["n_iter"], "sklearn_n_iter": theirs["n_iter"]}  # fmt: skip
    return out
