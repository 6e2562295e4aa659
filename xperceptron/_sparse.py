"""Sparse ``X``: SciPy's sparse matrices and arrays on NumPy, ``cupyx.scipy.sparse`` on CuPy.

A sparse ``X`` is checked once and never densified whole. Each batch is a selection of its
rows (CSR), and the network only multiplies it: ``X @ W`` forward and ``X.T @ delta``
backward. Both libraries compute these products from the sparse rows straight into dense
results, so the math modules take sparse batches unchanged. CSC and the other formats become
CSR once, in O(nnz), as scikit-learn converts them.
"""

from __future__ import annotations

from typing import Any

from ._namespace import Array, Device, Namespace, default_float_dtype, is_sparse

__all__ = ["check_sparse_X", "row_slice", "take_rows"]


def check_sparse_X(X: Any, *, xp: Namespace, device: Device, name: str, dtype: Any) -> Any:
    """``X`` as a CSR matrix of a real floating dtype (``dtype`` where given; float32 and
    float64 kept, integers and booleans as the default float), checked as
    :func:`xperceptron._validation.check_X` checks a dense one."""
    shape = tuple(X.shape)
    if len(shape) != 2:
        raise ValueError(f"{name} must be 2-D of shape (n_samples, n_features), got shape {shape}.")
    for count, what in zip(shape, ("sample", "feature"), strict=True):
        if count < 1:
            raise ValueError(
                f"{name} has 0 {what}(s) (shape={shape}) while a minimum of 1 is required."
            )
    kind = X.dtype.kind
    if kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {X.dtype}.")
    if kind not in "biuf":
        raise TypeError(f"{name} has dtype {X.dtype}; expected real numbers (bool, int or float).")
    if dtype is None:
        wide = kind == "f" and X.dtype.itemsize in (4, 8)  # float32, float64 (not longdouble)
        dtype = X.dtype if wide else default_float_dtype(xp, device)
    X = X.tocsr()
    if X.dtype != dtype:
        X = X.astype(dtype)
    if not bool(xp.all(xp.isfinite(X.data))):
        raise ValueError(f"{name} contains NaN or infinity; remove or impute those values.")
    return X


def take_rows(a: Any, rows: Array, *, xp: Namespace) -> Any:
    """The rows ``rows`` of ``a``: a dense array of ``xp`` or a CSR matrix."""
    return a[rows] if is_sparse(a) else xp.take(a, rows, axis=0)


def row_slice(a: Any, start: int, stop: int) -> Any:
    """Rows ``start:stop`` of ``a``: a dense array or a CSR matrix."""
    return a[start:stop] if is_sparse(a) else a[start:stop, ...]
