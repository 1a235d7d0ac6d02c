"""Elementwise functions of `math` and `numpy`: one rule serves both, and calls the same library.

In these templates `lib` is the module of the user's call, so the adjoint of
`math.sin` uses `math.cos` and the adjoint of `np.sin` uses `np.cos`.
"""

# ruff: noqa: F821

import builtins
import math

import numpy as np

from ..runtime import power_adjoint_exponent, unbroadcast
from .registry import adjoint, nondifferentiable


@adjoint(math.sin, np.sin)
def sin(y, x):
    b[x] = b[y] * lib.cos(x)


@adjoint(math.cos, np.cos)
def cos(y, x):
    b[x] = -b[y] * lib.sin(x)


@adjoint(math.tan, np.tan)
def tan(y, x):
    b[x] = b[y] * (1.0 + y * y)


@adjoint(math.exp, np.exp)
def exp(y, x):
    b[x] = b[y] * y


@adjoint(math.log, np.log)
def log(y, x):
    b[x] = b[y] / x


@adjoint(math.log)
def log_base(y, x, base):
    b[x] = b[y] / (x * lib.log(base))
    b[base] = -b[y] * y / (base * lib.log(base))


@adjoint(math.log1p, np.log1p)
def log1p(y, x):
    b[x] = b[y] / (1.0 + x)


@adjoint(math.sqrt, np.sqrt)
def sqrt(y, x):
    b[x] = b[y] * 0.5 / y


@adjoint(math.tanh, np.tanh)
def tanh(y, x):
    b[x] = b[y] * (1.0 - y * y)


@adjoint(math.sinh, np.sinh)
def sinh(y, x):
    b[x] = b[y] * lib.cosh(x)


@adjoint(math.cosh, np.cosh)
def cosh(y, x):
    b[x] = b[y] * lib.sinh(x)


@adjoint(math.atan, np.arctan)
def atan(y, x):
    b[x] = b[y] / (1.0 + x * x)


@adjoint(math.asin, np.arcsin)
def asin(y, x):
    b[x] = b[y] / lib.sqrt(1.0 - x * x)


@adjoint(math.acos, np.arccos)
def acos(y, x):
    b[x] = -b[y] / lib.sqrt(1.0 - x * x)


@adjoint(math.fabs)
def fabs(y, x):
    b[x] = b[y] * lib.copysign(1.0, x)


@adjoint(np.abs, np.absolute, builtins.abs)
def abs(y, x):
    b[x] = b[y] * np.sign(x)


@adjoint(math.pow, np.power)
def pow(z, x, y):
    b[x] = unbroadcast(b[z] * y * x ** (y - 1), x)
    b[y] = unbroadcast(power_adjoint_exponent(b[z], z, x), y)


@adjoint(np.negative)
def negative(y, x):
    b[x] = -b[y]


@adjoint(builtins.float)
def float(y, x):
    b[x] = b[y]


nondifferentiable(math.floor, math.ceil, math.trunc, builtins.round, math.isnan, math.isinf,
                  why="piecewise constant", result_kind="scalar")
nondifferentiable(np.floor, np.ceil, np.trunc, np.rint, np.round, np.sign, np.isnan, np.isinf,
                  np.isfinite, why="piecewise constant")
nondifferentiable(builtins.int, builtins.bool, builtins.len, builtins.isinstance,
                  why="not a real-valued function", result_kind="scalar")
nondifferentiable(builtins.range, builtins.print, builtins.str, builtins.type,
                  why="not a real-valued function", result_kind="other")
