"""Optimizers: exact steps, scikit-learn's optimizers as the oracle, any backend."""

from __future__ import annotations

import numpy as np
import pytest

from xperceptron._namespace import is_writeable, to_numpy
from xperceptron.optimizers import adam, apply_updates, invscaling, sgd


def _problem(backend, seed=0):
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=(3, 2)), rng.normal(size=(2,))]
    grads = [[rng.normal(size=p.shape) for p in params] for _ in range(3)]
    return params, grads


def test_sgd_without_momentum_is_exactly_w_minus_lr_grad(backend):
    params, grads = _problem(backend)
    on_device = [backend.asarray(p) for p in params]
    grads_dev = [backend.asarray(g) for g in grads[0]]
    optimizer = sgd(momentum=0.0)
    steps, _ = optimizer.update(grads_dev, optimizer.init(on_device), 0.1, xp=backend.xp)
    for new, p, g in zip(apply_updates(on_device, steps), on_device, grads_dev, strict=True):
        backend.assert_array(new, shape=tuple(p.shape), dtype=backend.float_dtype)
        np.testing.assert_array_equal(to_numpy(new), to_numpy(p - 0.1 * g))


def test_only_a_stateless_linear_step_declares_a_step_scale(backend):
    # The training loop trusts step_scale to skip update(): it must be exactly the factor
    # update() applies, and absent wherever the step is not a fixed multiple of the gradient.
    _, grads = _problem(backend)
    grads_dev = [backend.asarray(g) for g in grads[0]]
    plain = sgd(momentum=0.0)
    assert plain.step_scale is not None
    steps, _ = plain.update(grads_dev, plain.init(grads_dev), 0.3, xp=backend.xp)
    for step, g in zip(steps, grads_dev, strict=True):
        np.testing.assert_array_equal(to_numpy(step), to_numpy(plain.step_scale(0.3) * g))
    assert sgd(momentum=0.9).step_scale is None
    assert sgd(momentum=0.9, nesterov=False).step_scale is None
    assert adam().step_scale is None


@pytest.mark.parametrize("nesterov", [True, False])
def test_sgd_momentum_matches_scikit_learn(backend, nesterov):
    optimizers = pytest.importorskip("sklearn.neural_network._stochastic_optimizers")
    params, grads = _problem(backend, seed=1)
    oracle_params = [p.copy() for p in params]
    oracle = optimizers.SGDOptimizer(oracle_params, 0.05, momentum=0.9, nesterov=nesterov)
    optimizer = sgd(momentum=0.9, nesterov=nesterov)
    current = [backend.asarray(p) for p in params]
    state = optimizer.init(current)
    for step_grads in grads:
        oracle.update_params(oracle_params, [g.copy() for g in step_grads])
        steps, state = optimizer.update(
            [backend.asarray(g) for g in step_grads], state, 0.05, xp=backend.xp
        )
        current = apply_updates(current, steps)
    rtol = 1e-14 if backend.float64 else 1e-6  # a few roundings of the dtype per step
    for ours, theirs in zip(current, oracle_params, strict=True):
        backend.assert_close(ours, theirs, rtol=rtol, atol=rtol)


def test_adam_matches_scikit_learn(backend):
    optimizers = pytest.importorskip("sklearn.neural_network._stochastic_optimizers")
    params, grads = _problem(backend, seed=2)
    oracle_params = [p.copy() for p in params]
    oracle = optimizers.AdamOptimizer(oracle_params, 0.01, 0.9, 0.999, 1e-8)
    optimizer = adam(0.9, 0.999, 1e-8)
    current = [backend.asarray(p) for p in params]
    state = optimizer.init(current)
    for step_grads in grads:
        oracle.update_params(oracle_params, [g.copy() for g in step_grads])
        steps, state = optimizer.update(
            [backend.asarray(g) for g in step_grads], state, 0.01, xp=backend.xp
        )
        current = apply_updates(current, steps)
    assert state.step == 3
    rtol = 1e-13 if backend.float64 else 1e-5
    for ours, theirs in zip(current, oracle_params, strict=True):
        backend.assert_close(ours, theirs, rtol=rtol, atol=rtol)
        backend.assert_array(ours, dtype=backend.float_dtype)


def test_float32_state_stays_float32(backend):
    params = [backend.asarray(np.ones((2, 2)), dtype=backend.xp.float32)]
    for optimizer in (sgd(0.9), adam()):
        state = optimizer.init(params)
        steps, state = optimizer.update(params, state, 0.1, xp=backend.xp)
        backend.assert_array(apply_updates(params, steps)[0], dtype=backend.xp.float32)


def test_invscaling_is_scikit_learns_schedule():
    assert invscaling(0.1, 0.5, 0) == 0.1
    assert invscaling(0.1, 0.5, 99) == pytest.approx(0.01)
    assert invscaling(0.1, 0.0, 1000) == 0.1


@pytest.mark.parametrize("make", [lambda: sgd(momentum=0.0), lambda: sgd(0.9), adam])
def test_in_place_path_gives_the_same_numbers(backend, make):
    # The training loop's fast path on writeable arrays must not change a single bit; on
    # immutable arrays (JAX) the loop never takes it.
    params, grads = _problem(backend, seed=5)
    optimizer = make()
    pure = [backend.asarray(p) for p in params]
    fast = [backend.asarray(p) for p in params]
    if not is_writeable(fast[0]):
        assert backend.name == "jax"
        return
    pure_state, fast_state = optimizer.init(pure), optimizer.init(fast)
    for step_grads in grads:
        steps, pure_state = optimizer.update(
            [backend.asarray(g) for g in step_grads], pure_state, 0.05, xp=backend.xp
        )
        pure = apply_updates(pure, steps)
        steps, fast_state = optimizer.update(
            [backend.asarray(g) for g in step_grads], fast_state, 0.05, xp=backend.xp,
            in_place=True,
        )  # fmt: skip
        fast = apply_updates(fast, steps, in_place=True)
    for a, b in zip(pure, fast, strict=True):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b))


def test_invscaling_beyond_the_largest_float_is_zero():
    # (t + 1) ** power_t overflows a float for a large power_t: the rate's limit is 0.
    assert invscaling(0.1, 166.0, 10**3) == 0.0
    assert invscaling(0.1, 0.5, 99) == pytest.approx(0.01, rel=1e-15)
