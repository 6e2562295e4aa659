"""The pieces of a checkpoint's fitted state, each checked for its type and range before it is
used: what estimators declare their checkpoints with (:mod:`xperceptron.io` reads the files).

A checkpoint is untrusted input. A value here is accepted only as save writes it (an int is
an ``int``, not a bool or a float; a figure a finite ``float``), so that what loads is exactly
what the file says, never a silently converted model.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "FLOAT",
    "LABELS",
    "MAX_COUNT",
    "MemberSpec",
    "checked_count",
    "checked_fields",
    "checked_figures",
    "generator_state",
    "restore_generator",
]

FLOAT = "float"
"""A member of the checkpoint's float dtype, every value finite."""
LABELS = "labels"
"""A member of class labels: 1-D, numbers or strings, sorted, unique, at least two, finite."""
MemberSpec = tuple[str, tuple[int | None, ...]]
"""What a member must be: ``FLOAT`` or ``LABELS``, and its shape (``None``: any length)."""

MAX_COUNT = 2**63 - 1
"""Counters (epochs, samples, steps) are ints in ``[0, MAX_COUNT]``: an int64 holds them."""

# Bit generators whose state is plain ints (JSON), and the bounds of those ints.
_BIT_GENERATORS = ("PCG64", "PCG64DXSM")
_GENERATOR_FIELDS = ("bit_generator", "state", "has_uint32", "uinteger")


def checked_fields(value: Any, names: tuple[str, ...], what: str) -> dict[str, Any]:
    """``value`` as a dict with exactly the keys ``names`` (no missing, no unknown one)."""
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object, got {type(value).__name__}.")
    missing, unknown = sorted(set(names) - set(value)), sorted(set(value) - set(names))
    if missing or unknown:
        raise ValueError(
            f"{what} has unexpected fields: missing {missing[:10]!r:.200}, "
            f"unknown {unknown[:10]!r:.200}."
        )
    return value


def checked_count(value: Any, what: str, *, low: int = 0, high: int = MAX_COUNT) -> int:
    """An ``int`` (not a bool) in ``[low, high]``."""
    if type(value) is not int or not low <= value <= high:
        raise ValueError(f"{what} must be an int in [{low}, {high}], got {value!r:.100}.")
    return value


def checked_figures(value: Any, what: str) -> list[float]:
    """A list of finite ``float`` s (as save writes a loss curve)."""
    if not isinstance(value, list) or not all(type(v) is float and math.isfinite(v) for v in value):
        raise ValueError(f"{what} must be a list of finite floats, got {value!r:.100}.")
    return list(value)


def generator_state(rng: np.random.Generator) -> dict[str, Any]:
    """The JSON-able state of ``rng``.

    Raises
    ------
    ValueError
        For a bit generator whose state is not plain ints (only PCG64 and PCG64DXSM, the
        default's, are saved).
    """
    state = dict(rng.bit_generator.state)
    if state.get("bit_generator") not in _BIT_GENERATORS:
        raise ValueError(
            f"a {type(rng.bit_generator).__name__} random generator cannot be saved; "
            f"checkpoints hold those of {list(_BIT_GENERATORS)} (numpy.random.default_rng's)."
        )
    return state


def restore_generator(state: Any) -> np.random.Generator:
    """The generator :func:`generator_state` described, each part checked.

    Raises
    ------
    ValueError
        For another structure, an unknown bit generator, or numbers that are not a state of
        it (a PCG64 state and increment are 128-bit ints, the increment odd).
    """
    fields = checked_fields(state, _GENERATOR_FIELDS, "random state")
    name = fields["bit_generator"]
    if name not in _BIT_GENERATORS:
        raise ValueError(f"unknown bit generator {name!r:.50}; known: {list(_BIT_GENERATORS)}.")
    inner = checked_fields(fields["state"], ("state", "inc"), "random state's state")
    checked_count(inner["state"], "random state", high=2**128 - 1)
    if checked_count(inner["inc"], "random increment", high=2**128 - 1) % 2 == 0:
        raise ValueError("random increment must be odd.")
    checked_count(fields["has_uint32"], "random has_uint32", high=1)
    checked_count(fields["uinteger"], "random uinteger", high=2**32 - 1)
    generator = np.random.Generator(getattr(np.random, name)(0))
    generator.bit_generator.state = state
    if generator.bit_generator.state != state:
        raise ValueError("random state is not a state of its bit generator.")
    return generator
