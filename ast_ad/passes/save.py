"""Save, in each loop iteration, the values the backward pass will need of it.

Inside a loop a name is assigned again every iteration, so the backward pass,
which runs the iterations in reverse, cannot simply read it. For every block
inside a loop, the names it assigns that its backward image reads are pushed
on a stack at the end of the block and popped at the start of its backward
image -- only those, so a loop that overwrites a scalar N times saves N
floats, not copies of arrays it never needs.

    stack.append((t2, t3))          # forward, end of the loop body
    t2, t3 = stack.pop()            # backward, start of the loop body
"""

from __future__ import annotations

import gast

from .. import anno
from ..context import Context
from ..syntax import (
    assign,
    assigned_names,
    blocks,
    call,
    compound,
    gate_agrees,
    name,
    target_name,
    walk,
    walk_statements,
)


def save(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    if not any(compound(s) for s in func.body):
        # Straight-line code: _Saver.block and _restore_loop_entries only look into an
        # If, For or While (walk_statements descends nothing else): nothing to save.
        gate_agrees(lambda: _save(func, ctx), func, "save")
        return func
    return _save(func, ctx)


def _save(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    saver = _Saver(ctx)
    forward = [s for s in func.body if anno.getanno(s, "section") == "forward"]
    saver.popped.update(_restore_loop_entries(func, ctx))
    saver.block(forward, in_loop=False, mirror=None)
    if saver.stack is not None:
        init = assign(saver.stack, gast.List(elts=[], ctx=gast.Load()))
        anno.setanno(init, "section", "forward")
        anno.setanno(init, "stack", True)  # (passes/checkpoint.py finds it by this)
        func.body.insert(0, init)
        _keep_returned_value(func, ctx, saver.popped)
    return func


def _keep_returned_value(func: gast.FunctionDef, ctx: Context, popped: set) -> None:
    """The backward pass pops earlier values back into forward names; if the function
    returns one of them, copy its final value aside before the backward pass starts."""
    ret = func.body[-1]
    value = ret.value.elts[0] if isinstance(ret.value, gast.Tuple) else None
    if ctx.options.mode != "value_and_grad" or not isinstance(value, gast.Name) \
            or value.id not in popped:
        return
    kept = ctx.namer.fresh("value")
    copy = assign(kept, name(value.id))
    anno.setanno(copy, "section", "forward")
    end = max(i for i, s in enumerate(func.body) if anno.getanno(s, "section") == "forward")
    func.body.insert(end + 1, copy)
    value.id = kept


class _Saver:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.stack: str | None = None
        self.popped: set[str] = set()  # forward names the backward pass restores

    def block(self, stmts: list, in_loop: bool, mirror: list | None, loop=None) -> None:
        for stmt in stmts:
            image = anno.getanno(stmt, "mirror")
            if isinstance(stmt, gast.If) and image is not None:
                self.block(stmt.body, in_loop, image.body)
                self.block(stmt.orelse, in_loop, image.orelse)
            elif isinstance(stmt, (gast.For, gast.While)) and image is not None:
                self.block(stmt.body, True, image.body, loop=stmt)
        if not in_loop or mirror is None:
            return
        read = _read_names(mirror)
        needed = [n for n in _defined(stmts, loop) if n in read]
        if not needed:
            return
        if self.stack is None:
            self.stack = self.ctx.namer.fresh("stack")
        values = [name(n) for n in needed]
        packed = values[0] if len(values) == 1 else gast.Tuple(elts=values, ctx=gast.Load())
        push = gast.Expr(value=call(gast.Attribute(value=name(self.stack), attr="append",
                                                   ctx=gast.Load()), [packed]))
        target = name(needed[0], store=True) if len(needed) == 1 else gast.Tuple(
            elts=[name(n, store=True) for n in needed], ctx=gast.Store())
        pop = assign(target, call(gast.Attribute(value=name(self.stack), attr="pop",
                                                 ctx=gast.Load())))
        stmts.insert(body_end(stmts), push)
        mirror.insert(0, pop)
        self.popped.update(needed)


def _defined(stmts: list, loop) -> list[str]:
    """Names a block assigns itself (a loop statement assigns its target and header names)."""
    found = []
    for stmt in stmts:
        names = assigned_names(stmt)
        if names:
            found.extend(names)
        elif isinstance(stmt, (gast.For, gast.While)):
            if isinstance(stmt, gast.For):
                found.append(stmt.target.id)
            found.extend(_headers(stmt))
        elif isinstance(stmt, gast.If):
            # What both branches assign (the SSA merges) is read after the if: the
            # block's backward image may read it outside the if's own image.
            orelse = set(_defined(stmt.orelse, None))
            found.extend(n for n in _defined(stmt.body, None) if n in orelse)
    return list(dict.fromkeys(found))


def _headers(loop) -> list[str]:
    return [target_name(s) for s in loop.body if anno.getanno(s, "phi") == "backedge"]


def body_end(stmts: list) -> int:
    """Where a loop body's own statements end: before its back-edge copies and exit check."""
    at = len(stmts)
    while at and (anno.getanno(stmts[at - 1], "phi") == "backedge"
                  or anno.getanno(stmts[at - 1], "exit_check")):
        at -= 1
    return at


def _read_names(stmts: list) -> set[str]:
    """The forward values backward statements read (not a loop's own bindings): every
    name at once, in one walk of each statement (not one walk per name)."""
    found = set()
    for stmt in stmts:
        if isinstance(stmt, gast.For):
            found.update(n.id for n in walk(stmt.iter) if isinstance(n, gast.Name))
            bound = {stmt.target.id} if isinstance(stmt.target, gast.Name) else set()
            # (the backward loop binds its target; a replayed loop's header names are
            # restored by that loop's own pops)
            forward = anno.getanno(stmt, "replays")
            if forward is not None:
                bound.update(_headers(forward))
            found |= _read_names(stmt.body) - bound
            continue
        if isinstance(stmt, gast.If):
            found.update(n.id for n in walk(stmt.test) if isinstance(n, gast.Name))
            found |= _read_names(stmt.body) | _read_names(stmt.orelse)
            continue
        found.update(n.id for n in walk(stmt)
                     if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load))
        for block in blocks(stmt):
            found |= _read_names(block)
    return found


def _restore_loop_entries(func: gast.FunctionDef, ctx: Context) -> set:
    """A loop reassigns its header names (`x_1 = x_3` at the back edge). The adjoints of
    the statements before the loop read them as they were when the loop began, so the
    forward pass copies them aside before the loop and the backward pass puts them back
    right after the loop's backward image:

        x_1 = 1.5 / t2                      ...
        x_1_entry = x_1                     for v in reversed(range(n)): ...
        for v in range(n): ...              x_1 = x_1_entry
                                            bt2 = -(bx_1 * x_1 / t2)
    """
    # (a snapshot: the copies inserted below go into the lists being walked, and a loop
    # inside an `if` or another loop would otherwise come round again, and again)
    forward = [s for s in func.body if anno.getanno(s, "section") == "forward"]
    loops = [s for s in walk_statements(forward) if isinstance(s, (gast.For, gast.While))
             and anno.getanno(s, "mirror") is not None]
    restored = set()
    if not loops:
        return restored  # (no loop replayed backward: nothing to restore)
    holders = {}  # id(statement) -> the list holding it
    for stmts in _lists(func.body):
        for stmt in stmts:
            holders[id(stmt)] = stmts
    backward = [s for s in func.body if anno.getanno(s, "section") == "backward"]
    order = list(walk_statements(backward))  # (in program order: a loop's image holds
    # the statements right after it)
    position = {id(s): k for k, s in enumerate(order)}
    last_read = _last_reads(order)
    for loop in loops:
        image = anno.getanno(loop, "mirror")
        if id(image) not in holders or id(loop) not in holders:
            continue
        # the simple statements after the image, not inside it, read the header?
        after = position[id(image)] + sum(1 for _ in walk_statements([image]))
        for header in _headers(loop):
            if last_read.get(header, -1) < after:
                continue
            entry = ctx.namer.fresh(f"{header}_entry")
            keep = assign(entry, name(header), loop)
            anno.setanno(keep, "section", "forward")
            here = holders[id(loop)]
            here.insert(here.index(loop), keep)  # (nodes compare by identity)
            back = assign(header, name(entry), image)
            anno.setanno(back, "section", "backward")
            there = holders[id(image)]
            there.insert(there.index(image) + 1, back)
            restored.add(header)
    return restored


def _last_reads(order: list) -> dict:
    """name -> the last position in `order` of a simple statement that reads it: whether
    the statements from k on read a name is one comparison, not a walk of them all for
    each loop (which made a function of many loops quadratic)."""
    last = {}
    for k, stmt in enumerate(order):
        if not blocks(stmt):
            for node in walk(stmt):
                if node.__class__ is gast.Name and node.ctx.__class__ is gast.Load:
                    last[node.id] = k
    return last


def _lists(stmts: list):
    yield stmts
    for stmt in stmts:
        for block in blocks(stmt):
            yield from _lists(block)
