"""Accumulate into adjoint arrays in place where nothing else can see the buffer.

Runs last, once the backward code is final (the fuse pass reads `bx = bx + c`).
"""

from __future__ import annotations

from collections import defaultdict

import gast

from .. import anno
from ..context import Context
from ..syntax import assigned_names, blocks, gate_agrees, mentions, nodes_of, walk_statements
from ..values import ARRAY
from .vector import finish_vector


def inplace(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    """`bW = bW + c` becomes `bW += c` when bW is an array buffer nothing else refers to:
    its one init makes a fresh array, and it is only ever added into, read by arithmetic,
    or returned. Saves an allocation per contribution (per iteration, in loops)."""

    if not ctx.options.inplace:
        return func
    if ctx.options.mode == "vector":
        finish_vector(func, ctx)
    if ARRAY not in ctx.kinds.values():
        # (only an adjoint whose primal is an array is a candidate, see _accumulate)
        gate_agrees(lambda: _accumulate(func, ctx), func, "inplace")
        return func
    return _accumulate(func, ctx)


def _accumulate(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    stmts = list(walk_statements(func.body))
    inits, adds, others = defaultdict(int), defaultdict(list), set()
    for stmt in stmts:
        op, adj = anno.getanno(stmt, "adjoint", (None, None))
        for var in assigned_names(stmt):
            if op in ("init", "reset") and var == adj and isinstance(stmt.value, gast.Call):
                inits[var] += 1
            elif op == "add" and var == adj and isinstance(stmt.value, gast.BinOp) \
                    and isinstance(stmt.value.op, gast.Add) \
                    and isinstance(stmt.value.left, gast.Name) and stmt.value.left.id == var \
                    and not mentions(stmt.value.right, var):
                adds[var].append(stmt)
            else:
                others.add(var)
    candidates = [var for var in adds if inits[var] == 1 and var not in others
                  and ctx.kinds.get(ctx.primal_of.get(var)) == ARRAY]
    if candidates:  # (else no need to look for second references)
        for stmt in stmts:
            others.update(_aliasing_uses(stmt))
    replaced = {}  # id(statement) -> its in-place version
    for var in candidates:
        found = adds[var]
        if var in others:
            continue
        for stmt in found:
            augmented = gast.AugAssign(target=stmt.targets[0], op=gast.Add(),
                                       value=stmt.value.right)
            anno.copyanno(stmt, augmented)
            replaced[id(stmt)] = augmented
    if replaced:  # (one pass over the blocks, not one per statement replaced)
        _replace_statements(func.body, replaced)
    return func


def _aliasing_uses(stmt) -> set[str]:
    """Names whose value this statement may keep a second reference to (x = a, f(a), (a, b))."""
    found = set()
    if isinstance(stmt, gast.Return):
        return found
    for node in nodes_of(stmt, (gast.Assign, gast.Call, gast.Tuple, gast.List)):
        if isinstance(node, gast.Assign) and isinstance(node.value, gast.Name):
            found.add(node.value.id)
        elif isinstance(node, (gast.Tuple, gast.List)) and isinstance(node.ctx, gast.Load):
            found.update(e.id for e in node.elts if isinstance(e, gast.Name))
        elif isinstance(node, gast.Call):
            found.update(a.id for a in node.args if isinstance(a, gast.Name)
                         and not _numpy_call(node))
    return found


def _numpy_call(node: gast.Call) -> bool:
    """np.f(a) and a.method() read an array without keeping it (np.asarray aside)."""
    func = node.func
    while isinstance(func, gast.Attribute):
        func = func.value
    return isinstance(func, gast.Name) and func.id in ("np", "numpy", "math") \
        and not (isinstance(node.func, gast.Attribute) and node.func.attr in ("asarray",))


def _replace_statements(stmts: list, replaced: dict) -> None:
    for i, stmt in enumerate(stmts):
        if id(stmt) in replaced:
            stmts[i] = replaced[id(stmt)]
        for block in blocks(stmt):
            _replace_statements(block, replaced)
