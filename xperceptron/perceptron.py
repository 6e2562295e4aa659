"""The single-layer perceptron of the classic tutorial, on any array API namespace."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np

from ._base import BaseEstimator, ClassifierMixin, checkpointable
from ._checkpoint_schema import (
    FLOAT,
    LABELS,
    MemberSpec,
    checked_count,
    checked_fields,
    checked_figures,
)
from ._frames import feature_names, set_feature_names
from ._labels import decode, encode, find_classes
from ._namespace import (
    Array,
    Device,
    Namespace,
    argmax_rows,
    default_int_dtype,
    get_namespace,
    is_writeable,
    to_numpy,
)
from ._validation import (
    BOOLEAN,
    NONE,
    Interval,
    OneOf,
    as_float_array,
    check_finite,
    check_labels,
    check_X,
)
from .activations import log_logistic, logistic
from .exceptions import ConvergenceWarning, DivergenceError, warn
from .losses import get_output_loss, log_softmax
from .network import backward, forward

__all__ = ["Perceptron"]

RULES = ("threshold", "logistic")
_FITTED = ("n_iter_", "errors_", "loss_curve_")  # a checkpoint's fitted state


@checkpointable
class Perceptron(ClassifierMixin, BaseEstimator):
    """A network with no hidden layer: ``sigmoid(X @ coef_.T + intercept_)``, trained full-batch.

    The default rule is the classic tutorial's: the sigmoid output is thresholded
    (``y_pred = 1`` exactly when ``sigmoid(z) >= threshold``) and the weights move by
    ``dW = X.T @ (y_pred - y) / m``, ``db = mean(y_pred - y)``, times the learning rate.
    Once an iteration misclassifies nothing, that update is exactly zero, so training stops
    there: the weights are final. ``rule="logistic"`` uses ``sigmoid(z) - y`` instead, the true
    gradient of the binary log-loss. More than two classes are learnt one-vs-rest, one output
    unit per class, all updated at once.

    Parameters
    ----------
    learning_rate : float, default=0.1
        The step size: each iteration moves the weights by ``learning_rate`` times the
        update above. The tutorial's 0.1.
    max_iter : int, default=1000
        Full-batch iterations at most. A run that reaches it without stopping warns with
        :class:`~xperceptron.ConvergenceWarning` (XOR, which no line separates, always does).
    rule : {"threshold", "logistic"}, default="threshold"
        The update. ``"threshold"``: the tutorial's, from the thresholded predictions
        (``y_pred - y``), which stops as soon as nothing is misclassified. ``"logistic"``:
        gradient descent on the binary log-loss, from the probabilities
        (``sigmoid(z) - y``), which goes on sharpening a separating line.
    threshold : float in (0, 1), default=0.5
        Probability at and above which a unit predicts its class.
    fit_intercept : bool, default=True
        Learn the biases. With False they stay as ``fit`` starts them (``intercept_init``,
        zero by default).
    tol : float or None, default=None
        With ``rule="logistic"``: stop once the log-loss has not improved by ``tol`` for
        ``n_iter_no_change`` iterations. ``None`` runs ``max_iter`` iterations.
    n_iter_no_change : int, default=5
        Iterations in a row without an improvement of ``tol`` before stopping
        (``rule="logistic"`` with a ``tol``).

    Attributes
    ----------
    coef_ : array of shape (1, n_features) or (n_classes, n_features)
    intercept_ : array of shape (1,) or (n_classes,)
        Both in X's namespace, on X's device, in X's floating dtype.
    classes_ : numpy.ndarray of shape (n_classes,)
        The sorted labels.
    n_iter_ : int
        Iterations run.
    errors_ : list of int
        At each iteration, the number of misclassified samples (as :meth:`predict` labels
        them), before that iteration's update. With more than two classes, the threshold rule
        trains until no one-vs-rest unit is wrong, which can take longer than until no sample
        is misclassified.
    loss_curve_ : list of float
        With ``rule="logistic"``: the binary log-loss (summed over units, mean over samples)
        at each iteration, the objective that rule descends. Empty for the threshold rule,
        whose progress is ``errors_``.
    n_features_in_ : int
    feature_names_in_ : numpy.ndarray of shape (n_features,), dtype object
        The column names of a pandas DataFrame ``X`` whose names are all strings (absent
        otherwise); checked at predict time as scikit-learn checks them.

    Examples
    --------
    >>> from xperceptron import Perceptron
    >>> from xperceptron.datasets import logic_gate
    >>> X, y = logic_gate("and")
    >>> clf = Perceptron().fit(X, y, coef_init=[[0.4, 0.2]], intercept_init=[1.0])
    >>> clf.predict(X).tolist()
    [0, 0, 0, 1]
    >>> print(clf.coef_, clf.intercept_)
    [[0.05 0.05]] [-0.075]
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "learning_rate": [Interval("real", 0, None, closed="neither")],
        "max_iter": [Interval("int", 1, None, closed="left")],
        "rule": [OneOf(*RULES)],
        "threshold": [Interval("real", 0, 1, closed="neither")],
        "fit_intercept": [BOOLEAN],
        "tol": [NONE, Interval("real", 0, None, closed="left")],
        "n_iter_no_change": [Interval("int", 1, None, closed="left")],
    }

    def __init__(
        self,
        learning_rate: float = 0.1,
        max_iter: int = 1000,
        *,
        rule: str = "threshold",
        threshold: float = 0.5,
        fit_intercept: bool = True,
        tol: float | None = None,
        n_iter_no_change: int = 5,
    ) -> None:
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.rule = rule
        self.threshold = threshold
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change

    def fit(self, X: Any, y: Any, coef_init: Any = None, intercept_init: Any = None) -> Perceptron:
        """Train on ``X`` of shape ``(n_samples, n_features)`` and labels ``y``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Any array API array, a pandas DataFrame or nested lists; the fitted weights
            follow its namespace, device and floating dtype.
        y : array of shape (n_samples,)
            Labels of any dtype, two classes or more.
        coef_init : array-like of shape (n_units, n_features), optional
            Initial weights (``n_units`` is 1 for two classes); zeros by default.
        intercept_init : array-like of shape (n_units,), optional
            Initial biases; zeros by default.

        Returns
        -------
        self
            The fitted estimator.
        """
        self._validate_params()
        xp, device = get_namespace(X=X, y=y, coef_init=coef_init, intercept_init=intercept_init)
        names = feature_names(X)  # a DataFrame's column names, read before X is an array
        X = check_X(X, xp=xp, device=device)
        n_samples, n_features = X.shape
        classes, indices = find_classes(check_labels(y, n_samples))
        n_units = 1 if classes.shape[0] == 2 else classes.shape[0]
        coef = self._initial(
            coef_init, (n_units, n_features), "coef_init", X=X, xp=xp, device=device
        )
        intercept = self._initial(
            intercept_init, (n_units,), "intercept_init", X=X, xp=xp, device=device
        )
        units = [1] if n_units == 1 else range(n_units)
        Y = encode(indices, units, dtype=X.dtype, xp=xp, device=device)

        with self._restored_on_failure():  # a warning turned into an error, an interrupt
            self._train(X, Y, coef.T, intercept, xp=xp, classes=classes, names=names)
        return self

    def _train(
        self, X: Array, Y: Array, W: Array, b: Array, *, xp: Namespace, classes: Any, names: Any
    ) -> None:
        """Train from ``(W, b)`` and publish the result (every check done)."""
        n_units = W.shape[1]
        # NumPy warns where exp(-z) overflows in the tutorial's sigmoid (1 / inf = 0 is
        # right) and where diverging weights overflow: divergence is reported below instead.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            run = self._iterate(X, Y, W, b, xp=xp)
        W, b = run.finite if run.diverged else run.last
        self.coef_, self.intercept_ = W.T, b
        self.classes_ = classes
        self.n_features_in_ = X.shape[1]
        set_feature_names(self, names)
        self.n_iter_ = len(run.errors)
        self.errors_ = run.errors
        self.loss_curve_ = run.losses
        if run.diverged:
            n = len(run.errors)
            what = f"iteration {n}'s update made" if n else "the initial weights give"
            raise DivergenceError(
                f"Perceptron diverged: {what} X @ coef_.T non-finite in {X.dtype}. The "
                + (f"weights iteration {n} started from" if n else "initial weights")
                + " are kept; scale X (e.g. StandardScaler) or lower learning_rate (it is "
                f"{self.learning_rate})."
            )
        if not run.stopped and (self.rule == "threshold" or self.tol is not None):
            unit_errors = f" ({run.unit_errors} one-vs-rest unit errors)" if n_units > 1 else ""
            warn(
                f"Perceptron stopped at max_iter={self.max_iter} with {run.errors[-1]} "
                f"misclassified samples{unit_errors}; increase max_iter (if the errors never reach "
                "zero, the classes are not linearly separable).",
                ConvergenceWarning,
            )

    def _iterate(self, X: Array, Y: Array, W: Array, b: Array, *, xp: Namespace) -> _Run:
        """Full-batch iterations from ``(W, b)``, until a stopping criterion, ``max_iter``,
        or weights that are no longer finite."""
        run = _Run(last=(W, b), finite=(W, b))
        best_loss, no_improvement = np.inf, 0
        loss_and_delta = get_output_loss("logistic").loss_and_delta
        learning_rate, threshold, several = self.learning_rate, self.threshold, Y.shape[1] > 1
        thresholded, fit_intercept, dtype = self.rule == "threshold", self.fit_intercept, X.dtype
        in_place = is_writeable(X)  # the fresh product may take the bias in place
        for _ in range(self.max_iter):
            params = [(W, b)]
            logits, inputs = forward(params, X, activation="identity", xp=xp, in_place=in_place)
            predicted = xp.astype(_tutorial_sigmoid(logits, xp=xp) >= threshold, dtype)
            residual = predicted - Y  # -1, 0 or 1: the nonzero entries are the unit errors
            # Read once per iteration (the iteration is the epoch): the unit errors, the
            # misclassified samples, and whether any logit is not finite.
            unit_errors, misclassified, finite = _figures(logits, residual, Y, several, xp=xp)
            if not finite:
                run.diverged = True
                return run
            run.finite, run.unit_errors = (W, b), unit_errors
            run.errors.append(misclassified)
            if thresholded:
                if unit_errors == 0:  # the update would be exactly zero: converged
                    run.stopped = True
                    return run
                delta = residual
            else:
                loss, delta = loss_and_delta(logits, Y, xp=xp)
                run.losses.append(float(loss))
                if self.tol is not None:
                    improved = run.losses[-1] < best_loss - self.tol
                    no_improvement = 0 if improved else no_improvement + 1
                    best_loss = min(best_loss, run.losses[-1])
                    if no_improvement >= self.n_iter_no_change:
                        run.stopped = True
                        return run
            ((grad_W, grad_b),) = backward(params, inputs, delta, activation="identity", xp=xp)
            W = W - learning_rate * grad_W
            if fit_intercept:
                b = b - learning_rate * grad_b
            run.last = (W, b)
        # The last update is checked too: one more read, after the loop.
        run.diverged = not bool(xp.all(xp.isfinite(W)) & xp.all(xp.isfinite(b)))
        return run

    def _checkpoint(self) -> tuple[dict[str, Any], dict[str, np.ndarray[Any, Any]]]:
        """What :func:`xperceptron.save` writes: JSON-able metadata and NumPy arrays."""
        meta = {"n_iter_": self.n_iter_, "errors_": self.errors_, "loss_curve_": self.loss_curve_}
        arrays = {
            "coef_": to_numpy(self.coef_),
            "intercept_": to_numpy(self.intercept_),
            "classes_": self.classes_,
        }
        return meta, arrays

    def _checkpoint_members(self, meta: dict[str, Any]) -> dict[str, MemberSpec]:
        """The labels, the weights (of any number of features) and the biases."""
        checked_fields(meta, _FITTED, "the fitted state")
        return {"classes_": (LABELS, (None,)), "coef_": (FLOAT, (None, None)),
                "intercept_": (FLOAT, (None,))}  # fmt: skip

    def _restore(
        self, meta: dict[str, Any], arrays: dict[str, np.ndarray[Any, Any]], *, to_device: Any
    ) -> None:
        """Set the fitted state from :meth:`_checkpoint` 's output, checked first."""
        classes, coef_shape = arrays["classes_"], arrays["coef_"].shape
        if classes.shape[0] < 2:
            raise ValueError(f"classes_ holds {classes.shape[0]} label(s); a Perceptron has 2+.")
        n_units = 1 if classes.shape[0] == 2 else classes.shape[0]
        if coef_shape[0] != n_units or coef_shape[1] < 1:
            raise ValueError(f"coef_ has shape {coef_shape}; expected ({n_units}, n_features).")
        fitted = checked_fields(meta, _FITTED, "the fitted state")
        n_iter = checked_count(fitted["n_iter_"], "n_iter_")
        errors, losses = fitted["errors_"], checked_figures(fitted["loss_curve_"], "loss_curve_")
        if not isinstance(errors, list) or len(errors) != n_iter or len(losses) not in (0, n_iter):
            raise ValueError(f"errors_ (and loss_curve_, if any) must have n_iter_={n_iter} items.")
        self.coef_ = to_device(arrays, "coef_", coef_shape)
        self.intercept_ = to_device(arrays, "intercept_", (n_units,))
        self.classes_ = classes
        self.n_features_in_ = coef_shape[1]
        self.n_iter_ = n_iter
        self.errors_ = [checked_count(e, "errors_") for e in errors]
        self.loss_curve_ = losses

    @staticmethod
    def _initial(
        value: Any, shape: tuple[int, ...], name: str, *, X: Array, xp: Namespace, device: Device
    ) -> Array:
        if value is None:
            return xp.zeros(shape, dtype=X.dtype, device=device)
        value = as_float_array(value, xp=xp, device=device, name=name, dtype=X.dtype)
        if tuple(value.shape) != shape:
            raise ValueError(f"{name} must have shape {shape}, got {tuple(value.shape)}.")
        check_finite(value, xp=xp, name=name)
        # A copy: the caller's array must never become the model's (nor change with it).
        return xp.asarray(value, copy=True)

    def _checked(self, X: Any) -> tuple[Array, Namespace]:
        X, xp, _ = self._check_predict_input(X, "coef_")
        return X, xp

    def decision_function(self, X: Any) -> Array:
        """Logits: shape ``(n_samples,)`` for two classes, ``(n_samples, n_classes)`` beyond."""
        X, _ = self._checked(X)
        scores = X @ self.coef_.T + self.intercept_
        return scores[:, 0] if self.coef_.shape[0] == 1 else scores

    def predict_proba(self, X: Any) -> Array:
        """Class probabilities of shape ``(n_samples, n_classes)``; rows sum to 1.

        Two classes: ``[1 - sigmoid(z), sigmoid(z)]``. One-vs-rest: each unit's sigmoid,
        normalised over the units.
        """
        X, xp = self._checked(X)
        return self._probabilities(X @ self.coef_.T + self.intercept_, xp=xp)

    def _probabilities(self, logits: Array, *, xp: Namespace) -> Array:
        """:meth:`predict_proba` from the logits (``export_onnx`` traces it)."""
        if self.coef_.shape[0] == 1:
            proba = logistic(logits, xp=xp)
            return xp.concat([1.0 - proba, proba], axis=1)
        # Normalised in log space: sigmoids that all underflow to 0 still give a distribution.
        return xp.exp(log_softmax(log_logistic(logits, xp=xp), xp=xp))

    def predict(self, X: Any) -> Array:
        """Labels, in X's namespace and on X's device (NumPy arrays for non-numeric labels)."""
        X, xp = self._checked(X)
        indices = self._class_indices(X @ self.coef_.T + self.intercept_, xp=xp)
        return decode(indices, self.classes_, xp=xp)

    def _class_indices(self, logits: Array, *, xp: Namespace) -> Array:
        """Each sample's index into ``classes_``, from the logits (``export_onnx`` traces it)."""
        if self.coef_.shape[0] == 1:
            with np.errstate(over="ignore"):
                positive = _tutorial_sigmoid(logits[:, 0], xp=xp) >= self.threshold
            return xp.astype(positive, xp.int32)
        _, device = get_namespace(logits=logits)
        return argmax_rows(logits, xp=xp, device=device)


def _tutorial_sigmoid(z: Array, *, xp: Namespace) -> Array:
    """``1 / (1 + exp(-z))`` rounded exactly as the tutorial computes it, for its threshold.

    Near ``z = 0`` the rounding decides the threshold (the tutorial's run meets
    ``z = -2.8e-16``, where this form gives ``0.49999999999999994`` and the stable
    ``exp(-log(1 + exp(-z)))`` gives ``0.5``). Where ``exp(-z)`` overflows to infinity the
    result is exactly 0, as it should be: callers silence NumPy's overflow warning.
    """
    return 1.0 / (1.0 + xp.exp(-z))


@dataclasses.dataclass
class _Run:
    """What :meth:`Perceptron._iterate` reached: the last weights, the last finite ones, and
    the figures of each iteration."""

    last: tuple[Array, Array]
    finite: tuple[Array, Array]
    errors: list[int] = dataclasses.field(default_factory=list)
    losses: list[float] = dataclasses.field(default_factory=list)
    unit_errors: int = 0
    stopped: bool = False
    diverged: bool = False


def _figures(
    logits: Array, residual: Array, Y: Array, several: bool, *, xp: Namespace
) -> tuple[int, int, bool]:
    """Unit errors, misclassified samples (as :meth:`Perceptron.predict` labels them) and
    whether every logit is finite, read to the host at once."""
    _, device = get_namespace(logits=logits)
    count = default_int_dtype(xp, device)  # int32 on a device without int64

    def number(mask: Array) -> Array:
        return xp.sum(xp.astype(mask, count), dtype=count)

    unit_errors = number(residual != 0.0)
    if several:  # one-vs-rest: the sample's label is the unit of the largest logit
        predicted = argmax_rows(logits, xp=xp, device=device)
        misclassified = number(predicted != argmax_rows(Y, xp=xp, device=device))
    else:
        misclassified = unit_errors
    finite = xp.astype(xp.all(xp.isfinite(logits)), count)
    units, wrong, ok = (int(v) for v in to_numpy(xp.stack([unit_errors, misclassified, finite])))
    return units, wrong, bool(ok)
