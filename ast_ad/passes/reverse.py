"""Reverse mode: the forward statements, then the adjoint of each one in reverse order.

The generated function body is

    <forward: the primal statements, unchanged>
    <backward: for each block, adjoint inits, then the adjoints of its statements, reversed>
    return <value and/or gradients>

Adjoints accumulate: every contribution is `bx = bx + c` (or `bx[i] += c` for a
part of x), after an init `bx = 0.0` / `np.zeros_like(x)` at the top of the
block where x is defined. The simplify pass folds each init into the first
contribution; in a function without branches or loops this pass places them
itself, as simplify would (see _Reverse.place_inits). An if/else is replayed by
testing the same (saved) condition; a loop runs backwards over the same range,
or as many times as it ran.
"""

from __future__ import annotations

import builtins
from collections import Counter

import gast
import numpy as np

from .. import algebra, anno, records, runtime
from ..checkpointing import draws_random, is_checkpointed
from ..context import Context
from ..errors import CheckpointError, NoRuleError
from ..rules import registry
from ..syntax import (
    assign,
    blocks,
    call,
    clone,
    compound,
    const,
    dotted_path,
    item_write,
    list_append,
    name,
    param_names,
    target_name,
    walk,
    walk_statements,
)
from ..templates import Binding, instantiate
from ..values import ARRAY, OTHER, SCALAR, UNKNOWN
from . import patterns
from .activity import NONDIFFERENTIABLE_ATTRIBUTES, differentiable_operands
from .facts import Facts, describe_primal, missing_rule, mixed_precision
from .resolve import adds_at, call_parts, is_missing, user_function


def reverse(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    return _Reverse(ctx, func).function()


# Whether a function without branches or loops gets its adjoint inits placed as simplify's
# _fold_inits would place them (see _Reverse.place_inits); tests of _fold_inits turn it off,
# for a backward pass with every init at the top.
PLACE_INITS = True


def backward_statement(stmt: gast.AST, op: str, adjoint: str) -> gast.AST:
    anno.setanno(stmt, "adjoint", (op, adjoint))
    return stmt


class _Reverse(Facts):
    def __init__(self, ctx: Context, func: gast.FunctionDef):
        super().__init__(ctx)
        self.func = func
        self.active = ctx.active
        self.params = param_names(func)
        self.output_kind = None
        self.given: set[str] = set()  # names whose adjoints are parameters, not zero-initialised
        self.def_stmts = {}
        branches = False
        for s in walk_statements(func.body):
            defined = target_name(s)
            if defined is not None:
                self.def_stmts[defined] = s
            elif s.__class__ is gast.If:
                branches = True
        # (read by `escaping`, for if statements only: a function without one is not walked)
        self.loads = Counter(n.id for n in walk(func)
                             if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)) \
            if branches else Counter()
        self.escaping_stack: list[set] = []
        self.instances: dict = {}  # pattern -> patterns.Instance (see apply)
        self.facts_table: dict = {}  # (see patterns.pattern)
        self.names: dict = {}  # (see patterns.operands)
        self.uses: dict = {}  # operands key -> (template, instance, binding), see apply
        self.recording: patterns.Recording | None = None
        self.adjoints: dict[str, str] = {}  # name -> its adjoint's name
        # In a function without a branch or a loop, the function's block places its
        # adjoint inits itself, as simplify's _fold_inits would (see place_inits); a scatter,
        # a reset or a nonzero init op stops it (`irregular`).
        self.placing = PLACE_INITS and not any(compound(s) for s in func.body)
        self.irregular = False
        self.copies: dict = {}  # id(statements) -> (them, instance, derivative names): copy's
        self.unplaced: dict | None = None  # (see place_inits)
        self.init_order: list = []  # (see place_inits)
        self.init_rank: dict | None = None  # (made from it where place needs it)
        self.unfolded: list | None = None  # (simplify.CHECK: the backward pass as it was)

    # -- names and values ----------------------------------------------------

    def adjoint(self, var: str) -> str:
        adj = self.adjoints.get(var)
        if adj is None:  # (asked again at every use of var: the namer is asked once)
            adj = self.adjoints[var] = self.ctx.namer.adjoint(var)
            self.ctx.primal_of[adj] = var
        if self.recording is not None:
            self.recording.derivatives.append(var)
        return adj

    def init(self, var: str, origin, op="init") -> gast.AST:
        """`bx = 0.0` (or the zero of x's kind): assign(...) with its two annotations, made
        in one go (a long function has one per name it defines)."""
        adj = self.adjoint(var)
        if op != "init":
            self.irregular = True
        return anno.annotated(assign(adj, self.zero(var)), {
            "origin": anno.getanno(origin, "origin", origin), "adjoint": (op, adj)})

    def accumulate(self, var: str, value: gast.AST, origin) -> gast.AST:
        adj = self.adjoint(var)
        if self.kinds.get(var, OTHER) == OTHER:  # maybe a list: add item by item
            total = call(self.ctx.reference(runtime.accumulate, "accumulate"), [name(adj), value])
        else:
            total = algebra.simplify(gast.BinOp(left=name(adj), op=gast.Add(), right=value))
        return backward_statement(assign(adj, total, origin), "add", adj)

    def basic_index(self, index: gast.AST) -> bool:
        """Ints, slices, None and Ellipsis only: no position is reached twice."""
        parts = index.elts if isinstance(index, gast.Tuple) else [index]
        return all(isinstance(p, (gast.Slice, gast.Constant)) or self.kind(p) == SCALAR
                   for p in parts)

    def distinct_index(self, index: gast.AST) -> bool:
        """Whether an index with integer arrays reaches no position twice, as seen in the code:
        one of its arrays is `np.arange(...)` of a static length (its values distinct and not
        negative) with the shape all its arrays broadcast to, so that every position it
        selects has its own arange value (`x[np.arange(n), y]` with y of n labels); the other
        parts are slices, ints, None or integer arrays whose shapes are known. A repeat would
        need `np.add.at`; here `+=` (or a plain write) is exact."""
        import numpy

        parts = index.elts if isinstance(index, gast.Tuple) else [index]
        arrays, aranges = [], []
        for part in parts:
            if isinstance(part, gast.Slice) or isinstance(part, gast.Constant) and (
                    part.value is None or part.value is Ellipsis
                    or type(part.value) is int):
                continue
            if not isinstance(part, gast.Name):
                return False
            length = self.arange_length(part.id)
            if length is not None:
                arrays.append((length,))
                aranges.append((length,))
                continue
            known = self.ctx.values.get(part.id)
            if known is None or known.kind != ARRAY or known.dtype is None \
                    or known.dtype.kind not in "iu" or known.shape is None:
                return False  # a bool mask, a float, or a shape not known here
            arrays.append(tuple(known.shape))
        if not aranges:
            return False
        try:
            together = numpy.broadcast_shapes(*arrays)
        except ValueError:
            return False  # the forward indexing raises
        return any(shape == together for shape in aranges)

    def arange_length(self, var: str) -> int | None:
        """The length of `var = np.arange(...)` with ints the values pass knows (literals,
        dimensions, `len(x)`), start >= 0 and step > 0."""
        import numpy

        stmt = self.def_stmts.get(var)
        if stmt is None or anno.getanno(stmt, "phi") or not isinstance(stmt.value, gast.Call):
            return None
        callee, args, keywords = call_parts(stmt.value)
        if callee is not numpy.arange or keywords or not 1 <= len(args) <= 3:
            return None
        bounds = [self.value(a).const for a in args]
        if any(b is None for b in bounds):
            return None
        start, stop, step = ([0] + bounds + [1])[:3] if len(bounds) == 1 else (bounds + [1])[:3]
        if start < 0 or step <= 0:
            return None
        return max(0, -(-(stop - start) // step))

    def scatter(self, var: str, index: gast.AST, value: gast.AST, origin) -> gast.AST:
        adj = self.adjoint(var)
        self.irregular = True  # (_fold_inits' choices then depend on where it scatters)
        basic = self.basic_index(index)
        if self.kinds.get(var) not in (ARRAY, SCALAR) and not (
                basic and not isinstance(index, (gast.Slice, gast.Tuple))
                and (self.ctx.elements.get(var) in (ARRAY, SCALAR)
                     or self.kind(value) in (ARRAY, SCALAR))):
            # Maybe a list: add item by item (list[1:] += ... would extend it, and so would
            # items[1] += ... on an item that is itself a list or tuple).
            stmt = gast.Expr(value=call(self.ctx.reference(runtime.add_at, "add_at"),
                                        [name(adj), self.index_value(index), value]))
            anno.setanno(stmt, "origin", anno.getanno(origin, "origin", origin))
            return backward_statement(stmt, "scatter", adj)
        if self.ctx.options.lazy:
            self.check_lazy_write(index, basic, origin)
        if basic or self.distinct_index(index):
            target = gast.Subscript(value=name(adj), slice=index, ctx=gast.Store())
            stmt = gast.AugAssign(target=target, op=gast.Add(), value=value)
        else:  # integer-array indices may repeat: accumulate every occurrence
            import numpy

            add_at = gast.Attribute(value=gast.Attribute(
                value=self.ctx.reference(numpy, "np"), attr="add", ctx=gast.Load()),
                attr="at", ctx=gast.Load())
            stmt = gast.Expr(value=call(add_at, [name(adj), self.index_value(index), value]))
        anno.setanno(stmt, "origin", anno.getanno(origin, "origin", origin))
        return backward_statement(stmt, "scatter", adj)

    def check_lazy_write(self, index: gast.AST, basic: bool, origin) -> None:
        """The adjoint of a read `x[index]` writes into the adjoint array; with a Dask array
        that write must be one Dask's lazy item assignment does: ints and slices, not None
        (np.newaxis), nor integer arrays or masks (np.add.at, which Dask does not have)."""
        parts = index.elts if isinstance(index, gast.Tuple) else [index]
        newaxis = any(isinstance(p, gast.Constant) and p.value is None
                      or isinstance(p, gast.Attribute) and p.attr == "newaxis" for p in parts)
        if basic and not newaxis:
            return
        what = "None (np.newaxis)" if newaxis else "an integer array or a mask"
        raise self.ctx.error(
            NoRuleError, origin, f"no lazy adjoint for an index with {what} in code "
            "for Dask arrays: it would write into the gradient with np.add.at or item "
            "assignment, which Dask arrays do not support",
            "index with ints and slices, add axes with np.expand_dims, and write "
            "np.where(mask, x, 0.0) for a mask")

    # -- structure -----------------------------------------------------------

    def function(self) -> gast.FunctionDef:
        func = self.func
        ret = func.body[-1]
        value = ret.value
        mode = self.ctx.options.mode
        self.ctx.output = value
        if isinstance(value, gast.Name) and mode != "vjp":
            # The backward pass runs only once the output is checked to be a scalar.
            self.output_kind = self.kinds.get(value.id)
            self.kinds[value.id] = SCALAR
        if mode == "vjp":
            # The output's adjoint is given (the backward function's cotangent parameter).
            self.given = {value.id} if isinstance(value, gast.Name) else set()
            self.ctx.cotangent = self.adjoint(value.id) if isinstance(value, gast.Name) \
                else self.ctx.namer.fresh("cotangent")
        forward, backward = self.block(func.body, extra_defs=self.params)
        grads = []
        for i in self.ctx.options.argnums:
            p = self.params[i]
            g = name(self.adjoint(p)) if p in self.active else self.zero(p)
            if self.kinds.get(p) == ARRAY and self.needs_cast(i) and self.ctx.options.lazy:
                # np.asarray would compute a Dask gradient: as_gradient casts it lazily
                g = call(self.ctx.reference(runtime.as_gradient, "as_gradient"), [g, name(p)])
            elif self.kinds.get(p) == ARRAY and self.needs_cast(i):
                import numpy

                g = call(gast.Attribute(value=self.ctx.reference(numpy, "np"), attr="asarray",
                                        ctx=gast.Load()),
                         [g], [gast.keyword(arg="dtype", value=gast.Attribute(
                             value=name(p), attr="dtype", ctx=gast.Load()))])
            elif self.kinds.get(p) == SCALAR and self.scalar_needs_cast():
                g = call(self.ctx.reference(runtime.as_gradient, "as_gradient"), [g, name(p)])
            elif self.ctx.values.get(p, UNKNOWN).container is not None \
                    and not (_float64_dict(self.ctx.values[p]) and not mixed_precision(self.ctx)) \
                    and not self.ctx.options.callee:  # (a caller adds the adjoint as it is)
                # a dict, list, tuple, NamedTuple or dataclass: its gradient has its structure
                g = call(self.ctx.reference(runtime.tree_gradient, "tree_gradient"),
                         [g, name(p)])
            grads.append(g)
        grad = gast.Tuple(elts=grads, ctx=gast.Load()) \
            if self.ctx.options.argnums_is_tuple or mode == "vjp" else grads[0]
        result = gast.Tuple(elts=[clone(value), grad], ctx=gast.Load()) \
            if mode in ("value_and_grad", "vjp") else grad
        final = gast.Return(value=result)
        anno.setanno(final, "origin", anno.getanno(ret, "origin", ret))
        after = []
        if self.unplaced is not None:
            before, after = self.settle_inits(final)
            backward += before
            if self.unfolded is not None:
                self.check_placed(backward + [final] + after, self.unfolded + [clone(final)])
        for section, stmts in (("forward", forward), ("backward", backward + after)):
            _mark_section(stmts, section)
        suffix = {"value_and_grad": "value_and_grad", "vjp": "vjp"}.get(mode, "grad")
        func.name = self.ctx.namer.fresh(f"{self.ctx.src.name}_{suffix}")
        func.body = forward + backward + [final] + after
        return func

    def check_placed(self, placed: list, unfolded: list) -> None:
        """(simplify.CHECK) Raise AssertionError unless `placed` (the backward pass and
        the return, with place_inits' inits) is what simplify's _fold_inits makes of
        `unfolded` (them with every init at the top, and no contribution folded)."""
        from .simplify import _fold_inits

        _fold_inits(unfolded, _WalkedNames(), self.ctx)
        made, expected = [patterns.dump(s) for s in placed], [patterns.dump(s) for s in unfolded]
        if made != expected:
            at = next((i for i, (a, b) in enumerate(zip(made, expected)) if a != b),
                      min(len(made), len(expected)))
            raise AssertionError(
                f"inits placed otherwise than by _fold_inits, at statement {at} of "
                f"{len(made)} ({len(expected)}): {made[at:at + 2]} != {expected[at:at + 2]}")

    def scalar_needs_cast(self) -> bool:
        """Whether the adjoint of a scalar argument might not be a float (of its type): a
        float32 or 0-d array argument can make it a float32 or a 0-d array."""
        arrays = self.ctx.options.arrays
        if arrays is None or any(a is not None and a[0] is None for a in arrays):
            return False  # a callee: its caller casts
        return mixed_precision(self.ctx) or any(
            a is not None and (a[0] != "float64" or not a[1]) for a in arrays)

    def needs_cast(self, i: int) -> bool:
        """Whether the adjoint of array argument i might not be an array of its dtype.

        Float64 arithmetic stays float64 and keeps the argument's shape, so only
        other dtypes (float32 meeting float64 constants), 0-d arrays and functions where
        precisions mix need a cast. A callee's caller casts (its vjp returns adjoints
        as they come)."""
        arrays = self.ctx.options.arrays
        info = arrays[i] if arrays is not None and i < len(arrays) else None
        if self.ctx.options.mode == "vjp" and (info is None or info[0] is None):
            return False
        return info is None or info[0] != "float64" or not info[1] \
            or mixed_precision(self.ctx)

    def block(self, stmts: list, extra_defs=()) -> tuple[list, list]:
        """Return (forward, backward) for a statement list.

        The backward part starts by zeroing the adjoints of the names this block
        defines; a name assigned inside an if and read after it belongs to the
        block holding the if, since its adjoint collects contributions from there.
        """
        forward, backward_parts = [], []
        defined = list(extra_defs)
        for stmt in stmts:
            target = target_name(stmt)
            if target is not None:  # (most statements: `x = ...`)
                phi = anno.getanno(stmt, "phi")
                if phi != "backedge":
                    defined.append(target)
                forward.append(stmt)
                backward_parts.append(self.assign(stmt, target, phi))
                continue
            defined.extend(_defines(stmt))
            fwd, bwd = self.stmt(stmt)
            forward.extend(fwd)
            backward_parts.append(bwd)
            if isinstance(stmt, gast.If):
                defined.extend(sorted(self.escaping(stmt)))
        escaping = self.escaping_stack[-1] if self.escaping_stack else set()
        active, given, def_stmts = self.active, self.given, self.def_stmts
        first = stmts[0] if stmts else self.func  # (where a name without a definition starts)
        inits = [v for v in dict.fromkeys(defined)
                 if v in active and v not in escaping and v not in given]
        if self.placing and not self.irregular and stmts is self.func.body:
            pending, kinds = {}, self.kinds
            # A zero that may make a reference is made now, in init's order (the names of
            # references depend on it); 0.0, and np.zeros_like(x) once np is a reference,
            # only for an init that is placed (None).
            numpy_known = any(obj is np for obj in self.ctx.references.values())
            for v in inits:
                kind = kinds.get(v, OTHER)
                pending[self.adjoint(v)] = (
                    v, None if kind == SCALAR or kind == ARRAY and numpy_known
                    else self.zero(v), def_stmts.get(v, first))
            return forward, self.place_inits(pending, backward_parts)
        backward = [self.init(v, def_stmts.get(v, first)) for v in inits]
        for bwd in reversed(backward_parts):
            backward.extend(bwd)
        return forward, backward

    def place_inits(self, pending: dict, parts: list) -> list:
        """The backward pass of a function without branches or loops (`parts`: each
        statement's adjoint, in program order), with its adjoint inits (`pending`: adjoint
        -> (name, its zero or None if made where placed, origin), in the order they would
        head it) placed as simplify's _fold_inits would place them: each before the first
        statement that mentions its adjoint, or folded into it where that is `bx = bx + c`
        (which becomes `bx = c`). Those still unplaced are left in `unplaced`, for the
        return (see settle_inits). The inits folded are never made."""
        from .simplify import CHECK, contribution

        self.init_order = list(pending)  # (_fold_inits' order where a statement has two)
        if CHECK:  # (the backward pass as it was, for check_placed)
            self.unfolded = [self.make_init(adj, *spec, clone) for adj, spec in pending.items()]
            self.unfolded += [clone(s) for bwd in reversed(parts) for s in bwd]
        copies = self.copies
        out = []
        for part in reversed(parts):
            copied = copies.get(id(part))
            if not pending:
                out.extend(part)
                continue
            if copied is not None and copied[0] is part:
                uses = copied[1].adjoint_uses
                if uses is None:
                    uses = copied[1].adjoint_uses = _adjoint_uses(copied[1], contribution)
                derivatives = copied[2]
                for stmt, (mentioned, added, direct) in zip(part, uses):
                    found = [derivatives[p] for p in mentioned if derivatives[p] in pending]
                    if not found:
                        pass
                    elif direct and len(found) == 1 and found[0] == derivatives[added]:
                        del pending[found[0]]  # (most: the first `bx = bx + c`, now `bx = c`)
                        stmt.value = stmt.value.right
                    else:
                        self.place(stmt, found, pending,
                                   derivatives[added] if added is not None else None, direct,
                                   out, contribution)
                    out.append(stmt)
                continue
            for stmt in part:
                found = [n for n in dict.fromkeys(
                    n.id for n in walk(stmt) if n.__class__ is gast.Name) if n in pending]
                if found:
                    op, into = anno.getanno(stmt, "adjoint", (None, None))
                    self.place(stmt, found, pending, into if op == "add" else None, False,
                               out, contribution)
                out.append(stmt)
        self.unplaced = pending
        return out

    def place(self, stmt, found: list, pending: dict, into, direct: bool,
              out: list, contribution) -> None:
        """Place the pending inits of the adjoints `found` in `stmt` (_fold_inits' order):
        into's (the adjoint stmt adds into, if any) folded into it where it can be, the
        others appended to `out` (before stmt). `direct`: into's contribution is the
        right operand of stmt's value (`bx = bx + c`, c not reading bx)."""
        if len(found) > 1:
            if self.init_rank is None:
                self.init_rank = {adj: i for i, adj in enumerate(self.init_order)}
            found.sort(key=self.init_rank.__getitem__)
        for adj in found:
            spec = pending.pop(adj)
            if adj == into:
                added = stmt.value.right if direct else contribution(stmt.value, adj)
                if added is not None:
                    stmt.value = added
                    continue
            out.append(self.make_init(adj, *spec))

    def make_init(self, adj: str, var: str, zero, origin, copy=None) -> gast.AST:
        """The init `adj = <zero>` that `init` makes (`zero`: None if not made yet;
        `copy`: what copies a zero made already)."""
        if zero is None:
            zero = self.zero(var)
        elif copy is not None:
            zero = copy(zero)
        return anno.annotated(assign(adj, zero), {
            "origin": anno.getanno(origin, "origin", origin), "adjoint": ("init", adj)})

    def settle_inits(self, final: gast.Return) -> tuple[list, list]:
        """(inits before the return, inits after it) of those place_inits left: before it
        those it mentions (in _fold_inits' order), after it (dead: simplify removes them)
        the others."""
        pending = self.unplaced
        mentioned = {n.id for n in walk(final) if n.__class__ is gast.Name}
        before = [self.make_init(adj, *spec) for adj, spec in pending.items()
                  if adj in mentioned]
        after = [self.make_init(adj, *spec) for adj, spec in pending.items()
                 if adj not in mentioned]
        return before, after

    def stmt(self, stmt: gast.AST) -> tuple[list, list]:
        if isinstance(stmt, gast.Assign) and target_name(stmt) is not None:
            return [stmt], self.assign(stmt, target_name(stmt))
        if isinstance(stmt, gast.Return):
            return [], self.seed(stmt)
        if isinstance(stmt, gast.If):
            return self.if_(stmt)
        if isinstance(stmt, gast.For):
            return self.for_(stmt)
        if isinstance(stmt, gast.While):
            return self.while_(stmt)
        if item_write(stmt) is not None:
            return self.item_write(stmt)
        if list_append(stmt) is not None:
            return [stmt], self.append(stmt)
        if adds_at(stmt):
            return self.add_at(stmt)
        return [stmt], []  # print(...), assert, raise, break: nothing flows back

    def add_at(self, stmt: gast.Expr) -> tuple[list, list]:
        """`np.add.at(y, i, v)` adds v into y at i (again at each repeat of an index). The
        forward pass saves y[i]; the backward pass gives v the adjoint of y at i (y's own
        adjoint passes through) and puts y[i] back for the adjoints of earlier statements."""
        array, index, value = stmt.value.args
        saved = self.ctx.namer.fresh("saved")
        old = gast.Subscript(value=clone(array), slice=clone(index), ctx=gast.Load())
        save = assign(saved, call(gast.Attribute(value=old, attr="copy", ctx=gast.Load())), stmt)
        backward = []
        if array.id in self.active and isinstance(value, gast.Name) and value.id in self.active:
            part = gast.Subscript(value=name(self.adjoint(array.id)), slice=clone(index),
                                  ctx=gast.Load())
            contribution = call(self.ctx.reference(runtime.unbroadcast, "unbroadcast"),
                                [part, clone(value)])
            backward.append(self.accumulate(value.id, self.elide(contribution), stmt))
        restore = assign(gast.Subscript(value=clone(array), slice=clone(index), ctx=gast.Store()),
                         name(saved), stmt)
        anno.setanno(restore, "restores", array.id)
        backward.append(restore)
        return [save, stmt], backward

    def item_write(self, stmt: gast.Assign) -> tuple[list, list]:
        """`y[i] = v` writes into y in place, as the user's code does. The forward pass
        saves what it overwrites; the backward pass takes v's adjoint out of y's,
        zeroes that part (those values of y never reached the output), and puts the
        old values back for the adjoints of earlier statements that read y."""
        array, index, value = item_write(stmt)
        saved = self.ctx.namer.fresh("saved")
        old = gast.Subscript(value=name(array), slice=clone(index), ctx=gast.Load())
        if self.kinds.get(array) == ARRAY:
            old = call(gast.Attribute(value=old, attr="copy", ctx=gast.Load()))
        elif self.kinds.get(array) != SCALAR:
            old = call(self.ctx.reference(runtime.copy_of, "copy_of"), [old])
        save = assign(saved, old, stmt)
        backward = []
        if array in self.active:
            adj = self.adjoint(array)
            part = gast.Subscript(value=name(adj), slice=clone(index), ctx=gast.Load())
            part_shape, value_shape = self.shape(part), self.shape(value)
            if part_shape != () and (part_shape is None or value_shape is None
                                     or part_shape == value_shape):
                # A view of the adjoint: copy it before that part is zeroed below (unless
                # v is known to be smaller, so that unbroadcast makes a new array).
                part = call(gast.Attribute(value=part, attr="copy", ctx=gast.Load())) \
                    if self.kinds.get(array) == ARRAY \
                    else call(self.ctx.reference(runtime.copy_of, "copy_of"), [part])  # a list item
            if isinstance(value, gast.Name) and value.id in self.active:
                if self.basic_index(index) or self.distinct_index(index):
                    contribution = call(self.ctx.reference(runtime.unbroadcast, "unbroadcast"),
                                        [part, clone(value)])
                else:  # an index can repeat: only the last value written at a place survives
                    contribution = call(
                        self.ctx.reference(runtime.written_adjoint, "written_adjoint"),
                        [name(adj), self.index_value(clone(index)), clone(value)])
                backward.append(self.accumulate(value.id, self.elide(contribution), stmt))
            zero = assign(gast.Subscript(value=name(adj), slice=clone(index), ctx=gast.Store()),
                          const(0.0), stmt)
            self.irregular = True
            backward.append(backward_statement(zero, "scatter", adj))
        restore = assign(gast.Subscript(value=name(array), slice=clone(index), ctx=gast.Store()),
                         name(saved), stmt)
        anno.setanno(restore, "restores", array)
        backward.append(restore)
        return [save, stmt], backward

    def append(self, stmt: gast.Expr) -> list:
        """`ys.append(v)`: appends happen in order, so their adjoints pop in reverse order."""
        items, value = list_append(stmt)
        if items not in self.active or not (isinstance(value, gast.Name)
                                             and value.id in self.active):
            return []
        adj = self.adjoint(items)
        popped = call(gast.Attribute(value=name(adj), attr="pop", ctx=gast.Load()))
        known = self.ctx.values.get(value.id)
        if known is not None and known.container == "list":
            # a row of a list of lists: np.array's adjoint (unstack) gives it as an array
            popped = call(self.ctx.reference(builtins.list, "list"), [popped])
        return [self.accumulate(value.id, popped, stmt)]

    def seed(self, ret: gast.Return) -> list:
        out = []
        value = ret.value
        if self.ctx.options.mode == "vjp":
            return out  # the cotangent parameter is the output's adjoint
        statically_scalar = self.ctx.shapes.get(getattr(value, "id", None)) == () \
            or self.output_kind == SCALAR
        # An output that does not depend on the arguments has gradient 0.0 whatever it
        # is: check it is a float (not None from a missing return, a bool, a str...).
        inactive = isinstance(value, gast.Name) and value.id not in self.active
        if isinstance(value, gast.Name) and (not statically_scalar or inactive) \
                or isinstance(value, gast.Constant) and not isinstance(value.value, float):
            check = self.ctx.reference(
                runtime.scalar_output_check(self.ctx.src.qualname, self.ctx.location(ret)),
                "check_scalar_output")
            stmt = gast.Expr(value=call(check, [clone(value)]))
            anno.setanno(stmt, "origin", anno.getanno(ret, "origin", ret))
            out.append(stmt)
        if isinstance(value, gast.Name) and value.id in self.active:
            out.append(self.accumulate(value.id, const(1.0), ret))
        return out

    def escaping(self, stmt: gast.If) -> set[str]:
        """Names an if statement assigns that are read outside it."""
        inside = Counter(n.id for n in walk(stmt)
                         if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load))
        stored = {n.id for n in walk(stmt)
                  if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
        return {n for n in stored if self.loads[n] > inside[n]}

    def if_(self, stmt: gast.If) -> tuple[list, list]:
        self.escaping_stack.append(self.escaping(stmt) |
                                   (self.escaping_stack[-1] if self.escaping_stack else set()))
        then_fwd, then_bwd = self.block(stmt.body)
        else_fwd, else_bwd = self.block(stmt.orelse)
        self.escaping_stack.pop()
        forward = gast.If(test=stmt.test, body=then_fwd, orelse=else_fwd)
        anno.copyanno(stmt, forward)
        if not then_bwd and not else_bwd:
            return [forward], []
        backward = gast.If(test=clone(stmt.test), body=then_bwd or [gast.Pass()], orelse=else_bwd)
        anno.copyanno(stmt, backward)
        anno.setanno(forward, "mirror", backward)
        return [forward], [backward]

    def for_(self, stmt: gast.For) -> tuple[list, list]:
        body_fwd, body_bwd = self.block(stmt.body)
        forward = gast.For(target=stmt.target, iter=stmt.iter, body=body_fwd, orelse=[],
                           type_comment=None)
        anno.copyanno(stmt, forward)
        if not body_bwd:
            return [forward], []
        loop_range = stmt.iter
        before = []
        if _has_exit(stmt.body):
            # The loop may stop early: count its iterations, replay that many.
            counter = self.ctx.namer.fresh("trips")
            before.append(assign(counter, const(0), stmt))
            forward.body.insert(0, assign(counter, gast.BinOp(
                left=name(counter), op=gast.Add(), right=const(1)), stmt))
            loop_range = gast.Subscript(value=clone(loop_range), slice=gast.Slice(
                lower=None, upper=name(counter), step=None), ctx=gast.Load())
        backward = gast.For(target=clone(stmt.target),
                            iter=call(self.builtin("reversed"), [clone(loop_range)]),
                            body=body_bwd, orelse=[], type_comment=None)
        anno.copyanno(stmt, backward)
        anno.setanno(forward, "mirror", backward)
        anno.setanno(backward, "replays", forward)
        return before + [forward], [backward]

    def while_(self, stmt: gast.While) -> tuple[list, list]:
        body_fwd, body_bwd = self.block(stmt.body)
        forward = gast.While(test=stmt.test, body=body_fwd, orelse=[])
        anno.copyanno(stmt, forward)
        if not body_bwd:
            return [forward], []
        counter = self.ctx.namer.fresh("trips")
        forward.body.insert(0, assign(counter, gast.BinOp(
            left=name(counter), op=gast.Add(), right=const(1)), stmt))
        backward = gast.For(target=name(self.ctx.namer.fresh("_"), store=True),
                            iter=call(self.builtin("range"), [name(counter)]), body=body_bwd,
                            orelse=[], type_comment=None)
        anno.copyanno(stmt, backward)
        anno.setanno(forward, "mirror", backward)
        anno.setanno(backward, "replays", forward)
        return [assign(counter, const(0), stmt), forward], [backward]

    def builtin(self, called: str) -> str:
        """The name by which the backward code calls the builtin `called` (reversed, range,
        slice): its own. The code looks it up each time it runs, so it is only right while
        the user's module does not define that name: the look-up records the dependency
        (a global defined later regenerates it), and check_builtin_names rejects code that
        calls a name the function gives to something else."""
        self.ctx.scope.value(called)
        return called

    def index_value(self, index: gast.AST) -> gast.AST:
        """An index as an ordinary expression: slices become slice(...) calls."""
        if isinstance(index, gast.Slice):
            bounds = (index.lower, index.upper, index.step)
            parts = [p if p is not None else const(None) for p in bounds]
            return call(self.builtin("slice"), parts)
        if isinstance(index, gast.Tuple):
            return gast.Tuple(elts=[self.index_value(e) for e in index.elts], ctx=gast.Load())
        return index

    # -- one assignment ------------------------------------------------------

    def assign(self, stmt: gast.Assign, target: str, phi=False) -> list:
        """The adjoint of `target = ...` (`phi`: its "phi" annotation, if the caller read
        it; False if not)."""
        if target not in self.active:
            return []
        value = stmt.value
        if phi is False:
            phi = anno.getanno(stmt, "phi")
        record = anno.getanno(value, "record") if value.__class__ is gast.Call else None
        form = None if phi or record is not None else \
            _rule_form(value, self.ctx.compile_callee is not None)
        use = self.use(*form, target, anno.getanno(value, "cast")) if form is not None \
            else None
        if use is not None and not patterns.CHECK:
            known = self.uses.get(use[0])
            if known is not None:
                # (a use with this key went through the test below and apply's choices)
                return self.copy(known[1], patterns.bind(known[2], use[1]), stmt)
        if not any(op in self.active for op in differentiable_operands(value)):
            # Nothing differentiable flows in (`y = np.zeros(n)` later written into).
            return [self.init(target, stmt, op="reset")] if phi == "backedge" else []
        if isinstance(value, (gast.Name, gast.Constant)) or phi:
            out = self.apply("copy", [value], {}, target, stmt)
        elif record is not None:  # P(a, b): as the display (a, b), or {"w": a, "b": b}
            keys = range(len(record[1])) if record[2] == "tuple" else record[1]
            out = [self.accumulate(e.id, gast.Subscript(
                value=name(self.adjoint(target)), slice=const(k), ctx=gast.Load()), stmt)
                for k, e in zip(keys, records.items(value, record))
                if isinstance(e, gast.Name) and e.id in self.active]
        elif form is not None:
            out = self.apply(*form, target, stmt, use)
        elif isinstance(value, gast.Call):  # a Python function, compiled with the call
            callee, args, keywords = call_parts(value)
            out = self.call_user_function(callee, args, keywords, target, stmt)
        elif isinstance(value, gast.Subscript):
            if anno.hasanno(value, "indexer"):  # np.r_[x, y]
                raise self.ctx.error(
                    NoRuleError, stmt, f"no adjoint rule for {dotted_path(value.value)}[...]",
                    "build the array with np.concatenate, np.stack, np.hstack or np.vstack")
            out = self.apply("getitem", [value.value, value.slice], {}, target, stmt)
        elif isinstance(value, (gast.Tuple, gast.List)):
            out = [self.accumulate(e.id, gast.Subscript(
                value=name(self.adjoint(target)), slice=const(i), ctx=gast.Load()), stmt)
                for i, e in enumerate(value.elts)
                if isinstance(e, gast.Name) and e.id in self.active]
        elif isinstance(value, gast.Dict):  # {"W": w, ...}: its adjoint is a dict too
            out = [self.accumulate(v.id, gast.Subscript(
                value=name(self.adjoint(target)), slice=const(k.value), ctx=gast.Load()), stmt)
                for k, v in zip(value.keys, value.values)
                if isinstance(v, gast.Name) and v.id in self.active]
        elif isinstance(value, gast.Attribute) and self.field(value) is not None:
            # p.w of a NamedTuple or dataclass: its adjoint is a list or dict of the fields
            out = [self.scatter(value.value.id, self.field(value), name(self.adjoint(target)),
                                stmt)] if value.value.id in self.active else []
        elif isinstance(value, gast.Attribute) and value.attr not in NONDIFFERENTIABLE_ATTRIBUTES:
            out = self.apply("attr:" + value.attr, [value.value], {}, target, stmt)
        else:
            out = []
        if phi == "backedge":  # the header name now means the previous iteration's value
            out.append(self.init(target, stmt, op="reset"))
        return out

    def field(self, node: gast.Attribute) -> gast.Constant | None:
        """Where the adjoint of `p.w` goes in p's adjoint, for p a NamedTuple (an index) or a
        dataclass (a key); None for other attributes."""
        base = self.ctx.values.get(node.value.id) if isinstance(node.value, gast.Name) else None
        if base is None or base.cls is None or base.keys is None or node.attr not in base.keys:
            return None
        return const(base.keys.index(node.attr) if base.container == "tuple" else node.attr)

    def call_user_function(self, fn, args, keywords, target: str, stmt: gast.Assign) -> list:
        """`z = g(a, b)` for a Python function g: g gets its own forward and backward
        functions (generated once, cached); the forward one also returns what its
        backward one needs, and the caller keeps that until its own backward pass."""
        options, params, atoms, argnums = self.callee_options(
            fn, args, keywords, "vjp", lambda var: var in self.active, stmt)
        checkpointed = is_checkpointed(fn)
        if checkpointed and draws_random(fn):
            raise self.ctx.error(
                CheckpointError, stmt, f"cannot checkpoint {fn.__name__}: it draws random "
                "numbers, and calling it again in the backward pass would draw others",
                "draw them outside and pass them in, or call it without ast_ad.checkpoint")
        functions = self.ctx.compile_callee(fn, options, self.ctx.location(stmt))
        if functions is None:  # the function calls itself: so do its forward and backward
            forward_fn = backward_fn = None
            forward_ref = name(self.ctx.own_name("forward"))
        else:
            forward_fn, backward_fn = functions
            self.ctx.callees.append(forward_fn.__ast_ad_source__)
            forward_ref = self.ctx.reference(forward_fn, forward_fn.__name__)
        base = fn.__name__ if fn.__name__.isidentifier() else "function"
        # Forward: `z, g_saved = g_forward(a, b)` (same arguments as the user's call).
        saved = self.ctx.namer.fresh(f"{base}_saved")
        out = []
        if checkpointed:
            # ast_ad.checkpoint(g): the forward pass calls g itself and keeps nothing;
            # the backward pass calls g's forward again, for what g's adjoint reads.
            recompute = clone(stmt.value)
            recompute.func = forward_ref
            stmt.value.func = self.ctx.reference(fn, base)
            out.append(assign(gast.Tuple(elts=[name(self.ctx.namer.temp(), store=True),
                                               name(saved, store=True)], ctx=gast.Store()),
                              recompute, stmt))
        else:
            stmt.value.func = forward_ref
            stmt.targets = [gast.Tuple(elts=[name(target, store=True), name(saved, store=True)],
                                       ctx=gast.Store())]
        # Backward: `t1, t2 = g_backward(g_saved, bz)`, then add each into its argument's adjoint.
        grads = [self.ctx.namer.temp() for _ in argnums]
        backward_call = call(self.ctx.reference(backward_fn, backward_fn.__name__)
                             if backward_fn is not None else name(self.ctx.own_name("backward")),
                             [name(saved), name(self.adjoint(target))])
        out.append(assign(gast.Tuple(elts=[name(g, store=True) for g in grads],
                                     ctx=gast.Store()), backward_call, stmt))
        for g, i in zip(grads, argnums):
            out.append(self.accumulate(atoms[i].id, name(g), stmt))
        return out

    def use(self, primal, args: list, keywords: dict, target: str, cast=None) -> tuple | None:
        """(key, operands) of the use of a rule `target = primal(*args, **keywords)`: uses
        with the same key select the same template and copy the same instance, and
        differentiable_operands finds the same names active in them (`cast`: the call's
        annotation, which it reads); None if an operand is neither a name nor a literal."""
        given = [name(target), *args, *keywords.values()]
        found = patterns.operands(self, given, self.active.__contains__, self.facts_table,
                                  self.names)
        if found is None:
            return None
        try:
            hash(primal)
        except TypeError:
            return None
        return (primal, cast, len(args), tuple(keywords), found), given

    def apply(self, primal, args: list, keywords: dict, target: str, stmt: gast.AST,
              use: tuple | None = None) -> list:
        """Instantiate the adjoint rule of `primal` for `target = primal(*args, **keywords)`
        (`use`: see `use`, if known)."""
        rule = registry.lookup(primal)
        if rule is None or not rule.adjoints:
            raise self.no_rule(primal, stmt)
        if use is None:
            use = self.use(primal, args, keywords, target)
            known = self.uses.get(use[0]) if use is not None else None
            if known is not None and not patterns.CHECK:
                return self.copy(known[1], patterns.bind(known[2], use[1]), stmt)
        if use is not None:
            use, given = use
            result = given[0]
        else:
            result = name(target)
        template, bound = self.select(rule.adjoints, args, keywords, primal, "adjoint", stmt)
        atoms = {template.result: result, **bound}
        key = patterns.pattern(self, template, rule.lib, atoms, self.active.__contains__,
                               self.facts_table, names=self.names)
        held = self.instances.get(key) if key is not None else None
        if held is not None and use is not None:
            if patterns.CHECK and use in self.uses:
                known = self.uses[use]
                assert known[0] is template and known[1] is held, "a key met two rules"
            self.uses[use] = (template, held, patterns.binding(atoms, given))
        if held is not None and not patterns.CHECK:
            return self.copy(held, atoms, stmt)
        # Filled in full (the first use of this pattern): what it makes is remembered.
        recording = self.recording = patterns.Recording()
        try:
            out, values, remembered = self.fill(
                template, rule.lib, patterns.marked(atoms) if key is not None else atoms,
                target, stmt, recording)
        finally:
            self.recording = None
        if key is not None and remembered and held is None:
            instance = patterns.remember(out, atoms, recording, self.ctx.namer.adjoint,
                                         values, self.ctx.references)
            if instance is not None:
                self.instances[key] = instance
                if use is not None:
                    self.uses[use] = (template, instance, patterns.binding(atoms, given))
        if key is not None:
            patterns.unmark(out)
        if held is not None and remembered:  # (patterns.CHECK) a copy would make the same
            patterns.check(held, out, atoms, self.ctx.namer.adjoint, recording, stmt)
        return out

    def copy(self, instance: patterns.Instance, atoms: dict, stmt: gast.AST) -> list:
        """The statements of a remembered instance for this use."""
        out, temps, derivatives = patterns.copy(instance, atoms, self.adjoint,
                                                self.ctx.namer.temp, stmt)
        if self.placing:  # (what place_inits reads of it)
            self.copies[id(out)] = (out, instance, derivatives)
        for i, value in instance.values:
            self.ctx.values[temps[i]] = value
        return out

    def fill(self, template, lib, atoms: dict, target: str, stmt: gast.AST,
             recording: patterns.Recording) -> tuple[list, list, bool]:
        """The statements of one use of an adjoint rule, the values it gave temporaries, and
        whether they can be remembered (a write into part of an adjoint cannot)."""

        def derivative(kind, param):
            atom = atoms[param]
            if kind == "b" and param == template.result:
                return name(self.adjoint(target))
            if isinstance(atom, gast.Name) and atom.id in self.active:
                return name(self.adjoint(atom.id))
            return None

        def new_temp():
            temp = self.ctx.namer.temp()
            recording.temps.append(temp)
            return temp

        binding = Binding(
            atoms=atoms, derivative=derivative,
            resolve_global=lambda n, obj: self.ctx.reference(obj, n),
            lib=lib, new_temp=new_temp)
        out, values, remembered = [], [], True
        for item in instantiate(template, binding):
            value = self.spelled_out(algebra.simplify(item[-1]))
            if item[0] == "temp":
                known = self.value(value)
                if known.kind != OTHER:  # so that later statements of the rule know it
                    self.ctx.values[item[1]] = known
                    values.append((item[1], known))
                out.append(assign(item[1], value, stmt))
            elif item[0] == "add":
                into = atoms[item[1]].id
                known = self.ctx.values.get(into)
                if known is not None and known.container == "list" \
                        and not self.gives_list(value):
                    # np.sin(ys) for a list ys: its adjoint is an array, but the backward
                    # loop that replays the appends pops it item by item
                    value = call(self.ctx.reference(builtins.list, "list"), [value])
                out.append(self.accumulate(into, value, stmt))
            elif item[0] == "scatter":
                out.append(self.scatter(atoms[item[1]].id, item[2], value, stmt))
                remembered = False
        return out, values, remembered

    def gives_list(self, value: gast.AST) -> bool:
        """An adjoint expression known to be a list (np.stack's adjoint, `unstack(...)`;
        np.concatenate's, hstack's and vstack's, cut into a list of pieces; those of lists
        joined or repeated)."""
        if self.value(value).container == "list":
            return True
        if not (isinstance(value, gast.Call) and isinstance(value.func, gast.Name)):
            return False
        # (Wrapped in list(...) all the same, a second derivative would need a tangent
        # rule for list, which it has not: a new list may grow.)
        for helper in (runtime.unstack, runtime.unconcatenate, runtime.unhstack,
                       runtime.unvstack, runtime.sequence_head, runtime.sequence_tail,
                       runtime.repeated_adjoint):
            reference = self.ctx.reference(helper, helper.__name__)
            if isinstance(reference, gast.Name) and value.func.id == reference.id:
                return True
        return False

    def no_rule(self, primal, stmt) -> NoRuleError:
        if isinstance(primal, tuple):
            what = f"the method .{primal[1]}()"
        elif isinstance(primal, str) and primal.startswith("attr:"):
            what = f"the attribute .{primal[5:]}"
        elif primal is None or is_missing(primal):
            what = "a call whose target cannot be resolved before running"
        else:
            what = describe_primal(primal)
        return missing_rule(
            self.ctx, primal, stmt, "adjoint", what,
            "register one with @ast_ad.register_adjoint(...) (see the README), "
            "or compute this value outside the differentiated function")



class _WalkedNames:
    """What simplify's _fold_inits reads of its name cache, for check_placed: a statement's
    reads per name, names and bindings per name, from a walk at each question (simplify's
    own cache, and its count of walks, stay simplify's)."""

    def get(self, stmt) -> tuple:
        reads, binds, names = Counter(), Counter(), set()
        for node in walk(stmt):
            if node.__class__ is gast.Name:
                names.add(node.id)
                if node.ctx.__class__ is gast.Load:
                    reads[node.id] += 1
                elif node.ctx.__class__ is gast.Store:
                    binds[node.id] += 1
        return reads, None, None, names, None, None, binds

    def assign_contribution(self, stmt, var: str, added) -> None:
        stmt.value = added


def _adjoint_uses(instance: patterns.Instance, contribution) -> list:
    """For each statement of an instance, what place_inits reads of it: (the operands
    whose derivative names it mentions, the operand into whose derivative it adds (or
    None), whether that contribution is its value's right operand: `bx = bx + c`, c not
    reading bx, as simplify's `contribution` finds)."""
    roles = instance.roles
    uses = []
    for stmt in instance.stmts:
        mentioned = []
        for node in walk(stmt):
            if node.__class__ is gast.Name:
                role = roles.get(node.id)
                if role is not None and role[0] == "derivative" and role[1] not in mentioned:
                    mentioned.append(role[1])
        op, adj = anno.getanno(stmt, "adjoint", (None, None))
        role = roles.get(adj)
        added = role[1] if op == "add" and role is not None and role[0] == "derivative" \
            else None
        value = stmt.value if stmt.__class__ is gast.Assign else None
        direct = added is not None and value.__class__ is gast.BinOp \
            and target_name(stmt) == adj and contribution(value, adj) is value.right
        uses.append((tuple(mentioned), added, direct))
    return uses


def _mark_section(stmts: list, section: str) -> None:
    """Annotate each statement of `stmts`, nested ones included, with its section (a
    block's statements in one setanno_all, not one generator step each)."""
    anno.setanno_all(stmts, "section", section)
    for stmt in stmts:
        if compound(stmt):
            for block in blocks(stmt):
                _mark_section(block, section)


def _rule_form(value: gast.AST, compiles_callees: bool) -> tuple | None:
    """(primal, args, keywords) of an operation whose adjoint is a rule's: an operator, or
    a call of anything but a Python function compiled with the call."""
    cls = value.__class__
    if cls is gast.BinOp:
        return type(value.op), [value.left, value.right], {}
    if cls is gast.UnaryOp:
        return type(value.op), [value.operand], {}
    if cls is gast.Call:
        callee, args, keywords = call_parts(value)
        if registry.lookup(callee) is None and user_function(callee) and compiles_callees:
            return None
        return callee, args, keywords
    return None


def _float64_dict(value) -> bool:
    """A dict of float64 arrays: its adjoint (a dict of float64 arrays of their shapes, see
    Facts.keyed_zero) is its gradient as it is."""
    return value.container == "dict" and value.cls is None and value.items is not None \
        and all(v.kind == ARRAY and v.dtype == np.float64 and v.shape for v in value.items)


def _defines(stmt: gast.AST) -> list[str]:
    """Names a statement of a block defines for that block (loop headers included)."""
    name_ = target_name(stmt)
    if name_ is not None:
        return [] if anno.getanno(stmt, "phi") == "backedge" else [name_]
    if isinstance(stmt, gast.For):
        headers = [target_name(s) for s in stmt.body if anno.getanno(s, "phi") == "backedge"]
        return [stmt.target.id] + headers
    if isinstance(stmt, gast.While):
        return [target_name(s) for s in stmt.body if anno.getanno(s, "phi") == "backedge"]
    return []


def _has_exit(body: list) -> bool:
    return any(isinstance(s, gast.If) and any(isinstance(b, gast.Break) for b in s.body)
               for s in body)
