"""pandas input, side by side with scikit-learn: labels held in Series of any dtype,
DataFrames of any numeric dtype (the nullable ones too), ``feature_names_in_`` and its
checks at predict time. pandas input is read with NumPy, so these run on the NumPy backend."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings

import numpy as np
import pytest

from xperceptron import ConvergenceWarning, MLPClassifier, MLPRegressor, Perceptron

pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")
from sklearn.linear_model import Perceptron as SkPerceptron  # noqa: E402
from sklearn.metrics import accuracy_score  # noqa: E402
from sklearn.neural_network import MLPClassifier as SkMLPClassifier  # noqa: E402
from sklearn.neural_network import MLPRegressor as SkMLPRegressor  # noqa: E402
from sklearn.utils.estimator_checks import (  # noqa: E402
    check_dataframe_column_names_consistency,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

N = 40
RNG = np.random.default_rng(0)
FEATURES = RNG.normal(size=(N, 3))
WORDS = np.where(FEATURES[:, 0] > 0, "pos", "neg")
NUMBERS = np.where(FEATURES[:, 0] > 0, 3, 1)

CLASSIFIERS = {
    "MLPClassifier": (lambda: MLPClassifier((5,), max_iter=3, random_state=0)),
    "Perceptron": (lambda: Perceptron(max_iter=3)),
}
ESTIMATORS = {
    **CLASSIFIERS,
    "MLPRegressor": (lambda: MLPRegressor((5,), max_iter=3, random_state=0)),
}
SKLEARN = {
    "MLPClassifier": (lambda: SkMLPClassifier((5,), max_iter=3, random_state=0)),
    "Perceptron": (lambda: SkPerceptron(max_iter=3)),
    "MLPRegressor": (lambda: SkMLPRegressor(hidden_layer_sizes=(5,), max_iter=3, random_state=0)),
}
METHODS = {
    "MLPClassifier": ["predict", "predict_proba", "predict_log_proba", "score"],
    "Perceptron": ["predict", "predict_proba", "decision_function", "score"],
    "MLPRegressor": ["predict", "score"],
}


def _frame(columns=("a", "b", "c"), values=FEATURES):
    return pd.DataFrame(values, columns=list(columns))


def _target(name, size=N):
    return pd.Series(NUMBERS[:size] if name != "MLPRegressor" else FEATURES[:size, 0] * 2.0)


def _fit(est, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kwargs)


def _call(est, method, X, y):
    return getattr(est, method)(X, y) if method == "score" else getattr(est, method)(X)


def _outcome(est, method, X, y):
    """What calling ``method`` says: (warning messages, error type and message), the
    estimator's class name replaced by a placeholder."""
    kind = type(est).__name__
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            _call(est, method, X, y)
            error = None
        except (TypeError, ValueError) as exc:
            error = (type(exc).__name__, str(exc))
    said = [
        (w.category.__name__, str(w.message).replace(kind, "EST"))
        for w in caught
        if "feature names" in str(w.message)
    ]
    return said, error


# ------------------------------------------------------------------ labels in a Series


def _categorical_with_unused():
    return pd.Series(pd.Categorical(WORDS, categories=["zzz", "pos", "aaa", "neg"]))


LABEL_SERIES = {
    "object": lambda: pd.Series(WORDS, dtype=object),
    "str": lambda: pd.Series(WORDS, dtype="str"),
    "string": lambda: pd.Series(WORDS, dtype="string"),
    "category": lambda: pd.Series(WORDS, dtype="category"),
    "category-unused": _categorical_with_unused,
    "category-of-ints": lambda: pd.Series(pd.Categorical(NUMBERS, categories=[5, 3, 1])),
}


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
@pytest.mark.parametrize("dtype", sorted(LABEL_SERIES))
def test_labels_in_a_series_give_scikit_learns_classes(dtype, name):
    y = LABEL_SERIES[dtype]()
    ours = _fit(CLASSIFIERS[name](), FEATURES, y)
    theirs = _fit(SKLEARN[name](), FEATURES, y)
    # Only the labels present, sorted, in scikit-learn's dtype (str, not object).
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    assert ours.classes_.dtype == theirs.classes_.dtype
    predicted = ours.predict(FEATURES)
    assert predicted.dtype == theirs.predict(FEATURES).dtype
    assert set(predicted.tolist()) <= set(theirs.classes_.tolist())
    assert ours.score(FEATURES, y) == accuracy_score(y, predicted)


@pytest.mark.parametrize("dtype", ["object", "str", "category"])
def test_partial_fit_reads_classes_and_labels_from_pandas(dtype):
    y = pd.Series(WORDS, dtype=dtype)
    X = _frame()
    ours = MLPClassifier((5,), random_state=0).partial_fit(X, y, classes=y.unique())
    theirs = SkMLPClassifier((5,), random_state=0).partial_fit(X, y, classes=y.unique())
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    assert ours.classes_.dtype == theirs.classes_.dtype  # <U3, not object
    ours.partial_fit(X, y)  # later calls: the same classes, read the same way
    assert ours.predict(X).dtype == theirs.predict(X).dtype


NULLABLE_LABELS = {  # pandas dtype -> the classes_ expected (NumPy's for the same values)
    "Int64": (lambda: pd.Series(NUMBERS, dtype="Int64"), np.array([1, 3])),
    "Float64": (lambda: pd.Series(NUMBERS, dtype="Float64"), np.array([1.0, 3.0])),
    "boolean": (lambda: pd.Series(NUMBERS > 1, dtype="boolean"), np.array([False, True])),
    "DataFrame-column": (lambda: pd.DataFrame({"label": NUMBERS}), np.array([1, 3])),
}


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
@pytest.mark.parametrize("dtype", sorted(NULLABLE_LABELS))
def test_nullable_labels_are_read_as_numbers(dtype, name):
    make, expected = NULLABLE_LABELS[dtype]
    y = make()
    est, sk = CLASSIFIERS[name](), SKLEARN[name]()
    with warnings.catch_warnings():
        # A one-column DataFrame is a column vector: both flatten it and say so.
        warnings.simplefilter("ignore", UserWarning)
        _fit(est, FEATURES, y)
        _fit(sk, FEATURES, y)
        score = est.score(FEATURES, y)
    np.testing.assert_array_equal(est.classes_, expected)
    assert est.classes_.dtype == expected.dtype
    # scikit-learn's classes are the same values (it reads nullable labels as floats:
    # its 1.0, 3.0 and 0.0, 1.0 compare equal to 1, 3 and False, True).
    np.testing.assert_array_equal(est.classes_, sk.classes_)
    truth = np.asarray(y, dtype=float).ravel()
    assert score == accuracy_score(truth, np.asarray(est.predict(FEATURES), dtype=float))


MISSING_LABELS = {
    "Int64": lambda: pd.Series(NUMBERS, dtype="Int64").where(np.arange(N) != 3),
    "boolean": lambda: pd.Series(NUMBERS > 1, dtype="boolean").where(np.arange(N) != 3),
    "object-None": lambda: pd.Series(WORDS, dtype=object).where(np.arange(N) != 3, None),
    "str-NaN": lambda: pd.Series(WORDS, dtype="str").where(np.arange(N) != 3),
    "category-NaN": lambda: pd.Series(WORDS, dtype="category").where(np.arange(N) != 3),
}


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
@pytest.mark.parametrize("dtype", sorted(MISSING_LABELS))
def test_missing_labels_are_refused_by_name(dtype, name):
    y = MISSING_LABELS[dtype]()
    with pytest.raises(ValueError, match=r"y has 1 missing label\(s\) \(NaN, None or NA\)"):
        CLASSIFIERS[name]().fit(FEATURES, y)
    with pytest.raises((TypeError, ValueError)):  # scikit-learn refuses them too
        SKLEARN[name]().fit(FEATURES, y)


def test_labels_of_mixed_types_are_refused_with_the_types_named():
    y = pd.Series([1, "a"] * (N // 2), dtype=object)
    for est in (MLPClassifier(), Perceptron()):
        with pytest.raises(TypeError, match=r"y holds labels of mixed types \(int, str\)"):
            est.fit(FEATURES, y)
    with pytest.raises(TypeError):  # scikit-learn refuses them too
        SkMLPClassifier().fit(FEATURES, y)


# ------------------------------------------------------------------ numbers in a DataFrame


NULLABLE_FRAMES = {
    "Int64": ("Int64", np.float64),
    "Float64": ("Float64", np.float64),
    "Float32": ("Float32", np.float32),
    "float32": ("float32", np.float32),
    "boolean": ("boolean", np.float64),
}


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
@pytest.mark.parametrize("dtype", sorted(NULLABLE_FRAMES))
def test_numeric_and_nullable_frames_train_as_their_numpy_values(dtype, name):
    pandas_dtype, float_dtype = NULLABLE_FRAMES[dtype]
    values = FEATURES > 0 if pandas_dtype == "boolean" else np.round(FEATURES * 4)
    X = _frame(values=values).astype(pandas_dtype)
    y = _target(name)
    from_frame = _fit(ESTIMATORS[name](), X, y)
    from_numpy = _fit(ESTIMATORS[name](), values.astype(float_dtype), y.to_numpy())
    weights = from_frame.coefs_[0] if hasattr(from_frame, "coefs_") else from_frame.coef_
    assert weights.dtype == float_dtype  # float32 columns stay float32, as NumPy's do
    expected = from_numpy.coefs_[0] if hasattr(from_numpy, "coefs_") else from_numpy.coef_
    np.testing.assert_array_equal(weights, expected)
    np.testing.assert_array_equal(from_frame.predict(X), from_numpy.predict(values))
    _fit(SKLEARN[name](), X, y)  # scikit-learn reads them too


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_missing_values_in_a_frame_are_refused_by_name(name):
    X = _frame().astype("Float64").mask(FEATURES > 1.5)
    with pytest.raises(ValueError, match="X contains NaN or infinity; remove or impute"):
        ESTIMATORS[name]().fit(X, _target(name))
    fitted = _fit(ESTIMATORS[name](), _frame(), _target(name))
    with pytest.raises(ValueError, match="X contains NaN or infinity; remove or impute"):
        fitted.predict(X)
    with pytest.raises(ValueError, match="X contains NaN"):  # scikit-learn says so too
        SKLEARN[name]().fit(X, _target(name))


@pytest.mark.parametrize(
    ("column", "dtype"),
    [(pd.Categorical(["u", "v"] * (N // 2)), "category"), (["u"] * N, "(str|object)"),
     (pd.date_range("2020-01-01", periods=N), "datetime64")],
)  # fmt: skip
def test_columns_that_are_not_numbers_are_named(column, dtype):
    X = _frame().assign(c=column)
    with pytest.raises(
        TypeError, match=rf"X must hold real numbers, but its column\(s\) 'c' \({dtype}"
    ):
        MLPClassifier().fit(X, NUMBERS)
    with pytest.raises((TypeError, ValueError)):  # scikit-learn refuses them too
        SkMLPClassifier().fit(X, NUMBERS)


# ------------------------------------------------------------------ targets in pandas


REGRESSION_TARGETS = {
    "float64": lambda: pd.Series(FEATURES[:, 0]),
    "Float64": lambda: pd.Series(FEATURES[:, 0], dtype="Float64"),
    "Int64": lambda: pd.Series(NUMBERS, dtype="Int64"),
    "DataFrame": lambda: pd.DataFrame({"u": FEATURES[:, 0], "v": NUMBERS}),
}


@pytest.mark.parametrize("dtype", sorted(REGRESSION_TARGETS))
def test_regression_targets_in_pandas_train_as_their_numpy_values(dtype):
    y = REGRESSION_TARGETS[dtype]()
    values = np.ascontiguousarray(y.to_numpy(dtype=float))  # row-major, as the frame is read
    from_pandas = _fit(MLPRegressor((5,), max_iter=3, random_state=0), _frame(), y)
    from_numpy = _fit(MLPRegressor((5,), max_iter=3, random_state=0), FEATURES, values)
    np.testing.assert_array_equal(from_pandas.coefs_[-1], from_numpy.coefs_[-1])
    assert from_pandas.predict(_frame()).shape == np.shape(y)
    assert from_pandas.score(_frame(), y) == from_numpy.score(FEATURES, values)
    sk = _fit(SkMLPRegressor(hidden_layer_sizes=(5,), max_iter=3, random_state=0), _frame(), y)
    assert sk.predict(_frame()).shape == np.shape(y)


def test_missing_regression_targets_are_refused_by_name():
    y = pd.Series(FEATURES[:, 0], dtype="Float64").mask(FEATURES[:, 0] > 1)
    with pytest.raises(ValueError, match="y contains NaN or infinity; remove or impute"):
        MLPRegressor().fit(FEATURES, y)
    with pytest.raises(
        TypeError, match=r"y must hold real numbers; its values of dtype (str|object)"
    ):
        MLPRegressor().fit(FEATURES, pd.Series(["x"] * N, dtype="str"))


@pytest.mark.parametrize("dtype", ["int64", "Int64", "bool", "boolean"])
def test_multilabel_targets_in_a_dataframe_fit_and_score(dtype):
    Y = pd.DataFrame({"p": FEATURES[:, 0] > 0, "q": FEATURES[:, 1] > 0}).astype(dtype)
    est = _fit(MLPClassifier((5,), max_iter=30, random_state=0), _frame(), Y)
    same = _fit(MLPClassifier((5,), max_iter=30, random_state=0), FEATURES,
                Y.to_numpy(dtype=int))  # fmt: skip
    np.testing.assert_array_equal(est.coefs_[-1], same.coefs_[-1])
    np.testing.assert_array_equal(est.classes_, [0, 1])
    predicted = est.predict(_frame())
    assert est.score(_frame(), Y) == accuracy_score(Y.to_numpy(dtype=int), predicted)
    sk = _fit(SkMLPClassifier((5,), max_iter=30, random_state=0), _frame(), Y)
    assert sk.predict(_frame()).shape == predicted.shape


def test_missing_multilabel_targets_are_refused_by_name():
    Y = pd.DataFrame({"p": FEATURES[:, 0] > 0, "q": FEATURES[:, 1] > 0}).astype("Int64")
    est = _fit(MLPClassifier((5,), max_iter=3, random_state=0), _frame(), Y)
    Y.iloc[0, 0] = pd.NA
    with pytest.raises(ValueError, match=r"0/1 multilabel indicator matrix \(no NaN or NA\)"):
        MLPClassifier().fit(_frame(), Y)
    with pytest.raises(ValueError, match="0/1 multilabel indicator, without missing values"):
        est.score(_frame(), Y)


# ------------------------------------------------------------------ feature names


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_feature_names_in_as_scikit_learn_sets_them(name):
    est = _fit(ESTIMATORS[name](), _frame(), _target(name))
    sk = _fit(SKLEARN[name](), _frame(), _target(name))
    np.testing.assert_array_equal(est.feature_names_in_, sk.feature_names_in_)
    assert est.feature_names_in_.dtype == object
    assert est.n_features_in_ == 3
    # Column names that are not all strings give none, in both.
    for columns in ([0, 1, 2], [1.5, 2.5, 3.5]):
        for model in (_fit(ESTIMATORS[name](), _frame(columns), _target(name)),
                      _fit(SKLEARN[name](), _frame(columns), _target(name))):  # fmt: skip
            assert not hasattr(model, "feature_names_in_")
    # Strings mixed with other names: the same TypeError.
    messages = []
    for make in (ESTIMATORS[name], SKLEARN[name]):
        with pytest.raises(TypeError, match="Feature names are only supported if all") as caught:
            make().fit(_frame(["a", 1, "c"]), _target(name))
        messages.append(str(caught.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_a_later_fit_without_names_removes_them(name):
    for est in (ESTIMATORS[name](), SKLEARN[name]()):
        _fit(est, _frame(), _target(name))
        assert hasattr(est, "feature_names_in_")
        _fit(est, FEATURES, _target(name).to_numpy())
        assert not hasattr(est, "feature_names_in_")
        _fit(est, _frame(["x", "y", "z"]), _target(name))
        assert est.feature_names_in_.tolist() == ["x", "y", "z"]


PREDICT_CASES = {
    # fitted on, then given: scikit-learn's semantics for each pair
    "names-then-none": ("abc", None),
    "none-then-names": (None, "abc"),
    "other-order": ("abc", "cba"),
    "unseen-and-missing": ("abc", "abd"),
    "missing": ("abc", "ab"),
    "unseen": ("ab", "abc"),
    "many-unseen": ("abc", "defghij"),
    "same": ("abc", "abc"),
    "integer-names": ("abc", (0, 1, 2)),
}


def _as_input(columns, n_columns=None):
    wide = np.tile(FEATURES, 3)
    if columns is None:
        return wide[:, :n_columns]
    return _frame(columns, wide[:, : len(columns)])


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
@pytest.mark.parametrize("case", sorted(PREDICT_CASES))
def test_predict_checks_feature_names_as_scikit_learn(case, name):
    fitted_on, given = PREDICT_CASES[case]
    n_columns = len(given if given is not None else fitted_on)
    X_fit = _as_input(fitted_on, 3)
    est = _fit(ESTIMATORS[name](), X_fit, _target(name))
    sk = _fit(SKLEARN[name](), X_fit, _target(name))
    X = _as_input(given, n_columns)
    for method in METHODS[name]:
        ours = _outcome(est, method, X, _target(name))
        # scikit-learn's Perceptron has no predict_proba: its predict is the oracle there.
        theirs = _outcome(sk, method if hasattr(sk, method) else "predict", X, _target(name))
        assert ours[0] == theirs[0], (method, ours, theirs)  # the same warnings
        assert (ours[1] is None) == (theirs[1] is None), (method, ours, theirs)
        if theirs[1] is not None and "feature names" in theirs[1][1]:
            assert ours[1] == theirs[1], method  # the same error, word for word
    if case == "names-then-none":
        with pytest.warns(UserWarning, match=re.escape(
            f"X does not have valid feature names, but {name} was fitted with feature names"
        )):  # fmt: skip
            est.predict(X)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_scikit_learns_own_column_name_check_passes(name):
    # scikit-learn's check of its estimators (not run by check_estimator): fit, every
    # prediction method, partial_fit's later calls, with warnings about names as errors.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("error", message=".*feature names", category=UserWarning)
        check_dataframe_column_names_consistency(name, ESTIMATORS[name]())


@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
def test_continuing_a_fit_checks_names_and_keeps_them(how, name):
    def cont(est, X):
        y = _target(name, len(X))
        if how == "warm_start":
            return _fit(est.set_params(warm_start=True), X, y)
        if name == "MLPClassifier":
            return est.partial_fit(X, y, classes=[1, 3])
        return est.partial_fit(X, y)

    for est in (ESTIMATORS[name](), SKLEARN[name]()):
        cont(est, _frame())
        with pytest.raises(ValueError, match="Feature names must be in the same order"):
            cont(est, _frame("cba"))
        with pytest.warns(UserWarning, match="X does not have valid feature names"):
            cont(est, FEATURES)
        assert est.feature_names_in_.tolist() == ["a", "b", "c"]  # kept


# ------------------------------------------------------------------ plots


def test_decision_boundary_draws_a_dataframe_and_string_labels():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from xperceptron.plot import decision_boundary

    X = _frame(["width", "height"], FEATURES[:, :2])
    y = pd.Series(WORDS, dtype="category")
    for est in (_fit(MLPClassifier((5,), max_iter=30, random_state=0), X, y),
                _fit(Perceptron(max_iter=30), X, y)):  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no warning about the grid's missing names
            ax = decision_boundary(est, X, y, resolution=20)
        np.testing.assert_array_equal(ax.collections[-1].get_offsets(), X.to_numpy())
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("width", "height")
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["neg", "pos"]
        with pytest.raises(ValueError, match="Feature names must be in the same order"):
            decision_boundary(est, X[["height", "width"]], y)
        plt.close("all")


# ------------------------------------------------------------------ pandas stays optional


def test_importing_and_fitting_never_imports_pandas():
    code = (
        "import sys, numpy as np, xperceptron\n"
        # partial_fit: no ConvergenceWarning, whose scikit-learn class imports scikit-learn
        # (and scikit-learn imports pandas where it is installed).
        "est = xperceptron.MLPClassifier().partial_fit(np.eye(4), [0, 1, 0, 1], classes=[0, 1])\n"
        "est.predict(np.eye(4))\n"
        "print('pandas' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True
    )
    assert result.stdout.strip() == "False", result.stderr


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_feature_names_survive_a_checkpoint(name, tmp_path):
    import json

    from xperceptron import load, save

    est = _fit(ESTIMATORS[name](), _frame(), _target(name))
    save(est, tmp_path / "m.npz")
    loaded = load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.feature_names_in_, ["a", "b", "c"])
    assert loaded.feature_names_in_.dtype == object
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the names match: no warning
        loaded.predict(_frame())
    with pytest.raises(ValueError, match="Feature names unseen at fit time"):
        loaded.predict(_frame(columns=("a", "b", "z")))
    # Without names, none are restored; names that cannot be the model's are refused.
    save(_fit(ESTIMATORS[name](), FEATURES, _target(name)), tmp_path / "plain.npz")
    assert not hasattr(load(tmp_path / "plain.npz"), "feature_names_in_")
    for bad in (["a", "b"], ["a", "a", "b"], ["a", 1, "c"], "abc"):
        with np.load(tmp_path / "m.npz", allow_pickle=False) as archive:
            members = {key: archive[key] for key in archive.files}
        header = json.loads(str(members["header"]))
        header["feature_names"] = bad
        members["header"] = np.array(json.dumps(header))
        with open(tmp_path / "bad.npz", "wb") as file:
            np.savez(file, **members)
        with pytest.raises(ValueError, match="feature_names must be null or 3 distinct strings"):
            load(tmp_path / "bad.npz")
