"""Small programs a user might write: convolutions, pairwise sums, grids, ODE steps."""

import math

import numpy as np

SCALE = 0.5


def helper(v, k=2):
    return np.tanh(v) * k


def conv1d(x, w):
    n, m = x.shape[0], w.shape[0]
    out = np.zeros(n - m + 1)
    for i in range(n - m + 1):
        out[i] = np.sum(x[i:i + m] * w)
    return np.sum(out ** 2)


def pairwise(X):
    total = 0.0
    n = X.shape[0]
    for i in range(n):
        for j in range(i + 1, n):
            d = X[i] - X[j]
            total = total + 1.0 / (1.0 + np.dot(d, d))
    return total


def grid(A):
    B = np.zeros_like(A)
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            B[i, j] = A[i, j] * (i + 1) + A[i, (j + 1) % A.shape[1]] ** 2
    return np.sum(B * B)


def data_dependent(x):
    if np.sum(x) > 0:
        y = x * SCALE
    else:
        y = -x
    while np.max(np.abs(y)) > 0.1 if False else np.sum(np.abs(y)) > 0.1:  # a dead branch
        y = y * 0.5
    return np.sum(y ** 2) + helper(np.sum(x))


def ode(y0, k, steps):
    y = y0
    dt = 0.1
    trajectory = []
    for _ in range(steps):
        y = y + dt * (-k * y + math.sin(y))
        trajectory.append(y)
    return sum(trajectory) if False else trajectory[-1] * 2.0 + trajectory[0]


def norm_loop(v):
    s = 0.0
    for vi in v:
        s += vi * vi
    return math.sqrt(s)


def kwargs_helper(x):
    return helper(x, k=3) + helper(k=1, v=x * 2)


def swap_loop(a, b):
    for _ in range(5):
        a, b = b, a + b * 0.1
    return a * b


def early_exit_search(x):
    total = 0.0
    for i in range(20):
        total = total + x ** i / math.factorial(i)
        if abs(x ** i / math.factorial(i)) < 1e-8:
            break
    return total
