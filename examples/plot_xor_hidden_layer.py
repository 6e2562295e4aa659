"""
XOR needs a hidden layer
========================

No line separates XOR's classes, so a perceptron never stops misclassifying (it warns after
``max_iter`` iterations). One hidden layer of eight ``tanh`` units bends the boundary
around them.
"""

import warnings

import matplotlib.pyplot as plt

from xperceptron import ConvergenceWarning, MLPClassifier, Perceptron
from xperceptron.datasets import logic_gate
from xperceptron.plot import decision_boundary

X, y = logic_gate("xor")

with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # expected: XOR is not separable
    line = Perceptron(max_iter=200).fit(X, y)
print("perceptron predictions:", line.predict(X), "errors at the end:", line.errors_[-1])

mlp = MLPClassifier((8,), "tanh", solver="lbfgs", random_state=0).fit(X, y)
print("MLP predictions:", mlp.predict(X))

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
decision_boundary(line, X, y, ax=left)
decision_boundary(mlp, X, y, ax=right)
plt.show()
