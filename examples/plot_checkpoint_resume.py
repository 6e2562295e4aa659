"""
Checkpoints resume exactly
==========================

A :class:`~xperceptron.callbacks.ModelCheckpoint` saves the model every 5 epochs. Loading
the checkpoint of epoch 10 and training it for 10 more epochs with ``partial_fit`` gives the
very same loss curve, and the same weights, as the run that went on uninterrupted: a
checkpoint holds the optimizer's state, the learning rate and the random generator.
"""

import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import xperceptron
from xperceptron import ConvergenceWarning, MLPClassifier
from xperceptron.callbacks import ModelCheckpoint

rng = np.random.default_rng(0)
X = rng.normal(size=(400, 5))
y = (X[:, 0] * X[:, 1] + X[:, 2] > 0).astype(int)

folder = Path(tempfile.mkdtemp())
saver = ModelCheckpoint(folder / "epoch-{epoch}.npz", every=5)
full = MLPClassifier((16,), solver="sgd", learning_rate_init=0.05, max_iter=20,
                     random_state=0, callbacks=[saver])  # fmt: skip
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # 20 epochs, on purpose
    full.fit(X, y)
print("checkpoints:", [Path(p).name for p in saver.saved])

resumed = xperceptron.load(folder / "epoch-10.npz")
for _ in range(10):
    resumed.partial_fit(X, y)

same = all(np.array_equal(a, b) for a, b in zip(full.coefs_, resumed.coefs_, strict=True))
print("same loss curve:", resumed.loss_curve_ == full.loss_curve_, "same weights:", same)

epochs = np.arange(1, 21)
fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
ax.plot(epochs, full.loss_curve_, lw=4, alpha=0.4, label="uninterrupted")
ax.plot(epochs[10:], resumed.loss_curve_[10:], "o", label="resumed from epoch 10")
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.set_title("MLPClassifier: training loss, uninterrupted and resumed")
ax.legend()
plt.show()
