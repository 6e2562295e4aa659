"""The ``xperceptron`` command line (also ``python -m xperceptron``).

``demo`` (the default) tells the classic tutorial; ``train`` fits a perceptron or an MLP on
built-in data or a CSV file, on any backend; ``predict`` applies a saved checkpoint to a CSV
file; ``export`` writes a checkpoint as an ONNX model.

One convention throughout: a request the command line cannot honour is refused before any
work, in one line on stderr that names the options as typed, with exit status 2; a failure
while running is one line with exit status 1; both begin ``xperceptron: error:``. Warnings go
to stderr, results to stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._cli_data import (
    SKLEARN_DATASETS,
    CLIError,
    UsageError,
    backend,
    load_data,
    read_csv,
    to_backend,
)
from ._cli_demo import demo
from ._cli_parser import PROG, build_parser
from ._namespace import to_numpy
from ._paths import check_writable
from ._targets import validation_split
from .datasets import GATES
from .exceptions import ConvergenceWarning
from .io import load, read_metadata, save
from .mlp import MLPClassifier, MLPRegressor
from .onnx import onnx_model
from .perceptron import Perceptron

__all__ = ["build_parser", "main"]

MLP_ONLY = ("hidden", "activation", "solver", "batch_size", "verbose")
"""``train`` options of the MLPs alone: the perceptron has one layer and its own rule."""
STEP_ONLY = ("learning_rate", "batch_size")
"""``train`` options that L-BFGS (full batch, no step size) has no use for."""
DEFAULTS = {"hidden": (100,), "activation": "relu", "solver": "adam", "batch_size": "auto",
            "test_size": 0.25}  # fmt: skip
"""Defaults of the ``train`` options left unset (None) by the parser, to see what was typed."""


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def _flags(dests: Sequence[str]) -> str:
    flags = [_flag(dest) for dest in dests]
    return flags[0] if len(flags) == 1 else ", ".join(flags[:-1]) + " and " + flags[-1]


# ---------------------------------------------------------------------- train
def _check_train(args: argparse.Namespace) -> None:
    """Refuse what ``train`` would otherwise ignore; then fill in the defaults."""
    data = args.data.lower()
    if args.target is not None and (data in GATES or data in SKLEARN_DATASETS):
        raise UsageError(
            f"--target names a column of a CSV file, but --data is the built-in data set "
            f"{args.data!r}, which has its own target"
        )
    if args.test_size is not None and data in GATES:
        raise UsageError(
            f"--test-size does not apply to --data {args.data}: a logic gate is learned and "
            "scored on all four of its rows"
        )
    typed = [dest for dest in MLP_ONLY if getattr(args, dest) not in (None, False)]
    if args.model == "perceptron" and typed:
        raise UsageError(
            f"{_flags(typed)} appl{'ies' if len(typed) == 1 else 'y'} to --model mlp only "
            "(the perceptron has a single layer, trained by its own rule)"
        )
    if args.model == "perceptron" and args.task == "regression":
        raise UsageError("--task regression needs --model mlp: the perceptron classifies")
    typed = [dest for dest in STEP_ONLY if getattr(args, dest) is not None]
    if args.solver == "lbfgs" and typed:
        raise UsageError(
            f"{_flags(typed)} do{'es' if len(typed) == 1 else ''} not apply to --solver "
            "lbfgs (it takes the full batch and finds its own step)"
        )
    for dest, default in DEFAULTS.items():
        if getattr(args, dest) is None:
            setattr(args, dest, default)


def _check_outputs(args: argparse.Namespace) -> None:
    """``--save`` and ``--plot``: writable, and an image format matplotlib has."""
    for flag, path in (("--save", args.save), ("--plot", args.plot)):
        if path is not None:
            _writable(flag, path)
    if args.plot:
        try:
            from matplotlib.backend_bases import FigureCanvasBase
        except ImportError as exc:
            raise CLIError("--plot needs matplotlib: pip install 'xperceptron[plot]'") from exc
        formats = FigureCanvasBase.get_supported_filetypes()
        suffix = os.path.splitext(args.plot)[1].lstrip(".").lower()
        if suffix not in formats:
            raise UsageError(
                f"--plot {args.plot}: the file name must end in an image format, one of "
                f"{', '.join('.' + name for name in sorted(formats))}"
            )


def _writable(flag: str, path: str) -> None:
    try:
        check_writable(path)
    except (OSError, ValueError) as exc:
        raise CLIError(f"{flag}: {exc}") from None


def _train(args: argparse.Namespace) -> int:
    _check_train(args)
    _check_outputs(args)
    module, device = backend(args.backend, args.dtype)
    table, implied_task = load_data(args.data, args.target)
    task = args.task if args.task != "auto" else implied_task or _guess_task(table.y)
    if args.model == "perceptron" and task == "regression":
        raise UsageError(
            f"--data {args.data} has a regression target; the perceptron classifies: use "
            "--model mlp"
        )
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
    _report(args, estimator, task, seconds, {"train": train, "test": test}, move)
    _warn([str(warning.message) for warning in caught])
    if args.save:
        metadata = {"columns": table.columns, "target": table.target, "mean": mean.tolist(),
                    "scale": scale.tolist(), "task": task}  # fmt: skip
        save(estimator, args.save, metadata=metadata)
        print(f"saved {args.save}")
    if args.plot:
        _plot(estimator, features, table.y, args.plot)
        print(f"plotted {args.plot}")
    return 0


def _report(
    args: argparse.Namespace,
    estimator: Any,
    task: str,
    seconds: float,
    splits: dict[str, np.ndarray[Any, Any]],
    move: Callable[..., Any],
) -> None:
    what = "accuracy" if task == "classification" else "R^2"
    print(
        f"{type(estimator).__name__} on {args.data} ({args.backend}, {args.dtype}): "
        f"{estimator.n_iter_} epochs in {seconds:.2f} s"
    )
    for name, rows in splits.items():
        if rows.size:
            score = estimator.score(move(rows), move(rows, targets=True))
            print(f"{name} {what}: {' ' * (5 - len(name))}{score:.4f} ({rows.size} samples)")


def _warn(messages: Sequence[str]) -> None:
    sys.stdout.flush()  # after what stdout has said so far
    for message in messages:
        print(f"{PROG}: warning: {message}", file=sys.stderr)


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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plot import decision_boundary, loss_curve

    two_d = X.shape[1] == 2 and hasattr(estimator, "classes_")
    figure, axes = plt.subplots(1, 2 if two_d else 1, figsize=(12 if two_d else 6, 4),
                                layout="constrained", squeeze=False)  # fmt: skip
    loss_curve(estimator, ax=axes[0, 0])
    if two_d:
        decision_boundary(estimator, X, y, ax=axes[0, 1])
    figure.savefig(path, dpi=100)
    plt.close(figure)


# ---------------------------------------------------------------------- predict, export
def _checkpoint(path: str, module: Any = None, device: Any = None) -> tuple[dict[str, Any], Any]:
    """A checkpoint's metadata and estimator, or a one-line reason they cannot be read."""
    try:
        return read_metadata(path), load(path, xp=module, device=device)
    except FileNotFoundError:
        raise CLIError(f"file not found: {path}") from None
    except ValueError as exc:
        raise CLIError(str(exc)) from exc


def _dtype(estimator: Any) -> str:
    """The name of the model's float dtype."""
    weights = estimator.coefs_[0] if hasattr(estimator, "coefs_") else estimator.coef_
    return str(to_numpy(weights).dtype.name)


def _predict(args: argparse.Namespace) -> int:
    if args.output:
        _writable("--output", args.output)
    module, device = backend(args.backend, "float64")
    metadata, estimator = _checkpoint(args.model, module, device)
    columns = metadata.get("columns") or []
    X = read_csv(args.data, None, features=columns).X
    if X.shape[1] != estimator.n_features_in_:
        raise CLIError(
            f"{args.data} has {X.shape[1]} feature columns; the model expects "
            f"{estimator.n_features_in_}" + (f" ({', '.join(columns)})" if columns else "")
        )
    mean = np.asarray(metadata.get("mean", np.zeros(X.shape[1])))
    scale = np.asarray(metadata.get("scale", np.ones(X.shape[1])))
    predictions = to_numpy(
        estimator.predict(to_backend((X - mean) / scale, module, device, _dtype(estimator)))
    )
    lines = [str(v) for v in predictions.tolist()]
    if args.output:
        with open(args.output, "w") as file:
            file.write("\n".join(lines) + "\n")
        print(f"wrote {len(lines)} predictions to {args.output}")
    else:
        print("\n".join(lines))
    return 0


def _export(args: argparse.Namespace) -> int:
    _writable("the ONNX file", args.output)
    metadata, estimator = _checkpoint(args.model)
    n_features = estimator.n_features_in_
    # A checkpoint of 'train --save' holds the scaling its features had: the graph applies
    # it, so the ONNX model takes raw features, as 'predict' does.
    shift, scale = metadata.get("mean"), metadata.get("scale")
    if shift is not None and scale is not None:
        shift, scale = np.asarray(shift, dtype=float), np.asarray(scale, dtype=float)
        if shift.shape != (n_features,) or scale.shape != (n_features,) or np.any(scale == 0):
            raise CLIError(f"{args.model}: its metadata's mean and scale do not fit the model")
        if not np.any(shift) and np.all(scale == 1):
            shift = scale = None
    try:
        model = onnx_model(
            estimator, shift=shift, scale=scale, feature_names=metadata.get("columns") or None
        )
    except ImportError as exc:
        raise CLIError(str(exc)) from None
    with open(args.output, "wb") as file:
        file.write(model.SerializeToString())
    print(
        f"wrote {args.output}: input X of shape (n_samples, {n_features}), {_dtype(estimator)}"
        + (", standardised inside the graph" if shift is not None else "")
        + f"; outputs {', '.join(output.name for output in model.graph.output)}"
    )
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "demo": demo,
    "train": _train,
    "predict": _predict,
    "export": _export,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            args = parser.parse_args(["demo"])
    except SystemExit as exc:  # --help, --version, or a usage error argparse reported
        return exc.code if isinstance(exc.code, int) else 2
    try:
        status: int = COMMANDS[args.command](args)
    except CLIError as exc:
        return _error(exc, exc.status)
    except (ValueError, TypeError, OSError, ArithmeticError, ImportError) as exc:
        return _error(exc, 1)
    return status


def _error(exc: Exception, status: int) -> int:
    sys.stdout.flush()
    message = " ".join(str(exc).split()) or type(exc).__name__
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return status
