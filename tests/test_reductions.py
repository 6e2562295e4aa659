"""Sums along one axis: right values for every shape, dtype and device, and no state kept."""

from __future__ import annotations

import array_api_compat
import numpy as np

from xperceptron import _reductions
from xperceptron._namespace import to_numpy
from xperceptron._reductions import column_sums, row_sums


def test_sums_match_xp_sum_whatever_came_before(backend):
    # Shapes repeat and alternate: nothing from one call may serve another shape; the
    # numbers are those of the namespace's own sum.
    rng = np.random.default_rng(0)
    xp = backend.xp
    for shape in [(5, 3), (4, 3), (5, 3), (3, 5), (1, 1), (5, 3)]:
        host = rng.normal(size=shape)
        a = backend.asarray(host)
        columns, rows = column_sums(a, xp=xp), row_sums(a, xp=xp)
        backend.assert_array(columns, shape=(shape[1],), dtype=backend.float_dtype)
        backend.assert_array(rows, shape=(shape[0], 1), dtype=backend.float_dtype)
        eps = float(np.finfo(np.dtype(str(to_numpy(a).dtype))).eps)
        tolerance = 4 * eps * max(shape)  # a sum of n terms: rounding grows with n
        backend.assert_close(columns, host.sum(axis=0), rtol=tolerance, atol=tolerance)
        backend.assert_close(rows, host.sum(axis=1, keepdims=True), rtol=tolerance, atol=tolerance)


def test_a_dtype_change_at_the_same_shape_gets_its_own_ones():
    xp = array_api_compat.array_namespace(np.empty(0))
    values = np.arange(6.0).reshape(3, 2)
    for dtype in (np.float64, np.float32, np.float64):
        result = column_sums(values.astype(dtype), xp=xp)
        assert result.dtype == dtype
        np.testing.assert_array_equal(result, [6.0, 9.0])


def test_the_module_keeps_no_state():
    # Pure functions only (jax.jit, grad and vmap trace through them; no tracer is kept).
    xp = array_api_compat.array_namespace(np.empty(0))
    before = {name: value for name, value in vars(_reductions).items() if not name.startswith("__")}
    for n in range(1, 40):
        np.testing.assert_array_equal(column_sums(np.ones((n, 2)), xp=xp), [n, n])
    after = {name: value for name, value in vars(_reductions).items() if not name.startswith("__")}
    assert after.keys() == before.keys()
    mutable = [n for n, v in after.items() if isinstance(v, dict | list | set)]
    assert mutable == [], f"module-level containers: {mutable}"
