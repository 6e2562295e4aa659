"""L-BFGS on the device: scikit-learn's ``solver="lbfgs"`` without SciPy.

:func:`minimize_lbfgs` follows, step for step, what ``scipy.optimize.minimize(fun, x0,
method="L-BFGS-B", jac=True, options={"maxiter": ..., "maxfun": ..., "gtol": ...})`` does
with no bounds (the call scikit-learn's MLPs make), so that the same problem from the same
``x0`` gives the same iterates, the same counts and the same stopping reason:

* the direction is ``-H g`` with ``H`` the limited-memory BFGS inverse Hessian of the last
  ``memory`` pairs ``(s, y)``, applied by Nocedal's (1980) two-loop recursion from
  ``H0 = (s'y / y'y) I`` of the newest pair; a pair whose curvature ``s'y`` is not above
  ``eps * (-g's)`` is skipped; with no pair yet the direction is ``-g``;
* the step satisfies the strong Wolfe conditions (``ftol=1e-3``, ``gtol=0.9``, ``xtol=0.1``),
  found by Moré & Thuente's (1994) search with at most 20 evaluations; the first iteration
  tries ``1 / ||g||``, every later one ``1``; a search that fails throws the memory away and
  restarts from ``-g`` (or, with an empty memory, ends the run);
* after each iteration: ``max_iter`` (iterations done ``>= max_iter``), then ``max_fun``
  (evaluations so far ``> max_fun``: a limit checked between iterations, so the last search
  may pass it), then ``max |g| <= tol``, then ``(f_old - f) <= ftol * max(|f_old|, |f|, 1)``.

Everything of size ``n`` stays on ``x0``'s device (``x``, gradients, pairs, directions; no
array is written in place, so JAX works); the line search runs on the host. Reads to the
host, each a ``float()`` or ``bool()`` of a 0-d array: ``f0`` and ``max |g0|`` at the start;
per iteration ``g'd`` (and ``d'd`` in the first), then ``f`` and ``g'd`` per evaluation,
``max |x| / max |d|`` in a search that needs a second one, ``max |g|`` at the end (not when
stopping by a limit or the callback). One ``bool`` more, only where two trial steps are too
close for rounding to tell apart, finds a repeated point, which (as SciPy) is not evaluated
again.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from ._namespace import Array, Namespace

__all__ = ["FTOL", "MESSAGES", "LBFGSResult", "minimize_lbfgs"]

FTOL = 2.220446049250313e-09
"""SciPy's default ``ftol`` for L-BFGS-B (``factr=1e7`` times the float64 epsilon)."""
_EPS = 2.220446049250313e-16  # float64 epsilon: the host's arithmetic, as SciPy's
_STEP_MAX = 1e10  # the longest step a line search may try
_WOLFE_F, _WOLFE_G, _WOLFE_X = 1e-3, 0.9, 0.1  # sufficient decrease, curvature, interval

MESSAGES = {
    "gtol": "CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL",
    "ftol": "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH",
    "max_iter": "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT",
    "max_fun": "STOP: TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT",
    "callback": "STOP: CALLBACK REQUESTED HALT",
    "line_search": "ABNORMAL_TERMINATION_IN_LNSRCH",
    "non_finite": "ABNORMAL: NON-FINITE FUNCTION VALUE OR GRADIENT",
}
"""Each ``status`` and its message (SciPy's text where SciPy has one)."""

FunAndGrad = Callable[[Array], tuple[Array, Array]]
Callback = Callable[[int, Array, float], bool | None]


class LBFGSResult(NamedTuple):
    """What :func:`minimize_lbfgs` found.

    ``x``, ``grad``: the final point and its gradient (device arrays, ``x0``'s namespace);
    ``f``: its value; ``n_iter``: iterations completed (SciPy's ``nit``); ``n_fev``:
    evaluations of ``fun_and_grad`` (SciPy's ``nfev``); ``f_history``: ``f`` after each
    iteration (``n_iter`` values); ``status``: a key of :data:`MESSAGES`; ``message``: its
    text; ``warnflag``: SciPy's ``status`` (0 converged, 1 a limit reached, 2 otherwise).
    """

    x: Array
    f: float
    grad: Array
    n_iter: int
    n_fev: int
    f_history: tuple[float, ...]
    status: str
    message: str
    warnflag: int

    @property
    def success(self) -> bool:
        """Whether it converged (by ``tol`` or by ``ftol``)."""
        return self.warnflag == 0


class _Point(NamedTuple):
    """A point of a line search: ``x`` and ``g`` on the device, ``f`` and the slope ``g'd``
    on the host, and the step that reached it."""

    x: Array
    g: Array
    fval: float
    slope: float
    step: float


class _Memory:
    """The last pairs ``(s, y, 1 / s'y)`` and ``H0``'s scale ``s'y / y'y`` (a device scalar)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.pairs: list[tuple[Array, Array, float]] = []
        self.scale: Array = None

    def direction(self, g: Array) -> Array:
        """``H g`` by the two-loop recursion (Nocedal 1980)."""
        q = g
        alphas = []
        for s, y, rho in reversed(self.pairs):
            alpha = rho * (s @ q)
            alphas.append(alpha)
            q = q - alpha * y
        r = self.scale * q
        for (s, y, rho), alpha in zip(self.pairs, reversed(alphas), strict=True):
            r = r + (alpha - rho * (y @ r)) * s
        return r

    def add(self, s: Array, y: Array, sy: float) -> None:
        self.pairs = [*self.pairs, (s, y, 1.0 / sy)][-self.size :]
        self.scale = sy / (y @ y)


def minimize_lbfgs(
    fun_and_grad: FunAndGrad,
    x0: Array,
    *,
    xp: Namespace,
    max_iter: int,
    max_fun: int,
    tol: float,
    memory: int = 10,
    ftol: float = FTOL,
    max_line_search: int = 20,
    callback: Callback | None = None,
) -> LBFGSResult:
    """Minimise ``f`` from ``x0`` by L-BFGS, as SciPy's L-BFGS-B without bounds.

    Parameters
    ----------
    fun_and_grad : callable
        ``fun_and_grad(x) -> (f, g)``: a 0-d array (or a float) and an array like ``x``.
    x0 : 1-D floating array
        The start; every iterate is an array of its namespace, dtype and device.
    max_iter, max_fun : int
        SciPy's ``maxiter`` and ``maxfun`` (each at least 1).
    tol : float
        SciPy's ``gtol``: stop once ``max |g| <= tol``.
    memory : int
        SciPy's ``maxcor``: how many pairs approximate the inverse Hessian.
    ftol : float
        Stop once ``(f_old - f) / max(|f_old|, |f|, 1) <= ftol``.
    max_line_search : int
        SciPy's ``maxls``: evaluations a line search may take.
    callback : callable, optional
        ``callback(n_iter, x, f)`` after each iteration; a true result stops the run.

    Returns
    -------
    LBFGSResult
        A non-finite ``f`` or ``g`` ends the run (status ``"non_finite"``) at the last
        finite iterate.
    """
    if getattr(x0, "ndim", None) != 1:
        raise ValueError("x0 must be a 1-D array.")
    for name, value in (("max_iter", max_iter), ("max_fun", max_fun), ("memory", memory),
                        ("max_line_search", max_line_search)):  # fmt: skip
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value!r}.")
    factr = ftol / _EPS  # SciPy takes ftol as factr = ftol / eps, then multiplies back
    run = _Run(fun_and_grad, xp, max_iter, max_fun, tol, factr * _EPS, max_line_search, callback)
    return run.solve(x0, _Memory(memory))


@dataclass
class _Run:
    """One minimisation: its settings, its counters, its loop."""

    fun_and_grad: FunAndGrad
    xp: Namespace
    max_iter: int
    max_fun: int
    tol: float
    ftol: float
    max_line_search: int
    callback: Callback | None
    n_fev: int = 0
    n_iter: int = 0
    history: list[float] = field(default_factory=list)

    def evaluate(self, x: Array) -> tuple[Array, Array]:
        self.n_fev += 1
        return self.fun_and_grad(x)

    def result(self, x: Array, f: float, g: Array, status: str) -> LBFGSResult:
        limit = self.n_fev > self.max_fun or self.n_iter >= self.max_iter
        warnflag = 0 if status in ("gtol", "ftol") else 1 if limit else 2
        return LBFGSResult(x, f, g, self.n_iter, self.n_fev, tuple(self.history), status,
                           MESSAGES[status], warnflag)  # fmt: skip

    def solve(self, x: Array, memory: _Memory) -> LBFGSResult:
        xp = self.xp
        f, g = self.evaluate(x)
        fval, gmax = float(f), float(xp.max(xp.abs(g)))
        if not (math.isfinite(fval) and math.isfinite(gmax)):
            return self.result(x, fval, g, "non_finite")
        if gmax <= self.tol:
            return self.result(x, fval, g, "gtol")
        eps = float(xp.finfo(x.dtype).eps)
        while True:
            # With an empty memory, steepest descent: SciPy's Cauchy point x - g.
            z = x - (memory.direction(g) if memory.pairs else g)
            d = z - x  # as SciPy: the step to the point, from which trials are measured
            slope = float(g @ d)
            step = 1.0
            if not self.history:  # the first search tries a step of length 1
                step = min(1.0 / max(math.sqrt(float(d @ d)), 1e-300), _STEP_MAX)
            new, failure = None, "line_search"
            if slope < 0:  # else not a descent direction (rounding): a failed search
                new, failure = self.line_search(x, fval, d, z, step, slope, eps)
            if new is None:
                if failure == "non_finite" or not memory.pairs:
                    return self.result(x, fval, g, failure)
                memory.pairs = []  # forget the curvature, start again from -g
                continue
            status = self.after_iteration(new, fval)
            if status is not None:
                return self.result(new.x, new.fval, new.g, status)
            _update(memory, new, d, g, slope)
            x, fval, g = new.x, new.fval, new.g

    def after_iteration(self, new: _Point, fold: float) -> str | None:
        """Count the iteration, then SciPy's tests in SciPy's order."""
        self.n_iter += 1
        self.history.append(new.fval)
        status = None
        if self.callback is not None and self.callback(self.n_iter, new.x, new.fval):
            status = "callback"
        if self.n_iter >= self.max_iter:
            status = "max_iter"
        elif self.n_fev > self.max_fun:
            status = "max_fun"
        if status is not None:
            return status
        if float(self.xp.max(self.xp.abs(new.g))) <= self.tol:
            return "gtol"
        if fold - new.fval <= self.ftol * max(abs(fold), abs(new.fval), 1.0):
            return "ftol"
        return None

    def line_search(
        self, x: Array, fval: float, d: Array, z: Array, step: float, slope: float, eps: float
    ) -> tuple[_Point | None, str]:
        """A step from ``x`` along ``d`` that satisfies the strong Wolfe conditions (the
        point at step 1 is ``z``), or ``None`` and why not."""
        xp = self.xp
        search = _MoreThuente(fval, slope, step)
        last: _Point | None = None
        spread = math.nan  # max |x| / max |d|, read once a second trial is needed
        for _ in range(self.max_line_search):
            x_new = z if step == 1.0 else x + step * d
            if last is not None and math.isnan(spread):
                spread = float(xp.max(xp.abs(x)) / xp.max(xp.abs(d)))  # d != 0: g'd < 0
            if last is not None and _same_point(x_new, step, last, spread, eps, xp=xp):
                point = last._replace(x=x_new, step=step)  # as SciPy: a repeat is not evaluated
            else:
                f, g = self.evaluate(x_new)
                point = _Point(x_new, g, float(f), float(g @ d), step)
                if not (math.isfinite(point.fval) and math.isfinite(point.slope)):
                    return None, "non_finite"
            if search.accepts(step, point.fval, point.slope):
                return point, ""
            step = search.next_step(step, point.fval, point.slope)
            last = point
        return None, "line_search"


def _same_point(
    x: Array, step: float, last: _Point, spread: float, eps: float, *, xp: Namespace
) -> bool:
    """Whether the trial ``x`` (at ``step``) is the last one. Read from the device only where
    it may be (``spread = max |x| / max |d|``): where the two moves differ along the largest
    ``|d_i|`` by no more than a few roundings of the largest coordinate."""
    if step == last.step:
        return True
    if abs(step - last.step) > 4.0 * eps * (spread + max(step, last.step)):
        return False
    return bool(xp.all(x == last.x))


def _update(memory: _Memory, new: _Point, d: Array, g: Array, slope: float) -> None:
    """Add the iteration's pair ``s = step d``, ``y = g_new - g`` unless its curvature
    ``s'y`` (from the two slopes, as SciPy) is not above ``eps * (-g's)``."""
    if new.step == 1.0:
        sy, descent, s = new.slope - slope, -slope, d
    else:
        sy, descent, s = (new.slope - slope) * new.step, -slope * new.step, new.step * d
    if sy > _EPS * descent:
        memory.add(s, new.g - g, sy)


class _MoreThuente:
    """Moré & Thuente's (1994) line search on the host, one trial step at a time.

    The search keeps the best step so far ``l`` and the other end ``u`` of the interval
    (each ``(step, f, f')``); until a minimiser is bracketed, trials may only grow within
    ``[lo, hi]`` (1.1 to 4 times the last move). While ``f`` has not yet dropped below the
    sufficient-decrease line with ``f' >= 0`` (stage 1), the steps are chosen on the
    auxiliary ``psi(a) = f(a) - f(0) - ftol a f'(0)`` wherever that helps.
    """

    def __init__(self, f0: float, g0: float, step: float) -> None:
        self.f0, self.g0, self.gtest = f0, g0, _WOLFE_F * g0
        self.low: tuple[float, float, float] = (0.0, f0, g0)
        self.high = self.low
        self.bracketed, self.stage1 = False, True
        self.lo, self.hi = 0.0, step + 4.0 * step
        self.width, self.width1 = _STEP_MAX, 2.0 * _STEP_MAX

    def accepts(self, step: float, f: float, g: float) -> bool:
        """Whether ``step`` ends the search: the strong Wolfe conditions hold, or no
        further progress is possible (then the search still ends at ``step``)."""
        ftest = self.f0 + step * self.gtest
        if self.stage1 and f <= ftest and g >= 0.0:
            self.stage1 = False
        if f <= ftest and abs(g) <= _WOLFE_G * -self.g0:
            return True
        if self.bracketed and (step <= self.lo or step >= self.hi):
            return True  # rounding errors prevent progress
        if self.bracketed and self.hi - self.lo <= _WOLFE_X * self.hi:
            return True  # the interval is small enough
        if step == _STEP_MAX and f <= ftest and g <= self.gtest:
            return True
        return step == 0.0 and (f > ftest or g >= self.gtest)

    def next_step(self, step: float, f: float, g: float) -> float:
        """The next trial step after ``(step, f, g)`` did not end the search."""
        # In stage 1, while f is lower but not below the Wolfe line, choose on psi: values
        # and slopes less the line's.
        modified = self.stage1 and f <= self.low[1] and f > self.f0 + step * self.gtest
        shift = self.gtest if modified else 0.0
        low, high, trial = (_shifted(p, -shift) for p in (self.low, self.high, (step, f, g)))
        new, low, high, self.bracketed = _choose(low, trial, high, self.bracketed,
                                                 self.lo, self.hi)  # fmt: skip
        self.low, self.high = _shifted(low, shift), _shifted(high, shift)
        a_low, a_high = self.low[0], self.high[0]
        if self.bracketed:
            if abs(a_high - a_low) >= 0.66 * self.width1:  # too slow: bisect
                new = a_low + 0.5 * (a_high - a_low)
            self.width1, self.width = self.width, abs(a_high - a_low)
            self.lo, self.hi = min(a_low, a_high), max(a_low, a_high)
        else:
            self.lo, self.hi = new + 1.1 * (new - a_low), new + 4.0 * (new - a_low)
        new = min(max(new, 0.0), _STEP_MAX)
        if self.bracketed and (
            new <= self.lo or new >= self.hi or self.hi - self.lo <= _WOLFE_X * self.hi
        ):
            new = a_low  # no progress possible: end on the best step found
        return new


_Triple = tuple[float, float, float]


def _shifted(p: _Triple, slope: float) -> _Triple:
    """``(a, f, g)`` with the line of that slope added: ``(a, f + a slope, g + slope)``."""
    return (p[0], p[1] + p[0] * slope, p[2] + slope)


def _choose(
    low: _Triple, trial: _Triple, high: _Triple, bracketed: bool, lo: float, hi: float
) -> tuple[float, _Triple, _Triple, bool]:
    """Moré & Thuente's trial value selection (their Section 4, four cases): the next
    step, the new best and other ends, and whether a minimiser is now bracketed."""
    al, fl, gl = low
    at, ft, gt = trial
    opposite = (gt < 0.0 < gl) or (gl < 0.0 < gt)
    if ft > fl:  # 1: higher value; the cubic's or halfway to the quadratic's minimiser
        cubic = _cubic(low, trial)
        quad = al + _div(gl, _div(fl - ft, at - al) + gl) / 2.0 * (at - al)
        new = cubic if abs(cubic - al) < abs(quad - al) else cubic + (quad - cubic) / 2.0
        bracketed = True
    elif opposite:  # 2: slopes of opposite sign; the farther of cubic and secant
        cubic, secant = _cubic(trial, low), at + _div(gt, gt - gl) * (al - at)
        new = cubic if abs(cubic - at) > abs(secant - at) else secant
        bracketed = True
    elif abs(gt) < abs(gl):  # 3: same sign, the slope shrinks
        new = _shrinking_slope(low, trial, high, bracketed, lo, hi)
    elif bracketed:  # 4: same sign, the slope does not shrink
        new = _cubic(trial, high)
    else:
        new = hi if at > al else lo
    if ft > fl:
        high = trial
    else:
        high, low = (low if opposite else high), trial
    return new, low, high, bracketed


def _shrinking_slope(
    low: _Triple, trial: _Triple, high: _Triple, bracketed: bool, lo: float, hi: float
) -> float:
    """Case 3: the cubic's minimiser where it lies beyond the trial (else the far bound),
    or the secant's: the nearer one inside a bracket (moved at most 0.66 of the way to
    its other end), else the farther one within ``[lo, hi]``."""
    al, _, gl = low
    at, _, gt = trial
    ratio, gamma = _cubic_ratio(trial, low)
    beyond = ratio < 0.0 and gamma != 0.0  # else the cubic has no minimiser beyond the trial
    cubic = at + ratio * (al - at) if beyond else (hi if at > al else lo)
    secant = at + _div(gt, gt - gl) * (al - at)
    if bracketed:
        new = cubic if abs(cubic - at) < abs(secant - at) else secant
        limit = at + 0.66 * (high[0] - at)
        return min(limit, new) if at > al else max(limit, new)
    new = cubic if abs(cubic - at) > abs(secant - at) else secant
    return max(lo, min(hi, new))


def _cubic(a: _Triple, b: _Triple) -> float:
    """The minimiser of the cubic through the values and slopes at ``a`` and ``b``."""
    ratio, _ = _cubic_ratio(a, b)
    return a[0] + ratio * (b[0] - a[0])


def _cubic_ratio(a: _Triple, b: _Triple) -> tuple[float, float]:
    """That minimiser as ``a + ratio (b - a)``, and the square root of the cubic's
    discriminant (0 where the cubic has no minimiser), computed from ``a``'s side."""
    (sa, fa, ga), (sb, fb, gb) = a, b
    theta = 3.0 * _div(fa - fb, sb - sa) + ga + gb
    scale = max(abs(theta), abs(ga), abs(gb))
    if scale == 0.0 or not math.isfinite(scale):
        return math.nan, 0.0
    discriminant = (theta / scale) ** 2 - (ga / scale) * (gb / scale)
    gamma = scale * math.sqrt(max(discriminant, 0.0))
    if sb < sa:
        gamma = -gamma
    return _div((gamma - ga) + theta, ((gamma - ga) + gamma) + gb), gamma


def _div(p: float, q: float) -> float:
    """``p / q``, IEEE's infinity or NaN where ``q == 0``."""
    if q != 0.0:
        return p / q
    if p == 0.0 or math.isnan(p):
        return math.nan
    return math.copysign(math.inf, p) * math.copysign(1.0, q)
