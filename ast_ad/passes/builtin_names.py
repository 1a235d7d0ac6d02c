"""Reject generated code whose call of a builtin would reach something else.

Some passes write calls of builtins: `range(len(xs))` for `for x in xs` (loops), `min`
for zip (loops), `reversed(range(n))` for a loop run backwards and `range` for a while
loop replayed (reverse), `slice` for an index. The generated function runs with the
user's locals and globals, so a local `len`, or a module function called `len`, would be
called instead, and silently change how often a loop runs. Where the user's function
gives one of these names to something else, say so rather than compile the code.
"""

from __future__ import annotations

import builtins

import gast

from ..context import Context
from ..errors import UnsupportedSyntaxError
from ..syntax import blocks, walk_lean, walk_statements
from .resolve import Scope

# The builtins passes call by name in the code they write.
WRITTEN = ("len", "min", "range", "reversed", "slice")


def check_builtin_names(func: gast.FunctionDef, ctx: Context) -> None:
    """(Before the code is printed.) The calls reverse and later passes wrote."""
    scope = ctx.scope
    if not isinstance(scope, Scope):  # (stopped before resolve: nothing to compile)
        return
    src = scope.src
    named = {n for n in WRITTEN if n in scope.locals or n in src.closure or n in src.globals}
    if not named:  # (most functions: no walk)
        return
    called = {node.func.id for node in walk_lean(func) if node.__class__ is gast.Call
              and node.func.__class__ is gast.Name and node.func.id in named}
    # (looked up only if called: a look-up makes the code depend on the name staying so)
    shadowed = {n for n in called if scope.value(n) is not getattr(builtins, n)}
    if not shadowed:
        return
    for stmt in walk_statements(func.body):
        nested = {id(block) for block in blocks(stmt)}
        for field in stmt._fields:  # (a compound statement's own parts: its header)
            value = getattr(stmt, field, None)
            for part in (value if isinstance(value, list) and id(value) not in nested
                         else [value] if isinstance(value, gast.AST) else []):
                for node in walk_lean(part):
                    if node.__class__ is gast.Call and node.func.__class__ is gast.Name \
                            and node.func.id in shadowed:
                        raise _shadowed(ctx, node.func.id, stmt)


def builtin_name(scope: Scope, fn, ctx: Context, origin: gast.AST) -> str:
    """The name by which code a pass writes before resolve calls the builtin `fn`: its
    own, as long as the user's function does not give that name to something else."""
    if scope.value(fn.__name__) is not fn:
        raise _shadowed(ctx, fn.__name__, origin)
    return fn.__name__


def _shadowed(ctx: Context, name_: str, origin: gast.AST):
    return ctx.error(
        UnsupportedSyntaxError, origin,
        f"unsupported: the code ast-ad writes for this line calls the builtin `{name_}`, "
        f"but in this function `{name_}` names something else",
        f"give your `{name_}` another name")
