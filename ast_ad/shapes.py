"""Static shape arithmetic: what NumPy would produce, computed from shapes alone.

A shape is a tuple of ints, or None when it cannot be known before running.
"""

from __future__ import annotations

import numpy as np

Shape = tuple | None


def remember(table: dict, key, found) -> None:
    """Note an answer in one of the compiler's memo tables (answers that depend on their
    key alone). A table that has grown past a few thousand keys (shapes seen in a long
    session, ufuncs made at run time) starts again rather than keep them all alive."""
    if len(table) >= _MEMO_LIMIT:
        table.clear()
    table[key] = found


_MEMO_LIMIT = 4096


def broadcast(*shapes: Shape) -> Shape:
    if any(s is None for s in shapes):
        return None
    try:
        return _BROADCASTS[shapes]
    except (KeyError, TypeError):  # (not asked yet, or a shape that is not a key)
        pass
    try:
        found = tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        found = None
    try:
        remember(_BROADCASTS, shapes, found)
    except TypeError:
        pass
    return found


# shapes -> their broadcast shape (np.broadcast_shapes makes arrays to tell): the passes
# ask for the same few, thousands of times
_BROADCASTS: dict = {}


def matmul(a: Shape, b: Shape) -> Shape:
    if a is None or b is None or not a or not b:
        return None
    if len(a) == 1 and len(b) == 1:
        return ()
    if len(a) == 1:
        return b[:-2] + b[-1:]
    if len(b) == 1:
        return a[:-1]
    batch = broadcast(a[:-2], b[:-2])
    return None if batch is None else batch + (a[-2], b[-1])


def dot(a: Shape, b: Shape) -> Shape:
    if a is None or b is None:
        return None
    if not a or not b:
        return broadcast(a, b)
    if len(b) == 1:
        return a[:-1]
    return a[:-1] + b[:-2] + b[-1:]


def axes_of(axis, ndim: int):
    """The normalised tuple of axes a reduction's `axis` argument means, or None."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    if not all(isinstance(a, int) and -ndim <= a < ndim for a in axes):
        return None
    return tuple(sorted(a % ndim for a in axes))


def reduce(shape: Shape, axis, keepdims: bool) -> Shape:
    if shape is None:
        return None
    axes = axes_of(axis, len(shape))
    if axes is None:
        return None
    if keepdims:
        return tuple(1 if i in axes else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def index(shape: Shape, key) -> Shape:
    """The shape of `x[key]` for x of `shape`; key made of ints, slices, None and Ellipsis."""
    if shape is None:
        return None
    dummy = np.lib.stride_tricks.as_strided(np.zeros(1), shape=shape, strides=(0,) * len(shape))
    try:
        return dummy[key].shape
    except (IndexError, TypeError, ValueError):
        return None


def unbroadcast_axes(from_shape: tuple, to_shape: tuple) -> tuple[tuple, tuple]:
    """(leading axes to sum away, axes to sum keeping a dimension of 1) to go from a
    broadcast result's shape back to an operand's shape."""
    lead = len(from_shape) - len(to_shape)
    leading = tuple(range(lead))
    ones = tuple(lead + i for i, n in enumerate(to_shape) if n == 1 and from_shape[lead + i] != 1)
    return leading, ones
