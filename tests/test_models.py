"""Losses of small models: softmax cross-entropy, logistic regression, a 3-layer MLP."""

import model_cases as m
import numpy as np
import pytest
from numeric import check_gradient, check_jvp

import ast_ad

rng = np.random.default_rng(17)


def _softmax_args():
    X, W, b = rng.normal(size=(6, 4)), rng.normal(size=(4, 3)), rng.normal(size=3)
    labels = np.eye(3)[rng.integers(0, 3, size=6)]
    return W, b, X, labels


def _logistic_args():
    X = rng.normal(size=(50, 5))
    return rng.normal(size=5), X, np.sign(rng.normal(size=50))


def _mlp_args():
    return (rng.normal(size=(4, 6)), rng.normal(size=6), rng.normal(size=(6, 5)),
            rng.normal(size=5) + 0.5, rng.normal(size=(5, 1)), rng.normal(size=1),
            rng.normal(size=(8, 4)), rng.normal(size=(8, 1)))


MODELS = [(m.softmax_cross_entropy, _softmax_args(), (0, 1)),
          (m.logistic_regression, _logistic_args(), (0,)),
          (m.mlp3, _mlp_args(), (0, 1, 2, 3, 4, 5))]


@pytest.mark.parametrize("fn, args, argnums", MODELS, ids=[f.__name__ for f, _, _ in MODELS])
def test_model_gradients(fn, args, argnums):
    check_gradient(fn, *args, argnums=argnums)
    check_jvp(fn, *args, argnums=argnums)


@pytest.mark.parametrize("fn, args, argnums", MODELS, ids=[f.__name__ for f, _, _ in MODELS])
def test_model_gradients_in_float32(fn, args, argnums):
    single = tuple(a.astype(np.float32) for a in args)
    grads = ast_ad.grad(fn, argnums=argnums)(*single)
    expected = ast_ad.grad(fn, argnums=argnums)(*args)
    for g, e in zip(grads, expected):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, e, rtol=1e-3, atol=1e-4)


def test_softmax_gradient_matches_the_closed_form():
    W, b, X, labels = _softmax_args()
    logits = X @ W + b
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    dW, db = ast_ad.grad(m.softmax_cross_entropy, argnums=(0, 1))(W, b, X, labels)
    np.testing.assert_allclose(dW, X.T @ (p - labels) / len(X))
    np.testing.assert_allclose(db, (p - labels).mean(axis=0))
