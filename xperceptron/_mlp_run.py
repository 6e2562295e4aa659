"""The checks of a fit, and the training run they describe (:class:`Run`): everything
that can be refused is refused here, before the estimator changes."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from ._dask import is_dask, prepare_dask
from ._frames import check_feature_names, feature_names
from ._namespace import Array, Device, Namespace, get_namespace, is_array
from ._validation import check_features, check_same_namespace, check_sample_weight, check_X

__all__ = ["Run", "RunChecks"]


@dataclasses.dataclass
class Run:
    """A checked request to train: nothing on the estimator has changed yet."""

    xp: Namespace
    device: Device
    X: Array
    Y: Array
    layer_sizes: list[int]
    targets: dict[str, Any]  # the target attributes to publish (out_activation_, classes_...)
    strata: np.ndarray[Any, Any] | None  # host labels to stratify the validation split on
    reuse: bool  # continue from the fitted state
    incremental: bool  # partial_fit: one epoch, the optimizer state kept
    weights: Array | None = None  # sample weights, one a row of X
    group: Any = None  # the processes of a data-parallel run (xperceptron._distributed)
    batches: Any = None  # a stream's batch source (xperceptron._streaming); None: in memory
    first_epoch: int = 0  # epochs run before this call (n_iter_ counts this call's only)


class RunChecks:
    """The MLPs' checks of a fit (a mixin of :class:`xperceptron._mlp_base.BaseMLP`)."""

    # What the estimator that mixes this in has (annotations only: nothing is shadowed).
    coefs_: list[Array]
    out_activation_: str
    early_stopping: bool
    warm_start: bool
    _validate_params: Callable[[], None]
    _hidden_sizes: Callable[[], tuple[int, ...]]
    _targets: Callable[..., tuple[Array, dict[str, Any], np.ndarray[Any, Any] | None]]

    def _prepare(
        self, X: Any, y: Any, *, incremental: bool, classes: Any, sample_weight: Any
    ) -> Run:
        """Every check of a fit, before anything changes."""
        if is_dask(X, y, sample_weight):  # never trained lazily: streamed block by block
            run: Run = prepare_dask(self, X, y, incremental=incremental, classes=classes,
                                    sample_weight=sample_weight)  # fmt: skip
            return run
        self._validate_params()
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True.")
        hidden = self._hidden_sizes()
        reuse = hasattr(self, "coefs_") and (incremental or self.warm_start)
        # Lists follow the arrays they come with: X's or y's, else the fitted model's.
        fitted = self.coefs_[0] if reuse and not (is_array(X) or is_array(y)) else None
        xp, device = get_namespace(X=X, y=y, fitted=fitted)
        names = feature_names(X)  # a DataFrame's column names, read before X is an array
        if reuse:  # first, as scikit-learn: other columns of a DataFrame may be all NaN
            check_feature_names(self, names)
            check_same_namespace(self.coefs_[0], xp=xp, device=device)
        # Continuing a model: X goes straight to its dtype (a list is never rounded through
        # the device's default float first).
        X = check_X(X, xp=xp, device=device, dtype=self.coefs_[0].dtype if reuse else None,
                    accept_sparse=True)  # fmt: skip
        if reuse:
            check_features(X, self)
        Y, targets, strata = self._targets(
            y, X, xp=xp, device=device, reuse=reuse, classes=classes,
            warm_start=reuse and not incremental,
        )  # fmt: skip
        if not reuse:  # a new fit sets the names, or removes them (None), as scikit-learn
            targets["feature_names_in_"] = names
        layer_sizes = [X.shape[1], *hidden, Y.shape[1]]
        if reuse:
            self._check_continues(targets["out_activation_"], layer_sizes)
        weights = check_sample_weight(
            sample_weight, X.shape[0], xp=xp, device=device, dtype=X.dtype
        )
        return Run(xp, device, X, Y, layer_sizes, targets, strata, reuse, incremental, weights)

    def _check_continues(self, out_activation: str, layer_sizes: list[int]) -> None:
        """That the fitted network can go on training on targets of ``out_activation`` with
        ``layer_sizes``."""
        if out_activation != self.out_activation_:
            raise ValueError(
                f"y needs {out_activation} outputs but the network was fitted "
                f"with {self.out_activation_} outputs; fit a new estimator (warm_start=False)."
            )
        fitted_sizes = [W.shape[1] for W in self.coefs_]
        if fitted_sizes[:-1] != layer_sizes[1:-1]:
            raise ValueError(
                f"hidden_layer_sizes={tuple(layer_sizes[1:-1])} differs from the fitted network's "
                f"{tuple(fitted_sizes[:-1])}; set warm_start=False to refit."
            )
        if fitted_sizes[-1] != layer_sizes[-1]:
            raise ValueError(
                f"y needs {layer_sizes[-1]} output unit(s) but the model was fitted with "
                f"{fitted_sizes[-1]}: y must keep the form it had in the first fit (as many "
                "targets, or multilabel columns); set warm_start=False to refit."
            )
