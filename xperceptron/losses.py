"""Output activations paired with their canonical losses, computed from logits.

Each pair is canonical (logistic + binary log-loss, softmax + categorical log-loss,
identity + half squared error, exp + half Poisson deviance), which is what makes the gradient
of the per-sample loss with respect to the output layer's logits simply ``output - y``:
backprop is seeded with that delta.
Losses are computed from the logits in a stable form (``logaddexp``, log-softmax), so
``|z|`` of 1e4 and beyond gives finite values and no overflow warnings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from ._namespace import Array, Namespace, constant, fused
from ._reductions import row_sums
from .activations import ACTIVATIONS, log_logistic, logistic

__all__ = ["OUTPUT_LOSSES", "OutputLoss", "get_output_loss", "log_softmax", "softmax"]


class OutputLoss(NamedTuple):
    """An output activation and its loss.

    ``output(logits)`` gives predictions; ``loss(logits, Y)`` the mean over samples of the
    per-sample loss (a 0-d array); ``delta(output, Y)`` the gradient of the per-sample loss
    with respect to the logits; ``loss_and_delta(logits, Y)`` both at once, sharing the
    work (what training calls). ``loss`` and ``loss_and_delta`` take ``weights``, a column
    of shape ``(n_samples, 1)`` that sums to 1 (or 0): the weighted mean instead (the delta
    stays per sample).
    """

    loss_name: str
    output: Callable[..., Array]
    loss: Callable[..., Array]
    delta: Callable[..., Array]
    loss_and_delta: Callable[..., tuple[Array, Array]]


def log_softmax(z: Array, *, xp: Namespace) -> Array:
    """Row-wise ``log(softmax(z))``, shifted by the row maximum so ``exp`` never overflows."""
    shifted = z - xp.max(z, axis=1, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))


def softmax(z: Array, *, xp: Namespace) -> Array:
    """Row-wise softmax of logits ``z`` of shape ``(n_samples, n_classes)``."""
    shifted = z - xp.max(z, axis=1, keepdims=True)
    exp = xp.exp(shifted)
    return exp / xp.sum(exp, axis=1, keepdims=True)


def _mean(losses: Array, weights: Array | None, *, xp: Namespace) -> Array:
    """The mean over samples (rows) of ``losses`` summed over outputs, or with ``weights``
    (a column summing to 1) their weighted mean."""
    if weights is None:
        return xp.sum(losses) / losses.shape[0]
    return xp.sum(losses * weights)


def _binary_log_loss(z: Array, Y: Array, *, xp: Namespace, weights: Array | None = None) -> Array:
    # -[y log s(z) + (1 - y) log(1 - s(z))] = log(1 + e^z) - y z, summed over outputs.
    return _mean(xp.logaddexp(0.0, z) - Y * z, weights, xp=xp)


def _categorical_log_loss(
    z: Array, Y: Array, *, xp: Namespace, weights: Array | None = None
) -> Array:
    return -_mean(Y * log_softmax(z, xp=xp), weights, xp=xp)


def _half_squared_error(
    z: Array, Y: Array, *, xp: Namespace, weights: Array | None = None
) -> Array:
    residual = z - Y
    return 0.5 * _mean(residual * residual, weights, xp=xp)


def _exp(z: Array, *, xp: Namespace) -> Array:
    return xp.exp(z)


def _xlogx(Y: Array, *, xp: Namespace) -> Array:
    # scipy's xlogy(y, y) for y >= 0: 0 at y == 0 (log(1) there, so no NaN in any gradient).
    return Y * xp.log(xp.where(Y > 0, Y, constant(1.0, Y, xp=xp)))


def _half_poisson_deviance(
    z: Array, Y: Array, *, xp: Namespace, weights: Array | None = None
) -> Array:
    # scikit-learn's poisson_loss with mean exp(z): xlogy(y, y / e^z) - y + e^z, from z.
    return _mean(_xlogx(Y, xp=xp) - Y - Y * z + xp.exp(z), weights, xp=xp)


def _output_minus_target(output: Array, Y: Array, *, xp: Namespace) -> Array:
    return output - Y


_Weights = Array | None


def _binary_log_loss_and_delta(
    z: Array, Y: Array, *, xp: Namespace, weights: _Weights = None
) -> tuple[Array, Array]:
    # One log-sigmoid serves both: log(1 + e^z) - y z = (1 - y) z - log s(z), s = e^(log s).
    log_positive = log_logistic(z, xp=xp)
    loss = _mean((1.0 - Y) * z - log_positive, weights, xp=xp)
    return loss, xp.exp(log_positive) - Y


def _categorical_log_loss_and_delta(
    z: Array, Y: Array, *, xp: Namespace, weights: _Weights = None
) -> tuple[Array, Array]:
    # log_softmax and softmax from one exp of the shifted logits (training's hot path); the
    # element-wise work between the row reductions is two kernels on CuPy (fused).
    shifted, exp = fused(_shifted_exp, xp=xp)(z, xp.max(z, axis=1, keepdims=True))
    terms, delta = fused(_log_loss_terms, xp=xp)(shifted, exp, row_sums(exp, xp=xp), Y)
    return _mean(terms, weights, xp=xp), delta


def _shifted_exp(z: Array, row_max: Array, *, xp: Namespace) -> tuple[Array, Array]:
    shifted = z - row_max
    return shifted, xp.exp(shifted)


def _log_loss_terms(
    shifted: Array, exp: Array, sums: Array, Y: Array, *, xp: Namespace
) -> tuple[Array, Array]:
    """Each sample's and output's term of the categorical log-loss, and softmax(z) - Y.
    ``log(sums) - shifted`` is ``-log_softmax`` exactly (IEEE negation is exact)."""
    return Y * (xp.log(sums) - shifted), exp / sums - Y


def _half_squared_error_and_delta(
    z: Array, Y: Array, *, xp: Namespace, weights: _Weights = None
) -> tuple[Array, Array]:
    residual = z - Y
    return 0.5 * _mean(residual * residual, weights, xp=xp), residual


def _half_poisson_deviance_and_delta(
    z: Array, Y: Array, *, xp: Namespace, weights: _Weights = None
) -> tuple[Array, Array]:
    mean = xp.exp(z)
    return _mean(_xlogx(Y, xp=xp) - Y - Y * z + mean, weights, xp=xp), mean - Y


OUTPUT_LOSSES: dict[str, OutputLoss] = {
    "logistic": OutputLoss(
        "binary_log_loss",
        logistic,
        _binary_log_loss,
        _output_minus_target,
        _binary_log_loss_and_delta,
    ),
    "softmax": OutputLoss(
        "log_loss",
        softmax,
        _categorical_log_loss,
        _output_minus_target,
        _categorical_log_loss_and_delta,
    ),
    "identity": OutputLoss(
        "squared_error",
        ACTIVATIONS["identity"].forward,
        _half_squared_error,
        _output_minus_target,
        _half_squared_error_and_delta,
    ),
    "exp": OutputLoss(
        "poisson",
        _exp,
        _half_poisson_deviance,
        _output_minus_target,
        _half_poisson_deviance_and_delta,
    ),
}
"""Output activation name -> its canonical loss."""


def get_output_loss(out_activation: str) -> OutputLoss:
    """Look up the loss paired with an output activation.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the known ones.
    """
    try:
        return OUTPUT_LOSSES[out_activation]
    except (KeyError, TypeError):
        raise ValueError(
            f"out_activation must be one of {sorted(OUTPUT_LOSSES)}, got {out_activation!r}."
        ) from None
