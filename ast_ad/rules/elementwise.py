"""Elementwise functions of `math` and `numpy`: one rule serves both, and calls the same library.

In these templates `lib` is the module of the user's call, so the adjoint of
`math.sin` uses `math.cos` and the adjoint of `np.sin` uses `np.cos`.

Each derivative is declared once. `@elementwise` gives the adjoint, `b[x] = b[y] *
f'(x)`, and the tangent, `d[y] = d[x] * f'(x)`, follows (an element-wise function's
Jacobian is diagonal: its own transpose). `@linear` (np.where) gives the adjoint, and
the tangent is the function applied to the tangents. Where the tangent reads better
written out (a product, a quotient, a shared scale), an `@adjoint` has its `@tangent`
right below it, with the same parameters.

Binary rules sum each adjoint back to its input's shape with `unbroadcast`, so
Python floats, scalars and broadcasting arrays mix freely. Where a function has
a kink, the notes in the coverage table say which (sub)gradient the rule takes;
ties (x == y in maximum, clip at a bound) always split the gradient equally.
"""

# ruff: noqa: F821

import builtins
import math

import numpy as np

from .. import shapes
from ..runtime import (
    check_positional,
    divide_or_zero,
    power_adjoint_exponent,
    tie_weights,
    unbroadcast,
)
from .arithmetic import literal_exponent, zero_exponent
from .registry import adjoint, elementwise, linear, method, nondifferentiable, tangent


def _math(*names):
    """The math functions of these names this Python has (cbrt and exp2 are 3.11+)."""
    return tuple(getattr(math, n) for n in names if hasattr(math, n))


TIES = "ties (x == y) split the gradient equally between x and y, as in JAX"

# -- trigonometric and hyperbolic -----------------------------------------------


@elementwise(math.sin, np.sin)
def sin(y, x):
    b[x] = b[y] * lib.cos(x)


@elementwise(math.cos, np.cos)
def cos(y, x):
    b[x] = -b[y] * lib.sin(x)


@elementwise(math.tan, np.tan)
def tan(y, x):
    b[x] = b[y] * (1.0 + y * y)


@elementwise(math.atan, np.arctan)
def atan(y, x):
    b[x] = b[y] / (1.0 + x * x)


@elementwise(math.asin, np.arcsin)
def asin(y, x):
    b[x] = b[y] / lib.sqrt(1.0 - x * x)


@elementwise(math.acos, np.arccos)
def acos(y, x):
    b[x] = -b[y] / lib.sqrt(1.0 - x * x)


@elementwise(math.tanh, np.tanh)
def tanh(y, x):
    b[x] = b[y] * (1.0 - y * y)


@elementwise(math.sinh, np.sinh)
def sinh(y, x):
    b[x] = b[y] * lib.cosh(x)


@elementwise(math.cosh, np.cosh)
def cosh(y, x):
    b[x] = b[y] * lib.sinh(x)


@elementwise(math.asinh, np.arcsinh)
def asinh(y, x):
    b[x] = b[y] / lib.sqrt(x * x + 1.0)


@elementwise(math.acosh, np.arccosh)
def acosh(y, x):
    b[x] = b[y] / lib.sqrt(x * x - 1.0)


@elementwise(math.atanh, np.arctanh)
def atanh(y, x):
    b[x] = b[y] / (1.0 - x * x)


@adjoint(math.atan2, np.arctan2, note="arctan2(y, x); at y == x == 0 the gradient is nan")
def atan2(z, y, x):
    r2 = x * x + y * y
    b[y] = unbroadcast(b[z] * x / r2, y)
    b[x] = unbroadcast(-b[z] * y / r2, x)


@tangent(math.atan2, np.arctan2)
def atan2_tangent(z, y, x):
    d[z] = (d[y] * x - d[x] * y) / (x * x + y * y)


@adjoint(math.hypot, np.hypot,
         note="two arguments; at x == y == 0 the gradient is 0 (a subgradient)")
def hypot(z, x, y):
    scale = divide_or_zero(b[z], z)
    b[x] = unbroadcast(scale * x, x)
    b[y] = unbroadcast(scale * y, y)


@tangent(math.hypot, np.hypot)
def hypot_tangent(z, x, y):
    d[z] = divide_or_zero(d[x] * x + d[y] * y, z)


@elementwise(math.radians, np.deg2rad, np.radians)
def radians(y, x):
    b[x] = b[y] * (math.pi / 180.0)


@elementwise(math.degrees, np.rad2deg, np.degrees)
def degrees(y, x):
    b[x] = b[y] * (180.0 / math.pi)


# -- exponentials, logarithms, powers ----------------------------------------------


@elementwise(math.exp, np.exp)
def exp(y, x):
    b[x] = b[y] * y


@elementwise(*_math("exp2"), np.exp2)
def exp2(y, x):
    b[x] = b[y] * y * math.log(2.0)


@elementwise(math.expm1, np.expm1)
def expm1(y, x):
    b[x] = b[y] * (y + 1.0)


@elementwise(math.log, np.log)
def log(y, x):
    b[x] = b[y] / x


@adjoint(math.log)
def log_base(y, x, base):
    b[x] = b[y] / (x * lib.log(base))
    b[base] = -b[y] * y / (base * lib.log(base))


@tangent(math.log)
def log_base_tangent(y, x, base):
    d[y] = (d[x] / x - d[base] * y / base) / lib.log(base)


@elementwise(math.log2, np.log2)
def log2(y, x):
    b[x] = b[y] / (x * math.log(2.0))


@elementwise(math.log10, np.log10)
def log10(y, x):
    b[x] = b[y] / (x * math.log(10.0))


@elementwise(math.log1p, np.log1p)
def log1p(y, x):
    b[x] = b[y] / (1.0 + x)


@elementwise(np.logaddexp)
def logaddexp(z, x, y):
    b[x] = unbroadcast(b[z] * np.exp(x - z), x)
    b[y] = unbroadcast(b[z] * np.exp(y - z), y)


@elementwise(np.logaddexp2)
def logaddexp2(z, x, y):
    b[x] = unbroadcast(b[z] * np.exp2(x - z), x)
    b[y] = unbroadcast(b[z] * np.exp2(y - z), y)


@elementwise(math.sqrt, np.sqrt)
def sqrt(y, x):
    b[x] = b[y] * 0.5 / y


@elementwise(*_math("cbrt"), np.cbrt, note="infinite at 0")
def cbrt(y, x):
    b[x] = b[y] / (3.0 * y * y)


@elementwise(np.square)
def square(y, x):
    b[x] = b[y] * 2.0 * x


@elementwise(np.reciprocal)
def reciprocal(y, x):
    b[x] = -b[y] * y * y


_POWER_NOTE = "the exponent's gradient is taken as 0 where the base is 0"


@elementwise(math.pow, np.power, when=zero_exponent, note=_POWER_NOTE)
def pow_zero(z, x, y):
    b[x] = 0.0 * b[z]


@elementwise(math.pow, np.power, when=literal_exponent, note=_POWER_NOTE)
def pow_literal(z, x, y):
    b[x] = unbroadcast(b[z] * y * x ** (y - 1), x)


@elementwise(math.pow, np.power, note=_POWER_NOTE)
def pow(z, x, y):
    # (x + (y == 0)): the base, or 1 where y == 0 (x ** 0 is 1 for every x, even 0,
    # where y * x ** (y - 1) would divide by 0); differentiable by these same rules
    b[x] = unbroadcast(b[z] * y * (x + (y == 0)) ** (y - 1), x)
    b[y] = unbroadcast(power_adjoint_exponent(b[z], z, x), y)


# -- arithmetic as functions (np.add is `+`, ...) -------------------------------------


@elementwise(np.add)
def add(z, x, y):
    b[x] = unbroadcast(b[z], x)
    b[y] = unbroadcast(b[z], y)


@elementwise(np.subtract)
def subtract(z, x, y):
    b[x] = unbroadcast(b[z], x)
    b[y] = unbroadcast(-b[z], y)


@adjoint(np.multiply)
def multiply(z, x, y):
    b[x] = unbroadcast(b[z] * y, x)
    b[y] = unbroadcast(b[z] * x, y)


@tangent(np.multiply)
def multiply_tangent(z, x, y):
    d[z] = d[x] * y + x * d[y]


@adjoint(np.divide, np.true_divide)
def divide(z, x, y):
    b[x] = unbroadcast(b[z] / y, x)
    b[y] = unbroadcast(-b[z] * z / y, y)


@tangent(np.divide, np.true_divide)
def divide_tangent(z, x, y):
    d[z] = (d[x] - z * d[y]) / y


@elementwise(np.remainder, note="x % y = x - floor(x / y) * y: piecewise linear, jumps where x / y "
             "is an integer")
def remainder(z, x, y):
    b[x] = unbroadcast(b[z], x)
    b[y] = unbroadcast(-b[z] * (x // y), y)


@elementwise(np.negative)
def negative(y, x):
    b[x] = -b[y]


@elementwise(np.positive)
def positive(y, x):
    b[x] = b[y]


@elementwise(builtins.float)
def float(y, x):
    b[x] = b[y]


# -- absolute values, maxima, clipping, selection ---------------------------------------


@elementwise(math.fabs, note="the gradient at 0 is copysign(1, x): 1 at 0.0, -1 at -0.0")
def fabs(y, x):
    b[x] = b[y] * lib.copysign(1.0, x)


@elementwise(np.abs, np.absolute, np.fabs, builtins.abs, note="the gradient at 0 is 0 (np.sign)")
def abs(y, x):
    b[x] = b[y] * np.sign(x)


@elementwise(np.maximum, note=TIES + "; NaN propagates as in np.maximum")
def maximum(z, x, y):
    w = tie_weights(np.greater(x, y), np.equal(x, y), z)
    b[x] = unbroadcast(b[z] * w, x)
    b[y] = unbroadcast(b[z] * (1.0 - w), y)


@elementwise(np.minimum, note=TIES + "; NaN propagates as in np.minimum")
def minimum(z, x, y):
    w = tie_weights(np.less(x, y), np.equal(x, y), z)
    b[x] = unbroadcast(b[z] * w, x)
    b[y] = unbroadcast(b[z] * (1.0 - w), y)


@elementwise(np.fmax, note=TIES + "; a NaN argument gets no gradient (fmax returns the other)")
def fmax(z, x, y):
    w = tie_weights(np.greater(x, y) | np.isnan(y), np.equal(x, y), z)
    b[x] = unbroadcast(b[z] * w, x)
    b[y] = unbroadcast(b[z] * (1.0 - w), y)


@elementwise(np.fmin, note=TIES + "; a NaN argument gets no gradient (fmin returns the other)")
def fmin(z, x, y):
    w = tie_weights(np.less(x, y) | np.isnan(y), np.equal(x, y), z)
    b[x] = unbroadcast(b[z] * w, x)
    b[y] = unbroadcast(b[z] * (1.0 - w), y)


def _same_shape(s, atoms):
    return s["x"] if s["x"] == s["y"] else None


@elementwise(builtins.max, shape=_same_shape,
             note="two arguments: max(x, y) (more: max(max(a, b), c)); " + TIES
             + " (Python returns x)")
def builtin_max(z, x, y):
    w = (x > y) + 0.5 * (x == y)
    b[x] = unbroadcast(b[z] * w, x)
    b[y] = unbroadcast(b[z] * (1.0 - w), y)


@elementwise(builtins.min, shape=_same_shape,
             note="two arguments: min(x, y) (more: min(min(a, b), c)); " + TIES
             + " (Python returns x)")
def builtin_min(z, x, y):
    w = (x < y) + 0.5 * (x == y)
    b[x] = unbroadcast(b[z] * w, x)
    b[y] = unbroadcast(b[z] * (1.0 - w), y)


def _is_none(atom) -> bool:
    return getattr(atom, "value", ...) is None


def _clip_shape(s, atoms):
    return shapes.broadcast(*[s[p] for p in ("a", "a_min", "a_max") if not _is_none(atoms[p])])


def _clip_kind(arg_kinds, atoms):
    """np.clip's result is an array if `a` is; else a scalar if every bound is one."""
    if not atoms:
        return "other"
    kinds = [k for k, atom in zip(arg_kinds, atoms.values()) if not _is_none(atom)]
    given = [atom for atom in list(atoms.values())[len(arg_kinds):] if not _is_none(atom)]
    if kinds[:1] == ["array"]:
        return "array"
    if all(k == "scalar" for k in kinds) and all(
            isinstance(getattr(atom, "value", None), (int, builtins.float)) for atom in given):
        return "scalar"
    return "other"


def _given(a_min: bool, a_max: bool):
    """A guard on which of np.clip's bounds are given (anything but a literal None)."""

    def when(args):
        return (args["a_min"].value is not None) == a_min \
            and (args["a_max"].value is not None) == a_max

    return when


CLIP = ("np.clip(a, a_min, a_max) = np.minimum(np.maximum(a, a_min), a_max): 0 where clipped; "
        "at a bound (a == a_min) the gradient is split equally between a and the bound, "
        "as in maximum; None for either bound; not the min=/max= keywords")


@elementwise(np.clip, when=_given(False, False), shape=_clip_shape, result_kind=_clip_kind,
                 note=CLIP)
def clip_unbounded(y, a, a_min=None, a_max=None):
    b[a] = b[y]


@elementwise(np.clip, when=_given(True, False))
def clip_below(y, a, a_min=None, a_max=None):
    w = tie_weights(np.greater(a, a_min), np.equal(a, a_min), y)
    b[a] = unbroadcast(b[y] * w, a)
    b[a_min] = unbroadcast(b[y] * (1.0 - w), a_min)


@elementwise(np.clip, when=_given(False, True))
def clip_above(y, a, a_min=None, a_max=None):
    w = tie_weights(np.less(a, a_max), np.equal(a, a_max), y)
    b[a] = unbroadcast(b[y] * w, a)
    b[a_max] = unbroadcast(b[y] * (1.0 - w), a_max)


@adjoint(np.clip, when=_given(True, True))
def clip(y, a, a_min=None, a_max=None):
    low = tie_weights(np.greater(a, a_min), np.equal(a, a_min), y)  # in np.maximum(a, a_min)
    raised = np.maximum(a, a_min)
    # in np.minimum(raised, a_max):
    high = tie_weights(np.less(raised, a_max), np.equal(raised, a_max), y)
    b[a] = unbroadcast(b[y] * high * low, a)
    b[a_min] = unbroadcast(b[y] * high * (1.0 - low), a_min)
    b[a_max] = unbroadcast(b[y] * (1.0 - high), a_max)


@tangent(np.clip, when=_given(True, True))
def clip_tangent(y, a, a_min=None, a_max=None):
    low = tie_weights(np.greater(a, a_min), np.equal(a, a_min), y)
    raised = np.maximum(a, a_min)
    high = tie_weights(np.less(raised, a_max), np.equal(raised, a_max), y)
    d[y] = (d[a] * low + d[a_min] * (1.0 - low)) * high + d[a_max] * (1.0 - high)


@linear(np.where, wrt=("x", "y"), result_kind="array",
        note="np.where(condition, x, y); no gradient to the condition; the one-argument form "
        "(indices) is not differentiable",
        shape=lambda s, atoms: shapes.broadcast(s["condition"], s["x"], s["y"]))
def where(z, condition, x, y):
    b[x] = unbroadcast(np.where(condition, b[z], 0.0), x)
    b[y] = unbroadcast(np.where(condition, 0.0, b[z]), y)


method("clip", np.clip)

nondifferentiable(math.floor, math.ceil, math.trunc, builtins.round,
                  why="piecewise constant", result_kind="scalar")
nondifferentiable(math.isnan, math.isinf, why="returns a bool", result_kind="scalar")
nondifferentiable(np.floor, np.ceil, np.trunc, np.rint, np.round, np.around, np.fix,
                  np.floor_divide, np.sign, why="piecewise constant")
nondifferentiable(np.isnan, np.isinf, np.isfinite, np.greater, np.greater_equal, np.less,
                  np.less_equal, np.equal, np.not_equal, np.logical_and, np.logical_or,
                  np.logical_xor, np.logical_not, np.signbit, np.isclose, np.allclose,
                  np.array_equal, np.isneginf, np.isposinf, why="returns bools")
nondifferentiable(np.count_nonzero, why="returns integers (a count)")
nondifferentiable(np.argpartition, np.lexsort, why="integer indices")
nondifferentiable(builtins.int, why="returns an integer", result_kind="scalar")
# np.int64(x) of an array is an integer array (an index, say): its kind is x's.
nondifferentiable(*(t for t in set(np.sctypeDict.values()) if issubclass(t, np.integer)),
                  why="returns integers", result_kind="elementwise")
nondifferentiable(builtins.bool, builtins.isinstance, why="returns a bool",
                  result_kind="scalar")
nondifferentiable(np.bool_, why="returns bools", result_kind="elementwise")
nondifferentiable(builtins.len, why="returns an integer (a length)", result_kind="scalar")
nondifferentiable(builtins.range, builtins.print, builtins.str, builtins.type,
                  why="not a real-valued function", result_kind="other")
nondifferentiable(check_positional, why="a check: returns None", result_kind="other")
