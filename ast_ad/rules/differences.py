"""Differences: np.diff and np.gradient (unit spacing), both linear in the array."""

# ruff: noqa: F821

import numpy as np

from ..runtime_extra import diff_adjoint, gradient_adjoint
from . import static
from .registry import adjoint, tangent


@adjoint(np.diff, result_kind="array", shape=static.of_view("a", np.diff, "n", "axis"),
         note="any n and axis; not prepend= or append=")
def diff(y, a, n=1, axis=-1):
    b[a] = diff_adjoint(b[y], n, axis)


@tangent(np.diff)
def diff_tangent(y, a, n=1, axis=-1):
    d[y] = np.diff(d[a], n, axis)


def _gradient_kind(arg_kinds, atoms):
    """One array along one axis (an int axis), else a list of arrays, one per axis."""
    axis = atoms.get("axis")
    return "array" if isinstance(getattr(axis, "value", None), int) else "other"


def _one_axis(args):
    return isinstance(args["axis"].value, int) and not isinstance(args["axis"].value, bool)


def _several_axes(args):
    """axis None or a tuple, on an array of 2 or more dimensions: a list of arrays."""
    ndim = args["f"].ndim
    if args["axis"].value is None:
        return ndim is not None and ndim >= 2
    axis = static.literal(args["axis"].atom)
    return isinstance(axis, tuple) and len(axis) >= 2


def _gradient_shape(s, atoms):
    axis = static.literal(atoms["axis"])
    return s["f"] if isinstance(axis, int) and not isinstance(axis, bool) else None


GRADIENT = ("unit spacing (no spacing arguments); axis a literal int (one array), or None on "
            "an array of 2 or more dimensions (a list); edge_order 1 or 2")


@adjoint(np.gradient, when=_one_axis, result_kind=_gradient_kind, shape=_gradient_shape,
         note=GRADIENT)
def gradient(y, f, *, axis=None, edge_order=1):
    b[f] = gradient_adjoint(b[y], f, axis, edge_order)


@adjoint(np.gradient, when=_several_axes)
def gradient_axes(y, f, *, axis=None, edge_order=1):
    b[f] = gradient_adjoint(b[y], f, axis, edge_order)


@tangent(np.gradient)
def gradient_tangent(y, f, *, axis=None, edge_order=1):
    d[y] = np.gradient(d[f], axis=axis, edge_order=edge_order)
