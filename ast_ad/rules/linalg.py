"""Linear algebra: dot and matmul (1-D, 2-D and batched)."""

# ruff: noqa: F821

import numpy as np

from ..runtime import dot_adjoint_x, dot_adjoint_y, matmul_adjoint_x, matmul_adjoint_y
from .registry import adjoint


@adjoint(np.matmul, result_kind="array")
def matmul(z, x1, x2):
    b[x1] = matmul_adjoint_x(b[z], x1, x2)
    b[x2] = matmul_adjoint_y(b[z], x1, x2)


@adjoint(np.dot, result_kind="array")
def dot(z, a, b_):
    b[a] = dot_adjoint_x(b[z], a, b_)
    b[b_] = dot_adjoint_y(b[z], a, b_)
