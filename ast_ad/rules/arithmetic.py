"""Python operators and syntax: + - * / ** %, unary minus, copies, indexing (@ is in linalg)."""

# Templates use b[...] placeholders; see ast_ad.templates. An element-wise operator's
# derivative is declared once (@elementwise): its tangent follows from its adjoint.
# ruff: noqa: F821

import gast

from ..runtime import (
    joined_tangents,
    power_adjoint_exponent,
    repeated_adjoint,
    sequence_head,
    sequence_tail,
    unbroadcast,
)
from .registry import adjoint, elementwise, nondifferentiable, tangent


@elementwise("copy")
def copy(y, x):
    b[x] = b[y]


@elementwise(gast.UAdd)
def pos(y, x):
    b[x] = b[y]


@elementwise(gast.USub)
def neg(y, x):
    b[x] = -b[y]


# -- lists and tuples: + joins them, * repeats one (an int n the other operand) -----------


def _sequence(arg) -> bool:
    return arg.container in ("list", "tuple")


def _python_int(arg) -> bool:
    """A Python number (an int, if a list is repeated by it): not an array, nor a NumPy
    scalar, which would make NumPy multiply the list's items instead."""
    return arg.kind == "scalar" and arg.dtype is None and arg.container is None


def _joined(args) -> bool:
    # (a list and an array, or a NumPy scalar, are added item by item, as arrays)
    return _sequence(args["x"]) and _sequence(args["y"])


@adjoint(gast.Add, when=_joined, result_kind="other")
def join(z, x, y):
    b[x] = sequence_head(b[z], x)
    b[y] = sequence_tail(b[z], y)


@tangent(gast.Add, when=_joined)
def join_tangent(z, x, y):
    d[z] = joined_tangents(d[x], x, d[y], y)


def _repeated(args) -> bool:
    return _sequence(args["x"]) and _python_int(args["y"])


def _repeated_right(args) -> bool:
    return _sequence(args["y"]) and _python_int(args["x"])


@adjoint(gast.Mult, when=_repeated, result_kind="other")
def repeat(z, x, y):
    b[x] = repeated_adjoint(b[z], x)


@adjoint(gast.Mult, when=_repeated_right, result_kind="other")
def repeat_right(z, x, y):
    b[y] = repeated_adjoint(b[z], y)


@elementwise(gast.Add)
def add(z, x, y):
    b[x] = unbroadcast(b[z], x)
    b[y] = unbroadcast(b[z], y)


@elementwise(gast.Sub)
def sub(z, x, y):
    b[x] = unbroadcast(b[z], x)
    b[y] = unbroadcast(-b[z], y)


def _same_operand(args) -> bool:
    """x * x: one variable on both sides (its two contributions are one)."""
    x, y = args["x"].atom, args["y"].atom
    return isinstance(x, gast.Name) and isinstance(y, gast.Name) and x.id == y.id


@elementwise(gast.Mult, when=_same_operand)
def square(z, x, y):
    b[x] = 2.0 * b[z] * x


@adjoint(gast.Mult)
def mul(z, x, y):
    b[x] = unbroadcast(b[z] * y, x)
    b[y] = unbroadcast(b[z] * x, y)


@adjoint(gast.Div)
def div(z, x, y):
    b[x] = unbroadcast(b[z] / y, x)
    b[y] = unbroadcast(-b[z] * z / y, y)


def zero_exponent(args) -> bool:
    """x ** 0: 1 for every x, so no derivative (the formula would give 0 * 0 ** -1 at 0)."""
    value = args["y"].value
    return isinstance(value, (int, float)) and value == 0


def literal_exponent(args) -> bool:
    return isinstance(args["y"].value, (int, float))


@elementwise(gast.Pow, when=zero_exponent)
def pow_zero(z, x, y):
    b[x] = 0.0 * b[z]


@elementwise(gast.Pow, when=literal_exponent)
def pow_literal(z, x, y):
    b[x] = unbroadcast(b[z] * y * x ** (y - 1), x)


@elementwise(gast.Pow)
def pow(z, x, y):
    # (x + (y == 0)): the base, or 1 where y == 0 (x ** 0 is 1 for every x, even 0,
    # where y * x ** (y - 1) would divide by 0); differentiable by these same rules
    b[x] = unbroadcast(b[z] * y * (x + (y == 0)) ** (y - 1), x)
    b[y] = unbroadcast(power_adjoint_exponent(b[z], z, x), y)


@elementwise(gast.Mod)
def mod(z, x, y):
    b[x] = unbroadcast(b[z], x)
    b[y] = unbroadcast(-b[z] * (x // y), y)


@adjoint("getitem")
def getitem(y, x, index):
    b[x][index] = b[y]


# -- tangents written out (the others follow from the adjoints above) ------------------


@tangent(gast.Mult)
def mul_tangent(z, x, y):
    d[z] = d[x] * y + x * d[y]


@tangent(gast.Div)
def div_tangent(z, x, y):
    d[z] = d[x] / y - z * d[y] / y


@tangent("getitem")
def getitem_tangent(y, x, index):
    d[y] = d[x][index]


nondifferentiable(gast.FloorDiv, why="piecewise constant")
nondifferentiable(gast.BitAnd, gast.BitOr, gast.BitXor, gast.LShift, gast.RShift, gast.Invert,
                  gast.Not, why="integer or boolean operation")
