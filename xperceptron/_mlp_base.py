"""The MLPs' shared shell: hyperparameters, a fit, the fitted attributes, checkpoints.

A fit checks what it is given (before anything changes), encodes the targets, describes a
training run (network, optimizer, batches, stopping rule) to :mod:`xperceptron._training`,
and publishes what the run returns as scikit-learn's fitted attributes. The math is in
:mod:`network`, :mod:`losses` and :mod:`optimizers`; the loop in :mod:`_training`.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from typing import Any, ClassVar

import numpy as np

from . import _graphs
from ._base import BaseEstimator
from ._dask import is_dask
from ._distributed import (
    DataParallel,
    RankZeroHooks,
    check_same,
    fingerprint,
    group_of,
    shard_batches,
)
from ._distributed import prepare as prepare_distributed
from ._full_batch import train_lbfgs
from ._mlp_checkpoint import MLPCheckpoints
from ._mlp_params import MLP_CONSTRAINTS, batch_size, make_optimizer, stop_rule
from ._mlp_run import Run, RunChecks
from ._namespace import (
    Array,
    Device,
    Namespace,
    is_sparse,
    is_writeable,
)
from ._stopping import Progress
from ._training import (
    LOCAL,
    Combiner,
    InMemoryBatches,
    Network,
    Outcome,
    TrainingState,
    make_step,
    params_of,
    train,
)
from ._validation import (
    is_int,
)
from .callbacks import CallbackList, Epoch, ProgressBar
from .exceptions import ConvergenceWarning, DivergenceError, warn
from .initializers import HostRandom, check_random_state, glorot_uniform
from .network import forward

__all__ = ["BaseMLP"]

_MAX_ITER = (
    "Stochastic Optimizer: Maximum iterations ({}) reached and the optimization hasn't "
    "converged yet."
)


@functools.lru_cache(maxsize=32)
def _shared_step(network: Network, solver: tuple[Any, ...], in_place: bool, xp: Namespace) -> Any:
    return make_step(network, make_optimizer(*solver), in_place=in_place, xp=xp)


class BaseMLP(RunChecks, MLPCheckpoints, BaseEstimator):
    """What :class:`MLPClassifier` and :class:`MLPRegressor` share."""

    # Fitted attributes (set by fit): arrays in X's namespace, on X's device.
    coefs_: list[Array]
    intercepts_: list[Array]
    classes_: np.ndarray[Any, Any]
    out_activation_: str
    n_features_in_: int
    _y_1d: bool
    _rng: HostRandom
    _progress: Progress
    _optimizer_state: Any

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = MLP_CONSTRAINTS
    _accepts_sparse = True

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
        self.max_fun = max_fun
        self.callbacks = callbacks
        self.distributed = distributed
        self.cuda_graph = cuda_graph

    def _hidden_sizes(self) -> tuple[int, ...]:
        sizes = self.hidden_layer_sizes
        return (int(sizes),) if is_int(sizes) else tuple(int(s) for s in sizes)

    # ------------------------------------------------------------------ subclass hooks
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
        """Encode ``y``: targets ``(n_samples, n_outputs)`` on the device, the attributes to
        set once training succeeds (``out_activation_`` among them), and host labels to
        stratify on (or None)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> BaseMLP:
        """Train on ``X`` of shape ``(n_samples, n_features)`` and targets ``y``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Any array API array (NumPy, CuPy, PyTorch, JAX, array-api-strict), a pandas
            DataFrame, or nested lists. The fitted attributes follow its namespace, device
            and floating dtype (integers and booleans become the default floating dtype).
        y : array of shape (n_samples,) or (n_samples, n_outputs)
            Class labels of any dtype (a 0/1 indicator matrix for multilabel problems) for
            the classifier, targets for the regressor; in X's namespace and on its device,
            or on the host (NumPy, lists, pandas).
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Per-sample weights, as scikit-learn 1.9 uses them: each batch's loss is the
            weighted mean of the samples' losses, its L2 term is over the batch's total
            weight, and under early stopping the validation score is weighted too. A number
            weighs every sample alike; weights are non-negative. None weighs all equally.

        Returns
        -------
        self
            The fitted estimator. With ``warm_start=True`` a fitted estimator continues
            from its current weights.
        """
        return self._fit(X, y, incremental=False, sample_weight=sample_weight)

    def _fit(
        self, X: Any, y: Any, *, incremental: bool, classes: Any = None, sample_weight: Any = None
    ) -> BaseMLP:
        # Dask arrays are streamed, across ranks too (their preparation sees to it).
        dask, group = is_dask(X, y, sample_weight), group_of(self)
        if group is not None:  # every rank takes the same path
            check_same(group, "Whether the data are Dask arrays", dask)
        local = group is None or dask
        prepare = self._prepare if local else functools.partial(prepare_distributed, self)
        run = prepare(X, y, incremental=incremental, classes=classes, sample_weight=sample_weight)
        # All checks passed. Training works on copies: the estimator changes at the end, and
        # at each epoch's end only when callbacks are there to see it.
        with self._restored_on_failure():
            self._train(run)
        return self

    def _train(self, run: Run) -> None:
        """Train as ``run`` describes, and publish the result."""
        state = self._start(run)
        run.first_epoch = state.progress.n_iter
        group = run.group
        if group is not None:
            check_same(group, "The initial weights (set the same int random_state on every "
                       "rank)", fingerprint(state.params))  # fmt: skip
        # Only rank 0 writes: progress, logs, checkpoints (its callbacks decide for all).
        mine = [*([ProgressBar()] if self.verbose else []), *(self.callbacks or [])]
        hooks: Any = CallbackList(mine if group is None or group.rank == 0 else [])
        if group is not None:
            hooks = RankZeroHooks(group, hooks, run.xp)
        # NumPy would warn on overflow once weights blow up; divergence is reported after.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if self.solver == "lbfgs":  # full batch, no held-out split (as scikit-learn)
                outcome, unconverged = self._train_lbfgs(run, state, hooks)
            else:
                outcome = self._train_stochastic(run, state, hooks)
                stopped = outcome.stopped or run.incremental
                unconverged = None if stopped else _MAX_ITER.format(self.max_iter)
        self._finish(outcome, run, hooks, unconverged)

    def _train_lbfgs(
        self, run: Run, state: TrainingState, hooks: CallbackList
    ) -> tuple[Outcome, str | None]:
        hooks.train_begin(self)
        combine = self._combiner(run)
        on_epoch = self._epoch_hook(hooks, run, self.max_iter) if hooks else None
        return train_lbfgs(
            state, run.X, run.Y, weights=run.weights, network=self._network(run),
            max_iter=self.max_iter, max_fun=self.max_fun, tol=float(self.tol), xp=run.xp,
            on_epoch=on_epoch, combine=combine,
        )  # fmt: skip

    def _train_stochastic(self, run: Run, state: TrainingState, hooks: CallbackList) -> Outcome:
        X_train, Y_train, weights, validate = self._hold_out(run, state.rng)
        hooks.train_begin(self)
        xp, in_place, group = run.xp, is_writeable(state.params[0]), run.group
        n_epochs = 1 if run.incremental else self.max_iter
        on_epoch = self._epoch_hook(hooks, run, n_epochs) if hooks else None
        if group is None:
            batches: Any = run.batches or InMemoryBatches(
                X_train, Y_train, batch_size(self, X_train.shape[0]), shuffle=self.shuffle,
                xp=xp, device=run.device, weights=weights,
            )  # fmt: skip
            step = self._step(run, in_place)
            recorder = _graphs.recorder_for(xp, run.device) if self.cuda_graph else None
            if recorder is not None and in_place and not is_sparse(X_train):
                step = _graphs.graphed(step, self._optimizer(), recorder, xp=xp)
        else:
            batches = run.batches or shard_batches(
                group, X_train, Y_train, weights, functools.partial(batch_size, self),
                shuffle=self.shuffle, xp=xp, device=run.device,
            )  # fmt: skip
            step = make_step(self._network(run), self._optimizer(), combine=self._combiner(run),
                             in_place=in_place, xp=xp)  # fmt: skip
        return train(
            state, step=step, batches=batches, rule=stop_rule(self), n_epochs=n_epochs,
            in_place=in_place, xp=xp, validate=validate, on_epoch=on_epoch,
            log=hooks.log if self.verbose and hooks else None,
        )  # fmt: skip

    @staticmethod
    def _combiner(run: Run) -> Combiner:
        return LOCAL if run.group is None else DataParallel(run.group, run.xp)

    def _solver(self) -> tuple[Any, ...]:
        """The hyperparameters that make the optimizer, hashable (they key the step cache)."""
        return (self.solver, float(self.momentum), bool(self.nesterovs_momentum),
                float(self.beta_1), float(self.beta_2), float(self.epsilon))  # fmt: skip

    def _optimizer(self) -> Any:
        return make_optimizer(*self._solver())

    def _start(self, run: Run) -> TrainingState:
        """The state training starts from: the fitted one (its own copy of the generator it
        was left with), or new weights drawn from ``random_state`` as scikit-learn draws."""
        optimizer = self._optimizer()
        if not run.reuse:
            generator = check_random_state(self.random_state)
            pairs = glorot_uniform(
                run.layer_sizes, activation=self.activation, rng=generator, dtype=run.X.dtype,
                device=run.device, xp=run.xp,
            )  # fmt: skip
            params = params_of(pairs)
            progress = Progress(float(self.learning_rate_init))
            return TrainingState(params, optimizer.init(params), progress, HostRandom(generator))
        rng = copy.deepcopy(self._rng)
        params = params_of(zip(self.coefs_, self.intercepts_, strict=True))
        progress = self._progress.copy()
        state = self._optimizer_state
        if not (run.incremental and isinstance(state, type(optimizer.init([])))):
            # warm start (or another solver): a new optimizer from the current weights
            state = optimizer.init(params)
            progress.learning_rate = float(self.learning_rate_init)
        return TrainingState(params, state, progress, rng)

    def _step(self, run: Run, in_place: bool) -> Any:
        """The training step: one per configuration, shared by every estimator (on JAX a
        compiled step, so clones and ``partial_fit`` calls compile once per batch shape)."""
        return _shared_step(self._network(run), self._solver(), in_place, run.xp)

    def _network(self, run: Run) -> Network:
        return Network(self.activation, run.targets["out_activation_"], float(self.alpha))

    def _epoch_hook(self, hooks: CallbackList, run: Run, n_epochs: int) -> Any:
        """Shows the estimator as of each epoch to the callbacks; whether one asks to stop."""

        def on_epoch(state: TrainingState, seconds: float, rate: float) -> bool:
            self._commit(state, run.targets, run.layer_sizes, run.first_epoch)
            progress = state.progress
            epoch = Epoch(
                epoch=progress.n_iter,
                loss=progress.loss_curve[-1],
                validation_score=progress.validation_scores[-1] if self.early_stopping else None,
                learning_rate=rate,
                seconds=seconds,
                max_epochs=n_epochs,
            )
            return hooks.epoch_end(self, epoch)

        return on_epoch

    def _finish(
        self, outcome: Outcome, run: Run, hooks: CallbackList, unconverged: str | None
    ) -> None:
        """Publish the run's result, tell the callbacks, and report how it ended
        (``unconverged``: the warning for a run that stopped short of convergence)."""
        state = outcome.state
        # With early stopping the best validation weights are kept, a divergence included:
        # its epoch is recorded (NaN), as scikit-learn records it, and training ends there.
        kept_best = self.early_stopping and outcome.best_params is not None
        if kept_best and outcome.best_params is not None:
            state = dataclasses.replace(state, params=outcome.best_params)
        self._commit(state, run.targets, run.layer_sizes, run.first_epoch)
        progress = state.progress
        epoch = progress.n_iter if kept_best else progress.n_iter + 1
        handled = outcome.diverged and hooks.non_finite(self, epoch)
        hooks.train_end(self)
        # Data-parallel ranks end alike: rank 0 alone reports it, as it alone logs.
        reports = run.group is None or run.group.rank == 0
        if outcome.diverged and not handled:
            if kept_best:
                if not reports:
                    return
                warn(
                    f"Training diverged in epoch {epoch} (the loss is not finite) and stopped; "
                    "the weights of the best validation score are kept.",
                    ConvergenceWarning,
                )
                return
            raise DivergenceError(
                f"Solver produced non-finite parameter weights. The input data may contain "
                f"large values and need to be preprocessed. Training diverged in epoch {epoch}: "
                f"the loss is not finite. The parameters reached after epoch {epoch - 1} are "
                f"kept; try a smaller learning_rate_init (it is {self.learning_rate_init})."
            )
        if unconverged is not None and reports:
            warn(unconverged, ConvergenceWarning)

    def _commit(
        self,
        state: TrainingState,
        targets: dict[str, Any],
        layer_sizes: list[int],
        first_epoch: int,
    ) -> None:
        """Set every fitted attribute at once, from a training run or a checkpoint.

        ``n_iter_`` counts the epochs after ``first_epoch``: those of the current call, as
        scikit-learn counts them (``t_`` and ``loss_curve_`` run on across calls)."""
        progress = state.progress
        self.coefs_ = list(state.params[::2])
        self.intercepts_ = list(state.params[1::2])
        for name, value in targets.items():
            if value is None:  # feature_names_in_ after a fit without names: not there
                vars(self).pop(name, None)
            else:
                setattr(self, name, value)
        self.n_features_in_ = layer_sizes[0]
        self.n_layers_ = len(layer_sizes)
        self.n_outputs_ = layer_sizes[-1]
        self.n_iter_ = progress.n_iter - first_epoch
        self.t_ = progress.t
        self.loss_ = progress.loss_curve[-1] if progress.loss_curve else None
        self.loss_curve_ = list(progress.loss_curve)
        # As scikit-learn: best_loss_ without early stopping, validation figures with it.
        self.best_loss_ = None if self.early_stopping else progress.best_loss
        self.validation_scores_ = list(progress.validation_scores) if self.early_stopping else None
        self.best_validation_score_ = (
            progress.best_validation_score if self.early_stopping else None
        )
        self._optimizer_state = state.opt_state
        self._progress = progress
        self._rng = state.rng

    # ------------------------------------------------------------------ inference
    def _forward_checked(self, X: Any) -> tuple[Array, Namespace]:
        """Logits of the output layer for a validated ``X``."""
        X, xp, _ = self._check_predict_input(X, "coefs_")
        pairs = list(zip(self.coefs_, self.intercepts_, strict=True))
        in_place = is_writeable(self.coefs_[0])  # into the fresh products (not with JAX)
        logits, _ = forward(pairs, X, activation=self.activation, xp=xp, in_place=in_place)
        return logits, xp
