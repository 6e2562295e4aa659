"""Dask arrays: fit and partial_fit stream the blocks (the model fit makes on the computed
arrays), predictions stay lazy, scores take Dask arrays; dask-ml's wrappers work."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

from xperceptron import MLPClassifier, MLPRegressor, NotFittedError  # noqa: E402

ROW_BLOCKS = (70, 25, 1, 154, 50)  # uneven, one shorter than a batch, one of a single row


@pytest.fixture(autouse=True)
def _synchronous():
    with dask.config.set(scheduler="synchronous"):  # two shared cores: no thread pool
        yield


def _data(seed=0, n=300, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(dtype)
    labels = np.where(X[:, 0] + X[:, 1] > 0, 2, 0) + (X[:, 2] > 1)
    targets = np.stack([X[:, 0] - X[:, 1], np.sin(X[:, 2])], axis=1).astype(dtype)
    return X, labels, targets


def _lazy(a):
    return da.from_array(a, chunks=(ROW_BLOCKS, *a.shape[1:]))


def _quiet(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the ConvergenceWarning of a short run
        return call(*args, **kwargs)


def _assert_same(a, b, dtype):
    # The same rows in the same batches: the same arithmetic, to a few ulps of the dtype.
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        assert isinstance(p, np.ndarray)
        assert p.dtype == q.dtype == dtype
        np.testing.assert_allclose(p, q, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=rtol)
    assert (a.n_iter_, a.t_) == (b.n_iter_, b.t_)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_fit_on_dask_arrays_is_fit_on_the_computed_arrays(solver, dtype):
    X, labels, _ = _data(dtype=dtype)
    params = dict(hidden_layer_sizes=(6,), solver=solver, batch_size=32, shuffle=False,
                  max_iter=4, random_state=0, learning_rate_init=0.01)  # fmt: skip
    expected = _quiet(MLPClassifier(**params).fit, X, labels)
    # X also blocked along its columns; the classes are found from y alone.
    lazy_X = da.from_array(X, chunks=(ROW_BLOCKS, 2))
    model = _quiet(MLPClassifier(**params).fit, lazy_X, _lazy(labels))
    _assert_same(model, expected, dtype)
    np.testing.assert_array_equal(model.classes_, [0, 1, 2, 3])


def test_weighted_regression_with_y_in_memory_stops_where_fit_stops():
    X, _, targets = _data(1)
    weights = np.random.default_rng(2).uniform(0.5, 2.0, size=X.shape[0])
    params = dict(hidden_layer_sizes=(5,), solver="sgd", shuffle=False, max_iter=300,
                  tol=1e-3, n_iter_no_change=2, learning_rate_init=0.05,
                  random_state=3)  # fmt: skip
    expected = _quiet(MLPRegressor(**params).fit, X, targets, sample_weight=weights)
    model = _quiet(MLPRegressor(**params).fit, _lazy(X), targets, sample_weight=_lazy(weights))
    assert expected.n_iter_ < 300
    _assert_same(model, expected, np.float64)


def test_partial_fit_on_dask_arrays_is_one_epoch_over_the_blocks():
    X, labels, _ = _data()
    params = dict(hidden_layer_sizes=(5,), batch_size=40, shuffle=False, random_state=0)
    expected, model = MLPClassifier(**params), MLPClassifier(**params)
    for _ in range(2):
        expected.partial_fit(X, labels, classes=[0, 1, 2, 3])
        model.partial_fit(_lazy(X), _lazy(labels), classes=[0, 1, 2, 3])
    _assert_same(model, expected, np.float64)
    with pytest.raises(ValueError, match="classes must be passed"):
        MLPClassifier().partial_fit(_lazy(X), _lazy(labels))


def test_each_block_is_computed_once_an_epoch():
    X, _, targets = _data()
    computed = []

    def count(block):
        if block.shape[0]:  # not Dask's probe of an empty block
            computed.append(block.shape[0])
        return block

    lazy_X = _lazy(X).map_blocks(count, dtype=X.dtype)
    model = MLPRegressor((4,), max_iter=3, shuffle=False, random_state=0)
    _quiet(model.fit, lazy_X, _lazy(targets))
    # The first block once beforehand (to shape the network), then every block an epoch:
    # never a graph per batch.
    assert computed == [ROW_BLOCKS[0]] + [b for _ in range(model.n_iter_) for b in ROW_BLOCKS]


def test_shuffle_orders_blocks_and_rows_from_random_state():
    X, labels, _ = _data()
    params = dict(hidden_layer_sizes=(5,), max_iter=3, batch_size=32, random_state=0)
    runs = [_quiet(MLPClassifier(**params).fit, _lazy(X), _lazy(labels)) for _ in range(2)]
    in_order = _quiet(MLPClassifier(**params, shuffle=False).fit, _lazy(X), _lazy(labels))
    np.testing.assert_array_equal(runs[0].coefs_[0], runs[1].coefs_[0])
    assert not np.array_equal(runs[0].coefs_[0], in_order.coefs_[0])


@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_log_proba"])
def test_classifier_predictions_stay_lazy(method):
    X, labels, _ = _data()
    model = _quiet(MLPClassifier((5,), max_iter=5, random_state=0).fit, X, labels)
    lazy = getattr(model, method)(_lazy(X))
    assert isinstance(lazy, da.Array)
    assert lazy.chunks[0] == ROW_BLOCKS
    expected = getattr(model, method)(X)
    assert lazy.dtype == expected.dtype
    np.testing.assert_allclose(lazy.compute(), expected, rtol=1e-13)


@pytest.mark.parametrize("kind", ["string labels", "multilabel", "regression 1-D", "2-D"])
def test_predictions_of_every_shape_and_dtype_stay_lazy(kind):
    X, labels, targets = _data()
    if kind == "string labels":
        model = _quiet(MLPClassifier((5,), max_iter=5).fit, X, np.array(list("abcd"))[labels])
    elif kind == "multilabel":
        model = _quiet(MLPClassifier((5,), max_iter=5).fit, X, (targets > 0).astype(int))
    else:
        y = targets[:, 0] if kind == "regression 1-D" else targets
        model = _quiet(MLPRegressor((5,), max_iter=5).fit, X, y)
    lazy = _quiet(model.predict, _lazy(X))
    expected = _quiet(model.predict, X)
    assert isinstance(lazy, da.Array)
    assert (lazy.shape, lazy.dtype) == (expected.shape, expected.dtype)
    if expected.dtype.kind == "f":  # a block's product may round its last bit otherwise
        np.testing.assert_allclose(lazy.compute(), expected, rtol=1e-13)
    else:
        np.testing.assert_array_equal(lazy.compute(), expected)


def test_score_takes_dask_arrays():
    X, labels, targets = _data()
    weights = np.random.default_rng(1).uniform(size=X.shape[0])
    clf = _quiet(MLPClassifier((5,), max_iter=5, random_state=0).fit, X, labels)
    reg = _quiet(MLPRegressor((5,), max_iter=5, random_state=0).fit, X, targets)
    for model, y in ((clf, labels), (reg, targets)):
        score = model.score(_lazy(X), _lazy(y), sample_weight=_lazy(weights))
        assert isinstance(score, float)
        assert score == pytest.approx(model.score(X, y, sample_weight=weights), rel=1e-12)


def test_predictions_are_refused_at_once():
    X, labels, _ = _data()
    with pytest.raises(NotFittedError):
        MLPClassifier().predict(_lazy(X))
    model = _quiet(MLPClassifier((5,), max_iter=2).fit, X, labels)
    with pytest.raises(ValueError, match="3 features"):
        model.predict(_lazy(X[:, :3]))


@pytest.mark.parametrize(
    ("params", "y", "match"),
    [
        ({"early_stopping": True}, None, "held-out split"),
        ({"solver": "lbfgs"}, None, "cannot train on a stream"),
        ({}, np.zeros(10), "X has 300 samples but y has shape"),
    ],
)
def test_what_dask_cannot_do_is_refused_before_anything_changes(params, y, match):
    X, labels, _ = _data()
    model = MLPClassifier(**params)
    with pytest.raises(ValueError, match=match):
        model.fit(_lazy(X), _lazy(labels) if y is None else y)
    assert not hasattr(model, "coefs_")


def test_warm_start_on_dask_checks_the_classes_of_all_of_y():
    X, labels, _ = _data()
    model = _quiet(MLPClassifier((5,), max_iter=2, warm_start=True).fit, X, labels)
    with pytest.raises(ValueError, match="same classes"):
        model.fit(_lazy(X), _lazy(np.minimum(labels, 2)))
    assert model.n_iter_ == 2
    _quiet(model.fit, _lazy(X), _lazy(labels))  # the first block lacks class 1: still fine
    assert model.t_ == 4 * X.shape[0]


def test_dask_ml_incremental_and_parallel_post_fit():
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X, labels, _ = _data()
    params = dict(hidden_layer_sizes=(5,), batch_size=40, shuffle=False, random_state=0)
    incremental = wrappers.Incremental(MLPClassifier(**params), shuffle_blocks=False)
    _quiet(incremental.fit, _lazy(X), _lazy(labels), classes=[0, 1, 2, 3])
    expected = MLPClassifier(**params)  # dask-ml calls partial_fit on each block in turn
    for start, stop in itertools.pairwise(np.cumsum((0, *ROW_BLOCKS))):
        _quiet(expected.partial_fit, X[start:stop], labels[start:stop], classes=[0, 1, 2, 3])
    _assert_same(incremental.estimator_, expected, np.float64)
    predicted = incremental.predict(_lazy(X))
    assert isinstance(predicted, da.Array)
    np.testing.assert_array_equal(predicted.compute(), expected.predict(X))
    assert incremental.score(_lazy(X), _lazy(labels)) == pytest.approx(expected.score(X, labels))

    post_fit = _quiet(wrappers.ParallelPostFit(MLPClassifier(**params)).fit, X, labels)
    proba = post_fit.predict_proba(_lazy(X))
    assert isinstance(proba, da.Array)
    np.testing.assert_allclose(proba.compute(), post_fit.estimator.predict_proba(X))
    assert post_fit.score(_lazy(X), _lazy(labels)) == pytest.approx(
        post_fit.estimator.score(X, labels)
    )
