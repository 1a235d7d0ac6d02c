"""The adjoint of `x[np.arange(n), y]` stays sparse (passes/sparse.py): its row sums are
the picked adjoints, and adding it to a dense adjoint is a write of n entries. Then the
forward picks before computing (passes/gather.py): only the picked log-probabilities.

Every function is checked against central differences, reverse and forward mode; the
generated code is checked for the dense one-hot (`np.zeros_like`) where it must go and
where it must stay.
"""

import numpy as np
import pytest
import scipy.special
from numeric import check_gradient, check_jvp

import ast_ad


def cross_entropy(X, y):
    n = X.shape[0]
    s = X - np.max(X, axis=1, keepdims=True)
    logp = s - np.log(np.sum(np.exp(s), axis=1, keepdims=True))
    return -np.mean(logp[np.arange(n), y])


def weighted_cross_entropy(X, y, w):
    logp = X - np.log(np.sum(np.exp(X), axis=1, keepdims=True))
    return -np.sum(w * logp[np.arange(X.shape[0]), y])


def picked_and_dense(X, y, W):
    # the dense adjoint is W itself (a name, not a new array): the one-hot stays
    return np.sum(X[np.arange(X.shape[0]), y] ** 2) + np.sum(X * W)


def picked_twice(X, y, z):
    rows = np.arange(X.shape[0])
    return np.sum(np.sin(X[rows, y]) * X[rows, z]) + np.sum(X ** 2)


def some_rows(X, y):
    # rows 0..n-2 only: not every row gets an entry, the one-hot stays
    n = X.shape[0] - 1
    logp = X - np.log(np.sum(np.exp(X), axis=1, keepdims=True))
    return -np.sum(logp[np.arange(n), y[:n]])


def _data(seed=0, n=6, classes=4):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, classes)), rng.integers(0, classes, size=n)


def _source(f, *args, argnums=0):
    return ast_ad.source(ast_ad.value_and_grad(f, argnums=argnums), *args)


def test_cross_entropy_has_no_one_hot():
    X, y = _data()
    check_gradient(cross_entropy, X, y, argnums=(0,))
    check_jvp(cross_entropy, X, y, argnums=(0,))
    source = _source(cross_entropy, X, y)
    assert "zeros_like" not in source and "[:, None]" in source
    # labels repeated, and a single row
    check_gradient(cross_entropy, X, np.zeros(6, dtype=int), argnums=(0,))
    check_gradient(cross_entropy, X[:1], y[:1], argnums=(0,))


def test_weighted_cross_entropy():
    X, y = _data(1)
    w = np.random.default_rng(2).uniform(0.5, 2.0, size=6)
    check_gradient(weighted_cross_entropy, X, y, w, argnums=(0, 2))
    check_jvp(weighted_cross_entropy, X, y, w, argnums=(0, 2))
    assert "zeros_like" not in _source(weighted_cross_entropy, X, y, w, argnums=(0, 2))


@pytest.mark.parametrize("f", [picked_and_dense, picked_twice, some_rows])
def test_the_one_hot_stays_where_it_must(f):
    X, y = _data(3)
    other = np.random.default_rng(4).normal(size=X.shape) if f is picked_and_dense else \
        (y[::-1].copy() if f is picked_twice else None)
    args = (X, y) if other is None else (X, y, other)
    check_gradient(f, *args, argnums=(0,))
    check_jvp(f, *args, argnums=(0,))
    source = _source(f, *args)  # a dense adjoint the picked items are added into
    assert "zeros_like" in source or "bX[t3, y] += " in source or "bX[rows, y] += " in source


def test_float32_keeps_its_dtype():
    X, y = _data(5)
    X32 = X.astype(np.float32)
    g = ast_ad.grad(cross_entropy)(X32, y)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, ast_ad.grad(cross_entropy)(X, y), rtol=1e-4, atol=1e-6)


def log_probs_read_twice(X, y):
    logp = X - np.log(np.sum(np.exp(X), axis=1, keepdims=True))
    return -np.sum(logp[np.arange(X.shape[0]), y]) + np.sum(logp ** 2)


def pick_of_a_matrix_product(X, W, y):
    # X @ W is not element-wise: it is computed whole
    z = X @ W + 1.0
    return np.sum(np.tanh(z[np.arange(X.shape[0]), y]))


def test_the_forward_computes_only_the_picked_entries():
    X, y = _data(6)
    source = _source(cross_entropy, X, y)
    forward = [line.strip() for line in source.split("# backward")[0].splitlines()
               if not line.strip().startswith("#")]
    assert not any(line.startswith("logp = ") for line in forward)
    assert any(", 0])" in line for line in forward)  # np.log(t3[rows, 0])
    value, _ = ast_ad.value_and_grad(cross_entropy)(X, y)
    assert value == cross_entropy(X, y)  # the same float operations on the same entries


def test_an_index_out_of_range_still_raises():
    X, y = _data(7)
    bad = y.copy()
    bad[2] = 4
    with pytest.raises(IndexError):
        cross_entropy(X, bad)
    with pytest.raises(IndexError):
        ast_ad.value_and_grad(cross_entropy)(X, bad)


@pytest.mark.parametrize("f", [log_probs_read_twice, pick_of_a_matrix_product])
def test_what_is_read_elsewhere_or_not_element_wise_is_computed_whole(f):
    X, y = _data(8)
    args = (X, y) if f is log_probs_read_twice else (X, np.random.default_rng(9).normal(
        size=(4, 4)), y)
    check_gradient(f, *args, argnums=(0,))
    check_jvp(f, *args, argnums=(0,))


def scipy_cross_entropy(X, y):
    return -np.mean(scipy.special.log_softmax(X, axis=1)[np.arange(X.shape[0]), y])


def test_through_scipy_log_softmax():
    X, y = _data(10)
    check_gradient(scipy_cross_entropy, X, y, argnums=(0,))
    source = _source(scipy_cross_entropy, X, y)
    assert "zeros_like" not in source
    # the sign goes on the column of picked adjoints, not on the whole np.exp(...)
    # (scipy's log_softmax is spelled out in NumPy: passes/expand.py)
    assert "-np.exp" not in source and "= -bt5[:, None]" in source
