"""Forward propagation and backpropagation, written once against the array API standard.

Parameters are a list of ``(W, b)`` pairs, ``W`` of shape ``(n_in, n_out)`` and ``b`` of shape
``(n_out,)``, as scikit-learn's ``coefs_`` and ``intercepts_``. Every function is pure: it
returns new arrays and never writes into its arguments, so read-only and immutable arrays
(JAX) work as well as NumPy, CuPy and PyTorch.

The objective is ``mean over samples of the per-sample loss + alpha / (2 n) * sum ||W||^2``
(weights only, not biases), with ``n`` the number of samples in the batch. With sample
weights ``s`` it is scikit-learn's: ``sum(s_i loss_i) / sum(s) + alpha / (2 sum(s)) * sum
||W||^2``, and a batch whose weights sum to zero contributes nothing (not a division by 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from ._namespace import Array, Namespace, constant, fused, fuses
from ._reductions import column_sums
from .activations import get_activation
from .losses import get_output_loss

__all__ = [
    "Params",
    "SampleWeights",
    "backward",
    "forward",
    "l2_penalty",
    "predict",
    "sample_weights",
    "value_and_grad",
]

Params = Sequence[tuple[Array, Array]]


class SampleWeights(NamedTuple):
    """A batch's sample weights as the objective uses them: ``column`` of shape
    ``(n_samples, 1)``, each weight over the batch's total, and ``inverse_total``, the 0-d
    ``1 / sum(weights)`` (0 where they sum to 0: the batch then contributes nothing)."""

    column: Array
    inverse_total: Array


def sample_weights(weights: Array, *, xp: Namespace) -> SampleWeights:
    """:class:`SampleWeights` of non-negative ``weights`` of shape ``(n_samples,)``."""
    total = xp.sum(weights)
    positive = total > 0
    one, zero = constant(1.0, total, xp=xp), constant(0.0, total, xp=xp)
    inverse = xp.where(positive, 1.0 / xp.where(positive, total, one), zero)
    return SampleWeights(xp.reshape(weights, (-1, 1)) * inverse, inverse)


def forward(
    params: Params, X: Array, *, activation: str, xp: Namespace, in_place: bool = False
) -> tuple[Array, list[Array]]:
    """Propagate ``X`` through the network up to the output layer's logits.

    Parameters
    ----------
    params : list of (W, b)
        ``W`` of shape ``(n_in, n_out)``, ``b`` of shape ``(n_out,)``.
    X : array of shape (n_samples, n_features)
    activation : str
        Hidden-layer activation (see :data:`xperceptron.activations.ACTIVATIONS`).
    in_place : bool
        The caller's promise that its arrays are writeable (NumPy, CuPy, PyTorch): each
        layer's fresh product then takes the bias and activation in place. Never for JAX.

    Returns
    -------
    logits : array of shape (n_samples, n_outputs)
        The output layer's pre-activation; losses are computed from it stably.
    activations : list of arrays
        The input of each layer, ``[X, h_1, ..., h_{L-1}]``: what :func:`backward` needs.
    """
    logits, activations, _ = _propagate(
        params, X, activation, keep_derivatives=False, in_place=in_place, xp=xp
    )
    return logits, activations


def _propagate(
    params: Params,
    X: Array,
    activation: str,
    *,
    keep_derivatives: bool,
    in_place: bool,
    xp: Namespace,
) -> tuple[Array, list[Array], list[Array] | None]:
    """:func:`forward`, and with ``keep_derivatives`` the hidden layers' ``f'(z)`` where the
    activation offers them (``[None, f'(z_1), ..., f'(z_{L-1})]``), else ``None``."""
    activations = [X]
    derivatives: list[Array] = [None]  # the input layer has none
    with_derivative = None
    if len(params) > 1:
        hidden = get_activation(activation)
        with_derivative = hidden.with_derivative if keep_derivatives else None
        # The fresh product takes the bias and f in place, except where the namespace fuses
        # them (CuPy: the bias, f and f' in one kernel).
        layer_in_place = in_place and not fuses(xp)
        for W, b in params[:-1]:
            if with_derivative is None:
                activations.append(hidden.forward(_affine(activations[-1], W, b, in_place), xp=xp))
                continue
            if layer_in_place:
                z = _affine(activations[-1], W, b, in_place=True)
                output, derivative = with_derivative(z, in_place=True, xp=xp)
            else:
                biased = fused(_biased, xp=xp, activation=activation)
                output, derivative = biased(activations[-1] @ W, b)
            activations.append(output)
            derivatives.append(derivative)
    W, b = params[-1]
    kept = derivatives if with_derivative is not None else None
    return _affine(activations[-1], W, b, in_place), activations, kept


def _biased(product: Array, b: Array, *, activation: str, xp: Namespace) -> tuple[Array, Array]:
    """``(f(z), f'(z))`` of ``z = product + b``: element-wise, so CuPy fuses it."""
    with_derivative = get_activation(activation).with_derivative
    assert with_derivative is not None
    return with_derivative(product + b, xp=xp)


def _affine(A: Array, W: Array, b: Array, in_place: bool) -> Array:
    """``A @ W + b``; with ``in_place``, the bias is added into the product (a new array)."""
    product = A @ W
    if in_place:
        product += b
        return product
    return product + b


def predict(
    params: Params, X: Array, *, activation: str, out_activation: str, xp: Namespace
) -> Array:
    """The network's output: probabilities for logistic/softmax outputs, values for identity."""
    logits, _ = forward(params, X, activation=activation, xp=xp)
    return get_output_loss(out_activation).output(logits, xp=xp)


def backward(
    params: Params,
    activations: Sequence[Array],
    delta: Array,
    *,
    activation: str,
    alpha: float = 0.0,
    scale: float = 1.0,
    derivatives: Sequence[Array] | None = None,
    weights: SampleWeights | None = None,
    in_place: bool = False,
    xp: Namespace,
) -> list[tuple[Array, Array]]:
    """Backpropagate an output delta to the gradient of every ``(W, b)``.

    Parameters
    ----------
    params : list of (W, b)
    activations : list of arrays
        As returned by :func:`forward`.
    delta : array of shape (n_samples, n_outputs)
        Gradient of each sample's loss with respect to the output logits: ``output - y``
        for the canonical output/loss pairs of :mod:`xperceptron.losses`. The Perceptron's
        tutorial rule passes its thresholded error here instead.
    alpha : float
        L2 strength; adds ``alpha / n * W`` to each weight gradient.
    scale : float
        Every gradient comes back multiplied by ``scale``. Backprop is linear in delta, so
        the factor costs nothing: it joins the ``1 / n`` on the output delta, one pass over an
        ``(n_samples, n_outputs)`` array instead of one over every gradient. Plain SGD passes
        ``-learning_rate`` and gets its steps directly.
    derivatives : list of arrays, optional
        ``f'(z)`` of each hidden layer, aligned with ``activations`` (entry 0 unused), where
        the forward pass kept them (ReLU's 0/1 mask); otherwise each is computed here from
        the layer's output.
    weights : SampleWeights, optional
        Sample weights (:func:`sample_weights`): each sample's delta counts by its weight,
        and ``sum(weights)`` takes the place of ``n`` (in the L2 term too).
    in_place : bool
        The caller's promise that its arrays are writeable: the chain rule then multiplies
        into each fresh ``delta @ W.T``.

    Returns
    -------
    list of (grad_W, grad_b)
        Gradients of the mean loss plus the L2 term (times ``scale``), shaped as ``params``.
    """
    hidden_backward = get_activation(activation).backward if len(params) > 1 else None
    # Backprop is linear in delta: scaling it once gives every gradient its scale / n.
    if weights is None:
        n_samples = delta.shape[0]
        delta = delta * (scale / n_samples)
        l2_scale: Array | float = scale * alpha / n_samples
    else:
        delta = delta * (weights.column * scale)
        l2_scale = (scale * alpha) * weights.inverse_total
    in_place = in_place and derivatives is not None
    grads: list[tuple[Array, Array]] = [None] * len(params)  # type: ignore[list-item]
    for layer in range(len(params) - 1, -1, -1):
        W = params[layer][0]
        layer_input = activations[layer]
        grad_W = layer_input.T @ delta
        if alpha:
            grad_W = grad_W + l2_scale * W
        grads[layer] = (grad_W, column_sums(delta, xp=xp))
        if hidden_backward is None or layer == 0:  # the input layer needs no delta
            continue
        if derivatives is None:
            delta = hidden_backward(delta @ W.T, layer_input, xp=xp)
        elif in_place:  # the product is a fresh array: the chain rule goes into it
            delta = delta @ W.T
            delta *= derivatives[layer]
        else:
            delta = (delta @ W.T) * derivatives[layer]
    return grads


def l2_penalty(
    params: Params,
    n_samples: int,
    *,
    alpha: float,
    xp: Namespace,
    weights: SampleWeights | None = None,
) -> Array | float:
    """``alpha / (2 n) * sum ||W||^2`` over the weights (a 0-d array, or 0.0 without alpha);
    with ``weights``, ``n`` is the sum of the sample weights."""
    if not alpha:
        return 0.0
    squares = sum(xp.sum(W * W) for W, _ in params)
    if weights is not None:
        return ((0.5 * alpha) * weights.inverse_total) * squares
    return (alpha / (2 * n_samples)) * squares


def value_and_grad(
    params: Params,
    X: Array,
    Y: Array,
    *,
    activation: str,
    out_activation: str,
    alpha: float = 0.0,
    scale: float = 1.0,
    sample_weight: Array | None = None,
    in_place: bool = False,
    xp: Namespace,
) -> tuple[Array, list[tuple[Array, Array]]]:
    """The regularised mean loss on ``(X, Y)`` and its exact gradient.

    Parameters
    ----------
    Y : array of shape (n_samples, n_outputs)
        Targets: one-hot rows for softmax, 0/1 indicators for logistic, values for identity.
    scale : float
        Multiplies the gradients (not the loss); see :func:`backward`.
    sample_weight : array of shape (n_samples,), optional
        Non-negative weights: the loss is their weighted mean, and the L2 term is over their
        sum instead of ``n`` (scikit-learn's objective).
    in_place : bool
        Whether fresh intermediate arrays may be written (see :func:`forward`); the inputs
        never are.

    Returns
    -------
    loss : 0-d array, on the device (nothing is read to the host)
    grads : list of (grad_W, grad_b)

    Examples
    --------
    The same call on any namespace; here array-api-strict on one of its simulated devices:

    >>> import array_api_strict as xp
    >>> device = xp.Device("device1")
    >>> W = xp.asarray([[0.5], [-0.25]], device=device)
    >>> b = xp.asarray([0.1], device=device)
    >>> X = xp.asarray([[1.0, 2.0], [3.0, 4.0]], device=device)
    >>> Y = xp.asarray([[1.5], [0.0]], device=device)
    >>> loss, ((grad_W, grad_b),) = value_and_grad(
    ...     [(W, b)], X, Y, activation="relu", out_activation="identity", xp=xp)
    >>> float(loss), grad_W.device == device
    (0.58, True)
    >>> round(float(grad_b[0]), 12)  # mean of X @ W + b - Y = mean([-1.4, 0.6])
    -0.4
    """
    logits, activations, derivatives = _propagate(
        params, X, activation, keep_derivatives=True, in_place=in_place, xp=xp
    )
    weights = None if sample_weight is None else sample_weights(sample_weight, xp=xp)
    loss, delta = get_output_loss(out_activation).loss_and_delta(
        logits, Y, xp=xp, weights=None if weights is None else weights.column
    )
    if alpha:
        loss = loss + l2_penalty(params, X.shape[0], alpha=alpha, xp=xp, weights=weights)
    grads = backward(
        params, activations, delta, activation=activation, alpha=alpha, scale=scale,
        derivatives=derivatives, weights=weights, in_place=in_place, xp=xp,
    )  # fmt: skip
    return loss, grads
