"""The max shift of a softmax has no gradient: passes/cancel.py proves its adjoint zero.

Each function is checked against central differences (reverse and forward mode); the
generated code must not compute the shift's adjoint (`extremum_weights`) where the
function does not depend on the shift, and must compute it where it does.
"""

import numpy as np
import pytest
from numeric import check_gradient, check_jvp, numeric_gradient

import ast_ad


def logsumexp(x):
    m = np.max(x)
    return np.log(np.sum(np.exp(x - m))) + m


def logsumexp_rows(x, w):
    m = np.max(x, axis=1, keepdims=True)
    return np.sum(w * (np.log(np.sum(np.exp(x - m), axis=1, keepdims=True)) + m))


def softmax_weighted(x, w):
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    p = e / e.sum(axis=-1, keepdims=True)
    return np.sum(p * w)


def cross_entropy(X, y):
    n = X.shape[0]
    s = X - np.max(X, axis=1, keepdims=True)
    logp = s - np.log(np.sum(np.exp(s), axis=1, keepdims=True))
    return -np.mean(logp[np.arange(n), y])


def attention(Q, K, V):
    S = Q @ K.T / np.sqrt(Q.shape[1])
    E = np.exp(S - np.max(S, axis=1, keepdims=True))
    P = E / np.sum(E, axis=1, keepdims=True)
    return np.sum(np.tanh(P @ V))


# Depend on the shift: its adjoint is not zero and must stay.
def exp_of_shifted(x, w):
    s = x - np.max(x, axis=1, keepdims=True)
    return np.sum(np.exp(s) * w)


def partly_invariant(x, w):
    # d/dm = 1 - sum(w) per row: the log-sum-exp part cancels, the linear part does not
    s = x - np.max(x, axis=1, keepdims=True)
    return np.sum(w * s) - np.sum(np.log(np.sum(np.exp(s), axis=1)))


def shift_in_a_loop(x, w):
    total = 0.0
    for _ in range(3):
        m = np.max(x, axis=1, keepdims=True)
        e = np.exp(x - m)
        total = total + np.sum(w * e / np.sum(e, axis=1, keepdims=True))
        x = x * 0.9
    return total


def _data(seed=0, shape=(5, 4)):
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape) * 2.0, rng.normal(size=shape)


def _source(f, *args):
    return ast_ad.source(ast_ad.value_and_grad(f), *args)


@pytest.mark.parametrize("f", [logsumexp_rows, softmax_weighted])
def test_the_shift_adjoint_is_dropped(f):
    x, w = _data()
    check_gradient(f, x, w, argnums=(0, 1))
    check_jvp(f, x, w, argnums=(0, 1))
    assert "extremum_weights" not in _source(f, x, w)


def test_logsumexp_gradient_is_the_softmax():
    x, _ = _data(1, (6,))
    check_gradient(logsumexp, x)
    check_jvp(logsumexp, x)
    e = np.exp(x - x.max())
    np.testing.assert_allclose(ast_ad.grad(logsumexp)(x), e / e.sum(), rtol=1e-14)
    assert "extremum_weights" not in _source(logsumexp, x)


def test_a_tied_maximum_gets_no_share_of_the_gradient():
    # with the shift's (zero) adjoint computed, a tie would split rounding noise between
    # the tied entries; proven zero, the gradient is exactly the softmax
    x = np.array([[1.0, 3.0, 3.0, -2.0], [0.5, 0.5, 0.5, 0.5]])
    w = np.arange(8.0).reshape(2, 4)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    expected = p * (w - np.sum(w * p, axis=1, keepdims=True))
    np.testing.assert_allclose(ast_ad.grad(softmax_weighted)(x, w), expected, rtol=1e-13,
                               atol=1e-15)


def test_cross_entropy_and_its_hessian():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(6, 3)), rng.integers(0, 3, size=6)
    check_gradient(cross_entropy, X, y, argnums=(0,))
    check_jvp(cross_entropy, X, y, argnums=(0,))
    assert "extremum_weights" not in ast_ad.source(ast_ad.grad(cross_entropy), X, y)
    hessian = ast_ad.hessian(cross_entropy)(X, y).reshape(X.size, X.size)
    gradient = ast_ad.grad(cross_entropy)
    numeric = np.stack([numeric_gradient(lambda X, k: gradient(X, y).ravel()[k], [X, k], 0)
                        .ravel() for k in range(X.size)])
    np.testing.assert_allclose(hessian, numeric, atol=1e-6)


def test_attention():
    rng = np.random.default_rng(3)
    Q, K, V = (rng.normal(size=(4, 3)) for _ in range(3))
    check_gradient(attention, Q, K, V)
    check_jvp(attention, Q, K, V)
    assert "extremum_weights" not in _source(attention, Q, K, V)


@pytest.mark.parametrize("f", [exp_of_shifted, partly_invariant, shift_in_a_loop])
def test_a_shift_the_function_depends_on_keeps_its_adjoint(f):
    x, w = _data(4)
    check_gradient(f, x, w, argnums=(0, 1))
    check_jvp(f, x, w, argnums=(0, 1))
    assert "extremum_weights" in _source(f, x, w)
