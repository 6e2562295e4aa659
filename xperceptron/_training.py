"""The training loop: a training state, one epoch, a run of epochs, and their seams.

The estimators describe a run (network, optimizer, data, stopping rule) and publish what it
returns; this module runs it. Three seams, each replaceable alone:

- **where batches come from**: a :class:`BatchSource` (:class:`InMemoryBatches` slices or
  gathers rows of arrays on the device; a stream of chunks is another source);
- **how a batch's gradients are combined** before the update, and the epoch's figures before
  they are read: a :class:`Combiner` (:data:`LOCAL` is the identity; an all-reduce across
  processes is another);
- **how the epoch's figures set the learning rate and decide stopping**: :func:`record_epoch`
  and :func:`next_epoch`, pure functions of :class:`Progress` and a :class:`StopRule`.

Inside an epoch nothing is read to the host: the loss is summed on the device and read once
at the epoch's end, with a check that every parameter is still finite.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple, Protocol

import numpy as np

from ._namespace import Array, Device, Namespace, compile_step
from .network import value_and_grad
from .optimizers import Optimizer, apply_updates, invscaling

__all__ = [
    "LOCAL",
    "BatchSource",
    "Combiner",
    "InMemoryBatches",
    "Network",
    "Outcome",
    "Progress",
    "StopRule",
    "TrainingState",
    "make_step",
    "next_epoch",
    "record_epoch",
    "run_epoch",
    "train",
]


# ---------------------------------------------------------------------------- progress
@dataclasses.dataclass
class Progress:
    """The counters of a training run, kept between calls (``partial_fit``, ``warm_start``)."""

    learning_rate: float
    n_iter: int = 0
    t: int = 0
    loss_curve: list[float] = dataclasses.field(default_factory=list)
    best_loss: float = math.inf
    no_improvement: int = 0
    validation_scores: list[float] = dataclasses.field(default_factory=list)
    best_validation_score: float = -math.inf

    def copy(self) -> Progress:
        return dataclasses.replace(
            self, loss_curve=list(self.loss_curve), validation_scores=list(self.validation_scores)
        )

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Progress:
        """The counters :meth:`to_json` wrote, each checked for its type.

        Raises
        ------
        ValueError
            If a counter is missing or of the wrong type.
        """
        if not isinstance(data, dict) or set(data) != {f.name for f in dataclasses.fields(cls)}:
            raise ValueError(f"training progress has unexpected fields: {data!r:.200}.")
        for name in ("n_iter", "t", "no_improvement"):
            if type(data[name]) is not int or data[name] < 0:
                raise ValueError(f"progress {name} must be an int >= 0, got {data[name]!r}.")
        for name in ("learning_rate", "best_loss", "best_validation_score"):
            if not isinstance(data[name], int | float) or isinstance(data[name], bool):
                raise ValueError(f"progress {name} must be a number, got {data[name]!r}.")
        for name in ("loss_curve", "validation_scores"):
            curve = data[name]
            if not isinstance(curve, list) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in curve
            ):
                raise ValueError(f"progress {name} must be a list of numbers.")
        fields: dict[str, Any] = {
            k: (list(v) if isinstance(v, list) else v) for k, v in data.items()
        }
        return cls(**fields)


@dataclasses.dataclass(frozen=True)
class StopRule:
    """What the epoch's figures decide: scikit-learn's stopping and learning-rate rules.

    ``schedule`` is ``"constant"``, ``"invscaling"`` (``lr_init / (t + 1) ** power_t``) or
    ``"adaptive"`` (divide the rate by 5 instead of stopping, down to 1e-6).
    ``n_iter_no_change`` may be ``math.inf``: never stop early.
    """

    tol: float
    n_iter_no_change: float
    schedule: str = "constant"
    learning_rate_init: float = 0.001
    power_t: float = 0.5


def record_epoch(
    progress: Progress, loss: float, n_samples: int, score: float | None, *, tol: float
) -> tuple[Progress, bool]:
    """The progress after an epoch of mean loss ``loss`` over ``n_samples`` (and validation
    ``score``, where held out), and whether this epoch's parameters are the best so far on
    the validation score."""
    new = progress.copy()
    new.n_iter += 1
    new.t += n_samples
    new.loss_curve.append(loss)
    best = False
    if score is not None:
        new.validation_scores.append(score)
        improved = score >= progress.best_validation_score + tol
        best = score > progress.best_validation_score
        new.best_validation_score = max(score, progress.best_validation_score)
    else:
        improved = loss <= progress.best_loss - tol
        new.best_loss = min(progress.best_loss, loss)
    new.no_improvement = 0 if improved else progress.no_improvement + 1
    return new, best


def next_epoch(progress: Progress, rule: StopRule) -> tuple[Progress, str]:
    """The learning rate for the next epoch, and ``"go"``, ``"reduced"`` (the adaptive
    schedule divided the rate instead of stopping) or ``"stop"``."""
    new = progress.copy()
    if rule.schedule == "invscaling":
        new.learning_rate = invscaling(rule.learning_rate_init, rule.power_t, new.t)
    if new.no_improvement <= rule.n_iter_no_change:
        return new, "go"
    if rule.schedule == "adaptive" and new.learning_rate > 1e-6:
        new.learning_rate /= 5.0
        new.no_improvement = 0
        return new, "reduced"
    return new, "stop"


# ---------------------------------------------------------------------------- seams
class BatchSource(Protocol):
    """Where an epoch's mini-batches come from."""

    n_samples: int

    def epoch(self, rng: np.random.Generator) -> Iterator[tuple[Array, Array]]:
        """The epoch's ``(X_batch, Y_batch)`` pairs; ``rng`` (on the host) may shuffle."""
        ...


class InMemoryBatches:
    """Mini-batches of arrays held on the device: consecutive slices, or with ``shuffle``
    rows gathered through one permutation per epoch, drawn on the host and moved once (no
    shuffled copy of the data set is made)."""

    def __init__(
        self, X: Array, Y: Array, batch_size: int, *, shuffle: bool, xp: Namespace, device: Device
    ) -> None:
        self.X, self.Y, self.batch_size, self.shuffle = X, Y, batch_size, shuffle
        self.n_samples = int(X.shape[0])
        self._xp, self._device = xp, device

    def epoch(self, rng: np.random.Generator) -> Iterator[tuple[Array, Array]]:
        xp, X, Y, n = self._xp, self.X, self.Y, self.n_samples
        order = xp.asarray(rng.permutation(n), device=self._device) if self.shuffle else None
        for start in range(0, n, self.batch_size):
            stop = min(start + self.batch_size, n)
            if order is None:
                yield X[start:stop, ...], Y[start:stop, ...]
            else:
                rows = order[start:stop]
                yield xp.take(X, rows, axis=0), xp.take(Y, rows, axis=0)


class Combiner(Protocol):
    """How one process's figures join the others' (the identity in a single process)."""

    def gradients(self, grads: list[Array], n_batch: int) -> list[Array]:
        """The gradients of the global batch from this process's mean over ``n_batch``."""
        ...

    def mean(self, total: Array, n_samples: int) -> float:
        """``total / n_samples`` over every process, read to the host (the epoch's one read)."""
        ...


class _Local:
    """A single process: nothing to combine."""

    def gradients(self, grads: list[Array], n_batch: int) -> list[Array]:
        return grads

    def mean(self, total: Array, n_samples: int) -> float:
        return float(total) / n_samples


LOCAL: Combiner = _Local()


# ---------------------------------------------------------------------------- one step
class Network(NamedTuple):
    """What the loss depends on besides the parameters and the data."""

    activation: str
    out_activation: str
    alpha: float


Step = Callable[[list[Array], Any, Array, Array, float], tuple[list[Array], Any, Array]]


def make_step(
    network: Network,
    optimizer: Optimizer,
    *,
    combine: Combiner = LOCAL,
    in_place: bool,
    xp: Namespace,
) -> Step:
    """``step(params, state, X_batch, Y_batch, learning_rate) -> (params, state, loss)``.

    With ``in_place`` the parameters are updated in the arrays given. On JAX, a single
    process's step is compiled with ``jax.jit`` (once per batch shape).
    """
    step_scale = optimizer.step_scale  # plain SGD: backprop returns the steps themselves
    options = {"activation": network.activation, "out_activation": network.out_activation}

    def step(
        params: list[Array], state: Any, X: Array, Y: Array, learning_rate: float
    ) -> tuple[list[Array], Any, Array]:
        scale = 1.0 if step_scale is None else step_scale(learning_rate)
        pairs = list(zip(params[::2], params[1::2], strict=True))
        loss, grads = value_and_grad(
            pairs, X, Y, alpha=network.alpha, scale=scale, in_place=in_place, xp=xp, **options
        )
        steps = combine.gradients([g for pair in grads for g in pair], X.shape[0])
        if step_scale is None:
            steps, state = optimizer.update(steps, state, learning_rate, xp=xp, in_place=in_place)
        return apply_updates(params, steps, in_place=in_place), state, loss

    return compile_step(step, xp=xp) if combine is LOCAL else step


def run_epoch(
    params: list[Array],
    state: Any,
    *,
    step: Step,
    batches: BatchSource,
    rng: np.random.Generator,
    learning_rate: float,
) -> tuple[list[Array], Any, Array | float]:
    """One pass over ``batches``: the parameters, the optimizer state, and the loss summed
    over the samples (on the device)."""
    total: Array | float = 0.0
    for X, Y in batches.epoch(rng):
        params, state, loss = step(params, state, X, Y, learning_rate)
        total = total + loss * X.shape[0]
    return params, state, total


# ---------------------------------------------------------------------------- a run
@dataclasses.dataclass
class TrainingState:
    """Everything a run changes: parameters (flat ``[W0, b0, W1, b1, ...]``), the optimizer
    state, the counters, and the host random generator."""

    params: list[Array]
    opt_state: Any
    progress: Progress
    rng: np.random.Generator


@dataclasses.dataclass
class Outcome:
    """How a run ended. ``state.params`` are the last finite parameters; ``best_params`` the
    best on the validation score (where one was held out)."""

    state: TrainingState
    diverged: bool
    stopped: bool  # by the stopping rule or a callback, before the last allowed epoch
    best_params: list[Array] | None


class _Owned:
    """Parameters the loop may update in place: its own copies, and the copies it hands out
    (snapshots, a rollback point) so that later updates never reach them."""

    def __init__(self, params: list[Array], *, in_place: bool, xp: Namespace) -> None:
        self.in_place, self._xp = in_place, xp
        self._originals = params
        self.params = self.snapshot(params) if in_place else list(params)
        self._kept: list[Array] | None = None

    def snapshot(self, arrays: list[Array]) -> list[Array]:
        return [self._xp.asarray(a, copy=True) for a in arrays] if self.in_place else list(arrays)

    def rollback_point(self, epoch: int, params: list[Array]) -> list[Array]:
        """``params`` as epoch ``epoch`` of this run starts, safe from its updates."""
        if not self.in_place:
            return list(params)  # never written: no copy
        if epoch == 0:
            return list(self._originals)  # untouched: the loop runs on copies
        if self._kept is None:  # later epochs copy into arrays kept for the purpose
            self._kept = self.snapshot(params)
        else:
            for kept, current in zip(self._kept, params, strict=True):
                kept[...] = current
        return self._kept


def _epoch_figure(total: Array | float, params: list[Array], n: int, combine: Combiner,
                  *, xp: Namespace) -> float:  # fmt: skip
    """The epoch's mean loss, read once; NaN if any parameter overflowed or is NaN (0 times
    the largest and the smallest weight: reductions, no temporaries)."""
    overflow = sum(xp.max(p) * 0.0 + xp.min(p) * 0.0 for p in params)
    return combine.mean(total + overflow, n)


EpochHook = Callable[["TrainingState", float], bool]


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

    ``validate(params)`` scores the held-out split; ``on_epoch(state, seconds)`` sees each
    finished epoch (the parameters copied) and returns whether to stop. A non-finite loss
    ends the run with the parameters from before that epoch.
    """
    owned = _Owned(state.params, in_place=in_place, xp=xp)
    params, opt_state, progress = owned.params, state.opt_state, state.progress.copy()
    rng, best_params = state.rng, None
    for epoch in range(n_epochs):
        started = time.perf_counter()
        start_params, start_state = owned.rollback_point(epoch, params), opt_state
        params, opt_state, total = run_epoch(
            params, opt_state, step=step, batches=batches, rng=rng,
            learning_rate=progress.learning_rate,
        )  # fmt: skip
        loss = _epoch_figure(total, params, batches.n_samples, combine, xp=xp)
        if not math.isfinite(loss):
            final = TrainingState(start_params, start_state, progress, rng)
            return Outcome(final, diverged=True, stopped=True, best_params=best_params)
        score = validate(params) if validate is not None else None
        progress, best = record_epoch(progress, loss, batches.n_samples, score, tol=rule.tol)
        if best:
            best_params = owned.snapshot(params)
        seconds = time.perf_counter() - started
        if on_epoch is not None and on_epoch(
            TrainingState(owned.snapshot(params), opt_state, progress, rng), seconds
        ):
            return Outcome(
                TrainingState(params, opt_state, progress, rng), False, True, best_params
            )
        progress, action = next_epoch(progress, rule)
        if log is not None and action != "go":
            log(_explain(action, progress, rule, validation=validate is not None))
        if action == "stop":
            return Outcome(
                TrainingState(params, opt_state, progress, rng), False, True, best_params
            )
    return Outcome(TrainingState(params, opt_state, progress, rng), False, False, best_params)


def _explain(action: str, progress: Progress, rule: StopRule, *, validation: bool) -> str:
    if action == "reduced":
        return f"Setting learning rate to {progress.learning_rate:f}"
    what = "Validation score" if validation else "Training loss"
    return (
        f"{what} did not improve more than tol={rule.tol} for {rule.n_iter_no_change} "
        "consecutive epochs. Stopping."
    )


def params_of(pairs: Iterable[tuple[Array, Array]]) -> list[Array]:
    """``[(W0, b0), (W1, b1), ...]`` as the flat list the loop works on."""
    return [a for pair in pairs for a in pair]
