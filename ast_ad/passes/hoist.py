"""Move loop-invariant arithmetic out of loops, once per distinct expression.

    for i in range(n):                     t5 = 0.5 * h
        t5 = 0.5 * h                       for i in range(n):
        t8 = 0.5 * h            ->             k2 = deriv(x + t5 * k1x, y + t5 * k1y, a)
        k2 = deriv(x + t5 * k1x, y + t8 * k1y, a)

A careful person computes `0.5 * h` or `W.T` once, not once per iteration; the
backward pass then need not save it per iteration either (save.py saves only
names a loop assigns). A statement moves when it is a plain assignment in the
loop's own body (not under an `if`) of arithmetic on numbers and arrays whose
names the loop never assigns, writes into or hands to a call that could change
them. Only operations that cannot fail move -- `+ - *`, `@` and `.T` on
operands of known kinds and compatible static shapes, division by a nonzero
constant -- because a loop that runs zero times must not start raising.
Identical moved expressions are computed once (their names are SSA names, so
a later one is renamed to the first everywhere).
"""

from __future__ import annotations

from collections import Counter

import gast

from .. import anno, shapes
from ..context import Context
from ..syntax import blocks, rename, target_name, walk, written_into
from ..values import ARRAY, SCALAR
from .resolve import call_parts, user_function, written_arguments

_SAFE_BINOPS = (gast.Add, gast.Sub, gast.Mult)


def hoist(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    renames: dict[str, str] = {}
    _block(func.body, ctx, renames)
    if renames:
        rename(func, renames)
    return func


def _block(stmts: list, ctx: Context, renames: dict) -> None:
    i = 0
    while i < len(stmts):
        stmt = stmts[i]
        for inner in blocks(stmt):
            _block(inner, ctx, renames)  # inner loops first: their invariants may move on
        if isinstance(stmt, (gast.For, gast.While)):
            moved = _invariants(stmt, ctx, renames)
            stmts[i:i] = moved
            i += len(moved)
        i += 1


def _invariants(loop, ctx: Context, renames: dict) -> list:
    variant = _changed_in(loop)
    # A name stored again in the loop (a nested loop's header that ssa coalesced into it)
    # must be set anew each iteration, where it is.
    stores = Counter(n.id for n in gast.walk(loop)
                     if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store))
    moved, seen = [], {}
    # A repeated invariant's name is renamed in the loop to the first one's: in each
    # statement as it is looked at (so it looks as it would after renaming the whole loop
    # each time), and in the whole loop once at the end.
    same: dict[str, str] = {}
    for stmt in list(loop.body):
        if same:
            rename(stmt, same)
        name = target_name(stmt)
        if name is None or anno.getanno(stmt, "phi") or stores[name] > 1 \
                or not _safe(stmt.value, ctx, variant):
            continue
        loop.body.remove(stmt)
        variant.discard(name)  # defined once, before the loop now
        key = gast.dump(stmt.value)
        if key in seen:
            if name in ctx.active:
                # the first may be inactive (it only fed dead code): what it now stands
                # for carries a derivative, or the renamed uses lose their adjoints
                ctx.active.add(seen[key])
            renames[name] = same[name] = seen[key]
            continue
        seen[key] = name
        moved.append(stmt)
    if same:
        rename(loop, same)
    return moved


def _changed_in(loop) -> set[str]:
    """Names the loop (re)assigns, writes into, or passes to a call that may change them."""
    changed = written_into(loop)
    for node in walk(loop):
        if isinstance(node, gast.Name) and isinstance(node.ctx, (gast.Store, gast.Del)):
            changed.add(node.id)
        elif isinstance(node, gast.Call):
            callee = call_parts(node)[0]
            if callee is None or isinstance(callee, tuple) or user_function(callee):
                operands = list(node.args) + [k.value for k in node.keywords]
                if isinstance(node.func, gast.Attribute):
                    operands.append(node.func.value)
                changed.update(n.id for n in operands if isinstance(n, gast.Name))
            else:
                changed.update(a.id for a, _ in written_arguments(node)
                               if isinstance(a, gast.Name))
    return changed


def _safe(value, ctx: Context, variant: set) -> bool:
    """Whether `value` is invariant arithmetic that cannot raise."""

    def operand(node):
        if isinstance(node, gast.Constant):
            return () if isinstance(node.value, (int, float)) and not isinstance(
                node.value, bool) else None
        if isinstance(node, gast.Name) and node.id not in variant \
                and ctx.kinds.get(node.id) in (SCALAR, ARRAY):
            return ctx.shapes.get(node.id)
        return None

    if isinstance(value, gast.BinOp):
        left, right = operand(value.left), operand(value.right)
        if left is None or right is None:
            return False
        if isinstance(value.op, _SAFE_BINOPS):
            return shapes.broadcast(left, right) is not None
        if isinstance(value.op, gast.MatMult):
            return shapes.matmul(left, right) is not None
        if isinstance(value.op, gast.Div):
            divisor = value.right
            return isinstance(divisor, gast.Constant) and isinstance(divisor.value, (int, float)) \
                and not isinstance(divisor.value, bool) and divisor.value != 0
        return False
    if isinstance(value, gast.UnaryOp) and isinstance(value.op, (gast.USub, gast.UAdd)):
        return operand(value.operand) is not None
    if isinstance(value, gast.Attribute) and value.attr == "T":
        return isinstance(value.value, gast.Name) and value.value.id not in variant \
            and ctx.kinds.get(value.value.id) == ARRAY
    return False

