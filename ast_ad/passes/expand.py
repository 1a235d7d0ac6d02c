"""Spell out `scipy.special.log_softmax` as the NumPy statements SciPy runs for it.

Called, SciPy's log_softmax hides its exponentials: the adjoint has to compute
`np.exp(y)` again over the whole array, and the picks of a cross-entropy
(`logp[np.arange(n), y]`) cannot move into it. Spelled out, the function is what a
person writes, and the passes after it treat it so (the shift's adjoint cancels,
the forward picks before computing, the exponentials are reused):

    y = scipy.special.log_softmax(x, axis=1)
        ->
    y_max = np.max(x, axis=1, keepdims=True)
    y_finite = np.isfinite(y_max)
    y_shift = np.where(y_finite, y_max, 0)
    y_shifted = x - y_shift
    y_exp = np.exp(y_shifted)
    y_sum = np.sum(y_exp, axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        y_log = np.log(y_sum)
    y = y_shifted - y_log

These are SciPy's own operations in its order (scipy/special/_logsumexp.py): the same
values, also where a row holds an infinity, and no warning for a row of -inf. Runs after
resolve (each call's callee is known) and before the values pass.
"""

from __future__ import annotations

import sys

import gast
import numpy as np

from .. import anno
from ..context import Context
from ..syntax import assign, blocks, gate_agrees


def expand(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    special = sys.modules.get("scipy.special")
    target = getattr(special, "log_softmax", None)
    if target is None:
        return func
    callees = ctx.scope.callees if ctx.scope is not None else None
    if callees is not None and callees.get(id(target)) is not target:
        # (resolve saw no call of it: nothing to spell out, and no look at each statement)
        gate_agrees(lambda: _block(func.body, target, ctx), func, "expand")
        return func
    _block(func.body, target, ctx)
    return func


def _block(stmts: list, target, ctx: Context) -> None:
    i = 0
    while i < len(stmts):
        stmt = stmts[i]
        for block in blocks(stmt):
            _block(block, target, ctx)
        found = _call(stmt, target)
        if found is None:
            i += 1
            continue
        spelled = _spelled(stmt, *found, ctx)
        stmts[i:i + 1] = spelled
        i += len(spelled)


def _call(stmt, target):
    """(x, axis) for `y = log_softmax(x)` or `(x, axis)` / `(x, axis=...)` with a constant
    axis (None, an int, a tuple of ints); else None."""
    if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], gast.Name) and isinstance(stmt.value, gast.Call)
            and anno.getanno(stmt.value, "callee") is target):
        return None
    call = stmt.value
    keywords = {k.arg: k.value for k in call.keywords}
    if not 1 <= len(call.args) <= 2 or set(keywords) - {"axis"} or \
            (len(call.args) == 2 and keywords):
        return None
    x = call.args[0]
    axis = call.args[1] if len(call.args) == 2 else keywords.get("axis", gast.Constant(
        value=None, kind=None))
    if not isinstance(x, (gast.Name, gast.Constant)) or not _constant_axis(axis):
        return None
    return x, axis


def _constant_axis(node) -> bool:
    if isinstance(node, gast.Constant):
        return node.value is None or type(node.value) is int
    return isinstance(node, gast.Tuple) and all(
        isinstance(e, gast.Constant) and type(e.value) is int for e in node.elts)


def _spelled(stmt, x, axis, ctx: Context) -> list:
    y = stmt.targets[0].id
    names = {part: ctx.namer.fresh(f"{y}_{part}")
             for part in ("max", "finite", "shift", "shifted", "exp", "sum", "log")}

    def numpy_call(fn, args, reduce=False):
        node = gast.Call(func=gast.Attribute(value=ctx.reference(np, "np"), attr=fn.__name__,
                                             ctx=gast.Load()),
                         args=args, keywords=[
                             gast.keyword(arg="axis", value=_copy(axis)),
                             gast.keyword(arg="keepdims", value=gast.Constant(
                                 value=True, kind=None))] if reduce else [])
        anno.setanno(node, "callee", fn)
        return node

    def load(var):
        return gast.Name(id=var, ctx=gast.Load(), annotation=None, type_comment=None)

    def binop(left, op, right):
        return gast.BinOp(left=left, op=op, right=right)

    values = [
        ("max", numpy_call(np.max, [_copy(x)], reduce=True)),
        ("finite", numpy_call(np.isfinite, [load(names["max"])])),
        ("shift", numpy_call(np.where, [load(names["finite"]), load(names["max"]),
                                        gast.Constant(value=0, kind=None)])),
        ("shifted", binop(_copy(x), gast.Sub(), load(names["shift"]))),
        ("exp", numpy_call(np.exp, [load(names["shifted"])])),
        ("sum", numpy_call(np.sum, [load(names["exp"])], reduce=True)),
        ("log", numpy_call(np.log, [load(names["sum"])])),
    ]
    out = []
    for part, value in values:
        new = assign(names[part], value, stmt)
        anno.copyanno(stmt, new)
        out.append(new)
    # np.log of a zero sum (a row of -inf) is -inf without a warning, as in SciPy
    log = out[-1]
    origin = anno.getanno(stmt, "origin", stmt)
    quiet = gast.Assign(targets=log.targets, value=log.value, type_comment=None)
    gast.copy_location(quiet, origin)
    errstate = gast.Call(func=gast.Attribute(value=ctx.reference(np, "np"), attr="errstate",
                                             ctx=gast.Load()), args=[], keywords=[
        gast.keyword(arg="divide", value=gast.Constant(value="ignore", kind=None))])
    anno.setanno(errstate, "callee", np.errstate)
    item = gast.withitem(context_expr=errstate, optional_vars=None)
    anno.setanno(quiet, "managers", anno.managers_of(stmt) + (item,))
    anno.setanno(log, "origin", quiet)
    last = assign(y, binop(load(names["shifted"]), gast.Sub(), load(names["log"])), stmt)
    anno.copyanno(stmt, last)
    out.append(last)
    return out


def _copy(node):
    if isinstance(node, gast.Name):
        return gast.Name(id=node.id, ctx=gast.Load(), annotation=None, type_comment=None)
    if isinstance(node, gast.Constant):
        return gast.Constant(value=node.value, kind=None)
    return gast.Tuple(elts=[_copy(e) for e in node.elts], ctx=gast.Load())
