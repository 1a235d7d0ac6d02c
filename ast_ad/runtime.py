"""Helpers the generated code calls: plain NumPy, for the math that is not one expression."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from . import trees
from .arraytypes import is_protocol_array, known_shape
from .errors import Location, NonScalarOutputError


def keep_asarray(x):
    """np.asarray(x), except that a Dask or CuPy array stays one (asarray would compute a
    Dask array, and copy a CuPy one to the host)."""
    return x if any_protocol_array(x) else np.asarray(x)


def any_protocol_array(*values) -> bool:
    """Whether any of `values` is a Dask or CuPy array: helpers then build their results
    with functions NumPy dispatches to that library (np.zeros_like(x), np.where), never
    NumPy arrays the size of x nor tests of values (which would compute a Dask array)."""
    return any(map(is_protocol_array, values))


def _shape(x):
    shape = getattr(x, "shape", None)
    return shape if shape is not None else np.shape(x)


def stop_gradient(x):
    """`x` as a constant for differentiation: the value is x (an array is copied), the
    derivative is zero, in every mode (grad, jvp, vjp, hessian), as jax.lax.stop_gradient.

    For a value whose derivative is known to cancel, so that its adjoint need not be
    computed: the shift of a log-softmax, `m = ast_ad.stop_gradient(np.max(x, axis=1,
    keepdims=True))`, leaves `x - m - log(sum(exp(x - m)))` and its gradient unchanged, and
    the backward pass skips np.max. Where the derivative does not cancel, the gradient
    changes: that is what stop_gradient says.
    """
    return x.copy() if isinstance(x, np.ndarray) or any_protocol_array(x) else x


stop_gradient.__module__ = "ast_ad"  # it is ast_ad.stop_gradient


def unbroadcast(g, x):
    """Sum `g` over the axes NumPy broadcasting added, so that it has the shape of `x`."""
    shape = _shape(x)
    g_shape = _shape(g)
    if g_shape == shape:
        return g
    if g.__class__ is list or g.__class__ is tuple:
        # A list's adjoint in a sum or product whose operands' kinds were not known: the
        # operator joined or repeated lists (NumPy's arithmetic makes arrays), which the
        # sum's and product's adjoints do not describe. (A TypeError, not an ADError: this
        # helper is also copied into exported code, which runs without ast-ad.)
        raise TypeError("ast-ad: + or * of lists or tuples whose kind it could not tell "
                        "before running; build the list with a display or list.append, "
                        "or join arrays with np.concatenate")
    if not shape:
        return np.sum(g)
    lead = len(g_shape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g_shape[lead + i] != 1
    )
    return np.sum(g, axis=axes).reshape(shape)


def written_adjoint(g, index, value):
    """The adjoint of `value` in `y[index] = value` when index may repeat a position: each
    position keeps the last value written there, so earlier duplicates get no adjoint."""
    positions = np.arange(np.size(g)).reshape(np.shape(g))[index]
    flat = np.broadcast_to(positions, np.broadcast_shapes(np.shape(positions),
                                                        np.shape(value))).ravel()
    last = np.zeros(flat.shape, dtype=bool)
    _, first_from_end = np.unique(flat[::-1], return_index=True)
    last[flat.size - 1 - first_from_end] = True
    taken = np.where(last, np.ravel(g)[flat], 0.0).reshape(
        np.broadcast_shapes(np.shape(positions), np.shape(value)))
    return unbroadcast(taken, value)


def add_at(total, index, contribution):
    """total[index] += contribution, for arrays (repeats accumulate) and lists (item by item)."""
    if isinstance(total, np.ndarray):
        np.add.at(total, index, contribution)
        return
    if isinstance(index, slice):
        for position, c in zip(range(*index.indices(len(total))), contribution):
            total[position] = accumulate(total[position], c)
        return
    total[index] = accumulate(total[index], contribution)


def broadcast_like(t, z):
    """A tangent with its primal's shape: dz = dx in z = x + W broadcasts dx to W's shape."""
    shape = _shape(z)
    if _shape(t) == shape:
        return t
    if any_protocol_array(z) and not known_shape(z):  # a Dask array after a mask: nan sizes
        return t + np.zeros_like(z)
    return np.broadcast_to(t, shape)


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
    if any_protocol_array(x, g):  # chunked (or on the device) like x
        return np.zeros_like(x, dtype=_grad_dtype(x)) + g
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
    if type(x) is dict:
        return {k: zeros_like(v) for k, v in x.items()}
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        # a dataclass's adjoint: a dict of its fields (the standard library only: the
        # export command copies this helper into standalone modules)
        return {f.name: zeros_like(getattr(x, f.name)) for f in dataclasses.fields(x)}
    if isinstance(x, np.ndarray) or hasattr(x, "shape"):
        if any_protocol_array(x):
            return np.zeros_like(x, dtype=_grad_dtype(x))
        return np.zeros(np.shape(x), dtype=_grad_dtype(x))
    return 0.0


def as_gradient(g, x):
    """The gradient of `x` with x's type: an array of x's dtype, a NumPy scalar of x's
    type, or a float (for arguments, and for the adjoint of a cast such as x.astype(f32))."""
    if any_protocol_array(g):  # a Dask or CuPy gradient: cast, not computed
        return g.astype(x.dtype if hasattr(x, "dtype") else np.float64)
    if isinstance(x, np.ndarray):
        return np.asarray(g, dtype=x.dtype)
    if any_protocol_array(x):
        return np.full_like(x, g)
    return x.__class__(g) if isinstance(x, np.floating) else float(g)


def output_problem(y, real_scalar: bool = True) -> str | None:
    """What makes `y` no output to differentiate, else None. With real_scalar (grad), only
    floats and float arrays qualify; otherwise (jvp, vjp) numbers, arrays and tuples of them."""
    if y is None:
        return "None (is a `return` missing?)"
    if isinstance(y, (tuple, list)) and not real_scalar:
        return next((p for p in (output_problem(e, False) for e in y) if p), None)
    if type(y) is dict and not real_scalar:
        return next((p for p in (output_problem(e, False) for e in y.values()) if p), None)
    if isinstance(y, (bool, np.bool_)):
        return f"a bool ({y!r})" if real_scalar else None
    if isinstance(y, (complex, np.complexfloating)):
        return f"a complex number ({y!r})"
    if isinstance(y, (float, np.floating)):
        return None
    if isinstance(y, (int, np.integer)):
        return f"an int ({y!r})" if real_scalar else None
    if type(y) is np.ndarray or any_protocol_array(y):
        if y.dtype.kind == "f" or not real_scalar and y.dtype.kind in "iub":
            return None
        return f"an array of dtype {y.dtype}"
    return f"a {type(y).__name__}" + (f" ({y!r})" if isinstance(y, (str, bytes)) else "")


def check_positional(seq) -> None:
    """A loop over `seq` reads its items by position (`seq[k]`: the loops pass). Where the
    code could not tell what `seq` is (an argument or global other than a list, tuple or
    array), refuse a mapping, whose `seq[k]` is a lookup by key (not its k-th key, which
    Python's loop gives), and what has no `seq[k]` (a set, a dict view)."""
    from collections.abc import Mapping

    from .errors import UnsupportedSyntaxError

    if isinstance(seq, Mapping):
        raise UnsupportedSyntaxError(
            f"unsupported: iterating over a mapping ({type(seq).__name__}): ast-ad reads a "
            "loop's items by position", None,
            "loop over a tuple of its keys: for key in (k1, k2): ... d[key]")
    if not hasattr(type(seq), "__getitem__"):
        raise UnsupportedSyntaxError(
            f"unsupported: iterating over a {type(seq).__name__}: ast-ad reads a loop's items "
            "by position", None, "loop over a list or a tuple of them: for x in list(...)")


def scalar_output_check(function: str, location: Location):
    """A check that `grad`'s output is a float scalar; the error names the function and
    return line."""

    def check_scalar_output(y):
        shape = np.shape(y) if not isinstance(y, (str, bytes)) else ()
        if shape != ():
            raise NonScalarOutputError(
                f"grad requires {function} to return a scalar, but it returned "
                f"{type(y).__name__} of shape {shape}",
                location,
                "reduce the output (e.g. np.sum) or use jacobian/vjp for vector outputs",
            )
        problem = output_problem(y)
        if problem is not None:
            raise NonScalarOutputError(
                f"grad requires {function} to return a float, but it returned {problem}",
                location, "return a float (or a float array of shape ())")

    return check_scalar_output


def sequence_head(g, x):
    """The adjoint of `x` in `x + y`, lists or tuples joined: the first len(x) items of g."""
    return list(g[:len(x)])


def sequence_tail(g, y):
    """The adjoint of `y` in `x + y`, lists or tuples joined: the last len(y) items of g."""
    return list(g[len(g) - len(y):])


def repeated_adjoint(g, x):
    """The adjoint of `x` in `x * n` (n copies of a list or tuple): the copies' adjoints
    added item by item."""
    n = len(x)
    total = list(g[:n])
    for start in range(n, len(g), max(n, 1)):
        total = accumulate(total, list(g[start:start + n]))
    return total


def placed_first(items, like):
    """A list like `like`, zeros but for `items` first (the transpose of sequence_head)."""
    out = zeros_like(list(like))
    out[:len(items)] = list(items)
    return out


def placed_last(items, like):
    """A list like `like`, zeros but for `items` last (the transpose of sequence_tail)."""
    out = zeros_like(list(like))
    out[len(out) - len(items):] = list(items)
    return out


def repeated_like(items, like):
    """`items` repeated as many times as `like` holds copies (the transpose of
    repeated_adjoint)."""
    return list(items) * (len(like) // max(len(items), 1))


def joined_tangents(dx, x, dy, y):
    """The tangent of `x + y`, lists or tuples joined: the tangents joined, an input that
    carries no derivative (its tangent a zero number) standing for zeros like it."""
    dx = list(dx) if isinstance(dx, (list, tuple)) else zeros_like(x)
    dy = list(dy) if isinstance(dy, (list, tuple)) else zeros_like(y)
    return tuple(dx + dy) if isinstance(x, tuple) else dx + dy


def power_adjoint_exponent(g, z, x):
    """The adjoint of the exponent `y` in `z = x ** y`: g * z * log(x), taken as 0 where x == 0,
    and where g == 0: no change of y (an int exponent that a tuple, a list or a helper's saved
    values carried next to x, with a zero tangent) moves z, even where log(x) is nan (x < 0)."""
    if np.ndim(x) == 0 and np.ndim(g) == 0 and not any_protocol_array(x, g):
        return g * z * np.log(x) if x != 0 and g != 0 else 0.0 * g
    safe = np.where(x == 0, 1.0, x)
    return np.where((x == 0) | (g == 0), 0.0, g * z * np.log(safe))


def accumulate(total, contribution):
    """total + contribution for adjoints of any kind: lists and tuples add item by item."""
    if isinstance(total, list):
        return [accumulate(t, c) for t, c in zip(total, contribution)]
    if type(total) is dict:
        return {k: accumulate(t, contribution[k]) for k, t in total.items()}
    if contribution is None or total is None:  # a string's or None's "adjoint": none
        return total if contribution is None else contribution
    return total + contribution


def tree_gradient(g, x):
    """The gradient of a container argument `x` from its adjoint `g` (lists for its lists,
    tuples and NamedTuples, dicts for its dicts and dataclasses): a tree of x's structure
    and types, None at leaves that are not floats or float arrays."""
    cls = type(x)
    if cls is dict:
        return {k: tree_gradient(g[k], v) for k, v in x.items()}
    if cls is list:
        return [tree_gradient(b, v) for b, v in zip(g, x)]
    if cls is tuple:
        return tuple([tree_gradient(b, v) for b, v in zip(g, x)])
    if trees.is_namedtuple(x):
        return cls(*[tree_gradient(b, v) for b, v in zip(g, x)])
    if trees.is_dataclass_instance(x):
        return trees.make_dataclass_like(x, {k: tree_gradient(g[k], getattr(x, k))
                                             for k in trees.fields(cls)})
    if isinstance(x, np.ndarray):
        return np.asarray(g, dtype=x.dtype) if x.dtype.kind == "f" else None
    if isinstance(x, (float, np.floating)):
        return as_gradient(g, x)
    return None  # an int, a bool, a string, None...: not differentiated


def unstack(g, axis=0):
    """The adjoint of np.stack: the slices of g along `axis`, as a list."""
    return list(np.moveaxis(g, axis, 0)) if axis else list(g)


def copy_of(value):
    """A copy of an array (a view would change when its array is written into), else value."""
    return value.copy() if isinstance(value, np.ndarray) or any_protocol_array(value) else value


def astype(x, dtype, copy=True):
    """What `x.astype(dtype)` means, as a function the rule table can name."""
    return keep_asarray(x).astype(dtype, copy=copy)


def _inverse(permutation) -> tuple:
    """The permutation that undoes `permutation`, as a tuple of ints (Dask's transpose
    takes no NumPy array of axes)."""
    return tuple(np.argsort(permutation).tolist())


def _axes(axis, ndim: int) -> tuple:
    """The normalised, sorted tuple of axes a reduction's `axis` argument means."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    return tuple(sorted(int(a) % ndim for a in axes))


def _kept(y, x, axis, keepdims):
    """A reduction's result `y` with its reduced axes put back as length 1, to broadcast on x."""
    if keepdims or axis is None:
        return y  # already kept, or a scalar
    return np.expand_dims(y, _axes(axis, np.ndim(x)))


def divide_or_zero(g, y):
    """g / y, and 0 where y == 0.

    For the kink of a Euclidean norm (np.linalg.norm, hypot, std) at 0: 0 is a
    subgradient there, where g / y would give nan.
    """
    if np.ndim(g) == 0 and np.ndim(y) == 0 and not any_protocol_array(g, y):
        return g / y if y != 0 else 0.0 * g
    return np.where(y == 0, 0.0 * g, g / np.where(y == 0, 1.0, y))


def sum_adjoint(g, iterable):
    """The adjoint of builtin `sum(iterable)`: g for each item, summed to the item's shape.

    A list's adjoint is a list (one entry per item); an array's items are its rows.
    """
    if isinstance(iterable, np.ndarray) or any_protocol_array(iterable):
        return unreduce(g, iterable, 0)
    return [unbroadcast(g, item) for item in iterable]


def tie_weights(wins, ties, like):
    """The weight of x in max(x, y) (also min, fmax, fmin, clip): 1 where x `wins`, 0.5 at a
    tie, 0 elsewhere, in the float dtype of `like` (the result): a float64 weight would make
    a float32 gradient float64."""
    if any_protocol_array(wins, ties):
        return np.where(ties, 0.5, wins.astype(_grad_dtype(like)))
    weights = np.asarray(wins, dtype=_grad_dtype(like))  # a new array: bools are converted
    if np.any(ties):
        if weights.ndim == 0:
            return weights.dtype.type(0.5)
        weights[ties] = 0.5
    return weights if weights.ndim else weights[()]


def extremum_weights(a, y, axis=None, keepdims=False):
    """How a max or min `y` of `a` over `axis` depends on each element of `a`.

    1 at the extremum, 0 elsewhere; tied extrema share equally (1/k each for a
    k-way tie), as in JAX.
    """
    a = keep_asarray(a)
    hit = a == _kept(y, a, axis, keepdims)
    count = np.sum(hit, axis=axis, keepdims=True)
    weights = hit.astype(_grad_dtype(a))
    if any_protocol_array(a):  # dividing by a count of 1 changes nothing: no test of values
        return weights / count.astype(weights.dtype)
    return weights if np.all(count == 1) else weights / count.astype(weights.dtype)


def prod_of_others(a, axis=None):
    """For each element of `a`, the product of the other elements its np.prod over `axis` takes.

    The derivative of np.prod. Written as exclusive products from the left and from
    the right (no division), so it is exact where `a` has zeros.
    """
    a = keep_asarray(a)
    if a.ndim == 0:
        return np.ones_like(a, dtype=_grad_dtype(a))
    axes = _axes(axis, a.ndim)
    rest = tuple(i for i in range(a.ndim) if i not in axes)
    moved = np.transpose(a, rest + axes)
    rows = moved.reshape(moved.shape[:len(rest)] + (-1,))
    ones = np.ones_like(rows[..., :1])
    left = np.cumprod(np.concatenate([ones, rows[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, rows[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    others = (left * right).reshape(moved.shape)
    return np.transpose(others, _inverse(rest + axes))


def reverse_cumsum(g, a, axis=None):
    """The adjoint of np.cumsum(a, axis): sums of g from each position to the end.

    With axis=None, np.cumsum runs over a flattened; the adjoint gets a's shape back.
    """
    if axis is None:
        return np.cumsum(np.ravel(g)[::-1])[::-1].reshape(np.shape(a))
    return np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis)


def _along_last(x, axis):
    """x with `axis` moved last (flattened first when axis is None)."""
    return np.ravel(x) if axis is None else np.moveaxis(keep_asarray(x), axis, -1)


def _from_last(r, x, axis):
    return np.reshape(r, np.shape(x)) if axis is None else np.moveaxis(r, -1, axis)


def cumprod_adjoint(g, a, y, axis=None):
    """The adjoint of y = np.cumprod(a, axis).

    Where a has no zeros this is reverse_cumsum(g * y) / a. A zero makes that 0/0, so
    then it uses the recurrence s[k] = g[k] + a[k+1] * s[k+1], adjoint y[k-1] * s[k],
    which never divides (one vectorised step per position along the axis).
    """
    ga, aa, ya = _along_last(g, axis), _along_last(a, axis), _along_last(y, axis)
    if any_protocol_array(ga, aa):  # no test of a's values: the recurrence, one slice at a time
        s = [ga[..., -1] + 0 * aa[..., -1]]
        for k in range(aa.shape[-1] - 2, -1, -1):
            s.append(ga[..., k] + aa[..., k + 1] * s[-1])
        before = np.concatenate([np.ones_like(ya[..., :1]), ya[..., :-1]], axis=-1)
        return _from_last(before * np.stack(s[::-1], axis=-1), a, axis)
    if np.all(aa != 0):
        out = np.flip(np.cumsum(np.flip(ga * ya, -1), axis=-1), -1) / aa
        return _from_last(out, a, axis)
    s = np.zeros(np.broadcast_shapes(ga.shape, aa.shape), dtype=np.result_type(ga, aa))
    s[..., -1] = ga[..., -1]
    for k in range(aa.shape[-1] - 2, -1, -1):
        s[..., k] = ga[..., k] + aa[..., k + 1] * s[..., k + 1]
    before = np.concatenate([np.ones_like(ya[..., :1]), ya[..., :-1]], axis=-1)
    return _from_last(before * s, a, axis)


def cumprod_tangent(da, a, y, axis=None):
    """The tangent of y = np.cumprod(a, axis): dy[k] = dy[k-1] * a[k] + y[k-1] * da[k].

    Where a has no zeros, y * cumsum(da / a); with a zero, the recurrence (no division).
    """
    da = np.broadcast_to(da, np.shape(a))  # a zero tangent may come as a scalar
    dd, aa, ya = _along_last(da, axis), _along_last(a, axis), _along_last(y, axis)
    if any_protocol_array(dd, aa):  # no test of a's values: the recurrence, one slice at a time
        dy = [dd[..., 0] + 0 * ya[..., 0]]
        for k in range(1, aa.shape[-1]):
            dy.append(dy[-1] * aa[..., k] + ya[..., k - 1] * dd[..., k])
        return _from_last(np.stack(dy, axis=-1), y, axis)
    if np.all(aa != 0):
        return _from_last(ya * np.cumsum(dd / aa, axis=-1), y, axis)
    dy = np.zeros(ya.shape, dtype=np.result_type(dd, ya))
    dy[..., 0] = dd[..., 0]
    for k in range(1, aa.shape[-1]):
        dy[..., k] = dy[..., k - 1] * aa[..., k] + ya[..., k - 1] * dd[..., k]
    return _from_last(dy, y, axis)


def _given_axes(axis, ndim: int) -> tuple:
    """The axes of `axis` (an int or a tuple), normalised but in the order given."""
    return tuple(int(a) % ndim for a in ((axis,) if np.ndim(axis) == 0 else axis))


def average_weights(a, weights, axis=None):
    """np.average's weights broadcast to a's shape.

    Weights either have a's shape or, with `axis`, the shape of a along those axes
    in the order `axis` names them (as NumPy reads them).
    """
    w = keep_asarray(weights)
    if np.shape(a) != w.shape and axis is not None:
        axes = _given_axes(axis, np.ndim(a))
        w = np.transpose(w, _inverse(axes))
        w = w.reshape([n if i in axes else 1 for i, n in enumerate(np.shape(a))])
    return np.broadcast_to(w, np.shape(a))


def average_adjoint(g, a, weights, axis=None, keepdims=False):
    """The adjoint of `a` in y = np.average(a, axis, weights): g * w / sum(w)."""
    w = average_weights(a, weights, axis)
    total = np.sum(w, axis=axis, keepdims=True)
    return unreduce(g, a, axis, keepdims) * (w / total)


def average_weights_adjoint(g, a, weights, y, axis=None, keepdims=False):
    """The adjoint of the weights in y = np.average(a, axis, weights): g * (a - y) / sum(w),
    summed back to the weights' shape."""
    w = average_weights(a, weights, axis)
    total = np.sum(w, axis=axis, keepdims=True)
    full = unreduce(g, a, axis, keepdims) * (a - _kept(y, a, axis, keepdims)) / total
    if np.shape(weights) == np.shape(a):
        return full
    axes = _given_axes(axis, np.ndim(a))
    summed = np.sum(full, axis=tuple(i for i in range(np.ndim(a)) if i not in axes))
    return np.transpose(summed, _inverse(_inverse(axes)))  # back to the order of `axis`


def average_tangent(da, dw, a, weights, y, axis=None, keepdims=False):
    """The tangent of y = np.average(a, axis, weights): sum(da * w + (a - y) * dw) / sum(w)."""
    w = average_weights(a, weights, axis)
    dw = average_weights(a, dw, axis) if np.ndim(dw) else dw
    total = np.sum(w, axis=axis, keepdims=keepdims)
    change = da * w + (a - _kept(y, a, axis, keepdims)) * dw
    return np.sum(change, axis=axis, keepdims=keepdims) / total


def norm_gradient(x, y, ord=None, axis=None, keepdims=False):
    """d y / d x for y = np.linalg.norm(x, ord, axis, keepdims): an array shaped like x.

    Each order has its own derivative. Where a norm has a kink, this picks a
    subgradient: 0 at x == 0 for the 2-norms, ties among maxima (inf-norms, matrix
    1-norms) share equally, and the matrix 2-norm / nuclear norm use the singular
    vectors NumPy's SVD returns (exact when singular values are distinct and nonzero).
    """
    x = keep_asarray(x)
    if axis is None and (ord is None or x.ndim == 0):
        return divide_or_zero(x, y)  # the 2-norm of x flattened, whatever its ndim
    axes = _axes(axis, x.ndim) if axis is not None else tuple(range(x.ndim))
    yk = _kept(y, x, axis, keepdims)
    if len(axes) == 1:
        return _vector_norm_gradient(x, yk, ord, axes[0])
    return _matrix_norm_gradient(x, yk, ord, *_matrix_axes(axis, x.ndim))


def _matrix_axes(axis, ndim):
    """(row axis, column axis) in the order np.linalg.norm reads them."""
    if axis is None:
        return 0, 1
    return tuple(int(a) % ndim for a in axis)


def _vector_norm_gradient(x, yk, ord, axis):
    if ord is None or ord == 2:
        return divide_or_zero(x, yk)
    if ord == 1:
        return np.sign(x)
    if ord == 0:
        return np.zeros_like(x, dtype=_grad_dtype(x))  # a count of nonzeros: piecewise constant
    if ord in (np.inf, -np.inf):
        size = np.abs(x)
        extreme = np.max(size, axis=axis, keepdims=True) if ord > 0 else \
            np.min(size, axis=axis, keepdims=True)
        return np.sign(x) * extremum_weights(size, extreme, axis, keepdims=True)
    return np.sign(x) * divide_or_zero(np.abs(x), yk) ** (ord - 1)


def _matrix_norm_gradient(x, yk, ord, rows, cols):
    if ord is None or ord == "fro":
        return divide_or_zero(x, yk)
    if ord in (1, -1, np.inf, -np.inf):
        # ord ±1: the largest/smallest column sum of |x|; ord ±inf: the same for rows.
        summed, over = (rows, cols) if ord in (1, -1) else (cols, rows)
        sums = np.sum(np.abs(x), axis=summed, keepdims=True)
        extreme = np.max(sums, axis=over, keepdims=True) if ord > 0 else \
            np.min(sums, axis=over, keepdims=True)
        return np.sign(x) * extremum_weights(sums, extreme, over, keepdims=True)
    if ord in (2, -2, "nuc"):
        u, _, vt = np.linalg.svd(np.moveaxis(x, (rows, cols), (-2, -1)), full_matrices=False)
        if ord == "nuc":
            grad = u @ vt
        else:
            k = slice(0, 1) if ord == 2 else slice(-1, None)  # singular values: largest first
            grad = u[..., :, k] @ vt[..., k, :]
        return np.moveaxis(grad, (-2, -1), (rows, cols))
    raise ValueError(f"np.linalg.norm: no derivative for matrix ord={ord!r}")


# -- linear algebra, shape and indexing helpers


def _zeros_for(g, x):
    """A zero adjoint for `x` that can hold `g`'s values (x's shape, a float dtype)."""
    dtype = np.result_type(_grad_dtype(x), keep_asarray(g).dtype)
    if any_protocol_array(x, g):  # zeros of x's (or else g's) library: Dask, CuPy
        return np.zeros_like(x if any_protocol_array(x) else g, shape=np.shape(x), dtype=dtype)
    return np.zeros(np.shape(x), dtype=dtype)


def inner_adjoint_a(g, a, b):
    """The adjoint of `a` in `z = np.inner(a, b)` (sums over the last axes of both)."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * b, a)
    a_free = np.ndim(a) - 1
    # g's axes are a's free axes, then b's: contract b's with b's leading axes.
    return np.tensordot(g, b, (list(range(a_free, np.ndim(g))), list(range(np.ndim(b) - 1))))


def inner_adjoint_b(g, a, b):
    """The adjoint of `b` in `z = np.inner(a, b)`."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * a, b)
    a_free = list(range(np.ndim(a) - 1))
    return np.tensordot(g, a, (a_free, a_free))


def _tensordot_axes(axes, a_nd: int, b_nd: int) -> tuple[list, list]:
    """np.tensordot's `axes` argument as two lists of non-negative axes."""
    if np.ndim(axes) == 0:
        n = int(axes)
        return list(range(a_nd - n, a_nd)), list(range(n))
    a_axes, b_axes = axes
    a_axes = [a_axes] if np.ndim(a_axes) == 0 else list(a_axes)
    b_axes = [b_axes] if np.ndim(b_axes) == 0 else list(b_axes)
    return [int(i) % a_nd for i in a_axes], [int(i) % b_nd for i in b_axes]


def tensordot_adjoint_a(g, a, b, axes=2):
    """The adjoint of `a` in `z = np.tensordot(a, b, axes)`.

    z's axes are a's free axes then b's free axes; contracting g with b over b's
    free axes leaves a's free axes then b's contracted ones (in b's order), which
    a transpose puts back where they were in a.
    """
    a_axes, b_axes = _tensordot_axes(axes, np.ndim(a), np.ndim(b))
    a_free = [i for i in range(np.ndim(a)) if i not in a_axes]
    b_free = [i for i in range(np.ndim(b)) if i not in b_axes]
    g_b = list(range(len(a_free), len(a_free) + len(b_free)))
    r = np.tensordot(g, b, (g_b, b_free))
    order = a_free + [a_axes[i] for i in np.argsort(b_axes)]
    return np.transpose(r, _inverse(order))


def tensordot_adjoint_b(g, a, b, axes=2):
    """The adjoint of `b` in `z = np.tensordot(a, b, axes)`."""
    a_axes, b_axes = _tensordot_axes(axes, np.ndim(a), np.ndim(b))
    a_free = [i for i in range(np.ndim(a)) if i not in a_axes]
    b_free = [i for i in range(np.ndim(b)) if i not in b_axes]
    r = np.tensordot(a, g, (a_free, list(range(len(a_free)))))
    order = [b_axes[i] for i in np.argsort(a_axes)] + b_free
    return np.transpose(r, _inverse(order))


def einsum_parts(subscripts: str, count: int) -> tuple[list, str]:
    """(input subscripts, output subscript) of an einsum, the implicit output made explicit."""
    spec = subscripts.replace(" ", "")
    if "->" in spec:
        inputs, output = spec.split("->")
        inputs = inputs.split(",")
    else:
        inputs = spec.split(",")
        letters = "".join(inputs)
        output = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    if len(inputs) != count or "." in spec:
        raise ValueError(f"einsum subscripts {subscripts!r} do not fit {count} operand(s)")
    return inputs, output


def einsum_adjoint(g, subscripts, operands, k):
    """The adjoint of operand k of `np.einsum(subscripts, *operands)` (letters, no '...').

    It is g contracted with the other operands down to operand k's letters; a
    letter only operand k has was summed away, so the adjoint is constant along
    it, and a repeated letter (a diagonal, 'ii') puts the values on that diagonal.
    """
    inputs, output = einsum_parts(subscripts, len(operands))
    if isinstance(g, (int, float)):  # a Python number is weak in arithmetic, not in einsum
        g = np.asarray(g, dtype=np.result_type(g, operands[k]))
    target, x = inputs[k], operands[k]
    sizes = dict(zip(target, np.shape(x)))
    letters = "".join(dict.fromkeys(target))  # each letter once, in order
    others = [s for i, s in enumerate(inputs) if i != k]
    present = set(output).union(*others)
    kept = "".join(c for c in letters if c in present)
    r = np.einsum(",".join([output] + others) + "->" + kept, g,
                  *[o for i, o in enumerate(operands) if i != k])
    if kept != letters:
        r = np.reshape(r, [sizes[c] if c in kept else 1 for c in letters])
        if any_protocol_array(r):  # a broadcast view: no NumPy array of x's size in the graph
            r = np.broadcast_to(r, [sizes[c] for c in letters])
        else:
            r = r * np.ones([sizes[c] for c in letters], dtype=r.dtype)
    if letters == target:
        return r
    if any_protocol_array(r, x):  # r where the repeated letters' positions agree, 0 elsewhere
        grids = np.indices([sizes[c] for c in target], sparse=True)
        mask = np.ones((1,) * len(target), dtype=bool)
        for i, c in enumerate(target):
            first = target.index(c)
            if first != i:
                mask = mask & (grids[i] == grids[first])
        spread = np.reshape(r, [sizes[c] if target.index(c) == i else 1
                                for i, c in enumerate(target)])
        return np.where(mask, spread, 0.0 * spread)
    out = _zeros_for(r, x)
    index = []
    for c in target:
        shape = [1] * len(letters)
        shape[letters.index(c)] = sizes[c]
        index.append(np.arange(sizes[c]).reshape(shape))
    out[tuple(index)] = r
    return out


def diagonal_adjoint(g, a, offset=0, axis1=0, axis2=1):
    """The adjoint of `np.diagonal(a, offset, axis1, axis2)`: g written on that diagonal of zeros.

    g's last axis runs along the diagonal (a size-1 last axis is spread along it:
    the adjoint of np.trace is diagonal_adjoint(g[..., None], ...)).
    """
    if any_protocol_array(g, a):
        return _diagonal_adjoint_lazy(g, a, offset, axis1, axis2)
    zeros = _zeros_for(g, a)
    moved = np.zeros_like(np.moveaxis(zeros, (axis1, axis2), (-2, -1)))  # a new array
    rows, cols = moved.shape[-2:]
    n = max(0, min(rows + min(offset, 0), cols - max(offset, 0)))
    i = np.arange(n)
    moved[..., i - min(offset, 0), i + max(offset, 0)] = g
    return np.moveaxis(moved, (-2, -1), (axis1, axis2))


def _diagonal_adjoint_lazy(g, a, offset, axis1, axis2):
    """diagonal_adjoint for a Dask or CuPy array, without writing into one: g spread over
    the columns, kept on the diagonal (a NumPy mask of the matrix's shape)."""
    shape = np.shape(a)
    rows, cols = shape[axis1], shape[axis2]
    n = max(0, min(rows + min(offset, 0), cols - max(offset, 0)))
    r = np.arange(rows)
    on_diagonal = (np.arange(cols)[None, :] - r[:, None] == offset) & (r[:, None] < n - min(
        offset, 0))
    if n == 0:
        return np.zeros_like(a, dtype=_grad_dtype(a)) * 0.0
    g = np.broadcast_to(g, np.shape(g)[:-1] + (n,))  # a size-1 axis spread (np.trace)
    per_row = np.take(g, np.clip(r + min(offset, 0), 0, n - 1), axis=-1)
    moved = np.where(on_diagonal, per_row[..., :, None], 0.0 * per_row[..., :, None])
    return np.moveaxis(moved, (-2, -1), (axis1, axis2))


def diag_adjoint(g, v, k=0):
    """The adjoint of `np.diag(v, k)`: the diagonal back for a 1-D v, the matrix for a 2-D one."""
    if np.ndim(v) == 1:
        return np.diag(g, k)
    return diagonal_adjoint(g, v, k)


def solve_adjoint_b(g, a, b):
    """A^-T g: the adjoint of `b` in `x = np.linalg.solve(a, b)`, before unbroadcasting.

    A 1-D b is one right-hand side (NumPy 2), so g has a's batch axes and one more.
    """
    at = np.swapaxes(a, -1, -2)
    if np.ndim(b) == 1:
        return np.linalg.solve(at, g[..., None])[..., 0]
    return np.linalg.solve(at, g)


def solve_adjoint_a(gb, x, b):
    """The adjoint of `a` in `x = np.linalg.solve(a, b)`: -gb x^T, gb from solve_adjoint_b."""
    if np.ndim(b) == 1:
        return -gb[..., :, None] * x[..., None, :]
    return -(gb @ np.swapaxes(x, -1, -2))


def solve_tangent_a(a, b, x, da):
    """-A^-1 dA x: how x = np.linalg.solve(a, b) changes with a (linear in da)."""
    if np.ndim(b) == 1:
        return -np.linalg.solve(a, (da @ x[..., None]))[..., 0]
    return -np.linalg.solve(a, da @ x)


def tril_half(x):
    """The lower triangle of x (of each matrix in a stack) with its diagonal halved: the
    Phi of the Cholesky derivative. Linear and its own adjoint."""
    return 0.5 * (np.tril(x) + np.tril(x, -1))


def triangle(m, lower=False, unit_diagonal=False):
    """The triangle of m that scipy.linalg.solve_triangular reads: the lower or upper one,
    without the diagonal if unit_diagonal (then taken as ones). Linear and its own adjoint."""
    if lower:
        return np.tril(m, -1 if unit_diagonal else 0)
    return np.triu(m, 1 if unit_diagonal else 0)


def cho_solve_adjoint(gb, c_and_lower, x):
    """The adjoint of the factor c in x = scipy.linalg.cho_solve((c, lower), b), given
    gb = A^-1 g (the adjoint of b): -(gb x^T + x gb^T) L for a lower factor L (its transpose
    for an upper one), on the triangle cho_solve reads."""
    c, lower = c_and_lower
    n = np.shape(c)[0]
    g2 = np.reshape(gb, (n, -1))
    x2 = np.reshape(x, (n, -1))
    m = g2 @ x2.T + x2 @ g2.T
    if lower:
        return -np.tril(m @ np.tril(c))
    return -np.triu(np.triu(c) @ m)


def cho_solve_tangent(c_and_lower, x, dc):
    """How x = scipy.linalg.cho_solve((c, lower), b) changes with the factor c (linear in dc):
    -A^-1 (dL L^T + L dL^T) x, with A = L L^T read from c's triangle."""
    import scipy.linalg

    c, lower = c_and_lower
    if lower:
        factor, change = np.tril(c), np.tril(dc)
    else:
        factor, change = np.triu(c).T, np.triu(dc).T
    moved = change @ (factor.T @ x) + factor @ (change.T @ x)
    return -scipy.linalg.cho_solve(c_and_lower, moved)


def kron_adjoint(g, a, b, which):
    """The adjoint of `a` (which=0) or `b` (which=1) in `z = np.kron(a, b)`.

    z[i*p + k, j*q + l] = a[i, j] * b[k, l]: seen with shape (m, p, n, q), g pairs
    a's axes with b's; the adjoint of one sums g times the other over its axes.
    """
    nd = max(np.ndim(a), np.ndim(b))
    a_shape = (1,) * (nd - np.ndim(a)) + np.shape(a)
    b_shape = (1,) * (nd - np.ndim(b)) + np.shape(b)
    g = np.reshape(g, [n for pair in zip(a_shape, b_shape) for n in pair])
    if which == 0:
        other = np.reshape(b, [n for m in b_shape for n in (1, m)])
        return np.reshape(np.sum(g * other, axis=tuple(range(1, 2 * nd, 2))), np.shape(a))
    other = np.reshape(a, [n for m in a_shape for n in (m, 1)])
    return np.reshape(np.sum(g * other, axis=tuple(range(0, 2 * nd, 2))), np.shape(b))


def inverse_axes(axes, ndim):
    """The permutation that undoes np.transpose(x, axes) for an x with ndim axes."""
    if axes is None:  # reversed axes: their own inverse
        return tuple(range(ndim))[::-1]
    return tuple(int(i) for i in np.argsort([int(a) % ndim for a in axes]))


def unconcatenate(g, arrays, axis=0):
    """The adjoint of np.concatenate(arrays, axis): g cut into pieces shaped like `arrays`."""
    if axis is None:
        return _cut(np.ravel(g), arrays, [(math.prod(np.shape(a)),) for a in arrays], 0)
    return _cut(g, arrays, [np.shape(a) for a in arrays], axis)


def unhstack(g, tup):
    """The adjoint of np.hstack(tup): 1-D pieces join along axis 0, others along axis 1."""
    promoted = [np.shape(np.atleast_1d(a)) for a in tup]
    return _cut(g, tup, promoted, 0 if len(promoted[0]) == 1 else 1)


def unvstack(g, tup):
    """The adjoint of np.vstack(tup): pieces of at least 2 dimensions joined along axis 0."""
    return _cut(g, tup, [np.shape(np.atleast_2d(a)) for a in tup], 0)


def _cut(g, arrays, shapes, axis):
    """g split along `axis` into pieces of the given (promoted) shapes, each then reshaped
    to its array's own shape."""
    sizes = np.cumsum([s[axis] for s in shapes])[:-1]
    if any_protocol_array(g):  # Dask has no np.split: slices
        bounds = [0] + sizes.tolist() + [np.shape(g)[axis]]
        pieces = [g[(slice(None),) * (axis % np.ndim(g)) + (slice(lo, hi),)]
                  for lo, hi in zip(bounds, bounds[1:])]
        return [np.reshape(p, np.shape(a)) for p, a in zip(pieces, arrays)]
    return [np.reshape(p, np.shape(a)) for p, a in zip(np.split(g, sizes, axis), arrays)]


def repeat_adjoint(g, a, repeats, axis=None):
    """The adjoint of `np.repeat(a, repeats, axis)`: each element's copies summed back."""
    x = np.ravel(a) if axis is None else a
    axis = 0 if axis is None else axis % np.ndim(a)
    n = np.shape(x)[axis]
    if np.ndim(repeats) == 0 or np.size(repeats) == 1:  # n groups of the same size
        r = int(np.ravel(repeats)[0])
        shape = np.shape(g)
        g = np.reshape(g, shape[:axis] + (n, r) + shape[axis + 1:])
        return np.reshape(np.sum(g, axis=axis + 1), np.shape(a))
    owner = np.repeat(np.arange(n), repeats)  # which element each output slice copies
    out = _zeros_for(g, x)
    np.add.at(out, (slice(None),) * axis + (owner,), g)
    return np.reshape(out, np.shape(a))


def tile_adjoint(g, a, reps):
    """The adjoint of `np.tile(a, reps)`: the copies of a in g summed together."""
    reps = (int(reps),) if np.ndim(reps) == 0 else tuple(int(r) for r in reps)
    nd = max(np.ndim(a), len(reps))
    a_shape = (1,) * (nd - np.ndim(a)) + np.shape(a)
    reps = (1,) * (nd - len(reps)) + reps
    g = np.reshape(g, [n for pair in zip(reps, a_shape) for n in pair])
    return np.reshape(np.sum(g, axis=tuple(range(0, 2 * nd, 2))), np.shape(a))


def unpad(g, pad_width):
    """The adjoint of `np.pad(x, pad_width)` with respect to x: the middle of g."""
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.intp), (np.ndim(g), 2))
    return g[tuple(slice(before, n - after) for (before, after), n in zip(widths, np.shape(g)))]


def pad_mask(x, pad_width):
    """1.0 where `np.pad(x, pad_width)` holds the constant, 0.0 where it holds x."""
    return np.pad(np.zeros(np.shape(x)), pad_width, constant_values=1.0)


def _take_indices(indices, n, mode):
    """The indices np.take(..., mode=mode) really reads, so that np.add.at writes there."""
    if mode == "wrap":
        return np.mod(indices, n)
    if mode == "clip":
        return np.clip(indices, 0, n - 1)
    return indices


def take_adjoint(g, a, indices, axis=None, mode="raise"):
    """The adjoint of `np.take(a, indices, axis, mode=mode)`: g added where it was taken
    (np.add.at, so repeated indices accumulate)."""
    out = _zeros_for(g, a)
    if axis is None:
        flat = out.reshape(-1)  # a view of the new zeros
        np.add.at(flat, _take_indices(indices, flat.size, mode), g)
        return out
    axis = axis % np.ndim(a)
    index = _take_indices(indices, np.shape(a)[axis], mode)
    # take puts index's axes where `axis` was: flatten those, then add slice by slice.
    g = np.reshape(g, np.shape(g)[:axis] + (-1,) + np.shape(g)[axis + np.ndim(index):])
    np.add.at(out, (slice(None),) * axis + (np.ravel(index),), g)
    return out


def take_along_axis_adjoint(g, arr, indices, axis=-1):
    """The adjoint of `np.take_along_axis(arr, indices, axis)`: g added where it was taken."""
    out = _zeros_for(g, arr)
    if axis is None:
        np.add.at(out.reshape(-1), indices, g)
        return out
    axis = axis % np.ndim(arr)
    shape = np.shape(indices)
    index = [np.arange(n).reshape((1,) * i + (n,) + (1,) * (len(shape) - i - 1))
             for i, n in enumerate(shape)]
    index[axis] = indices
    np.add.at(out, tuple(index), g)
    return out
