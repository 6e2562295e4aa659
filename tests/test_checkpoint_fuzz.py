"""Property-based tests of loading: random mutations of valid checkpoints, drawn by hypothesis.

Each mutated file is refused with a ``ValueError``, or it loads a model that is exactly what
the file holds and that works: never a silently different model, never another exception.

- Bytes: flips, overwrites, insertions, deletions and truncations anywhere in the file, and
  most often in its structure (zip headers, central directory, npy headers). The zip's CRC
  and the checks of every size make any such file either refused or the very model saved.
- Content: any field of the JSON header replaced by any JSON value, removed or added to;
  any member replaced by an array of another dtype, shape or values, removed, duplicated
  under another name. What loads must be what the file says, and must predict and train.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
import warnings
import zipfile
from pathlib import Path

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xperceptron import (
    ConvergenceWarning,
    DivergenceError,
    MLPClassifier,
    MLPRegressor,
    Perceptron,
    load,
    save,
)
from xperceptron.io import read_metadata

# XPERCEPTRON_FUZZ_EXAMPLES=5000 fuzzes longer.
EXAMPLES = int(os.environ.get("XPERCEPTRON_FUZZ_EXAMPLES", "60"))
# The default run draws the same examples each time, so that CI is never red by chance; a
# longer fuzz draws new ones.
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize="XPERCEPTRON_FUZZ_EXAMPLES" not in os.environ,
)
KINDS = ("binary", "multiclass", "multilabel", "regressor", "perceptron")
_X = np.random.default_rng(0).normal(size=(24, 3))


@functools.cache
def _saved(kind: str) -> bytes:
    """A valid checkpoint of each kind of model, as bytes (made once)."""
    X = _X
    y = {
        "binary": (X[:, 0] > 0).astype(np.int64),
        "multiclass": np.array(["ant", "bee", "cow"])[np.argmax(X, axis=1)],
        "multilabel": (X[:, :2] > 0).astype(np.int64),
        "regressor": X @ np.array([1.0, -2.0, 0.5]),
        "perceptron": np.argmax(X, axis=1),
    }[kind]
    est = {
        "binary": MLPClassifier((4,), solver="adam", max_iter=2, random_state=0, batch_size=8),
        "multiclass": MLPClassifier((3, 2), solver="sgd", max_iter=2, random_state=1),
        "multilabel": MLPClassifier((), solver="adam", max_iter=2, random_state=2),
        "regressor": MLPRegressor((3,), solver="sgd", learning_rate="invscaling", max_iter=2,
                                  random_state=np.random.default_rng(3)),
        "perceptron": Perceptron(max_iter=4),
    }[kind]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    return _bytes_of(est, metadata={"columns": ["a", "b", "c"], "kind": kind})


def _bytes_of(est, metadata=None):
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "m.npz"
        save(est, path, metadata=metadata)
        return path.read_bytes()


def _contents(data: bytes) -> dict:
    """What a checkpoint holds: its header (metadata apart) and its arrays, byte order
    made native (the same numbers)."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "m.npz"
        path.write_bytes(data)
        with np.load(path, allow_pickle=False) as archive:
            members = {key: archive[key] for key in archive.files}
    header = json.loads(str(members.pop("header")))
    metadata = header.pop("metadata")
    arrays = {
        key: (a.dtype.newbyteorder("=").str, a.shape, a.astype(a.dtype.newbyteorder("=")).tobytes())
        for key, a in members.items()
    }
    return {"header": json.dumps(header, sort_keys=True), "metadata": metadata, "arrays": arrays}


def _load(data: bytes):
    """``(estimator, metadata)`` loaded from ``data``, or ``None`` where it is refused."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "m.npz"
        path.write_bytes(data)
        try:
            return load(path), read_metadata(path)
        except ValueError:
            return None


# ---------------------------------------------------------------- bytes
def _structure(data: bytes) -> list[int]:
    """Offsets of the file's structure: zip headers, npy headers, central directory."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "m.npz"
        path.write_bytes(data)
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    offsets: set[int] = set()
    for info in infos:
        offsets.update(range(info.header_offset, info.header_offset + 30 + 64 + 140))
    offsets.update(range(data.index(b"PK\x01\x02"), len(data)))  # the central directory
    return sorted(o for o in offsets if 0 <= o < len(data))


@st.composite
def byte_mutations(draw, data: bytes):
    structure = _structure(data)
    position = st.one_of(st.integers(0, len(data) - 1), st.sampled_from(structure))
    operation = st.one_of(
        st.tuples(st.just("set"), position, st.integers(0, 255)),
        st.tuples(st.just("flip"), position, st.integers(0, 7)),
        st.tuples(st.just("insert"), position, st.binary(min_size=1, max_size=8)),
        st.tuples(st.just("delete"), position, st.integers(1, 8)),
        st.tuples(st.just("truncate"), position),
    )
    return draw(st.lists(operation, min_size=1, max_size=3))


def _mutate_bytes(data: bytes, operations) -> bytes:
    out = bytearray(data)
    for operation in operations:
        kind, where = operation[0], min(operation[1], len(out) - 1)
        if kind == "set":
            out[where] = operation[2]
        elif kind == "flip":
            out[where] ^= 1 << operation[2]
        elif kind == "insert":
            out[where:where] = operation[2]
        elif kind == "delete":
            del out[where : where + operation[2]]
        else:
            del out[where:]
        if not out:
            break
    return bytes(out)


@SETTINGS
@given(data=st.data(), kind=st.sampled_from(KINDS))
def test_a_damaged_file_is_refused_or_loads_the_saved_model(data, kind):
    original = _saved(kind)
    mutated = _mutate_bytes(original, data.draw(byte_mutations(original)))
    loaded = _load(mutated)
    if loaded is not None:
        est, metadata = loaded
        assert _contents(_bytes_of(est, metadata)) == _contents(original)


# ---------------------------------------------------------------- content
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**130)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=6),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)
_DTYPES = ["<f8", ">f8", "<f4", "<f2", "<i8", "<u1", "|b1", "<U3", "<c16"]


def _paths(node, prefix=()):
    """Every path to a value in a JSON document."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


@st.composite
def header_mutation(draw, header):
    path = draw(st.sampled_from(list(_paths(header))[1:]))
    action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
    node = header
    for key in path[:-1]:
        node = node[key]
    last = path[-1]
    if action == "replace":
        node[last] = draw(_JSON)
    elif action == "delete":
        del node[last]
    elif isinstance(node[last], dict):
        names = st.sampled_from(["coefs_", "predict", "classes_", "n_iter_", "kind", "__class__"])
        node[last][draw(names | st.text(max_size=6))] = draw(_JSON)
    elif isinstance(node[last], list):
        node[last].insert(draw(st.integers(0, len(node[last]))), draw(_JSON))
    return header


@st.composite
def member_mutation(draw, members):
    name = draw(st.sampled_from(sorted(set(members) - {"header"})))
    action = draw(st.sampled_from(["array", "poke", "poke", "delete", "copy"]))
    if action == "delete":
        del members[name]
    elif action == "copy":
        members[draw(st.sampled_from(["junk", "coefs_9", "classes_", "velocities_0"]))] = members[
            name
        ]
    elif action == "poke" and members[name].size:
        array = members[name].copy()
        index = draw(st.integers(0, array.size - 1))
        values = st.sampled_from([np.nan, np.inf, -np.inf, -1.0, 0.0, 1e300, 2.0])
        value = draw(values) if array.dtype.kind == "f" else draw(st.integers(-1, 3))
        array.reshape(-1)[index] = value if array.dtype.kind != "U" else str(value)
        members[name] = array
    else:
        dtype = draw(st.sampled_from([members[name].dtype.str, *_DTYPES]))
        same = st.just(members[name].shape)
        shape = draw(same | hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))
        members[name] = draw(hnp.arrays(np.dtype(dtype), shape))
    return members


def _rewritten(data: bytes, mutate) -> bytes:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "m.npz"
        path.write_bytes(data)
        with np.load(path, allow_pickle=False) as archive:
            members = {key: archive[key] for key in archive.files}
        mutate(members)
        with open(path, "wb") as file:
            np.savez(file, **members)
        return path.read_bytes()


def _works(est, kind: str) -> None:
    """The loaded model predicts, and an MLP trains on: no error but divergence, or one the
    original model fails with once given the same hyperparameters (early_stopping=True,
    a power_t that overflows...)."""
    X = np.resize(_X, (_X.shape[0], est.n_features_in_))  # the file may declare others
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # overflow in a model of huge (finite) weights
        predicted = np.asarray(est.predict(X))
        assert predicted.shape[0] == X.shape[0]
        if predicted.ndim == 1 and hasattr(est, "classes_"):
            assert set(predicted.tolist()) <= set(est.classes_.tolist())
        if isinstance(est, Perceptron):
            return
        try:
            _partial_fit(est, X)
        except DivergenceError:
            pass
        except Exception as exc:
            original, _ = _load(_saved(kind))
            with pytest.raises(type(exc)):
                _partial_fit(original.set_params(**est.get_params()), _X)


def _partial_fit(est, X) -> None:
    """One epoch on targets the model can take."""
    n_out = est.n_outputs_
    if isinstance(est, MLPRegressor):
        est.partial_fit(X, X[:, 0] if est._y_1d else np.tile(X[:, :1], (1, n_out)))
    elif est.out_activation_ == "logistic" and n_out > 1:
        est.partial_fit(X, (X[:, :1] > 0).astype(np.int64) * np.ones((1, n_out), np.int64))
    else:
        est.partial_fit(X, np.resize(est.classes_, X.shape[0]), classes=est.classes_)


# What a file may leave out, because files written before it was recorded lack it: the loaded
# model then takes a default, which a new save writes (tests/test_io.py checks which).
_OPTIONAL = [
    ("feature_names",),
    ("params", "max_fun"),
    ("params", "loss"),
    ("params", "distributed"),
    ("params", "cuda_graph"),
    ("fitted", "n_iter_"),
    ("fitted", "shuffle_order"),
]


def _only_what_the_file_holds(again: dict, mutated: dict) -> str:
    """The header of the model loaded, less the optional fields the file left out."""
    loaded, held = json.loads(again["header"]), json.loads(mutated["header"])
    for *parents, last in _OPTIONAL:
        there, here = held, loaded
        for key in parents:
            there, here = there.get(key), here.get(key)
        if isinstance(there, dict) and last not in there and isinstance(here, dict):
            here.pop(last, None)
    return json.dumps(loaded, sort_keys=True)


@SETTINGS
@given(data=st.data(), kind=st.sampled_from(KINDS), in_header=st.booleans())
def test_a_changed_checkpoint_is_refused_or_loads_exactly_what_it_holds(data, kind, in_header):
    def mutate(members):
        if in_header:
            header = json.loads(str(members["header"]))
            text = json.dumps(data.draw(header_mutation(header)))
            members["header"] = np.array(text)
        else:
            data.draw(member_mutation(members))

    mutated = _rewritten(_saved(kind), mutate)
    loaded = _load(mutated)
    if loaded is None:
        return
    est, metadata = loaded
    again = _contents(_bytes_of(est, metadata))
    expected = _contents(mutated)
    assert _only_what_the_file_holds(again, expected) == expected["header"]
    assert again["arrays"] == expected["arrays"]
    assert json.dumps(again["metadata"]) == json.dumps(expected["metadata"])
    _works(est, kind)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_round_trips_unchanged(kind):
    loaded = _load(_saved(kind))
    assert loaded is not None
    est, metadata = loaded
    assert metadata["kind"] == kind
    assert _contents(_bytes_of(est, metadata)) == _contents(_saved(kind))
    _works(est, kind)
