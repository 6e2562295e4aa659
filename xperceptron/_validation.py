"""Checks of what users pass in: shapes, dtypes, finiteness, namespaces and labels.

Every check raises before the caller changes any state, with a message naming the problem.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import numpy as np

from ._frames import frame_labels, frame_values, is_frame
from ._namespace import (
    Array,
    Device,
    Namespace,
    default_float_dtype,
    detached,
    get_namespace,
    host_dtype,
    is_array,
    is_sparse,
    namespace_name,
    to_numpy,
)
from ._reductions import row_sums
from ._sparse import check_sparse_X
from .exceptions import DataConversionWarning, warn

__all__ = [
    "BOOLEAN",
    "Interval",
    "OneOf",
    "Satisfies",
    "as_float_array",
    "check_X",
    "check_features",
    "check_finite",
    "check_labels",
    "check_same_namespace",
    "check_sample_weight",
    "host_values",
    "is_bool",
    "is_int",
    "is_real",
    "validate_params",
]


def is_real(value: object) -> bool:
    """A real number, not a bool (for hyperparameter checks)."""
    return isinstance(value, Real) and not isinstance(value, bool)


def is_int(value: object) -> bool:
    """An integer, not a bool."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def is_bool(value: object) -> bool:
    """A Python or NumPy bool."""
    return isinstance(value, (bool, np.bool_))


class Interval:
    """Numbers of a kind (``"int"`` or ``"real"``) between bounds (``None``: unbounded);
    ``closed`` is ``"left"``, ``"right"``, ``"both"`` or ``"neither"``."""

    def __init__(
        self, kind: str, low: float | None, high: float | None, *, closed: str = "both"
    ) -> None:
        self.kind, self.low, self.high, self.closed = kind, low, high, closed

    def __call__(self, value: object) -> bool:
        if not (is_int(value) if self.kind == "int" else is_real(value)):
            return False
        try:
            number = float(value)  # type: ignore[arg-type]
        except OverflowError:  # an int beyond the largest float: compare it as infinite
            number = math.inf if value > 0 else -math.inf  # type: ignore[operator]
        left, right = self.closed in ("left", "both"), self.closed in ("right", "both")
        above = self.low is None or (number >= self.low if left else number > self.low)
        below = self.high is None or (number <= self.high if right else number < self.high)
        return above and below and not np.isnan(number)

    def __str__(self) -> str:
        kind = "an int" if self.kind == "int" else "a float"
        if self.low is not None and self.high is not None:
            brackets = "[" if self.closed in ("left", "both") else "("
            brackets += "]" if self.closed in ("right", "both") else ")"
            return f"{kind} in {brackets[0]}{self.low}, {self.high}{brackets[1]}"
        if self.low is not None:
            return f"{kind} {'>=' if self.closed in ('left', 'both') else '>'} {self.low}"
        if self.high is not None:
            return f"{kind} {'<=' if self.closed in ('right', 'both') else '<'} {self.high}"
        return kind


class OneOf:
    """One of a few values (compared with ``==``, types kept apart: ``True`` is not 1)."""

    def __init__(self, *options: object) -> None:
        self.options = options

    def __call__(self, value: object) -> bool:
        for option in self.options:
            if isinstance(option, str) and isinstance(value, str) and value == option:
                return True
            if is_real(option) and is_real(value) and float(value) == float(option):  # type: ignore[arg-type]
                return True
        return False

    def __str__(self) -> str:
        return f"one of {list(self.options)}" if len(self.options) > 1 else repr(self.options[0])


class Satisfies:
    """Values for which ``predicate`` holds, described in words."""

    def __init__(self, predicate: Any, description: str) -> None:
        self.predicate, self.description = predicate, description

    def __call__(self, value: object) -> bool:
        return bool(self.predicate(value))

    def __str__(self) -> str:
        return self.description


BOOLEAN = Satisfies(lambda v: isinstance(v, (bool, np.bool_)), "True or False")
NONE = Satisfies(lambda v: v is None, "None")


def validate_params(estimator: Any, constraints: dict[str, list[Any]]) -> None:
    """Check each hyperparameter against its constraints (any one may hold).

    Raises
    ------
    ValueError
        Naming the first parameter that meets none: ``"alpha must be a float >= 0, got -1."``.
    """
    for name, allowed in constraints.items():
        value = getattr(estimator, name)
        if not any(check(value) for check in allowed):
            words = " or ".join(str(check) for check in allowed)
            raise ValueError(f"{name} must be {words}, got {value!r}.")


def _describe(dtype: Any) -> str:
    return str(dtype).removeprefix("array_api_strict.").removeprefix("torch.")


def as_float_array(
    obj: Any, *, xp: Namespace, device: Device, name: str, dtype: Any = None
) -> Array:
    """``obj`` as a real floating array of ``xp`` on ``device``, detached from any autograd
    graph (PyTorch tensors that require grad).

    Arrays keep a real floating dtype (float32 stays float32) unless ``dtype`` is given;
    float16 becomes float32, in which training and prediction are computed (float16 has too
    little range for a loss total and too little precision for Adam's moments); booleans and
    integers become the namespace's default floating dtype on ``device``. Python sequences
    are converted with NumPy on the host, cast there to ``dtype`` or to the device's default
    floating dtype (never float64 where the device has none), then moved once.
    """
    if not is_array(obj) or (isinstance(obj, np.ndarray) and obj.dtype.kind not in "biuf"):
        typed = hasattr(obj, "dtype") or is_frame(obj)  # an array, Series or DataFrame
        obj = _read_on_host(obj, name)
        target = dtype if dtype is not None else default_float_dtype(xp, device)
        if typed and obj.dtype.kind == "f" and dtype is None:
            target = getattr(xp, _widened(obj.dtype.name), target)
        # Cast on the host, then move once: a device without float64 never sees one.
        host = obj.astype(host_dtype(target, xp), copy=False)
        return xp.asarray(host, device=device)
    obj = detached(obj)
    if xp.isdtype(obj.dtype, "real floating"):
        if dtype is None:
            dtype = getattr(xp, _widened(_describe(obj.dtype)), obj.dtype)
        return obj if obj.dtype == dtype else xp.astype(obj, dtype)
    if xp.isdtype(obj.dtype, ("bool", "integral")):
        return xp.astype(obj, dtype if dtype is not None else default_float_dtype(xp, device))
    if xp.isdtype(obj.dtype, "complex floating"):
        raise ValueError(f"Complex data not supported: {name} has dtype {_describe(obj.dtype)}.")
    raise TypeError(
        f"{name} has dtype {_describe(obj.dtype)}; expected real numbers (bool, int or float)."
    )


def _widened(dtype_name: str) -> str:
    """The floating dtype computations use for data of ``dtype_name``: float16 widens."""
    return "float32" if dtype_name in ("float16", "bfloat16") else dtype_name


def _read_on_host(obj: Any, name: str) -> np.ndarray[Any, Any]:
    """A Python sequence or non-numeric NumPy array as a real NumPy array, or a clear error."""
    if is_frame(obj):  # pandas: float32 columns stay float32, nullable NA becomes NaN
        return frame_values(obj, name)
    if is_sparse(obj):
        raise TypeError(
            f"{name} is a sparse matrix: sparse input is not supported by this estimator (the "
            f"MLPs take it); convert it with {name}.toarray()."
        )
    host = _rectangular(obj, name)
    if host.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {host.dtype}.")
    if host.dtype.kind not in "biuf":
        try:  # object arrays of numbers are numbers, as scikit-learn reads them
            host = host.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{name} must hold real numbers; its {host.dtype} values could not be read "
                f"as floats ({exc})."
            ) from exc
    return host


def host_values(obj: Any, name: str) -> np.ndarray[Any, Any]:
    """A user's array of any namespace and device, or a Python sequence (of numbers, strings
    or 0-d arrays), as a NumPy array on the host: never ``np.asarray`` on a device array."""
    if is_array(obj):
        return to_numpy(obj)
    if isinstance(obj, list | tuple) and any(is_array(v) for v in obj):
        obj = [to_numpy(v) if is_array(v) else v for v in obj]
    return _rectangular(obj, name)


def _mixes_strings(values: Any) -> bool:
    """Whether a Python sequence holds both strings and other labels."""
    if not isinstance(values, list | tuple):
        return False
    strings = [isinstance(v, str) for v in values]
    return any(strings) and not all(strings)


def _rectangular(obj: Any, name: str) -> np.ndarray[Any, Any]:
    """A Python sequence read with NumPy, or a clear error where it is not rectangular."""
    try:
        return np.asarray(obj)
    except (TypeError, ValueError) as exc:  # NumPy's "inhomogeneous shape" and the like
        raise ValueError(
            f"{name} is ragged: its rows have different lengths (or it holds nested sequences "
            "of different shapes); every row must have as many values."
        ) from exc


def check_finite(a: Array, *, xp: Namespace, name: str) -> None:
    # One host read per call, outside any training loop. A finite sum proves every value
    # finite in one pass without a boolean temporary; only a non-finite sum (NaN, inf, or
    # an overflow of large finite values) needs the element-wise check. A 2-D array is
    # summed by rows as a matrix-vector product first: BLAS reads it with all its threads.
    with np.errstate(over="ignore", invalid="ignore"):  # NumPy would warn on the overflow
        total = xp.sum(row_sums(a, xp=xp) if a.ndim == 2 else a)
    if bool(xp.isfinite(total)) or bool(xp.all(xp.isfinite(a))):
        return
    raise ValueError(f"{name} contains NaN or infinity; remove or impute those values.")


def check_X(
    X: Any,
    *,
    xp: Namespace,
    device: Device,
    name: str = "X",
    dtype: Any = None,
    accept_sparse: bool = False,
) -> Array:
    """Validate a 2-D sample matrix and return it as a floating array of ``xp`` (with
    ``accept_sparse``, a sparse matrix as a CSR one: :mod:`xperceptron._sparse`).

    Raises
    ------
    TypeError
        For complex or non-numeric data.
    ValueError
        If ``X`` is not 2-D, has no sample or no feature, or holds NaN or infinity.
    """
    if accept_sparse and is_sparse(X):
        return check_sparse_X(X, xp=xp, device=device, name=name, dtype=dtype)
    X = as_float_array(X, xp=xp, device=device, name=name, dtype=dtype)
    if X.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D of shape (n_samples, n_features), got shape {tuple(X.shape)}. "
            f"Reshape your data with {name}[:, None] if it has a single feature or "
            f"{name}[None, :] if it is a single sample."
        )
    n_samples, n_features = X.shape
    for count, what in ((n_samples, "sample"), (n_features, "feature")):
        if count < 1:
            raise ValueError(
                f"{name} has 0 {what}(s) (shape={tuple(X.shape)}) while a minimum of 1 is required."
            )
    check_finite(X, xp=xp, name=name)
    return X


def check_features(X: Array, estimator: Any, *, name: str = "X") -> None:
    """Check that ``X`` has the number of features ``estimator`` was fitted with."""
    expected = estimator.n_features_in_
    if X.shape[1] != expected:
        raise ValueError(
            f"{name} has {X.shape[1]} features, but {type(estimator).__name__} is expecting "
            f"{expected} features as input."
        )


def check_same_namespace(fitted: Array, *, xp: Namespace, device: Device) -> None:
    """Check that new input of ``(xp, device)`` matches the ``fitted`` parameters' own.

    Raises
    ------
    TypeError
        For another namespace.
    ValueError
        For another device.
    """
    fitted_xp, fitted_device = get_namespace(fitted=fitted)
    if xp is not fitted_xp:
        raise TypeError(
            f"X is a {namespace_name(xp)} array but the model was fitted on "
            f"{namespace_name(fitted_xp)} arrays; pass X of that namespace "
            "(or save the model and load it with xp=...)."
        )
    if device != fitted_device:
        raise ValueError(
            f"X is on device {device!r} but the model's parameters are on "
            f"{fitted_device!r}; move X there first."
        )


def check_labels(y: Any, n_samples: int, *, name: str = "y") -> np.ndarray[Any, Any]:
    """Return class labels ``y`` as a 1-D NumPy array on the host, after checking them.

    NumPy input may hold any labels NumPy can sort (strings too); other namespaces hold
    numbers. Labels are read to the host once per fit, to find ``classes_``.
    """
    if y is None:
        raise ValueError(f"This estimator requires y to be passed, but the target {name} is None.")
    if is_array(y):
        labels = to_numpy(y)
    elif is_frame(y):  # pandas: strings as str whatever the dtype, nullable numbers as numbers
        labels = frame_labels(y, name)
    else:
        labels = host_values(y, name)
        if labels.dtype.kind == "U" and _mixes_strings(y):
            raise TypeError(
                f"{name} mixes strings and numbers (Mix of label input types); pass labels of "
                "one type."
            )
        if labels.dtype == object:
            raise TypeError(f"{name} holds Python objects of mixed types; pass numbers or strings.")
    if labels.ndim == 2 and labels.shape[1] == 1:
        warn(
            f"A column-vector {name} was passed when a 1d array was expected; it is flattened "
            f"(pass {name}[:, 0] to silence this).",
            DataConversionWarning,
        )
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(f"{name} must be 1-D of shape (n_samples,), got shape {labels.shape}.")
    if labels.shape[0] != n_samples:
        raise ValueError(
            f"X has {n_samples} samples but {name} has {labels.shape[0]}; they must match."
        )
    if labels.dtype.kind == "c":
        raise TypeError(f"{name} has complex dtype {labels.dtype}; labels must be real.")
    if labels.dtype.kind == "f":
        if not np.all(np.isfinite(labels)):
            raise ValueError(f"{name} contains NaN or infinity; labels must be finite.")
        if not np.all(labels == np.round(labels)):
            raise ValueError(
                f"Unknown label type: continuous. {name} holds non-integer floats; a classifier "
                "needs discrete labels (use a regressor for continuous targets)."
            )
    return labels


def check_sample_weight(
    sample_weight: Any,
    n_samples: int,
    *,
    xp: Namespace,
    device: Device,
    dtype: Any,
    all_zero: bool = False,
) -> Array | None:
    """``None``, or one weight for each of ``n_samples`` samples: a 1-D ``dtype`` array of
    ``xp`` on ``device``.

    As scikit-learn's: a number weighs every sample alike; otherwise one weight a sample. An
    array of ``xp`` stays where it is (it must be on ``device``); any other (a list, a NumPy
    array beside another namespace's data) is read on the host and moved once. The weights
    must be finite and non-negative (a negative weight makes the loss unbounded below), and
    not all zero (unless ``all_zero``).
    """
    if sample_weight is None:
        return None
    if is_real(sample_weight) and not is_array(sample_weight):
        weights = xp.full((n_samples,), float(sample_weight), dtype=dtype, device=device)
    elif is_array(sample_weight) and get_namespace(sample_weight=sample_weight)[0] is xp:
        _, where = get_namespace(sample_weight=sample_weight)
        if where != device:
            raise ValueError(
                f"sample_weight is on device {where} but the data is on {device}; move it there."
            )
        weights = as_float_array(sample_weight, xp=xp, device=device, name="sample_weight",
                                 dtype=dtype)  # fmt: skip
    else:
        host = host_values(sample_weight, "sample_weight")
        if host.dtype.kind not in "biuf":
            raise TypeError(f"sample_weight must hold real numbers, not {host.dtype} values.")
        weights = xp.asarray(host.astype(host_dtype(dtype, xp)), device=device)
    if weights.ndim != 1:
        raise ValueError(
            f"sample_weight must be a number or 1-D of shape (n_samples,), got shape "
            f"{tuple(weights.shape)}."
        )
    if weights.shape[0] != n_samples:
        raise ValueError(
            f"X has {n_samples} samples but sample_weight has {weights.shape[0]}; they must match."
        )
    check_finite(weights, xp=xp, name="sample_weight")
    if bool(xp.any(weights < 0)):
        raise ValueError(
            "sample_weight has negative values; weights must be >= 0 (a negative weight "
            "makes the loss unbounded below)."
        )
    if not all_zero and not bool(xp.any(weights > 0)):
        raise ValueError("sample_weight must contain at least one non-zero weight.")
    return weights
