"""What every estimator shares: scikit-learn's parameter protocol, without importing it."""

from __future__ import annotations

import functools
import inspect
import sys
from typing import Any, TypeVar

_T = TypeVar("_T", bound=type)

__all__ = [
    "BaseEstimator",
    "ClassifierMixin",
    "ConvergenceWarning",
    "DataConversionWarning",
    "DivergenceError",
    "NotFittedError",
    "RegressorMixin",
    "check_is_fitted",
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
    scikit-learn's exception or warning of the same name, so that code written for either
    catches it. scikit-learn is never imported here."""
    theirs = getattr(sys.modules.get("sklearn.exceptions"), ours.__name__, None)
    return ours if theirs is None else _combined(ours, theirs)


@functools.cache
def _combined(ours: _T, theirs: type) -> _T:
    return type(ours.__name__, (ours, theirs), {"__module__": ours.__module__})  # type: ignore[return-value]


def check_is_fitted(estimator: object, attribute: str = "n_features_in_") -> None:
    """Raise :class:`NotFittedError` unless ``estimator`` has ``attribute``."""
    if not hasattr(estimator, attribute):
        raise with_sklearn(NotFittedError)(
            f"This {type(estimator).__name__} instance is not fitted yet; "
            "call 'fit' with appropriate arguments before using this estimator."
        )


class BaseEstimator:
    """``get_params`` / ``set_params`` / ``repr`` from the constructor's signature.

    Constructors store their arguments unchanged; ``fit`` validates them. This is the contract
    that lets scikit-learn's ``clone``, ``Pipeline`` and ``GridSearchCV`` use the estimators.
    """

    @classmethod
    def _get_param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return sorted(
            name
            for name, p in signature.parameters.items()
            if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        )

    def _validate_params(self) -> None:
        """Raise ``ValueError`` naming the first invalid hyperparameter (estimators override)."""

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters and their current values."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any) -> BaseEstimator:
        """Set constructor parameters.

        An unknown name raises ``ValueError`` before anything changes. Values are checked by
        ``fit``, as scikit-learn does (its ``check_estimator`` requires it).
        """
        valid = self._get_param_names()
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise ValueError(
                f"Invalid parameter(s) {unknown} for {type(self).__name__}; "
                f"valid parameters are {valid}."
            )
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {
            name: p.default for name, p in inspect.signature(type(self).__init__).parameters.items()
        }
        changed = [
            f"{name}={value!r}"
            for name, value in self.get_params().items()
            if not (value is defaults.get(name) or _same(value, defaults.get(name)))
        ]
        return f"{type(self).__name__}({', '.join(changed)})"


def _same(a: object, b: object) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:  # arrays or exotic objects: show them
        return False


class ClassifierMixin:
    """Declares a classifier to scikit-learn (``__sklearn_tags__``, read by scikit-learn >= 1.6).

    scikit-learn is imported only when it asks, so it is not needed to use the estimators.
    """

    _estimator_type = "classifier"

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(
            estimator_type="classifier",
            target_tags=TargetTags(required=True),
            classifier_tags=ClassifierTags(),
            input_tags=InputTags(),
        )


class RegressorMixin:
    """Declares a regressor to scikit-learn (``__sklearn_tags__``), importing it only then."""

    _estimator_type = "regressor"

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import InputTags, RegressorTags, Tags, TargetTags

        return Tags(
            estimator_type="regressor",
            target_tags=TargetTags(required=True, multi_output=True),
            regressor_tags=RegressorTags(),
            input_tags=InputTags(),
        )
