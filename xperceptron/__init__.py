"""xperceptron: perceptrons and multi-layer perceptrons, trained by backprop written once
against the Python array API standard, on NumPy, CuPy, PyTorch, JAX and array-api-strict.
"""

from __future__ import annotations

from . import datasets, exceptions
from ._streaming import fit_stream
from .exceptions import ConvergenceWarning, DataConversionWarning, DivergenceError, NotFittedError
from .io import load, save
from .mlp import MLPClassifier, MLPRegressor
from .onnx import export_onnx
from .perceptron import Perceptron

__version__ = "0.1.0"

__all__ = [
    "ConvergenceWarning",
    "DataConversionWarning",
    "DivergenceError",
    "MLPClassifier",
    "MLPRegressor",
    "NotFittedError",
    "Perceptron",
    "__version__",
    "datasets",
    "exceptions",
    "export_onnx",
    "fit_stream",
    "load",
    "save",
]
