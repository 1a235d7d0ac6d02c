"""Run a backward loop inside its forward loop when nothing flows between its iterations.

If the adjoint code of a loop body only *adds* into accumulators (`bx = bx + c`,
`bW[k] += c`) and reads nothing else of the backward pass -- typical of a loss
that sums terms -- then its iterations are independent and need no particular
order. They run right after each forward iteration, into fresh accumulators
that the backward pass adds in where the loop used to be:

    for i in range(n):                        bx_1 = 0.0
        t = x * i                             for i in range(n):
        s_2 = s + math.sin(t)                     t = x * i
        s = s_2                       ->          s_2 = s + math.sin(t)
    ...                                           bx_1 = bx_1 + math.cos(t) * i
    for i in reversed(range(n)):                  s = s_2
        bx = bx + math.cos(t) * i             ...
                                              bx = bx + bx_1

No values are saved for that loop, and the backward pass does one loop less.
Sums then run in forward order instead of backward: equal up to rounding.
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
    name,
    param_names,
    rename,
    walk,
    walk_statements,
    written_into,
)
from ..values import ARRAY, SCALAR
from .facts import Facts
from .save import body_end
from .simplify import contribution, simplify


def fuse(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    if not any(isinstance(s, gast.For) and anno.getanno(s, "replays") is not None
               for s in walk_statements(func.body)):
        return func  # no backward loop: nothing to fuse
    parents = {}  # forward loop -> the statement list holding it

    def index(stmts):
        for stmt in stmts:
            if isinstance(stmt, (gast.For, gast.While)):
                parents[id(stmt)] = stmts
            for inner in blocks(stmt):
                index(inner)

    index(func.body)
    fuser = _Fuser(ctx, _forward_names(func), parents, _order(func))
    fuser.block(func.body)
    if fuser.fused:
        simplify(func, ctx)  # fold `bx = 0.0 ... bx = bx + bx_1` and the like again
    return func


def _forward_names(func) -> set[str]:
    found = set(param_names(func))
    for stmt in walk_statements([s for s in func.body
                                 if anno.getanno(s, "section") == "forward"]):
        found.update(n.id for n in walk(stmt)
                     if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store))
    return found


def _order(func) -> tuple[dict, dict]:
    """Where each forward name is first stored, and where each forward loop ends, as
    positions in program order."""
    first: dict[str, int] = {}
    ends: dict[int, int] = {}
    stmts = list(walk_statements([s for s in func.body
                                  if anno.getanno(s, "section") == "forward"]))
    position = {id(s): k for k, s in enumerate(stmts)}
    for k, stmt in enumerate(stmts):
        own = [stmt.target] if isinstance(stmt, gast.For) else \
            [] if isinstance(stmt, (gast.If, gast.While)) else [stmt]
        for n in (n for node in own for n in walk(node)):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
                first.setdefault(n.id, k)
        if isinstance(stmt, (gast.For, gast.While)):
            ends[id(stmt)] = max((position[id(s)] for s in walk_statements(stmt.body)),
                                 default=k)
    return first, ends


class _Fuser:
    def __init__(self, ctx: Context, forward_names: set, parents: dict, order: tuple):
        self.ctx = ctx
        self.forward_names = forward_names
        self.parents = parents
        self.first_store, self.loop_end = order
        self.fused = False
        self.facts = Facts(ctx)

    def block(self, stmts: list) -> None:
        i = 0
        while i < len(stmts):
            stmt = stmts[i]
            forward = anno.getanno(stmt, "replays") if isinstance(stmt, gast.For) else None
            replacement = self.fuse(stmt, forward) if forward is not None else None
            if replacement is not None:
                self.fused = True
                i = next(k for k, s in enumerate(stmts) if s is stmt)  # zeros went in before
                stmts[i:i + 1] = replacement
                i += len(replacement)
                continue
            for inner in blocks(stmt):
                self.block(inner)
            i += 1

    def fuse(self, loop: gast.For, forward) -> list | None:
        body = loop.body
        if id(forward) not in self.parents:
            return None  # simplify removed the forward loop: it had nothing left to do
        if any(isinstance(s, (gast.For, gast.While)) for s in walk_statements(body)):
            return None
        accumulators = _accumulators(body)
        if accumulators is None:
            return None
        temps = {n for s in walk_statements(body) for n in assigned_names(s)} - set(accumulators)
        target = loop.target.id
        same_target = isinstance(forward, gast.For) and forward.target.id == target
        if _reads(body, target) and not same_target:
            return None  # a while loop's replay counter means nothing in the forward loop
        end = self.loop_end.get(id(forward))
        for n in walk(gast.Module(body=body, type_ignores=[])):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load):
                if n.id in accumulators or n.id in temps or n.id == target:
                    continue
                if n.id in self.forward_names and n.id not in self.ctx.primal_of:
                    if end is None or self.first_store.get(n.id, -1) > end:
                        return None  # a value computed after the forward loop (`w` in
                        # `for ..: v = v + t`, `w = ..`, `return v * w`): not there yet
                    continue
                if n.id in self.ctx.references or not self._is_local(n.id):
                    continue
                return None  # reads a value the backward pass computes: cannot run early
        if not _defined_before_use(body, temps):
            return None
        # Fresh accumulators, zeroed before the forward loop, added in afterwards.
        renamed = {acc: self.ctx.namer.version(acc) for acc in accumulators}
        for stmt in body:
            rename(stmt, renamed)
        for stmt in walk_statements(body):  # `add_at(bx, ...)` now adds into the fresh one
            op, adj = anno.getanno(stmt, "adjoint", (None, None))
            if adj in renamed:
                anno.setanno(stmt, "adjoint", (op, renamed[adj]))
        zeros, adds = [], []
        for acc, fresh in renamed.items():
            primal = self.ctx.primal_of.get(acc)
            zero = assign(fresh, self.facts.zero(primal))
            anno.setanno(zero, "section", "forward")
            zeros.append(zero)
            total = call(self.ctx.reference(_accumulate(), "accumulate"),
                         [name(acc), name(fresh)]) \
                if self.ctx.kinds.get(primal) not in (SCALAR, ARRAY) \
                else gast.BinOp(left=name(acc), op=gast.Add(), right=name(fresh))
            add = assign(acc, total, loop)
            anno.setanno(add, "adjoint", ("add", acc))
            anno.setanno(add, "section", "backward")
            adds.append(add)
        for stmt in walk_statements(body):
            anno.setanno(stmt, "section", "forward")
        at = body_end(forward.body)
        forward.body[at:at] = body
        anno.setanno(forward, "mirror", None)  # nothing left to replay: no values to save
        holder = self.parents[id(forward)]
        at = next(i for i, s in enumerate(holder) if s is forward)
        holder[at:at] = zeros
        return adds

    def _is_local(self, var: str) -> bool:
        return var in self.forward_names or var in self.ctx.primal_of or \
            (self.ctx.scope is not None and var in self.ctx.scope.locals)


def _accumulate():
    from ..runtime import accumulate

    return accumulate


def _accumulators(body: list) -> list | None:
    """Names the body only adds into (`v = v + c`, `v[i] += c`), or None if it does more."""
    adds: dict[str, bool] = {}
    others: set[str] = set()
    local = {n for stmt in walk_statements(body) for n in assigned_names(stmt)}
    for stmt in walk_statements(body):
        op, adj = anno.getanno(stmt, "adjoint", (None, None))
        if op == "add" and contribution(stmt.value, adj) is None:
            op = None  # folded into a plain assignment: not an accumulation any more
        if op in ("add", "scatter"):
            adds[adj] = True
            continue
        if op in ("init", "reset"):
            others.add(adj)
        else:
            others.update(assigned_names(stmt))
        if any(written_into(stmt) - local):
            # Writes into an array it did not make, e.g. restoring what `w[i] = v` overwrote:
            # run in the forward loop, that would undo the write before the next iteration.
            return None
    if not adds or set(adds) & others:
        return None
    # An accumulator is read only by its own additions.
    for stmt in walk_statements(body):
        op, adj = anno.getanno(stmt, "adjoint", (None, None))
        for acc in adds:
            if acc == adj:
                if op == "add" and _reads_outside_total(stmt, acc):
                    return None
                continue
            if _reads(stmt, acc):
                return None
    return list(adds)


def _reads_outside_total(stmt, acc) -> bool:
    """In `acc = acc + c` (or accumulate(acc, c)), whether c itself reads acc."""
    return contribution(stmt.value, acc) is None


def _reads(node, var) -> bool:
    nodes = node if isinstance(node, list) else [node]
    return any(isinstance(n, gast.Name) and n.id == var and isinstance(n.ctx, gast.Load)
               for x in nodes for n in walk(x))


def _defined_before_use(body: list, temps: set) -> bool:
    """Each temporary is assigned, at the top level of the body, before it is read."""
    seen = set()
    for stmt in body:
        if isinstance(stmt, gast.If):
            inner = {n for s in walk_statements([stmt]) for n in assigned_names(s)}
            if any(_reads([s for s in body[body.index(stmt) + 1:]], t) for t in inner & temps):
                return False  # a temporary assigned in a branch and read after it
        for t in temps - seen:
            if _reads(stmt, t):
                return False
        seen.update(n for n in assigned_names(stmt))
    return True


