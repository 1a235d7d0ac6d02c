"""Regression tests for bugs tools/peers.py found in peers' test material (issue 9)."""

import numpy as np
from numeric import check_gradient

import ast_ad


def rows_picked_by_a_cast_column(W):
    # autograd's test_cast_to_int: an integer array made by np.int64 of an array indexes
    # rows, some of them twice. np.int64(...) was taken for a scalar, so the adjoint
    # wrote `b[rows] += g` (buffered: a repeated row counted once) instead of adding.
    rows = np.int64(W[:, -1])
    return np.sum(W[:, :-1][rows] * 2.0)


def test_an_integer_array_made_by_a_numpy_integer_type_indexes_with_repeats():
    W = np.zeros((5, 4))
    W[:, :-1] = np.arange(15.0).reshape(5, 3) / 10
    W[:, -1] = [0.2, 0.4, 0.1, 1.3, 4.7]  # rows 0, 0, 0, 1, 4
    expected = np.zeros((5, 4))
    expected[[0, 1, 4], :-1] = [[6.0], [2.0], [2.0]]
    np.testing.assert_allclose(ast_ad.grad(rows_picked_by_a_cast_column)(W), expected)
    check_gradient(rows_picked_by_a_cast_column, W)
