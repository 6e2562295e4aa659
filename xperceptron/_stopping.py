"""The counters of a training run, and how each epoch's figures set the learning rate and
decide stopping: scikit-learn's rules, as pure functions of the counters (the training
loop's third seam, testable alone)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from .optimizers import invscaling

__all__ = ["Progress", "StopRule", "explain", "next_epoch", "record_epoch"]


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
            If a counter is missing, of the wrong type (counters are ints in ``[0, 2**63)``,
            figures floats as :meth:`to_json` writes them), or out of range: the learning
            rate, the losses and the scores finite (the best loss may be ``inf`` before any,
            the best score ``-inf``), one loss per epoch, a score for at most each.
        """
        if not isinstance(data, dict) or set(data) != {f.name for f in dataclasses.fields(cls)}:
            raise ValueError(f"training progress has unexpected fields: {data!r:.200}.")
        for name in ("n_iter", "t", "no_improvement"):
            if type(data[name]) is not int or not 0 <= data[name] < 2**63:
                raise ValueError(
                    f"progress {name} must be an int >= 0 and < 2**63, got {data[name]!r:.50}."
                )
        allowed = {"learning_rate": (), "best_loss": (math.inf,),
                   "best_validation_score": (-math.inf,)}  # fmt: skip
        for name, infinite in allowed.items():
            value = data[name]
            if type(value) is not float or not (math.isfinite(value) or value in infinite):
                raise ValueError(f"progress {name} must be a finite float, got {value!r:.50}.")
        if data["learning_rate"] < 0:
            raise ValueError(f"progress learning_rate must be >= 0, got {data['learning_rate']}.")
        for name in ("loss_curve", "validation_scores"):
            curve = data[name]
            if not isinstance(curve, list) or not all(
                type(v) is float and math.isfinite(v) for v in curve
            ):
                raise ValueError(f"progress {name} must be a list of numbers (finite floats).")
        if len(data["loss_curve"]) != data["n_iter"] or len(data["validation_scores"]) > len(
            data["loss_curve"]
        ):
            raise ValueError("progress must have one loss per epoch and at most one score.")
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
        if best:  # a NaN score (a diverged epoch) is never the best
            new.best_validation_score = score
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


def explain(action: str, progress: Progress, rule: StopRule, *, validation: bool) -> str:
    """What verbose training prints when ``next_epoch`` did not just go on."""
    if action == "reduced":
        return f"Setting learning rate to {progress.learning_rate:f}"
    what = "Validation score" if validation else "Training loss"
    return (
        f"{what} did not improve more than tol={rule.tol} for {rule.n_iter_no_change} "
        "consecutive epochs. Stopping."
    )
