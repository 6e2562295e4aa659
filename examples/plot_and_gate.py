"""
The tutorial: a perceptron learns AND
=====================================

A single sigmoid unit, thresholded at 0.5, starts from the weights 0.4, 0.2 and the bias 1
and learns the AND gate with the learning rate 0.1. Left: the line it ends on, with the four
samples. Right: how many samples it misclassified at each iteration; the first iteration
with no error makes a zero update, so training stops there.
"""

import matplotlib.pyplot as plt

from xperceptron import Perceptron
from xperceptron.datasets import logic_gate
from xperceptron.plot import decision_boundary, loss_curve

X, y = logic_gate("and")
clf = Perceptron(learning_rate=0.1, max_iter=1000)
clf.fit(X, y, coef_init=[[0.4, 0.2]], intercept_init=[1.0])
print("weights", clf.coef_, "bias", clf.intercept_)
print("errors per iteration", clf.errors_)
print("predictions", clf.predict(X))

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
decision_boundary(clf, X, y, ax=left)
loss_curve(clf, ax=right)
plt.show()
