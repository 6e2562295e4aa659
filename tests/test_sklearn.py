"""Side by side with scikit-learn: its tools on our estimators, its MLP as the oracle."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

from xperceptron import ConvergenceWarning, MLPClassifier, MLPRegressor, Perceptron
from xperceptron.initializers import glorot_uniform

sklearn = pytest.importorskip("sklearn")
from sklearn import datasets  # noqa: E402
from sklearn.base import clone, is_classifier, is_regressor  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    GridSearchCV,
    StratifiedKFold,
    check_cv,
    cross_val_score,
    train_test_split,
)
from sklearn.neural_network import MLPClassifier as SkMLPClassifier  # noqa: E402
from sklearn.neural_network import MLPRegressor as SkMLPRegressor  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402


def test_importing_xperceptron_does_not_import_sklearn():
    code = "import sys, xperceptron; print('sklearn' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_estimator_types_and_stratified_cross_validation():
    assert is_classifier(MLPClassifier())
    assert is_classifier(Perceptron())
    assert is_regressor(MLPRegressor())
    y = np.repeat([0, 1], 10)
    assert isinstance(check_cv(5, y, classifier=is_classifier(MLPClassifier())), StratifiedKFold)


def test_clone_keeps_every_parameter_and_type():
    est = MLPClassifier((7, 3), "tanh", solver="sgd", batch_size=16, random_state=4)
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    assert copy.hidden_layer_sizes == (7, 3)
    assert type(copy.get_params()["hidden_layer_sizes"]) is tuple


def test_pipeline_grid_search_and_cross_val_score():
    X, y = datasets.load_iris(return_X_y=True)
    pipeline = make_pipeline(
        StandardScaler(),
        MLPClassifier((16,), max_iter=300, learning_rate_init=0.01, random_state=0),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(pipeline, {"mlpclassifier__alpha": [1e-4, 1e-1]}, cv=3)
        search.fit(X, y)
        scores = cross_val_score(pipeline, X, y, cv=3)
    assert search.best_params_["mlpclassifier__alpha"] in (1e-4, 1e-1)
    assert search.best_score_ > 0.9
    assert scores.shape == (3,)
    assert scores.mean() > 0.9


CASES = [
    ("binary", {"solver": "sgd", "momentum": 0.9, "nesterovs_momentum": True}),
    ("multiclass", {"solver": "sgd", "momentum": 0.5, "nesterovs_momentum": False}),
    ("multiclass", {"solver": "adam"}),
    ("regression", {"solver": "sgd", "learning_rate": "invscaling", "power_t": 0.3}),
    ("regression", {"solver": "adam", "alpha": 0.5}),
]


@pytest.mark.parametrize(("task", "params"), CASES)
def test_training_follows_scikit_learn_epoch_by_epoch(task, params):
    # Both libraries start from the same weights and see the same batches (shuffle=False),
    # so their loss curves and final weights agree to float64 rounding.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 4))
    scores = X @ rng.normal(size=(4, 3))
    y = {
        "binary": (scores[:, 0] > 0).astype(int),
        "multiclass": np.argmax(scores, axis=1),
        "regression": scores[:, 0],
    }[task]
    common = {
        "hidden_layer_sizes": (6,), "activation": "tanh", "batch_size": 32, "shuffle": False,
        "learning_rate_init": 0.05, "tol": 0.0, "n_iter_no_change": 1000, "random_state": 0,
        **params,
    }  # fmt: skip
    ours_cls, theirs_cls = (
        (MLPRegressor, SkMLPRegressor) if task == "regression" else (MLPClassifier, SkMLPClassifier)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = ours_cls(max_iter=6, **common).fit(X, y)
        theirs = theirs_cls(max_iter=1, **common).fit(X, y)  # sets up its label encoding
        xp = __import__("array_api_compat").array_namespace(X)
        initial = glorot_uniform(
            [4, 6, ours.n_outputs_], activation="tanh", rng=np.random.RandomState(0),
            dtype=xp.float64, device="cpu", xp=xp,
        )  # fmt: skip
        theirs.coefs_ = [W.copy() for W, _ in initial]
        theirs.intercepts_ = [b.copy() for _, b in initial]
        theirs.n_iter_, theirs.t_, theirs.loss_curve_ = 0, 0, []
        theirs.best_loss_, theirs._no_improvement_count = np.inf, 0
        theirs.set_params(warm_start=True, max_iter=6)
        theirs.fit(X, y)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-12)
    for a, b in zip(
        ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_, strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def _split_scaled(name, seed):
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    stratify = None if name == "diabetes" else y
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=seed, stratify=stratify
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def _mean_scores(ours_cls, theirs_cls, name, params, convert=lambda a: a):
    ours, theirs = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both may stop at max_iter
        for seed in range(3):
            X_train, X_test, y_train, y_test = _split_scaled(name, seed)
            est = ours_cls(random_state=seed, **params)
            est.fit(convert(X_train), convert(y_train))
            ours.append(est.score(convert(X_test), convert(y_test)))
            reference = theirs_cls(random_state=seed, **params).fit(X_train, y_train)
            theirs.append(reference.score(X_test, y_test))
    return float(np.mean(ours)), float(np.mean(theirs))


@pytest.mark.parametrize("name", ["digits", "breast_cancer", "wine"])
def test_real_data_accuracy_matches_scikit_learn(name):
    ours, theirs = _mean_scores(
        MLPClassifier, SkMLPClassifier, name, {"hidden_layer_sizes": (64,), "max_iter": 200}
    )
    assert ours >= theirs - 0.01, (ours, theirs)


def test_real_data_on_torch_tensors_matches_scikit_learn():
    torch = pytest.importorskip("torch")
    ours, theirs = _mean_scores(
        MLPClassifier, SkMLPClassifier, "digits", {"hidden_layer_sizes": (64,), "max_iter": 200},
        convert=torch.asarray,
    )  # fmt: skip
    assert ours >= theirs - 0.01, (ours, theirs)


def test_real_data_regression_matches_scikit_learn():
    params = {"hidden_layer_sizes": (64,), "learning_rate_init": 0.01, "max_iter": 500}
    ours, theirs = _mean_scores(MLPRegressor, SkMLPRegressor, "diabetes", params)
    assert ours >= theirs - 0.05, (ours, theirs)


@pytest.mark.parametrize(
    "estimator",
    [MLPClassifier(random_state=0), MLPRegressor(random_state=0), Perceptron()],
    ids=lambda est: type(est).__name__,
)
def test_check_estimator_passes(estimator):
    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the checks fit on tiny data and provoke warnings
        results = check_estimator(estimator, on_fail=None)
    failed = [
        (r["check_name"], str(r["exception"])[:200]) for r in results if r["status"] == "failed"
    ]
    assert failed == []
    # Skipped only for what is not installed or not enabled here (pandas, SCIPY_ARRAY_API).
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert skipped <= {
        "check_array_api_input",
        "check_classifier_data_not_an_array",
        "check_regressor_data_not_an_array",
        "check_classifiers_multilabel_output_format_decision_function",
        "check_dataframe_column_names_consistency",
        "check_n_features_in_after_fitting",
    }, skipped


def test_not_fitted_error_is_scikit_learns_too_once_it_is_imported():
    from sklearn.exceptions import NotFittedError as SkNotFittedError

    from xperceptron import NotFittedError

    with pytest.raises(SkNotFittedError) as caught:
        MLPClassifier().predict(np.ones((2, 2)))
    assert isinstance(caught.value, NotFittedError)


def test_warnings_are_scikit_learns_even_before_it_is_imported():
    # A fresh interpreter: xperceptron alone imported, then a fit stops at max_iter. The
    # warning is scikit-learn's class too, so filters written for scikit-learn catch it.
    code = """
import sys, warnings
import numpy as np
from xperceptron import MLPClassifier
assert "sklearn" not in sys.modules
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    MLPClassifier((2,), max_iter=1, random_state=0).fit(np.eye(4), [0, 1, 0, 1])
from sklearn.exceptions import ConvergenceWarning
print([issubclass(w.category, ConvergenceWarning) for w in caught])
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[True]", result.stderr


def test_n_iter_counts_the_epochs_of_the_call_as_scikit_learn():
    X, y = datasets.load_iris(return_X_y=True)
    ours = MLPClassifier((5,), max_iter=3, warm_start=True, random_state=0)
    theirs = SkMLPClassifier((5,), max_iter=3, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)  # ours is one
        for est in (ours, theirs):
            est.fit(X, y)
            est.fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_ == 3
    assert len(ours.loss_curve_) == len(theirs.loss_curve_) == 6
    assert ours.t_ == theirs.t_ == 6 * X.shape[0]
    for est in (ours, theirs):
        est.partial_fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_ == 1
    assert ours.t_ == theirs.t_ == 7 * X.shape[0]


def test_non_finite_weights_are_scikit_learns_value_error():
    # scikit-learn's own case: inputs near the largest float64.
    rng = np.random.RandomState(0)
    X = np.finfo(np.float64).max * rng.uniform(size=(10, 2))
    y = rng.standard_normal(size=10)
    message = (
        "Solver produced non-finite parameter weights. The input data may contain large"
        " values and need to be preprocessed."
    )
    with pytest.raises(ValueError, match=message) as raised:
        MLPRegressor().fit(X, y)
    assert isinstance(raised.value, FloatingPointError)  # our DivergenceError


def test_a_divergence_under_early_stopping_keeps_the_best_weights():
    # scikit-learn's case: the epoch that diverges is recorded with a NaN validation score,
    # and the best validation weights are kept (no error).
    X, y = datasets.load_iris(return_X_y=True)
    params = {"hidden_layer_sizes": 100, "activation": "identity", "solver": "sgd",
              "learning_rate_init": 1, "max_iter": 20, "early_stopping": True,
              "random_state": 0}  # fmt: skip
    with pytest.warns(ConvergenceWarning, match="diverged in epoch"):
        mlp = MLPRegressor(**params).fit(X, y)
    assert str(mlp.validation_scores_[-1]) == "nan"
    assert isinstance(mlp.validation_scores_[-1], float)
    assert all(np.isfinite(W).all() for W in mlp.coefs_)
    assert np.isfinite(mlp.best_validation_score_)
    assert np.isfinite(mlp.predict(X)).all()


def test_warm_start_needs_the_same_classes_as_scikit_learn():
    X, y = datasets.load_iris(return_X_y=True)
    message = "warm_start can only be used where `y` has the same classes as in the previous"
    for cls in (MLPClassifier, SkMLPClassifier):
        est = cls((5,), max_iter=2, warm_start=True, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
            est.fit(X, y)
            with pytest.raises(ValueError, match=message):
                est.fit(X[y < 2], y[y < 2])  # fewer classes
        if cls is MLPClassifier:
            est.partial_fit(X[y < 2], y[y < 2])  # partial_fit: a subset of the classes is fine


def test_a_single_class_fits_as_scikit_learn_fits_it(tmp_path):
    # One logistic unit trained towards 0; predict gives the one class, predict_proba two
    # columns [1 - p, p], as scikit-learn's.
    from xperceptron import load, save

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 3)), np.full(12, 7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        ours = MLPClassifier((3,), max_iter=5, random_state=0).fit(X, y)
        theirs = SkMLPClassifier((3,), max_iter=5, random_state=0).fit(X, y)
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-12)
    assert ours.score(X, y) == theirs.score(X, y) == 1.0
    save(ours, tmp_path / "one.npz")
    np.testing.assert_array_equal(load(tmp_path / "one.npz").predict(X), np.full(12, 7))
