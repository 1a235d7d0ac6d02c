"""Functions traced by test_trace.py (and by `ast-ad trace` there: a file it can import)."""

import math

import numpy as np


def textbook(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)


def layer(x, w):
    y = np.tanh(x @ w)
    return np.sum(y ** 2)


def iterate(x, n):
    s = 0.5
    for _ in range(n):
        s = s + x * math.sin(s)
    return s


def accumulate(a, n):
    total = np.zeros_like(a)
    for i in range(n):
        total += a * (i + 1)
    return np.sum(total ** 2)


def scatter(x):
    y = np.zeros(4)
    y[np.array([0, 1, 1])] += x
    return np.sum(y ** 2) + x[0] * y[1]
