"""Reject in-place changes and casts the derivative passes would not follow.

The derivative passes follow values from assignment to assignment, item
writes `y[i] = v`, and `np.add.at(y, i, v)` into an array of its own. Any other
call that writes into an argument -- `y.sort()`, `y.fill(v)`, `np.copyto(y, x)`,
`np.multiply.at(y, i, x)`, any `out=y` (see resolve.written_arguments) --
changes y's array behind their back. Such a call is rejected unless it provably
cannot matter: nothing it reads or writes, and no other name for the array it writes
(a copy, a view, a list holding it), carries a derivative at any point of the
function, and no differentiated statement before it read that array, whose old
value the derivative code would need. A call whose result is
dropped and that ast-ad knows nothing about is rejected the same way when it is
given a value that carries a derivative: it is only there to change something.

Casts to a dtype the compiler cannot tell (`x.astype(t)`) on values that carry
a derivative are rejected too: a float dtype keeps the derivative, an integer
or bool dtype drops it (see resolve.cast_of).
"""

from __future__ import annotations

import dataclasses

import gast
import numpy as np

from .. import anno
from ..context import Context
from ..errors import NoRuleError
from ..rules import registry
from ..syntax import (
    assigned_names,
    dotted_path,
    item_write,
    list_append,
    load_names,
    target_name,
    walk_statements,
)
from .activity import differentiable_operands
from .aliases import Groups
from .facts import VIEWS, describe_primal
from .resolve import (
    UNKNOWN_CAST,
    adds_at,
    call_parts,
    is_missing,
    user_function,
    written_arguments,
)


def check_mutation(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    order = _statements_in_order(func.body)
    groups = None  # (made when a call writes into a name)
    values = _Assigned(order)
    writes = {}  # id(call) -> written_arguments(call)
    known, foreign = _ByCallee(_known), _ByCallee(_foreign)
    calls = [(position, stmt, node) for position, (stmt, _) in enumerate(order)
             if (node := _check_attribute_change(stmt, values, ctx, writes)) is not None]
    for position, stmt, node in calls:
        _check_cast(stmt, node, ctx)
        if _followed(stmt, node, ctx) and not _into_a_view(node, values):
            continue
        written = writes[id(node)]
        for array, instead in written:
            for atom in (array.elts if isinstance(array, gast.Tuple) else [array]):
                if isinstance(atom, gast.Name):
                    if groups is None:
                        groups = _alias_groups(func)
                    why = _involved(atom.id, node, position, order, groups, ctx)
                    if why:
                        raise ctx.error(
                            NoRuleError, stmt,
                            f"unsupported: {_describe(node)} changes "
                            f"`{ctx.src_name(atom.id)}` in place, which the derivative does "
                            f"not follow ({why})", instead)
        if written or list_append(stmt) is not None or anno.hasanno(node, "record"):
            continue  # (a record call builds its object from its arguments: a display)
        # (what the callee is decides first; the operands are looked at only if it matters)
        unknown = isinstance(stmt, gast.Expr) and not known(node)
        if not (unknown or foreign(node)) \
                or not any(n in ctx.varied for n in _operands(node)):
            continue
        made_by = _transformation_of(node, values)
        if made_by is not None:
            raise ctx.error(
                NoRuleError, stmt,
                f"unsupported: calling the function that ast_ad.{made_by}(...) made, inside a "
                "function ast-ad differentiates, with values that carry a derivative",
                "differentiate the outer function twice instead: ast_ad.hessian(f), "
                "ast_ad.hvp(f), or grad(grad(f)) of a function that returns the inner value")
        if unknown:
            raise ctx.error(
                NoRuleError, stmt,
                f"{_describe(node)} is called only for what it does to its arguments, which "
                "carry a derivative, and ast-ad cannot tell what that is",
                "assign what it computes to a name (`y = f(x)`), or call it outside the "
                "differentiated function")
        callee = anno.getanno(node, "callee")
        record = _record_class(callee)
        if record is not None:
            raise ctx.error(
                NoRuleError, stmt,
                f"unsupported: building a {describe_primal(callee)} ({record}) from values "
                "that carry a derivative, with code of its own that runs when it is built "
                "(__post_init__, its own __init__ or __new__), a field left to a "
                "default_factory or to a default that is not a literal, or arguments that "
                "do not bind to its fields",
                "give every field in the call, or build it outside and pass it in (grad "
                "differentiates with respect to its fields); ast-ad builds NamedTuples and "
                "dataclasses whose __init__ only stores their fields")
        raise ctx.error(
            NoRuleError, stmt,
            f"{_describe(node)} is given values that carry a derivative, and ast-ad cannot "
            "tell what it does with them (it may change them in place)",
            "register a rule with @ast_ad.register_adjoint(...), or call it outside the "
            "differentiated function")
    return func


def _check_attribute_change(stmt, values: dict, ctx: Context, writes: dict):
    """Reject a change in place (`self.items.append(v)`, `self.W[0] = v`, `out=`) of an
    object reached through an attribute (`obj.items`, `self.W`): a later read of the
    attribute is a new name the derivative passes cannot tell is the same object, so
    they would read its old value, and simplify would drop the change as dead code.
    (`writes`: each call's written_arguments, filled here.) Return the statement's call
    (_call_of), or None."""
    changed = []
    written = item_write(stmt) or list_append(stmt)
    if written is not None:
        changed.append(written[0])
    node = _call_of(stmt)
    if node is not None:
        callee = anno.getanno(node, "callee")
        if isinstance(callee, tuple) and isinstance(node.func, gast.Attribute) \
                and isinstance(node.func.value, gast.Name) \
                and callee[1] in LIST_METHODS:
            changed.append(node.func.value.id)
        writes[id(node)] = written = written_arguments(node)  # (for check_mutation too)
        changed += [a.id for array, _ in written
                    for a in (array.elts if isinstance(array, gast.Tuple) else [array])
                    if isinstance(a, gast.Name)]
    for var in changed:
        seen = set()
        value = values.get(var)
        while isinstance(value, gast.Name) and value.id in values and value.id not in seen:
            seen.add(value.id)  # through copies and phis
            value = values[value.id]
        if isinstance(value, gast.Attribute):
            path = dotted_path(value)
            what = f"`{ctx.src_name(path)}`" if path else f"the attribute .{value.attr}"
            raise ctx.error(
                NoRuleError, stmt, f"unsupported: changing {what} in place: later reads of "
                "the attribute would not see the change in the derivative code",
                "build a new list or array in the function (and return it) instead of "
                "changing an attribute's")
    return node


class _Assigned:
    """{name: the value assigned to it} of the statements in `order`, made when first
    read (most functions change nothing in place, and never read it)."""

    def __init__(self, order: list):
        self.order = order
        self.values = None

    def table(self) -> dict:
        if self.values is None:
            self.values = {name: s.value for s, _ in self.order
                           if (name := target_name(s)) is not None}
        return self.values

    def get(self, name: str):
        return self.table().get(name)

    def __contains__(self, name: str) -> bool:
        return name in self.table()

    def __getitem__(self, name: str):
        return self.table()[name]


class _ByCallee:
    """`test(call)` remembered by the call's callee, which alone decides it (_known,
    _foreign: call_parts' callee is the "callee" annotation, a method's name mapped
    through registry.METHODS). Kept for one run of the pass: the calls' annotations keep
    each callee alive, so an id is not reused meanwhile."""

    def __init__(self, test):
        self.test = test
        self.seen: dict = {}

    def __call__(self, node: gast.Call) -> bool:
        callee = anno.getanno(node, "callee")
        key = callee if isinstance(callee, tuple) else id(callee)
        found = self.seen.get(key)
        if found is None:
            found = self.seen[key] = self.test(node)
        return found


# List methods that change their list.
LIST_METHODS = frozenset({"append", "extend", "insert", "pop", "remove", "clear", "sort",
                          "reverse"})


def _call_of(stmt) -> gast.Call | None:
    if isinstance(stmt, (gast.Expr, gast.Assign)) and isinstance(stmt.value, gast.Call):
        return stmt.value
    return None


def _operands(node: gast.Call) -> list[str]:
    """Every name a call reads: the arguments, and the object of a method."""
    return load_names(node)


def _followed(stmt, node: gast.Call, ctx: Context) -> bool:
    """In-place changes the derivative passes do follow: np.add.at (saved and put back in
    reverse mode, its tangent added the same way in forward mode), and `v = stack.pop()`
    (in forward mode, where generated code pops saved values)."""
    if adds_at(stmt):
        return True
    return ctx.options.mode in ("jvp", "vector") \
        and anno.getanno(node, "callee") == ("method", "pop") \
        and not node.args and isinstance(stmt, gast.Assign)


def _into_a_view(node: gast.Call, values: dict) -> bool:
    """Whether np.add.at writes into what may be a view of another array (`v = y[0:2]`):
    forward mode would update v's tangent but not y's."""
    atom = node.args[0] if node.args else None
    seen = set()
    while isinstance(atom, gast.Name) and atom.id in values and atom.id not in seen:
        seen.add(atom.id)  # through copies and phis
        atom = values[atom.id]
    if atom is None or isinstance(atom, gast.Name):  # a parameter: an array of its own
        return False
    return not _fresh(atom)


def _known(node: gast.Call) -> bool:
    """Whether a call is known to change none of its arguments (a rule, a ufunc, print...)."""
    callee, _, _ = call_parts(node)
    if isinstance(callee, tuple) or callee is None:
        return False
    if registry.lookup(callee) is not None or registry.is_nondifferentiable(callee):
        return True
    if isinstance(callee, np.ufunc) or getattr(callee, "__module__", None) == "math":
        return True
    return user_function(callee)  # compiled with the call (see passes/reverse)


def _foreign(node: gast.Call) -> bool:
    """Whether a call goes where ast-ad cannot see: an unresolved name, a method it does not
    know, or a function of another library. NumPy's, math's and the builtins change their
    arguments only where registry.WRITES, INPLACE_METHODS and `out=` say so."""
    callee, _, _ = call_parts(node)
    if callee is None or isinstance(callee, tuple) or is_missing(callee):
        return True
    if _known(node):
        return False
    module = getattr(callee, "__module__", None) or getattr(type(callee), "__module__", "")
    return (module or "").split(".")[0] not in ("numpy", "math", "builtins")


def _check_cast(stmt, node: gast.Call, ctx: Context) -> None:
    if anno.getanno(node, "cast") != UNKNOWN_CAST:
        return
    if any(n in ctx.varied for n in differentiable_operands(node)):
        raise ctx.error(
            NoRuleError, stmt,
            f"{_describe(node)} converts a value that carries a derivative to a dtype ast-ad "
            "cannot tell before running: a float dtype keeps the derivative, an integer or "
            "bool one drops it",
            "write the dtype itself, e.g. `.astype(np.float64)` or `.astype(int)`")


def _involved(array: str, node: gast.Call, position: int, order: list, groups, ctx) -> str:
    """Why changing `array` in place here could make a derivative wrong, or ''."""
    family = groups.members(array)
    if family & ctx.varied:
        return "it holds values that carry a derivative"
    if any(n in ctx.varied for n in _operands(node)):
        return "values that carry a derivative flow into it"
    loops = order[position][1]
    for i, (stmt, around) in enumerate(order):
        earlier = i < position or (loops and loops[0] in around)
        if earlier and i != position and _differentiated(stmt, ctx) \
                and family & set(load_names(stmt)):
            # The backward pass reads it, and so may forward mode's tangents: simplify
            # folds `dz = c * dx` into where dz is used, after the change.
            return "the derivative code reads its value from before the change"
    return ""


def _differentiated(stmt, ctx: Context) -> bool:
    """Whether a statement defines or changes something that carries a derivative."""
    if isinstance(stmt, (gast.If, gast.For, gast.While)):
        return False
    stored = assigned_names(stmt)
    for changed in (item_write(stmt), list_append(stmt)):
        if changed is not None:
            stored.append(changed[0])
    return any(n in ctx.varied for n in stored)


def _transformation_of(node: gast.Call, values) -> str | None:
    """"grad" for a call of `g = ast_ad.grad(f)` (or of `ast_ad.grad(f)` itself, which
    anf names the same way): a function an ast-ad transformation made."""
    func = node.func
    made = values.get(func.id) if isinstance(func, gast.Name) else None
    callee = anno.getanno(made, "callee") if isinstance(made, gast.Call) else None
    module = getattr(callee, "__module__", None) or ""
    if module.split(".")[0] == "ast_ad" and callable(callee):
        return callee.__name__
    return None


def _record_class(callee) -> str | None:
    """"NamedTuple" or "dataclass" for such a class, else None."""
    if not isinstance(callee, type):
        return None
    if issubclass(callee, tuple) and hasattr(callee, "_fields"):
        return "NamedTuple"
    return "dataclass" if dataclasses.is_dataclass(callee) else None


def _describe(node: gast.Call) -> str:
    callee = anno.getanno(node, "callee")
    if isinstance(callee, tuple):
        return f"the method .{callee[1]}()"
    if isinstance(getattr(callee, "__self__", None), np.ufunc):
        return f"numpy.{callee.__self__.__name__}.{callee.__name__}"
    if callee is None or not callable(callee):
        return "a call whose target cannot be resolved before running"
    return describe_primal(callee)


def _statements_in_order(body: list) -> list:
    """(statement, the loops around it), in program order."""
    out = []

    def visit(stmts, loops):
        for stmt in stmts:
            out.append((stmt, loops))
            if isinstance(stmt, (gast.For, gast.While)):
                visit(stmt.body, loops + (stmt,))
            elif isinstance(stmt, gast.If):
                visit(stmt.body, loops)
                visit(stmt.orelse, loops)

    visit(body, ())
    visit = None  # (a recursive closure is a reference cycle: the collector would free it)
    return out


def _alias_groups(func: gast.FunctionDef) -> "Groups":
    """Names that may refer to one array (or to a list holding it): joined by copies, views,
    indexing, lists, and calls that may return their argument; not by arithmetic or by
    functions with rules, whose results are new arrays."""
    groups = Groups()
    for stmt in walk_statements(func.body):
        appended = list_append(stmt) or item_write(stmt)
        if appended is not None:
            for n in load_names(appended[-1]):
                groups.join(appended[0], n)
            continue
        targets = assigned_names(stmt)
        if not targets:
            continue
        value = stmt.value
        shared = _sharers(value)
        if isinstance(value, gast.Call):
            for array, _ in written_arguments(value):  # z = np.add(a, b, out=y): z is y
                shared += load_names(array)
        for target in targets:
            groups.find(target)
            for n in shared:
                groups.join(target, n)
    return groups


def _sharers(value: gast.AST) -> list[str]:
    """The names whose array (or list) an assigned expression may be, or be part of."""
    if _fresh(value):
        return []
    if isinstance(value, (gast.Subscript, gast.Attribute)):  # not the index: y[i] is part of y
        return load_names(value.value)
    return load_names(value)


def _fresh(value: gast.AST) -> bool:
    """Whether an expression certainly makes a new array (or a number)."""
    if isinstance(value, (gast.BinOp, gast.UnaryOp, gast.Compare, gast.BoolOp,
                          gast.Constant)):
        return True
    if not isinstance(value, gast.Call):
        return False
    callee, args, _ = call_parts(value)
    if isinstance(callee, tuple) or callee is None:
        return False
    if getattr(callee, "__name__", None) in VIEWS:
        return False
    return isinstance(callee, np.ufunc) or registry.lookup(callee) is not None \
        or registry.is_nondifferentiable(callee) or getattr(callee, "__module__", "") == "math"
