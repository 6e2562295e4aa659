"""ONNX export: onnxruntime runs the traced graph and reproduces predict and predict_proba.

Tolerances follow the dtype: the graph does the same arithmetic as NumPy, but onnxruntime's
kernels (matmul blocking, exp, log, tanh) round differently, a few units in the last place
of each of a few dozen operations: about 1e-15 relative in float64 (1e-12 leaves room) and
1e-7 in float32 (1e-5 leaves room). Labels must be equal.
"""

from __future__ import annotations

import json
import os
import sys
import warnings

import numpy as np
import pytest

import xperceptron
from xperceptron import MLPClassifier, MLPRegressor, NotFittedError, Perceptron, export_onnx
from xperceptron._namespace import to_numpy
from xperceptron.activations import ACTIVATIONS
from xperceptron.datasets import logic_gate
from xperceptron.exceptions import ConvergenceWarning

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("ndonnx")

TOLERANCE = {np.dtype("float32"): 1e-5, np.dtype("float64"): 1e-12}
DTYPES = ["float32", "float64"]
pytestmark = pytest.mark.filterwarnings("ignore::xperceptron.exceptions.ConvergenceWarning")

# Every output kind in both dtypes; the hidden activation turns with the output, so that
# each activation also runs once in each dtype. (The hidden layers' code does not depend on
# the output layer's, nor the other way round: the full product would test nothing more,
# and each export takes ndonnx about half a second to trace.)
CLASSIFIER_OUTPUTS = ["binary-strings", "multiclass-ints", "multilabel"]
REGRESSOR_OUTPUTS = ["identity-1d", "identity-2d", "poisson"]
_TURNS = [
    (kind, sorted(ACTIVATIONS)[(index + 3 * (dtype == "float32")) % len(ACTIVATIONS)], dtype)
    for dtype in DTYPES
    for index, kind in enumerate(CLASSIFIER_OUTPUTS + REGRESSOR_OUTPUTS)
]
CLASSIFIER_CASES = [case for case in _TURNS if case[0] in CLASSIFIER_OUTPUTS]
REGRESSOR_CASES = [case for case in _TURNS if case[0] in REGRESSOR_OUTPUTS]


def _session(estimator, tmp_path):
    path = tmp_path / "model.onnx"
    export_onnx(estimator, path)
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _run(session, X):
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, {"X": X}), strict=True))


def _data(dtype, n_samples=40, n_features=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n_samples, n_features)).astype(dtype)


def _targets(kind, X):
    """Labels (or a multilabel indicator) that depend on X, of several dtypes."""
    first, second = X[:, 0] > 0, X[:, 1] > 0
    if kind == "binary-strings":
        return np.array(["no", "yes"])[first.astype(int)]
    if kind == "multiclass-ints":
        return np.array([3, 7, 11])[first.astype(int) + (first & second)]
    if kind == "multiclass-strings":
        return np.array(["cat", "dog", "emu", "fox"])[2 * first.astype(int) + second]
    return np.stack([first, second, first ^ second], axis=1).astype(int)  # multilabel


def _check_classifier(estimator, session, X):
    outputs = _run(session, X)
    tolerance = TOLERANCE[X.dtype]
    expected = to_numpy(estimator.predict(X))
    assert outputs["label"].shape == expected.shape
    np.testing.assert_array_equal(outputs["label"].astype(expected.dtype), expected)
    if expected.dtype.kind == "U":  # strings come back as Python str objects
        assert outputs["label"].dtype == object
    else:
        assert outputs["label"].dtype == expected.dtype
    proba = to_numpy(estimator.predict_proba(X))
    assert outputs["probabilities"].dtype == X.dtype
    np.testing.assert_allclose(outputs["probabilities"], proba, rtol=tolerance, atol=tolerance)


def test_every_activation_and_output_runs_in_both_dtypes():
    for dtype in DTYPES:
        cases = [case for case in _TURNS if case[2] == dtype]
        assert sorted(activation for _, activation, _ in cases) == sorted(ACTIVATIONS)
        assert [kind for kind, _, _ in cases] == CLASSIFIER_OUTPUTS + REGRESSOR_OUTPUTS


@pytest.mark.parametrize(("kind", "activation", "dtype"), CLASSIFIER_CASES)
def test_classifier_matches_predict_and_predict_proba(tmp_path, activation, kind, dtype):
    X = _data(dtype)
    clf = MLPClassifier((6, 5), activation, learning_rate_init=0.05, max_iter=30, random_state=0)
    clf.fit(X, _targets(kind, X))
    assert clf.out_activation_ == ("softmax" if kind == "multiclass-ints" else "logistic")
    session = _session(clf, tmp_path)
    _check_classifier(clf, session, _data(dtype, n_samples=25, seed=1))


@pytest.mark.parametrize(("output", "activation", "dtype"), REGRESSOR_CASES)
def test_regressor_matches_predict(tmp_path, activation, output, dtype):
    X = _data(dtype)
    y = np.stack([np.sin(X[:, 0]) + X[:, 1], X[:, 2] * X[:, 3]], axis=1)
    if output == "identity-1d":
        y = y[:, 0]
    loss = "poisson" if output == "poisson" else "squared_error"
    if loss == "poisson":
        y = np.exp(y / 2)
    reg = MLPRegressor((6, 5), activation, loss=loss, learning_rate_init=0.02, max_iter=30,
                       random_state=0).fit(X, y)  # fmt: skip
    assert reg.out_activation_ == ("exp" if loss == "poisson" else "identity")
    X_new = _data(dtype, n_samples=25, seed=1)
    outputs = _run(_session(reg, tmp_path), X_new)
    assert list(outputs) == ["predictions"]
    expected = to_numpy(reg.predict(X_new))
    assert outputs["predictions"].shape == expected.shape
    assert outputs["predictions"].dtype == X.dtype
    tolerance = TOLERANCE[X.dtype]
    np.testing.assert_allclose(outputs["predictions"], expected, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize(
    ("kind", "rule", "dtype"),
    [
        ("binary-strings", "threshold", "float64"),
        ("multiclass-strings", "logistic", "float64"),
        ("binary-strings", "logistic", "float32"),
        ("multiclass-ints", "threshold", "float32"),
    ],
)
def test_perceptron_matches_predict_and_predict_proba(tmp_path, kind, rule, dtype):
    X = _data(dtype)
    clf = Perceptron(rule=rule, max_iter=50).fit(X, _targets(kind, X))
    _check_classifier(clf, _session(clf, tmp_path), _data(dtype, n_samples=25, seed=1))


def test_the_tutorial_perceptron_keeps_its_threshold(tmp_path):
    # The AND gate's final logits lie 0.025 from the boundary; the exported threshold (the
    # tutorial's sigmoid, >= 0.5) labels the truth table as the estimator does.
    X, y = logic_gate("and")
    clf = Perceptron().fit(X, y, coef_init=[(0.4, 0.2)], intercept_init=[1.0])
    outputs = _run(_session(clf, tmp_path), X)
    assert outputs["label"].tolist() == [0, 0, 0, 1]
    _check_classifier(clf, _session(clf, tmp_path), X)


def test_exported_from_every_backend(tmp_path, backend):
    X_host = _data("float64")
    y = _targets("multiclass-ints", X_host)
    clf = MLPClassifier((5,), "tanh", learning_rate_init=0.05, max_iter=20, random_state=0)
    clf.fit(backend.asarray(X_host), backend.asarray(y))
    dtype = to_numpy(clf.coefs_[0]).dtype
    assert dtype == np.dtype("float64" if backend.float64 else "float32")
    X_new = _data(dtype, n_samples=9, seed=2)
    outputs = _run(_session(clf, tmp_path), X_new)
    predicted = clf.predict(backend.asarray(X_new))
    np.testing.assert_array_equal(outputs["label"], to_numpy(predicted))
    tolerance = TOLERANCE[dtype]
    proba = to_numpy(clf.predict_proba(backend.asarray(X_new)))
    np.testing.assert_allclose(outputs["probabilities"], proba, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("dtype", DTYPES)
def test_input_has_a_symbolic_batch_and_the_models_dtype(tmp_path, dtype):
    X = _data(dtype)
    clf = MLPClassifier((4,), max_iter=5, random_state=0).fit(X, _targets("binary-strings", X))
    session = _session(clf, tmp_path)
    (given,) = session.get_inputs()
    assert given.name == "X"
    assert given.shape == ["n_samples", 4]
    assert given.type == ("tensor(float)" if dtype == "float32" else "tensor(double)")
    shapes = {output.name: output.shape for output in session.get_outputs()}
    assert shapes == {"label": ["n_samples"], "probabilities": ["n_samples", 2]}
    for n_samples in (1, 7, 300):  # one graph, any batch
        X_new = _data(dtype, n_samples=n_samples, seed=n_samples)
        outputs = _run(session, X_new)
        assert outputs["label"].shape == (n_samples,)
        assert outputs["probabilities"].shape == (n_samples, 2)


def test_metadata_names_the_producer_and_the_features(tmp_path):
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(_data("float64", n_features=2), columns=["width", "height"])
    reg = MLPRegressor((3,), max_iter=5, random_state=0).fit(X, X["width"] * 2)
    meta = _session(reg, tmp_path).get_modelmeta()
    assert meta.producer_name == "xperceptron"
    assert meta.version is not None
    assert "MLPRegressor" in meta.description
    assert json.loads(meta.custom_metadata_map["feature_names"]) == ["width", "height"]


def test_a_loaded_checkpoint_exports_as_the_model_it_was(tmp_path):
    X = _data("float32")
    clf = MLPClassifier((5,), "softplus", max_iter=10, random_state=0)
    clf.fit(X, _targets("multiclass-strings", X))
    xperceptron.save(clf, tmp_path / "model.npz")
    loaded = xperceptron.load(tmp_path / "model.npz")
    _check_classifier(clf, _session(loaded, tmp_path), _data("float32", n_samples=12, seed=3))


@pytest.mark.parametrize("estimator", [MLPClassifier(), MLPRegressor(), Perceptron()], ids=repr)
def test_an_unfitted_estimator_is_refused_before_anything_is_written(tmp_path, estimator):
    path = tmp_path / "model.onnx"
    with pytest.raises(NotFittedError, match="not fitted yet"):
        export_onnx(estimator, path)
    assert not path.exists()


def test_other_objects_are_refused(tmp_path):
    with pytest.raises(TypeError, match="MLPClassifier, MLPRegressor and Perceptron, not dict"):
        export_onnx({}, tmp_path / "model.onnx")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("relative", "error", "message"),
    [
        ("missing/model.onnx", FileNotFoundError, "folder .*missing does not exist"),
        (".", IsADirectoryError, "is a folder"),
        ("afile/model.onnx", NotADirectoryError, "afile is not a folder"),
        ("", ValueError, "non-empty file name"),
    ],
)
def test_bad_paths_are_refused_before_anything_is_written(tmp_path, relative, error, message):
    X, y = logic_gate("or")
    clf = Perceptron().fit(X, y)
    (tmp_path / "afile").write_text("not a folder")
    path = str(tmp_path / relative) if relative else ""
    with pytest.raises(error, match=message):
        export_onnx(clf, path)
    assert sorted(os.listdir(tmp_path)) == ["afile"]


def test_without_ndonnx_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ndonnx", None)  # import ndonnx raises ImportError
    X, y = logic_gate("or")
    with pytest.raises(ImportError, match=r"pip install 'xperceptron\[onnx\]'"):
        export_onnx(Perceptron().fit(X, y), tmp_path / "model.onnx")
    assert not (tmp_path / "model.onnx").exists()


def test_export_writes_nothing_but_the_model(tmp_path):
    X, y = logic_gate("xor")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((8,), "tanh", learning_rate_init=0.05, max_iter=500, random_state=0)
        clf.fit(X, y)
    _session(clf, tmp_path)
    assert os.listdir(tmp_path) == ["model.onnx"]
    assert _run(_session(clf, tmp_path), X)["label"].tolist() == [0, 1, 1, 0]
