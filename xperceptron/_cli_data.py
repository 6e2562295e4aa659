"""What the command line reads: built-in data, CSV files, and the backend to train on."""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._backends import NAMES
from .datasets import GATES, logic_gate

BACKENDS = NAMES
SKLEARN_DATASETS = {
    "iris": "classification",
    "digits": "classification",
    "wine": "classification",
    "breast_cancer": "classification",
    "diabetes": "regression",
}


class CLIError(Exception):
    """A problem met while running, reported in one line without a traceback (exit status 1)."""

    status = 1


class UsageError(CLIError):
    """A request the command line cannot honour, refused before any work (exit status 2)."""

    status = 2


INSTALL_HINTS = {
    "strict": "pip install array-api-strict",
    "torch": "pip install 'xperceptron[torch]'",
    "torch-cuda": "pip install 'xperceptron[torch]' (a CUDA build of torch)",
    "jax": "pip install 'xperceptron[jax]'",
    "cupy": "pip install 'xperceptron[cupy]'",
}
DELIMITERS = ",;\t|"
"""The delimiters a CSV file is read with: the first that splits every row alike."""


@dataclass
class Table:
    """Features, targets and the names of the feature columns."""

    X: np.ndarray[Any, Any]
    y: np.ndarray[Any, Any]
    columns: list[str]
    target: str


def load_data(source: str, target: str | None) -> tuple[Table, str | None]:
    """A built-in data set by name, or a CSV file; with the task it implies (or None)."""
    key = source.lower()
    if key in GATES:
        X, y = logic_gate(key)
        return Table(X, y, ["x1", "x2"], key), "classification"
    if key in SKLEARN_DATASETS:
        try:
            from sklearn import datasets
        except ImportError as exc:
            raise CLIError(
                f"the {key} data set comes with scikit-learn: pip install scikit-learn"
            ) from exc
        bunch = getattr(datasets, f"load_{key}")()
        columns = [str(c) for c in getattr(bunch, "feature_names", range(bunch.data.shape[1]))]
        return Table(bunch.data, bunch.target, columns, "target"), SKLEARN_DATASETS[key]
    if os.path.exists(source):
        return read_csv(source, target), None
    if os.sep in source or "/" in source or os.path.splitext(source)[1]:
        raise CLIError(f"file not found: {source}")
    known = ", ".join([*GATES, *SKLEARN_DATASETS])
    raise UsageError(
        f"unknown data {source!r}: give one of {known}, or the path of a CSV file "
        f"(there is no file {source!r} here)"
    )


def read_csv(path: str, target: str | None, *, features: list[str] | None = None) -> Table:
    """Numeric feature columns and a target column (the last one unless named).

    A first row with any non-numeric cell is the header. For prediction, ``features`` names
    the model's feature columns: those are read when the header has them all (in the model's
    order, other columns ignored); otherwise every column is a feature.
    """
    try:
        with open(path, newline="") as file:
            text = file.read()
    except FileNotFoundError:
        raise CLIError(f"file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CLIError(f"cannot read {path}: {exc}") from exc
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = [row for row in reader if row and any(cell.strip() for cell in row)]
    if not rows:
        raise CLIError(f"{path} is empty")
    header = None if all(_is_number(c) for c in rows[0]) else [c.strip() for c in rows[0]]
    body = rows[1:] if header is not None else rows
    width = len(rows[0])
    for number, row in enumerate(body, start=2 if header is not None else 1):
        if len(row) != width:
            raise CLIError(f"{path}: row {number} has {len(row)} columns, expected {width}")
    if not body:
        raise CLIError(f"{path} has a header but no data rows")
    names = header or [f"column{i}" for i in range(width)]
    cells = np.array(body, dtype=str)
    if features is not None:
        if header is not None and features and all(name in names for name in features):
            picked = [names.index(name) for name in features]
            return Table(_numeric(cells[:, picked], features, path), np.empty(0), features, "")
        return Table(_numeric(cells, names, path), np.empty(0), names, "")
    if width < 2:
        raise CLIError(
            f"{path} has one column: it needs feature columns and a target column, separated "
            "by commas, semicolons, tabs or '|'"
        )
    index = _column(target, names, path) if target is not None else width - 1
    feature_columns = [i for i in range(width) if i != index]
    X = _numeric(cells[:, feature_columns], [names[i] for i in feature_columns], path)
    labels = np.char.strip(cells[:, index])
    y = labels.astype(np.float64) if all(_is_number(v) for v in labels) else labels
    return Table(X, y, [names[i] for i in feature_columns], names[index])


def _delimiter(text: str) -> str:
    """The delimiter of a CSV text: ``,`` unless another of :data:`DELIMITERS` splits its
    first rows alike (a file of one column is read with ``,``)."""
    sample = "\n".join(text.splitlines()[:50])
    try:
        return str(csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter)
    except csv.Error:
        return ","


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _column(target: str, names: list[str], path: str) -> int:
    if target in names:
        return names.index(target)
    if target.lstrip("-").isdigit() and -len(names) <= int(target) < len(names):
        return int(target) % len(names)
    raise CLIError(f"{path} has no column {target!r}; its columns are {names}")


def _numeric(cells: np.ndarray[Any, Any], names: list[str], path: str) -> np.ndarray[Any, Any]:
    values = np.empty(cells.shape, dtype=np.float64)
    for j, name in enumerate(names):
        try:
            values[:, j] = cells[:, j].astype(np.float64)
        except ValueError as exc:
            raise CLIError(f"{path}: column {name!r} is not numeric ({exc})") from exc
    if not np.all(np.isfinite(values)):
        raise CLIError(f"{path} has empty, NaN or infinite feature values")
    return values


def backend(name: str, dtype: str) -> tuple[Any, Any]:
    """The array module and device to train on, or a one-line reason it is not usable."""
    try:
        if name == "numpy":
            return np, None
        if name == "strict":
            import array_api_strict

            return array_api_strict, None
        if name in ("torch", "torch-cuda"):
            import torch

            if name == "torch":
                return torch, torch.device("cpu")
            if not torch.cuda.is_available():
                raise CLIError("backend 'torch-cuda' is not usable here: no CUDA GPU is available")
            return torch, torch.device("cuda")
        if name == "jax":
            import jax

            if dtype == "float64":  # before the first array is made
                config: Any = jax.config
                config.update("jax_enable_x64", True)
            import jax.numpy as jnp

            return jnp, None
        if name == "cupy":
            import cupy

            if not cupy.cuda.is_available():
                raise CLIError("backend 'cupy' is not usable here: no CUDA GPU is available")
            return cupy, None
    except ImportError:
        hint = INSTALL_HINTS.get(name, f"pip install {name}")
        raise CLIError(f"backend {name!r} is not installed here: {hint}") from None
    raise UsageError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")


def to_backend(values: np.ndarray[Any, Any], module: Any, device: Any, dtype: str | None) -> Any:
    """A host array moved once to ``module`` on ``device`` (floats cast to ``dtype``)."""
    if dtype is not None:
        values = values.astype(dtype)
    return module.asarray(values) if device is None else module.asarray(values, device=device)
