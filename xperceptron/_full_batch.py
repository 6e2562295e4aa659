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
from ._training import (
    LOCAL,
    Combiner,
    EpochHook,
    Network,
    Outcome,
    TrainingState,
    global_gradients,
    pairs_of,
)
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
    combine: Combiner = LOCAL,
) -> tuple[Outcome, str | None]:
    """L-BFGS from ``state`` on ``(X, Y)`` (the loss weighted by the samples' ``weights``
    where given): how it ended, and where it stopped short of convergence (a limit, a failed
    line search) the warning scikit-learn gives. With another ``combine`` than
    :data:`LOCAL`, each evaluation is of every process's rows together (one all-reduce)."""
    packing = _Packing([tuple(p.shape) for p in state.params], xp)
    # Every process's rows: summed once, as integers (float32 counts only to 2^24 exactly).
    progress, n_samples = state.progress.copy(), combine.count(int(X.shape[0]))
    unpack = packing.unpack
    fun_and_grad = _objective(packing, X, Y, weights, network, combine, n_samples, xp=xp,
                              in_place=is_writeable(state.params[0]))  # fmt: skip

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

    x0 = packing.pack(state.params)
    evaluate = fun_and_grad if combine is not LOCAL else compile_step(fun_and_grad, xp=xp)
    result = minimize_lbfgs(
        evaluate, x0, xp=xp, max_iter=max_iter, max_fun=max_fun,
        tol=tol, callback=callback,
    )  # fmt: skip
    final = TrainingState(unpack(result.x), state.opt_state, progress, state.rng)
    outcome = Outcome(final, result.status == "non_finite", result.success, None)
    return outcome, _warning(result, max_iter) if result.status in _UNCONVERGED else None


class _Packing:
    """The parameters as one flat vector, packed as scikit-learn packs them (every ``W``
    raveled, then every ``b``)."""

    def __init__(self, shapes: list[tuple[int, ...]], xp: Namespace) -> None:
        self.shapes, self._xp = shapes, xp
        self.order = [*range(0, len(shapes), 2), *range(1, len(shapes), 2)]  # W's, then b's

    def pack(self, arrays: list[Array]) -> Array:
        xp = self._xp
        return xp.concat([xp.reshape(arrays[i], (-1,)) for i in self.order])

    def unpack(self, x: Array) -> list[Array]:
        parts: list[Array] = [None] * len(self.shapes)
        start = 0
        for i in self.order:
            size = math.prod(self.shapes[i])
            parts[i] = self._xp.reshape(x[start : start + size], self.shapes[i])
            start += size
        return parts


def _objective(
    packing: _Packing,
    X: Array,
    Y: Array,
    weights: Array | None,
    network: Network,
    combine: Combiner,
    n_samples: int,
    *,
    xp: Namespace,
    in_place: bool,
) -> Any:
    """``x -> (loss, gradient)`` of the flat parameters: this process's rows, or with a
    combiner every process's (``n_samples`` in all)."""

    def fun_and_grad(x: Array) -> tuple[Array, Array]:
        params = packing.unpack(x)
        if combine is not LOCAL:
            steps, total = global_gradients(
                network, params, X, Y, weights, combine=combine, scale=1.0, xp=xp
            )
            return total / n_samples, packing.pack(steps)
        loss, grads = value_and_grad(
            pairs_of(params), X, Y, activation=network.activation,
            out_activation=network.out_activation, alpha=network.alpha, sample_weight=weights,
            xp=xp, in_place=in_place,  # into backprop's own products, never into x
        )  # fmt: skip
        return loss, packing.pack([g for pair in grads for g in pair])

    return fun_and_grad


def _warning(result: Any, max_iter: int) -> str:
    """scikit-learn's words for an L-BFGS run that did not converge."""
    return (
        f"lbfgs failed to converge after {result.n_iter} iteration(s) "
        f"(status={result.warnflag}):\n{result.message}\n\nIncrease the number of "
        f"iterations to improve the convergence (max_iter={max_iter}).\nYou might also want "
        "to scale the data as shown in:\n    "
        "https://scikit-learn.org/stable/modules/preprocessing.html"
    )
