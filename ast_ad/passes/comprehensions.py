"""Comprehensions as the loops they stand for (the anf pass lowers them where Python
evaluates them, so their order and laziness in `a if c else [...]`, `and`/`or` and a
`while` condition are Python's).

    [e for x in xs if c for y in ys]    ->    t = []
                                              for x_1 in xs:
                                                  if c':
                                                      for y_1 in ys':
                                                          t.append(e')

The variables a comprehension binds get fresh names (`x_1`), so they do not leak
into the function, as in Python 3; the first iterable is evaluated outside the
comprehension's scope, as in Python. A generator expression is evaluated as that
list where the call consuming it cannot tell the difference (`sum`, `max`, `min`,
`any`, `all`, `list`, `tuple`, `sorted`). `sum` of one comprehension adds its items
in the loop, as Python's sum does (`t = 0`, then `t = t + e'`), and `max` and `min`
of one become a loop of two-argument `max` / `min` over its list:

    m = t[0]
    for k in range(1, len(t)):
        m = max(m, t[k])
"""

from __future__ import annotations

import builtins
from typing import Callable

import gast

from .. import anno
from ..syntax import assign, attr, call, clone, const, name, rename, walk

# Builtins that consume an iterable once, in order, and keep no reference to it: a
# generator expression passed to them may be evaluated as a list first.
CONSUMERS = (builtins.sum, builtins.max, builtins.min, builtins.any, builtins.all,
             builtins.list, builtins.tuple, builtins.sorted)
# Reductions of one comprehension that become a loop over the list (no rule takes a list).
FOLDS = (builtins.max, builtins.min)


def as_loops(comp: gast.AST, temp: Callable[[], str], fresh: Callable[[str], str],
             start: gast.AST | None = None) -> tuple[list, gast.Name]:
    """The statements that build the list a ListComp or GeneratorExp stands for, and
    the name holding it; with `start`, that add its items to `start` instead, as
    `sum(comp, start)` does. `comp` is left as it was (a while condition lowers it
    again)."""
    comp = clone(comp)
    origin = anno.getanno(comp, "origin", comp)
    bound = sorted({n.id for g in comp.generators for n in walk(g.target)
                    if isinstance(n, gast.Name)})
    mapping = {v: fresh(v) for v in bound}
    rename(comp.elt, mapping)
    for i, gen in enumerate(comp.generators):
        rename(gen.target, mapping)
        for cond in gen.ifs:
            rename(cond, mapping)
        if i > 0:  # the first iterable is evaluated in the enclosing scope
            rename(gen.iter, mapping)
    result = temp()
    if start is None:
        step = gast.Expr(value=call(attr(name(result), "append"), [comp.elt]))
    else:  # Python's sum: ((start + item1) + item2) + ...
        step = assign(result, gast.BinOp(left=name(result), op=gast.Add(), right=comp.elt))
    inner = [_located(step, comp.elt, origin)]
    for gen in reversed(comp.generators):
        for cond in reversed(gen.ifs):
            inner = [_located(gast.If(test=cond, body=inner, orelse=[]), cond, origin)]
        inner = [_located(gast.For(target=gen.target, iter=gen.iter, body=inner, orelse=[],
                                   type_comment=None), gen.target, origin)]
    first = gast.List(elts=[], ctx=gast.Load()) if start is None else start
    return [_located(assign(result, first, comp), comp, origin)] + inner, name(result)


def fold(fn_name: str, items: gast.Name, temp: Callable[[], str],
         counter: Callable[[], str], origin: gast.AST) -> tuple[list, gast.Name]:
    """`max(items)` (or min) of a list, as a loop of the two-argument builtin."""
    result, k = temp(), counter()
    first = gast.Subscript(value=name(items.id), slice=const(0), ctx=gast.Load())
    item = gast.Subscript(value=name(items.id), slice=name(k), ctx=gast.Load())
    step = assign(result, call(fn_name, [name(result), item]), origin)
    loop = gast.For(target=name(k, store=True),
                    iter=call("range", [const(1), call("len", [name(items.id)])]),
                    body=[_located(step, origin, origin)], orelse=[], type_comment=None)
    return [_located(assign(result, first, origin), origin, origin),
            _located(loop, origin, origin)], name(result)


def _located(stmt: gast.AST, where: gast.AST, origin: gast.AST) -> gast.AST:
    gast.copy_location(stmt, where)
    anno.setanno(stmt, "origin", origin)
    return stmt
