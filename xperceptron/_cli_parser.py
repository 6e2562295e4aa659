"""The command line's parser: its commands, options, their types and help texts.

Each option's type checks its value, so a bad one is refused in one line that names the flag
as typed (``argument --epochs: must be an int >= 1, got '0'``), with exit status 2.
"""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from . import __version__
from ._cli_data import BACKENDS
from .activations import ACTIVATIONS
from .datasets import GATES
from .optimizers import SOLVERS

__all__ = ["PROG", "build_parser"]

PROG = "xperceptron"


def _number(kind: type, low: float, high: float | None = None, *, closed: bool = True) -> Any:
    """An argparse type: a ``kind`` (int or float) >= ``low`` (> without ``closed``) and,
    where given, < ``high``; argparse prefixes its complaint with the option's flag."""
    noun = "an int" if kind is int else f"a {kind.__name__}"
    if high is not None:
        rule = f"{noun} in ({low:g}, {high:g})"
    else:
        rule = f"{noun} {'>=' if closed else '>'} {low:g}"

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text!r}") from None
        if not (value >= low if closed else value > low) or (high is not None and value >= high):
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text!r}")
        return value

    return parse


_POSITIVE_INT = _number(int, 1)
_POSITIVE_FLOAT = _number(float, 0, closed=False)
_FRACTION = _number(float, 0, 1, closed=False)


def _seed(text: str) -> int:
    value: int = _number(int, 0)(text)
    if value >= 2**32:
        raise argparse.ArgumentTypeError(f"must be an int in [0, 2**32), got {text!r}")
    return value


def _hidden(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"hidden sizes are ints separated by commas, got {text!r}"
        ) from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"hidden sizes must be ints >= 1, got {text!r}")
    return sizes


def _batch(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        return _POSITIVE_INT(text)  # type: ignore[no-any-return]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"must be 'auto' or an int >= 1, got {text!r}") from None


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line with the one prefix, pointing at --help."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {message} (see '{self.prog} --help')\n")


def _add_train(commands: Any) -> None:
    train = commands.add_parser(
        "train",
        help="fit a perceptron or an MLP on built-in data or a CSV file, on any backend",
        description="Fit a model and report train/test scores. Data: the logic gates (and, or, "
        "nand, xor), scikit-learn's iris, digits, wine, breast_cancer, diabetes, or a CSV file "
        "(numeric features; the target is the last column unless --target names one; "
        "delimited by commas, semicolons, tabs or '|'). Options that the model or data cannot "
        "use are refused, not ignored.",
    )
    add = train.add_argument
    add("--data", default="and", help="built-in data set or CSV path (default: and)")
    add("--target", help="CSV files only: the target column, a header name or an index "
        "(default: the last column)")  # fmt: skip
    add("--task", choices=["auto", "classification", "regression"], default="auto",
        help="what to fit (default: auto: the data set's task; for a CSV file, classification "
        "of labels, or of whole numbers with at most 20 values)")  # fmt: skip
    add("--model", choices=["mlp", "perceptron"], default="mlp", help="default: mlp")
    add("--hidden", type=_hidden, help="mlp: hidden layer sizes, e.g. 64,32 (default: 100)")
    add("--activation", choices=sorted(ACTIVATIONS), help="mlp: hidden activation (default: relu)")
    add("--solver", choices=list(SOLVERS), help="mlp: optimizer (default: adam)")
    add("--learning-rate", type=_POSITIVE_FLOAT,
        help="step size (default: 0.001 mlp, 0.1 perceptron; none for lbfgs)")  # fmt: skip
    add("--epochs", type=_POSITIVE_INT,
        help="most epochs, or lbfgs iterations (default: 200 mlp, 1000 perceptron)")  # fmt: skip
    add("--batch-size", type=_batch, help="mlp, sgd and adam: 'auto' or an int (default: auto, "
        "min(200, n_samples))")  # fmt: skip
    add("--seed", type=_seed, default=0, help="weights and train/test split (default: 0)")
    add("--dtype", choices=["float32", "float64"], default="float64", help="default: float64")
    add("--backend", choices=BACKENDS, default="numpy", help="default: numpy")
    add("--test-size", type=_FRACTION,
        help="held-out fraction, in (0, 1) (default: 0.25; none for the logic gates)")  # fmt: skip
    add("--no-scale", dest="scale", action="store_false",
        help="do not standardise the features (default: standardised with the training rows' "
        "mean and std)")  # fmt: skip
    add("--save", metavar="PATH", help="write a checkpoint (.npz) (default: none)")
    add("--plot", metavar="IMAGE", help="draw the loss curve, and the decision boundary of "
        "2-feature data, e.g. out.png (default: none)")  # fmt: skip
    add("--verbose", action="store_true", help="mlp: show progress per epoch (default: off)")


def _add_others(commands: Any) -> None:
    demo_cmd = commands.add_parser(
        "demo",
        help="the tutorial: a perceptron learns the AND gate from w = [0.4, 0.2], b = 1",
        description="The classic tutorial, told step by step: a single perceptron with sigmoid "
        "output and threshold learns a logic gate from the weights 0.4, 0.2 and bias 1.",
    )
    demo_cmd.add_argument("--gate", choices=sorted(GATES), default="and",
                          help="the logic gate to learn (default: and)")  # fmt: skip
    demo_cmd.add_argument("--learning-rate", type=_POSITIVE_FLOAT, default=0.1,
                          help="default: 0.1")  # fmt: skip
    demo_cmd.add_argument("--max-iter", type=_POSITIVE_INT, default=1000, help="default: 1000")
    demo_cmd.add_argument("--threshold", type=_FRACTION, default=0.5,
                          help="predict 1 where sigmoid >= threshold; in (0, 1) "
                          "(default: 0.5)")  # fmt: skip
    _add_train(commands)
    predict_cmd = commands.add_parser(
        "predict",
        help="apply a saved checkpoint to a CSV file",
        description="Predict with a checkpoint written by 'train --save'. The CSV holds the "
        "feature columns (by header name when the model recorded them).",
    )
    predict_cmd.add_argument("model", help="checkpoint (.npz)")
    predict_cmd.add_argument("data", help="CSV file of features")
    predict_cmd.add_argument("--output", metavar="PATH",
                             help="write the predictions here (default: stdout)")  # fmt: skip
    predict_cmd.add_argument("--backend", choices=BACKENDS, default="numpy",
                             help="default: numpy")  # fmt: skip
    export = commands.add_parser(
        "export",
        help="write a checkpoint as an ONNX model (needs the onnx extra)",
        description="Write a checkpoint's model as ONNX: input X (n_samples, n_features) in "
        "the model's dtype; outputs label and probabilities (classifiers) or predictions "
        "(regressors). The feature scaling that 'train --save' recorded is part of the graph, "
        "so it takes raw features, as 'predict' does. Needs pip install 'xperceptron[onnx]'.",
    )
    export.add_argument("model", help="checkpoint (.npz)")
    export.add_argument("output", help="the ONNX file to write (.onnx)")


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command and option."""
    parser = _Parser(
        prog=PROG,
        description="Perceptrons and MLPs trained by backprop on any array API backend. "
        "With no command, runs the demo. Exit status: 0 success, 1 failure while running, "
        "2 a request that cannot be honoured.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_others(commands)
    return parser
