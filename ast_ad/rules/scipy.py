"""SciPy functions, loaded only where SciPy is installed: scipy.special's logsumexp, softmax,
log_softmax and its element-wise functions (expit, logit, erf, gamma, gammaln, digamma,
Bessel functions...); scipy.linalg's solve_triangular, cho_factor and cho_solve."""

# ruff: noqa: F821

import numpy as np
import scipy.linalg
import scipy.special
import scipy.special as sp

from .. import shapes
from ..runtime import (
    cho_solve_adjoint,
    cho_solve_tangent,
    triangle,
    tril_half,
    unbroadcast,
    unreduce,
)
from ..runtime_extra import no_derivative, no_derivative_along
from .registry import adjoint, nondifferentiable, tangent

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


LOGSUMEXP = "axis (None, an int, a tuple), keepdims and weights b=; not return_sign="


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


def _weighted(args):
    """logsumexp with weights b= (not return_sign=)."""
    return args["b_"].value is not None and args["return_sign"].value is False


@adjoint(scipy.special.logsumexp, when=_weighted)
def logsumexp_weighted(y, a, axis=None, b_=None, keepdims=False, return_sign=False):
    e = np.exp(a - unreduce(y, a, axis, keepdims)) * unreduce(b[y], a, axis, keepdims)
    b[a] = unbroadcast(e * b_, a)
    b[b_] = unbroadcast(e, b_)


@tangent(scipy.special.logsumexp, when=_weighted)
def logsumexp_weighted_tangent(y, a, axis=None, b_=None, keepdims=False, return_sign=False):
    d[y] = np.sum((d[a] * b_ + d[b_]) * np.exp(a - unreduce(y, a, axis, keepdims)), axis=axis,
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


# -- scipy.special: element-wise functions ---------------------------------------------------
#
# Arguments these rules do not differentiate (a Bessel function's order, an incomplete gamma
# function's shape parameter) must carry no derivative: if one does, the derivative code
# stops with a NonDifferentiableError (no_derivative) rather than treat it as a constant.

SQRT_PI = float(np.sqrt(np.pi))


@adjoint(sp.expit)
def expit(y, x):
    b[x] = b[y] * y * (1.0 - y)


@tangent(sp.expit)
def expit_tangent(y, x):
    d[y] = d[x] * y * (1.0 - y)


@adjoint(sp.logit)
def logit(y, x):
    b[x] = b[y] / (x * (1.0 - x))


@tangent(sp.logit)
def logit_tangent(y, x):
    d[y] = d[x] / (x * (1.0 - x))


@adjoint(sp.log_expit)
def log_expit(y, x):
    b[x] = b[y] * sp.expit(-x)


@tangent(sp.log_expit)
def log_expit_tangent(y, x):
    d[y] = d[x] * sp.expit(-x)


@adjoint(sp.erf)
def erf(y, x):
    b[x] = b[y] * (2.0 / SQRT_PI) * np.exp(-x * x)


@tangent(sp.erf)
def erf_tangent(y, x):
    d[y] = d[x] * (2.0 / SQRT_PI) * np.exp(-x * x)


@adjoint(sp.erfc)
def erfc(y, x):
    b[x] = b[y] * (-2.0 / SQRT_PI) * np.exp(-x * x)


@tangent(sp.erfc)
def erfc_tangent(y, x):
    d[y] = d[x] * (-2.0 / SQRT_PI) * np.exp(-x * x)


@adjoint(sp.erfinv)
def erfinv(y, x):
    b[x] = b[y] * (SQRT_PI / 2.0) * np.exp(y * y)


@tangent(sp.erfinv)
def erfinv_tangent(y, x):
    d[y] = d[x] * (SQRT_PI / 2.0) * np.exp(y * y)


@adjoint(sp.erfcinv)
def erfcinv(y, x):
    b[x] = b[y] * (-SQRT_PI / 2.0) * np.exp(y * y)


@tangent(sp.erfcinv)
def erfcinv_tangent(y, x):
    d[y] = d[x] * (-SQRT_PI / 2.0) * np.exp(y * y)


@adjoint(sp.gamma)
def gamma(y, x):
    b[x] = b[y] * y * sp.digamma(x)


@tangent(sp.gamma)
def gamma_tangent(y, x):
    d[y] = d[x] * y * sp.digamma(x)


@adjoint(sp.gammaln, note="the log of |Gamma(x)|")
def gammaln(y, x):
    b[x] = b[y] * sp.digamma(x)


@tangent(sp.gammaln)
def gammaln_tangent(y, x):
    d[y] = d[x] * sp.digamma(x)


@adjoint(sp.rgamma)
def rgamma(y, x):
    b[x] = -b[y] * y * sp.digamma(x)


@tangent(sp.rgamma)
def rgamma_tangent(y, x):
    d[y] = -d[x] * y * sp.digamma(x)


@adjoint(sp.digamma, note="scipy.special.psi too")
def digamma(y, x):
    b[x] = b[y] * sp.polygamma(1, x)


@tangent(sp.digamma)
def digamma_tangent(y, x):
    d[y] = d[x] * sp.polygamma(1, x)


@adjoint(sp.polygamma, note="no derivative in n (an integer)")
def polygamma(y, n, x):
    b[x] = b[y] * sp.polygamma(n + 1, x)
    b[n] = no_derivative("scipy.special.polygamma", "n")


@tangent(sp.polygamma)
def polygamma_tangent(y, n, x):
    d[y] = d[x] * sp.polygamma(n + 1, x) \
        + d[n] * no_derivative_along(d[n], "scipy.special.polygamma", "n")


@adjoint(sp.beta)
def beta(y, a, b_):
    b[a] = b[y] * y * (sp.digamma(a) - sp.digamma(a + b_))
    b[b_] = b[y] * y * (sp.digamma(b_) - sp.digamma(a + b_))


@tangent(sp.beta)
def beta_tangent(y, a, b_):
    d[y] = y * (d[a] * (sp.digamma(a) - sp.digamma(a + b_))
                + d[b_] * (sp.digamma(b_) - sp.digamma(a + b_)))


@adjoint(sp.betaln)
def betaln(y, a, b_):
    b[a] = b[y] * (sp.digamma(a) - sp.digamma(a + b_))
    b[b_] = b[y] * (sp.digamma(b_) - sp.digamma(a + b_))


@tangent(sp.betaln)
def betaln_tangent(y, a, b_):
    d[y] = d[a] * (sp.digamma(a) - sp.digamma(a + b_)) \
        + d[b_] * (sp.digamma(b_) - sp.digamma(a + b_))


GAMMAINC = "no derivative in a (the shape parameter)"


@adjoint(sp.gammainc, note=GAMMAINC)
def gammainc(y, a, x):
    b[x] = b[y] * np.exp((a - 1.0) * np.log(x) - x - sp.gammaln(a))
    b[a] = no_derivative("scipy.special.gammainc", "a")


@tangent(sp.gammainc)
def gammainc_tangent(y, a, x):
    d[y] = d[x] * np.exp((a - 1.0) * np.log(x) - x - sp.gammaln(a)) \
        + d[a] * no_derivative_along(d[a], "scipy.special.gammainc", "a")


@adjoint(sp.gammaincc, note=GAMMAINC)
def gammaincc(y, a, x):
    b[x] = -b[y] * np.exp((a - 1.0) * np.log(x) - x - sp.gammaln(a))
    b[a] = no_derivative("scipy.special.gammaincc", "a")


@tangent(sp.gammaincc)
def gammaincc_tangent(y, a, x):
    d[y] = -d[x] * np.exp((a - 1.0) * np.log(x) - x - sp.gammaln(a)) \
        + d[a] * no_derivative_along(d[a], "scipy.special.gammaincc", "a")


# Bessel functions: derivatives in x from the recurrences; none in the order.

BESSEL = "no derivative in the order"


@adjoint(sp.j0)
def j0(y, x):
    b[x] = -b[y] * sp.j1(x)


@tangent(sp.j0)
def j0_tangent(y, x):
    d[y] = -d[x] * sp.j1(x)


@adjoint(sp.j1)
def j1(y, x):
    b[x] = b[y] * 0.5 * (sp.j0(x) - sp.jv(2, x))


@tangent(sp.j1)
def j1_tangent(y, x):
    d[y] = d[x] * 0.5 * (sp.j0(x) - sp.jv(2, x))


@adjoint(sp.y0)
def y0(y, x):
    b[x] = -b[y] * sp.y1(x)


@tangent(sp.y0)
def y0_tangent(y, x):
    d[y] = -d[x] * sp.y1(x)


@adjoint(sp.y1)
def y1(y, x):
    b[x] = b[y] * 0.5 * (sp.y0(x) - sp.yn(2, x))


@tangent(sp.y1)
def y1_tangent(y, x):
    d[y] = d[x] * 0.5 * (sp.y0(x) - sp.yn(2, x))


@adjoint(sp.i0)
def i0(y, x):
    b[x] = b[y] * sp.i1(x)


@tangent(sp.i0)
def i0_tangent(y, x):
    d[y] = d[x] * sp.i1(x)


@adjoint(sp.i1)
def i1(y, x):
    b[x] = b[y] * 0.5 * (sp.i0(x) + sp.iv(2, x))


@tangent(sp.i1)
def i1_tangent(y, x):
    d[y] = d[x] * 0.5 * (sp.i0(x) + sp.iv(2, x))


@adjoint(sp.jv, note=BESSEL)
def jv(y, v, x):
    b[x] = b[y] * 0.5 * (sp.jv(v - 1, x) - sp.jv(v + 1, x))
    b[v] = no_derivative("scipy.special.jv", "v")


@tangent(sp.jv)
def jv_tangent(y, v, x):
    d[y] = d[x] * 0.5 * (sp.jv(v - 1, x) - sp.jv(v + 1, x)) \
        + d[v] * no_derivative_along(d[v], "scipy.special.jv", "v")


@adjoint(sp.yn, note=BESSEL)
def yn(y, n, x):
    b[x] = b[y] * 0.5 * (sp.yn(n - 1, x) - sp.yn(n + 1, x))
    b[n] = no_derivative("scipy.special.yn", "n")


@tangent(sp.yn)
def yn_tangent(y, n, x):
    d[y] = d[x] * 0.5 * (sp.yn(n - 1, x) - sp.yn(n + 1, x)) \
        + d[n] * no_derivative_along(d[n], "scipy.special.yn", "n")


@adjoint(sp.iv, note=BESSEL)
def iv(y, v, x):
    b[x] = b[y] * 0.5 * (sp.iv(v - 1, x) + sp.iv(v + 1, x))
    b[v] = no_derivative("scipy.special.iv", "v")


@tangent(sp.iv)
def iv_tangent(y, v, x):
    d[y] = d[x] * 0.5 * (sp.iv(v - 1, x) + sp.iv(v + 1, x)) \
        + d[v] * no_derivative_along(d[v], "scipy.special.iv", "v")


@adjoint(sp.ive, note=BESSEL + "; ive(v, x) = iv(v, x) exp(-|x|)")
def ive(y, v, x):
    b[x] = b[y] * (0.5 * (sp.ive(v - 1, x) + sp.ive(v + 1, x)) - np.sign(x) * y)
    b[v] = no_derivative("scipy.special.ive", "v")


@tangent(sp.ive)
def ive_tangent(y, v, x):
    d[y] = d[x] * (0.5 * (sp.ive(v - 1, x) + sp.ive(v + 1, x)) - np.sign(x) * y) \
        + d[v] * no_derivative_along(d[v], "scipy.special.ive", "v")


nondifferentiable(sp.gammasgn, why="piecewise constant (the sign of Gamma)")
