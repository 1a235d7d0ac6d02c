"""In vjp mode, split the generated function into a forward and a backward function.

    def f_forward(x, y):                     def f_backward(saved, bz):
        <forward statements>                     x, t2, stack = saved
        return z, (x, t2, stack)                 <backward statements>
                                                 return (bx, by)

The forward function returns the value and the residuals: the forward values
(and the stack of loop iterations) that the backward statements read.
"""

from __future__ import annotations

import gast

from .. import anno, runtime
from ..context import Context
from ..syntax import (
    assign,
    blocks,
    call,
    clone,
    loads_of,
    name,
    param_names,
    store_names,
    walk,
    walk_statements,
)
from ..values import ARRAY


def split(func: gast.FunctionDef, ctx: Context):
    if ctx.options.mode != "vjp":
        return func
    body = func.body
    final = body[-1]  # return value, (gradients...)
    final = gast.Return(value=final.value.elts[1])
    forward = [s for s in body[:-1] if anno.getanno(s, "section") == "forward"]
    backward = [s for s in body[:-1] if anno.getanno(s, "section") == "backward"]
    params = param_names(func)
    assigned = set(params) | {n.id for s in forward for n in walk(s)
                              if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
    # The residuals: forward values the backward statements read before they assign
    # them (a value popped off the stack in a backward loop is not one).
    needed = _live_in(backward + [final], set())
    read = []
    for node in walk(gast.Module(body=backward + [final], type_ignores=[])):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load) \
                and node.id in assigned and node.id in needed and node.id not in read:
            read.append(node.id)
    # Residuals the backward pass changes in place (its stack, arrays it restores): a
    # vjp function called again needs fresh copies of these.
    mutated, popped, stored = set(), set(), set()
    for stmt in walk_statements(backward):
        if isinstance(stmt, gast.AugAssign) and isinstance(stmt.target, gast.Name):
            mutated.add(stmt.target.id)  # (`bz += v` adds into an array in place)
        for node in walk(stmt):
            if isinstance(node, gast.Subscript) and isinstance(node.ctx, gast.Store) \
                    and isinstance(node.value, gast.Name):
                mutated.add(node.value.id)
                stored.add(node.value.id)
            elif isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) \
                    and node.func.attr in ("pop", "append") \
                    and isinstance(node.func.value, gast.Name):
                mutated.add(node.func.value.id)
                popped.add(node.func.value.id)
    ctx.mutated_residuals = tuple(i for i, r in enumerate(read) if r in mutated)
    saved = ctx.namer.fresh("saved")
    residuals = gast.Tuple(elts=[name(r) for r in read], ctx=gast.Load())

    output = clone(ctx.output)
    if any(r in stored for r in read):
        output = _own_arrays(output, ctx)
    ret = gast.Return(value=gast.Tuple(elts=[output, residuals], ctx=gast.Load()))
    # A residual assigned only in a branch or a loop body is unbound when the forward pass
    # took another branch or ran no iteration; the backward pass then does not read it, but
    # the forward function's return tuple does.
    always = set(params) | {n.id for s in forward if not any(True for _ in blocks(s))
                            for n in walk(s)
                            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
    unbound = [assign(name(r, store=True), gast.Constant(value=None, kind=None))
               for r in read if r not in always]
    forward_fn = gast.FunctionDef(
        name=ctx.own_name("forward"), args=func.args, body=unbound + forward + [ret],
        decorator_list=[], returns=None, type_comment=None, type_params=[])

    unpack = []
    if read:
        unpack = [assign(gast.Tuple(elts=[name(r, store=True) for r in read], ctx=gast.Store()),
                         name(saved))]
        anno.setanno(unpack[0], "section", "backward")
    arguments = gast.arguments(
        args=[name(saved, store=False), name(ctx.cotangent)], posonlyargs=[], vararg=None,
        kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])
    for arg in arguments.args:
        arg.ctx = gast.Param()
    # The cotangent is the caller's: a backward pass that writes into it works on a copy.
    own = []
    if ctx.cotangent in mutated:
        copy = call(ctx.reference(list, "list"), [name(ctx.cotangent)]) \
            if ctx.cotangent in popped \
            else call(ctx.reference(runtime.copy_of, "copy_of"), [name(ctx.cotangent)])
        own = [assign(name(ctx.cotangent, store=True), copy)]
        anno.setanno(own[0], "section", "backward")
    backward_fn = gast.FunctionDef(
        name=ctx.own_name("backward"), args=arguments, body=unpack + own + backward + [final],
        decorator_list=[], returns=None, type_comment=None, type_params=[])
    return gast.Module(body=[forward_fn, backward_fn], type_ignores=[])


def _own_arrays(output: gast.AST, ctx: Context) -> gast.AST:
    """The output with copies of its arrays, where the backward function puts values back
    into saved arrays (`y[1:3] = saved_1`, for a view of y it reads): the output may be such
    an array, and the caller's backward pass, reading it after calling this backward
    function, must see what the forward pass returned."""
    value = ctx.values.get(output.id) if isinstance(output, gast.Name) else None
    if value is None:
        return output
    if value.kind == ARRAY:
        return call(gast.Attribute(value=output, attr="copy", ctx=gast.Load()), [])
    if value.container == "tuple" and value.items is not None \
            and any(item.kind == ARRAY for item in value.items):
        return gast.Tuple(elts=[
            _own_arrays_item(output, i, item) for i, item in enumerate(value.items)],
            ctx=gast.Load())
    return output


def _own_arrays_item(output: gast.Name, i: int, item) -> gast.AST:
    part = gast.Subscript(value=clone(output), slice=gast.Constant(value=i, kind=None),
                          ctx=gast.Load())
    if item.kind != ARRAY:
        return part
    return call(gast.Attribute(value=part, attr="copy", ctx=gast.Load()), [])


def _live_in(stmts: list, after: set) -> set:
    """Names `stmts` may read before assigning them, given the names read after them."""
    live = set(after)
    for stmt in reversed(stmts):
        if isinstance(stmt, gast.If):
            live = loads_of(stmt.test) | _live_in(stmt.body, live) | _live_in(stmt.orelse, live)
        elif isinstance(stmt, (gast.For, gast.While)):
            header = loads_of(stmt.iter if isinstance(stmt, gast.For) else stmt.test)
            target = set(store_names(stmt.target)) if isinstance(stmt, gast.For) else set()
            entry = live | header  # the body runs zero or more times
            while True:
                again = live | header | (_live_in(stmt.body, entry) - target)
                if again == entry:
                    break
                entry = again
            live = entry
        else:
            targets = [stmt.target] if isinstance(stmt, gast.AugAssign) else []
            live = (live - set(store_names(stmt))) | loads_of(stmt) | \
                {n.id for t in targets for n in walk(t) if isinstance(n, gast.Name)}
    return live
