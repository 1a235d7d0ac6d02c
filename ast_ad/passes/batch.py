"""Sum the per-iteration products of a backward loop as one matrix product after it.

Backpropagation through time adds one outer product per step into a weight's
adjoint. A careful person keeps the factors and multiplies once:

    for t in reversed(range(T)):                bt4_list, h_1_list = [], []
        ...                                     for t in reversed(range(T)):
        bW = bW + np.outer(bt4, h_1)     ->         ...
                                                    bt4_list.append(bt4)
                                                    h_1_list.append(h_1)
                                                bt4_rows = np.reshape(bt4_list, (-1, 32))
                                                h_1_rows = np.reshape(h_1_list, (-1, 16))
                                                bW = bW + bt4_rows.T @ h_1_rows

`sum_t outer(a_t, b_t)` is `A.T @ B` with the a_t and b_t as rows; `a_t.T @ b_t`
for (batch, m) and (batch, n) factors stacks the same way. It applies to an
accumulation the loop does nothing else with, of factors whose static shapes
are known (so every row has the same length) and that the loop does not
change after the accumulation (the rows kept must be the values used).
Sums run in another order: equal up to rounding.
"""

from __future__ import annotations

import gast
import numpy as np

from .. import anno
from ..context import Context
from ..syntax import (
    assign,
    blocks,
    call,
    const,
    mentions,
    name,
    store_names,
    target_name,
    walk_statements,
    written_into,
)
from .facts import Facts
from .simplify import simplify


def batch(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    if ctx.options.checkpoint is not None:
        return func  # the per-step rows would be kept for every step: memory grows with n
    batcher = _Batcher(ctx)
    batcher.block(func.body)
    if batcher.changed:
        simplify(func, ctx)  # `bW = np.zeros_like(W)` before the loop folds into the sum
    return func


class _Batcher:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.facts = Facts(ctx)
        self.changed = False

    def block(self, stmts: list) -> None:
        i = 0
        while i < len(stmts):
            stmt = stmts[i]
            for inner in blocks(stmt):
                self.block(inner)
            if isinstance(stmt, gast.For) and anno.getanno(stmt, "replays") is not None:
                before, after = self.loop(stmt)
                stmts[i:i + 1] = before + [stmt] + after
                i += len(before) + len(after)
            i += 1

    def loop(self, loop: gast.For) -> tuple[list, list]:
        rows: dict[str, str] = {}  # factor name -> the list of its rows
        before, after = [], []
        body = loop.body
        written = {n for stmt in walk_statements(body) for n in written_into(stmt)}
        if any(n not in self.ctx.primal_of for n in written):
            # The loop writes into forward values (restoring what `w[i] = v` overwrote): a
            # kept row could be, or view, one of them.
            return before, after
        for stmt in list(body):
            found = self.product(stmt)
            if found is None:
                continue
            acc, factors = found
            position = body.index(stmt)
            if any(mentions(s, acc) for s in body if s is not stmt) or not all(
                    self.kept(body, position, f) and f not in written for f, _ in factors):
                continue
            appends = []
            for factor, length in factors:
                if factor not in rows:
                    # The loop appends each value to a list; after it, one array of rows.
                    listed, rows[factor] = (self.ctx.namer.fresh(f"{factor}_{suffix}")
                                            for suffix in ("list", "rows"))
                    before.append(self.section(assign(listed, gast.List(
                        elts=[], ctx=gast.Load()), loop), "backward"))
                    appends.append(self.section(gast.Expr(value=call(gast.Attribute(
                        value=name(listed), attr="append", ctx=gast.Load()),
                        [name(factor)])), "backward"))
                    after.append(self.section(assign(rows[factor], self.reshape(listed, length),
                                                     loop), "backward"))
            body[position:position + 1] = appends
            self.changed = True
            (a, _), (b, _) = factors
            product = gast.BinOp(left=gast.Attribute(value=name(rows[a]), attr="T",
                                                     ctx=gast.Load()),
                                 op=gast.MatMult(), right=name(rows[b]))
            total = assign(acc, gast.BinOp(left=name(acc), op=gast.Add(), right=product), stmt)
            anno.setanno(total, "adjoint", ("add", acc))
            after.append(self.section(total, "backward"))
        return before, after

    def product(self, stmt):
        """(acc, ((a, len), (b, len))) for `acc = acc + np.outer(a, b)` with 1-D a and b, or
        `acc = acc + a.T @ b` with 2-D a and b, of known shapes; else None."""
        acc = target_name(stmt)
        value = getattr(stmt, "value", None)
        if acc is None or not isinstance(value, gast.BinOp) or not isinstance(
                value.op, gast.Add) or not (isinstance(value.left, gast.Name)
                                            and value.left.id == acc):
            return None
        term = value.right
        if isinstance(term, gast.Call) and self.facts._object(term.func) is np.outer \
                and len(term.args) == 2 and not term.keywords:
            a, b = term.args
            rank = 1
        elif isinstance(term, gast.BinOp) and isinstance(term.op, gast.MatMult) \
                and isinstance(term.left, gast.Attribute) and term.left.attr == "T":
            a, b = term.left.value, term.right
            rank = 2
        else:
            return None
        if not (isinstance(a, gast.Name) and isinstance(b, gast.Name)):
            return None
        shape_a, shape_b = self.facts.shape(a), self.facts.shape(b)
        if shape_a is None or shape_b is None or len(shape_a) != rank or len(shape_b) != rank \
                or rank == 2 and shape_a[0] != shape_b[0]:
            return None
        return acc, ((a.id, shape_a[-1]), (b.id, shape_b[-1]))

    @staticmethod
    def kept(body: list, position: int, factor: str) -> bool:
        """Whether the value of `factor` at `position` is a fresh value each iteration that
        nothing changes afterwards (so keeping a reference keeps the value)."""
        for k, stmt in enumerate(body):
            if factor not in store_names(stmt) and not (
                    isinstance(stmt, gast.AugAssign) and mentions(stmt.target, factor)):
                continue
            if k > position or isinstance(stmt, gast.AugAssign):
                return False
            if isinstance(stmt, gast.Assign) and mentions(stmt.value, factor):
                return False  # `a = a + c`: may become an in-place update
        return True

    def reshape(self, rows: str, length: int) -> gast.AST:
        """The rows as one (count, length) array; an empty list gives (0, length)."""
        return call(gast.Attribute(value=self.ctx.reference(np, "np"), attr="reshape",
                                   ctx=gast.Load()),
                    [name(rows), gast.Tuple(elts=[const(-1), const(length)], ctx=gast.Load())])

    @staticmethod
    def section(stmt, section: str):
        anno.setanno(stmt, "section", section)
        return stmt
