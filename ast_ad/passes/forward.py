"""Forward mode: each primal statement followed by the statement computing its tangent.

    def f_jvp(x, y, dx, dy):
        t1 = x * y
        dt1 = dx * y + x * dy
        ...
        return value, dvalue

Tangent rules are templates (`d[y] = d[x] * lib.cos(x)`) beside the adjoint
ones. A tangent that is zero -- an input that carries no derivative -- is a
symbolic zero while the rule is filled in, so terms multiplied by it vanish
and `dz = dx + 0` is just `dz = dx`. Control flow needs nothing special: the
tangents are computed in the same branches and iterations as the values.
The same pass differentiates code ast-ad generated (for Hessians: the
generated gradient, with its stack of saved values, is itself transformed).
"""

from __future__ import annotations

import gast

from .. import algebra, anno, runtime
from ..context import Context
from ..errors import NoRuleError
from ..rules import registry
from ..syntax import (
    assign,
    call,
    clone,
    const,
    dotted_path,
    item_write,
    list_append,
    name,
    nodes_of,
    param_names,
    target_name,
    walk_statements,
)
from ..templates import Binding, instantiate
from ..values import ARRAY, SCALAR
from . import patterns
from .activity import NONDIFFERENTIABLE_ATTRIBUTES, differentiable_operands
from .facts import Facts, missing_rule
from .resolve import adds_at, call_parts, user_function

_ZERO = "__zero__"


def forward(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    return Forward(ctx, func).function()


def symbolic_zero(primal: gast.AST | None) -> gast.Call:
    """A symbolic zero tangent (of `primal`'s shape), removed or made concrete later."""
    return gast.Call(func=name(_ZERO), args=[clone(primal)] if primal is not None else [],
                     keywords=[])


def _is_field(ctx: Context, node: gast.Attribute) -> bool:
    """Whether `node` reads a field of a NamedTuple or dataclass the values pass knows."""
    base = ctx.values.get(node.value.id) if isinstance(node.value, gast.Name) else None
    return base is not None and base.cls is not None and base.keys is not None \
        and node.attr in base.keys


def is_symbolic_zero(node) -> bool:
    return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) \
        and node.func.id == _ZERO


class Forward(Facts):
    def __init__(self, ctx: Context, func: gast.FunctionDef):
        super().__init__(ctx)
        self.func = func
        # Tangents of values the output does not depend on (a loop condition's
        # np.max(...)) are never needed: only active names get one.
        self.varied = ctx.active
        self.params = param_names(func)
        # Arrays the code writes into: their tangents must be arrays of their own.
        self.written = {item_write(s)[0] for s in walk_statements(func.body) if item_write(s)}
        self.written |= {s.value.args[0].id for s in walk_statements(func.body)
                         if adds_at(s) and isinstance(s.value.args[0], gast.Name)}
        self.tangent_names: set[str] = set()
        self.instances: dict = {}  # pattern -> patterns.Instance (see rule_statement)
        self.facts_table: dict = {}
        self.recording: patterns.Recording | None = None

    def tangent(self, var: str) -> str:
        tan = self.ctx.namer.tangent(var)
        self.ctx.primal_of[tan] = var
        self.tangent_names.add(tan)
        if self.recording is not None:
            self.recording.derivatives.append(var)
        return tan

    def function(self) -> gast.FunctionDef:
        func = self.func
        ret = func.body[-1]
        body = self.block(func.body[:-1])
        value = ret.value
        tangent = self.tangent_of(value)
        if is_symbolic_zero(tangent):
            tangent = self.concrete(tangent)
        final = gast.Return(value=gast.Tuple(elts=[clone(value), tangent], ctx=gast.Load()))
        anno.setanno(final, "origin", anno.getanno(ret, "origin", ret))
        inputs = [self.params[i] for i in self.ctx.options.argnums]
        # A parameter that is not an input but a loop makes depend on one (`b = b * a`
        # carried around a loop) starts with a zero tangent.
        body = [assign(self.tangent(p), self.concrete(symbolic_zero(name(p))))
                for p in self.params if p in self.varied and p not in inputs] + body
        # The caller's tangent of a parameter the code writes into is copied first: the
        # writes mirrored into it (`dx[0] = ...`) must not change the caller's array.
        body = [assign(self.tangent(p), call(self.ctx.reference(runtime.copy_of, "copy_of"),
                                             [name(self.tangent(p))]))
                for p in inputs if p in self.written] + body
        anno.setanno_all(walk_statements(body), "section", "forward")
        func.body = body + [final]
        extra = [name(self.tangent(p)) for p in inputs]
        for arg in extra:
            arg.ctx = gast.Param()
        # f_jvp(x, y, dx, dy, *, k=...): the tangents follow the positional parameters,
        # which callers always pass (so they have no defaults).
        func.args.args = func.args.posonlyargs + func.args.args + extra
        func.args.posonlyargs = []
        func.args.defaults = []
        func.name = self.ctx.own_name("jvp")
        return func

    # -- zeros -------------------------------------------------------------------

    def tangent_of(self, atom: gast.AST) -> gast.AST:
        """The tangent of an atom: a tangent name, or a symbolic zero."""
        if isinstance(atom, gast.Name) and atom.id in self.varied:
            return name(self.tangent(atom.id))
        return symbolic_zero(atom)

    def concrete(self, node: gast.AST) -> gast.AST:
        """Replace the symbolic zeros left inside `node` by real zeros of the right shape."""
        if is_symbolic_zero(node):
            primal = node.args[0] if node.args else None
            if primal is None or self.kind(primal) == SCALAR:
                return const(0.0)
            if self.kind(primal) == ARRAY:
                import numpy

                return call(gast.Attribute(value=self.ctx.reference(numpy, "np"),
                                           attr="zeros_like", ctx=gast.Load()), [primal])
            return call(self.ctx.reference(runtime.zeros_like, "zeros_like"), [primal])
        for field, value in gast.iter_fields(node):
            if isinstance(value, gast.AST):
                setattr(node, field, self.concrete(value))
            elif isinstance(value, list):
                setattr(node, field, [self.concrete(v) if isinstance(v, gast.AST) else v
                                      for v in value])
        return node

    def fold_zeros(self, node: gast.AST) -> gast.AST:
        """Simplify a tangent expression holding symbolic zeros: terms with a zero factor
        vanish, sums drop zero terms, linear maps of zero are zero."""
        for field, value in gast.iter_fields(node):
            if isinstance(value, gast.AST):
                setattr(node, field, self.fold_zeros(value))
            elif isinstance(value, list):
                setattr(node, field, [self.fold_zeros(v) if isinstance(v, gast.AST) else v
                                      for v in value])
        if is_symbolic_zero(node):
            return node
        if isinstance(node, gast.BinOp):
            left, right = is_symbolic_zero(node.left), is_symbolic_zero(node.right)
            if isinstance(node.op, gast.Add):
                if left:
                    return node.right
                if right:
                    return node.left
            elif isinstance(node.op, gast.Sub):
                if right:
                    return node.left
                if left:
                    return gast.UnaryOp(op=gast.USub(), operand=node.right)
            elif isinstance(node.op, (gast.Mult, gast.MatMult)):
                if left or right:
                    return symbolic_zero(None)
            elif isinstance(node.op, (gast.Div, gast.FloorDiv, gast.Mod)):
                if left:
                    return symbolic_zero(None)
            return node
        if isinstance(node, gast.UnaryOp) and is_symbolic_zero(node.operand):
            return node.operand
        if isinstance(node, (gast.Subscript, gast.Attribute)) and is_symbolic_zero(node.value):
            return symbolic_zero(None)
        if isinstance(node, gast.Call):
            parts = list(node.args) + [k.value for k in node.keywords]
            if any(is_symbolic_zero(p) for p in parts) and not any(self.carries(p) for p in parts):
                return symbolic_zero(None)  # a term linear in a zero tangent
        return node

    def carries(self, node) -> bool:
        """Whether an expression holds a (non-zero) tangent."""
        return not is_symbolic_zero(node) and any(n.id in self.tangent_names
                                          for n in nodes_of(node, gast.Name))

    # -- statements ----------------------------------------------------------------

    def block(self, stmts: list) -> list:
        out = []
        for stmt in stmts:
            out.extend(self.stmt(stmt))
        return out

    def stmt(self, stmt) -> list:
        if isinstance(stmt, gast.If):
            stmt.body = self.block(stmt.body) or [gast.Pass()]
            stmt.orelse = self.block(stmt.orelse)
            return [stmt]
        if isinstance(stmt, (gast.For, gast.While)):
            stmt.body = self.block(stmt.body)
            return [stmt]
        target = target_name(stmt)
        if target is not None:
            return [stmt] + self.assign(stmt, target)
        written = item_write(stmt)
        if written is not None:
            array, index, value = written
            if array not in self.varied:
                return [stmt]
            tangent = self.concrete(self.tangent_of(value))
            store = gast.Subscript(value=name(self.tangent(array)), slice=clone(index),
                                   ctx=gast.Store())
            # The tangent is written first: its expression may read views of the
            # array (t = y[1]; y[1] = t * c) that the primal write changes.
            return [assign(store, tangent, stmt), stmt]
        appended = list_append(stmt)
        if appended is not None:
            items, value = appended
            if items not in self.varied:
                return [stmt]
            push = call(gast.Attribute(value=name(self.tangent(items)), attr="append",
                                       ctx=gast.Load()), [self.concrete(self.tangent_of(value))])
            return [stmt, anno.copyanno(stmt, gast.Expr(value=push))]
        if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call):
            mutation = self.mutating_call(stmt)
            if mutation is not None:
                return [stmt, mutation]
        return [stmt]

    def mutating_call(self, stmt):
        """np.add.at(bx, i, g) in generated code writes into bx: do the same to the tangents."""
        node = stmt.value
        if adds_at(stmt) and isinstance(node.args[0], gast.Name) \
                and node.args[0].id in self.varied:
            array, index, value = node.args
            tangent = self.concrete(self.tangent_of(value))
            new = call(clone(node.func), [name(self.tangent(array.id)), clone(index), tangent])
            return anno.copyanno(stmt, gast.Expr(value=new))
        return None

    def assign(self, stmt: gast.Assign, target: str) -> list:
        if target not in self.varied:
            popped = self.pops(stmt.value)
            if popped is not None:  # a constant popped off a stack of tangents: pop its tangent too
                pop = call(gast.Attribute(value=name(self.tangent(popped)), attr="pop",
                                          ctx=gast.Load()))
                return [anno.copyanno(stmt, gast.Expr(value=pop))]
            return []
        value = stmt.value
        phi = anno.getanno(stmt, "phi")
        if phi == "undefined":  # a loop header with no value yet: nor has its tangent
            return [assign(self.tangent(target), const(None), stmt)]
        if not any(op in self.varied for op in differentiable_operands(value)) \
                and not self.pops(value):
            # Varied only because it is written into later: starts with a zero tangent.
            return [self.define(target, symbolic_zero(name(target)), stmt)]
        if isinstance(value, (gast.Name, gast.Constant)) or phi:
            tangent = self.tangent_of(value)
        elif isinstance(value, gast.BinOp):
            return self.rule_statement(type(value.op), [value.left, value.right], {}, target,
                                       stmt)
        elif isinstance(value, gast.UnaryOp):
            return self.rule_statement(type(value.op), [value.operand], {}, target, stmt)
        elif isinstance(value, gast.Call) and anno.hasanno(value, "record"):
            # P(a, b): its tangent is P(da, db), an instance of the same class (as for
            # arguments of that class)
            tangent = anno.copyanno(value, gast.Call(
                func=clone(value.func),
                args=[self.concrete(self.tangent_of(a)) for a in value.args],
                keywords=[gast.keyword(arg=k.arg, value=self.concrete(self.tangent_of(k.value)))
                          for k in value.keywords]))
        elif isinstance(value, gast.Call):
            popped = self.pops(value)
            if popped is not None:
                tangent = call(gast.Attribute(value=name(self.tangent(popped)), attr="pop",
                                              ctx=gast.Load()))
            else:
                callee, args, keywords = call_parts(value)
                if registry.lookup(callee) is None and user_function(callee) \
                        and self.ctx.compile_callee is not None:
                    return self.call_user_function(callee, args, keywords, target, stmt)
                return self.rule_statement(callee, args, keywords, target, stmt)
        elif isinstance(value, gast.Subscript):
            if anno.hasanno(value, "indexer"):  # np.r_[x, y]
                raise self.ctx.error(
                    NoRuleError, stmt, f"no tangent rule for {dotted_path(value.value)}[...]",
                    "build the array with np.concatenate, np.stack, np.hstack or np.vstack")
            return self.rule_statement("getitem", [value.value, value.slice], {}, target, stmt)
        elif isinstance(value, (gast.Tuple, gast.List)):
            tangent = type(value)(elts=[self.concrete(self.tangent_of(e)) for e in value.elts],
                                  ctx=gast.Load())
        elif isinstance(value, gast.Dict):
            tangent = gast.Dict(keys=[clone(k) for k in value.keys], values=[
                self.concrete(self.tangent_of(v)) for v in value.values])
        elif isinstance(value, gast.Attribute) and _is_field(self.ctx, value):
            # p.w of a NamedTuple or dataclass: its tangent is an instance of the same class
            base = self.tangent_of(value.value)
            tangent = base if is_symbolic_zero(base) else gast.Attribute(
                value=base, attr=value.attr, ctx=gast.Load())
        elif isinstance(value, gast.Attribute) and value.attr not in NONDIFFERENTIABLE_ATTRIBUTES:
            return self.rule_statement("attr:" + value.attr, [value.value], {}, target, stmt)
        else:
            tangent = symbolic_zero(name(target))
        return [self.define(target, tangent, stmt)]

    def pops(self, value) -> str | None:
        """The list `stack` in `x = stack.pop()` (generated code), if it carries tangents."""
        if isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute) \
                and value.func.attr == "pop" and not value.args \
                and isinstance(value.func.value, gast.Name) and value.func.value.id in self.varied:
            return value.func.value.id
        return None

    def define(self, target: str, tangent: gast.AST, stmt) -> gast.AST:
        if is_symbolic_zero(tangent):
            tangent = symbolic_zero(name(target))
        tangent = self.concrete(self.fit(tangent, target))
        if target in self.written:  # written into below: must not share memory with another
            tangent = call(self.ctx.reference(runtime.copy_of, "copy_of"), [tangent])
        return assign(self.tangent(target), algebra.simplify(tangent), stmt)

    def fit(self, tangent: gast.AST, target: str) -> gast.AST:
        """A tangent has its primal's shape: broadcast one that may be smaller (dz = dx in
        z = x + W, with x a scalar and W an array)."""
        if is_symbolic_zero(tangent):
            return tangent
        expected = self.ctx.shapes.get(target)
        actual = self.shape(tangent)
        if expected is not None and actual == expected:
            return tangent
        if self.kinds.get(target) == SCALAR and self.kind(tangent) == SCALAR:
            return tangent
        if self.kinds.get(target) not in (SCALAR, ARRAY):
            return tangent  # tuples, lists, unknown values: kept as they are
        return call(self.ctx.reference(runtime.broadcast_like, "broadcast_like"),
                    [tangent, name(target)])

    # -- rules -------------------------------------------------------------------

    def rule_statement(self, primal, args: list, keywords: dict, target: str, stmt) -> list:
        """[the tangent statement of `target = primal(*args, **keywords)`]: its rule filled in
        full once per pattern of operands, then copied (see passes/patterns.py)."""
        rule = registry.lookup(primal)
        if rule is None or not rule.tangents:
            raise self.no_rule(primal, stmt)
        template, bound = self.select(rule.tangents, args, keywords, primal, "tangent", stmt)
        atoms = {template.result: name(target), **bound}
        # (define reads the target's static shape and whether it is written into; the
        # vector pass's subclasses keep more state per name: they fill every use in full)
        key = patterns.pattern(self, template, rule.lib, atoms, self.varied.__contains__,
                               self.facts_table, (self.ctx.shapes.get(target),
                                                  target in self.written)) \
            if type(self) is Forward else None
        held = self.instances.get(key) if key is not None else None
        if held is not None and not patterns.CHECK:
            return patterns.copy(held, atoms, self.tangent, self.ctx.namer.temp, stmt)[0]
        recording = self.recording = patterns.Recording()
        try:
            filled = patterns.marked(atoms) if key is not None else atoms
            out = [self.define(target, self.apply(primal, rule, template, filled, stmt,
                                                  recording), stmt)]
        finally:
            self.recording = None
        if key is not None and held is None:
            instance = patterns.remember(out, atoms, recording, self.ctx.namer.tangent, [],
                                         self.ctx.references)
            if instance is not None:
                self.instances[key] = instance
        if key is not None:
            patterns.unmark(out)
        if held is not None:  # (patterns.CHECK) a copy would make the same
            patterns.check(held, out, atoms, self.ctx.namer.tangent, recording, stmt)
        return out

    def apply(self, primal, rule, template, atoms: dict, stmt,
              recording: patterns.Recording) -> gast.AST:
        """The tangent expression of a rule's use, symbolic zeros folded."""
        def derivative(kind, param):
            if kind != "d":
                return None
            return self.tangent_of(atoms[param])

        def new_temp():
            temp = self.ctx.namer.temp()
            recording.temps.append(temp)
            return temp

        binding = Binding(atoms=atoms, derivative=derivative,
                          resolve_global=lambda n, obj: self.ctx.reference(obj, n),
                          lib=rule.lib, new_temp=new_temp)
        temps = {}
        result = None
        for item in instantiate(template, binding):
            if item[0] == "temp":
                temps[item[1]] = item[2]
            elif item[0] == "tangent":
                result = item[2]
        if result is None:
            raise self.no_rule(primal, stmt)
        # Temporaries are inlined: tangent rules are short, and zeros fold through them.
        for temp, value in reversed(list(temps.items())):  # later temporaries use earlier
            result = _replace(result, temp, value)
        return self.fold_zeros(result)

    def call_user_function(self, fn, args, keywords, target, stmt) -> list:
        """`z = g(a, b)`: g gets its own generated jvp function, called with the tangents."""
        options, params, atoms, argnums = self.callee_options(
            fn, args, keywords, "jvp", lambda var: var in self.varied, stmt)
        functions = self.ctx.compile_callee(fn, options, self.ctx.location(stmt))
        if functions is None:  # the function calls itself: its jvp calls itself
            stmt.value.func = name(self.ctx.own_name("jvp"))
        else:
            (jvp_fn,) = functions
            self.ctx.callees.append(jvp_fn.__ast_ad_source__)
            stmt.value.func = self.ctx.reference(jvp_fn, jvp_fn.__name__)
        tangents = [name(self.tangent(atoms[i].id)) for i in argnums]
        if params and params[-1].kind == params[-1].KEYWORD_ONLY:
            stmt.value.keywords += [gast.keyword(arg=self.tangent(params[i].name), value=t)
                                    for i, t in zip(argnums, tangents)]
        else:
            # Positional: fill every parameter so the tangents land after them.
            stmt.value.args = [clone(a) if a is not None else self.default(p)
                               for a, p in zip(atoms, params)] + tangents
            stmt.value.keywords = []
        stmt.targets = [gast.Tuple(elts=[name(target, store=True),
                                         name(self.tangent(target), store=True)],
                                   ctx=gast.Store())]
        return []

    def default(self, param) -> gast.AST:
        """A default the call leaves out, passed explicitly: a literal as itself, anything
        else (an array, an object) by reference (printed, `array([1., 2.])` is no
        expression, and a long one prints with `...` in it)."""
        if _literal(param.default):
            return gast.Constant(value=param.default, kind=None)
        return self.ctx.reference(param.default, f"{param.name}_default")

    def no_rule(self, primal, stmt) -> NoRuleError:
        return missing_rule(self.ctx, primal, stmt, "tangent")


def _literal(value) -> bool:
    """Whether `value` prints as a literal that evaluates to an equal value of its type."""
    cls = value.__class__
    if value is None or value is Ellipsis or cls in (bool, int, float, str, bytes):
        return True
    return cls is tuple and all(_literal(v) for v in value)


def _replace(node, var: str, value):
    class Replace(gast.NodeTransformer):
        def visit_Name(self, n):
            return clone(value) if n.id == var and isinstance(n.ctx, gast.Load) else n

    return Replace().visit(node)

