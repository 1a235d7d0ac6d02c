"""Reuse the buffer of a temporary read for the last time: `t2 *= a; bs = t2`.

The adjoint of a log-softmax cross-entropy is `bs = -bt6[:, None] / t3 * t2`, where t2 is
the forward's `np.exp(s)` and nothing reads it afterwards. A careful person scales the
exponentials in place (`e /= n * sums`) instead of allocating a second array of the
same size (for a large array: a new one costs page faults, not only a pass). Here a
top-level backward statement `v = a * t` (also `t * a`, `a + t`, `t + a`, `t - a`,
`t / a`) becomes

    t *= a
    v = t

when t is a new array the function made (an arithmetic result or a NumPy function's),
assigned once, read last there (no other name sharing its memory), large, and of the
result's shape and dtype: the same values
(`a * t` and `t * a` are the same float operations) in t's memory, which nothing else
can see. Not in vjp mode, whose backward function may run again on the same forward
values, and not in code that is itself differentiated (Options.inplace).
"""

from __future__ import annotations

import math
from collections import defaultdict

import gast

from .. import anno
from ..context import Context
from ..syntax import assign, name, name_nodes
from .factor import fresh_value, shared
from .facts import Facts

# Arrays of at least this many elements: a new one costs page faults as well as a pass
# (smaller ones come from the allocator's free lists: not worth a less direct statement).
LARGE = 1 << 16

# op -> whether `a op t` may be written `t op= a` too (the operation commutes)
_OPS = {gast.Mult: True, gast.Add: True, gast.Sub: False, gast.Div: False}


def buffers(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    options = ctx.options
    if not options.inplace or options.mode not in ("grad", "value_and_grad") \
            or options.checkpoint is not None or options.trace:
        return func
    body = func.body
    facts = Facts(ctx)
    # (a statement is rewritten only with a buffer of the result's shape and dtype, so
    # large itself (see _reusable): its names are asked first, cheaper than the result)
    candidates = [i for i, s in enumerate(body) if (operands := _shape(s))
                  and any(_large(t, facts) for t, _, _ in operands) and _large(s.value, facts)]
    if not candidates:
        return func
    stores, defined = defaultdict(int), {}
    readers = defaultdict(list)  # name -> [(statement index or None if nested, reads)]
    for node in name_nodes(func.args):
        stores[node.id] += 1
    for k, stmt in enumerate(body):
        counts = defaultdict(int)
        for node in name_nodes(stmt):
            if isinstance(node.ctx, gast.Load):
                counts[node.id] += 1
            else:
                stores[node.id] += 1
        simple = isinstance(stmt, gast.Assign)
        for var, count in counts.items():
            readers[var].append((k if simple else None, count))
    for stmt in body:
        if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 \
                and isinstance(stmt.targets[0], gast.Name):
            defined[stmt.targets[0].id] = stmt
    params = {a.id for a in func.args.args}
    for i in reversed(candidates):
        stmt = body[i]
        found = next(((buffer, other, op) for buffer, other, op in _shape(stmt)
                      if _reusable(buffer, i, body, readers, stores, params, defined,
                                   facts)), None)
        if found is None:
            continue
        buffer, other, op = found
        var = buffer.id
        update = gast.AugAssign(target=name(var, store=True), op=op(), value=other)
        alias = assign(stmt.targets[0].id, name(var))
        for made in (update, alias):
            anno.copyanno(stmt, made)
        body[i:i + 1] = [update, alias]
    return func


def _reusable(buffer, i, body, readers, stores, params, defined, facts) -> bool:
    """Whether the name `buffer`, read in statement i, holds a new array no other name can
    see and nothing reads after statement i."""
    var, stmt = buffer.id, body[i]
    if stores[var] != 1 or var in params or var not in defined \
            or not fresh_value(defined[var].value, facts):
        return False
    for k, count in readers[var]:
        if k is None or k > i or (k == i and count != 1):
            return False  # read in a loop or branch, by a call for its effect, or later
        if k < i and var in shared(body[k].value, facts):
            return False  # `u = t.T`: u would see the write

    result, held = facts.value(stmt.value), facts.value(buffer)
    shape = facts.shape(stmt.value)
    return result.dtype is not None and result.dtype == held.dtype \
        and result.dtype.kind in "fc" and shape is not None and shape == facts.shape(buffer) \
        and math.prod(shape) >= LARGE


def _large(value, facts) -> bool:
    """Whether `value` is a float (or complex) array of a known shape, large."""
    result, shape = facts.value(value), facts.shape(value)
    return result.dtype is not None and result.dtype.kind in "fc" and shape is not None \
        and math.prod(shape) >= LARGE


def _shape(stmt) -> list:
    """[(t, a, op)] for a top-level backward `v = a op t` (or `t op a`) of a name t."""
    if not (isinstance(stmt, gast.Assign) and anno.getanno(stmt, "section") == "backward"
            and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name)
            and isinstance(stmt.value, gast.BinOp) and type(stmt.value.op) in _OPS):
        return []
    value, target, found = stmt.value, stmt.targets[0].id, []
    if isinstance(value.left, gast.Name) and value.left.id != target:
        found.append((value.left, value.right, type(value.op)))
    if _OPS[type(value.op)] and isinstance(value.right, gast.Name) and value.right.id != target:
        found.append((value.right, value.left, type(value.op)))
    return found
