"""MLPClassifier and MLPRegressor: scikit-learn's interface over the training engine.

:class:`~xperceptron._mlp_base.BaseMLP` holds the shared shell (hyperparameters, a fit run
through :mod:`xperceptron._training`, the fitted attributes, checkpoints); each estimator
here adds its targets, its validation score and its predictions.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ._base import ClassifierMixin, RegressorMixin, available_if, checkpointable
from ._dask import computed, lazy_on_dask
from ._docstrings import shared_sections
from ._labels import decode
from ._mlp_base import BaseMLP
from ._mlp_params import MLP_CONSTRAINTS
from ._namespace import (
    Array,
    Device,
    Namespace,
    argmax_rows,
    default_int_dtype,
    get_namespace,
)
from ._targets import (
    REGRESSION_OUTPUTS,
    check_poisson_targets,
    classification_targets,
    is_indicator,
    r2,
    regression_targets,
)
from ._validation import OneOf, check_sample_weight
from .activations import log_logistic, logistic
from .losses import get_output_loss, log_softmax

__all__ = ["MLPClassifier", "MLPRegressor"]

_STOCHASTIC_ONLY = (
    "partial_fit is only available for stochastic optimizers. {obj.solver} is not stochastic."
)


def _stochastic(estimator: Any) -> bool:
    # Only lbfgs hides it: any other value reaches the parameter check and its message.
    return bool(estimator.solver != "lbfgs")


@checkpointable
@shared_sections
class MLPClassifier(ClassifierMixin, BaseMLP):
    """Multi-layer perceptron classifier trained by backprop, on any array API backend.

    The parameters, their defaults and the fitted attributes are scikit-learn's
    ``MLPClassifier`` 's, and so are the results: from the same ``random_state`` the same
    model. Binary and multilabel problems use logistic outputs with the binary log-loss;
    multiclass problems a softmax with the categorical log-loss. Everything fitted lives in
    the namespace and on the device of the ``X`` given to ``fit``.

    Parameters
    ----------
    {mlp_network_parameters}
    {mlp_training_parameters}

    Attributes
    ----------
    classes_ : numpy.ndarray of shape (n_classes,)
        The sorted labels (``arange(n_labels)`` for a multilabel indicator ``y``); always on
        the host, as labels of any dtype (strings included) may be.
    out_activation_ : {"logistic", "softmax"}
        The output layer's activation: logistic for two classes (one unit) and multilabel
        problems (one unit a label), softmax beyond two classes.
    {mlp_attributes}

    See Also
    --------
    MLPRegressor : the same network for regression.
    xperceptron.callbacks : what ``callbacks`` may hold.

    Examples
    --------
    >>> from xperceptron import MLPClassifier
    >>> from xperceptron.datasets import logic_gate
    >>> X, y = logic_gate("xor")
    >>> clf = MLPClassifier((8,), "tanh", solver="adam", learning_rate_init=0.05,
    ...                     max_iter=500, random_state=0).fit(X, y)
    >>> clf.predict(X).tolist()
    [0, 1, 1, 0]
    """

    def _targets(
        self,
        y: Any,
        X: Array,
        *,
        xp: Namespace,
        device: Device,
        reuse: bool,
        classes: Any,
        warm_start: bool = False,
    ) -> tuple[Array, dict[str, Any], np.ndarray[Any, Any] | None]:
        fitted = self.classes_ if reuse else None
        return classification_targets(
            y, X, xp=xp, device=device, fitted=fitted, classes=classes, same_classes=warm_start
        )

    def _checkpoint(self) -> tuple[dict[str, Any], dict[str, np.ndarray[Any, Any]]]:
        meta, arrays = super()._checkpoint()
        arrays["classes_"] = self.classes_
        return meta, arrays

    _LABEL_MEMBERS = ("classes_",)

    def _restore_targets(
        self, targets: dict[str, Any], arrays: dict[str, np.ndarray[Any, Any]], n_outputs: int
    ) -> None:
        # As fit makes them: one logistic unit for 2 classes, one per label for a multilabel
        # indicator (classes_ its column numbers), a softmax over 3 or more classes.
        classes, out = arrays["classes_"], targets["out_activation_"]
        allowed = [(max(n_outputs, 2),), *([(1,)] if n_outputs == 1 else [])]  # 1 class too
        if classes.shape not in allowed:
            raise ValueError(f"classes_ has shape {classes.shape} for {n_outputs} output units.")
        multilabel = classes.dtype.kind in "iu" and np.array_equal(classes, np.arange(n_outputs))
        logistic = out == "logistic" and (n_outputs == 1 or multilabel)
        if not (logistic or (out == "softmax" and n_outputs > 2)):
            raise ValueError(
                f"out_activation_={out!r:.50} with {n_outputs} output unit(s) and classes_ "
                f"{classes.tolist()[:10]} is not a classifier fit makes."
            )
        targets["classes_"] = classes

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    @available_if(_stochastic, _STOCHASTIC_ONLY)
    def partial_fit(
        self, X: Any, y: Any, sample_weight: Any = None, classes: Any = None
    ) -> MLPClassifier:
        """One epoch over ``(X, y)``, continuing from the current state.

        ``classes`` (every label the model will see) is required on the first call;
        ``sample_weight`` as in :meth:`fit`.
        """
        if not hasattr(self, "coefs_") and classes is None and not is_indicator(y):
            raise ValueError(
                "classes must be passed on the first call to partial_fit "
                "(every label the model will ever see)."
            )
        self._fit(X, y, incremental=True, classes=classes, sample_weight=sample_weight)
        return self

    def _single_logit(self, logits: Array) -> bool:
        """One logistic unit for one or two classes (not a one-label multilabel model)."""
        return bool(logits.shape[1] == 1 and self.classes_.shape[0] <= 2)

    @lazy_on_dask
    def predict_proba(self, X: Any) -> Array:
        """Probabilities of shape ``(n_samples, n_classes)``; rows sum to 1 (not multilabel)."""
        logits, xp = self._forward_checked(X)
        return self._probabilities(logits, xp=xp)

    def _probabilities(self, logits: Array, *, xp: Namespace) -> Array:
        """:meth:`predict_proba` from the output layer's logits (``export_onnx`` traces it)."""
        if self.out_activation_ == "softmax":
            return xp.exp(log_softmax(logits, xp=xp))
        positive = logistic(logits, xp=xp)
        return (
            xp.concat([1.0 - positive, positive], axis=1)
            if self._single_logit(logits)
            else positive
        )

    @lazy_on_dask
    def predict_log_proba(self, X: Any) -> Array:
        """Logarithms of :meth:`predict_proba`, computed stably from the logits (so that
        they stay finite and exact where the probabilities saturate to 0 or 1)."""
        logits, xp = self._forward_checked(X)
        if self.out_activation_ == "softmax":
            return log_softmax(logits, xp=xp)
        if self._single_logit(logits):
            return xp.concat([log_logistic(-logits, xp=xp), log_logistic(logits, xp=xp)], axis=1)
        return log_logistic(logits, xp=xp)

    @lazy_on_dask
    def predict(self, X: Any) -> Array:
        """Labels in X's namespace and on its device (an int indicator for multilabel)."""
        logits, xp = self._forward_checked(X)
        indices = self._class_indices(logits, xp=xp)
        # A multilabel model predicts its indicator rows; the others, the classes indexed.
        return indices if indices.ndim == 2 else decode(indices, self.classes_, xp=xp)

    def _class_indices(self, logits: Array, *, xp: Namespace) -> Array:
        """Each sample's index into ``classes_`` (a multilabel model: its 0/1 indicator
        row), from the output layer's logits (``export_onnx`` traces it)."""
        _, device = get_namespace(logits=logits)
        if self.out_activation_ == "softmax":
            return argmax_rows(logits, xp=xp, device=device)
        positive = logits > 0.0  # sigmoid(z) > 0.5, as scikit-learn thresholds
        if self._single_logit(logits):
            # Index 1 where the unit says so; a model of one class always says its class.
            return xp.astype(positive[:, 0], xp.int32) * int(self.classes_.shape[0] - 1)
        return xp.astype(positive, default_int_dtype(xp, device))


@checkpointable
@shared_sections
class MLPRegressor(RegressorMixin, BaseMLP):
    """Multi-layer perceptron regressor trained by backprop, on any array API backend.

    The parameters, their defaults and the fitted attributes are scikit-learn's
    ``MLPRegressor`` 's. ``y`` has shape ``(n_samples,)`` or ``(n_samples, n_targets)``.
    Everything fitted lives in the namespace and on the device of the ``X`` given to
    ``fit``.

    Parameters
    ----------
    {mlp_network_parameters}
    loss : {"squared_error", "poisson"}, default="squared_error"
        ``"squared_error"``: identity output and half the squared error;
        ``"poisson"``: exponential output and half the Poisson deviance, for non-negative
        targets (counts, rates). Keyword-only here: scikit-learn takes it as its first
        positional parameter, but ``hidden_layer_sizes`` and ``activation`` keep the first
        two places.
    {mlp_training_parameters}

    Attributes
    ----------
    out_activation_ : {"identity", "exp"}
        The output layer's activation, set by ``loss``.
    {mlp_attributes}

    See Also
    --------
    MLPClassifier : the same network for classification.

    Examples
    --------
    >>> import numpy as np
    >>> from xperceptron import MLPRegressor
    >>> X = np.linspace(-2, 2, 200)[:, None]
    >>> y = np.sin(2 * X[:, 0])
    >>> reg = MLPRegressor((32,), "tanh", learning_rate_init=0.01, max_iter=1000,
    ...                    random_state=1).fit(X, y)
    >>> reg.score(X, y) > 0.95
    True
    """

    _TARGET_ATTRIBUTES = ("out_activation_", "_y_1d")
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **MLP_CONSTRAINTS,
        "loss": [OneOf(*REGRESSION_OUTPUTS)],
    }

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        loss: str = "squared_error",
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: int | np.random.RandomState | np.random.Generator | None = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        max_fun: int = 15000,
        callbacks: Any = None,
        distributed: str | None = None,
        cuda_graph: bool = False,
    ) -> None:
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init,
            power_t=power_t, max_iter=max_iter, shuffle=shuffle, random_state=random_state,
            tol=tol, verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
            callbacks=callbacks, distributed=distributed, cuda_graph=cuda_graph,
        )  # fmt: skip
        self.loss = loss

    def _restore_targets(
        self, targets: dict[str, Any], arrays: dict[str, np.ndarray[Any, Any]], n_outputs: int
    ) -> None:
        out, one_d = targets["out_activation_"], targets["_y_1d"]
        expected = REGRESSION_OUTPUTS.get(self.loss)
        if out != expected or type(one_d) is not bool or (one_d and n_outputs != 1):
            raise ValueError(
                f"out_activation_={out!r:.50} and _y_1d={one_d!r:.50} with {n_outputs} "
                f"output(s) are not those of a regressor with loss={self.loss!r:.50}."
            )

    def _targets(
        self,
        y: Any,
        X: Array,
        *,
        xp: Namespace,
        device: Device,
        reuse: bool,
        classes: Any,
        warm_start: bool = False,
    ) -> tuple[Array, dict[str, Any], np.ndarray[Any, Any] | None]:
        Y = regression_targets(y, X, xp=xp, device=device)
        out_activation = REGRESSION_OUTPUTS[self.loss]
        if out_activation == "exp":
            check_poisson_targets(Y, xp=xp)
        attributes = {"out_activation_": out_activation, "_y_1d": Y.ndim == 1}
        return (Y[:, None] if Y.ndim == 1 else Y), attributes, None

    @available_if(_stochastic, _STOCHASTIC_ONLY)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """One epoch over ``(X, y)``, continuing from the current state; ``sample_weight`` as
        in :meth:`fit`."""
        self._fit(X, y, incremental=True, sample_weight=sample_weight)
        return self

    @lazy_on_dask
    def predict(self, X: Any) -> Array:
        """Predictions of shape ``(n_samples,)`` (or ``(n_samples, n_targets)``): positive
        means ``exp(z)`` with ``loss="poisson"``."""
        logits, xp = self._forward_checked(X)
        return self._predictions(logits, xp=xp)

    def _predictions(self, logits: Array, *, xp: Namespace) -> Array:
        """:meth:`predict` from the output layer's logits (``export_onnx`` traces it)."""
        output = get_output_loss(self.out_activation_).output(logits, xp=xp)
        return output[:, 0] if self._y_1d else output

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """The coefficient of determination R² (averaged over targets, weighted by
        ``sample_weight`` where given), a Python float."""
        # Dask: the lazy predictions and y computed (never X on the client)
        predicted, y, sample_weight = computed(self.predict(X), y, sample_weight)
        xp, device = get_namespace(predicted=predicted)
        Y = regression_targets(y, predicted, xp=xp, device=device)
        weights = check_sample_weight(
            sample_weight, Y.shape[0], xp=xp, device=device, dtype=predicted.dtype
        )
        return float(r2(Y, predicted, xp=xp, weights=weights))
