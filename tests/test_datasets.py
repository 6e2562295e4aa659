"""Built-in data."""

from __future__ import annotations

import operator

import numpy as np
import pytest

from xperceptron.datasets import GATES, logic_gate

TRUTH = {
    "and": operator.and_,
    "or": operator.or_,
    "nand": lambda a, b: 1 - (a & b),
    "xor": operator.xor,
}


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_gates_are_their_truth_tables(name):
    X, y = logic_gate(name.upper())
    assert X.shape == (4, 2)
    assert X.dtype == np.float64
    assert y.dtype == np.int64
    expected = [TRUTH[name](int(a), int(b)) for a, b in X]
    np.testing.assert_array_equal(y, expected)
    assert sorted(GATES) == sorted(TRUTH)


def test_the_tutorials_and_gate():
    X, y = logic_gate("and")
    # The tutorial's x = [[0,1,0,1],[0,0,1,1]] and y = [[0,0,0,1]], one sample per row.
    np.testing.assert_array_equal(X.T, [[0, 1, 0, 1], [0, 0, 1, 1]])
    np.testing.assert_array_equal(y, [0, 0, 0, 1])


def test_unknown_gate_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"known gates are \['and', 'nand', 'or', 'xor'\]"):
        logic_gate("xnor")
