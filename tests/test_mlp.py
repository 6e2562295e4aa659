"""MLPClassifier and MLPRegressor on every backend: outputs, exact updates, the training loop."""

from __future__ import annotations

import warnings

import array_api_strict
import numpy as np
import pytest

from xperceptron import ConvergenceWarning, MLPClassifier, MLPRegressor, NotFittedError
from xperceptron._namespace import default_float_dtype, to_numpy
from xperceptron._targets import validation_split as _split
from xperceptron.initializers import glorot_uniform
from xperceptron.network import value_and_grad
from xperceptron.optimizers import adam, apply_updates

TASKS = ("binary", "multiclass", "multilabel", "regression", "multioutput")


def _data(task, n=60, n_features=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    scores = X @ rng.normal(size=(n_features, 3))
    if task == "binary":
        return X, (scores[:, 0] > 0).astype(np.int64)
    if task == "multiclass":
        return X, np.argmax(scores, axis=1).astype(np.int64) * 10
    if task == "multilabel":
        return X, (scores > 0).astype(np.int64)
    if task == "regression":
        return X, scores[:, 0]
    return X, scores[:, :2]


def _estimator(task, **params):
    cls = MLPRegressor if task in ("regression", "multioutput") else MLPClassifier
    return cls(**params)


def _eps(backend):
    return np.finfo(np.float64 if backend.float64 else np.float32).eps


@pytest.mark.parametrize("task", TASKS)
def test_outputs_follow_x_on_every_backend(backend, task):
    X_host, y_host = _data(task)
    X, y = backend.asarray(X_host), backend.asarray(y_host)
    est = _estimator(task, hidden_layer_sizes=(5, 3), max_iter=3, random_state=0)
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        est.fit(X, y)
    n_outputs = {"binary": 1, "multiclass": 3, "multilabel": 3, "regression": 1}.get(task, 2)
    sizes = [4, 5, 3, n_outputs]
    for W, b, fan_in, fan_out in zip(est.coefs_, est.intercepts_, sizes, sizes[1:], strict=False):
        backend.assert_array(W, shape=(fan_in, fan_out), dtype=backend.float_dtype)
        backend.assert_array(b, shape=(fan_out,), dtype=backend.float_dtype)
    assert (est.n_layers_, est.n_outputs_, est.n_features_in_) == (4, n_outputs, 4)
    assert est.n_iter_ == 3
    assert est.t_ == 3 * 60
    assert len(est.loss_curve_) == 3
    assert all(type(v) is float for v in est.loss_curve_)
    assert est.best_loss_ == min(est.loss_curve_)
    assert est.validation_scores_ is None
    assert est.best_validation_score_ is None
    predictions = est.predict(X)
    expected_shape = y_host.shape
    backend.assert_array(predictions, shape=expected_shape)
    score = est.score(X, y)
    assert type(score) is float
    if task in ("regression", "multioutput"):
        assert est.out_activation_ == "identity"
        backend.assert_array(predictions, dtype=backend.float_dtype)
        return
    assert est.out_activation_ == {"multiclass": "softmax"}.get(task, "logistic")
    proba = est.predict_proba(X)
    n_columns = 2 if task == "binary" else 3
    backend.assert_array(proba, shape=(60, n_columns), dtype=backend.float_dtype)
    proba_host = to_numpy(proba)
    assert np.all((proba_host >= 0) & (proba_host <= 1))
    if task != "multilabel":
        np.testing.assert_allclose(proba_host.sum(axis=1), 1.0, rtol=8 * _eps(backend))
        assert set(np.unique(to_numpy(predictions))) <= set(est.classes_)
    log_proba = est.predict_log_proba(X)
    backend.assert_array(log_proba, shape=(60, n_columns), dtype=backend.float_dtype)
    np.testing.assert_allclose(
        to_numpy(log_proba), np.log(proba_host), rtol=64 * _eps(backend), atol=1e-12
    )


def _targets_for(task, y, classes):
    if task == "binary":
        return (y == classes[1]).astype(float)[:, None]
    if task == "multiclass":
        return (y[:, None] == classes[None, :]).astype(float)
    if task == "regression":
        return y[:, None].astype(float)
    return y.astype(float)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("task", TASKS)
def test_one_step_is_the_cores_gradient_step(backend, task, solver):
    # One partial_fit over one full batch is one optimizer step from the seeded initial
    # weights, which depend on random_state, sizes and activation only.
    X_host, y_host = _data(task, n=16)
    est = _estimator(
        task, hidden_layer_sizes=(5,), activation="tanh", solver=solver, momentum=0.0,
        learning_rate_init=0.1, alpha=0.01, batch_size=16, shuffle=False, random_state=3,
    )  # fmt: skip
    X, y = backend.asarray(X_host), backend.asarray(y_host)
    if isinstance(est, MLPClassifier):
        est.partial_fit(X, y, classes=np.unique(y_host) if y_host.ndim == 1 else None)
    else:
        est.partial_fit(X, y)
    out = est.out_activation_
    n_outputs = est.n_outputs_
    initial = glorot_uniform(
        [4, 5, n_outputs], activation="tanh", rng=np.random.RandomState(3),
        dtype=backend.float_dtype, device=backend.device, xp=backend.xp,
    )  # fmt: skip
    Y = backend.asarray(_targets_for(task, y_host, est.classes_ if out != "identity" else None))
    _, grads = value_and_grad(
        initial, X, Y, activation="tanh", out_activation=out, alpha=0.01, xp=backend.xp
    )
    params = [a for pair in initial for a in pair]
    flat = [g for pair in grads for g in pair]
    if solver == "sgd":
        # Plain SGD asks the core for the steps themselves: -0.1 folded into the backprop.
        _, step_pairs = value_and_grad(
            initial, X, Y, activation="tanh", out_activation=out, alpha=0.01, scale=-0.1,
            xp=backend.xp,
        )  # fmt: skip
        steps = [s for pair in step_pairs for s in pair]
        expected = [p + s for p, s in zip(params, steps, strict=True)]
    else:
        optimizer = adam()
        steps, _ = optimizer.update(flat, optimizer.init(params), 0.1, xp=backend.xp)
        expected = apply_updates(params, steps)
    fitted = [a for pair in zip(est.coefs_, est.intercepts_, strict=True) for a in pair]
    # Eager backends agree bit for bit. A compiled step (JAX: the engine jits it) may fuse
    # a * b + c into one rounding and reorder a sum: a few units in the last place.
    eps = float(np.finfo(np.dtype(str(to_numpy(fitted[0]).dtype))).eps)
    for ours, theirs in zip(fitted, expected, strict=True):
        np.testing.assert_allclose(to_numpy(ours), to_numpy(theirs), rtol=4 * eps, atol=4 * eps)


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_one_sgd_step_matches_pytorch_autograd(task):
    torch = pytest.importorskip("torch")
    X_host, y_host = _data(task, n=12)
    est = _estimator(
        task, hidden_layer_sizes=(6,), activation="relu", solver="sgd", momentum=0.0,
        learning_rate_init=0.5, alpha=0.1, batch_size=12, shuffle=False, random_state=4,
    )  # fmt: skip
    if isinstance(est, MLPClassifier):
        est.partial_fit(X_host, y_host, classes=np.unique(y_host))
    else:
        est.partial_fit(X_host, y_host)
    xp_numpy = __import__("array_api_compat").array_namespace(X_host)
    initial = glorot_uniform(
        [4, 6, est.n_outputs_], activation="relu", rng=np.random.RandomState(4),
        dtype=xp_numpy.float64, device="cpu", xp=xp_numpy,
    )  # fmt: skip
    tensors = [(torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True))
               for W, b in initial]  # fmt: skip
    hidden = torch.relu(torch.tensor(X_host) @ tensors[0][0] + tensors[0][1])
    z = hidden @ tensors[1][0] + tensors[1][1]
    Y = torch.tensor(_targets_for(task, y_host, getattr(est, "classes_", None)))
    functional = torch.nn.functional
    if task == "binary":
        data = functional.binary_cross_entropy_with_logits(z, Y, reduction="sum") / 12
    elif task == "multiclass":
        data = -(Y * functional.log_softmax(z, dim=1)).sum() / 12
    else:
        data = 0.5 * ((z - Y) ** 2).sum() / 12
    loss = data + 0.1 / (2 * 12) * sum((W**2).sum() for W, _ in tensors)
    loss.backward()
    assert est.loss_curve_[0] == pytest.approx(loss.item(), rel=1e-12)
    for W_fit, b_fit, (W, b) in zip(est.coefs_, est.intercepts_, tensors, strict=True):
        np.testing.assert_allclose(W_fit, (W - 0.5 * W.grad).detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(b_fit, (b - 0.5 * b.grad).detach().numpy(), rtol=1e-12)


def test_same_seed_same_model_on_every_backend(backend64):
    X_host, y_host = _data("multiclass", n=80)
    params = {"hidden_layer_sizes": (7,), "batch_size": 16, "random_state": 5, "max_iter": 4}
    with pytest.warns(ConvergenceWarning):
        reference = MLPClassifier(**params).fit(X_host, y_host)
    with pytest.warns(ConvergenceWarning):
        est = MLPClassifier(**params).fit(backend64.asarray(X_host), backend64.asarray(y_host))
    # 20 Adam steps in float64: backends differ only in summation order inside matmul
    # (~1e-16 relative per operation), which training amplifies mildly.
    for ours, theirs in zip(est.coefs_, reference.coefs_, strict=True):
        backend64.assert_close(ours, theirs, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(est.loss_curve_, reference.loss_curve_, rtol=1e-12)


def test_no_host_round_trip_per_batch(host_reads):
    # Count every conversion of an array-api-strict array to a Python scalar while fitting.
    counts = host_reads
    device = array_api_strict.Device("device1")
    X_host, y_host = _data("multiclass", n=240)
    X = array_api_strict.asarray(X_host, device=device)
    y = array_api_strict.asarray(y_host, device=device)

    def syncs(batch_size, **extra):
        counts["n"] = 0
        est = MLPClassifier((8,), batch_size=batch_size, max_iter=3, random_state=0, **extra)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
        return counts["n"]

    few, many = syncs(120), syncs(4)  # 2 vs 60 batches per epoch
    assert few == many, "conversions grow with the number of batches"
    assert many <= 2 + 3  # input checks, then one loss read per epoch
    assert syncs(4, early_stopping=True) == syncs(120, early_stopping=True) <= 2 + 2 * 3


def test_partial_fit_epochs_equal_fit(backend):
    X_host, y_host = _data("binary", n=50)
    X, y = backend.asarray(X_host), backend.asarray(y_host)
    params = {"hidden_layer_sizes": (6,), "batch_size": 8, "random_state": 2, "tol": 0.0}
    with pytest.warns(ConvergenceWarning):
        fitted = MLPClassifier(max_iter=4, **params).fit(X, y)
    incremental = MLPClassifier(**params)
    for _ in range(4):
        incremental.partial_fit(X, y, classes=[0, 1])
    assert incremental.n_iter_ == 1  # as scikit-learn: the epochs of the last call
    assert incremental.t_ == fitted.t_ == 4 * 50
    assert incremental.loss_curve_ == fitted.loss_curve_
    for a, b in zip(incremental.coefs_, fitted.coefs_, strict=True):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b))


def test_warm_start_continues_from_the_current_weights(backend):
    X_host, y_host = _data("regression", n=40)
    X, y = backend.asarray(X_host), backend.asarray(y_host)
    est = MLPRegressor((6,), max_iter=5, random_state=0, warm_start=True)
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    first = [to_numpy(W).copy() for W in est.coefs_]
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    assert est.n_iter_ == 5  # as scikit-learn: this call's epochs; the curve runs on
    assert len(est.loss_curve_) == 10
    assert est.loss_curve_[5] < est.loss_curve_[0]  # not restarted from the initial weights
    assert not np.array_equal(to_numpy(est.coefs_[0]), first[0])
    cold = MLPRegressor((6,), max_iter=5, random_state=0)
    with pytest.warns(ConvergenceWarning):
        cold.fit(X, y)
    np.testing.assert_array_equal(to_numpy(cold.coefs_[0]), first[0])


def test_partial_fit_needs_classes_first_and_rejects_unseen_labels():
    X, y = _data("binary")
    est = MLPClassifier((4,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        est.partial_fit(X, y)
    est.partial_fit(X, y, classes=[0, 1, 2])
    assert est.classes_.tolist() == [0, 1, 2]
    assert est.out_activation_ == "softmax"
    with pytest.raises(ValueError, match=r"labels \[7\] that are not in classes \[0, 1, 2\]"):
        est.partial_fit(X, np.where(y == 1, 7, 0))
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1])


def test_early_stopping_restores_the_best_validation_weights(backend):
    X_host, y_host = _data("multiclass", n=200, seed=3)
    X, y = backend.asarray(X_host), backend.asarray(y_host)
    est = MLPClassifier(
        (16,), early_stopping=True, n_iter_no_change=3, learning_rate_init=0.05,
        validation_fraction=0.2, random_state=1, max_iter=300,
    )  # fmt: skip
    est.fit(X, y)
    assert est.best_loss_ is None
    assert len(est.validation_scores_) == est.n_iter_ < 300
    assert est.best_validation_score_ == max(est.validation_scores_)
    # Rebuild the split the estimator drew (after the initial weights, from the same stream;
    # three classes, three output units: not stratified, as scikit-learn).
    rng = np.random.RandomState(1)
    glorot_uniform([4, 16, 3], activation="relu", rng=rng, dtype=backend.float_dtype,
                   device=backend.device, xp=backend.xp)  # fmt: skip
    _, valid = _split(200, 0.2, None, rng)
    X_valid = backend.asarray(X_host[valid])
    # The same fraction of right rows (the scorer's mean is in X's dtype, float32 or float64).
    score = est.score(X_valid, backend.asarray(y_host[valid]))
    assert score == pytest.approx(est.best_validation_score_, rel=1e-6)


def test_validation_split_is_stratified():
    labels = np.repeat([0, 1, 2], [50, 30, 20])
    train, valid = _split(100, 0.1, labels, np.random.RandomState(0))
    assert sorted(np.concatenate([train, valid]).tolist()) == list(range(100))
    np.testing.assert_array_equal(np.bincount(labels[valid]), [5, 3, 2])
    with pytest.raises(ValueError, match="the resulting train set will be empty"):
        _split(1, 0.5, None, np.random.RandomState(0))


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [("constant", 0.1), ("invscaling", 0.1 / (3 * 20 + 1) ** 0.5)],
)
def test_learning_rate_schedules(schedule, expected):
    X, y = _data("regression", n=20)
    est = MLPRegressor((4,), solver="sgd", learning_rate=schedule, learning_rate_init=0.1,
                       random_state=0, tol=0.0)  # fmt: skip
    for _ in range(3):
        est.partial_fit(X, y)
    assert est._progress.learning_rate == pytest.approx(expected, rel=1e-15)


def test_adaptive_schedule_divides_the_rate_by_five_when_stuck():
    X, y = _data("regression", n=20)
    # tol so large that no epoch counts as an improvement: the rate drops every
    # n_iter_no_change + 1 epochs until it falls under 1e-6, then training stops.
    est = MLPRegressor((4,), solver="sgd", learning_rate="adaptive", learning_rate_init=0.1,
                       tol=1e9, n_iter_no_change=2, random_state=0, max_iter=1000)  # fmt: skip
    est.fit(X, y)
    drops = int(np.ceil(np.log(0.1 / 1e-6) / np.log(5)))  # 0.1 / 5**k <= 1e-6
    assert est._progress.learning_rate == pytest.approx(0.1 / 5**drops)
    # The first epoch improves on the initial best loss (inf); then every stall lasts
    # n_iter_no_change + 1 = 3 epochs: `drops` of them lower the rate, the last one stops.
    assert est.n_iter_ == 1 + 3 * (drops + 1)


def test_string_labels_and_python_lists():
    X, y = _data("multiclass")
    labels = np.array(["cat", "dog", "eel"])[y // 10]
    est = MLPClassifier((8,), learning_rate_init=0.05, max_iter=300, random_state=0)
    est.fit(X.tolist(), labels.tolist())
    assert est.classes_.tolist() == ["cat", "dog", "eel"]
    predictions = est.predict(X)
    assert predictions.dtype.kind == "U"
    assert est.score(X, labels) > 0.9


def test_float32_stays_float32_and_integers_become_the_default_float(backend):
    X, y = _data("binary", n=30)
    est = MLPClassifier((3,), max_iter=2, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(backend.asarray(X, dtype=backend.xp.float32), backend.asarray(y))
    backend.assert_array(est.coefs_[0], dtype=backend.xp.float32)
    backend.assert_array(est.predict_proba(backend.asarray(X)), dtype=backend.xp.float32)
    with pytest.warns(ConvergenceWarning):
        est.fit(backend.asarray(np.round(X * 3).astype(np.int64)), backend.asarray(y))
    default = default_float_dtype(backend.xp, backend.device)
    backend.assert_array(est.coefs_[0], dtype=default)


def test_regressor_keeps_the_shape_of_y(backend):
    X, y = _data("regression", n=30)
    est = MLPRegressor((3,), max_iter=2, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(backend.asarray(X), backend.asarray(y[:, None]))
    backend.assert_array(est.predict(backend.asarray(X)), shape=(30, 1))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("hidden_layer_sizes", (3, 0)),
        ("hidden_layer_sizes", "big"),
        ("activation", "gelu"),
        ("solver", "newton-cg"),
        ("alpha", -1.0),
        ("batch_size", 0),
        ("learning_rate", "cyclic"),
        ("learning_rate_init", 0.0),
        ("power_t", -0.5),
        ("max_iter", 0),
        ("shuffle", "yes"),
        ("random_state", "seed"),
        ("tol", -1.0),
        ("warm_start", 1),
        ("momentum", 1.5),
        ("nesterovs_momentum", None),
        ("early_stopping", "no"),
        ("validation_fraction", 1.0),
        ("beta_1", 1.0),
        ("beta_2", -0.1),
        ("epsilon", 0.0),
        ("n_iter_no_change", 0),
    ],
)
def test_bad_hyperparameters_are_named_before_anything_changes(name, value):
    X, y = _data("binary", n=20)
    est = MLPClassifier((3,), max_iter=2, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    before = [W.copy() for W in est.coefs_], list(est.loss_curve_)
    est.set_params(**{name: value})  # stored unchecked, as scikit-learn requires
    with pytest.raises(ValueError, match=f"^{name} must be"):
        est.fit(X, y)
    with pytest.raises(ValueError, match=f"^{name} must be"):
        est.partial_fit(X, y)
    np.testing.assert_array_equal(est.coefs_[0], before[0][0])
    assert est.loss_curve_ == before[1]


def test_predict_before_fit_and_wrong_inputs(backend):
    X_host, y_host = _data("binary", n=20)
    X = backend.asarray(X_host)
    with pytest.raises(NotFittedError, match="call 'fit'"):
        MLPClassifier().predict(X)
    est = MLPClassifier((3,), max_iter=2, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(X, backend.asarray(y_host))
    with pytest.raises(
        ValueError, match="X has 3 features, but MLPClassifier is expecting 4 features"
    ):
        est.predict(X[:, :3])
    other = np.asarray(X_host) if backend.name != "numpy" else array_api_strict.asarray(X_host)
    with pytest.raises(TypeError, match="fitted on"):
        est.predict_proba(other)


def test_training_never_writes_into_arrays_it_handed_out(backend):
    # On writeable backends the loop updates its own copies in place; coefs_ a user holds
    # from an earlier call keep their values.
    X_host, y_host = _data("binary", n=40)
    X, y = backend.asarray(X_host), backend.asarray(y_host)
    est = MLPClassifier((5,), solver="sgd", momentum=0.0, random_state=0)
    est.partial_fit(X, y, classes=[0, 1])
    held = est.coefs_[0]
    before = to_numpy(held).copy()
    est.partial_fit(X, y)
    np.testing.assert_array_equal(to_numpy(held), before)
    assert not np.array_equal(to_numpy(est.coefs_[0]), before)


def test_partial_fit_refuses_other_classes_later():
    X, y = _data("binary")
    est = MLPClassifier((4,), random_state=0)
    est.partial_fit(X, y, classes=[0, 1])
    before = [W.copy() for W in est.coefs_]
    with pytest.raises(ValueError, match=r"classes=\[0, 1, 2\] differs from the classes"):
        est.partial_fit(X, y, classes=[0, 1, 2])
    np.testing.assert_array_equal(est.coefs_[0], before[0])
    est.partial_fit(X, y, classes=[1, 0])  # the same set, in any order
    assert len(est.loss_curve_) == 2


def test_no_hidden_layer_is_a_linear_model(backend):
    X_host, y_host = _data("binary", n=80)
    est = MLPClassifier((), solver="sgd", learning_rate_init=0.5, max_iter=200, random_state=0)
    est.fit(backend.asarray(X_host), backend.asarray(y_host))
    assert est.n_layers_ == 2
    backend.assert_array(est.coefs_[0], shape=(4, 1), dtype=backend.float_dtype)
    assert est.score(backend.asarray(X_host), backend.asarray(y_host)) > 0.95


# --------------------------------------------------------------------------- issue 12
@pytest.mark.parametrize("fit_shape", ["1-D", "column"])
def test_r2_never_broadcasts_a_column_against_a_vector(backend, fit_shape):
    # A model fitted on y of shape (n,) scored with y of shape (n, 1), or the other way
    # round: scikit-learn's r2_score reads both as one output; broadcasting (n,) against
    # (n, 1) would compare every sample with every other and give a wrong R².
    metrics = pytest.importorskip("sklearn.metrics")
    X, y = _data("regression")
    y_fit = y if fit_shape == "1-D" else y[:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = MLPRegressor((8,), max_iter=30, random_state=0).fit(
            backend.asarray(X), backend.asarray(y_fit)
        )
    predicted = to_numpy(reg.predict(backend.asarray(X))).reshape(-1)
    expected = metrics.r2_score(y, predicted)
    # float32: R² is 1 - a ratio of two sums of 60 squares, each to ~1e-6 relative.
    rtol = 1e-12 if backend.float64 else 1e-5
    for y_score in (y, y[:, None]):
        assert reg.score(backend.asarray(X), backend.asarray(y_score)) == pytest.approx(
            expected, rel=rtol
        )
    with pytest.raises(ValueError, match=r"2 output\(s\) but the predictions have 60 and 1"):
        reg.score(backend.asarray(X), backend.asarray(np.stack([y, y], axis=1)))


def test_multilabel_score_never_broadcasts(backend):
    X, Y = _data("multilabel")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((8,), max_iter=5, random_state=0).fit(
            backend.asarray(X), backend.asarray(Y)
        )
    with pytest.raises(ValueError, match=r"y has shape \(60, 1\) but the model predicts"):
        clf.score(backend.asarray(X), backend.asarray(Y[:, :1]))
    with pytest.raises(ValueError, match=r"y has shape \(3,\)"):
        clf.score(backend.asarray(X), backend.asarray(Y[0]))
