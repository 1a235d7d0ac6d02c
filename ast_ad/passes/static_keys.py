"""Comprehensions and loops whose keys are known at compile time, unrolled (part of views).

The code is specialised to its arguments (a dict argument's keys, a tuple argument's
items), so what a comprehension runs over is often known before the code runs:
`range(3)`, a tuple of strings, `zip(names, arrays)`, `enumerate(layers)`,
`params.items()` (spelled out by dict_views), a dict argument itself, `params["enc"]`,
`self.params`, a local dict display. Then

- a dict comprehension becomes a dict display with constant keys:
  `{f"W{i}": x * i for i in range(3)}` is `{'W0': x * 0, 'W1': x * 1, 'W2': x * 2}`;
  an `if` filter is decided for each item (`if k != "b"`). A dict comprehension whose
  keys or filters are not known is rejected here, saying why. So are `dict(zip(...))`,
  `dict(a=x)` and `{**params, "b": 0.0}` spelled out, and `params.get("k", default)`.
- a list comprehension or generator, and a `for` loop, whose body reads a key (a string
  known for each item, `name.startswith("W")`, `k == "b"`, `params[k]`) is spelled out
  item by item, the key a constant in each copy; an `if` whose test is then known keeps
  only its branch, and a `continue` or `break` it leaves ends the copy. `sum(...)` of
  such a generator is the sum of its items.
- a property of a differentiated dataclass or NamedTuple argument (`p.norm`) is its
  getter, made a local function (inlined by anf).

The items substituted are atoms or reads of them (`params['W1']`, `arrays[0]`), so
nothing is computed twice; a loop whose body rebinds what an item reads is left as it
is. A local name counts as known only if it is assigned once, at the top of the
function, a tuple, list or dict display, and otherwise only read (a list or dict not
passed anywhere it could be changed).
"""

from __future__ import annotations

import builtins
import inspect
import types

import gast

from .. import cache, syntax
from ..context import Context
from ..errors import ADError, UnsupportedSyntaxError
from ..source import get_source
from ..syntax import clone, const, name, param_names, substitute, walk, walk_lean
from ..values import UNKNOWN
from .parse import parse

NOT_KNOWN = object()
MAX_ITEMS = 1000  # a comprehension spelled out into more items than this is rejected

_BUILTINS = ("range", "len", "dict", "sum", "str", "int", "bool", "zip", "enumerate",
             "reversed", "sorted", "tuple", "list", "min", "max", "abs", "repr")
_STR_METHODS = ("startswith", "endswith", "upper", "lower", "strip", "lstrip", "rstrip",
                "replace", "split", "rsplit", "join", "format", "capitalize", "title",
                "isdigit", "isalpha", "isalnum", "count", "find", "rfind", "index",
                "removeprefix", "removesuffix", "partition", "rpartition", "zfill")
_KEY_TYPES = (str, int, bool, type(None))
_SCOPES = (gast.Lambda, gast.ListComp, gast.SetComp, gast.DictComp, gast.GeneratorExp,
           gast.FunctionDef)


_REWRITTEN = (gast.Dict, gast.DictComp, gast.ListComp, gast.GeneratorExp, gast.For,
              gast.FunctionDef, gast.Lambda)


# (the classes of the nodes _rewritable may say yes to)
_MAY_REWRITE = frozenset(_REWRITTEN + (gast.Attribute, gast.Call))


def _rewritable(node, params) -> bool:
    """Whether the visitor below may rewrite `node`: a display or comprehension, a loop, a
    nested function, `p.attr` of a parameter with a value, `x.get(...)`, a dict's views,
    `dict(...)`."""
    if isinstance(node, _REWRITTEN):
        return True
    if isinstance(node, gast.Attribute):
        return node.attr in ("get", "keys", "values", "items") \
            or isinstance(node.value, gast.Name) and node.value.id in params
    return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) \
        and node.func.id == "dict"


class Unknown(Exception):
    """What a comprehension runs over, or a key or filter, is not known at compile time."""


def unroll_static_keys(func: gast.FunctionDef, ctx: Context, parsed=None) -> list:
    """The statements it looked into (the others hold nothing it rewrites). `parsed`: what
    parse saw of `func` (parse.Parsed), if nothing changed it since."""
    if parsed is not None and not _may_rewrite(parsed, func, ctx):
        # (check what the gate says: the whole pass looks into nothing)
        syntax.gate_agrees(lambda: _assert_empty(_Unroll(func, ctx).run()), func, "views")
        return []
    return _Unroll(func, ctx).run()


def _may_rewrite(parsed, func: gast.FunctionDef, ctx: Context) -> bool:
    """Whether a node _rewritable says yes to may be in the tree parse made (unchanged
    since), from what converting it saw: a display, comprehension, loop or nested function,
    a dict's views or get, `dict(...)`, or an attribute of a parameter with a value. If
    not, no statement is looked into (and no walk of each statement finds that out)."""
    if parsed.functions > 1 or parsed.classes & _REWRITTEN_NAMES \
            or not parsed.names.isdisjoint(("get", "keys", "values", "items", "dict")):
        return True
    with_values = {p for p, v in zip(param_names(func), ctx.options.values or ()) if v is not None}
    return not parsed.attribute_roots.isdisjoint(with_values)


def _assert_empty(visited: list) -> None:
    assert not visited, "the views gate skipped statements the pass looks into"


# (the names of _REWRITTEN's classes but FunctionDef: ast's are the same)
_REWRITTEN_NAMES = frozenset(cls.__name__ for cls in _REWRITTEN if cls is not gast.FunctionDef)


class _Unroll(gast.NodeTransformer):
    def __init__(self, func: gast.FunctionDef, ctx: Context):
        self.func, self.ctx = func, ctx
        stores: dict = {}
        params = param_names(func)
        known = ctx.options.values or ()
        with_values = {p for p, v in zip(params, known) if v is not None}
        # The statements at the top that hold a node the visitor may rewrite (the others
        # are left as they are, unvisited), by id.
        self.relevant: set = set()
        for stmt in func.body:
            relevant = False
            for n in walk_lean(stmt):
                cls = n.__class__
                if cls is gast.Name:
                    if n.ctx.__class__ is not gast.Load:
                        stores[n.id] = stores.get(n.id, 0) + 1
                elif not relevant and cls in _MAY_REWRITE and _rewritable(n, with_values):
                    relevant = True
            if relevant:
                self.relevant.add(id(stmt))
        for n in walk(func.args):
            if n.__class__ is gast.Name and n.ctx.__class__ is not gast.Load:
                stores[n.id] = stores.get(n.id, 0) + 1
        self.stores = stores
        self.param_index = {p: i for i, p in enumerate(params)}
        self.getters: dict = {}  # (class, property) -> (local function, its tree)
        self.spelled: dict = {}  # id -> (a generator spelled out, its items)
        self.params = {p: v for p, v in zip(params, known)
                       if v is not None and stores.get(p, 0) <= 1}  # (the parameter itself)
        self.frozen: dict = {}  # filled as the statements that assign them are reached
        self.candidates = self._read_only_locals(func, stores)
        self.shadowed: list = []

    def run(self) -> list:
        body, visited = [], []
        for stmt in self.func.body:
            if id(stmt) not in self.relevant:
                body.append(stmt)
                done = stmt
            else:
                done = self.visit(stmt)
                done = done if isinstance(done, list) else [done]
                body += done
                visited += done
                done = done[0] if len(done) == 1 else None
            if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 \
                    and isinstance(stmt.targets[0], gast.Name) \
                    and stmt.targets[0].id in self.candidates \
                    and isinstance(done, gast.Assign) and _frozen_display(done.value):
                self.frozen[stmt.targets[0].id] = done.value
        getters = [tree for _, tree in self.getters.values()]
        self.func.body = getters + body
        for stmt in getters + visited:  # (as gast.fix_missing_locations(self.func))
            for attr in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
                if not hasattr(stmt, attr):
                    setattr(stmt, attr, getattr(self.func, attr, 1 if "line" in attr else 0))
            gast.fix_missing_locations(stmt)
        return getters + visited

    # -- what is known --------------------------------------------------------------

    def _read_only_locals(self, func, stores) -> set:
        """Locals assigned once, at the top of the function, and otherwise only read
        whole (iterated, indexed, measured, a dict's views read): known from their
        display once it is reached."""
        once = {stmt.targets[0].id for stmt in func.body
                if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], gast.Name) and stores.get(stmt.targets[0].id) == 1}
        if not once:
            return once
        parents = {}
        for n in walk(func):
            for child in gast.iter_child_nodes(n):
                parents[id(child)] = n
        mutable = {stmt.targets[0].id for stmt in func.body
                   if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
                   and isinstance(stmt.targets[0], gast.Name)
                   and not isinstance(stmt.value, gast.Tuple)}
        for n in walk(func):
            if isinstance(n, gast.Name) and n.id in once and isinstance(n.ctx, gast.Load):
                parent = parents.get(id(n))
                if n.id in mutable and not (
                        isinstance(parent, (gast.Subscript, gast.Attribute, gast.Call,
                                            gast.Compare))
                        or isinstance(parent, (gast.For, gast.comprehension))
                        and n is parent.iter):
                    once.discard(n.id)  # a list or dict under another name may be changed
                elif isinstance(parent, gast.Attribute) and not (
                        parent.attr in ("keys", "values", "items", "get")
                        and isinstance(parents.get(id(parent)), gast.Call)) \
                        or isinstance(parent, gast.Subscript) and not isinstance(
                            parent.ctx, gast.Load) \
                        or isinstance(parent, gast.Call) and n is not parent.func \
                        and not (isinstance(parent.func, gast.Name)
                                 and parent.func.id in _BUILTINS):
                    once.discard(n.id)  # it may be changed: not known
        return once

    def _builtin(self, func) -> str | None:
        """The name of the builtin `func` calls (not shadowed by a global or a local)."""
        if isinstance(func, gast.Name) and func.id in _BUILTINS \
                and func.id not in self.ctx.src.globals and func.id not in self.stores \
                and func.id not in self.ctx.src.closure \
                and not any(func.id in s for s in self.shadowed):
            return func.id
        return None

    def static(self, node):
        """The value of `node` if known at compile time, else NOT_KNOWN."""
        try:
            return self._static(node)
        except Unknown:
            return NOT_KNOWN
        except Exception:  # noqa: BLE001 (it would raise when run: not known here)
            return NOT_KNOWN

    def _static(self, node):
        s = self._static
        if isinstance(node, gast.Constant):
            return node.value
        if isinstance(node, gast.Name) and node.id in self.frozen and self._visible(node.id) \
                and not isinstance(self.frozen[node.id], gast.Dict):
            display = self.frozen[node.id]
            items = [s(e) for e in display.elts]
            return tuple(items) if isinstance(display, gast.Tuple) else items
        if isinstance(node, (gast.Tuple, gast.List)):
            items = [s(e) for e in node.elts]
            return tuple(items) if isinstance(node, gast.Tuple) else items
        if isinstance(node, gast.JoinedStr):
            return "".join(s(v) for v in node.values)
        if isinstance(node, gast.FormattedValue):
            value = s(node.value)
            if not isinstance(value, (str, int, bool, float)):
                raise Unknown
            value = {115: str, 114: repr, 97: ascii}.get(node.conversion, lambda v: v)(value)
            return format(value, s(node.format_spec) if node.format_spec is not None else "")
        if isinstance(node, gast.BinOp):
            left, right = s(node.left), s(node.right)
            if isinstance(node.op, gast.Pow) or isinstance(node.op, gast.Mult) and any(
                    isinstance(v, (str, tuple, list)) for v in (left, right)) and max(
                    v for v in (left, right) if isinstance(v, int)) > MAX_ITEMS:
                raise Unknown
            return _BINARY[type(node.op)](left, right)
        if isinstance(node, gast.UnaryOp):
            return _UNARY[type(node.op)](s(node.operand))
        if isinstance(node, gast.BoolOp):
            value = s(node.values[0])
            for v in node.values[1:]:
                if isinstance(node.op, gast.And) and not value or \
                        isinstance(node.op, gast.Or) and value:
                    return value
                value = s(v)
            return value
        if isinstance(node, gast.Compare):
            left = s(node.left)
            for op, right in zip(node.ops, node.comparators):
                right = s(right)
                if not _COMPARE[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, gast.IfExp):
            return s(node.body) if s(node.test) else s(node.orelse)
        if isinstance(node, gast.Subscript):
            if isinstance(node.slice, gast.Slice):
                parts = [s(p) if p is not None else None
                         for p in (node.slice.lower, node.slice.upper, node.slice.step)]
                return s(node.value)[slice(*parts)]
            return s(node.value)[s(node.slice)]
        if isinstance(node, gast.Call) and not any(k.arg is None for k in node.keywords) \
                and not any(isinstance(a, gast.Starred) for a in node.args):
            func = node.func
            if isinstance(func, gast.Attribute) and func.attr in _STR_METHODS:
                owner = s(func.value)
                if isinstance(owner, str):
                    return getattr(owner, func.attr)(
                        *[s(a) for a in node.args], **{k.arg: s(k.value) for k in node.keywords})
                raise Unknown
            builtin = self._builtin(func)
            if builtin == "len" and len(node.args) == 1 and isinstance(node.args[0], gast.Name) \
                    and node.args[0].id in self.params and self._visible(node.args[0].id):
                value = self.params[node.args[0].id]
                if value.items is not None:
                    return len(value.items)
                raise Unknown
            if builtin is not None:
                value = getattr(builtins, builtin)(
                    *[s(a) for a in node.args], **{k.arg: s(k.value) for k in node.keywords})
                if isinstance(value, (range, zip, enumerate, type(reversed(())))):
                    value = list(value)
                    if len(value) > MAX_ITEMS:
                        raise Unknown
                return value
        raise Unknown

    def _visible(self, var: str) -> bool:
        return not any(var in s for s in self.shadowed)

    def rows(self, node) -> list:
        """The items `node` iterates over, as expressions (constants, or reads of atoms),
        or raise Unknown with the reason."""
        value = self.static(node)
        if value is not NOT_KNOWN:
            if not isinstance(value, (list, tuple, range, str)) or len(value) > MAX_ITEMS:
                raise Unknown("it runs over something not known before the code runs")
            return [_constant(v) for v in value]
        if isinstance(node, (gast.Tuple, gast.List)):
            if not all(_simple(e) for e in node.elts):
                raise Unknown("it runs over a display of computed items (bind them to names "
                              "first)")
            return list(node.elts)
        if isinstance(node, gast.Call) and not node.keywords:
            builtin = self._builtin(node.func)
            if builtin == "zip" and node.args:
                columns = [self.rows(a) for a in node.args]
                return [gast.Tuple(elts=list(row), ctx=gast.Load()) for row in zip(*columns)]
            if builtin == "enumerate" and len(node.args) in (1, 2):
                start = self.static(node.args[1]) if len(node.args) == 2 else 0
                if not isinstance(start, int):
                    raise Unknown("its enumerate start is not known")
                return [gast.Tuple(elts=[const(start + i), row], ctx=gast.Load())
                        for i, row in enumerate(self.rows(node.args[0]))]
        if isinstance(node, gast.Name) and self._visible(node.id):
            value = self.params.get(node.id)
            if value is not None and value.container == "dict" and value.keys is not None:
                return [const(k) for k in value.keys]
            if value is not None and value.container in ("list", "tuple") \
                    and value.items is not None:
                return [gast.Subscript(value=name(node.id), slice=const(i), ctx=gast.Load())
                        for i in range(len(value.items))]
            keys = self.dict_keys(node)
            if keys is not None:
                return [const(k) for k in keys]
            if value is not None and value.container == "list":
                raise Unknown(f"it runs over `{node.id}`, a list argument, whose length the "
                              "code is not specialised to (a tuple's is)")
            if node.id in self.frozen:
                return [gast.Subscript(value=name(node.id), slice=const(i), ctx=gast.Load())
                        for i in range(len(self.frozen[node.id].elts))]
        raise Unknown(f"it runs over {_describe(node)}, not known before the code runs")

    def dict_keys(self, node):
        """The keys of a dict argument or of a local dict display known here, or None."""
        value = self._argument_value(node)
        if value is not None:
            return list(value.keys) if value.container == "dict" and value.keys is not None \
                else None
        if not isinstance(node, gast.Name) or not self._visible(node.id):
            return None
        value = self.params.get(node.id)
        if value is not None and value.container == "dict" and value.keys is not None:
            return list(value.keys)
        display = self.frozen.get(node.id)
        if isinstance(display, gast.Dict):
            return [k.value for k in display.keys]
        return None

    def visit_Attribute(self, node):
        """`p.scale`, a property of a dataclass or NamedTuple argument that is
        differentiated: its getter, a plain function of the same module, becomes a local
        function (inlined where it is called, as any other) called with `p`; another
        getter is rejected, saying why."""
        self.generic_visit(node)
        owner = node.value
        if not (isinstance(owner, gast.Name) and isinstance(node.ctx, gast.Load)
                and self._visible(owner.id) and owner.id in self.params):
            return node
        value = self.params[owner.id]
        prop = getattr(value.cls, node.attr, None) if value.cls is not None else None
        if not isinstance(prop, property) \
                or self.param_index.get(owner.id) not in self.ctx.options.argnums:
            return node
        getter = self._getter(value.cls, node.attr, prop)
        if getter is None:
            raise self.ctx.error(
                UnsupportedSyntaxError, node,
                f"unsupported: {owner.id}.{node.attr} is a property of {value.cls.__name__} "
                f"whose getter ast-ad cannot read, and {owner.id} is differentiated",
                f"compute it from the fields in the method ({owner.id}.field), or "
                f"differentiate the bound method with {owner.id} a constant")
        return gast.copy_location(gast.Call(func=name(getter), args=[name(owner.id)],
                                            keywords=[]), node)

    def _getter(self, cls, attr: str, prop: property):
        """The name of a local function made from the property's getter, or None."""
        if (cls, attr) in self.getters:
            return self.getters[(cls, attr)][0]
        fn = prop.fget
        if not isinstance(fn, types.FunctionType) or fn.__globals__ is not self.ctx.src.globals \
                or fn.__closure__ or self.ctx.src.globals.get(cls.__name__) is not cls \
                or fn.__code__.co_argcount != 1 or fn.__defaults__ \
                or fn.__code__.co_flags & (inspect.CO_GENERATOR | inspect.CO_COROUTINE) \
                or set(fn.__code__.co_names) & set(self.stores):
            return None
        try:
            tree = parse(get_source(fn))
        except ADError:
            return None
        local = self.ctx.namer.fresh(f"{cls.__name__}_{attr}") if self.ctx.namer \
            else f"{cls.__name__}_{attr}"
        tree.name, tree.decorator_list = local, []
        # the code is right only while the class still has this property
        cache.depend("global", self.ctx.src.globals, cls.__name__, (attr,), prop, cls)
        self.getters[(cls, attr)] = (local, tree)
        return local

    def _argument_value(self, node):
        """The value of `params["enc"]["W"]` (constant keys and indices into a parameter the
        function does not rebind), or None."""
        if isinstance(node, gast.Name):
            return self.params.get(node.id) if self._visible(node.id) else None
        if isinstance(node, gast.Subscript) and isinstance(node.slice, gast.Constant):
            outer = self._argument_value(node.value)
            if outer is not None and (outer.keys is not None and outer.container == "dict"
                                      or outer.items is not None
                                      and outer.container in ("list", "tuple")):
                if outer.container == "dict" and node.slice.value not in outer.keys:
                    return None
                item = outer.item(node.slice.value)
                return item if item is not UNKNOWN else None
        if isinstance(node, gast.Attribute):  # a field of a dataclass or NamedTuple
            outer = self._argument_value(node.value)
            if outer is not None and outer.cls is not None and outer.keys is not None \
                    and node.attr in outer.keys and outer.items is not None:
                item = outer.items[outer.keys.index(node.attr)]
                return item if item is not UNKNOWN else None
        return None

    def visit_Call(self, node):
        self.generic_visit(node)
        func = node.func
        if self._builtin(func) == "sum" and len(node.args) == 1 and not node.keywords \
                and id(node.args[0]) in self.spelled:
            # sum(f(v) for k, v in params.items() if ...) spelled out: f(a) + f(b) + ...
            items = self.spelled[id(node.args[0])][1]
            total = items[0] if items else const(0)
            for item in items[1:]:
                total = gast.BinOp(left=total, op=gast.Add(), right=item)
            return gast.copy_location(total, node)
        if isinstance(func, gast.Attribute) and func.attr == "get" and not node.keywords \
                and len(node.args) in (1, 2) and isinstance(node.args[0], gast.Constant) \
                and not isinstance(func.value, (gast.Dict, gast.Call)) \
                and self.dict_keys(func.value) is not None:  # params.get("W", default)
            if node.args[0].value in self.dict_keys(func.value):
                return gast.copy_location(gast.Subscript(
                    value=func.value, slice=node.args[0], ctx=gast.Load()), node)
            return node.args[1] if len(node.args) == 2 else gast.copy_location(const(None), node)
        if isinstance(func, gast.Attribute) and func.attr in ("keys", "values", "items") \
                and not node.args and not node.keywords \
                and isinstance(func.value, (gast.Subscript, gast.Attribute)) \
                and self.dict_keys(func.value) is not None:  # params["enc"].items()
            keys = self.dict_keys(func.value)

            def part(k):
                return gast.Subscript(value=clone(func.value), slice=const(k), ctx=gast.Load())

            elts = [const(k) if func.attr == "keys" else part(k) if func.attr == "values"
                    else gast.Tuple(elts=[const(k), part(k)], ctx=gast.Load()) for k in keys]
            return gast.copy_location(gast.Tuple(elts=elts, ctx=gast.Load()), node)
        if isinstance(func, gast.Attribute) and func.attr in ("keys", "values", "items") \
                and not node.args and not node.keywords and isinstance(func.value, gast.Name) \
                and func.value.id in self.frozen:
            keys = self.dict_keys(func.value)
            if keys is None:
                return node

            def item(k):
                return gast.Subscript(value=name(func.value.id), slice=const(k),
                                      ctx=gast.Load())

            elts = [const(k) if func.attr == "keys" else item(k) if func.attr == "values"
                    else gast.Tuple(elts=[const(k), item(k)], ctx=gast.Load()) for k in keys]
            return gast.copy_location(gast.Tuple(elts=elts, ctx=gast.Load()), node)
        if isinstance(func, gast.Attribute) and func.attr in ("keys", "values", "items") \
                and not node.args and not node.keywords and isinstance(func.value, gast.Dict) \
                and _frozen_display(func.value):  # {k: f(v) for ...}.values(): its items
            display = func.value
            elts = [k if func.attr == "keys" else v if func.attr == "values"
                    else gast.Tuple(elts=[k, v], ctx=gast.Load())
                    for k, v in zip(display.keys, display.values)]
            return gast.copy_location(gast.Tuple(elts=elts, ctx=gast.Load()), node)
        if self._builtin(func) == "dict" and not node.args and node.keywords \
                and all(k.arg is not None for k in node.keywords):  # dict(a=x, b=y)
            return gast.copy_location(gast.Dict(
                keys=[const(k.arg) for k in node.keywords],
                values=[k.value for k in node.keywords]), node)
        if self._builtin(func) == "dict" and len(node.args) == 1 and not node.keywords \
                and isinstance(node.args[0], gast.Call) \
                and self._builtin(node.args[0].func) == "zip":  # dict(zip(keys, values))
            k, v = self.ctx.namer.fresh("k") if self.ctx.namer else "k", "v"
            comp = gast.DictComp(key=name(k), value=name(v), generators=[gast.comprehension(
                target=gast.Tuple(elts=[name(k, store=True), name(v, store=True)],
                                  ctx=gast.Store()),
                iter=node.args[0], ifs=[], is_async=0)])
            return self.visit_DictComp(gast.copy_location(comp, node))
        return node

    def visit_Dict(self, node):
        """`{**params, "b": 0.0}` with params's keys known: its items one by one."""
        self.generic_visit(node)
        if all(k is not None for k in node.keys):
            return node
        entries: dict = {}
        for k, v in zip(node.keys, node.values):
            if k is None:
                keys = self.dict_keys(v)
                if keys is None:
                    return node  # (fence rejects it)
                for key in keys:
                    entries[key] = gast.Subscript(value=clone(v), slice=const(key),
                                                  ctx=gast.Load())
            elif isinstance(k, gast.Constant):
                entries[k.value] = v
            else:
                return node
        return gast.copy_location(gast.Dict(keys=[const(k) for k in entries],
                                            values=list(entries.values())), node)

    # -- binding and substituting ---------------------------------------------------

    def bind(self, target, row) -> dict:
        if isinstance(target, gast.Name):
            return {target.id: row}
        if isinstance(target, (gast.Tuple, gast.List)):
            if isinstance(row, gast.Constant) and isinstance(row.value, tuple):
                row = _constant(row.value)
            known = self._argument_value(row) if isinstance(row, gast.Subscript) else None
            if known is not None and known.items is not None \
                    and known.container in ("tuple", "list") \
                    and len(known.items) == len(target.elts):  # layers[0] is (W, b)
                row = gast.Tuple(elts=[gast.Subscript(value=clone(row), slice=const(j),
                                                      ctx=gast.Load())
                                       for j in range(len(target.elts))], ctx=gast.Load())
            if isinstance(row, gast.Tuple) and len(row.elts) == len(target.elts):
                bound = {}
                for t, r in zip(target.elts, row.elts):
                    bound.update(self.bind(t, r))
                return bound
            raise Unknown("its items cannot be unpacked into the loop's names before the "
                          "code runs")
        raise Unknown("its loop target is not a name or a tuple of names")

    def keyed(self, loops: list, filters_of, check) -> list:
        """Every binding of the loops' targets (one dict per item), the filters decided
        (`filters_of(loop)`); `check(bound, loop)` may refuse a binding."""
        results = []

        def go(k, bound):
            if k == len(loops):
                results.append(bound)
                if len(results) > MAX_ITEMS:
                    raise Unknown(f"it has more than {MAX_ITEMS} items")
                return
            loop = loops[k]
            if getattr(loop, "is_async", 0):
                raise Unknown("it is async")
            for row in self.rows(_substituted(clone(loop.iter), bound)):
                inner = {**bound, **self.bind(loop.target, row)}
                check(inner, loop)
                keep = True
                for test in filters_of(loop):
                    decided = self.static(_substituted(clone(test), inner))
                    if decided is NOT_KNOWN:
                        raise Unknown("its `if` filter is not known before the code runs")
                    keep = keep and bool(decided)
                if keep:
                    go(k + 1, inner)

        go(0, {})
        return results

    # -- the rewrites -----------------------------------------------------------------

    def statements(self, stmts: list) -> list:
        out = []
        for stmt in stmts:
            done = self.visit(stmt)
            out += done if isinstance(done, list) else [done]
        return out

    def visit_FunctionDef(self, node):
        if node is self.func:
            return self.generic_visit(node)
        self.shadowed.append({n.id for n in walk(node) if isinstance(n, gast.Name)
                              and not isinstance(n.ctx, gast.Load)})
        node.body = self.statements(node.body)
        self.shadowed.pop()
        return node

    def visit_Lambda(self, node):
        self.shadowed.append({n.id for n in walk(node.args) if isinstance(n, gast.Name)})
        node.body = self.visit(node.body)
        self.shadowed.pop()
        return node

    def visit_DictComp(self, node):
        self.generic_visit(node)
        try:
            entries = self._dict_entries(node)
        except Unknown as why:
            reason = f": {why}" if why.args else ""
            raise self.ctx.error(
                UnsupportedSyntaxError, node,
                f"unsupported: a dict comprehension whose keys are not known at compile "
                f"time{reason}",
                "build it over range(n) with a constant n, a tuple of names, zip(...) of "
                "those, or a dict argument's .items()/.keys(); or use a list") from None
        keys, values = [], []
        for key, value in entries.items():
            keys.append(gast.copy_location(const(key), node))
            values.append(value)
        return gast.copy_location(gast.Dict(keys=keys, values=values), node)

    def _dict_entries(self, node) -> dict:
        names = _loop_names(node.generators)
        if _rebinds(node, names):
            raise Unknown("a comprehension or lambda inside it uses its loop names again")
        entries: dict = {}
        for bound in self.keyed(node.generators, lambda loop: loop.ifs, lambda b, loop: None):
            key = self.static(_substituted(clone(node.key), bound))
            if key is NOT_KNOWN or not isinstance(key, _KEY_TYPES):
                raise Unknown("a key is not a string or int known before the code runs")
            value = _substituted(clone(node.value), bound)
            entries[key] = value  # a key given again: its first place, its last value

        return entries

    def visit_ListComp(self, node):
        return self._spelled(node, gast.List)

    def visit_GeneratorExp(self, node):
        return self._spelled(node, gast.Tuple)

    def _spelled(self, node, display):
        """A list comprehension or generator whose filters or items read a key: a
        display of its items, else the node unchanged."""
        self.generic_visit(node)
        names = _loop_names(node.generators)
        try:
            if _rebinds(node, names):
                return node
            bindings = self.keyed(node.generators, lambda loop: loop.ifs, _no_check)
        except Unknown:
            return node
        if not bindings or not _reads_a_key(node, bindings):
            return node
        items = [_substituted(clone(node.elt), b) for b in bindings]
        if display is gast.List:
            return gast.copy_location(gast.List(elts=items, ctx=gast.Load()), node)
        # a generator stays one (max(gen), any(gen) take it), over the display of its items
        item = self.ctx.namer.fresh("item")
        spelled = gast.copy_location(gast.GeneratorExp(elt=name(item), generators=[
            gast.comprehension(target=name(item, store=True),
                               iter=gast.Tuple(elts=items, ctx=gast.Load()), ifs=[],
                               is_async=0)]), node)
        self.spelled[id(spelled)] = (spelled, items)
        return spelled

    def visit_For(self, node):
        node.iter = self.visit(node.iter)
        node.body = self.statements(node.body)
        node.orelse = self.statements(node.orelse)
        try:
            bindings = self.keyed([node], lambda loop: (), _no_check)
        except Unknown:
            return node
        if not bindings or not _reads_a_key(gast.Module(body=node.body, type_ignores=[]),
                                              bindings):
            return node
        rebound = {n.id for stmt in node.body for n in walk(stmt)
                   if isinstance(n, gast.Name) and not isinstance(n.ctx, gast.Load)}
        if any(rebound & _names_in(v) for b in bindings for v in b.values()):
            return node  # the body rebinds what an item reads (Python read it before)
        nested = any(isinstance(n, _SCOPES) and (_names_in(n) & set(bindings[0]))
                     for stmt in node.body for n in walk(stmt))
        after = _names_read_after(node, self.func)
        copies, stopped = [], False
        for bound in bindings:
            if nested or rebound & set(bound):
                # the body assigns a loop name: the names are assigned, then the body
                body = [gast.copy_location(gast.Assign(targets=[name(k, store=True)],
                                                       value=clone(v), type_comment=None),
                                           node) for k, v in bound.items()] + clone(node.body)
            else:
                body = [_substituted(clone(s), bound) for s in node.body]
            body = _decided(body, self.static)
            # a `continue` or `break` the decided ifs leave at the top ends this copy
            ends = next((i for i, s in enumerate(body)
                         if isinstance(s, (gast.Break, gast.Continue))), None)
            if ends is not None:
                stopped = isinstance(body[ends], gast.Break)
                body = body[:ends]
            if any(isinstance(n, (gast.Break, gast.Continue)) for n in _own_nodes(body)):
                return node  # one the code decides when it runs: the loop stays
            copies.append((bound, body))
            if stopped:
                break
        out = []
        for _, body in copies:
            out += self.statements(body)
        last = copies[-1][0] if copies else None
        if last is not None and not (nested or rebound & set(last)):  # after: its last item
            out += [gast.copy_location(gast.Assign(targets=[name(k, store=True)],
                                                   value=clone(v), type_comment=None), node)
                    for k, v in last.items() if k in after]
        if not stopped:
            out += node.orelse
        return out or [gast.copy_location(gast.Pass(), node)]


def _frozen_display(node) -> bool:
    """A tuple or list display, or a dict display with constant keys given once."""
    if isinstance(node, (gast.Tuple, gast.List)):
        return True
    return isinstance(node, gast.Dict) and all(
        isinstance(k, gast.Constant) and isinstance(k.value, _KEY_TYPES) for k in node.keys) \
        and len({k.value for k in node.keys}) == len(node.keys)


def _no_check(bound, loop) -> None:
    return None


def _reads_a_key(node, bindings) -> bool:
    """Whether a loop name bound to a string in every item is read in `node`."""
    keys = {k for k in bindings[0] if all(
        isinstance(b[k], gast.Constant) and isinstance(b[k].value, str) for b in bindings)}
    return any(isinstance(n, gast.Name) and n.id in keys and isinstance(n.ctx, gast.Load)
               for n in walk(node))


def _decided(stmts: list, static) -> list:
    """`if` statements whose test is known: their branch in their place."""
    out = []
    for stmt in stmts:
        if isinstance(stmt, gast.If):
            test = static(stmt.test)
            if test is not NOT_KNOWN:
                out += _decided(stmt.body if test else stmt.orelse, static)
                continue
            stmt.body = _decided(stmt.body, static) or [gast.copy_location(gast.Pass(), stmt)]
            stmt.orelse = _decided(stmt.orelse, static)
        out.append(stmt)
    return out


def _names_read_after(loop, func) -> set:
    """Names read anywhere in the function outside the loop's body (a loop name may be
    read after the loop: it keeps its last item)."""
    inside = {id(n) for stmt in loop.body for n in walk(stmt)}
    return {n.id for n in walk(func) if isinstance(n, gast.Name)
            and isinstance(n.ctx, gast.Load) and id(n) not in inside}


def _own_nodes(stmts: list):
    """The nodes of `stmts`, not those of loops or functions nested in them."""
    for stmt in stmts:
        stack = [stmt]
        while stack:
            n = stack.pop()
            yield n
            for child in gast.iter_child_nodes(n):
                if not isinstance(child, (gast.For, gast.While, gast.FunctionDef, gast.Lambda)):
                    stack.append(child)


def _loop_names(generators) -> set:
    return {n.id for g in generators for n in walk(g.target) if isinstance(n, gast.Name)}


def _rebinds(node, names: set) -> bool:
    """Whether a scope nested in the comprehension binds one of `names`."""
    return any(isinstance(n, _SCOPES) and n is not node and any(
        isinstance(m, gast.Name) and not isinstance(m.ctx, gast.Load) and m.id in names
        for m in walk(n)) for n in walk(node))


def _names_in(node) -> set:
    return {n.id for n in walk(node) if isinstance(n, gast.Name)}


def _simple(node) -> bool:
    """An atom or a read of one (`params['W']`, `p.w`, `(k, v)`): substituting it where
    the item is used computes nothing twice."""
    if isinstance(node, (gast.Constant, gast.Name)):
        return True
    if isinstance(node, gast.Attribute):
        return _simple(node.value)
    if isinstance(node, gast.Subscript):
        return _simple(node.value) and isinstance(node.slice, gast.Constant)
    if isinstance(node, gast.Tuple):
        return all(_simple(e) for e in node.elts)
    return False


def _constant(value):
    if isinstance(value, tuple):
        return gast.Tuple(elts=[_constant(v) for v in value], ctx=gast.Load())
    if isinstance(value, (str, int, float, bool, type(None))):
        return const(value)
    raise Unknown("it runs over values that are not constants")


def _describe(node) -> str:
    if isinstance(node, gast.Name):
        return f"`{node.id}`"
    if isinstance(node, gast.Call):
        return "a call's result"
    return "a computed value"


def _substituted(node, bound: dict):
    """`node` with each read of a bound loop name replaced by a copy of its item, and
    arithmetic on constants that makes folded (`x * (i + 1.0)` is `x * 2.0` for i = 1)."""
    return _folded(substitute(node, bound))


def _folded(node):
    for field, value in gast.iter_fields(node):
        if isinstance(value, gast.AST):
            setattr(node, field, _folded(value))
        elif isinstance(value, list):
            setattr(node, field, [_folded(v) if isinstance(v, gast.AST) else v for v in value])
    numbers = (int, float)
    if isinstance(node, gast.BinOp) and type(node.op) in _BINARY \
            and isinstance(node.left, gast.Constant) and isinstance(node.right, gast.Constant) \
            and type(node.left.value) in numbers and type(node.right.value) in numbers \
            and not (isinstance(node.op, (gast.Div, gast.FloorDiv, gast.Mod))
                     and node.right.value == 0):
        return gast.copy_location(const(_BINARY[type(node.op)](node.left.value,
                                                              node.right.value)), node)
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub) \
            and isinstance(node.operand, gast.Constant) \
            and type(node.operand.value) in numbers:
        return gast.copy_location(const(-node.operand.value), node)
    return node


_BINARY = {gast.Add: lambda a, b: a + b, gast.Sub: lambda a, b: a - b,
           gast.Mult: lambda a, b: a * b, gast.Mod: lambda a, b: a % b,
           gast.FloorDiv: lambda a, b: a // b, gast.Div: lambda a, b: a / b}
_UNARY = {gast.Not: lambda a: not a, gast.USub: lambda a: -a, gast.UAdd: lambda a: +a}
_COMPARE = {gast.Eq: lambda a, b: a == b, gast.NotEq: lambda a, b: a != b,
            gast.Lt: lambda a, b: a < b, gast.LtE: lambda a, b: a <= b,
            gast.Gt: lambda a, b: a > b, gast.GtE: lambda a, b: a >= b,
            gast.In: lambda a, b: a in b, gast.NotIn: lambda a, b: a not in b,
            gast.Is: lambda a, b: a is b, gast.IsNot: lambda a, b: a is not b}
