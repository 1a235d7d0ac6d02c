"""Lower expressions to A-normal form: one primitive operation per statement.

After this pass the function body contains only these statement forms, where
an *atom* is a Name, a Constant, or a dotted reference to a non-local name
(`np.pi`, a global array):

    x = atom
    x = atom <binop> atom
    x = <unaryop> atom
    x = atom <cmpop> atom
    x = callee(atom, ..., key=atom, ...)      callee: dotted non-local name, or atom.method
    x = atom.attr
    x = atom[index]                           index: atoms, slices of atoms, tuples of those
    x = (atom, ...)   |   x = [atom, ...]   |   x = {"key": atom, ...}   (constant keys)
    x = f"...{atom}..."
    atom[index] = atom
    callee(atom, ...)                          a call kept for its side effect (print)
    assert atom[, atom]   |   raise atom
    return atom
    if atom: ... else: ...
    for x in range(atom[, atom[, atom]]): ...
    while atom: ...            (the condition is recomputed at the end of the body)
    break   |   continue

Statements keep an "origin" annotation: the user expression they came from.
"""

from __future__ import annotations

import builtins
from typing import Callable

import gast

from .. import anno
from ..context import Context
from ..errors import UnsupportedSyntaxError
from ..syntax import (
    assign,
    clone,
    const,
    copy_location,
    dotted_path,
    is_constant,
    local_names,
    name,
    rename,
    root_name,
    walk,
)
from . import comprehensions
from .builtin_names import builtin_name
from .keywords import read_keywords
from .resolve import Scope


def anf(func: gast.FunctionDef, ctx: Context,
        prepare: Callable[[gast.FunctionDef], gast.FunctionDef],
        helper: Callable[[str, set], gast.FunctionDef | None] = lambda name, names: None,
        method: Callable[[str, set], gast.FunctionDef | None] = lambda name, names: None,
        ) -> gast.FunctionDef:
    """Return `func` with its body in A-normal form (see the module docstring).

    A local function is inlined where it is called; `prepare` first brings a copy of it
    to the forms `func` had on entry (the pipeline passes its stages before this one).
    So is a small helper of the same module: `helper(name, names the function uses)`
    gives its tree, prepared, when it can be inlined (see pipeline.inlinable_helper)."""
    lowering = _Lowering(ctx, local_names(func), prepare, helper)
    params = func.args.posonlyargs + func.args.args
    if ctx.options.self_class is not None and params:  # a bound method: `self.m(...)`
        self_name = params[0].id  # is inlined, unless `self` is assigned to
        stored = {n.id for n in walk(func) if isinstance(n, gast.Name)
                  and isinstance(n.ctx, gast.Store)}
        if self_name not in stored:
            lowering.self_name, lowering.method = self_name, method
    func.body = lowering.block(func.body)
    return func


_BINOP = gast.BinOp

# node class -> _Lowering's method for it (stmt_If, expr_Call...), found once
_STMT_METHODS: dict = {}
_EXPR_METHODS: dict = {}


class _Lowering:
    def __init__(self, ctx: Context, locals_: set[str], prepare, helper):
        self.ctx = ctx
        self.locals = locals_
        self.prepare = prepare
        self.helper = helper
        self.nested: dict[str, gast.FunctionDef] = {}  # local functions, inlined where called
        self.inlining: list[str] = []
        self.consumed: set[int] = set()  # generator expressions a call consumes as a list
        self.around: tuple = ()  # the withitems around the call being inlined
        self.self_name, self.method = None, None  # a bound method's self, and its methods

    # -- statements ---------------------------------------------------------

    def block(self, stmts: list) -> list:
        out: list = []
        for stmt in stmts:
            self.stmt(stmt, out)
        return out

    def stmt(self, node: gast.AST, out: list) -> None:
        method = _STMT_METHODS.get(node.__class__)
        if method is None:
            method = _STMT_METHODS[node.__class__] = getattr(type(self),
                                                             "stmt_" + type(node).__name__)
        method(self, node, out)

    def emit(self, out: list, stmt: gast.AST, origin: gast.AST) -> None:
        if not anno.hasanno(stmt, "origin"):
            anno.setanno(stmt, "origin", anno.getanno(origin, "origin", origin))
        if self.around:  # a function inlined inside `with` blocks (see passes/managers.py)
            source = anno.getanno(stmt, "origin")
            if not anno.hasanno(source, "managers"):
                anno.setanno(source, "managers", self.around)
        out.append(stmt)

    def stmt_FunctionDef(self, node: gast.FunctionDef, out: list) -> None:
        self.nested[node.name] = node

    def stmt_Assign(self, node: gast.Assign, out: list) -> None:
        targets = node.targets
        if isinstance(node.value, gast.Lambda):  # square = lambda v: v * v
            lam = node.value
            ret = gast.copy_location(gast.Return(value=lam.body), lam.body)
            self.nested[targets[0].id] = gast.copy_location(gast.FunctionDef(
                name=targets[0].id, args=lam.args, body=[ret], decorator_list=[],
                returns=None, type_comment=None, type_params=[]), lam)
            return
        if len(targets) == 1 and isinstance(targets[0], gast.Name):
            self.emit(out, assign(targets[0].id, self.expr(node.value, out), node.value), node)
            return
        if len(targets) == 1 and isinstance(targets[0], (gast.Tuple, gast.List)) and isinstance(
            node.value, (gast.Tuple, gast.List)
        ) and len(targets[0].elts) == len(node.value.elts):
            self.unpack_display(targets[0], node.value, out)
            return
        value = self.atom(node.value, out)
        for target in targets:
            self.store(target, value, out, node)

    def unpack_display(self, target, value, out) -> None:
        # `a, b = b, a`: evaluate every right-hand side before assigning any target.
        written = {n.id for n in walk(target) if isinstance(n, gast.Name)}
        atoms = []
        for elt in value.elts:
            atom = self.atom(elt, out)
            if isinstance(atom, gast.Name) and atom.id in written:
                atom = self.to_temp(atom, out, elt)
            atoms.append(atom)
        for sub_target, atom in zip(target.elts, atoms):
            self.store(sub_target, atom, out, value)

    def store(self, target: gast.AST, value: gast.AST, out: list, origin: gast.AST) -> None:
        """Assign an atom to any target: a name, a subscript, or a (nested) tuple of those."""
        if isinstance(target, gast.Name):
            self.emit(out, assign(target.id, value, origin), origin)
        elif isinstance(target, gast.Subscript):
            self.emit(out, assign(self.subscript(target, out, store=True), value, origin), origin)
        else:  # tuple or list target: unpack by position
            for i, elt in enumerate(target.elts):
                item = gast.Subscript(value=value, slice=const(i), ctx=gast.Load())
                self.store(elt, self.atom(item, out, origin=origin), out, origin)

    def stmt_AugAssign(self, node: gast.AugAssign, out: list) -> None:
        # `x op= e` rebinds x to `x op e` (as JAX does), even for arrays.
        load = gast.Subscript(value=node.target.value, slice=node.target.slice, ctx=gast.Load()) \
            if isinstance(node.target, gast.Subscript) else name(node.target.id)
        gast.copy_location(load, node.target)
        if isinstance(node.target, gast.Subscript):
            # Evaluate the index once, as Python does.
            index = self.index(node.target.slice, out)
            base = self.atom(node.target.value, out)
            load = gast.Subscript(value=base, slice=index, ctx=gast.Load())
            combined = gast.BinOp(left=load, op=node.op, right=node.value)
            result = self.atom(combined, out, origin=node)
            store = gast.Subscript(value=base, slice=clone(index), ctx=gast.Store())
            self.emit(out, assign(store, result, node), node)
            return
        value = gast.BinOp(left=load, op=node.op, right=node.value)
        gast.copy_location(value, node)
        rebind = assign(node.target.id, self.expr(value, out), node)
        anno.setanno(rebind, "augmented", True)  # see passes/aliases.py
        self.emit(out, rebind, node)

    def stmt_AnnAssign(self, node: gast.AnnAssign, out: list) -> None:
        self.stmt_Assign(gast.copy_location(gast.Assign(
            targets=[node.target], value=node.value, type_comment=None), node), out)

    def stmt_Return(self, node: gast.Return, out: list) -> None:
        value = self.atom(node.value, out) if node.value is not None else const(None)
        self.emit(out, gast.Return(value=value), node)

    def stmt_Expr(self, node: gast.Expr, out: list) -> None:
        if isinstance(node.value, gast.Call):
            self.emit(out, gast.Expr(value=self.expr(node.value, out)), node)
        elif not isinstance(node.value, gast.Constant):  # docstrings vanish
            self.expr(node.value, out)

    def stmt_Pass(self, node, out) -> None:
        pass

    def stmt_Break(self, node, out) -> None:
        self.emit(out, node, node)

    stmt_Continue = stmt_Break

    def stmt_Assert(self, node: gast.Assert, out: list) -> None:
        test = self.atom(node.test, out)
        msg = self.atom(node.msg, out) if node.msg is not None else None
        self.emit(out, gast.Assert(test=test, msg=msg), node)

    def stmt_Raise(self, node: gast.Raise, out: list) -> None:
        exc = self.atom(node.exc, out) if node.exc is not None else None
        self.emit(out, gast.Raise(exc=exc, cause=None), node)

    def stmt_If(self, node: gast.If, out: list) -> None:
        test = self.atom(node.test, out)
        if isinstance(test, gast.Constant):  # `if False:` -- only one branch can run
            for stmt in node.body if test.value else node.orelse:
                self.stmt(stmt, out)
            return
        lowered = gast.If(test=test, body=self.block(node.body), orelse=self.block(node.orelse))
        self.emit(out, anno.copyanno(node, lowered), node)

    def stmt_For(self, node: gast.For, out: list) -> None:
        # The loops pass has turned every for loop into one over range(...).
        it = node.iter
        args = [self.atom(a, out) for a in it.args]
        loop = gast.For(target=node.target, iter=gast.Call(func=it.func, args=args, keywords=[]),
                        body=self.block(node.body), orelse=[], type_comment=None)
        self.emit(out, loop, node)

    def stmt_While(self, node: gast.While, out: list) -> None:
        test = self.atom(node.test, out)
        body = self.block(node.body)
        if not self.is_atom(node.test):
            # A computed condition: compute it again at the end of every iteration.
            recompute: list = []
            again = self.atom(node.test, recompute)
            last = recompute[-1] if recompute else None
            if isinstance(again, gast.Name) and isinstance(last, gast.Assign) \
                    and last.targets[0].id == again.id and again.id not in self.locals:
                last.targets[0].id = test.id
            else:
                self.emit(recompute, assign(test.id, again, node.test), node.test)
            body += recompute
        self.emit(out, gast.While(test=test, body=body, orelse=[]), node)

    # -- expressions --------------------------------------------------------

    def is_atom(self, node: gast.AST) -> bool:
        if isinstance(node, (gast.Name, gast.Constant)):
            return True
        if isinstance(node, gast.Attribute):
            root = root_name(node)
            return root is not None and root not in self.locals
        return False

    def atom(self, node: gast.AST, out: list, origin: gast.AST | None = None) -> gast.AST:
        """Lower `node` and return an atom holding its value."""
        value = self.expr(node, out)
        if self.is_atom(value):
            return value
        return self.to_temp(value, out, origin or node)

    def new_temp(self) -> str:
        temp = self.ctx.namer.temp()
        self.locals.add(temp)
        return temp

    def to_temp(self, value: gast.AST, out: list, origin: gast.AST) -> gast.Name:
        temp = self.new_temp()
        self.emit(out, assign(temp, value, origin), origin)
        return name(temp)

    def expr(self, node: gast.AST, out: list) -> gast.AST:
        """Lower `node` to a single primitive whose operands are atoms."""
        method = _EXPR_METHODS.get(node.__class__)
        if method is None:
            method = _EXPR_METHODS[node.__class__] = getattr(type(self),
                                                             "expr_" + type(node).__name__)
        result = method(self, node, out)
        if result is not node and not isinstance(result, (gast.Name, gast.Constant)):
            copy_location(result, node)
        origin = anno.getanno(node, "origin", node)
        if origin is not result:  # (a node is its own origin without saying so: no cycle)
            anno.setanno(result, "origin", origin)
        return result

    def expr_Name(self, node, out):
        if node.id in self.nested:
            raise self.ctx.error(
                UnsupportedSyntaxError, node,
                f"unsupported: using the local function {node.id} as a value",
                "call it directly; ast-ad inlines local functions where they are called")
        return name(node.id)

    def expr_Constant(self, node, out):
        return node

    def expr_BinOp(self, node, out):
        left = self.atom(node.left, out)
        new = _BINOP.__new__(_BINOP)  # (as gast.BinOp(left=..., op=..., right=...) builds it)
        new.__dict__ = {"left": left, "op": node.op, "right": self.atom(node.right, out)}
        return new

    def expr_UnaryOp(self, node, out):
        operand = self.atom(node.operand, out)
        if isinstance(node.op, (gast.USub, gast.UAdd)) and is_constant(operand) \
                and isinstance(operand.value, (int, float)) and not isinstance(operand.value, bool):
            return const(-operand.value if isinstance(node.op, gast.USub) else operand.value)
        return gast.UnaryOp(op=node.op, operand=operand)

    def expr_Compare(self, node, out):
        left = self.atom(node.left, out)
        if len(node.ops) == 1:
            return gast.Compare(left=left, ops=node.ops, comparators=[
                self.atom(node.comparators[0], out)])
        # a < b < c: evaluate b once, and c only when a < b holds.
        result = self.new_temp()
        self._chain(result, left, node.ops, node.comparators, out, node)
        return name(result)

    def _chain(self, result, left, ops, comparators, out, origin):
        right = self.atom(comparators[0], out)
        test = gast.Compare(left=left, ops=[ops[0]], comparators=[right])
        self.emit(out, assign(result, test, origin), origin)
        if len(ops) > 1:
            rest: list = []
            self._chain(result, right, ops[1:], comparators[1:], rest, origin)
            self.emit(out, gast.If(test=name(result), body=rest, orelse=[]), origin)

    def expr_BoolOp(self, node, out):
        # `a and b` is `a` if `a` is falsy, else `b`; `b` is only evaluated when needed.
        result = self.new_temp()
        self._boolop(result, node.op, node.values, out, node)
        return name(result)

    def _boolop(self, result, op, values, out, origin):
        self.emit(out, assign(result, self.expr(values[0], out), values[0]), origin)
        if len(values) > 1:
            rest: list = []
            self._boolop(result, op, values[1:], rest, origin)
            test = name(result)
            if isinstance(op, gast.Or):
                test = self.to_temp(gast.UnaryOp(op=gast.Not(), operand=test), out, origin)
            self.emit(out, gast.If(test=test, body=rest, orelse=[]), origin)

    def expr_IfExp(self, node, out):
        test = self.atom(node.test, out)
        if isinstance(test, gast.Constant):
            return self.expr(node.body if test.value else node.orelse, out)
        result = self.new_temp()
        body: list = []
        orelse: list = []
        self.emit(body, assign(result, self.expr(node.body, body), node.body), node.body)
        self.emit(orelse, assign(result, self.expr(node.orelse, orelse), node.orelse), node.orelse)
        self.emit(out, gast.If(test=test, body=body, orelse=orelse), node)
        return name(result)

    def expr_Call(self, node, out):
        func = node.func
        if any(isinstance(a, (gast.ListComp, gast.GeneratorExp)) for a in node.args):
            folded = self.consume(node, out)
            if folded is not None:
                return folded
        if isinstance(func, gast.Name) and len(node.args) > 2 and not node.keywords \
                and not any(isinstance(a, gast.Starred) for a in node.args) \
                and any(Scope(self.ctx, self.locals).value(func.id) is f
                        for f in comprehensions.FOLDS):
            # max(a, b, c) is max(max(a, b), c): the first of equal ones, as Python's
            pair = gast.copy_location(gast.Call(func=func, args=node.args[:2], keywords=[]),
                                      node)
            return self.expr_Call(gast.copy_location(gast.Call(
                func=clone(func), args=[pair] + node.args[2:], keywords=[]), node), out)
        if isinstance(func, gast.Name) and func.id in self.nested:
            return self.inline(self.nested[func.id], node, out)
        if isinstance(func, gast.Name) and func.id not in self.locals \
                and func.id not in self.inlining:
            helper = self.helper(func.id, self.locals)
            if helper is not None:
                return self.inline(helper, node, out, prepared=True)
        if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) \
                and func.value.id == self.self_name:  # self.predict(x), in a bound method
            method = self.method(func.attr, self.locals)
            if method is not None:
                bound = gast.Call(func=name(method.name), args=[name(self.self_name)]
                                  + node.args, keywords=node.keywords)
                return self.inline(method, gast.copy_location(bound, node), out, prepared=True)
        if not self.is_atom(func):
            if isinstance(func, gast.Attribute):  # a method: x.sum(), (a + b).reshape(...)
                func = gast.Attribute(value=self.atom(func.value, out), attr=func.attr,
                                      ctx=gast.Load())
            else:
                func = self.atom(func, out)
        args = [self.atom(a, out) for a in node.args]
        keywords = [gast.keyword(arg=k.arg, value=self.atom(k.value, out)) for k in node.keywords]
        return gast.Call(func=func, args=args, keywords=keywords)

    def inline(self, fn: gast.FunctionDef, call_node: gast.Call, out: list,
               prepared: bool = False) -> gast.AST:
        """Lower a call of a local function as its body, with its own names made fresh.

        The body reads the enclosing function's variables as they are at the call,
        as a Python closure does."""
        if fn.name in self.inlining:
            raise self.ctx.error(
                UnsupportedSyntaxError, call_node, f"unsupported: {fn.name} calls itself",
                "define it at module level (a module function may call itself), or write "
                "the recursion as a loop")
        body = gast.FunctionDef(name=fn.name, args=clone(fn.args), body=clone(fn.body),
                                decorator_list=[], returns=None, type_comment=None,
                                type_params=[])
        params = body.args.posonlyargs + body.args.args + body.args.kwonlyargs
        packs = [a for a in (body.args.vararg, body.args.kwarg) if a is not None]
        own = {p.id for p in params + packs} | {n.id for n in walk(body)
                                                if isinstance(n, gast.Name)
                                                and isinstance(n.ctx, gast.Store)}
        arguments, extra = self.bind(body.args, call_node)
        # The globals the body reads keep their names: a helper inlined later must not
        # give one of its own locals such a name (it would shadow the global here too).
        for free in sorted({n.id for n in walk(body) if isinstance(n, gast.Name)} - own):
            self.ctx.namer.reserve(free)
        fresh = {v: self.ctx.namer.fresh(v) for v in sorted(own)}
        self.locals.update(fresh.values())
        rename(body, fresh)
        if packs:
            arguments += self.pass_on(body, fresh, extra, call_node)
        reassigned = {n.id for n in walk(gast.Module(body=body.body, type_ignores=[]))
                      if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
        for param, value in arguments:
            lowered = self.expr(value, out)
            if fresh[param] not in reassigned and isinstance(lowered, (gast.Name, gast.Constant)):
                _substitute(body, fresh[param], lowered)  # pass an atom straight in
            else:
                self.emit(out, assign(fresh[param], lowered, value), value)
        if not prepared:
            body = self.prepare(body)
        self.inlining.append(fn.name)
        around, self.around = self.around, anno.getanno(call_node, "managers", self.around)
        for stmt in body.body[:-1]:
            self.stmt(stmt, out)
        result = self.expr(body.body[-1].value or const(None), out)
        self.around = around
        self.inlining.pop()
        return result

    def bind(self, args: gast.arguments, call_node: gast.Call) -> tuple[list, list]:
        """(parameter, argument expression) pairs for a call of a local function, and the
        keywords its **kwargs takes."""
        positional = args.posonlyargs + args.args
        defaults = dict(zip([p.id for p in positional[len(positional) - len(args.defaults):]],
                            args.defaults))
        defaults.update({p.id: d for p, d in zip(args.kwonlyargs, args.kw_defaults)
                         if d is not None})
        given = {p.id: a for p, a in zip(positional, call_node.args)}
        if len(call_node.args) > len(positional) and args.vararg is None:
            raise self.ctx.error(UnsupportedSyntaxError, call_node,
                                 "too many arguments for a local function")
        named = {p.id for p in positional + args.kwonlyargs}
        extra = [k for k in call_node.keywords if k.arg not in named]
        if extra and args.kwarg is None:
            raise self.ctx.error(UnsupportedSyntaxError, call_node,
                                 f"unexpected keyword argument {extra[0].arg} in a call of "
                                 "a local function")
        given.update({k.arg: k.value for k in call_node.keywords if k.arg in named})
        pairs = []
        for p in positional + args.kwonlyargs:
            value = given.get(p.id, defaults.get(p.id))
            if value is None:
                raise self.ctx.error(UnsupportedSyntaxError, call_node,
                                     f"missing argument {p.id} in a call of a local function")
            pairs.append((p.id, clone(value)))
        if args.vararg is not None:  # *args: a tuple of the extra positional arguments
            pairs.append((args.vararg.id, gast.Tuple(
                elts=[clone(a) for a in call_node.args[len(positional):]], ctx=gast.Load())))
        return pairs, extra

    def pass_on(self, body: gast.FunctionDef, fresh: dict, extra: list,
                call_node: gast.Call) -> list:
        """In an inlined helper's body (names made fresh), `g(*args)` passes the items of
        the tuple `args` one by one, and `g(**kwargs)` the call's extra keywords, each
        through a variable of its own; the (parameter, argument) pairs of those. Any
        other use of **kwargs (a dict) is rejected."""
        pairs = []
        keywords = []
        kwarg = body.args.kwarg
        for k in extra:
            var = self.fresh_local(f"{kwarg.id}_{k.arg}")
            fresh[var] = var
            pairs.append((var, clone(k.value)))
            keywords.append((k.arg, var))
        count = len(call_node.args) - len(body.args.posonlyargs + body.args.args)
        for node in walk(body):
            if not isinstance(node, gast.Call):
                continue
            args = []
            for a in node.args:
                if isinstance(a, gast.Starred) and body.args.vararg is not None \
                        and isinstance(a.value, gast.Name) and a.value.id == body.args.vararg.id:
                    args += [gast.Subscript(value=name(a.value.id), slice=const(i),
                                            ctx=gast.Load()) for i in range(count)]
                else:
                    args.append(a)
            node.args = args
            passed = []
            for k in node.keywords:
                if k.arg is None and kwarg is not None and isinstance(k.value, gast.Name) \
                        and k.value.id == kwarg.id:
                    passed += [gast.keyword(arg=a, value=name(v)) for a, v in keywords]
                else:
                    passed.append(k)
            node.keywords = passed
        if kwarg is not None:
            read_keywords(body, kwarg.id, keywords, self.ctx,
                          next((k for k, v in fresh.items() if v == kwarg.id), kwarg.id))
            for node in walk(gast.Module(body=body.body, type_ignores=[])):
                if isinstance(node, gast.Name) and node.id == kwarg.id:
                    raise self.ctx.error(
                        UnsupportedSyntaxError, node, "unsupported: using **kwargs other "
                        "than passing it on whole (g(**kwargs))",
                        "give the helper a parameter per keyword")
        return pairs

    def expr_Attribute(self, node, out):
        if self.is_atom(node):
            return node
        return gast.Attribute(value=self.atom(node.value, out), attr=node.attr, ctx=gast.Load())

    def expr_Subscript(self, node, out):
        return self.subscript(node, out)

    def subscript(self, node: gast.Subscript, out: list, store: bool = False) -> gast.Subscript:
        value = self.atom(node.value, out)
        index = self.index(node.slice, out)
        ctx = gast.Store() if store else gast.Load()
        return gast.copy_location(gast.Subscript(value=value, slice=index, ctx=ctx), node)

    def index(self, node: gast.AST, out: list) -> gast.AST:
        if isinstance(node, gast.Slice):
            parts = [None if p is None else self.atom(p, out)
                     for p in (node.lower, node.upper, node.step)]
            return gast.Slice(lower=parts[0], upper=parts[1], step=parts[2])
        if isinstance(node, gast.Tuple):
            return gast.Tuple(elts=[self.index(e, out) for e in node.elts], ctx=gast.Load())
        return self.atom(node, out)

    def expr_Tuple(self, node, out):
        return gast.Tuple(elts=[self.atom(e, out) for e in node.elts], ctx=gast.Load())

    def expr_List(self, node, out):
        return gast.List(elts=[self.atom(e, out) for e in node.elts], ctx=gast.Load())

    def expr_Dict(self, node, out):  # keys are constants (see fence)
        return gast.Dict(keys=list(node.keys), values=[self.atom(v, out) for v in node.values])

    def expr_JoinedStr(self, node, out):
        values = []
        for v in node.values:
            if isinstance(v, gast.FormattedValue):
                v = gast.FormattedValue(value=self.atom(v.value, out), conversion=v.conversion,
                                        format_spec=v.format_spec)
            values.append(v)
        return gast.JoinedStr(values=values)

    # -- comprehensions (see passes/comprehensions.py) ----------------------

    def expr_ListComp(self, node, out, start=None):
        stmts, result = comprehensions.as_loops(node, self.new_temp, self.fresh_local, start)
        # (the function's locals as parameters: the loops pass must not take a local
        # named `zip` or `range` for the builtin; only those the loops mention, which are
        # all it asks about: all of them, for each comprehension, was quadratic)
        mentioned = {n.id for stmt in stmts for n in walk(stmt) if n.__class__ is gast.Name}
        params = [gast.Name(id=v, ctx=gast.Param(), annotation=None, type_comment=None)
                  for v in sorted(self.locals & mentioned)]
        body = gast.FunctionDef(name="comprehension", args=gast.arguments(
            args=params, posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[],
            kwarg=None, defaults=[]),
            body=stmts + [gast.copy_location(gast.Return(value=result), node)],
            decorator_list=[], returns=None, type_comment=None, type_params=[])
        for stmt in self.prepare(body).body[:-1]:
            self.stmt(stmt, out)
        return result

    def expr_GeneratorExp(self, node, out):
        if id(node) not in self.consumed:
            raise self.ctx.error(
                UnsupportedSyntaxError, node, "unsupported: a generator expression used as "
                "a value", "pass it straight to sum, max, min, any, all, list, tuple or "
                "sorted, or build a list with [...]")
        return self.expr_ListComp(node, out)

    def fresh_local(self, base: str) -> str:
        fresh = self.ctx.namer.fresh(base)
        self.locals.add(fresh)
        return fresh

    def consume(self, node: gast.Call, out: list):
        """A call given comprehensions: its generator expressions allowed as lists where
        the callee cannot tell; `max`/`min` of one comprehension lowered to a loop (then
        its result, else None)."""
        func = node.func
        callee = Scope(self.ctx, self.locals).value(func.id) \
            if isinstance(func, gast.Name) else None
        consumer = any(callee is c for c in comprehensions.CONSUMERS)
        for arg in node.args:
            if isinstance(arg, gast.GeneratorExp):
                if not consumer:
                    raise self.ctx.error(
                        UnsupportedSyntaxError, arg,
                        "unsupported: a generator expression passed to "
                        f"{dotted_path(func) or 'a computed function'}",
                        "pass a list comprehension [...] instead")
                self.consumed.add(id(arg))
        if callee is list and len(node.args) == 1 and not node.keywords:
            return self.expr(node.args[0], out)  # the comprehension's list is a new list
        start = node.args[1] if len(node.args) == 2 else \
            node.keywords[0].value if len(node.keywords) == 1 \
            and node.keywords[0].arg == "start" else const(0) if not node.keywords else None
        if callee is sum and len(node.args) <= 2 and isinstance(start, (gast.Name, gast.Constant)) \
                and isinstance(node.args[0], (gast.ListComp, gast.GeneratorExp)):
            return self.expr_ListComp(node.args[0], out, start=start)  # added in the loop
        if any(callee is c for c in comprehensions.FOLDS) and len(node.args) == 1 \
                and not node.keywords:
            scope = Scope(self.ctx, self.locals)
            for fn in (builtins.range, builtins.len):  # (the loop fold writes calls them)
                builtin_name(scope, fn, self.ctx, node)
            items = self.expr(node.args[0], out)
            stmts, result = comprehensions.fold(func.id, items, self.new_temp,
                                                lambda: self.fresh_local("k"), node)
            for stmt in stmts:
                self.stmt(stmt, out)
            return result
        return None




def _substitute(tree: gast.AST, var: str, atom: gast.AST) -> None:
    """Replace every read of `var` in `tree` by a copy of `atom`."""

    class Substitute(gast.NodeTransformer):
        def visit_Name(self, node):
            if node.id == var and isinstance(node.ctx, gast.Load):
                return gast.copy_location(clone(atom), node)
            return node

    Substitute().visit(tree)
