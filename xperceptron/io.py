"""Checkpoints: one ``.npz`` file, readable without pickle, loadable onto any backend.

Every member loads with ``numpy.load(path, allow_pickle=False)``: the parameters, the
optimizer state and the labels as plain numeric or string arrays, and a ``header`` member
holding JSON (format version, class, hyperparameters, training progress, random state).
Loading never executes anything from the file.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
import zipfile
from typing import Any

import numpy as np

from ._base import CHECKPOINT_CLASSES, BaseEstimator, Mover, check_is_fitted
from ._namespace import Array, Device, Namespace, get_namespace, host_dtype, namespace_of

__all__ = ["FORMAT_VERSION", "load", "read_metadata", "save"]

FORMAT = "xperceptron-checkpoint"
FORMAT_VERSION = 1
_NOT_SAVED = {"callbacks": None}
# The estimators register themselves (``_base.checkpointable``): this module imports none.
_CLASSES = CHECKPOINT_CLASSES


def save(
    estimator: BaseEstimator,
    path: str | os.PathLike[str],
    *,
    metadata: dict[str, Any] | None = None,
) -> None:
    """Write a fitted estimator to ``path`` (an ``.npz`` file), from any backend.

    ``metadata``, any JSON-serialisable dict (feature names, preprocessing...), is stored
    beside the model; :func:`read_metadata` returns it.

    The file is written next to ``path`` and then renamed, so an interrupted save never
    leaves a half-written checkpoint in its place. ``callbacks`` are not saved (they hold
    files and terminals): the loaded estimator has ``callbacks=None``.

    Raises
    ------
    NotFittedError
        If the estimator was not fitted.
    TypeError
        For an estimator this format does not know.
    ValueError
        If something cannot be written without pickle (labels of dtype object).
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
        "params": _encode({k: _NOT_SAVED.get(k, v) for k, v in estimator.get_params().items()}),
        "fitted": meta,
        "metadata": metadata if metadata is not None else {},
    }
    for key, array in arrays.items():
        if array.dtype.kind == "O" and all(isinstance(v, str) for v in array.tolist()):
            arrays[key] = array = array.astype(str)  # strings held as objects (pandas)
        if array.dtype.kind not in "biufU":
            raise ValueError(
                f"{key} has dtype {array.dtype}, which cannot be stored without pickle; "
                "use numeric or string labels."
            )
    try:
        text = json.dumps(header)
    except TypeError as exc:
        raise TypeError(f"metadata must be JSON-serialisable: {exc}") from exc
    members = {"header": np.array(text), **arrays}
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".xperceptron-", suffix=".npz")
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, **members)
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise


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
    xp : module, optional
        The array library to load into (``numpy``, ``cupy``, ``torch``, ``jax.numpy``,
        ``array_api_strict``...); NumPy by default. Train on a GPU, load on a CPU, and back.
    device : optional
        The device of ``xp`` to put the arrays on; its default device otherwise.
    dtype : optional
        A floating dtype of ``xp`` to cast the parameters to (for a device without float64);
        the saved dtype otherwise.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a checkpoint, is truncated or damaged, has another format version,
        or holds a member of an unexpected dtype or shape.
    """
    target = os.fspath(path)
    header, members = _read(target)
    namespace = namespace_of(xp) if xp is not None else get_namespace()[0]
    try:
        cls = _CLASSES[header["class"]]
        estimator = cls(**_decode(header["params"]))
        estimator._validate_params()
        saved = getattr(namespace, header["dtype"])
        to_device = _mover(members, namespace, device, dtype if dtype is not None else saved)
        estimator._restore(header["fitted"], members, to_device=to_device)
    except (KeyError, TypeError, AttributeError, IndexError) as exc:
        raise ValueError(f"{target} has a malformed or incomplete checkpoint: {exc!r}") from exc
    return estimator


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``metadata`` dict stored by :func:`save` (empty if none was given)."""
    header, _ = _read(os.fspath(path))
    metadata = header.get("metadata", {})
    if not isinstance(metadata, dict):
        raise ValueError(f"{os.fspath(path)} has malformed metadata.")
    return metadata


def _read(target: str) -> tuple[dict[str, Any], dict[str, np.ndarray[Any, Any]]]:
    """The checked header and the other members of a checkpoint, without pickle."""
    if not os.path.exists(target):
        raise FileNotFoundError(errno.ENOENT, "No such checkpoint", target)
    if not zipfile.is_zipfile(target):
        raise ValueError(f"{target} is not an xperceptron checkpoint (not an .npz archive).")
    try:
        with np.load(target, allow_pickle=False) as archive:
            members = {key: archive[key] for key in archive.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise ValueError(f"{target} is damaged or not a checkpoint: {exc}") from exc
    return _header(members.pop("header", None), target), members


def _header(member: np.ndarray[Any, Any] | None, target: str) -> dict[str, Any]:
    if member is None or member.dtype.kind != "U" or member.ndim != 0:
        raise ValueError(f"{target} has no valid header: it is not an xperceptron checkpoint.")
    try:
        header = json.loads(str(member))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{target} has a damaged header: {exc}") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"{target} is not an xperceptron checkpoint.")
    version = header.get("format_version")
    if version != FORMAT_VERSION:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        raise ValueError(
            f"{target} has checkpoint format version {version!r}; this xperceptron reads "
            f"version {FORMAT_VERSION}" + (" (the file is from a newer release)." if newer else ".")
        )
    return header


def _mover(
    members: dict[str, np.ndarray[Any, Any]], xp: Namespace, device: Device, dtype: Any
) -> Mover:
    """A function that checks one float member's shape and moves it to ``(xp, device)``."""
    host = host_dtype(dtype, xp)

    def to_device(
        arrays: dict[str, np.ndarray[Any, Any]], key: str, shape: tuple[int, ...]
    ) -> Array:
        if key not in arrays:
            raise ValueError(f"the checkpoint has no member {key!r}.")
        array = arrays[key]
        if array.dtype.kind != "f":
            raise ValueError(f"member {key!r} has dtype {array.dtype}; expected floats.")
        if array.shape != tuple(shape):
            raise ValueError(f"member {key!r} has shape {array.shape}; expected {tuple(shape)}.")
        kwargs = {} if device is None else {"device": device}
        return xp.asarray(array.astype(host, copy=False), **kwargs)

    return to_device


def _encode(value: Any) -> Any:
    """Hyperparameters as JSON, keeping tuples tuples and a Generator its state."""
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {key: _encode(v) for key, v in value.items()}
    if isinstance(value, np.random.Generator):
        return {"__generator__": value.bit_generator.state}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"__tuple__"}:
            return tuple(_decode(v) for v in value["__tuple__"])
        if set(value) == {"__generator__"}:
            generator = np.random.default_rng()
            generator.bit_generator.state = value["__generator__"]
            return generator
        return {key: _decode(v) for key, v in value.items()}
    return value
