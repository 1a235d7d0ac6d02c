"""Helpers imported by calls_cases.py: calls across modules."""

import numpy as np


def softplus(z):
    return np.log1p(np.exp(z))


def scaled_norm(v, scale=1.0):
    return scale * np.sqrt(np.sum(v * v))


def weighted(v, w=np.array([0.5, 2.0]), table=np.linspace(0.0, 1.0, 2000),  # noqa: B008
             pair=(1.5, -0.5)):
    # (defaults forward mode passes itself: arrays, one long enough to print with `...`)
    return np.sum(w * v) * pair[0] + table[-1] * pair[1] * v[0]
