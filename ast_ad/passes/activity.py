"""Activity analysis: which names carry a derivative.

A name is *varied* if it depends differentiably on an argument we differentiate
with respect to, and *useful* if the output depends differentiably on it. Only
names that are both (active) get adjoints; everything else -- integers, shapes,
loop counters, comparisons, constants -- flows through untouched.
"""

from __future__ import annotations

import gast

from ..context import Context
from ..errors import NoRuleError
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
        written = item_write(stmt) or list_append(stmt)
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
    _check_index_objects(func, ctx, varied, set(params) | {name for name, _ in defs})
    return func


def _check_index_objects(func, ctx: Context, varied: set, local: set) -> None:
    """`np.r_[x, y]`, `np.c_[...]`: an object (not an array) indexed with values that carry a
    derivative builds an array out of them; no rule models that, so it is an error rather
    than a constant."""
    for stmt in walk_statements(func.body):
        value = getattr(stmt, "value", None)
        if not isinstance(value, gast.Subscript):
            continue
        base = value.value
        if isinstance(base, gast.Name) and base.id in local:
            continue  # an array (or list) of the function's own: its index is an integer
        index = [n.id for n in gast.walk(value.slice) if isinstance(n, gast.Name)]
        carried = [n for n in index if n in varied]
        if carried:
            raise ctx.error(
                NoRuleError, value,
                f"no adjoint rule for indexing `{_dotted(base)}` with "
                f"`{ctx.src_name(carried[0])}`, which carries "
                f"a derivative (index objects such as np.r_ and np.c_ are not modelled)",
                "build the array with np.concatenate, np.stack, np.hstack or np.column_stack")


def _dotted(node) -> str:
    if isinstance(node, gast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, gast.Name) else "an object"
