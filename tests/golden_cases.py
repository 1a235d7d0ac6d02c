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


def comprehension(ws, xs):
    """A generator summed and a list comprehension stacked, lowered to loops."""
    total = sum(w * x for w, x in zip(ws, xs) if w > 0)
    rows = np.stack([np.tanh(w * xs) for w in ws])
    return total + np.sum(rows)


def recursive_power(x, n):
    """A function calling itself: its forward and backward functions call themselves."""
    if n == 0:
        return 1.0
    return x * recursive_power(x, n - 1)


def rosenbrock(x):
    """Vector mode: its Hessian in one function (the tangents of the gradient, batched)."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def tanh_cubic(x, A):
    """Vector mode: the Jacobian with respect to x and A in one function."""
    return np.tanh(A @ x) + 0.1 * x ** 3
