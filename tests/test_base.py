"""What every estimator shares, written once: warnings that point at the caller's line, the
namespace-and-device check of new input, class discovery, score, parameter constraints."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from xperceptron import ConvergenceWarning, MLPClassifier, MLPRegressor, Perceptron
from xperceptron.datasets import logic_gate

HERE = __file__


def _caught(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return caught


@pytest.mark.parametrize(
    "call",
    [
        lambda X, y: MLPClassifier((3,), max_iter=1, random_state=0).fit(X, y),
        lambda X, y: MLPRegressor((3,), max_iter=1, random_state=0).fit(X, y),
        lambda X, y: MLPClassifier((3,), batch_size=99, random_state=0).partial_fit(
            X, y, classes=[0, 1]
        ),
        lambda X, y: Perceptron(max_iter=2).fit(X, y),
        lambda X, y: MLPClassifier((3,), max_iter=1, random_state=0).fit(X, y[:, None]),
    ],
    ids=["mlp-fit", "regressor-fit", "partial_fit-batch", "perceptron-fit", "column-y"],
)
def test_warnings_point_at_the_callers_line(call):
    X, y = logic_gate("xor")
    caught = _caught(lambda: call(X, y))
    assert caught, "expected a warning"
    for record in caught:
        assert record.filename == HERE, f"{record.category.__name__} points at {record.filename}"


def test_warnings_from_scikit_learn_tools_point_at_their_caller():
    clone = pytest.importorskip("sklearn.base").clone
    X, y = logic_gate("and")
    caught = _caught(lambda: clone(MLPClassifier((2,), max_iter=1)).fit(X, y))
    assert [r.filename for r in caught] == [HERE]
    assert issubclass(caught[0].category, ConvergenceWarning)


def test_the_perceptron_refuses_another_device_as_the_mlp_does():
    strict = pytest.importorskip("array_api_strict")
    X, y = logic_gate("and")
    on_device1 = [strict.asarray(a, device=strict.Device("device1")) for a in (X, y)]
    elsewhere = strict.asarray(X)  # the default device
    for estimator in (Perceptron(), MLPClassifier((2,), max_iter=300, random_state=0)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator.fit(*on_device1)
        with pytest.raises(ValueError, match=r"X is on device .* but the model's parameters"):
            estimator.predict(elsewhere)
        with pytest.raises(TypeError, match="X is a numpy array but the model was fitted on"):
            estimator.predict(X)


def test_classes_are_found_and_scored_alike_by_every_classifier():
    X, _ = logic_gate("and")
    y = np.array(["no", "no", "no", "yes"])
    perceptron = Perceptron().fit(X, y, coef_init=[[0.4, 0.2]], intercept_init=[1.0])
    mlp = MLPClassifier((4,), "tanh", learning_rate_init=0.1, max_iter=500, random_state=0)
    mlp.fit(X, y)
    for estimator in (perceptron, mlp):
        assert estimator.classes_.tolist() == ["no", "yes"]
        assert estimator.score(X, y) == 1.0
        assert estimator.score(X, np.array(["yes", "no", "no", "yes"])) == 0.75
    with pytest.raises(ValueError, match="y has 1 class"):
        Perceptron().fit(X, np.zeros(4))
    # The MLPs fit one class as scikit-learn fits it (tests/test_sklearn.py); not the
    # Perceptron, whose rule needs a wrong class to move towards.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        one_class = MLPClassifier(max_iter=5, random_state=0).fit(X, np.zeros(4))
    assert one_class.predict(X).tolist() == [0.0] * 4


def test_an_infinite_patience_is_allowed_as_in_scikit_learn():
    X, y = logic_gate("xor")
    est = MLPClassifier((4,), max_iter=30, n_iter_no_change=np.inf, tol=10.0, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    assert est.n_iter_ == 30  # the loss never improves by tol=10, and training never stops


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("n_iter_no_change", 2.5, "an int >= 1 or inf"),
        ("batch_size", 0, "'auto' or an int >= 1"),
        ("momentum", 1.5, r"a float in \[0, 1\]"),
        ("solver", "newton-cg", r"one of \['lbfgs', 'sgd', 'adam'\]"),
        ("verbose", -1, "True or False or an int >= 0"),
    ],
)
def test_constraints_name_what_is_allowed(name, value, words):
    X, y = logic_gate("xor")
    with pytest.raises(ValueError, match=rf"^{name} must be {words}, got {value!r}\.$"):
        MLPClassifier(**{name: value}).fit(X, y)
