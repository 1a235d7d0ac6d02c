"""Rows for the rules of the core families (operators, math-like ufuncs, sum/mean, matmul)."""

import numpy as np
from numpy_case import Case, normal, uniform


def sin_cos(x, w):
    return np.sum((np.sin(x) * np.cos(x)) * w)


def broadcast_ops(x, y, w):
    return np.sum((x * y + x / y - y ** 2) * w)


def sum_axes(x, w):
    return np.sum(np.sum(x, axis=(0, 2), keepdims=True) * w) + np.mean(x, axis=-1).sum()


def matmul_batched(a, b, w):
    return np.sum((a @ b) * w)


def methods(A, x):
    return A.T.dot(x).sum() + A.mean() + A.sum(axis=1).sum()


CASES = [
    Case(sin_cos, lambda r: (normal(r, (3, 4)), normal(r, (3, 4)))),
    Case(broadcast_ops, lambda r: (uniform(r, 0.5, 2, (3, 1)), uniform(r, 0.5, 2, (4,)),
                                   normal(r, (3, 4))), argnums=(0, 1)),
    Case(sum_axes, lambda r: (normal(r, (2, 3, 4)), normal(r, (1, 3, 1)))),
    Case(matmul_batched, lambda r: (normal(r, (2, 3, 4)), normal(r, (4, 5)), normal(r, (2, 3, 5))),
         argnums=(0, 1)),
    Case(methods, lambda r: (normal(r, (3, 4)), normal(r, 3)), argnums=(0, 1)),
]
