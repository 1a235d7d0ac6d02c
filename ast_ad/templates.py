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

A derivative is declared once where the math allows, and the other template is
derived from it (`elementwise_tangent`, `linear_tangent`): the derived template is
the one a person would write, node for node.
"""

from __future__ import annotations

import builtins
import inspect
import textwrap
from dataclasses import dataclass, field
from typing import Any, Callable

import gast

from .errors import Location, RuleDefinitionError
from .syntax import clone

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
    container: str | None = None  # "list", "tuple", "dict" or "object" (values.Value's)
    dtype: object = None  # a NumPy dtype; None for a Python number (or not known)

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
    return _builder(template, node)(_Filler(template, binding, temps))


# id(template expression) -> (the expression, its template, its builder); both are kept
# (rules live as long as the registry), so their ids stay theirs
_BUILDERS: dict = {}


def _builder(template: Template, node: gast.AST):
    """A function of a _Filler that makes what _Filler.fill(node) makes, in the same order
    (names are resolved, temporaries and adjoints named, as fill reaches them): the
    decisions that depend on the template alone are taken once per template expression,
    not at every use of the rule."""
    held = _BUILDERS.get(id(node))
    if held is not None and held[0] is node and held[1] is template:
        return held[2]
    build = _compile(template, node)
    _BUILDERS[id(node)] = (node, template, build)
    return build


def _compile(template: Template, n: gast.AST):
    cls = n.__class__
    if cls is gast.Name:
        return lambda filler: filler.name(n)
    if cls is gast.Subscript:
        ref = placeholder(n)
        if ref is not None:
            def derivative(filler):
                found = filler.binding.derivative(*ref)
                return found if found is not None else gast.Constant(value=0.0, kind=None)
            return derivative
    elif cls is gast.Attribute and isinstance(n.value, gast.Name) and n.value.id == "lib" \
            and "lib" not in template.params:
        attr = n.attr

        def lib(filler):
            module = filler.binding.lib
            preferred = "np" if module.__name__ == "numpy" else module.__name__
            return gast.Attribute(value=filler.binding.resolve_global(preferred, module),
                                  attr=attr, ctx=gast.Load())
        return lib
    base = n.__dict__
    parts = []  # (field, builder) or (field, [builder or value]), in field order
    for key in cls._fields:
        value = base.get(key)
        if isinstance(value, gast.AST):
            parts.append((key, _compile(template, value)))
        elif type(value) is list:
            parts.append((key, [_compile(template, v) if isinstance(v, gast.AST) else _Value(v)
                                for v in value]))

    def build(filler):
        fields = {key: dict(value) if type(value) is dict else value  # (annotations)
                  for key, value in base.items()}
        for key, part in parts:
            fields[key] = part(filler) if type(part) is not list else [p(filler) for p in part]
        new = cls.__new__(cls)
        new.__dict__ = fields
        return new
    return build


class _Value:
    """A list item of a template expression that is not a node: kept as it is."""

    def __init__(self, value):
        self.value = value

    def __call__(self, filler):
        return self.value


class _Filler:
    """Copies a template expression and fills it in one pass, depth first in field order
    (the order names are resolved in). `fill` says what filling is; the builders
    (_builder) do the same faster, and a test checks they agree on every rule."""

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
        template, binding, temps = self.template, self.binding, self.temps
        if n.id in binding.atoms:
            return clone(binding.atoms[n.id])
        if n.id in temps:
            return gast.Name(id=temps[n.id], ctx=n.ctx, annotation=None, type_comment=None)
        if n.id in template.globals:
            return binding.resolve_global(n.id, template.globals[n.id])
        if hasattr(builtins, n.id):
            return binding.resolve_global(n.id, getattr(builtins, n.id))
        raise RuleDefinitionError(f"rule {template.fn.__name__}: unknown name {n.id}",
                                  template.location)


# -- templates derived from one declaration ---------------------------------------------


def elementwise_tangent(template: Template) -> Template:
    """The tangent of an element-wise function, from its adjoint.

    An element-wise function's Jacobian is diagonal (per input, after broadcasting), so
    it is its own transpose: where the adjoint adds `seed * f_x` (summed back to x's shape
    by `unbroadcast(..., x)`) to b[x], the tangent is the sum of `d[x] * f_x` over the
    inputs. The adjoint's temporaries are kept; they must not use the seed b[result]
    (each input's term has its own). A term negated in front, `-b[y] * g`, is subtracted:
    `d[x] - d[y] * g` rather than `d[x] + -d[y] * g`.
    """
    result = template.result
    temps, terms = [], []
    for stmt in template.body:
        target = stmt.targets[0]
        if isinstance(target, gast.Name):
            if _mentions(stmt.value, "b"):
                raise _underivable(template, stmt, "a temporary uses an adjoint")
            temps.append(clone(stmt))
            continue
        ref = placeholder(target)
        if ref is None or ref[0] != "b" or ref[1] == result:
            raise _underivable(template, stmt, "only b[input] = ... statements derive a tangent")
        value = stmt.value
        if (isinstance(value, gast.Call) and isinstance(value.func, gast.Name)
                and value.func.id == "unbroadcast" and len(value.args) == 2
                and isinstance(value.args[1], gast.Name) and value.args[1].id == ref[1]):
            value = value.args[0]
        if any(r[1] != result for r in _placeholders(value)) or not _placeholders(value):
            raise _underivable(template, stmt, f"b[{ref[1]}] is not linear in b[{result}] alone")
        terms.append(_with_seed(value, ref[1]))
    if not terms:
        raise _underivable(template, template.body[0] if template.body else None,
                           "no b[input] = ... statement")
    total = terms[0]
    for term in terms[1:]:
        negated = _strip_negation(term)
        total = gast.BinOp(left=total, op=gast.Sub() if negated is not None else gast.Add(),
                           right=negated if negated is not None else term)
    tangent = gast.Assign(targets=[_ref("d", result, store=True)], value=total,
                          type_comment=None)
    return _derived(template, temps + [tangent], template.body[-1])


def linear_tangent(template: Template, call: gast.AST, linear: tuple,
                   keywords: tuple = ()) -> Template:
    """The tangent of a function linear in its parameters `linear`: the function itself,
    applied to their tangents (the other arguments as they are). Parameters are passed in
    order, by position, except those in `keywords` and keyword-only ones (`axis=axis`)."""
    params = list(template.signature.parameters.values())
    unknown = [p for p in linear + keywords if p not in template.signature.parameters]
    if unknown or not linear:
        raise RuleDefinitionError(
            f"rule {template.fn.__name__}: {', '.join(unknown) or 'no'} linear parameter(s)",
            template.location, f"parameters are {', '.join(template.params[1:])}")
    args, kwargs = [], []
    for p in params:
        value = _ref("d", p.name) if p.name in linear else gast.Name(
            id=p.name, ctx=gast.Load(), annotation=None, type_comment=None)
        if p.name in keywords or p.kind == p.KEYWORD_ONLY:
            kwargs.append(gast.keyword(arg=p.name, value=value))
        elif kwargs:
            raise RuleDefinitionError(
                f"rule {template.fn.__name__}: {p.name} is passed by position after a keyword",
                template.location, "list it in keywords too")
        else:
            args.append(value)
    tangent = gast.Assign(targets=[_ref("d", template.result, store=True)],
                          value=gast.Call(func=call, args=args, keywords=kwargs),
                          type_comment=None)
    return _derived(template, [tangent], template.body[0] if template.body else None)


def _derived(template: Template, body: list, place) -> Template:
    """A template with `body` in place of `template`'s (same parameters, module, guard);
    new nodes get the line of `place`, the statement they come from."""
    if place is not None:
        for stmt in body:
            for node in gast.walk(stmt):
                if "lineno" in node._attributes and not hasattr(node, "lineno"):
                    gast.copy_location(node, place)
    temporaries = {s.targets[0].id for s in body if isinstance(s.targets[0], gast.Name)}
    targets = {placeholder(s.targets[0])[1] for s in body
               if not isinstance(s.targets[0], gast.Name)}
    return Template(template.fn, template.params, template.signature, body, template.globals,
                    template.location, temporaries, targets, when=template.when)


def _ref(kind: str, param: str, store: bool = False) -> gast.Subscript:
    return gast.Subscript(
        value=gast.Name(id=kind, ctx=gast.Load(), annotation=None, type_comment=None),
        slice=gast.Name(id=param, ctx=gast.Load(), annotation=None, type_comment=None),
        ctx=gast.Store() if store else gast.Load())


def _placeholders(node) -> list[tuple[str, str]]:
    return [ref for ref in map(placeholder, gast.walk(node)) if ref is not None]


def _mentions(node, kind: str) -> bool:
    return any(ref[0] == kind for ref in _placeholders(node))


def _with_seed(node, param: str):
    """A copy of `node` with b[result] (the seed) replaced by d[param]."""
    class Seed(gast.NodeTransformer):
        def visit_Subscript(self, n):
            return _ref("d", param) if placeholder(n) is not None else self.generic_visit(n)

    return Seed().visit(clone(node))


def _strip_negation(term):
    """`X` for a term `-X`, or `-X * g / h` (negated leftmost factor): `X * g / h`."""
    if isinstance(term, gast.UnaryOp) and isinstance(term.op, gast.USub):
        return term.operand
    if isinstance(term, gast.BinOp) and isinstance(term.op, (gast.Mult, gast.Div)):
        left = _strip_negation(term.left)
        if left is not None:
            return gast.BinOp(left=left, op=term.op, right=term.right)
    return None


def _underivable(template: Template, stmt, why: str) -> RuleDefinitionError:
    where = template.location if stmt is None or not hasattr(stmt, "lineno") else Location(
        template.location.filename,
        template.fn.__code__.co_firstlineno + stmt.lineno - 1, stmt.col_offset)
    return RuleDefinitionError(
        f"cannot derive the tangent of element-wise rule {template.fn.__name__}: {why}", where,
        "write b[x] = <expression linear in the result's adjoint> for each input x, or give "
        "the adjoint and the tangent as two rules")
