"""Building arrays: np.array / np.asarray of values or lists, np.stack of a list."""

# ruff: noqa: F821

import numpy as np

from ..runtime import astype, unstack
from .registry import adjoint, method, nondifferentiable


def _sequence(args):
    return args["object"].kind == "other"


@adjoint(np.array, np.asarray, when=_sequence, result_kind="array")
def array_of_sequence(y, object, dtype=None):
    b[object] = list(b[y])


@adjoint(np.array, np.asarray)
def array_copy(y, object, dtype=None):
    b[object] = b[y]


@adjoint(np.copy)
def copy(y, a):
    b[a] = b[y]


@adjoint(astype)
def astype_rule(y, x, dtype, copy=True):
    b[x] = b[y]


@adjoint(np.stack, result_kind="array")
def stack(y, arrays, axis=0):
    b[arrays] = unstack(b[y], axis)


nondifferentiable(np.zeros, np.ones, np.empty, np.full, np.zeros_like, np.ones_like,
                  np.empty_like, np.full_like, np.eye, np.identity, np.arange, np.linspace,
                  why="a constant array", result_kind="array")
nondifferentiable(np.shape, why="a shape", result_kind="other")
nondifferentiable(np.ndim, np.size, why="a count", result_kind="scalar")

method("copy", np.copy)
method("astype", astype)
