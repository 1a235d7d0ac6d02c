"""One representative function per rule family, for the golden files (see test_golden.py)."""

import math

import numpy as np


def arithmetic(x, y):
    z = (x + y) * (x - y) / y
    return z ** 2 - x % y + -z


def math_chain(x):
    u = math.exp(math.sin(x)) + math.log1p(x * x)
    v = math.sqrt(u) * math.tanh(x) - math.atan(x) / math.cosh(x)
    return math.pow(v, 3.0) + math.log(u, 2.0)


def numpy_elementwise(x):
    return np.sum(np.exp(-x) * np.cos(x) + np.sqrt(np.abs(x)) - np.arctan(x))


def broadcasting(x, row, scale):
    centered = x - row
    return np.sum(centered * centered * scale)


def reductions(x):
    column_means = np.mean(x, axis=0)
    row_sums = np.sum(x, axis=1, keepdims=True)
    return np.sum(column_means ** 2) + np.mean(row_sums * x)


def mlp_loss(X, W1, b1, W2, b2, y):
    hidden = np.tanh(X @ W1 + b1)
    prediction = hidden @ W2 + b2
    error = prediction - y
    return np.mean(error ** 2)


def dot_products(a, B):
    return np.dot(a, np.dot(B, a)) + np.sum(np.matmul(B, B))


def mlp_params(params, X, y):
    hidden = np.tanh(X @ params["W1"] + params["b1"])
    prediction = hidden @ params["W2"] + params["b2"]
    error = prediction - y
    return np.mean(error ** 2)
