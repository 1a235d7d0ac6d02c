"""Enter the user's `with` blocks where the generated code runs what came from them.

A context manager that changes no values (`np.errstate`, `warnings.catch_warnings`)
only changes how NumPy reports floating-point errors and how warnings are shown. The
with_blocks pass opens a `with` block's body in place and marks the user's nodes
inside it (`managers` annotation); after the derivative code is written, each run of statements
that came from the body, forward or backward, is wrapped in the same `with`:

    with np.errstate(divide="ignore"):         with np.errstate(divide="ignore"):
        y = np.log(x)                 ->           t1 = np.log(x)
                                               ...
                                               with np.errstate(divide="ignore"):
                                                   bx = by / x

Which managers are accepted: see passes/with_blocks.py.
"""

from __future__ import annotations

import warnings

import gast

from .. import anno
from ..context import Context
from ..syntax import blocks, clone, walk_statements

# Calls in a `with` body that set up its manager (`warnings.simplefilter("ignore")`
# in a catch_warnings block): run again at the start of every block that lacks them.
SETUP = (warnings.simplefilter, warnings.filterwarnings)


def enter_managers(tree, ctx: Context):
    """Wrap runs of statements that came from a `with` body in that `with`."""
    functions = tree.body if isinstance(tree, gast.Module) else [tree]
    if not any(anno.any_managers(walk_statements(func.body)) for func in functions):
        return tree  # nothing came from a `with` body
    setup: dict = {}
    for func in functions:
        for stmt in walk_statements(func.body):
            if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call) \
                    and any(anno.getanno(stmt.value, "callee") is f for f in SETUP):
                setup.setdefault(_key(anno.managers_of(stmt)), []).append(stmt)
    for func in functions:
        func.body = _wrap(func.body, (), setup)
    return tree


def _key(items: tuple) -> tuple:
    return tuple(id(i) for i in items)


def _wrap(stmts: list, outer: tuple, setup: dict) -> list:
    out: list = []
    run: list = []
    run_items: tuple = ()

    def close():
        if run and run_items:
            calls = setup.get(_key(outer + run_items), [])
            if not any(s is c for s in run for c in calls):
                copies = clone(calls)
                for copy in copies:
                    anno.setanno(copy, "section", anno.getanno(run[0], "section"))
                run[:0] = copies
            out.append(_with(run_items, run[:]))
        out.extend(run if not run_items else [])
        run.clear()

    for stmt in stmts:
        inside = anno.managers_of(stmt) if not isinstance(stmt, gast.Return) else ()
        own = inside[len(outer):] if _starts_with(inside, outer) else ()
        for block in blocks(stmt):
            block[:] = _wrap(block, outer + own, setup)
        if not own or [id(i) for i in own] != [id(i) for i in run_items] or not run:
            close()
            run_items = own
        run.append(stmt)
        if not own:
            close()
    close()
    return out


def _starts_with(items: tuple, prefix: tuple) -> bool:
    return len(items) >= len(prefix) and all(a is b for a, b in zip(items, prefix))


def _with(items: tuple, body: list) -> gast.With:
    node = gast.With(items=[gast.withitem(context_expr=clone(i.context_expr), optional_vars=None)
                            for i in items], body=body, type_comment=None)
    if anno.hasanno(body[0], "section"):  # printed before the block (see passes/emit.py)
        anno.setanno(node, "section", anno.getanno(body[0], "section"))
    anno.setanno(node, "origin", items[-1].context_expr)
    return gast.copy_location(node, body[0])
