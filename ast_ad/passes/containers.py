"""Reject changes to a container argument: its gradient is read from it, as passed.

A differentiated dict, list, tuple, NamedTuple or dataclass argument (or a container inside one,
reached by `params["enc"]`, `p.layers`, a copy `q = params`) may be read but not
written into: `params["W"] = ...`, `layers.append(...)`, `params.update(...)`
would change the caller's object and what the gradient is relative to.
Attribute assignment (`self.w = ...`) is already rejected by the fence. Also
rejected: `for key in d` over a dict (the loops pass reads items by position, so a
dict indexed by a loop counter is rejected).
"""

from __future__ import annotations

import gast

from .. import anno, runtime
from ..context import Context
from ..errors import UnsupportedSyntaxError
from ..syntax import blocks, call, item_write, name, param_names, target_name, walk_statements
from ..values import ARRAY

# Methods of list and dict that change the object.
MUTATING = frozenset({"append", "extend", "insert", "remove", "pop", "clear", "sort",
                      "reverse", "update", "setdefault", "popitem", "__setitem__",
                      "__delitem__"})


def check_containers(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    if ctx.src.filename.startswith("<ast_ad:"):
        return func  # code ast-ad generated (a derivative of a derivative) pops its stacks
    statements = list(walk_statements(func.body))
    counters = {s.target.id: s for s in statements if isinstance(s, gast.For)}
    unknown = {}  # id(loop) -> (loop, names of what it indexes that may not be sequences)
    for stmt in statements if counters else ():  # (it looks for an index by a loop counter)
        value = getattr(stmt, "value", None)
        if target_name(stmt) is not None and isinstance(value, gast.Subscript) \
                and isinstance(value.value, gast.Name) \
                and isinstance(value.slice, gast.Name) and value.slice.id in counters:
            seq = ctx.values.get(value.value.id)
            loop = counters[value.slice.id]
            if seq is not None and seq.container == "dict":
                # `for x in d` reads d[0], d[1]... after the loops pass: not what Python does
                raise ctx.error(
                    UnsupportedSyntaxError, loop,
                    "unsupported: iterating over a dict (or indexing one by a loop counter)",
                    'loop over a tuple of its keys: for key in ("W1", "W2"): ... params[key]')
            if seq is None or not _positional(seq):
                unknown.setdefault(id(loop), (loop, []))[1].append(value.value.id)
    if unknown:
        _check_at_run_time(func, unknown, ctx)
    params = param_names(func)
    owned = {p: p for i, p in enumerate(params) if _guarded(ctx, i, p)}
    if not owned:
        return func
    changed = True
    while changed:  # names bound to a part or a copy of a container argument
        changed = False
        for stmt in statements:
            name = target_name(stmt)
            if name is None or name in owned:
                continue
            value = stmt.value
            base = value.value if isinstance(value, (gast.Subscript, gast.Attribute)) \
                else value
            if isinstance(base, gast.Name) and base.id in owned and (
                    base is value or ctx.values.get(name) is None
                    or ctx.values[name].container is not None
                    or ctx.values[name].kind == "other"):
                owned[name] = owned[base.id]
                changed = True
    for stmt in statements:
        written = item_write(stmt)
        target = written[0] if written is not None else None
        what = "writing into"
        if target is None and isinstance(stmt, (gast.Expr, gast.Assign)) \
                and isinstance(stmt.value, gast.Call) \
                and isinstance(stmt.value.func, gast.Attribute) \
                and stmt.value.func.attr in MUTATING \
                and isinstance(stmt.value.func.value, gast.Name):
            target, what = stmt.value.func.value.id, f"calling .{stmt.value.func.attr}() on"
        if target in owned:
            raise ctx.error(
                UnsupportedSyntaxError, stmt,
                f"unsupported: {what} the container argument {owned[target]} (or a part "
                "of it)",
                "build a new dict or list from its items, and read that one")
    return func


def _guarded(ctx: Context, i: int, param: str) -> bool:
    """A container argument differentiated (other passes check the others, see
    passes/mutation)."""
    value = ctx.values.get(param)
    return value is not None and value.container is not None and i in ctx.options.argnums


def _positional(value) -> bool:
    """Whether `value[k]` is known to be its k-th item, as a loop over it gives."""
    return value.kind == ARRAY or value.container in ("list", "tuple")


def _check_at_run_time(func: gast.FunctionDef, unknown: dict, ctx: Context) -> None:
    """Before each loop indexing what the code cannot tell is a sequence (an argument or
    global other than a list, tuple or array: a range, a string... or a mapping, a set),
    check it when the code runs: a mapping's `d[k]` is a lookup by key, not its k-th key
    (an OrderedDict or a dict with keys 0.0, 1.0 gave another value and gradient)."""
    check = ctx.reference(runtime.check_positional, "check_positional")

    def visit(body: list) -> None:
        i = 0
        while i < len(body):
            stmt = body[i]
            for block in blocks(stmt):
                visit(block)
            found = unknown.get(id(stmt))
            if found is not None:
                for seq in dict.fromkeys(found[1]):
                    node = call(check, [name(seq)])
                    anno.setanno(node, "callee", runtime.check_positional)
                    guard = gast.copy_location(gast.Expr(value=node), stmt)
                    anno.setanno(guard, "origin", anno.getanno(stmt, "origin", stmt))
                    body.insert(i, guard)
                    i += 1
            i += 1

    visit(func.body)
