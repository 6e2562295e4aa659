"""The errors and warnings xperceptron raises, and the one way it warns.

Where scikit-learn is already imported, each is raised as a subclass of both ours and
scikit-learn's class of the same name (``sklearn.exceptions``), so code written for either
catches it; scikit-learn is never imported here.
"""

from __future__ import annotations

import functools
import sys
import warnings
from typing import TypeVar

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


class DivergenceError(FloatingPointError):
    """The training loss became NaN or infinite; the last finite parameters were kept."""


def with_sklearn(ours: _T) -> _T:
    """``ours``, or where scikit-learn is already imported, a subclass of both ``ours`` and
    scikit-learn's exception or warning of the same name."""
    theirs = getattr(sys.modules.get("sklearn.exceptions"), ours.__name__, None)
    return ours if theirs is None else _combined(ours, theirs)


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
