"""``xperceptron demo``: the classic tutorial, told step by step on a logic gate."""

from __future__ import annotations

import argparse
import itertools
import sys
import warnings
from typing import Any

import numpy as np

from . import __version__
from .datasets import logic_gate
from .exceptions import ConvergenceWarning
from .perceptron import Perceptron, _tutorial_sigmoid

__all__ = ["demo"]

TUTORIAL_WEIGHTS = (0.4, 0.2)
TUTORIAL_BIAS = 1.0
SHOWN_IN_FULL = 30
"""Up to this many iterations every error count is printed; beyond, runs are counted."""


def _fmt(values: Any) -> str:
    return "[" + ", ".join(f"{float(v):.6g}" for v in np.ravel(values)) + "]"


def _error_counts(errors: list[int]) -> str:
    """Each iteration's error count; a long run of equal counts as ``2 (x968)``."""
    if len(errors) <= SHOWN_IN_FULL:
        return " ".join(str(e) for e in errors)
    runs = [(value, len(list(group))) for value, group in itertools.groupby(errors)]
    return " ".join(
        f"{value} (x{count})" if count >= 3 else " ".join([str(value)] * count)
        for value, count in runs
    )


def _show(X: Any, y: Any, coef: Any, intercept: Any, threshold: float) -> None:
    """The sigmoid of each row and its prediction, as :meth:`Perceptron.predict` decides it."""
    logits = (X @ np.asarray(coef, dtype=float).T + np.asarray(intercept, dtype=float))[:, 0]
    with np.errstate(over="ignore"):
        proba = _tutorial_sigmoid(logits, xp=np)
    predictions = (proba >= threshold).astype(int)
    # A value within rounding of the threshold would print as the threshold itself (0.5)
    # whichever side it is on: such values are printed in full, and explained.
    close = [f"{p:.6g}" == f"{threshold:.6g}" and p != threshold for p in proba]
    shown = [repr(float(p)) if near else f"{p:.6g}" for p, near in zip(proba, close, strict=True)]
    print(f"  sigmoid(X @ w + b)  = [{', '.join(shown)}]")
    print(
        f"  predictions (>= {threshold:g}) = {predictions.tolist()}  "
        f"errors: {int(np.sum(predictions != y))}"
    )
    for row in np.flatnonzero(close):
        side = "below" if proba[row] < threshold else "above"
        print(
            f"  row {row + 1}: X @ w + b = {logits[row]:.3g} (0 up to rounding), so sigmoid is "
            f"just {side} {threshold:g}: predicted {predictions[row]}"
        )


def demo(args: argparse.Namespace) -> int:
    """Tell the tutorial on ``args.gate``."""
    clf = Perceptron(
        learning_rate=args.learning_rate, max_iter=args.max_iter, threshold=args.threshold
    )
    clf._validate_params()  # before anything is printed (the options were checked already)
    X, y = logic_gate(args.gate)
    print(f"xperceptron {__version__}: a single perceptron learns the {args.gate.upper()} gate")
    print()
    print("Data (one sample per row):")
    print("   x1  x2 | target")
    for row, target in zip(X.astype(int), y, strict=True):
        print(f"   {row[0]:>2}  {row[1]:>2} |   {target}")
    print()

    print(f"Initial weights w = {_fmt(TUTORIAL_WEIGHTS)}, bias b = {TUTORIAL_BIAS:g}")
    _show(X, y, [TUTORIAL_WEIGHTS], [TUTORIAL_BIAS], args.threshold)
    print()

    print(
        f"Training: learning rate {args.learning_rate:g}, up to {args.max_iter} full-batch "
        "iterations,"
    )
    print("  dW = X^T (y_pred - y) / m,  db = mean(y_pred - y),  with thresholded y_pred")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        clf.fit(X, y, coef_init=[TUTORIAL_WEIGHTS], intercept_init=[TUTORIAL_BIAS])
    print(f"  errors at each iteration: {_error_counts(clf.errors_)}")
    if clf.errors_[-1] == 0:
        print(
            f"  iteration {clf.n_iter_} makes no error, so its update is zero: the weights "
            f"are final (all {args.max_iter} iterations give the same result)."
        )
    sys.stdout.flush()  # the warnings, on stderr, come after what was said so far
    for warning in caught:
        print(f"xperceptron: warning: {warning.message}", file=sys.stderr)
    print()

    print(f"Final weights w = {_fmt(clf.coef_)}, bias b = {_fmt(clf.intercept_)[1:-1]}")
    _show(X, y, clf.coef_, clf.intercept_, args.threshold)
    return 0
