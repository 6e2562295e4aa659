"""Checkpoints: bit-for-bit round trips across backends, resumable training, safe loading."""

from __future__ import annotations

import io
import json
import os
import stat
import struct
import warnings
import zipfile

import numpy as np
import pytest

import xperceptron
from xperceptron import ConvergenceWarning, MLPClassifier, MLPRegressor, Perceptron, load, save
from xperceptron._namespace import to_numpy
from xperceptron.io import read_metadata


def _fit(kind, backend, **params):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = {
        "classifier": np.array(["ant", "bee", "cow"])[np.argmax(X, axis=1)],
        "binary": (X[:, 0] > 0).astype(np.int64),
        "regressor": X @ np.array([1.0, -2.0, 0.5]),
        "perceptron": (X[:, 0] + X[:, 1] > 0).astype(np.int64),
    }[kind]
    if kind == "classifier" and backend.name != "numpy":
        y = np.argmax(X, axis=1) * 7  # other namespaces hold numeric labels
    X_dev, y_dev = backend.asarray(X), backend.asarray(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if kind == "perceptron":
            return Perceptron(max_iter=20).fit(X_dev, y_dev), X_dev, y_dev
        cls = MLPRegressor if kind == "regressor" else MLPClassifier
        defaults = {
            "hidden_layer_sizes": (5, 4),
            "max_iter": 3,
            "random_state": 0,
            "batch_size": 16,
        }
        return cls(**{**defaults, **params}).fit(X_dev, y_dev), X_dev, y_dev


def _arrays(est):
    if isinstance(est, Perceptron):
        return [est.coef_, est.intercept_]
    return [*est.coefs_, *est.intercepts_]


@pytest.mark.parametrize(
    ("kind", "params"),
    [("classifier", {"solver": "adam"}), ("binary", {"solver": "sgd"}),
     ("regressor", {"solver": "sgd", "learning_rate": "invscaling"}), ("perceptron", {})],
)  # fmt: skip
def test_round_trip_is_bit_for_bit_on_every_backend(backend, tmp_path, kind, params):
    est, X, _ = _fit(kind, backend, **params)
    path = tmp_path / "model.npz"
    save(est, path)
    with np.load(path, allow_pickle=False) as archive:  # every member without pickle
        assert {archive[key].dtype.kind for key in archive.files} <= set("biufU")
    # Back onto the same backend: identical parameters and identical predictions.
    again = load(path, xp=backend.xp, device=backend.device)
    assert type(again) is type(est)
    assert again.get_params() == est.get_params()
    for ours, theirs in zip(_arrays(again), _arrays(est), strict=True):
        backend.assert_array(ours, dtype=theirs.dtype)
        np.testing.assert_array_equal(to_numpy(ours), to_numpy(theirs), strict=True)
    np.testing.assert_array_equal(to_numpy(again.predict(X)), to_numpy(est.predict(X)))
    # Onto NumPy (the default): the same bits, now NumPy arrays.
    on_numpy = load(path)
    for ours, theirs in zip(_arrays(on_numpy), _arrays(est), strict=True):
        assert isinstance(ours, np.ndarray)
        np.testing.assert_array_equal(ours, to_numpy(theirs), strict=True)
    for name in ("classes_", "n_iter_", "loss_curve_", "n_features_in_"):
        if hasattr(est, name):
            np.testing.assert_array_equal(getattr(on_numpy, name), getattr(est, name))


def test_parameters_keep_their_types(tmp_path):
    est = MLPClassifier((4, 3), "tanh", alpha=0.5, batch_size=8, max_iter=2, random_state=7)
    with pytest.warns(ConvergenceWarning):
        est.fit(np.random.default_rng(0).normal(size=(20, 2)), np.arange(20) % 2)
    save(est, tmp_path / "m.npz")
    params = load(tmp_path / "m.npz").get_params()
    assert params == est.get_params()
    assert {k: type(v) for k, v in params.items()} == {
        k: type(v) for k, v in est.get_params().items()
    }
    assert type(params["hidden_layer_sizes"]) is tuple


def test_a_generator_random_state_round_trips(tmp_path):
    est = MLPRegressor((3,), max_iter=1, random_state=np.random.default_rng(5))
    with pytest.warns(ConvergenceWarning):
        est.fit(np.ones((10, 2)), np.arange(10.0))
    save(est, tmp_path / "m.npz")
    generator = load(tmp_path / "m.npz").random_state
    assert isinstance(generator, np.random.Generator)
    assert generator.bit_generator.state == est.random_state.bit_generator.state


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_training_resumes_as_if_never_saved(backend, tmp_path, solver):
    est, X, y = _fit("binary", backend, solver=solver)
    save(est, tmp_path / "m.npz")
    resumed = load(tmp_path / "m.npz", xp=backend.xp, device=backend.device)
    for _ in range(2):
        est.partial_fit(X, y)
        resumed.partial_fit(X, y)
    assert resumed.loss_curve_ == est.loss_curve_
    for ours, theirs in zip(_arrays(resumed), _arrays(est), strict=True):
        np.testing.assert_array_equal(to_numpy(ours), to_numpy(theirs))


def test_train_on_one_backend_load_on_another(backend, tmp_path):
    torch = pytest.importorskip("torch")
    est, X, _ = _fit("binary", backend)
    save(est, tmp_path / "m.npz")
    on_torch = load(tmp_path / "m.npz", xp=torch)
    assert all(isinstance(W, torch.Tensor) for W in on_torch.coefs_)
    proba = on_torch.predict_proba(torch.asarray(np.array(to_numpy(X))))
    np.testing.assert_allclose(proba.numpy(), to_numpy(est.predict_proba(X)), rtol=1e-6)


def test_dtype_cast_for_a_device_without_float64(tmp_path):
    strict = pytest.importorskip("array_api_strict")
    est, _, _ = _fit("regressor", _NumpyBackend())
    save(est, tmp_path / "m.npz")
    device = strict.Device("no_float64")
    with pytest.raises(ValueError, match="does not support dtype"):
        load(tmp_path / "m.npz", xp=strict, device=device)
    small = load(tmp_path / "m.npz", xp=strict, device=device, dtype=strict.float32)
    assert small.coefs_[0].dtype == strict.float32
    assert small.coefs_[0].device == device


class _NumpyBackend:
    name = "numpy"

    @staticmethod
    def asarray(a):
        return np.asarray(a)


def test_save_needs_a_fitted_estimator(tmp_path):
    with pytest.raises(xperceptron.NotFittedError):
        save(MLPClassifier(), tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nothing.npz")


def test_not_a_zip_and_truncated_files(tmp_path):
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match="not an xperceptron checkpoint"):
        load(tmp_path / "text.npz")
    est, _, _ = _fit("binary", _NumpyBackend())
    save(est, tmp_path / "m.npz")
    data = (tmp_path / "m.npz").read_bytes()
    for cut in (len(data) // 2, len(data) - 30):
        (tmp_path / "cut.npz").write_bytes(data[:cut])
        with pytest.raises(ValueError, match="checkpoint"):
            load(tmp_path / "cut.npz")


def _rewrite(path, change):
    with np.load(path, allow_pickle=False) as archive:
        members = {key: archive[key] for key in archive.files}
    change(members)
    with open(path, "wb") as file:
        np.savez(file, **members)


def _set_header(key, value):
    def change(members):
        header = json.loads(str(members["header"]))
        header[key] = value
        members["header"] = np.array(json.dumps(header))

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set_header("format_version", 2), "version 2; this xperceptron reads version 1 .*newer"),
        (_set_header("format_version", "1"), "version '1'"),
        (_set_header("format", "other"), "not an xperceptron checkpoint"),
        (_set_header("class", "SVC"), "malformed"),
        (lambda m: m.__setitem__("coefs_0", m["coefs_0"][:-1]), r"'coefs_0' has shape \(2, 5\)"),
        (lambda m: m.__setitem__("intercepts_1", m["intercepts_1"].astype(int)), "expected floats"),
        (lambda m: m.pop("velocities_2"), "no member 'velocities_2'"),
        (lambda m: m.pop("header"), "no valid header"),
        (lambda m: m.__setitem__("header", np.array("{not json")), "damaged header"),
    ],
)  # fmt: skip
def test_damaged_checkpoints_are_refused(tmp_path, change, message):
    est, _, _ = _fit("binary", _NumpyBackend(), solver="sgd")
    path = tmp_path / "m.npz"
    save(est, path)
    _rewrite(path, change)
    with pytest.raises(ValueError, match=message):
        load(path)


class _Payload:
    """Pickling this object would create a file when unpickled."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_an_object_array_is_refused_and_never_unpickled(tmp_path):
    est, _, _ = _fit("binary", _NumpyBackend())
    path = tmp_path / "m.npz"
    save(est, path)
    marker = tmp_path / "executed"
    with np.load(path, allow_pickle=False) as archive:
        members = {key: archive[key] for key in archive.files}
    evil = np.empty(1, dtype=object)
    evil[0] = _Payload(str(marker))
    members["coefs_0"] = evil
    with open(path, "wb") as file:
        np.savez(file, **members)  # savez pickles the object array
    with pytest.raises(ValueError, match="has dtype object"):
        load(path)
    assert not marker.exists()


def test_object_labels_are_saved_as_strings_or_refused(tmp_path):
    X = np.random.default_rng(0).normal(size=(20, 2))
    words = np.array(["a", "b"] * 10, dtype=object)  # as pandas holds strings
    est = Perceptron(max_iter=3)
    with pytest.warns(ConvergenceWarning):
        est.fit(X, words)
    save(est, tmp_path / "m.npz")
    assert load(tmp_path / "m.npz").classes_.tolist() == ["a", "b"]
    est.classes_ = np.array([1, "b"], dtype=object)  # labels NumPy can hold but not sort
    with pytest.raises(ValueError, match="cannot be stored without pickle"):
        save(est, tmp_path / "other.npz")
    assert not (tmp_path / "other.npz").exists()


def test_an_interrupted_save_leaves_the_old_file(tmp_path, monkeypatch):
    est, _, _ = _fit("binary", _NumpyBackend())
    path = tmp_path / "m.npz"
    save(est, path)
    before = path.read_bytes()

    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", fail)
    with pytest.raises(KeyboardInterrupt):
        save(est, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.npz"]
    assert zipfile.is_zipfile(path)


# ---------------------------------------------------------------- untrusted content (issue 12)
_DELETE = object()


def _at(*keys, value=_DELETE):
    """A change of the header: the field at ``keys`` set to ``value`` (or deleted)."""

    def change(members):
        header = json.loads(str(members["header"]))
        node = header
        for key in keys[:-1]:
            node = node[key]
        if value is _DELETE:
            del node[keys[-1]]
        else:
            node[keys[-1]] = value
        members["header"] = np.array(json.dumps(header))

    return change


def _member(name, edit):
    """A change of member ``name`` to ``edit(array)`` (or its removal, for ``None``)."""

    def change(members):
        members[name] = edit(members[name].copy())

    return change


def _poke(index, value):
    def edit(array):
        array.reshape(-1)[index] = value
        return array

    return edit


_INJECTED = [  # Attributes: only the known ones, each of its type.
    ("binary", _at("fitted", "targets", "coefs_", value=[[1.0]]), r"unknown \['coefs_'\]"),
    ("binary", _at("fitted", "targets", "predict", value="x"), r"unknown \['predict'\]"),
    ("binary", _at("fitted", "targets", "out_activation_", value=3), "out_activation_=3"),
    ("binary", _at("fitted", "targets", "out_activation_", value="softmax"), "not a classifier"),
    ("regressor", _at("fitted", "targets", "_y_1d", value="yes"), "_y_1d='yes'"),
    ("regressor", _at("fitted", "targets", "out_activation_", value="logistic"), "regressor"),
    ("binary", _at("fitted", "t_", value=3), r"fitted state .*unknown \['t_'\]"),
    ("binary", _at("fitted", "n_iter_", value=99), "n_iter_=99 exceeds the 3 epochs trained"),
    ("regressor", _at("fitted", "n_iter_", value=True), "n_iter_ must be an int"),
    ("perceptron", _at("fitted", "coef_", value=[[1.0]]), r"unknown \['coef_'\]"),
    ("binary", _at("params", "predict", value=1), r"parameters .*unknown \['predict'\]"),
    ("binary", _at("params", "alpha"), r"missing \['alpha'\]"),  # not silently the default
    ("binary", _at("params", "callbacks", value=[]), "callbacks is not saved"),
    ("binary", _at("params", "hidden_layer_sizes", value={"__tuple__": "54"}), "tuple"),
    ("binary", _at("extra", value=1), r"header has unexpected fields.*unknown \['extra'\]"),
    ("binary", _at("metadata", value=[1]), "metadata must be a JSON object"),
    ("binary", _at("dtype", value="int8"), "dtype 'int8'"),
    ("binary", _at("format_version", value=True), "version True"),
]
_CONTENT = [  # Non-finite weights, labels that do not fit the output layer, figures as text.
    ("binary", _member("coefs_0", _poke(3, np.nan)), "'coefs_0' holds non-finite"),
    ("binary", _member("intercepts_1", _poke(0, np.inf)), "'intercepts_1' holds non-finite"),
    ("binary", _member("first_moments_0", _poke(0, -np.inf)), "'first_moments_0' holds non-"),
    ("perceptron", _member("coef_", _poke(1, np.nan)), "'coef_' holds non-finite"),
    ("binary", _member("second_moments_1", _poke(0, -1.0)), "'second_moments_1' holds negative"),
    ("binary", _member("classes_", lambda a: np.arange(3)), r"classes_ has shape \(3,\) for 1"),
    ("binary", _member("classes_", lambda a: a[::-1]), "not sorted and unique"),
    ("binary", _member("classes_", lambda a: np.zeros(2)), "not sorted and unique"),
    ("binary", _member("classes_", lambda a: np.array([0.0, np.nan])), "not finite integers"),
    ("binary", _member("classes_", lambda a: np.array([0.0, 0.5])), "not finite integers"),
    ("binary", _member("classes_", lambda a: np.array([[0, 1]])), r"has shape \(1, 2\)"),
    ("classifier", _at("fitted", "targets", "out_activation_", value="logistic"), "not a cl"),
    ("perceptron", _member("classes_", lambda a: np.arange(3)), r"coef_ has shape \(1, 3\)"),
    ("perceptron", _member("classes_", lambda a: np.array(["a"])), "holds 1 label"),
    # A class name that does not match the arrays.
    # (the regressor's parameters have loss, the classifier's do not; a missing loss takes
    # its default, as in a file from before it existed, and the members then disagree)
    ("binary", _at("class", value="MLPRegressor"), r"has no member \['classes_'\]"),
    ("regressor", _at("class", value="MLPClassifier"), r"parameters .* unknown \['loss'\]"),
    ("binary", _at("class", value="Perceptron"), "Perceptron's parameters has unexpected"),
    ("perceptron", _at("class", value="MLPClassifier"), "MLPClassifier's parameters"),
    ("binary", _at("class", value=["MLPClassifier"]), "class"),
    # Figures that are not numbers, or not as many as the epochs.
    ("binary", _at("fitted", "progress", "loss_curve", value="abc"), "loss_curve must be a list"),
    ("binary", _at("fitted", "progress", "loss_curve", value=[1, 2, 3]), "list of numbers"),
    ("binary", _at("fitted", "progress", "loss_curve", value=[0.5]), "one loss per epoch"),
    ("binary", _at("fitted", "progress", "n_iter", value="3"), "n_iter must be an int"),
    ("binary", _at("fitted", "progress", "learning_rate", value=float("nan")), "learning_rate"),
    ("binary", _at("fitted", "progress", "best_loss", value="inf"), "best_loss must be"),
    ("binary", _at("fitted", "layer_sizes", value=[3, 5, 4, True]), "layer_sizes must be"),
    ("binary", _at("fitted", "layer_sizes", value=[3, 5, 4, 2]), r"'coefs_2' has shape \(4, 1\)"),
    # An int seed's generator is a RandomState (MT19937), as scikit-learn's.
    ("binary", _at("fitted", "rng", "state", "pos", value=625), "random position must be"),
    ("binary", _at("fitted", "rng", "state", "key", value=[0] * 624), "random key is all zero"),
    ("binary", _at("fitted", "rng", "bit_generator", value="PCG64"), "unknown bit generator"),
    ("binary", _at("fitted", "optimizer", "step", value="2"), "optimizer step must be an int"),
    ("binary", _at("fitted", "optimizer", "step", value=2**64), "optimizer step must be an int"),
    ("binary", _at("fitted", "optimizer", "lr", value=0.1), "optimizer state AdamState has"),
    ("binary", _at("fitted", "optimizer", "kind", value="SGDState"), "optimizer state SGDState"),
    ("perceptron", _at("fitted", "loss_curve_", value="123"), "loss_curve_ must be a list"),
    ("perceptron", _at("fitted", "errors_", value="12"), "must have n_iter_=.* items"),
    ("perceptron", _at("fitted", "errors_", value=[1.5] * 20), "errors_ must be an int"),
    ("perceptron", _at("fitted", "n_iter_", value=True), "n_iter_ must be an int"),
    ("perceptron", _at("params", "random_state", value=0), r"unknown \['random_state'\]"),
]


@pytest.mark.parametrize(("kind", "change", "message"), _INJECTED + _CONTENT)
def test_a_header_or_member_a_checkpoint_cannot_hold_is_refused(tmp_path, kind, change, message):
    est, _, _ = _fit(kind, _NumpyBackend())
    path = tmp_path / "m.npz"
    save(est, path)
    _rewrite(path, change)
    with pytest.raises(ValueError, match=message) as refused:
        load(path)
    assert str(path) in str(refused.value)


@pytest.mark.parametrize("member", ["coefs_1", "intercepts_0", "velocities_2"])
def test_non_finite_weights_are_refused_on_every_backend(backend, tmp_path, member):
    est, _, _ = _fit("binary", backend, solver="sgd")
    path = tmp_path / "m.npz"
    save(est, path)
    _rewrite(path, _member(member, _poke(0, np.nan)))
    with pytest.raises(ValueError, match=f"'{member}' holds non-finite"):
        load(path, xp=backend.xp, device=backend.device)


def test_save_refuses_what_load_would(tmp_path):
    est, _, _ = _fit("binary", _NumpyBackend())
    est.coefs_[0][0, 0] = np.inf
    with pytest.raises(ValueError, match="coefs_0 holds non-finite"):
        save(est, tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


def test_a_weight_that_overflows_the_dtype_cast_to_is_refused(tmp_path):
    est, _, _ = _fit("binary", _NumpyBackend())
    est.coefs_[1][0, 0] = 1e300
    save(est, tmp_path / "m.npz")
    load(tmp_path / "m.npz")
    with pytest.raises(ValueError, match="'coefs_1' overflows float32"):
        load(tmp_path / "m.npz", dtype=np.float32)


# ---------------------------------------------------------------- sizes
def _npy(shape, descr="<f8", data=b""):
    buffer = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + data


def _raw_rewrite(path, change, compression=zipfile.ZIP_STORED):
    """Rewrite the archive's members as bytes: ``change(dict name -> bytes)``."""
    with zipfile.ZipFile(path) as archive:
        members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    members = change(members)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns of duplicate names
        with zipfile.ZipFile(path, "w", compression=compression) as archive:
            for name, data in members:
                archive.writestr(name, data)


def _replace(name, data):
    return lambda members: [(n, data if n == name else d) for n, d in members]


@pytest.fixture
def opened(monkeypatch):
    """The names of the archive members read (decompressed) while a test runs."""
    names = []
    original = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        names.append(getattr(name, "filename", name))
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    return names


@pytest.mark.parametrize(
    ("kind", "member"), [("binary", "coefs_0.npy"), ("perceptron", "coef_.npy")]
)
def test_a_member_declaring_a_16_tib_shape_is_refused_unallocated(tmp_path, kind, member):
    est, _, _ = _fit(kind, _NumpyBackend())
    path = tmp_path / "m.npz"
    save(est, path)
    _raw_rewrite(path, _replace(member, _npy((1, 2**41), data=bytes(64))))
    with pytest.raises(ValueError, match=f"'{member[:-4]}' (has shape|declares 17592186044416)"):
        load(path)


def test_an_unused_member_is_refused_unread(tmp_path, opened):
    est, _, _ = _fit("binary", _NumpyBackend())
    path = tmp_path / "m.npz"
    save(est, path)
    with (
        zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open("junk.npy", "w") as junk,  # 64 MiB of zeros, 64 KiB compressed
    ):
        junk.write(_npy((2**23,)))
        for _ in range(64):
            junk.write(bytes(2**20))
    assert path.stat().st_size < 2**20
    opened.clear()
    with pytest.raises(ValueError, match=r"has no member \['junk'\]"):
        load(path)
    assert "junk.npy" not in opened
    assert read_metadata(path) == {}
    assert "junk.npy" not in opened


def test_read_metadata_reads_only_the_header(tmp_path, opened):
    est, _, _ = _fit("classifier", _NumpyBackend())
    save(est, tmp_path / "m.npz", metadata={"columns": ["a", "b", "c"]})
    opened.clear()
    assert read_metadata(tmp_path / "m.npz") == {"columns": ["a", "b", "c"]}
    assert opened == ["header.npy"]


def _declare_size(path, name, size):
    """Patch the central directory: member ``name`` declares ``size`` bytes uncompressed."""
    data = bytearray(path.read_bytes())
    entry = data.index(b"PK\x01\x02")
    while True:
        (length,) = struct.unpack_from("<H", data, entry + 28)
        if data[entry + 46 : entry + 46 + length] == name.encode():
            break
        entry = data.index(b"PK\x01\x02", entry + 4)
    struct.pack_into("<I", data, entry + 24, size)
    path.write_bytes(bytes(data))


def test_a_member_declaring_more_than_its_compressed_bytes_hold_is_refused(tmp_path, opened):
    est, _, _ = _fit("binary", _NumpyBackend())
    path = tmp_path / "m.npz"
    save(est, path)
    _raw_rewrite(path, lambda members: members, compression=zipfile.ZIP_DEFLATED)
    load(path)  # a deflated checkpoint (numpy.savez_compressed) loads
    _declare_size(path, "coefs_0.npy", 2**32 - 1)
    opened.clear()
    with pytest.raises(ValueError, match=r"'coefs_0' declares 4294967295 bytes in .* cannot hold"):
        load(path)
    assert opened == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: [*m, m[-1]], "appears twice"),
        (lambda m: [*m, ("notes.txt", b"hi")], "not an .npy array"),
        (lambda m: [*m, ("extra.npy", _npy((2,), data=bytes(16)))], r"no member \['extra'\]"),
        (_replace("header.npy", _npy((), "<i8", bytes(8))), "'header' has dtype int64"),
        (_replace("coefs_0.npy", _npy((3, 5), data=bytes(8))), "declares 120 bytes .* holds 8"),
        (_replace("coefs_0.npy", _npy((3, 5), data=bytes(128))), "declares 120 bytes .* holds 128"),
        (_replace("coefs_0.npy", _npy((3, 5), "<f4", bytes(60))), "dtype float32; expected floats"),
        (_replace("coefs_0.npy", _npy((3, 5), "|O", bytes(120))), "dtype object"),
        (_replace("coefs_0.npy", b"\x93NUMPY\x09\x00"), "npy format"),
    ],
)
def test_a_member_list_a_checkpoint_cannot_hold_is_refused(tmp_path, change, message):
    est, _, _ = _fit("binary", _NumpyBackend())
    path = tmp_path / "m.npz"
    save(est, path)
    _raw_rewrite(path, change)
    with pytest.raises(ValueError, match=message):
        load(path)


def _nested(depth):
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(("field", "reader"), [("metadata", "load"), ("params", "read_metadata")])
def test_a_deeply_nested_header_is_refused_without_recursion(tmp_path, field, reader):
    est, _, _ = _fit("binary", _NumpyBackend())
    path = tmp_path / "m.npz"
    save(est, path, metadata={"deep": 0})

    def change(members):
        text = str(members["header"])
        if field == "metadata":
            text = text.replace('{"deep": 0}', '{"deep": ' + _nested(100_000) + "}")
        else:
            text = text.replace('"alpha": 0.0001', '"alpha": ' + _nested(100_000))
        members["header"] = np.array(text)

    _rewrite(path, change)
    with pytest.raises(ValueError, match=r"nests 10000\d levels deep; at most 64"):
        getattr(xperceptron.io, reader)(path)


def test_metadata_too_deep_or_too_large_is_refused_by_save_and_load(tmp_path, monkeypatch):
    est, _, _ = _fit("binary", _NumpyBackend())
    deep = json.loads(_nested(70))
    with pytest.raises(ValueError, match="nests 72 levels deep"):
        save(est, tmp_path / "deep.npz", metadata={"x": deep})
    save(est, tmp_path / "m.npz", metadata={"notes": "x" * 5000})
    monkeypatch.setattr(xperceptron.io, "HEADER_CHARS", 4000)
    with pytest.raises(ValueError, match=r"holds .* bytes; at most 16000"):
        load(tmp_path / "m.npz")
    with pytest.raises(ValueError, match=r"the header has .* characters; .* at most 4000"):
        save(est, tmp_path / "big.npz", metadata={"notes": "x" * 5000})
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]


# ---------------------------------------------------------------- saving
@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_a_new_checkpoint_has_the_permissions_the_umask_gives(tmp_path, umask):
    est, _, _ = _fit("perceptron", _NumpyBackend())
    previous = os.umask(umask)
    try:
        save(est, tmp_path / "m.npz")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "m.npz").stat().st_mode) == 0o666 & ~umask


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_replaced_checkpoint_keeps_its_permissions(tmp_path):
    est, _, _ = _fit("perceptron", _NumpyBackend())
    path = tmp_path / "m.npz"
    path.write_bytes(b"old")
    path.chmod(0o640)
    save(est, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert load(path).n_iter_ == est.n_iter_


def test_saving_to_a_symlink_writes_through_it(tmp_path):
    est, _, _ = _fit("perceptron", _NumpyBackend())
    (tmp_path / "store").mkdir()
    real, link = tmp_path / "store" / "m.npz", tmp_path / "m.npz"
    try:
        link.symlink_to(real)
    except OSError:  # pragma: no cover - no symlinks here (Windows without the privilege)
        pytest.skip("cannot make symbolic links")
    save(est, link)  # a dangling link: its target is created
    assert link.is_symlink()
    assert real.is_file()
    save(est, link, metadata={"again": True})  # an existing target: replaced, the link kept
    assert link.is_symlink()
    assert read_metadata(real) == {"again": True}
    assert os.listdir(tmp_path / "store") == ["m.npz"]
    assert sorted(os.listdir(tmp_path)) == ["m.npz", "store"]


# ---------------------------------------------------------------- messages
def test_a_dtype_the_namespace_lacks_is_named(tmp_path):
    strict = pytest.importorskip("array_api_strict")
    est, _, _ = _fit("regressor", _NumpyBackend())
    path = tmp_path / "m.npz"
    save(est, path)
    with pytest.raises(ValueError, match="is not a floating dtype of array_api_strict") as bad:
        load(path, xp=strict, dtype=np.float32)
    assert "malformed" not in str(bad.value)

    def half(members):
        for key, value in members.items():
            if value.dtype.kind == "f":
                members[key] = value.astype(np.float16)
        _at("dtype", value="float16")(members)

    _rewrite(path, half)  # float16 parameters: exact in float32, in which they are computed
    assert load(path).coefs_[0].dtype == np.float32
    assert load(path, xp=strict).coefs_[0].dtype == strict.float32
    with pytest.raises(ValueError, match="dtype=float16: xperceptron computes in float32"):
        load(path, dtype=np.float16)


def test_a_device_the_namespace_lacks_is_named(tmp_path):
    est, _, _ = _fit("binary", _NumpyBackend())
    save(est, tmp_path / "m.npz")
    with pytest.raises(ValueError, match=r"numpy cannot make .* arrays on device 'gpu'"):
        load(tmp_path / "m.npz", device="gpu")
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this torch has CUDA")
    with pytest.raises(ValueError, match=r"torch cannot make .* arrays on device 'cuda'"):
        load(tmp_path / "m.npz", xp=torch, device="cuda")


def test_a_checkpoint_from_before_max_fun_and_loss_loads_with_their_defaults(tmp_path):
    # Files written before these parameters existed lack them; the estimator then behaved
    # as their defaults do. Any other missing parameter is still refused.
    est, X, _ = _fit("regressor", _NumpyBackend())
    path = tmp_path / "old.npz"
    save(est, path)
    _rewrite(path, _at("params", "max_fun"))
    _rewrite(path, _at("params", "loss"))
    old = load(path)
    assert (old.max_fun, old.loss) == (15000, "squared_error")
    np.testing.assert_array_equal(old.predict(X), est.predict(X))
    _rewrite(path, _at("params", "alpha"))
    with pytest.raises(ValueError, match=r"parameters has unexpected fields: missing \['alpha'\]"):
        load(path)
