"""Optimizers as pure ``(init, update)`` pairs, and scikit-learn's learning-rate schedules.

``state = opt.init(params)``; ``steps, state = opt.update(grads, state, learning_rate, xp=xp)``;
``params = apply_updates(params, steps)``. Parameters, gradients and steps are flat lists of
arrays; states are small ``NamedTuple`` s of arrays and Python numbers. By default nothing is
written in place, so immutable arrays (JAX) work, and an optimizer can be tested on its own.

``in_place=True`` is the training loop's fast path for arrays that allow it (NumPy, CuPy,
PyTorch): ``update`` may then overwrite the gradients it is given (which the loop owns) and
``apply_updates`` adds the steps into the parameters, saving a full-size allocation per
parameter per step. Both paths give the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from ._namespace import Array, HostArray, Namespace, to_numpy

__all__ = [
    "SCHEDULES",
    "SOLVERS",
    "AdamState",
    "Optimizer",
    "SGDState",
    "adam",
    "apply_updates",
    "invscaling",
    "restore_state",
    "sgd",
    "state_to_checkpoint",
]

SOLVERS = ("lbfgs", "sgd", "adam")  # scikit-learn's; lbfgs: full batch (lbfgs.py)
SCHEDULES = ("constant", "invscaling", "adaptive")


class Optimizer(NamedTuple):
    """``init(params) -> state``; ``update(grads, state, learning_rate, xp=) -> (steps, state)``.

    ``step_scale``, where not ``None``, says that the step is a fixed multiple of the gradient
    and the state never changes: ``step = step_scale(learning_rate) * grad``. A training loop
    may then ask backprop for the steps directly (``backward(..., scale=...)``) and skip
    ``update``, saving a pass over every gradient per step.
    """

    init: Callable[[Sequence[Array]], Any]
    update: Callable[..., tuple[list[Array], Any]]
    step_scale: Callable[[float], float] | None = None
    step_size: Callable[[Any, float], float] | None = None
    """Where not ``None``, ``step_size(state, learning_rate)`` is the one number ``update``
    computes on the host at each step (Adam's bias-corrected rate), and
    ``update(..., step_size=s)`` takes it given instead, a float or a 0-d array of the
    parameters' dtype: a replayed CUDA graph fills one array with it before each step."""


class SGDState(NamedTuple):
    velocities: list[Array]


class LBFGSState(NamedTuple):
    """Full-batch L-BFGS keeps nothing between calls: each fit starts a new memory, as
    scikit-learn's (SciPy's) does."""


class AdamState(NamedTuple):
    step: int  # a Python int eagerly; under jax.jit an integer array
    first_moments: list[Array]
    second_moments: list[Array]


# Each state's kind -> its class and the fields that hold one array per parameter (the
# other fields are Python ints).
_STATES: dict[str, tuple[Any, tuple[str, ...]]] = {
    "SGDState": (SGDState, ("velocities",)),
    "AdamState": (AdamState, ("first_moments", "second_moments")),
    "LBFGSState": (LBFGSState, ()),
}
_NON_NEGATIVE = frozenset({"second_moments"})  # moving averages of squares


def _zeros_like(params: Sequence[Array]) -> list[Array]:
    # Through the array itself: the namespace's zeros_like keeps dtype and device.
    return [p * 0 for p in params]


def sgd(momentum: float = 0.9, nesterov: bool = True) -> Optimizer:
    """Stochastic gradient descent with momentum, as scikit-learn's.

    ``velocity = momentum * velocity - lr * grad``; the step is the velocity, or with
    Nesterov's look-ahead ``momentum * velocity - lr * grad`` with the new velocity. With
    ``momentum=0`` the step is exactly ``-lr * grad``.
    """

    def init(params: Sequence[Array]) -> SGDState:
        return SGDState(_zeros_like(params))

    def update(
        grads: Sequence[Array],
        state: SGDState,
        learning_rate: float,
        *,
        xp: Namespace,
        in_place: bool = False,
    ) -> tuple[list[Array], SGDState]:
        if momentum == 0:
            if in_place:
                for g in grads:
                    g *= -learning_rate
                return list(grads), state
            steps = [-learning_rate * g for g in grads]
            return steps, state
        velocities = [
            momentum * v - learning_rate * g for v, g in zip(state.velocities, grads, strict=True)
        ]
        if nesterov:
            steps = [
                momentum * v - learning_rate * g for v, g in zip(velocities, grads, strict=True)
            ]
        else:
            steps = velocities
        return steps, SGDState(velocities)

    return Optimizer(init, update, step_scale=_negative if momentum == 0 else None)


def full_batch() -> Optimizer:
    """The optimizer entry of ``solver="lbfgs"``: an empty state and no per-step update
    (:func:`xperceptron.lbfgs.minimize_lbfgs` moves the parameters)."""

    def update(*_: Any, **__: Any) -> tuple[list[Array], LBFGSState]:
        raise TypeError("lbfgs trains full batch through minimize_lbfgs, not step by step.")

    return Optimizer(lambda params: LBFGSState(), update)


def adam(beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8) -> Optimizer:
    """Adam (Kingma & Ba, 2014) with scikit-learn's bias-corrected step size.

    ``lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)``, step ``-lr_t * m / (sqrt(v) + eps)``.
    """

    def init(params: Sequence[Array]) -> AdamState:
        return AdamState(0, _zeros_like(params), _zeros_like(params))

    def bias_corrected(state: AdamState, learning_rate: float) -> Any:
        count = state.step + 1
        # ** 0.5, not math.sqrt: under jax.jit the count is a traced array.
        return learning_rate * (1 - beta_2**count) ** 0.5 / (1 - beta_1**count)

    def update(
        grads: Sequence[Array],
        state: AdamState,
        learning_rate: float,
        *,
        xp: Namespace,
        in_place: bool = False,
        step_size: Any = None,
    ) -> tuple[list[Array], AdamState]:
        count = state.step + 1
        first = [
            beta_1 * m + (1 - beta_1) * g for m, g in zip(state.first_moments, grads, strict=True)
        ]
        second = [
            beta_2 * v + (1 - beta_2) * (g * g)
            for v, g in zip(state.second_moments, grads, strict=True)
        ]
        size = bias_corrected(state, learning_rate) if step_size is None else step_size
        steps = [-size * m / (xp.sqrt(v) + epsilon) for m, v in zip(first, second, strict=True)]
        return steps, AdamState(count, first, second)

    return Optimizer(init, update, step_size=bias_corrected)


def _negative(learning_rate: float) -> float:
    return -learning_rate


def apply_updates(
    params: Sequence[Array], steps: Sequence[Array], *, in_place: bool = False
) -> list[Array]:
    """``params + steps``: new arrays, or with ``in_place`` the parameters themselves."""
    if in_place:
        for p, s in zip(params, steps, strict=True):
            p += s
        return list(params)
    return [p + s for p, s in zip(params, steps, strict=True)]


def invscaling(learning_rate_init: float, power_t: float, n_samples_seen: int) -> float:
    """scikit-learn's ``invscaling`` schedule: ``lr_init / (t + 1) ** power_t``.

    ``t`` counts the samples seen so far; the rate changes at the end of each epoch. Where
    ``(t + 1) ** power_t`` is beyond the largest float, the rate is 0 (its limit).
    """
    try:
        return float(learning_rate_init / (n_samples_seen + 1) ** power_t)
    except OverflowError:
        return 0.0


def state_to_checkpoint(state: Any) -> tuple[dict[str, Any], dict[str, HostArray]]:
    """An optimizer state as JSON-able metadata (its kind, its counters) and host arrays
    named ``{field}_{i}``, one per parameter."""
    arrays: dict[str, HostArray] = {}
    kind = type(state).__name__
    meta: dict[str, Any] = {"kind": kind}
    for field, value in state._asdict().items():
        if field in _STATES[kind][1]:
            arrays.update({f"{field}_{i}": to_numpy(v) for i, v in enumerate(value)})
        else:
            meta[field] = int(to_numpy(value)) if not isinstance(value, int) else value
    return meta, arrays


def restore_state(meta: dict[str, Any], read: Callable[..., Array], shapes: Sequence[Any]) -> Any:
    """The optimizer state :func:`state_to_checkpoint` wrote, its arrays read by
    ``read(name, shape)`` (which checks them) for parameters of ``shapes``.

    ``read(name, shape, non_negative=True)`` for arrays that cannot hold a negative value
    (Adam's second moments).

    Raises
    ------
    ValueError
        For an unknown kind, a missing or unknown field, or a counter that is not an int in
        ``[0, 2**63)``.
    """
    kind = meta.get("kind") if isinstance(meta, dict) else None
    if not isinstance(kind, str) or kind not in _STATES:
        raise ValueError(f"unknown optimizer state {kind!r:.50}; known: {sorted(_STATES)}.")
    cls, array_fields = _STATES[kind]
    counters = {"kind", *(f for f in cls._fields if f not in array_fields)}
    if set(meta) != counters:
        raise ValueError(f"optimizer state {kind} has fields {sorted(meta)[:10]!r:.200}; "
                         f"expected {sorted(counters)}.")  # fmt: skip
    values: dict[str, Any] = {}
    for field in cls._fields:
        if field in array_fields:
            values[field] = [
                read(f"{field}_{i}", tuple(s), non_negative=field in _NON_NEGATIVE)
                for i, s in enumerate(shapes)
            ]
            continue
        count = meta[field]
        if type(count) is not int or not 0 <= count < 2**63:
            raise ValueError(f"optimizer {field} must be an int in [0, 2**63), got {count!r:.50}.")
        values[field] = count
    return cls(**values)
