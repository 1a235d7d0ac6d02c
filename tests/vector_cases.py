"""Functions whose Jacobians and Hessians tests/test_vector_mode.py takes in vector mode."""

import math

import numpy as np


def seed(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def tanh_cubic(x, A):
    return np.tanh(A @ x) + 0.1 * x ** 3


def matrix_loss(W, v):
    return np.sum(np.tanh(W @ v) ** 2) + np.sum(W * W.T)


def matrix_map(W, v):
    return W @ v * np.sum(W, axis=0)


def array_loop(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        s = s + np.sin(x[i]) * x[i + 1] ** 2
    return s


def float_loop(a, b):
    for _ in range(4):
        a = a * b + math.sin(a)
    return a * a


def branches(x):
    if np.sum(x) > 0:
        y = np.exp(x) * x[0]
    else:
        y = np.cos(x) * x[-1]
    return np.sum(y ** 2)


def _helper(u):
    return u * np.tanh(u)


def with_helper(x):
    return np.sum(_helper(x) * x[::-1])


def two_outputs(x, s):
    return x * s, np.sum(x ** 2) * s


def mixed(x, s):
    return np.sum(np.sin(x) * s ** 2) + s * x[0]


def cumulative(x):
    return np.sum(np.cumsum(x) ** 2)


def dict_loss(params, x):
    return np.sum(np.tanh(params["w"] * x) + params["b"])


def vector_valued(x):
    return np.sin(x)


def model(params, t):
    a, b, c = params[0], params[1], params[2]
    return a * np.exp(-b * t) + c


SCALE = 2.0


def scaled(x, A):
    return SCALE * np.tanh(A @ x)


def linear(x, A):
    return A @ x


def same(x):
    return x * 1.0


def residual_order(x, W):
    h = np.tanh(W @ x)
    return h * np.sum(x ** 2) + np.sin(W[0])


def array_state_loop(x):
    h = x
    for _ in range(3):
        h = np.tanh(h * 1.1) + 0.1 * h
    return np.sum(h ** 2)


def recurrence(x):
    """Its gradient reads `bt = bout[i]`, then zeroes `bout[i]`: the batched tangent of
    that number is a column of dbout, which must be copied before the write."""
    out = np.empty_like(x)
    out[0] = x[0]
    for i in range(1, x.size):
        out[i] = 0.9 * out[i - 1] + x[i]
    return np.sum(out ** 2)


def row_recurrence(X):
    out = np.zeros_like(X)
    out[0] = X[0]
    for i in range(1, X.shape[0]):
        out[i] = 0.5 * out[i - 1] * X[i] + X[i]
    return np.sum(out ** 2)


def row_normalized(x):
    a = x.reshape(2, -1)
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    return np.sum(a @ a.T)
