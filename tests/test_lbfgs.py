"""L-BFGS on the device: SciPy's L-BFGS-B (no bounds, as scikit-learn calls it) is the oracle.

Every problem is written once against the array API and run on each backend; the oracle
runs the same function on NumPy. In float64 the iterates agree with SciPy's to rounding over
the first iterations, and so do the counts and the stopping reason. Over long runs both drift
apart as SciPy drifts from itself when ``x0`` moves by one ulp (rounding is amplified by the
line search's differences of nearly equal values), so long runs are compared where they end.
"""

from __future__ import annotations

import inspect
import math
import warnings

import array_api_compat
import numpy as np
import pytest

from xperceptron._namespace import compile_step, to_numpy
from xperceptron.lbfgs import FTOL, MESSAGES, minimize_lbfgs
from xperceptron.network import value_and_grad

optimize = pytest.importorskip("scipy.optimize")
NP = array_api_compat.array_namespace(np.empty(0))


# Problems: ``make(xp, device, dtype) -> (fun_and_grad, x0)``, host data from a seed.


def _quadratic(xp, device, dtype, n=20, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(40, n))
    H = xp.asarray(A.T @ A / 40 + 0.1 * np.eye(n), dtype=dtype, device=device)
    b = xp.asarray(rng.normal(size=n), dtype=dtype, device=device)

    def fun_and_grad(x):
        Hx = H @ x
        return 0.5 * (x @ Hx) - b @ x, Hx - b

    return fun_and_grad, xp.zeros(n, dtype=dtype, device=device)


def _rosenbrock(xp, device, dtype, n=6):
    def fun_and_grad(x):
        head, tail = x[:-1], x[1:]
        t = tail - head * head
        f = xp.sum(100.0 * t * t + (1.0 - head) ** 2)
        zero = xp.zeros(1, dtype=x.dtype, device=array_api_compat.device(x))
        g_head = -400.0 * t * head - 2.0 * (1.0 - head)
        return f, xp.concat([g_head, zero]) + xp.concat([zero, 200.0 * t])

    x0 = np.full(n, -1.2) + 0.1 * np.arange(n)
    return fun_and_grad, xp.asarray(x0, dtype=dtype, device=device)


def _logistic(xp, device, dtype, n=300, p=8, alpha=1e-2, seed=1):
    rng = np.random.default_rng(seed)
    X_host = rng.normal(size=(n, p))
    y_host = (X_host @ rng.normal(size=p) + rng.normal(size=n) > 0).astype(float)
    X = xp.asarray(X_host, dtype=dtype, device=device)
    y = xp.asarray(y_host, dtype=dtype, device=device)
    return _logistic_loss(X, y, alpha, xp=xp), xp.zeros(p + 1, dtype=dtype, device=device)


def _logistic_loss(X, y, alpha, *, xp):
    n = X.shape[0]

    def fun_and_grad(wb):
        w = wb[:-1]
        z = X @ w + wb[-1]
        f = xp.sum(xp.logaddexp(0.0, z) - y * z) / n + 0.5 * alpha * (w @ w)
        r = (1.0 / (1.0 + xp.exp(-z)) - y) / n
        return f, xp.concat([X.T @ r + alpha * w, xp.reshape(xp.sum(r), (1,))])

    return fun_and_grad


def _mlp(xp, device, dtype, seed=2):
    """A 5-8-3 tanh/softmax network: :func:`value_and_grad` on flat parameters packed as
    scikit-learn packs them (every weight matrix, then every bias)."""
    rng = np.random.default_rng(seed)
    shapes = [(5, 8), (8, 3)]
    X = xp.asarray(rng.normal(size=(60, 5)), dtype=dtype, device=device)
    Y = xp.asarray(np.eye(3)[rng.integers(0, 3, size=60)], dtype=dtype, device=device)
    sizes = [a * b for a, b in shapes] + [b for _, b in shapes]
    bounds = np.cumsum([0, *sizes])

    def fun_and_grad(flat):
        pieces = [flat[int(bounds[i]) : int(bounds[i + 1])] for i in range(len(sizes))]
        params = [(xp.reshape(pieces[i], shape), pieces[len(shapes) + i])
                  for i, shape in enumerate(shapes)]  # fmt: skip
        loss, grads = value_and_grad(
            params, X, Y, activation="tanh", out_activation="softmax", alpha=1e-3, xp=xp
        )
        flat_grads = [xp.reshape(gW, (-1,)) for gW, _ in grads] + [gb for _, gb in grads]
        return loss, xp.concat(flat_grads)

    x0 = rng.normal(size=int(bounds[-1])) * 0.5
    return fun_and_grad, xp.asarray(x0, dtype=dtype, device=device)


PROBLEMS = {
    "quadratic": _quadratic,
    "rosenbrock": _rosenbrock,
    "logistic": _logistic,
    "mlp": _mlp,
}
# Where the comparison in float64 stops: the MLP's loss is not convex, and over hundreds of
# iterations rounding decides which way the run goes; its first 40 agree.
LIMITS = {"mlp": 40}


def _scipy(make, **options):
    """SciPy's run on the NumPy version of a problem, and its iterates."""
    fun_and_grad, x0 = make(NP, "cpu", NP.float64)
    iterates = []
    options = {"maxiter": 15000, "maxfun": 15000, "gtol": 1e-5, **options}
    result = optimize.minimize(
        fun_and_grad, x0, jac=True, method="L-BFGS-B", options=options,
        callback=lambda intermediate_result: iterates.append(intermediate_result.x.copy()),
    )  # fmt: skip
    return result, iterates


def _ours(backend, make, dtype=None, **options):
    """Our run on ``backend``, and its iterates copied to the host."""
    fun_and_grad, x0 = make(backend.xp, backend.device, dtype or backend.float_dtype)
    iterates = []

    def record(n_iter, x, f):
        iterates.append(to_numpy(x))

    options = {"max_iter": 15000, "max_fun": 15000, "tol": 1e-5, **options}
    result = minimize_lbfgs(fun_and_grad, x0, xp=backend.xp, callback=record, **options)
    return result, iterates


def _relative_gap(a, b):
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_float64_iterates_counts_and_result_match_scipy(backend64, name):
    make, limit = PROBLEMS[name], LIMITS.get(name, 15000)
    theirs, their_iterates = _scipy(make, maxiter=limit)
    ours, our_iterates = _ours(backend64, make, max_iter=limit)
    backend64.assert_array(ours.x, shape=(theirs.x.shape[0],), dtype=backend64.float_dtype)
    backend64.assert_array(ours.grad, dtype=backend64.float_dtype)
    # Rounding (another summation order on torch/JAX, a two-loop recursion where SciPy uses
    # the compact form) grows along the run: 1e-10 over the first 10 iterates.
    for k, (a, b) in enumerate(zip(our_iterates[:10], their_iterates, strict=False)):
        assert _relative_gap(a, b) <= 1e-10, f"iterate {k + 1}"
    assert (ours.n_iter, ours.n_fev, ours.warnflag) == (theirs.nit, theirs.nfev, theirs.status)
    assert ours.message == theirs.message
    assert ours.success == (name != "mlp")
    assert len(ours.f_history) == ours.n_iter
    assert ours.f_history[-1] == ours.f
    # Rosenbrock ends near its minimum 0, where a relative figure says nothing.
    assert ours.f == pytest.approx(theirs.fun, rel=1e-8, abs=1e-12 if name == "rosenbrock" else 0)
    np.testing.assert_allclose(to_numpy(ours.x), theirs.x, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("memory", [1, 3])
def test_memory_and_ftol_are_scipys_maxcor_and_ftol(backend64, memory):
    theirs, their_iterates = _scipy(_logistic, maxcor=memory, ftol=1e-6)
    ours, our_iterates = _ours(backend64, _logistic, memory=memory, ftol=1e-6)
    assert (ours.n_iter, ours.n_fev, ours.status) == (theirs.nit, theirs.nfev, "ftol")
    for a, b in zip(our_iterates, their_iterates, strict=True):
        assert _relative_gap(a, b) <= 1e-10


def test_default_ftol_is_scipys():
    # SciPy documents ftol = factr * eps, and fmin_l_bfgs_b's factr defaults to 1e7.
    factr = inspect.signature(optimize.fmin_l_bfgs_b).parameters["factr"].default
    assert factr * np.finfo(np.float64).eps == FTOL


@pytest.mark.parametrize(("option", "theirs_option", "status"), [
    ({"max_iter": 3}, {"maxiter": 3}, "max_iter"),
    ({"max_fun": 4}, {"maxfun": 4}, "max_fun"),
    ({"max_iter": 1}, {"maxiter": 1}, "max_iter"),
])  # fmt: skip
@pytest.mark.parametrize("name", ["logistic", "rosenbrock"])
def test_limits_stop_where_scipy_stops(backend64, name, option, theirs_option, status):
    theirs, _ = _scipy(PROBLEMS[name], **theirs_option)
    ours, _ = _ours(backend64, PROBLEMS[name], **option)
    assert ours.status == status
    assert not ours.success
    assert (ours.n_iter, ours.n_fev, ours.warnflag) == (theirs.nit, theirs.nfev, theirs.status)
    assert ours.message == theirs.message
    backend64.assert_close(ours.x, theirs.x, rtol=1e-10, atol=1e-12)
    assert ours.f == pytest.approx(theirs.fun, rel=1e-12)
    assert len(ours.f_history) == ours.n_iter


def test_max_fun_is_checked_between_iterations_only(backend64):
    # The search that passes the limit finishes (SciPy: "interruptions due to maxfun are
    # postponed until the completion of the current minimization iteration").
    overshoots = 0
    for max_fun in range(1, 12):
        theirs, _ = _scipy(_rosenbrock, maxfun=max_fun)
        ours, _ = _ours(backend64, _rosenbrock, max_fun=max_fun)
        assert ours.status == "max_fun"
        assert ours.n_fev > max_fun
        assert (ours.n_iter, ours.n_fev) == (theirs.nit, theirs.nfev)
        overshoots += ours.n_fev > max_fun + 1
    assert overshoots > 0


def test_a_gradient_already_small_enough_takes_no_iteration(backend):
    fun_and_grad, x0 = _quadratic(backend.xp, backend.device, backend.float_dtype)
    ours = minimize_lbfgs(fun_and_grad, x0, xp=backend.xp, max_iter=10, max_fun=10, tol=1e3)
    assert (ours.status, ours.n_iter, ours.n_fev, ours.f_history) == ("gtol", 0, 1, ())
    assert ours.x is x0
    assert ours.success
    assert ours.warnflag == 0


def _wrong_gradient(xp):
    # The gradient's sign is flipped: every line search fails, and SciPy repeats a few
    # evaluations at points that round to the same x (counted once): nfev 18, not 21.
    return lambda x: (x @ x, -2.0 * x)


def _inconsistent_gradient(xp):
    # A gradient off by a factor and a shift: searches fail later, the memory is reset
    # (restart from -g) several times before the run ends.
    return lambda x: (xp.sum(x**4), 0.4 * x**3 + 1e-3)


@pytest.mark.parametrize("make", [_wrong_gradient, _inconsistent_gradient])
def test_failed_line_searches_restart_then_end_as_scipy(backend64, make):
    theirs = optimize.minimize(make(NP), np.ones(3), jac=True, method="L-BFGS-B")
    x0 = backend64.asarray(np.ones(3))
    ours = minimize_lbfgs(make(backend64.xp), x0, xp=backend64.xp, max_iter=15000,
                          max_fun=15000, tol=1e-5)  # fmt: skip
    assert ours.status == "line_search"
    assert ours.message == MESSAGES["line_search"]
    assert (ours.n_iter, ours.n_fev, ours.warnflag) == (theirs.nit, theirs.nfev, theirs.status)
    backend64.assert_close(ours.x, theirs.x, rtol=1e-12)  # the last iterate, kept
    assert ours.f == pytest.approx(theirs.fun, rel=1e-12)


def test_non_finite_value_stops_at_the_last_finite_iterate(backend):
    xp = backend.xp
    fun_and_grad, x0 = _logistic(xp, backend.device, backend.float_dtype)
    calls = []

    def poisoned(x):
        calls.append(1)
        f, g = fun_and_grad(x)
        return (f * math.nan, g) if len(calls) == 6 else (f, g)

    seen = []
    ours = minimize_lbfgs(poisoned, x0, xp=xp, max_iter=100, max_fun=100, tol=1e-5,
                          callback=lambda n, x, f: seen.append((x, f)))  # fmt: skip
    assert ours.status == "non_finite"
    assert ours.warnflag == 2
    assert not ours.success
    assert ours.n_fev == 6
    assert ours.n_iter == len(seen) == 4
    assert ours.x is seen[-1][0]
    assert ours.f == seen[-1][1]
    assert math.isfinite(ours.f)


def test_non_finite_gradient_at_the_start_stops_at_once(backend):
    xp = backend.xp
    x0 = backend.asarray(np.ones(4))
    ours = minimize_lbfgs(lambda x: (x @ x, x * math.inf), x0, xp=xp, max_iter=5, max_fun=5,
                          tol=1e-5)  # fmt: skip
    assert (ours.status, ours.n_iter, ours.n_fev) == ("non_finite", 0, 1)
    assert ours.x is x0


def test_a_callback_may_stop_the_run(backend64):
    theirs, _ = _scipy(_logistic)
    ours = minimize_lbfgs(*_logistic(backend64.xp, backend64.device, backend64.float_dtype),
                          xp=backend64.xp, max_iter=100, max_fun=100, tol=1e-5,
                          callback=lambda n, x, f: n == 2)  # fmt: skip
    assert (ours.status, ours.n_iter, ours.warnflag) == ("callback", 2, 2)
    assert ours.message == "STOP: CALLBACK REQUESTED HALT"
    assert theirs.nit > 2


def test_arguments_are_checked():
    fun_and_grad, x0 = _quadratic(NP, "cpu", NP.float64)
    with pytest.raises(ValueError, match="1-D"):
        minimize_lbfgs(fun_and_grad, NP.reshape(x0, (4, 5)), xp=NP, max_iter=1, max_fun=1,
                       tol=0.0)  # fmt: skip
    for bad in ({"max_iter": 0}, {"max_fun": 0}, {"memory": 0}, {"max_line_search": 0}):
        options = {"max_iter": 5, "max_fun": 5, "tol": 1e-5, **bad}
        with pytest.raises(ValueError, match=next(iter(bad))):
            minimize_lbfgs(fun_and_grad, x0, xp=NP, **options)


def test_read_only_input_is_never_written():
    fun_and_grad, x0 = _logistic(NP, "cpu", NP.float64)
    x0.flags.writeable = False
    before = x0.copy()
    assert minimize_lbfgs(fun_and_grad, x0, xp=NP, max_iter=50, max_fun=50, tol=1e-5).success
    np.testing.assert_array_equal(x0, before)


def test_a_compiled_function_gives_the_same_run(backend64):
    # On JAX the function may be jax.jit-compiled (compile_step: eager elsewhere).
    fun_and_grad, x0 = _logistic(backend64.xp, backend64.device, backend64.float_dtype)
    compiled = compile_step(fun_and_grad, xp=backend64.xp)
    eager = minimize_lbfgs(fun_and_grad, x0, xp=backend64.xp, max_iter=100, max_fun=100,
                           tol=1e-5)  # fmt: skip
    jitted = minimize_lbfgs(compiled, x0, xp=backend64.xp, max_iter=100, max_fun=100, tol=1e-5)
    assert (jitted.n_iter, jitted.n_fev, jitted.status) == (eager.n_iter, eager.n_fev, "gtol")
    backend64.assert_close(jitted.x, to_numpy(eager.x), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["quadratic", "logistic", "mlp"])
def test_float32_runs_in_float32_and_follows_scipy(backend, name):
    """float32 on every backend against SciPy in float64. Each value and gradient carries a
    relative error of a few float32 epsilons (6e-8), which the run amplifies: the first 5
    iterates agree to 1e-5 (measured: at most 1.1e-6). Near a minimum x is only known to
    that noise over the smallest curvature (1e-2 for the logistic loss: 3e-5 measured), but
    f is flat there: where SciPy's run ends, the convex problems' minimum agrees to 1e-5
    (measured: 2e-7). The MLP is compared over 10 iterations, its later path being
    rounding's choice."""
    make = PROBLEMS[name]
    limit = 10 if name == "mlp" else 15000
    theirs, their_iterates = _scipy(make, maxiter=limit)
    ours, our_iterates = _ours(backend, make, dtype=backend.xp.float32, max_iter=limit)
    backend.assert_array(ours.x, shape=(theirs.x.shape[0],), dtype=backend.xp.float32)
    backend.assert_array(ours.grad, dtype=backend.xp.float32)
    for k, (a, b) in enumerate(zip(our_iterates[:5], their_iterates, strict=False)):
        assert _relative_gap(a, b) <= 1e-5, f"iterate {k + 1}"
    assert ours.status in (("max_iter",) if name == "mlp" else ("gtol", "ftol"))
    assert ours.f == pytest.approx(theirs.fun, rel=1e-5)


def test_host_reads_per_iteration_are_the_documented_ones(host_reads):
    """On array-api-strict's device1: ``f0`` and ``max |g0|``; then per iteration ``g'd``
    (``d'd`` too in the first), two per evaluation (``f``, ``g'd``), one more in a line
    search that needs a second evaluation, and ``max |g|`` unless a limit stops it."""
    xp = pytest.importorskip("array_api_strict")
    device = xp.Device("device1")
    longest = 0
    for make, options in ((_rosenbrock, {"max_iter": 25}), (_logistic, {"max_iter": 100})):
        fun_and_grad, x0 = make(xp, device, xp.float64)
        evaluations: list[int] = []
        per_iteration: list[int] = []

        def counted(x, fun_and_grad=fun_and_grad, evaluations=evaluations):
            evaluations.append(1)
            return fun_and_grad(x)

        def record(n_iter, x, f, evaluations=evaluations, per_iteration=per_iteration):
            per_iteration.append(len(evaluations) - 1 - sum(per_iteration))

        host_reads["n"] = 0
        result = minimize_lbfgs(counted, x0, xp=xp, max_fun=1000, tol=1e-5, callback=record,
                                **options)  # fmt: skip
        reads = host_reads["n"]
        assert str(result.x.device) == str(device)
        expected = 2 + 1 + sum(1 + 2 * e + (e >= 2) + 1 for e in per_iteration)
        expected -= result.status == "max_iter"  # stopped by the limit: max |g| not read
        assert sum(per_iteration) == result.n_fev - 1
        assert reads == expected, (reads, expected, per_iteration)
        assert reads <= 3 + 5 * result.n_iter + 2 * result.n_fev
        longest = max(longest, *per_iteration)
    assert longest >= 2  # a search with several evaluations was counted


def test_result_fields_follow_scipy_names_used_by_scikit_learn():
    fun_and_grad, x0 = _logistic(NP, "cpu", NP.float64)
    result = minimize_lbfgs(fun_and_grad, x0, xp=NP, max_iter=2, max_fun=100, tol=1e-5)
    assert result._fields == ("x", "f", "grad", "n_iter", "n_fev", "f_history", "status",
                              "message", "warnflag")  # fmt: skip
    assert isinstance(result.f, float)
    assert all(isinstance(v, float) for v in result.f_history)
    assert set(MESSAGES) == {"gtol", "ftol", "max_iter", "max_fun", "callback", "line_search",
                             "non_finite"}  # fmt: skip


def test_scikit_learn_lbfgs_fit_is_reproduced(monkeypatch):
    """scikit-learn's own MLP loss and start, caught on their way to SciPy: the same
    iterations, evaluations, loss and weights, and the same ConvergenceWarning text."""
    mlp = pytest.importorskip("sklearn.neural_network")
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.utils.optimize import _check_optimize_result

    calls = []
    scipy_minimize = optimize.minimize

    def spy(fun, x0, **kwargs):
        calls.append((fun, x0.copy(), kwargs))
        result = scipy_minimize(fun, x0, **kwargs)
        calls[-1] += (result,)
        return result

    monkeypatch.setattr(optimize, "minimize", spy)
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(120, 6)), rng.integers(0, 3, size=120)
    for max_iter, x_gap in ((15, 1e-10), (200, 1e-6)):
        estimator = mlp.MLPClassifier((7,), solver="lbfgs", max_iter=max_iter, random_state=0)
        with warnings.catch_warnings(record=True) as theirs_warned:
            warnings.simplefilter("always", ConvergenceWarning)
            estimator.fit(X, y)
        fun, x0, kwargs, theirs = calls[-1]
        options, args = kwargs["options"], kwargs["args"]
        ours = minimize_lbfgs(_bound(fun, args), x0, xp=NP, max_iter=options["maxiter"],
                              max_fun=options["maxfun"], tol=options["gtol"])  # fmt: skip
        assert (ours.n_iter, ours.n_fev, ours.warnflag) == (theirs.nit, theirs.nfev, theirs.status)
        assert ours.n_iter == estimator.n_iter_
        # 15 iterations agree to rounding (measured 2e-15); over 200, rounding has grown (as
        # SciPy's own run moves when x0 moves by one ulp: 1e-8 measured) but the loss still
        # agrees to 1e-8 (3e-10 measured).
        assert ours.f == pytest.approx(estimator.loss_, rel=1e-8)
        assert _relative_gap(ours.x, theirs.x) <= x_gap
        with warnings.catch_warnings(record=True) as ours_warned:
            warnings.simplefilter("always", ConvergenceWarning)
            as_scipy = optimize.OptimizeResult(nit=ours.n_iter, status=ours.warnflag,
                                               message=ours.message)  # fmt: skip
            assert _check_optimize_result("lbfgs", as_scipy, max_iter) == estimator.n_iter_
        assert [str(w.message) for w in ours_warned] == [str(w.message) for w in theirs_warned]


def _bound(fun, args):
    return lambda x: fun(x, *args)
