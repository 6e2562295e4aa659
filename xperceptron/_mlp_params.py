"""The MLPs' hyperparameters: what each may be, and the optimizer they describe."""

from __future__ import annotations

import math
from typing import Any

from ._stopping import StopRule
from ._validation import BOOLEAN, NONE, Interval, OneOf, Satisfies, is_int
from .activations import ACTIVATIONS
from .callbacks import HOOKS, is_callback
from .exceptions import warn
from .initializers import is_random_state
from .optimizers import SCHEDULES, SOLVERS, Optimizer, adam, full_batch, sgd

__all__ = ["MLP_CONSTRAINTS", "batch_size", "make_optimizer", "stop_rule"]


def _hidden_sizes_ok(sizes: Any) -> bool:
    if is_int(sizes):
        return bool(sizes > 0)
    try:
        return all(is_int(s) and s > 0 for s in sizes)  # () is a network with no hidden layer
    except TypeError:
        return False


def _callbacks_ok(callbacks: Any) -> bool:
    return isinstance(callbacks, list | tuple) and all(is_callback(c) for c in callbacks)


def _float(low: float | None, high: float | None, closed: str) -> list[Any]:
    return [Interval("real", low, high, closed=closed)]


def make_optimizer(
    solver: str, momentum: float, nesterov: bool, beta_1: float, beta_2: float, epsilon: float
) -> Optimizer:
    """The optimizer of ``solver`` with its hyperparameters."""
    if solver == "lbfgs":
        return full_batch()
    return sgd(momentum, nesterov) if solver == "sgd" else adam(beta_1, beta_2, epsilon)


MLP_CONSTRAINTS: dict[str, list[Any]] = {
    "hidden_layer_sizes": [Satisfies(_hidden_sizes_ok, "an int > 0 or a sequence of ints > 0")],
    "activation": [OneOf(*sorted(ACTIVATIONS))],
    "solver": [OneOf(*SOLVERS)],
    "alpha": _float(0, None, "left"),
    "batch_size": [OneOf("auto"), Interval("int", 1, None, closed="left")],
    "learning_rate": [OneOf(*SCHEDULES)],
    "learning_rate_init": _float(0, None, "neither"),
    "power_t": _float(0, None, "left"),
    "max_iter": [Interval("int", 1, None, closed="left")],
    "shuffle": [BOOLEAN],
    "random_state": [
        Satisfies(
            is_random_state,
            "None, an int in [0, 4294967295], a numpy.random.RandomState or a "
            "numpy.random.Generator",
        )
    ],
    "tol": _float(0, None, "left"),
    "verbose": [BOOLEAN, Interval("int", 0, None, closed="left")],
    "warm_start": [BOOLEAN],
    "momentum": _float(0, 1, "both"),
    "nesterovs_momentum": [BOOLEAN],
    "early_stopping": [BOOLEAN],
    "validation_fraction": _float(0, 1, "neither"),
    "beta_1": _float(0, 1, "left"),
    "beta_2": _float(0, 1, "left"),
    "epsilon": _float(0, None, "neither"),
    "n_iter_no_change": [Interval("int", 1, None, closed="left"), OneOf(math.inf)],
    "max_fun": [Interval("int", 1, None, closed="left")],
    "distributed": [NONE, OneOf("torch", "mpi")],
    "cuda_graph": [BOOLEAN],
    "callbacks": [
        NONE,
        Satisfies(_callbacks_ok, f"a list of objects with any of the methods {list(HOOKS)}"),
    ],
}


def stop_rule(est: Any) -> StopRule:
    """The learning-rate schedule and stopping rule ``est`` 's hyperparameters describe."""
    schedule = est.learning_rate if est.solver == "sgd" else "constant"
    return StopRule(
        tol=float(est.tol), n_iter_no_change=est.n_iter_no_change, schedule=schedule,
        learning_rate_init=float(est.learning_rate_init), power_t=float(est.power_t),
    )  # fmt: skip


def batch_size(est: Any, n_samples: int) -> int:
    """The mini-batch size for ``n_samples`` training samples ("auto": at most 200)."""
    size: Any = est.batch_size
    if size == "auto":
        return min(200, n_samples)
    if size > n_samples:
        warn(
            f"batch_size={size} is larger than the {n_samples} training samples; it is "
            "clipped to that.",
            UserWarning,
        )
    return min(int(size), n_samples)
