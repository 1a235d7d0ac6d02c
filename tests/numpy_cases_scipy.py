"""Rows for the SciPy rules (scipy.special, scipy.linalg); no rows where SciPy is missing."""

import importlib.util

import numpy as np
from numpy_case import Case, normal

HAVE_SCIPY = importlib.util.find_spec("scipy") is not None

if HAVE_SCIPY:
    import scipy.linalg
    import scipy.special


def positive_definite(rng, n):
    x = rng.normal(size=(n, n))
    return x @ x.T + n * np.eye(n)


def triangular(rng, n):
    """A well-conditioned matrix whose both triangles are random (each rule reads one)."""
    return rng.normal(size=(n, n)) + 3 * n * np.eye(n)


# -- scipy.special -------------------------------------------------------------------


def logsumexp_forms(x, w):
    return scipy.special.logsumexp(x) + np.sum(scipy.special.logsumexp(x, axis=1) * w[:, 0]) \
        + np.sum(scipy.special.logsumexp(x, axis=0, keepdims=True) * w[0]) \
        + np.sum(scipy.special.logsumexp(x, 1, keepdims=True) * w[:, :1]) \
        + np.sum(scipy.special.logsumexp(x, axis=(0, 1), keepdims=True))


def softmax_forms(x, w):
    return np.sum(scipy.special.softmax(x, axis=1) * w) + np.sum(scipy.special.softmax(x) * w) \
        + np.sum(scipy.special.softmax(x, axis=0) * w)


def log_softmax_forms(x, w):
    return np.sum(scipy.special.log_softmax(x, axis=1) * w) \
        + np.sum(scipy.special.log_softmax(x) * w) \
        + np.sum(scipy.special.log_softmax(x, axis=-2) * w)


# -- scipy.linalg ----------------------------------------------------------------------


def solve_triangular_forms(a, v, m, w):
    return np.sum(scipy.linalg.solve_triangular(a, v, lower=True) * w[:, 0]) \
        + np.sum(scipy.linalg.solve_triangular(a, m) * w) \
        + np.sum(scipy.linalg.solve_triangular(a, m, lower=True, unit_diagonal=True) * w) \
        + np.sum(scipy.linalg.solve_triangular(a, v, unit_diagonal=True) ** 2) \
        + np.sum(scipy.linalg.solve_triangular(a, m, trans=1, lower=True) * w) \
        + np.sum(scipy.linalg.solve_triangular(a, v, trans="T") * w[:, 1])


def cho_solve_lower(a, v, m, w):
    factor = scipy.linalg.cho_factor(a, lower=True)
    return np.sum(scipy.linalg.cho_solve(factor, v) * w[:, 0]) \
        + np.sum(scipy.linalg.cho_solve(factor, m) * w)


def cho_solve_upper(a, v, m, w):
    c, lower = scipy.linalg.cho_factor(a)
    return np.sum(scipy.linalg.cho_solve((c, lower), v) * w[:, 0]) \
        + np.sum(scipy.linalg.cho_solve((c, lower), m) * w)


def cho_factor_whole(a, w):
    """The factor's other triangle holds a's values, as SciPy leaves them."""
    c, lower = scipy.linalg.cho_factor(a, lower=True)
    d, upper = scipy.linalg.cho_factor(a)
    return np.sum(c * w) + np.sum(d * w.T)


CASES = [] if not HAVE_SCIPY else [
    Case(logsumexp_forms, lambda r: (normal(r, (3, 4)), normal(r, (3, 4)))),
    Case(softmax_forms, lambda r: (normal(r, (3, 4)), normal(r, (3, 4)))),
    Case(log_softmax_forms, lambda r: (normal(r, (3, 4)), normal(r, (3, 4)))),
    Case(solve_triangular_forms, lambda r: (triangular(r, 4), normal(r, 4), normal(r, (4, 2)),
                                            normal(r, (4, 2))), argnums=(0, 1, 2)),
    Case(cho_solve_lower, lambda r: (positive_definite(r, 4), normal(r, 4), normal(r, (4, 2)),
                                     normal(r, (4, 2))), argnums=(0, 1, 2)),
    Case(cho_solve_upper, lambda r: (positive_definite(r, 4), normal(r, 4), normal(r, (4, 2)),
                                     normal(r, (4, 2))), argnums=(0, 1, 2)),
    Case(cho_factor_whole, lambda r: (positive_definite(r, 4), normal(r, (4, 4)))),
]
