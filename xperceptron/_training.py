"""The training loop: a training state, one epoch, a run of epochs, and their seams.

The estimators describe a run (network, optimizer, data, stopping rule) and publish what it
returns; this module runs it. Three seams, each replaceable alone:

- **where batches come from**: a :class:`BatchSource` (:class:`InMemoryBatches` slices or
  gathers rows of arrays on the device; a stream of chunks is another source);
- **how a batch's gradients are combined** before the update, and the epoch's figures before
  they are read: a :class:`Combiner` (:data:`LOCAL` is the identity; an all-reduce across
  processes, :mod:`xperceptron._distributed`, is another);
- **how the epoch's figures set the learning rate and decide stopping**: the pure functions
  of :mod:`xperceptron._stopping` (``record_epoch``, ``next_epoch``).

Inside an epoch nothing is read to the host: the loss is summed on the device and read once
at the epoch's end, with a check that every parameter is still finite.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple, Protocol

from ._batches import InMemoryBatches
from ._namespace import Array, Namespace, compile_step, is_array
from ._stopping import Progress, StopRule, explain, next_epoch, record_epoch
from .initializers import HostRandom
from .network import value_and_grad
from .optimizers import Optimizer, apply_updates

__all__ = [
    "LOCAL",
    "BatchSource",
    "Combiner",
    "InMemoryBatches",
    "Network",
    "Outcome",
    "TrainingState",
    "make_step",
    "pairs_of",
    "params_of",
    "run_epoch",
    "train",
]


# ---------------------------------------------------------------------------- seams
class BatchSource(Protocol):
    """Where an epoch's mini-batches come from."""

    n_samples: int

    def epoch(self, rng: HostRandom) -> Iterator[tuple[Array, ...]]:
        """The epoch's ``(X_batch, Y_batch)`` pairs, or ``(X_batch, Y_batch, weights)``
        with sample weights; ``rng`` (on the host) may shuffle."""
        ...


class Combiner(Protocol):
    """How one process's batch joins the others' (nothing to join in a single process).

    With a combiner other than :data:`LOCAL`, each step sums one flat buffer over the
    processes: every process's gradient sum, its count of samples (or total weight), rows
    and loss. Every process then takes the same step, that of the global batch, and adds
    the same global figure to the epoch's total.
    """

    def sum(self, buffer: Array) -> Array:
        """``buffer`` (1-D) summed element-wise over every process: one all-reduce."""
        ...

    def mean(self, total: Array, n_samples: int) -> float:
        """``total / n_samples``, read to the host (the epoch's one read)."""
        ...

    def count(self, n: int) -> int:
        """``n`` summed over every process, exactly (a host integer, not through a float)."""
        ...


class _Local:
    """A single process: nothing to combine."""

    def sum(self, buffer: Array) -> Array:
        return buffer

    def count(self, n: int) -> int:
        return n

    def mean(self, total: Array, n_samples: int) -> float:
        return float(total) / n_samples


LOCAL: Combiner = _Local()


# ---------------------------------------------------------------------------- one step
class Network(NamedTuple):
    """What the loss depends on besides the parameters and the data."""

    activation: str
    out_activation: str
    alpha: float


StepFunction = Callable[..., tuple[list[Array], Any, Array]]


class Step(NamedTuple):
    """``run(params, state, X_batch, Y_batch, learning_rate, total[, weights]) -> (params,
    state, total)``: one update, and the running ``total`` plus the batch's loss times its
    rows. With the batch's sample ``weights``, the loss is their weighted mean (as
    scikit-learn's, whose epoch loss also counts each batch by its rows).

    ``consumes``: ``run`` takes over the parameters and optimizer state it is given (JAX
    donates their buffers to the compiled step's outputs), so the loop must hand it arrays
    of its own.
    """

    run: StepFunction
    consumes: bool = False


def make_step(
    network: Network,
    optimizer: Optimizer,
    *,
    combine: Combiner = LOCAL,
    in_place: bool,
    xp: Namespace,
) -> Step:
    """One training step (see :class:`Step`).

    With ``in_place`` the parameters are updated in the arrays given. On JAX, a single
    process's step is compiled with ``jax.jit`` (once per batch shape), its parameters and
    optimizer state donated to its outputs (no new buffers a step).
    """
    step_scale = optimizer.step_scale  # plain SGD: backprop returns the steps themselves
    options = {"activation": network.activation, "out_activation": network.out_activation}

    def gradients(
        params: list[Array], X: Array, Y: Array, weights: Array | None, scale: float
    ) -> tuple[list[Array], Array]:
        """The batch's gradients (times ``scale``) and its loss times its rows: this
        process's batch, or with a combiner the global one."""
        if combine is not LOCAL:
            return global_gradients(
                network, params, X, Y, weights, combine=combine, scale=scale, xp=xp
            )
        loss, grads = value_and_grad(
            pairs_of(params), X, Y, alpha=network.alpha, scale=scale, sample_weight=weights,
            in_place=in_place, xp=xp, **options,
        )  # fmt: skip
        return [g for pair in grads for g in pair], loss * X.shape[0]

    def step(
        params: list[Array],
        state: Any,
        X: Array,
        Y: Array,
        learning_rate: float,
        total: Array,
        weights: Array | None = None,
        step_size: Any = None,
    ) -> tuple[list[Array], Any, Array]:
        scale = 1.0 if step_scale is None else step_scale(learning_rate)
        steps, batch_total = gradients(params, X, Y, weights, scale)
        if step_scale is None:
            given = {} if step_size is None else {"step_size": step_size}
            steps, state = optimizer.update(
                steps, state, learning_rate, xp=xp, in_place=in_place, **given
            )
        return apply_updates(params, steps, in_place=in_place), state, total + batch_total

    if combine is not LOCAL:  # collectives inside: not compiled
        return Step(step)
    compiled = compile_step(step, xp=xp, donate_argnums=(0, 1))
    return Step(compiled, consumes=compiled is not step)


def global_gradients(
    network: Network,
    params: list[Array],
    X: Array,
    Y: Array,
    weights: Array | None,
    *,
    combine: Combiner,
    scale: float,
    xp: Namespace,
) -> tuple[list[Array], Array]:
    """The gradients (times ``scale``) of the global batch, every process's rows of the step
    together, and that batch's loss times its rows: what one process training on it would
    compute. One all-reduce of one flat buffer: the gradient sums, the count (rows, or
    their total weight), the rows and the loss sum; the L2 term is added once, after."""
    n = X.shape[0]
    zero = xp.zeros_like(params[-1][0])  # a 0-d array of the parameters' dtype and device
    if n:
        loss, grads = value_and_grad(
            pairs_of(params), X, Y, activation=network.activation,
            out_activation=network.out_activation, scale=scale, sample_weight=weights, xp=xp,
        )  # fmt: skip
        count = xp.sum(weights) if weights is not None else zero + float(n)
        flat = [xp.reshape(g * count, (-1,)) for pair in grads for g in pair]
    else:  # this process has no rows at this step: it adds nothing
        loss, count, flat = zero, zero, [xp.reshape(xp.zeros_like(p), (-1,)) for p in params]
    figures = xp.stack([count, zero + float(n), loss * count])
    summed = combine.sum(xp.concat([*flat, figures]))
    count, rows, loss_sum = summed[-3], summed[-2], summed[-1]
    positive = count > 0
    inverse = xp.where(positive, 1.0 / xp.where(positive, count, 1.0), 0.0)
    steps, start = [], 0
    for i, p in enumerate(params):
        size = math.prod(p.shape)
        g = xp.reshape(summed[start : start + size], p.shape) * inverse
        if i % 2 == 0 and network.alpha:  # a weight matrix: the L2 term, once
            g = g + (scale * network.alpha) * inverse * p
        steps.append(g)
        start += size
    squares = sum(xp.sum(W * W) for W in params[::2]) if network.alpha else 0.0
    batch_loss = loss_sum * inverse + (0.5 * network.alpha) * inverse * squares
    return steps, rows * batch_loss


def run_epoch(
    params: list[Array],
    state: Any,
    *,
    step: Step,
    batches: BatchSource,
    rng: HostRandom,
    learning_rate: float,
    xp: Namespace,
) -> tuple[list[Array], Any, Array]:
    """One pass over ``batches``: the parameters, the optimizer state, and the loss summed
    over the samples (on the device)."""
    total = xp.zeros_like(params[-1][0])  # a 0-d array of the parameters' dtype and device
    for X, Y, *weights in batches.epoch(rng):
        params, state, total = step.run(params, state, X, Y, learning_rate, total, *weights)
    return params, state, total


# ---------------------------------------------------------------------------- a run
@dataclasses.dataclass
class TrainingState:
    """Everything a run changes: parameters (flat ``[W0, b0, W1, b1, ...]``), the optimizer
    state, the counters, and the host randomness (the generator and the shuffle order)."""

    params: list[Array]
    opt_state: Any
    progress: Progress
    rng: HostRandom


@dataclasses.dataclass
class Outcome:
    """How a run ended. ``state.params`` are the last finite parameters; ``best_params`` the
    best on the validation score (where one was held out)."""

    state: TrainingState
    diverged: bool
    stopped: bool  # by the stopping rule or a callback, before the last allowed epoch
    best_params: list[Array] | None


class _Owned:
    """What the loop may write into (``in_place``) or hand to a step that consumes it: its
    own copies, and copies of what it hands out (snapshots, rollback points), so that later
    steps never reach them."""

    def __init__(
        self, params: list[Array], state: Any, *, in_place: bool, consumes: bool, xp: Namespace
    ) -> None:
        self.in_place, self.consumes, self._xp = in_place, consumes, xp
        self.copies = in_place or consumes
        self._originals = params
        self.params = self.snapshot(params)
        self.state = _copy_tree(state, xp=xp) if consumes else state
        self._kept: list[Array] | None = None

    def snapshot(self, arrays: list[Array]) -> list[Array]:
        return [self._xp.asarray(a, copy=True) for a in arrays] if self.copies else list(arrays)

    def rollback_point(
        self, epoch: int, params: list[Array], state: Any
    ) -> tuple[list[Array], Any]:
        """``(params, state)`` as epoch ``epoch`` of this run starts, safe from its steps."""
        if self.consumes:  # the state's buffers go to the step too
            state = _copy_tree(state, xp=self._xp) if epoch else state
        if not self.copies:
            return list(params), state  # never written: no copy
        if epoch == 0:
            return list(self._originals), state  # untouched: the loop runs on copies
        if self._kept is None or not self.in_place:
            self._kept = self.snapshot(params)
        else:  # later epochs copy into arrays kept for the purpose
            for kept, current in zip(self._kept, params, strict=True):
                kept[...] = current
        return self._kept, state


def _copy_tree(value: Any, *, xp: Namespace) -> Any:
    """A copy of every array in an optimizer state (lists and named tuples of arrays)."""
    if isinstance(value, list):
        return [_copy_tree(v, xp=xp) for v in value]
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(_copy_tree(v, xp=xp) for v in value))
    return xp.asarray(value, copy=True) if is_array(value) else value


def _epoch_figure(
    total: Array, params: list[Array], n: int, combine: Combiner, *, xp: Namespace
) -> float:
    """The epoch's mean loss, read once; NaN if any parameter overflowed or is NaN."""
    checked = compile_step(_with_overflow, xp=xp, static_argnames=("xp",))(total, params, xp=xp)
    return combine.mean(checked, n)


def _with_overflow(total: Array, params: list[Array], *, xp: Namespace) -> Array:
    # 0 times the largest and the smallest weight is 0, or NaN where a weight overflowed or
    # is NaN: reductions, no temporaries.
    return total + sum(xp.max(p) * 0.0 + xp.min(p) * 0.0 for p in params)


EpochHook = Callable[["TrainingState", float, float], bool]


def train(
    state: TrainingState,
    *,
    step: Step,
    batches: BatchSource,
    rule: StopRule,
    n_epochs: int,
    in_place: bool,
    xp: Namespace,
    combine: Combiner = LOCAL,
    validate: Callable[[list[Array]], float] | None = None,
    on_epoch: EpochHook | None = None,
    log: Callable[[str], None] | None = None,
) -> Outcome:
    """Up to ``n_epochs`` epochs from ``state``; ``state`` itself is not changed.

    ``validate(params)`` scores the held-out split; ``on_epoch(state, seconds, rate)`` sees
    each finished epoch (the parameters copied; the counters and learning rate as the next
    epoch will start; ``rate`` the one this epoch trained with) and returns whether to stop.
    A non-finite loss ends the run with the parameters from before that epoch.
    """
    owned = _Owned(state.params, state.opt_state, in_place=in_place, consumes=step.consumes, xp=xp)
    params, opt_state, progress = owned.params, owned.state, state.progress.copy()
    rng, best_params = state.rng, None
    for epoch in range(n_epochs):
        started = time.perf_counter()
        start_params, start_state = owned.rollback_point(epoch, params, opt_state)
        params, opt_state, total = run_epoch(
            params, opt_state, step=step, batches=batches, rng=rng,
            learning_rate=progress.learning_rate, xp=xp,
        )  # fmt: skip
        loss = _epoch_figure(total, params, batches.n_samples, combine, xp=xp)
        if not math.isfinite(loss):
            if validate is not None and best_params is not None:
                # Early stopping keeps the best weights: the epoch is recorded (NaN score).
                progress, _ = record_epoch(
                    progress, loss, batches.n_samples, math.nan, tol=rule.tol
                )
            final = TrainingState(start_params, start_state, progress, rng)
            return Outcome(final, diverged=True, stopped=True, best_params=best_params)
        score = validate(params) if validate is not None else None
        progress, best = record_epoch(progress, loss, batches.n_samples, score, tol=rule.tol)
        if best:
            best_params = owned.snapshot(params)
        rate = progress.learning_rate  # the rate this epoch trained with
        # The schedule and the stopping counters are updated before callbacks see the state:
        # a checkpoint written now resumes exactly as the run goes on.
        progress, action = next_epoch(progress, rule)
        seconds = time.perf_counter() - started
        halt = on_epoch is not None and on_epoch(
            TrainingState(owned.snapshot(params), opt_state, progress, rng), seconds, rate
        )
        if log is not None and action != "go":
            log(explain(action, progress, rule, validation=validate is not None))
        if halt or action == "stop":
            return Outcome(
                TrainingState(params, opt_state, progress, rng), False, True, best_params
            )
    return Outcome(TrainingState(params, opt_state, progress, rng), False, False, best_params)


def params_of(pairs: Iterable[tuple[Array, Array]]) -> list[Array]:
    """``[(W0, b0), (W1, b1), ...]`` as the flat list the loop works on."""
    return [a for pair in pairs for a in pair]


def pairs_of(params: list[Array]) -> list[tuple[Array, Array]]:
    """The flat ``[W0, b0, W1, b1, ...]`` as the ``(W, b)`` pairs the math takes."""
    return list(zip(params[::2], params[1::2], strict=True))
