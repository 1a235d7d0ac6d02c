"""Helpers imported by calls_cases.py: calls across modules."""

import numpy as np


def softplus(z):
    return np.log1p(np.exp(z))


def scaled_norm(v, scale=1.0):
    return scale * np.sqrt(np.sum(v * v))
