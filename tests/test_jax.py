"""JAX's transformations over the pure core: jit, grad and vmap give the eager results.

Runs where the jax backend is selected (``XPERCEPTRON_BACKENDS`` or every installed one).
Every comparison is in float64 to 1e-12: compiled code may fuse and reorder operations, so
results agree to rounding, not bit for bit.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import BACKENDS, one_hot_or_values

from xperceptron.initializers import glorot_uniform
from xperceptron.network import forward, value_and_grad
from xperceptron.optimizers import adam, apply_updates, sgd

_JAX = [b for b in BACKENDS if b.id == "jax"]
_NOT_SELECTED = pytest.param(None, marks=pytest.mark.skip(reason="jax backend not selected"))
pytestmark = pytest.mark.parametrize("jax_backend", _JAX or [_NOT_SELECTED])

TOL = {"rtol": 1e-12, "atol": 1e-12}
ACTIVATIONS = ["relu", "tanh", "logistic", "softplus", "leaky_relu", "identity"]
OUTPUTS = ["softmax", "logistic", "identity", "exp"]


def _problem(backend, n, *, activation="tanh", out="softmax", seed=0):
    rng = np.random.default_rng(seed)
    pairs = glorot_uniform(
        [4, 6, 5, 3], activation=activation, rng=rng, dtype=backend.float_dtype,
        device=backend.device, xp=backend.xp,
    )  # fmt: skip
    X = backend.asarray(rng.normal(size=(n, 4)))
    Y = backend.asarray(one_hot_or_values(out, n, 3, rng))
    return pairs, X, Y


def _close(actual, expected):
    for a, e in zip(actual, expected, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(e), **TOL)


def _flat(grads):
    return [g for pair in grads for g in pair]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_jit_forward_matches_eager_across_shapes(jax_backend, activation):
    import jax

    xp = jax_backend.xp
    compiled = jax.jit(functools.partial(forward, activation=activation, xp=xp))
    for n in (7, 13, 7):  # a second shape recompiles; the first is cached
        pairs, X, _ = _problem(jax_backend, n, activation=activation, seed=n)
        logits, activations = compiled(pairs, X)
        eager_logits, eager_activations = forward(pairs, X, activation=activation, xp=xp)
        _close([logits, *activations], [eager_logits, *eager_activations])
    pairs, X, _ = _problem(jax_backend, 9, activation=activation)
    forward(pairs, X, activation=activation, xp=xp)  # eager again, after tracing


@pytest.mark.parametrize("out", OUTPUTS)
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_jit_value_and_grad_matches_eager(jax_backend, activation, out):
    import jax

    xp = jax_backend.xp
    options = {"activation": activation, "out_activation": out, "alpha": 0.1, "xp": xp}
    compiled = jax.jit(functools.partial(value_and_grad, **options))
    for n in (8, 21):
        pairs, X, Y = _problem(jax_backend, n, activation=activation, out=out, seed=n)
        loss, grads = compiled(pairs, X, Y)
        eager_loss, eager_grads = value_and_grad(pairs, X, Y, **options)
        _close([loss, *_flat(grads)], [eager_loss, *_flat(eager_grads)])
    pairs, X, Y = _problem(jax_backend, 5, activation=activation, out=out)
    value_and_grad(pairs, X, Y, **options)


@pytest.mark.parametrize("out", OUTPUTS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_autodiff_of_the_loss_is_our_backprop(jax_backend, activation, out):
    import jax

    xp = jax_backend.xp
    options = {"activation": activation, "out_activation": out, "alpha": 0.05, "xp": xp}
    pairs, X, Y = _problem(jax_backend, 11, activation=activation, out=out)

    def loss_of(pairs):
        return value_and_grad(pairs, X, Y, **options)[0]

    autodiff = jax.grad(loss_of)(pairs)
    _, ours = value_and_grad(pairs, X, Y, **options)
    _close(_flat(autodiff), _flat(ours))
    _close(_flat(jax.jit(jax.grad(loss_of))(pairs)), _flat(ours))


def test_vmap_over_batches_and_over_parameter_sets(jax_backend):
    import jax

    xp = jax_backend.xp
    options = {"activation": "relu", "out_activation": "softmax", "xp": xp}
    batches = [_problem(jax_backend, 10, seed=s) for s in range(3)]
    pairs = batches[0][0]
    Xs = xp.stack([b[1] for b in batches])
    Ys = xp.stack([b[2] for b in batches])
    logits = jax.vmap(lambda X: forward(pairs, X, activation="relu", xp=xp)[0])(Xs)
    losses, grads = jax.vmap(lambda X, Y: value_and_grad(pairs, X, Y, **options))(Xs, Ys)
    for i, (_, X, Y) in enumerate(batches):
        _close([logits[i]], [forward(pairs, X, activation="relu", xp=xp)[0]])
        loss, expected = value_and_grad(pairs, X, Y, **options)
        _close([losses[i], *(g[i] for g in _flat(grads))], [loss, *_flat(expected)])
    # An ensemble: three parameter sets, one batch.
    ensemble = [b[0] for b in batches]
    stacked = jax.tree_util.tree_map(lambda *a: xp.stack(a), *ensemble)
    X = batches[0][1]
    outputs = jax.vmap(lambda p: forward(p, X, activation="tanh", xp=xp)[0])(stacked)
    for i, member in enumerate(ensemble):
        _close([outputs[i]], [forward(member, X, activation="tanh", xp=xp)[0]])


@pytest.mark.parametrize("make", [lambda: sgd(0.9, True), lambda: sgd(0.9, False), adam],
                         ids=["nesterov", "momentum", "adam"])  # fmt: skip
def test_optimizer_update_under_jit_and_vmap(jax_backend, make):
    import jax

    xp = jax_backend.xp
    optimizer = make()
    compiled = jax.jit(functools.partial(optimizer.update, xp=xp))
    for n_hidden in (3, 6):  # two parameter shapes: two compilations
        rng = np.random.default_rng(n_hidden)
        params = [jax_backend.asarray(rng.normal(size=s)) for s in [(4, n_hidden), (n_hidden,)]]
        state, eager_state = optimizer.init(params), optimizer.init(params)
        for _ in range(3):  # the state (Adam's step count among it) is carried through jit
            grads = [jax_backend.asarray(rng.normal(size=p.shape)) for p in params]
            steps, state = compiled(grads, state, 0.05)
            eager_steps, eager_state = optimizer.update(grads, eager_state, 0.05, xp=xp)
            _close(steps, eager_steps)
        _close(apply_updates(params, steps), apply_updates(params, eager_steps))
    # vmap over a stack of gradient sets from one state.
    grads = [jax_backend.asarray(rng.normal(size=(2, *p.shape))) for p in params]
    steps, _ = jax.vmap(lambda g: optimizer.update(g, state, 0.05, xp=xp))(grads)
    for i in range(2):
        expected, _ = optimizer.update([g[i] for g in grads], state, 0.05, xp=xp)
        _close([s[i] for s in steps], expected)


def test_the_documented_training_step_compiles_and_learns(jax_backend, capsys):
    text = (Path(__file__).parents[1] / "docs" / "jax.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 2
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, "docs/jax.md", "exec"), namespace)
    printed = capsys.readouterr().out
    assert "(4, 32, 3)" in printed
    assert re.search(r"loss \d+\.\d+ -> \d+\.\d+", printed)
    trained = namespace["params"]
    pairs = list(zip(trained[::2], trained[1::2], strict=True))
    _, ours = value_and_grad(pairs, namespace["X"], namespace["Y"], activation="relu",
                             out_activation="softmax", xp=jax_backend.xp)  # fmt: skip
    _close(namespace["autodiff"], _flat(ours))


def test_estimators_compile_their_step_and_keep_the_eager_result(jax_backend):
    from xperceptron import ConvergenceWarning, MLPClassifier
    from xperceptron._mlp_base import _shared_step
    from xperceptron._namespace import to_numpy
    from xperceptron._training import Network

    rng = np.random.default_rng(0)
    X_host = rng.normal(size=(90, 4))
    y_host = (X_host[:, 0] + X_host[:, 1] > 0).astype(int)
    X, y = jax_backend.asarray(X_host), jax_backend.asarray(y_host)
    kwargs = {"hidden_layer_sizes": (8,), "max_iter": 5, "batch_size": 32, "random_state": 0,
              "tol": 0.0}  # fmt: skip
    with pytest.warns(ConvergenceWarning):
        on_jax = MLPClassifier(**kwargs).fit(X, y)
    hits = _shared_step.cache_info().hits
    with pytest.warns(ConvergenceWarning):
        again = MLPClassifier(**kwargs).fit(X, y)  # a second estimator reuses the compiled step
    assert _shared_step.cache_info().hits == hits + 1
    adam = ("adam", 0.9, True, 0.9, 0.999, 1e-8)
    step = _shared_step(Network("relu", "logistic", 1e-4), adam, False, jax_backend.xp)
    assert hasattr(step.run, "lower")  # a jax.jit-compiled function
    with pytest.warns(ConvergenceWarning):
        on_numpy = MLPClassifier(**kwargs).fit(X_host, y_host)
    assert again.loss_curve_ == on_jax.loss_curve_
    for ours, theirs in zip(on_jax.coefs_, on_numpy.coefs_, strict=True):
        np.testing.assert_allclose(to_numpy(ours), theirs, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(on_jax.loss_curve_, on_numpy.loss_curve_, rtol=1e-10)
