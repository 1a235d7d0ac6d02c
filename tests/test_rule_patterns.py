"""Rules filled once per pattern of operands, then copied (ast_ad/passes/patterns.py).

The copies must be what filling the rule in full makes: with `patterns.CHECK` on, every
use is filled in full and compared with the copy of the remembered instance (an
AssertionError if they differ). The functions here repeat the same forms over operands
the compiler knows different things about (floats, arrays that broadcast and arrays that
do not, literals of several values and signs, one operand twice), and their gradients
and tangents are checked against central differences with the copies in use.
"""

import math
from contextlib import contextmanager

import numpy as np
import pytest
from numeric import check_gradient, check_jvp, numeric_gradient

import ast_ad
from ast_ad.passes import forward, patterns, reverse


def floats(x, y):
    a = 0.5 * x + 0.25 * y
    b = 0.5 * y + 0.25 * x
    c = -0.0 * a + 0.0 * b + a * a
    d = math.sin(a) * math.cos(b) + b * b
    e = a / (1.0 + d * d) - 2 * c
    f = b / (1.0 + c * c) - 2.0 * d
    return e * f + a * b - c ** 2 + d ** 3


def arrays(x, row, s):
    a = x * row  # (3, 4) * (4,): the adjoint of row is summed over rows
    b = x * x  # (3, 4) * (3, 4)
    c = b * row
    d = a * s  # an array times a float
    e = np.sin(a) * np.cos(c) + d * s
    f = np.tanh(b) * np.exp(-c * c) + e
    return np.sum(f * a) + np.sum(e * row)


RNG = np.random.default_rng(7)
ARRAYS = (RNG.normal(size=(3, 4)), RNG.normal(size=4), 0.7)


@pytest.fixture
def check_copies(monkeypatch):
    monkeypatch.setattr(patterns, "CHECK", True)
    ast_ad.clear_caches()
    yield
    ast_ad.clear_caches()


@pytest.mark.parametrize("f, args", [(floats, (0.3, -0.7)), (arrays, ARRAYS)])
def test_copies_are_what_a_full_fill_makes(check_copies, f, args):
    check_gradient(f, *args)
    check_jvp(f, *args)
    ast_ad.hessian(floats, argnums=(0, 1))(0.3, -0.7)  # (forward over the gradient's code)


@pytest.mark.parametrize("f, args", [(floats, (0.3, -0.7)), (arrays, ARRAYS)])
def test_gradients_and_tangents_with_copies(f, args):
    ast_ad.clear_caches()
    check_gradient(f, *args)
    check_jvp(f, *args)
    hessian = np.asarray(ast_ad.hessian(floats, argnums=(0, 1))(0.3, -0.7))
    for i in (0, 1):
        row = [numeric_gradient(ast_ad.grad(floats, argnums=i), (0.3, -0.7), j)
               for j in (0, 1)]
        np.testing.assert_allclose(hessian[i], row, rtol=1e-5, atol=1e-6)


@contextmanager
def counted_fills():
    """How many times each pass fills a rule in full (the other uses are copies)."""
    counts = {"reverse": 0, "forward": 0}
    fill, define = reverse._Reverse.fill, forward.Forward.define

    def counted_fill(self, *args):
        counts["reverse"] += 1
        return fill(self, *args)

    def counted_define(self, *args):
        counts["forward"] += 1
        return define(self, *args)

    reverse._Reverse.fill, forward.Forward.define = counted_fill, counted_define
    try:
        yield counts
    finally:
        reverse._Reverse.fill, forward.Forward.define = fill, define


@pytest.mark.parametrize("variant", ["floats", "arrays"])
def test_long_functions_fill_each_pattern_once(scaling, variant):
    """A function four times as long fills (almost) no more rules in full: the same forms
    over operands known the same way are copies."""
    fills = {}
    for n in (100, 400):
        fn = scaling.load(scaling.generate(n, variant))
        args = scaling.arguments(variant)
        ast_ad.clear_caches()
        with counted_fills() as counts:
            ast_ad.grad(fn, argnums=(0, 1, 2))(*args)
            ast_ad.jvp(fn, args, tuple(np.ones_like(a) if variant == "arrays" else 1.0
                                       for a in args))
        fills[n] = counts["reverse"], counts["forward"]
    # The 400-statement function has ~1400 uses of rules, most of them copies (the
    # literals' values make most of its patterns, and it has more of them).
    for mode in (0, 1):
        assert fills[400][mode] < 2 * fills[100][mode] and fills[400][mode] < 200, fills
