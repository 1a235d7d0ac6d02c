"""Functions the rule tests teach ast-ad (it treats a function with a rule as a primitive),
and code calling them. Each is plain NumPy, so finite differences check the rules."""

import numpy as np


def softplus(x):
    return np.log1p(np.exp(x))


def scaled(x, y):
    """x * exp(y), element by element (x and y broadcast)."""
    return x * np.exp(y)


def smooth(x):
    return np.sin(x) + x


def uses_softplus(x):
    a = x * 2.0
    return np.sum(softplus(a))


def uses_scaled(x, y):
    return np.sum(scaled(x, y) * x)


def uses_tanh(x):
    return np.sum(np.tanh(x))


def uses_smooth(x):
    return np.sum(smooth(x) * x)
