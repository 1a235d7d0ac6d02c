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


def count_below(x, y):
    # autograd's test_comparison_grads: `+ 0.0` makes a float of an integer count. The
    # simplifier dropped it (e + 0.0 -> e), so grad said the function returned an int.
    return np.sum(x < y) + 0.0


def halves(x, n):
    return x * (n / 1) + (n * 1.0)


def test_identities_that_make_floats_of_ints_are_kept():
    x, y = np.array([0.5, 2.0, -1.0]), np.zeros(3)
    value, g = ast_ad.value_and_grad(count_below)(x, y)
    assert value == 1.0 and isinstance(value, np.floating)
    np.testing.assert_array_equal(g, np.zeros(3))
    assert ast_ad.jvp(count_below, (x, y), (x, y))[1] == 0.0
    assert ast_ad.grad(count_below, argnums=(0, 1))(2.0, 3.0) == (0.0, 0.0)  # floats too
    value, g = ast_ad.value_and_grad(halves)(2.0, 3)
    assert (value, g) == (9.0, 3.0) and type(value) is float
