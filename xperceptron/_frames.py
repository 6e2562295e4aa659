"""pandas input without pandas: DataFrames and Series read to NumPy on the host, and their
column names kept as ``feature_names_in_`` and checked as scikit-learn checks them.

pandas is optional and never imported: its objects are recognised by what they have
(``iloc``, ``to_numpy``, ``columns``). Like Python lists, they are read with NumPy and
follow the arrays they are passed with.
"""

from __future__ import annotations

from numbers import Real
from typing import Any

import numpy as np

from ._namespace import is_array
from .exceptions import warn

__all__ = [
    "check_feature_names",
    "feature_names",
    "frame_labels",
    "frame_values",
    "is_frame",
    "plain_labels",
    "set_feature_names",
]


def is_frame(obj: object) -> bool:
    """Whether ``obj`` is a pandas DataFrame or Series (or an object that acts as one)."""
    return hasattr(obj, "iloc") and hasattr(obj, "to_numpy") and not is_array(obj)


def _series(obj: Any) -> list[Any]:
    """A DataFrame's columns, or a Series alone."""
    return [obj.iloc[:, j] for j in range(obj.shape[1])] if hasattr(obj, "columns") else [obj]


def frame_values(obj: Any, name: str) -> np.ndarray[Any, Any]:
    """A DataFrame or Series as a NumPy array of real numbers.

    The dtype is NumPy's for the columns together when all are numeric (float32 columns
    stay float32), else float64. Missing values of the nullable dtypes (``Int64``,
    ``Float64``, ``boolean``) become NaN, which the finiteness check then refuses by name.
    Columns of strings, categories or objects are read as floats where they hold numbers.

    Raises
    ------
    TypeError
        Naming the columns that hold dates, durations, complex numbers or values that are
        not numbers.
    """
    dtypes = list(obj.dtypes) if hasattr(obj, "columns") else [obj.dtype]
    kinds = [getattr(dtype, "kind", "O") for dtype in dtypes]
    # NumPy's dtype for the columns together; nullable dtypes name theirs (numpy_dtype).
    numeric = [np.dtype(getattr(d, "numpy_dtype", d)) for d, k in zip(dtypes, kinds, strict=True)
               if k in "biuf"]  # fmt: skip
    target = np.result_type(*numeric) if numeric and len(numeric) == len(dtypes) else None
    target = target if target is not None and target.kind == "f" else np.dtype(np.float64)
    if any(kind in "mMc" for kind in kinds):
        raise _not_numbers(obj, name, "dates, durations and complex numbers are not real numbers")
    # na_value copies: only columns that can hold pd.NA (extension dtypes, objects) need it.
    plain = all(isinstance(d, np.dtype) and d.kind != "O" for d in dtypes)
    try:
        values = obj.to_numpy(dtype=target, **({} if plain else {"na_value": np.nan}))
    except (TypeError, ValueError) as exc:
        raise _not_numbers(obj, name, str(exc)) from exc
    # Row-major as NumPy input is (pandas often hands its columns over as they are stored):
    # the same products in the same order, and rows read contiguously by the batches.
    return np.ascontiguousarray(values)


def _not_numbers(obj: Any, name: str, reason: str) -> TypeError:
    if not hasattr(obj, "columns"):
        return TypeError(
            f"{name} must hold real numbers; its values of dtype {obj.dtype} could not be read "
            f"as floats ({reason})."
        )
    bad = [f"{column!r} ({dtype})" for column, dtype in obj.dtypes.items()
           if getattr(dtype, "kind", "O") not in "biuf"]  # fmt: skip
    return TypeError(
        f"{name} must hold real numbers, but its column(s) {', '.join(bad)} could not be read "
        f"as floats ({reason}); encode them as numbers first (one-hot encoding, for example)."
    )


def frame_labels(obj: Any, name: str) -> np.ndarray[Any, Any]:
    """A Series of class labels (or a DataFrame, a column each) as a NumPy array.

    Strings come back as ``str`` whatever pandas held them in (``object``, ``str``,
    ``string``, ``category``), numbers as numbers (nullable ``Int64`` as int64, ``boolean``
    as bool); a categorical gives the labels it holds, not its unused categories.

    Raises
    ------
    ValueError
        If a label is missing (NaN, None, NA).
    TypeError
        If labels mix types (numbers and strings).
    """
    columns = []
    for series in _series(obj):
        n_missing = int(series.isna().sum())
        if n_missing:
            raise ValueError(
                f"{name} has {n_missing} missing label(s) (NaN, None or NA); every sample "
                "needs a label."
            )
        numpy_dtype = getattr(series.dtype, "numpy_dtype", None)  # nullable: Int64, boolean
        values = np.asarray(series) if numpy_dtype is None else series.to_numpy(numpy_dtype)
        columns.append(plain_labels(values, name))
    if not hasattr(obj, "columns"):
        return columns[0]
    return np.stack(columns, axis=1) if columns else np.empty((obj.shape[0], 0))


def plain_labels(values: np.ndarray[Any, Any], name: str) -> np.ndarray[Any, Any]:
    """An object array of labels in NumPy's own dtype: strings as ``str`` (scikit-learn's
    ``classes_`` dtype for them), numbers as numbers. Other arrays come back unchanged.

    Raises
    ------
    TypeError
        If the labels mix types.
    """
    if values.dtype != object or values.size == 0:
        return values
    kinds = {type(v) for v in values.ravel().tolist()}
    if all(issubclass(kind, str) for kind in kinds):
        return values.astype(str)
    if all(issubclass(kind, bool | np.bool_) for kind in kinds):
        return values.astype(bool)
    if all(issubclass(kind, Real) and not issubclass(kind, bool) for kind in kinds):
        return np.asarray(values.tolist())
    words = ", ".join(sorted(kind.__name__ for kind in kinds))
    raise TypeError(
        f"{name} holds labels of mixed types ({words}); pass labels of one type, all numbers "
        "or all strings."
    )


def feature_names(X: Any) -> np.ndarray[Any, Any] | None:
    """The column names of a DataFrame ``X`` as scikit-learn keeps them (an object array),
    where all are strings; None for other names and for input without columns.

    Raises
    ------
    TypeError
        If the names mix strings with other types (as scikit-learn).
    """
    columns = None if is_array(X) else getattr(X, "columns", None)
    if columns is None or len(columns) == 0:
        return None
    names = np.fromiter(columns, dtype=object, count=len(columns))
    types = sorted({type(v).__qualname__ for v in names.tolist()})
    if len(types) > 1 and "str" in types:
        raise TypeError(
            "Feature names are only supported if all input features have string names, "
            f"but your input has {types} as feature name / column name types. If you want "
            "feature names to be stored and validated, you must convert them all to strings, "
            "by using X.columns = X.columns.astype(str) for example. Otherwise you can remove "
            "feature / column names from your input data, or convert them all to a "
            "non-string data type."
        )
    return names if types == ["str"] else None


def set_feature_names(estimator: Any, names: np.ndarray[Any, Any] | None) -> None:
    """Set ``feature_names_in_`` at fit time, or remove it after a fit without names."""
    if names is not None:
        estimator.feature_names_in_ = names
    else:
        vars(estimator).pop("feature_names_in_", None)


def check_feature_names(estimator: Any, names: np.ndarray[Any, Any] | None) -> None:
    """Check the feature names of new input against ``feature_names_in_``, as scikit-learn:
    a warning where only one side has names, an error where the names differ.

    Raises
    ------
    ValueError
        Listing the names unseen at fit time and those now missing (or the order).
    """
    fitted = getattr(estimator, "feature_names_in_", None)
    kind = type(estimator).__name__
    if fitted is None or names is None:
        if names is not None:
            warn(f"X has feature names, but {kind} was fitted without feature names", UserWarning)
        elif fitted is not None:
            warn(
                f"X does not have valid feature names, but {kind} was fitted with feature names",
                UserWarning,
            )
        return
    if len(fitted) == len(names) and np.all(fitted == names):
        return
    message = "The feature names should match those that were passed during fit.\n"
    unexpected = sorted(set(names.tolist()) - set(fitted.tolist()))
    missing = sorted(set(fitted.tolist()) - set(names.tolist()))
    for title, listed in (
        ("Feature names unseen at fit time:\n", unexpected),
        ("Feature names seen at fit time, yet now missing:\n", missing),
    ):
        if listed:
            message += title + "".join(f"- {n}\n" for n in listed[:5])
            message += "- ...\n" if len(listed) > 5 else ""
    if not (unexpected or missing):
        message += "Feature names must be in the same order as they were in fit.\n"
    raise ValueError(message)
