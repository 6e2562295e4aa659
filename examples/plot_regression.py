"""
Regression: squared error and Poisson
=====================================

:class:`~xperceptron.MLPRegressor` fits a smooth curve with the default squared error, and
counts with ``loss="poisson"``, whose exponential output is never negative.
"""

import matplotlib.pyplot as plt
import numpy as np

from xperceptron import MLPRegressor

rng = np.random.default_rng(0)
X = np.sort(rng.uniform(-3, 3, size=(300, 1)), axis=0)
wave = np.sin(2 * X[:, 0]) + rng.normal(scale=0.2, size=300)
counts = rng.poisson(np.exp(1 + np.sin(X[:, 0])))

# Noisy targets: L-BFGS stops once no gradient entry exceeds tol (1e-4 would take longer
# than the noise is worth).
curve = MLPRegressor((32,), "tanh", solver="lbfgs", tol=1e-3, random_state=0).fit(X, wave)
rates = MLPRegressor((16,), "tanh", loss="poisson", solver="lbfgs", tol=1e-3, random_state=0)
rates.fit(X, counts)
print(f"R² of the wave: {curve.score(X, wave):.3f}")
print(f"smallest predicted rate: {rates.predict(X).min():.3f} (never negative)")

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
left.scatter(X[:, 0], wave, s=8, alpha=0.5, label="samples")
left.plot(X[:, 0], curve.predict(X), color="tab:red", label="squared error fit")
left.set_title("sin(2x) with noise: the fitted curve")
left.legend(loc="lower left")
right.scatter(X[:, 0], counts, s=8, alpha=0.5, label="counts")
right.plot(X[:, 0], rates.predict(X), color="tab:red", label="Poisson fit")
right.plot(X[:, 0], np.exp(1 + np.sin(X[:, 0])), "k--", label="true rate")
right.set_title("Counts: the fitted Poisson rate")
right.legend(loc="upper left")
plt.show()
