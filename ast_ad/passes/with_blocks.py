"""Open `with` blocks: their bodies run in place, marked for the managers pass.

    with np.errstate(divide="ignore"):        y = np.log(x)     (every node of the body
        y = np.log(x)                  ->                         annotated `managers`)

Generated statements inherit the mark through their `origin`, and passes/managers.py
wraps them in the same `with` at the end, forward and backward. Only context managers
that change no value are accepted (`HARMLESS`): `contextlib.suppress` skips the rest
of the body when an exception is raised, so which values exist would depend on it;
what any other manager does, ast-ad does not know.
"""

from __future__ import annotations

import contextlib
import warnings

import gast
import numpy as np

from .. import anno
from ..context import Context
from ..errors import UnsupportedSyntaxError
from ..syntax import blocks, dotted_path, local_names, walk
from .resolve import Scope

# Context managers that change no value: only how errors and warnings are reported.
HARMLESS = (np.errstate, warnings.catch_warnings, contextlib.nullcontext, np.printoptions)
REASONS = {
    contextlib.suppress: "contextlib.suppress skips the rest of the block when an exception "
                         "is raised, so which values exist depends on it",
}


def check(node: gast.With, scope, ctx: Context) -> None:
    """Raise UnsupportedSyntaxError unless every manager of `node` is a known harmless
    one, called with constants (or module-level names)."""
    for item in node.items:
        expr = item.context_expr  # a call (the fence checked)
        path = dotted_path(expr.func)
        manager = scope.value(path) if path is not None else None
        if not any(manager is m for m in HARMLESS):
            reason = next((r for m, r in REASONS.items() if manager is m),
                          f"ast-ad does not know what {path or 'this context manager'} does "
                          "to the values computed in its body")
            raise ctx.error(UnsupportedSyntaxError, expr, f"unsupported: a with block: {reason}",
                            "move the with block out of the differentiated function; only "
                            "np.errstate, warnings.catch_warnings, np.printoptions and "
                            "contextlib.nullcontext are entered in the generated code")
        for arg in expr.args + [k.value for k in expr.keywords]:
            if not _constant(arg, scope):
                raise ctx.error(UnsupportedSyntaxError, arg,
                                "unsupported: a context manager's argument computed in the "
                                "function", "pass constants, e.g. np.errstate(divide=\"ignore\")")


def _constant(node: gast.AST, scope) -> bool:
    if isinstance(node, gast.Constant):
        return True
    if isinstance(node, (gast.Tuple, gast.List)):
        return all(_constant(e, scope) for e in node.elts)
    path = dotted_path(node)
    return path is not None and path.split(".")[0] not in scope.locals



def with_blocks(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    """The function with every `with` block replaced by its (annotated) body."""
    if not _has_with(func.body):
        return func  # (and no walk of the function for its local names)
    scope = Scope(ctx, local_names(func))
    func.body = _open(func.body, (), scope, ctx)
    return func


def _has_with(stmts: list) -> bool:
    """Whether a `with` is among `stmts`, in the blocks _open looks into."""
    return any(isinstance(s, gast.With) or any(_has_with(b) for b in blocks(s))
               or isinstance(s, gast.FunctionDef) and _has_with(s.body) for s in stmts)


def _open(stmts: list, around: tuple, scope: Scope, ctx: Context) -> list:
    out: list = []
    for stmt in stmts:
        if isinstance(stmt, gast.With):
            check(stmt, scope, ctx)
            inner = around + tuple(stmt.items)
            for node in walk(gast.Module(body=stmt.body, type_ignores=[])):
                anno.setanno(node, "managers", inner)  # (inner blocks overwrite it)
            out.extend(_open(stmt.body, inner, scope, ctx))
            continue
        for block in blocks(stmt) + ([stmt.body] if isinstance(stmt, gast.FunctionDef) else []):
            block[:] = _open(block, around, scope, ctx)
        out.append(stmt)
    return out
