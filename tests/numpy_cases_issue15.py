"""Rows for the rules of issue 15 (the functions users reach for): np.cross, einsum's general
forms, the decompositions (eigh, eigvalsh, svd, qr, pinv), differences, splits and stacks,
np.pad's copying modes, np.partition, nan-reductions, np.clip's keywords, the operator module,
real parts, FFT shifts and special functions. Run by test_numpy_rules.py."""

import importlib.util
import math
import operator

import numpy as np
from numpy_case import Case, normal


def sym(rng, n, batch=()):
    x = rng.normal(size=batch + (n, n))
    return x + np.swapaxes(x, -1, -2)


# -- linear algebra ----------------------------------------------------------------------


def cross_forms(a, b, w):
    return np.sum(np.cross(a, b) * w) + np.sum(np.cross(a, b, axis=0) * w.T) \
        + np.sum(np.cross(a, b, axisa=0, axisb=1, axisc=0) * w.T) \
        + np.sum(np.cross(a[:, :2], b) * w)


def cross_broadcast(a, v, w):
    return np.sum(np.cross(a, v) * w) + np.sum(np.cross(v[:2], a[:, :2]) * w[:, 0])


def einsum_ellipsis(a, b, w):
    return np.sum(np.einsum("...ij,...jk->...ik", a, b) * w) \
        + np.sum(np.einsum("...ij,jk->...ik", a, b[0]) * w) \
        + np.sum(np.einsum("i...->...", a) ** 2) + np.sum(np.einsum("...j,...j", a, a))


def einsum_broadcast(a, b, w):
    return np.sum(np.einsum("...ij,...jk->...ik", a[:1], b) * w) \
        + np.sum(np.einsum("...ij,...jk", a, b[0]) * w)


def einsum_many(a, b, c, d, e):
    return np.einsum("ij,jk,kl,lm,m->i", a, b, c, d, e)[1] \
        + np.sum(np.einsum("ij,jk,kl,lm", a, b, c, d) ** 2) + np.einsum("ii,ij,jk,k", a, b, d, e)


def einsum_sublist(a, b, c):
    return np.sum(np.einsum(a, [0, 1], b, [1, 2], [0, 2]) ** 2) \
        + np.sum(np.einsum(a, [0, 1], b, [1, 2]) * c) + np.einsum(a, [0, 0]) \
        + np.sum(np.einsum(a, [0, 1], [1, 0]) * a) \
        + np.sum(np.einsum(a, [0, 1], b, [1, 2], c, [0, 2], [0]) ** 2) \
        + np.sum(np.einsum(a, [Ellipsis, 1], b, [1, 2]) * c)


def eigh_forms(a, w1, w2):
    w, v = np.linalg.eigh(a)
    u, z = np.linalg.eigh(a, "U")
    # eigenvectors up to sign: products of a vector with itself do not depend on it
    return np.sum(w * w1) + np.sum(v[:, 1] * v[:, 1] * w2) + np.sum(u * u * w1) \
        + np.sum(np.abs(z[:, 0]) * w2) + np.sum(np.linalg.eigvalsh(a) ** 2)


def eigh_batched(a, w1):
    w, v = np.linalg.eigh(a)
    return np.sum(w * w1) + np.sum(v ** 2 * a)


def svd_forms(a, w1, w2):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.sum(s * w1) + np.sum((u * u) @ w2) + np.sum(vh[0] * vh[0]) \
        + np.sum((u * s) @ vh * a) + np.sum(np.linalg.svd(a, compute_uv=False) ** 3)


def svd_wide(a, w1):
    u, s, vh = np.linalg.svd(a.T, full_matrices=False)
    return np.sum(s * w1) + np.sum(u[0] ** 2) + np.sum(vh * vh * a.T)


def svd_square(a, w1):
    u, s, vh = np.linalg.svd(a)
    return np.sum(s * w1) + np.sum(np.abs(u @ vh) * a)


def qr_forms(a, w):
    q, r = np.linalg.qr(a)
    return np.sum(q * w) + np.sum(r * w[:3]) + np.sum(np.linalg.qr(a[:3])[0] * a[:3])


def pinv_forms(a, w):
    return np.sum(np.linalg.pinv(a) * w) + np.sum(np.linalg.pinv(a.T) * w.T) \
        + np.sum(np.linalg.pinv(a[:3]) ** 2)


CASES = [
    Case(cross_forms, lambda r: (normal(r, (3, 3)), normal(r, (3, 3)), normal(r, (3, 3))),
         argnums=(0, 1)),
    Case(cross_broadcast, lambda r: (normal(r, (4, 3)), normal(r, (3,)), normal(r, (4, 3))),
         argnums=(0, 1)),
    Case(einsum_ellipsis, lambda r: (normal(r, (2, 3, 4)), normal(r, (2, 4, 2)),
                                     normal(r, (2, 3, 2))), argnums=(0, 1)),
    Case(einsum_broadcast, lambda r: (normal(r, (2, 3, 4)), normal(r, (2, 4, 2)),
                                      normal(r, (2, 3, 2))), argnums=(0, 1)),
    Case(einsum_many, lambda r: (normal(r, (3, 3)), normal(r, (3, 3)), normal(r, (3, 3)),
                                 normal(r, (3, 2)), normal(r, (2,))), argnums=(0, 1, 2, 3, 4)),
    Case(einsum_sublist, lambda r: (normal(r, (3, 3)), normal(r, (3, 2)), normal(r, (3, 2))),
         argnums=(0, 1, 2)),
    Case(eigh_forms, lambda r: (sym(r, 4), normal(r, (4,)), normal(r, (4,)))),
    Case(eigh_batched, lambda r: (sym(r, 3, (2,)), normal(r, (2, 3)))),
    Case(svd_forms, lambda r: (normal(r, (5, 3)), normal(r, (3,)), normal(r, (3,)))),
    Case(svd_wide, lambda r: (normal(r, (5, 3)), normal(r, (3,)))),
    Case(svd_square, lambda r: (normal(r, (3, 3)), normal(r, (3,)))),
    Case(qr_forms, lambda r: (normal(r, (5, 3)), normal(r, (5, 3)))),
    Case(pinv_forms, lambda r: (normal(r, (4, 3)), normal(r, (3, 4)))),
]


# -- shapes, differences, partition, nan-reductions ---------------------------------------


def atleast_forms(x, s, w):
    return np.sum(np.atleast_1d(s) * w[0, 0]) + np.sum(np.atleast_2d(x[0]) * w[:1]) \
        + np.sum(np.atleast_3d(x) * w[:, :, None]) + np.sum(np.atleast_1d(x) * w)


def roll_forms(x, w):
    return np.sum(np.rollaxis(x, 2) * np.transpose(w, (2, 0, 1))) \
        + np.sum(np.rollaxis(x, 0, 3) ** 2) + np.sum(np.rot90(x) * np.rot90(w)) \
        + np.sum(np.rot90(x, -1, (0, 2)) ** 3)


def split_forms(x, w):
    a, b = np.hsplit(x, 2)
    c, d, e = np.vsplit(x, [1, 2])
    f, g = np.dsplit(x, [1])
    return np.sum(a * w[:, :2]) + np.sum(b ** 2) + np.sum(d * w[1:2]) + np.sum(e) \
        + np.sum(g * w[:, :, 1:]) + np.sum(c * f[0])


def stack_forms(x, v, w):
    return np.sum(np.column_stack([v, x[:, :, 0]]) ** 2 * v[:, None]) \
        + np.sum(np.column_stack(x[0]) ** 2) \
        + np.sum(np.dstack([x, x[:, :, :1] * v[:, None, None]]) ** 2) \
        + np.sum(np.vstack(x) ** 2) + np.sum(np.hstack(x) * np.hstack(w))


def pad_modes(x, w):
    return np.sum(np.pad(x, ((1, 2), (3, 1)), "reflect") ** 2) \
        + np.sum(np.pad(x, 2, mode="edge") * np.pad(w, 2)) \
        + np.sum(np.pad(x, (3, 1), "wrap") ** 3) \
        + np.sum(np.pad(x, 1, "symmetric") * np.pad(w, 1)) + np.sum(np.pad(x, (1, 0), "constant"))


def diff_forms(x, w):
    return np.sum(np.diff(x) * w[:, 1:]) + np.sum(np.diff(x, 2, axis=0) ** 2) \
        + np.sum(np.diff(x, axis=0) * w[1:])


def gradient_forms(x, w):
    gx, gy = np.gradient(x)
    gz = np.gradient(x, axis=1, edge_order=2)
    ga, gb = np.gradient(x, edge_order=2)
    return np.sum(gx * w) + np.sum(gy ** 2) + np.sum(gz * w) + np.sum(ga * gb) \
        + np.sum(np.gradient(x[0], axis=0) ** 2)


def partition_forms(x, w):
    return np.sum(np.partition(x, 2) * w) + np.sum(np.partition(x, (0, 3), axis=0) ** 2) \
        + np.sum(np.partition(x[0], [1, 4]) * w[1])


def nan_forms(x, w):
    y = np.where(w > 1.0, np.nan, x)  # some elements NaN
    return np.nansum(y) + np.sum(np.nansum(y, axis=0) * w[0]) + np.nanmean(y) \
        + np.sum(np.nanmean(y, axis=1, keepdims=True) ** 2) + np.nanmax(y) \
        + np.sum(np.nanmin(y, axis=0) * w[1])


def shift_forms(x, w):
    return np.sum(np.fft.fftshift(x) * w) + np.sum(np.fft.ifftshift(x, axes=0) ** 2) \
        + np.sum(np.fft.fftshift(x, axes=(1,)) * np.fft.ifftshift(w))


# -- spellings: the operator module, real parts, clip's keywords, tuple() ---------------------


def operator_forms(x, y):
    return np.sum(operator.add(x, y) * operator.mul(x, y)) + np.sum(operator.sub(x, 2.0) ** 2) \
        + np.sum(operator.truediv(x, y)) + np.sum(operator.mod(x, 1.7)) \
        + np.sum(operator.pow(y, 2)) + np.sum(operator.neg(x) * operator.pos(y)) \
        + np.sum(operator.matmul(x, y.T))


def real_forms(x, w):
    return np.sum(np.real(x) * w) + np.sum(np.conjugate(x) ** 2) + np.sum(np.conj(x) * w) \
        + np.sum(np.real_if_close(x) ** 3) + np.sum(np.imag(x)) + np.sum(np.angle(x) * x)


def clip_keywords(x, low, high):
    return np.sum(np.clip(x, min=low) ** 2) + np.sum(np.clip(x, max=high) ** 2) \
        + np.sum(np.clip(x, min=low, max=high) * x)


def tuple_forms(x):
    t = tuple([x * 2.0, np.sin(x)])
    u = tuple((x, x ** 2))
    return np.sum(t[0] * t[1]) + np.sum(u[1] - u[0])


def math_special(x):
    return math.erf(x) + math.erfc(0.5 * x) + math.gamma(x + 1.5) + math.lgamma(x + 0.7) \
        + math.lgamma(0.3 - x)


CASES += [
    Case(atleast_forms, lambda r: (normal(r, (2, 3)), 1.5, normal(r, (2, 3))), argnums=(0, 1)),
    Case(roll_forms, lambda r: (normal(r, (2, 3, 4)), normal(r, (2, 3, 4)))),
    Case(split_forms, lambda r: (normal(r, (3, 4, 2)), normal(r, (3, 4, 2)))),
    Case(stack_forms, lambda r: (normal(r, (3, 2, 2)), normal(r, (3,)), normal(r, (3, 2, 2))),
         argnums=(0, 1)),
    Case(pad_modes, lambda r: (normal(r, (3, 4)), normal(r, (3, 4)))),
    Case(diff_forms, lambda r: (normal(r, (4, 5)), normal(r, (4, 5)))),
    Case(gradient_forms, lambda r: (normal(r, (4, 5)), normal(r, (4, 5)))),
    Case(partition_forms, lambda r: (normal(r, (4, 6)), normal(r, (4, 6)))),
    Case(nan_forms, lambda r: (normal(r, (4, 5)), normal(r, (4, 5)))),
    Case(shift_forms, lambda r: (normal(r, (4, 5)), normal(r, (4, 5)))),
    Case(operator_forms, lambda r: (normal(r, (3, 4)), np.abs(normal(r, (3, 4))) + 0.5),
         argnums=(0, 1)),
    Case(real_forms, lambda r: (normal(r, (3, 4)), normal(r, (3, 4)))),
    Case(clip_keywords, lambda r: (normal(r, (3, 4)), normal(r, (3, 4)) - 0.5,
                                   normal(r, (4,)) + 0.5), argnums=(0, 1, 2)),
    Case(tuple_forms, lambda r: (normal(r, (3,)),)),
    Case(math_special, lambda r: (0.6,)),
]


# -- SciPy: special functions, logsumexp's weights, convolve, stats --------------------------

HAVE_SCIPY = importlib.util.find_spec("scipy") is not None
if HAVE_SCIPY:
    import scipy.signal
    import scipy.special as sp
    import scipy.stats


def special_forms(x, p, w):
    return np.sum(sp.expit(x) * w) + np.sum(sp.logit(p) * w) + np.sum(sp.log_expit(x) ** 2) \
        + np.sum(sp.erf(x) * w) + np.sum(sp.erfc(x) ** 2) + np.sum(sp.erfinv(2 * p - 1) * w) \
        + np.sum(sp.erfcinv(p) * w)


def gamma_forms(a, w):
    return np.sum(sp.gamma(a) * w) + np.sum(sp.gammaln(a) ** 2) + np.sum(sp.rgamma(a) * w) \
        + np.sum(sp.digamma(a) * w) + np.sum(sp.psi(a + 1.0) ** 2) \
        + np.sum(sp.polygamma(1, a) * w) + np.sum(sp.beta(a, w * w + 1.0)) \
        + np.sum(sp.betaln(w * w + 0.5, a) * w) + np.sum(sp.gammainc(2.5, a) * w) \
        + np.sum(sp.gammaincc(1.5, a) ** 2)


def bessel_forms(x, w):
    return np.sum(sp.j0(x) * w) + np.sum(sp.j1(x) ** 2) + np.sum(sp.y0(x) * w) \
        + np.sum(sp.y1(x) * w) + np.sum(sp.i0(x) * w) + np.sum(sp.i1(x) ** 2) \
        + np.sum(sp.jv(2.5, x) * w) + np.sum(sp.yn(3, x) * w) + np.sum(sp.iv(1.5, x) * w) \
        + np.sum(sp.ive(0.5, x) * w) + np.sum(sp.ive(2.0, -x) * w)


def logsumexp_weights(x, b, w):
    return sp.logsumexp(x, b=b) + np.sum(sp.logsumexp(x, axis=1, b=b) * w[:, 0]) \
        + np.sum(sp.logsumexp(x, axis=0, b=b[0], keepdims=True) * w[:1])


def convolve_forms(a, v, m, k):
    return np.sum(scipy.signal.convolve(a, v) ** 2) \
        + np.sum(scipy.signal.convolve(a, v, "valid") * a[:3]) \
        + np.sum(scipy.signal.convolve(v, a, mode="same") ** 2) \
        + np.sum(scipy.signal.convolve(m, k, "same") * m) \
        + np.sum(scipy.signal.convolve(m, k, mode="valid") ** 2)


def norm_forms(x, loc, scale):
    return np.sum(scipy.stats.norm.pdf(x, loc, scale)) \
        + np.sum(scipy.stats.norm.logpdf(x, loc, scale)) \
        + np.sum(scipy.stats.norm.cdf(x, loc, scale)) \
        + np.sum(scipy.stats.norm.sf(x, loc, scale) ** 2) \
        + np.sum(scipy.stats.norm.logcdf(x, loc, scale)) \
        + np.sum(scipy.stats.norm.logsf(x, loc, scale)) \
        + np.sum(scipy.stats.norm.pdf(x)) + np.sum(scipy.stats.norm.logcdf(x, scale=scale))


def t_forms(x, df, loc, scale):
    return np.sum(scipy.stats.t.pdf(x, df, loc, scale)) \
        + np.sum(scipy.stats.t.logpdf(x, df, loc, scale)) + np.sum(scipy.stats.t.logpdf(x, df) ** 2)


def densities(x, a, b, p):
    return np.sum(scipy.stats.chi2.pdf(x, 3)) + np.sum(scipy.stats.chi2.logpdf(x, 2)) \
        + np.sum(scipy.stats.chi2.cdf(x, 1)) + np.sum(scipy.stats.gamma.pdf(x, a)) \
        + np.sum(scipy.stats.gamma.logpdf(x, a)) + np.sum(scipy.stats.beta.pdf(p, a, b)) \
        + np.sum(scipy.stats.beta.logpdf(p, a, b=b))


def positive(r, shape, low=0.5, high=3.0):
    return r.uniform(low, high, size=shape)


if HAVE_SCIPY:
    CASES += [
        Case(special_forms, lambda r: (normal(r, (3, 4)), positive(r, (3, 4), 0.1, 0.9),
                                       normal(r, (3, 4))), argnums=(0, 1)),
        Case(gamma_forms, lambda r: (positive(r, (5,)), normal(r, (5,))), argnums=(0, 1)),
        Case(bessel_forms, lambda r: (positive(r, (5,)), normal(r, (5,)))),
        Case(logsumexp_weights, lambda r: (normal(r, (3, 4)), positive(r, (3, 4)),
                                           normal(r, (3, 4))), argnums=(0, 1)),
        Case(convolve_forms, lambda r: (normal(r, (5,)), normal(r, (3,)), normal(r, (4, 5)),
                                        normal(r, (2, 3))), argnums=(0, 1, 2, 3)),
        Case(norm_forms, lambda r: (normal(r, (4, 3)), normal(r, (1, 3)), positive(r, (4, 1))),
             argnums=(0, 1, 2)),
        Case(t_forms, lambda r: (normal(r, (4, 3)), positive(r, (1, 3), 2.0, 5.0),
                                 normal(r, (4, 3)), positive(r, (4, 1))), argnums=(0, 1, 2, 3)),
        Case(densities, lambda r: (positive(r, (4,)), positive(r, (4,), 1.5, 3.0),
                                   positive(r, (4,), 1.5, 3.0), positive(r, (4,), 0.2, 0.8)),
             argnums=(0, 1, 2, 3)),
    ]


def cdfs(x, loc, scale, a, p):
    # (df, a and b of the cdfs carry no derivative: literals)
    return np.sum(scipy.stats.t.cdf(x, 3.5, loc, scale) ** 2) \
        + np.sum(scipy.stats.t.logcdf(x, 2.5, loc=loc, scale=scale)) \
        + np.sum(scipy.stats.t.cdf(x, 3)) + np.sum(scipy.stats.gamma.cdf(a, 2.5) ** 2) \
        + np.sum(scipy.stats.beta.cdf(p, 2.5, 1.5) ** 2)


def mvn_forms(x, mean, lower, point):
    # cov read by its lower triangle, as SciPy reads it: the upper one is other numbers
    cov = lower @ lower.T + 3.0 * np.eye(3) + np.triu(point[0] * np.ones((3, 3)), 1)
    return np.sum(scipy.stats.multivariate_normal.logpdf(x, mean, cov) ** 2) \
        + scipy.stats.multivariate_normal.logpdf(point, mean, cov=cov)


if HAVE_SCIPY:
    CASES += [
        Case(mvn_forms, lambda r: (normal(r, (4, 3)), normal(r, (3,)), normal(r, (3, 3)),
                                   normal(r, (3,))), argnums=(0, 1, 2, 3)),
        Case(cdfs, lambda r: (normal(r, (4, 3)), normal(r, (1, 3)), positive(r, (4, 1)),
                              positive(r, (4,)), positive(r, (4,), 0.2, 0.8)),
             argnums=(0, 1, 2, 3, 4)),
    ]
