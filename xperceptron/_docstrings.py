"""The parameter and attribute sections MLPClassifier and MLPRegressor share, written once.

A class decorated with :func:`shared_sections` has, in its docstring, lines holding only a
name between braces (``{mlp_training_parameters}``); each is replaced by that section,
indented as the line was. ``help()``, Sphinx and the doctests all read the result.
"""

from __future__ import annotations

from typing import TypeVar

__all__ = ["SECTIONS", "shared_sections"]

_T = TypeVar("_T", bound=type)

_NETWORK = """\
hidden_layer_sizes : int or sequence of int, default=(100,)
    The number of units in each hidden layer: ``(64, 32)`` is two hidden layers, of 64 then
    32 units. An int is one hidden layer.
activation : {"identity", "leaky_relu", "logistic", "relu", "softplus", "tanh"}, \
default="relu"
    The activation of the hidden layers (the output layer's is set by the task: see
    ``out_activation_``)."""

_TRAINING = """\
solver : {"lbfgs", "sgd", "adam"}, default="adam"
    ``"adam"``: Adam, over mini-batches; ``"sgd"``: stochastic gradient descent with
    momentum and the ``learning_rate`` schedule; ``"lbfgs"``: full-batch L-BFGS, run on
    the device itself (no SciPy), often the best on small data sets. ``partial_fit`` is
    there for the two stochastic solvers only.
alpha : float, default=0.0001
    Strength of the L2 penalty: ``alpha / (2 * n_batch) * sum(||W||²)`` over the weight
    matrices (not the biases) is added to each batch's mean loss.
batch_size : int or "auto", default="auto"
    Samples per mini-batch for ``"sgd"`` and ``"adam"``; ``"auto"`` is
    ``min(200, n_samples)``. A size above the number of training samples is clipped to it,
    with a warning. ``"lbfgs"`` uses every sample at each step.
learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
    The schedule of ``solver="sgd"``. ``"constant"``: ``learning_rate_init`` throughout;
    ``"invscaling"``: ``learning_rate_init / t ** power_t`` after ``t`` samples;
    ``"adaptive"``: divided by 5 each time ``n_iter_no_change`` epochs in a row do not
    improve by ``tol``, until the rate is 1e-6 or less: then training stops.
learning_rate_init : float, default=0.001
    The step size of ``"sgd"`` and ``"adam"`` (the first one, under a schedule).
power_t : float, default=0.5
    The exponent of ``learning_rate="invscaling"``.
max_iter : int, default=200
    The most epochs (passes over the training data) of ``"sgd"`` and ``"adam"``; the most
    iterations of ``"lbfgs"``. A run that stops there warns with
    :class:`~xperceptron.ConvergenceWarning`.
shuffle : bool, default=True
    Visit the samples in a new random order at each epoch (``"sgd"`` and ``"adam"``).
random_state : int, numpy.random.RandomState, numpy.random.Generator or None, default=None
    The seed of the initial weights, the order of the samples and the early-stopping
    split. They are drawn on the host exactly as scikit-learn draws them, then moved to the
    device: the same seed gives the same model on every backend, and scikit-learn's.
    Unlike scikit-learn, the generator carries on across ``partial_fit`` and
    ``warm_start`` calls instead of starting again.
tol : float, default=1e-4
    The least improvement that counts. Training stops when the training loss (or, with
    ``early_stopping``, the validation score) has not improved by ``tol`` for
    ``n_iter_no_change`` epochs in a row. ``"lbfgs"`` stops once no gradient entry
    exceeds ``tol`` in absolute value (SciPy's ``gtol``), or the loss barely changes.
verbose : bool or int, default=False
    Show progress while training: on an interactive terminal with ``tqdm`` installed (the
    ``progress`` extra), a bar over epochs with the loss; otherwise scikit-learn's line
    per epoch on standard output. See :class:`~xperceptron.callbacks.ProgressBar`.
warm_start : bool, default=False
    ``fit`` goes on from the fitted weights and optimizer state instead of starting anew.
momentum : float in [0, 1], default=0.9
    The momentum of ``solver="sgd"``.
nesterovs_momentum : bool, default=True
    Use Nesterov's momentum with ``solver="sgd"`` and ``momentum > 0``.
early_stopping : bool, default=False
    Hold out ``validation_fraction`` of the training data (stratified by class for a
    classifier, drawn as scikit-learn draws it), score it after each epoch (accuracy for a
    classifier, R² for a regressor), stop once the score has not improved by ``tol`` for
    ``n_iter_no_change`` epochs, and keep the weights of the best epoch. ``"sgd"`` and
    ``"adam"`` only; ``partial_fit`` refuses it.
validation_fraction : float in (0, 1), default=0.1
    The share of the training data held out with ``early_stopping``.
beta_1 : float in [0, 1), default=0.9
    Adam's decay rate of its running mean of the gradients.
beta_2 : float in [0, 1), default=0.999
    Adam's decay rate of its running mean of the squared gradients.
epsilon : float, default=1e-8
    Adam's term added to the denominator, for numerical stability.
n_iter_no_change : int, default=10
    Epochs in a row without an improvement of ``tol`` before training stops (or the
    ``"adaptive"`` schedule reduces the rate).
max_fun : int, default=15000
    ``solver="lbfgs"`` only: the most evaluations of the loss and its gradient.
callbacks : list or None, default=None
    Objects told of each finished epoch, in order, never of a batch: see
    :mod:`xperceptron.callbacks` (``EarlyStopping``, ``ModelCheckpoint``, ``CSVLogger``,
    ``History``, ``StopOnNonFinite``...) and any object with one of its hooks. They are not
    saved in a checkpoint.
distributed : {None, "torch", "mpi"}, default=None
    Data-parallel training: each process (started by ``torchrun`` or ``mpiexec``) passes
    its own shard of the rows to ``fit`` or ``partial_fit``, and the processes train one
    model together. ``batch_size`` is the global batch, each rank giving a share
    proportional to its shard; each step sums one flat buffer of gradients over the ranks
    (torch.distributed's default process group, initialised from the launcher's
    environment if the script has not; or ``MPI.COMM_WORLD``). Every rank ends with the
    same model; only rank 0 runs the callbacks and the progress bar. Pass the same int
    ``random_state`` on every rank. With ``early_stopping`` each rank holds out
    ``validation_fraction`` of its own rows, and the score is of all of them together.
cuda_graph : bool, default=False
    With CuPy arrays or PyTorch tensors on CUDA and ``solver="sgd"`` or ``"adam"``: record
    one training step as a CUDA graph and replay it for every batch of that shape (the
    last partial batch runs as usual). Small batches, whose steps are bound by kernel
    launches, train several times faster; the model is the same bit for bit. Elsewhere
    (NumPy, the CPU, JAX, sparse X, ``distributed``) it changes nothing."""

_ATTRIBUTES = """\
coefs_ : list of arrays
    ``coefs_[i]``, of shape ``(n_in, n_out)``, holds the weights from layer ``i`` to layer
    ``i + 1``. Every fitted array is in X's namespace, on X's device, in X's floating dtype.
intercepts_ : list of arrays
    ``intercepts_[i]``, of shape ``(n_out,)``, holds the biases of layer ``i + 1``.
loss_ : float
    The loss of the last epoch (the L2 penalty included).
best_loss_ : float or None
    The lowest loss of any epoch; None with ``early_stopping``, which follows the
    validation score instead.
loss_curve_ : list of float
    The loss of each epoch; it runs on across ``partial_fit`` and ``warm_start`` calls.
validation_scores_ : list of float or None
    With ``early_stopping``, the held-out score of each epoch; None otherwise.
best_validation_score_ : float or None
    With ``early_stopping``, the best of ``validation_scores_``; None otherwise.
n_iter_ : int
    The epochs the latest call ran (iterations for ``"lbfgs"``).
t_ : int
    The training samples seen, across calls (the ``t`` of ``"invscaling"``).
n_features_in_ : int
    The number of features seen by ``fit``.
feature_names_in_ : numpy.ndarray of shape (n_features,)
    The column names of a pandas DataFrame ``X`` whose names are all strings, checked at
    predict time; absent otherwise.
n_layers_ : int
    The number of layers, the input and output layers included.
n_outputs_ : int
    The number of output units."""

SECTIONS = {
    "mlp_network_parameters": _NETWORK,
    "mlp_training_parameters": _TRAINING,
    "mlp_attributes": _ATTRIBUTES,
}
"""Each shared section, by the name that stands for it in a docstring."""


def shared_sections(cls: _T) -> _T:
    """Fill ``cls.__doc__`` 's placeholder lines with :data:`SECTIONS`."""
    lines = []
    for line in (cls.__doc__ or "").split("\n"):
        name = line.strip()[1:-1] if line.strip().startswith("{") else None
        if name in SECTIONS:
            indent = line[: len(line) - len(line.lstrip())]
            lines += [indent + text if text else text for text in SECTIONS[name].split("\n")]
        else:
            lines.append(line)
    cls.__doc__ = "\n".join(lines)
    return cls
