"""Drop adjoint terms whose reduction is zero in exact arithmetic: the max shift of a softmax.

A softmax or log-softmax shifted by its maximum, `s = x - np.max(x, axis=1, keepdims=True)`,
does not depend on the shift, so no gradient flows through it. The generated adjoint still
writes `bs - np.sum(bs, axis=1, keepdims=True) * extremum_weights(x, m, 1, True)`, where
the row sums of `bs` cancel (`bs = g - np.sum(g, axis=1, keepdims=True) / t3 * t2` with
`t3 = np.sum(t2, axis=1, keepdims=True)`): computed, the term is rounding noise that costs
several passes over `x`. This pass proves such a sum zero by expanding it symbolically,
then drops the term, which also makes the gradient exact.

The expansion is a polynomial in the straight-line names of the function: each term a
coefficient, a product of factors constant along the summed axis (shape 1 there, or
scalars) and a product of factors that vary along it (the sum's full shape). The sum of
a term is its constant part times the sum of its varying part, and the sum of a name `T`
is `S` where `S = np.sum(T, ...)` is in the function. Only names assigned once, before
anything reads them, outside loops and branches, take part; anything else stops the proof.
"""

from __future__ import annotations

import bisect
from collections import defaultdict

import gast
import numpy

from .. import anno, runtime
from ..context import Context
from ..syntax import walk
from ..values import ARRAY
from .facts import Facts

_MAX_TERMS = 64  # a proof that needs more is not attempted


def cancel(func: gast.FunctionDef, ctx: Context, calls=None) -> bool:
    """Drop, from backward statements at the top level of `func`, product terms with a
    factor `np.sum(e, ...)` that is zero in exact arithmetic. Whether any was dropped.
    `calls(stmt)`: the calls in a statement, if known (simplify's name cache has them)."""
    if calls is None:
        candidates = _backward_assignments(func.body)
        if not any(_has_sum(func.body[i].value) for i in candidates):
            return False
    else:  # (the sums first: a statement's section only where there is one)
        if not any(_is_sum(n) and anno.getanno(s, "section") == "backward"
                   for s in func.body if isinstance(s, gast.Assign) for n in calls(s)):
            return False
        candidates = _backward_assignments(func.body)
    prover = _Prover(func, ctx)
    changed = False
    for i in candidates:
        stmt = func.body[i]
        value = _drop_zero_terms(stmt.value, prover)
        if value is None:  # all of it: `bm = -np.sum(bs, ...)`, read by later terms
            target = stmt.targets[0]
            if isinstance(target, gast.Name) and (target.id, i) in prover.definitions:
                prover.zeros.add((target.id, i))
        elif value is not stmt.value:
            func.body[i] = gast.Assign(targets=stmt.targets, value=value, type_comment=None)
            anno.copyanno(stmt, func.body[i])
            changed = True
    return changed


def _has_sum(node) -> bool:
    """Whether `node` may call np.sum (a cheap test, before resolving names)."""
    return any(isinstance(n, gast.Call) and _is_sum(n) for n in walk(node))


def _backward_assignments(body: list) -> list:
    """The positions of the backward pass's assignments in `body`."""
    return [i for i, s in enumerate(body) if isinstance(s, gast.Assign)
            and anno.getanno(s, "section") == "backward"]


def _is_sum(call: gast.Call) -> bool:
    return isinstance(call.func, gast.Attribute) and call.func.attr == "sum"


def _drop_zero_terms(node, prover):
    """`node` without the terms of its +/- chains that are proven zero (itself if none,
    None if it is zero). A term goes only where what is left keeps the chain's shape."""
    if isinstance(node, gast.BinOp) and isinstance(node.op, (gast.Add, gast.Sub)):
        if prover.zero(node):  # `c - np.sum(e, ...)` with e's sum c
            return None
        left = _drop_zero_terms(node.left, prover)
        right = _drop_zero_terms(node.right, prover)
        if left is node.left and right is node.right:
            return node
        if left is None and right is None:
            kept = None
        elif right is None:
            kept = left
        elif left is None:
            kept = right if isinstance(node.op, gast.Add) else \
                gast.UnaryOp(op=gast.USub(), operand=right)
        else:
            kept = gast.BinOp(left=left, op=node.op, right=right)
        shape = prover.facts.shape(node)
        if kept is None or (shape is not None and prover.facts.shape(kept) == shape):
            return kept
        return node
    if isinstance(node, gast.BinOp) and isinstance(node.op, (gast.Div, gast.MatMult)):
        # (a + 0) / c and (a + 0) @ B: linear in their left operand
        left = _drop_zero_terms(node.left, prover)
        if left is node.left:
            return node
        return None if left is None else gast.BinOp(left=left, op=node.op, right=node.right)
    if _zero_product(node, prover):
        return None
    return node


def _zero_product(node, prover) -> bool:
    """Whether `node` is a product with a multiplicand proven zero."""
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
        return _zero_product(node.operand, prover)
    if isinstance(node, gast.BinOp) and isinstance(node.op, gast.Mult):
        return _zero_product(node.left, prover) or _zero_product(node.right, prover)
    if isinstance(node, gast.BinOp) and isinstance(node.op, gast.Div):
        return _zero_product(node.left, prover)
    if isinstance(node, gast.Call) and len(node.args) == 3 and not node.keywords \
            and prover.facts._object(node.func) is numpy.where \
            and isinstance(node.args[2], gast.Constant) and node.args[2].value == 0 \
            and type(node.args[2].value) in (int, float):
        return _zero_product(node.args[1], prover)  # np.where(c, 0, 0)
    return prover.zero(node)


class _Prover:
    def __init__(self, func: gast.FunctionDef, ctx: Context):
        self.ctx = ctx
        self.facts = Facts(ctx)
        self.at, self.stores, self.definitions = _straight_line(func)
        self.zeros = set()  # (name, version) whose whole value is proven zero
        self.expanded = {}  # (id(node), axis, shape) -> its polynomial, or None
        self.sums = {}  # (name summed, version, axis) -> the (name, version) holding it
        for (target, i), value in self.definitions.items():
            found = self._summed(value)
            summed = found and self.version(found[0])
            if summed is not None:
                self.sums.setdefault(summed + (found[1],), (target, i))

    def version(self, node):
        """(name, index of the statement whose value it reads) for a Name whose value
        there is known to be one value, else None."""
        if not isinstance(node, gast.Name) or id(node) not in self.at:
            return None
        stores = self.stores.get(node.id)
        if stores is None:
            return None
        i = bisect.bisect_left(stores, self.at[id(node)]) - 1
        return None if i < 0 else (node.id, stores[i])

    def zero(self, node) -> bool:
        """Whether `node`, an expression with a sum in it (`np.sum(e, ...)`,
        `c - np.sum(e, ...)`) or a name proven zero, is zero in exact arithmetic."""
        if isinstance(node, gast.Name):
            return self.version(node) in self.zeros
        sums = [n for n in gast.walk(node) if self._summed(n) is not None]
        if not sums or (not isinstance(node, gast.Call) and
                        not isinstance(node, gast.BinOp)):
            return False
        summed, spec = self._summed(sums[0])
        full = self.facts.shape(summed)
        if full is None:
            return False
        if node is sums[0]:
            total = self._reduce(summed, spec, full, 0)
        else:
            total = self._expand(node, spec, full, 0)
        return total is not None and not total

    def _summed(self, node):
        """(e, spec) for a sum of e: spec `"all"` for `np.sum(e)` and k for
        `np.sum(e, axis=k, keepdims=True)` (or `e.sum(...)`); else None."""
        if not isinstance(node, gast.Call):
            return None
        if isinstance(node.func, gast.Attribute) and node.func.attr == "sum" and \
                not node.args and self.facts.kind(node.func.value) == ARRAY:
            summed = node.func.value  # e.sum(...)
        elif self.facts._object(node.func) is numpy.sum and len(node.args) == 1:
            summed = node.args[0]
        else:
            return None
        keywords = {k.arg: k.value for k in node.keywords}
        if not keywords:
            return summed, "all"
        axis, keep = keywords.get("axis"), keywords.get("keepdims")
        if set(keywords) == {"axis", "keepdims"} and isinstance(axis, gast.Constant) \
                and type(axis.value) is int and isinstance(keep, gast.Constant) \
                and keep.value is True:
            full = self.facts.shape(summed)
            if full is not None and -len(full) <= axis.value < len(full):
                return summed, axis.value % len(full)
        return None

    def _reduce(self, node, spec, full, depth):
        """The polynomial of `np.sum(node, ...)`, or None where the proof stops."""
        poly = self._expand(node, spec, full, depth)
        if poly is None:
            return None
        total = defaultdict(float)
        for (constant, varying), coefficient in poly.items():
            if not varying:
                return None  # the sum of a constant is a count times it: not followed
            if len(varying) == 1 and varying[0][1] == 1 and \
                    varying[0][0] + (spec,) in self.sums:
                atom = self.sums[varying[0][0] + (spec,)]
            else:
                atom = ("sum", spec, varying)
            total[(_times(constant, ((atom, 1),)), ())] += coefficient
        return {k: c for k, c in total.items() if c != 0}

    def _expand(self, node, spec, full, depth):
        """`node` (of the sum's full shape, or constant along the summed axes) as a
        polynomial {(constant factors, varying factors): coefficient}, or None."""
        key = (id(node), spec, full)
        if key not in self.expanded:
            self.expanded[key] = None if depth > 24 else \
                self._expand_new(node, spec, full, depth)
        return self.expanded[key]

    def _expand_new(self, node, spec, full, depth):
        if isinstance(node, gast.Constant) and type(node.value) in (int, float):
            return {((), ()): float(node.value)}
        if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
            inner = self._expand(node.operand, spec, full, depth + 1)
            return None if inner is None else {k: -c for k, c in inner.items()}
        if isinstance(node, gast.BinOp) and isinstance(node.op, (gast.Add, gast.Sub, gast.Mult)):
            left = self._expand(node.left, spec, full, depth + 1)
            right = self._expand(node.right, spec, full, depth + 1)
            if left is None or right is None:
                return None
            if isinstance(node.op, gast.Mult):
                return _multiply(left, right)
            sign = 1.0 if isinstance(node.op, gast.Add) else -1.0
            total = defaultdict(float, left)
            for k, c in right.items():
                total[k] += sign * c
            return _bounded({k: c for k, c in total.items() if c != 0})
        if isinstance(node, gast.BinOp) and isinstance(node.op, gast.Div):
            left = self._expand(node.left, spec, full, depth + 1)
            right = self._expand(node.right, spec, full, depth + 1)
            if left is None or right is None or len(right) != 1:
                return None
            ((constant, varying), coefficient), = right.items()
            if varying or coefficient == 0:
                return None  # only a division by factors constant along the sum divides out
            inverse = {(tuple((a, -p) for a, p in constant), ()): 1.0 / coefficient}
            return _multiply(left, inverse)
        if isinstance(node, gast.Call) and self.facts._object(node.func) is runtime.unreduce \
                and len(node.args) == 4 and not node.keywords and \
                isinstance(node.args[3], gast.Constant) and node.args[3].value is True:
            return self._expand(node.args[0], spec, full, depth + 1)  # g, spread by broadcasting
        if isinstance(node, gast.Call) and self.facts._object(node.func) is numpy.full_like \
                and len(node.args) == 2 and not node.keywords and \
                self.facts.shape(node.args[0]) == full and self.facts.shape(node.args[1]) == ():
            return self._expand(node.args[1], spec, full, depth + 1)  # c, as many times
        if isinstance(node, gast.Attribute) and self.facts.shape(node) == ():
            version = self.version(node.value)  # t.size: a number read off an array
            return None if version is None else {(((version + (node.attr,), 1),), ()): 1.0}
        found = self._summed(node)
        if found is not None and found[1] == spec:
            summed = found[0]
            return self._reduce(summed, spec, self.facts.shape(summed), depth + 1)
        version = self.version(node)
        if version is not None:
            shape = self.facts.shape(node)
            constant = shape is not None and shape != full and _constant_along(shape, spec, full)
            if (shape == full or constant) and version in self.definitions:
                expanded = self._expand(self.definitions[version], spec, full, depth + 1)
                if expanded is not None:
                    return expanded
            if shape == full:
                return {((), ((version, 1),)): 1.0}
            if constant:
                return {(((version, 1),), ()): 1.0}
        return None


def _constant_along(shape, spec, full) -> bool:
    """Whether an array of `shape` is constant along the summed axes of `full` and
    broadcasts against it without changing it."""
    if shape == ():
        return True
    if spec == "all" or len(shape) != len(full) or shape[spec] != 1:
        return False
    return all(s in (1, f) for s, f in zip(shape, full))


def _times(a: tuple, b: tuple) -> tuple:
    powers = defaultdict(int)
    for atom, p in a + b:
        powers[atom] += p
    return tuple(sorted(((atom, p) for atom, p in powers.items() if p), key=repr))


def _multiply(left: dict, right: dict):
    total = defaultdict(float)
    for (lc, lv), a in left.items():
        for (rc, rv), b in right.items():
            total[(_times(lc, rc), _times(lv, rv))] += a * b
    return _bounded({k: c for k, c in total.items() if c != 0})


def _bounded(poly: dict):
    return poly if len(poly) <= _MAX_TERMS else None


def _straight_line(func: gast.FunctionDef):
    """The top-level statements' names, versioned: the position of each node in them
    (id -> statement index); each name's store positions in order (a parameter's at -1;
    a name stored inside a loop or branch has none: it is not one value); and the value
    of each plain `name = expression` store, by (name, position)."""
    at, stores, definitions, nested = {}, defaultdict(list), {}, set()
    for a in func.args.args:
        stores[a.id].append(-1)
    for i, stmt in enumerate(func.body):
        for node in gast.walk(stmt):
            at[id(node)] = i
        if not isinstance(stmt, (gast.Assign, gast.AugAssign, gast.Expr, gast.Return)):
            nested |= _names_stored(stmt)  # a loop or branch
            continue
        for n in _names_stored(stmt):
            stores[n].append(i)
        if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and \
                isinstance(stmt.targets[0], gast.Name):
            definitions[(stmt.targets[0].id, i)] = stmt.value
    for n in nested:
        stores.pop(n, None)
    return at, dict(stores), {k: v for k, v in definitions.items() if k[0] in stores}


def _names_stored(stmt) -> set:
    found = set()
    for node in gast.walk(stmt):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            found.add(node.id)
        elif isinstance(node, (gast.Subscript, gast.Attribute)) and \
                isinstance(node.ctx, gast.Store):
            base = node.value
            while isinstance(base, (gast.Subscript, gast.Attribute)):
                base = base.value
            if isinstance(base, gast.Name):
                found.add(base.id)
    if isinstance(stmt, gast.AugAssign):
        base = stmt.target
        while isinstance(base, (gast.Subscript, gast.Attribute)):
            base = base.value
        if isinstance(base, gast.Name):
            found.add(base.id)
    return found
