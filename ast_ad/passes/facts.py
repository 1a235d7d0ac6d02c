"""What the derivative passes know about the expressions they generate.

Forward names, adjoints (`bx`) and tangents (`dx`) all have the kind and
static shape of their primal; the passes use that to drop needless
unbroadcasting and to write zeros of the right shape.
"""

from __future__ import annotations

import types
import weakref

import gast
import numpy as np

from .. import anno, runtime, shapes
from ..context import Context
from ..errors import NoRuleError
from ..rules import registry
from ..syntax import attr, call, const, name, walk
from ..values import ARRAY, OTHER, SCALAR, UNKNOWN, Value, array, kind_of_value, of
from .resolve import user_function
from .values import Evaluator, known_shape

# Functions and methods whose result may share memory with their first argument:
# a view of it, or the array itself. A write or `+=` through the result changes it.
VIEWS = frozenset({
    "reshape", "ravel", "view", "transpose", "swapaxes", "moveaxis", "squeeze", "expand_dims",
    "flip", "fliplr", "flipud", "diagonal", "broadcast_to", "asarray", "asanyarray",
    "atleast_1d", "atleast_2d", "atleast_3d", "rollaxis", "rot90", "real", "real_if_close",
    "einsum", "diff",  # np.einsum("ij->ji", x) and np.diff(x, 0) may return views too
    "tuple"})  # tuple(items): the same arrays


# Names and strings that denote a floating dtype (np.float32, dtype="float32", ...).
_FLOAT_NAMES = frozenset({"float16", "float32", "float64", "half", "single", "double",
                          "longdouble", "f2", "f4", "f8"})


def mixed_precision(ctx: Context) -> bool:
    """Whether floats of another precision than the arguments' may meet in this function:
    float arrays of several dtypes among the arguments, or global or closure data, a
    function it calls, or a dtype it names, of another one. Adjoints then need not have
    their primals' dtypes (`1.0 * x32` is the adjoint of a float64 y in `sum(x32 * y)`),
    so gradients are cast back to their arguments' dtypes. Not known for a callee
    (argument dtypes unknown): its caller casts."""
    if ctx.mixed_precision is None:
        arrays = ctx.options.arrays
        if arrays is None or any(a is not None and a[0] is None for a in arrays):
            ctx.mixed_precision = False
        else:
            dtypes = {np.dtype(a[0]) for a in arrays if a is not None}
            floats = {d for d in dtypes if d.kind == "f"}
            ctx.mixed_precision = len(floats) > 1 or _other_precision(
                ctx.src.fn, floats.pop() if floats else np.dtype(np.float64), set())
    return ctx.mixed_precision


def _other_precision(fn, base, seen: set) -> bool:
    """Whether `fn` (or a Python function it refers to) reads or names floating data of
    another dtype than `base`, as far as its globals and closure show now."""
    if fn in seen or not isinstance(fn, types.FunctionType) or \
            (fn.__module__ or "").partition(".")[0] in ("numpy", "scipy", "ast_ad"):
        return False
    seen.add(fn)
    values = [c.cell_contents for c in fn.__closure__ or () if c != _EMPTY_CELL]
    codes = [fn.__code__]
    while codes:
        code = codes.pop()
        for n in code.co_names:
            if n in _FLOAT_NAMES and np.dtype(n) != base:
                return True
            if n in fn.__globals__:
                values.append(fn.__globals__[n])
        for c in code.co_consts:
            if isinstance(c, types.CodeType):
                codes.append(c)
            elif isinstance(c, str) and c in _FLOAT_NAMES and np.dtype(c) != base:
                return True
    for v in values:
        if isinstance(v, (np.ndarray, np.generic)) and v.dtype.kind in "fc" and v.dtype != base:
            return True
        if isinstance(v, types.FunctionType) and _other_precision(v, base, seen):
            return True
    return False


_EMPTY_CELL = types.CellType()


# NumPy's products of two operands, whose adjoints and tangents multiply them as arrays.
_PRODUCTS = (np.dot, np.matmul, np.inner, np.outer, np.vdot, np.tensordot, np.kron, np.cross)


class Facts:
    """Kinds and shapes of generated expressions, for one compilation."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.kinds = ctx.kinds
        # (through a weak reference: bound methods of self would make a reference cycle,
        # which only the collector frees, with everything it holds)
        me = weakref.ref(self)
        self.evaluator = Evaluator(ctx, lambda var: me()._lookup(var),
                                   lambda node: me()._parts(node))

    def select(self, templates: list, args: list, keywords: dict, primal, kind: str, stmt):
        """The first template whose signature binds the call and whose guard accepts it,
        with its bound atoms; else a NoRuleError saying why (the rule's note, if any)."""
        from ..templates import bind_call

        if isinstance(primal, np.ufunc) and primal.nin > 1:
            # (a ufunc of one list is differentiated: its derivative code multiplies the
            # list's tangent by arrays, `d[x] * np.cos(x)`, which makes it one)
            self.check_no_sequence(primal, args, stmt)
        elif primal in _PRODUCTS:  # (tensordot's axes may be a list: only the operands)
            self.check_no_sequence(primal, args[:2], stmt)
        why = None
        for template in templates:
            bound = bind_call(template, args, keywords)
            if isinstance(bound, dict) and (template.when is None or template.when(
                    {p: self.arg(a) for p, a in bound.items()})):
                return template, bound
            if isinstance(bound, dict):
                why = ""  # a guard refused: that says more than another template's signature
            elif why is None:
                why = f" ({bound})"
        rule = registry.lookup(primal)
        note = rule.note if rule is not None else ""
        raise self.ctx.error(
            NoRuleError, stmt, f"{describe_primal(primal)} is called with arguments its {kind} "
            f"rule does not support{why or ''}",
            (f"supported: {note}; " if note else "") + "see the coverage table (docs/coverage.md)")

    def check_no_sequence(self, primal, atoms: list, stmt) -> None:
        """A ufunc of two operands or a product (np.dot...) given a list or tuple, where
        values that carry a derivative take part: NumPy makes the list an array, but the
        rule's derivative code would treat it as a list (`dx + dy` joins two lists of
        tangents, `g * y` with a float g raises a TypeError), so it is rejected, naming
        the way to make the array first."""
        names = [a for a in atoms if isinstance(a, gast.Name)]
        if not any(a.id in self.ctx.varied for a in names):
            return
        for atom in names:
            value = self.value(atom)
            if value.container in ("list", "tuple"):
                raise self.ctx.error(
                    NoRuleError, stmt, f"{describe_primal(primal)} is given a "
                    f"{value.container} (`{self.ctx.src_name(atom.id)}`), with values that "
                    "carry a derivative",
                    "make it an array first: np.array([...]) or np.stack([...])")

    def callee_options(self, fn, args: list, keywords: dict, mode: str, carries, stmt):
        """How to compile a user function called here: Options for `mode` with the kinds and
        shapes of this call's arguments, differentiated where `carries(name)`; also the
        callee's parameters and the atoms bound to them."""
        import inspect

        from ..context import Options
        from ..source import describe

        signature = inspect.signature(fn)
        try:
            bound = signature.bind(*args, **keywords)
        except TypeError as exc:
            raise self.ctx.error(NoRuleError, stmt,
                                 f"cannot call {describe(fn)}: {exc}") from None
        params = [p for p in signature.parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        atoms = [bound.arguments.get(p.name) for p in params]
        argnums = tuple(i for i, a in enumerate(atoms)
                        if isinstance(a, gast.Name) and carries(a.id))
        kinds = tuple(self.kind(a) if a is not None else kind_of_value(p.default)
                      for a, p in zip(atoms, params))
        arrays = tuple((None, self.shape(a)) if k == ARRAY and a is not None else None
                       for a, k in zip(atoms, kinds))
        found = [self.value(a) if a is not None else of(p.default) for a, p in zip(atoms, params)]
        values = None
        if any(v.container is not None for v in found):  # what a list or tuple holds
            values = tuple(array(None, a[1]) if a is not None else v
                           for v, a in zip(found, arrays))
        # (only where it changes the code: a container differentiated in reverse mode; a
        # function calling itself otherwise still has its own options, and calls itself)
        callee = mode == "vjp" and any(found[i].container is not None for i in argnums)
        return Options(mode, argnums, True, kinds, arrays, values=values,
                       lazy=self.ctx.options.lazy, callee=callee), params, atoms, argnums

    def value(self, node: gast.AST) -> Value:
        """The abstract value of a generated expression (forward names, adjoints, calls):
        adjoints and tangents have their primal's."""
        found = self.evaluator.expr(node)
        return found if found is not None else UNKNOWN

    def kind(self, node: gast.AST) -> str:
        return self.value(node).kind

    def arg(self, node: gast.AST):
        """What a rule's guard is told about an argument (templates.Arg)."""
        from ..templates import Arg

        value = self.value(node)
        return Arg(node, value.kind, known_shape(value), value.triangle, value.container,
                   value.dtype)

    def shape(self, node: gast.AST):
        """The static shape of a generated expression, or None."""
        return known_shape(self.value(node))

    def _lookup(self, name: str):
        return self.ctx.values.get(self.ctx.primal_of.get(name, name))

    def _parts(self, node: gast.Call):
        """A generated call's (callee, positional atoms, keyword atoms); the callee is None
        for user and generated functions (what they return is not followed here)."""
        args, keywords = list(node.args), {k.arg: k.value for k in node.keywords}
        if isinstance(node.func, gast.Attribute) and node.func.attr == "copy" and not args:
            return np.copy, [node.func.value], keywords
        func = self._object(node.func)
        if user_function(func) and registry.lookup(func) is None and \
                func is not runtime.extremum_weights:  # (the evaluator knows its value)
            return None, args, keywords
        return func, args, keywords

    def shape_class(self, node: gast.AST):
        """A name standing for the shape of an array expression, "scalar", or None if unknown."""
        if isinstance(node, gast.Constant) or self.kind(node) == SCALAR:
            return SCALAR
        if isinstance(node, gast.Name):
            return self.ctx.shape_class.get(self.ctx.primal_of.get(node.id, node.id))
        if isinstance(node, gast.BinOp) and not isinstance(node.op, gast.MatMult):
            return _combine([self.shape_class(node.left), self.shape_class(node.right)])
        if isinstance(node, gast.UnaryOp):
            return self.shape_class(node.operand)
        if isinstance(node, gast.Call) and not node.keywords:
            import numpy

            if isinstance(self._object(node.func), numpy.ufunc):
                return _combine([self.shape_class(a) for a in node.args])
        return None

    def _object(self, node):
        if isinstance(node, gast.Name):
            return self.ctx.references.get(node.id)
        if isinstance(node, gast.Attribute):
            return getattr(self._object(node.value), node.attr, None)
        return None

    def zero(self, var: str) -> gast.AST:
        kind = self.kinds.get(var, OTHER)
        if kind == SCALAR:
            return const(0.0)
        if kind == ARRAY:
            import numpy

            return call(attr(self.ctx.reference(numpy, "np"), "zeros_like"), [name(var)])
        value = self.ctx.values.get(var)
        if value is not None and value.items is not None and value.items and all(
                v.kind == SCALAR for v in value.items) and value.container in ("tuple", "list"):
            # A tuple or list of numbers (a helper's `return a, b, c`): what zeros_like
            # would make, written out.
            return gast.List(elts=[const(0.0) for _ in value.items], ctx=gast.Load())
        if value is not None and value.keys is not None and value.items and all(
                v.kind in (SCALAR, ARRAY) or v.container is None for v in value.items):
            return self.keyed_zero(var, value)
        if value is not None and value.container in ("tuple", "list") and value.items and all(
                v.kind == ARRAY and v.dtype is not None and v.dtype.kind == "f"
                for v in value.items):
            # a tuple of float arrays (`for W, b in layers`): [np.zeros_like(t[0]), ...]
            items = [call(gast.Attribute(value=self.ctx.reference(np, "np"), attr="zeros_like",
                                         ctx=gast.Load()), [gast.Subscript(
                value=name(var), slice=const(i), ctx=gast.Load())])
                for i in range(len(value.items))]
            for item in items:
                anno.setanno(item, "zero", True)
            return gast.List(elts=items, ctx=gast.Load())
        return call(self.ctx.reference(runtime.zeros_like, "zeros_like"), [name(var)])

    def keyed_zero(self, var: str, value) -> gast.AST:
        """The zero adjoint of a dict, NamedTuple or dataclass of numbers and arrays, written
        out: `{"W": np.zeros_like(params["W"]), "b": 0.0}` (a list for a NamedTuple); None
        for a leaf that is neither a number nor an array (a string: its gradient is None)."""
        items = []
        argument = any(value is v for v in self.ctx.options.values or ())
        for key, item in zip(value.keys, value.items):
            if item is UNKNOWN and not argument:
                # an item of a local dict whose value is not known (a sum that starts at
                # 0 and adds arrays): a zero of its kind when the code runs, not None
                items.append(call(self.ctx.reference(runtime.zeros_like, "zeros_like"), [
                    gast.Subscript(value=name(var), slice=const(key), ctx=gast.Load())
                    if value.cls is None else
                    gast.Attribute(value=name(var), attr=key, ctx=gast.Load())]))
                continue
            if item.kind != ARRAY or item.dtype is None or item.dtype.kind != "f":
                # a number or an int array (its float adjoint starts as 0.0), or a string,
                # None...: not differentiated
                items.append(const(None if item.kind == OTHER else 0.0))
                continue
            if value.cls is None:
                part = gast.Subscript(value=name(var), slice=const(key), ctx=gast.Load())
            else:
                part = gast.Attribute(value=name(var), attr=key, ctx=gast.Load())
            items.append(call(gast.Attribute(value=self.ctx.reference(np, "np"),
                                             attr="zeros_like", ctx=gast.Load()), [part]))
        for item in items:
            anno.setanno(item, "zero", True)
        if value.container == "tuple":
            return gast.List(elts=items, ctx=gast.Load())
        return gast.Dict(keys=[const(k) for k in value.keys], values=items)

    def elide(self, node: gast.AST) -> gast.AST:
        """Drop `unbroadcast(g, x)` where g already has x's shape: nothing to sum."""
        nodes = walk(node)
        if not self._unbroadcasts(nodes):
            return node
        for sub in nodes:
            for field in sub._fields:
                value = getattr(sub, field, None)
                if type(value) is gast.Call and self._needless_unbroadcast(value):
                    setattr(sub, field, value.args[0])
        return node.args[0] if self._needless_unbroadcast(node) else node

    def spelled_out(self, node: gast.AST) -> gast.AST:
        """explicit_sums(elide(node)), with one walk to find the unbroadcast calls (if
        elide drops them all, there are none left to spell out)."""
        nodes = walk(node)
        found = sum(1 for n in nodes if type(n) is gast.Call
                    and self._object(n.func) is runtime.unbroadcast)
        if not found:
            return node
        dropped = 0
        for sub in nodes:  # (as elide)
            for field in sub._fields:
                value = getattr(sub, field, None)
                if type(value) is gast.Call and self._needless_unbroadcast(value):
                    setattr(sub, field, value.args[0])
                    dropped += 1
        if self._needless_unbroadcast(node):
            node = node.args[0]
            dropped += 1
        return node if dropped == found else _ExplicitSums(self).visit(node)

    def _needless_unbroadcast(self, node) -> bool:
        if not (isinstance(node, gast.Call) and self._object(node.func) is runtime.unbroadcast):
            return False
        g, x = node.args
        known = self.shape(x)
        if known is not None and self.shape(g) == known:
            return True
        same = self.shape_class(x)
        return same is not None and self.shape_class(g) == same

    def explicit_sums(self, node: gast.AST) -> gast.AST:
        """Write `unbroadcast(g, x)` with known shapes as the sums it does: np.sum(g, axis=0)."""
        if not self._unbroadcasts(walk(node)):
            return node
        return _ExplicitSums(self).visit(node)

    def _unbroadcasts(self, nodes: list) -> bool:
        """Whether one of `nodes` (a walk) calls unbroadcast (in most adjoints, none is
        left to elide or spell out)."""
        return any(type(n) is gast.Call and self._object(n.func) is runtime.unbroadcast
                   for n in nodes)

    def _sum(self, g: gast.AST, axes: tuple, keepdims: bool = False) -> gast.AST:
        if not axes:
            return g
        import numpy

        keywords = [gast.keyword(arg="axis", value=const(axes[0]) if len(axes) == 1 else
                                 gast.Tuple(elts=[const(a) for a in axes], ctx=gast.Load()))]
        if keepdims:
            keywords.append(gast.keyword(arg="keepdims", value=const(True)))
        if not keepdims and self.shape(g) is not None and len(axes) == len(self.shape(g)):
            keywords = []  # summing everything
        return call(gast.Attribute(value=self.ctx.reference(numpy, "np"), attr="sum",
                                   ctx=gast.Load()), [g], keywords)


class _ExplicitSums(gast.NodeTransformer):
    """Facts.explicit_sums (a class made once: making one per use was slow)."""

    def __init__(self, facts: Facts):
        self.facts = facts

    def visit_Call(self, call):
        self.generic_visit(call)
        facts = self.facts
        if facts._object(call.func) is not runtime.unbroadcast:
            return call
        g, x = call.args
        g_shape, x_shape = facts.shape(g), facts.shape(x)
        if g_shape is None or x_shape is None or len(g_shape) < len(x_shape):
            return call
        leading, ones = shapes.unbroadcast_axes(g_shape, x_shape)
        return facts._sum(facts._sum(g, ones, keepdims=True), leading)


def _combine(classes: list):
    found = set(classes) - {SCALAR}
    if not found:
        return SCALAR
    return found.pop() if len(found) == 1 and None not in found else None


def describe_primal(primal) -> str:
    """How an error message names a primitive: a function, an operator, a syntax form."""
    from ..source import describe

    if isinstance(primal, type) and issubclass(primal, gast.AST):
        return f"the operator {primal.__name__}"
    if isinstance(primal, tuple):
        return f"the method .{primal[1]}()"
    if isinstance(primal, str):  # ("attr:w": a read `v.w` of a value of no known class)
        return f"the attribute .{primal[5:]}" if primal.startswith("attr:") else primal
    return describe(primal)


def missing_rule(ctx: Context, primal, stmt, kind: str, what: str | None = None,
                 hint: str | None = None) -> NoRuleError:
    """The NoRuleError for a call to `primal` without a rule of `kind` ("adjoint" or
    "tangent"), at the user's call: a statement of generated code (hessian, grad of grad
    differentiate the code ast-ad made) is mapped back to the line of the user's function
    it came from. A rule of the other kind the user registered is named, with the way to
    give the missing one."""
    import linecache
    import re

    from .. import cache
    from ..errors import Location

    what = what or describe_primal(primal)
    location = ctx.location(stmt)
    mode = "reverse mode (grad, vjp, jacrev)" if kind == "adjoint" else \
        "forward mode (jvp, jacfwd, hessian)"
    called = ""
    place = cache.user_place(location.filename, location.lineno)
    if place is not None:  # generated code: point at the user's call
        filename, lineno, _, _, function = place
        line = linecache.getline(filename, lineno)
        named = getattr(primal, "__name__", None)
        found = re.search(rf"\b{re.escape(named)}\s*\(", line) if isinstance(named, str) \
            else None
        column = found.start() if found else len(line) - len(line.lstrip())
        location = Location(filename, lineno, column)
        called = f", here to differentiate the code ast-ad generated for {function}"
    rule = registry.lookup(primal)
    other = "tangents" if kind == "adjoint" else "adjoints"
    spelled = getattr(primal, "__name__", None) if not isinstance(primal, type) else None
    spelled = spelled if isinstance(spelled, str) else "..."
    if rule is not None and other in rule.user and getattr(rule, other):
        given = getattr(rule, other)[0]
        message = f"no {kind} rule for {what}: your {other[:-1]} rule {given.fn.__name__} " \
            f"({given.location}) has no {kind}, and {mode} needs one{called}"
        hint = f"register it with @ast_ad.register_{kind}({spelled}), or both at once with " \
            f"@ast_ad.register_derivative({spelled}) if {spelled} is element-wise"
    else:
        message = f"no {kind} rule for {what}" + (f" ({called[2:]})" if called else "")
        hint = hint or f"{mode} needs one; register it with @ast_ad.register_{kind}" \
            f"({spelled}) (see the README)"
    return NoRuleError(message, location, hint)
