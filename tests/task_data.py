"""Small data sets of every kind of target, from one linear score (shared by test modules)."""

from __future__ import annotations

import numpy as np

TASKS = ("binary", "multiclass", "multilabel", "regression")


def task_data(
    task: str, n: int, *, seed: int = 0, threshold: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.random.Generator]:
    """``X`` of shape ``(n, 4)``, targets of ``task`` (binary labels split at ``threshold``,
    3 classes, 3 labels, or values), and the generator for any further draws."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    scores = X @ rng.normal(size=(4, 3))
    y = {
        "binary": (scores[:, 0] > threshold).astype(np.int64),
        "multiclass": np.argmax(scores, axis=1),
        "multilabel": (scores > 0).astype(np.int64),
        "regression": scores[:, 0],
    }[task]
    return X, y, rng
