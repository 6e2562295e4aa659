"""Class labels: found once on the host at fit time, encoded and decoded on the device."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._namespace import Array, Device, Namespace, get_namespace, to_numpy

__all__ = ["decode", "encode"]


def encode(
    indices: np.ndarray[Any, Any], units: Any, *, dtype: Any, xp: Namespace, device: Device
) -> Array:
    """0/1 targets of shape ``(n_samples, len(units))``: column ``j`` marks class ``units[j]``.

    ``indices`` are class indices found on the host; they are moved once and compared on the
    device. ``units`` is ``range(n_classes)`` for one-hot rows, ``[1]`` for a single logistic
    unit that marks the second of two classes.
    """
    codes = xp.asarray(indices.astype(np.int32), device=device)
    targets = xp.asarray(np.asarray(units, dtype=np.int32), device=device)
    return xp.astype(codes[:, None] == targets[None, :], dtype)


def decode(indices: Array, classes: np.ndarray[Any, Any], *, xp: Namespace) -> Array:
    """Class labels for class indices, in the indices' namespace and on their device.

    Labels that only NumPy holds (strings, objects) come back as a NumPy array.
    """
    if isinstance(indices, np.ndarray) or classes.dtype.kind not in "biuf":
        return classes[to_numpy(indices)]
    _, device = get_namespace(indices=indices)
    return xp.take(xp.asarray(classes, device=device), indices)
