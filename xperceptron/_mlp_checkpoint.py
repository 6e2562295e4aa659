"""How an MLP is saved and loaded: its fitted state as JSON-able metadata and host arrays
(:class:`xperceptron._base.Checkpointable`), every part checked before any is used."""

from __future__ import annotations

import itertools
from typing import Any, ClassVar

import numpy as np

from ._checkpoint_schema import (
    FLOAT,
    LABELS,
    ORDER,
    MemberSpec,
    checked_count,
    checked_fields,
    generator_state,
    restore_generator,
)
from ._namespace import to_numpy
from ._stopping import Progress
from ._training import TrainingState
from .initializers import HostRandom
from .optimizers import restore_state, state_to_checkpoint

__all__ = ["MLPCheckpoints"]

_FITTED = ("layer_sizes", "targets", "progress", "optimizer", "rng", "n_iter_", "shuffle_order")


class MLPCheckpoints:
    """The checkpoint protocol of :class:`~xperceptron._mlp_base.BaseMLP`."""

    # Provided by the estimator.
    coefs_: list[Any]
    intercepts_: list[Any]
    n_features_in_: int
    n_iter_: int
    hidden_layer_sizes: Any
    _progress: Progress
    _optimizer_state: Any
    _rng: HostRandom

    def _hidden_sizes(self) -> tuple[int, ...]:
        raise NotImplementedError

    def _commit(
        self,
        state: TrainingState,
        targets: dict[str, Any],
        layer_sizes: list[int],
        first_epoch: int,
    ) -> None:
        raise NotImplementedError

    # The attributes saved in the header's "targets" (JSON), and those saved as label arrays
    # of one label per output unit (two for a single logistic unit): the only ones restored.
    _TARGET_ATTRIBUTES: ClassVar[tuple[str, ...]] = ("out_activation_",)
    _LABEL_MEMBERS: ClassVar[tuple[str, ...]] = ()

    def _checkpoint(self) -> tuple[dict[str, Any], dict[str, np.ndarray[Any, Any]]]:
        """What :func:`xperceptron.save` writes: JSON-able metadata and NumPy arrays."""
        optimizer, arrays = state_to_checkpoint(self._optimizer_state)
        order = self._rng.order
        if order is not None:
            arrays["shuffle_order"] = order.astype(np.int64)
        for i, (W, b) in enumerate(zip(self.coefs_, self.intercepts_, strict=True)):
            arrays[f"coefs_{i}"], arrays[f"intercepts_{i}"] = to_numpy(W), to_numpy(b)
        meta = {
            "layer_sizes": [self.n_features_in_, *(W.shape[1] for W in self.coefs_)],
            "targets": {name: getattr(self, name) for name in self._TARGET_ATTRIBUTES},
            "progress": self._progress.to_json(),
            "optimizer": optimizer,
            "rng": generator_state(self._rng.generator),
            # The rows' order the epoch shuffles reached (a member), and how many rows.
            "shuffle_order": None if order is None else int(order.shape[0]),
            "n_iter_": self.n_iter_,  # the epochs of the call that made this state
        }
        return meta, arrays

    def _layer_sizes(self, meta: Any) -> list[int]:
        """The checked ``layer_sizes`` of fitted state ``meta``: ints >= 1, the hidden ones
        those of ``hidden_layer_sizes``."""
        if isinstance(meta, dict):  # files saved before these were recorded have none
            meta = {"n_iter_": None, "shuffle_order": None, **meta}
        sizes = checked_fields(meta, _FITTED, "the fitted state")["layer_sizes"]
        if (
            not isinstance(sizes, list)
            or len(sizes) < 2
            or not all(type(n) is int and n >= 1 for n in sizes)
        ):
            raise ValueError(f"layer_sizes must be a list of 2+ ints >= 1, got {sizes!r:.100}.")
        if sizes[1:-1] != list(self._hidden_sizes()):
            raise ValueError(
                f"layer sizes {sizes!r:.200} do not match hidden_layer_sizes="
                f"{self.hidden_layer_sizes!r}."
            )
        return sizes

    def _parameter_shapes(self, layer_sizes: list[int]) -> dict[str, tuple[int, ...]]:
        shapes: dict[str, tuple[int, ...]] = {}
        for i, (fan_in, fan_out) in enumerate(itertools.pairwise(layer_sizes)):
            shapes[f"coefs_{i}"], shapes[f"intercepts_{i}"] = (fan_in, fan_out), (fan_out,)
        return shapes

    def _checkpoint_members(self, meta: dict[str, Any]) -> dict[str, MemberSpec]:
        """The parameters, the optimizer state and the labels of the declared network."""
        layer_sizes = self._layer_sizes(meta)
        shapes = self._parameter_shapes(layer_sizes)
        members: dict[str, MemberSpec] = {name: (FLOAT, s) for name, s in shapes.items()}

        def name(key: str, shape: tuple[int, ...], **_: Any) -> None:
            members[key] = (FLOAT, shape)

        restore_state(meta["optimizer"], name, list(shapes.values()))  # the names it reads
        # One logistic unit: 2 classes, or 1 (every sample of one class, as scikit-learn fits).
        n_labels = None if layer_sizes[-1] == 1 else layer_sizes[-1]
        members.update({key: (LABELS, (n_labels,)) for key in self._LABEL_MEMBERS})
        if meta.get("shuffle_order") is not None:
            n_rows = checked_count(meta["shuffle_order"], "shuffle_order", low=1)
            members["shuffle_order"] = (ORDER, (n_rows,))
        return members

    def _restore(
        self, meta: dict[str, Any], arrays: dict[str, np.ndarray[Any, Any]], *, to_device: Any
    ) -> None:
        """Set the fitted state from :meth:`_checkpoint` 's output, checked first."""
        layer_sizes = self._layer_sizes(meta)
        shapes = self._parameter_shapes(layer_sizes)
        params = [to_device(arrays, name, shape) for name, shape in shapes.items()]
        state = restore_state(
            meta["optimizer"], lambda name, shape, **kw: to_device(arrays, name, shape, **kw),
            list(shapes.values()),
        )  # fmt: skip
        progress = Progress.from_json(meta["progress"])
        rng = HostRandom(restore_generator(meta["rng"]), arrays.get("shuffle_order"))
        targets = dict(checked_fields(meta["targets"], self._TARGET_ATTRIBUTES, "targets"))
        self._restore_targets(targets, arrays, layer_sizes[-1])
        # Files saved before n_iter_ was recorded were saved by a single call.
        n_iter = checked_count(meta["n_iter_"], "n_iter_") if "n_iter_" in meta else progress.n_iter
        if n_iter > progress.n_iter:
            raise ValueError(f"n_iter_={n_iter} exceeds the {progress.n_iter} epochs trained.")
        first_epoch = progress.n_iter - n_iter
        self._commit(TrainingState(params, state, progress, rng), targets, layer_sizes, first_epoch)

    def _restore_targets(
        self, targets: dict[str, Any], arrays: dict[str, np.ndarray[Any, Any]], n_outputs: int
    ) -> None:
        """Check the saved ``targets`` against ``n_outputs`` output units, and add what
        they need from ``arrays`` (the classifier's ``classes_``)."""
        raise NotImplementedError
