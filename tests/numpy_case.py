"""The row format of the NumPy rule tables (tests/numpy_cases_*.py, run by test_numpy_rules.py).

Each row is a function of the arguments that returns a scalar (usually
`np.sum(op(...) * weights)` so every output element matters), a generator of
arguments, and the argument positions to differentiate. Rows are checked
against central finite differences in float64, and again in float32 (the
gradient must come back float32 and agree with the float64 one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass
class Case:
    fn: Callable
    args: Callable[[np.random.Generator], tuple]
    argnums: tuple = (0,)
    name: str = ""
    rtol: float = 1e-5
    atol: float = 1e-6
    float32: bool = True  # run the float32 sweep for this row

    @property
    def id(self) -> str:
        return self.name or self.fn.__name__


def uniform(rng, low, high, shape):
    return rng.uniform(low, high, size=shape)


def normal(rng, shape):
    return rng.normal(size=shape)


def weights_like(rng, value):
    """Random weights with the shape of an op's result, so a sum sees every element."""
    return rng.normal(size=np.shape(value))
