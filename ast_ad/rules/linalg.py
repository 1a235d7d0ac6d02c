"""Linear algebra: products (dot, matmul, inner, outer, vdot, tensordot, einsum, kron), diagonals,
triangles and traces, and numpy.linalg's inv, solve, det, slogdet and cholesky."""

# ruff: noqa: F821

import warnings

import gast
import numpy as np

try:  # optional: the Cholesky adjoint solves with triangular solves where SciPy is installed
    import scipy.linalg as scipy_linalg
except ImportError:
    scipy_linalg = None

from .. import shapes
from ..runtime import (
    diag_adjoint,
    diagonal_adjoint,
    dot_adjoint_x,
    dot_adjoint_y,
    einsum_adjoint,
    einsum_parts,
    inner_adjoint_a,
    inner_adjoint_b,
    kron_adjoint,
    matmul_adjoint_x,
    matmul_adjoint_y,
    solve_adjoint_a,
    solve_adjoint_b,
    solve_tangent_a,
    tensordot_adjoint_a,
    tensordot_adjoint_b,
    tril_half,
    unbroadcast,
)
from ..runtime_extra import (
    cross_adjoint,
    eigh_adjoint,
    eigh_tangent,
    einsum_any_adjoint,
    pinv_adjoint,
    pinv_tangent,
    qr_adjoint,
    qr_tangent,
    svd_adjoint,
    svd_tangent,
    svd_values_adjoint,
    svd_values_tangent_of,
)
from . import static
from .registry import adjoint, method, tangent


def _both_2d(args):
    first, second = list(args.values())[:2]
    return first.ndim == 2 and second.ndim == 2


def _ndims(args):
    first, second = list(args.values())[:2]
    return first.ndim, second.ndim


# -- matrix products: @, matmul, dot ------------------------------------------


@adjoint(gast.MatMult, np.matmul, np.dot, when=_both_2d, result_kind="array")
def matmul_2d(z, x, y):
    b[x] = b[z] @ y.T
    b[y] = x.T @ b[z]


@adjoint(gast.MatMult, np.matmul, np.dot, np.inner, when=lambda args: _ndims(args) == (1, 1))
def inner_1d(z, x, y):
    b[x] = b[z] * y
    b[y] = b[z] * x


@adjoint(gast.MatMult, np.matmul, np.dot, when=lambda args: _ndims(args) == (2, 1))
def matrix_vector(z, x, y):
    b[x] = np.outer(b[z], y)
    b[y] = b[z] @ x


@adjoint(gast.MatMult, np.matmul, np.dot, when=lambda args: _ndims(args) == (1, 2))
def vector_matrix(z, x, y):
    b[x] = y @ b[z]
    b[y] = np.outer(x, b[z])


@adjoint(gast.MatMult, note="1-D, 2-D and batched operands (batch axes broadcast)")
def matmul_operator(z, x, y):
    b[x] = matmul_adjoint_x(b[z], x, y)
    b[y] = matmul_adjoint_y(b[z], x, y)


@tangent(gast.MatMult)
def matmul_operator_tangent(z, x, y):
    d[z] = d[x] @ y + x @ d[y]


@adjoint(np.matmul, shape=lambda s, atoms: shapes.matmul(s["x1"], s["x2"]),
         note="1-D, 2-D and batched operands (batch axes broadcast)")
def matmul(z, x1, x2):
    b[x1] = matmul_adjoint_x(b[z], x1, x2)
    b[x2] = matmul_adjoint_y(b[z], x1, x2)


@tangent(np.matmul)
def matmul_tangent(z, x1, x2):
    d[z] = np.matmul(d[x1], x2) + np.matmul(x1, d[x2])


@adjoint(np.dot, shape=lambda s, atoms: shapes.dot(s["a"], s["b_"]),
         note="scalars, 1-D, 2-D and N-D operands")
def dot(z, a, b_):
    b[a] = dot_adjoint_x(b[z], a, b_)
    b[b_] = dot_adjoint_y(b[z], a, b_)


@tangent(np.dot)
def dot_tangent(z, a, b_):
    d[z] = np.dot(d[a], b_) + np.dot(a, d[b_])


method("dot", np.dot)


# -- other products: inner, outer, vdot, tensordot, kron ------------------------


@adjoint(np.inner, shape=lambda s, atoms: static.inner(s["a"], s["b_"]),
         note="scalars and N-D operands")
def inner(z, a, b_):
    b[a] = inner_adjoint_a(b[z], a, b_)
    b[b_] = inner_adjoint_b(b[z], a, b_)


@tangent(np.inner)
def inner_tangent(z, a, b_):
    d[z] = np.inner(d[a], b_) + np.inner(a, d[b_])


# -- np.convolve (1-D): bilinear; the adjoint of each input correlates the output's adjoint,
# placed in the full convolution ('same' and 'valid' are centred slices of it), with the
# other input


def convolve_adjoint(g, a, v, which):
    """The adjoint of a (which=0) or v (which=1) in np.convolve(a, v, mode); the length of
    g, the output's adjoint, tells which slice of the full convolution the mode took."""
    # (written with what has rules of its own, so that the derivative can be differentiated
    # again: np.pad, and a correlation as the convolution with the other input reversed)
    full = np.size(a) + np.size(v) - 1
    start = (full - np.shape(g)[0]) // 2
    g = np.pad(g, (start, full - start - np.shape(g)[0]))
    x, other = (a, v) if which == 0 else (v, a)
    return np.reshape(np.convolve(g, np.ravel(other)[::-1], "valid"), np.shape(x))


def _vectors(args):
    return all(args[p].kind in ("array", "scalar") and (args[p].shape is None or len(
        args[p].shape) <= 1) for p in ("a", "v"))


@adjoint(np.convolve, when=_vectors, result_kind="array",
         shape=lambda s, atoms: static.convolve(s["a"], s["v"], static.literal(atoms["mode"])),
         note="of 1-D arrays, modes 'full', 'same' and 'valid'")
def convolve(y, a, v, mode="full"):
    b[a] = convolve_adjoint(b[y], a, v, 0)
    b[v] = convolve_adjoint(b[y], a, v, 1)


@tangent(np.convolve, when=_vectors)
def convolve_tangent(y, a, v, mode="full"):
    d[y] = np.convolve(d[a], v, mode) + np.convolve(a, d[v], mode)


@adjoint(np.outer, when=lambda args: _ndims(args) == (1, 1), result_kind="array",
         shape=lambda s, atoms: static.outer(s["a"], s["b_"]))
def outer_1d(z, a, b_):
    b[a] = b[z] @ b_
    b[b_] = a @ b[z]


@adjoint(np.outer, note="N-D operands are flattened, as NumPy does")
def outer(z, a, b_):
    b[a] = np.reshape(b[z] @ np.ravel(b_), np.shape(a))
    b[b_] = np.reshape(np.ravel(a) @ b[z], np.shape(b_))


@tangent(np.outer)
def outer_tangent(z, a, b_):
    d[z] = np.outer(d[a], b_) + np.outer(a, d[b_])


@adjoint(np.vdot, result_kind="scalar", shape=lambda s, atoms: (),
         note="real arguments (no complex conjugation)")
def vdot(z, a, b_):
    b[a] = np.reshape(b[z] * b_, np.shape(a))
    b[b_] = np.reshape(b[z] * a, np.shape(b_))


@tangent(np.vdot)
def vdot_tangent(z, a, b_):
    d[z] = np.vdot(d[a], b_) + np.vdot(a, d[b_])


@adjoint(np.tensordot, result_kind="array", note="axes an int, or a pair of ints or sequences",
         shape=lambda s, atoms: static.tensordot(s["a"], s["b_"], static.literal(atoms["axes"])))
def tensordot(z, a, b_, axes=2):
    b[a] = tensordot_adjoint_a(b[z], a, b_, axes)
    b[b_] = tensordot_adjoint_b(b[z], a, b_, axes)


@tangent(np.tensordot)
def tensordot_tangent(z, a, b_, axes=2):
    d[z] = np.tensordot(d[a], b_, axes) + np.tensordot(a, d[b_], axes)


@adjoint(np.kron, result_kind="array", shape=lambda s, atoms: static.kron(s["a"], s["b_"]),
         note="any numbers of dimensions")
def kron(z, a, b_):
    b[a] = kron_adjoint(b[z], a, b_, 0)
    b[b_] = kron_adjoint(b[z], a, b_, 1)


@tangent(np.kron)
def kron_tangent(z, a, b_):
    d[z] = np.kron(d[a], b_) + np.kron(a, d[b_])


# -- einsum: one, two or three operands, subscripts a literal string -----------


def _einsum_fits(count):
    """A guard: the subscripts are a literal string of letters for `count` operands."""

    def when(args):
        subscripts = args["subscripts"].value
        if not isinstance(subscripts, str):
            return False
        try:
            einsum_parts(subscripts, count)
        except ValueError:
            return False
        return True

    return when


def _einsum_shape(*operands):
    return lambda s, atoms: static.einsum(static.literal(atoms["subscripts"]),
                                          *[s[p] for p in operands])


EINSUM_NOTE = ("subscripts a literal string of letters (no '...'), 1 to 3 operands; "
               "optimize= is accepted")


@adjoint(np.einsum, when=_einsum_fits(1), result_kind="array", shape=_einsum_shape("x"),
         note=EINSUM_NOTE)
def einsum_one(y, subscripts, x, *, optimize=False):
    b[x] = einsum_adjoint(b[y], subscripts, [x], 0)


@adjoint(np.einsum, when=_einsum_fits(2), shape=_einsum_shape("x1", "x2"))
def einsum_two(y, subscripts, x1, x2, *, optimize=False):
    b[x1] = einsum_adjoint(b[y], subscripts, [x1, x2], 0)
    b[x2] = einsum_adjoint(b[y], subscripts, [x1, x2], 1)


@adjoint(np.einsum, when=_einsum_fits(3), shape=_einsum_shape("x1", "x2", "x3"))
def einsum_three(y, subscripts, x1, x2, x3, *, optimize=False):
    b[x1] = einsum_adjoint(b[y], subscripts, [x1, x2, x3], 0)
    b[x2] = einsum_adjoint(b[y], subscripts, [x1, x2, x3], 1)
    b[x3] = einsum_adjoint(b[y], subscripts, [x1, x2, x3], 2)


@tangent(np.einsum, when=_einsum_fits(1))
def einsum_one_tangent(y, subscripts, x, *, optimize=False):
    d[y] = np.einsum(subscripts, d[x])


@tangent(np.einsum, when=_einsum_fits(2))
def einsum_two_tangent(y, subscripts, x1, x2, *, optimize=False):
    d[y] = np.einsum(subscripts, d[x1], x2) + np.einsum(subscripts, x1, d[x2])


@tangent(np.einsum, when=_einsum_fits(3))
def einsum_three_tangent(y, subscripts, x1, x2, x3, *, optimize=False):
    d[y] = np.einsum(subscripts, d[x1], x2, x3) + np.einsum(subscripts, x1, d[x2], x3) \
        + np.einsum(subscripts, x1, x2, d[x3])


# -- diagonals and traces ----------------------------------------------------


def _trace_shape(s, atoms):
    diagonal = static.of_view("a", np.diagonal, "offset", "axis1", "axis2")(s, atoms)
    return None if diagonal is None else diagonal[:-1]


@adjoint(np.trace, result_kind="array", shape=_trace_shape, note="any offset and axes")
def trace(y, a, offset=0, axis1=0, axis2=1, dtype=None):
    b[a] = diagonal_adjoint(np.expand_dims(b[y], -1), a, offset, axis1, axis2)


@tangent(np.trace)
def trace_tangent(y, a, offset=0, axis1=0, axis2=1, dtype=None):
    d[y] = np.trace(d[a], offset, axis1, axis2)


@adjoint(np.diagonal, result_kind="array",
         shape=static.of_view("a", np.diagonal, "offset", "axis1", "axis2"))
def diagonal(y, a, offset=0, axis1=0, axis2=1):
    b[a] = diagonal_adjoint(b[y], a, offset, axis1, axis2)


@tangent(np.diagonal)
def diagonal_tangent(y, a, offset=0, axis1=0, axis2=1):
    d[y] = np.diagonal(d[a], offset, axis1, axis2)


@adjoint(np.diag, when=lambda args: args["v"].ndim == 1, result_kind="array",
         shape=lambda s, atoms: static.diag(s["v"], static.literal(atoms["k"])),
         note="1-D (builds a matrix) and 2-D (takes a diagonal) v, any k")
def diag_of_vector(y, v, k=0):
    b[v] = np.diag(b[y], k)


@adjoint(np.diag)
def diag(y, v, k=0):
    b[v] = diag_adjoint(b[y], v, k)


@tangent(np.diag)
def diag_tangent(y, v, k=0):
    d[y] = np.diag(d[v], k)


@adjoint(np.tril, result_kind="array", shape=static.same_as("m"),
         note="any k; stacks of matrices (the last two axes)")
def tril(y, m, k=0):
    b[m] = np.tril(b[y], k)


@tangent(np.tril)
def tril_tangent(y, m, k=0):
    d[y] = np.tril(d[m], k)


@adjoint(np.triu, result_kind="array", shape=static.same_as("m"),
         note="any k; stacks of matrices (the last two axes)")
def triu(y, m, k=0):
    b[m] = np.triu(b[y], k)


@tangent(np.triu)
def triu_tangent(y, m, k=0):
    d[y] = np.triu(d[m], k)


method("trace", np.trace)
method("diagonal", np.diagonal)


# -- numpy.linalg: inv, solve, det, slogdet, cholesky ----------------------------


@adjoint(np.linalg.inv, result_kind="array", shape=static.same_as("a"),
         note="batched (..., n, n) too")
def inv(y, a):
    yt = np.swapaxes(y, -1, -2)
    b[a] = -(yt @ b[y] @ yt)


@tangent(np.linalg.inv)
def inv_tangent(y, a):
    d[y] = -(y @ d[a] @ y)


def _solve_shape(s, atoms):
    a, b_ = s["a"], s["b_"]
    if a is None or b_ is None or len(a) < 2 or not b_:
        return None
    if len(b_) == 1:
        return tuple(a[:-1])
    batch = shapes.broadcast(a[:-2], b_[:-2])
    return None if batch is None else batch + tuple(b_[-2:])


SOLVE_NOTE = "b a vector (n,) or matrix (..., n, k), as NumPy 2 reads it; batched a too"


def _triangular(side, b_ndim):
    """`a` is a matrix known to be `side` triangular (np.linalg.cholesky's L, its .T):
    the adjoint's solve with a.T can be a triangular one. b[a] stays the full product:
    np.linalg.solve reads all of `a`."""
    return lambda args: args["a"].triangle == side and args["a"].ndim == 2 \
        and args["b_"].ndim == b_ndim


if scipy_linalg is not None:  # a triangular solve: O(n^2) instead of an LU factorisation
    @adjoint(np.linalg.solve, when=_triangular("lower", 1), result_kind="array",
             shape=_solve_shape, note=SOLVE_NOTE)
    def solve_lower_vector(x, a, b_):
        g = scipy_linalg.solve_triangular(a, b[x], trans=1, lower=True)
        b[a] = -np.outer(g, x)
        b[b_] = g

    @adjoint(np.linalg.solve, when=_triangular("upper", 1))
    def solve_upper_vector(x, a, b_):
        g = scipy_linalg.solve_triangular(a, b[x], trans=1, lower=False)
        b[a] = -np.outer(g, x)
        b[b_] = g

    @adjoint(np.linalg.solve, when=_triangular("lower", 2))
    def solve_lower_matrix(x, a, b_):
        g = scipy_linalg.solve_triangular(a, b[x], trans=1, lower=True)
        b[a] = -(g @ x.T)
        b[b_] = g

    @adjoint(np.linalg.solve, when=_triangular("upper", 2))
    def solve_upper_matrix(x, a, b_):
        g = scipy_linalg.solve_triangular(a, b[x], trans=1, lower=False)
        b[a] = -(g @ x.T)
        b[b_] = g


@adjoint(np.linalg.solve, when=lambda args: (args["a"].ndim, args["b_"].ndim) == (2, 1),
         result_kind="array", shape=_solve_shape, note=SOLVE_NOTE)
def solve_vector(x, a, b_):
    g = np.linalg.solve(a.T, b[x])
    b[a] = -np.outer(g, x)
    b[b_] = g


@adjoint(np.linalg.solve, when=lambda args: (args["a"].ndim, args["b_"].ndim) == (2, 2))
def solve_matrix(x, a, b_):
    g = np.linalg.solve(a.T, b[x])
    b[a] = -(g @ x.T)
    b[b_] = g


@adjoint(np.linalg.solve)
def solve(x, a, b_):
    g = solve_adjoint_b(b[x], a, b_)
    b[a] = unbroadcast(solve_adjoint_a(g, x, b_), a)
    b[b_] = unbroadcast(g, b_)


@tangent(np.linalg.solve)
def solve_tangent(x, a, b_):
    d[x] = np.linalg.solve(a, d[b_]) + solve_tangent_a(a, b_, x, d[a])


def _det_shape(s, atoms):
    return None if s["a"] is None or len(s["a"]) < 2 else tuple(s["a"][:-2])


@adjoint(np.linalg.det, when=lambda args: args["a"].ndim == 2, result_kind="array",
         shape=_det_shape, note="the matrix must be invertible; batched (..., n, n) too")
def det_2d(y, a):
    b[a] = b[y] * y * np.linalg.inv(a).T


@adjoint(np.linalg.det)
def det(y, a):
    b[a] = np.expand_dims(b[y] * y, (-2, -1)) * np.swapaxes(np.linalg.inv(a), -1, -2)


@tangent(np.linalg.det)
def det_tangent(y, a):
    d[y] = y * np.trace(np.linalg.solve(a, d[a]), axis1=-2, axis2=-1)


@adjoint(np.linalg.slogdet, when=lambda args: args["a"].ndim == 2, result_kind="other",
         note="a (sign, logabsdet) pair: logabsdet is differentiable, the sign is constant; "
              "batched (..., n, n) too")
def slogdet_2d(y, a):
    b[a] = b[y][1] * np.linalg.inv(a).T


@adjoint(np.linalg.slogdet)
def slogdet(y, a):
    b[a] = np.expand_dims(b[y][1], (-2, -1)) * np.swapaxes(np.linalg.inv(a), -1, -2)


@tangent(np.linalg.slogdet)
def slogdet_tangent(y, a):
    d[y] = (np.zeros_like(y[0]), np.trace(np.linalg.solve(a, d[a]), axis1=-2, axis2=-1))


@adjoint("attr:logabsdet", note="np.linalg.slogdet(a).logabsdet")
def slogdet_logabsdet(y, x):
    b[x][1] = b[y]


@tangent("attr:logabsdet")
def slogdet_logabsdet_tangent(y, x):
    d[y] = d[x][1]


@adjoint("attr:sign", note="np.linalg.slogdet(a).sign: piecewise constant, nothing flows back")
def slogdet_sign(y, x):
    """The sign of a determinant is piecewise constant: its adjoint adds nothing."""


@tangent("attr:sign")
def slogdet_sign_tangent(y, x):
    d[y] = np.zeros_like(y)


# -- Cholesky: L = cholesky(A) reads A's lower triangle (upper=True: its upper one) ---------
#
# With P = Phi(L^T Lbar) and S = L^-T P L^-1 (Phi: the lower triangle, diagonal halved;
# two solves), the adjoint of the lower triangle NumPy reads is Phi(S + S^T): on a symmetric
# perturbation of A (the usual case, A built symmetric) it is the symmetric gradient S + S^T
# split between A[i, j] and A[j, i]; the triangle NumPy ignores gets none.

CHOLESKY_NOTE = ("reads the lower triangle (upper=True: the upper one), as NumPy does, so the "
                 "other triangle's gradient is 0; batched (..., n, n) too")


def _lower(args):
    return args["upper"].value is False


def _upper(args):
    return args["upper"].value is True


if scipy_linalg is not None:  # triangular solves: half the time of two general ones
    @adjoint(np.linalg.cholesky, when=lambda args: _lower(args) and args["a"].ndim == 2,
             result_kind="array", shape=static.same_as("a"), note=CHOLESKY_NOTE)
    def cholesky_2d_triangular(l, a, *, upper=False):
        s = scipy_linalg.solve_triangular(l, scipy_linalg.solve_triangular(
            l, tril_half(l.T @ b[l]), trans=1, lower=True).T, trans=1, lower=True)
        b[a] = tril_half(s + s.T)


@adjoint(np.linalg.cholesky, when=lambda args: _lower(args) and args["a"].ndim == 2,
         result_kind="array", shape=static.same_as("a"), note=CHOLESKY_NOTE)
def cholesky_2d(l, a, *, upper=False):
    s = np.linalg.solve(l.T, np.linalg.solve(l.T, tril_half(l.T @ b[l])).T)
    b[a] = tril_half(s + s.T)


@adjoint(np.linalg.cholesky, when=_lower)
def cholesky(l, a, *, upper=False):
    lt = np.swapaxes(l, -1, -2)
    s = np.linalg.solve(lt, np.swapaxes(np.linalg.solve(lt, tril_half(lt @ b[l])), -1, -2))
    b[a] = tril_half(s + np.swapaxes(s, -1, -2))


@adjoint(np.linalg.cholesky, when=_upper)
def cholesky_upper(u, a, *, upper=False):
    p = tril_half(u @ np.swapaxes(b[u], -1, -2))
    s = np.linalg.solve(u, np.swapaxes(np.linalg.solve(u, p), -1, -2))
    b[a] = np.swapaxes(tril_half(s + np.swapaxes(s, -1, -2)), -1, -2)


@tangent(np.linalg.cholesky, when=_lower)
def cholesky_tangent(l, a, *, upper=False):
    # dA as NumPy reads it (its lower triangle, mirrored), then dL = L Phi(L^-1 dA L^-T)
    y = np.linalg.solve(l, np.tril(d[a]) + np.swapaxes(np.tril(d[a], -1), -1, -2))
    d[l] = l @ tril_half(np.swapaxes(np.linalg.solve(l, np.swapaxes(y, -1, -2)), -1, -2))


@tangent(np.linalg.cholesky, when=_upper)
def cholesky_upper_tangent(u, a, *, upper=False):
    l = np.swapaxes(u, -1, -2)
    y = np.linalg.solve(l, np.triu(d[a]) + np.swapaxes(np.triu(d[a], 1), -1, -2))
    d[u] = np.swapaxes(l @ tril_half(np.swapaxes(np.linalg.solve(l, np.swapaxes(y, -1, -2)),
                                                 -1, -2)), -1, -2)


# -- einsum's other forms: '...', subscripts not known before running, the sublist form,
# more operands. The adjoint spells '...' out and broadcasts at run time. ---------------------

def _subscripts_first(args):
    """Subscripts first (the operands' count is the template's: a literal string must fit)."""
    subscripts = args["subscripts"].value
    if isinstance(subscripts, str):
        count = len([p for p in args if p.startswith("x")])
        return subscripts.split("->")[0].count(",") + 1 == count
    return args["subscripts"].kind == "other"


def _operand_first(args):
    return args["a1"].kind != "other"


@adjoint(np.einsum, when=_subscripts_first)
def einsum_any_one(y, subscripts, x1, *, optimize=False):
    b[x1] = einsum_any_adjoint(b[y], [subscripts, x1], 1)


@adjoint(np.einsum, when=_subscripts_first)
def einsum_any_two(y, subscripts, x1, x2, *, optimize=False):
    b[x1] = einsum_any_adjoint(b[y], [subscripts, x1, x2], 1)
    b[x2] = einsum_any_adjoint(b[y], [subscripts, x1, x2], 2)


@adjoint(np.einsum, when=_subscripts_first)
def einsum_any_three(y, subscripts, x1, x2, x3, *, optimize=False):
    b[x1] = einsum_any_adjoint(b[y], [subscripts, x1, x2, x3], 1)
    b[x2] = einsum_any_adjoint(b[y], [subscripts, x1, x2, x3], 2)
    b[x3] = einsum_any_adjoint(b[y], [subscripts, x1, x2, x3], 3)


@adjoint(np.einsum, when=_subscripts_first)
def einsum_any_four(y, subscripts, x1, x2, x3, x4, *, optimize=False):
    b[x1] = einsum_any_adjoint(b[y], [subscripts, x1, x2, x3, x4], 1)
    b[x2] = einsum_any_adjoint(b[y], [subscripts, x1, x2, x3, x4], 2)
    b[x3] = einsum_any_adjoint(b[y], [subscripts, x1, x2, x3, x4], 3)
    b[x4] = einsum_any_adjoint(b[y], [subscripts, x1, x2, x3, x4], 4)


@adjoint(np.einsum, when=_subscripts_first)
def einsum_any_five(y, subscripts, x1, x2, x3, x4, x5, *, optimize=False):
    b[x1] = einsum_any_adjoint(b[y], [subscripts, x1, x2, x3, x4, x5], 1)
    b[x2] = einsum_any_adjoint(b[y], [subscripts, x1, x2, x3, x4, x5], 2)
    b[x3] = einsum_any_adjoint(b[y], [subscripts, x1, x2, x3, x4, x5], 3)
    b[x4] = einsum_any_adjoint(b[y], [subscripts, x1, x2, x3, x4, x5], 4)
    b[x5] = einsum_any_adjoint(b[y], [subscripts, x1, x2, x3, x4, x5], 5)


@adjoint(np.einsum, when=_operand_first)
def einsum_sublist_one(y, a1, s1, *, optimize=False):
    b[a1] = einsum_any_adjoint(b[y], [a1, s1], 0)


@adjoint(np.einsum, when=_operand_first)
def einsum_sublist_one_out(y, a1, s1, out, *, optimize=False):
    b[a1] = einsum_any_adjoint(b[y], [a1, s1, out], 0)


@adjoint(np.einsum, when=_operand_first)
def einsum_sublist_two(y, a1, s1, a2, s2, *, optimize=False):
    b[a1] = einsum_any_adjoint(b[y], [a1, s1, a2, s2], 0)
    b[a2] = einsum_any_adjoint(b[y], [a1, s1, a2, s2], 2)


@adjoint(np.einsum, when=_operand_first)
def einsum_sublist_two_out(y, a1, s1, a2, s2, out, *, optimize=False):
    b[a1] = einsum_any_adjoint(b[y], [a1, s1, a2, s2, out], 0)
    b[a2] = einsum_any_adjoint(b[y], [a1, s1, a2, s2, out], 2)


@adjoint(np.einsum, when=_operand_first)
def einsum_sublist_three(y, a1, s1, a2, s2, a3, s3, *, optimize=False):
    b[a1] = einsum_any_adjoint(b[y], [a1, s1, a2, s2, a3, s3], 0)
    b[a2] = einsum_any_adjoint(b[y], [a1, s1, a2, s2, a3, s3], 2)
    b[a3] = einsum_any_adjoint(b[y], [a1, s1, a2, s2, a3, s3], 4)


@adjoint(np.einsum, when=_operand_first)
def einsum_sublist_three_out(y, a1, s1, a2, s2, a3, s3, out, *, optimize=False):
    b[a1] = einsum_any_adjoint(b[y], [a1, s1, a2, s2, a3, s3, out], 0)
    b[a2] = einsum_any_adjoint(b[y], [a1, s1, a2, s2, a3, s3, out], 2)
    b[a3] = einsum_any_adjoint(b[y], [a1, s1, a2, s2, a3, s3, out], 4)


@tangent(np.einsum, when=_subscripts_first)
def einsum_any_one_tangent(y, subscripts, x1, *, optimize=False):
    d[y] = np.einsum(subscripts, d[x1])


@tangent(np.einsum, when=_subscripts_first)
def einsum_any_two_tangent(y, subscripts, x1, x2, *, optimize=False):
    d[y] = np.einsum(subscripts, d[x1], x2) + np.einsum(subscripts, x1, d[x2])


@tangent(np.einsum, when=_subscripts_first)
def einsum_any_three_tangent(y, subscripts, x1, x2, x3, *, optimize=False):
    d[y] = np.einsum(subscripts, d[x1], x2, x3) + np.einsum(subscripts, x1, d[x2], x3) \
        + np.einsum(subscripts, x1, x2, d[x3])


@tangent(np.einsum, when=_subscripts_first)
def einsum_any_four_tangent(y, subscripts, x1, x2, x3, x4, *, optimize=False):
    d[y] = np.einsum(subscripts, d[x1], x2, x3, x4) + np.einsum(subscripts, x1, d[x2], x3, x4) \
        + np.einsum(subscripts, x1, x2, d[x3], x4) + np.einsum(subscripts, x1, x2, x3, d[x4])


@tangent(np.einsum, when=_subscripts_first)
def einsum_any_five_tangent(y, subscripts, x1, x2, x3, x4, x5, *, optimize=False):
    d[y] = np.einsum(subscripts, d[x1], x2, x3, x4, x5) \
        + np.einsum(subscripts, x1, d[x2], x3, x4, x5) \
        + np.einsum(subscripts, x1, x2, d[x3], x4, x5) \
        + np.einsum(subscripts, x1, x2, x3, d[x4], x5) \
        + np.einsum(subscripts, x1, x2, x3, x4, d[x5])


@tangent(np.einsum, when=_operand_first)
def einsum_sublist_one_tangent(y, a1, s1, *, optimize=False):
    d[y] = np.einsum(d[a1], s1)


@tangent(np.einsum, when=_operand_first)
def einsum_sublist_one_out_tangent(y, a1, s1, out, *, optimize=False):
    d[y] = np.einsum(d[a1], s1, out)


@tangent(np.einsum, when=_operand_first)
def einsum_sublist_two_tangent(y, a1, s1, a2, s2, *, optimize=False):
    d[y] = np.einsum(d[a1], s1, a2, s2) + np.einsum(a1, s1, d[a2], s2)


@tangent(np.einsum, when=_operand_first)
def einsum_sublist_two_out_tangent(y, a1, s1, a2, s2, out, *, optimize=False):
    d[y] = np.einsum(d[a1], s1, a2, s2, out) + np.einsum(a1, s1, d[a2], s2, out)


@tangent(np.einsum, when=_operand_first)
def einsum_sublist_three_tangent(y, a1, s1, a2, s2, a3, s3, *, optimize=False):
    d[y] = np.einsum(d[a1], s1, a2, s2, a3, s3) + np.einsum(a1, s1, d[a2], s2, a3, s3) \
        + np.einsum(a1, s1, a2, s2, d[a3], s3)


@tangent(np.einsum, when=_operand_first)
def einsum_sublist_three_out_tangent(y, a1, s1, a2, s2, a3, s3, out, *, optimize=False):
    d[y] = np.einsum(d[a1], s1, a2, s2, a3, s3, out) \
        + np.einsum(a1, s1, d[a2], s2, a3, s3, out) + np.einsum(a1, s1, a2, s2, d[a3], s3, out)


# -- np.cross: bilinear, <g, a x b> = <a, b x g> = <b, g x a> ------------------------------


def _cross_shape(s, atoms):
    values = static.literals(atoms, "axisa", "axisb", "axisc", "axis")
    if values is None or s["a"] is None or s["b_"] is None:
        return None
    dummies = [np.lib.stride_tricks.as_strided(np.zeros(1), shape=shape,
                                               strides=(0,) * len(shape))
               for shape in (s["a"], s["b_"])]
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return tuple(np.shape(np.cross(*dummies, *values)))
    except (ValueError, TypeError, IndexError, np.exceptions.AxisError):
        return None


@adjoint(np.cross, result_kind="array", shape=_cross_shape,
         note="vectors of 3 (or 2) components along axisa/axisb/axisc (or axis); "
              "broadcast leading axes")
def cross(c, a, b_, axisa=-1, axisb=-1, axisc=-1, axis=None):
    b[a] = cross_adjoint(b[c], a, b_, 0, axisa, axisb, axisc, axis)
    b[b_] = cross_adjoint(b[c], a, b_, 1, axisa, axisb, axisc, axis)


@tangent(np.cross)
def cross_tangent(c, a, b_, axisa=-1, axisb=-1, axisc=-1, axis=None):
    d[c] = np.cross(d[a], b_, axisa, axisb, axisc, axis) \
        + np.cross(a, d[b_], axisa, axisb, axisc, axis)


# -- decompositions: eigh, svd, qr, pinv ---------------------------------------------------
#
# Their derivatives exist where the decomposition is smooth: distinct eigenvalues (eigh),
# distinct nonzero singular values (svd), a full-rank matrix (qr, pinv). eigh reads one
# triangle of a, as NumPy does, so the other triangle's gradient is 0.

EIGH_NOTE = ("(w, v); distinct eigenvalues; reads the lower triangle (UPLO='U': the upper "
             "one), so the other triangle's gradient is 0; batched too")


@adjoint(np.linalg.eigh, result_kind="other", note=EIGH_NOTE)
def eigh(y, a, UPLO="L"):
    b[a] = eigh_adjoint(b[y][0], b[y][1], y[0], y[1], UPLO)


@tangent(np.linalg.eigh)
def eigh_tangent_rule(y, a, UPLO="L"):
    d[y] = eigh_tangent(d[a], y[0], y[1], UPLO)


@adjoint(np.linalg.eigvalsh, result_kind="array", note=EIGH_NOTE,
         shape=lambda s, atoms: None if s["a"] is None or len(s["a"]) < 2 else s["a"][:-1])
def eigvalsh(y, a, UPLO="L"):
    b[a] = eigh_adjoint(b[y], 0.0, y, np.linalg.eigh(a, UPLO)[1], UPLO)


@tangent(np.linalg.eigvalsh)
def eigvalsh_tangent(y, a, UPLO="L"):
    d[y] = eigh_tangent(d[a], y, np.linalg.eigh(a, UPLO)[1], UPLO)[0]


def _svd_kind(arg_kinds, atoms):
    return "array" if getattr(atoms.get("compute_uv"), "value", True) is False else "other"


def _svd_reduced(args):
    """U, s, Vh of a reduced SVD: full_matrices=False, or a square matrix."""
    shape = args["a"].shape
    return args["compute_uv"].value is True and args["hermitian"].value is False and (
        args["full_matrices"].value is False
        or shape is not None and len(shape) >= 2 and shape[-1] == shape[-2])


def _svd_values(args):
    return args["compute_uv"].value is False and args["hermitian"].value is False


SVD_NOTE = ("(u, s, vh) with full_matrices=False (or a square matrix), or s alone "
            "(compute_uv=False); distinct nonzero singular values; batched too")


@adjoint(np.linalg.svd, when=_svd_reduced, result_kind=_svd_kind, note=SVD_NOTE)
def svd(y, a, full_matrices=True, compute_uv=True, hermitian=False):
    b[a] = svd_adjoint(b[y][0], b[y][1], b[y][2], y[0], y[1], y[2])


@adjoint(np.linalg.svd, when=_svd_values)
def svd_values(y, a, full_matrices=True, compute_uv=True, hermitian=False):
    b[a] = svd_values_adjoint(b[y], a)


@tangent(np.linalg.svd, when=_svd_reduced)
def svd_tangent_rule(y, a, full_matrices=True, compute_uv=True, hermitian=False):
    d[y] = svd_tangent(d[a], y[0], y[1], y[2])


@tangent(np.linalg.svd, when=_svd_values)
def svd_values_tangent(y, a, full_matrices=True, compute_uv=True, hermitian=False):
    d[y] = svd_values_tangent_of(d[a], a)


def _qr_reduced(args):
    """mode 'reduced' of an m x n matrix with m >= n (Q m x n, R n x n invertible)."""
    shape = args["a"].shape
    return args["mode"].value == "reduced" and shape is not None and len(shape) >= 2 \
        and shape[-2] >= shape[-1]


@adjoint(np.linalg.qr, when=_qr_reduced, result_kind="other",
         note="(q, r), mode='reduced' of an m x n matrix with m >= n and full rank; "
              "batched too")
def qr(y, a, mode="reduced"):
    b[a] = qr_adjoint(b[y][0], b[y][1], y[0], y[1])


@tangent(np.linalg.qr, when=_qr_reduced)
def qr_tangent_rule(y, a, mode="reduced"):
    d[y] = qr_tangent(d[a], y[0], y[1])


def _pinv_plain(args):
    return args["hermitian"].value is False


@adjoint(np.linalg.pinv, when=_pinv_plain, result_kind="array",
         shape=lambda s, atoms: None if s["a"] is None or len(s["a"]) < 2
         else tuple(s["a"][:-2]) + (s["a"][-1], s["a"][-2]),
         note="a matrix of full rank (the rank must not change nearby); batched too")
def pinv(y, a, rcond=None, hermitian=False, *, rtol=None):
    b[a] = pinv_adjoint(b[y], a, y)


@tangent(np.linalg.pinv, when=_pinv_plain)
def pinv_tangent_rule(y, a, rcond=None, hermitian=False, *, rtol=None):
    d[y] = pinv_tangent(d[a], a, y)
