"""Losses of small models, written as a NumPy user writes them."""

import numpy as np


def softmax_cross_entropy(W, b, X, labels):
    logits = X @ W + b
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.mean(np.sum(log_probs * labels, axis=1))


def logistic_regression(w, X, s):
    return np.mean(np.logaddexp(0.0, -s * (X @ w)))


def mlp3(W1, b1, W2, b2, W3, b3, X, y):
    h1 = np.tanh(X @ W1 + b1)
    h2 = np.maximum(h1 @ W2 + b2, 0.0)
    out = h2 @ W3 + b3
    return np.mean((out - y) ** 2)


def label_cross_entropy(W, X, y):
    # the log-probabilities of the labels, picked by index (y holds ints)
    logits = X @ W
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.mean(log_probs[np.arange(X.shape[0]), y])


def attention(Q, K, V, C):
    S = Q @ K.T / np.sqrt(Q.shape[1])
    E = np.exp(S - np.max(S, axis=1, keepdims=True))
    P = E / np.sum(E, axis=1, keepdims=True)
    return np.sum(P @ V * C)
