"""Class labels: found once on the host at fit time, encoded and decoded on the device."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._frames import plain_labels
from ._namespace import (
    Array,
    Device,
    Namespace,
    device_dtype,
    get_namespace,
    numpy_dtype,
    to_numpy,
)
from ._validation import host_values

__all__ = ["decode", "encode", "find_classes"]


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
    # In the device's dtype of that kind (int32 where it has no int64), where the labels fit.
    held = classes.astype(numpy_dtype(device_dtype(classes.dtype, xp, device)))
    if not np.array_equal(held, classes):
        return classes[to_numpy(indices)]
    return xp.take(xp.asarray(held, device=device), indices)


def find_classes(
    labels: np.ndarray[Any, Any], classes: Any = None, *, min_classes: int = 2
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The sorted classes (``classes`` where given, else those found in ``labels``) and each
    label's index among them, from one binary search.

    Raises
    ------
    ValueError
        If a label is not among ``classes``, or there are fewer than two classes.
    """
    # Classes given as objects (pandas' unique(), a Categorical) are read as strings or numbers.
    given = None if classes is None else plain_labels(host_values(classes, "classes"), "classes")
    if given is not None and given.ndim != 1:
        raise ValueError(f"classes must be 1-D (every label once), got shape {given.shape}.")
    known = np.unique(given) if given is not None else np.unique(labels)
    indices = np.searchsorted(known, labels)
    # Where the search lands on another value, the label is not a class.
    found = (
        known[np.minimum(indices, known.shape[0] - 1)] == labels
        if known.shape[0]
        else np.zeros(labels.shape, dtype=bool)
    )
    if not np.all(found):
        unseen = np.unique(labels[~found])
        raise ValueError(
            f"y holds labels {unseen.tolist()[:10]} that are not in classes {known.tolist()[:20]}."
        )
    if known.shape[0] < min_classes:
        raise ValueError(f"y has 1 class ({known.tolist()}); a classifier needs at least two.")
    return known, indices
