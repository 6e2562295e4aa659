"""The one place that talks to array-api-compat.

Every public entry point resolves ``(xp, device)`` here once, from the arrays it was given,
and passes both down; the math modules never import an array library.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import array_api_compat
import numpy as np

Array = Any
"""An array of any namespace that follows the array API standard."""
Namespace = Any
"""An array API namespace, as returned by :func:`get_namespace`."""
Device = Any
"""A device object of some namespace."""
HostArray = np.ndarray[Any, Any]
"""A NumPy array on the host (checkpoint members, labels)."""

__all__ = [
    "Array",
    "Device",
    "Fuser",
    "HostArray",
    "Namespace",
    "argmax_rows",
    "compile_step",
    "default_float_dtype",
    "default_int_dtype",
    "detached",
    "device_dtype",
    "fused",
    "fuser_for",
    "fuses",
    "get_namespace",
    "host_dtype",
    "index_array",
    "is_array",
    "is_sparse",
    "is_writeable",
    "namespace_name",
    "namespace_of",
    "numpy_dtype",
    "numpy_ones_like",
    "on_gpu",
    "to_numpy",
]


def is_array(obj: object) -> bool:
    """Whether ``obj`` is an array of a namespace array-api-compat knows (not a NumPy scalar)."""
    return bool(array_api_compat.is_array_api_obj(obj)) and not isinstance(obj, np.generic)


def is_sparse(obj: object) -> bool:
    """Whether ``obj`` is a SciPy or ``cupyx.scipy.sparse`` sparse matrix or array (without
    importing either)."""
    module = type(obj).__module__
    return module.startswith(("scipy.sparse", "cupyx.scipy.sparse")) and hasattr(obj, "tocsr")


def _values(sparse: Any) -> Array:
    """The array of a sparse matrix's stored values (SciPy's DOK format has none: NumPy's)."""
    values = getattr(sparse, "data", None)
    return values if is_array(values) else np.empty(0)


def namespace_name(xp: Namespace) -> str:
    """A short, user-facing name for a namespace: ``numpy``, ``torch``, ``array_api_strict``..."""
    name: str = xp.__name__
    return name.removeprefix("array_api_compat.").removesuffix(".numpy")


def get_namespace(**arrays: Array | None) -> tuple[Namespace, Device]:
    """Return the array namespace and device shared by the given arrays.

    Arguments are named so that errors can name them: ``get_namespace(X=X, y=y)``.
    ``None`` and objects that are not arrays (Python lists, scalars) take no part; with no
    array at all the namespace is NumPy's (through array-api-compat) on the CPU.

    Raises
    ------
    TypeError
        If the arrays belong to different namespaces.
    ValueError
        If the arrays live on different devices.
    """
    # A sparse matrix (SciPy's, cupyx's) takes part through its values' array.
    arrays = {name: _values(a) if is_sparse(a) else a for name, a in arrays.items()}
    found = [(name, a) for name, a in arrays.items() if a is not None and is_array(a)]
    if not found:
        return array_api_compat.array_namespace(np.empty(0)), "cpu"
    first_name, first = found[0]
    xp = array_api_compat.array_namespace(first)
    device = array_api_compat.device(first)
    for name, a in found[1:]:
        other = array_api_compat.array_namespace(a)
        if other is not xp:
            raise TypeError(
                f"{first_name} is a {namespace_name(xp)} array but {name} is a "
                f"{namespace_name(other)} array; pass arrays of one namespace "
                f"(convert {name} with {namespace_name(xp)}.asarray first)."
            )
        other_device = array_api_compat.device(a)
        if other_device != device:
            raise ValueError(
                f"{first_name} is on device {device!r} but {name} is on device "
                f"{other_device!r}; move them to one device first."
            )
    return xp, device


def is_writeable(a: Array) -> bool:
    """Whether ``a`` may be updated in place (NumPy, CuPy, PyTorch: yes; JAX: no)."""
    return bool(array_api_compat.is_writeable_array(a))


def detached(a: Array) -> Array:
    """``a`` without its autograd graph: a PyTorch tensor that requires grad is detached
    (sharing its memory); every other array is returned as it is."""
    if array_api_compat.is_torch_array(a) and a.requires_grad:
        return a.detach()
    return a


def device_dtype(host: np.dtype[Any], xp: Namespace, device: Device) -> Any:
    """The dtype of ``xp`` on ``device`` for host values of dtype ``host``: the same where
    the device has it, else the device's default of that kind (int32 on a device without
    int64, float32 without float64)."""
    info = xp.__array_namespace_info__()
    available = info.dtypes(device=device)
    if host.name in available:
        return available[host.name]
    kind = "real floating" if host.kind == "f" else "integral"
    return info.default_dtypes(device=device)[kind]


def on_gpu(xp: Namespace, device: Device) -> bool:
    """Whether arrays of ``xp`` on ``device`` live on a CUDA GPU driven call by call (CuPy,
    torch on CUDA): each operation is a kernel launch the host pays for. JAX compiles."""
    if array_api_compat.is_cupy_namespace(xp):
        return True
    return bool(array_api_compat.is_torch_namespace(xp)) and getattr(device, "type", None) == "cuda"


def index_array(indices: np.ndarray[Any, Any], xp: Namespace, device: Device) -> Array:
    """Host row indices moved to ``device`` in its indexing dtype (int32 on a device
    without int64). To a CUDA device, torch copies from pinned memory without waiting: a
    copy from pageable memory would make the host wait for the GPU once an epoch."""
    index = xp.__array_namespace_info__().default_dtypes(device=device)["indexing"]
    host = indices.astype(numpy_dtype(index), copy=False)
    if on_gpu(xp, device) and array_api_compat.is_torch_namespace(xp):
        import torch

        pinned = torch.from_numpy(np.ascontiguousarray(host)).pin_memory()
        return pinned.to(device, non_blocking=True)
    return xp.asarray(host, device=device)


def constant(value: float, like: Array, *, xp: Namespace) -> Array | float:
    """``value`` to pass beside ``like`` to a function of ``xp`` (``maximum``, ``where``...).

    With torch, a 0-d tensor of ``like``'s dtype filled on its device: array-api-compat's
    wrapper would copy a Python number there from the host at every call, a copy a CUDA
    graph cannot record. Elsewhere the number itself (the same values either way)."""
    if array_api_compat.is_torch_namespace(xp):
        return xp.full((), value, dtype=like.dtype, device=like.device)
    return value


def argmax_rows(x: Array, *, xp: Namespace, device: Device) -> Array:
    """``argmax(x, axis=1)`` in the device's indexing dtype.

    Where that dtype is int64 this is ``xp.argmax``. Elsewhere (a device without int64,
    JAX without x64) the first maximum's column is found by comparisons, since some
    namespaces' ``argmax`` returns int64 there regardless.
    """
    index = xp.__array_namespace_info__().default_dtypes(device=device)["indexing"]
    if numpy_dtype(index) == np.int64:
        return xp.argmax(x, axis=1)
    columns = xp.arange(x.shape[1], dtype=index, device=device)
    at_max = x == xp.max(x, axis=1, keepdims=True)
    return xp.min(xp.where(at_max, columns, x.shape[1]), axis=1)


def numpy_dtype(dtype: Any) -> np.dtype[Any]:
    """The NumPy dtype of the same name as ``dtype`` of any namespace (``torch.int32``...)."""
    if isinstance(dtype, type | np.dtype):  # NumPy's and JAX's own scalar types and dtypes
        return np.dtype(dtype)
    return np.dtype(str(dtype).rpartition(".")[2])  # torch.int32, array_api_strict.int32


def namespace_of(module: Any) -> Namespace:
    """The array API namespace of an array library given as a module (``torch``, ``cupy``,
    ``numpy``, ``jax.numpy``, ``array_api_strict``) or as a namespace already."""
    try:
        return array_api_compat.array_namespace(module.asarray(0.0))
    except (AttributeError, TypeError) as exc:
        raise TypeError(f"{module!r} is not an array library with an asarray function.") from exc


def default_float_dtype(xp: Namespace, device: Device) -> Any:
    """The namespace's default real floating dtype on ``device`` (float32 where no float64)."""
    info = getattr(xp, "__array_namespace_info__", None)
    if info is not None:
        try:
            return info().default_dtypes(device=device)["real floating"]
        except (TypeError, ValueError, KeyError):  # pragma: no cover - old namespaces
            pass
    return xp.asarray(0.0, device=device).dtype  # pragma: no cover


def default_int_dtype(xp: Namespace, device: Device) -> Any:
    """The namespace's default integer dtype on ``device``."""
    return xp.__array_namespace_info__().default_dtypes(device=device)["integral"]


def host_dtype(dtype: Any, xp: Namespace) -> type[np.floating[Any]]:
    """The NumPy floating type that matches ``dtype`` of namespace ``xp``."""
    for candidate in (np.float64, np.float32, np.float16):
        if dtype == getattr(xp, candidate.__name__, None):
            return candidate
    raise TypeError(f"{dtype} is not a real floating dtype that xperceptron supports.")


def to_numpy(a: Array) -> np.ndarray[Any, Any]:
    """Copy ``a`` to a NumPy array on the host.

    Only for what must be on the host: labels at fit time, figures read once per epoch.
    """
    if isinstance(a, (np.ndarray, np.generic)):  # NumPy reductions return scalars
        return np.asarray(a)
    if array_api_compat.is_cupy_array(a):
        return np.asarray(a.get())
    if array_api_compat.is_torch_array(a):
        return np.asarray(a.detach().cpu().numpy())
    if array_api_compat.is_jax_array(a):
        return np.asarray(a)
    # Other CPU namespaces (array-api-strict, ...) export through DLPack.
    return np.from_dlpack(a)


def numpy_ones_like(a: Array, shape: tuple[int, ...]) -> np.ndarray[Any, Any] | None:
    """A fresh ones array of ``shape`` and ``a``'s dtype where ``a`` is a NumPy array (for
    sums as BLAS products), else ``None``. NumPy's own ``ones`` directly: this is asked per
    layer and per batch, and the wrapped namespace's costs twice as much."""
    return np.ones(shape, dtype=a.dtype) if isinstance(a, np.ndarray) else None


def compile_step(
    fn: Any,
    *,
    xp: Namespace,
    static_argnames: tuple[str, ...] = (),
    donate_argnums: tuple[int, ...] = (),
) -> Any:
    """``fn`` compiled with ``jax.jit`` where ``xp`` is JAX's namespace (one compilation per
    input shapes and static arguments, shared by every wrapper of the same ``fn``), else
    ``fn`` itself: other namespaces run eagerly. ``donate_argnums``: arguments whose buffers
    the compiled function may reuse for its outputs (the caller must not use them again)."""
    if not array_api_compat.is_jax_namespace(xp):
        return fn
    import jax

    return jax.jit(fn, static_argnames=static_argnames, donate_argnums=donate_argnums)


Fuser = Callable[[Callable[..., Any], str], Callable[..., Any]]
"""``(function, name) -> kernel``: how a namespace makes one kernel of an element-wise
function of its arrays."""


def fuser_for(xp: Namespace) -> Fuser | None:
    """How ``xp`` fuses element-wise functions into one kernel (CuPy: ``cupy.fuse``), or
    ``None`` where it does not (NumPy, PyTorch, array-api-strict; JAX's ``jit`` fuses its
    whole compiled step already)."""
    return _cupy_fuse if array_api_compat.is_cupy_namespace(xp) else None


def _cupy_fuse(function: Callable[..., Any], name: str) -> Callable[..., Any]:
    import cupy

    return cupy.fuse(kernel_name=name)(function)  # type: ignore[no-any-return]


def fuses(xp: Namespace) -> bool:
    """Whether :func:`fused` makes one kernel of a function on ``xp``'s arrays."""
    return fuser_for(xp) is not None


def fused(fn: Callable[..., Any], *, xp: Namespace, **static: Any) -> Callable[..., Any]:
    """``fn(*arrays, xp=xp, **static)``, an element-wise function of its arrays, as one
    kernel where the namespace can fuse one (:func:`fuser_for`; made once per ``fn`` and
    ``static``); elsewhere ``fn`` itself, called as written.

    On a GPU each call of a small step is bound by its launch: a ReLU layer's bias, mask and
    product are one launch instead of four. The math stays ``fn``, written once: it may use
    operators, the standard's element-wise functions and ``astype``, with Python numbers
    (``static`` for the options); no reductions, shapes, indexing or new arrays. A kernel
    runs ``fn``'s float operations in their order, through the same math functions (``exp``,
    ``log``) as the namespace's own kernels, so its results equal ``fn``'s bit for bit unless
    the GPU's compiler contracts a product and a sum across them into one rounding. The
    functions fused here write no product followed by a sum; ``tests/test_fusion.py`` checks
    the trained model bit for bit on the GPU.
    """
    fuser = fuser_for(xp)
    if fuser is None:
        return functools.partial(fn, xp=xp, **static)
    return _kernel(fuser, fn, xp, tuple(sorted(static.items())))


@functools.cache
def _kernel(
    fuser: Fuser, fn: Callable[..., Any], xp: Namespace, static: tuple[tuple[str, Any], ...]
) -> Callable[..., Any]:
    options = dict(static)

    def kernel(*arrays: Any) -> Any:
        return fn(*arrays, xp=xp, **options)

    name = "_".join(["xperceptron", fn.__name__.strip("_"), *(str(v) for _, v in static)])
    return fuser(kernel, re.sub(r"\W", "_", name))
