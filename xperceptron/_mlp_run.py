"""The checks of a fit, and the training run they describe (:class:`Run`): everything
that can be refused is refused here, before the estimator changes."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from ._dask import is_dask, prepare_dask
from ._frames import check_feature_names, feature_names
from ._namespace import Array, Device, Namespace, get_namespace, index_array, is_array
from ._sparse import take_rows
from ._targets import (
    early_stopping_split,
    mean_figures,
    score_of_figures,
    spread_figures,
    validation_figures,
    validation_score,
)
from ._training import pairs_of
from ._validation import check_features, check_same_namespace, check_sample_weight, check_X
from .initializers import HostRandom
from .network import predict

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

    def group_agreed(self, attempt: Callable[[], Any]) -> Any:
        """``attempt()`` on every rank of the group; where it fails on one, all raise."""
        from ._distributed import agreed

        return agreed(self.group, attempt)

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
    activation: str
    validation_fraction: float

    def _prepare(
        self,
        X: Any,
        y: Any,
        *,
        incremental: bool,
        classes: Any,
        sample_weight: Any,
        same_classes: bool | None = None,
        all_zero_weights: bool = False,
    ) -> Run:
        """Every check of a fit, before anything changes. ``same_classes``: whether ``y``
        must hold the fitted classes (by default on a warm start); ``all_zero_weights``:
        whether weights may all be 0 (a shard's, in a data-parallel run)."""
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
            warm_start=reuse and not incremental if same_classes is None else same_classes,
        )  # fmt: skip
        if not reuse:  # a new fit sets the names, or removes them (None), as scikit-learn
            targets["feature_names_in_"] = names
        layer_sizes = [X.shape[1], *hidden, Y.shape[1]]
        if reuse:
            self._check_continues(targets["out_activation_"], layer_sizes)
        weights = check_sample_weight(sample_weight, X.shape[0], xp=xp, device=device,
                                      dtype=X.dtype, all_zero=all_zero_weights)  # fmt: skip
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

    def _hold_out(self, run: Run, rng: HostRandom) -> tuple[Array, Array, Array | None, Any]:
        """The training arrays and weights (in the split's order), and with
        ``early_stopping`` a scorer of the held-out split (weighted where the samples are):
        scikit-learn's split, drawn right after the initial weights."""
        if not self.early_stopping:
            return run.X, run.Y, run.weights, None
        xp, device = run.xp, run.device
        labels = run.strata if run.layer_sizes[-1] == 1 else None  # binary only, as scikit-learn

        def draw() -> Any:
            return early_stopping_split(
                run.X.shape[0], self.validation_fraction, labels, run.targets.get("classes_"),
                rng.generator,
            )  # fmt: skip

        # A split a rank cannot make (too few rows) stops every rank, not just that one.
        split = draw() if run.group is None else run.group_agreed(draw)
        train_rows, valid_rows = (index_array(rows, xp, device) for rows in split)
        X_val, Y_val = take_rows(run.X, valid_rows, xp=xp), xp.take(run.Y, valid_rows, axis=0)
        weights = run.weights
        w_val = None if weights is None else xp.take(weights, valid_rows, axis=0)
        w_train = None if weights is None else xp.take(weights, train_rows, axis=0)
        out_activation = run.targets["out_activation_"]

        def validate(params: list[Array]) -> float:
            output = predict(pairs_of(params), X_val, activation=self.activation,
                             out_activation=out_activation, xp=xp)  # fmt: skip
            if run.group is None:
                return float(validation_score(output, Y_val, out_activation=out_activation,
                                              xp=xp, weights=w_val))  # fmt: skip
            # Every rank's held-out rows: their sums added up, one all-reduce an epoch.
            figures = validation_figures(output, Y_val, out_activation=out_activation, xp=xp,
                                         weights=w_val)  # fmt: skip
            summed = run.group.all_reduce(figures, xp)
            return float(score_of_figures(summed, out_activation=out_activation, xp=xp,
                                          total=total))  # fmt: skip

        total = None  # R²'s total sum of squares of every rank's held-out targets, once
        if run.group is not None and out_activation in ("identity", "exp"):
            means = run.group.all_reduce(mean_figures(Y_val, xp=xp, weights=w_val), xp)
            spread = spread_figures(Y_val, means, xp=xp, weights=w_val)
            total = run.group.all_reduce(spread, xp)

        X_train, Y_train = take_rows(run.X, train_rows, xp=xp), xp.take(run.Y, train_rows, axis=0)
        return X_train, Y_train, w_train, validate
