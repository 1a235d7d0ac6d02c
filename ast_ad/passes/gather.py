"""Pick before computing: `logp = s - np.log(t3); t6 = logp[t5, y]` becomes
`t6 = s[t5, y] - np.log(t3[t5, 0])` when logp is read nowhere else.

The user computes a whole array and reads n entries of it (the log-probabilities of the
labels); once the backward statements no longer need it (passes/sparse.py), computing
only those entries is what a person does. Each array in the element-wise expression is
indexed as it broadcasts (an axis of length 1 by 0), so every entry is the same float
operation on the same values as before. An index out of range still raises: an array
of the full shape is indexed with the whole index.
"""

from __future__ import annotations

import gast
import numpy

from .. import anno
from ..context import Context
from ..values import ARRAY
from .cancel import _names_stored, _straight_line
from .facts import Facts


def gather(func: gast.FunctionDef, ctx: Context) -> None:
    """Move top-level `a[i, j, ...]` reads of an element-wise forward result into it."""
    if ctx.options.trace:
        return
    body = func.body
    candidates = [k for k, s in enumerate(body) if _picks(s)]
    if not candidates:
        return
    facts = Facts(ctx)
    at, stores, definitions = _straight_line(func)
    reads = {}
    for node in gast.walk(func):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
            reads[node.id] = reads.get(node.id, 0) + 1
    stored = set().union(*(_names_stored(s) for s in body))
    removed = set()
    for k in candidates:
        stmt = body[k]
        if isinstance(stmt.value.value, gast.BinOp):  # `(s - np.log(t3))[t5, y]` itself
            _pick_inline(stmt, facts)
            continue
        array = stmt.value.value.id
        if reads.get(array) != 1 or len(stores.get(array, ())) != 1:
            continue
        i = stores[array][0]
        value = definitions.get((array, i))
        if value is None or anno.getanno(body[i], "section") != "forward":
            continue
        shape = facts.shape(stmt.value.value)
        index = stmt.value.slice.elts
        if shape is None or len(index) != len(shape) or not all(
                _int_array(e, facts) for e in index):
            continue
        names = {n.id for n in gast.walk(value) if isinstance(n, gast.Name)}
        if any(n in stored and (n not in stores or any(i < s < k for s in stores[n]))
               for n in names):
            continue  # an operand changes between the definition and the read
        picked = _Picker(facts, shape, index).pick(value)
        if picked is None or not picked[1]:
            continue  # not element-wise, or no array of the whole shape checks the index
        stmt.value = picked[0]
        removed.add(i)
    func.body[:] = [s for j, s in enumerate(body) if j not in removed]


def _pick_inline(stmt, facts) -> None:
    shape = facts.shape(stmt.value.value)
    index = stmt.value.slice.elts
    if shape is None or len(index) != len(shape) or not all(_int_array(e, facts) for e in index):
        return
    picked = _Picker(facts, shape, index).pick(stmt.value.value)
    if picked is not None and picked[1]:
        stmt.value = picked[0]


def _picks(stmt) -> bool:
    return isinstance(stmt, gast.Assign) and isinstance(stmt.value, gast.Subscript) \
        and isinstance(stmt.value.value, (gast.Name, gast.BinOp)) \
        and isinstance(stmt.value.slice, gast.Tuple) \
        and all(isinstance(e, gast.Name) for e in stmt.value.slice.elts) \
        and anno.getanno(stmt, "section") == "forward"  # (last: most are no subscript)


def _int_array(node, facts) -> bool:
    value = facts.value(node)
    return value.kind == ARRAY and value.dtype is not None and value.dtype.kind in "iu"


class _Picker:
    def __init__(self, facts, shape, index):
        self.facts, self.shape, self.index = facts, tuple(shape), index

    def pick(self, node):
        """(node with its arrays indexed, whether one of the whole shape was), or None
        where node is not element-wise."""
        if isinstance(node, gast.Constant):
            return node, False
        if isinstance(node, gast.BinOp) and isinstance(
                node.op, (gast.Add, gast.Sub, gast.Mult, gast.Div, gast.Pow)):
            left, right = self.pick(node.left), self.pick(node.right)
            if left is None or right is None:
                return None
            return gast.BinOp(left=left[0], op=node.op, right=right[0]), left[1] or right[1]
        if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
            inner = self.pick(node.operand)
            return None if inner is None else (
                gast.UnaryOp(op=node.op, operand=inner[0]), inner[1])
        if isinstance(node, gast.Call) and len(node.args) == 1 and not node.keywords and \
                isinstance(self.facts._object(node.func), numpy.ufunc):
            inner = self.pick(node.args[0])
            return None if inner is None else (
                gast.Call(func=node.func, args=[inner[0]], keywords=[]), inner[1])
        if isinstance(node, gast.Name):
            value = self.facts.value(node)
            if value.kind != ARRAY:
                return (node, False) if value.shape == () else None
            return self.indexed(node, value.shape)
        return None

    def indexed(self, node, shape):
        """node[...] as it broadcasts against the whole shape, or None."""
        if shape is None or len(shape) > len(self.shape):
            return None
        if shape == ():
            return node, False
        lead = len(self.shape) - len(shape)
        parts = []
        for size, whole, e in zip(shape, self.shape[lead:], self.index[lead:]):
            if size == whole:
                parts.append(gast.Name(id=e.id, ctx=gast.Load(), annotation=None,
                                       type_comment=None))
            elif size == 1:
                parts.append(gast.Constant(value=0, kind=None))
            else:
                return None
        if not any(isinstance(p, gast.Name) for p in parts):
            return None  # (a lone x[0, 0] would not broadcast against the index's shape)
        subscript = gast.Subscript(value=node, slice=gast.Tuple(elts=parts, ctx=gast.Load()),
                                   ctx=gast.Load())
        return subscript, tuple(shape) == self.shape
