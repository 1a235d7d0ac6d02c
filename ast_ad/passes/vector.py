"""Vector mode: forward mode carrying every direction at once, a whole Jacobian in one call.

Python floats get one variable per direction, with the unit seeds folded in
(the Hessian of `log(x1) + x1*x2 - sin(x2)`, through its generated gradient):

    def w1_grad_hessian(x1, x2):
        t2 = 1.0 / x1
        return (-(t2 / x1), 1.0), (1.0, math.sin(x2))

Arrays get one leading axis: the tangent of a value of shape s has shape
(n,) + s, row j the derivative along the j-th input element (the inputs,
flattened and concatenated):

    def j1_jacfwd(x, A):
        dx = np.eye(50)
        t1 = A @ x
        dt1 = dx @ A.T
        ...
        return dy.T

A rule's tangent template is instantiated as in forward mode, then rewritten
for the batch axis (`_Stacked.batched`): element-wise expressions lift a
lower-rank tangent (`dt[:, None]`), an index gets `:` in front, a reduction's
axes move by one, `A @ dx` of a 1-D dx becomes `dx @ A.T`. An expression the
rewrite does not know raises VectorModeError, and the caller takes the
Jacobian one direction at a time instead (transforms.jacfwd): never a guess.
"""

from __future__ import annotations

from collections import Counter

import gast
import numpy as np

from .. import algebra, anno, runtime
from ..context import Context
from ..errors import VectorModeError
from ..syntax import (
    assign,
    call,
    clone,
    const,
    item_write,
    list_append,
    name,
    nodes_of,
    target_name,
    walk_statements,
)
from ..values import ARRAY, OTHER, SCALAR
from .facts import Facts
from .forward import Forward, is_symbolic_zero, symbolic_zero

# Floats: at most this many directions as separate variables (beyond, arrays of n).
UNROLL = 8


def vector(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    inputs, n = _inputs(func, ctx)
    floats = all(shape == () for _, _, shape in inputs) and n <= UNROLL and all(
        _floats_only(ctx.values.get(v)) for v in ctx.active)
    return (_Unrolled if floats else _Stacked)(ctx, func, inputs, n).vector_function()


def _inputs(func, ctx):
    """[(parameter, first direction, static shape)] of the inputs, and the number of
    directions; VectorModeError for an input whose shape is not known."""
    params = [a.id for a in func.args.posonlyargs + func.args.args]
    inputs, n = [], 0
    for i in ctx.options.argnums:
        value = ctx.values.get(params[i])
        if value is None or value.kind not in (SCALAR, ARRAY) or value.shape is None \
                or any(not isinstance(d, int) for d in value.shape):
            raise VectorModeError(f"vector mode needs the shape of {params[i]}",
                                  hint="call with arrays of known shape")
        inputs.append((params[i], n, tuple(value.shape)))
        n += int(np.prod(value.shape, dtype=int))
    return inputs, n


def _floats_only(value) -> bool:
    if value is None:
        return False
    if value.kind == SCALAR:
        return value.dtype is None or value.dtype.kind == "f"
    if value.kind == OTHER and value.container in ("tuple", "list"):
        parts = value.items if value.items is not None else (value.element,)
        return all(p is not None and p.kind == SCALAR for p in parts)
    return False


class _Vector(Forward):
    """What both layouts share: the statements, once per direction or once for all."""

    def __init__(self, ctx: Context, func: gast.FunctionDef, inputs, n: int):
        super().__init__(ctx, func)
        self.inputs = inputs
        self.n = n

    def call_user_function(self, fn, args, keywords, target, stmt) -> list:
        raise VectorModeError(f"vector mode does not follow a call of {fn.__name__}",
                              hint="ast-ad takes the Jacobian one direction at a time")

    def mutating_call(self, stmt):
        if super().mutating_call(stmt) is not None:
            raise VectorModeError("vector mode does not batch np.add.at")
        return None

    def vector_function(self) -> gast.FunctionDef:
        func = self.func
        ret = func.body[-1]
        body = self.prologue() + self.block(func.body[:-1])
        jacobian = self.jacobian(ret.value, body)
        final = gast.Return(value=jacobian)
        anno.setanno(final, "origin", anno.getanno(ret, "origin", ret))
        for stmt in walk_statements(body):
            anno.setanno(stmt, "section", "forward")
        func.body = self.finish(body) + [final]
        func.args.args = func.args.posonlyargs + func.args.args
        func.args.posonlyargs = []
        anno.setanno(func, "vector", "unrolled" if isinstance(self, _Unrolled) else "stacked")
        base = self.ctx.src.name  # the Hessian: the Jacobian of the generated f_grad
        hessian = base.endswith("_grad") and hasattr(self.ctx.src.fn, "__ast_ad_source__")
        func.name = self.ctx.namer.fresh(f"{base[:-5]}_hessian" if hessian else f"{base}_jacfwd")
        return func

    def finish(self, body: list) -> list:
        return body

    def outputs(self, value) -> list | None:
        """The values of the parts of the output: [value] for one float or array, one per
        item for a tuple of them (None: a single output)."""
        if not (isinstance(value, gast.Name) and value.id in self.varied):
            raise VectorModeError("vector mode differentiates outputs that depend on the "
                                  "inputs")
        found = self.value(value)
        if found.kind in (SCALAR, ARRAY):
            return None
        if found.kind == OTHER and found.container == "tuple" and found.items is not None \
                and all(v.kind in (SCALAR, ARRAY) for v in found.items):
            return list(found.items)
        raise VectorModeError("vector mode differentiates functions returning floats, arrays "
                              "or tuples of them")

    def parts(self, value, count: int, body: list) -> list:
        """An expression per item of the returned tuple `value`: its items' names when the
        tuple is built by the function's last statements, else value[i]."""
        if isinstance(value, gast.Name):
            for stmt in reversed(body):
                if target_name(stmt) == value.id and isinstance(stmt.value, gast.Tuple) \
                        and len(stmt.value.elts) == count:
                    return [clone(e) for e in stmt.value.elts]
        return [gast.Subscript(value=clone(value), slice=const(i), ctx=gast.Load())
                for i in range(count)]

    def nested(self, blocks: list, single_output: bool):
        """blocks[o][i]: the part of the Jacobian of output o with respect to input i, nested
        as JAX nests it."""
        tuple_in = self.ctx.options.argnums_is_tuple
        rows = [gast.Tuple(elts=row, ctx=gast.Load()) if tuple_in else row[0] for row in blocks]
        return rows[0] if single_output else gast.Tuple(elts=rows, ctx=gast.Load())


class _Unrolled(_Vector):
    """Floats: the derivative of x along the input y is the variable dx_y; seeds and
    zeros are folded."""

    def __init__(self, ctx, func, inputs, n):
        super().__init__(ctx, func, inputs, n)
        self.k = 0
        self.names: dict = {}
        self.known: dict = {}  # (name, k) -> a float its tangent always is, or None for 0
        self.constants: dict = {}  # placeholder name -> float
        counts = Counter(n.id for n in nodes_of(gast.Module(body=func.body, type_ignores=[]),
                                                gast.Name) if isinstance(n.ctx, gast.Store))
        phis = {target_name(s) for s in walk_statements(func.body) if anno.getanno(s, "phi")}
        # Names assigned once (a parameter: never), whose tangents are the same wherever
        # they are read: a constant tangent (a seed, 0) is folded into the code reading it.
        self.single = {v for v, c in counts.items() if c == 1} - phis - set(self.params)
        self.single |= {p for p in self.params if counts[p] == 0}

    def prologue(self) -> list:
        starts = {p: start for p, start, _ in self.inputs}
        body = []
        for p in self.params:
            if p in self.varied:
                for k in range(self.n):
                    seed = 1.0 if starts.get(p) == k else None
                    if p in self.single:
                        self.known[(p, k)] = seed
                    else:  # a parameter the code assigns again (a loop's carried value)
                        self.k = k
                        body.append(assign(self.tangent(p), const(seed or 0.0)))
        return body

    def tangent(self, var: str) -> str:
        key = (var, self.k)
        if key not in self.names:
            # d<name>_<input>: the derivative of name along the input of direction k
            along = next(p for p, start, _ in self.inputs if start == self.k)
            tan = self.ctx.namer.fresh(f"{self.ctx.namer.tangent(var)}_{along}")
            self.names[key] = tan
            self.ctx.primal_of[tan] = var
            self.tangent_names.add(tan)
        return self.names[key]

    def tangent_of(self, atom):
        if isinstance(atom, gast.Name) and atom.id in self.varied:
            key = (atom.id, self.k)
            if key in self.known:
                value = self.known[key]
                return symbolic_zero(atom) if value is None else name(self.placeholder(value))
            return name(self.tangent(atom.id))
        return symbolic_zero(atom)

    def placeholder(self, value: float) -> str:
        for known, v in self.constants.items():
            if v == value and type(v) is type(value):
                return known
        holder = f"__ast_ad_constant{len(self.constants)}__"
        self.constants[holder] = value
        self.tangent_names.add(holder)  # it carries a (constant) derivative
        return holder

    def settle(self, node):
        """The placeholders replaced by their constants."""
        constants = self.constants

        class Settle(gast.NodeTransformer):
            def visit_Name(self, n):
                return const(constants[n.id]) if n.id in constants else n

        return Settle().visit(node)

    def finish(self, body: list) -> list:
        for stmt in body:
            self.settle(stmt)
        return body

    def trackable(self, target: str) -> bool:
        return target in self.single and target not in self.written \
            and self.ctx.kinds.get(target) == SCALAR

    def assign(self, stmt, target: str) -> list:
        out = []
        for k in range(self.n):
            self.k = k
            out += [s for s in super().assign(stmt, target) if s is not None]
        return out

    def stmt(self, stmt) -> list:
        if isinstance(stmt, (gast.If, gast.For, gast.While)) or target_name(stmt) is not None:
            return super().stmt(stmt)
        before, after = [], []
        for k in range(self.n):
            self.k = k
            out = super().stmt(stmt)
            at = next(i for i, s in enumerate(out) if s is stmt)
            before += out[:at]
            after += out[at + 1:]
        return before + [stmt] + after

    def define(self, target: str, tangent, stmt):
        if is_symbolic_zero(tangent):
            if self.trackable(target):
                self.known[(target, self.k)] = None
                return None
            tangent = symbolic_zero(name(target))
        tangent = algebra.simplify(self.concrete(self.fit(self.settle(tangent), target)))
        if self.trackable(target) and isinstance(tangent, gast.Constant) \
                and type(tangent.value) is float:
            self.known[(target, self.k)] = tangent.value
            return None
        if target in self.written:
            tangent = call(self.ctx.reference(runtime.copy_of, "copy_of"), [tangent])
        return assign(self.tangent(target), tangent, stmt)

    def jacobian(self, value, body: list):
        outputs = self.outputs(value)
        count = 1 if outputs is None else len(outputs)
        parts = [value] if outputs is None else self.parts(value, count, body)
        blocks = []
        for part in parts:
            row = []
            for _, start, _ in self.inputs:
                self.k = start
                tangent = self.concrete(self.tangent_of(part) if isinstance(part, gast.Name)
                                        else self.element_tangent(part))
                row.append(algebra.simplify(self.settle(tangent)))
            blocks.append(row)
        return self.nested(blocks, outputs is None)

    def element_tangent(self, part):
        """The tangent of value[i] (a tuple built elsewhere): the item of its tangent."""
        base = self.tangent_of(part.value)
        if is_symbolic_zero(base):
            return const(0.0)
        return gast.Subscript(value=base, slice=clone(part.slice), ctx=gast.Load())


class _Stacked(_Vector):
    """Arrays (and floats among them): one tangent of shape (n,) + shape per value."""

    def __init__(self, ctx, func, inputs, n):
        super().__init__(ctx, func, inputs, n)
        # The tangent of a single 1-D input is the identity: I @ M is M, I * v is diag(v).
        self.identity = {self.tangent(p) for p, _, shape in inputs
                         if len(inputs) == 1 and len(shape) == 1 and p not in self.written}
        self.ctx.reference(np, "np")  # (so that calls of np.f are recognised: _object)

    def is_identity(self, node) -> bool:
        return isinstance(node, gast.Name) and node.id in self.identity

    def numpy(self, attr: str) -> gast.Attribute:
        return gast.Attribute(value=self.ctx.reference(np, "np"), attr=attr, ctx=gast.Load())

    def prologue(self) -> list:
        body = []
        inputs = [p for p, _, _ in self.inputs]
        dtype = self.seed_dtype(inputs)
        if any(p in self.written for p in inputs):
            eye = call(self.numpy("eye"), [const(self.n)], [] if dtype == np.float64 else [
                gast.keyword(arg="dtype", value=self.numpy(dtype.name))])
        else:  # made once, read-only: a write through a seed's view raises, never corrupts
            identity = np.eye(self.n, dtype=dtype)
            identity.setflags(write=False)
            eye = self.ctx.reference(identity, f"identity{self.n}")
        if len(self.inputs) > 1:
            seeds = self.ctx.namer.fresh("seeds")
            body.append(assign(seeds, eye))
        for p, start, shape in self.inputs:
            size = int(np.prod(shape, dtype=int))
            if len(self.inputs) == 1:
                seed = eye
            else:
                seed = gast.Subscript(value=name(seeds), slice=gast.Tuple(elts=[
                    _all(), const(start) if shape == () else gast.Slice(
                        lower=const(start), upper=const(start + size), step=None)],
                    ctx=gast.Load()), ctx=gast.Load())
            if len(shape) > 1 or len(self.inputs) == 1 and shape == ():
                seed = call(gast.Attribute(value=seed, attr="reshape", ctx=gast.Load()),
                            [_shape_node((self.n,) + shape)])
            body.append(assign(self.tangent(p), seed))
        body += [assign(self.tangent(p), self.concrete(symbolic_zero(name(p))))
                 for p in self.params if p in self.varied and p not in inputs]
        return body

    def seed_dtype(self, inputs: list) -> np.dtype:
        """The identity's dtype: the inputs' (float32 inputs keep float32 Jacobians and
        Hessians); float64 where one is not known to be a float array or number."""
        dtypes = [getattr(self.ctx.values.get(p), "dtype", None) for p in inputs]
        if any(d is None or d.kind != "f" for d in dtypes):
            return np.dtype(np.float64)
        return np.result_type(*dtypes)

    # -- zeros ---------------------------------------------------------------------

    def concrete(self, node):
        if is_symbolic_zero(node):
            primal = node.args[0] if node.args else None
            if primal is None:
                return const(0.0)
            return call(self.numpy("zeros"), [_shape_node((self.n,) + self.static(primal))])
        return super().concrete(node)

    def static(self, node) -> tuple:
        value = self.value(node)
        if value.kind == SCALAR:
            return ()
        if value.kind == ARRAY and value.shape is not None \
                and all(isinstance(d, int) for d in value.shape):
            return tuple(value.shape)
        raise VectorModeError("vector mode needs the shape of every value with a tangent")

    def rank(self, node) -> int:
        if is_symbolic_zero(node):
            return len(self.static(node.args[0])) if node.args else 0
        if isinstance(node, gast.Constant):
            return 0
        value = self.value(node)
        if value.kind == SCALAR:
            return 0
        if value.kind == ARRAY and value.shape is not None:
            return len(value.shape)
        raise VectorModeError("vector mode needs the rank of every value with a tangent")

    # -- statements ------------------------------------------------------------------

    def assign(self, stmt, target: str) -> list:
        self.shape_only(stmt)
        return super().assign(stmt, target)

    def shape_only(self, stmt) -> None:
        """np.full_like(e, c) of an expression e of known shape and dtype (the seed of a
        sum's adjoint in a generated gradient) is that array, made once when the code is
        generated: e is not computed."""
        value = stmt.value
        if not (isinstance(value, gast.Call) and self._object(value.func) is np.full_like
                and len(value.args) == 2 and not value.keywords
                and isinstance(value.args[1], gast.Constant)):
            return
        found = self.value(value.args[0])
        if found.kind != ARRAY or found.dtype is None or found.shape is None \
                or any(not isinstance(d, int) for d in found.shape):
            return
        fill = value.args[1].value
        if not isinstance(fill, (int, float)) or isinstance(fill, bool):
            return
        array = np.full(tuple(found.shape), fill, dtype=found.dtype)
        if stmt.targets[0].id in self.written:
            keywords = [] if found.dtype == np.float64 else [gast.keyword(
                arg="dtype", value=self.numpy(found.dtype.name))]
            stmt.value = gast.Call(func=self.numpy("full"), args=[
                _shape_node(tuple(found.shape)), value.args[1]], keywords=keywords)
            return
        # Made once, read-only (a write into it raises, never changes the next call's).
        array.setflags(write=False)
        stmt.value = self.ctx.reference(array, "ones" if fill == 1 else "filled")

    def define(self, target: str, tangent, stmt):
        if is_symbolic_zero(tangent):
            tangent = symbolic_zero(name(target))
        tangent = self.fit(tangent, target)
        tangent = self.concrete(self.batched(tangent)[0])
        if target in self.written and not _fresh_zeros(tangent, self) \
                or self.view_of_written(tangent) and self.value(name(target)).kind == SCALAR:
            tangent = call(self.ctx.reference(runtime.copy_of, "copy_of"), [tangent])
        return assign(self.tangent(target), algebra.simplify(tangent), stmt)

    def view_of_written(self, node) -> bool:
        """Whether a batched tangent is a view of the tangent of an array written into:
        `bt = bout[i]` copies a number out of bout, but `dbt = dbout[:, i]` is a view of a
        column of dbout, which `bout[i] = 0.0` (`dbout[:, i] = ...`) changes under it."""
        while isinstance(node, gast.Subscript) or isinstance(node, gast.Attribute) \
                and node.attr == "T":
            node = node.value
        return isinstance(node, gast.Name) and any(
            node.id == self.tangent(array) for array in self.written if array in self.varied)

    def stmt(self, stmt) -> list:
        written = item_write(stmt)
        if written is not None and written[0] in self.varied:
            array, index, value = written
            slot = gast.Subscript(value=name(array), slice=clone(index), ctx=gast.Load())
            want = self.rank(slot)
            tangent = self.tangent_of(value)
            have = self.rank(tangent if is_symbolic_zero(tangent) else value)
            store = self.batched_index(name(self.tangent(array)), array, index, gast.Store())
            lifted = self.concrete(_lift(self.batched(tangent)[0], have, want))
            return [assign(store, lifted, stmt), stmt]
        appended = list_append(stmt)
        if appended is not None and appended[0] in self.varied:
            items, value = appended
            push = call(gast.Attribute(value=name(self.tangent(items)), attr="append",
                                       ctx=gast.Load()), [self.concrete(self.tangent_of(value))])
            return [stmt, anno.copyanno(stmt, gast.Expr(value=push))]
        return super().stmt(stmt)

    # -- the batch axis ----------------------------------------------------------------

    def holds(self, node) -> bool:
        """Whether an expression holds a tangent (a name, or a zero of known shape)."""
        return any(n.id in self.tangent_names for n in nodes_of(node, gast.Name)) or any(
            is_symbolic_zero(c) and c.args for c in nodes_of(node, gast.Call))

    def batched(self, node):
        """(node rewritten for tangents with a leading batch axis, whether it has one)."""
        if not self.holds(node):
            return node, False
        if isinstance(node, gast.Name) or is_symbolic_zero(node):
            return node, True
        if isinstance(node, (gast.Tuple, gast.List)):
            node.elts = [self.batched(e)[0] for e in node.elts]
            return node, True
        if isinstance(node, gast.UnaryOp) and isinstance(node.op, (gast.USub, gast.UAdd)):
            node.operand = self.batched(node.operand)[0]
            return node, True
        if isinstance(node, gast.BinOp):
            diagonal = self.diagonal(node)
            if diagonal is not None:
                return diagonal, True
            if isinstance(node.op, (gast.Add, gast.Sub, gast.Mult, gast.Div, gast.Pow)):
                node.left, node.right = self.elementwise([node.left, node.right])
                return node, True
            if isinstance(node.op, gast.MatMult):
                return self.matmul(node.left, node.right, node), True
        if isinstance(node, gast.Subscript):
            if self.holds(node.slice):
                raise self.unbatchable(node)
            kind = self.value(node.value).kind
            if kind == OTHER:  # an item of a tuple of tangents: the same index
                node.value = self.batched(node.value)[0]
                return node, True
            return self.batched_index(self.batched(node.value)[0], node.value, node.slice,
                                      gast.Load()), True
        if isinstance(node, gast.Attribute) and node.attr == "T" \
                and self.value(node.value).kind == ARRAY:
            r = self.rank(node.value)
            inner = self.batched(node.value)[0]
            if r <= 1:
                return inner, True
            if r == 2:
                return call(self.numpy("swapaxes"), [inner, const(1), const(2)]), True
        if isinstance(node, gast.Call):
            return self.batched_call(node), True
        raise self.unbatchable(node)

    def elementwise(self, operands: list, rank: int | None = None) -> list:
        """Operands of a broadcasting expression, each tangent lifted to the result's rank."""
        ranks = [self.rank(o) for o in operands]
        rank = max(ranks) if rank is None else rank
        out = []
        for operand, r in zip(operands, ranks):
            new, has = self.batched(operand)
            out.append(_lift(new, r, rank) if has else new)
        return out

    def diagonal(self, node):
        """I * v * w (a product with the identity tangent and 1-D factors): np.diag(v * w)."""
        factors, spine = [], node
        while isinstance(spine, gast.BinOp) and isinstance(spine.op, gast.Mult):
            factors.append(spine.right)
            spine = spine.left
        factors.append(spine)
        seeds = [f for f in factors if self.is_identity(f)]
        others = [f for f in reversed(factors) if not self.is_identity(f)]
        if len(seeds) != 1 or not others or any(self.holds(f) for f in others):
            return None
        ranks = [self.rank(f) for f in others]
        if max(ranks) != 1 or self.static(node) != (self.n,) \
                or not any(r == 1 and self.static(f) == (self.n,) for f, r in zip(others, ranks)):
            return None  # (the product must have n entries: np.diag of one would be 1x1)
        product = others[0]
        for f in others[1:]:
            product = gast.BinOp(left=product, op=gast.Mult(), right=f)
        return call(self.numpy("diag"), [product])

    def matmul(self, left, right, node):
        ra, rb = self.rank(left), self.rank(right)
        (a, ha), (b, hb) = self.batched(left), self.batched(right)
        if self.is_identity(a) and not hb and ra == 1 and rb <= 2:
            return b  # I @ M
        if self.is_identity(b) and not ha and rb == 1 and ra <= 2:
            return a if ra == 1 else gast.Attribute(value=a, attr="T", ctx=gast.Load())
        if ha and not hb and (ra == 1 and rb <= 2 or ra >= 2 and ra >= rb):
            return gast.BinOp(left=a, op=gast.MatMult(), right=b)
        if hb and not ha:
            if rb == 1 and ra == 1:
                return gast.BinOp(left=b, op=gast.MatMult(), right=a)
            if rb == 1 and ra == 2:
                return gast.BinOp(left=b, op=gast.MatMult(),
                                  right=gast.Attribute(value=a, attr="T", ctx=gast.Load()))
            if rb >= 2 and (ra == 1 or rb >= ra):
                return gast.BinOp(left=a, op=gast.MatMult(), right=b)
        raise self.unbatchable(node)

    def batched_index(self, base, primal, index, ctx):
        """base[:, index]: the same items of every direction."""
        elts = list(index.elts) if isinstance(index, gast.Tuple) else [index]
        arrays = sum(1 for e in elts if isinstance(e, (gast.List, gast.ListComp))
                     or not isinstance(e, (gast.Slice, gast.Constant))
                     and self.value(e).kind != SCALAR)
        numbers = sum(1 for e in elts if not isinstance(e, gast.Slice) and (
            isinstance(e, gast.Constant) and isinstance(e.value, int)
            or not isinstance(e, gast.Constant) and self.value(e).kind == SCALAR))
        if arrays > 1 or arrays and numbers:
            # x[i, j] or x[i, :, 0] with an index array: NumPy moves the broadcast axes of
            # indices it does not see side by side to the front, ahead of the batch axis
            raise self.unbatchable(gast.Subscript(value=primal, slice=index, ctx=gast.Load()))
        return gast.Subscript(value=base, slice=gast.Tuple(
            elts=[_all()] + [clone(e) for e in elts], ctx=gast.Load()), ctx=ctx)

    def batched_call(self, node):
        fn = self._object(node.func)
        args = list(node.args)
        if isinstance(node.func, gast.Attribute) and node.func.attr == "pop" and not args \
                and not node.keywords and isinstance(node.func.value, gast.Name) \
                and node.func.value.id in self.tangent_names:
            return node  # a stack of batched tangents (a loop of generated code)
        if fn is runtime.copy_of and len(args) == 1 or fn is np.asarray and len(args) == 1 \
                and all(k.arg == "dtype" for k in node.keywords):
            # (np.asarray(dg, dtype=x.dtype) casts each element: the batch axis is kept)
            node.args = [self.batched(args[0])[0]]
            return node
        if fn is runtime.broadcast_like and len(args) == 2:
            shape = self.static(args[1])
            t = self.batched(args[0])[0]
            return call(self.numpy("broadcast_to"),
                        [_lift(t, self.rank(args[0]), len(shape)), _shape_node((self.n,) + shape)])
        if fn in (np.sum, np.mean) and args and not any(self.holds(a) for a in args[1:]) \
                and all(k.arg in ("axis", "keepdims") for k in node.keywords):
            rank = self.rank(args[0])
            axis = args[1] if len(args) > 1 else next(
                (k.value for k in node.keywords if k.arg == "axis"), const(None))
            moved = _moved_axis(axis, rank)
            if moved is None:
                raise self.unbatchable(node)
            node.args = [self.batched(args[0])[0]] + ([moved] if len(args) > 1 else [])
            node.keywords = [k for k in node.keywords if k.arg != "axis"]
            if len(args) == 1:
                node.keywords.append(gast.keyword(arg="axis", value=moved))
            return node
        if (isinstance(fn, np.ufunc) or fn is np.where) and not node.keywords:
            node.args = self.elementwise(args, self.rank(node))
            return node
        if fn in (np.reshape,) and len(args) == 2 and not node.keywords:
            shape = self.static(node)
            return call(self.numpy("reshape"), [self.batched(args[0])[0],
                                                _shape_node((self.n,) + shape)])
        if fn is np.transpose and len(args) == 1 and not node.keywords \
                and self.rank(args[0]) <= 2:
            inner = self.batched(args[0])[0]
            if self.rank(args[0]) < 2:
                return inner
            return call(self.numpy("swapaxes"), [inner, const(1), const(2)])
        if fn is np.outer and len(args) == 2 and not node.keywords \
                and self.rank(args[0]) == self.rank(args[1]) == 1:
            (a, ha), (b, hb) = self.batched(args[0]), self.batched(args[1])
            if ha and not hb:  # da[:, :, None] * b
                return gast.BinOp(left=gast.Subscript(value=a, slice=gast.Tuple(
                    elts=[_all(), _all(), const(None)], ctx=gast.Load()), ctx=gast.Load()),
                    op=gast.Mult(), right=b)
            if hb and not ha:  # a[:, None] * db[:, None, :]
                return gast.BinOp(left=gast.Subscript(value=a, slice=gast.Tuple(
                    elts=[_all(), const(None)], ctx=gast.Load()), ctx=gast.Load()),
                    op=gast.Mult(), right=_lift(b, 1, 2))
        if fn is np.dot and len(args) == 2 and not node.keywords \
                and max(self.rank(args[0]), self.rank(args[1])) <= 2 \
                and min(self.rank(args[0]), self.rank(args[1])) >= 1:
            return self.matmul(args[0], args[1], node)
        raise self.unbatchable(node)

    def unbatchable(self, node) -> VectorModeError:
        try:
            import astor

            text = astor.to_source(gast.gast_to_ast(node)).strip()
        except Exception:  # noqa: BLE001 (only for the message)
            text = type(node).__name__
        return VectorModeError(f"vector mode cannot batch the tangent {text}",
                               hint="ast-ad takes the Jacobian one direction at a time")

    # -- the result ------------------------------------------------------------------

    def jacobian(self, value, body: list):
        outputs = self.outputs(value)
        parts = [value] if outputs is None else self.parts(value, len(outputs), body)
        shapes = [self.static(value)] if outputs is None else [
            self.static_value(v) for v in outputs]
        blocks = []
        for part, out_shape in zip(parts, shapes):
            tangent = self.concrete(self.batched(
                self.tangent_of(part) if isinstance(part, gast.Name)
                else self.item_tangent(part, out_shape))[0])
            row = []
            for _, start, shape in self.inputs:
                size = int(np.prod(shape, dtype=int))
                # (a 0-d input's one direction is read as rows[start] even when it is
                # the only input: the block has no direction axis)
                rows = tangent if len(self.inputs) == 1 and shape != () else gast.Subscript(
                    value=clone(tangent), slice=const(start) if shape == () else gast.Slice(
                        lower=const(start), upper=const(start + size), step=None),
                    ctx=gast.Load())
                row.append(_to_jacobian(rows, out_shape, shape, self))
            blocks.append(row)
        return self.nested(blocks, outputs is None)

    def item_tangent(self, part, shape):
        base = self.tangent_of(part.value)
        if is_symbolic_zero(base):
            return call(self.numpy("zeros"), [_shape_node((self.n,) + shape)])
        return gast.Subscript(value=base, slice=clone(part.slice), ctx=gast.Load())

    @staticmethod
    def static_value(value) -> tuple:
        if value.kind == SCALAR:
            return ()
        if value.shape is None or any(not isinstance(d, int) for d in value.shape):
            raise VectorModeError("vector mode needs the shape of the output")
        return tuple(value.shape)


def _to_jacobian(rows, out_shape: tuple, in_shape: tuple, stacked: _Stacked):
    """rows (directions first, then the output's axes) as a block out_shape + in_shape."""
    if in_shape == ():  # one direction: rows is already the block (rows[start])
        return rows
    if len(out_shape) == 0:
        moved = rows
    elif len(out_shape) == 1:
        moved = gast.Attribute(value=rows, attr="T", ctx=gast.Load())
    else:
        moved = call(stacked.numpy("moveaxis"), [rows, const(0), const(-1)])
    if len(in_shape) == 1:
        return moved
    return call(gast.Attribute(value=moved, attr="reshape", ctx=gast.Load()),
                [_shape_node(out_shape + in_shape)])


def _fresh_zeros(node, stacked: _Stacked) -> bool:
    """np.zeros(...): an array of its own (no copy needed before writing into it)."""
    return isinstance(node, gast.Call) and stacked._object(node.func) is np.zeros


def _moved_axis(axis, rank: int):
    """A reduction's axis argument for tangents with a batch axis in front, or None."""
    if isinstance(axis, gast.Constant) and axis.value is None:
        return _shape_node(tuple(range(1, rank + 1)))
    if isinstance(axis, gast.Constant) and isinstance(axis.value, int):
        return const(axis.value + 1 if axis.value >= 0 else axis.value)
    if isinstance(axis, gast.Tuple) and all(isinstance(e, gast.Constant)
                                            and isinstance(e.value, int) for e in axis.elts):
        return _shape_node(tuple(e.value + 1 if e.value >= 0 else e.value for e in axis.elts))
    return None


def _all() -> gast.Slice:
    return gast.Slice(lower=None, upper=None, step=None)


def _lift(node, have: int, want: int):
    """A batched tangent of rank `have` with axes inserted after the batch axis, so that it
    broadcasts against values of rank `want`: dt[:, None]."""
    if want <= have:
        return node
    return gast.Subscript(value=node, slice=gast.Tuple(
        elts=[_all()] + [const(None) for _ in range(want - have)], ctx=gast.Load()),
        ctx=gast.Load())


def _shape_node(shape: tuple) -> gast.Tuple:
    return gast.Tuple(elts=[const(d) for d in shape], ctx=gast.Load())


def finish_vector(func: gast.FunctionDef, ctx: Context) -> None:
    """Once the code is simplified (run by the inplace pass): `dbx[:, :-1] = dbx[:, :-1] + c`
    becomes `dbx[:, :-1] += c` (NumPy reads the items, adds and writes them back, as the
    statement did, without a temporary of the sum), and a product of a tangent and several
    values multiplies the values first (`dt * -2 * t2` -> `dt * (-2 * t2)`: one operation
    on the batch, not two)."""
    tangents = set(ctx.primal_of)
    replaced = {}
    facts = Facts(ctx)
    folder = _Constants(func, ctx)
    for stmt in walk_statements(func.body):
        if isinstance(stmt, (gast.Assign, gast.AugAssign)):
            stmt.value = _grouped(_diagonal_products(folder.fold(stmt.value), facts), tangents)
            folder.learn(stmt)
        if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], gast.Subscript)
                and isinstance(stmt.targets[0].value, gast.Name)
                and stmt.targets[0].value.id in tangents
                and isinstance(stmt.value, gast.BinOp)
                and isinstance(stmt.value.op, (gast.Add, gast.Sub))):
            continue
        target, value = stmt.targets[0], stmt.value
        if gast.dump(value.left) != gast.dump(gast.Subscript(
                value=target.value, slice=target.slice, ctx=gast.Load())) \
                or target.value.id in {n.id for n in nodes_of(value.right, gast.Name)}:
            continue
        augmented = gast.AugAssign(target=target, op=value.op, value=value.right)
        anno.copyanno(stmt, augmented)
        replaced[id(stmt)] = augmented
    if replaced:
        _replace(func.body, replaced)
    _constant_copies(func, folder)
    _owned_result(func, ctx)


def _constant_copies(func: gast.FunctionDef, folder: "_Constants") -> None:
    """Once arithmetic on the constant arrays is folded, `t16 = constant_2` is a copy
    of a folded constant (read as `constant_2` where t16 was), and `bt10 = ones` a seed
    no statement reads any more: both go."""
    copies = folder.copies
    if copies:
        for node in nodes_of(gast.Module(body=func.body, type_ignores=[]), gast.Name):
            if isinstance(node.ctx, gast.Load) and node.id in copies:
                node.id = copies[node.id]
    loads = Counter(n.id for n in nodes_of(gast.Module(body=func.body, type_ignores=[]),
                                           gast.Name) if isinstance(n.ctx, gast.Load))

    def dead(stmt) -> bool:
        target = target_name(stmt)
        return isinstance(stmt, gast.Assign) and target is not None \
            and isinstance(stmt.targets[0], gast.Name) and loads[target] == 0 \
            and folder.stores[target] == 1 and isinstance(stmt.value, gast.Name) \
            and folder.value(stmt.value) is not None

    def prune(block: list) -> None:
        block[:] = [s for s in block if not dead(s)]
        for s in block:
            for field in ("body", "orelse"):
                inner = getattr(s, field, None)
                if isinstance(inner, list) and inner and not isinstance(s, gast.FunctionDef):
                    prune(inner)

    prune(func.body)


def _owned_result(func: gast.FunctionDef, ctx: Context) -> None:
    """The Jacobian returned is an array of its own: a block that may be a view of an
    argument (I @ A.T is A.T) or of a seed is copied."""
    ret = func.body[-1]
    if anno.getanno(func, "vector") != "stacked" or not isinstance(ret, gast.Return):
        return  # (floats are values of their own)
    facts = Facts(ctx)
    defined: dict = {}
    for stmt in walk_statements(func.body):
        target = target_name(stmt)
        if target is not None:
            defined.setdefault(target, []).append(stmt.value)

    def fresh(value) -> bool:
        if isinstance(value, gast.BinOp) or isinstance(value, gast.UnaryOp) \
                and isinstance(value.op, gast.USub):
            return True
        if isinstance(value, gast.Call):
            return facts._object(value.func) in (np.zeros, np.diag, np.eye, runtime.copy_of)
        return False

    def owned(block):
        base = block
        while True:
            if isinstance(base, gast.Attribute) and base.attr == "T":
                base = base.value
            elif isinstance(base, gast.Subscript):
                base = base.value
            elif isinstance(base, gast.Call) and isinstance(base.func, gast.Attribute) \
                    and base.func.attr == "reshape":
                base = base.func.value
            elif isinstance(base, gast.Call) and base.args \
                    and facts._object(base.func) is np.moveaxis:
                base = base.args[0]
            else:
                break
        if fresh(base) or isinstance(base, gast.Name) and defined.get(base.id) \
                and all(fresh(v) for v in defined[base.id]):
            return block
        return call(gast.Attribute(value=ctx.reference(np, "np"), attr="array",
                                   ctx=gast.Load()), [block])

    def visit(node):
        if isinstance(node, gast.Tuple):
            node.elts = [visit(e) for e in node.elts]
            return node
        return owned(node)

    ret.value = visit(ret.value)


class _Constants:
    """Arithmetic on the arrays vector mode made once (read-only, see `shape_only`) and on
    literals, done once when the code is generated: `t16 = ones * 100.0 * 2`."""

    def __init__(self, func: gast.FunctionDef, ctx: Context):
        self.ctx = ctx
        self.stores = Counter(n.id for n in nodes_of(gast.Module(body=func.body, type_ignores=[]),
                                                     gast.Name) if isinstance(n.ctx, gast.Store))
        self.known: dict = {}  # a local assigned once -> its constant array
        self.copies: dict = {}  # a local assigned once a folded constant -> its name
        self.folded: set = set()  # the names of the constants folding made

    def value(self, node):
        if isinstance(node, gast.Constant) and type(node.value) in (int, float):
            return node.value
        if isinstance(node, gast.Name):
            if node.id in self.known:
                return self.known[node.id]
            found = self.ctx.injected.get(node.id)
            if isinstance(found, np.ndarray) and not found.flags.writeable:
                return found
        return None

    def fold(self, node):
        if isinstance(node, gast.BinOp) and isinstance(node.op, tuple(_FOLDED)):
            node.left, node.right = self.fold(node.left), self.fold(node.right)
            a, b = self.value(node.left), self.value(node.right)
            if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                if a is not None and b is not None:
                    with np.errstate(all="ignore"):
                        result = np.asarray(_FOLDED[type(node.op)](a, b))
                    result.setflags(write=False)
                    folded = self.ctx.reference(result, "constant")
                    self.folded.add(folded.id)
                    return folded
            return node
        for field, value in gast.iter_fields(node):
            if isinstance(value, gast.AST):
                setattr(node, field, self.fold(value))
            elif isinstance(value, list):
                setattr(node, field, [self.fold(v) if isinstance(v, gast.AST) else v
                                      for v in value])
        return node

    def learn(self, stmt) -> None:
        target = target_name(stmt)
        if target is not None and self.stores[target] == 1 and isinstance(stmt.value, gast.Name):
            found = self.value(stmt.value)
            if isinstance(found, np.ndarray):
                self.known[target] = found
                if stmt.value.id in self.folded:  # (read where the copy was)
                    self.copies[target] = stmt.value.id


_FOLDED = {gast.Add: np.add, gast.Sub: np.subtract, gast.Mult: np.multiply,
           gast.Div: np.true_divide}


def _diagonal_products(node, facts):
    """np.diag(v) @ B of a vector v and a matrix B is v[:, None] * B (no matrix product)."""
    for field, value in gast.iter_fields(node):
        if isinstance(value, gast.AST):
            setattr(node, field, _diagonal_products(value, facts))
        elif isinstance(value, list):
            setattr(node, field, [_diagonal_products(v, facts) if isinstance(v, gast.AST)
                                  else v for v in value])
    if isinstance(node, gast.BinOp) and isinstance(node.op, gast.MatMult) \
            and isinstance(node.left, gast.Call) and facts._object(node.left.func) is np.diag \
            and len(node.left.args) == 1 and not node.left.keywords:
        vector, matrix = facts.value(node.left.args[0]), facts.value(node.right)
        if vector.kind == ARRAY and vector.shape is not None and len(vector.shape) == 1 \
                and matrix.kind == ARRAY and matrix.shape is not None \
                and len(matrix.shape) == 2:
            return gast.BinOp(left=_lift(node.left.args[0], 0, 1), op=gast.Mult(),
                              right=node.right)
    return node


def _grouped(node, tangents: set):
    """Products with one factor holding a tangent: the other factors multiplied first."""
    for field, value in gast.iter_fields(node):
        if isinstance(value, gast.AST):
            setattr(node, field, _grouped(value, tangents))
        elif isinstance(value, list):
            setattr(node, field, [_grouped(v, tangents) if isinstance(v, gast.AST) else v
                                  for v in value])
    if not (isinstance(node, gast.BinOp) and isinstance(node.op, gast.Mult)):
        return node
    factors, spine = [], node
    while isinstance(spine, gast.BinOp) and isinstance(spine.op, gast.Mult):
        factors.append(spine.right)
        spine = spine.left
    factors.append(spine)
    factors.reverse()

    def holds(f):
        return any(n.id in tangents for n in nodes_of(f, gast.Name))

    held = [f for f in factors if holds(f)]
    others = [f for f in factors if not holds(f)]
    if len(held) != 1 or len(others) < 2:
        return node
    product = others[0]
    for f in others[1:]:
        product = gast.BinOp(left=product, op=gast.Mult(), right=f)
    return gast.BinOp(left=held[0], op=gast.Mult(), right=product)


def _replace(stmts: list, replaced: dict) -> None:
    for i, stmt in enumerate(stmts):
        if id(stmt) in replaced:
            stmts[i] = replaced[id(stmt)]
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list):
                _replace(inner, replaced)
