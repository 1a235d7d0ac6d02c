"""Rule templates: small Python functions whose bodies are the statements a rule emits.

A template's parameters are placeholders: the primal's result first, then the
primal's own parameters (same names, same defaults). In its body

    b[x] = expr           adds `expr` to the adjoint of x (dropped when x is inactive)
    b[x][index] = expr    adds `expr` into part of x's adjoint
    d[y] = expr           (tangent templates) defines the tangent of the result
    b[y], d[x]            on the right: the incoming adjoint / a tangent (0 when inactive)
    lib.f                 the module the user's call came from (math or numpy)
    name = expr           a temporary, renamed fresh at each use

Any other free name (np, math, runtime helpers) is resolved in the template's
module and reached from the generated code under a collision-free name.
"""

from __future__ import annotations

import inspect
import textwrap
from dataclasses import dataclass, field
from typing import Any, Callable

import gast

from .errors import Location, RuleDefinitionError

PLACEHOLDER_MAPS = ("b", "d")


@dataclass
class Template:
    """A parsed template function."""

    fn: Callable
    params: list[str]  # result first
    signature: inspect.Signature  # of the primal part (without the result)
    body: list[gast.stmt]
    globals: dict
    location: Location
    temporaries: set[str] = field(default_factory=set)
    # The parameters the template gives a derivative to (`b[x] = ...`, `d[y] = ...`).
    targets: set[str] = field(default_factory=set)
    # Optional guard: when(args) -> bool, with args an {parameter: Arg} dict. The
    # first template of a rule whose signature binds and whose guard holds is used.
    when: Callable | None = None
    # The result's static shape: shape({parameter: shape}, atoms) -> shape or None.
    shape: Callable | None = None

    @property
    def result(self) -> str:
        return self.params[0]


@dataclass(frozen=True)
class Arg:
    """What the compiler knows about one argument of a call, for rule guards."""

    atom: gast.AST
    kind: str  # "scalar", "array" or "other"
    shape: tuple | None  # the static shape, if known
    triangle: str | None = None  # "lower" or "upper": a matrix known triangular

    @property
    def ndim(self) -> int | None:
        return None if self.shape is None else len(self.shape)

    @property
    def value(self):
        """The argument's value if it is a literal constant, else Ellipsis."""
        return self.atom.value if isinstance(self.atom, gast.Constant) else ...


def parse_template(fn: Callable, what: str = "rule") -> Template:
    """Parse and check a template function; raise RuleDefinitionError if malformed."""
    code = fn.__code__
    location = Location(code.co_filename, code.co_firstlineno, 0)  # decorators' line, for now
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError) as exc:
        raise RuleDefinitionError(f"cannot read the source of {what} {fn.__name__}", location,
                                  "define rules in a file") from exc
    tree = gast.parse(source)
    func = tree.body[0]
    if not isinstance(func, gast.FunctionDef):
        raise RuleDefinitionError(f"{what} {fn.__name__} must be a def", location)
    first = code.co_firstlineno  # the snippet's first line (a decorator, if any)
    location = Location(code.co_filename, first + func.lineno - 1, func.col_offset)
    sig = inspect.signature(fn)
    params = list(sig.parameters)
    if not params:
        raise RuleDefinitionError(
            f"{what} {fn.__name__} has no parameters", location,
            "the first parameter names the result, the others the primal's inputs")
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise RuleDefinitionError(f"{what} {fn.__name__}: *args/**kwargs are not allowed",
                                      location, "list the primal's parameters one by one")
    primal_sig = sig.replace(parameters=list(sig.parameters.values())[1:])
    body = [s for s in func.body
            if not (isinstance(s, gast.Expr) and isinstance(s.value, gast.Constant))]
    temporaries, targets = set(), set()
    for stmt in body:
        where = Location(location.filename, first + stmt.lineno - 1, stmt.col_offset)
        if not isinstance(stmt, gast.Assign) or len(stmt.targets) != 1:
            raise RuleDefinitionError(f"{what} {fn.__name__}: only assignments are allowed", where)
        target = stmt.targets[0]
        if isinstance(target, gast.Name):
            temporaries.add(target.id)
            continue
        ref = placeholder(target) or (placeholder(target.value)
                                      if isinstance(target, gast.Subscript) else None)
        if ref is None:
            raise RuleDefinitionError(
                f"{what} {fn.__name__}: cannot assign to this target", where,
                "assign to b[param] (an adjoint), d[result] (a tangent) or a temporary name")
        if ref[1] not in params:
            raise RuleDefinitionError(
                f"{what} {fn.__name__}: {ref[0]}[{ref[1]}] names no parameter", where,
                f"parameters are {', '.join(params)}")
        targets.add(ref[1])
        for node in gast.walk(stmt.value):
            ref = placeholder(node)
            if ref is not None and ref[1] not in params:
                raise RuleDefinitionError(
                    f"{what} {fn.__name__}: {ref[0]}[{ref[1]}] names no parameter", where,
                    f"parameters are {', '.join(params)}")
    import builtins

    known = set(params) | temporaries | set(PLACEHOLDER_MAPS) | {"lib"} | set(fn.__globals__) \
        | set(dir(builtins))
    for stmt in body:
        for node in gast.walk(stmt):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load) \
                    and node.id not in known:
                raise RuleDefinitionError(
                    f"{what} {fn.__name__}: unknown name {node.id}",
                    Location(location.filename, first + node.lineno - 1, node.col_offset),
                    "use the rule's parameters, temporaries, or names its module imports")
    return Template(fn, params, primal_sig, body, fn.__globals__, location, temporaries,
                    targets)


def placeholder(node: gast.AST) -> tuple[str, str] | None:
    """('b', 'x') for the node `b[x]`, else None."""
    if (isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name)
            and node.value.id in PLACEHOLDER_MAPS and isinstance(node.slice, gast.Name)):
        return node.value.id, node.slice.id
    return None


@dataclass
class Binding:
    """How to fill a template at one use."""

    atoms: dict[str, gast.AST]  # parameter -> atom (Name / Constant / dotted) or index expression
    derivative: Callable[[str, str], gast.AST | None]  # ('b'|'d', param) -> Name, or None if zero
    resolve_global: Callable[[str, Any], gast.AST]  # (name, object) -> expression in generated code
    lib: Any = None  # the module for `lib.`
    new_temp: Callable[[], str] = None


def bind_call(template: Template, args: list, keywords: dict) -> dict[str, Any] | str:
    """Bind a call's atoms to the template's parameters; an error message if they don't fit."""
    if "b" in keywords and "b_" in template.signature.parameters:  # `b` is the adjoint map
        keywords = {("b_" if k == "b" else k): v for k, v in keywords.items()}
    if not keywords:  # the common case, without inspect's general (slow) binding
        params = _positional(template.signature)
        if params is not None and len(args) <= len(params) and all(
                default is not inspect.Parameter.empty for _, default in params[len(args):]):
            result = {pname: atom for (pname, _), atom in zip(params, args)}
            for pname, default in params[len(args):]:
                result[pname] = gast.Constant(value=default, kind=None)
            return result
    try:
        bound = template.signature.bind(*args, **keywords)
    except TypeError as exc:
        return str(exc)
    result = {}
    for pname, param in template.signature.parameters.items():
        if pname in bound.arguments:
            result[pname] = bound.arguments[pname]
        else:
            result[pname] = gast.Constant(value=param.default, kind=None)
    return result


_POSITIONAL: dict = {}


def _positional(signature: inspect.Signature):
    """[(name, default)] when every parameter can be passed by position, else None."""
    held = _POSITIONAL.get(id(signature))
    if held is not None and held[0] is signature:  # (kept: its id stays unique)
        return held[1]
    params = list(signature.parameters.values())
    found = [(p.name, p.default) for p in params] if all(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params) else None
    _POSITIONAL[id(signature)] = (signature, found)
    return found


def instantiate(template: Template, binding: Binding) -> list[tuple]:
    """Fill the template; return its contributions in order.

    Each item is ("temp", name, expr), ("add", param, None, expr),
    ("scatter", param, index_expr, expr) or ("tangent", param, expr).
    Contributions to inactive parameters are dropped.
    """
    temps = {t: binding.new_temp() for t in sorted(template.temporaries)}
    out = []
    for stmt in template.body:
        target = stmt.targets[0]
        value = _substitute(stmt.value, template, binding, temps)
        if isinstance(target, gast.Name):
            out.append(("temp", temps[target.id], value))
            continue
        ref = placeholder(target)
        if ref is not None:
            kind, param = ref
            if kind == "d":
                out.append(("tangent", param, value))
                continue
            if binding.derivative("b", param) is not None:
                out.append(("add", param, None, value))
            continue
        kind, param = placeholder(target.value)
        if binding.derivative("b", param) is not None:
            index = _substitute(target.slice, template, binding, temps)
            out.append(("scatter", param, index, value))
    return out


def _substitute(node: gast.AST, template: Template, binding: Binding, temps: dict) -> gast.AST:
    """A filled copy of the template expression `node` (the template is not changed)."""
    return _Filler(template, binding, temps).fill(node)


class _Filler:
    """Copies a template expression and fills it in one pass, depth first in field order
    (the order names are resolved in)."""

    def __init__(self, template: Template, binding: Binding, temps: dict):
        self.template, self.binding, self.temps = template, binding, temps

    def fill(self, n):
        cls = n.__class__
        if cls is gast.Name:
            return self.name(n)
        if cls is gast.Subscript:
            ref = placeholder(n)
            if ref is not None:
                found = self.binding.derivative(*ref)
                return found if found is not None else gast.Constant(value=0.0, kind=None)
        elif cls is gast.Attribute and isinstance(n.value, gast.Name) and n.value.id == "lib" \
                and "lib" not in self.template.params:
            module = self.binding.lib
            preferred = "np" if module.__name__ == "numpy" else module.__name__
            return gast.Attribute(value=self.binding.resolve_global(preferred, module),
                                  attr=n.attr, ctx=gast.Load())
        new = cls.__new__(cls)
        fields = {key: dict(value) if type(value) is dict else value
                  for key, value in n.__dict__.items()}
        new.__dict__ = fields
        for key in cls._fields:
            value = fields.get(key)
            if isinstance(value, gast.AST):
                fields[key] = self.fill(value)
            elif type(value) is list:
                fields[key] = [self.fill(v) if isinstance(v, gast.AST) else v for v in value]
        return new

    def name(self, n):
        from .syntax import clone

        template, binding, temps = self.template, self.binding, self.temps
        if n.id in binding.atoms:
            return clone(binding.atoms[n.id])
        if n.id in temps:
            return gast.Name(id=temps[n.id], ctx=n.ctx, annotation=None, type_comment=None)
        if n.id in template.globals:
            return binding.resolve_global(n.id, template.globals[n.id])
        import builtins

        if hasattr(builtins, n.id):
            return binding.resolve_global(n.id, getattr(builtins, n.id))
        raise RuleDefinitionError(f"rule {template.fn.__name__}: unknown name {n.id}",
                                  template.location)
