"""The rule tables: adjoint and tangent templates per primitive, and the non-differentiable list.

Primitives are keyed by the Python object the user's code calls (`math.sin`,
`numpy.sum`), by gast operator class for operators (`gast.Mult`), or by a
string for syntax forms ("copy", "getitem", "pack", "attr:T", "method:sum").

A derivative is declared once where the math allows: `@elementwise` (the tangent
follows from the adjoint), `@linear` (from the function itself); `@adjoint` with
`@tangent` for the rest. `user_rule` installs the user's rules (ast_ad.register_*).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import gast

from ..errors import RuleDefinitionError
from ..templates import Template, elementwise_tangent, linear_tangent, parse_template


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
    # What the user's own rules give (ast_ad.register_*): "adjoints", "tangents",
    # "result_kind"; and the built-in rule they replaced, if any.
    user: frozenset = frozenset()
    built_in: Any = None


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


def elementwise(*primals, result_kind=None, note="", when=None, shape=None):
    """Register an element-wise function's derivative, declared once: the decorated
    template is its adjoint (`b[x] = b[y] * f_x` per input x, as for `adjoint`), and its
    tangent (`d[y] = d[x] * f_x + ...`) is derived from it (templates.elementwise_tangent).

    Only for functions whose Jacobian is diagonal: each result element depends on the
    input elements at its own position (broadcasting allowed): ufuncs and the like.
    """

    def decorate(fn):
        template = parse_template(fn)
        template.when = when
        template.shape = shape
        derived = elementwise_tangent(template)
        for primal in primals:
            _register(primal, "adjoints", template, _module_of(primal), result_kind, note)
            _register(primal, "tangents", derived, _module_of(primal))
        return fn

    return decorate


def linear(*primals, wrt=None, keywords=(), result_kind=None, note="", when=None, shape=None):
    """Register the adjoint of a function linear in its parameters `wrt` (default: the
    first): the decorated template is its transpose, as for `adjoint`, and its tangent is
    the function itself applied to their tangents, `d[y] = f(d[x], axis, ...)`
    (templates.linear_tangent; `keywords` are passed as `name=name`)."""

    def decorate(fn):
        template = parse_template(fn)
        template.when = when
        template.shape = shape
        through = tuple(wrt) if wrt is not None else (template.params[1],)
        for primal in primals:
            derived = linear_tangent(template, _expression_for(primal, template), through,
                                     tuple(keywords))
            _register(primal, "adjoints", template, _module_of(primal), result_kind, note)
            _register(primal, "tangents", derived, _module_of(primal))
        return fn

    return decorate


def _expression_for(primal, template: Template) -> gast.AST:
    """How the template's module names `primal`: `name` or `module.name`."""
    import types

    def load(id_):
        return gast.Name(id=id_, ctx=gast.Load(), annotation=None, type_comment=None)

    named = getattr(primal, "__name__", None)
    names = [n for n, v in template.globals.items() if v is primal]
    if names:
        return load(named if named in names else names[0])
    for n, v in template.globals.items():
        if isinstance(v, types.ModuleType) and named and getattr(v, named, None) is primal:
            return gast.Attribute(value=load(n), attr=named, ctx=gast.Load())
    raise RuleDefinitionError(f"rule {template.fn.__name__}: its module does not name {named}",
                              template.location, "import the function or its module there")


def user_rule(primal, *, adjoint: Template | None = None, tangent: Template | None = None,
              result_kind=None) -> None:
    """Install the user's rule(s) for `primal`: they win over the built-in ones.

    A kind the user gives replaces every earlier template of that kind (built-in or an
    earlier registration); a built-in template of the other kind is dropped too, since it
    need not agree with the user's derivative: forward mode then asks for the user's
    tangent rather than mixing the two. The rule is a new object (the table's old one is
    left as it was, for the built-in rule's result kind and for tests that restore it).
    """
    old = ADJOINTS.get(primal)
    rule = Rule(primal) if old is None else replace(old, adjoints=list(old.adjoints),
                                                   tangents=list(old.tangents))
    given = {kind for kind, t in (("adjoints", adjoint), ("tangents", tangent))
             if t is not None}
    for kind in ("adjoints", "tangents"):
        if kind in given:
            setattr(rule, kind, [adjoint if kind == "adjoints" else tangent])
        elif kind not in rule.user:
            setattr(rule, kind, [])
    rule.note = ""  # a built-in rule's caveat (the coverage table's) is not the user's
    rule.user = rule.user | given
    rule.lib = _module_of(primal)
    built_in = old.built_in if old is not None and old.user else old
    rule.built_in = built_in
    if result_kind is not None:
        rule.result_kind = result_kind
        rule.user = rule.user | {"result_kind"}
    elif "result_kind" not in rule.user and built_in is not None \
            and callable(built_in.result_kind) and built_in.adjoints:
        # The primal's own result kind, from the call's arguments under the built-in
        # template's parameter names (both list the primal's parameters in order).
        rule.result_kind = _renamed(built_in.result_kind, (adjoint or tangent).params[1:],
                                    built_in.adjoints[0].signature)
    ADJOINTS[primal] = rule


def _renamed(kind, user: list, signature):
    """`kind` of arguments bound to the user's parameters `user`, for a built-in template
    of `signature`: by position, with its defaults for the rest (the call gave none)."""
    import inspect

    names = list(signature.parameters.values())

    def result_kind(arg_kinds, atoms):
        renamed = {b.name: atoms[u] for u, b in zip(user, names) if u in atoms}
        for p in names:
            if p.name not in renamed and p.default is not inspect.Parameter.empty:
                renamed[p.name] = gast.Constant(value=p.default, kind=None)
        try:
            return kind(arg_kinds, renamed)
        except (KeyError, IndexError):
            return "other"  # not known to be a scalar or an array

    return result_kind


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
    """Declare what functions without rules return: "scalar", "array", "other", or
    "elementwise" (the kind of their arguments: a scalar of scalars, else an array)."""
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
