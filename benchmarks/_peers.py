"""The hand-written peers: the tutorial's NumPy loop, a raw NumPy MLP and a PyTorch eager MLP.

Each does the same math as xperceptron on the same data: ReLU hidden layers, a softmax
output with the mean cross-entropy, plain SGD (no momentum, no weight decay), one
permutation of the samples per epoch, the epoch's mean loss read once at its end.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "NumpyMLP",
    "TorchMLP",
    "glorot_uniform",
    "matmul_floor_epoch",
    "synthetic_classification",
    "tutorial_loop",
]

Params = list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]


def tutorial_loop(
    x: np.ndarray[Any, Any],
    y: np.ndarray[Any, Any],
    w: np.ndarray[Any, Any],
    b: float,
    learning_rate: float,
    n_iter: int,
) -> tuple[np.ndarray[Any, Any], float]:
    """The classic tutorial's perceptron, samples as columns: ``x (2, m)``, ``w (2, 1)``.

    ``n_iter`` full-batch iterations of: ``z = wᵀx + b``, sigmoid, threshold at 0.5,
    ``dw = x (ŷ - y)ᵀ / m``, ``db = Σ(ŷ - y) / m``, step of ``learning_rate``.
    """
    w = w.copy()
    m = x.shape[1]
    for _ in range(n_iter):
        z = w.T @ x + b
        a = 1.0 / (1.0 + np.exp(-z))
        y_pred = np.where(a >= 0.5, 1.0, 0.0)
        dz = y_pred - y
        dw = x @ dz.T / m
        db = np.sum(dz) / m
        w -= learning_rate * dw
        b -= learning_rate * db
    return w, float(b)


def glorot_uniform(layer_sizes: Sequence[int], rng: np.random.Generator, dtype: Any) -> Params:
    """Glorot-uniform ``(W, b)`` per layer, ``W`` of shape ``(n_in, n_out)``: for ReLU,
    ``U(-s, s)`` with ``s = sqrt(6 / (n_in + n_out))``, ``W`` drawn before ``b``."""
    params = []
    for n_in, n_out in itertools.pairwise(layer_sizes):
        bound = np.sqrt(6.0 / (n_in + n_out))
        W = rng.uniform(-bound, bound, size=(n_in, n_out)).astype(dtype)
        b = rng.uniform(-bound, bound, size=n_out).astype(dtype)
        params.append((W, b))
    return params


def synthetic_classification(
    n_samples: int, n_features: int, n_classes: int, *, seed: int = 0
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Gaussian float32 ``X`` and labels from a random linear teacher (fixed seed)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features), dtype=np.float32)
    teacher = rng.standard_normal((n_features, n_classes), dtype=np.float32)
    y = np.argmax(X @ teacher, axis=1).astype(np.int64)
    return X, y


def matmul_floor_epoch(
    X: np.ndarray[Any, Any], weights: Sequence[np.ndarray[Any, Any]], batch_size: int
) -> None:
    """The matrix products of one training epoch and nothing else: a floor for any peer.

    Per batch (contiguous slices: no gather), the forward products, every weight gradient's
    product and every input gradient's but the first layer's, on the shapes of real
    training. No bias, activation, loss, update or shuffle.
    """
    last = len(weights) - 1
    for start in range(0, X.shape[0], batch_size):
        a = X[start : start + batch_size]
        inputs = [a]
        for W in weights[:last]:
            a = a @ W
            inputs.append(a)
        delta = a @ weights[last]
        for layer in range(last, -1, -1):
            inputs[layer].T @ delta
            if layer > 0:
                delta = delta @ weights[layer].T


class NumpyMLP:
    """The straightforward NumPy training loop for a ReLU MLP with a softmax output.

    Draws its initial weights and its epoch permutations from one generator seeded as
    xperceptron's ``random_state`` is, so that it follows the same trajectory.
    """

    def __init__(
        self, layer_sizes: Sequence[int], *, learning_rate: float, batch_size: int, seed: int
    ) -> None:
        self.rng = np.random.default_rng(seed)
        params = glorot_uniform(layer_sizes, self.rng, np.float32)
        self.weights = [W for W, _ in params]
        self.biases = [b for _, b in params]
        self.learning_rate = learning_rate
        self.batch_size = batch_size

    def epoch(self, X: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> float:
        """One pass over a fresh permutation; returns the epoch's mean loss."""
        n = X.shape[0]
        order = self.rng.permutation(n)
        total = 0.0
        for start in range(0, n, self.batch_size):
            rows = order[start : start + self.batch_size]  # gathered batch by batch, as
            total += self._step(X[rows], y[rows])  # xperceptron does: no copy of all of X
        return total / int(n)

    def _step(self, X: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> float:
        m = X.shape[0]
        last = len(self.weights) - 1
        inputs = [X]  # each layer's input, for its weight gradient
        h = X
        for W, b in zip(self.weights[:last], self.biases[:last], strict=True):
            h = h @ W
            h += b
            np.maximum(h, 0.0, out=h)
            inputs.append(h)
        z = h @ self.weights[last]
        z += self.biases[last]
        # Softmax and cross-entropy from the shifted logits (stable), in place.
        z -= z.max(axis=1, keepdims=True)
        rows = np.arange(m)
        picked = z[rows, y]
        np.exp(z, out=z)
        sums = z.sum(axis=1, keepdims=True)
        loss = float(np.sum(np.log(sums[:, 0]) - picked))
        z /= sums
        delta = z  # softmax - one_hot(y), over m: gradient of the mean loss
        delta[rows, y] -= 1.0
        delta *= 1.0 / m
        for layer in range(last, -1, -1):
            W, a = self.weights[layer], inputs[layer]
            grad_W = a.T @ delta
            grad_b = delta.sum(axis=0)
            if layer > 0:
                delta = delta @ W.T  # from the weights before this step
                delta *= a > 0.0  # ReLU', from the layer's output
            grad_W *= self.learning_rate
            W -= grad_W
            grad_b *= self.learning_rate
            self.biases[layer] -= grad_b
        return loss


class TorchMLP:
    """PyTorch eager: ``nn.Sequential`` of ``Linear`` and ``ReLU``, ``CrossEntropyLoss``,
    autograd and ``torch.optim.SGD``; on the CPU or a CUDA device."""

    def __init__(
        self,
        layer_sizes: Sequence[int],
        *,
        learning_rate: float,
        batch_size: int,
        seed: int,
        device: str,
    ) -> None:
        import torch

        self.torch = torch
        params = glorot_uniform(layer_sizes, np.random.default_rng(seed), np.float32)
        layers: list[torch.nn.Module] = []
        for index, (W, b) in enumerate(params):
            linear = torch.nn.Linear(W.shape[0], W.shape[1], device=device)
            with torch.no_grad():  # the same initial weights as the other peers
                linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))
                linear.bias.copy_(torch.from_numpy(b))
            layers.append(linear)
            if index < len(params) - 1:
                layers.append(torch.nn.ReLU())
        self.model = torch.nn.Sequential(*layers)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=learning_rate, momentum=0.0)
        self.loss = torch.nn.CrossEntropyLoss()
        self.generator = torch.Generator(device=device).manual_seed(seed)
        self.batch_size = batch_size
        self.device = device

    def epoch(self, X: Any, y: Any) -> float:
        """One pass over a permutation drawn on the device; the loss is read once, at the end."""
        torch = self.torch
        n = X.shape[0]
        order = torch.randperm(n, device=self.device, generator=self.generator)
        total = torch.zeros((), device=self.device)
        for start in range(0, n, self.batch_size):
            rows = order[start : start + self.batch_size]
            xb, yb = X.index_select(0, rows), y.index_select(0, rows)
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.loss(self.model(xb), yb)
            loss.backward()
            self.optimizer.step()
            total += loss.detach() * xb.shape[0]
        return float(total) / int(n)
