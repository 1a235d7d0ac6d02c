"""The runtime helpers generated code calls, as primitives: derivatives of derivatives.

grad(grad(f)) and hessian(f) run forward mode over the code generated for
grad(f) (jacrev(grad(f)), reverse mode), which calls these helpers. Each is
linear in its first argument, or makes zeros. A linear one is declared once
(`@linear`): its adjoint is written (the transpose), its tangent is the helper
applied to the tangent. Internal: not in the coverage table.
"""

# ruff: noqa: F821

import numpy as np

from ..runtime import (
    accumulate,
    any_protocol_array,
    as_gradient,
    joined_tangents,
    keep_asarray,
    placed_first,
    placed_last,
    reduced_count,
    repeated_adjoint,
    repeated_like,
    sequence_head,
    sequence_tail,
    tie_weights,
    triangle,
    tril_half,
    unbroadcast,
    unreduce,
    unstack,
    zeros_like,
)
from . import static
from .registry import adjoint, linear, nondifferentiable, tangent

# The zero adjoints a backward pass starts from.
nondifferentiable(zeros_like, why="zeros")
# How many elements a reduction combines (mean, var, std): an integer.
nondifferentiable(reduced_count, why="a count", result_kind="scalar")
# Whether a value is a Dask or CuPy array (the helpers then stay in its library).
nondifferentiable(any_protocol_array, why="a class test", result_kind="scalar")


# np.asarray, except that a Dask or CuPy array stays one: the identity.
@adjoint(keep_asarray, result_kind="array", shape=static.same_as("x"))
def array_adjoint(y, x):
    b[x] = b[y]


@tangent(keep_asarray)
def array_tangent(y, x):
    d[y] = d[x]


# The weights of max/min/clip's arguments: piecewise constant, shaped like `wins`
# (a rule rather than nondifferentiable(...) so that the shapes pass knows its shape).
@adjoint(tie_weights, result_kind="join", shape=static.same_as("wins"))
def tie_weights_adjoint(w, wins, ties, like):
    """Piecewise constant: nothing flows back."""


@tangent(tie_weights)
def tie_weights_tangent(w, wins, ties, like):
    d[w] = 0.0 * w


@linear(unbroadcast)
def unbroadcast_adjoint(y, g, x):
    b[g] = unreduce(b[y], g)


@linear(unstack, result_kind="other")
def unstack_adjoint(y, g, axis=0):
    b[g] = np.stack(b[y], axis)


@linear(accumulate, wrt=("total", "contribution"))
def accumulate_adjoint(y, total, contribution):
    b[total] = b[y]
    b[contribution] = b[y]


@linear(unreduce)
def unreduce_adjoint(y, g, x, axis=None, keepdims=False):
    b[g] = np.sum(b[y], axis=axis, keepdims=keepdims)


# A scalar gradient given the type of its argument (float, np.float32...) when precisions mix.
@linear(as_gradient)
def as_gradient_adjoint(y, g, x):
    b[g] = b[y]


# The lower triangle with its diagonal halved (Cholesky rules): linear and self-adjoint.
@linear(tril_half, shape=static.same_as("x"))
def tril_half_adjoint(y, x):
    b[x] = tril_half(b[y])


# A triangle of a matrix (SciPy's triangular solves): linear and self-adjoint.
@linear(triangle, shape=static.same_as("m"))
def triangle_adjoint(y, m, lower=False, unit_diagonal=False):
    b[m] = triangle(b[y], lower, unit_diagonal)



# Pieces of a list's adjoint (lists or tuples joined by +, or one repeated by *), and the
# tangent of lists joined: linear in g (in dx and dy).
@linear(sequence_head, result_kind="other")
def sequence_head_adjoint(y, g, x):
    b[g] = placed_first(b[y], g)


@linear(sequence_tail, result_kind="other")
def sequence_tail_adjoint(y, g, x):
    b[g] = placed_last(b[y], g)


@linear(repeated_adjoint, result_kind="other")
def repeated_adjoint_adjoint(y, g, x):
    b[g] = repeated_like(b[y], g)


@linear(joined_tangents, wrt=("dx", "dy"), result_kind="other")
def joined_tangents_adjoint(z, dx, x, dy, y):
    b[dx] = sequence_head(b[z], x)
    b[dy] = sequence_tail(b[z], y)
