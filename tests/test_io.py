"""Checkpoints: bit-for-bit round trips across backends, resumable training, safe loading."""

from __future__ import annotations

import json
import os
import warnings
import zipfile

import numpy as np
import pytest

import xperceptron
from xperceptron import ConvergenceWarning, MLPClassifier, MLPRegressor, Perceptron, load, save
from xperceptron._namespace import to_numpy


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
    with pytest.raises(ValueError, match="Object arrays cannot be loaded"):
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
