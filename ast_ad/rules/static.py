"""What the linear-algebra, shape and indexing rules know before running: literal
arguments, and result shapes computed from input shapes (None when unknown).

A rule's `shape=` function gets ({parameter: shape}, {parameter: atom}); the
helpers here turn literal atoms (`2`, `-1`, `'ij,jk->ik'`, the packed tuple of
`x.reshape(3, 4)`) into values and never raise: an unknown is None.
"""

from __future__ import annotations

import math

import gast
import numpy as np

UNKNOWN = ...


def literal(atom):
    """The value of a literal atom (a constant, or a tuple of constants), else UNKNOWN."""
    if isinstance(atom, gast.Constant):
        return atom.value
    if isinstance(atom, gast.Tuple):
        items = tuple(literal(e) for e in atom.elts)
        return UNKNOWN if any(i is UNKNOWN for i in items) else items
    return UNKNOWN


def literals(atoms: dict, *params):
    """The literal values of some parameters, or None if any is not a literal."""
    values = [literal(atoms[p]) for p in params]
    return None if any(v is UNKNOWN for v in values) else values


def view(shape, fn):
    """The shape of fn(x) for an x of `shape`, found on a zero-stride dummy (fn must be a
    cheap function of its input's shape, such as a transpose or a reshape)."""
    if shape is None:
        return None
    dummy = np.lib.stride_tricks.as_strided(np.zeros(1), shape=shape, strides=(0,) * len(shape))
    try:
        return tuple(np.shape(fn(dummy)))
    except (ValueError, TypeError, IndexError, np.exceptions.AxisError):
        return None


def of_view(param, fn, *constants):
    """A shape= function: `fn(x, *literal constants)` applied to a dummy of param's shape."""

    def shape(arg_shapes, atoms):
        values = literals(atoms, *constants)
        if values is None:
            return None
        return view(arg_shapes[param], lambda x: fn(x, *values))

    return shape


def same_as(param):
    """A shape= function: the result has the shape of `param`."""
    return lambda arg_shapes, atoms: arg_shapes[param]


def ints(value) -> tuple | None:
    """A literal int or tuple of ints as a tuple (a shape, repeat counts), else None."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),)
    if isinstance(value, tuple) and all(isinstance(v, (int, np.integer)) for v in value):
        return tuple(int(v) for v in value)
    return None


def reshape(shape, newshape):
    """The shape np.reshape gives, a -1 filled in."""
    new = ints(newshape)
    if shape is None or new is None:
        return None
    size = math.prod(shape)
    if new.count(-1) == 1:
        rest = math.prod(n for n in new if n != -1)
        if rest == 0 or size % rest:
            return None
        new = tuple(size // rest if n == -1 else n for n in new)
    return new if math.prod(new) == size and min(new, default=0) >= 0 else None


def repeat(shape, repeats, axis):
    count = ints(repeats)
    if shape is None or count is None or len(count) != 1 or axis is UNKNOWN:
        return None
    if axis is None:
        return (math.prod(shape) * count[0],)
    if not -len(shape) <= axis < len(shape):
        return None
    axis %= len(shape)
    return shape[:axis] + (shape[axis] * count[0],) + shape[axis + 1:]


def tile(shape, reps):
    reps = ints(reps)
    if shape is None or reps is None:
        return None
    nd = max(len(shape), len(reps))
    shape = (1,) * (nd - len(shape)) + tuple(shape)
    reps = (1,) * (nd - len(reps)) + reps
    return tuple(n * r for n, r in zip(shape, reps))


def pad(shape, pad_width):
    if shape is None or pad_width is UNKNOWN:
        return None
    try:
        widths = np.broadcast_to(np.asarray(pad_width, dtype=np.intp), (len(shape), 2))
    except (ValueError, TypeError):
        return None
    return tuple(int(n + before + after) for n, (before, after) in zip(shape, widths))


def kron(a, b):
    if a is None or b is None:
        return None
    nd = max(len(a), len(b))
    a = (1,) * (nd - len(a)) + tuple(a)
    b = (1,) * (nd - len(b)) + tuple(b)
    return tuple(m * n for m, n in zip(a, b))


def diag(shape, k):
    if shape is None or not isinstance(k, int):
        return None
    if len(shape) == 1:
        n = shape[0] + abs(k)
        return (n, n)
    return view(shape, lambda x: np.diagonal(x, k))


def inner(a, b):
    if a is None or b is None:
        return None
    if not a or not b:
        return tuple(a or b)
    return tuple(a[:-1]) + tuple(b[:-1])


def outer(a, b):
    if a is None or b is None:
        return None
    return (math.prod(a), math.prod(b))


def convolve(a, v, mode):
    """np.convolve of 1-D arrays: n + m - 1 ('full'), max(n, m) ('same'), |n - m| + 1
    ('valid')."""
    if a is None or v is None or len(a) != 1 or len(v) != 1 or mode is UNKNOWN \
            or not (type(a[0]) is int and type(v[0]) is int):
        return None
    n, m = a[0], v[0]
    sizes = {"full": n + m - 1, "same": max(n, m), "valid": abs(n - m) + 1}
    return (sizes[mode],) if mode in sizes else None


def tensordot(a, b, axes):
    if a is None or b is None or axes is UNKNOWN:
        return None
    try:
        if isinstance(axes, int):
            a_axes, b_axes = range(len(a) - axes, len(a)), range(axes)
        else:
            a_axes, b_axes = [(x,) if isinstance(x, int) else x for x in axes]
        a_axes = {i % len(a) for i in a_axes}
        b_axes = {i % len(b) for i in b_axes}
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return tuple(n for i, n in enumerate(a) if i not in a_axes) + \
        tuple(n for i, n in enumerate(b) if i not in b_axes)


def take(shape, indices, axis):
    if shape is None or indices is None or axis is UNKNOWN:
        return None
    if axis is None:
        return tuple(indices)
    if not isinstance(axis, int) or not -len(shape) <= axis < len(shape):
        return None
    axis %= len(shape)
    return tuple(shape[:axis]) + tuple(indices) + tuple(shape[axis + 1:])


def take_along_axis(shape, indices, axis):
    if shape is None or indices is None or axis is UNKNOWN:
        return None
    if axis is None:
        return tuple(indices)
    if not isinstance(axis, int) or len(indices) != len(shape) \
            or not -len(shape) <= axis < len(shape):
        return None
    axis %= len(shape)
    others = broadcast_shapes(shape[:axis] + (1,) + shape[axis + 1:], indices)
    return None if others is None else others[:axis] + (indices[axis],) + others[axis + 1:]


def broadcast_shapes(*shapes):
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        return None


def einsum(subscripts, *operands):
    """The shape of np.einsum(subscripts, *operands) from the operands' shapes."""
    from ..runtime import einsum_parts

    if not isinstance(subscripts, str) or any(s is None for s in operands):
        return None
    if "..." in subscripts:  # spelled out with letters, on zero-stride dummies of the shapes
        from ..runtime_extra import einsum_spec

        dummies = [np.lib.stride_tricks.as_strided(np.zeros(1), shape=s, strides=(0,) * len(s))
                   for s in operands]
        try:
            subscripts, broadcast = einsum_spec([subscripts, *dummies])
        except (ValueError, IndexError, KeyError, TypeError):
            return None
        operands = [np.shape(x) for x in broadcast]
    try:
        inputs, output = einsum_parts(subscripts, len(operands))
    except ValueError:
        return None
    sizes = {}
    for letters, shape in zip(inputs, operands):
        if len(letters) != len(shape):
            return None
        for c, n in zip(letters, shape):
            if sizes.setdefault(c, n) != n:
                return None  # sizes that broadcast: leave it to run time
    return tuple(sizes[c] for c in output) if all(c in sizes for c in output) else None
