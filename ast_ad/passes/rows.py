"""Compute a backward loop's per-step factors for all steps at once, and read rows in place.

Backpropagation through time multiplies each step's adjoint by tanh' of that step's
state: `bt6 = bh * (1.0 - h_2 * h_2)`, two array operations per step. The factor reads
only values of the forward step, so a careful person computes it for every step at once
from the states kept as rows, and the backward loop reads a row:

    h_2_list = []                               (forward loop)
    for t in range(n):                              h_2 = np.tanh(...)
        ...                                         h_2_list.append(h_2)
    h_2_rows = np.array(h_2_list)
    step_factors = 1.0 - h_2_rows * h_2_rows
    for t in reversed(range(n)):                (backward loop)
        bt6 = bh * step_factors[t]

An element-wise expression of same-shaped rows is the same operations on the same
values, row by row. Only values the forward step assigns once, that nothing writes
into, take part.

Also, a factor's rows that are the rows of an array nobody writes (`t4 = x[t]`, kept by
passes/batch.py as `t4_rows = np.reshape(t4_list, (-1, 16))`) are read from that array
(`x[t2 - 1::-1]` for the backward order) instead of being saved and stacked again.
"""

from __future__ import annotations

from collections import defaultdict

import gast
import numpy as np

from .. import anno
from ..context import Context
from ..syntax import assign, call, clone, const, name, walk, walk_statements
from .factor import unstable_names
from .facts import Facts
from .save import body_end

_ELEMENTWISE = (gast.Add, gast.Sub, gast.Mult, gast.Div, gast.Pow)


def rows(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    if ctx.options.checkpoint is not None or ctx.options.trace or \
            not any(v.kind == "array" for v in ctx.values.values()):
        return func  # (checkpointing replays steps: rows would be kept for every step;
        # the rows are float arrays)
    loops = [(i, s) for i, s in enumerate(func.body) if isinstance(s, gast.For)
             and anno.getanno(s, "section") == "forward" and anno.getanno(s, "mirror")]
    if not loops:
        return func
    rower = _Rower(func, ctx)
    for _, loop in reversed(loops):  # (statements go in after each loop: later ones first)
        rower.loop(loop)
    return func


class _Rower:
    def __init__(self, func: gast.FunctionDef, ctx: Context):
        self.func, self.ctx, self.facts = func, ctx, Facts(ctx)
        self.unstable = unstable_names(func, self.facts)
        self.stores = defaultdict(int)
        self.mentions = defaultdict(int)
        for node in walk(func):
            if isinstance(node, gast.Name):
                self.mentions[node.id] += 1
        for stmt in walk_statements(func.body):
            for node in walk(stmt) if not isinstance(stmt, (gast.For, gast.If,
                                                                 gast.While)) else ():
                if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
                    self.stores[node.id] += 1
            if isinstance(stmt, gast.For):
                for node in walk(stmt.target):
                    if isinstance(node, gast.Name):
                        self.stores[node.id] += 1

    def loop(self, loop: gast.For) -> None:
        image = anno.getanno(loop, "mirror")
        count = _range_count(loop.iter)
        if image not in self.func.body or count is None or not isinstance(loop.target, gast.Name) \
                or not isinstance(image, gast.For) or not isinstance(image.target, gast.Name) \
                or image.target.id != loop.target.id or not _reversed_range(image.iter, count) \
                or self.stores[loop.target.id] != 2 or (isinstance(count, gast.Name) and (
                    self.stores[count.id] > 1 or count.id in self.unstable)):
            return
        step = loop.target.id
        # forward names assigned once, by the step itself, at the top of its body
        defined = {}
        for k, stmt in enumerate(loop.body[:body_end(loop.body)]):
            if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) \
                    and not anno.getanno(stmt, "phi"):
                var = stmt.targets[0].id
                if self.stores[var] == 1 and var not in self.unstable:
                    defined[var] = k
        if not defined:
            return
        self.read_in_place(loop, image, step, count, defined)
        self.per_step(loop, image, step, defined)

    # -- per-step factors ---------------------------------------------------------------

    def per_step(self, loop, image, step: str, defined: dict) -> None:
        found = []  # (statement, parent, field, index, expression)
        for stmt in image.body:
            if isinstance(stmt, gast.Assign) and anno.getanno(stmt, "section") == "backward":
                self.collect(stmt, "value", None, stmt.value, defined, found)
        if not found:
            return
        stacked, factors, made = {}, {}, []
        for holder, field, index, node in found:
            key = gast.dump(node)
            if key not in factors:
                names = sorted({n.id for n in walk(node) if isinstance(n, gast.Name)
                                and n.id in defined})
                for var in names:
                    if var not in stacked:
                        stacked[var] = self.ctx.namer.fresh(f"{var}_rows")
                factors[key] = self.ctx.namer.fresh("step_factors")
                made.append((factors[key], _renamed(node, stacked)))
            row = gast.Subscript(value=name(factors[key]), slice=name(step), ctx=gast.Load())
            if index is None:
                setattr(holder, field, row)
            else:
                getattr(holder, field)[index] = row
        at = self.func.body.index(loop)
        before, after = [], []
        for var, rows_name in stacked.items():
            listed = self.ctx.namer.fresh(f"{var}_list")
            before.append(_forward(assign(listed, gast.List(elts=[], ctx=gast.Load()), loop)))
            push = _forward(gast.Expr(value=call(gast.Attribute(
                value=name(listed), attr="append", ctx=gast.Load()), [name(var)])))
            k = next(k for k, s in enumerate(loop.body) if isinstance(s, gast.Assign)
                     and isinstance(s.targets[0], gast.Name) and s.targets[0].id == var)
            loop.body.insert(k + 1, push)
            after.append(_forward(assign(rows_name, call(gast.Attribute(
                value=self.ctx.reference(np, "np"), attr="array", ctx=gast.Load()),
                [name(listed)]), loop)))
        for target, value in made:
            after.append(_forward(assign(target, value, loop)))
        self.func.body[at:at + 1] = before + [loop] + after

    def collect(self, holder, field, index, node, defined, found) -> None:
        """The largest step-only sub-expressions of `node` (with an operation in them)."""
        if self.step_only(node, defined) and not isinstance(node, (gast.Name, gast.Constant)) \
                and any(isinstance(n, gast.Name) and n.id in defined for n in walk(node)):
            found.append((holder, field, index, node))
            return
        for child_field in node._fields:
            value = getattr(node, child_field, None)
            if isinstance(value, gast.AST) and isinstance(value, gast.expr):
                self.collect(node, child_field, None, value, defined, found)
            elif isinstance(value, list):
                for k, item in enumerate(value):
                    if isinstance(item, gast.expr):
                        self.collect(node, child_field, k, item, defined, found)

    def step_only(self, node, defined, shape=None) -> bool:
        """An element-wise expression of numbers and same-shaped float values of the step."""
        names = [n for n in walk(node) if isinstance(n, gast.Name)]
        shapes = set()
        for n in names:
            if n.id not in defined:
                return False
            value, shape = self.facts.value(n), self.facts.shape(n)
            if shape is None or value.dtype is None or value.dtype.kind != "f":
                return False
            shapes.add(shape)
        return len(shapes) <= 1 and self.elementwise(node)

    def elementwise(self, node) -> bool:
        if isinstance(node, gast.Constant):
            return type(node.value) in (int, float)
        if isinstance(node, gast.Name):
            return True
        if isinstance(node, gast.UnaryOp):
            return isinstance(node.op, gast.USub) and self.elementwise(node.operand)
        if isinstance(node, gast.BinOp):
            return isinstance(node.op, _ELEMENTWISE) and self.elementwise(node.left) \
                and self.elementwise(node.right)
        if isinstance(node, gast.Call):
            return isinstance(self.facts._object(node.func), np.ufunc) and not node.keywords \
                and all(self.elementwise(a) for a in node.args)
        return False

    # -- rows read in place ---------------------------------------------------------------

    def read_in_place(self, loop, image, step: str, count, defined: dict) -> None:
        """`t4 = x[t]` kept as rows by passes/batch.py: the rows are x's own, reversed."""
        body = self.func.body
        at = body.index(image)
        for var, k in defined.items():
            value = loop.body[k].value
            if not (isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name)
                    and isinstance(value.slice, gast.Name) and value.slice.id == step):
                continue
            source = value.value.id
            if source in self.unstable or self.stores[source] > 1:
                continue
            appends = [s for s in image.body if _appends(s, var)]
            if len(appends) != 1:
                continue
            listed = appends[0].value.func.value.id
            uses = self.mentions[listed]
            init = next((s for s in body[:at] if isinstance(s, gast.Assign)
                         and _is(s.targets[0], listed)), None)
            stack = next((s for s in body[at + 1:] if isinstance(s, gast.Assign)
                          and isinstance(s.value, gast.Call) and s.value.args
                          and _is(s.value.args[0], listed)
                          and self.facts._object(s.value.func) is np.reshape), None)
            if init is None or stack is None or uses != 3:
                continue
            image.body.remove(appends[0])
            body.remove(init)
            at = body.index(image)
            stack.value.args[0] = self.reversed_rows(source, count)
            shape = self.facts.shape(value.value)
            reshape = stack.value.args[1]
            if shape is not None and len(shape) == 2 and isinstance(reshape, gast.Tuple) \
                    and isinstance(reshape.elts[1], gast.Constant) \
                    and reshape.elts[1].value == shape[1]:
                stack.value = stack.value.args[0]  # already those rows

    def reversed_rows(self, source: str, count) -> gast.AST:
        """`source[:count][::-1]`, as `source[::-1]` where count is its length."""
        whole = self.facts.value(gast.Name(id=source, ctx=gast.Load(), annotation=None,
                                           type_comment=None))
        length = self.facts.value(count) if not isinstance(count, gast.Constant) else None
        flip = gast.Slice(lower=None, upper=None, step=const(-1))
        base = name(source)
        if not (whole.shape and length is not None and length.const == whole.shape[0]) and not (
                isinstance(count, gast.Constant) and whole.shape and
                count.value == whole.shape[0]):
            base = gast.Subscript(value=base, slice=gast.Slice(lower=None, upper=count,
                                                               step=None), ctx=gast.Load())
        return gast.Subscript(value=base, slice=flip, ctx=gast.Load())


def _forward(stmt):
    anno.setanno(stmt, "section", "forward")
    return stmt


def _is(node, var: str) -> bool:
    return isinstance(node, gast.Name) and node.id == var


def _appends(stmt, var: str) -> bool:
    """`some_list.append(var)`."""
    return isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call) \
        and isinstance(stmt.value.func, gast.Attribute) and stmt.value.func.attr == "append" \
        and isinstance(stmt.value.func.value, gast.Name) and len(stmt.value.args) == 1 \
        and _is(stmt.value.args[0], var)


def _range_count(node):
    """n for `range(n)` (a name or an int), else None."""
    if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) \
            and node.func.id == "range" and len(node.args) == 1 and not node.keywords \
            and isinstance(node.args[0], (gast.Name, gast.Constant)):
        return node.args[0]
    return None


def _reversed_range(node, count) -> bool:
    if not (isinstance(node, gast.Call) and isinstance(node.func, gast.Name)
            and node.func.id == "reversed" and len(node.args) == 1):
        return False
    inner = _range_count(node.args[0])
    if inner is None or type(inner) is not type(count):
        return False
    return inner.id == count.id if isinstance(inner, gast.Name) else inner.value == count.value


def _renamed(node, mapping: dict):
    node = clone(node)
    for n in walk(node):
        if isinstance(n, gast.Name) and n.id in mapping:
            n.id = mapping[n.id]
    return node
