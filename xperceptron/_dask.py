"""Dask arrays in and out: training streams the blocks, inference stays lazy.

A lazy array never enters the batch loop (a graph per batch costs a thousand times the
batch's work, and Dask arrays have no in-place operators). ``fit`` and ``partial_fit``
compute one block of rows at a time, where Dask computes it, and train on it in its own
namespace (NumPy blocks on the CPU, CuPy blocks on the GPU) through the stream of
:mod:`xperceptron._streaming`. ``predict`` and its kin return lazy arrays (``map_blocks``):
inference runs on the workers. Dask is imported only once a Dask collection is seen.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import numpy as np

from ._distributed import Group, agreed, check_same, exchanged, group_of
from ._namespace import get_namespace, to_numpy
from ._streaming import prepare_chunks
from .initializers import HostRandom

__all__ = ["computed", "is_dask", "lazy_on_dask", "prepare_dask"]

_F = TypeVar("_F", bound=Callable[..., Any])


def _module(name: str) -> Any:
    """A Dask module, imported where first needed (untyped for mypy)."""
    return importlib.import_module(name)


def is_dask(*values: Any) -> bool:
    """Whether any of ``values`` is a Dask collection (never imports Dask: a program that
    has not imported it holds none)."""
    dask = sys.modules.get("dask")
    return dask is not None and any(dask.is_dask_collection(v) for v in values)


def computed(*values: Any) -> tuple[Any, ...]:
    """``values`` with the Dask collections among them computed together (the others as
    they are): for scores, which need predictions and targets, never X."""
    if not is_dask(*values):
        return values
    return tuple(_module("dask").compute(*values))


def prepare_dask(
    estimator: Any, X: Any, y: Any, *, incremental: bool, classes: Any, sample_weight: Any
) -> Any:
    """The training run of ``estimator`` on Dask arrays: their row blocks as a stream.

    With ``shuffle=False`` the blocks come in order, and the model is the one ``fit`` makes
    on the computed arrays. With ``shuffle=True`` each epoch visits the blocks in an order
    drawn from the estimator's generator and each block's rows in an order drawn after it.
    A classifier's classes are found first, from ``y`` alone.
    """
    group = group_of(estimator)  # across ranks, every check is agreed before it goes on

    def aligned() -> tuple[Any, Any, Any]:
        return _aligned(X, y, sample_weight)

    X, y, sample_weight = aligned() if group is None else agreed(group, aligned)
    fitted = hasattr(estimator, "coefs_")
    if group is not None:  # what the steps below branch on, so that every rank takes them
        check_same(group, "The call (the estimator fitted, classes given, y's dimensions)",
                   (fitted, classes is not None, y.ndim))  # fmt: skip
    reuse = fitted and (incremental or estimator.warm_start)
    classifier = getattr(estimator, "_estimator_type", None) == "classifier"
    # partial_fit: the caller names the classes, as on arrays
    if classifier and y.ndim == 1 and not incremental and (reuse or classes is None):
        labels = _labels(y) if group is None else _every_ranks(group, y)
        if not reuse:
            classes = labels
        elif not np.array_equal(labels, estimator.classes_):  # a warm start: exactly them
            raise ValueError(
                "warm_start can only be used where `y` has the same classes as in the "
                f"previous call to fit. Previously got {estimator.classes_}, `y` has {labels}"
            )

    def open_blocks(rng: HostRandom | None) -> Iterator[tuple[Any, ...]]:
        return _blocks(X, y, sample_weight, rng)

    return prepare_chunks(estimator, open_blocks, classes=classes, incremental=incremental)


def _every_ranks(group: Group, y: Any) -> np.ndarray[Any, Any]:
    """The labels of every rank's ``y`` together (data-parallel: a rank may lack a class)."""
    return np.unique(np.concatenate(exchanged(group, lambda: _labels(y))))


def _aligned(X: Any, y: Any, sample_weight: Any) -> tuple[Any, Any, Any]:
    """``X`` in one block of columns, and ``y`` (and array weights) as Dask arrays blocked
    as X's rows."""
    da = _module("dask.array")
    if not isinstance(X, da.Array) or X.ndim != 2:
        raise TypeError(
            f"X is a {type(X).__name__} of Dask; fit takes a 2-D dask.array.Array "
            "(a Dask DataFrame converts with X.to_dask_array(lengths=True))."
        )
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    rows = X.chunks[0]
    if any(np.isnan(rows)):
        raise ValueError(
            "X has blocks of unknown length; call X.compute_chunk_sizes() first (or "
            "to_dask_array(lengths=True) on a Dask DataFrame)."
        )

    def blocked(values: Any) -> Any:
        values = values if isinstance(values, da.Array) else da.asarray(values)
        return values.rechunk((rows, *((-1,) * (values.ndim - 1))))

    y = np.asarray(y) if isinstance(y, list) else y
    if len(y.shape) == 0 or y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} samples but y has shape {y.shape}; they must match.")
    y = blocked(y)
    if sample_weight is not None and np.ndim(sample_weight) != 0:
        sample_weight = blocked(sample_weight)
    return X, y, sample_weight


def _labels(y: Any) -> np.ndarray[Any, Any]:
    """The sorted distinct labels of a Dask array ``y``, on the host (y alone is computed)."""
    return np.unique(to_numpy(_module("dask.array").unique(y).compute()))


def _blocks(X: Any, y: Any, weights: Any, rng: HostRandom | None) -> Iterator[tuple[Any, ...]]:
    """Each row block computed, as ``(X, y[, weights])`` (in an order drawn from ``rng``
    where given); one block at a time."""
    dask = _module("dask")
    n_blocks = X.numblocks[0]
    order = range(n_blocks) if rng is None else rng.generator.permutation(n_blocks)
    for i in order:
        parts = [X.blocks[int(i)], y.blocks[int(i)]]
        if weights is not None:
            parts.append(weights.blocks[int(i)] if is_dask(weights) else weights)
        yield tuple(dask.compute(*parts))


def lazy_on_dask(method: _F) -> _F:
    """``method(X)`` as a lazy Dask array where ``X`` is one: each block predicted where it
    is computed (``map_blocks``). One row of zeros is predicted first, so that a model not
    fitted, or fitted on other features or another namespace, is refused at once."""

    @functools.wraps(method)
    def dispatch(self: Any, X: Any) -> Any:
        if not is_dask(X):
            return method(self, X)
        if not isinstance(X, _module("dask.array").Array) or X.ndim != 2 or np.isnan(X.shape[1]):
            raise TypeError("Predictions on Dask take a 2-D dask.array.Array of known width.")
        X = X.rechunk({1: -1}) if X.numblocks[1] > 1 else X
        xp, device = get_namespace(meta=X._meta)
        probe = method(self, xp.zeros((1, X.shape[1]), dtype=X.dtype, device=device))
        predict = functools.partial(method, self)
        meta = probe[:0, ...]
        if probe.ndim == 1:
            return X.map_blocks(predict, drop_axis=1, dtype=probe.dtype, meta=meta)
        columns = (probe.shape[1],)
        return X.map_blocks(predict, chunks=(X.chunks[0], columns), dtype=probe.dtype, meta=meta)

    return dispatch  # type: ignore[return-value]
