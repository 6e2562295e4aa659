"""MLPClassifier and MLPRegressor: scikit-learn's interface over the array-API core.

The estimators only run loops; the math is in :mod:`network`, :mod:`losses` and
:mod:`optimizers`. Per epoch: one permutation drawn on the host and moved once, then
forward, backward and optimizer update for every mini-batch, all on the device; the epoch's
loss is summed on the device and read once at its end.
"""

from __future__ import annotations

import copy
import itertools
import math
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ._base import (
    BaseEstimator,
    ClassifierMixin,
    ConvergenceWarning,
    DivergenceError,
    RegressorMixin,
    check_is_fitted,
)
from ._labels import decode, encode
from ._namespace import (
    Array,
    Device,
    Namespace,
    default_int_dtype,
    get_namespace,
    is_array,
    is_writeable,
    namespace_name,
    to_numpy,
)
from ._validation import (
    as_float_array,
    check_features,
    check_finite,
    check_labels,
    check_X,
    is_bool,
    is_int,
    is_real,
)
from .activations import ACTIVATIONS
from .callbacks import Epoch, ProgressBar
from .initializers import check_random_state, glorot_uniform
from .losses import log_softmax
from .network import forward, predict, value_and_grad
from .optimizers import (
    SCHEDULES,
    SOLVERS,
    AdamState,
    Optimizer,
    SGDState,
    adam,
    apply_updates,
    invscaling,
    sgd,
)

__all__ = ["MLPClassifier", "MLPRegressor"]

_HOOKS = ("on_train_begin", "on_epoch_end", "on_train_end", "on_non_finite")


class BaseMLP(BaseEstimator):
    """The training loop shared by :class:`MLPClassifier` and :class:`MLPRegressor`."""

    # Fitted attributes (set by fit): arrays in X's namespace, on X's device.
    coefs_: list[Array]
    intercepts_: list[Array]
    classes_: np.ndarray[Any, Any]
    out_activation_: str
    n_features_in_: int
    _y_1d: bool
    _rng: np.random.Generator
    _progress: _Progress
    _optimizer_state: Any

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: int | np.random.Generator | None = None,
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
        callbacks: Any = None,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.callbacks = callbacks

    # ------------------------------------------------------------------ validation
    def _hidden_sizes(self) -> tuple[int, ...]:
        sizes = self.hidden_layer_sizes
        if is_int(sizes):
            sizes = (sizes,)
        try:
            sizes = tuple(sizes)
        except TypeError:
            sizes = None
        if sizes is None or not all(is_int(s) and s > 0 for s in sizes):
            raise ValueError(
                "hidden_layer_sizes must be an int > 0 or a sequence of ints > 0, "
                f"got {self.hidden_layer_sizes!r}."
            )
        return tuple(int(s) for s in sizes)

    def _validate_params(self) -> None:
        """Check every hyperparameter; raise ``ValueError`` naming the first bad one."""

        def check(ok: bool, name: str, allowed: str) -> None:
            if not ok:
                raise ValueError(f"{name} must be {allowed}, got {getattr(self, name)!r}.")

        self._hidden_sizes()
        check(self.activation in ACTIVATIONS, "activation", f"one of {sorted(ACTIVATIONS)}")
        check(self.solver in SOLVERS, "solver", f"one of {list(SOLVERS)}")
        check(is_real(self.alpha) and self.alpha >= 0, "alpha", "a float >= 0")
        batch_size: Any = self.batch_size
        check(
            batch_size == "auto" or (is_int(batch_size) and batch_size >= 1),
            "batch_size",
            "'auto' or an int >= 1",
        )
        check(self.learning_rate in SCHEDULES, "learning_rate", f"one of {list(SCHEDULES)}")
        check(
            is_real(self.learning_rate_init) and self.learning_rate_init > 0,
            "learning_rate_init",
            "a float > 0",
        )
        check(is_real(self.power_t) and self.power_t >= 0, "power_t", "a float >= 0")
        check(is_int(self.max_iter) and self.max_iter >= 1, "max_iter", "an int >= 1")
        check(is_bool(self.shuffle), "shuffle", "True or False")
        check_random_state(self.random_state)
        check(is_real(self.tol) and self.tol >= 0, "tol", "a float >= 0")
        check(is_bool(self.verbose) or is_int(self.verbose), "verbose", "a bool or an int")
        check(is_bool(self.warm_start), "warm_start", "True or False")
        check(is_real(self.momentum) and 0 <= self.momentum <= 1, "momentum", "in [0, 1]")
        check(is_bool(self.nesterovs_momentum), "nesterovs_momentum", "True or False")
        check(is_bool(self.early_stopping), "early_stopping", "True or False")
        check(
            is_real(self.validation_fraction) and 0 < self.validation_fraction < 1,
            "validation_fraction",
            "a float in (0, 1)",
        )
        check(is_real(self.beta_1) and 0 <= self.beta_1 < 1, "beta_1", "in [0, 1)")
        check(is_real(self.beta_2) and 0 <= self.beta_2 < 1, "beta_2", "in [0, 1)")
        check(is_real(self.epsilon) and self.epsilon > 0, "epsilon", "a float > 0")
        check(
            is_int(self.n_iter_no_change) and self.n_iter_no_change >= 1,
            "n_iter_no_change",
            "an int >= 1",
        )
        check(
            self.callbacks is None
            or (
                isinstance(self.callbacks, list | tuple)
                and all(any(hasattr(c, hook) for hook in _HOOKS) for c in self.callbacks)
            ),
            "callbacks",
            f"None or a list of objects with any of the methods {list(_HOOKS)}",
        )

    # ------------------------------------------------------------------ hooks
    def _targets(
        self, y: Any, X: Array, *, xp: Namespace, device: Device, reuse: bool, classes: Any
    ) -> tuple[Array, dict[str, Any], np.ndarray[Any, Any] | None]:
        """Encode ``y``: targets ``(n_samples, n_outputs)`` on the device, the attributes to
        set once training succeeds (``out_activation_`` among them), and host labels to
        stratify on (or None)."""
        raise NotImplementedError

    def _validation_score(
        self, output: Array, Y: Array, *, out_activation: str, xp: Namespace
    ) -> Array:
        raise NotImplementedError

    # ------------------------------------------------------------------ training
    def _optimizer(self) -> Optimizer:
        if self.solver == "sgd":
            return sgd(self.momentum, self.nesterovs_momentum)
        return adam(self.beta_1, self.beta_2, self.epsilon)

    def _fit(self, X: Any, y: Any, *, incremental: bool, classes: Any = None) -> BaseMLP:
        self._validate_params()
        hidden = self._hidden_sizes()
        xp, device = get_namespace(X=X, y=y)
        X = check_X(X, xp=xp, device=device)
        n_samples, n_features = X.shape
        fitted = hasattr(self, "coefs_")
        reuse = fitted and (incremental or self.warm_start)
        if reuse:
            self._check_same_namespace(xp, device)
            X = as_float_array(X, xp=xp, device=device, name="X", dtype=self.coefs_[0].dtype)
            check_features(X, self)
        Y, target_attributes, strata = self._targets(
            y, X, xp=xp, device=device, reuse=reuse, classes=classes
        )
        out_activation = target_attributes["out_activation_"]
        if reuse and out_activation != self.out_activation_:
            raise ValueError(
                f"y needs {out_activation} outputs but the network was fitted with "
                f"{self.out_activation_} outputs; fit a new estimator (warm_start=False)."
            )
        n_outputs = Y.shape[1]
        layer_sizes = [n_features, *hidden, n_outputs]
        if reuse and [W.shape[1] for W in self.coefs_] != layer_sizes[1:]:
            raise ValueError(
                f"hidden_layer_sizes={hidden} differs from the fitted network's "
                f"{tuple(W.shape[1] for W in self.coefs_[:-1])}; set warm_start=False to refit."
            )

        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True.")

        # All checks passed. Training works on copies: the estimator changes at the end, and
        # at each epoch's end only when callbacks are there to see it.
        optimizer = self._optimizer()
        if reuse:
            rng = copy.deepcopy(self._rng)
            params = [a for pair in zip(self.coefs_, self.intercepts_, strict=True) for a in pair]
            progress = self._progress.copy()
            if incremental and isinstance(self._optimizer_state, type(optimizer.init([]))):
                state = self._optimizer_state
            else:  # warm start: a new optimizer from the current weights, as scikit-learn
                state = optimizer.init(params)
                progress.learning_rate = float(self.learning_rate_init)
        else:
            rng = check_random_state(self.random_state)
            pairs = glorot_uniform(
                layer_sizes, activation=self.activation, rng=rng, dtype=X.dtype, device=device,
                xp=xp,
            )  # fmt: skip
            params = [a for pair in pairs for a in pair]
            state = optimizer.init(params)
            progress = _Progress.start(self)
        X_val = Y_val = None
        if self.early_stopping:
            train, valid = _split(n_samples, self.validation_fraction, strata, rng)
            train_dev = xp.asarray(train, device=device)
            valid_dev = xp.asarray(valid, device=device)
            X_val, Y_val = xp.take(X, valid_dev, axis=0), xp.take(Y, valid_dev, axis=0)
            X, Y = xp.take(X, train_dev, axis=0), xp.take(Y, train_dev, axis=0)
        hooks = [*([ProgressBar()] if self.verbose else []), *(self.callbacks or [])]
        for hook in hooks:
            if hasattr(hook, "on_train_begin"):
                hook.on_train_begin(self)

        def commit(params: list[Array], state: Any) -> None:
            self._commit(params, state, progress, rng, target_attributes, layer_sizes)

        # NumPy would warn on overflow once weights blow up; divergence is reported below.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            params, state, diverged = self._epochs(
                X, Y, params, state, optimizer, progress, out_activation=out_activation,
                rng=rng, xp=xp, device=device, n_epochs=1 if incremental else self.max_iter,
                incremental=incremental, X_val=X_val, Y_val=Y_val, hooks=hooks, commit=commit,
            )  # fmt: skip

        if self.early_stopping and progress.best_params is not None:
            params = progress.best_params
        progress.best_params = None  # only needed while fitting
        commit(params, state)
        handled: list[bool] = []
        if diverged:
            handled = [
                hook.on_non_finite(self, progress.n_iter + 1)
                for hook in hooks
                if hasattr(hook, "on_non_finite")
            ]
        for hook in hooks:
            if hasattr(hook, "on_train_end"):
                hook.on_train_end(self)
        if diverged and not any(handled):
            raise DivergenceError(
                f"Training diverged in epoch {progress.n_iter + 1}: the loss is not finite. "
                f"The parameters reached after epoch {progress.n_iter} are kept; try a smaller "
                f"learning_rate_init (it is {self.learning_rate_init})."
            )
        return self

    def _commit(
        self,
        params: list[Array],
        state: Any,
        progress: _Progress,
        rng: np.random.Generator,
        target_attributes: dict[str, Any],
        layer_sizes: list[int],
    ) -> None:
        """Set every fitted attribute at once, from a training run or a checkpoint."""
        self.coefs_ = list(params[::2])
        self.intercepts_ = list(params[1::2])
        for name, value in target_attributes.items():
            setattr(self, name, value)
        self.n_features_in_ = layer_sizes[0]
        self.n_layers_ = len(layer_sizes)
        self.n_outputs_ = layer_sizes[-1]
        self.n_iter_ = progress.n_iter
        self.t_ = progress.t
        self.loss_ = progress.loss_curve[-1] if progress.loss_curve else None
        self.loss_curve_ = list(progress.loss_curve)
        # As scikit-learn: best_loss_ without early stopping, validation figures with it.
        self.best_loss_ = None if self.early_stopping else progress.best_loss
        self.validation_scores_ = list(progress.validation_scores) if self.early_stopping else None
        self.best_validation_score_ = (
            progress.best_validation_score if self.early_stopping else None
        )
        self._optimizer_state = state
        self._progress = progress
        self._rng = rng

    # ------------------------------------------------------------------ checkpoints
    _TARGET_ATTRIBUTES: tuple[str, ...] = ("out_activation_",)

    def _checkpoint(self) -> tuple[dict[str, Any], dict[str, np.ndarray[Any, Any]]]:
        """What :func:`xperceptron.save` writes: JSON-able metadata and NumPy arrays."""
        state = self._optimizer_state
        arrays: dict[str, np.ndarray[Any, Any]] = {}
        for i, (W, b) in enumerate(zip(self.coefs_, self.intercepts_, strict=True)):
            arrays[f"coefs_{i}"], arrays[f"intercepts_{i}"] = to_numpy(W), to_numpy(b)
        moments = state._asdict()
        for field, values in moments.items():
            if isinstance(values, list):
                arrays.update({f"{field}_{i}": to_numpy(v) for i, v in enumerate(values)})
        progress = {k: v for k, v in vars(self._progress).items() if k != "best_params"}
        meta = {
            "layer_sizes": [self.n_features_in_, *(W.shape[1] for W in self.coefs_)],
            "targets": {name: getattr(self, name) for name in self._TARGET_ATTRIBUTES},
            "progress": progress,
            "optimizer": {"kind": type(state).__name__, "step": moments.get("step")},
            "rng": self._rng.bit_generator.state,
        }
        return meta, arrays

    def _restore(
        self, meta: dict[str, Any], arrays: dict[str, np.ndarray[Any, Any]], *, to_device: Any
    ) -> None:
        """Set the fitted state from :meth:`_checkpoint` 's output (already checked)."""
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
        kind = meta["optimizer"]["kind"]
        if kind == "SGDState":
            state: Any = SGDState([to_device(arrays, f"velocities_{i}", shape)
                                   for i, shape in enumerate(shapes.values())])  # fmt: skip
        elif kind == "AdamState":
            state = AdamState(
                int(meta["optimizer"]["step"]),
                [to_device(arrays, f"first_moments_{i}", s) for i, s in enumerate(shapes.values())],
                [
                    to_device(arrays, f"second_moments_{i}", s)
                    for i, s in enumerate(shapes.values())
                ],
            )
        else:
            raise ValueError(f"unknown optimizer state {kind!r}.")
        progress = _Progress(float(meta["progress"]["learning_rate"]))
        progress.__dict__.update(meta["progress"])
        rng = np.random.default_rng()
        rng.bit_generator.state = meta["rng"]
        targets = dict(meta["targets"])
        self._restore_targets(targets, arrays)
        self._commit(params, state, progress, rng, targets, layer_sizes)

    def _restore_targets(
        self, targets: dict[str, Any], arrays: dict[str, np.ndarray[Any, Any]]
    ) -> None:
        """Subclasses add what their targets need (the classifier's ``classes_``)."""

    def _epochs(
        self,
        X: Array,
        Y: Array,
        params: list[Array],
        state: Any,
        optimizer: Optimizer,
        progress: _Progress,
        *,
        out_activation: str,
        rng: np.random.Generator,
        xp: Namespace,
        device: Device,
        n_epochs: int,
        incremental: bool,
        X_val: Array | None,
        Y_val: Array | None,
        hooks: list[Any],
        commit: Callable[[list[Array], Any], None],
    ) -> tuple[list[Array], Any, bool]:
        """Train for up to ``n_epochs`` epochs; update ``progress`` in place.

        Returns the parameters, the optimizer state, and whether training diverged (then the
        parameters and state are those from before the epoch whose loss was not finite).
        """
        n_samples = X.shape[0]
        batch_size = self._batch_size(n_samples)
        # Where arrays allow it, the loop owns its parameters and updates them in place; what
        # it hands out (snapshots, callbacks, a rollback point) is then a copy.
        in_place = is_writeable(params[0])
        originals = params
        if in_place:
            params = [xp.asarray(p, copy=True) for p in params]
        rollback: list[Array] | None = None  # in place: the rollback point's own arrays

        def snapshot(arrays: list[Array]) -> list[Array]:
            return [xp.asarray(a, copy=True) for a in arrays] if in_place else list(arrays)

        def rollback_point(epoch: int) -> list[Array]:
            """The parameters as this epoch starts, safe from its updates."""
            nonlocal rollback
            if not in_place:
                return list(params)  # never written: no copy needed
            if epoch == 0:
                return list(originals)  # untouched: training runs on copies
            # Later epochs copy into arrays kept for the purpose, not into fresh ones.
            if rollback is None:
                rollback = snapshot(params)
            else:
                for kept, current in zip(rollback, params, strict=True):
                    kept[...] = current
            return rollback

        starts = range(0, n_samples, batch_size)
        # Plain SGD: backprop returns the steps themselves (the learning rate folded in).
        step_scale = optimizer.step_scale
        network = {"activation": self.activation, "out_activation": out_activation, "xp": xp}
        for epoch in range(n_epochs):
            started = time.perf_counter()
            start_params, start_state = rollback_point(epoch), state
            # One permutation per epoch, moved once; each batch gathers its own rows, so no
            # shuffled copy of the whole data set is made (memory, and fresh pages, per epoch).
            order = xp.asarray(rng.permutation(n_samples), device=device) if self.shuffle else None
            # The learning rate changes between epochs only.
            scale = 1.0 if step_scale is None else step_scale(progress.learning_rate)
            total = 0.0  # summed on the device: no host read inside the epoch
            for start in starts:
                stop = min(start + batch_size, n_samples)
                if order is None:
                    X_batch, Y_batch = X[start:stop, ...], Y[start:stop, ...]
                else:
                    rows = order[start:stop]
                    X_batch, Y_batch = xp.take(X, rows, axis=0), xp.take(Y, rows, axis=0)
                pairs = list(zip(params[::2], params[1::2], strict=True))
                loss, grads = value_and_grad(
                    pairs, X_batch, Y_batch, alpha=self.alpha, scale=scale, **network
                )
                total = total + loss * (stop - start)
                steps = [g for pair in grads for g in pair]
                if step_scale is None:
                    steps, state = optimizer.update(
                        steps, state, progress.learning_rate, xp=xp, in_place=in_place
                    )
                params = apply_updates(params, steps, in_place=in_place)
            # The epoch's one host read. 0 * the largest and the smallest weight turns the
            # figure into NaN if a weight overflowed or is NaN: reductions, no temporaries.
            overflow = sum(xp.max(p) * 0.0 + xp.min(p) * 0.0 for p in params)
            figure = float(total + overflow) / n_samples
            if not math.isfinite(figure):
                return start_params, start_state, True
            progress.n_iter += 1
            progress.t += n_samples
            progress.loss_curve.append(figure)
            if X_val is not None:
                pairs = list(zip(params[::2], params[1::2], strict=True))
                output = predict(pairs, X_val, **network)
                score = float(
                    self._validation_score(output, Y_val, out_activation=out_activation, xp=xp)
                )
                progress.validation_scores.append(score)
                improved = score >= progress.best_validation_score + self.tol
                if score > progress.best_validation_score:
                    progress.best_validation_score = score
                    progress.best_params = snapshot(params)
            else:
                improved = progress.loss_curve[-1] <= progress.best_loss - self.tol
                progress.best_loss = min(progress.best_loss, progress.loss_curve[-1])
            progress.no_improvement = 0 if improved else progress.no_improvement + 1
            if hooks and self._call_hooks(
                hooks, snapshot(params), state, progress, commit, started, n_epochs
            ):
                break
            if self.solver == "sgd" and self.learning_rate == "invscaling":
                progress.learning_rate = invscaling(
                    self.learning_rate_init, self.power_t, progress.t
                )
            if progress.no_improvement > self.n_iter_no_change:
                adaptive = self.solver == "sgd" and self.learning_rate == "adaptive"
                if adaptive and progress.learning_rate > 1e-6:
                    progress.learning_rate /= 5.0
                    progress.no_improvement = 0
                    if self.verbose:
                        print(f"Setting learning rate to {progress.learning_rate:f}")
                    continue
                if self.verbose:
                    what = "Validation score" if X_val is not None else "Training loss"
                    print(
                        f"{what} did not improve more than tol={self.tol} for "
                        f"{self.n_iter_no_change} consecutive epochs. Stopping."
                    )
                break
        else:
            if not incremental:
                warnings.warn(
                    f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and "
                    "the optimization hasn't converged yet.",
                    ConvergenceWarning,
                    stacklevel=4,
                )
        return params, state, False

    def _call_hooks(
        self,
        hooks: list[Any],
        params: list[Array],
        state: Any,
        progress: _Progress,
        commit: Callable[[list[Array], Any], None],
        started: float,
        n_epochs: int,
    ) -> bool:
        """Show the estimator as of this epoch to the callbacks; whether one asks to stop."""
        commit(params, state)
        epoch = Epoch(
            epoch=progress.n_iter,
            loss=progress.loss_curve[-1],
            validation_score=progress.validation_scores[-1] if self.early_stopping else None,
            learning_rate=progress.learning_rate,
            seconds=time.perf_counter() - started,
            max_epochs=n_epochs,
        )
        stop = False
        for hook in hooks:
            if hasattr(hook, "on_epoch_end"):
                stop = bool(hook.on_epoch_end(self, epoch)) or stop
        return stop

    def _batch_size(self, n_samples: int) -> int:
        batch_size: Any = self.batch_size
        if batch_size == "auto":
            return min(200, n_samples)
        if batch_size > n_samples:
            warnings.warn(
                f"batch_size={self.batch_size} is larger than the {n_samples} training "
                "samples; it is clipped to that.",
                UserWarning,
                stacklevel=5,
            )
        return min(int(batch_size), n_samples)

    def _check_same_namespace(self, xp: Namespace, device: Device) -> None:
        fitted_xp, fitted_device = get_namespace(coefs_=self.coefs_[0])
        if xp is not fitted_xp:
            raise TypeError(
                f"X is a {namespace_name(xp)} array but the model was fitted on "
                f"{namespace_name(fitted_xp)} arrays; pass X of that namespace."
            )
        if device != fitted_device:
            raise ValueError(
                f"X is on device {device!r} but the model's parameters are on "
                f"{fitted_device!r}; move X there first."
            )

    # ------------------------------------------------------------------ inference
    def _forward_checked(self, X: Any) -> tuple[Array, Namespace]:
        """Logits of the output layer for a validated ``X``."""
        check_is_fitted(self, "coefs_")
        xp, device = get_namespace(X=X)
        self._check_same_namespace(xp, device)
        X = check_X(X, xp=xp, device=device, dtype=self.coefs_[0].dtype)
        check_features(X, self)
        pairs = list(zip(self.coefs_, self.intercepts_, strict=True))
        logits, _ = forward(pairs, X, activation=self.activation, xp=xp)
        return logits, xp

    def fit(self, X: Any, y: Any) -> BaseMLP:
        """Train on ``X`` of shape ``(n_samples, n_features)`` and targets ``y``.

        With ``warm_start=True`` a fitted estimator continues from its current weights.
        """
        return self._fit(X, y, incremental=False)


class _Progress:
    """Counters of a training run, kept between ``partial_fit`` calls."""

    def __init__(self, learning_rate: float) -> None:
        self.learning_rate = learning_rate
        self.n_iter = 0
        self.t = 0
        self.loss_curve: list[float] = []
        self.best_loss = float(np.inf)
        self.no_improvement = 0
        self.validation_scores: list[float] = []
        self.best_validation_score = float(-np.inf)
        self.best_params: list[Array] | None = None

    @classmethod
    def start(cls, estimator: BaseMLP) -> _Progress:
        return cls(float(estimator.learning_rate_init))

    def copy(self) -> _Progress:
        new = _Progress(self.learning_rate)
        new.__dict__.update(self.__dict__)
        new.loss_curve = list(self.loss_curve)
        new.validation_scores = list(self.validation_scores)
        return new


def _split(
    n_samples: int,
    validation_fraction: float,
    strata: np.ndarray[Any, Any] | None,
    rng: np.random.Generator,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Training and validation indices, stratified on ``strata`` when every class can give
    a sample to each side."""
    n_valid = int(np.ceil(validation_fraction * n_samples))
    if not 1 <= n_valid < n_samples:
        raise ValueError(
            f"validation_fraction={validation_fraction} leaves {n_valid} of {n_samples} "
            "samples for validation; early stopping needs at least one on each side."
        )
    order = rng.permutation(n_samples)
    if strata is not None:
        _, counts = np.unique(strata, return_counts=True)
        if counts.min() >= 2 and n_valid >= counts.shape[0]:
            # Group the shuffled samples by class, then take evenly spaced positions: each
            # class gives its share (to within one) and which members it gives is random.
            order = order[np.argsort(strata[order], kind="stable")]
    picks = np.zeros(n_samples, dtype=bool)
    picks[((np.arange(n_valid) + 0.5) * n_samples / n_valid).astype(np.int64)] = True
    return np.sort(order[~picks]), np.sort(order[picks])


class MLPClassifier(ClassifierMixin, BaseMLP):
    """Multi-layer perceptron classifier trained by backprop, on any array API backend.

    Parameters and fitted attributes are scikit-learn's ``MLPClassifier`` 's (solvers
    ``'sgd'`` and ``'adam'``). Binary and multilabel problems use logistic outputs with the
    binary log-loss; multiclass problems a softmax with the categorical log-loss.

    Attributes
    ----------
    coefs_, intercepts_ : lists of arrays
        ``coefs_[i]`` of shape ``(n_in, n_out)``, in X's namespace, device and float dtype.
    classes_ : numpy.ndarray
        The sorted labels (``arange(n_labels)`` for a multilabel indicator ``y``).
    loss_curve_ : list of float
    n_iter_, t_, n_features_in_, n_layers_, n_outputs_, out_activation_, best_loss_,
    validation_scores_, best_validation_score_ : as scikit-learn's.

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
        self, y: Any, X: Array, *, xp: Namespace, device: Device, reuse: bool, classes: Any
    ) -> tuple[Array, dict[str, Any], np.ndarray[Any, Any] | None]:
        n_samples = X.shape[0]
        if _is_indicator(y):
            indicator = as_float_array(y, xp=xp, device=device, name="y", dtype=X.dtype)
            if indicator.shape[0] != n_samples:
                raise ValueError(
                    f"X has {n_samples} samples but y has {indicator.shape[0]}; they must match."
                )
            values = to_numpy(indicator)
            if not np.all((values == 0) | (values == 1)):
                raise ValueError("A 2-D y must be a 0/1 multilabel indicator matrix.")
            labels = np.arange(indicator.shape[1])
            if reuse and not np.array_equal(labels, self.classes_):
                raise ValueError(
                    f"y has {labels.shape[0]} labels but the model was fitted with "
                    f"{self.classes_.shape[0]}."
                )
            return indicator, {"classes_": labels, "out_activation_": "logistic"}, None

        labels = check_labels(y, n_samples)
        if reuse:
            known = self.classes_
            if classes is not None and not np.array_equal(np.unique(np.asarray(classes)), known):
                raise ValueError(
                    f"classes={np.asarray(classes).tolist()} differs from the classes the model "
                    f"was fitted with, {known.tolist()}; fit a new estimator to change them."
                )
        elif classes is not None:
            known = np.unique(np.asarray(classes))
        else:
            known = np.unique(labels)
        # One binary search finds each label's class and, where it lands on another value,
        # the labels that are not classes.
        indices = np.searchsorted(known, labels)
        found = (
            known[np.minimum(indices, known.shape[0] - 1)] == labels
            if known.shape[0]
            else np.zeros(labels.shape, dtype=bool)
        )
        if not np.all(found):
            unseen = np.unique(labels[~found])
            raise ValueError(
                f"y holds labels {unseen.tolist()[:10]} that are not in classes "
                f"{known.tolist()[:20]}."
            )
        if known.shape[0] < 2:
            raise ValueError(f"y has 1 class ({known.tolist()}); a classifier needs at least two.")
        binary = known.shape[0] == 2
        units = [1] if binary else range(known.shape[0])
        Y = encode(indices, units, dtype=X.dtype, xp=xp, device=device)
        out_activation = "logistic" if binary else "softmax"
        return Y, {"classes_": known, "out_activation_": out_activation}, labels

    def _validation_score(
        self, output: Array, Y: Array, *, out_activation: str, xp: Namespace
    ) -> Array:
        if out_activation == "softmax":
            right = xp.argmax(output, axis=1) == xp.argmax(Y, axis=1)
        else:
            right = xp.all((output > 0.5) == (Y > 0.5), axis=1)
        return xp.mean(xp.astype(right, output.dtype))

    def _checkpoint(self) -> tuple[dict[str, Any], dict[str, np.ndarray[Any, Any]]]:
        meta, arrays = super()._checkpoint()
        arrays["classes_"] = self.classes_
        return meta, arrays

    def _restore_targets(
        self, targets: dict[str, Any], arrays: dict[str, np.ndarray[Any, Any]]
    ) -> None:
        classes = arrays["classes_"]
        if classes.ndim != 1 or classes.shape[0] < 2:
            raise ValueError(f"classes_ must be 1-D with at least 2 labels, got {classes.shape}.")
        targets["classes_"] = classes

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> MLPClassifier:
        """One epoch over ``(X, y)``, continuing from the current state.

        ``classes`` (every label the model will see) is required on the first call.
        """
        if not hasattr(self, "coefs_") and classes is None and not _is_indicator(y):
            raise ValueError(
                "classes must be passed on the first call to partial_fit "
                "(every label the model will ever see)."
            )
        self._fit(X, y, incremental=True, classes=classes)
        return self

    def predict_proba(self, X: Any) -> Array:
        """Probabilities of shape ``(n_samples, n_classes)``; rows sum to 1 (not multilabel)."""
        logits, xp = self._forward_checked(X)
        if self.out_activation_ == "softmax":
            return xp.exp(log_softmax(logits, xp=xp))
        positive = xp.exp(-xp.logaddexp(0.0, -logits))
        if self.classes_.shape[0] == 2 and logits.shape[1] == 1:
            return xp.concat([1.0 - positive, positive], axis=1)
        return positive

    def predict_log_proba(self, X: Any) -> Array:
        """Logarithms of :meth:`predict_proba`, computed stably from the logits."""
        logits, xp = self._forward_checked(X)
        if self.out_activation_ == "softmax":
            return log_softmax(logits, xp=xp)
        log_positive = -xp.logaddexp(0.0, -logits)
        if self.classes_.shape[0] == 2 and logits.shape[1] == 1:
            return xp.concat([-xp.logaddexp(0.0, logits), log_positive], axis=1)
        return log_positive

    def predict(self, X: Any) -> Array:
        """Labels in X's namespace and on its device (an int indicator for multilabel)."""
        logits, xp = self._forward_checked(X)
        if self.out_activation_ == "softmax":
            return decode(xp.argmax(logits, axis=1), self.classes_, xp=xp)
        positive = logits > 0.0  # sigmoid(z) > 0.5, as scikit-learn thresholds
        _, device = get_namespace(logits=logits)
        if logits.shape[1] == 1 and self.classes_.shape[0] == 2:
            return decode(xp.astype(positive[:, 0], xp.int32), self.classes_, xp=xp)
        return xp.astype(positive, default_int_dtype(xp, device))

    def score(self, X: Any, y: Any) -> float:
        """Mean accuracy (subset accuracy for multilabel), a Python float."""
        predicted = to_numpy(self.predict(X))
        if predicted.ndim == 2:
            truth = to_numpy(y) if not isinstance(y, (list, tuple)) else np.asarray(y)
            return float(np.mean(np.all(predicted == truth, axis=1)))
        labels = check_labels(y, predicted.shape[0])
        return float(np.mean(predicted == labels))


class MLPRegressor(RegressorMixin, BaseMLP):
    """Multi-layer perceptron regressor trained by backprop, on any array API backend.

    Identity output and half squared error; parameters and attributes as scikit-learn's
    ``MLPRegressor``. ``y`` of shape ``(n_samples,)`` or ``(n_samples, n_targets)``.

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

    def _targets(
        self, y: Any, X: Array, *, xp: Namespace, device: Device, reuse: bool, classes: Any
    ) -> tuple[Array, dict[str, Any], np.ndarray[Any, Any] | None]:
        Y = _check_regression_targets(y, X, xp=xp, device=device)
        attributes = {"out_activation_": "identity", "_y_1d": Y.ndim == 1}
        return (Y[:, None] if Y.ndim == 1 else Y), attributes, None

    _TARGET_ATTRIBUTES = ("out_activation_", "_y_1d")

    def _validation_score(
        self, output: Array, Y: Array, *, out_activation: str, xp: Namespace
    ) -> Array:
        return _r2(Y, output, xp=xp)

    def partial_fit(self, X: Any, y: Any) -> MLPRegressor:
        """One epoch over ``(X, y)``, continuing from the current state."""
        self._fit(X, y, incremental=True)
        return self

    def predict(self, X: Any) -> Array:
        """Predictions of shape ``(n_samples,)`` (or ``(n_samples, n_targets)``)."""
        logits, _ = self._forward_checked(X)
        return logits[:, 0] if self._y_1d else logits

    def score(self, X: Any, y: Any) -> float:
        """The coefficient of determination R² (averaged over targets), a Python float."""
        predicted = self.predict(X)
        xp, device = get_namespace(predicted=predicted)
        Y = _check_regression_targets(y, predicted, xp=xp, device=device)
        return float(_r2(Y, predicted, xp=xp))


def _check_regression_targets(y: Any, like: Array, *, xp: Namespace, device: Device) -> Array:
    if y is None:
        raise ValueError("This estimator requires y to be passed, but the target y is None.")
    Y = as_float_array(y, xp=xp, device=device, name="y", dtype=like.dtype)
    if Y.ndim not in (1, 2):
        raise ValueError(f"y must be 1-D or 2-D, got shape {tuple(Y.shape)}.")
    if Y.shape[0] != like.shape[0]:
        raise ValueError(f"X has {like.shape[0]} samples but y has {Y.shape[0]}; they must match.")
    check_finite(Y, xp=xp, name="y")
    return Y


def _r2(Y: Array, predicted: Array, *, xp: Namespace) -> Array:
    """R² averaged over outputs, as scikit-learn's ``r2_score`` (a constant target that is
    predicted exactly scores 1, otherwise 0)."""
    if Y.ndim == 1:
        Y, predicted = Y[:, None], predicted[:, None]
    residual = xp.sum((Y - predicted) ** 2, axis=0)
    total = xp.sum((Y - xp.mean(Y, axis=0)) ** 2, axis=0)
    constant = total == 0
    safe_total = xp.where(constant, 1.0, total)
    exact = xp.astype(residual == 0, residual.dtype)
    scores = xp.where(constant, exact, 1.0 - residual / safe_total)
    return xp.mean(scores)


def _is_indicator(y: Any) -> bool:
    """Whether ``y`` is 2-D with several columns: a multilabel indicator for a classifier."""
    shape = tuple(y.shape) if is_array(y) else np.asarray(y).shape
    return len(shape) == 2 and shape[1] > 1
