"""The ``xperceptron`` command line (also ``python -m xperceptron``).

With no arguments it runs ``demo``: the classic tutorial, told step by step.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import __version__
from ._base import ConvergenceWarning
from ._namespace import get_namespace
from .datasets import GATES, logic_gate
from .network import predict
from .perceptron import Perceptron

TUTORIAL_WEIGHTS = (0.4, 0.2)
TUTORIAL_BIAS = 1.0


def _fmt(values: Any) -> str:
    return "[" + ", ".join(f"{float(v):.6g}" for v in np.ravel(values)) + "]"


def _show(X: Any, y: Any, coef: Any, intercept: Any, threshold: float) -> None:
    xp, _ = get_namespace()
    params = [(np.asarray(coef, dtype=float).T, np.asarray(intercept, dtype=float))]
    proba = predict(params, X, activation="identity", out_activation="logistic", xp=xp)[:, 0]
    predictions = (proba >= threshold).astype(int)
    print(f"  sigmoid(X @ w + b)  = {_fmt(proba)}")
    print(
        f"  predictions (>= {threshold:g}) = {predictions.tolist()}  "
        f"errors: {int(np.sum(predictions != y))}"
    )


def _demo(args: argparse.Namespace) -> int:
    clf = Perceptron(
        learning_rate=args.learning_rate, max_iter=args.max_iter, threshold=args.threshold
    )
    clf._validate_params()  # before anything is printed
    X, y = logic_gate(args.gate)
    gate = args.gate.upper()
    print(f"xperceptron {__version__}: a single perceptron learns the {gate} gate")
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
    print(f"  errors at each iteration: {' '.join(str(e) for e in clf.errors_)}")
    if clf.errors_[-1] == 0:
        print(
            f"  iteration {clf.n_iter_} makes no error, so its update is zero: the weights "
            f"are final (all {args.max_iter} iterations give the same result)."
        )
    for warning in caught:
        print(f"  warning: {warning.message}")
    print()

    print(f"Final weights w = {_fmt(clf.coef_)}, bias b = {_fmt(clf.intercept_)[1:-1]}")
    _show(X, y, clf.coef_, clf.intercept_, args.threshold)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xperceptron",
        description="Perceptrons and MLPs trained by backprop on any array API backend. "
        "With no command, runs the demo.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="the tutorial: a perceptron learns the AND gate from w = [0.4, 0.2], b = 1",
        description="The classic tutorial, told step by step: a single perceptron with sigmoid "
        "output and threshold learns a logic gate from the weights 0.4, 0.2 and bias 1.",
    )
    demo.add_argument(
        "--gate",
        choices=sorted(GATES),
        default="and",
        help="the logic gate to learn (default: and)",
    )
    demo.add_argument("--learning-rate", type=float, default=0.1, help="default: 0.1")
    demo.add_argument("--max-iter", type=int, default=1000, help="default: 1000")
    demo.add_argument("--threshold", type=float, default=0.5, help="default: 0.5")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["demo"])
    try:
        status: int = args.run(args)
    except (ValueError, TypeError) as exc:
        print(f"xperceptron: error: {exc}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    sys.exit(main())
