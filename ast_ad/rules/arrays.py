"""Building arrays: np.array / np.asarray of values or lists, np.stack of a list, copies."""

# ruff: noqa: F821

import numpy as np

from ..runtime import astype, unbroadcast, unstack
from .registry import adjoint, method, nondifferentiable, tangent


def _sequence(param):
    """A guard: the argument is a list or tuple (of scalars, arrays or nested lists)."""
    return lambda args: args[param].kind == "other"


@adjoint(np.array, when=_sequence("object"), result_kind="array",
         note="of a value, or of a (nested) list or tuple of scalars and arrays; dtype=")
def array_of_sequence(y, object, dtype=None):
    b[object] = list(b[y])


@adjoint(np.array)
def array_copy(y, object, dtype=None):
    b[object] = b[y]


@tangent(np.array)
def array_tangent(y, object, dtype=None):
    d[y] = np.array(d[object], dtype=dtype)


@adjoint(np.asarray, when=_sequence("a"), result_kind="array",
         note="of a value, or of a (nested) list or tuple of scalars and arrays; dtype=")
def asarray_of_sequence(y, a, dtype=None):
    b[a] = list(b[y])


@adjoint(np.asarray)
def asarray(y, a, dtype=None):
    b[a] = b[y]


@tangent(np.asarray)
def asarray_tangent(y, a, dtype=None):
    d[y] = np.asarray(d[a], dtype=dtype)


@adjoint(np.copy)
def copy(y, a):
    b[a] = b[y]


@tangent(np.copy)
def copy_tangent(y, a):
    d[y] = np.copy(d[a])


@adjoint(astype)
def astype_rule(y, x, dtype, copy=True):
    b[x] = b[y]


@tangent(astype)
def astype_tangent(y, x, dtype, copy=True):
    d[y] = astype(d[x], dtype)


@adjoint(np.stack, when=_sequence("arrays"), result_kind="array",
         note="a list or tuple of arrays, or one array (stacking its rows)")
def stack(y, arrays, axis=0):
    b[arrays] = unstack(b[y], axis)


@adjoint(np.stack, when=lambda args: args["arrays"].kind == "array")
def stack_of_array(y, arrays, axis=0):
    b[arrays] = np.moveaxis(b[y], axis, 0)


@tangent(np.stack)
def stack_tangent(y, arrays, axis=0):
    d[y] = np.stack(d[arrays], axis)


nondifferentiable(np.zeros, np.ones, np.empty, np.zeros_like, np.ones_like, np.empty_like,
                  np.eye, np.identity, np.arange, why="a constant array", result_kind="array")


# np.full and np.full_like are linear in their fill value (the gradient code of a sum is
# np.full_like(x, b), so second order goes through them), np.linspace in its two ends.
@adjoint(np.full, result_kind="array")
def full(y, shape, fill_value, dtype=None):
    b[fill_value] = unbroadcast(b[y], fill_value)


@tangent(np.full)
def full_tangent(y, shape, fill_value, dtype=None):
    d[y] = np.full(shape, d[fill_value], dtype=dtype)


@adjoint(np.full_like, result_kind="array")
def full_like(y, a, fill_value, dtype=None):
    b[fill_value] = unbroadcast(b[y], fill_value)


@tangent(np.full_like)
def full_like_tangent(y, a, fill_value, dtype=None):
    d[y] = np.full_like(a, d[fill_value], dtype=dtype)


def _scalar_ends(args):
    return args["start"].kind == "scalar" and args["stop"].kind == "scalar"


@adjoint(np.linspace, when=_scalar_ends, result_kind="array", note="scalar start and stop")
def linspace(y, start, stop, num=50, endpoint=True):
    b[start] = np.sum(b[y] * (1.0 - np.linspace(0.0, 1.0, num, endpoint)))
    b[stop] = np.sum(b[y] * np.linspace(0.0, 1.0, num, endpoint))


@tangent(np.linspace, when=_scalar_ends)
def linspace_tangent(y, start, stop, num=50, endpoint=True):
    d[y] = d[start] * (1.0 - np.linspace(0.0, 1.0, num, endpoint)) + \
        d[stop] * np.linspace(0.0, 1.0, num, endpoint)
nondifferentiable(np.shape, why="a shape", result_kind="other")
nondifferentiable(np.ndim, np.size, why="a count", result_kind="scalar")

method("copy", np.copy)
method("astype", astype)
