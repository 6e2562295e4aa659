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
    "ORDER",
    "MemberSpec",
    "checked_count",
    "checked_fields",
    "checked_figures",
    "checked_order",
    "decode_value",
    "encode_value",
    "generator_state",
    "restore_generator",
    "unique_keys",
]

FLOAT = "float"
"""A member of the checkpoint's float dtype, every value finite."""
LABELS = "labels"
"""A member of class labels: 1-D, numbers or strings, sorted, unique, at least two, finite."""
ORDER = "order"
"""A member of row positions: 1-D integers, a permutation of ``0..n-1``."""
MemberSpec = tuple[str, tuple[int | None, ...]]
"""What a member must be: ``FLOAT``, ``LABELS`` or ``ORDER``, and its shape (``None``: any
length)."""

MAX_COUNT = 2**63 - 1
"""Counters (epochs, samples, steps) are ints in ``[0, MAX_COUNT]``: an int64 holds them."""

# Bit generators whose state is plain ints (JSON), and the bounds of those ints.
_BIT_GENERATORS = ("PCG64", "PCG64DXSM")
_GENERATOR_FIELDS = ("bit_generator", "state", "has_uint32", "uinteger")
# A numpy.random.RandomState's (scikit-learn's generator): MT19937 and a kept Gaussian.
_RANDOM_STATE_FIELDS = ("bit_generator", "state", "has_gauss", "gauss")
_MT_WORDS = 624


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


def checked_order(array: np.ndarray[Any, Any], what: str) -> np.ndarray[Any, Any]:
    """``array`` (1-D integers) as int64, checked to be a permutation of ``0..n-1``."""
    n = array.shape[0]
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise ValueError(f"{what} must be a 1-D array of integers.")
    if n and not (array.min() >= 0 and array.max() < n):
        raise ValueError(f"{what} holds positions outside [0, {n}).")
    order = array.astype(np.int64)
    if not np.all(np.bincount(order, minlength=n) == 1):
        raise ValueError(f"{what} is not a permutation: a position repeats.")
    return order


def generator_state(rng: np.random.Generator | np.random.RandomState) -> dict[str, Any]:
    """The JSON-able state of ``rng``: a ``Generator``'s bit generator state, or a
    ``RandomState`` 's MT19937 state (``key``: 624 uint32, ``pos``) and its kept Gaussian.

    Raises
    ------
    ValueError
        For a bit generator whose state is not plain ints (only PCG64 and PCG64DXSM, the
        default's, are saved), or a ``RandomState`` over another bit generator than MT19937.
    """
    if isinstance(rng, np.random.RandomState):
        legacy = rng.get_state(legacy=False)
        if legacy["bit_generator"] != "MT19937":
            raise ValueError(
                f"a RandomState over {legacy['bit_generator']} cannot be saved; checkpoints "
                "hold those over MT19937 (numpy.random.RandomState(seed)'s)."
            )
        inner = legacy["state"]
        return {
            "bit_generator": "MT19937",
            "state": {"key": [int(k) for k in inner["key"]], "pos": int(inner["pos"])},
            "has_gauss": int(legacy["has_gauss"]),
            "gauss": float(legacy["gauss"]),
        }
    state = dict(rng.bit_generator.state)
    if state.get("bit_generator") not in _BIT_GENERATORS:
        raise ValueError(
            f"a {type(rng.bit_generator).__name__} random generator cannot be saved; "
            f"checkpoints hold those of {list(_BIT_GENERATORS)} (numpy.random.default_rng's)."
        )
    return state


def restore_generator(state: Any) -> np.random.Generator | np.random.RandomState:
    """The generator :func:`generator_state` described, each part checked: a
    ``RandomState`` where the state has ``has_gauss`` and ``gauss``, else a ``Generator``.

    Raises
    ------
    ValueError
        For another structure, an unknown bit generator, or numbers that are not a state of
        it (a PCG64 state and increment are 128-bit ints, the increment odd; an MT19937 key
        is 624 uint32 words, not all zero, its position in [0, 624]).
    """
    if isinstance(state, dict) and "has_gauss" in state:
        return _restore_random_state(state)
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


def _restore_random_state(state: dict[str, Any]) -> np.random.RandomState:
    """The ``RandomState`` of a saved MT19937 state, each part checked."""
    fields = checked_fields(state, _RANDOM_STATE_FIELDS, "random state")
    if fields["bit_generator"] != "MT19937":
        raise ValueError(
            f"unknown bit generator {fields['bit_generator']!r:.50} for a RandomState; "
            "known: ['MT19937']."
        )
    inner = checked_fields(fields["state"], ("key", "pos"), "random state's state")
    key = inner["key"]
    if not isinstance(key, list) or len(key) != _MT_WORDS:
        raise ValueError(f"random key must be a list of {_MT_WORDS} ints, got {key!r:.100}.")
    for word in key:
        checked_count(word, "random key word", high=2**32 - 1)
    if key[0] < 2**31 and not any(key[1:]):  # MT19937 uses key[0]'s top bit only
        raise ValueError("random key is all zero: not a state of MT19937.")
    pos = checked_count(inner["pos"], "random position", high=_MT_WORDS)
    has_gauss = checked_count(fields["has_gauss"], "random has_gauss", high=1)
    gauss = fields["gauss"]
    if type(gauss) is not float or not math.isfinite(gauss) or (not has_gauss and gauss):
        raise ValueError(
            f"random gauss must be a finite float (0.0 without has_gauss), got {gauss!r:.50}."
        )
    legacy = {
        "bit_generator": "MT19937",
        "state": {"key": np.array(key, dtype=np.uint32), "pos": pos},
        "has_gauss": has_gauss,
        "gauss": gauss,
    }
    generator = np.random.RandomState(0)
    generator.set_state(legacy)
    if generator_state(generator) != state:
        raise ValueError("random state is not a state of MT19937.")
    return generator


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("an object repeats a key.")
    return result


def encode_value(value: Any) -> Any:
    """Hyperparameters as JSON, keeping tuples tuples and a generator its state."""
    if isinstance(value, tuple):
        return {"__tuple__": [encode_value(v) for v in value]}
    if isinstance(value, list):
        return [encode_value(v) for v in value]
    if isinstance(value, dict):
        return {key: encode_value(v) for key, v in value.items()}
    if isinstance(value, np.random.Generator | np.random.RandomState):
        return {"__generator__": generator_state(value)}
    if isinstance(value, np.generic):
        return value.item()
    return value


def decode_value(value: Any) -> Any:
    """What :func:`encode_value` wrote (its nesting bounded by the caller first)."""
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tuple__" in value:
        if set(value) != {"__tuple__"} or not isinstance(value["__tuple__"], list):
            raise ValueError(f"a tuple parameter is malformed: {value!r:.100}.")
        return tuple(decode_value(v) for v in value["__tuple__"])
    if "__generator__" in value:
        if set(value) != {"__generator__"}:
            raise ValueError(f"a generator parameter is malformed: {value!r:.100}.")
        return restore_generator(value["__generator__"])
    return {key: decode_value(v) for key, v in value.items()}
