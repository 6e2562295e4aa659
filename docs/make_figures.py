"""Draw the README's figures: the tutorial's AND gate, learnt by the Perceptron.

    python docs/make_figures.py          # writes docs/and_gate.png

Needs the plot extra (matplotlib).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from xperceptron import Perceptron
from xperceptron.datasets import logic_gate
from xperceptron.plot import decision_boundary, loss_curve


def main() -> None:
    X, y = logic_gate("and")
    clf = Perceptron(learning_rate=0.1, max_iter=1000)
    clf.fit(X, y, coef_init=[[0.4, 0.2]], intercept_init=[1.0])
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    loss_curve(clf, ax=left)
    left.set_title("AND gate: misclassified samples per iteration")
    decision_boundary(clf, X, y, ax=right)
    w, b = clf.coef_[0], clf.intercept_[0]
    right.set_title(f"AND gate: w = [{w[0]:.3g}, {w[1]:.3g}], b = {b:.3g}")
    target = Path(__file__).with_name("and_gate.png")
    figure.savefig(target, dpi=90)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
