"""Reductions: sums, means, products, extrema, variances, cumulative sums and products, norms.

Every reduction takes `axis` (None, an int, negative, or a tuple) and, as a
keyword, `keepdims`; arguments NumPy takes positionally after `axis` (dtype,
out) are not supported, so a call passing them finds no rule rather than a
wrong one. Each adjoint has its tangent (forward mode) right below it.
"""

# ruff: noqa: F821

import builtins

import gast
import numpy as np

from .. import shapes
from ..runtime import (
    average_adjoint,
    average_tangent,
    average_weights_adjoint,
    cumprod_adjoint,
    cumprod_tangent,
    divide_or_zero,
    extremum_weights,
    norm_gradient,
    prod_of_others,
    reduced_count,
    reverse_cumsum,
    sum_adjoint,
    unbroadcast,
    unreduce,
)
from ..runtime_extra import nan_count
from .registry import adjoint, elementwise, linear, method, tangent


def _reduction_kind(arg_kinds, atoms):
    """A reduction over all axes (without keepdims) returns a NumPy scalar."""
    return "scalar" if _over_everything(atoms) else "array"


def _over_everything(atoms) -> bool:
    axis, keepdims = atoms.get("axis"), atoms.get("keepdims")
    return getattr(axis, "value", 0) is None and getattr(keepdims, "value", True) is False


def _reduction_shape(arg_shapes, atoms, operand="a"):
    axis, keepdims = atoms["axis"], atoms["keepdims"]
    if not isinstance(axis, gast.Constant) or not isinstance(keepdims, gast.Constant):
        return None
    return shapes.reduce(arg_shapes[operand], axis.value, keepdims.value)


def _scalar(args):
    return args["a"].kind == "scalar"


def _whole_array(args):
    return args["a"].kind == "array" and args["axis"].value is None \
        and args["keepdims"].value is False


def _kept(operand="a"):
    """A guard: the result's adjoint broadcasts against the operand as it is (a reduction over
    everything, or with keepdims=True), so no unreduce is needed."""

    def when(args):
        keepdims = args["keepdims"].value
        return args[operand].kind == "array" and (
            keepdims is True or (keepdims is False and args["axis"].value is None))

    return when


AXIS = "axis (None, an int, negative, a tuple) and keepdims= (a keyword); not dtype, out"

# -- sum and mean --------------------------------------------------------------------


@elementwise(np.sum, np.mean, np.prod, np.max, np.min, np.amax, np.amin, when=_scalar,
             result_kind=_reduction_kind, shape=_reduction_shape, note=AXIS)
def sum_of_scalar(y, a, axis=None, *, keepdims=False):
    b[a] = b[y]


@adjoint(np.sum, when=_whole_array)
def sum_all(y, a, axis=None, *, keepdims=False):
    b[a] = np.full_like(a, b[y])


@tangent(np.sum, when=_whole_array)
def sum_all_tangent(y, a, axis=None, *, keepdims=False):
    d[y] = np.sum(d[a])


@linear(np.sum, keywords=("axis",))
def sum(y, a, axis=None, *, keepdims=False):
    b[a] = unreduce(b[y], a, axis, keepdims)


@adjoint(np.mean, when=_whole_array)
def mean_all(y, a, axis=None, *, keepdims=False):
    b[a] = np.full_like(a, b[y] / a.size)


@tangent(np.mean, when=_whole_array)
def mean_all_tangent(y, a, axis=None, *, keepdims=False):
    d[y] = np.mean(d[a])


@linear(np.mean, keywords=("axis",))
def mean(y, a, axis=None, *, keepdims=False):
    b[a] = unreduce(b[y], a, axis, keepdims) / reduced_count(a, axis)


def _unweighted(args):
    return args["weights"].value is None and args["returned"].value is False


def _weighted(args):
    return args["weights"].value is not None and args["returned"].value is False


@adjoint(np.average, when=_unweighted, result_kind=_reduction_kind, shape=_reduction_shape,
         note="axis, keepdims; with or without weights (a's shape, or 1-D along an int "
         "axis); not returned=True")
def average_unweighted(y, a, axis=None, weights=None, returned=False, *, keepdims=False):
    b[a] = unreduce(b[y], a, axis, keepdims) / reduced_count(a, axis)


@tangent(np.average, when=_unweighted)
def average_unweighted_tangent(y, a, axis=None, weights=None, returned=False, *, keepdims=False):
    d[y] = np.mean(d[a], axis=axis, keepdims=keepdims)


@adjoint(np.average, when=_weighted)
def average(y, a, axis=None, weights=None, returned=False, *, keepdims=False):
    b[a] = average_adjoint(b[y], a, weights, axis, keepdims)
    b[weights] = average_weights_adjoint(b[y], a, weights, y, axis, keepdims)


@tangent(np.average, when=_weighted)
def average_tangent_rule(y, a, axis=None, weights=None, returned=False, *, keepdims=False):
    d[y] = average_tangent(d[a], d[weights], a, weights, y, axis, keepdims)


@adjoint(builtins.sum, when=lambda args: args["iterable"].kind == "array",
         note="sum(list of values) or sum(array) (over its rows), with start")
def builtin_sum_of_array(y, iterable, start=0):
    b[iterable] = unreduce(b[y], iterable, 0)
    b[start] = unbroadcast(b[y], start)


@linear(builtins.sum, wrt=("iterable", "start"))
def builtin_sum(y, iterable, start=0):
    b[iterable] = sum_adjoint(b[y], iterable)
    b[start] = unbroadcast(b[y], start)


# -- products ----------------------------------------------------------------------


PROD = AXIS + "; exact where a has zeros (products of the other elements, no division)"


@adjoint(np.prod, when=_kept(), note=PROD)
def prod_kept(y, a, axis=None, *, keepdims=False):
    b[a] = b[y] * prod_of_others(a, axis)


@adjoint(np.prod)
def prod(y, a, axis=None, *, keepdims=False):
    b[a] = unreduce(b[y], a, axis, keepdims) * prod_of_others(a, axis)


@tangent(np.prod)
def prod_tangent(y, a, axis=None, *, keepdims=False):
    d[y] = np.sum(d[a] * prod_of_others(a, axis), axis=axis, keepdims=keepdims)


# -- cumulative sums and products ----------------------------------------------------


def _cumulative_shape(shape, axis):
    if shape is None or not isinstance(axis, gast.Constant):
        return None
    return (int(np.prod(shape)),) if axis.value is None else shape


@linear(np.cumsum, keywords=("axis",), result_kind="array", note="axis (None: flattened)",
        shape=lambda s, atoms: _cumulative_shape(s["a"], atoms["axis"]))
def cumsum(y, a, axis=None):
    b[a] = reverse_cumsum(b[y], a, axis)


@adjoint(np.cumprod, result_kind="array",
         note="axis (None: flattened); exact where a has zeros (then a recurrence, no division)",
         shape=lambda s, atoms: _cumulative_shape(s["a"], atoms["axis"]))
def cumprod(y, a, axis=None):
    b[a] = cumprod_adjoint(b[y], a, y, axis)


@tangent(np.cumprod)
def cumprod_tangent_rule(y, a, axis=None):
    d[y] = cumprod_tangent(d[a], a, y, axis)


# -- extrema -----------------------------------------------------------------------


EXTREMUM = AXIS + "; ties split the gradient equally among the tied elements, as in JAX"


@adjoint(np.max, np.min, np.amax, np.amin, when=_kept(), note=EXTREMUM)
def max_kept(y, a, axis=None, *, keepdims=False):
    b[a] = b[y] * extremum_weights(a, y, axis, keepdims)


@adjoint(np.max, np.min, np.amax, np.amin)
def max(y, a, axis=None, *, keepdims=False):
    b[a] = unreduce(b[y], a, axis, keepdims) * extremum_weights(a, y, axis, keepdims)


@tangent(np.max, np.min, np.amax, np.amin)
def max_tangent(y, a, axis=None, *, keepdims=False):
    d[y] = np.sum(d[a] * extremum_weights(a, y, axis, keepdims), axis=axis, keepdims=keepdims)


# -- variance and standard deviation ------------------------------------------------


@adjoint(np.var, when=_kept(), result_kind=_reduction_kind, shape=_reduction_shape,
         note=AXIS + ", ddof=")
def var_kept(y, a, axis=None, *, ddof=0, keepdims=False):
    centred = a - np.mean(a, axis=axis, keepdims=True)
    b[a] = b[y] * 2.0 * centred / (reduced_count(a, axis) - ddof)


@adjoint(np.var)
def var(y, a, axis=None, *, ddof=0, keepdims=False):
    centred = a - np.mean(a, axis=axis, keepdims=True)
    b[a] = unreduce(b[y], a, axis, keepdims) * 2.0 * centred / (reduced_count(a, axis) - ddof)


@tangent(np.var)
def var_tangent(y, a, axis=None, *, ddof=0, keepdims=False):
    centred = a - np.mean(a, axis=axis, keepdims=True)
    d[y] = np.sum(2.0 * centred * d[a], axis=axis, keepdims=keepdims) / (
        reduced_count(a, axis) - ddof)


@adjoint(np.std, when=_kept(), result_kind=_reduction_kind, shape=_reduction_shape,
         note=AXIS + ", ddof=; where the std is 0 the gradient is 0 (a subgradient)")
def std_kept(y, a, axis=None, *, ddof=0, keepdims=False):
    centred = a - np.mean(a, axis=axis, keepdims=True)
    b[a] = divide_or_zero(b[y], y) * centred / (reduced_count(a, axis) - ddof)


@adjoint(np.std)
def std(y, a, axis=None, *, ddof=0, keepdims=False):
    centred = a - np.mean(a, axis=axis, keepdims=True)
    scale = unreduce(divide_or_zero(b[y], y), a, axis, keepdims)
    b[a] = scale * centred / (reduced_count(a, axis) - ddof)


@tangent(np.std)
def std_tangent(y, a, axis=None, *, ddof=0, keepdims=False):
    centred = a - np.mean(a, axis=axis, keepdims=True)
    change = np.sum(centred * d[a], axis=axis, keepdims=keepdims)
    d[y] = divide_or_zero(change, y) / (reduced_count(a, axis) - ddof)


# -- norms -------------------------------------------------------------------------


NORM = ("vector ord None, 2, 1, inf, -inf, 0, any p; matrix ord None, 'fro', 'nuc', 1, -1, 2, -2, "
        "inf, -inf (2, -2 and 'nuc' through the SVD: exact for distinct nonzero singular "
        "values); axis, keepdims; 0 at x = 0 for 2-norms, ties of max-type norms split equally")


@adjoint(np.linalg.norm, when=_kept("x"), result_kind=_reduction_kind, note=NORM,
         shape=lambda s, atoms: _reduction_shape(s, atoms, operand="x"))
def norm_kept(y, x, ord=None, axis=None, keepdims=False):
    b[x] = b[y] * norm_gradient(x, y, ord, axis, keepdims)


@adjoint(np.linalg.norm)
def norm(y, x, ord=None, axis=None, keepdims=False):
    b[x] = unreduce(b[y], x, axis, keepdims) * norm_gradient(x, y, ord, axis, keepdims)


@tangent(np.linalg.norm)
def norm_tangent(y, x, ord=None, axis=None, keepdims=False):
    d[y] = np.sum(d[x] * norm_gradient(x, y, ord, axis, keepdims), axis=axis, keepdims=keepdims)


method("sum", np.sum)
method("mean", np.mean)
method("prod", np.prod)
method("max", np.max)
method("min", np.min)
method("var", np.var)
method("std", np.std)
method("cumsum", np.cumsum)
method("cumprod", np.cumprod)


# -- reductions that skip NaN: nansum, nanmean, nanmax, nanmin ------------------------------

NAN = AXIS + "; NaN elements get a zero gradient"


@adjoint(np.nansum, when=_kept(), result_kind=_reduction_kind, shape=_reduction_shape, note=NAN)
def nansum_kept(y, a, axis=None, *, keepdims=False):
    b[a] = np.where(np.isnan(a), 0.0, b[y])


@adjoint(np.nansum, when=lambda args: args["a"].kind == "array")
def nansum(y, a, axis=None, *, keepdims=False):
    b[a] = np.where(np.isnan(a), 0.0, unreduce(b[y], a, axis, keepdims))


@tangent(np.nansum)
def nansum_tangent(y, a, axis=None, *, keepdims=False):
    d[y] = np.nansum(np.where(np.isnan(a), 0.0, d[a]), axis=axis, keepdims=keepdims)


@adjoint(np.nanmean, when=lambda args: args["a"].kind == "array", result_kind=_reduction_kind,
         shape=_reduction_shape, note=NAN)
def nanmean(y, a, axis=None, *, keepdims=False):
    b[a] = np.where(np.isnan(a), 0.0, unreduce(b[y], a, axis, keepdims)
                    / nan_count(a, axis, keepdims=True))


@tangent(np.nanmean)
def nanmean_tangent(y, a, axis=None, *, keepdims=False):
    d[y] = np.nansum(np.where(np.isnan(a), 0.0, d[a]), axis=axis, keepdims=keepdims) \
        / nan_count(a, axis, keepdims)


@adjoint(np.nanmax, np.nanmin, when=lambda args: args["a"].kind == "array",
         result_kind=_reduction_kind, shape=_reduction_shape, note=NAN + "; " + EXTREMUM)
def nanmax(y, a, axis=None, *, keepdims=False):
    b[a] = unreduce(b[y], a, axis, keepdims) * extremum_weights(a, y, axis, keepdims)


@tangent(np.nanmax, np.nanmin)
def nanmax_tangent(y, a, axis=None, *, keepdims=False):
    d[y] = np.sum(np.where(np.isnan(a), 0.0, d[a]) * extremum_weights(a, y, axis, keepdims),
                  axis=axis, keepdims=keepdims)
