"""Infer the static shape of every array the function computes.

Generated code is specialised to the shapes of the array arguments (like
jax.jit); from them this pass computes each name's shape, or None where it
cannot be known (shapes that depend on values, unknown functions). The reverse
pass uses them to drop unbroadcasting where shapes already match, to write the
rest as explicit sums, and to pick 2-D forms of linear-algebra rules.
"""

from __future__ import annotations

import numbers

import gast
import numpy as np

from .. import anno, callees, runtime, shapes
from ..context import Context
from ..rules import registry
from ..syntax import dotted_path, target_name, walk_statements
from ..templates import bind_call
from .kinds import ARRAY, OTHER, SCALAR, kind_of_value
from .resolve import call_parts, is_missing, user_function


def infer_shapes(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    params = [a.id for a in func.args.posonlyargs + func.args.args + func.args.kwonlyargs]
    arrays = ctx.options.arrays or ()
    known: dict[str, tuple | None] = {}
    for i, p in enumerate(params):
        info = arrays[i] if i < len(arrays) else None
        if info is not None:
            known[p] = info[1]
        elif ctx.kinds.get(p) == SCALAR:
            known[p] = ()
        else:
            known[p] = None
    inference = _Shapes(ctx, known)
    # Loop-carried names start with their entry shape and become unknown if an
    # iteration changes it; None absorbs, so this settles quickly.
    for _ in range(10):
        before = dict(known)
        for stmt in walk_statements(func.body):
            name = target_name(stmt)
            if name is None:
                if isinstance(stmt, gast.For):
                    known[stmt.target.id] = ()
                continue
            if anno.getanno(stmt, "phi") == "undefined":
                continue
            shape = inference.expr(stmt.value)
            if name in known and anno.getanno(stmt, "phi") and known[name] != shape:
                shape = None
            known[name] = shape
        if known == before:
            break
    ctx.shapes = known
    return func


class _Shapes:
    def __init__(self, ctx: Context, known: dict):
        self.ctx = ctx
        self.known = known

    def kind(self, node) -> str:
        if isinstance(node, gast.Name) and node.id in self.ctx.kinds:
            return self.ctx.kinds[node.id]
        if isinstance(node, gast.Constant):
            return kind_of_value(node.value)
        return OTHER

    def atom(self, node) -> tuple | None:
        if isinstance(node, gast.Constant):
            return () if isinstance(node.value, numbers.Number) else None
        if isinstance(node, gast.Name) and node.id in self.known:
            return self.known[node.id]
        path = dotted_path(node)
        if path is not None and self.ctx.scope is not None:
            value = self.ctx.scope.value(path)
            constant = (numbers.Number, np.ndarray, np.generic)
            if not is_missing(value) and isinstance(value, constant):
                return np.shape(value)
        return None

    def expr(self, node) -> tuple | None:
        if isinstance(node, (gast.Name, gast.Constant)):
            return self.atom(node)
        if isinstance(node, gast.BinOp):
            left, right = self.atom(node.left), self.atom(node.right)
            if isinstance(node.op, gast.MatMult):
                return shapes.matmul(left, right)
            return shapes.broadcast(left, right)
        if isinstance(node, gast.UnaryOp):
            return () if isinstance(node.op, gast.Not) else self.atom(node.operand)
        if isinstance(node, gast.Compare):
            return shapes.broadcast(self.atom(node.left), self.atom(node.comparators[0]))
        if isinstance(node, gast.Call):
            return self.call(node)
        if isinstance(node, gast.Attribute):
            base = self.atom(node.value)
            if node.attr == "T":
                return None if base is None else tuple(reversed(base))
            if node.attr in ("ndim", "size"):
                return ()
            if dotted_path(node) is not None:
                return self.atom(node)
            return None
        if isinstance(node, gast.Subscript):
            key = static_index(node.slice, self.ctx.kinds)
            return None if key is UNKNOWN else shapes.index(self.atom(node.value), key)
        return None

    def call(self, node: gast.Call):
        callee, args, keywords = call_parts(node)
        if callee is None or is_missing(callee) or isinstance(callee, tuple):
            return None
        if getattr(callee, "__module__", None) == "math" or callee in (len, float, int, round):
            return ()
        if user_function(callee) and registry.lookup(callee) is None:
            bound = callees.bind(callee, args, keywords)
            if bound is None:
                return None
            kinds = tuple(kind_of_value(p.default) if a is None else self.kind(a)
                          for p, a in bound)
            arrays = tuple((None, self.atom(a)) if k == ARRAY and a is not None else None
                           for (p, a), k in zip(bound, kinds))
            return callees.result_of(callee, kinds, arrays).shape
        arg_shapes = [self.atom(a) for a in args]
        like = next((n for f, n in _LIKE.items() if f is callee), 0)
        if args and len(args) <= like and all(k.arg == "dtype" for k in keywords):
            return arg_shapes[0]  # np.zeros_like(x): x's shape
        rule = registry.lookup(callee)
        for template in rule.adjoints if rule is not None else ():
            if template.shape is None:
                continue
            atoms = bind_call(template, args, keywords)
            if isinstance(atoms, dict):
                return template.shape({p: self.atom(a) for p, a in atoms.items()}, atoms)
        if isinstance(callee, np.ufunc) and not keywords:
            return shapes.broadcast(*arg_shapes)
        return None


# Functions making a new array shaped like their first argument (a shape= argument
# aside): how many positional arguments come before `shape`.
_LIKE = {np.zeros_like: 2, np.ones_like: 2, np.empty_like: 2, np.full_like: 3,
         runtime.zeros_like: 1, runtime.stop_gradient: 1}

UNKNOWN = object()


def static_index(node, kinds):
    """The index as a Python value usable on a dummy array, or UNKNOWN."""
    if isinstance(node, gast.Constant):
        return node.value
    if isinstance(node, gast.Name):
        return 0 if kinds.get(node.id) == SCALAR else UNKNOWN  # an int: any int will do
    if isinstance(node, gast.Slice):
        parts = [None if p is None else static_index(p, kinds) for p in
                 (node.lower, node.upper, node.step)]
        if any(p is UNKNOWN for p in parts) or any(
                isinstance(p, gast.Name) for p in (node.lower, node.upper, node.step)):
            return UNKNOWN  # a bound only known at run time
        return slice(*parts)
    if isinstance(node, gast.Tuple):
        parts = tuple(static_index(e, kinds) for e in node.elts)
        return UNKNOWN if any(p is UNKNOWN for p in parts) else parts
    return UNKNOWN
