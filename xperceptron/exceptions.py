"""The errors and warnings xperceptron raises, and the one way it warns.

Where scikit-learn is installed, each is raised as a subclass of both ours and scikit-learn's
class of the same name (``sklearn.exceptions``), so code written for either catches it;
scikit-learn is imported only when something is raised or warned.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import sys
import warnings
from typing import Any, TypeVar

_T = TypeVar("_T", bound=type)

__all__ = [
    "ConvergenceWarning",
    "DataConversionWarning",
    "DivergenceError",
    "NotFittedError",
    "warn",
    "with_sklearn",
]


class NotFittedError(ValueError, AttributeError):
    """Raised when a method that needs a fitted estimator is called before ``fit``.

    A subclass of both ``ValueError`` and ``AttributeError``, as scikit-learn's.
    """


class DataConversionWarning(UserWarning):
    """Input was converted to what the estimator expects (a column vector y flattened)."""


class ConvergenceWarning(UserWarning):
    """Training stopped at ``max_iter`` before its stopping criterion was met."""


class DivergenceError(FloatingPointError, ValueError):
    """The training loss became NaN or infinite; the last finite parameters were kept.

    Also a ``ValueError``, as scikit-learn's error for non-finite weights is."""


def with_sklearn(ours: _T) -> _T:
    """``ours``, or where scikit-learn is installed, a subclass of both ``ours`` and
    scikit-learn's exception or warning of the same name (so that ``pytest.warns`` and
    warning filters written for scikit-learn catch it). scikit-learn is imported only here,
    when something is raised or warned, never by ``import xperceptron``."""
    theirs = getattr(_sklearn_exceptions(), ours.__name__, None)
    return ours if theirs is None else _combined(ours, theirs)


@functools.cache
def _installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def _sklearn_exceptions() -> Any:
    module = sys.modules.get("sklearn.exceptions")
    if module is None and _installed("sklearn"):
        try:
            module = importlib.import_module("sklearn.exceptions")
        except Exception:  # a broken installation: our classes alone
            return None
    return module


@functools.cache
def _combined(ours: _T, theirs: type) -> _T:
    return type(ours.__name__, (ours, theirs), {"__module__": ours.__module__})  # type: ignore[return-value]


_PACKAGE = __name__.rpartition(".")[0]


def warn(message: str, category: type[Warning]) -> None:
    """Warn with ``category`` (joined with scikit-learn's where it is imported), pointing at
    the first line outside xperceptron: the user's own call, however deep inside the package
    the warning arose (``fit``, ``partial_fit``, a callback, the training loop)."""
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_globals.get("__name__", "").startswith(_PACKAGE + "."):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    warnings.warn(message, with_sklearn(category), stacklevel=level)
