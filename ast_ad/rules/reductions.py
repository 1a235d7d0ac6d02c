"""Reductions: sum and mean over all elements or along axes, with keepdims."""

# ruff: noqa: F821

import gast
import numpy as np

from .. import shapes
from ..runtime import reduced_count, unreduce
from .registry import adjoint, method


def _reduction_kind(arg_kinds, atoms):
    """A reduction over all axes (without keepdims) returns a NumPy scalar."""
    return "scalar" if _over_everything(atoms) else "array"


def _over_everything(atoms) -> bool:
    axis, keepdims = atoms.get("axis"), atoms.get("keepdims")
    return getattr(axis, "value", 0) is None and getattr(keepdims, "value", True) is False


def _reduction_shape(arg_shapes, atoms):
    axis, keepdims = atoms["axis"], atoms["keepdims"]
    if not isinstance(axis, gast.Constant) or not isinstance(keepdims, gast.Constant):
        return None
    return shapes.reduce(arg_shapes["a"], axis.value, keepdims.value)


def _scalar(args):
    return args["a"].kind == "scalar"


def _whole_array(args):
    return args["a"].kind == "array" and args["axis"].value is None \
        and args["keepdims"].value is False


@adjoint(np.sum, np.mean, when=_scalar, result_kind=_reduction_kind, shape=_reduction_shape)
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


method("sum", np.sum)
method("mean", np.mean)
