"""A third-party-like function ast-ad cannot see into, and code that calls it."""

import numpy as np


def opaque(x, y):
    return x * np.exp(y)


def uses_opaque(x, y):
    return opaque(x * 2.0, y) + x


def methods_and_attributes(A, x):
    B = A.T
    s = B.dot(x).sum() + A.mean() + x.copy().sum(axis=0)
    return s + np.sum(A.astype(float) * 2.0)
