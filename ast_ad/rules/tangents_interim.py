"""Tangent rules for the first rule families, until their own modules carry them.

(Interim: the elementwise, reduction, linear-algebra and array modules are
being extended with tangents next to their adjoints; this file then goes.)
"""

# ruff: noqa: F821

import builtins
import math

import gast
import numpy as np

from ..runtime import astype, power_adjoint_exponent
from .registry import tangent


@tangent(math.sin, np.sin)
def sin(y, x):
    d[y] = d[x] * lib.cos(x)


@tangent(math.cos, np.cos)
def cos(y, x):
    d[y] = -d[x] * lib.sin(x)


@tangent(math.tan, np.tan)
def tan(y, x):
    d[y] = d[x] * (1.0 + y * y)


@tangent(math.exp, np.exp)
def exp(y, x):
    d[y] = d[x] * y


@tangent(math.log, np.log)
def log(y, x):
    d[y] = d[x] / x


@tangent(math.log)
def log_base(y, x, base):
    d[y] = d[x] / (x * lib.log(base)) - d[base] * y / (base * lib.log(base))


@tangent(math.log1p, np.log1p)
def log1p(y, x):
    d[y] = d[x] / (1.0 + x)


@tangent(math.sqrt, np.sqrt)
def sqrt(y, x):
    d[y] = d[x] * 0.5 / y


@tangent(math.tanh, np.tanh)
def tanh(y, x):
    d[y] = d[x] * (1.0 - y * y)


@tangent(math.sinh, np.sinh)
def sinh(y, x):
    d[y] = d[x] * lib.cosh(x)


@tangent(math.cosh, np.cosh)
def cosh(y, x):
    d[y] = d[x] * lib.sinh(x)


@tangent(math.atan, np.arctan)
def atan(y, x):
    d[y] = d[x] / (1.0 + x * x)


@tangent(math.asin, np.arcsin)
def asin(y, x):
    d[y] = d[x] / lib.sqrt(1.0 - x * x)


@tangent(math.acos, np.arccos)
def acos(y, x):
    d[y] = -d[x] / lib.sqrt(1.0 - x * x)


@tangent(math.fabs)
def fabs(y, x):
    d[y] = d[x] * lib.copysign(1.0, x)


@tangent(np.abs, np.absolute, builtins.abs)
def abs_(y, x):
    d[y] = d[x] * np.sign(x)


@tangent(math.pow, np.power)
def pow_(z, x, y):
    d[z] = d[x] * y * x ** (y - 1) + power_adjoint_exponent(d[y], z, x)


@tangent(np.negative)
def negative(y, x):
    d[y] = -d[x]


@tangent(builtins.float, np.copy)
def identity(y, x):
    d[y] = d[x]


@tangent(np.array, np.asarray)
def array(y, object, dtype=None):
    d[y] = np.array(d[object])


@tangent(astype)
def astype_tangent(y, x, dtype, copy=True):
    d[y] = d[x]


@tangent(np.sum)
def sum_(y, a, axis=None, keepdims=False):
    d[y] = np.sum(d[a], axis=axis, keepdims=keepdims)


@tangent(np.mean)
def mean(y, a, axis=None, keepdims=False):
    d[y] = np.mean(d[a], axis=axis, keepdims=keepdims)


@tangent(np.stack)
def stack(y, arrays, axis=0):
    d[y] = np.stack(d[arrays], axis)


@tangent(gast.MatMult, np.matmul)
def matmul(z, x, y):
    d[z] = d[x] @ y + x @ d[y]


@tangent(np.dot)
def dot(z, a, b_):
    d[z] = np.dot(d[a], b_) + np.dot(a, d[b_])


@tangent("attr:T")
def transpose_attribute(y, x):
    d[y] = d[x].T
