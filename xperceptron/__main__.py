"""The ``xperceptron`` command line (also ``python -m xperceptron``).

``demo`` (the default) tells the classic tutorial; ``train`` fits a perceptron or an MLP on
built-in data or a CSV file, on any backend; ``predict`` applies a saved checkpoint to a CSV.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Sequence
from typing import Any, NoReturn

import numpy as np

from . import __version__
from ._cli_data import BACKENDS, CLIError, backend, load_data, read_csv, to_backend
from ._namespace import get_namespace, to_numpy
from ._targets import validation_split
from .activations import ACTIVATIONS
from .datasets import GATES, logic_gate
from .exceptions import ConvergenceWarning
from .io import load, read_metadata, save
from .mlp import MLPClassifier, MLPRegressor
from .network import predict
from .optimizers import SOLVERS
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


def _train(args: argparse.Namespace) -> int:
    table, implied_task = load_data(args.data, args.target)
    task = args.task if args.task != "auto" else implied_task or _guess_task(table.y)
    if args.model == "perceptron" and task == "regression":
        raise CLIError("the perceptron classifies; use --model mlp for a regression target")
    module, device = backend(args.backend, args.dtype)
    rng = np.random.default_rng(args.seed)
    n_samples = table.X.shape[0]
    if n_samples <= 8:  # the logic gates: four rows, all of them needed to learn the gate
        train, test = np.arange(n_samples), np.arange(0)
    else:
        strata = table.y if task == "classification" else None
        train, test = validation_split(n_samples, args.test_size, strata, rng, fall_back=True)
    mean, scale = np.zeros(table.X.shape[1]), np.ones(table.X.shape[1])
    if args.scale and n_samples > 8:
        mean, scale = table.X[train].mean(axis=0), table.X[train].std(axis=0)
        scale[scale == 0] = 1.0
    features = (table.X - mean) / scale

    def move(rows: np.ndarray[Any, Any], targets: bool = False) -> Any:
        values = table.y[rows] if targets else features[rows]
        if values.dtype.kind not in "biuf":  # string labels stay NumPy
            return values
        return to_backend(
            values, module, device, None if targets and task != "regression" else args.dtype
        )

    estimator = _estimator(args, task)
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        estimator.fit(move(train), move(train, targets=True))
    seconds = time.perf_counter() - started
    what = "accuracy" if task == "classification" else "R^2"
    print(
        f"{type(estimator).__name__} on {args.data} ({args.backend}, {args.dtype}): "
        f"{estimator.n_iter_} epochs in {seconds:.2f} s"
    )
    print(f"train {what}: {estimator.score(move(train), move(train, targets=True)):.4f} "
          f"({train.size} samples)")  # fmt: skip
    if test.size:
        print(f"test {what}:  {estimator.score(move(test), move(test, targets=True)):.4f} "
              f"({test.size} samples)")  # fmt: skip
    for warning in caught:
        print(f"warning: {warning.message}")
    if args.save:
        metadata = {"columns": table.columns, "target": table.target, "mean": mean.tolist(),
                    "scale": scale.tolist(), "task": task}  # fmt: skip
        save(estimator, args.save, metadata=metadata)
        print(f"saved {args.save}")
    if args.plot:
        _plot(estimator, features, table.y, args.plot)
        print(f"plotted {args.plot}")
    return 0


def _guess_task(y: np.ndarray[Any, Any]) -> str:
    if y.dtype.kind != "f" or (np.all(y == np.round(y)) and np.unique(y).size <= 20):
        return "classification"
    return "regression"


def _estimator(args: argparse.Namespace, task: str) -> Any:
    if args.model == "perceptron":
        return Perceptron(learning_rate=args.learning_rate or 0.1, max_iter=args.epochs or 1000)
    cls = MLPClassifier if task == "classification" else MLPRegressor
    return cls(
        hidden_layer_sizes=args.hidden, activation=args.activation, solver=args.solver,
        learning_rate_init=args.learning_rate or 0.001, max_iter=args.epochs or 200,
        batch_size=args.batch_size, random_state=args.seed, verbose=args.verbose,
    )  # fmt: skip


def _plot(estimator: Any, X: np.ndarray[Any, Any], y: np.ndarray[Any, Any], path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise CLIError("--plot needs matplotlib: pip install 'xperceptron[plot]'") from exc
    from .plot import decision_boundary, loss_curve

    two_d = X.shape[1] == 2 and hasattr(estimator, "classes_")
    figure, axes = plt.subplots(1, 2 if two_d else 1, figsize=(12 if two_d else 6, 4),
                                layout="constrained", squeeze=False)  # fmt: skip
    loss_curve(estimator, ax=axes[0, 0])
    if two_d:
        decision_boundary(estimator, X, y, ax=axes[0, 1])
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _predict(args: argparse.Namespace) -> int:
    try:
        metadata = read_metadata(args.model)
        module, device = backend(args.backend, "float64")
        estimator = load(args.model, xp=module, device=device)
    except (FileNotFoundError, ValueError) as exc:
        raise CLIError(str(exc)) from exc
    columns = metadata.get("columns") or []
    X = read_csv(args.data, None, features=columns).X
    if X.shape[1] != estimator.n_features_in_:
        raise CLIError(
            f"{args.data} has {X.shape[1]} feature columns; the model expects "
            f"{estimator.n_features_in_}" + (f" ({', '.join(columns)})" if columns else "")
        )
    mean = np.asarray(metadata.get("mean", np.zeros(X.shape[1])))
    scale = np.asarray(metadata.get("scale", np.ones(X.shape[1])))
    dtype = to_numpy(estimator.coefs_[0] if hasattr(estimator, "coefs_") else estimator.coef_).dtype
    predictions = to_numpy(
        estimator.predict(to_backend((X - mean) / scale, module, device, dtype.name))
    )
    lines = [str(v) for v in predictions.tolist()]
    if args.output:
        with open(args.output, "w") as file:
            file.write("\n".join(lines) + "\n")
        print(f"wrote {len(lines)} predictions to {args.output}")
    else:
        print("\n".join(lines))
    return 0


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
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"batch size is 'auto' or an int, got {text!r}") from None


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, pointing at --help, instead of the whole usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _add_train(commands: Any) -> None:
    train = commands.add_parser(
        "train",
        help="fit a perceptron or an MLP on built-in data or a CSV file, on any backend",
        description="Fit a model and report train/test scores. Data: the logic gates (and, or, "
        "nand, xor), scikit-learn's iris, digits, wine, breast_cancer, diabetes, or a CSV file "
        "(numeric features; the target is the last column unless --target names one).",
    )
    train.add_argument("--data", default="and", help="built-in data set or CSV path (default: and)")
    train.add_argument("--target", help="CSV target column: a header name or an index")
    train.add_argument("--task", choices=["auto", "classification", "regression"], default="auto")
    train.add_argument("--model", choices=["mlp", "perceptron"], default="mlp")
    train.add_argument("--hidden", type=_hidden, default=(100,), help="e.g. 64,32 (default: 100)")
    train.add_argument("--activation", choices=sorted(ACTIVATIONS), default="relu")
    train.add_argument("--solver", choices=list(SOLVERS), default="adam")
    train.add_argument("--learning-rate", type=float, help="default: 0.001 (mlp), 0.1 (perceptron)")
    train.add_argument("--epochs", type=int, help="most epochs (default: 200 mlp, 1000 perceptron)")
    train.add_argument("--batch-size", type=_batch, default="auto")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--dtype", choices=["float32", "float64"], default="float64")
    train.add_argument("--backend", choices=BACKENDS, default="numpy")
    train.add_argument("--test-size", type=float, default=0.25, help="held-out fraction")
    train.add_argument("--no-scale", dest="scale", action="store_false",
                       help="do not standardise features (they are by default)")  # fmt: skip
    train.add_argument("--save", metavar="PATH", help="write a checkpoint (.npz)")
    train.add_argument("--plot", metavar="PNG", help="draw the loss curve (and boundary in 2-D)")
    train.add_argument("--verbose", action="store_true", help="show progress per epoch")
    train.set_defaults(run=_train)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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

    _add_train(commands)
    predict_cmd = commands.add_parser(
        "predict",
        help="apply a saved checkpoint to a CSV file",
        description="Predict with a checkpoint written by 'train --save'. The CSV holds the "
        "feature columns (by header name when the model recorded them).",
    )
    predict_cmd.add_argument("model", help="checkpoint (.npz)")
    predict_cmd.add_argument("data", help="CSV file of features")
    predict_cmd.add_argument("--output", metavar="PATH", help="write here instead of stdout")
    predict_cmd.add_argument("--backend", choices=BACKENDS, default="numpy")
    predict_cmd.set_defaults(run=_predict)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["demo"])
    try:
        status: int = args.run(args)
    except (CLIError, ValueError, TypeError, OSError, FloatingPointError) as exc:
        print(f"xperceptron: error: {exc}", file=sys.stderr)
        return 1 if isinstance(exc, CLIError | OSError | FloatingPointError) else 2
    return status


if __name__ == "__main__":
    sys.exit(main())
