"""Randomness drawn as scikit-learn draws it (issue 11, item 5): the initial weights, the
early-stopping split and the epoch shuffles of an int seed or a ``RandomState`` are
scikit-learn's, so the fitted model is scikit-learn's; every backend gets the same model."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest
from task_data import task_data

from xperceptron import MLPClassifier, MLPRegressor, load, save
from xperceptron._checkpoint_schema import checked_order, generator_state, restore_generator
from xperceptron._namespace import to_numpy
from xperceptron._targets import validation_split
from xperceptron.initializers import HostRandom, check_random_state

sklearn = pytest.importorskip("sklearn")
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier as SkMLPClassifier  # noqa: E402
from sklearn.neural_network import MLPRegressor as SkMLPRegressor  # noqa: E402

N = 90  # not a multiple of the batch sizes below: the last batch is partial


def _data(task, n=N, seed=0):
    X, y, _ = task_data(task, n, seed=seed, threshold=0.3)
    return X, y


def _random_state(spec):
    """``"RandomState-k"``: a RandomState seeded with k, part-way through its stream (k
    draws made); anything else as it is."""
    if not isinstance(spec, str):
        return spec
    seed = int(spec.rsplit("-", 1)[1])
    generator = np.random.RandomState(seed)
    generator.uniform(size=seed)
    return generator


def _pair(task, random_state, **params):
    """Ours and scikit-learn's estimator, each with its own copy of ``random_state``."""
    ours, theirs = (
        (MLPRegressor, SkMLPRegressor) if task == "regression" else (MLPClassifier, SkMLPClassifier)
    )
    common = {"hidden_layer_sizes": (7, 5), "max_iter": 10, "learning_rate_init": 0.01,
              "tol": 0.0, "n_iter_no_change": 1000, **params}  # fmt: skip
    copies = [_random_state(random_state) for _ in range(2)]
    return ours(random_state=copies[0], **common), theirs(random_state=copies[1], **common)


def _fit_both(task, random_state, X=None, y=None, **params):
    ours, theirs = _pair(task, random_state, **params)
    X, y = _data(task) if X is None else (X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both stop at max_iter
        theirs.fit(X, y)
        ours.fit(X, y)
    return ours, theirs


def _assert_same_model(ours, theirs, *, atol=1e-10):
    assert len(ours.coefs_) == len(theirs.coefs_)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_,
                    strict=True):  # fmt: skip
        np.testing.assert_allclose(to_numpy(a), b, rtol=0, atol=atol)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=0, atol=atol)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.t_ == theirs.t_


def _seed_state(generator):
    return generator_state(generator) if isinstance(generator, np.random.RandomState) else None


# ---------------------------------------------------------------------------- whole fits
@pytest.mark.parametrize("random_state", [0, 12345, "RandomState-3"])
@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("batch_size", [16, 45, "auto"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel", "regression"])
def test_ten_epochs_give_scikit_learns_model(task, solver, batch_size, shuffle, random_state):
    ours, theirs = _fit_both(
        task, random_state, solver=solver, batch_size=batch_size, shuffle=shuffle
    )
    _assert_same_model(ours, theirs)
    # A RandomState given is advanced by exactly scikit-learn's draws.
    assert _seed_state(ours.random_state) == _seed_state(theirs.random_state)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_random_state_none_draws_from_numpys_global_random_state(solver):
    X, y = _data("binary")
    ours, theirs = _pair("binary", None, solver=solver, batch_size=32)
    # NumPy's legacy global state is what is tested here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.random.seed(7)  # noqa: NPY002
        theirs.fit(X, y)
        after_theirs = generator_state(np.random.mtrand._rand)
        np.random.seed(7)  # noqa: NPY002
        ours.fit(X, y)
        assert generator_state(np.random.mtrand._rand) == after_theirs
    _assert_same_model(ours, theirs)


def test_a_generator_random_state_still_trains_reproducibly():
    X, y = _data("multiclass")
    fits = []
    for _ in range(2):
        est = MLPClassifier((5,), max_iter=10, batch_size=16, random_state=np.random.default_rng(4))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits.append(est.fit(X, y))
    assert fits[0].loss_curve_ == fits[1].loss_curve_
    np.testing.assert_array_equal(fits[0].coefs_[0], fits[1].coefs_[0])
    assert isinstance(fits[0]._rng.generator, np.random.Generator)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_every_backend_gets_the_numpy_model(backend64, early_stopping):
    # The generator stays on the host: weights, split and shuffles are the same on every
    # backend; the arithmetic differs only in summation order.
    X, y = _data("binary")
    params = {"solver": "adam", "batch_size": 16, "early_stopping": early_stopping,
              "validation_fraction": 0.2}  # fmt: skip
    reference, sklearns = _fit_both("binary", 3, **params)
    ours, _ = _pair("binary", 3, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours.fit(backend64.asarray(X), backend64.asarray(y))
    for a, b in zip(ours.coefs_ + ours.intercepts_, reference.coefs_ + reference.intercepts_,
                    strict=True):  # fmt: skip
        backend64.assert_close(a, to_numpy(b), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.loss_curve_, sklearns.loss_curve_, rtol=1e-10)
    if early_stopping:
        assert ours.validation_scores_ == sklearns.validation_scores_


def test_partial_fit_continues_the_shuffle_order_of_fit():
    # scikit-learn shuffles the previous epoch's order; xperceptron keeps that order with the
    # generator, so epochs by partial_fit continue a fit exactly as more epochs of it would.
    X, y = _data("binary")
    params = {"solver": "sgd", "batch_size": 16, "random_state": 0, "tol": 0.0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ten = MLPClassifier((5,), max_iter=10, **params).fit(X, y)
        four = MLPClassifier((5,), max_iter=4, **params).fit(X, y)
    for _ in range(6):
        four.partial_fit(X, y)
    assert four.loss_curve_ == ten.loss_curve_
    np.testing.assert_array_equal(four._rng.order, ten._rng.order)
    np.testing.assert_array_equal(four.coefs_[0], ten.coefs_[0])


def test_host_random_composes_each_epochs_permutation():
    host, reference = HostRandom(np.random.RandomState(1)), np.random.RandomState(1)
    order = np.arange(10)
    for _ in range(3):
        order = order[reference.permutation(10)]
        np.testing.assert_array_equal(host.shuffled(10), order)
    # Another number of rows starts again from 0..n-1.
    np.testing.assert_array_equal(host.shuffled(4), np.arange(4)[reference.permutation(4)])


# ---------------------------------------------------------------------------- the split
_STRATA = {
    "none": lambda n: None,
    "balanced": lambda n: np.arange(n) % 2,
    "skewed": lambda n: (np.arange(n) % 7 == 0).astype(np.int64),
    "three": lambda n: np.minimum(np.arange(n) % 9, 2),
    "strings": lambda n: np.array(["spam", "ham", "eggs"])[np.arange(n) % 3],
    "ties": lambda n: np.arange(n) % 5,  # equal remainders: ties broken by rng.choice
}


@pytest.mark.parametrize("strata", sorted(_STRATA))
@pytest.mark.parametrize("fraction", [0.1, 0.15, 0.33, 0.5])
@pytest.mark.parametrize("n", [23, 50, 91])
def test_the_split_is_train_test_splits(n, fraction, strata):
    labels = _STRATA[strata](n)
    for seed in range(4):
        theirs_rng, ours_rng = np.random.RandomState(seed), np.random.RandomState(seed)
        try:
            train, valid = train_test_split(
                np.arange(n), test_size=fraction, random_state=theirs_rng, stratify=labels
            )
        except ValueError as error:  # scikit-learn's own message, word for word
            with pytest.raises(ValueError, match=f"^{re.escape(str(error))}$"):
                validation_split(n, fraction, labels, ours_rng)
            continue
        ours_train, ours_valid = validation_split(n, fraction, labels, ours_rng)
        np.testing.assert_array_equal(ours_train, train)  # the same rows, in the same order
        np.testing.assert_array_equal(ours_valid, valid)
        assert generator_state(ours_rng) == generator_state(theirs_rng)


def test_the_command_line_falls_back_to_a_plain_split():
    # What the command line asks for its test split: strata that cannot be split give a
    # plain split (the checks come before any draw).
    labels = np.where(np.arange(20) == 0, 1, 0)
    with pytest.raises(ValueError, match="only 1 member"):
        validation_split(20, 0.25, labels, np.random.RandomState(0))
    ours = validation_split(20, 0.25, labels, np.random.RandomState(0), fall_back=True)
    plain = validation_split(20, 0.25, None, np.random.RandomState(0))
    for a, b in zip(ours, plain, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("random_state", [0, "RandomState-5"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel", "regression"])
def test_early_stopping_gives_scikit_learns_model(task, solver, random_state):
    # Binary: a stratified split; multiclass, multilabel and regression: a plain one (as
    # scikit-learn stratifies only one output unit). Stopping early restores the best weights.
    ours, theirs = _fit_both(
        task, random_state, solver=solver, batch_size=16, early_stopping=True,
        validation_fraction=0.2, max_iter=60, n_iter_no_change=3, tol=1e-3,
        learning_rate_init=0.05,
    )  # fmt: skip
    _assert_same_model(ours, theirs)
    assert ours.validation_scores_ == pytest.approx(theirs.validation_scores_, abs=1e-12)
    assert ours.best_validation_score_ == pytest.approx(theirs.best_validation_score_, abs=1e-12)
    assert _seed_state(ours.random_state) == _seed_state(theirs.random_state)


@pytest.mark.parametrize(
    ("task", "n", "fraction", "message"),
    [
        ("regression", 12, 0.05, "The validation set is too small"),
        ("multiclass", 30, 0.02, "The validation set is too small"),  # not stratified
        ("binary", 12, 0.05, "The test_size = 1 should be greater or equal"),
        ("binary", 30, 0.95, "The train_size = 1 should be greater or equal"),
        ("regression", 2, 0.6, "the resulting train set will be empty"),
    ],
)
def test_splits_that_cannot_be_drawn_raise_scikit_learns_errors(task, n, fraction, message):
    X, y = _data(task, n=n)
    ours, theirs = _pair(task, 0, early_stopping=True, validation_fraction=fraction)
    with pytest.raises(ValueError, match=re.escape(message)) as expected:
        theirs.fit(X, y)
    with pytest.raises(ValueError, match=f"^{re.escape(str(expected.value))}$"):
        ours.fit(X, y)
    assert not hasattr(ours, "coefs_")


@pytest.mark.parametrize("single", ["spam", "ham"])
def test_a_class_of_one_member_is_named_as_scikit_learn_names_it(single):
    # scikit-learn stratifies on its binarized y: the class is 'True' or 'False'.
    X, _ = _data("binary", n=30)
    y = np.where(np.arange(30) == 4, single, "ham" if single == "spam" else "spam")
    ours, theirs = _pair("binary", 0, early_stopping=True)
    with pytest.raises(ValueError, match="only 1 member") as expected:
        theirs.fit(X, y)
    if sklearn_version() < (1, 9):  # 1.7 and 1.8 word it in the singular, without the class
        with pytest.raises(ValueError, match="The least populated classes in y have only 1"):
            ours.fit(X, y)
        return
    assert str(expected.value).endswith("['True']" if single == "spam" else "['False']")
    with pytest.raises(ValueError, match=f"^{re.escape(str(expected.value))}$"):
        ours.fit(X, y)


def sklearn_version() -> tuple[int, int]:
    import sklearn

    major, minor = sklearn.__version__.split(".")[:2]
    return int(major), int(minor)


def test_the_two_errors_the_issue_names():
    X, _ = _data("binary", n=40)
    too_small = MLPRegressor(early_stopping=True, validation_fraction=0.02, random_state=0)
    with pytest.raises(ValueError, match=r"^The validation set is too small\. Increase "
                       r"'validation_fraction' or the size of your dataset\.$"):  # fmt: skip
        too_small.fit(X, X[:, 0])
    single = np.where(np.arange(40) == 3, 1, 0)
    with pytest.raises(ValueError, match=r"only 1 member, which is too few\. The minimum "
                       "number of groups for any class cannot be less than 2"):  # fmt: skip
        MLPClassifier(early_stopping=True, random_state=0).fit(X, single)


# ---------------------------------------------------------------------------- random_state
@pytest.mark.parametrize("value", [-1, 2**32, 1.5, "seed", True, np.random])
def test_random_states_scikit_learn_refuses_are_refused(value):
    X, y = _data("binary", n=20)
    with pytest.raises(ValueError, match=r"^random_state must be None, an int in \[0, "):
        MLPClassifier(random_state=value).fit(X, y)
    with pytest.raises(ValueError, match="random_state must be None, an int in"):
        check_random_state(value)


def test_the_largest_seed_is_accepted():
    assert isinstance(check_random_state(2**32 - 1), np.random.RandomState)
    assert isinstance(check_random_state(np.int64(5)), np.random.RandomState)


# ---------------------------------------------------------------------------- checkpoints
def _fitted(random_state, **params):
    X, y = _data("binary")
    est = MLPClassifier((5,), solver="sgd", batch_size=16, max_iter=3, random_state=random_state,
                        **params)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    return est, X, y


@pytest.mark.parametrize("early_stopping", [False, True])
def test_a_random_state_checkpoint_resumes_bit_for_bit(tmp_path, early_stopping):
    est, X, y = _fitted(np.random.RandomState(8), early_stopping=early_stopping)
    save(est, tmp_path / "m.npz")
    again = load(tmp_path / "m.npz")
    # The parameter and the generator left to the model are RandomStates again.
    assert isinstance(again.random_state, np.random.RandomState)
    assert generator_state(again.random_state) == generator_state(est.random_state)
    assert isinstance(again._rng.generator, np.random.RandomState)
    assert generator_state(again._rng.generator) == generator_state(est._rng.generator)
    if early_stopping:
        return  # partial_fit does not support early stopping
    np.testing.assert_array_equal(again._rng.order, est._rng.order)
    for _ in range(3):
        est.partial_fit(X, y)
        again.partial_fit(X, y)
    assert again.loss_curve_ == est.loss_curve_
    for a, b in zip(again.coefs_ + again.intercepts_, est.coefs_ + est.intercepts_, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_model_without_a_shuffle_order_saves_none(tmp_path):
    est, _, _ = _fitted(0, shuffle=False)
    assert est._rng.order is None
    save(est, tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as archive:
        assert "shuffle_order" not in archive.files
        assert json.loads(str(archive["header"]))["fitted"]["shuffle_order"] is None
    assert load(tmp_path / "m.npz")._rng.order is None


def _rewrite(path, header=None, members=None):
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in archive.files}
    meta = json.loads(str(arrays["header"]))
    if header is not None:
        header(meta)
    arrays["header"] = np.array(json.dumps(meta))
    arrays.update(members or {})
    np.savez(path, **arrays)


def test_a_checkpoint_saved_before_the_shuffle_order_loads(tmp_path):
    est, _, _ = _fitted(0)
    path = tmp_path / "m.npz"
    save(est, path)
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in archive.files if key != "shuffle_order"}
    meta = json.loads(str(arrays["header"]))
    del meta["fitted"]["shuffle_order"]
    arrays["header"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    again = load(path)
    assert again._rng.order is None  # the next epoch shuffles 0..n-1 again
    np.testing.assert_array_equal(again.coefs_[0], est.coefs_[0])


def _set(*keys, value):
    def change(meta):
        node = meta
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return change


_ORDER_N = N  # the rows of _fitted's training set
_BAD = [
    ({"members": {"shuffle_order": np.arange(_ORDER_N)[::-1].copy() % 50}}, "position repeats"),
    ({"members": {"shuffle_order": np.arange(_ORDER_N) + 1}}, "positions outside"),
    ({"members": {"shuffle_order": np.arange(_ORDER_N) - 1}}, "positions outside"),
    ({"members": {"shuffle_order": np.arange(_ORDER_N, dtype=float)}}, "row positions"),
    ({"members": {"shuffle_order": np.arange(_ORDER_N - 1)}}, "has shape"),
    ({"header": _set("fitted", "shuffle_order", value=True)}, "shuffle_order must be an int"),
    ({"header": _set("fitted", "shuffle_order", value=0)}, "shuffle_order must be an int"),
    ({"header": _set("fitted", "shuffle_order", value=None)}, "no member"),
    ({"header": _set("fitted", "rng", "state", "key", value=[1] * 623)}, "624 ints"),
    ({"header": _set("fitted", "rng", "state", "key", value=[2**32] * 624)}, "key word must"),
    ({"header": _set("fitted", "rng", "state", "key", value=[-1] * 624)}, "key word must"),
    ({"header": _set("fitted", "rng", "state", "key", value=[1.0] * 624)}, "key word must"),
    ({"header": _set("fitted", "rng", "state", "key", value=[2**31 - 1] + [0] * 623)}, "zero"),
    ({"header": _set("fitted", "rng", "state", "pos", value=-1)}, "position must be"),
    ({"header": _set("fitted", "rng", "state", "pos", value=True)}, "position must be"),
    ({"header": _set("fitted", "rng", "has_gauss", value=2)}, "has_gauss must be"),
    ({"header": _set("fitted", "rng", "gauss", value=0.5)}, "gauss must be a finite float"),
    ({"header": _set("fitted", "rng", "gauss", value=0)}, "gauss must be a finite float"),
    ({"header": _set("fitted", "rng", "bit_generator", value="PCG64")}, "unknown bit generator"),
    ({"header": _set("fitted", "rng", "state", "extra", value=1)}, "unexpected fields"),
    ({"header": _set("params", "random_state", "__generator__", "state", "pos", value=700)},
     "position must be"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "message"), _BAD)
def test_a_damaged_random_state_or_order_is_refused(tmp_path, change, message):
    est, _, _ = _fitted(np.random.RandomState(2))
    path = tmp_path / "m.npz"
    save(est, path)
    _rewrite(path, **change)
    with pytest.raises(ValueError, match=message):
        load(path)


def test_a_generators_pcg64_state_is_still_checked(tmp_path):
    est, _, _ = _fitted(np.random.default_rng(1))
    path = tmp_path / "m.npz"
    save(est, path)
    assert isinstance(load(path)._rng.generator, np.random.Generator)
    for change, message in [
        (_set("fitted", "rng", "state", "state", value="12"), "random state must be"),
        (_set("fitted", "rng", "state", "inc", value=2), "increment must be odd"),
        (_set("fitted", "rng", "bit_generator", value="MT19937"), "unknown bit generator"),
    ]:
        save(est, path)
        _rewrite(path, header=change)
        with pytest.raises(ValueError, match=message):
            load(path)


def test_random_state_round_trips_with_a_kept_gaussian():
    generator = np.random.RandomState(11)
    generator.standard_normal()  # draws two, keeps one
    state = json.loads(json.dumps(generator_state(generator)))
    assert state["has_gauss"] == 1
    again = restore_generator(state)
    assert isinstance(again, np.random.RandomState)
    assert again.standard_normal(5).tolist() == generator.standard_normal(5).tolist()
    with pytest.raises(ValueError, match="over MT19937"):
        generator_state(np.random.RandomState(np.random.PCG64(0)))


def test_checked_order_accepts_permutations_only():
    np.testing.assert_array_equal(checked_order(np.array([2, 0, 1], np.uint8), "o"), [2, 0, 1])
    with pytest.raises(ValueError, match="1-D array of integers"):
        checked_order(np.zeros((2, 2), np.int64), "o")
