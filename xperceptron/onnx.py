"""ONNX export, written once through the array API standard.

There is no converter here, no code per layer or per activation. ndonnx is an array API
namespace whose arrays are nodes of an ONNX graph: the estimator's parameters become constants
of that namespace, the input ``X`` a symbolic argument, and the same :func:`network.forward`
and the same output code that predict on NumPy, CuPy or PyTorch build the graph.

The graph's input is ``X`` of shape ``(n_samples, n_features)``, ``n_samples`` symbolic, in
the model's float dtype. Its outputs are a classifier's ``label`` (the labels of ``classes_``,
strings included; a multilabel model's 0/1 indicator rows) and ``probabilities`` (what
``predict_proba`` returns), or a regressor's ``predictions``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from ._base import check_is_fitted
from ._namespace import to_numpy
from ._paths import check_writable
from .mlp import MLPClassifier, MLPRegressor
from .network import forward
from .perceptron import Perceptron

__all__ = ["export_onnx"]

INPUT = "X"
BATCH = "n_samples"
"""The name of the symbolic batch dimension of ``X`` (and of every output)."""
_INSTALL = "pip install 'xperceptron[onnx]'"


def export_onnx(estimator: Any, path: str | os.PathLike[str]) -> None:
    """Write a fitted estimator's prediction as an ONNX model, for onnxruntime and others.

    The graph is traced from the estimator's own prediction code through ndonnx, an array
    API namespace that builds ONNX graphs: what runs is what ``predict`` and
    ``predict_proba`` compute, from a model trained on any backend.

    Parameters
    ----------
    estimator : MLPClassifier, MLPRegressor or Perceptron
        A fitted estimator.
    path : str or os.PathLike
        The file to write (conventionally ``.onnx``). It is checked before anything is
        traced, and written only once the whole model is built.

    Notes
    -----
    The model has one input, ``X``, of shape ``(n_samples, n_features)`` with
    ``n_samples`` symbolic, in the model's dtype (float32 or float64). Classifiers have the
    outputs ``label``, shape ``(n_samples,)``, the labels of ``classes_`` (strings
    included; for a multilabel model, the int64 indicator of shape
    ``(n_samples, n_labels)``), and ``probabilities``, what ``predict_proba`` returns.
    Regressors have ``predictions``, what ``predict`` returns. onnxruntime reproduces them to
    about 1e-12 in float64 and 1e-6 in float32.

    Raises
    ------
    ImportError
        Without ndonnx (``pip install 'xperceptron[onnx]'``).
    TypeError
        For an estimator other than the three above.
    NotFittedError
        If the estimator was not fitted.
    OSError
        If ``path`` is a folder, or its folder does not exist or may not be written.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime as ort  # doctest: +SKIP
    >>> from xperceptron import MLPClassifier, export_onnx
    >>> from xperceptron.datasets import logic_gate
    >>> X, y = logic_gate("xor")
    >>> clf = MLPClassifier((8,), "tanh", learning_rate_init=0.05, max_iter=500,
    ...                     random_state=0).fit(X, y)
    >>> export_onnx(clf, "xor.onnx")  # doctest: +SKIP
    >>> session = ort.InferenceSession("xor.onnx")  # doctest: +SKIP
    >>> labels, probabilities = session.run(["label", "probabilities"], {"X": X})  # doctest: +SKIP
    >>> labels.tolist()  # doctest: +SKIP
    [0, 1, 1, 0]
    """
    target = check_writable(path)
    model = onnx_model(estimator)
    with open(target, "wb") as file:
        file.write(model.SerializeToString())


def onnx_model(
    estimator: Any, *, shift: Any = None, scale: Any = None, feature_names: Any = None
) -> Any:
    """The ONNX ``ModelProto`` that :func:`export_onnx` writes.

    ``shift`` and ``scale`` (host arrays of shape ``(n_features,)``), where given, make the
    graph standardise its input first, ``(X - shift) / scale``, as the command line's
    ``train`` does before fitting. ``feature_names`` (default: the estimator's
    ``feature_names_in_``) are recorded in the model's metadata as ``feature_names``.
    """
    xp = _ndonnx()
    if not isinstance(estimator, MLPClassifier | MLPRegressor | Perceptron):
        raise TypeError(
            "export_onnx knows MLPClassifier, MLPRegressor and Perceptron, not "
            f"{type(estimator).__name__}."
        )
    check_is_fitted(estimator)
    pairs = _parameters(estimator)
    dtype = pairs[0][0].dtype
    X = xp.argument(shape=(BATCH, estimator.n_features_in_), dtype=xp.from_numpy_dtype(dtype))
    inputs = X
    if shift is not None or scale is not None:
        n_features = estimator.n_features_in_
        shift = np.zeros(n_features) if shift is None else np.asarray(shift, dtype=float)
        scale = np.ones(n_features) if scale is None else np.asarray(scale, dtype=float)
        inputs = (X - xp.asarray(shift.astype(dtype))) / xp.asarray(scale.astype(dtype))
    outputs = _outputs(estimator, inputs, [(xp.asarray(W), xp.asarray(b)) for W, b in pairs], xp)
    model = xp.build({INPUT: X}, outputs)
    _describe(model, estimator, outputs, feature_names)
    return model


def _ndonnx() -> Any:
    try:
        import ndonnx
    except ImportError as exc:
        raise ImportError(f"ONNX export needs ndonnx: {_INSTALL}") from exc
    return ndonnx


def _parameters(estimator: Any) -> list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
    """The network's ``(W, b)`` pairs on the host, ``W`` of shape ``(n_in, n_out)``.

    A Perceptron is a network of one layer: its logits ``X @ coef_.T + intercept_`` are
    :func:`network.forward`'s with ``W = coef_.T``.
    """
    if isinstance(estimator, Perceptron):
        return [(np.ascontiguousarray(to_numpy(estimator.coef_).T), to_numpy(estimator.intercept_))]
    return [
        (to_numpy(W), to_numpy(b))
        for W, b in zip(estimator.coefs_, estimator.intercepts_, strict=True)
    ]


def _outputs(estimator: Any, X: Any, params: list[tuple[Any, Any]], xp: Any) -> dict[str, Any]:
    """The graph's outputs: the estimator's own prediction code, run on ndonnx arrays."""
    activation = getattr(estimator, "activation", "identity")  # a Perceptron has no hidden layer
    logits, _ = forward(params, X, activation=activation, xp=xp)
    # ndonnx's shape inference loses the width of a product; the estimators' output code
    # reads it (one logistic unit or several), so it is stated again.
    logits = xp.reshape(logits, (-1, params[-1][0].shape[1]))
    if isinstance(estimator, MLPRegressor):
        return {"predictions": estimator._predictions(logits, xp=xp)}
    indices = estimator._class_indices(logits, xp=xp)
    if indices.ndim == 2:  # a multilabel indicator is the prediction itself
        labels = indices
    else:
        labels = xp.take(xp.asarray(_labels(estimator.classes_)), xp.astype(indices, xp.int64))
    return {"label": labels, "probabilities": estimator._probabilities(logits, xp=xp)}


def _labels(classes: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """``classes_`` as an array ONNX holds: numbers, booleans or strings."""
    if classes.dtype.kind == "O" and all(isinstance(c, str) for c in classes.tolist()):
        return classes.astype(str)
    if classes.dtype.kind not in "biufU":
        raise TypeError(
            f"classes_ has dtype {classes.dtype}; ONNX holds numeric, boolean or string labels."
        )
    return classes


def _describe(model: Any, estimator: Any, outputs: dict[str, Any], names: Any) -> None:
    from . import __version__

    model.producer_name = "xperceptron"
    model.producer_version = __version__
    model.doc_string = (
        f"{type(estimator).__name__} exported by xperceptron {__version__}: input {INPUT} of "
        f"shape ({BATCH}, {estimator.n_features_in_}); outputs {', '.join(outputs)}."
    )
    for output in model.graph.output:  # the batch dimension keeps its name in every output
        output.type.tensor_type.shape.dim[0].dim_param = BATCH
    if names is None:
        names = getattr(estimator, "feature_names_in_", None)
    if names is not None:
        entry = model.metadata_props.add()
        entry.key, entry.value = "feature_names", json.dumps([str(name) for name in names])
