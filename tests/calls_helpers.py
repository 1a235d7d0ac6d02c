"""Helpers imported by calls_cases.py: calls across modules."""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


def softplus(z):
    return np.log1p(np.exp(z))


def scaled_norm(v, scale=1.0):
    return scale * np.sqrt(np.sum(v * v))


def weighted(v, w=np.array([0.5, 2.0]), table=np.linspace(0.0, 1.0, 2000),  # noqa: B008
             pair=(1.5, -0.5)):
    # (defaults forward mode passes itself: arrays, one long enough to print with `...`)
    return np.sum(w * v) * pair[0] + table[-1] * pair[1] * v[0]


class Affine(NamedTuple):
    w: np.ndarray
    b: float


@dataclass
class Layer:
    W: np.ndarray
    b: np.ndarray


def affine_energy(p, x):
    return np.sum((x * p.w + p.b) ** 2)


def layer_energy(layer, x):
    return np.sum(np.tanh(layer.W @ x + layer.b))


def pair_energy(t, x):
    return np.sum(t[0] * x) + np.sum(t[1] ** 2)
