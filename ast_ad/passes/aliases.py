"""Reject writes and updates that would change an array through another name unseen.

A write into a view (`row = y[0]; row[1] = v`, reshape, flip...) changes the
array it views, which the derivative passes do not track: rejected.

And ast-ad compiles `y += e` as `y = y + e` (a new array), as JAX does. NumPy
instead writes into y's array, and every name for that array sees the change:
after `w = y; y += e`, w has changed too. The two agree unless such another
name (a copy, a view, a list holding the array) is read after the update; this
pass finds that case and rejects it, rather than compute something else than
the user's code does.

Likewise for writes: after `r = z[0]` (a view), `z[0] = v` changes r too, which
the derivative passes do not follow; reading r afterwards is rejected (a copy
`w = z` is merged into z by the ssa pass, so it does see the write).

And what the derivative code cannot follow at all: changing a global in place,
or calling a function that changes its arguments (or a global) in place
(`push(s, v)` doing `s.append(v)`): rejected at the call, naming the line.
"""

from __future__ import annotations

import types

import gast

from .. import anno, callees, records
from ..context import Context
from ..errors import UnsupportedSyntaxError
from ..rules import registry
from ..source import describe
from ..syntax import (
    compound,
    flat,
    gate_agrees,
    item_write,
    list_append,
    load_names,
    param_names,
    target_name,
    walk,
    walk_lean,
    walk_statements,
)
from ..values import ARRAY, SCALAR
from .anf import local_names
from .facts import VIEWS
from .resolve import call_parts, written_arguments
from .values import callee_result


def check_aliases(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    if not _may_change_in_place(func, ctx):
        gate_agrees(lambda: _check_all(func, ctx), func, "aliases")
        return func
    return _check_all(func, ctx)


def _check_all(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    _check_writes(func, ctx)
    # each simple statement's (loads, stores, calls), from one walk, for the readers below
    names = _names_and_calls(func)
    calls = _check_changes(func, ctx, names)
    groups = _groups(func, ctx)
    writes = calls or any(item_write(s) is not None for s in walk_statements(func.body))
    if writes:  # (without a write into an array, or a call changing one, nothing is stale)
        _StaleReads(func, ctx, groups, calls, names).block(func.body, {})
    order = None  # (made when first needed)
    if calls:
        order = _reads_in_order(func.body, names)
        _check_read_before(calls, groups, order, ctx)
    for stmt in walk_statements(func.body):
        old = _augmented_operand(stmt)
        if old is None or _number(old, ctx):
            continue
        if order is None:
            order = _reads_in_order(func.body, names)
        family = ctx.src_name(old)
        others = {n for n in groups.seers(old) if ctx.src_name(n) != family}
        read = others & _read_after(stmt, order)
        if read:
            users = sorted({ctx.src_name(n) for n in read if n not in ctx.namer.invented})
            who = " and ".join(f"`{n}`" for n in users) or "a list or view holding it"
            raise ctx.error(
                UnsupportedSyntaxError, stmt,
                f"unsupported: `{family} {_symbol(stmt)}= ...` on an array {who} also "
                f"refer{'s' if len(users) <= 1 else ''} to, read afterwards: NumPy would change "
                f"{who} too, but ast-ad makes `{family}` a new array",
                f"write `{family} = {family} {_symbol(stmt)} ...` for a new array (what ast-ad "
                f"computes), or copy first: `{family} = np.copy(...)`")
    return func


def _may_change_in_place(func: gast.FunctionDef, ctx: Context) -> bool:
    """False when no statement can change an object in place, told from each statement's
    shape without a walk; then check_aliases has nothing to reject, and returns at once.

    Every check there starts from what _changed yields: _check_writes from item writes,
    _check_changes and _check_read_before from its calls, _StaleReads only runs with an
    item write or such a call, and the last loop only looks at augmented assignments
    (`y += e`) _changed yields. _changed yields nothing when no simple statement is an item
    write or an augmented assignment of what may not be a number, and each call (all of
    them are found here: see _flat_calls) has as its callee a function: not a method
    (`ys.append`, `y.sort()`, an unknown method), not a bound method of a list, dict, set or
    array (_method_of_value), not a user function (_callee_changes; kept from the gate also
    because _groups asks what one shares), and it writes into no argument (`out=`,
    ufunc.at, np.copyto: written_arguments). The pass sets no annotation: returning early
    changes nothing later passes read."""
    for stmt in walk_statements(func.body):
        if compound(stmt):
            continue  # (_changed does not look into an If test or a For header)
        if stmt.__class__ not in _PLAIN_STATEMENTS or item_write(stmt) is not None:
            return True
        old = _augmented_operand(stmt)
        if old is not None and not _number(old, ctx):
            return True
        calls = _flat_calls(stmt)
        if calls is None:
            return True  # a form not told apart here: the whole pass looks
        for call in calls:
            callee = anno.getanno(call, "callee")
            if isinstance(callee, (tuple, types.FunctionType)) \
                    or _method_of_value(call) is not None or written_arguments(call):
                return True
    return False


# Statements _may_change_in_place tells from their shape (Assign: see _flat_calls).
_PLAIN_STATEMENTS = frozenset({gast.Assign, gast.Expr, gast.Return})


def _flat_calls(stmt: gast.AST) -> list | None:
    """Every call in a simple statement whose parts are atoms (syntax.flat: the forms ANF
    leaves), told without a walk: none, or the statement's value; None for any other form
    (a target that is not a name, a nested call...)."""
    if stmt.__class__ is gast.Assign and (
            len(stmt.targets) != 1 or stmt.targets[0].__class__ is not gast.Name):
        return None
    value = stmt.value
    if value is None:
        return []  # (a bare `return`)
    if not flat(value):
        return None
    return [value] if value.__class__ is gast.Call else []


def _groups(func: gast.FunctionDef, ctx: Context) -> "Groups":
    groups = Groups()
    for stmt in walk_statements(func.body):
        for a, b, held in _shared(stmt, ctx):
            if not (_number(a, ctx) or _number(b, ctx)):  # a number is nobody's array
                groups.holds(a, b) if held else groups.join(a, b)
    return groups


def shares_with_parameters(func: gast.FunctionDef, ctx: Context, var: str) -> tuple:
    """The positions of the parameters `var` may share memory with (a view of one, or
    one itself)."""
    if _number(var, ctx):
        return ()
    seers = _groups(func, ctx).seers(var)
    return tuple(i for i, p in enumerate(param_names(func)) if p in seers)


def changes(func: gast.FunctionDef, ctx: Context) -> list:
    """What `func` changes in place that its caller sees: [(parameter index, or the name
    of a global or closure variable), line, source text)], through its own statements or
    the functions it calls."""
    groups = _groups(func, ctx)
    params = param_names(func)
    fresh = _fresh_containers(func, groups)
    owner = {}  # name -> the parameter whose object it may be (or be a view of)
    for i, p in enumerate(params):
        if not _number(p, ctx):
            within = groups.within(p)
            for n in groups.seers(p):
                # a list made here that holds p (`ys = [p]`) is a new object: appending
                # to it changes nothing the caller has
                if n in within or n not in fresh:
                    owner.setdefault(n, i)
    local = local_names(func)
    found = []
    for stmt, var, _ in _changed(func, ctx):
        what = owner.get(var, var if var not in local else None)
        if what is not None:
            line = ctx.location(stmt).lineno
            found.append((what, line, ctx.src_line(line)))
    return found


def _fresh_containers(func: gast.FunctionDef, groups: "Groups") -> set[str]:
    """Names whose group holds only lists, tuples and dicts made in `func` by a display
    (`ys = [y0]`, `t = (W, b)`) or copies of them: each such name is a new object, not
    an argument, a global or an item read out of something (`r = ys[0]`, which joins ys's
    group and may be the argument it holds)."""
    made = {}  # name -> whether each assignment to it makes a container (or copies a name)
    for stmt in walk_statements(func.body):
        single = isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 \
            and isinstance(stmt.targets[0], gast.Name)
        # (a compound statement's body is walked statement by statement: only its header)
        part = stmt.target if isinstance(stmt, gast.For) else stmt.test if compound(stmt) \
            else stmt
        for node in walk(part):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
                new = single and node is stmt.targets[0] \
                    and isinstance(stmt.value, (gast.List, gast.Tuple, gast.Dict, gast.Name))
                made[node.id] = made.get(node.id, True) and new
    for p in param_names(func):
        made[p] = False
    return {n for n in made if made[n] and all(made.get(m, False) for m in groups.members(n))}


def _names_and_calls(func: gast.FunctionDef) -> dict:
    """{id(simple statement): (names it loads, names it stores, its calls)}, from one walk
    of each."""
    index = {}
    for stmt in walk_statements(func.body):
        if compound(stmt):
            continue
        loads, stores, calls = [], [], []
        for n in walk_lean(stmt):
            cls = n.__class__
            if cls is gast.Name:
                kind = n.ctx.__class__
                if kind is gast.Load:
                    loads.append(n.id)
                elif kind is gast.Store:
                    stores.append(n.id)
            elif cls is gast.Call:
                calls.append(n)
        index[id(stmt)] = (loads, stores, calls)
    return index


def _local_names(func: gast.FunctionDef, index: dict) -> set:
    """local_names(func), from the simple statements' names in `index` and the headers
    of the compound ones."""
    found = set(param_names(func))
    for stmt in walk_statements(func.body):
        if compound(stmt):
            parts = (stmt.target, stmt.iter) if isinstance(stmt, gast.For) else (stmt.test,)
            for part in parts:
                found.update(n.id for n in walk(part) if isinstance(n, gast.Name)
                             and isinstance(n.ctx, gast.Store))
        else:
            found.update(index[id(stmt)][1])
    return found


def _changed(func: gast.FunctionDef, ctx: Context, index: dict | None = None):
    """(statement, name, how) for each object a statement changes in place: `y[i] = v`,
    `ys.append(v)`, `y += e` (NumPy and lists change y's object), `np.add.at(y, ...)`,
    `out=y`, or a call of a function that changes its argument y (`index`: see
    _names_and_calls)."""
    for stmt in walk_statements(func.body):
        written = item_write(stmt)
        if written is not None:
            yield stmt, written[0], None
        old = _augmented_operand(stmt)
        if old is not None and not _number(old, ctx):
            yield stmt, old, None
        if compound(stmt):
            continue
        for node in index[id(stmt)][2] if index is not None else walk(stmt):
            if not isinstance(node, gast.Call):
                continue
            method = _method_of_value(node)
            if method is not None and (method[1] == "append"
                                       or method[1] in registry.INPLACE_METHODS):
                yield stmt, method[0], None
            for array, _ in written_arguments(node):
                for atom in (array.elts if isinstance(array, gast.Tuple) else [array]):
                    if isinstance(atom, gast.Name):
                        yield stmt, atom.id, None
            for atom, change in _callee_changes(node, ctx):
                yield stmt, atom, change


def _method_of_value(node: gast.Call):
    """(name, method) for `ys.append(v)`, `y.sort()`: a method of a local value, or of a
    global list, dict, set or array (which resolve turns into a bound method)."""
    import numpy as np

    func = node.func
    if not (isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name)):
        return None
    callee = anno.getanno(node, "callee")
    if callee == ("method", func.attr) or isinstance(getattr(callee, "__self__", None),
                                                      (np.ndarray, list, dict, set)):
        return func.value.id, func.attr
    return None


def _callee_changes(node: gast.Call, ctx: Context):
    """(name in the caller, change) for what a called user function changes in place."""
    callee, args, keywords = call_parts(node)
    if not isinstance(callee, types.FunctionType) or registry.lookup(callee) is not None \
            or registry.is_nondifferentiable(callee) or hasattr(callee, "__ast_ad_source__") \
            or callee.__module__ == "ast_ad.runtime":
        return  # generated code pops what it saved, and add_at is modelled (forward mode)
    bound = callees.bind(callee, args, keywords)
    if bound is None:
        return
    for change in callee_result(ctx, node).changes:
        what = change[0]
        if isinstance(what, str):
            yield what, change  # a global: the caller's global too
        elif isinstance(bound[what][1], gast.Name):
            yield bound[what][1].id, change


def _check_changes(func: gast.FunctionDef, ctx: Context, index: dict) -> dict:
    """Reject changing a global in place, or calling a function that changes a global in
    place: the derivative code would not follow the change. Return the calls that change
    their arguments in place ({id(statement): [(argument, change)]}): reading such an
    argument afterwards is rejected too (see _StaleReads)."""
    local = _local_names(func, index)
    calls: dict = {}
    for stmt, var, change in _changed(func, ctx, index):
        if change is not None and var in local:
            if not _number(var, ctx):
                calls.setdefault(id(stmt), []).append((var, change))
        elif change is not None:
            if len(change) > 3 and _immutable(_global_object(var, ctx)):
                continue  # (an assumed change, of a function or a string: none)
            raise ctx.error(
                UnsupportedSyntaxError, stmt,
                f"unsupported: {_changes(_callee_name(stmt), f'the global `{var}`', change)}"
                ": ast-ad treats globals as constants",
                f"copy the global into a local first (`g = {var}.copy()`), pass it to the "
                "function and return the changed copy")
        elif var not in local:
            raise ctx.error(
                UnsupportedSyntaxError, stmt,
                f"unsupported: changing `{var}` in place, a global (or closure) variable: "
                "ast-ad treats globals as constants",
                f"copy it into a local first (`g = {var}.copy()`), and change and use the "
                "copy")
    return calls


def _check_read_before(calls: dict, groups: "Groups", order: list, ctx: Context) -> None:
    """A value read before a call changes it in place: the backward pass may read it
    again (for the derivative of that earlier read), and find it changed."""
    for position, (stmt, _, _) in enumerate(order):
        for var, change in calls.get(id(stmt), ()):
            names = {n for n in groups.seers(var) | {var} if not _number(n, ctx)}
            for earlier, loaded, _ in order[:position]:
                read = names & loaded
                copy = isinstance(getattr(earlier, "value", None), gast.Name)
                if read and not copy and not compound(earlier):
                    shown = sorted(ctx.src_name(n) for n in read)[0]
                    raise ctx.error(
                        UnsupportedSyntaxError, stmt,
                        "unsupported: " + _changes(_callee_name(stmt),
                                                   f"its argument `{ctx.src_name(var)}`", change)
                        + ", "
                        f"and `{shown}` was read before (line {ctx.location(earlier).lineno}),"
                        " where its derivative needs the old value: ast-ad does not follow "
                        "changes a called function makes to its arguments",
                        "return the new value from the function instead (e.g. "
                        "`return s + [v]`), or pass it a copy (`f(np.copy(z), ...)`)")


def _global_object(var: str, ctx: Context):
    """The object a global or closure name of the function holds (None if not found)."""
    cell = ctx.src.closure.get(var)
    if cell is not None:
        try:
            return cell.cell_contents
        except ValueError:  # an empty cell
            return None
    return ctx.src.globals.get(var)


def _immutable(obj) -> bool:
    """Whether nothing can change `obj` in place: a function, class, module, number or
    string (the arguments a function ast-ad cannot read is assumed to change)."""
    import numbers

    import numpy as np

    return isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, types.ModuleType,
                            type, str, bytes, numbers.Number, np.ufunc))


def _changes(callee: str, what: str, change: tuple) -> str:
    """`f changes its argument `s` in place (line 5: `s.append(v)`)`; for a change only
    assumed (callees.Result.changes: a function ast-ad cannot read), why it is assumed."""
    if len(change) > 3:
        return f"{callee} may change {what} in place: {change[3]}"
    return f"{callee} changes {what} in place (line {change[1]}: `{change[2]}`)"


def _callee_name(stmt: gast.AST) -> str:
    return describe(call_parts(next(n for n in walk(stmt) if isinstance(n, gast.Call)))[0])


def _check_writes(func: gast.FunctionDef, ctx: Context) -> None:
    """`y[i] = v` where y may be a view of another array."""
    writes = [(stmt, written) for stmt in walk_statements(func.body)
              if (written := item_write(stmt)) is not None]
    if not writes:
        return
    values = {name: s.value for s in walk_statements(func.body)
              if (name := target_name(s)) is not None}
    for stmt, written in writes:
        array = written[0]
        value, seen = values.get(array), {array}
        while isinstance(value, gast.Name) and value.id not in seen:  # `a, b = ...` copies
            seen.add(value.id)
            value = values.get(value.id)
        if isinstance(value, (gast.Subscript, gast.Attribute)) or _view_call(value):
            raise ctx.error(
                UnsupportedSyntaxError, stmt,
                f"unsupported: writing into {ctx.src_name(array)}, which may be a view of "
                "another array", "write into the original array, e.g. y[0, 1] = v instead of "
                "row = y[0]; row[1] = v")


def _number(var: str, ctx: Context) -> bool:
    """Whether `var` is certainly a number (a scalar, or an array element of shape ())."""
    return ctx.kinds.get(var) == SCALAR or ctx.shapes.get(var) == ()


def _augmented_operand(stmt: gast.AST) -> str | None:
    """For the assignment ANF made of `y op= e`, the name of y's old value."""
    if not anno.getanno(stmt, "augmented"):
        return None
    value = stmt.value
    if isinstance(value, gast.BinOp) and isinstance(value.left, gast.Name):
        return value.left.id
    return None


def _symbol(stmt: gast.Assign) -> str:
    return {gast.Add: "+", gast.Sub: "-", gast.Mult: "*", gast.Div: "/", gast.Pow: "**",
            gast.MatMult: "@", gast.FloorDiv: "//", gast.Mod: "%"}.get(type(stmt.value.op), "op")


def _shared(stmt: gast.AST, ctx: Context):
    """(a, b, held): this statement makes a and b refer to one array, or (held) makes
    the list or tuple a hold b's array."""
    appended = list_append(stmt)
    if appended is not None:
        items, value = appended
        if isinstance(value, gast.Name):
            yield items, value.id, True
        return
    if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], gast.Name)):
        return
    target, value = stmt.targets[0].id, stmt.value
    if ctx.kinds.get(target) == SCALAR:
        return  # a number (y[0] of a 1-D array is a NumPy scalar): it shares no memory
    if value.__class__ in _NEW_VALUES:
        return  # (arithmetic, a comparison, a constant: a new value)
    if isinstance(value, gast.Name):  # a copy, or a phi
        yield target, value.id, False
    elif isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name):
        if not _advanced(value.slice, ctx):  # y[idx] with an array of indices is a copy
            yield target, value.value.id, False  # y[0]: a view, or an item of a list
    elif isinstance(value, gast.Attribute) and isinstance(value.value, gast.Name):
        if value.attr not in _NOT_VIEWS:
            yield target, value.value.id, False  # y.T: a view
    elif (shown := records.display_items(value)) is not None:  # (a record call too)
        for elt in shown:
            if isinstance(elt, gast.Name):
                yield target, elt.id, True
    elif _view_call(value):
        callee, args, _ = call_parts(value)
        # np.einsum(subscripts, x) may be a view of any operand (after the subscripts)
        for viewed in args if getattr(callee, "__name__", None) == "einsum" else args[:1]:
            if isinstance(viewed, gast.Name):
                yield target, viewed.id, False
    elif isinstance(value, gast.Call):
        callee, args, keywords = call_parts(value)
        if isinstance(callee, types.FunctionType) and registry.lookup(callee) is None \
                and not registry.is_nondifferentiable(callee):
            bound = callees.bind(callee, args, keywords)
            shares = None if bound is None else callee_result(ctx, value).shares
            for i, (_, arg) in enumerate(bound or []):  # `r = first(z)`: z[0]
                if isinstance(arg, gast.Name) and (shares is None or i in shares):
                    yield target, arg.id, False


# The key of _StaleReads' state holding the names whose array nothing else refers to.
_OWN = "<own>"


def _merge(*states: dict) -> dict:
    """Where control flow joins: stale on some path is stale; owned only if on every path."""
    merged: dict = {}
    for state in states:
        merged.update(state)
    owns = [s.get(_OWN, {}) for s in states]
    merged[_OWN] = {array: frozenset().union(*(o[array] for o in owns))
                    for array in owns[0] if all(array in o for o in owns)}
    return merged


def _allocates(value: gast.AST) -> bool:
    """Whether `value` is a call that returns a new array (np.zeros, np.zeros_like...)."""
    import numpy as np

    if not isinstance(value, gast.Call):
        return False
    callee, _, keywords = call_parts(value)
    return any(callee is f for f in (np.zeros, np.ones, np.empty, np.full, np.zeros_like,
                                     np.ones_like, np.empty_like, np.full_like, np.copy)) \
        and "out" not in keywords


# Attributes of an array that are not arrays sharing its memory.
_NOT_VIEWS = frozenset({"shape", "ndim", "size", "dtype", "itemsize", "nbytes", "strides"})


def _advanced(index: gast.AST, ctx: Context) -> bool:
    """Whether an index certainly selects by arrays of indices or a mask (NumPy copies)."""
    parts = index.elts if isinstance(index, gast.Tuple) else [index]
    return any(isinstance(p, gast.List) or isinstance(p, gast.Name)
               and ctx.kinds.get(p.id) == ARRAY for p in parts)


# Expressions _shared finds no sharing in (none of the classes it looks into).
_NEW_VALUES = frozenset({gast.BinOp, gast.UnaryOp, gast.Compare, gast.BoolOp, gast.Constant})


def _view_call(value: gast.AST) -> bool:
    """Whether `value` is a call whose result may share its first argument's memory."""
    if not isinstance(value, gast.Call):
        return False
    callee, args, _ = call_parts(value)
    called = callee[1] if isinstance(callee, tuple) else getattr(callee, "__name__", None)
    return called in VIEWS and bool(args)


def _reads_in_order(body: list, names: dict) -> list:
    """(statement, names it reads, the loops around it), in program order (`names`: each
    simple statement's loads and stores)."""
    out = []

    def visit(stmts, loops):
        for stmt in stmts:
            if isinstance(stmt, (gast.For, gast.While)):
                out.append((stmt, set(load_names(stmt.iter if isinstance(stmt, gast.For)
                                                 else stmt.test)), loops))
                visit(stmt.body, loops + (stmt,))
            elif isinstance(stmt, gast.If):
                out.append((stmt, set(load_names(stmt.test)), loops))
                visit(stmt.body, loops)
                visit(stmt.orelse, loops)
            else:
                out.append((stmt, set(names[id(stmt)][0]), loops))

    visit(body, ())
    visit = None  # (a recursive closure is a reference cycle: the collector would free it)
    return out


def _read_after(stmt: gast.AST, order: list) -> set[str]:
    """Names read after `stmt` runs: later in the code, or anywhere in a loop around it
    (its next iteration)."""
    position = next(i for i, (s, _, _) in enumerate(order) if s is stmt)
    loops = order[position][2]
    read: set[str] = set()
    for i, (_, names, around) in enumerate(order):
        if i > position or (loops and loops[0] in around):
            read |= names
    return read


class Groups:
    """Names grouped by the array they may refer to (union-find), and which lists or
    tuples hold which arrays."""

    def __init__(self):
        self.parent: dict[str, str] = {}
        self.held: dict[str, set[str]] = {}  # list or tuple -> names of what it holds

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def join(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)

    def holds(self, container: str, item: str) -> None:
        self.find(container)  # both become names of a group
        self.find(item)
        self.held.setdefault(container, set()).add(item)

    def members(self, x: str) -> set[str]:
        root = self.find(x)
        return {n for n in list(self.parent) if self.find(n) == root}

    def seers(self, x: str) -> set[str]:
        """Names through which a change to x's array can be seen: x's group, the lists
        holding it (and theirs), and, when x may be an item of a list, that list's items.
        Two items of one list do not see each other."""
        own = self.members(x)
        seen = set(own)
        for direction in (self._holders, self._items):
            frontier = list(own)
            while frontier:
                for name_ in direction(frontier.pop()):
                    for member in self.members(name_) - seen:
                        seen.add(member)
                        frontier.append(member)
        return seen

    def within(self, x: str) -> set[str]:
        """Names of x's array and of what x holds, transitively: what changes when x's
        owner sees a change (seers without the lists holding x)."""
        seen = set(self.members(x))
        frontier = list(seen)
        while frontier:
            for item in self._items(frontier.pop()):
                for member in self.members(item) - seen:
                    seen.add(member)
                    frontier.append(member)
        return seen

    def _holders(self, x: str) -> list[str]:
        return [c for c, items in self.held.items() if x in items]

    def _items(self, x: str) -> set[str]:
        return self.held.get(x, set())


class _StaleReads:
    """Reject reading a view (or copy, or a list holding the array) after its array was
    written through another name: NumPy's view sees the write, ast-ad's would not.

    `r = z[0]; z[0] = v; ... r ...` on a 2-D z. Followed along the code: a name is stale
    from such a write until it is assigned again; loop bodies are followed twice (the
    next iteration), branches each from the state before them.
    """

    def __init__(self, func: gast.FunctionDef, ctx: Context, groups: "Groups", calls: dict,
                 names: dict):
        self.ctx = ctx
        self.names = names  # each simple statement's (loads, stores)
        self.groups = groups
        self.calls = calls  # statements calling a function that changes an argument in place
        self.seers: dict[str, set] = {}
        self.lists = {n for s in walk_statements(func.body)
                      for n in [target_name(s)] if n is not None and isinstance(
                          getattr(s, "value", None), (gast.List, gast.Tuple, gast.Dict))}
        self.lists |= {list_append(s)[0] for s in walk_statements(func.body)
                       if list_append(s) is not None}

    def block(self, stmts: list, stale: dict) -> dict:
        for stmt in stmts:
            stale = self.stmt(stmt, stale)
        return stale

    def stmt(self, stmt: gast.AST, stale: dict) -> dict:
        if isinstance(stmt, gast.If):
            self.reads(stmt, load_names(stmt.test), stale)
            return _merge(self.block(stmt.body, stale), self.block(stmt.orelse, stale))
        if isinstance(stmt, (gast.For, gast.While)):
            header = stmt.iter if isinstance(stmt, gast.For) else stmt.test
            self.reads(stmt, load_names(header), stale)
            once = self.block(stmt.body, stale)
            twice = self.block(stmt.body, _merge(stale, once))
            return _merge(stale, once, twice)
        own = stale.get(_OWN, {})
        loads, stores, _ = self.names[id(stmt)]
        stale = {**stale, _OWN: self.own_after(stmt, own, loads, stores)}
        copied = target_name(stmt) if isinstance(getattr(stmt, "value", None), gast.Name) \
            else None
        if copied is not None and stmt.value.id in stale:  # a copy or phi is not a use
            return {**stale, copied: stale[stmt.value.id]}
        self.reads(stmt, loads, stale)
        stale = {n: w for n, w in stale.items() if n not in stores}
        written = item_write(stmt)
        if written is not None and self.may_be_array(written[0]):
            views = own[written[0]] - {written[0]} if written[0] in own \
                else self.sharers(written[0])
            for other in views:
                stale[other] = (stmt, written[0], None)
        for var, change in self.calls.get(id(stmt), ()):
            for other in (self.sharers(var) | {var}) - set(stores):
                stale[other] = (stmt, var, change)  # (its result is made after the change)
        return stale

    def own_after(self, stmt: gast.AST, own: dict, loads: list, stores: list) -> dict:
        """After `stmt`: the arrays nothing but their own name and views of them taken
        since refer to ({name: those names}). Such an array was made by a call that
        allocates one (`b = np.zeros(n)`), and since then only written into, indexed, or
        used in arithmetic (which makes new arrays). A write into it changes those views
        and nothing else: the lists that held b's earlier arrays, in a loop, do not hold
        this one."""
        written = item_write(stmt)
        target = target_name(stmt)
        value = getattr(stmt, "value", None)
        stores, loads = set(stores), set(loads)
        after = {}
        for array, refs in own.items():
            added = set()
            if loads & refs:
                if written is not None and written[0] == array and not refs & set(
                        load_names(written[1]) + load_names(written[2])):
                    pass  # b[i] = v
                elif target is not None and isinstance(value, gast.Subscript) \
                        and isinstance(value.value, gast.Name) and value.value.id in refs \
                        and not refs & set(load_names(value.slice)):
                    if not _number(target, self.ctx):
                        added.add(target)  # t = b[i]: a view of b, or a number
                elif target is None or not isinstance(value, (gast.BinOp, gast.UnaryOp,
                                                               gast.Compare)):
                    continue  # b may now be referred to by something else
            if array not in stores:
                after[array] = frozenset((refs - stores) | added)
        if target is not None and isinstance(stmt, gast.Assign) and _allocates(value):
            after[target] = frozenset({target})
        return after

    def sharers(self, array: str) -> set:
        """The other names for `array`'s memory (views, copies, lists holding it)."""
        if array not in self.seers:
            self.seers[array] = {n for n in self.groups.seers(array) - {array}
                                 if not _number(n, self.ctx)}
        return self.seers[array]

    def may_be_array(self, var: str) -> bool:
        return self.ctx.kinds.get(var) != SCALAR and var not in self.lists

    def reads(self, stmt: gast.AST, names: list, stale: dict) -> None:
        for var in names:
            if var not in stale:
                continue
            write, array, change = stale[var]
            ctx = self.ctx
            shown = ctx.src_name(var) if var not in ctx.namer.invented else None
            what = f"`{shown}`" if shown else "a view of it"
            line = ctx.location(stmt).lineno
            if change is not None:
                after = f"`{shown}`" if shown else "it (or a view of it)"
                raise ctx.error(
                    UnsupportedSyntaxError, write,
                    "unsupported: " + _changes(_callee_name(write),
                                               f"its argument `{ctx.src_name(array)}`", change)
                    + ", "
                    f"and {after} is read afterwards (line {line}): ast-ad does not follow "
                    "changes a called function makes to its arguments",
                    "return the new value from the function instead (e.g. `return s + [v]`, "
                    "`return np.concatenate(...)`), or write the code in the calling function")
            unknown = ctx.shapes.get(var) is None and ctx.kinds.get(var) == ARRAY
            how = "may be a view of it (its shape is not known here: it may be a row rather " \
                "than a number)" if unknown \
                else "shares its memory (a view, a copy or a list holding it)"
            raise ctx.error(
                UnsupportedSyntaxError, write,
                f"unsupported: writing into `{ctx.src_name(array)}` changes {what}, which "
                f"{how} and is read afterwards (line {line}): ast-ad would not see that "
                "change",
                "copy before the write (e.g. `r = z[0].copy()`), or take the view after "
                "the write")
