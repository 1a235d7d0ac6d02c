"""Shape: reshapes, transposes, joining and splitting, repeating, flipping, rolling, padding.

Each of these moves elements around without changing them, so each adjoint
moves the incoming adjoint back: the inverse permutation, a sum over copies,
or the piece that was kept.
"""

# ruff: noqa: F821

import gast
import numpy as np

from ..runtime import (
    inverse_axes,
    pad_mask,
    repeat_adjoint,
    tile_adjoint,
    unbroadcast,
    unconcatenate,
    unhstack,
    unpad,
    unvstack,
)
from ..runtime_extra import (
    pad_adjoint,
    pad_copies_tangent,
    rollaxis_destination,
    uncolumn_stack,
    undstack,
)
from . import static
from .registry import adjoint, linear, method, tangent


def _memory_order(args):
    """Only 'C' and 'F' orders can be undone by the same reshape ('A' and 'K' depend on
    how the input is laid out in memory)."""
    return args["order"].value in ("C", "F")


def _c_order(args):
    return args["order"].value == "C"


# -- reshapes ----------------------------------------------------------------


@adjoint(np.reshape, when=_c_order, result_kind="array",
         shape=lambda s, atoms: static.reshape(s["a"], static.literal(atoms["shape"])),
         note="order 'C' or 'F'")
def reshape(y, a, shape, order="C"):
    b[a] = np.reshape(b[y], np.shape(a))


@adjoint(np.reshape, when=_memory_order)
def reshape_ordered(y, a, shape, order="C"):
    b[a] = np.reshape(b[y], np.shape(a), order=order)


@tangent(np.reshape, when=_c_order)  # Dask's reshape: no order=, and a tuple, not an int
def reshape_tangent_c(y, a, shape, order="C"):
    d[y] = np.reshape(d[a], np.shape(y))


@tangent(np.reshape)
def reshape_tangent(y, a, shape, order="C"):
    d[y] = np.reshape(d[a], shape, order=order)


def _ravel_shape(s, atoms):
    return None if s["a"] is None else (int(np.prod(s["a"], dtype=np.int64)),)


@adjoint(np.ravel, when=_c_order, result_kind="array", shape=_ravel_shape,
         note="order 'C' or 'F'")
def ravel(y, a, order="C"):
    b[a] = np.reshape(b[y], np.shape(a))


@adjoint(np.ravel, when=_memory_order)
def ravel_ordered(y, a, order="C"):
    b[a] = np.reshape(b[y], np.shape(a), order=order)


@tangent(np.ravel, when=_c_order)
def ravel_tangent_c(y, a, order="C"):
    d[y] = np.ravel(d[a])


@tangent(np.ravel)
def ravel_tangent(y, a, order="C"):
    d[y] = np.ravel(d[a], order)


@linear(np.squeeze, result_kind="array", shape=static.of_view("a", np.squeeze, "axis"))
def squeeze(y, a, axis=None):
    b[a] = np.reshape(b[y], np.shape(a))


@linear(np.expand_dims, result_kind="array", shape=static.of_view("a", np.expand_dims, "axis"))
def expand_dims(y, a, axis):
    b[a] = np.reshape(b[y], np.shape(a))


@linear(np.broadcast_to, result_kind="array",
        shape=lambda s, atoms: static.ints(static.literal(atoms["shape"])))
def broadcast_to(y, array, shape):
    b[array] = unbroadcast(b[y], array)


method("reshape", np.reshape, pack_from=1)
method("ravel", np.ravel)
method("flatten", np.ravel)  # a copy rather than maybe a view: the same derivative
method("squeeze", np.squeeze)


# -- transposes --------------------------------------------------------------


@adjoint("attr:T", shape=lambda s, atoms: None if s["x"] is None else tuple(reversed(s["x"])))
def transpose_attribute(y, x):
    b[x] = b[y].T


@tangent("attr:T")
def transpose_attribute_tangent(y, x):
    d[y] = d[x].T


@adjoint(np.transpose, when=lambda args: args["axes"].value is None, result_kind="array",
         shape=static.of_view("a", np.transpose, "axes"))
def transpose_reversed(y, a, axes=None):
    b[a] = np.transpose(b[y])


@linear(np.transpose)
def transpose(y, a, axes=None):
    b[a] = np.transpose(b[y], inverse_axes(axes, np.ndim(a)))


@linear(np.swapaxes, result_kind="array",
        shape=static.of_view("a", np.swapaxes, "axis1", "axis2"))
def swapaxes(y, a, axis1, axis2):
    b[a] = np.swapaxes(b[y], axis1, axis2)


@linear(np.moveaxis, result_kind="array",
        shape=static.of_view("a", np.moveaxis, "source", "destination"))
def moveaxis(y, a, source, destination):
    b[a] = np.moveaxis(b[y], destination, source)


method("transpose", np.transpose, pack_from=1)
method("swapaxes", np.swapaxes)


# -- joining and splitting ---------------------------------------------------


def _sequence(param):
    """A guard: the arrays to join come as a list or tuple (not one stacked array)."""
    return lambda args: args[param].kind == "other"


@adjoint(np.concatenate, when=_sequence("arrays"), result_kind="array",
         note="a list or tuple of arrays, or one array (joining its rows); axis=None too")
def concatenate(y, arrays, axis=0):
    b[arrays] = unconcatenate(b[y], arrays, axis)


@adjoint(np.concatenate, when=lambda args: args["arrays"].kind == "array")
def concatenate_of_array(y, arrays, axis=0):
    b[arrays] = np.stack(unconcatenate(b[y], list(arrays), axis))  # a Dask array: lazily


@tangent(np.concatenate)
def concatenate_tangent(y, arrays, axis=0):
    d[y] = np.concatenate(d[arrays], axis)


@adjoint(np.hstack, when=_sequence("tup"), result_kind="array", note="a list or tuple of arrays")
def hstack(y, tup):
    b[tup] = unhstack(b[y], tup)


@tangent(np.hstack)
def hstack_tangent(y, tup):
    d[y] = np.hstack(d[tup])


@adjoint(np.vstack, when=_sequence("tup"), result_kind="array", note="a list or tuple of arrays")
def vstack(y, tup):
    b[tup] = unvstack(b[y], tup)


@tangent(np.vstack)
def vstack_tangent(y, tup):
    d[y] = np.vstack(d[tup])


@linear(np.split, np.array_split, result_kind="other",
        note="returns a list: unpack it or index it; unused pieces get zero adjoints")
def split(y, ary, indices_or_sections, axis=0):
    b[ary] = np.concatenate(b[y], axis)


# -- repeating, flipping, rolling, padding --------------------------------------


@linear(np.repeat, result_kind="array",
        shape=lambda s, atoms: static.repeat(s["a"], static.literal(atoms["repeats"]),
                                             static.literal(atoms["axis"])),
        note="repeats an int or one count per element")
def repeat(y, a, repeats, axis=None):
    b[a] = repeat_adjoint(b[y], a, repeats, axis)


@linear(np.tile, result_kind="array",
        shape=lambda s, atoms: static.tile(s["A"], static.literal(atoms["reps"])))
def tile(y, A, reps):
    b[A] = tile_adjoint(b[y], A, reps)


@linear(np.flip, result_kind="array", shape=static.same_as("m"))
def flip(y, m, axis=None):
    b[m] = np.flip(b[y], axis)


@linear(np.fliplr, result_kind="array", shape=static.same_as("m"))
def fliplr(y, m):
    b[m] = np.fliplr(b[y])


@linear(np.flipud, result_kind="array", shape=static.same_as("m"))
def flipud(y, m):
    b[m] = np.flipud(b[y])


@adjoint(np.roll, when=lambda args: args["shift"].kind == "scalar", result_kind="array",
         shape=static.same_as("a"), note="shift an int or a tuple (with a tuple axis)")
def roll(y, a, shift, axis=None):
    b[a] = np.roll(b[y], -shift, axis)


@linear(np.roll)
def roll_shifts(y, a, shift, axis=None):
    b[a] = np.roll(b[y], np.negative(shift), axis)


def _constant_mode(args):
    """np.pad's other modes (reflect, edge, ...) are not supported; a scalar fill value
    (constant_values) may carry a derivative."""
    return args["mode"].value == "constant" and args["constant_values"].kind == "scalar"


@adjoint(np.pad, when=_constant_mode, result_kind="array",
         shape=lambda s, atoms: static.pad(s["array"], static.literal(atoms["pad_width"])),
         note="mode='constant' only, with one scalar constant_values")
def pad(y, array, pad_width, mode="constant", constant_values=0):
    b[array] = unpad(b[y], pad_width)
    b[constant_values] = np.sum(b[y]) - np.sum(unpad(b[y], pad_width))


@tangent(np.pad, when=_constant_mode)
def pad_tangent(y, array, pad_width, mode="constant", constant_values=0):
    d[y] = np.pad(d[array], pad_width) + d[constant_values] * pad_mask(array, pad_width)


method("repeat", np.repeat)


# -- more shapes: atleast_Nd, rollaxis, rot90, the split family, stacks of one array ----------


@linear(np.atleast_1d, result_kind="array", shape=static.of_view("arys", np.atleast_1d),
         note="one argument (several return a list)")
def atleast_1d(y, arys):
    b[arys] = np.reshape(b[y], np.shape(arys))



@linear(np.atleast_2d, result_kind="array", shape=static.of_view("arys", np.atleast_2d),
         note="one argument (several return a list)")
def atleast_2d(y, arys):
    b[arys] = np.reshape(b[y], np.shape(arys))



@linear(np.atleast_3d, result_kind="array", shape=static.of_view("arys", np.atleast_3d),
         note="one argument (several return a list)")
def atleast_3d(y, arys):
    b[arys] = np.reshape(b[y], np.shape(arys))



@linear(np.rollaxis, result_kind="array", shape=static.of_view("a", np.rollaxis, "axis", "start"))
def rollaxis(y, a, axis, start=0):
    b[a] = np.moveaxis(b[y], rollaxis_destination(np.ndim(a), axis, start), axis)



@linear(np.rot90, result_kind="array", shape=static.of_view("m", np.rot90, "k", "axes"))
def rot90(y, m, k=1, axes=(0, 1)):
    b[m] = np.rot90(b[y], -k, axes)



@linear(np.hsplit, result_kind="other",
         note="returns a list: unpack it or index it; unused pieces get zero adjoints")
def hsplit(y, ary, indices_or_sections):
    b[ary] = np.hstack(b[y])



@linear(np.vsplit, result_kind="other",
         note="returns a list: unpack it or index it; unused pieces get zero adjoints")
def vsplit(y, ary, indices_or_sections):
    b[ary] = np.vstack(b[y])



@linear(np.dsplit, result_kind="other",
         note="returns a list: unpack it or index it; unused pieces get zero adjoints")
def dsplit(y, ary, indices_or_sections):
    b[ary] = np.dstack(b[y])



def _one_array(param):
    """A guard: the arrays to join are the rows of one array."""
    return lambda args: args[param].kind == "array"


@adjoint(np.hstack, when=_one_array("tup"))
def hstack_of_array(y, tup):
    b[tup] = np.reshape(unhstack(b[y], list(tup)), np.shape(tup))


@adjoint(np.vstack, when=_one_array("tup"))
def vstack_of_array(y, tup):
    b[tup] = np.reshape(unvstack(b[y], list(tup)), np.shape(tup))


@adjoint(np.column_stack, when=_sequence("tup"), result_kind="array",
         note="a list or tuple of arrays (1-D ones become columns)")
def column_stack(y, tup):
    b[tup] = uncolumn_stack(b[y], tup)


@adjoint(np.column_stack, when=_one_array("tup"))
def column_stack_of_array(y, tup):
    b[tup] = np.reshape(uncolumn_stack(b[y], list(tup)), np.shape(tup))


@tangent(np.column_stack)
def column_stack_tangent(y, tup):
    d[y] = np.column_stack(d[tup])


@adjoint(np.dstack, when=_sequence("tup"), result_kind="array",
         note="a list or tuple of arrays")
def dstack(y, tup):
    b[tup] = undstack(b[y], tup)


@tangent(np.dstack)
def dstack_tangent(y, tup):
    d[y] = np.dstack(d[tup])


# -- np.pad's other modes: each output element copies an input element -----------------------


def _copying_mode(args):
    """mode 'edge', 'reflect', 'symmetric' or 'wrap' (or 'constant' with the default 0), or a
    mode known only when the code runs (checked then)."""
    return args["mode"].value in ("constant", "edge", "reflect", "symmetric", "wrap") \
        or args["mode"].kind == "other" and not isinstance(args["mode"].atom, gast.Constant)


@adjoint(np.pad, when=_copying_mode,
         note="mode 'constant' (a scalar constant_values may carry a derivative), 'edge', "
              "'reflect', 'symmetric' or 'wrap'; a mode known only when the code runs is "
              "checked then")
def pad_copying(y, array, pad_width, mode="constant"):
    b[array] = pad_adjoint(b[y], array, pad_width, mode)


@tangent(np.pad, when=_copying_mode)
def pad_copying_tangent(y, array, pad_width, mode="constant"):
    d[y] = pad_copies_tangent(d[array], pad_width, mode)
