"""Full-batch training with L-BFGS (``solver="lbfgs"``): the loss and gradient of the whole
training set on the device, minimised by :func:`xperceptron.lbfgs.minimize_lbfgs` over one
flat parameter vector, as scikit-learn minimises it with SciPy.

The parameters are packed as scikit-learn packs them (every ``W`` raveled, then every
``b``), so that the minimiser's inner products add up in the same order. Each iteration is
an epoch of the training loop's counters: ``loss_curve_`` gets its loss, callbacks see it.
"""

from __future__ import annotations

import math
import time
from typing import Any

from ._namespace import Array, Namespace, compile_step, is_writeable
from ._stopping import record_epoch
from ._training import EpochHook, Network, Outcome, TrainingState, pairs_of
from .lbfgs import minimize_lbfgs
from .network import value_and_grad

__all__ = ["train_lbfgs"]

_UNCONVERGED = ("max_iter", "max_fun", "line_search")  # scikit-learn warns on these


def train_lbfgs(
    state: TrainingState,
    X: Array,
    Y: Array,
    *,
    weights: Array | None = None,
    network: Network,
    max_iter: int,
    max_fun: int,
    tol: float,
    xp: Namespace,
    on_epoch: EpochHook | None = None,
) -> tuple[Outcome, str | None]:
    """L-BFGS from ``state`` on ``(X, Y)`` (the loss weighted by the samples' ``weights``
    where given): how it ended, and where it stopped short of convergence (a limit, a failed
    line search) the warning scikit-learn gives."""
    shapes = [tuple(p.shape) for p in state.params]
    order = [*range(0, len(shapes), 2), *range(1, len(shapes), 2)]  # W's, then b's
    progress, n_samples = state.progress.copy(), int(X.shape[0])

    def unpack(x: Array) -> list[Array]:
        parts: list[Array] = [None] * len(shapes)
        start = 0
        for i in order:
            size = math.prod(shapes[i])
            parts[i] = xp.reshape(x[start : start + size], shapes[i])
            start += size
        return parts

    in_place = is_writeable(state.params[0])  # into backprop's own products, never into x

    def fun_and_grad(x: Array) -> tuple[Array, Array]:
        loss, grads = value_and_grad(
            pairs_of(unpack(x)), X, Y, activation=network.activation,
            out_activation=network.out_activation, alpha=network.alpha, sample_weight=weights,
            xp=xp, in_place=in_place,
        )  # fmt: skip
        flat = [g for pair in grads for g in pair]
        return loss, xp.concat([xp.reshape(flat[i], (-1,)) for i in order])

    started = time.perf_counter()

    def callback(n_iter: int, x: Array, f: float) -> bool:
        nonlocal progress, started
        progress, _ = record_epoch(progress, f, n_samples, None, tol=0.0)
        if on_epoch is None:
            return False
        params = [xp.asarray(p, copy=True) for p in unpack(x)]
        seconds, started = time.perf_counter() - started, time.perf_counter()
        snapshot = TrainingState(params, state.opt_state, progress, state.rng)
        return on_epoch(snapshot, seconds, math.nan)  # no learning rate: a line search

    x0 = xp.concat([xp.reshape(state.params[i], (-1,)) for i in order])
    result = minimize_lbfgs(
        compile_step(fun_and_grad, xp=xp), x0, xp=xp, max_iter=max_iter, max_fun=max_fun,
        tol=tol, callback=callback,
    )  # fmt: skip
    final = TrainingState(unpack(result.x), state.opt_state, progress, state.rng)
    outcome = Outcome(final, result.status == "non_finite", result.success, None)
    return outcome, _warning(result, max_iter) if result.status in _UNCONVERGED else None


def _warning(result: Any, max_iter: int) -> str:
    """scikit-learn's words for an L-BFGS run that did not converge."""
    return (
        f"lbfgs failed to converge after {result.n_iter} iteration(s) "
        f"(status={result.warnflag}):\n{result.message}\n\nIncrease the number of "
        f"iterations to improve the convergence (max_iter={max_iter}).\nYou might also want "
        "to scale the data as shown in:\n    "
        "https://scikit-learn.org/stable/modules/preprocessing.html"
    )
