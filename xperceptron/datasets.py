"""Built-in data: the logic gates of the tutorial."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["GATES", "logic_gate"]

GATES: dict[str, tuple[int, int, int, int]] = {
    "and": (0, 0, 0, 1),
    "or": (0, 1, 1, 1),
    "nand": (1, 1, 1, 0),
    "xor": (0, 1, 1, 0),
}
"""Each gate's output for the inputs (0, 0), (1, 0), (0, 1), (1, 1), in that order."""


def logic_gate(name: str) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The truth table of a two-input logic gate.

    Parameters
    ----------
    name : {"and", "or", "nand", "xor"}
        Case-insensitive.

    Returns
    -------
    X : numpy.ndarray of shape (4, 2), float64
        The inputs (0, 0), (1, 0), (0, 1), (1, 1): the tutorial's columns, as rows.
    y : numpy.ndarray of shape (4,), int64
        The gate's output for each row.

    Examples
    --------
    >>> X, y = logic_gate("xor")
    >>> X.tolist(), y.tolist()
    ([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [0, 1, 1, 0])
    """
    key = name.lower() if isinstance(name, str) else name
    if key not in GATES:
        raise ValueError(f"Unknown logic gate {name!r}; known gates are {sorted(GATES)}.")
    X = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=np.float64)
    return X, np.array(GATES[key], dtype=np.int64)
