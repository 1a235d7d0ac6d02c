"""Rows for the linear-algebra rules: products, einsum, diagonals and traces, numpy.linalg."""

import numpy as np
from numpy_case import Case, normal


def well_conditioned(rng, n, batch=()):
    """A random matrix (or stack of them) kept far from singular by adding n * I."""
    return rng.normal(size=batch + (n, n)) + n * np.eye(n)


def positive_definite(rng, n, batch=()):
    """A random symmetric positive definite matrix (or stack), for np.linalg.cholesky."""
    x = rng.normal(size=batch + (n, n))
    return x @ np.swapaxes(x, -1, -2) + n * np.eye(n)


# -- matrix products -------------------------------------------------------


def matmul_2d(a, b, w):
    return np.sum((a @ b) * w)


def matmul_vector_forms(A, v, u):
    return np.sum(A @ v * u) + np.sum(u @ A * v) + v @ v


def matmul_function_batched(a, b, w):
    return np.sum(np.matmul(a, b) * w)


def matmul_batched_both(a, b, w):
    return np.sum((a @ b) * w)


def matmul_batched_vector(a, v, w):
    return np.sum((a @ v) * w) + np.sum((v @ a) * w)


def dot_forms(A, B, v, s):
    return np.sum(np.dot(A, B) * B.T) + np.dot(v, v) + np.sum(np.dot(A, v)) \
        + np.sum(np.dot(s, A))


def dot_nd(a, b, w):
    return np.sum(np.dot(a, b) * w)


def dot_method(A, v):
    return np.sum(A.dot(v) ** 2)


# -- inner, outer, vdot, tensordot, kron -------------------------------------------


def inner_vectors(u, v):
    return np.inner(u, v) * 2.0


def inner_nd(a, b, w):
    return np.sum(np.inner(a, b) * w)


def inner_scalar(s, b, w):
    return np.sum(np.inner(s, b) * w)


def outer_vectors(u, v, w):
    return np.sum(np.outer(u, v) * w)


def outer_flattens(a, b, w):
    return np.sum(np.outer(a, b) * w)


def vdot_flattens(a, b):
    return np.vdot(a, b) ** 2


def tensordot_int(a, b, w):
    return np.sum(np.tensordot(a, b) * w) + np.sum(np.tensordot(a, b[0], 1) ** 2)


def tensordot_pairs(a, b, w):
    return np.sum(np.tensordot(a, b, axes=([0, 2], [1, 0])) * w)


def tensordot_negative(a, b, w):
    return np.sum(np.tensordot(a, b, axes=(-1, 0)) * w)


def tensordot_outer(a, b, w):
    return np.sum(np.tensordot(a, b, 0) * w)


def kron_2d(a, b, w):
    return np.sum(np.kron(a, b) * w)


def kron_mixed(a, b, w):
    return np.sum(np.kron(a, b) * w)


# -- einsum -----------------------------------------------------------------


def einsum_matmul(a, b, w):
    return np.sum(np.einsum("ij,jk->ik", a, b) * w)


def einsum_dot(u, v):
    return np.einsum("i,i->", u, v) * 3.0


def einsum_matvec(a, v, w):
    return np.sum(np.einsum("ij,j->i", a, v) * w)


def einsum_batched(a, b, w):
    return np.sum(np.einsum("bij,bjk->bik", a, b, optimize=True) * w)


def einsum_implicit(a, b, w):
    return np.sum(np.einsum("ij,jk", a, b) * w) + np.sum(np.einsum("ba", a) * b)


def einsum_one_operand(a, w):
    return np.sum(np.einsum("ij->ji", a) * w) + np.einsum("ii->", a) \
        + np.sum(np.einsum("ii->i", a) ** 2) + np.einsum("ij->", a)


def einsum_summed_alone(a, v):
    # i appears only in a: a's adjoint is constant along i
    return np.einsum("ij,j->", a, v) ** 2


def einsum_diagonal_operand(v, m, w):
    return np.sum(np.einsum("i,jj->ij", v, m) * w)


def einsum_three(a, b, c):
    return np.einsum("ij,jk,ki->", a, b, c)


# -- diagonals and traces ----------------------------------------------------


def trace_2d(a):
    return np.trace(a) ** 2 + a.trace(1) + np.trace(a, offset=-1)


def trace_axes(a, w):
    return np.sum(np.trace(a, axis1=1, axis2=-1) * w) + np.sum(np.trace(a, 1, 2, 0))


def diag_builds(v, w):
    return np.sum(np.diag(v) * w[:3, :3]) + np.sum(np.diag(v, 1) * w) + np.sum(np.diag(v, k=-1) * w)


def diag_takes(a, w):
    return np.sum(np.diag(a) * w) + np.sum(np.diag(a, 1) ** 2) + np.sum(np.diag(a, -2))


def diagonal_forms(a, w):
    return np.sum(np.diagonal(a, 0, 1, 2) * w) + np.sum(a.diagonal(1) ** 2) \
        + np.sum(np.diagonal(a, -1, axis1=2, axis2=0))


# -- numpy.linalg -------------------------------------------------------------


def inv_2d(a, w):
    return np.sum(np.linalg.inv(a) * w)


def inv_batched(a, w):
    return np.sum(np.linalg.inv(a) * w)


def solve_vector(a, b):
    return np.sum(np.linalg.solve(a, b) ** 2)


def solve_matrix(a, b, w):
    return np.sum(np.linalg.solve(a, b) * w)


def solve_batched(a, b, w):
    return np.sum(np.linalg.solve(a, b) * w)


def solve_batched_vector(a, b, w):
    return np.sum(np.linalg.solve(a, b) * w)


def solve_broadcast(a, b, w):
    return np.sum(np.linalg.solve(a, b) * w)


def det_2d(a):
    return np.linalg.det(a) ** 2


def det_batched(a, w):
    return np.sum(np.linalg.det(a) * w)


def slogdet_unpacked(a):
    sign, logdet = np.linalg.slogdet(a)
    return sign * logdet * 2.0


def slogdet_fields(a, w):
    r = np.linalg.slogdet(a)
    return np.sum(r.logabsdet * w) + np.sum(r.sign)


def slogdet_negative(a):
    return np.linalg.slogdet(a)[1] * 3.0


# -- triangles and Cholesky --------------------------------------------------------


def triangles(a, w):
    return np.sum(np.tril(a) * w) + np.sum(np.triu(a, 1) ** 2) + np.sum(np.tril(a, -1) * w)


def cholesky_lower(a, w):
    return np.sum(np.linalg.cholesky(a) * w)


def cholesky_upper(a, w):
    return np.sum(np.linalg.cholesky(a, upper=True) * w)


def cholesky_of_gram(x, w):
    """A symmetric matrix built from x: the gradient reaches both triangles through x."""
    return np.sum(np.linalg.cholesky(x @ x.T + 3.0 * np.eye(3)) * w)


CASES = [
    # products
    Case(matmul_2d, lambda r: (normal(r, (3, 4)), normal(r, (4, 2)), normal(r, (3, 2))),
         argnums=(0, 1)),
    Case(matmul_vector_forms, lambda r: (normal(r, (4, 4)), normal(r, 4), normal(r, 4)),
         argnums=(0, 1, 2)),
    Case(matmul_function_batched, lambda r: (normal(r, (2, 3, 4)), normal(r, (4, 5)),
                                             normal(r, (2, 3, 5))), argnums=(0, 1)),
    Case(matmul_batched_both, lambda r: (normal(r, (2, 1, 3, 4)), normal(r, (3, 4, 2)),
                                         normal(r, (2, 3, 3, 2))), argnums=(0, 1)),
    Case(matmul_batched_vector, lambda r: (normal(r, (2, 4, 4)), normal(r, 4), normal(r, (2, 4))),
         argnums=(0, 1)),
    Case(dot_forms, lambda r: (normal(r, (3, 3)), normal(r, (3, 3)), normal(r, 3), 1.5),
         argnums=(0, 1, 2, 3)),
    Case(dot_nd, lambda r: (normal(r, (2, 3, 4)), normal(r, (5, 4, 2)), normal(r, (2, 3, 5, 2))),
         argnums=(0, 1)),
    Case(dot_method, lambda r: (normal(r, (3, 4)), normal(r, 4)), argnums=(0, 1)),
    Case(inner_vectors, lambda r: (normal(r, 5), normal(r, 5)), argnums=(0, 1)),
    Case(inner_nd, lambda r: (normal(r, (2, 3, 4)), normal(r, (5, 4)), normal(r, (2, 3, 5))),
         argnums=(0, 1)),
    Case(inner_scalar, lambda r: (1.5, normal(r, (2, 3)), normal(r, (2, 3))), argnums=(0, 1)),
    Case(outer_vectors, lambda r: (normal(r, 3), normal(r, 4), normal(r, (3, 4))), argnums=(0, 1)),
    Case(outer_flattens, lambda r: (normal(r, (2, 2)), normal(r, (3,)), normal(r, (4, 3))),
         argnums=(0, 1)),
    Case(vdot_flattens, lambda r: (normal(r, (2, 3)), normal(r, 6)), argnums=(0, 1)),
    Case(tensordot_int, lambda r: (normal(r, (2, 3, 4)), normal(r, (3, 4, 5)), normal(r, (2, 5))),
         argnums=(0, 1)),
    Case(tensordot_pairs, lambda r: (normal(r, (3, 4, 2)), normal(r, (2, 3, 5)),
                                     normal(r, (4, 5))), argnums=(0, 1)),
    Case(tensordot_negative, lambda r: (normal(r, (3, 4)), normal(r, (4, 2)), normal(r, (3, 2))),
         argnums=(0, 1)),
    Case(tensordot_outer, lambda r: (normal(r, 3), normal(r, (2, 2)), normal(r, (3, 2, 2))),
         argnums=(0, 1)),
    Case(kron_2d, lambda r: (normal(r, (2, 3)), normal(r, (3, 2)), normal(r, (6, 6))),
         argnums=(0, 1)),
    Case(kron_mixed, lambda r: (normal(r, 3), normal(r, (2, 2)), normal(r, (2, 6))),
         argnums=(0, 1)),
    # einsum
    Case(einsum_matmul, lambda r: (normal(r, (3, 4)), normal(r, (4, 2)), normal(r, (3, 2))),
         argnums=(0, 1)),
    Case(einsum_dot, lambda r: (normal(r, 4), normal(r, 4)), argnums=(0, 1)),
    Case(einsum_matvec, lambda r: (normal(r, (3, 4)), normal(r, 4), normal(r, 3)), argnums=(0, 1)),
    Case(einsum_batched, lambda r: (normal(r, (2, 3, 4)), normal(r, (2, 4, 5)),
                                    normal(r, (2, 3, 5))), argnums=(0, 1)),
    Case(einsum_implicit, lambda r: (normal(r, (3, 4)), normal(r, (4, 3)), normal(r, (3, 3))),
         argnums=(0, 1)),
    Case(einsum_one_operand, lambda r: (normal(r, (3, 3)), normal(r, (3, 3)))),
    Case(einsum_summed_alone, lambda r: (normal(r, (3, 4)), normal(r, 4)), argnums=(0, 1)),
    Case(einsum_diagonal_operand, lambda r: (normal(r, 3), normal(r, (4, 4)), normal(r, (3, 4))),
         argnums=(0, 1)),
    Case(einsum_three, lambda r: (normal(r, (2, 3)), normal(r, (3, 4)), normal(r, (4, 2))),
         argnums=(0, 1, 2)),
    # diagonals and traces
    Case(trace_2d, lambda r: (normal(r, (3, 4)),)),
    Case(trace_axes, lambda r: (normal(r, (2, 3, 4)), normal(r, 2))),
    Case(diag_builds, lambda r: (normal(r, 3), normal(r, (4, 4)))),
    Case(diag_takes, lambda r: (normal(r, (3, 4)), normal(r, 3))),
    Case(diagonal_forms, lambda r: (normal(r, (3, 4, 4)), normal(r, (3, 4)))),
    # numpy.linalg
    Case(inv_2d, lambda r: (well_conditioned(r, 3), normal(r, (3, 3)))),
    Case(inv_batched, lambda r: (well_conditioned(r, 3, (2,)), normal(r, (2, 3, 3)))),
    Case(solve_vector, lambda r: (well_conditioned(r, 3), normal(r, 3)), argnums=(0, 1)),
    Case(solve_matrix, lambda r: (well_conditioned(r, 3), normal(r, (3, 2)), normal(r, (3, 2))),
         argnums=(0, 1)),
    Case(solve_batched, lambda r: (well_conditioned(r, 3, (2,)), normal(r, (2, 3, 2)),
                                   normal(r, (2, 3, 2))), argnums=(0, 1)),
    Case(solve_batched_vector, lambda r: (well_conditioned(r, 3, (2,)), normal(r, 3),
                                          normal(r, (2, 3))), argnums=(0, 1)),
    Case(solve_broadcast, lambda r: (well_conditioned(r, 3), normal(r, (2, 3, 2)),
                                     normal(r, (2, 3, 2))), argnums=(0, 1)),
    Case(det_2d, lambda r: (well_conditioned(r, 3),)),
    Case(det_batched, lambda r: (well_conditioned(r, 3, (2,)), normal(r, 2))),
    Case(slogdet_unpacked, lambda r: (well_conditioned(r, 3),)),
    Case(slogdet_fields, lambda r: (well_conditioned(r, 3, (2,)), normal(r, 2))),
    Case(slogdet_negative, lambda r: (-well_conditioned(r, 3),)),
    # triangles and Cholesky
    Case(triangles, lambda r: (normal(r, (3, 4)), normal(r, (3, 4)))),
    Case(triangles, lambda r: (normal(r, (2, 3, 3)), normal(r, (2, 3, 3))),
         name="triangles[batched]"),
    Case(cholesky_lower, lambda r: (positive_definite(r, 4), normal(r, (4, 4)))),
    Case(cholesky_lower, lambda r: (positive_definite(r, 3, (2,)), normal(r, (2, 3, 3))),
         name="cholesky_lower[batched]"),
    Case(cholesky_upper, lambda r: (positive_definite(r, 4), normal(r, (4, 4)))),
    Case(cholesky_upper, lambda r: (positive_definite(r, 3, (2,)), normal(r, (2, 3, 3))),
         name="cholesky_upper[batched]"),
    Case(cholesky_of_gram, lambda r: (normal(r, (3, 3)), normal(r, (3, 3)))),
]


# -- convolve (1-D, each mode; the longer input first or second; a scalar) ------------------


def convolve_modes(a, v, w):
    return np.sum(np.convolve(a, v) ** 2) + np.sum(np.convolve(a, v, "valid") * w[0]) \
        + np.sum(np.convolve(v, a, mode="same") ** 3) + np.sum(np.convolve(a, w[1])) * 0.5


CASES += [
    Case(convolve_modes, lambda r: (normal(r, 6), normal(r, 3), normal(r, 2)), argnums=(0, 1, 2)),
    Case(convolve_modes, lambda r: (normal(r, 3), normal(r, 5), normal(r, 2)), argnums=(0, 1, 2),
         name="convolve_modes[shorter first]"),
]
