"""Activity analysis: which names carry a derivative.

A name is *varied* if it depends differentiably on an argument we differentiate
with respect to, and *useful* if the output depends differentiably on it. Only
names that are both (active) get adjoints; everything else -- integers, shapes,
loop counters, comparisons, constants -- flows through untouched.
"""

from __future__ import annotations

from collections import defaultdict

import gast

from .. import anno
from ..context import Context
from ..errors import NoRuleError
from ..rules import registry
from ..syntax import (
    item_write,
    list_append,
    nodes_of,
    param_names,
    target_name,
    walk_statements,
)
from ..values import OTHER
from .resolve import (
    FLOAT_CAST,
    NO_DERIVATIVE_CAST,
    UNKNOWN_CAST,
    adds_at,
    call_parts,
    written_arguments,
)

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
        if registry.is_nondifferentiable(callee) \
                or anno.getanno(value, "cast") == NO_DERIVATIVE_CAST:  # x.astype(int)
            return []
        return _names(_differentiated_arguments(callee, args, keywords))
    if isinstance(value, gast.Attribute):
        return [] if value.attr in NONDIFFERENTIABLE_ATTRIBUTES else _names([value.value])
    if isinstance(value, gast.Subscript):
        if anno.hasanno(value, "indexer"):  # np.r_[x, y]: computed from the index
            index = value.slice
            return _names(index.elts if isinstance(index, gast.Tuple) else [index])
        return _names([value.value])
    if isinstance(value, (gast.Tuple, gast.List)):
        return _names(value.elts)
    if isinstance(value, gast.Dict):
        return _names(value.values)
    return []


def _differentiated_arguments(callee, args: list, keywords: dict) -> list:
    """The arguments a call's rule gives a derivative to (`np.full_like(x, v)`: v, not x);
    every argument where no rule's signature binds the call, or a guard decides."""
    rule = registry.lookup(callee)
    if rule is None or not rule.adjoints:
        return args + list(keywords.values())
    # (which ones depends on the rule and the call's form alone: found once per form)
    form = (id(rule), len(args), tuple(keywords))
    held = _DIFFERENTIATED.get(form)
    if held is None or held[0] is not rule:
        held = _DIFFERENTIATED[form] = rule, _differentiated_positions(rule, args, keywords)
    given = args + list(keywords.values())
    return given if held[1] is None else [given[i] for i in held[1]]


# (id(rule), number of positional arguments, keyword names) -> (rule, positions or None)
_DIFFERENTIATED: dict = {}


def _differentiated_positions(rule, args: list, keywords: dict) -> list | None:
    """The positions (in args, then keywords) of the arguments `_differentiated_arguments`
    gives, or None for all of them."""
    from ..templates import bind_call

    given = args + list(keywords.values())
    found, bound_any = [], False
    for template in rule.adjoints:
        bound = bind_call(template, args, keywords)
        if isinstance(bound, dict):  # a guard may refuse this binding: then all count
            bound_any = True
            found += [atom for param, atom in bound.items()
                      if param in template.targets or template.when is not None]
    if not bound_any:
        return None
    # (a default the rule fills in is a literal, never a name: it is left out)
    return [i for atom in found for i, g in enumerate(given) if g is atom]


def _added_at(stmt: gast.AST):
    """(array name, value) for `np.add.at(a, index, value)` or the runtime's
    `add_at(a, index, value)` (both in the generated code grad(grad(f)) differentiates)."""
    return (stmt.value.args[0].id, stmt.value.args[2]) if adds_at(stmt) else None


def _names(atoms) -> list[str]:
    return [a.id for a in atoms if isinstance(a, gast.Name)]


def activity(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    params = param_names(func)
    defs = []  # (target, operands)
    bit_ops = []  # `a | b` and the like: no derivative for numbers, but dicts merge
    for stmt in walk_statements(func.body):
        name = target_name(stmt)
        if name is not None:  # (`x = e`: no write into an array, no append)
            defs.append((name, differentiable_operands(stmt.value)))
            written = None
            if isinstance(stmt.value, gast.BinOp) \
                    and registry.is_nondifferentiable(type(stmt.value.op)):
                bit_ops.append(stmt)
        else:
            # Writing into an array or appending to a list: the container now depends on
            # the value.
            written = item_write(stmt) or list_append(stmt) or _added_at(stmt)
        if written is not None:
            defs.append((written[0], _names([written[-1]])))
        elif isinstance(stmt, (gast.Expr, gast.Assign)) and isinstance(stmt.value, gast.Call):
            # np.add.at(y, i, v), np.copyto(y, x), out=y: y now depends on every argument.
            call = stmt.value
            operands = _names(list(call.args) + [k.value for k in call.keywords])
            for array, _ in written_arguments(call):
                for atom in (array.elts if isinstance(array, gast.Tuple) else [array]):
                    if isinstance(atom, gast.Name):
                        defs.append((atom.id, operands))
    # (only resolve makes a ("like", v) cast, and marks the function when it does: without
    # one there is no call to find, nor to decide below)
    casts = _dtype_casts(func, params, ctx) if anno.getanno(func, "like_casts") else []
    # varied: the arguments and what depends on them; useful: what the result depends on
    # (each the smallest set closed under the definitions, found from a worklist)
    users, sources = defaultdict(list), defaultdict(list)
    for name, operands in defs:
        sources[name] += operands
        for op in operands:
            users[op].append(name)
    varied = _closure({params[i] for i in ctx.options.argnums}, users)
    for stmt in bit_ops:
        _reject_merged_containers(stmt, varied, ctx)
    ret = func.body[-1]
    useful = _closure({ret.value.id} if isinstance(ret, gast.Return)
                      and isinstance(ret.value, gast.Name) else set(), sources)
    ctx.varied = varied
    ctx.active = varied & useful
    for call, like in casts:  # `x.astype(v.dtype)`: a float dtype if v carries a derivative
        anno.setanno(call, "cast", FLOAT_CAST if like in varied else UNKNOWN_CAST)
    return func


def _reject_merged_containers(stmt, varied: set, ctx: Context) -> None:
    """`d1 | d2` of dicts (sets...) holding values that carry a derivative: read as the
    integer operator, it would pass no derivative on, and the gradient would be 0."""
    for operand in (stmt.value.left, stmt.value.right):
        if not isinstance(operand, gast.Name) or operand.id not in varied:
            continue
        value = ctx.values.get(operand.id)
        if value is not None and value.kind == OTHER:
            raise ctx.error(
                NoRuleError, stmt,
                "unsupported: merging dicts with | (or another container operator) when they "
                "hold values that carry a derivative",
                "build the merged dict with its keys one by one, "
                '`{"a": d1["a"], "b": d2["b"]}`')


def _closure(start: set, edges: dict) -> set:
    """`start` and every name reached from it along `edges` (name -> names)."""
    found, todo = set(start), list(start)
    while todo:
        for other in edges.get(todo.pop(), ()):
            if other not in found:
                found.add(other)
                todo.append(other)
    return found


def _dtype_casts(func: gast.FunctionDef, params: list, ctx: Context) -> list:
    """Casts to `v.dtype`: decided now where v is an argument of known dtype; the others
    (call, v) are decided once activity is known."""
    import numpy as np

    arrays = ctx.options.arrays or ()
    dtypes = {p: info[0] for p, info in zip(params, arrays) if info is not None and info[0]}
    pending = []
    for node in nodes_of(func, gast.Call):
        cast = anno.getanno(node, "cast")
        if not isinstance(cast, tuple):
            continue
        like = cast[1]
        if like in dtypes:
            kind = np.dtype(dtypes[like]).kind
            anno.setanno(node, "cast", FLOAT_CAST if kind == "f" else NO_DERIVATIVE_CAST
                         if kind in "iub" else UNKNOWN_CAST)
        else:
            pending.append((node, like))
    return pending
