"""Keep a one-per-row scatter sparse: the adjoint of `logp[np.arange(n), y]`.

The adjoint of picking one entry per row is a dense array of zeros with one value per
row written in, `A = np.zeros_like(logp); A[t5, y] += g` (t5 = np.arange(n)). A person
never forms it: its row sums are g itself, and adding it to a dense array is a write
of n entries. So, at the top level of the backward statements,

    np.sum(A, axis=1, keepdims=True)   becomes   g[:, None]
    B = A + D  (or A - D, D + A)       becomes   B = D (or -D); B[t5, y] += g

when these are A's only reads, D is a new array of A's shape and dtype (an arithmetic
result, not a name), and t5, y and g are the same values there as at the scatter.
"""

from __future__ import annotations

import math

import gast
import numpy

from .. import algebra, anno
from ..context import Context
from ..syntax import clone
from ..values import ARRAY
from .cancel import _straight_line
from .facts import Facts, mixed_precision


def sparse_rows(func: gast.FunctionDef, ctx: Context, check: bool = False) -> bool:
    """Rewrite each one-per-row scatter of the backward statements; whether any was.
    `check` (simplify.CHECK): check each shortcut against what it replaces."""
    changed = False
    while True:
        found = _next(func, ctx, check)
        if found is None:
            return changed
        _rewrite(func, *found)
        changed = True


def _next(func, ctx, check: bool = False):
    """(zeros index, scatter index, sums, the sum or None, facts) of the first rewritable
    one-per-row scatter, else None (`check`: see sparse_rows)."""
    body = func.body
    # (no scatter `A[t5, y] += g` to keep sparse: _scattered needs one)
    scatterless = gast.AugAssign not in set(map(type, body))
    if scatterless and not check:
        return None
    found = _first(func, ctx)
    assert not (scatterless and found), "a scatter sparse_rows skips"
    return found


def _first(func, ctx):
    """_next, looking at each statement."""
    body = func.body
    facts = None
    for i, stmt in enumerate(body):
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.value, gast.Call)
                and len(stmt.value.args) == 1 and not stmt.value.keywords
                and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name)
                and anno.getanno(stmt, "section") == "backward"):
            continue  # (the section last: most statements are no call of one argument)
        facts = facts or Facts(ctx)
        if facts._object(stmt.value.func) is not numpy.zeros_like:
            continue
        found = _scattered(func, ctx, facts, i, stmt.targets[0].id)
        if found is not None:
            return found
    return None


def _scattered(func, ctx, facts, i, var):
    body = func.body
    shape = facts.shape(gast.Name(id=var, ctx=gast.Load(), annotation=None, type_comment=None))
    if shape is None or len(shape) != 2:
        return None
    uses = [k for k in range(i + 1, len(body)) if _mentions(body[k], var)]
    if not uses or any(not isinstance(body[k], (gast.Assign, gast.AugAssign)) for k in uses):
        return None  # read in a loop, a branch or a return: left alone
    j, rest = uses[0], uses[1:]
    scatter = body[j]
    if not (isinstance(scatter, gast.AugAssign) and isinstance(scatter.op, gast.Add)
            and isinstance(scatter.target, gast.Subscript)
            and isinstance(scatter.target.value, gast.Name) and scatter.target.value.id == var
            and isinstance(scatter.target.slice, gast.Tuple)
            and len(scatter.target.slice.elts) == 2
            and all(isinstance(e, gast.Name) for e in scatter.target.slice.elts)
            and isinstance(scatter.value, gast.Name)):
        return None
    rows, columns = scatter.target.slice.elts
    g = scatter.value
    n = shape[0]
    if not (_every_row_once(func, facts, rows, n) and facts.shape(columns) == (n,)
            and facts.shape(g) == (n,)):
        return None
    column_value = facts.value(columns)
    if column_value.dtype is None or column_value.dtype.kind not in "iu":
        return None
    at, stores, _ = _straight_line(func)
    watched = {rows.id, columns.id, g.id}

    def unchanged_until(k):  # t5, y and g hold at statement k what they held at the scatter
        return all(name in stores and not any(j < s < k for s in stores[name])
                   for name in watched)

    sums, dense = [], None
    for k in rest:
        stmt = body[k]
        if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], gast.Name) and stmt.targets[0].id != var
                and unchanged_until(k)):
            return None
        reads = [n for n in gast.walk(stmt.value) if isinstance(n, gast.Name) and n.id == var]
        summed = [c for c in gast.walk(stmt.value) if _row_sum_of(c, var, facts)]
        if len(summed) == len(reads):
            sums.extend(summed)
            continue
        if dense is not None or len(reads) - len(summed) != 1 or \
                _dense_part(_columns(stmt.value, summed, g.id), var, shape, facts) is None:
            return None
        sums.extend(summed)
        dense = k
    return i, j, sums, dense, facts


def _every_row_once(func, facts, rows, n) -> bool:
    """Whether `rows` is `np.arange(n)` (so the index reaches each of n rows once)."""
    for stmt in func.body:
        if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and \
                isinstance(stmt.targets[0], gast.Name) and stmt.targets[0].id == rows.id:
            value = stmt.value
            return isinstance(value, gast.Call) and facts._object(value.func) is numpy.arange \
                and len(value.args) == 1 and not value.keywords and facts.shape(rows) == (n,)
    return False


def _row_sum_of(node, var, facts) -> bool:
    """Whether `node` is `np.sum(var, axis=1, keepdims=True)` (or axis=-1, or `-var`)."""
    if not (isinstance(node, gast.Call) and facts._object(node.func) is numpy.sum
            and len(node.args) == 1):
        return False
    summed = node.args[0]
    if isinstance(summed, gast.UnaryOp) and isinstance(summed.op, gast.USub):
        summed = summed.operand
    if not (isinstance(summed, gast.Name) and summed.id == var):
        return False
    keywords = {k.arg: k.value for k in node.keywords}
    axis, keep = keywords.get("axis"), keywords.get("keepdims")
    return set(keywords) == {"axis", "keepdims"} and isinstance(axis, gast.Constant) \
        and axis.value in (1, -1) and isinstance(keep, gast.Constant) and keep.value is True


def _dense_part(value, var, shape, facts):
    """For `var + D`, `D + var` or `var - D` with D a new array of var's shape and dtype:
    D, negated for `var - D`; else None."""
    if not (isinstance(value, gast.BinOp) and isinstance(value.op, (gast.Add, gast.Sub))):
        return None
    left, right = value.left, value.right
    if isinstance(left, gast.Name) and left.id == var:
        dense = right if isinstance(value.op, gast.Add) else \
            algebra.negated(clone(right), lambda e: _size(facts.shape(e)))
    elif isinstance(right, gast.Name) and right.id == var and isinstance(value.op, gast.Add):
        dense = left
    else:
        return None
    fresh = isinstance(dense, gast.UnaryOp) or isinstance(dense, gast.BinOp) and \
        not isinstance(dense.op, gast.MatMult) and facts.shape(dense.left) is not None \
        and facts.shape(dense.right) is not None  # (a result, never an operand itself)
    if not fresh or _mentions(dense, var) or facts.shape(dense) != shape:
        return None
    mine = facts.value(gast.Name(id=var, ctx=gast.Load(), annotation=None, type_comment=None))
    theirs = facts.value(dense)
    if mine.kind != ARRAY or theirs.dtype != mine.dtype or (
            mine.dtype is None and mixed_precision(facts.ctx)):
        return None  # B would take D's dtype, not the promoted one of A and D
    return dense


def _rewrite(func, i, j, sums, dense, facts):
    body = func.body
    zeros, scatter = body[i], body[j]
    var = zeros.targets[0].id
    for k in range(j + 1, len(body)):
        if any(node is s for node in gast.walk(body[k]) for s in sums):
            new = gast.Assign(targets=body[k].targets, type_comment=None,
                              value=_columns(body[k].value, sums, scatter.value.id))
            body[k] = anno.copyanno(body[k], new)
    if dense is not None:
        stmt = body[dense]  # (its sums replaced above)
        value = _dense_part(stmt.value, var, facts.shape(zeros.targets[0]), facts)
        body[dense] = anno.copyanno(stmt, gast.Assign(targets=stmt.targets, value=value,
                                                      type_comment=None))
        write = clone(scatter)
        write.target.value.id = stmt.targets[0].id
        body.insert(dense + 1, anno.copyanno(stmt, write))
    del body[j]
    del body[i]


def _columns(value, sums, g: str):
    """`value` with each of `sums` (np.sum(A, axis=1, keepdims=True), or of -A) replaced
    by g[:, None] (or its negation); the nodes on the way are new, the rest shared."""
    if any(value is node for node in sums):
        column = gast.Subscript(
            value=gast.Name(id=g, ctx=gast.Load(), annotation=None, type_comment=None),
            slice=gast.Tuple(elts=[gast.Slice(lower=None, upper=None, step=None),
                                   gast.Constant(value=None, kind=None)], ctx=gast.Load()),
            ctx=gast.Load())
        negated = isinstance(value.args[0], gast.UnaryOp)
        return gast.UnaryOp(op=gast.USub(), operand=column) if negated else column
    changed = {}
    for field, child in gast.iter_fields(value):
        if isinstance(child, gast.AST):
            new = _columns(child, sums, g)
            if new is not child:
                changed[field] = new
        elif isinstance(child, list):
            new = [_columns(c, sums, g) if isinstance(c, gast.AST) else c for c in child]
            if any(a is not b for a, b in zip(new, child)):
                changed[field] = new
    if not changed:
        return value
    copy = value.__class__.__new__(value.__class__)
    copy.__dict__ = {**value.__dict__, **changed}
    return copy


def _size(shape):
    return None if shape is None else math.prod(shape)


def _mentions(node, var) -> bool:
    return any(isinstance(n, gast.Name) and n.id == var for n in gast.walk(node))
