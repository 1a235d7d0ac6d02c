"""Building arrays: np.array / np.asarray of values or lists, np.stack of a list, copies."""

# ruff: noqa: F821

import numpy as np

from ..runtime import as_gradient, astype, stop_gradient, unbroadcast, unstack
from .registry import adjoint, linear, method, nondifferentiable, result_kind, tangent


def _sequence(param):
    """A guard: the argument is a list or tuple (of scalars, arrays or nested lists)."""
    return lambda args: args[param].kind == "other"


@adjoint(np.array, when=_sequence("object"), result_kind="array",
         note="of a value, or of a (nested) list or tuple of scalars and arrays; dtype=")
def array_of_sequence(y, object, dtype=None):
    b[object] = unstack(b[y])


def _no_dtype(args):
    return args["dtype"].value is None


@adjoint(np.array, when=_no_dtype)
def array_copy(y, object, dtype=None):
    b[object] = b[y]


@linear(np.array, keywords=("dtype",))
def array_cast(y, object, dtype=None):
    b[object] = as_gradient(b[y], object)


@adjoint(np.asarray, when=_sequence("a"), result_kind="array",
         note="of a value, or of a (nested) list or tuple of scalars and arrays; dtype=")
def asarray_of_sequence(y, a, dtype=None):
    b[a] = unstack(b[y])


@adjoint(np.asarray, when=_no_dtype)
def asarray(y, a, dtype=None):
    b[a] = b[y]


@linear(np.asarray, keywords=("dtype",))
def asarray_cast(y, a, dtype=None):
    b[a] = as_gradient(b[y], a)


@linear(np.copy)
def copy(y, a):
    b[a] = b[y]


@adjoint(astype)
def astype_rule(y, x, dtype, copy=True):
    b[x] = as_gradient(b[y], x)


@tangent(astype)
def astype_tangent(y, x, dtype, copy=True):
    d[y] = astype(d[x], dtype)


# np.float64(x) and np.longdouble(x) convert, keeping the derivative (np.int64(x)
# and the integer types have none: see rules/elementwise.py).
FLOAT_TYPES = (np.float64, np.longdouble)


@adjoint(*FLOAT_TYPES)
def float_type(y, x):
    b[x] = as_gradient(b[y], x)


@tangent(*FLOAT_TYPES)
def float_type_tangent(y, x):
    d[y] = d[x]


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


# -- constructors: constant in the shape, differentiable in the values -----------------


@adjoint(np.full, result_kind="array", note="no derivative to the shape")
def full(y, shape, fill_value, dtype=None):
    b[fill_value] = unbroadcast(b[y], fill_value)


@tangent(np.full)
def full_tangent(y, shape, fill_value, dtype=None):
    d[y] = np.full(np.shape(y), d[fill_value], dtype)


@adjoint(np.full_like, result_kind="array", note="no derivative to the array whose shape it takes")
def full_like(y, a, fill_value, dtype=None):
    b[fill_value] = unbroadcast(b[y], fill_value)


@tangent(np.full_like)
def full_like_tangent(y, a, fill_value, dtype=None):
    d[y] = np.full(np.shape(y), d[fill_value], dtype)


def _scalar_ends(args):
    return all(args[p].kind == "scalar" or args[p].shape == () for p in ("start", "stop"))


@adjoint(np.linspace, when=_scalar_ends, result_kind="array",
         note="scalar start and stop; num, endpoint; not retstep or axis")
def linspace(y, start, stop, num=50, endpoint=True, retstep=False, dtype=None):
    w = np.linspace(0.0, 1.0, num, endpoint)
    b[start] = np.sum(b[y] * (1.0 - w))
    b[stop] = np.sum(b[y] * w)


@tangent(np.linspace, when=_scalar_ends)
def linspace_tangent(y, start, stop, num=50, endpoint=True, retstep=False, dtype=None):
    w = np.linspace(0.0, 1.0, num, endpoint)
    d[y] = d[start] * (1.0 - w) + d[stop] * w


nondifferentiable(np.zeros, np.ones, np.empty, np.zeros_like, np.ones_like, np.empty_like,
                  np.eye, np.identity, why="depends only on the shape", result_kind="array")
# np.arange(start, stop, step) is differentiable in float arguments, but has no rule: it is
# rejected where they carry a derivative, and makes a constant array where they do not.
result_kind(np.arange, kind="array")
nondifferentiable(np.shape, why="a shape", result_kind="other")
nondifferentiable(np.ndim, np.size, why="a count", result_kind="scalar")

method("copy", np.copy)
method("astype", astype)
# The user's own "no derivative here": its value flows on, its adjoint and tangent are zero.
nondifferentiable(stop_gradient, why="a constant by request (like jax.lax.stop_gradient)",
                  result_kind="elementwise")
