"""Checkpointed loops (`grad(f, checkpoint="revolve")`): a loop's iterations become a step
function that a scheduler runs, keeping a few snapshots of the loop's state instead of
what every iteration's adjoint reads; its backward pass recomputes each iteration from the
nearest snapshot (binomial checkpointing, ast_ad/revolve.py).

    stack.append((t2, x))              def f_step(i, x, y):
    x = x_2                                <the iteration's forward statements>
    ...                                    return x_2, y_2
    for i in reversed(range(n)):  ->   x, y, f_tape = checkpoint_forward(f_step, range(n),
        t2, x = stack.pop()                                              (x, y), None)
        <backward statements>          ...
                                       def f_step_reverse(i, x, y, bx, by, ba):
                                           <the iteration's forward statements>
                                           <its backward statements>
                                           return bx, by, ba
                                       bx, by, ba = checkpoint_backward(f_tape, f_step_reverse,
                                                                        (bx, by, ba))

Every loop at the top of the function whose backward image iterates is rewritten; a loop
whose state is not known to be floats or arrays, that writes into arrays or lists, that
draws random numbers, that can stop early, a while loop or a loop inside an if is
rejected with a CheckpointError: a schedule that recomputes iterations is only right when
an iteration is a function of its state alone.
"""

from __future__ import annotations

import builtins

import gast

from .. import anno, revolve
from ..checkpointing import draws_random, filled
from ..context import Context
from ..errors import CheckpointError
from ..syntax import (
    assign,
    blocks,
    call,
    clone,
    const,
    list_append,
    load_names,
    name,
    param_names,
    store_names,
    target_name,
    walk,
    walk_statements,
)
from ..values import ARRAY, SCALAR
from .resolve import adds_at


def checkpoint(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    if ctx.options.checkpoint is None or ctx.options.mode not in ("grad", "value_and_grad"):
        return func
    stack = _stack_name(func)
    for stmt in [s for s in func.body if anno.getanno(s, "section") == "forward"]:
        if isinstance(stmt, (gast.For, gast.While)):
            image = anno.getanno(stmt, "mirror")
            # No backward loop (none needed, or run inside the forward one by the fuse
            # pass): the loop saves nothing.
            if image is not None and any(s is image for s in func.body):
                _Loop(ctx, func, stmt, image, stack).rewrite()
            continue  # (loops nested in it are part of its iterations)
        for inner in walk_statements(blocks(stmt)[0] + blocks(stmt)[1]
                                     if isinstance(stmt, gast.If) else []):
            if isinstance(inner, (gast.For, gast.While)) \
                    and anno.getanno(inner, "mirror") is not None:
                raise _reject(ctx, inner, "it is inside an if statement",
                              "move the loop out of the if, or into a helper function")
    _drop_unused_stack(func, stack)
    return func


class _Loop:
    def __init__(self, ctx: Context, func: gast.FunctionDef, loop, image, stack: str | None):
        self.ctx, self.func, self.loop, self.image, self.stack = ctx, func, loop, image, stack

    def reject(self, why: str, hint: str):
        return _reject(self.ctx, self.loop, why, hint)

    def rewrite(self) -> None:
        loop, image, ctx = self.loop, self.image, self.ctx
        if isinstance(loop, gast.While):
            raise self.reject("it is a while loop: how many iterations it runs is known only "
                              "once it has run",
                              "write it as a for loop over range(...), or drop checkpoint=")
        if not (isinstance(image.iter, gast.Call) and isinstance(image.iter.func, gast.Name)
                and image.iter.func.id == "reversed" and len(image.iter.args) == 1
                and gast.dump(image.iter.args[0]) == gast.dump(loop.iter)):
            raise self.reject("it can stop early (a break or return inside it)",
                              "run every iteration and mask the ones after the stop")
        copies = [s for s in loop.body if anno.getanno(s, "phi") == "backedge"]
        headers = [target_name(s) for s in copies]
        self.check_pure(loop.body)
        for header in headers:
            known = ctx.values.get(header)
            if known is None or known.kind not in (SCALAR, ARRAY):
                if known is not None and (known.container or known.cls is not None):
                    what = f"a {known.container or known.cls.__name__}, not a float or an array"
                else:  # (an array times an attribute read when the code runs, ...)
                    what = "not known to be a float or an array when the code is generated"
                raise self.reject(f"its state {ctx.src_name(header)} is {what}",
                                  "carry floats or NumPy arrays from one iteration to the next")
        body = [s for s in loop.body if s not in copies]
        push = body[-1] if body and self.is_push(body[-1]) else None
        if push is not None:
            body = body[:-1]
        reverse_body = list(image.body)
        if reverse_body and self.is_pop(reverse_body[0]):
            reverse_body = reverse_body[1:]
        local = set(store_names(gast.Module(body=body, type_ignores=[]))) | {loop.target.id}
        self.check_not_read_outside(local - set(headers))
        carried = self.carried(reverse_body, local)
        index = loop.target.id
        base = ctx.src.name
        step = ctx.namer.fresh(f"{base}_step")
        step_reverse = ctx.namer.fresh(f"{base}_step_reverse")
        tape = ctx.namer.fresh(f"{base}_tape")

        # The step: the forward statements of one iteration, without what it saved.
        advance = _without_pushes(clone(body), self.stack)
        values = [s.value for s in copies]
        if any(isinstance(v, gast.Name) and v.id in headers for v in values):
            advance += clone(copies)  # a copy reads another header: copy as the loop did
            values = [name(h) for h in headers]
        advance.append(gast.Return(value=_tuple([clone(v) for v in values])))
        step_def = _function(step, [index] + headers, _live(advance), loop)
        run = assign(_tuple([name(h, store=True) for h in headers] + [name(tape, store=True)],
                            store=True),
                     call(ctx.reference(revolve.forward, "checkpoint_forward"),
                          [name(step), clone(loop.iter), _tuple([name(h) for h in headers]),
                           const(ctx.options.checkpoint[1])]), loop)
        for stmt in (step_def, run):
            anno.setanno(stmt, "section", "forward")
        self.replace(loop, [step_def, run])

        # The reverse step: the iteration again, then its adjoint.
        again = body + reverse_body + [gast.Return(value=_tuple([name(c) for c in carried]))]
        reverse_def = _function(step_reverse, [index] + headers + carried, _live(again), loop)
        back = assign(_tuple([name(c, store=True) for c in carried], store=True),
                      call(ctx.reference(revolve.backward, "checkpoint_backward"),
                           [name(tape), name(step_reverse), _tuple([name(c) for c in carried])]),
                      loop)
        for stmt in (reverse_def, back):
            anno.setanno(stmt, "section", "backward")
        self.replace(image, [reverse_def, back])

    def is_push(self, stmt) -> bool:
        found = list_append(stmt)
        return found is not None and found[0] == self.stack

    def is_pop(self, stmt) -> bool:
        value = getattr(stmt, "value", None)
        return isinstance(stmt, gast.Assign) and isinstance(value, gast.Call) \
            and isinstance(value.func, gast.Attribute) and value.func.attr == "pop" \
            and isinstance(value.func.value, gast.Name) and value.func.value.id == self.stack

    def check_pure(self, stmts: list) -> None:
        """An iteration recomputed must compute what it computed the first time: it writes
        into nothing the loop carries or reads, and draws no random numbers."""
        for stmt in walk_statements(stmts):
            if stmt is not None and self.is_push(stmt):
                continue
            written = isinstance(stmt, gast.AugAssign) or adds_at(stmt) \
                or list_append(stmt) is not None \
                or any(isinstance(n, (gast.Subscript, gast.Attribute))
                       and isinstance(n.ctx, gast.Store) for n in walk(stmt))
            if written:
                raise _reject(self.ctx, stmt, "an iteration writes into an array or list "
                              "in place, which recomputing it would repeat",
                              "build new arrays (np.where, np.concatenate) instead of "
                              "writing into one, or drop checkpoint=")
            for node in walk(stmt):
                if isinstance(node, gast.Call) and self.random(node):
                    raise _reject(self.ctx, stmt, "an iteration draws random numbers: "
                                  "recomputing it would draw others",
                                  "draw them before the loop and index them in it")

    def random(self, node: gast.Call) -> bool:
        callee = anno.getanno(node, "callee")
        found = [callee] if callee is not None and not isinstance(callee, tuple) else []
        root, path = node.func, []
        while isinstance(root, gast.Attribute):
            path.append(root.attr)
            root = root.value
        if isinstance(root, gast.Name):
            src = self.ctx.src
            obj = self.ctx.references.get(root.id)
            if obj is None and root.id in src.closure and filled(src.closure[root.id]):
                obj = src.closure[root.id].cell_contents
            if obj is None:
                obj = src.globals.get(root.id, getattr(builtins, root.id, None))
            for attr in reversed(path):
                found.append(obj)
                obj = getattr(obj, attr, None)
            found.append(obj)
        return any(draws_random(f) for f in found if f is not None)

    def check_not_read_outside(self, local: set) -> None:
        """What an iteration computes is seen only through the loop's state."""
        for stmt in self.func.body:
            if stmt is self.loop or stmt is self.image:
                continue
            read = set(load_names(stmt)) & local
            if read:
                raise self.reject(f"{self.ctx.src_name(sorted(read)[0])}, computed in an "
                                  "iteration, is read after the loop",
                                  "read only what the loop carries from one iteration to the "
                                  "next")

    def carried(self, reverse_body: list, local: set) -> list:
        """The adjoints the backward iterations pass on: assigned in them and defined
        before them or read after them."""
        at = next(i for i, s in enumerate(self.func.body) if s is self.image)
        before = set(param_names(self.func)) | set(store_names(gast.Module(
            body=self.func.body[:at], type_ignores=[])))
        after = set(load_names(gast.Module(body=self.func.body[at + 1:], type_ignores=[])))
        assigned = []
        for stmt in walk_statements(reverse_body):
            targets = [stmt.target] if isinstance(stmt, (gast.AugAssign, gast.For)) else \
                getattr(stmt, "targets", [])
            assigned.extend(n for t in targets for n in store_names(t)
                            if not isinstance(stmt, gast.For))
            if isinstance(stmt, gast.AugAssign):
                assigned.extend(n.id for n in walk(stmt.target) if isinstance(n, gast.Name))
        carried = [n for n in dict.fromkeys(assigned) if n not in local
                   and (n in before or n in after)]
        # the state's adjoints first, in the state's order
        headers = [target_name(s) for s in self.loop.body if anno.getanno(s, "phi") == "backedge"]
        rank = {h: i for i, h in enumerate(headers)}
        carried.sort(key=lambda n: rank.get(self.ctx.primal_of.get(n), len(rank)))
        missing = [n for n in carried if n not in before]
        if missing:
            raise self.reject(f"the adjoint {missing[0]} is not defined before it",
                              "drop checkpoint= for this function")
        return carried

    def replace(self, old, new: list) -> None:
        at = next(i for i, s in enumerate(self.func.body) if s is old)
        self.func.body[at:at + 1] = new


def _reject(ctx: Context, node, why: str, hint: str) -> CheckpointError:
    return ctx.error(CheckpointError, node, f"cannot checkpoint this loop: {why}", hint)


def _stack_name(func: gast.FunctionDef) -> str | None:
    """The list the save pass pushes iterations' values on (`stack = []`, first; not a
    user's `out = []` in the same place)."""
    first = func.body[0] if func.body else None
    if first is not None and anno.getanno(first, "stack"):
        return target_name(first)
    return None


def _drop_unused_stack(func: gast.FunctionDef, stack: str | None) -> None:
    if stack is not None and stack not in load_names(gast.Module(body=func.body[1:],
                                                                 type_ignores=[])):
        del func.body[0]


def _without_pushes(stmts: list, stack: str | None) -> list:
    """Statements without their pushes on `stack` (nested loops' too): the step saves
    nothing."""
    out = []
    for stmt in stmts:
        found = list_append(stmt)
        if found is not None and found[0] == stack:
            continue
        for block in blocks(stmt):
            block[:] = _without_pushes(block, stack) or [gast.Pass()]
        out.append(stmt)
    return out


def _live(stmts: list) -> list:
    """Without assignments nothing in the function reads (what only the backward pass
    read), repeatedly; a call is kept unless it is a module function (`math.sin`)."""
    while True:
        read = set(load_names(gast.Module(body=stmts, type_ignores=[])))
        count = sum(1 for _ in walk_statements(stmts))
        stmts = _keep(stmts, read)  # (nested blocks in place)
        if sum(1 for _ in walk_statements(stmts)) == count:
            return stmts


def _keep(block: list, read: set) -> list:
    kept = []
    for stmt in block:
        if _dead(stmt, read):
            continue
        for inner in blocks(stmt):
            inner[:] = _keep(inner, read) or [gast.Pass()]
        kept.append(stmt)
    return kept


def _dead(stmt, read: set) -> bool:
    if not isinstance(stmt, gast.Assign) or len(stmt.targets) != 1:
        return False
    targets = store_names(stmt.targets[0])
    if not targets or any(t in read for t in targets) or not all(
            isinstance(n, gast.Name) for n in walk(stmt.targets[0])
            if not isinstance(n, (gast.Tuple, gast.Store, gast.Load))):
        return False
    for node in walk(stmt.value):
        if isinstance(node, gast.Call):
            func = node.func
            if not (isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name)) \
                    or func.attr == "pop":  # a nested loop's pop: kept, or its pushes unpaired
                return False
    return True


def _tuple(elts: list, store: bool = False) -> gast.Tuple:
    return gast.Tuple(elts=elts, ctx=gast.Store() if store else gast.Load())


def _function(fname: str, params: list, body: list, origin) -> gast.FunctionDef:
    args = gast.arguments(args=[gast.Name(id=p, ctx=gast.Param(), annotation=None,
                                          type_comment=None) for p in params],
                          posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[],
                          kwarg=None, defaults=[])
    func = gast.FunctionDef(name=fname, args=args, body=body, decorator_list=[], returns=None,
                            type_comment=None, type_params=[])
    anno.setanno(func, "origin", anno.getanno(origin, "origin", origin))
    return func
