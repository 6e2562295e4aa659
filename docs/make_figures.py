"""Draw the README's figure: the tutorial's AND gate, and a loss curve.

    python docs/make_figures.py          # writes docs/and_gate.png

Needs the plot extra (matplotlib).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from xperceptron import MLPClassifier, Perceptron
from xperceptron.datasets import logic_gate
from xperceptron.plot import decision_boundary, loss_curve


def main() -> None:
    X, y = logic_gate("and")
    tutorial = Perceptron(learning_rate=0.1, max_iter=1000)
    tutorial.fit(X, y, coef_init=[[0.4, 0.2]], intercept_init=[1.0])
    X_xor, y_xor = logic_gate("xor")
    mlp = MLPClassifier((8,), "tanh", learning_rate_init=0.05, max_iter=500, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp.fit(X_xor, y_xor)

    figure, (left, middle, right) = plt.subplots(1, 3, figsize=(16, 4), layout="constrained")
    decision_boundary(tutorial, X, y, ax=left)
    w, b = tutorial.coef_[0], tutorial.intercept_[0]
    left.set_title(f"AND gate, the tutorial: w = [{w[0]:.3g}, {w[1]:.3g}], b = {b:.3g}")
    loss_curve(tutorial, ax=middle)
    middle.set_title("AND gate: misclassified samples per iteration")
    loss_curve(mlp, ax=right)
    right.set_title("XOR gate, MLPClassifier((8,), 'tanh'): loss curve")
    target = Path(__file__).with_name("and_gate.png")
    figure.savefig(target, dpi=80)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
