"""Infer what kind of value each name holds: "scalar", "array" or "other".

"scalar" is certain (a Python or NumPy scalar), so adjoints of scalars need no
unbroadcasting and start at 0.0; "array" is any NumPy array; "other" is
anything else or unknown. The argument kinds come from the call being compiled.

The pass also groups arrays known to have the same shape (ctx.shape_class:
name -> a representative name): an elementwise result has the shape of its
array operand when the other operands are scalars or of the same class.
"""

from __future__ import annotations

import numbers

import gast
import numpy as np

from .. import anno, callees
from ..context import Context
from ..rules import registry
from ..syntax import dotted_path, list_append, param_names, target_name, walk_statements
from ..templates import bind_call
from .resolve import call_parts, is_missing, user_function

SCALAR, ARRAY, OTHER = "scalar", "array", "other"


def kind_of_value(value) -> str:
    if isinstance(value, (numbers.Number, np.generic)) and not isinstance(value, complex):
        return SCALAR
    if isinstance(value, np.ndarray):
        return ARRAY
    return OTHER


def join(a: str | None, b: str | None) -> str | None:
    if a is None:
        return b
    if b is None or a == b:
        return a
    return OTHER


def elementwise(*kinds: str | None) -> str | None:
    """The kind of an elementwise result: scalar only if every operand is."""
    kinds = [k for k in kinds if k is not None]
    if not kinds:
        return None
    if all(k == SCALAR for k in kinds):
        return SCALAR
    if all(k in (SCALAR, ARRAY) for k in kinds):
        return ARRAY
    return OTHER


def infer_kinds(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    params = param_names(func)
    kinds: dict[str, str] = {}
    given = ctx.options.kinds or ()
    for i, p in enumerate(params):
        kinds[p] = given[i] if i < len(given) else OTHER
    inference = _Inference(ctx, kinds)
    # Loops can carry a kind around, so iterate to a fixed point (the lattice is tiny).
    for _ in range(10):
        before = dict(kinds)
        for stmt in walk_statements(func.body):
            name = target_name(stmt)
            if name is not None and anno.getanno(stmt, "phi") != "undefined":
                kinds[name] = join(kinds.get(name), inference.expr(stmt.value))
                inference.note_elements(name, stmt.value)
            appended = list_append(stmt)
            if appended is not None:
                inference.note_append(*appended)
            elif isinstance(stmt, gast.For):
                kinds[stmt.target.id] = SCALAR
        if kinds == before:
            break
    # A name nothing could be learnt about is of unknown kind (handled generically).
    ctx.kinds = {name: kind if kind is not None else OTHER for name, kind in kinds.items()}
    kinds = ctx.kinds
    ctx.elements = inference.elements
    ctx.shape_class = _shape_classes(func, params, kinds)
    return func


def _shape_classes(func: gast.FunctionDef, params: list, kinds: dict) -> dict:
    classes = {p: p for p in params if kinds.get(p) == ARRAY}

    def of(atom):
        if isinstance(atom, gast.Constant) or kinds.get(getattr(atom, "id", None)) == SCALAR:
            return SCALAR
        return classes.get(getattr(atom, "id", None))

    def combine(operands):
        found = {of(a) for a in operands} - {SCALAR}
        return found.pop() if len(found) == 1 and None not in found else None

    for stmt in walk_statements(func.body):
        name = target_name(stmt)
        if name is None or kinds.get(name) != ARRAY:
            continue
        value = stmt.value
        same = None
        if anno.getanno(stmt, "phi"):
            same = None  # merges could differ in shape
        elif isinstance(value, gast.Name):
            same = of(value)
        elif isinstance(value, gast.BinOp) and not isinstance(value.op, gast.MatMult):
            same = combine([value.left, value.right])
        elif isinstance(value, gast.UnaryOp):
            same = of(value.operand)
        elif isinstance(value, gast.Call):
            callee, args, keywords = call_parts(value)
            if isinstance(callee, np.ufunc) and not keywords:
                same = combine(args)
        classes[name] = same if same not in (None, SCALAR) else name
    return classes


class _Inference:
    def __init__(self, ctx: Context, kinds: dict):
        self.ctx = ctx
        self.kinds = kinds
        self.elements: dict[str, str] = {}  # tuple/list name -> the kind of its items
        self.appended: dict[str, str] = {}  # list name -> the kind of what is appended

    def atom(self, node: gast.AST) -> str:
        if isinstance(node, gast.Constant):
            return kind_of_value(node.value)
        if isinstance(node, gast.Name) and node.id in self.kinds:
            return self.kinds[node.id]
        if isinstance(node, gast.Name) and node.id in self.ctx.scope.locals:
            return None  # not inferred yet (a loop header): no information
        if isinstance(node, (gast.Name, gast.Attribute)):
            path = dotted_path(node)
            value = self.ctx.scope.value(path) if path else None
            if path and not is_missing(value):
                return kind_of_value(value)
        return OTHER

    def expr(self, node: gast.AST) -> str:
        if isinstance(node, (gast.Name, gast.Constant)):
            return self.atom(node)
        if isinstance(node, gast.BinOp):
            return elementwise(self.atom(node.left), self.atom(node.right))
        if isinstance(node, gast.UnaryOp):
            return SCALAR if isinstance(node.op, gast.Not) else self.atom(node.operand)
        if isinstance(node, gast.Compare):
            return elementwise(self.atom(node.left), self.atom(node.comparators[0]))
        if isinstance(node, gast.Call):
            return self.call(node)
        if isinstance(node, gast.Attribute):
            if node.attr in ("shape",):
                return OTHER
            if node.attr in ("ndim", "size"):
                return SCALAR
            return self.atom(node)
        if isinstance(node, gast.Subscript):
            base = self.atom(node.value)
            if base == ARRAY:
                return ARRAY
            element = self.elements.get(getattr(node.value, "id", None))
            if element is not None and self.atom(node.slice) == SCALAR:
                return element  # an item of a tuple or list of known kind
            return OTHER
        if isinstance(node, (gast.Tuple, gast.List)):
            return OTHER
        return OTHER

    def user_function(self, fn, args, keywords) -> callees.Result:
        bound = callees.bind(fn, args, keywords)
        if bound is None:
            return callees.UNKNOWN
        kinds = tuple(kind_of_value(p.default) if a is None else (self.atom(a) or OTHER)
                      for p, a in bound)
        return callees.result_of(self.ctx, fn, kinds, None)

    def note_append(self, name: str, value: gast.AST) -> None:
        kind = self.atom(value)
        if kind is not None:
            self.appended[name] = join(self.appended.get(name), kind)
            self.elements[name] = self.appended[name]

    def note_elements(self, name: str, value: gast.AST) -> None:
        """Remember the kind shared by the items of a tuple or list display."""
        if isinstance(value, gast.List) and not value.elts:
            return  # an empty list: its items are whatever gets appended
        if isinstance(value, (gast.Tuple, gast.List)) and value.elts:
            kinds = {self.atom(e) for e in value.elts}
            if len(kinds) == 1 and None not in kinds:
                self.elements[name] = kinds.pop()
        elif isinstance(value, gast.Name) and value.id in self.elements:
            self.elements[name] = self.elements[value.id]
        elif isinstance(value, gast.Call):
            callee, args, keywords = call_parts(value)
            if user_function(callee) and registry.lookup(callee) is None:
                item = self.user_function(callee, args, keywords).item_kind
                if item is not None:
                    self.elements[name] = item

    def call(self, node: gast.Call) -> str:
        callee, args, keywords = call_parts(node)
        arg_kinds = [self.atom(a) for a in args]
        if callee is None or is_missing(callee) or isinstance(callee, tuple):
            return OTHER
        if user_function(callee) and registry.lookup(callee) is None:
            return self.user_function(callee, args, keywords).kind
        module = getattr(callee, "__module__", None) or ""
        if module == "math":
            return SCALAR if callee.__name__ not in ("modf", "frexp") else OTHER
        if callee in (float,):
            return SCALAR
        known = registry.known_result_kind(callee)
        if known == "elementwise":
            return elementwise(*arg_kinds) or OTHER
        if known is not None:
            return known
        rule = registry.lookup(callee)
        if rule is not None:
            if callable(rule.result_kind):
                atoms = bind_call(rule.adjoints[0], args, keywords) if rule.adjoints else {}
                return rule.result_kind(arg_kinds, atoms if isinstance(atoms, dict) else {})
            if rule.result_kind in (SCALAR, ARRAY, OTHER):
                return rule.result_kind
            return elementwise(*arg_kinds) if arg_kinds else OTHER
        if isinstance(callee, np.ufunc):
            return elementwise(*arg_kinds)
        return OTHER
