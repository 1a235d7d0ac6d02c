"""Turn every for loop into a loop over `range(...)`.

    for x in seq:                s = seq          (unless seq is a name the loop keeps)
        body            ->       for k in range(len(s)):
                                     x = s[k]
                                     body

`enumerate`, `zip` and `reversed` (nested freely) become index arithmetic on
the same counter, so rows of an array, items of a list and elements of a
tuple are all read by indexing -- which the backward pass knows how to
reverse. Loops already over `range(...)` are left alone.
"""

from __future__ import annotations

import builtins
import functools
import inspect
from dataclasses import dataclass
from typing import Callable

import gast

from ..context import Context
from ..errors import UnsupportedSyntaxError
from ..syntax import assign, blocks, call, const, dotted_path, local_names, name, store_names
from .builtin_names import builtin_name
from .resolve import Scope


def loops(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    rewriter = _Rewriter(ctx, func)
    func.body = rewriter.block(func.body)
    return func


@dataclass
class _View:
    """What a loop iterates over, as a length and the element at a counter."""

    length: gast.AST
    element: Callable[[gast.AST], gast.AST]


class _Rewriter:
    def __init__(self, ctx: Context, func: gast.FunctionDef):
        self.ctx = ctx
        self.func = func

    @functools.cached_property
    def scope(self) -> Scope:  # (made when a loop needs it: a walk of the function)
        return Scope(self.ctx, local_names(self.func))

    def block(self, stmts: list) -> list:
        out = []
        for stmt in stmts:
            for block in blocks(stmt):
                block[:] = self.block(block)
            out.extend(self.loop(stmt) if isinstance(stmt, gast.For) else [stmt])
        return out

    def builtin_name(self, fn, origin) -> str:
        return builtin_name(self.scope, fn, self.ctx, origin)

    def builtin(self, node, fn, keywords=()) -> bool:
        """Whether `node` calls the builtin `fn` with no keyword but these."""
        return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) \
            and all(k.arg in keywords for k in node.keywords) \
            and self.scope.value(node.func.id) is fn

    def loop(self, loop: gast.For) -> list:
        it, target = loop.iter, loop.target
        if self.builtin(it, builtins.range) and isinstance(target, gast.Name):
            return [loop]
        before: list = []
        rebound = set(store_names(gast.Module(body=loop.body, type_ignores=[])))
        if self.builtin(it, builtins.enumerate) and len(it.args) == 1 \
                and isinstance(target, gast.Tuple) and len(target.elts) == 2 \
                and isinstance(target.elts[0], gast.Name):
            # for i, x in enumerate(seq): the counter is i itself.
            view = self.view(it.args[0], before, loop, rebound)
            counter = target.elts[0].id
            element = [assign(target.elts[1], view.element(name(counter)), loop)]
        else:
            view = self.view(it, before, loop, rebound)
            counter = self.ctx.namer.fresh("k")
            element = [assign(target, view.element(name(counter)), loop)]
        loop.iter = gast.copy_location(call(self.builtin_name(builtins.range, loop),
                                            [view.length]), it)
        loop.target = name(counter, store=True)
        loop.body = element + loop.body
        return before + [loop]

    def view(self, node, before: list, origin, rebound: set) -> _View:
        if self.builtin(node, builtins.enumerate, ("start",)) and node.args:
            inner = self.view(node.args[0], before, origin, rebound)
            start = node.args[1] if len(node.args) > 1 else \
                next((k.value for k in node.keywords), None)  # (enumerate(xs, start=1))

            def element(k):
                index = k if start is None else gast.BinOp(left=k, op=gast.Add(), right=start)
                return gast.Tuple(elts=[index, inner.element(k)], ctx=gast.Load())

            return _View(inner.length, element)
        if self.builtin(node, builtins.zip) and node.args:
            inners = [self.view(a, before, origin, rebound) for a in node.args]
            length = inners[0].length if len(inners) == 1 else \
                call(self.builtin_name(builtins.min, origin), [v.length for v in inners])
            return _View(length, lambda k: gast.Tuple(elts=[v.element(k) for v in inners],
                                                      ctx=gast.Load()))
        if self.builtin(node, builtins.reversed) and len(node.args) == 1:
            inner = self.view(node.args[0], before, origin, rebound)
            last = self.ctx.namer.fresh("last")
            before.append(assign(last, gast.BinOp(left=inner.length, op=gast.Sub(),
                                                  right=const(1)), origin))
            return _View(inner.length, lambda k: inner.element(
                gast.BinOp(left=name(last), op=gast.Sub(), right=k)))
        # Any other sequence: evaluated once (unless it is a name the loop leaves alone).
        self.reject_iterator(node, origin)
        if isinstance(node, gast.Name) and node.id not in rebound:
            seq = node.id
        else:
            seq = self.ctx.namer.fresh("seq")
            before.append(assign(seq, node, origin))
        return _View(call(self.builtin_name(builtins.len, origin), [name(seq)]),
                     lambda k: gast.Subscript(value=name(seq), slice=k, ctx=gast.Load()))

    def reject_iterator(self, node, origin) -> None:
        """A call known to give an iterator (a generator function's, itertools.product...)
        has no len() and no items by index, which the loop as rewritten reads. Made into a
        list it would be, but an iterator may be endless (a loop that breaks out of
        itertools.count()), so the user says so."""
        if not isinstance(node, gast.Call):
            return
        path = dotted_path(node.func)
        fn = self.scope.value(path) if path is not None else None
        lazy = inspect.isgeneratorfunction(fn) or fn is builtins.iter or (
            isinstance(fn, type) and hasattr(fn, "__next__") and not hasattr(fn, "__getitem__"))
        if lazy:
            raise self.ctx.error(
                UnsupportedSyntaxError, origin,
                f"unsupported: a for loop over `{path}(...)`, which gives an iterator: "
                "ast-ad runs a loop by the index of its items",
                f"loop over `list({path}(...))` if it is finite, or over range(...)")
