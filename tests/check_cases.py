"""Functions with deliberately wrong derivative rules, for tests of ast_ad.check_grads.

Each primal is an opaque function (ast-ad uses the rule registered for it, not its source);
the rules are registered when this module is imported.
"""

import numpy as np

import ast_ad
from ast_ad.rules import registry


def cube_bad_reverse(x):
    return x ** 3


def cube_bad_forward(x):
    return x ** 3


def cube_slightly_off(x):
    return x ** 3


def square_derivative(x):
    """3 x^2, whose own rules (used by second derivatives) are wrong."""
    return 3.0 * x ** 2


def cube_bad_second(x):
    return x ** 3


@ast_ad.register_adjoint(cube_bad_reverse)
def _cube_bad_reverse_adjoint(y, x):
    b[x] = b[y] * 3.3 * x ** 2  # noqa: F821  (should be 3 x^2)


@registry.tangent(cube_bad_reverse)
def _cube_bad_reverse_tangent(y, x):
    d[y] = 3.0 * x ** 2 * d[x]  # noqa: F821


@ast_ad.register_adjoint(cube_bad_forward)
def _cube_bad_forward_adjoint(y, x):
    b[x] = b[y] * 3.0 * x ** 2  # noqa: F821


@registry.tangent(cube_bad_forward)
def _cube_bad_forward_tangent(y, x):
    d[y] = 3.0 * x * d[x]  # noqa: F821  (should be 3 x^2)


@ast_ad.register_adjoint(cube_slightly_off)
def _cube_slightly_off_adjoint(y, x):
    b[x] = b[y] * 3.0000003 * x ** 2  # noqa: F821  (off by 1e-7: below a difference's error)


@registry.tangent(cube_slightly_off)
def _cube_slightly_off_tangent(y, x):
    d[y] = 3.0 * x ** 2 * d[x]  # noqa: F821


@ast_ad.register_adjoint(square_derivative)
def _square_derivative_adjoint(y, x):
    b[x] = b[y] * 7.0 * x  # noqa: F821  (should be 6 x)


@registry.tangent(square_derivative)
def _square_derivative_tangent(y, x):
    d[y] = 7.0 * x * d[x]  # noqa: F821  (should be 6 x)


@ast_ad.register_adjoint(cube_bad_second)
def _cube_bad_second_adjoint(y, x):
    b[x] = b[y] * square_derivative(x)  # noqa: F821  (right; its derivative is not)


@registry.tangent(cube_bad_second)
def _cube_bad_second_tangent(y, x):
    d[y] = square_derivative(x) * d[x]  # noqa: F821


def bad_reverse_in_y(x, y):
    return np.sum(np.sin(x) * cube_bad_reverse(y))


def bad_forward(x):
    return np.cos(cube_bad_forward(x))


def slightly_off(x):
    return np.sum(cube_slightly_off(x))


def bad_second(x):
    return np.sum(cube_bad_second(x) * 2.0)


# Functions ast-ad differentiates right.

def scalar_args(a, b):
    return a * np.log(b) + np.sin(a * b)


def layer(w, x, n):
    h = x
    for _ in range(n):
        h = np.tanh(w @ h)
    return h


def two_outputs(x, y):
    return np.sin(x) * y, np.sum(x * y ** 2)


def loss_of_list(ws, x):
    h = x
    for w in ws:
        h = np.tanh(w @ h)
    return np.sum(h ** 2)


def dict_layer(p, x):
    return np.sum(np.tanh(p["W"] @ x + p["b"]))


def normalised_sum(x, g):
    # a batch normalised then summed: the derivative in x is zero, up to rounding
    return np.sum(g * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + 1e-5))
