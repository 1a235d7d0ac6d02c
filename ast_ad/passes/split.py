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
    mutated, popped = set(), set()
    for stmt in walk_statements(backward):
        if isinstance(stmt, gast.AugAssign) and isinstance(stmt.target, gast.Name):
            mutated.add(stmt.target.id)  # (`bz += v` adds into an array in place)
        for node in walk(stmt):
            if isinstance(node, gast.Subscript) and isinstance(node.ctx, gast.Store) \
                    and isinstance(node.value, gast.Name):
                mutated.add(node.value.id)
            elif isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) \
                    and node.func.attr in ("pop", "append") \
                    and isinstance(node.func.value, gast.Name):
                mutated.add(node.func.value.id)
                popped.add(node.func.value.id)
    ctx.mutated_residuals = tuple(i for i, r in enumerate(read) if r in mutated)
    saved = ctx.namer.fresh("saved")
    residuals = gast.Tuple(elts=[name(r) for r in read], ctx=gast.Load())

    ret = gast.Return(value=gast.Tuple(elts=[clone(ctx.output), residuals], ctx=gast.Load()))
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
