"""Reductions: sum and mean over all elements or along axes, with keepdims."""

# ruff: noqa: F821

import numpy as np

from ..runtime import reduced_count, unreduce
from .registry import adjoint


def _reduction_kind(arg_kinds, atoms):
    """A reduction over all axes (without keepdims) returns a NumPy scalar."""
    return "scalar" if _over_everything(atoms) else "array"


def _over_everything(atoms) -> bool:
    axis, keepdims = atoms.get("axis"), atoms.get("keepdims")
    return getattr(axis, "value", 0) is None and getattr(keepdims, "value", True) is False


def _scalar(kinds, atoms):
    return kinds["a"] == "scalar"


def _whole_array(kinds, atoms):
    return kinds["a"] == "array" and _over_everything(atoms)


@adjoint(np.sum, np.mean, when=_scalar, result_kind=_reduction_kind)
def sum_of_scalar(y, a, axis=None, keepdims=False):
    b[a] = b[y]


@adjoint(np.sum, when=_whole_array)
def sum_all(y, a, axis=None, keepdims=False):
    b[a] = np.full_like(a, b[y])


@adjoint(np.sum)
def sum(y, a, axis=None, keepdims=False):
    b[a] = unreduce(b[y], a, axis, keepdims)


@adjoint(np.mean, when=_whole_array)
def mean_all(y, a, axis=None, keepdims=False):
    b[a] = np.full_like(a, b[y] / a.size)


@adjoint(np.mean)
def mean(y, a, axis=None, keepdims=False):
    b[a] = unreduce(b[y], a, axis, keepdims) / reduced_count(a, axis)
