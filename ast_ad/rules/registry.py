"""The rule tables: adjoint and tangent templates per primitive, and the non-differentiable list.

Primitives are keyed by the Python object the user's code calls (`math.sin`,
`numpy.sum`), by gast operator class for operators (`gast.Mult`), or by a
string for syntax forms ("copy", "getitem", "pack", "attr:T", "method:sum").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..templates import Template, parse_template


@dataclass
class Rule:
    primal: Any
    # Alternatives tried in order: the first whose signature binds the call is used
    # (math.log(x) and math.log(x, base) have different rules).
    adjoints: list[Template] = field(default_factory=list)
    tangents: list[Template] = field(default_factory=list)
    lib: Any = None  # the module `lib.` means in the templates
    # How the result's kind follows from the inputs' kinds: "join" (elementwise),
    # "scalar", "array", or a function(kinds of positional args, bound atoms) -> kind.
    result_kind: Any = "join"
    note: str = ""  # caveat shown in the coverage table


ADJOINTS: dict[Any, Rule] = {}
# Functions whose output carries no derivative (integer-valued, shapes, constructors...).
NONDIFFERENTIABLE: dict[Any, str] = {}
# What functions without adjoint rules return: "scalar", "array" or "other" (constructors...).
RESULT_KINDS: dict[Any, str] = {}
# Array methods that mean a numpy function: `x.sum(...)` is `numpy.sum(x, ...)`.
METHODS: dict[str, "Method"] = {}
# Functions that write into one of their arguments in place (np.copyto, np.put...):
# primal -> (position of that argument, what to write instead).
WRITES: dict[Any, tuple[int, str]] = {}
# Methods that change an object in place (x.sort(), ys.extend(...)): name -> (position of
# what they change, 0 for the object itself and 1 for the first argument; what to write instead).
INPLACE_METHODS: dict[str, tuple[int, str]] = {}


@dataclass(frozen=True)
class Method:
    """An ndarray method as the numpy function it means."""

    function: Any
    # Positional arguments from this index on are one tuple in the function:
    # x.reshape(3, 4) is np.reshape(x, (3, 4)).
    pack_from: int | None = None


def method(name: str, function, pack_from: int | None = None) -> None:
    METHODS[name] = Method(function, pack_from)


def _register(primal, kind: str, template: Template, lib=None, result_kind=None, note=""):
    rule = ADJOINTS.get(primal) or Rule(primal)
    if template not in getattr(rule, kind):
        getattr(rule, kind).append(template)
    if lib is not None:
        rule.lib = lib
    if result_kind is not None:
        rule.result_kind = result_kind
    if note:
        rule.note = note
    ADJOINTS[primal] = rule


def adjoint(*primals, result_kind=None, note="", when=None, shape=None):
    """Register the decorated template as the adjoint rule of each primal.

    `when(args)` restricts the template to calls it accepts (args: {parameter:
    templates.Arg}); templates are tried in registration order. `shape` computes
    the result's static shape ({parameter: shape}, atoms) -> shape.
    """

    def decorate(fn):
        template = parse_template(fn)
        template.when = when
        template.shape = shape
        for primal in primals:
            _register(primal, "adjoints", template, _module_of(primal), result_kind, note)
        return fn

    return decorate


def tangent(*primals, when=None):
    """Register the decorated template as the tangent (forward-mode) rule of each primal.

    The body ends with `d[result] = ...`, linear in the inputs' tangents `d[x]`
    (a tangent is zero, and simplified away, when its input carries no derivative).
    `when` works as for `adjoint`.
    """

    def decorate(fn):
        template = parse_template(fn)
        template.when = when
        for primal in primals:
            _register(primal, "tangents", template, _module_of(primal))
        return fn

    return decorate


def nondifferentiable(*primals, why: str = "integer-valued", result_kind: str | None = None):
    """Declare functions whose results carry no derivative (and, optionally, their kind)."""
    for primal in primals:
        NONDIFFERENTIABLE[primal] = why
        if result_kind is not None:
            RESULT_KINDS[primal] = result_kind


def result_kind(*primals, kind: str):
    """Declare what functions without rules return: "scalar", "array" or "other"."""
    for primal in primals:
        RESULT_KINDS[primal] = kind


def known_result_kind(primal) -> str | None:
    try:
        return RESULT_KINDS.get(primal)
    except TypeError:  # unhashable callee
        return None


def writes(*primals, arg: int = 0, instead: str):
    """Declare functions that write into their argument `arg` in place."""
    for primal in primals:
        WRITES[primal] = (arg, instead)


def inplace_method(*names, arg: int = 0, instead: str):
    """Declare methods that change their object (arg=0) or first argument (arg=1) in place."""
    for name in names:
        INPLACE_METHODS[name] = (arg, instead)


def writes_into(primal) -> tuple[int, str] | None:
    try:
        return WRITES.get(primal)
    except TypeError:  # unhashable callee
        return None


def _module_of(primal):
    import math

    import numpy

    module = getattr(primal, "__module__", None)
    if module == "math":
        return math
    if isinstance(primal, numpy.ufunc) or (module or "").startswith("numpy"):
        return numpy
    return None


def lookup(primal) -> Rule | None:
    try:
        return ADJOINTS.get(primal)
    except TypeError:  # unhashable callee
        return None


def is_nondifferentiable(primal) -> bool:
    try:
        return primal in NONDIFFERENTIABLE
    except TypeError:
        return False
