"""Helpers the generated code calls: plain NumPy, for the math that is not one expression."""

from __future__ import annotations

import numpy as np

from .errors import Location, NonScalarOutputError


def _shape(x):
    shape = getattr(x, "shape", None)
    return shape if shape is not None else np.shape(x)


def unbroadcast(g, x):
    """Sum `g` over the axes NumPy broadcasting added, so that it has the shape of `x`."""
    shape = _shape(x)
    g_shape = _shape(g)
    if g_shape == shape:
        return g
    if not shape:
        return np.sum(g)
    lead = len(g_shape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g_shape[lead + i] != 1
    )
    return np.sum(g, axis=axes).reshape(shape)


def broadcast_like(t, z):
    """A tangent with its primal's shape: dz = dx in z = x + W broadcasts dx to W's shape."""
    shape = _shape(z)
    return t if _shape(t) == shape else np.broadcast_to(t, shape)


def _grad_dtype(x):
    dtype = getattr(x, "dtype", None)
    return dtype if dtype is not None and dtype.kind == "f" else np.float64


def unreduce(g, x, axis=None, keepdims=False):
    """The adjoint of a sum over `axis`: spread `g` back over the reduced axes of `x`."""
    shape = _shape(x)
    if not shape:
        return g
    if axis is not None and not keepdims:
        axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
        g = np.expand_dims(g, tuple(a % len(shape) for a in axes))
    out = np.empty(shape, dtype=_grad_dtype(x))
    out[...] = g
    return out


def reduced_count(x, axis=None) -> int:
    """How many elements of `x` each output of a reduction over `axis` combines."""
    shape = _shape(x)
    if axis is None:
        return int(np.prod(shape, dtype=np.int64))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    return int(np.prod([shape[a] for a in axes], dtype=np.int64))


def matmul_adjoint_x(g, x, y):
    """The adjoint of `x` in `z = x @ y` (1-D, 2-D and batched operands)."""
    x_nd, y_nd = np.ndim(x), np.ndim(y)
    if x_nd == 2 and y_nd == 2:
        return g @ y.T
    if y_nd == 1:
        if x_nd == 1:  # inner product
            return g * y
        return g[..., None] * y  # (..., m) x (k,) -> (..., m, k)
    if x_nd == 1:  # (k,) @ (..., k, n) -> (..., n)
        if y_nd == 2:
            return y @ g
        return np.sum(y * g[..., None, :], axis=tuple(range(y_nd - 2)) + (y_nd - 1,))
    return unbroadcast(g @ np.swapaxes(y, -1, -2), x)


def matmul_adjoint_y(g, x, y):
    """The adjoint of `y` in `z = x @ y` (1-D, 2-D and batched operands)."""
    x_nd, y_nd = np.ndim(x), np.ndim(y)
    if x_nd == 2 and y_nd == 2:
        return x.T @ g
    if x_nd == 1:
        if y_nd == 1:  # inner product
            return g * x
        return x[:, None] * g[..., None, :]  # (k,) x (..., n) -> (..., k, n)
    if y_nd == 1:  # (..., m, k) @ (k,) -> (..., m)
        if x_nd == 2:
            return x.T @ g
        return np.sum(x * g[..., :, None], axis=tuple(range(x_nd - 1)))
    return unbroadcast(np.swapaxes(x, -1, -2) @ g, y)


def dot_adjoint_x(g, x, y):
    """The adjoint of `x` in `z = np.dot(x, y)`."""
    x_nd, y_nd = np.ndim(x), np.ndim(y)
    if x_nd == 0 or y_nd == 0:
        return unbroadcast(g * y, x)
    if y_nd == 1 or x_nd <= 2 and y_nd <= 2:
        return matmul_adjoint_x(g, x, y)
    # N-D dot: sum over the last axis of x and the second-to-last of y.
    g_axes = list(range(x_nd - 1, g.ndim))
    y_axes = list(range(y_nd - 2)) + [y_nd - 1]
    return np.tensordot(g, y, (g_axes, y_axes))


def dot_adjoint_y(g, x, y):
    """The adjoint of `y` in `z = np.dot(x, y)`."""
    x_nd, y_nd = np.ndim(x), np.ndim(y)
    if x_nd == 0 or y_nd == 0:
        return unbroadcast(g * x, y)
    if y_nd == 1 or x_nd <= 2 and y_nd <= 2:
        return matmul_adjoint_y(g, x, y)
    g_axes = list(range(x_nd - 1))
    x_axes = list(range(x_nd - 1))
    result = np.tensordot(x, g, (x_axes, g_axes))  # (k, y-batch..., n)
    return np.moveaxis(result, 0, -2)


def zeros_like(x):
    """A zero adjoint shaped like `x`: 0.0, an array, or a list of those."""
    if isinstance(x, (list, tuple)):
        return [zeros_like(e) for e in x]
    if isinstance(x, np.ndarray) or hasattr(x, "shape"):
        return np.zeros(np.shape(x), dtype=_grad_dtype(x))
    return 0.0


def as_gradient(g, x):
    """The gradient of argument `x` as an array of x's shape and floating dtype."""
    return np.asarray(g, dtype=x.dtype)


def scalar_output_check(function: str, location: Location):
    """A check that `grad`'s output is a scalar; the error names the function and return line."""

    def check_scalar_output(y):
        shape = np.shape(y)
        if shape != ():
            raise NonScalarOutputError(
                f"grad requires {function} to return a scalar, but it returned "
                f"{type(y).__name__} of shape {shape}",
                location,
                "reduce the output (e.g. np.sum) or use jacobian/vjp for vector outputs",
            )

    return check_scalar_output


def power_adjoint_exponent(g, z, x):
    """The adjoint of the exponent `y` in `z = x ** y`: g * z * log(x), taken as 0 where x == 0."""
    if np.ndim(x) == 0 and np.ndim(g) == 0:
        return g * z * np.log(x) if x != 0 else 0.0 * g
    safe = np.where(x == 0, 1.0, x)
    return np.where(x == 0, 0.0, g * z * np.log(safe))


def accumulate(total, contribution):
    """total + contribution for adjoints of any kind: lists and tuples add item by item."""
    if isinstance(total, list):
        return [accumulate(t, c) for t, c in zip(total, contribution)]
    return total + contribution


def unstack(g, axis=0):
    """The adjoint of np.stack: the slices of g along `axis`, as a list."""
    return list(np.moveaxis(g, axis, 0)) if axis else list(g)


def copy_of(value):
    """A copy of an array (a view would change when its array is written into), else value."""
    return value.copy() if isinstance(value, np.ndarray) else value


def astype(x, dtype, copy=True):
    """What `x.astype(dtype)` means, as a function the rule table can name."""
    return np.asarray(x).astype(dtype, copy=copy)
