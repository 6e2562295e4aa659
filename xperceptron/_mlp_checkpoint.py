"""How an MLP is saved and loaded: its fitted state as JSON-able metadata and host arrays
(:class:`xperceptron._base.Checkpointable`), every part checked before any is used."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ._namespace import to_numpy
from ._stopping import Progress
from ._training import TrainingState
from .optimizers import restore_state, state_to_checkpoint

__all__ = ["MLPCheckpoints"]


class MLPCheckpoints:
    """The checkpoint protocol of :class:`~xperceptron._mlp_base.BaseMLP`."""

    # Provided by the estimator.
    coefs_: list[Any]
    intercepts_: list[Any]
    n_features_in_: int
    hidden_layer_sizes: Any
    _progress: Progress
    _optimizer_state: Any
    _rng: np.random.Generator

    def _hidden_sizes(self) -> tuple[int, ...]:
        raise NotImplementedError

    def _commit(
        self, state: TrainingState, targets: dict[str, Any], layer_sizes: list[int]
    ) -> None:
        raise NotImplementedError

    _TARGET_ATTRIBUTES: tuple[str, ...] = ("out_activation_",)

    def _checkpoint(self) -> tuple[dict[str, Any], dict[str, np.ndarray[Any, Any]]]:
        """What :func:`xperceptron.save` writes: JSON-able metadata and NumPy arrays."""
        optimizer, arrays = state_to_checkpoint(self._optimizer_state)
        for i, (W, b) in enumerate(zip(self.coefs_, self.intercepts_, strict=True)):
            arrays[f"coefs_{i}"], arrays[f"intercepts_{i}"] = to_numpy(W), to_numpy(b)
        meta = {
            "layer_sizes": [self.n_features_in_, *(W.shape[1] for W in self.coefs_)],
            "targets": {name: getattr(self, name) for name in self._TARGET_ATTRIBUTES},
            "progress": self._progress.to_json(),
            "optimizer": optimizer,
            "rng": self._rng.bit_generator.state,
        }
        return meta, arrays

    def _restore(
        self, meta: dict[str, Any], arrays: dict[str, np.ndarray[Any, Any]], *, to_device: Any
    ) -> None:
        """Set the fitted state from :meth:`_checkpoint` 's output, checked first."""
        layer_sizes = [int(n) for n in meta["layer_sizes"]]
        expected_sizes = [layer_sizes[0], *self._hidden_sizes(), layer_sizes[-1]]
        if layer_sizes != expected_sizes:
            raise ValueError(
                f"layer sizes {layer_sizes} do not match hidden_layer_sizes="
                f"{self.hidden_layer_sizes!r}."
            )
        shapes: dict[str, tuple[int, ...]] = {}
        for i, (fan_in, fan_out) in enumerate(itertools.pairwise(layer_sizes)):
            shapes[f"coefs_{i}"], shapes[f"intercepts_{i}"] = (fan_in, fan_out), (fan_out,)
        params = [to_device(arrays, name, shape) for name, shape in shapes.items()]
        state = restore_state(
            meta["optimizer"], lambda name, shape: to_device(arrays, name, shape),
            list(shapes.values()),
        )  # fmt: skip
        progress = Progress.from_json(meta["progress"])
        rng = np.random.default_rng()
        rng.bit_generator.state = meta["rng"]
        targets = dict(meta["targets"])
        self._restore_targets(targets, arrays)
        self._commit(TrainingState(params, state, progress, rng), targets, layer_sizes)

    def _restore_targets(
        self, targets: dict[str, Any], arrays: dict[str, np.ndarray[Any, Any]]
    ) -> None:
        """Subclasses add what their targets need (the classifier's ``classes_``)."""
