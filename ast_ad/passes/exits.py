"""Make control flow structured: one return at the end, no break or continue inside loops.

After this pass:
- the function body ends with its only `return`;
- a loop body contains no `break`, `continue` or `return`, except that it may
  end with one exit check, `if <flag>: break` (annotated "exit_check").

How: statements after an if whose one branch always leaves the block move into
the other branch; otherwise a flag records the exit (`stop`, `skip`,
`returned`) and the statements after it run under `if not <flag>:`. A return
inside a loop sets `result` and `returned` and leaves every enclosing loop.
The backward pass then only has to replay branches and count iterations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import gast

from .. import anno, syntax
from ..context import Context
from ..syntax import assign, child_fields, const, name, walk


@dataclass
class _Loop:
    stop: str  # flag set by break
    skip: str  # flag set by continue
    used_skip: bool = False


@dataclass
class _Result:
    stmts: list
    may: set = field(default_factory=set)  # {"break", "continue", "return"}
    always: bool = False  # every path through the block leaves it


def exits(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    if not _always_returns(func.body):
        end = gast.Return(value=None)
        gast.copy_location(end, func.body[-1] if func.body else func)
        func.body.append(end)
    if _straight(func.body):  # (no statement in a statement: no walk to find that out)
        if syntax.CHECK_GATES:
            assert [n for n in _walk_own(func.body) if isinstance(
                n, (gast.Return, gast.Break, gast.Continue))] == [func.body[-1]]
        return func  # already structured
    returns = [n for n in _walk_own(func.body) if isinstance(n, gast.Return)]
    jumps = [n for n in _walk_own(func.body) if isinstance(n, (gast.Break, gast.Continue))]
    if len(returns) == 1 and func.body[-1] is returns[0] and not jumps:
        return func  # already structured
    rewriter = _Rewriter(ctx, single_return=len(returns) == 1 and func.body[-1] is returns[0])
    result = rewriter.block(func.body, None)
    body = result.stmts
    if rewriter.result_name is not None:
        final = gast.Return(value=name(rewriter.result_name))
        gast.copy_location(final, returns[-1])
        anno.setanno(final, "origin", returns[-1])
        body.append(final)
    if rewriter.returned_used:
        body.insert(0, assign(rewriter.returned, const(False), func))
    func.body = body
    return func


class _Rewriter:
    def __init__(self, ctx: Context, single_return: bool):
        self.ctx = ctx
        self.single_return = single_return
        self.result_name: str | None = None
        self.returned = ctx.namer.fresh("returned")
        self.returned_used = False
        self.loops: list[_Loop] = []

    def block(self, stmts: list, loop: _Loop | None) -> _Result:
        out: list = []
        may: set = set()
        for i, stmt in enumerate(stmts):
            rest = stmts[i + 1:]
            if isinstance(stmt, gast.Return):
                if self.single_return and not self.loops:
                    out.append(stmt)
                    return _Result(out, may | {"return"}, True)
                out.extend(self.return_(stmt))
                return _Result(out, may | {"return"}, True)
            if isinstance(stmt, gast.Break):
                out.append(_flag(loop.stop, stmt))
                return _Result(out, may | {"break"}, True)
            if isinstance(stmt, gast.Continue):
                loop.used_skip = True
                out.append(_flag(loop.skip, stmt))
                return _Result(out, may | {"continue"}, True)
            if isinstance(stmt, gast.If):
                then_always = _always_leaves(stmt.body)
                else_always = _always_leaves(stmt.orelse)
                moved = bool(rest) and then_always != else_always
                if moved and then_always:
                    stmt.orelse = stmt.orelse + rest  # the rest only runs if the test fails
                elif moved:
                    stmt.body = stmt.body + rest
                then = self.block(stmt.body, loop)
                orelse = self.block(stmt.orelse, loop)
                stmt.body, stmt.orelse = then.stmts, orelse.stmts
                out.append(stmt)
                may |= then.may | orelse.may
                if then.always and orelse.always:
                    return _Result(out, may, True)
                if moved:
                    return _Result(out, may, False)
                if rest and (then.may or orelse.may):
                    return self.guarded(out, may, then.may | orelse.may, rest, loop, stmt)
                continue
            if isinstance(stmt, (gast.For, gast.While)):
                inner = self.loop(stmt)
                out.extend(inner.stmts)
                if "return" in inner.may:
                    may.add("return")
                    if rest:
                        return self.guarded(out, may, {"return"}, rest, loop, stmt)
                continue
            out.append(stmt)
        return _Result(out, may, False)

    def guarded(self, out, may, exits_, rest, loop, origin) -> _Result:
        """The statements after a statement that may leave: run them only if it did not."""
        flags = []
        if "return" in exits_:
            self.returned_used = True
            flags.append(self.returned)
        if "break" in exits_ and loop is not None:
            flags.append(loop.stop)
        if "continue" in exits_ and loop is not None:
            loop.used_skip = True
            flags.append(loop.skip)
        test = name(flags[0]) if len(flags) == 1 else gast.BoolOp(
            op=gast.Or(), values=[name(f) for f in flags])
        after = self.block(rest, loop)
        guard = gast.If(test=gast.UnaryOp(op=gast.Not(), operand=test), body=after.stmts,
                        orelse=[])
        gast.copy_location(guard, rest[0])
        out.append(guard)
        return _Result(out, may | after.may, False)

    def return_(self, stmt: gast.Return) -> list:
        if self.result_name is None:
            self.result_name = self.ctx.namer.fresh("result")
        value = stmt.value if stmt.value is not None else const(None)
        # The flag is only read where a later statement or loop must know; unread, it
        # is removed with the other dead code.
        return [assign(self.result_name, value, stmt), _flag(self.returned, stmt)]

    def loop(self, stmt) -> _Result:
        info = _Loop(stop=self.ctx.namer.fresh("stop"), skip=self.ctx.namer.fresh("skip"))
        self.loops.append(info)
        body = self.block(stmt.body, info)
        self.loops.pop()
        stmt.body = body.stmts
        if info.used_skip:
            stmt.body.insert(0, assign(info.skip, const(False), stmt))
        breaks = _sets(stmt.body, info.stop)
        returns = "return" in body.may
        flags = [info.stop] * breaks + [self.returned] * returns
        if flags:
            test = name(flags[0]) if len(flags) == 1 else gast.BoolOp(
                op=gast.Or(), values=[name(f) for f in flags])
            check = gast.If(test=test, body=[gast.Break()], orelse=[])
            gast.copy_location(check, stmt)
            anno.setanno(check, "exit_check", True)
            stmt.body.append(check)
        before = [assign(info.stop, const(False), stmt)] if breaks else []
        return _Result(before + [stmt], {"return"} if returns else set(), False)


def _flag(flag: str, origin) -> gast.Assign:
    return assign(flag, const(True), origin)


def _sets(stmts: list, flag: str) -> bool:
    module = gast.Module(body=stmts, type_ignores=[])
    return any(isinstance(n, gast.Name) and n.id == flag and isinstance(n.ctx, gast.Store)
               for n in walk(module))


def _straight(body: list) -> bool:
    """Whether `body` is simple statements that hold no statement (not a return, break or
    continue either), then the return that ends it."""
    return body[-1].__class__ is gast.Return \
        and all(stmt.__class__ in _HOLD_NO_STATEMENT for stmt in body[:-1])


_HOLD_NO_STATEMENT = frozenset({gast.Assign, gast.AugAssign, gast.AnnAssign, gast.Expr,
                                gast.Pass, gast.Assert})


def _walk_own(stmts: list):
    """Nodes of these statements, not descending into nested function definitions, nor
    into expressions (what is looked for here, return, break and continue, are
    statements: an expression holds none)."""
    todo = list(stmts)
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, gast.FunctionDef):
            continue
        for key in child_fields(node.__class__):
            value = getattr(node, key, None)
            if type(value) is list:
                todo.extend(v for v in value if isinstance(v, gast.AST)
                            and not isinstance(v, gast.expr))
            elif isinstance(value, gast.AST) and not isinstance(value, gast.expr):
                todo.append(value)


def _always_returns(stmts: list) -> bool:
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, (gast.Return, gast.Raise)):
        return True
    if isinstance(last, gast.If):
        return _always_returns(last.body) and _always_returns(last.orelse)
    return False


def _always_leaves(stmts: list) -> bool:
    """Every path through `stmts` ends in return, break, continue or raise."""
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, (gast.Return, gast.Break, gast.Continue, gast.Raise)):
        return True
    if isinstance(last, gast.If):
        return _always_leaves(last.body) and _always_leaves(last.orelse)
    return any(isinstance(s, (gast.Return, gast.Break, gast.Continue, gast.Raise))
               for s in stmts[:-1])
