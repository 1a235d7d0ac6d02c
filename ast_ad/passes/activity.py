"""Activity analysis: which names carry a derivative.

A name is *varied* if it depends differentiably on an argument we differentiate
with respect to, and *useful* if the output depends differentiably on it. Only
names that are both (active) get adjoints; everything else -- integers, shapes,
loop counters, comparisons, constants -- flows through untouched.
"""

from __future__ import annotations

import gast

from ..context import Context
from ..rules import registry
from ..syntax import item_write, list_append, param_names, target_name, walk_statements
from .resolve import call_parts

NONDIFFERENTIABLE_ATTRIBUTES = {"shape", "ndim", "size", "dtype", "itemsize", "nbytes", "strides"}


def differentiable_operands(value: gast.AST) -> list[str]:
    """The names a primitive's result depends on differentiably."""
    if isinstance(value, gast.Name):
        return [value.id]
    if isinstance(value, gast.BinOp):
        if registry.is_nondifferentiable(type(value.op)):
            return []
        return _names([value.left, value.right])
    if isinstance(value, gast.UnaryOp):
        return _names([value.operand]) if isinstance(value.op, (gast.USub, gast.UAdd)) else []
    if isinstance(value, gast.Call):
        callee, args, keywords = call_parts(value)
        if registry.is_nondifferentiable(callee):
            return []
        return _names(args + list(keywords.values()))
    if isinstance(value, gast.Attribute):
        return [] if value.attr in NONDIFFERENTIABLE_ATTRIBUTES else _names([value.value])
    if isinstance(value, gast.Subscript):
        return _names([value.value])
    if isinstance(value, (gast.Tuple, gast.List)):
        return _names(value.elts)
    return []


def _added_at(stmt: gast.AST):
    """(array name, value) for `np.add.at(a, index, value)` or the runtime's
    `add_at(a, index, value)` (both in the generated code grad(grad(f)) differentiates)."""
    import numpy

    from .. import runtime

    if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call):
        callee, args, keywords = call_parts(stmt.value)
        if callee in (numpy.add.at, runtime.add_at) and len(args) == 3 and not keywords \
                and isinstance(args[0], gast.Name):
            return args[0].id, args[2]
    return None


def _names(atoms) -> list[str]:
    return [a.id for a in atoms if isinstance(a, gast.Name)]


def activity(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    params = param_names(func)
    defs = []  # (target, operands)
    for stmt in walk_statements(func.body):
        name = target_name(stmt)
        if name is not None:
            defs.append((name, differentiable_operands(stmt.value)))
        # Writing into an array or appending to a list: the container now depends on the value.
        written = item_write(stmt) or list_append(stmt) or _added_at(stmt)
        if written is not None:
            defs.append((written[0], _names([written[-1]])))
    varied = {params[i] for i in ctx.options.argnums}
    changed = True
    while changed:
        changed = False
        for name, operands in defs:
            if name not in varied and any(op in varied for op in operands):
                varied.add(name)
                changed = True
    ret = func.body[-1]
    useful = {ret.value.id} if isinstance(ret, gast.Return) and isinstance(ret.value, gast.Name) \
        else set()
    changed = True
    while changed:
        changed = False
        for name, operands in reversed(defs):
            if name in useful:
                for op in operands:
                    if op not in useful:
                        useful.add(op)
                        changed = True
    ctx.varied = varied
    ctx.active = varied & useful
    return func
