"""Functions calling other Python functions (see test_calls.py)."""

import math

import numpy as np
from calls_helpers import scaled_norm, softplus, weighted


def square(v):
    return v * v


def polar(r, theta):
    return r * math.cos(theta), r * math.sin(theta)


def keyword_only(a, *, power=2, shift=0.0):
    return (a + shift) ** power


def same_module(x, y):
    return square(x) * y + square(y)


def other_module(w, X):
    return np.sum(softplus(X @ w)) + scaled_norm(w, scale=0.5)


def softplus_twice(x, y):
    return softplus(x) * y + softplus(y)


def keyword_arguments_and_defaults(x, y):
    return keyword_only(x, power=3) + keyword_only(y, shift=x) + scaled_norm(np.array([x, y]))


def tuple_results(r, theta):
    a, b = polar(r, theta)
    c, d = polar(a, b)
    return a * d - b * c


def calls_in_a_loop(x, n):
    s = x
    for i in range(n):
        s = square(s) * 0.5 + math.sin(s) * i
    return s


def chain_of_helpers(x):
    return helper_a(x) + 1.0


def helper_a(x):
    return helper_b(x) * x


def helper_b(x):
    return math.exp(square(x) * 0.1)


def helper_with_branch(v):
    if v > 0.0:
        return v * 3.0
    return -v


def branching_helper(x, y):
    return helper_with_branch(x) * helper_with_branch(y)


def closure_factory(scale):
    def scaled(v):
        return math.tanh(v * scale)
    return scaled


SCALED = closure_factory(1.7)


def calls_a_closure(x):
    return SCALED(x) * x


def nested_definitions(x, y):
    offset = x * 2.0

    def inner(v, power=2):
        w = v ** power * offset
        if w > 1.0:
            return w
        return -w

    square_it = lambda v: v * v  # noqa: E731
    return inner(y) + inner(x, power=3) + square_it(offset)


def inactive_helper_arguments(x, n):
    k = square(n)  # an int: not differentiated
    return x * k


def recursive(x):
    return x if x < 0 else recursive(x - 1.0)


def array_defaults(x, y):
    return weighted(np.array([x, y])) * x


# A container argument passed on to a helper of another module (compiled as a callee): its
# backward function returns the adjoint as the caller's code adds it up. (Imported here:
# the golden files hold the line numbers of the cases above.)
from calls_helpers import Affine, Layer, affine_energy, layer_energy, pair_energy  # noqa: E402, F401, I001


def affine_used_and_passed(p, x):
    return affine_energy(p, x) * 2.0 + np.sum(p.w ** 2)


def affine_passed_twice(p, x):
    return affine_energy(p, x) + affine_energy(p, 2.0 * x)


def layer_passed(layer, x):
    return layer_energy(layer, x) * 2.0


def layer_used_and_passed(layer, x):
    return np.sum(layer.W ** 2) + layer_energy(layer, x) + layer_energy(layer, -x)


def pair_passed_twice(t, x):
    return pair_energy(t, x) + pair_energy(t, 2.0 * x) + np.sum(t[0] * t[1])
