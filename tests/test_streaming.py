"""fit_stream: a stream of (X, y) chunks trains the model fit trains on their rows put
together, one pass per epoch; bad chunks are refused with the chunk named, the estimator
left as it was."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

from xperceptron import MLPClassifier, MLPRegressor, fit_stream
from xperceptron._namespace import to_numpy

# Uneven chunks: one shorter than a batch, one of a single row, one of several batches.
# (288 rows: 9 batches of 32, as array-api-strict refuses fit's slice past the last row.)
CUTS = [0, 70, 95, 96, 250, 288]


def _data(seed=0, n=288, n_features=4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    labels = np.where(X[:, 0] + X[:, 1] > 0, 2, 0) + (X[:, 2] > 1)  # classes 0, 1, 2, 3
    targets = np.stack([X[:, 0] - X[:, 1], np.sin(X[:, 2])], axis=1)
    return X, labels, targets


def _chunks(*arrays, cuts=CUTS):
    return [tuple(a[s:e, ...] for a in arrays) for s, e in itertools.pairwise(cuts)]


def _fitted(estimator, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the ConvergenceWarning of a short run
        return estimator.fit(X, y, **kwargs)


def _streamed(estimator, chunks, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_stream(estimator, chunks, **kwargs)


def _assert_same_model(backend, streamed, fitted):
    # The batches hold the same rows in the same order: the arithmetic is the same, so the
    # models agree to the last bits (a tolerance of a few ulps of the dtype).
    rtol = 1e-12 if backend.float64 else 1e-5
    for a, b in zip(streamed.coefs_ + streamed.intercepts_,
                    fitted.coefs_ + fitted.intercepts_, strict=True):  # fmt: skip
        backend.assert_close(a, to_numpy(b), rtol=rtol, atol=rtol)
    np.testing.assert_allclose(streamed.loss_curve_, fitted.loss_curve_, rtol=rtol)
    assert (streamed.n_iter_, streamed.t_) == (fitted.n_iter_, fitted.t_)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_a_stream_of_chunks_trains_fits_model(backend, solver):
    X, labels, _ = _data()
    Xb, yb = backend.asarray(X), backend.asarray(labels)
    params = dict(hidden_layer_sizes=(6,), solver=solver, batch_size=32, shuffle=False,
                  max_iter=4, random_state=0, learning_rate_init=0.01)  # fmt: skip
    fitted = _fitted(MLPClassifier(**params), Xb, yb)
    streamed = _streamed(MLPClassifier(**params), _chunks(Xb, yb), classes=[0, 1, 2, 3])
    _assert_same_model(backend, streamed, fitted)
    np.testing.assert_array_equal(streamed.classes_, fitted.classes_)


def test_weighted_regression_stops_where_fit_stops(backend):
    X, _, targets = _data(1)
    weights = np.random.default_rng(2).uniform(0.5, 2.0, size=X.shape[0])
    Xb, Yb, wb = backend.asarray(X), backend.asarray(targets), backend.asarray(weights)
    params = dict(hidden_layer_sizes=(5,), solver="sgd", batch_size=48, shuffle=False,
                  max_iter=300, tol=1e-3, n_iter_no_change=2, learning_rate_init=0.05,
                  random_state=3)  # fmt: skip
    fitted = _fitted(MLPRegressor(**params), Xb, Yb, sample_weight=wb)
    streamed = _streamed(MLPRegressor(**params), _chunks(Xb, Yb, wb))
    assert fitted.n_iter_ < 300  # stopped by tol, not by max_iter
    _assert_same_model(backend, streamed, fitted)


@pytest.mark.parametrize("n", [150, 450])
def test_auto_batches_and_a_last_partial_batch_match_fit(n):
    # "auto" is min(200, n): 150 rows are one batch; 450 rows two of 200 and one of 50.
    X, _, targets = _data(4, n=n)
    params = dict(hidden_layer_sizes=(5,), shuffle=False, max_iter=3, random_state=0)
    fitted = _fitted(MLPRegressor(**params), X, targets)
    streamed = _streamed(MLPRegressor(**params), _chunks(X, targets, cuts=[0, 120, 130, n]))
    for a, b in zip(streamed.coefs_, fitted.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    assert streamed.loss_curve_ == fitted.loss_curve_


def test_a_factory_is_called_once_per_epoch_and_once_beforehand():
    X, labels, _ = _data()
    calls = []

    def read():
        calls.append(1)
        yield from _chunks(X, labels)

    model = _streamed(MLPClassifier((4,), max_iter=3, random_state=0), read, classes=[0, 1, 2, 3])
    assert model.n_iter_ == 3
    assert len(calls) == 4  # the first chunk is read once more, to shape the network


def test_warm_start_continues_as_fit_continues():
    X, labels, _ = _data()
    params = dict(hidden_layer_sizes=(5,), shuffle=False, max_iter=2, random_state=0,
                  warm_start=True)  # fmt: skip
    fitted = _fitted(_fitted(MLPClassifier(**params), X, labels), X, labels)
    streamed = _fitted(MLPClassifier(**params), X, labels)
    streamed = _streamed(streamed, _chunks(X, labels))  # the fitted classes: none to give
    for a, b in zip(streamed.coefs_, fitted.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    assert streamed.t_ == fitted.t_ == 4 * X.shape[0]


def test_shuffle_draws_each_chunks_rows_from_random_state():
    X, labels, _ = _data()
    params = dict(hidden_layer_sizes=(5,), max_iter=3, batch_size=32, random_state=0)
    chunks = _chunks(X, labels)
    runs = [_streamed(MLPClassifier(**params), chunks, classes=[0, 1, 2, 3]) for _ in range(2)]
    in_order = _streamed(MLPClassifier(**params, shuffle=False), chunks, classes=[0, 1, 2, 3])
    np.testing.assert_array_equal(runs[0].coefs_[0], runs[1].coefs_[0])
    assert not np.array_equal(runs[0].coefs_[0], in_order.coefs_[0])


def test_a_one_shot_iterator_is_refused():
    X, labels, _ = _data()
    with pytest.raises(TypeError, match="one-shot iterator"):
        fit_stream(MLPClassifier(), iter(_chunks(X, labels)), classes=[0, 1, 2, 3])


def test_a_classifier_needs_its_classes_and_an_empty_stream_is_refused():
    X, labels, _ = _data()
    model = MLPClassifier()
    with pytest.raises(ValueError, match="classes must be given"):
        fit_stream(model, _chunks(X, labels))
    with pytest.raises(ValueError, match="stream is empty"):
        fit_stream(model, [], classes=[0, 1])
    assert not hasattr(model, "coefs_")


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"early_stopping": True}, "held-out split"),
        ({"solver": "lbfgs"}, "cannot train on a stream"),
    ],
)
def test_what_a_stream_cannot_do_is_refused(params, match):
    X, _, targets = _data()
    model = MLPRegressor(**params)
    with pytest.raises(ValueError, match=match):
        fit_stream(model, _chunks(X, targets))
    assert not hasattr(model, "coefs_")


def _bad_chunks(kind):
    X, labels, _ = _data()
    chunks = _chunks(X, labels)
    X2, y2 = chunks[2]
    if kind == "nan":
        X2 = np.where(np.arange(X2.shape[0])[:, None] == 0, np.nan, X2)
    elif kind == "features":
        X2 = X2[:, :3]
    elif kind == "label":
        y2 = np.full_like(y2, 7)
    elif kind == "weights":
        chunks[2] = (X2, y2, np.ones(X2.shape[0]))
        return chunks
    elif kind == "tuple":
        chunks[2] = X2
        return chunks
    chunks[2] = (X2, y2)
    return chunks


@pytest.mark.parametrize(
    ("kind", "error", "match"),
    [
        ("nan", ValueError, "NaN"),
        ("features", ValueError, "3 features"),
        ("label", ValueError, r"labels \[7\]"),
        ("weights", ValueError, "weigh every chunk or none"),
        ("tuple", TypeError, "a chunk is a tuple"),
    ],
)
def test_a_bad_chunk_is_named_and_the_fitted_model_kept(kind, error, match):
    X, labels, _ = _data()
    model = _fitted(MLPClassifier((4,), max_iter=2, random_state=0, warm_start=True), X, labels)
    before = [np.copy(W) for W in model.coefs_]
    with pytest.raises(error, match=f"Chunk 2: .*{match}|Chunk 2 .*{match}"):
        fit_stream(model, _bad_chunks(kind))
    for a, b in zip(model.coefs_, before, strict=True):
        np.testing.assert_array_equal(a, b)
    assert model.n_iter_ == 2


def test_a_chunk_of_another_namespace_is_refused():
    xps = pytest.importorskip("array_api_strict")
    X, labels, _ = _data()
    chunks = _chunks(X, labels)
    chunks[1] = (xps.asarray(chunks[1][0]), chunks[1][1])
    with pytest.raises(TypeError, match="Chunk 1: X is a array_api_strict array"):
        fit_stream(MLPClassifier(max_iter=1), chunks, classes=[0, 1, 2, 3])


def test_a_stream_that_changes_length_is_refused():
    X, labels, _ = _data()
    epochs = []

    def read():
        epochs.append(1)
        cuts = CUTS if len(epochs) < 3 else CUTS[:-1]  # the second epoch loses rows
        yield from _chunks(X, labels, cuts=cuts)

    model = MLPClassifier((4,), max_iter=5)
    with pytest.raises(ValueError, match="250 rows in this epoch but 288 in the first"):
        fit_stream(model, read, classes=[0, 1, 2, 3])
    assert not hasattr(model, "coefs_")
