"""Linear algebra: dot and matmul (1-D, 2-D and batched)."""

# ruff: noqa: F821

import gast
import numpy as np

from .. import shapes
from ..runtime import dot_adjoint_x, dot_adjoint_y, matmul_adjoint_x, matmul_adjoint_y
from .registry import adjoint, method


def _both_2d(args):
    first, second = list(args.values())[:2]
    return first.ndim == 2 and second.ndim == 2


@adjoint(gast.MatMult, np.matmul, np.dot, when=_both_2d, result_kind="array")
def matmul_2d(z, x, y):
    b[x] = b[z] @ y.T
    b[y] = x.T @ b[z]


def _ndims(args):
    first, second = list(args.values())[:2]
    return first.ndim, second.ndim


@adjoint(gast.MatMult, np.matmul, np.dot, when=lambda args: _ndims(args) == (1, 1))
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


@adjoint(gast.MatMult)
def matmul_operator(z, x, y):
    b[x] = matmul_adjoint_x(b[z], x, y)
    b[y] = matmul_adjoint_y(b[z], x, y)


@adjoint(np.matmul, shape=lambda s, atoms: shapes.matmul(s["x1"], s["x2"]))
def matmul(z, x1, x2):
    b[x1] = matmul_adjoint_x(b[z], x1, x2)
    b[x2] = matmul_adjoint_y(b[z], x1, x2)


@adjoint(np.dot, shape=lambda s, atoms: shapes.dot(s["a"], s["b_"]))
def dot(z, a, b_):
    b[a] = dot_adjoint_x(b[z], a, b_)
    b[b_] = dot_adjoint_y(b[z], a, b_)


method("dot", np.dot)
