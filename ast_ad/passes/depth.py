"""Reject a function whose generated code would nest blocks deeper than Python compiles.

After an early `return` the rest of the function goes into an `else` branch (see
passes/exits.py), so a function that returns early in a hundred places becomes a
hundred nested ifs; Python's compiler stops at 100 levels of indentation. Say so at the
user's line, rather than let compile() fail on the generated code.
"""

from __future__ import annotations

import gast

from ..context import Context
from ..errors import UnsupportedSyntaxError
from ..syntax import blocks, compound

# Blocks inside one another that Python compiles in a generated function: 97, as the
# generated function is itself nested in the factory compile.py wraps it in; one less,
# to leave room for a wrapper.
MAX_NESTING = 96


def check_nesting(func: gast.FunctionDef, ctx: Context) -> None:
    todo = [(func.body, 0)]  # (a block, how many compound statements hold it)
    while todo:
        stmts, depth = todo.pop()
        for stmt in stmts:
            if not compound(stmt):
                continue
            if depth + 1 > MAX_NESTING:
                raise ctx.error(
                    UnsupportedSyntaxError, stmt,
                    f"unsupported: the code ast-ad generates for this function nests more "
                    f"than {MAX_NESTING} blocks inside one another, more than Python "
                    f"compiles (the code after each early `return` goes into an `else`, "
                    f"so each early return is one level more)",
                    "keep the result in a variable and return once at the end, or move "
                    "parts of the function into helper functions")
            todo.extend((block, depth + 1) for block in blocks(stmt))
