"""Infer the abstract value of every name: kind, dtype, shape, a container's items.

The arguments' values come from the call being compiled (generated code is
specialised to them, like jax.jit); from them, one evaluator computes each
statement's value: one transfer function per expression form, the rules'
shape functions for calls, a summary per user function called. Loops and
branches meet through the SSA copies ("phi"); values are joined there and
the sweep repeats until nothing changes, starting from "no value yet", so a
loop-carried `h` keeps the shape it has on entry if every iteration keeps it.

The results: ctx.values (name -> Value), and the views older passes read:
ctx.kinds, ctx.shapes, ctx.elements, ctx.shape_class. `Evaluator` is also what
the derivative passes ask about the expressions they generate (see facts.py).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import replace

import gast
import numpy as np

from .. import anno, callees, records, runtime, shapes
from ..context import Context
from ..rules import registry
from ..syntax import (
    dotted_path,
    list_append,
    param_names,
    target_name,
    walk_statements,
    writes_into_any,
)
from ..templates import bind_call
from ..values import (
    ARRAY,
    OTHER,
    SCALAR,
    SCALAR_VALUE,
    UNKNOWN,
    UNKNOWN_INDEX,
    Value,
    array,
    elementwise_kind,
    integer,
    join,
    list_of,
    of,
    result_dtype,
    scalar,
    sequence,
    static_index,
    widen,
)
from .resolve import call_parts, is_missing, user_function

_MAX_SWEEPS = 30
_INT_OPS = {gast.Add: lambda a, b: a + b, gast.Sub: lambda a, b: a - b,
            gast.Mult: lambda a, b: a * b}


def infer_values(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    ctx.writes_into_arrays = writes_into_any(func.body)
    values: dict[str, Value | None] = dict(zip(param_names(func), parameter_values(ctx, func)))
    # Straight-line code (no loop, no append, each name assigned once, none read before
    # it is assigned) is done after one sweep: a second would find every value as it was.
    early: set[str] = set()  # names read before they had a value

    def lookup(var):
        found = values.get(var)
        if found is None and var not in values:
            early.add(var)
        return found

    evaluator = Evaluator(ctx, lookup, call_parts)
    appended: dict[str, Value] = {}
    defining = []  # (name, statement, its phi annotation) of each `name = value`, in order
    for sweep in range(_MAX_SWEEPS):
        before = dict(values)
        assigned: set[str] = set()
        straight = sweep == 0
        for stmt in walk_statements(func.body):
            name = target_name(stmt)
            if straight:
                if name in assigned or stmt.__class__ in (gast.For, gast.While):
                    straight = False
                if name is not None:
                    assigned.add(name)
            phi = anno.getanno(stmt, "phi") if name is not None else None
            if name is not None and sweep == 0:
                defining.append((name, stmt, phi))
            if name is not None and phi != "undefined":
                new = evaluator.expr(stmt.value)
                if name in appended and new is not None and new.container == "list":
                    new = list_of(join(new.element, appended[name]))  # items appended later
                values[name] = (widen if phi else join)(values.get(name), new)
            elif isinstance(stmt, gast.For):
                values[stmt.target.id] = SCALAR_VALUE  # loops run over range() after `loops`
            pushed = list_append(stmt) if stmt.__class__ is gast.Expr else None
            if pushed is not None:
                straight = False
                item = evaluator.expr(pushed[1])
                if item is not None:
                    appended[pushed[0]] = join(appended.get(pushed[0]), item)
                    current = values.get(pushed[0])
                    if current is not None and current.container == "list":
                        values[pushed[0]] = list_of(join(current.element, item))
        if values == before or straight and not early & assigned:
            break
    else:
        values = {n: UNKNOWN for n in values}  # no fixpoint: claim nothing
    ctx.values = {n: v if v is not None else UNKNOWN for n, v in values.items()}
    ctx.kinds = {n: v.kind for n, v in ctx.values.items()}
    ctx.shapes = {n: () if v.kind == SCALAR else v.shape if v.kind == ARRAY else None
                  for n, v in ctx.values.items()}  # (known_shape of each)
    ctx.elements = {n: v.element.kind for n, v in ctx.values.items()
                    if v.element is not None}  # (item_kind of each that has one)
    ctx.shape_class = _shape_classes(func, ctx.kinds, defining)
    return func


def parameter_values(ctx: Context, func: gast.FunctionDef) -> list[Value]:
    """What the call being compiled says about each parameter."""
    options = ctx.options
    result = []
    for i, _ in enumerate(param_names(func)):
        if options.values is not None and i < len(options.values):
            result.append(options.values[i])
            continue
        kind = options.kinds[i] if options.kinds is not None and i < len(options.kinds) else OTHER
        info = options.arrays[i] if options.arrays is not None and i < len(options.arrays) \
            else None
        if info is not None:
            result.append(array(info[0], info[1]))
        elif kind == SCALAR:
            result.append(SCALAR_VALUE)
        elif kind == ARRAY:
            result.append(array(None, None))
        else:
            result.append(UNKNOWN)
    return result


def known_shape(value: Value) -> tuple | None:
    if value.kind == SCALAR:
        return ()
    return value.shape if value.kind == ARRAY else None


class Evaluator:
    """The abstract value of an expression, from the values of the names it reads.

    `lookup(name)` gives a local name's value (None: none yet); `parts(call)` gives
    a call's (callee, positional atoms, keyword atoms).
    """

    def __init__(self, ctx: Context, lookup, parts):
        self.ctx = ctx
        self.lookup = lookup
        self.parts = parts
        # (op class, id(left), id(right)) -> (left, right, their binop): values are shared
        # (array() and scalar() give one Value per dtype and shape), so straight-line code
        # asks the same few operations again and again
        self.binops: dict = {}

    # -- atoms -------------------------------------------------------------------------

    def atom(self, node: gast.AST) -> Value | None:
        if isinstance(node, gast.Constant):
            return SCALAR_VALUE if node.value.__class__ is float else constant(node.value)
        if isinstance(node, gast.Name):
            found = self.lookup(node.id)
            if found is not None:
                return found
            scope = self.ctx.scope
            if scope is not None and node.id in scope.locals:
                return None  # not inferred yet (a loop header): no information
        if isinstance(node, (gast.Name, gast.Attribute)):
            path = dotted_path(node)
            value = self.ctx.scope.value(path) if path and self.ctx.scope is not None \
                else _MISSING
            if not is_missing(value):
                return of(value)
            if isinstance(node, gast.Name) and node.id in self.ctx.references:
                return of(self.ctx.references[node.id])
        return UNKNOWN

    def kind(self, node) -> str | None:
        value = self.atom(node)
        return value.kind if value is not None else None

    # -- expressions -------------------------------------------------------------------

    def expr(self, node: gast.AST) -> Value | None:
        cls = node.__class__  # (no subclass of these node classes is ever made)
        if cls is gast.Name or cls is gast.Constant:
            return self.atom(node)
        if cls is gast.BinOp:
            return self.binop(node.op, self.expr(node.left), self.expr(node.right))
        if isinstance(node, gast.UnaryOp):
            operand = self.expr(node.operand)
            if isinstance(node.op, gast.Not):
                return scalar(np.bool_)
            if operand is None or operand.kind not in (SCALAR, ARRAY):
                return operand if operand is None else UNKNOWN
            return Value(operand.kind, operand.dtype, operand.shape)
        if isinstance(node, gast.Compare) and len(node.comparators) == 1:
            left, right = self.expr(node.left), self.expr(node.comparators[0])
            if left is None or right is None:
                return None
            kind = elementwise_kind(left.kind, right.kind)
            if kind not in (SCALAR, ARRAY):
                return scalar(np.bool_) if isinstance(node.ops[0], (gast.Is, gast.IsNot, gast.In,
                                                                    gast.NotIn)) else UNKNOWN
            return Value(kind, np.dtype(np.bool_),
                         () if kind == SCALAR else shapes.broadcast(left.shape, right.shape))
        if isinstance(node, gast.Call):
            return self.call(node)
        if isinstance(node, gast.Attribute):
            return self.attribute(node)
        if isinstance(node, gast.Subscript):
            return self.subscript(node)
        if isinstance(node, (gast.Tuple, gast.List)):
            items = [self.expr(e) for e in node.elts]
            if any(i is None for i in items):
                return None
            return sequence(items, "tuple" if isinstance(node, gast.Tuple) else "list")
        if isinstance(node, gast.Dict):  # constant keys (see fence)
            items = [self.expr(v) for v in node.values]
            if any(i is None for i in items):
                return None
            keys = tuple(k.value for k in node.keys)
            if len(set(keys)) != len(keys):  # {"a": x, "a": y}: the last one counts
                return UNKNOWN
            return replace(sequence(items, "dict"), keys=keys)
        return UNKNOWN

    def binop(self, op, left: Value | None, right: Value | None) -> Value | None:
        if left is None or right is None:
            return None
        key = (op.__class__, id(left), id(right))
        found = self.binops.get(key)
        if found is not None and found[0] is left and found[1] is right:
            return found[2]  # (the entry keeps both values alive: their ids are theirs)
        result = self._binop(op, left, right)
        self.binops[key] = (left, right, result)
        return result

    def _binop(self, op, left: Value, right: Value) -> Value:
        kind = elementwise_kind(left.kind, right.kind)
        if kind not in (SCALAR, ARRAY):
            return _joined_or_repeated(op, left, right)
        dtype = result_dtype(left, right)
        if isinstance(op, gast.Div) and dtype is not None and dtype.kind in "biu":
            dtype = np.dtype(np.float64)  # true division of integers
        if kind == SCALAR:
            if left.const is not None and right.const is not None and type(op) in _INT_OPS:
                return integer(_INT_OPS[type(op)](left.const, right.const))
            return scalar(dtype)
        if isinstance(op, gast.MatMult):
            return array(dtype, shapes.matmul(left.shape, right.shape))
        return array(dtype, shapes.broadcast(left.shape, right.shape))

    def attribute(self, node: gast.Attribute) -> Value | None:
        if dotted_path(node) is not None and self.ctx.scope is not None:
            value = self.ctx.scope.value(dotted_path(node))
            if not is_missing(value):
                return of(value)
        base = self.expr(node.value)
        if base is None:
            return None
        if base.cls is not None and base.keys is not None:  # p.w: a NamedTuple's, a dataclass's
            return base.item(base.keys.index(node.attr) if base.container == "tuple" else
                             node.attr) if node.attr in base.keys else UNKNOWN
        if node.attr in ("ndim", "size"):
            if base.kind == ARRAY and base.shape is not None:  # an int known before running
                if node.attr == "ndim":
                    return integer(len(base.shape))
                if all(type(d) is int for d in base.shape):
                    return integer(math.prod(base.shape))
            return SCALAR_VALUE if base.kind in (SCALAR, ARRAY) else UNKNOWN
        if base.kind != ARRAY:
            return UNKNOWN
        if node.attr == "T":
            flipped = {"lower": "upper", "upper": "lower"}.get(base.triangle)
            return Value(ARRAY, base.dtype,
                         None if base.shape is None else tuple(reversed(base.shape)),
                         triangle=flipped if base.shape is not None and len(base.shape) == 2
                         else None)
        if node.attr == "shape":
            if base.shape is None:
                return UNKNOWN
            return sequence([integer(d) for d in base.shape], "tuple")
        return UNKNOWN

    def subscript(self, node: gast.Subscript) -> Value | None:
        base = self.expr(node.value)
        if base is None:
            return None
        if base.kind == ARRAY:
            gathered = self.integer_arrays_index(base, node.slice)
            if gathered is not None:
                return array(base.dtype, gathered)
            key = static_index(node.slice, _Kinds(self))
            shape = None if key is UNKNOWN_INDEX else shapes.index(base.shape, key)
            if shape == ():
                return scalar(base.dtype)
            return array(base.dtype, shape)
        if base.container is not None:
            if isinstance(node.slice, gast.Slice):
                return Value(OTHER, element=base.element, container=base.container)
            index = node.slice.value if isinstance(node.slice, gast.Constant) else None
            if base.container == "object" or base.container == "dict" and index is None:
                return UNKNOWN  # params[k] with a key known only when running
            if index is None and self.kind(node.slice) != SCALAR:
                return UNKNOWN
            item = base.item(index)
            return item if item is not None else UNKNOWN
        return UNKNOWN

    def integer_arrays_index(self, base: Value, index) -> tuple | None:
        """The shape of `x[i]` or `x[i, j]` with integer arrays of known shapes (one per
        leading axis): the indices' broadcast shape, then x's remaining axes."""
        parts = index.elts if isinstance(index, gast.Tuple) else [index]
        if base.shape is None or len(parts) > len(base.shape) or not all(
                isinstance(p, gast.Name) for p in parts):
            return None
        found = [self.lookup(p.id) for p in parts]
        if not all(v is not None and v.kind == ARRAY and v.shape is not None
                   and v.dtype is not None and v.dtype.kind in "iu" for v in found):
            return None
        shape = shapes.broadcast(*[v.shape for v in found])
        return None if shape is None else shape + base.shape[len(parts):]

    # -- calls -------------------------------------------------------------------------

    def call(self, node: gast.Call) -> Value | None:
        callee, args, keywords = self.parts(node)
        if callee == ("method", "pop") and len(args) == 1:  # xs.pop(): an item of xs
            base = self.expr(args[0])
            return None if base is None else (
                base.element if base.container == "list" and base.element else UNKNOWN)
        if callee is None or is_missing(callee) or isinstance(callee, tuple):
            return UNKNOWN
        record = anno.getanno(node, "record")
        if record is not None:  # P(a, b): as the values of arguments of that class
            found = [self.expr(a) for a in records.items(node, record)]
            if any(v is None for v in found):
                return None
            return replace(sequence(found, record[2]), keys=record[1], cls=record[0])
        if callee is runtime.zeros_like and len(args) == 1 and not keywords:
            like = self.expr(args[0])
            return None if like is None else zeros_like(like)
        if callee is runtime.extremum_weights and args:  # a float array shaped like a
            like = self.expr(args[0])
            return None if like is None else zeros_like(like) if like.kind == ARRAY else UNKNOWN
        if isinstance(node.func, gast.Attribute) and node.func.attr == "copy" and not node.args \
                and callee is np.copy:
            return self.expr(node.func.value)
        if user_function(callee) and registry.lookup(callee) is None:
            return self.user_function(callee, args, keywords)
        arg_values = [self.expr(a) for a in args]
        if any(v is None for v in arg_values) or any(
                self.expr(v) is None for v in keywords.values()):
            return None
        arg_kinds = [v.kind for v in arg_values]
        module = getattr(callee, "__module__", None) or ""
        if module == "math":
            if callee.__name__ in ("modf", "frexp"):
                return sequence([SCALAR_VALUE, SCALAR_VALUE], "tuple")
            return SCALAR_VALUE
        if callee is len and arg_values and arg_values[0].kind == ARRAY \
                and arg_values[0].shape:
            return integer(arg_values[0].shape[0])
        if callee in (float, len, int, round):
            return SCALAR_VALUE
        if callee is range:
            return Value(OTHER, element=SCALAR_VALUE, container="range")
        made = self.constructor(callee, args, keywords)
        if made is not None:
            return made
        kind = self.call_kind(callee, args, keywords, arg_kinds)
        if kind == SCALAR:
            return scalar(self.call_dtype(callee, arg_values, keywords))
        if kind != ARRAY:
            return UNKNOWN
        result = array(self.call_dtype(callee, arg_values, keywords),
                       self.call_shape(callee, args, keywords, arg_values))
        triangle = self.triangle_of(callee, args, keywords)
        return replace(result, triangle=triangle) if triangle is not None else result

    def triangle_of(self, callee, args, keywords) -> str | None:
        """"lower" for np.linalg.cholesky(a) and np.tril(m), "upper" for upper=True and
        np.triu(m): NumPy writes exact zeros on the other side. None where the function
        writes into arrays (a write could put a nonzero there)."""
        if self.ctx.writes_into_arrays or len(args) != 1:
            return None
        if callee is np.linalg.cholesky and set(keywords) <= {"upper"}:
            upper = keywords.get("upper")
            if upper is None or isinstance(upper, gast.Constant) and upper.value is False:
                return "lower"
            if isinstance(upper, gast.Constant) and upper.value is True:
                return "upper"
        if callee in (np.tril, np.triu) and not keywords:
            return "lower" if callee is np.tril else "upper"
        return None

    def call_kind(self, callee, args, keywords, arg_kinds) -> str:
        known = registry.known_result_kind(callee)
        if known == "elementwise":
            return elementwise_kind(*arg_kinds) or OTHER
        if known is not None:
            return known
        rule = registry.lookup(callee)
        if rule is not None:
            if callable(rule.result_kind):
                atoms = bind_call(rule.adjoints[0], args, keywords) if rule.adjoints else {}
                return rule.result_kind(arg_kinds, atoms if isinstance(atoms, dict) else {})
            if rule.result_kind in (SCALAR, ARRAY, OTHER):
                return rule.result_kind
            return elementwise_kind(*arg_kinds) if arg_kinds else OTHER
        if isinstance(callee, np.ufunc):
            return elementwise_kind(*arg_kinds) or OTHER
        return OTHER

    def call_shape(self, callee, args, keywords, arg_values) -> tuple | None:
        if callee in _LIKE and len(args) <= _LIKE[callee] and all(
                k == "dtype" for k in keywords):
            return arg_values[0].shape  # np.zeros_like(x): x's shape
        rule = registry.lookup(callee)
        for template in rule.adjoints if rule is not None else ():
            if template.shape is None:
                continue
            atoms = bind_call(template, args, keywords)
            if isinstance(atoms, dict):
                return template.shape({p: known_shape(self.expr(a)) for p, a in atoms.items()},
                                      atoms)
        if isinstance(callee, np.ufunc) and not keywords:
            return shapes.broadcast(*[v.shape for v in arg_values])
        return None

    def call_dtype(self, callee, arg_values, keywords) -> np.dtype | None:
        if "dtype" in keywords:
            return _dtype_of(keywords["dtype"])
        if callee in _LIKE and arg_values and arg_values[0].kind == ARRAY:
            return arg_values[0].dtype  # np.empty_like(x): x's dtype
        if isinstance(callee, np.ufunc) and callee.nout == 1 and len(arg_values) == callee.nin:
            return _ufunc_dtype(callee, arg_values)
        if callee in _SAME_DTYPE and arg_values:
            dtype = result_dtype(*arg_values)  # floats stay floats; np.mean of ints does not
            return dtype if dtype is not None and dtype.kind == "f" else None
        return None

    def constructor(self, callee, args, keywords) -> Value | None:
        """np.zeros(3), np.ones((n, 4)), np.full(shape, v), np.eye(n), np.arange(n): an array
        of a shape the code says."""
        if callee in (np.eye, np.identity) and len(args) == 1 and (
                set(keywords) <= {"dtype"}):
            n = self.expr(args[0])
            shape = (n.const, n.const) if n is not None and n.const is not None else None
            return array(_dtype_of(keywords["dtype"]) if "dtype" in keywords else np.float64,
                         shape)
        if callee is np.arange and len(args) == 1 and not keywords:
            n = self.expr(args[0])
            return array(np.int64, (max(n.const, 0),)) \
                if n is not None and n.const is not None else None
        if callee not in _CONSTRUCTORS or not args:
            return None
        shape = self.shape_argument(args[0])
        dtype = _dtype_of(keywords["dtype"]) if "dtype" in keywords else (
            np.dtype(np.float64) if callee is not np.full else None)
        return array(dtype, shape)

    def shape_argument(self, node) -> tuple | None:
        """A shape written as a constant, a tuple of constants, or `x.shape`."""
        if isinstance(node, gast.Constant) and type(node.value) is int:
            return (node.value,)
        if isinstance(node, gast.Tuple) and all(
                isinstance(e, gast.Constant) and type(e.value) is int for e in node.elts):
            return tuple(e.value for e in node.elts)
        if isinstance(node, gast.Attribute) and node.attr == "shape":
            base = self.expr(node.value)
            return base.shape if base is not None and base.kind == ARRAY else None
        value = self.expr(node)
        if value is not None and value.const is not None:
            return (value.const,)
        if value is not None and value.items is not None and all(
                v.const is not None for v in value.items):
            return tuple(v.const for v in value.items)
        return None

    def user_function(self, fn, args, keywords) -> Value | None:
        bound = callees.bind(fn, args, keywords)
        if bound is None:
            return UNKNOWN
        arguments = self.arguments(bound)
        return None if arguments is None else callees.result_of(self.ctx, fn, arguments).value

    def arguments(self, bound: list) -> tuple | None:
        """The values of a callee's parameters bound to this call's atoms (defaults filled
        in); None if one is not known yet."""
        arguments = tuple(of(p.default) if a is None else self.expr(a) for p, a in bound)
        return None if any(v is None for v in arguments) else arguments


def callee_result(ctx: Context, node: gast.Call) -> callees.Result | None:
    """What a user function called here returns and changes (see callees.result_of), or
    None if the call does not bind."""
    callee, args, keywords = call_parts(node)
    bound = callees.bind(callee, args, keywords)
    if bound is None:
        return None
    arguments = Evaluator(ctx, ctx.values.get, call_parts).arguments(bound)
    return callees.result_of(ctx, callee, arguments) if arguments is not None \
        else callees.UNKNOWN


class _Kinds:
    """`static_index` reads kinds by name: answer from the evaluator."""

    def __init__(self, evaluator: Evaluator):
        self.evaluator = evaluator

    def get(self, name, default=None):
        value = self.evaluator.lookup(name)
        return value.kind if value is not None else default


_MISSING = object()


def zeros_like(value: Value) -> Value:
    """The value of runtime.zeros_like(x): 0.0, float zeros of x's shape, or a list."""
    if value.kind == SCALAR:
        return SCALAR_VALUE
    if value.kind == ARRAY:
        dtype = value.dtype if value.dtype is not None and value.dtype.kind in "fc" else None
        return array(dtype, value.shape)
    if value.container is None:
        return UNKNOWN
    items = None if value.items is None else tuple(zeros_like(v) for v in value.items)
    element = None if value.element is None else zeros_like(value.element)
    if value.container in ("dict", "object"):  # a dataclass's adjoint: a dict of its fields
        return Value(OTHER, items=items, element=element, container="dict", keys=value.keys)
    return Value(OTHER, items=items, element=element, container="list")


def constant(value) -> Value:
    if type(value) is int:
        return integer(value)
    if isinstance(value, numbers.Number) and not isinstance(value, complex):
        return SCALAR_VALUE
    return of(value)


def _ufunc_dtype(fn: np.ufunc, values: list) -> np.dtype | None:
    """What NumPy's own type resolution gives for these operands (np.sqrt of ints is
    float64, np.greater is bool), asked on empty arrays; a Python number counts as a
    float beside float arrays (it is "weak": float32 stays float32) and is unknown
    otherwise (int or float?)."""
    dtypes = [v.dtype for v in values if v.dtype is not None]
    if any(v.kind not in (SCALAR, ARRAY) for v in values) or not dtypes:
        return None
    operands = []  # (each a dtype, or None for a Python float)
    for v in values:
        if v.dtype is not None:
            operands.append(v.dtype)
        elif v.kind == SCALAR and all(d.kind == "f" for d in dtypes):
            operands.append(None)
        else:
            return None
    # (each dtype with its class: a dtype compares equal to None, see values.scalar)
    key = (fn, tuple((d.__class__, d) for d in operands))
    try:
        return _UFUNC_DTYPES[key]
    except KeyError:
        pass
    samples = [0.0 if d is None else np.zeros(0, d) for d in operands]
    try:
        with np.errstate(all="ignore"):
            found = fn(*samples).dtype
    except (TypeError, ValueError):
        found = None
    shapes.remember(_UFUNC_DTYPES, key, found)
    return found


# (ufunc, operand dtypes) -> its result's dtype
_UFUNC_DTYPES: dict = {}


def _dtype_of(node) -> np.dtype | None:
    """The dtype a dtype= argument names, when it is written as a constant or np.float32."""
    text = node.value if isinstance(node, gast.Constant) and isinstance(node.value, str) \
        else (dotted_path(node) or "").rpartition(".")[2]
    try:
        return np.dtype(text) if text else None
    except TypeError:
        return None


# Functions making a new array shaped like their first argument (a shape= argument
# aside): how many positional arguments come before `shape`.
_LIKE = {np.zeros_like: 2, np.ones_like: 2, np.empty_like: 2, np.full_like: 3,
         runtime.zeros_like: 1, runtime.stop_gradient: 1,
         np.asarray: 1}  # (np.asarray(g, dtype=x.dtype) ends a float32 gradient: x's shape)
_CONSTRUCTORS = {np.zeros, np.ones, np.empty, np.full}
# Functions (not ufuncs: NumPy resolves those) whose result has their arguments' promoted
# float dtype.
_SAME_DTYPE = {np.sum, np.mean, np.max, np.min, np.amax, np.amin, np.transpose, np.reshape,
               np.ravel, np.squeeze, np.expand_dims, np.concatenate, np.stack, np.dot,
               np.where, np.clip, np.outer, np.tensordot, np.cumsum, np.prod, np.diag, np.trace,
               np.broadcast_to, np.tile, np.repeat, runtime.stop_gradient}


def _shape_classes(func: gast.FunctionDef, kinds: dict, defining: list) -> dict:
    """Group arrays known to have the same shape (name -> a representative name): an
    elementwise result has the shape of its array operand when the other operands are
    scalars or of the same class, even where that shape is not known statically.
    `defining`: (name, statement, phi annotation) of each `name = value` in order."""
    classes = {p: p for p in param_names(func) if kinds.get(p) == ARRAY}
    # what an atom is: SCALAR, or its class (names of other kinds: None)
    atoms = {n: SCALAR for n, kind in kinds.items() if kind == SCALAR}
    atoms.update(classes)

    def of_atom(atom):
        if atom.__class__ is gast.Constant:
            return SCALAR
        return atoms.get(atom.id) if atom.__class__ is gast.Name else None

    def combine(operands):
        """The one class of the operands that are not scalars, else None."""
        found = None
        for atom in operands:
            of = of_atom(atom)
            if of == SCALAR:
                continue
            if of is None or found is not None and of != found:
                return None
            found = of
        return found

    for name, stmt, phi in defining:
        if kinds.get(name) != ARRAY:
            continue
        value = stmt.value
        cls = value.__class__
        same = None
        if phi:
            same = None  # merges could differ in shape
        elif cls is gast.Name:
            same = of_atom(value)
        elif cls is gast.BinOp and value.op.__class__ is not gast.MatMult:
            same = combine((value.left, value.right))
        elif cls is gast.UnaryOp:
            same = of_atom(value.operand)
        elif cls is gast.Call:
            callee, args, keywords = call_parts(value)
            if isinstance(callee, np.ufunc) and not keywords:
                same = combine(args)
        classes[name] = atoms[name] = same if same not in (None, SCALAR) else name
    return classes


def _joined_or_repeated(op, left: Value, right: Value) -> Value:
    """Lists (or tuples) joined by +, or one repeated by * an int: a list (or tuple) again,
    its items known where theirs are (a list grown in a loop, `ys = ys + [v]`, stays a
    list of unknown length, as one grown by append)."""
    sequences = ("list", "tuple")
    if isinstance(op, gast.Add) and left.kind == right.kind == OTHER \
            and left.container in sequences and left.container == right.container:
        if left.items is not None and right.items is not None:
            return sequence(left.items + right.items, left.container)
        element = join(left.element, right.element) if left.element is not None \
            and right.element is not None else None
        return Value(OTHER, element=element, container=left.container)
    if isinstance(op, gast.Mult):
        seq, times = (left, right) if left.kind == OTHER else (right, left)
        if seq.container in sequences and times.kind == SCALAR and times.dtype is None:
            if seq.items is not None and times.const is not None:
                return sequence(seq.items * times.const, seq.container)
            return Value(OTHER, element=seq.element, container=seq.container)
    return UNKNOWN
