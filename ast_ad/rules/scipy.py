"""SciPy functions, loaded only where SciPy is installed: scipy.special's logsumexp, softmax
and log_softmax; scipy.linalg's solve_triangular, cho_factor and cho_solve."""

# ruff: noqa: F821

import numpy as np
import scipy.linalg
import scipy.special

from .. import shapes
from ..runtime import cho_solve_adjoint, cho_solve_tangent, triangle, tril_half, unreduce
from .registry import adjoint, tangent

# -- scipy.special: logsumexp, softmax, log_softmax ------------------------------------------


def _plain(args):
    """logsumexp without weights (b=) or the sign (return_sign=)."""
    return args["b_"].value is None and args["return_sign"].value is False


def _broadcasts(args):
    """The result broadcasts against `a` as it is: keepdims=True, or a reduction over all."""
    return _plain(args) and (args["keepdims"].value is True or (
        args["keepdims"].value is False and args["axis"].value is None))


def _logsumexp_shape(arg_shapes, atoms):
    axis, keepdims = atoms["axis"], atoms["keepdims"]
    if not hasattr(axis, "value") or not hasattr(keepdims, "value"):
        return None
    return shapes.reduce(arg_shapes["a"], axis.value, keepdims.value)


LOGSUMEXP = "axis (None, an int, a tuple) and keepdims; not b= or return_sign="


@adjoint(scipy.special.logsumexp, when=_broadcasts, result_kind="array",
         shape=_logsumexp_shape, note=LOGSUMEXP)
def logsumexp_kept(y, a, axis=None, b_=None, keepdims=False, return_sign=False):
    b[a] = b[y] * np.exp(a - y)


@adjoint(scipy.special.logsumexp, when=_plain)
def logsumexp(y, a, axis=None, b_=None, keepdims=False, return_sign=False):
    b[a] = unreduce(b[y], a, axis, keepdims) * np.exp(a - unreduce(y, a, axis, keepdims))


@tangent(scipy.special.logsumexp, when=_broadcasts)
def logsumexp_kept_tangent(y, a, axis=None, b_=None, keepdims=False, return_sign=False):
    d[y] = np.sum(d[a] * np.exp(a - y), axis=axis, keepdims=keepdims)


@tangent(scipy.special.logsumexp, when=_plain)
def logsumexp_tangent(y, a, axis=None, b_=None, keepdims=False, return_sign=False):
    d[y] = np.sum(d[a] * np.exp(a - unreduce(y, a, axis, keepdims)), axis=axis,
                  keepdims=keepdims)


@adjoint(scipy.special.softmax, result_kind="array", shape=lambda s, atoms: s["x"],
         note="axis (None, an int, a tuple)")
def softmax(y, x, axis=None):
    b[x] = y * (b[y] - np.sum(b[y] * y, axis=axis, keepdims=True))


@tangent(scipy.special.softmax)
def softmax_tangent(y, x, axis=None):
    d[y] = y * (d[x] - np.sum(d[x] * y, axis=axis, keepdims=True))


@adjoint(scipy.special.log_softmax, result_kind="array", shape=lambda s, atoms: s["x"],
         note="axis (None, an int, a tuple)")
def log_softmax(y, x, axis=None):
    b[x] = b[y] - np.exp(y) * np.sum(b[y], axis=axis, keepdims=True)


@tangent(scipy.special.log_softmax)
def log_softmax_tangent(y, x, axis=None):
    d[y] = d[x] - np.sum(np.exp(y) * d[x], axis=axis, keepdims=True)


# -- scipy.linalg: solve_triangular, cho_factor, cho_solve ------------------------------------


def _trans(*values):
    return lambda args: args["trans"].value in values


TRIANGULAR = ("trans= 0 or 1 (a literal); b a vector or a matrix; a's other triangle (and its "
              "diagonal with unit_diagonal=True) gets no gradient, as SciPy does not read it")


@adjoint(scipy.linalg.solve_triangular, when=_trans(0, "N"), result_kind="array",
         shape=lambda s, atoms: s["b_"], note=TRIANGULAR)
def solve_triangular(x, a, b_, trans=0, lower=False, unit_diagonal=False, overwrite_b=False,
                     check_finite=True):
    g = scipy.linalg.solve_triangular(a, b[x], trans=1, lower=lower,
                                      unit_diagonal=unit_diagonal)
    b[b_] = g
    b[a] = -triangle(np.reshape(g, (len(x), -1)) @ np.reshape(x, (len(x), -1)).T, lower,
                     unit_diagonal)


@adjoint(scipy.linalg.solve_triangular, when=_trans(1, "T", 2, "C"))
def solve_triangular_transposed(x, a, b_, trans=0, lower=False, unit_diagonal=False,
                                overwrite_b=False, check_finite=True):
    g = scipy.linalg.solve_triangular(a, b[x], lower=lower, unit_diagonal=unit_diagonal)
    b[b_] = g
    b[a] = -triangle(np.reshape(x, (len(x), -1)) @ np.reshape(g, (len(x), -1)).T, lower,
                     unit_diagonal)


@tangent(scipy.linalg.solve_triangular, when=_trans(0, "N"))
def solve_triangular_tangent(x, a, b_, trans=0, lower=False, unit_diagonal=False,
                             overwrite_b=False, check_finite=True):
    d[x] = scipy.linalg.solve_triangular(a, d[b_] - triangle(d[a], lower, unit_diagonal) @ x,
                                         lower=lower, unit_diagonal=unit_diagonal)


@tangent(scipy.linalg.solve_triangular, when=_trans(1, "T", 2, "C"))
def solve_triangular_transposed_tangent(x, a, b_, trans=0, lower=False, unit_diagonal=False,
                                        overwrite_b=False, check_finite=True):
    d[x] = scipy.linalg.solve_triangular(
        a, d[b_] - triangle(d[a], lower, unit_diagonal).T @ x, trans=1, lower=lower,
        unit_diagonal=unit_diagonal)


def _lower(value: bool):
    return lambda args: args["lower"].value is value


CHO_FACTOR = ("(c, lower): c's triangle is the Cholesky factor of a's (the lower= literal), "
              "the other holds a's values, as SciPy leaves them")


@adjoint(scipy.linalg.cho_factor, when=_lower(True), result_kind="other", note=CHO_FACTOR)
def cho_factor_lower(y, a, lower=False, overwrite_a=False, check_finite=True):
    l = np.tril(y[0])
    s = np.linalg.solve(l.T, np.linalg.solve(l.T, tril_half(l.T @ np.tril(b[y][0]))).T)
    b[a] = tril_half(s + s.T) + np.triu(b[y][0], 1)


@adjoint(scipy.linalg.cho_factor, when=_lower(False))
def cho_factor_upper(y, a, lower=False, overwrite_a=False, check_finite=True):
    u = np.triu(y[0])
    s = np.linalg.solve(u, np.linalg.solve(u, tril_half(u @ np.triu(b[y][0]).T)).T)
    b[a] = tril_half(s + s.T).T + np.tril(b[y][0], -1)


@tangent(scipy.linalg.cho_factor, when=_lower(True))
def cho_factor_lower_tangent(y, a, lower=False, overwrite_a=False, check_finite=True):
    l = np.tril(y[0])
    z = np.linalg.solve(l, np.linalg.solve(l, np.tril(d[a]) + np.tril(d[a], -1).T).T).T
    d[y] = (l @ tril_half(z) + np.triu(d[a], 1), 0.0)


@tangent(scipy.linalg.cho_factor, when=_lower(False))
def cho_factor_upper_tangent(y, a, lower=False, overwrite_a=False, check_finite=True):
    l = np.triu(y[0]).T
    z = np.linalg.solve(l, np.linalg.solve(l, np.triu(d[a]) + np.triu(d[a], 1).T).T).T
    d[y] = ((l @ tril_half(z)).T + np.tril(d[a], -1), 0.0)


@adjoint(scipy.linalg.cho_solve, result_kind="array", shape=lambda s, atoms: s["b_"],
         note="the factor from cho_factor (either triangle); b a vector or a matrix")
def cho_solve(x, c_and_lower, b_, overwrite_b=False, check_finite=True):
    g = scipy.linalg.cho_solve(c_and_lower, b[x])
    b[b_] = g
    b[c_and_lower][0] = cho_solve_adjoint(g, c_and_lower, x)


@tangent(scipy.linalg.cho_solve)
def cho_solve_tangent_rule(x, c_and_lower, b_, overwrite_b=False, check_finite=True):
    d[x] = scipy.linalg.cho_solve(c_and_lower, d[b_]) \
        + cho_solve_tangent(c_and_lower, x, d[c_and_lower][0])
