"""Training on data that arrives in chunks: :func:`fit_stream`, and the batch source behind
it (:class:`ChunkBatches`), which the Dask path (:mod:`xperceptron._dask`) uses too.

A stream is read once per epoch, chunk after chunk. Each chunk is checked and its targets
encoded on arrival, then cut into mini-batches of ``batch_size`` rows; rows left over at a
chunk's end are carried into the next chunk's first batch, so the batches are those of
:meth:`fit` on the chunks' rows put together, and so is the model (with ``shuffle=False``).
At most about two chunks are held (the one training, and the next as it is read), the
carried rows (fewer than a batch, copied) and the model.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from ._distributed import Group, agreed, exchanged, group_of
from ._distributed import prepare as prepare_ranks
from ._namespace import Array, Device, Namespace, get_namespace, index_array, is_sparse
from ._sparse import row_slice, take_rows
from ._targets import is_indicator
from ._validation import check_sample_weight, check_X
from .initializers import HostRandom

__all__ = ["ChunkBatches", "RankStream", "fit_stream", "prepare_chunks"]

Chunk = tuple[Any, ...]
Opener = Callable[[HostRandom | None], Iterable[Chunk]]
"""``open(rng)``: one pass over the chunks; ``rng`` (None without ``shuffle``) may order them."""


def fit_stream(estimator: Any, chunks: Any, *, classes: Any = None) -> Any:
    """Train an :class:`MLPClassifier` or :class:`MLPRegressor` on a stream of chunks.

    Each epoch reads the stream once; up to ``max_iter`` epochs run, stopping as
    :meth:`fit` stops (``tol``, ``n_iter_no_change``). With ``shuffle=False`` the model is
    :meth:`fit` 's on the chunks' rows put together: chunks are cut into batches of
    ``batch_size`` rows (``"auto"``: 200), the rows left at a chunk's end joining the next
    chunk's first batch, and ``loss_curve_``, ``n_iter_`` and ``t_`` are fit's. With
    ``shuffle=True`` the rows of each chunk are shuffled (with the estimator's generator);
    a stream has no order to shuffle across chunks. ``warm_start=True`` continues a fitted
    model. With ``distributed`` set, each rank streams its own chunks and takes an equal
    share of each global batch (the first ranks one row more where ``batch_size`` does
    not divide by the ranks; see the "Scaling out" guide).

    Parameters
    ----------
    estimator : MLPClassifier or MLPRegressor
        A stochastic solver (``"sgd"``, ``"adam"``) without ``early_stopping``.
    chunks : callable or re-iterable
        ``chunks()`` returning an iterator of chunks (called once per epoch), or an iterable
        that starts over on each ``iter()`` (a list). A chunk is ``(X, y)`` or
        ``(X, y, sample_weight)``, as :meth:`fit` takes them, every chunk in the first one's
        namespace and on its device (later chunks are cast to its floating dtype). The
        first chunk is read once more beforehand, to check it and shape the network.
    classes : array-like, default=None
        Every label of the stream, required by a classifier with 1-D labels that is not
        continuing a fitted model (a chunk does not show them all; as ``partial_fit``).

    Returns
    -------
    estimator
        Fitted, as :meth:`fit` leaves it. A failure (a bad chunk, a stream that changes its
        length between epochs) raises and leaves the estimator as it was.
    """
    run = prepare_chunks(estimator, _opener(chunks), classes=classes, incremental=False)
    with estimator._restored_on_failure():
        estimator._train(run)
    return estimator


def _opener(chunks: Any) -> Opener:
    """A pass over ``chunks`` each time it is called (one-shot iterators refused, at the
    first call: with the other checks of the first chunk, which every rank agrees on)."""

    def open_chunks(rng: HostRandom | None) -> Iterable[Chunk]:
        if callable(chunks):
            return chunks()  # type: ignore[no-any-return]
        if isinstance(chunks, Iterable) and not isinstance(chunks, Iterator):
            return chunks
        raise TypeError(
            f"chunks must be a function returning an iterator of (X, y) chunks, or an "
            f"iterable that can be read once per epoch (a list), not {type(chunks).__name__}: "
            "a one-shot iterator gives one epoch only. Pass, for example, "
            "lambda: read_chunks(path)."
        )

    return open_chunks


def prepare_chunks(estimator: Any, open_chunks: Opener, *, classes: Any, incremental: bool) -> Any:
    """The checked training run (:class:`~xperceptron._mlp_run.Run`) of ``estimator`` on the
    chunks ``open_chunks`` reads (``incremental``: one epoch on from the current state, as
    ``partial_fit``): the first chunk checked and the network shaped from it, the batches
    a :class:`ChunkBatches`. Nothing on the estimator changes.

    With ``distributed`` set, each rank streams its own chunks (:class:`RankStream`): every
    check is agreed by every rank before anything collective, as for arrays in memory."""
    group = group_of(estimator)

    def first_chunk() -> tuple[Any, ...]:
        _check_streamable(estimator)
        return _first_chunk(estimator, open_chunks, classes, incremental)

    X, y, weights, reuse = first_chunk() if group is None else agreed(group, first_chunk)
    # A warm start checks that y holds exactly the fitted classes: a stream is checked
    # chunk by chunk against them instead (incremental=True skips that check only).
    prepare = estimator._prepare if group is None else functools.partial(prepare_ranks, estimator)
    run = prepare(X, y, incremental=incremental or reuse, classes=classes, sample_weight=weights)
    run.incremental = incremental
    xp, device, dtype, sizes = run.xp, run.device, run.X.dtype, run.layer_sizes
    empty = xp.zeros((0,), dtype=dtype, device=device)
    size = 200 if estimator.batch_size == "auto" else int(estimator.batch_size)
    if group is not None:  # the global batch in equal shares (the first ranks one more)
        if size < group.size:  # every rank has the same batch_size: all refuse alike
            raise ValueError(
                f"batch_size={size} is smaller than the {group.size} ranks: each step takes "
                "at least one row from each rank's stream."
            )
        size = size // group.size + int(group.rank < size % group.size)
    batches = ChunkBatches(
        open_chunks, _Encoder(estimator, empty, sizes[0], run.targets), size,
        shuffle=bool(estimator.shuffle), weighted=weights is not None, xp=xp, device=device,
    )  # fmt: skip
    # The network is shaped and typed by now: hold no more of the first chunk.
    run.X = xp.zeros((0, sizes[0]), dtype=dtype, device=device)
    run.Y = xp.zeros((0, sizes[-1]), dtype=dtype, device=device)
    run.weights = None
    nothing = (run.X, run.Y) if weights is None else (run.X, run.Y, empty)
    run.batches = batches if group is None else RankStream(group, batches, nothing)
    return run


def _first_chunk(
    estimator: Any, open_chunks: Opener, classes: Any, incremental: bool
) -> tuple[Any, ...]:
    """The stream's first chunk ``(X, y, sample_weight)``, and whether the estimator goes on
    from its fitted state."""
    X, y, weights = _unpack(next(iter(open_chunks(None)), None), 0, weighted=None)
    reuse = hasattr(estimator, "coefs_") and bool(incremental or estimator.warm_start)
    classifier = getattr(estimator, "_estimator_type", None) == "classifier"
    if classifier and not reuse and classes is None and not is_indicator(y):
        raise ValueError(
            "classes must be given to train a classifier on a stream: every label the "
            "stream holds (one chunk does not show them all), as partial_fit requires."
        )
    return X, y, weights, reuse


class RankStream:
    """One rank's batches of a data-parallel stream (a
    :class:`~xperceptron._training.BatchSource`): its own stream's batches, each its equal
    share of the global batch, then empty batches while other ranks' streams go on. Before
    each step the ranks sum, on the host, how many still have a batch and how many failed
    to read one (a failure is then raised on every rank, with its reason): the epoch ends
    on every rank at once."""

    def __init__(self, group: Group, source: ChunkBatches, nothing: tuple[Array, ...]) -> None:
        self._group, self._source, self._nothing = group, source, nothing
        self.n_samples = 0  # every rank's rows together, from the end of the first epoch

    def epoch(self, rng: HostRandom) -> Iterator[tuple[Array, ...]]:
        local, group = self._source.epoch(rng), self._group
        while True:
            batch, failure = None, None
            try:
                batch = next(local, None)
            except Exception as exc:  # a refused or unreadable chunk: every rank hears of it
                failure = exc
            going, failed = group.all_sum([batch is not None, failure is not None])
            if failed:  # every rank raises: this one its error, the others one naming it
                exchanged(group, functools.partial(_reraise, failure))
            if not going:
                self.n_samples = group.all_sum([self._source.n_samples])[0]
                return
            yield self._nothing if batch is None else batch


def _reraise(failure: Exception | None) -> None:
    if failure is not None:
        raise failure


def _check_streamable(estimator: Any) -> None:
    if not (hasattr(estimator, "_prepare") and hasattr(estimator, "_train")):
        raise TypeError(
            f"Streams train MLPClassifier and MLPRegressor, not {type(estimator).__name__}."
        )
    estimator._validate_params()
    if estimator.solver == "lbfgs":
        raise ValueError(
            "solver='lbfgs' takes every sample in each step and cannot train on a stream; "
            "use solver='adam' or 'sgd' (or compute the arrays and call fit)."
        )
    if estimator.early_stopping:
        raise ValueError(
            "early_stopping=True needs a held-out split that a stream does not provide; "
            "set early_stopping=False (and score a held-out set with a callback)."
        )


def _unpack(chunk: Any, index: int, *, weighted: bool | None) -> tuple[Any, Any, Any]:
    """``(X, y, sample_weight)`` of chunk ``index``; ``weighted``: whether the stream's
    chunks carry weights (None: as the first chunk says)."""
    if chunk is None and index == 0:
        raise ValueError("The stream is empty: its first pass gave no chunk.")
    if not isinstance(chunk, tuple | list) or len(chunk) not in (2, 3):
        raise TypeError(
            f"Chunk {index} is a {type(chunk).__name__}; a chunk is a tuple (X, y) or "
            "(X, y, sample_weight)."
        )
    X, y, weights = (*chunk, None) if len(chunk) == 2 else chunk
    if weighted is not None and weighted != (weights is not None):
        raise ValueError(
            f"Chunk {index} {'lacks' if weighted else 'has'} sample weights but the first "
            "chunk " + ("has them" if weighted else "does not") + ": weigh every chunk or none."
        )
    if is_sparse(X):
        raise TypeError(f"Chunk {index}: X is sparse; streams take dense chunks.")
    return X, y, weights


@dataclasses.dataclass
class _Encoder:
    """Checks a chunk against the stream's first one, and encodes its targets."""

    estimator: Any
    reference: Array  # no rows, of the stream's namespace, device and dtype
    n_features: int
    targets: dict[str, Any]  # those the first chunk gave

    def __call__(self, X: Any, y: Any, weights: Any) -> tuple[Array, ...]:
        # Arrays must be the first chunk's kind; lists follow it (as fit's y follows X).
        xp, device = get_namespace(X=X, y=y, first_chunk=self.reference)
        X = check_X(X, xp=xp, device=device, dtype=self.reference.dtype)
        if X.shape[1] != self.n_features:
            raise ValueError(
                f"X has {X.shape[1]} features but the stream's first chunk has "
                f"{self.n_features}; every chunk has the same columns."
            )
        Y, targets, _ = self.estimator._targets(
            y, X, xp=xp, device=device, reuse=False, classes=self.targets.get("classes_")
        )
        for name, value in targets.items():
            if not np.array_equal(np.asarray(value), np.asarray(self.targets[name])):
                raise ValueError(
                    f"y gives {name}={value!r:.80} but the stream's first chunk gave "
                    f"{self.targets[name]!r:.80}; every chunk's targets have one form."
                )
        w = check_sample_weight(weights, X.shape[0], xp=xp, device=device, dtype=X.dtype)
        return (X, Y) if w is None else (X, Y, w)


class ChunkBatches:
    """The mini-batches of a stream of chunks (a :class:`~xperceptron._training.BatchSource`).

    Each epoch opens the stream (``open_chunks(rng)``, ``rng`` None without ``shuffle``),
    checks and encodes each chunk as it comes (``encode``), and cuts it into batches of
    ``batch_size`` rows; the rows a chunk leaves over start the next one's first batch, and
    the stream's last rows make a last, partial batch. With ``shuffle`` each chunk's rows
    are taken in an order drawn on the host. ``n_samples`` is counted in the first epoch;
    a later epoch that gives another count is refused.
    """

    def __init__(
        self,
        open_chunks: Opener,
        encode: Callable[..., tuple[Array, ...]],
        batch_size: int,
        *,
        shuffle: bool,
        weighted: bool,
        xp: Namespace,
        device: Device,
    ) -> None:
        self._open, self._encode = open_chunks, encode
        self.batch_size, self.shuffle, self._weighted = batch_size, shuffle, weighted
        self._xp, self._device = xp, device
        self.n_samples = 0  # until the first epoch has counted them

    def epoch(self, rng: HostRandom) -> Iterator[tuple[Array, ...]]:
        size, carried, count = self.batch_size, None, 0
        for index, chunk in enumerate(self._open(rng if self.shuffle else None)):
            arrays = self._checked(chunk, index)
            del chunk  # only the checked arrays from here on
            n = int(arrays[0].shape[0])
            count += n
            order = rng.generator.permutation(n) if self.shuffle else None
            start = 0
            if carried is not None:  # the rows left over complete a batch first
                start = min(size - int(carried[0].shape[0]), n)
                carried = self._joined(carried, self._rows(arrays, order, 0, start))
                if int(carried[0].shape[0]) < size:
                    continue
                yield carried
                carried = None
            for begin in range(start, n - size + 1, size):
                yield self._rows(arrays, order, begin, begin + size)
            stop = start + (n - start) // size * size
            if stop < n:  # fewer than a batch: copied, so the chunk itself can go
                carried = self._copied(self._rows(arrays, order, stop, n))
            del arrays
        if carried is not None:
            yield carried
        self._counted(count)

    def _checked(self, chunk: Any, index: int) -> tuple[Array, ...]:
        """Chunk ``index`` checked and encoded; any refusal names the chunk."""
        try:
            return self._encode(*_unpack(chunk, index, weighted=self._weighted))
        except (TypeError, ValueError) as exc:
            message = str(exc)
            if not message.startswith(f"Chunk {index}"):
                message = f"Chunk {index}: {message}"
            raise type(exc)(message) from exc

    def _rows(
        self, arrays: tuple[Array, ...], order: np.ndarray[Any, Any] | None, start: int, stop: int
    ) -> tuple[Array, ...]:
        if order is None:
            return tuple(row_slice(a, start, stop) for a in arrays)
        rows = index_array(order[start:stop], self._xp, self._device)
        return tuple(take_rows(a, rows, xp=self._xp) for a in arrays)

    def _joined(self, head: tuple[Array, ...], tail: tuple[Array, ...]) -> tuple[Array, ...]:
        return tuple(self._xp.concat([a, b], axis=0) for a, b in zip(head, tail, strict=True))

    def _copied(self, arrays: tuple[Array, ...]) -> tuple[Array, ...]:
        return tuple(self._xp.asarray(a, copy=True) for a in arrays)

    def _counted(self, count: int) -> None:
        if self.n_samples and count != self.n_samples:
            raise ValueError(
                f"The stream gave {count} rows in this epoch but {self.n_samples} in the "
                "first; it must give the same rows every epoch."
            )
        self.n_samples = count
