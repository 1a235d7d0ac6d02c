"""Rows for the rules of issue 15 (the functions users reach for): np.cross, einsum's general
forms, the decompositions (eigh, eigvalsh, svd, qr, pinv), differences, splits and stacks,
np.pad's copying modes, np.partition, nan-reductions, np.clip's keywords, the operator module,
real parts, FFT shifts and special functions. Run by test_numpy_rules.py."""

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
