"""What every estimator shares: scikit-learn's parameter protocol (without importing it),
the input checks of ``predict``, the classifier's ``score``, and the checkpoint protocol
through which :mod:`xperceptron.io` saves and loads any estimator without knowing it."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, Protocol, TypeVar

import numpy as np

from ._checkpoint_schema import MemberSpec
from ._dask import computed
from ._frames import check_feature_names, feature_names, frame_values, is_frame
from ._namespace import Array, Device, Namespace, get_namespace, is_array, is_sparse, to_numpy
from ._validation import (
    check_features,
    check_labels,
    check_same_namespace,
    check_sample_weight,
    check_X,
    host_values,
    validate_params,
)
from .exceptions import DivergenceError, NotFittedError, with_sklearn

__all__ = [
    "CHECKPOINT_CLASSES",
    "BaseEstimator",
    "Checkpointable",
    "ClassifierMixin",
    "RegressorMixin",
    "available_if",
    "check_is_fitted",
    "checkpointable",
]

_E = TypeVar("_E", bound=type)


class Mover(Protocol):
    """``to_device(arrays, name, shape)``: one checked float member, on the target device
    (with ``non_negative``, refused if a value is negative)."""

    def __call__(
        self,
        arrays: dict[str, np.ndarray[Any, Any]],
        name: str,
        shape: tuple[int, ...],
        *,
        non_negative: bool = False,
    ) -> Array: ...


class Checkpointable(Protocol):
    """What :func:`xperceptron.save` and :func:`xperceptron.load` ask of an estimator."""

    def _checkpoint(self) -> tuple[dict[str, Any], dict[str, np.ndarray[Any, Any]]]:
        """The fitted state: JSON-able metadata and host arrays."""
        ...

    def _checkpoint_members(self, meta: dict[str, Any]) -> dict[str, MemberSpec]:
        """The arrays a checkpoint of fitted state ``meta`` holds beside its header, by name:
        what each must be and its shape. Asked before any array is read, so that unknown,
        missing, mistyped or oversized members are refused unread."""
        ...

    def _restore(
        self, meta: dict[str, Any], arrays: dict[str, np.ndarray[Any, Any]], *, to_device: Mover
    ) -> None:
        """Set the fitted state from :meth:`_checkpoint` 's output, checking it first;
        ``arrays`` are those :meth:`_checkpoint_members` named, of the dtype and shape it
        said."""
        ...


CHECKPOINT_CLASSES: dict[str, type[Any]] = {}
"""Estimator classes that checkpoints may name, by class name."""


def checkpointable(cls: _E) -> _E:
    """Class decorator: ``cls`` implements :class:`Checkpointable` and may be saved."""
    CHECKPOINT_CLASSES[cls.__name__] = cls
    return cls


class available_if:
    """A method that exists only where ``check(estimator)`` holds: elsewhere reading it
    raises ``AttributeError`` (so ``hasattr`` is False), as scikit-learn's ``available_if``
    hides ``partial_fit`` for ``solver="lbfgs"``."""

    def __init__(self, check: Callable[[Any], bool], message: str) -> None:
        self.check, self.message = check, message

    def __call__(self, method: Callable[..., Any]) -> Any:
        check, message = self.check, self.message

        class _Conditional:
            def __get__(self, obj: Any, owner: type | None = None) -> Any:
                if obj is None:
                    return method
                if not check(obj):
                    raise AttributeError(message.format(obj=obj))
                return method.__get__(obj, owner)

        conditional = _Conditional()
        conditional.__doc__ = method.__doc__
        return conditional


def check_is_fitted(estimator: object, attribute: str = "n_features_in_") -> None:
    """Raise :class:`NotFittedError` unless ``estimator`` has ``attribute``."""
    if not hasattr(estimator, attribute):
        raise with_sklearn(NotFittedError)(
            f"This {type(estimator).__name__} instance is not fitted yet; "
            "call 'fit' with appropriate arguments before using this estimator."
        )


class BaseEstimator:
    """``get_params`` / ``set_params`` / ``repr`` from the constructor's signature.

    Constructors store their arguments unchanged; ``fit`` validates them against the class's
    ``_parameter_constraints`` table. This is the contract that lets scikit-learn's
    ``clone``, ``Pipeline`` and ``GridSearchCV`` use the estimators.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {}
    _accepts_sparse: ClassVar[bool] = False  # SciPy/cupyx sparse X in fit and predict

    @classmethod
    def _get_param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return sorted(
            name
            for name, p in signature.parameters.items()
            if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        )

    def _validate_params(self) -> None:
        """Raise ``ValueError`` naming the first hyperparameter outside its constraints."""
        validate_params(self, self._parameter_constraints)

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

    @contextlib.contextmanager
    def _restored_on_failure(self) -> Iterator[None]:
        """Puts the estimator back as it was if the block fails (a callback raises, an
        interrupt, a warning turned into an error): a failed call changes nothing. A
        :class:`DivergenceError` keeps what it documents: the last finite parameters."""
        before = dict(vars(self))
        try:
            yield
        except DivergenceError:
            raise
        except BaseException:
            vars(self).clear()
            vars(self).update(before)
            raise

    def _check_predict_input(self, X: Any, fitted: str) -> tuple[Array, Namespace, Device]:
        """``X`` checked for a fitted estimator: the namespace and device of the fitted array
        attribute ``fitted``, its dtype, ``n_features_in_`` features."""
        check_is_fitted(self, fitted)
        check_feature_names(self, feature_names(X))
        reference = getattr(self, fitted)
        reference = reference[0] if isinstance(reference, list) else reference
        # Lists (and other non-arrays) follow the model's arrays: its namespace and device.
        given = is_array(X) or is_sparse(X)
        xp, device = get_namespace(X=X) if given else get_namespace(fitted=reference)
        check_same_namespace(reference, xp=xp, device=device)
        X = check_X(X, xp=xp, device=device, dtype=reference.dtype,
                    accept_sparse=self._accepts_sparse)  # fmt: skip
        check_features(X, self)
        return X, xp, device


def _same(a: object, b: object) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:  # arrays or exotic objects: show them
        return False


class ClassifierMixin:
    """Declares a classifier to scikit-learn (``__sklearn_tags__``, read by scikit-learn >= 1.6)
    and scores by accuracy. scikit-learn is imported only when it asks."""

    _estimator_type = "classifier"

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(
            estimator_type="classifier",
            target_tags=TargetTags(required=True),
            classifier_tags=ClassifierTags(),
            input_tags=InputTags(sparse=getattr(self, "_accepts_sparse", False)),
        )

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Mean accuracy of ``predict(X)`` against ``y`` (subset accuracy for a multilabel
        indicator ``y``), weighted by ``sample_weight`` where given, a Python float."""
        # Dask: the lazy predictions and y computed (never X on the client)
        predicted, y, sample_weight = computed(self.predict(X), y, sample_weight)  # type: ignore[attr-defined]
        predicted = to_numpy(predicted)
        right = self._right(predicted, y)
        xp, _ = get_namespace(right=right)
        weights = check_sample_weight(
            sample_weight, right.shape[0], xp=xp, device="cpu", dtype=xp.float64
        )
        return float(np.average(right, weights=None if weights is None else to_numpy(weights)))

    @staticmethod
    def _right(predicted: np.ndarray[Any, Any], y: Any) -> np.ndarray[Any, Any]:
        """Whether each row of ``predicted`` is ``y``'s (all its labels, for multilabel)."""
        if predicted.ndim == 2:
            # pandas: nullable NA becomes NaN (refused below), not pd.NA
            truth = frame_values(y, "y") if is_frame(y) else host_values(y, "y")
            if truth.dtype.kind not in "biuf":
                raise ValueError(
                    f"y has dtype {truth.dtype}; a multilabel indicator holds 0/1 numbers."
                )
            if truth.shape != predicted.shape:  # never broadcast one against the other
                raise ValueError(
                    f"y has shape {truth.shape} but the model predicts a multilabel "
                    f"indicator of shape {predicted.shape}; they must match."
                )
            if truth.dtype.kind in "biuf" and not np.all((truth == 0) | (truth == 1)):
                raise ValueError("y must be a 0/1 multilabel indicator, without missing values.")
            right: np.ndarray[Any, Any] = np.all(predicted == truth, axis=1)
            return right
        labels = check_labels(y, predicted.shape[0])
        return np.asarray(predicted == labels)


class RegressorMixin:
    """Declares a regressor to scikit-learn (``__sklearn_tags__``), importing it only then."""

    _estimator_type = "regressor"

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import InputTags, RegressorTags, Tags, TargetTags

        return Tags(
            estimator_type="regressor",
            target_tags=TargetTags(required=True, multi_output=True),
            regressor_tags=RegressorTags(),
            input_tags=InputTags(sparse=getattr(self, "_accepts_sparse", False)),
        )
