"""Callbacks: called once at the end of each epoch, never inside the batch loop.

A callback is an object with any of these methods (all optional):

- ``on_train_begin(estimator)``
- ``on_epoch_end(estimator, epoch) -> bool | None`` — ``epoch`` is an :class:`Epoch`; return
  ``True`` to stop training. The estimator's fitted attributes (``coefs_``, ``loss_curve_``...)
  are those of the epoch that just ended, so a callback may save or inspect it.
- ``on_train_end(estimator)``
- ``on_non_finite(estimator, epoch_number) -> bool`` — the loss became NaN or infinite; the
  estimator holds the last finite parameters. Return ``True`` to end training quietly instead
  of raising :class:`~xperceptron.DivergenceError`.

The figures an :class:`Epoch` carries were read from the device once for that epoch anyway:
callbacks add no host round trip.

Examples
--------
>>> from xperceptron import MLPClassifier
>>> from xperceptron.callbacks import EarlyStopping, History
>>> from xperceptron.datasets import logic_gate
>>> X, y = logic_gate("xor")
>>> history = History()
>>> clf = MLPClassifier((8,), "tanh", learning_rate_init=0.05, random_state=0,
...                     callbacks=[history, EarlyStopping(patience=5)]).fit(X, y)
>>> history["loss"] == clf.loss_curve_
True
"""

from __future__ import annotations

import csv
import inspect
import os
import sys
from dataclasses import asdict, dataclass
from typing import Any, TextIO

from .exceptions import ConvergenceWarning, warn
from .io import save

__all__ = [
    "HOOKS",
    "CSVLogger",
    "CallbackList",
    "EarlyStopping",
    "Epoch",
    "History",
    "ModelCheckpoint",
    "ProgressBar",
    "StopOnNonFinite",
    "is_callback",
]

HOOKS = ("on_train_begin", "on_epoch_end", "on_train_end", "on_non_finite")
"""The methods a callback may have (any of them)."""


def is_callback(obj: object) -> bool:
    """Whether ``obj`` has any of the :data:`HOOKS`."""
    return any(hasattr(obj, hook) for hook in HOOKS)


class _Repr:
    """``Name(param=value)``, the parameters that differ from their defaults (as
    scikit-learn shows estimators): each parameter of ``__init__`` is an attribute."""

    def __repr__(self) -> str:
        parameters = inspect.signature(type(self).__init__).parameters.values()
        shown = [
            f"{p.name}={getattr(self, p.name)!r}"
            for p in parameters
            if p.name != "self" and getattr(self, p.name, p.default) != p.default
        ]
        return f"{type(self).__name__}({', '.join(shown)})"


class CallbackList:
    """Calls, in order, the hooks each callback has: what an estimator's training loop
    tells its callbacks."""

    def __init__(self, callbacks: list[Any]) -> None:
        self.callbacks = callbacks

    def __bool__(self) -> bool:
        return bool(self.callbacks)

    def _each(self, hook: str, *args: Any) -> list[Any]:
        return [getattr(c, hook)(*args) for c in self.callbacks if hasattr(c, hook)]

    def train_begin(self, estimator: Any) -> None:
        self._each("on_train_begin", estimator)

    def epoch_end(self, estimator: Any, epoch: Epoch) -> bool:
        """Every callback sees the epoch; whether any asks to stop."""
        return any([bool(stop) for stop in self._each("on_epoch_end", estimator, epoch)])

    def non_finite(self, estimator: Any, epoch_number: int) -> bool:
        """Every callback hears of it; whether any handled it (training then ends quietly)."""
        return any(
            [bool(handled) for handled in self._each("on_non_finite", estimator, epoch_number)]
        )

    def train_end(self, estimator: Any) -> None:
        self._each("on_train_end", estimator)

    def log(self, message: str) -> None:
        """A message of the training loop (early stopping, the adaptive schedule), on one
        channel with the progress: through the first :class:`ProgressBar` (so that it never
        lands in a bar's line), printed to standard output where there is none."""
        bar = next((c for c in self.callbacks if isinstance(c, ProgressBar)), None)
        if bar is not None:
            bar.write(message)
        else:
            print(message, flush=True)


@dataclass(frozen=True)
class Epoch:
    """The figures of one finished epoch."""

    epoch: int
    """1-based count of epochs the estimator has trained (``n_iter_``)."""
    loss: float
    validation_score: float | None
    learning_rate: float
    seconds: float
    """Wall time of this epoch."""
    max_epochs: int
    """Epochs this call to ``fit`` may run at most."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class History(_Repr):
    """Records every epoch's figures in ``self.epochs`` (a list of :class:`Epoch`).

    Attributes
    ----------
    epochs : list of Epoch
        One record per epoch, of the latest fit (and of every ``partial_fit`` call since).

    Examples
    --------
    >>> from xperceptron.callbacks import History
    >>> History()
    History()
    """

    def __init__(self) -> None:
        self.epochs: list[Epoch] = []

    def on_epoch_end(self, estimator: Any, epoch: Epoch) -> None:
        self.epochs.append(epoch)

    def __getitem__(self, name: str) -> list[Any]:
        """One figure across epochs: ``history["loss"]``."""
        return [getattr(e, name) for e in self.epochs]


class CSVLogger(_Repr):
    """Writes one CSV row per epoch to ``path``.

    The columns are :attr:`FIELDS`; an empty cell is a figure the epoch does not have (the
    validation score without ``early_stopping``). The file is opened and closed for each row,
    so it is complete after every epoch, even if training is interrupted.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file.
    append : bool, default=False
        Add rows to an existing file (its header is kept) instead of starting it anew at
        the beginning of training: one file over several ``partial_fit`` calls.

    Examples
    --------
    >>> from xperceptron.callbacks import CSVLogger
    >>> CSVLogger("log.csv", append=True)
    CSVLogger(path='log.csv', append=True)
    """

    FIELDS = ("epoch", "loss", "validation_score", "learning_rate", "seconds")

    def __init__(self, path: str | os.PathLike[str], *, append: bool = False) -> None:
        self.path = path
        self.append = append

    def on_train_begin(self, estimator: Any) -> None:
        exists = os.path.exists(self.path) and os.path.getsize(self.path) > 0
        mode = "a" if self.append else "w"
        with open(self.path, mode, newline="") as file:
            if not (self.append and exists):
                csv.writer(file).writerow(self.FIELDS)

    def on_epoch_end(self, estimator: Any, epoch: Epoch) -> None:
        row = epoch.as_dict()
        with open(self.path, "a", newline="") as file:
            csv.writer(file).writerow(["" if row[f] is None else row[f] for f in self.FIELDS])


class EarlyStopping(_Repr):
    """Stops when a figure has not improved for ``patience`` epochs; restores the best weights.

    This is a callback beside the estimator's own ``early_stopping``/``tol``/
    ``n_iter_no_change`` rule (scikit-learn's), which keeps working as it does there.

    Parameters
    ----------
    monitor : {"loss", "validation_score"}, default="loss"
        ``loss`` improves downwards, ``validation_score`` upwards (it needs
        ``early_stopping=True`` on the estimator, which holds out the validation split).
    patience : int, default=10
        Epochs without improvement before stopping.
    min_delta : float, default=1e-4
        The least change that counts as an improvement.
    restore_best_weights : bool, default=True
        At the end of training, put back the parameters of the best epoch.

    Attributes
    ----------
    best : float or None
        The best figure seen in the latest fit.
    best_epoch : int
        The epoch (``n_iter_``) that reached it.
    stopped_epoch : int or None
        The epoch after which this callback stopped training; None if it did not.

    Examples
    --------
    >>> from xperceptron.callbacks import EarlyStopping
    >>> EarlyStopping(patience=5)
    EarlyStopping(patience=5)
    """

    def __init__(
        self,
        monitor: str = "loss",
        *,
        patience: int = 10,
        min_delta: float = 1e-4,
        restore_best_weights: bool = True,
    ) -> None:
        if monitor not in ("loss", "validation_score"):
            raise ValueError(f"monitor must be 'loss' or 'validation_score', got {monitor!r}.")
        if patience < 1:
            raise ValueError(f"patience must be an int >= 1, got {patience!r}.")
        self.monitor = monitor
        self.patience = patience
        self.min_delta = min_delta
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, estimator: Any) -> None:
        self.best: float | None = None
        self.best_epoch = 0
        self.best_params: tuple[list[Any], list[Any]] | None = None
        self.wait = 0
        self.stopped_epoch: int | None = None

    def on_epoch_end(self, estimator: Any, epoch: Epoch) -> bool:
        value = getattr(epoch, self.monitor)
        if value is None:
            raise ValueError(
                "EarlyStopping(monitor='validation_score') needs early_stopping=True on the "
                "estimator, which holds out the validation split."
            )
        sign = 1.0 if self.monitor == "validation_score" else -1.0
        if self.best is None or sign * (value - self.best) > self.min_delta:
            self.best, self.best_epoch, self.wait = value, epoch.epoch, 0
            # Parameters are never written in place: keeping references is a snapshot.
            self.best_params = (list(estimator.coefs_), list(estimator.intercepts_))
            return False
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch.epoch
            return True
        return False

    def on_train_end(self, estimator: Any) -> None:
        if self.restore_best_weights and self.best_params is not None:
            estimator.coefs_, estimator.intercepts_ = (list(p) for p in self.best_params)


class ModelCheckpoint(_Repr):
    """Saves the estimator with :func:`xperceptron.save` at the end of epochs.

    A checkpoint holds what ``partial_fit`` needs to go on exactly as the run went on: the
    optimizer's state, the learning rate and the stopping counters as of that epoch.

    Parameters
    ----------
    path : str or os.PathLike
        Where to write; ``{epoch}`` in it is replaced by the epoch number
        (``"model-{epoch}.npz"``), otherwise each save replaces the last.
    every : int, default=1
        Save at the end of every ``every``-th epoch.
    save_best_only : bool, default=False
        Save only when the monitored figure improves on the best saved so far.
    monitor : {"loss", "validation_score"}, default="loss"
        With ``save_best_only``: ``loss`` improves downwards, ``validation_score`` upwards.

    Attributes
    ----------
    saved : list of str
        The files written, in order.

    Examples
    --------
    >>> from xperceptron.callbacks import ModelCheckpoint
    >>> ModelCheckpoint("model-{epoch}.npz", every=10)
    ModelCheckpoint(path='model-{epoch}.npz', every=10)
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        every: int = 1,
        save_best_only: bool = False,
        monitor: str = "loss",
    ) -> None:
        if every < 1:
            raise ValueError(f"every must be an int >= 1, got {every!r}.")
        self.path = os.fspath(path)
        self.every = every
        self.save_best_only = save_best_only
        self.monitor = monitor
        self.saved: list[str] = []
        self._best: float | None = None

    def on_epoch_end(self, estimator: Any, epoch: Epoch) -> None:
        if epoch.epoch % self.every:
            return
        if self.save_best_only:
            value = getattr(epoch, self.monitor)
            sign = 1.0 if self.monitor == "validation_score" else -1.0
            if value is None or (self._best is not None and sign * (value - self._best) <= 0):
                return
            self._best = value
        target = self.path.format(epoch=epoch.epoch)
        save(estimator, target)
        self.saved.append(target)


class StopOnNonFinite(_Repr):
    """Ends training quietly when the loss becomes non-finite, keeping the last finite
    parameters, with a :class:`~xperceptron.ConvergenceWarning` instead of a
    :class:`~xperceptron.DivergenceError`.

    Attributes
    ----------
    stopped_epoch : int or None
        The epoch whose loss was not finite; None while training has not diverged.
    """

    def __init__(self) -> None:
        self.stopped_epoch: int | None = None

    def on_non_finite(self, estimator: Any, epoch_number: int) -> bool:
        self.stopped_epoch = epoch_number
        warn(
            f"The loss became non-finite in epoch {epoch_number}; training stopped with the "
            "parameters of the epoch before.",
            ConvergenceWarning,
        )
        return True


class ProgressBar(_Repr):
    """What ``verbose=True`` shows: a bar over epochs (loss, validation score, time left)
    with ``tqdm`` on an interactive terminal, a short line per epoch otherwise.

    Messages of the training loop (early stopping, the adaptive schedule's new learning rate)
    go through :meth:`write`: while a bar is drawn they are printed above it with
    ``tqdm.write``, never into the bar's line.

    Parameters
    ----------
    stream : file-like, optional
        Where to draw. By default the bar goes to standard error and the lines (when standard
        error is not a terminal, or ``tqdm`` is not installed) to standard output, as
        scikit-learn prints them.

    Examples
    --------
    >>> import io
    >>> from xperceptron.callbacks import ProgressBar
    >>> ProgressBar()
    ProgressBar()
    >>> bar = ProgressBar(io.StringIO())  # not a terminal: lines
    >>> bar.write("Training loss did not improve. Stopping.")
    >>> bar.stream.getvalue()
    'Training loss did not improve. Stopping.\\n'
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self._bar: Any = None

    def on_train_begin(self, estimator: Any) -> None:
        self._bar = None
        self._started = False

    def _open(self, epoch: Epoch) -> None:
        self._started = True
        stream = self.stream if self.stream is not None else sys.stderr
        if not (hasattr(stream, "isatty") and stream.isatty()):
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return
        self._bar = tqdm(total=epoch.max_epochs, unit="epoch", file=stream, leave=True)

    def on_epoch_end(self, estimator: Any, epoch: Epoch) -> None:
        if not self._started:
            self._open(epoch)
        if self._bar is not None:
            figures = {"loss": f"{epoch.loss:.4g}"}
            if epoch.validation_score is not None:
                figures["val"] = f"{epoch.validation_score:.4f}"
            self._bar.set_postfix(figures, refresh=False)
            self._bar.update(1)
            return
        line = f"Iteration {epoch.epoch}, loss = {epoch.loss:.8f}"
        if epoch.validation_score is not None:
            line += f", validation score = {epoch.validation_score:.6f}"
        self.write(line)

    def write(self, message: str) -> None:
        """Print ``message`` on a line of its own: above the bar while one is drawn
        (``tqdm.write``), to the stream (standard output by default) otherwise."""
        if self._bar is not None:
            self._bar.write(message, file=self._bar.fp)
            return
        print(message, file=self.stream if self.stream is not None else sys.stdout, flush=True)

    def on_train_end(self, estimator: Any) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
