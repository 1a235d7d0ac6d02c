"""Special functions of the math module: erf, erfc, gamma, lgamma (SciPy's are in scipy.py)."""

# ruff: noqa: F821

import math

from ..runtime_extra import digamma
from .registry import adjoint, tangent

TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


@adjoint(math.erf)
def erf(y, x):
    b[x] = b[y] * TWO_OVER_SQRT_PI * math.exp(-x * x)


@tangent(math.erf)
def erf_tangent(y, x):
    d[y] = d[x] * TWO_OVER_SQRT_PI * math.exp(-x * x)


@adjoint(math.erfc)
def erfc(y, x):
    b[x] = -b[y] * TWO_OVER_SQRT_PI * math.exp(-x * x)


@tangent(math.erfc)
def erfc_tangent(y, x):
    d[y] = -d[x] * TWO_OVER_SQRT_PI * math.exp(-x * x)


@adjoint(math.gamma, note="Gamma'(x) = Gamma(x) psi(x)")
def gamma(y, x):
    b[x] = b[y] * y * digamma(x)


@tangent(math.gamma)
def gamma_tangent(y, x):
    d[y] = d[x] * y * digamma(x)


@adjoint(math.lgamma, note="the log of |Gamma(x)|: its derivative is psi(x)")
def lgamma(y, x):
    b[x] = b[y] * digamma(x)


@tangent(math.lgamma)
def lgamma_tangent(y, x):
    d[y] = d[x] * digamma(x)
