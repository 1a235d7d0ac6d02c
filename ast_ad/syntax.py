"""Small helpers for building and inspecting gast nodes."""

from __future__ import annotations

import os

import gast

from . import anno

# (nodes built as gast's constructors build them, without their keyword handling: the
# compiler builds tens of thousands of names per long function)
_Name, _Load, _Store, _Constant, _Assign, _BinOp, _Call, _Attribute = gast.Name, gast.Load, \
    gast.Store, gast.Constant, gast.Assign, gast.BinOp, gast.Call, gast.Attribute


def name(id_: str, store: bool = False) -> gast.Name:
    ctx = _Store if store else _Load
    node = _Name.__new__(_Name)
    node.__dict__ = {"id": id_, "ctx": ctx.__new__(ctx), "annotation": None, "type_comment": None}
    return node


def const(value) -> gast.Constant:
    node = _Constant.__new__(_Constant)
    node.__dict__ = {"value": value, "kind": None}
    return node


def assign(target: str | gast.AST, value: gast.AST, origin: gast.AST | None = None) -> gast.Assign:
    if isinstance(target, str):
        target = name(target, store=True)
    node = _Assign.__new__(_Assign)
    node.__dict__ = {"targets": [target], "value": value, "type_comment": None}
    if origin is not None:
        anno.setanno(node, "origin", anno.getanno(origin, "origin", origin))
    return node


def call(func: gast.AST | str, args=(), keywords=()) -> gast.Call:
    if isinstance(func, str):
        func = dotted(func)
    node = _Call.__new__(_Call)
    node.__dict__ = {"func": func, "args": list(args), "keywords": list(keywords)}
    return node


def attr(value: gast.AST, attr_: str) -> gast.Attribute:
    node = _Attribute.__new__(_Attribute)
    node.__dict__ = {"value": value, "attr": attr_, "ctx": _Load.__new__(_Load)}
    return node


def dotted(path: str) -> gast.AST:
    """`np.linalg.norm` as nested Attribute nodes."""
    parts = path.split(".")
    node = name(parts[0])
    for part in parts[1:]:
        node = attr(node, part)
    return node


def dotted_path(node: gast.AST) -> str | None:
    """The inverse of `dotted`: "np.linalg.norm", or None if `node` is not a dotted name."""
    parts = []
    while isinstance(node, gast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, gast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def root_name(node: gast.AST) -> str | None:
    while isinstance(node, gast.Attribute):
        node = node.value
    return node.id if isinstance(node, gast.Name) else None


def is_constant(node: gast.AST) -> bool:
    return isinstance(node, gast.Constant)


def target_name(stmt: gast.AST) -> str | None:
    """The single name an `x = ...` statement defines, else None."""
    if stmt.__class__ is _Assign:  # (the passes ask this of every statement, many times)
        targets = stmt.targets
        if len(targets) == 1 and targets[0].__class__ is _Name:
            return targets[0].id
    return None


def copy_location(new: gast.AST, old: gast.AST) -> gast.AST:
    """gast.copy_location(new, old), without its four checks per attribute where both
    nodes' classes have all four positions (expressions, statements)."""
    if old.__class__ not in _POSITIONED or new.__class__ not in _POSITIONED:
        return gast.copy_location(new, old)
    old_fields, new_fields = old.__dict__, new.__dict__
    for attr in _POSITIONS:
        if attr in old_fields:
            new_fields[attr] = old_fields[attr]
        elif hasattr(old, attr):  # (a default of the class: end_lineno)
            new_fields[attr] = getattr(old, attr)
    return new


_POSITIONS = ("lineno", "col_offset", "end_lineno", "end_col_offset")
_POSITIONED = frozenset(c for c in vars(gast).values() if isinstance(c, type)
                        and issubclass(c, gast.AST) and tuple(c._attributes) == _POSITIONS)


def clone(node):
    """A deep copy of a tree (much faster than copy.deepcopy); annotations are copied too."""
    if type(node) is list:
        return [clone(n) for n in node]
    if not isinstance(node, gast.AST):
        return node
    new = node.__class__.__new__(node.__class__)
    new.__dict__ = {
        key: clone(value) if isinstance(value, (gast.AST, list))
        else dict(value) if type(value) is dict else value
        for key, value in node.__dict__.items()
    }
    return new


def param_names(func: gast.FunctionDef) -> list[str]:
    """The function's parameters, in order (positional-only, positional, keyword-only)."""
    args = func.args
    return [a.id for a in args.posonlyargs + args.args + args.kwonlyargs]


def local_names(func: gast.FunctionDef) -> set[str]:
    """Names Python treats as local to `func`: parameters and assignment targets."""
    found = set(param_names(func))
    add = found.add
    for node in walk_lean(func):  # (gast's Name and Store have no subclasses)
        if node.__class__ is _Name and node.ctx.__class__ is _Store:
            add(node.id)
    return found


def load_names(node: gast.AST) -> list[str]:
    """Names read (Load context) anywhere inside `node`."""
    return [n.id for n in nodes_of(node, gast.Name) if type(n.ctx) is gast.Load]


def store_names(node: gast.AST) -> list[str]:
    """Names written (Store context) anywhere inside `node`."""
    return [n.id for n in nodes_of(node, gast.Name) if type(n.ctx) is gast.Store]


def load_and_store_names(node: gast.AST) -> tuple[list[str], list[str]]:
    """load_names(node), store_names(node), from one walk."""
    loads, stores = [], []
    for n in walk_lean(node):
        if type(n) is gast.Name:
            ctx = type(n.ctx)
            if ctx is gast.Load:
                loads.append(n.id)
            elif ctx is gast.Store:
                stores.append(n.id)
    return loads, stores


def substitute(node: gast.AST, bound: dict) -> gast.AST:
    """`node` with each name read that `bound` maps replaced by a copy of its expression
    (in place where it can; returns the root, which may be new)."""
    if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load) and node.id in bound:
        return gast.copy_location(clone(bound[node.id]), node)
    for field, value in gast.iter_fields(node):
        if isinstance(value, gast.AST):
            setattr(node, field, substitute(value, bound))
        elif isinstance(value, list):
            setattr(node, field, [substitute(v, bound) if isinstance(v, gast.AST) else v
                                  for v in value])
    return node


def rename(node: gast.AST, mapping: dict[str, str]) -> gast.AST:
    """Rename Name nodes in place (loads and stores) and return `node`."""
    for n in nodes_of(node, gast.Name):
        if isinstance(n, gast.Name) and n.id in mapping:
            n.id = mapping[n.id]
    return node


_COMPOUND = frozenset({gast.If, gast.For, gast.While})


def compound(stmt: gast.AST) -> bool:
    return stmt.__class__ in _COMPOUND


def blocks(stmt: gast.AST) -> list[list]:
    """The statement lists nested directly in a compound statement."""
    cls = stmt.__class__
    if cls is gast.If:
        return [stmt.body, stmt.orelse]
    if cls is gast.For or cls is gast.While:
        return [stmt.body]
    return []


def walk_statements(stmts: list):
    """Every statement in `stmts`, nested ones included, in program order."""
    for stmt in stmts:
        yield stmt
        if stmt.__class__ in _COMPOUND:
            for block in blocks(stmt):
                yield from walk_statements(block)


def item_write(stmt: gast.AST):
    """(array name, index, value) for `y[index] = value`, else None."""
    if stmt.__class__ is _Assign and len(stmt.targets) == 1:
        target = stmt.targets[0]
        if target.__class__ is gast.Subscript and isinstance(target.value, gast.Name):
            return target.value.id, target.slice, stmt.value
    return None


def list_append(stmt: gast.AST):
    """(list name, value) for `ys.append(value)`, else None."""
    if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call):
        func = stmt.value.func
        if isinstance(func, gast.Attribute) and func.attr == "append" \
                and isinstance(func.value, gast.Name) and len(stmt.value.args) == 1 \
                and not stmt.value.keywords:
            return func.value.id, stmt.value.args[0]
    return None


def assigned_names(stmt: gast.AST) -> list[str]:
    """Names an assignment binds: `x = ...` or `x, saved = ...`."""
    if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1:
        target = stmt.targets[0]
        if isinstance(target, gast.Name):
            return [target.id]
        if isinstance(target, gast.Tuple) and all(isinstance(e, gast.Name) for e in target.elts):
            return [e.id for e in target.elts]
    return []


def name_nodes(node: gast.AST) -> list:
    """Every Name node inside `node` (a faster gast.walk when only names matter)."""
    return nodes_of(node, gast.Name)


def mentions(node: gast.AST, var: str) -> bool:
    """Whether the name `var` occurs (read or written) anywhere inside `node`."""
    return any(n.id == var for n in name_nodes(node))


def loads_of(node: gast.AST) -> set[str]:
    return {n.id for n in nodes_of(node, gast.Name) if type(n.ctx) is gast.Load}


def walk(node: gast.AST) -> list:
    """Every node inside `node`, itself first, in gast.walk's order (breadth first), as a
    list: about twice as fast as gast.walk. The tree is read once, before the caller
    changes anything."""
    found = [node]
    append, extend = found.append, found.extend
    children = _CHILD_FIELDS
    name_class, binop_class, constant_class = _Name, _BinOp, _Constant
    assign_class, call_class = _Assign, _Call
    for current in found:  # (the list grows while it is read: breadth first)
        cls = current.__class__
        # (the commonest classes first, their fields read directly: a Name's are a
        # context node and an annotation or None, a BinOp's three nodes; a Constant
        # holds no node)
        if cls is name_class:
            fields = current.__dict__
            value = fields.get("ctx")
            if value is not None:
                append(value)
            value = fields.get("annotation")
            if value is not None:
                append(value)
            continue
        if cls is constant_class:
            continue
        if cls is binop_class:
            append(current.left)
            append(current.op)
            append(current.right)
            continue
        if cls is assign_class:  # (targets and arguments are lists of nodes only)
            extend(current.targets)
            append(current.value)
            continue
        if cls is call_class:
            append(current.func)
            extend(current.args)
            extend(current.keywords)
            continue
        fields = children.get(cls)
        if fields is None:
            fields = _child_fields(cls)
        for field in fields:
            value = getattr(current, field, None)
            if value.__class__ is list:
                for item in value:
                    if isinstance(item, gast.AST):
                        append(item)
            elif isinstance(value, gast.AST):
                append(value)
    return found


def written_into(stmt) -> set[str]:
    """Names whose array (or list) the statement writes into: `w[i] = v`, `w[i] += v`."""
    found = set()
    for node in walk_lean(stmt):
        if isinstance(node, (gast.Subscript, gast.Attribute)) and isinstance(node.ctx, gast.Store):
            base = node.value
            while isinstance(base, (gast.Subscript, gast.Attribute)):
                base = base.value
            if isinstance(base, gast.Name):
                found.add(base.id)
    return found


def writes_into_any(stmts: list) -> bool:
    """Whether any of the statements writes into an array or list (a written_into that is
    not empty). A statement `x = e` with e flat (below) writes into nothing: the others
    (and the headers of compound statements) are walked."""
    for stmt in walk_statements(stmts):
        cls = stmt.__class__
        if cls is _Assign:
            targets = stmt.targets
            if len(targets) == 1 and targets[0].__class__ is _Name and flat(stmt.value):
                continue
            parts = (stmt,)
        elif cls is gast.For:  # (walk_statements yields the body's statements after it)
            parts = (stmt.target, stmt.iter) if not stmt.orelse else (stmt,)
        elif cls is gast.While:
            parts = (stmt.test,) if not stmt.orelse else (stmt,)
        elif cls is gast.If:
            parts = (stmt.test,)
        else:
            parts = (stmt,)
        if any(_writes_into(walk_lean(part)) for part in parts):
            return True
    return False


# (a name or a constant: an atom, in the forms the anf pass leaves)
_ATOMS = frozenset({_Name, _Constant})


def flat(value: gast.AST) -> bool:
    """Whether an expression is one operation on atoms (names, constants), of the forms
    the anf pass leaves: `a op b`, `-a`, `a < b`, `f(a, k=b)` with f a dotted name,
    `a[i, 1:n]`, `a.attr`, `(a, b)`, `[a, b]`, or an atom. Such an expression holds no
    other call and writes into nothing (every part is read)."""
    cls = value.__class__
    if cls in _ATOMS:
        return True
    if cls is _BinOp:
        return value.left.__class__ in _ATOMS and value.right.__class__ in _ATOMS
    if cls is _Call:
        func = value.func
        while func.__class__ is _Attribute and func.ctx.__class__ is _Load:
            func = func.value  # np.linalg.norm: a dotted name
        return func.__class__ is _Name and all(a.__class__ in _ATOMS for a in value.args) \
            and all(k.value.__class__ in _ATOMS for k in value.keywords)
    if cls is gast.UnaryOp:
        return value.operand.__class__ in _ATOMS
    if cls is gast.Subscript:
        return value.ctx.__class__ is _Load and value.value.__class__ in _ATOMS \
            and _flat_index(value.slice)
    if cls is _Attribute:
        return value.ctx.__class__ is _Load and value.value.__class__ in _ATOMS
    if cls is gast.Compare:
        return value.left.__class__ in _ATOMS \
            and all(c.__class__ in _ATOMS for c in value.comparators)
    if cls is gast.Tuple or cls is gast.List:
        return value.ctx.__class__ is _Load and all(e.__class__ in _ATOMS for e in value.elts)
    return False


def _flat_index(index: gast.AST) -> bool:
    """Whether an index is atoms, slices of atoms, or a tuple of those."""
    for part in index.elts if index.__class__ is gast.Tuple else (index,):
        if part.__class__ is gast.Slice:
            if any(b is not None and b.__class__ not in _ATOMS
                   for b in (part.lower, part.upper, part.step)):
                return False
        elif part.__class__ not in _ATOMS:
            return False
    return True


def _writes_into(nodes: list) -> bool:
    """Whether any of the nodes is a target writing into an array or list (`w[i]`, `w.a`)."""
    for node in nodes:
        cls = node.__class__
        if (cls is gast.Subscript or cls is gast.Attribute) and \
                isinstance(node.ctx, gast.Store):
            base = node.value
            while isinstance(base, (gast.Subscript, gast.Attribute)):
                base = base.value
            if isinstance(base, gast.Name):
                return True
    return False


def walk_lean(node: gast.AST) -> list:
    """walk(node) without the expression contexts and operators (Load, Store, Add, Eq...),
    in the same order: about a third fewer nodes, none of which holds anything."""
    found = [node]
    append, extend = found.append, found.extend
    children = _LEAN_FIELDS
    name_class, binop_class, constant_class = _Name, _BinOp, _Constant
    assign_class, call_class, attribute_class = _Assign, _Call, _Attribute
    for current in found:
        cls = current.__class__
        if cls is name_class:
            value = current.__dict__.get("annotation")
            if value is not None:
                append(value)
            continue
        if cls is constant_class:
            continue
        if cls is binop_class:
            append(current.left)
            append(current.right)
            continue
        if cls is assign_class:  # (targets and arguments are lists of nodes only)
            extend(current.targets)
            append(current.value)
            continue
        if cls is call_class:
            append(current.func)
            extend(current.args)
            extend(current.keywords)
            continue
        if cls is attribute_class:
            append(current.value)
            continue
        fields = children.get(cls)
        if fields is None:
            fields = _lean_fields(cls)
        for field in fields:
            value = getattr(current, field, None)
            if value.__class__ is list:
                for item in value:
                    if isinstance(item, gast.AST):
                        append(item)
            elif isinstance(value, gast.AST):
                append(value)
    return found


def nodes_of(node: gast.AST, types) -> list:
    """Every node of the given types inside `node`, in gast.walk's order (a faster
    gast.walk with a filter)."""
    lean = _LEAN_TYPES.get(types)
    if lean is None:
        lean = _LEAN_TYPES[types] = not any(
            issubclass(leaf, types) or issubclass(t, leaf)
            for leaf in _LEAVES for t in (types if type(types) is tuple else (types,)))
    return [n for n in (walk_lean(node) if lean else walk(node)) if isinstance(n, types)]


# Fields that never hold a node (identifiers, strings, flags): not looked into.
_LEAF_FIELDS = frozenset({"id", "attr", "type_comment", "kind", "arg", "conversion", "level",
                          "module", "is_async"})
_CHILD_FIELDS: dict = {}
CHILD_FIELDS = _CHILD_FIELDS  # class -> child_fields(class), for the classes seen so far


def child_fields(cls) -> tuple:
    """The fields of a node class that may hold nodes (what walk looks into)."""
    fields = _CHILD_FIELDS.get(cls)
    return fields if fields is not None else _child_fields(cls)


def _child_fields(cls) -> tuple:
    fields = tuple(f for f in cls._fields if f not in _LEAF_FIELDS)
    _CHILD_FIELDS[cls] = fields
    return fields


# The classes of the nodes walk_lean leaves out, and the fields that hold them.
_LEAVES = (gast.expr_context, gast.operator, gast.unaryop, gast.cmpop, gast.boolop)
LEAF_CLASSES = _LEAVES
_LEAN_FIELDS: dict = {}
_LEAN_TYPES: dict = {}  # the types nodes_of was asked for -> whether walk_lean will do


def _lean_fields(cls) -> tuple:
    fields = tuple(f for f in child_fields(cls) if f not in ("ctx", "op", "ops"))
    _LEAN_FIELDS[cls] = fields
    return fields


# A pass that returns at once when a cheap test shows it has nothing to do on a function
# (aliases, save, inplace, factor) runs in full too when this is set, and must then neither reject
# nor change the function: tests/test_pass_gates.py sets it, as can a whole test run
# (AST_AD_CHECK_GATES=1 in the environment).
CHECK_GATES = bool(os.environ.get("AST_AD_CHECK_GATES"))


def gate_agrees(run, tree: gast.AST, stage: str) -> None:
    """With CHECK_GATES: `run()` (the whole pass, on `tree`, which the pass's gate said it
    leaves alone) must not raise, and must leave `tree` as it was."""
    if not CHECK_GATES:
        return
    before = gast.dump(tree)
    try:
        run()
    except Exception as exc:
        raise AssertionError(f"the {stage} pass's gate let through what it rejects") from exc
    assert gast.dump(tree) == before, f"the {stage} pass's gate skipped a change"
