"""Other spellings of functions that have rules: the operator module's functions
(operator.add(x, y) is x + y) and the builtin pow, np.clip's min=/max= keywords, and np.real,
np.conjugate and np.real_if_close, the identity on real values (ast-ad has no complex
numbers: they are rejected where they could appear). Loaded after the rules they reuse."""

# ruff: noqa: F821

import builtins
import operator

import numpy as np

from ..runtime import tie_weights, unbroadcast
from . import elementwise, linalg  # noqa: F401  (the rules reused here load first)
from .registry import ADJOINTS, Rule, adjoint, nondifferentiable, tangent

# -- the operator module ----------------------------------------------------------------------

OPERATORS = {operator.add: np.add, operator.sub: np.subtract, operator.mul: np.multiply,
             operator.truediv: np.divide, operator.mod: np.remainder, operator.pow: np.power,
             operator.neg: np.negative, operator.pos: np.positive, operator.matmul: np.matmul}

# pow(x, y), the builtin (two arguments; pow(x, y, mod) is integer arithmetic): x ** y
OPERATORS[builtins.pow] = np.power

for _function, _ufunc in OPERATORS.items():
    _rule = ADJOINTS[_ufunc]
    ADJOINTS[_function] = Rule(_function, _rule.adjoints, _rule.tangents, _rule.lib,
                               _rule.result_kind, note=f"as numpy.{_ufunc.__name__}")

nondifferentiable(operator.floordiv, why="piecewise constant")
nondifferentiable(operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne,
                  operator.not_, operator.truth, why="returns bools")


# -- real values: np.real, np.conjugate, np.real_if_close are the identity ------------------

REAL = "the identity: ast-ad differentiates real values only"


@adjoint(np.real, note=REAL)
def real(y, val):
    b[val] = b[y]


@tangent(np.real)
def real_tangent(y, val):
    d[y] = d[val]


@adjoint(np.conjugate, note=REAL)
def conjugate(y, x):
    b[x] = b[y]


@tangent(np.conjugate)
def conjugate_tangent(y, x):
    d[y] = d[x]


@adjoint(np.real_if_close, note=REAL)
def real_if_close(y, a, tol=100):
    b[a] = b[y]


@tangent(np.real_if_close)
def real_if_close_tangent(y, a, tol=100):
    d[y] = d[a]


nondifferentiable(np.imag, why="zero for real values", result_kind="elementwise")
nondifferentiable(np.angle, why="piecewise constant for real values (0 or pi)",
                  result_kind="elementwise")


# -- np.clip(a, min=..., max=...): NumPy 2.1's names for a_min and a_max ----------------------


def _keywords(low: bool, high: bool):
    """A guard: a_min and a_max not given, and which of min= and max= are."""

    def when(args):
        return args["a_min"].value is None and args["a_max"].value is None \
            and (args["min"].value is not None) == low and (args["max"].value is not None) == high

    return when


@adjoint(np.clip, when=_keywords(True, False))
def clip_min(y, a, a_min=None, a_max=None, *, min=None, max=None):
    w = tie_weights(np.greater(a, min), np.equal(a, min), y)
    b[a] = unbroadcast(b[y] * w, a)
    b[min] = unbroadcast(b[y] * (1.0 - w), min)


@tangent(np.clip, when=_keywords(True, False))
def clip_min_tangent(y, a, a_min=None, a_max=None, *, min=None, max=None):
    w = tie_weights(np.greater(a, min), np.equal(a, min), y)
    d[y] = d[a] * w + d[min] * (1.0 - w)


@adjoint(np.clip, when=_keywords(False, True))
def clip_max(y, a, a_min=None, a_max=None, *, min=None, max=None):
    w = tie_weights(np.less(a, max), np.equal(a, max), y)
    b[a] = unbroadcast(b[y] * w, a)
    b[max] = unbroadcast(b[y] * (1.0 - w), max)


@tangent(np.clip, when=_keywords(False, True))
def clip_max_tangent(y, a, a_min=None, a_max=None, *, min=None, max=None):
    w = tie_weights(np.less(a, max), np.equal(a, max), y)
    d[y] = d[a] * w + d[max] * (1.0 - w)


@adjoint(np.clip, when=_keywords(True, True))
def clip_min_max(y, a, a_min=None, a_max=None, *, min=None, max=None):
    low = tie_weights(np.greater(a, min), np.equal(a, min), y)
    raised = np.maximum(a, min)
    high = tie_weights(np.less(raised, max), np.equal(raised, max), y)
    b[a] = unbroadcast(b[y] * high * low, a)
    b[min] = unbroadcast(b[y] * high * (1.0 - low), min)
    b[max] = unbroadcast(b[y] * (1.0 - high), max)


@tangent(np.clip, when=_keywords(True, True))
def clip_min_max_tangent(y, a, a_min=None, a_max=None, *, min=None, max=None):
    low = tie_weights(np.greater(a, min), np.equal(a, min), y)
    raised = np.maximum(a, min)
    high = tie_weights(np.less(raised, max), np.equal(raised, max), y)
    d[y] = (d[a] * low + d[min] * (1.0 - low)) * high + d[max] * (1.0 - high)


# -- tuple(...) of a tuple or list: the same items (not list(...): a new list may grow) -------


def _sequence(args):
    return args["iterable"].kind == "other"


@adjoint(builtins.tuple, when=_sequence, result_kind="other",
         note="of a tuple or a list (not of an array's rows)")
def tuple_of(y, iterable=()):
    b[iterable] = list(b[y])  # a copy: the list's adjoint may be written into later


@tangent(builtins.tuple, when=_sequence)
def tuple_of_tangent(y, iterable=()):
    d[y] = tuple(d[iterable])  # a copy: the list's tangent may be written into later
