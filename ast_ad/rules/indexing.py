"""Indexing functions: np.take, np.take_along_axis, np.sort and np.partition (a take along
the order).

Subscripts (`x[1:3, ::-1]`, `x[idx]`, `x[mask]`) go through the "getitem" rule
in arithmetic.py, and writes (`y[i] = v`) through the compiler's item-write
handling; both are tested in tests/test_numpy_indexing.py.
"""

# ruff: noqa: F821

import numpy as np

from ..runtime import take_adjoint, take_along_axis_adjoint
from ..runtime_extra import partition_order
from . import static
from .registry import adjoint, linear, method, nondifferentiable, tangent


@linear(np.take, keywords=("mode",), result_kind="array",
        shape=lambda s, atoms: static.take(s["a"], s["indices"], static.literal(atoms["axis"])),
        note="repeated indices accumulate; mode 'raise', 'wrap' or 'clip'")
def take(y, a, indices, axis=None, mode="raise"):
    b[a] = take_adjoint(b[y], a, indices, axis, mode)


@linear(np.take_along_axis, result_kind="array", note="repeated indices accumulate",
        shape=lambda s, atoms: static.take_along_axis(s["arr"], s["indices"],
                                                      static.literal(atoms["axis"])))
def take_along_axis(y, arr, indices, axis=-1):
    b[arr] = take_along_axis_adjoint(b[y], arr, indices, axis)


method("take", np.take)


@adjoint(np.sort, result_kind="array", note="axis (an int or None); equal values get their "
         "gradients in the order a stable sort gives them")
def sort(y, a, axis=-1):
    order = np.argsort(a, axis, kind="stable")
    b[a] = take_along_axis_adjoint(b[y], a, order, axis)


@tangent(np.sort)
def sort_tangent(y, a, axis=-1):
    order = np.argsort(a, axis, kind="stable")
    d[y] = np.take_along_axis(d[a], order, axis)


@adjoint(np.partition, result_kind="array", shape=static.same_as("a"),
         note="kth an int or a sequence; axis an int; equal values share their gradients in "
              "some order, as in np.sort")
def partition(y, a, kth, axis=-1):
    order = partition_order(a, y, axis)
    b[a] = take_along_axis_adjoint(b[y], a, order, axis)


@tangent(np.partition)
def partition_tangent(y, a, kth, axis=-1):
    d[y] = np.take_along_axis(d[a], partition_order(a, y, axis), axis)


# -- functions that compute indices ------------------------------------------------

nondifferentiable(np.argsort, np.argwhere, np.flatnonzero, np.searchsorted, np.digitize,
                  why="integer indices", result_kind="array")
nondifferentiable(np.argmax, np.argmin, why="integer indices")
nondifferentiable(np.nonzero, why="integer indices", result_kind="other")

method("argsort", np.argsort)
method("argmax", np.argmax)
method("argmin", np.argmin)
method("nonzero", np.nonzero)
