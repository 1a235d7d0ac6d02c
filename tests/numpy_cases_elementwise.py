"""Rows for the elementwise rules (ast_ad/rules/elementwise.py): unary and binary ufuncs,
their math counterparts, clip, where, builtin max/min, and the non-differentiable ones.

Inputs stay inside each function's domain and away from its kinks (no ties for
maximum, no values at a clip bound, nothing near an integer for floor): the tie
conventions have their own tests in test_numpy_more.py.
"""

import math

import numpy as np
from numpy_case import Case, normal, uniform


def unary(fn, low, high, name=None):
    """np.sum(fn(x) * w) for x in [low, high], shape (3, 4)."""

    def f(x, w):
        return np.sum(fn(x) * w)

    return Case(f, lambda r: (uniform(r, low, high, (3, 4)), normal(r, (3, 4))),
                name=name or f"np.{fn.__name__}[{low},{high}]")


def scalar(fn, low, high):
    """fn(x) * 1.5 for a Python float x in [low, high]."""

    def f(x):
        return fn(x) * 1.5

    return Case(f, lambda r: (float(r.uniform(low, high)),), name=f"math.{fn.__name__}")


def _value(r, shape, low, high):
    return float(r.uniform(low, high)) if shape == () else uniform(r, low, high, shape)


def binary(fn, shapes, low=0.5, high=2.0, low2=None, high2=None, name=None):
    """np.sum(fn(x, y) * w) with x and y of the given shapes (() is a Python float)."""
    first, second = shapes

    def f(x, y, w):
        return np.sum(fn(x, y) * w)

    def args(r):
        x = _value(r, first, low, high)
        y = _value(r, second, low if low2 is None else low2, high if high2 is None else high2)
        return x, y, normal(r, np.broadcast_shapes(first, second))

    label = name or getattr(fn, "__name__", "fn")
    return Case(f, args, argnums=(0, 1), name=f"{label}{first}x{second}")


UNARY = [
    unary(np.sin, -2, 2), unary(np.cos, -2, 2), unary(np.tan, -1, 1), unary(np.arctan, -2, 2),
    unary(np.arcsin, -0.9, 0.9), unary(np.arccos, -0.9, 0.9), unary(np.tanh, -2, 2),
    unary(np.sinh, -2, 2), unary(np.cosh, -2, 2), unary(np.arcsinh, -2, 2),
    unary(np.arccosh, 1.2, 3), unary(np.arctanh, -0.8, 0.8),
    unary(np.deg2rad, -90, 90), unary(np.radians, -90, 90), unary(np.rad2deg, -2, 2),
    unary(np.degrees, -2, 2),
    unary(np.exp, -2, 2), unary(np.exp2, -2, 2), unary(np.expm1, -2, 2), unary(np.log, 0.5, 3),
    unary(np.log2, 0.5, 3), unary(np.log10, 0.5, 3), unary(np.log1p, -0.5, 2),
    unary(np.sqrt, 0.5, 3), unary(np.cbrt, 0.5, 3), unary(np.cbrt, -3, -0.5),
    unary(np.square, -2, 2), unary(np.reciprocal, 0.5, 2), unary(np.reciprocal, -2, -0.5),
    unary(np.negative, -2, 2), unary(np.positive, -2, 2),
    unary(np.abs, -2, -0.5), unary(np.absolute, 0.5, 2), unary(np.fabs, -2, -0.5),
    unary(np.fabs, 0.5, 2), unary(abs, -2, -0.5, name="abs(array)"),
]

SCALAR = [
    scalar(getattr(math, name), low, high) for name, low, high in [
        ("exp2", -2, 2), ("expm1", -2, 2), ("log2", 0.5, 3), ("log10", 0.5, 3), ("cbrt", 0.5, 3),
        ("asinh", -2, 2), ("acosh", 1.2, 3), ("atanh", -0.8, 0.8), ("degrees", -2, 2),
        ("radians", -90, 90), ("sinh", -2, 2), ("cosh", -2, 2), ("fabs", -2, -0.5)]
    if hasattr(math, name)  # exp2 and cbrt are Python 3.11+
] + [scalar(abs, 0.5, 2), scalar(float, -2, 2)]

BROADCAST = [((3, 4), (3, 4)), ((3, 1), (4,)), ((), (3, 4)), ((2, 3, 4), ())]

BINARY = [
    binary(np.arctan2, s, -2, 2) for s in BROADCAST
] + [
    binary(np.hypot, s, -2, 2) for s in BROADCAST
] + [
    binary(np.logaddexp, s, -2, 2) for s in BROADCAST
] + [
    binary(np.logaddexp2, s, -2, 2) for s in BROADCAST
] + [
    binary(fn, s, -2, 2) for fn in (np.maximum, np.minimum, np.fmax, np.fmin)
    for s in BROADCAST
] + [
    binary(fn, s) for fn in (np.add, np.subtract, np.multiply, np.divide, np.true_divide)
    for s in BROADCAST
] + [
    binary(np.power, s, 0.5, 2.0) for s in BROADCAST
] + [
    binary(np.remainder, s, 0.5, 2.0, 2.5, 3.0) for s in BROADCAST
]


# -- math and builtin binary functions on Python floats -----------------------------------


def math_binary(x, y):
    return math.hypot(x, y) * math.atan2(y, x) + math.log(x, y) + math.pow(x, y)


def builtin_max_min(x, y):
    return max(x, y) * 2.0 + min(x, 0.5 * y) - max(2.0, y)


def builtin_max_arrays(x, y, w):
    return np.sum(np.maximum(x, y) * w) + max(float(x[0, 0]), y)


# -- clip and where ---------------------------------------------------------------------


def clip_both(x, lo, hi, w):
    return np.sum(np.clip(x, lo, hi) * w)


def clip_one_side(x, w):
    return np.sum(np.clip(x, None, 0.5) * w) + np.sum(np.clip(x, -0.5, None) ** 2) \
        + np.sum(np.clip(x, a_min=-0.3, a_max=0.3) * w)


def clip_method_and_none(x, w):
    return np.sum(x.clip(-0.4, 0.4) * w) + np.sum(np.clip(x, None, None) * w)


def clip_scalar(x, lo):
    return np.clip(x, lo, 2.0) * 3.0 + np.clip(x, None, 0.1)


def where_select(x, y, w):
    return np.sum(np.where(x > 0.0, x * y, y ** 2) * w) + np.sum(np.where(x < 0.5, 1.0, x))


def where_scalars(x, y):
    return np.where(x > y, x, 2.0 * y) * 3.0


# -- non-differentiable functions: zero gradient ------------------------------------------


def away_from_integers(r, shape):
    """Values k + 0.2..0.3: no rounding function jumps within a finite-difference step."""
    return r.integers(-3, 3, size=shape) + r.uniform(0.2, 0.3, size=shape)


def piecewise_constant(x, w):
    steps = np.floor(x) + np.ceil(x) + np.round(x) + np.around(x) + np.trunc(x) + np.rint(x) \
        + np.fix(x) + np.floor_divide(x, 2.0) + np.sign(x)
    return np.sum((x * steps) * w) + np.sum(x // 0.5)


def piecewise_constant_math(x):
    return x * (math.floor(x) + math.ceil(x) + round(x) + math.trunc(x))


CASES = UNARY + SCALAR + BINARY + [
    Case(math_binary, lambda r: (float(r.uniform(1.5, 2.5)), float(r.uniform(1.5, 2.5))),
         argnums=(0, 1)),
    Case(builtin_max_min, lambda r: (float(r.uniform(0.5, 1.0)), float(r.uniform(1.5, 2.5))),
         argnums=(0, 1)),
    Case(builtin_max_min, lambda r: (float(r.uniform(3.0, 4.0)), float(r.uniform(-1.0, 0.5))),
         argnums=(0, 1), name="builtin_max_min[x>y]"),
    Case(builtin_max_arrays,
         lambda r: (normal(r, (3, 4)), float(r.uniform(3, 4)), normal(r, (3, 4))), argnums=(0, 1)),
    Case(clip_both, lambda r: (normal(r, (3, 4)), uniform(r, -1.0, -0.2, (3, 1)),
                               uniform(r, 0.2, 1.0, 4), normal(r, (3, 4))), argnums=(0, 1, 2)),
    Case(clip_both, lambda r: (normal(r, (3, 4)), -0.5, 0.5, normal(r, (3, 4))),
         argnums=(0, 1, 2), name="clip_both[float bounds]"),
    Case(clip_one_side, lambda r: (normal(r, (3, 4)), normal(r, (3, 4)))),
    Case(clip_method_and_none, lambda r: (normal(r, (3, 4)), normal(r, (3, 4)))),
    Case(clip_scalar, lambda r: (float(r.uniform(0.5, 1.5)), float(r.uniform(0.6, 0.9))),
         argnums=(0, 1)),
    Case(clip_scalar, lambda r: (float(r.uniform(-1.5, -0.5)), float(r.uniform(-0.4, -0.1))),
         argnums=(0, 1), name="clip_scalar[below]"),
    Case(where_select, lambda r: (normal(r, (3, 4)), normal(r, 4), normal(r, (3, 4))),
         argnums=(0, 1)),
    Case(where_scalars, lambda r: (float(r.uniform(1, 2)), float(r.uniform(0, 0.5))),
         argnums=(0, 1)),
    Case(piecewise_constant, lambda r: (away_from_integers(r, (3, 4)), normal(r, (3, 4)))),
    Case(piecewise_constant_math, lambda r: (float(away_from_integers(r, ())),)),
]
