"""Checkpoints: one ``.npz`` file, readable without pickle, loadable onto any backend.

Loading executes nothing from the file and trusts nothing in it: every field and array is
checked before use (the guide's "Checkpoints" page describes the format and the checks).
"""

from __future__ import annotations

import errno
import json
import os
import re
import warnings
import zipfile
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from ._base import CHECKPOINT_CLASSES, BaseEstimator, Mover, check_is_fitted
from ._checkpoint_schema import (
    FLOAT,
    ORDER,
    MemberSpec,
    checked_fields,
    checked_order,
    decode_value,
    encode_value,
    unique_keys,
)
from ._frames import set_feature_names
from ._namespace import (
    Array,
    Device,
    Namespace,
    get_namespace,
    host_dtype,
    namespace_name,
    namespace_of,
)
from ._npz import Archive, write

__all__ = ["FORMAT_VERSION", "load", "read_metadata", "save"]

FORMAT = "xperceptron-checkpoint"
FORMAT_VERSION = 1
HEADER_CHARS = 1 << 24
"""The most characters a checkpoint's JSON header holds (16 Mi; the metadata is most of it)."""
HEADER_DEPTH = 64
"""The deepest a checkpoint's JSON header nests (a model's own fields nest 6 deep)."""
_NOT_SAVED = {"callbacks": None}
# Parameters newer than the format (see _params): a file without them gets their defaults.
_ADDED_LATER = ("max_fun", "loss", "distributed", "cuda_graph")
_HEADER_FIELDS = (
    "format", "format_version", "class", "dtype", "params", "fitted", "metadata", "feature_names",
)  # fmt: skip
_FLOATS = ("float16", "float32", "float64")
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
# The estimators register themselves (``_base.checkpointable``): this module imports none.
_CLASSES = CHECKPOINT_CLASSES
_T = TypeVar("_T")


def save(
    estimator: BaseEstimator,
    path: str | os.PathLike[str],
    *,
    metadata: dict[str, Any] | None = None,
) -> None:
    """Write a fitted estimator to ``path`` (an ``.npz`` file), from any backend.

    Parameters
    ----------
    estimator : MLPClassifier, MLPRegressor or Perceptron
        Fitted, on any backend. Its ``callbacks`` are not saved (loaded: ``None``).
    path : str or os.PathLike
        Written beside, then renamed into place: an interrupted save leaves no half file.
    metadata : dict, optional
        Keyword-only: any JSON-serialisable dict (feature names, preprocessing...), stored
        beside the model; :func:`read_metadata` reads it back alone.

    Returns
    -------
    None

    Raises
    ------
    NotFittedError
        If the estimator was not fitted.
    TypeError
        For an estimator this format does not know, or metadata that is not JSON.
    ValueError
        For what pickle alone could write (labels of dtype object), or :func:`load` would
        refuse: non-finite parameters, a header beyond ``HEADER_CHARS`` or ``HEADER_DEPTH``.

    Examples
    --------
    >>> import os, tempfile
    >>> from xperceptron import Perceptron, load, save
    >>> from xperceptron.datasets import logic_gate
    >>> X, y = logic_gate("and")
    >>> path = os.path.join(tempfile.mkdtemp(), "and.npz")
    >>> save(Perceptron().fit(X, y), path, metadata={"gate": "and"})
    >>> load(path).predict(X).tolist()
    [0, 0, 0, 1]
    """
    name = type(estimator).__name__
    if _CLASSES.get(name) is not type(estimator):
        raise TypeError(f"save() knows {sorted(_CLASSES)}, not {name}.")
    check_is_fitted(estimator)
    meta, arrays = estimator._checkpoint()  # type: ignore[attr-defined]
    dtype = next(a.dtype for key, a in arrays.items() if key.startswith(("coef", "intercept")))
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "class": name,
        "dtype": dtype.name,
        # Callbacks are live objects (files, bars): a checkpoint stores the model, not them.
        "params": encode_value(
            {k: _NOT_SAVED.get(k, v) for k, v in estimator.get_params().items()}
        ),
        "fitted": meta,
        "metadata": metadata if metadata is not None else {},
        # scikit-learn's feature_names_in_ (a DataFrame's column names), or null.
        "feature_names": _feature_names(estimator),
    }
    for key, array in arrays.items():
        if array.dtype.kind == "O" and all(isinstance(v, str) for v in array.tolist()):
            arrays[key] = array = array.astype(str)  # strings held as objects (pandas)
        if array.dtype.kind not in "biufU":
            raise ValueError(
                f"{key} has dtype {array.dtype}, which cannot be stored without pickle; "
                "use numeric or string labels."
            )
        if array.dtype.kind == "f" and not _finite(array):
            raise ValueError(f"{key} holds non-finite values; a checkpoint holds finite ones.")
    try:
        text = json.dumps(header)
    except TypeError as exc:
        raise TypeError(f"metadata must be JSON-serialisable: {exc}") from exc
    _check_text(text)
    write(os.fspath(path), {"header": np.array(text), **arrays})


def load(
    path: str | os.PathLike[str],
    *,
    xp: Any = None,
    device: Device = None,
    dtype: Any = None,
) -> Any:
    """Read a checkpoint written by :func:`save`.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.npz`` file.
    xp : module, optional
        The array library to load into (``numpy``, ``cupy``, ``torch``, ``jax.numpy``,
        ``array_api_strict``...); NumPy by default. Train on a GPU, load on a CPU, and back.
    device : optional
        The device of ``xp`` to put the arrays on; its default device otherwise.
    dtype : optional
        A floating dtype of ``xp`` to cast the parameters to (for a device without float64);
        the saved dtype otherwise.

    Returns
    -------
    MLPClassifier, MLPRegressor or Perceptron
        Fitted, in ``xp`` on ``device``: it predicts and trains on as the saved one would.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a checkpoint of this format version, is damaged, or holds
        anything its declared model cannot (a field, member, type, dtype, shape or value);
        also for a ``dtype`` or ``device`` that ``xp`` lacks.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from xperceptron import Perceptron, load, save
    >>> path = os.path.join(tempfile.mkdtemp(), "or.npz")
    >>> save(Perceptron().fit([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 1]), path)
    >>> load(path, dtype=np.float32).coef_.dtype  # or xp=torch, device="cuda"
    dtype('float32')
    """
    target = os.fspath(path)
    namespace = namespace_of(xp) if xp is not None else get_namespace()[0]
    with _open(target) as archive:
        header = _checked(target, _header, archive)
        host = _target_dtype(namespace, header["dtype"], dtype, device)
        estimator, arrays = _checked(target, _contents, archive, header)
    to_device = _mover(namespace, device, host)
    _checked(target, estimator._restore, header["fitted"], arrays, to_device=to_device)
    names = _checked(target, _checked_names, header["feature_names"], estimator.n_features_in_)
    set_feature_names(estimator, names)
    return estimator


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``metadata`` dict stored by :func:`save` (empty if none was given).

    Only the checkpoint's header is read, with the checks :func:`load` makes of it.
    """
    target = os.fspath(path)
    with _open(target) as archive:
        header = _checked(target, _header, archive)
    metadata: dict[str, Any] = header["metadata"]
    return metadata


def _checked(target: str, read: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """``read(*args, **kwargs)``, its complaints about the file as one ``ValueError``."""
    try:
        return read(*args, **kwargs)
    except ValueError as exc:
        raise ValueError(f"{target}: {exc}") from exc
    except (KeyError, TypeError, AttributeError, IndexError, OverflowError) as exc:
        raise ValueError(f"{target}: malformed or incomplete checkpoint ({exc!r:.300})") from exc


def _feature_names(estimator: Any) -> list[str] | None:
    names = getattr(estimator, "feature_names_in_", None)
    return None if names is None else [str(name) for name in names]


def _checked_names(names: Any, n_features: int) -> np.ndarray[Any, Any] | None:
    """``feature_names_in_`` as fit sets it: ``n_features`` distinct strings, or None."""
    if names is None:
        return None
    if (
        not isinstance(names, list)
        or len(names) != n_features
        or not all(isinstance(name, str) for name in names)
        or len(set(names)) != len(names)
    ):
        raise ValueError(
            f"feature_names must be null or {n_features} distinct strings (one per feature), "
            f"got {names!r:.200}."
        )
    return np.asarray(names, dtype=object)


def _open(target: str) -> Archive:
    if not os.path.exists(target):
        raise FileNotFoundError(errno.ENOENT, "No such checkpoint", target)
    if not zipfile.is_zipfile(target):
        raise ValueError(f"{target} is not an xperceptron checkpoint (not an .npz archive).")
    return _checked(target, Archive, target)


def _header(archive: Archive) -> dict[str, Any]:
    """The header, read alone (bounded), each top-level field checked."""
    if "header" not in archive.members:
        raise ValueError("no valid header: it is not an xperceptron checkpoint.")
    what = "a string (the JSON header)"
    member = archive.read("header", kinds="U", what=what, shape=(), limit=4 * HEADER_CHARS)
    try:
        text = str(member[()])
        _check_text(text)
        header = json.loads(text, object_pairs_hook=unique_keys)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"damaged header: {exc}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError("not an xperceptron checkpoint (its header names another format).")
    version = header.get("format_version")
    if type(version) is not int or version != FORMAT_VERSION:
        newer = type(version) is int and version > FORMAT_VERSION
        raise ValueError(
            f"checkpoint format version {version!r:.50}; this xperceptron reads "
            f"version {FORMAT_VERSION}" + (" (the file is from a newer release)." if newer else ".")
        )
    header.setdefault("feature_names", None)  # files saved before it was recorded have none
    checked_fields(header, _HEADER_FIELDS, "the header")
    if not isinstance(header["class"], str) or header["class"] not in _CLASSES:
        raise ValueError(
            f"malformed checkpoint: class {header['class']!r:.50} is none of {sorted(_CLASSES)}."
        )
    if header["dtype"] not in _FLOATS:
        raise ValueError(
            f"malformed checkpoint: dtype {header['dtype']!r:.50} is none of {_FLOATS}."
        )
    for field in ("params", "fitted", "metadata"):
        if not isinstance(header[field], dict):
            raise ValueError(f"malformed checkpoint: {field} must be a JSON object.")
    return header


def _contents(archive: Archive, header: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The estimator the header describes, and the arrays its architecture holds: names,
    dtypes and shapes checked before any data is read."""
    cls = _CLASSES[header["class"]]
    estimator = cls(**_params(cls, header["params"]))
    estimator._validate_params()
    expected: dict[str, MemberSpec] = estimator._checkpoint_members(header["fitted"])
    present = set(archive.members) - {"header"}
    missing, unknown = sorted(set(expected) - present), sorted(present - set(expected))
    if missing:
        raise ValueError(f"the checkpoint has no member {missing[0]!r} (missing: {missing[:10]}).")
    if unknown:
        raise ValueError(f"{cls.__name__} of this architecture has no member {unknown[:10]}.")
    arrays = {
        name: _member(archive, name, spec, header["dtype"]) for name, spec in expected.items()
    }
    return estimator, arrays


def _member(archive: Archive, name: str, spec: MemberSpec, dtype: str) -> np.ndarray[Any, Any]:
    kind, shape = spec
    if kind == FLOAT:
        what = f"floats ({dtype}, the header's dtype)"
        array = archive.read(name, kinds="f", what=what, shape=shape)
        if array.dtype != np.dtype(dtype):
            raise ValueError(f"member {name!r} has dtype {array.dtype}; expected {what}.")
        if not _finite(array):
            raise ValueError(f"member {name!r} holds non-finite values (NaN or infinity).")
        return array
    if kind == ORDER:
        array = archive.read(name, kinds="iu", what="row positions (integers)", shape=shape)
        return checked_order(array, f"member {name!r}")
    array = archive.read(name, kinds="biufU", what="labels (numbers or strings)", shape=shape)
    if array.shape[0] < 1:
        raise ValueError(f"member {name!r} holds no label; a classifier has 1 or more.")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array) & (array == np.round(array))):
        raise ValueError(f"member {name!r} holds labels that are not finite integers.")
    if not np.array_equal(np.unique(array), array):
        raise ValueError(f"member {name!r} holds labels that are not sorted and unique.")
    return array


def _params(cls: type[Any], saved: Any) -> dict[str, Any]:
    """The constructor's parameters: every one, nothing else. Those added since this format
    was first written take their defaults, which files without them were trained with."""
    if isinstance(saved, dict):
        saved = {k: v for k, v in cls().get_params().items() if k in _ADDED_LATER} | saved
    checked_fields(saved, tuple(cls._get_param_names()), f"{cls.__name__}'s parameters")
    for name, value in _NOT_SAVED.items():
        if saved.get(name, value) != value:
            raise ValueError(f"parameter {name} is not saved: it must be {value!r}.")
    return {name: decode_value(value) for name, value in saved.items()}


def _target_dtype(xp: Namespace, saved: str, dtype: Any, device: Device) -> Any:
    """The host dtype to load as, once ``xp`` is known to make such arrays on ``device``."""
    name = namespace_name(xp)
    if dtype is None:
        saved = "float32" if saved == "float16" else saved  # float16 is computed in float32
        dtype = getattr(xp, saved, None)
        if dtype is None:
            raise ValueError(
                f"the checkpoint holds {saved} parameters and {name} has no {saved}; pass "
                "dtype=, one of its floating dtypes."
            )
    try:
        with warnings.catch_warnings():  # array-api-strict warns when compared with NumPy's
            warnings.simplefilter("ignore", UserWarning)
            host = host_dtype(dtype, xp)
    except TypeError:
        raise ValueError(
            f"dtype={dtype!r} is not a floating dtype of {name} (float16, float32 or float64, "
            "where it has them)."
        ) from None
    if host == np.float16:
        raise ValueError(
            "dtype=float16: xperceptron computes in float32 or float64 (float16 has too little "
            "range for a loss total and too little precision for Adam); pass float32."
        )
    kwargs = {} if device is None else {"device": device}
    where = f"device {device!r}" if device is not None else "its default device"
    try:
        made = xp.asarray(np.zeros(1, dtype=host), **kwargs)
    except Exception as exc:  # each library has its own (torch without CUDA: AssertionError)
        raise ValueError(f"{name} cannot make {dtype} arrays on {where}: {exc}") from exc
    if made.dtype != dtype:
        raise ValueError(f"{name} makes {made.dtype} arrays of {dtype} on {where}; pass dtype=.")
    return host


def _mover(xp: Namespace, device: Device, host: Any) -> Mover:
    """A function that checks one float member's shape and moves it to ``(xp, device)``."""

    def to_device(
        arrays: dict[str, np.ndarray[Any, Any]],
        name: str,
        shape: tuple[int, ...],
        *,
        non_negative: bool = False,
    ) -> Array:
        if name not in arrays:
            raise ValueError(f"the checkpoint has no member {name!r}.")
        array = arrays[name]
        if array.dtype.kind != "f":
            raise ValueError(f"member {name!r} has dtype {array.dtype}; expected floats.")
        if array.shape != tuple(shape):
            raise ValueError(f"member {name!r} has shape {array.shape}; expected {tuple(shape)}.")
        if non_negative and np.any(array < 0):
            raise ValueError(f"member {name!r} holds negative values; it cannot.")
        with np.errstate(over="ignore"):
            cast = array.astype(host, copy=False)
        if cast is not array and not _finite(cast):
            raise ValueError(f"member {name!r} overflows {np.dtype(host).name}.")
        kwargs = {} if device is None else {"device": device}
        return xp.asarray(cast, **kwargs)

    return to_device


def _finite(array: np.ndarray[Any, Any]) -> bool:
    """Whether every value is finite (two reductions, no array of flags: NaN propagates)."""
    return array.size == 0 or bool(np.isfinite(array.min()) & np.isfinite(array.max()))


def _check_text(text: str) -> None:
    """Refuse a header longer or deeper than a checkpoint's, before parsing it."""
    if len(text) > HEADER_CHARS:
        raise ValueError(
            f"the header has {len(text)} characters; a checkpoint's has at most {HEADER_CHARS}."
        )
    depth = _depth(text)
    if depth > HEADER_DEPTH:
        raise ValueError(f"the header nests {depth} levels deep; at most {HEADER_DEPTH}.")


def _depth(text: str) -> int:
    """How deep JSON ``text`` nests (0 where it cannot nest deeper than ``HEADER_DEPTH``),
    without recursion: the brackets outside its strings. Exact for valid JSON, and for the
    valid beginning of a damaged text, which is all a parser reaches."""
    if text.count("[") + text.count("{") <= HEADER_DEPTH:
        return 0
    plain = text.replace("\\\\", "").replace('\\"', "")  # escapes, left to right
    brackets = _NOT_BRACKET.sub("", "".join(plain.split('"')[::2]))  # outside strings
    codes = np.frombuffer(brackets.encode("ascii"), dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1).astype(np.int32)
    return int(np.cumsum(steps).max(initial=0))
