"""Simplify the generated function: fold adjoint inits, propagate copies, remove dead code.

- `bx = 0.0 ... bx = bx + c` becomes `bx = c` (the first contribution assigns),
  unless a later contribution writes into part of bx in place;
- a backward copy or constant (`bt = by`, `by = 1.0`) is substituted into the
  statements that follow it in its block, then the expressions are re-simplified;
- a variable whose every use is in its own (pure) definitions is removed;
- a temporary or adjoint used exactly once, later in its own block, is folded
  into that use (unless Options.trace), so the code reads like hand-written
  code and large intermediate arrays are freed as early as in hand-written code.
"""

from __future__ import annotations

import bisect
import copy
import math
import os
from collections import Counter, defaultdict
from functools import partial
from operator import itemgetter

import gast

from .. import algebra, anno
from ..context import Context
from ..syntax import (
    _COMPOUND,
    CHILD_FIELDS,
    assigned_names,
    blocks,
    child_fields,
    clone,
    compound,
    const,
    loads_of,
    name_nodes,
    nodes_of,
    store_names,
    target_name,
    walk,
    walk_statements,
)
from ..syntax import mentions as _mentions
from ..syntax import walk_statements as _walk
from ..values import SCALAR
from .cancel import cancel
from .gather import gather
from .sparse import sparse_rows


def simplify(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    _drop_needless_restores(func)
    names = _NameCache()  # each statement's names, shared by the sweeps below
    settled = False  # whether the code is as the dead code sweeps below left it
    stores_done = False  # whether the dead-store sweep would find nothing in it either
    changes = 0  # names.changes after the last dead-store sweep
    inits = True  # whether the code may hold an init (or a reset) _fold_inits would move
    # whether the code may hold a display init (`bt = [0.0, 0.0]`) _fold_item_inits would
    # look at: no later sweep makes one, except where _fold_inits changes something
    displays = True
    for _ in range(8):  # until a round changes nothing (each sweep tells)
        changed = False
        if inits or CHECK:
            left: list = []
            changed = _fold_inits(func.body, names, ctx, left)
            assert inits or not changed, "an init the last _fold_inits did not leave"
            inits = any(left)
        if changed:  # (a contribution folded into its init may be a display)
            displays = True
        if displays or CHECK:
            shown: list = []
            found = _fold_item_inits(func.body, ctx, names, shown)
            assert displays or not shown, "a display the last _fold_item_inits did not see"
            changed |= found
            displays = bool(shown)
        if displays:  # (a display's items read at constant keys: `bw = bp[0]`)
            changed |= _read_items(func.body, names)
        if not ctx.options.trace:  # a trace keeps each adjoint step (`bt3 = bt5`)
            changed |= _propagate(func.body, frozenset(ctx.primal_of), names)
        if stores_done and not changed and names.changes == changes:
            if CHECK:
                assert not _remove_dead_stores(func.body, ctx, names), "a store left dead"
            break  # (as below, without the dead-store sweep: it would say False)
        watch = _StoreWatch()
        changed |= _remove_dead_stores(func.body, ctx, names, watch)
        changes = names.changes
        if settled and not changed:
            break  # (they would find nothing more: the round would change nothing)
        gone: set = set()
        removed = _remove_dead(func, ctx, names, gone)
        copies = _remove_self_copies(func.body)
        settled = removed != _REMOVED_BRANCHES and not copies
        stores_done = settled and watch.finds_nothing(gone)
        if not (changed or removed or copies):
            break
    # a term proven zero (cancel looks for np.sum among the cached calls first), a one-hot
    # kept sparse; then what they no longer read goes
    for rewrite in (partial(cancel, calls=names.calls), partial(sparse_rows, check=CHECK)):
        if rewrite(func, ctx):
            if not ctx.options.trace:
                _propagate(func.body, frozenset(ctx.primal_of), names)
            _remove_dead(func, ctx, names)
    if not ctx.options.trace:
        _fold(func, ctx, names)
    if _uniform_arrays(func, ctx, names):  # (what `a` was computed for may now be dead)
        _remove_dead(func, ctx, names)
    _spread_products(func, ctx, names)
    gather(func, ctx)
    if ctx.options.lazy:
        _uniform_names(func, ctx)
        _lazy_fills(func, ctx)
        _tests_once(func, ctx)
    return func


# Whether simplify checks what it works out instead of walking the code (the name cache
# after a fold, _StoreWatch) against the walk or the sweep (tests turn it on; so does
# AST_AD_CHECK_SIMPLIFY=1 in the environment, for a whole test run).
CHECK = bool(os.environ.get("AST_AD_CHECK_SIMPLIFY"))

_ABSENT = object()  # (an annotation's default: not there)


def _uniform_names(func: gast.FunctionDef, ctx: Context) -> None:
    """In code for Dask arrays, `bt = np.full_like(a, 1.0)` used only in arithmetic with
    arrays of a's shape (`bt - y`, `bt / (1.0 + t)`) is the number 1.0 there: a Dask
    array of ones is a graph layer, and an operation per element, in every chunk."""
    import numpy

    from .facts import Facts, mixed_precision

    if mixed_precision(ctx):  # (1.0 * e has e's dtype, full_like(a, 1.0) * e may not)
        return
    facts = Facts(ctx)
    fills, assigned = {}, defaultdict(int)
    for stmt in _walk(func.body):
        for var in assigned_names(stmt):
            assigned[var] += 1
        if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(
                stmt.targets[0], gast.Name) and isinstance(stmt.value, gast.Call) \
                and len(stmt.value.args) == 2 and not stmt.value.keywords \
                and isinstance(stmt.value.args[1], gast.Constant) \
                and type(stmt.value.args[1].value) in (int, float) \
                and _object(stmt.value.func, ctx) is numpy.full_like:
            shape = facts.shape(stmt.value.args[0])
            if shape is not None:
                fills[stmt.targets[0].id] = (stmt, shape)
    fills = {v: f for v, f in fills.items() if assigned[v] == 1}
    uses = defaultdict(list)  # name -> [(BinOp, side)] or None if used otherwise
    arithmetic = (gast.Add, gast.Sub, gast.Mult, gast.Div)
    for node in walk(func):
        if isinstance(node, gast.BinOp) and isinstance(node.op, arithmetic):
            for side, other in (("left", node.right), ("right", node.left)):
                operand = getattr(node, side)
                if isinstance(operand, gast.Name) and operand.id in fills \
                        and uses[operand.id] is not None:
                    if facts.shape(other) == fills[operand.id][1]:
                        uses[operand.id].append((node, side))
                    else:
                        uses[operand.id] = None
    for node in walk(func):
        if isinstance(node, gast.Name) and node.id in fills and isinstance(node.ctx, gast.Load) \
                and uses[node.id] is not None \
                and not any(getattr(n, s) is node for n, s in uses[node.id]):
            uses[node.id] = None  # read outside arithmetic: keep the array
    changed = set()
    for var, (stmt, _) in fills.items():
        if not uses[var]:
            continue
        for node, side in uses[var]:
            setattr(node, side, clone(stmt.value.args[1]))
            changed.add(id(node))
        for block in [func.body] + [b for s in _walk(func.body) for b in blocks(s)]:
            if any(s is stmt for s in block):
                block[:] = [s for s in block if s is not stmt]
    for stmt in _walk(func.body):  # 1.0 / (1.0 + t) * t is t / (1.0 + t) now
        if isinstance(stmt, gast.Assign) and any(id(n) in changed for n in walk(stmt.value)):
            stmt.value = algebra.simplify(stmt.value, target_name(stmt) in ctx.primal_of)


def _tests_once(func: gast.FunctionDef, ctx: Context) -> None:
    """In code for Dask arrays, a branch's test that the backward pass tests again,
    `t = np.sum(x) > 0`, becomes `t = bool(np.sum(x) > 0)`: each `if t:` of a Dask value
    computes it, and the primal computes it once."""
    tests = defaultdict(int)
    for stmt in _walk(func.body):
        if isinstance(stmt, gast.If) and isinstance(stmt.test, gast.Name):
            tests[stmt.test.id] += 1
    for stmt in _walk(func.body):
        if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(
                stmt.targets[0], gast.Name) and tests.get(stmt.targets[0].id, 0) > 1:
            stmt.value = gast.Call(func=ctx.reference(bool, "bool"), args=[stmt.value],
                                   keywords=[])


def _lazy_fills(func: gast.FunctionDef, ctx: Context) -> None:
    """In code for Dask arrays, `np.full_like(a, g)` of a value g becomes
    `np.zeros_like(a) + g`: Dask puts a Dask g into every chunk's task unevaluated, and each
    chunk then computes it again (a Python number is fine, and stays)."""
    import numpy

    from ..values import result_dtype
    from .facts import Facts

    facts = Facts(ctx)

    class Rewrite(gast.NodeTransformer):
        def visit_Call(self, node):
            self.generic_visit(node)
            if len(node.args) != 2 or node.keywords or isinstance(node.args[1], gast.Constant) \
                    or _object(node.func, ctx) is not numpy.full_like:
                return node
            array, fill = node.args
            zeros = gast.Call(func=gast.Attribute(value=node.func.value, attr="zeros_like",
                                                  ctx=gast.Load()) if isinstance(
                node.func, gast.Attribute) else ctx.reference(numpy.zeros_like, "zeros_like"),
                args=[array], keywords=[])
            summed = gast.BinOp(left=zeros, op=gast.Add(), right=fill)
            a = facts.value(array)
            if a.dtype is not None and result_dtype(a, facts.value(fill)) == a.dtype:
                return summed
            return gast.Call(func=gast.Attribute(value=summed, attr="astype", ctx=gast.Load()),
                             args=[gast.Attribute(value=clone(array), attr="dtype",
                                                  ctx=gast.Load())], keywords=[])

    for stmt in _walk(func.body):
        if isinstance(stmt, (gast.Assign, gast.AugAssign, gast.Return, gast.Expr)):
            stmt.value = Rewrite().visit(stmt.value)


# -- arrays of one repeated value ----------------------------------------------------


def _uniform_arrays(func: gast.FunctionDef, ctx: Context, names: _NameCache) -> bool:
    """`np.full_like(a, g) * e` is `g * e` when e has a's shape: the adjoint of a sum or
    mean over everything need not be spelled out element by element before it is used.
    A scalar factor moves inside first: `np.full_like(a, g) * 2` is `np.full_like(a, g * 2)`.
    Whether a's name may no longer be read (a rewrite of the second kind)."""
    import numpy

    from .facts import Facts, mixed_precision

    facts = Facts(ctx)

    def full_like(node):
        if isinstance(node, gast.Call) and len(node.args) == 2 and not node.keywords \
                and _object(node.func, ctx) is numpy.full_like:
            return node
        return None

    class Rewrite(gast.NodeTransformer):
        def visit_BinOp(self, node):
            self.generic_visit(node)
            if not isinstance(node.op, gast.Mult):
                return node
            for uniform, other, left in ((node.left, node.right, True),
                                         (node.right, node.left, False)):
                fill = full_like(uniform)
                if fill is None:
                    continue
                array, value = fill.args
                if facts.kind(other) == SCALAR:  # full_like(a, g) * c -> full_like(a, g * c)
                    product = gast.BinOp(left=value, op=gast.Mult(), right=other) if left \
                        else gast.BinOp(left=other, op=gast.Mult(), right=value)
                    fill.args = [array, algebra.simplify(product)]
                    return fill
                shape = facts.shape(array)
                # (g * e has e's dtype, not a's: the same only if precisions do not mix)
                if shape is not None and facts.shape(other) == shape \
                        and not mixed_precision(ctx) \
                        and facts.kind(value) == SCALAR:
                    dropped.append(array)
                    return gast.BinOp(left=value, op=gast.Mult(), right=other) if left \
                        else gast.BinOp(left=other, op=gast.Mult(), right=value)
            return node

    dropped: list = []
    for stmt in _walk(func.body):
        if isinstance(stmt, (gast.Assign, gast.AugAssign)) and \
                anno.getanno(stmt, "section") == "backward" \
                and _calls_any(stmt, (numpy.full_like,), ctx, names):
            names.forget(stmt)
            stmt.value = Rewrite().visit(stmt.value)
    return bool(dropped)


def _spread_products(func: gast.FunctionDef, ctx: Context, names: _NameCache) -> None:
    """Let NumPy broadcast instead of spreading an adjoint first:
    `unreduce(g, a, axis, True) * e` is `g * e` (also with + and -) when e has a's shape
    (g keeps the reduced axes, so it broadcasts against e), and `np.sum(-x, ...)` is
    `-np.sum(x, ...)` (the negation runs on the smaller result)."""
    import numpy

    from .. import runtime
    from .facts import Facts

    facts = Facts(ctx)

    class Rewrite(gast.NodeTransformer):
        def visit_BinOp(self, node):
            self.generic_visit(node)
            if not isinstance(node.op, (gast.Mult, gast.Add, gast.Sub)):
                return node
            for spread, other, side in ((node.left, node.right, "left"),
                                        (node.right, node.left, "right")):
                if isinstance(spread, gast.Call) and _object(spread.func, ctx) is runtime.unreduce \
                        and len(spread.args) == 4 and not spread.keywords \
                        and isinstance(spread.args[3], gast.Constant) \
                        and spread.args[3].value is True:
                    shape = facts.shape(spread.args[1])
                    if shape is not None and facts.shape(other) == shape:
                        setattr(node, side, spread.args[0])
                        self.changed = True
                        return node
            return node

        def visit_Call(self, node):
            self.generic_visit(node)
            if _object(node.func, ctx) is numpy.sum and len(node.args) == 1 \
                    and isinstance(node.args[0], gast.UnaryOp) \
                    and isinstance(node.args[0].op, gast.USub):
                node.args = [node.args[0].operand]
                self.changed = True
                return gast.UnaryOp(op=gast.USub(), operand=node)
            return node

    for stmt in _walk(func.body):
        if isinstance(stmt, (gast.Assign, gast.AugAssign)) and \
                anno.getanno(stmt, "section") == "backward":
            if _calls_any(stmt, (runtime.unreduce, numpy.sum), ctx, names):
                names.forget(stmt)
                rewrite = Rewrite()
                rewrite.changed = False
                stmt.value = rewrite.visit(stmt.value)
                if rewrite.changed:
                    stmt.value = algebra.simplify(stmt.value)  # a + -b -> a - b
            value = _sign_on_smallest(stmt.value, facts)
            if value is not stmt.value:
                names.forget(stmt)
                stmt.value = value


def _calls_any(stmt, functions: tuple, ctx: Context, names: _NameCache) -> bool:
    """Whether the simple statement `stmt` calls one of `functions` (its calls from the
    name cache: cheaper than a rewrite's visit of each backward statement when, as in
    most, there is nothing to rewrite)."""
    for n in names.get(stmt)[4]:
        callee = _object(n.func, ctx)  # (resolved once, however many functions)
        if any(callee is f for f in functions):
            return True
    return False


def _sign_on_smallest(value, facts):
    """`-(g / t3 * t2)` as `-g / t3 * t2` where g is smaller than the result: the sign
    costs a pass over g instead of one over the result."""
    if not (isinstance(value, gast.UnaryOp) and isinstance(value.op, gast.USub)):
        return value

    def size(node):
        shape = facts.shape(node)
        return None if shape is None else math.prod(shape)

    return algebra.negated(value.operand, size)


# -- folding single-use temporaries -----------------------------------------------


def _fold(func: gast.FunctionDef, ctx: Context, names: _NameCache) -> None:
    loads, stores = defaultdict(int), defaultdict(int)
    # (from the name cache: a compound statement's names are those of all it holds; one
    # pass for the counts, the names written into and the top block's positions)
    where = _Where(func.body, names, (loads, stores))
    for part in [func.args, func.returns] + func.decorator_list:
        for n in name_nodes(part) if part is not None else ():
            if isinstance(n.ctx, gast.Load):
                loads[n.id] += 1
            elif isinstance(n.ctx, gast.Store):
                stores[n.id] += 1
    written = where.written
    direct = defaultdict(set)  # (see _viewed)
    if written:  # (the views matter only where something is written into: most code has none)
        for stmt in where.viewing:
            if stmt.__class__ in _COMPOUND:
                for inner in _walk([stmt]):
                    _views(inner, target_name(inner), direct)
            else:
                _views(stmt, names.entry(stmt)[4], direct)
    viewed = _views_written(direct, written)
    if CHECK:
        assert written == _written_into(func.body, names)
        full = {var: seen & written for var, seen in _viewed(func).items()}
        assert viewed == {var: seen for var, seen in full.items() if seen}
    _fold_block(func.body, ctx, loads, stores, viewed, names, where)


def _written_into(stmts: list, names: _NameCache) -> set:
    """The names some statement stores into without binding them afresh (`y[i] = v`,
    `ys.append(v)`): the only ones whose change a view of them sees (see _single_use)."""
    found = set()
    for stmt in _walk(stmts):
        _, rebound, stored, _, _, _, _ = names.get(stmt)
        if not stored <= rebound:
            found |= stored - rebound
    return found


def _views_written(direct: dict, written: set) -> dict:
    """_viewed's answer (from `direct`, see _views) cut down to the names in `written`:
    var -> those var may be a view of. _single_use only asks whether such a name is
    written into, so this is all it needs, and it is found from the few written names
    backwards: a chain of copies (`a_3 = a`, `a_5 = a_3`... a loop header per loop) made
    following every view of every name quadratic."""
    viewed: dict = {}
    if not written:
        return viewed
    users = defaultdict(list)  # name -> the names that may be a view of it directly
    for var, seen in direct.items():
        for base in seen:
            users[base].append(var)
    for base in written:
        reached, todo = set(), list(users.get(base, ()))
        while todo:
            var = todo.pop()
            if var not in reached:
                reached.add(var)
                todo.extend(users.get(var, ()))
        reached.discard(base)  # (never a view of itself, as in _viewed)
        for var in reached:
            viewed.setdefault(var, set()).add(base)
    return viewed


def _viewed(func: gast.FunctionDef) -> dict:
    """var -> the names whose arrays var may be a view of (dr = dz[0], t = x.T, y = f(x)...),
    transitively: a write into one of those changes var."""
    direct = defaultdict(set)
    for stmt in _walk(func.body):
        _views(stmt, target_name(stmt), direct)
    return {var: _closure(var, direct) - {var} for var in direct}


def _views(stmt, var: str | None, direct: dict) -> None:
    """direct[var] gets the names the value of `var = value` (var: target_name(stmt)) may
    be (a view of), not transitively."""
    if var is None or stmt.value.__class__ not in _VIEWING:  # (`t = a * b`: a new value)
        return
    parts = [stmt.value]
    while parts:
        node = parts.pop()
        if isinstance(node, gast.Name):
            direct[var].add(node.id)
        elif isinstance(node, (gast.Subscript, gast.Attribute)):
            parts.append(node.value)
        elif isinstance(node, gast.Call):
            parts.extend(node.args)


# The values that may be (a view of) one of their names.
_VIEWING = frozenset({gast.Name, gast.Subscript, gast.Attribute, gast.Call})


def _fold_block(stmts: list, ctx: Context, loads: dict, stores: dict, viewed: dict,
                names: _NameCache, where: _Where | None = None) -> None:
    """Fold in `stmts` (`where`: their positions, if known: made before the blocks inside
    are folded, it may hold more positions than needed, which does no harm)."""
    for stmt in stmts:
        if stmt.__class__ in _COMPOUND:
            for block in blocks(stmt):
                _fold_block(block, ctx, loads, stores, viewed, names)
    derivative, invented = frozenset(ctx.primal_of), ctx.namer.invented
    if where is None:
        where = _Where(stmts, names)
    targets = where.targets
    settled = {True: {}, False: {}}  # floats -> the nodes simplify leaves as they are
    held_of, purity = names._held, names.purity  # (a statement with a target: cached)
    # backwards, so chains fold completely: t2 = f(t1) absorbs t1 afterwards
    for i in range(len(stmts) - 1, -1, -1):
        var = targets[i]
        # A name assigned once and read more than once cannot fold: no need to look.
        if var is None or var not in invented or (loads[var] != 1 and stores[var] <= 1):
            continue
        stmt = stmts[i]
        held = held_of(stmt)
        pure = held[2]
        if pure is None:
            pure = purity(held, stmt, ctx)
        if pure and not anno.getanno(stmt, "phi"):
            j = _single_use(stmts, i, var, loads, viewed, names, where, held[1][0])
            if j is None:
                continue
            use = stmts[j]
            used = held_of(use)
            # (sizes from the name cache: a statement `v = e` is as large as e)
            if held[1][5] + used[1][5] <= FOLD_LIMIT \
                    and anno.same_managers(stmt, use):  # same `with`
                _fold_into(use, var, stmt, derivative, names, settled, used, held)
                where.brought(j, held[1], var)
                loads[var] -= 1
                stores[var] -= 1
                stmts[i] = None  # (removed below: positions stay put for `where`)
    stmts[:] = [s for s in stmts if s is not None]


def _fold_into(use, var: str, definition, derivative: frozenset, names: _NameCache,
               settled: dict, used: list, defined: list) -> None:
    """The one read of `var` in the simple statement `use` gets the value of `definition`
    (`var = e`) itself (the definition goes), then `use` is simplified again, as
    _substitute_in would: only the nodes above that read changed, so only they are looked
    at again (`settled`: floats -> the nodes simplify leaves as they are, see
    algebra.simplify_again; `used`, `defined`: the name cache's entries of both)."""
    if CHECK:  # (as _move_into would make it, on a copy)
        expected = copy.deepcopy(use)
        expect_moved = _move_into(expected, var, definition.value, {})
    moved = _move_into_statement(use, var, definition.value, settled)
    if CHECK:
        assert gast.dump(use) == gast.dump(expected) \
            and (moved is None) == (expect_moved is None), (var, gast.dump(use))
    if use.__class__ in _SIMPLIFIED and use.value is not None:
        floats = used[4] in derivative
        if CHECK:  # (as simplify makes it; as it was, if it says it changed nothing)
            was = gast.dump(use.value)
            simplified = gast.dump(algebra.simplify(copy.deepcopy(use.value), floats))
        use.value, changed = algebra.simplify_again_changed(use.value, floats, settled[floats])
        if CHECK:
            assert gast.dump(use.value) == simplified and (changed or simplified == was)
        if not changed and moved is not None and moved.annotation is None:
            # (most: the names are those of both, worked out)
            names.folded(use, var, definition, used, defined)
            return
    names.forget(use)


# The statements whose value _substitute_in simplifies.
_SIMPLIFIED = (gast.Assign, gast.AugAssign, gast.Expr, gast.Return)


def _move_into_statement(use, var: str, value: gast.AST, settled: dict):
    """_move_into(use, var, value, settled) of a statement: of `v = e` (most), e itself (a
    name target reads nothing, and is no node simplify settles: nothing to look at)."""
    if use.__class__ is gast.Assign and len(use.targets) == 1 \
            and use.targets[0].__class__ is gast.Name:
        child = use.value
        if child.__class__ is gast.Name:
            if child.id == var and child.ctx.__class__ is gast.Load:
                use.value = value
                return child
            return None
        if child.__class__ is gast.Constant or not child._fields:
            return None
        return _move_into(child, var, value, settled)
    return _move_into(use, var, value, settled)


def _move_into(node: gast.AST, var: str, value: gast.AST, settled: dict):
    """Put `value` in place of the first read of `var` below `node` (in _replace_loads's
    order); the nodes above it change, so `settled` forgets them. The name replaced, or
    None if there was none."""
    if node.__class__ is gast.BinOp:  # (most: its two operands, without the fields loop)
        for key in ("left", "right"):
            child = getattr(node, key)
            if child.__class__ is gast.Name:
                if child.id == var and child.ctx.__class__ is gast.Load:
                    setattr(node, key, value)
                    moved = child
                    break
            elif child.__class__ is not gast.Constant and child._fields:
                moved = _move_into(child, var, value, settled)
                if moved is not None:
                    break
        else:
            return None
        for nodes in settled.values():
            nodes.pop(id(node), None)
        return moved
    fields = node.__dict__
    moved = None
    for key in node._fields:
        child = fields.get(key)
        if isinstance(child, gast.AST):
            if type(child) is gast.Name:
                if child.id == var and isinstance(child.ctx, gast.Load):
                    fields[key] = value
                    moved = child
                    break
            elif child._fields:
                moved = _move_into(child, var, value, settled)
                if moved is not None:
                    break
        elif type(child) is list:
            for i, item in enumerate(child):
                if type(item) is gast.Name:
                    if item.id == var and isinstance(item.ctx, gast.Load):
                        child[i] = value
                        moved = item
                        break
                elif isinstance(item, gast.AST):
                    moved = _move_into(item, var, value, settled)
                    if moved is not None:
                        break
            if moved is not None:
                break
    if moved is None:
        return None
    for nodes in settled.values():
        nodes.pop(id(node), None)
    return moved


# Folding stops before a statement would hold more operations than this: long
# enough for a user's own line, short enough to read.
FOLD_LIMIT = 8


class _Where:
    """Where each name is mentioned, and stored into, in one block: the positions in
    order. A fold adds the names it brings into a statement; a position may outlive
    what was there (a folded name, a removed statement), so the positions are where
    to look, and the statement there says what is."""

    def __init__(self, stmts: list, names: _NameCache, tally: tuple | None = None):
        """`tally`, if given: (loads, stores), to which each statement's reads and bindings
        are added (in the same pass), which also finds `written` (_written_into's
        answer) and `viewing`, the statements whose value may be a view (see _views):
        the simple ones with a viewing value, and the compound ones."""
        self.stmts, self.names = stmts, names
        self.mentions, self.stores = mentions, stores = defaultdict(list), defaultdict(list)
        self.targets = targets = []
        cached, entry, target_of = names.cached, names.entry, targets.append
        loads, binds = tally if tally is not None else (None, None)
        self.written, self.viewing = written, viewing = set(), []
        for k, stmt in enumerate(stmts):  # (in order: each position goes at the end)
            held = cached(stmt) or entry(stmt)
            if held is not None:
                info, target = held[1], held[4]
            else:  # (a compound statement)
                info, target = names.get(stmt), None
            target_of(target)
            for name_ in info[3]:
                mentions[name_].append(k)
            stored = info[2]
            for name_ in stored:
                stores[name_].append(k)
            if tally is None:
                continue
            for var, count in info[0].items():
                loads[var] += count
            for var, count in info[6].items():
                binds[var] += count
            if held is None:
                viewing.append(stmt)
                written |= _written_into([stmt], names)
                continue
            if target is not None and stmt.value.__class__ in _VIEWING:
                viewing.append(stmt)  # (`t = a * b`: a new value, no view)
            rebound = info[1]
            if not stored <= rebound:
                written |= stored - rebound

    def brought(self, k: int, defined: tuple, var: str) -> None:
        """Statement k now holds the value of `var = e` (`defined`: its names) folded into
        it: the names e brings in. Not var itself: statement k read it, so its mentions
        hold k already, and the binding does not come along (what k stores into stays
        as it was; a position more or less where nothing is stored changes no answer
        of _single_use, which looks at the statement there). Statement k itself is not
        looked at again until someone asks (the name cache forgot it)."""
        _, _, stored, mentioned, _, _, _ = defined
        self._note(self.mentions, k, mentioned, var)
        if len(stored) != 1:  # (most: e binds var, and stores into nothing)
            self._note(self.stores, k, stored, var)

    @staticmethod
    def _note(table: dict, k: int, found, var: str) -> None:
        for name_ in found:
            if name_ == var:
                continue
            at = table[name_]
            if not at or at[-1] < k:
                at.append(k)
            else:
                place = bisect.bisect_left(at, k)
                if place == len(at) or at[place] != k:
                    at.insert(place, k)

    def after(self, i: int, var: str, stores) -> list:
        """The positions after i where `var` is mentioned or one of `stores` stored into,
        in order, each once (a list: those it comes from are short, the mentions of one
        temporary and the stores into its operands, and stay as they are while it is read)."""
        at = self.mentions.get(var)
        tails = [at[bisect.bisect_right(at, i):]] if at and at[-1] > i else []
        table = self.stores
        # (var's own stores are among its mentions: a statement mentions what it stores
        # into; an adjoint `bx = bx + ...` may have many)
        assert not CHECK or set(table.get(var, ())) <= set(at or ())
        for name_ in stores:
            at = table.get(name_)
            if at and at[-1] > i and name_ != var:
                tails.append(at[bisect.bisect_right(at, i):])
        if len(tails) == 1:  # (often: one list, nothing to merge)
            return tails[0]
        return sorted(set().union(*tails))  # (an adjoint's own positions may be many)


def _single_use(stmts: list, i: int, var: str, loads: dict, viewed: dict,
                names: _NameCache, where: _Where, reads: dict) -> int | None:
    """The index of the one statement that reads this definition of `var`, if foldable there
    (`reads`: what it reads, names.get(stmts[i])[0]).

    Looks only at the statements that mention `var` or store into an operand (`where`):
    the others cannot change the answer, and a long block has many of them. First those
    that mention var, up to the use (if only that reads var) or to where var is bound
    again; then, only if there is a use, the stores into an operand before it (on each
    operand's own list, from i: an adjoint has many, none of them needed after the use,
    nor merged with the others')."""
    # arrays an operand may view: writing into one (not rebinding it) changes the operand
    # (what `var = e` reads is what e mentions)
    bases = _bases(reads, viewed) if viewed else _NO_BASES
    only = loads[var] == 1
    scatter = ("scatter", var)  # (the adjoint annotation of a scatter into var)
    cached, entry, get = names.cached, names.entry, names.get
    use = None
    at = where.mentions.get(var)
    if not at or at[-1] <= i:
        found = None
    else:
        for j in at[bisect.bisect_right(at, i):]:
            stmt = stmts[j]
            if stmt is None:  # folded away
                continue
            held = cached(stmt) or entry(stmt)  # (None: a compound statement)
            count, rebound, stored, _, _, _, _ = held[1] if held is not None else get(stmt)
            count = count.get(var, 0)
            if count:
                if use is not None or count > 1 or held is None or held[5] == scatter \
                        or stmt.__class__ is gast.Return \
                        or (var in stored and var not in rebound):
                    use = None  # also keeps `return value, (bx, by)` short, and never
                    break  # folds a value into a statement that changes it in place
                use = j
                if only:
                    break  # the only read anywhere: nothing later can change the answer
            if var in rebound:  # killed here: foldable if read once before (or here)
                break
            if use is None and _changes_operand(stored, rebound, reads, bases):
                break  # an operand changes before the use
        else:  # (not killed in this block: the use must be the only read anywhere)
            if not only:
                use = None
        found = use
    if found is not None:  # unless an operand changes before the use
        table = where.stores
        for op in (reads, bases) if bases else (reads,):
            for name_ in op:
                at = table.get(name_)
                if not at or at[-1] <= i or name_ == var:
                    continue  # (var's own stores are among its mentions)
                for k in range(bisect.bisect_right(at, i), len(at)):
                    j = at[k]
                    if j >= use:
                        break
                    stmt = stmts[j]
                    if stmt is None:
                        continue
                    held = cached(stmt) or entry(stmt)
                    _, rebound, stored, _, _, _, _ = held[1] if held is not None \
                        else get(stmt)
                    if _changes_operand(stored, rebound, reads, bases):
                        found = None
                        break
                if found is None:
                    break
            if found is None:
                break
    if CHECK:
        assert found == _single_use_merged(stmts, i, var, loads, viewed, names, where,
                                           reads), (var, i, found)
    return found


_NO_BASES: frozenset = frozenset()


def _bases(reads: dict, viewed: dict) -> set:
    """The arrays the operands `reads` may view (see _viewed), less the operands."""
    bases = set()
    for op in reads:
        seen = viewed.get(op)
        if seen:
            bases |= seen
    return bases.difference(reads)


def _changes_operand(stored: set, rebound: set, reads: dict, bases) -> bool:
    """Whether a statement that stores into `stored` (`rebound`: those it binds afresh)
    changes an operand (one of `reads`), or writes into an array one may view."""
    for name_ in stored:
        if name_ in reads or (name_ in bases and name_ not in rebound):
            return True
    return False


def _single_use_merged(stmts: list, i: int, var: str, loads: dict, viewed: dict,
                names: _NameCache, where: _Where, reads: dict) -> int | None:
    """_single_use's answer, from every position after i where `var` is mentioned or an
    operand (or an array one may view) stored into, in order (`where.after`): what
    _single_use works out from the first few of them (simplify.CHECK compares)."""
    # (what `var = e` reads is what e mentions)
    operands = set(reads)
    # arrays an operand may view: writing into one (not rebinding it) changes the operand
    bases = set()
    for op in operands:
        seen = viewed.get(op)
        if seen:
            bases |= seen
    bases -= operands
    use, count = None, 0
    scatter = ("scatter", var)  # (the adjoint annotation of a scatter into var)
    for j in where.after(i, var, operands | bases):
        stmt = stmts[j]
        if stmt is None:  # folded away
            continue
        held = names.cached(stmt) or names.entry(stmt)  # (None: a compound statement)
        reads, rebound, stored, _, _, _, _ = held[1] if held is not None else names.get(stmt)
        reads = reads.get(var, 0)
        if reads:
            if use is not None or reads > 1 or held is None or held[5] == scatter \
                    or isinstance(stmt, gast.Return) \
                    or (var in stored and var not in rebound):
                return None  # also keeps `return value, (bx, by)` short, and never folds
                # a value into a statement that changes it in place (ys.pop())
            use, count = j, reads
            if loads[var] == 1:
                return use  # the only read anywhere: nothing later can change the answer
        if var in rebound:
            # Killed here: foldable if read once before (or by this very statement).
            return use if use is not None and count == 1 else None
        if use is None and (not operands.isdisjoint(stored) or any(
                b in stored and b not in rebound for b in bases)):
            return None  # an operand changes before the use
    # Not killed in this block: the use must be the only read anywhere.
    return use if use is not None and loads[var] == 1 else None


def _none(stmt) -> None:
    return None


class _NameCache:
    """Each simple statement's names, computed once per simplify (not once per sweep, per
    round and per statement that looks at it): get(stmt) is (reads per name, names
    rebound, names stored into, names in it). Whatever changes a statement forgets it
    first (_substitute_in does). A compound statement's names are made afresh each time,
    from its header's and those of the statements it holds (which change under it, and
    are each cached as any statement): not a walk of everything inside it. With the names
    it keeps what the sweeps ask of each statement of a long block (its target, its
    adjoint annotation: see entry), so that a sweep need not go back to the statement."""

    def __init__(self):
        self.found: dict = {}  # statement (a node hashes as itself) -> _held's list
        # a sweep's look-up of a cached statement's entry, before entry itself: a dict's
        # (under CHECK none: entry then checks each)
        self.cached = self.found.get if not CHECK else _none
        self.changes = 0  # how many times a statement was said to change (forget...)

    def get(self, stmt):
        held = self.found.get(stmt)
        if held is not None:
            return held[1]
        if stmt.__class__ in _COMPOUND:
            return self._compound(stmt)
        info = _names_of(stmt)
        # (pure and written: when asked; the target and the adjoint annotation now, while
        # the statement is at hand: sweeps over a long block then need not visit each
        # statement again for them, see entry)
        self.found[stmt] = [stmt, info, None, None, target_name(stmt),
                            anno.getanno(stmt, "adjoint", _NO_ADJOINT)]
        return info

    def _held(self, stmt) -> list:
        """[stmt, its names, whether pure, what it writes, target_name(stmt), its
        "adjoint" annotation] of a simple statement."""
        held = self.found.get(stmt)
        if held is None:
            self.get(stmt)
            held = self.found[stmt]
        return held

    def entry(self, stmt) -> list | None:
        """_held(stmt) of a simple statement, None for a compound one (whose names are
        made afresh each time, see get). A statement's target and annotations do not
        change while it is cached (what changes in simplify is its value)."""
        held = self.found.get(stmt)
        if held is None and stmt.__class__ not in _COMPOUND:
            self.get(stmt)
            held = self.found[stmt]
        if CHECK and held is not None:
            assert held[4] == target_name(stmt) \
                and held[5] == anno.getanno(stmt, "adjoint", _NO_ADJOINT) \
                and type(held[5]) is tuple, stmt  # (compared with tuples: a scatter's)
        return held

    def known(self, stmt, ctx: Context) -> list:
        """[stmt, its names, whether pure, what it writes] of a simple statement, all
        worked out (one look-up where a sweep needs them all)."""
        held = self._held(stmt)
        self.purity(held, stmt, ctx)
        self.writes(held, stmt)
        return held

    def _compound(self, stmt) -> tuple:
        """_names_of(stmt) for a compound statement, from its parts (the names in order
        and the calls are in another order: only simple statements' are read)."""
        nested = {id(block) for block in blocks(stmt)}
        parts = []
        for field in child_fields(stmt.__class__):
            value = getattr(stmt, field, None)
            if type(value) is list:
                if id(value) in nested:
                    parts.extend(self.get(s) for s in value)
                else:
                    parts.extend(_names_of(v) for v in value if isinstance(v, gast.AST))
            elif isinstance(value, gast.AST):
                parts.append(_names_of(value))
        reads, binds = defaultdict(int), defaultdict(int)
        rebound, stored, mentioned, calls, size = set(), set(), set(), [], 0
        if isinstance(stmt, gast.For) and anno.hasanno(stmt, "replays"):
            rewound = _loop_headers(anno.getanno(stmt, "replays"))
            rebound |= rewound
            stored |= rewound
            mentioned |= rewound
        for part in parts:
            for var, count in part[0].items():
                reads[var] += count
            rebound |= part[1]
            stored |= part[2]
            mentioned |= part[3]
            calls.extend(part[4])
            size += part[5]
            for var, count in part[6].items():
                binds[var] += count
        return reads, rebound, stored, mentioned, calls, size, binds

    def pure(self, stmt, ctx: Context) -> bool:
        """_pure(stmt, ctx), computed once per simple statement."""
        if stmt.__class__ in _COMPOUND:
            return _pure(stmt, ctx, self.get(stmt)[4])
        return self.purity(self._held(stmt), stmt, ctx)

    def written(self, stmt) -> set:
        """_written(stmt) of a simple statement, computed once."""
        return self.writes(self._held(stmt), stmt)

    def purity(self, held: list, stmt, ctx: Context) -> bool:
        """Whether the simple statement `stmt` (`held`: its entry) is pure, worked out once."""
        if held[2] is None:
            held[2] = _pure(stmt, ctx, held[1][4])
        return held[2]

    def writes(self, held: list, stmt) -> set:
        """What the simple statement `stmt` (`held`: its entry) writes, worked out once."""
        if held[3] is None:
            held[3] = _written(stmt, held[4])
        return held[3]

    def calls(self, stmt) -> list:
        """The calls in a statement."""
        return self.get(stmt)[4]

    def forget(self, stmt):
        self.found.pop(stmt, None)
        self.changes += 1

    def folded(self, use, var: str, definition, held: list | None = None,
               defined: list | None = None) -> None:
        """The one read of `var` in the simple statement `use` (one of _SIMPLIFIED) now is
        the value e of `definition`, `var = e`, node for node (simplify left it as it
        was): its names are those it had, less that read, and those of e (worked out, not
        walked: most folds are these). Where the definition does more than bind var
        (stores into something else, binds var twice), `use` is walked again. (`held`,
        `defined`: the entries of both, where the caller has them.)"""
        self.changes += 1
        if held is None or defined is None:
            held, defined = self.found.get(use), self.found.get(definition)
        elif CHECK:
            assert held is self.found.get(use) and defined is self.found.get(definition)
        if held is None or defined is None:
            self.forget(use)
            return
        reads, rebound, stored, mentioned, calls, size, binds = held[1]
        e_reads, e_rebound, e_stored, e_mentioned, e_calls, e_size, e_binds = defined[1]
        if len(e_binds) != 1 or e_binds.get(var) != 1 or len(e_stored) != 1 \
                or len(e_rebound) != 1 or reads.get(var) != 1:
            self.forget(use)
            return
        for c in e_calls:  # (e itself changes var: `var = var.pop()`)
            if c.func.__class__ is gast.Attribute and c.func.attr in _CHANGING_METHODS:
                self.forget(use)
                return
        del reads[var]
        for name_, count in e_reads.items():
            reads[name_] += count
        mentioned |= e_mentioned
        # (no Del in these statements: var is mentioned still if bound, or read in e:
        # `t = t * 2`)
        if var not in binds and var not in reads:
            mentioned.discard(var)
        calls.extend(e_calls)
        held[1] = (reads, rebound, stored, mentioned, calls, size + e_size, binds)
        held[2] = held[3] = None  # (whether pure, what it writes: asked again)
        if CHECK:
            walked = _names_of(use)
            assert dict(reads) == dict(walked[0]) and held[1][1:4] == walked[1:4] \
                and {id(c) for c in calls} == {id(c) for c in walked[4]} \
                and len(calls) == len(walked[4]) and size + e_size == walked[5] \
                and dict(binds) == dict(walked[6]), (held[1], walked)

    def substituted(self, stmt, var: str, value) -> None:
        """Every read of `var` in the simple statement `stmt` (one of _SIMPLIFIED) now is a
        copy of `value`, a name or a constant (_propagate's copies), and simplify left the
        tree as it was: its names are those it had, with those reads moved to the source
        (a name or a constant adds no size, makes no call). Where var is also stored into
        (`var[0] = ...`, `var.append(...)`: the store moves with it), `stmt` is walked
        again."""
        self.changes += 1
        held = self.found.get(stmt)
        if held is None:
            return
        reads, rebound, stored, mentioned, calls, size, binds = held[1]
        if var in stored or var in rebound:
            self.forget(stmt)
            return
        reads, mentioned = defaultdict(int, reads), set(mentioned)  # (new: others may hold them)
        count = reads.pop(var, 0)
        mentioned.discard(var)  # (no store of it left: it was read, if anything)
        if count and value.__class__ is gast.Name:
            reads[value.id] += count
            mentioned.add(value.id)
        held[1] = (reads, rebound, stored, mentioned, calls, size, binds)
        held[2] = held[3] = None  # (whether pure, what it writes: asked again)
        if CHECK:
            walked = _names_of(stmt)
            assert dict(reads) == dict(walked[0]) and held[1][1:4] == walked[1:4] \
                and {id(c) for c in calls} == {id(c) for c in walked[4]} \
                and len(calls) == len(walked[4]) and size == walked[5] \
                and dict(binds) == dict(walked[6]), (held[1], walked)

    def assign_contribution(self, stmt, var: str, added) -> None:
        """`var = var + c` becomes `var = c` (its value is set to `added`): its names are
        those it had, less one read of var and one operation (worked out, not walked: a
        long backward pass has thousands of these). Other forms are walked again."""
        held = self.found.get(stmt)
        value, stmt.value = stmt.value, added
        self.changes += 1
        if held is None or target_name(stmt) != var \
                or value.__class__ is not gast.BinOp or value.op.__class__ is not gast.Add \
                or value.right is not added or value.left.__class__ is not gast.Name:
            self.forget(stmt)
            return
        reads, rebound, stored, mentioned, calls, size, binds = held[1]
        reads = defaultdict(int, reads)
        reads[var] -= 1
        if not reads[var]:
            del reads[var]
        held[1] = (reads, rebound, stored, mentioned, calls, size - 1, binds)


def _names_of(stmt) -> tuple:
    """(reads per name, names rebound, names stored into, names in it, the calls in it, its
    _size, rebindings per name), from one walk (syntax.walk's, with each node looked at as
    it is reached, and without the nodes that hold nothing: a name's context, an operator,
    a constant; this runs for every statement simplify sees, and again after each change,
    so the commonest nodes are taken apart by hand: a read of a plain name where it is
    found, in an operation, a call or an attribute; `v = e` binding v first)."""
    reads: dict = defaultdict(int)
    binds: dict = defaultdict(int)
    rebound, mentioned, stored, calls, rewound = set(), set(), set(), [], None
    size = 0
    leaves = _HOLD_NOTHING
    name, load, store, binop, attribute, call, assign = gast.Name, gast.Load, gast.Store, \
        gast.BinOp, gast.Attribute, gast.Call, gast.Assign
    if stmt.__class__ is assign and len(stmt.targets) == 1 \
            and stmt.targets[0].__class__ is name and stmt.targets[0].annotation is None \
            and stmt.targets[0].ctx.__class__ is store:  # (most: `v = e`)
        id_ = stmt.targets[0].id
        mentioned.add(id_)
        rebound.add(id_)
        stored.add(id_)
        binds[id_] += 1
        found = [stmt.value] if stmt.value.__class__ not in leaves else []
    else:
        found = [stmt]
    append = found.append
    known, operations = CHILD_FIELDS, _OPERATIONS
    for n in found:  # (the list grows while it is read: breadth first, as walk)
        kind = n.__class__
        if kind is binop:  # (left, op, right: the operator holds nothing)
            size += 1
            child = n.left
            if child.__class__ is name and child.ctx.__class__ is load \
                    and child.annotation is None:
                mentioned.add(child.id)
                reads[child.id] += 1
            elif child.__class__ not in leaves:
                append(child)
            child = n.right
            if child.__class__ is name and child.ctx.__class__ is load \
                    and child.annotation is None:
                mentioned.add(child.id)
                reads[child.id] += 1
            elif child.__class__ not in leaves:
                append(child)
            continue
        if kind is name:
            id_ = n.id
            mentioned.add(id_)
            ctx = n.ctx.__class__
            if ctx is load:
                reads[id_] += 1
            elif ctx is store:
                rebound.add(id_)
                stored.add(id_)
                binds[id_] += 1
            if n.annotation is not None:
                append(n.annotation)
            continue
        if kind is attribute:  # (value, attr, ctx)
            child = n.value
            if child.__class__ is name and child.ctx.__class__ is load \
                    and child.annotation is None:
                mentioned.add(child.id)
                reads[child.id] += 1
            elif child.__class__ not in leaves:
                append(child)
            continue
        if kind is call:  # (func, args, keywords: nodes, in lists of nodes)
            size += 1
            calls.append(n)
            func = n.func
            if func.__class__ not in leaves:
                append(func)
            for item in n.args:
                if item.__class__ is name and item.ctx.__class__ is load \
                        and item.annotation is None:
                    mentioned.add(item.id)
                    reads[item.id] += 1
                elif item.__class__ not in leaves:
                    append(item)
            for item in n.keywords:
                append(item)
            if func.__class__ is attribute and func.attr in _CHANGING_METHODS:
                stored.update(_stored_by_call(n))
            continue
        if kind is assign:  # (targets, value, type_comment)
            for item in n.targets:
                if item.__class__ not in leaves:
                    append(item)
            if n.value.__class__ not in leaves:
                append(n.value)
            continue
        fields = known.get(kind)
        for field in fields if fields is not None else child_fields(kind):
            value = getattr(n, field, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, gast.AST) and item.__class__ not in leaves:
                        append(item)
            elif value is not None and value.__class__ not in leaves \
                    and isinstance(value, gast.AST):
                append(value)
        if kind in operations:
            size += 1
            if kind is gast.Subscript and n.ctx.__class__ is store \
                    and n.value.__class__ is name:
                stored.add(n.value.id)
        elif kind is gast.For and anno.hasanno(n, "replays"):
            # A backward loop rewinds its forward loop's header names: the save pass puts
            # their entry values back right after it (`x = x_entry`), so an expression
            # reading one must not move across it.
            headers = _loop_headers(anno.getanno(n, "replays"))
            rewound = headers if rewound is None else rewound | headers
    if rewound:
        stored |= rewound
        rebound |= rewound
        mentioned |= rewound
    return reads, rebound, stored, mentioned, calls, size, binds


# Nodes that hold no other node and no name (contexts, operators): _names_of skips them.
_LEAVES = frozenset(cls for base in (gast.expr_context, gast.operator, gast.unaryop,
                                     gast.cmpop, gast.boolop)
                    for cls in base.__subclasses__() if not cls._fields)
_HOLD_NOTHING = _LEAVES | {gast.Constant}  # (a constant holds a value, no node)


def _loop_headers(loop) -> set:
    """The names a loop carries from one iteration to the next (its back-edge copies)."""
    return {target_name(s) for s in getattr(loop, "body", ())
            if anno.getanno(s, "phi") == "backedge"}


# The nodes a statement's size counts (see FOLD_LIMIT).
_OPERATIONS = {gast.BinOp, gast.UnaryOp, gast.Call, gast.Compare, gast.Subscript}


# -- restores of overwritten array values -----------------------------------------


def _drop_needless_restores(func: gast.FunctionDef) -> None:
    """Drop `y[i] = saved` in the backward pass when nothing later reads y (or a view of it)."""
    if not _holds_restores(func.body):
        return
    forward = [s for s in func.body if anno.getanno(s, "section") == "forward"]
    backward = [s for s in func.body if anno.getanno(s, "section") == "backward"]
    derived = defaultdict(set)  # array -> forward names computed from it (maybe views)
    for stmt in _walk(forward):
        var = target_name(stmt)
        if var is not None:
            for n in walk(stmt.value):
                if isinstance(n, gast.Name):
                    derived[n.id].add(var)
    events = list(_events(backward))
    last_read = {}  # name -> the last read event that reads it
    for i, (kind, _, names) in enumerate(events):
        if kind == "read":
            for name_ in names:
                last_read[name_] = i
    # array -> the last read event of it or of a name computed from it (one walk of those
    # names per array, not one per restore, and no look at every later event for each:
    # restores in every statement made that quadratic)
    latest = {}
    useless = set()
    for i, (kind, stmt, _) in enumerate(events):
        if kind != "restore" or id(stmt) in useless:
            continue
        array = anno.getanno(stmt, "restores")
        if array not in latest:
            latest[array] = max((last_read.get(n, -1) for n in _closure(array, derived)),
                                default=-1)
        if CHECK:
            watched = _closure(array, derived)
            assert (latest[array] <= i) == (not any(
                k == "read" and names & watched for k, _, names in events[i + 1:]))
        if latest[array] <= i:  # nothing after it reads the array, or what it computes
            useless.add(id(stmt))
    if useless:
        _prune(func.body, useless)


def _holds_restores(stmts: list) -> bool:
    """Whether a statement in `stmts` (or inside one) has a "restores" annotation (one
    look-up for a block of many)."""
    found = anno.getannos(stmts, "restores", _ABSENT)
    held = found.count(_ABSENT) != len(found) or (  # (counted in C: most blocks have none)
        not _COMPOUND.isdisjoint(map(type, stmts))
        and any(_holds_restores(b) for stmt in stmts for b in blocks(stmt)))
    assert not CHECK or held == any(
        anno.hasanno(s, "restores") for s in walk_statements(stmts)), "restores missed"
    return held


def _closure(array: str, derived: dict) -> set:
    found, todo = set(), [array]
    while todo:
        var = todo.pop()
        if var not in found:
            found.add(var)
            todo.extend(derived.get(var, ()))
    return found


def _events(stmts: list):
    """("restore" | "read", statement, names read) in execution order; a loop body twice,
    so what one iteration restores is seen by the reads of the next."""
    for stmt in stmts:
        if isinstance(stmt, (gast.For, gast.While)):
            header = stmt.iter if isinstance(stmt, gast.For) else stmt.test
            yield "read", stmt, set(_loaded(header))
            body = list(_events(stmt.body))
            yield from body + body
        elif isinstance(stmt, gast.If):
            yield "read", stmt, set(_loaded(stmt.test))
            yield from _events(stmt.body)
            yield from _events(stmt.orelse)
        elif anno.getanno(stmt, "restores"):
            yield "restore", stmt, set()
        else:
            yield "read", stmt, set(_loaded(stmt))


def _loaded(node) -> list:
    return [n.id for n in name_nodes(node) if isinstance(n.ctx, gast.Load)]


def _prune(stmts: list, drop: set) -> None:
    stmts[:] = [s for s in stmts if id(s) not in drop]
    for stmt in stmts:
        for block in blocks(stmt):
            _prune(block, drop)
            if not block and isinstance(stmt, gast.If) and block is stmt.body:
                block.append(gast.Pass())


# -- folding inits -------------------------------------------------------------


def _fold_inits(stmts: list, names: _NameCache, ctx: Context | None = None,
                left: list | None = None) -> bool:
    """Move each adjoint init down to its first use; fold it into a first `bx = bx + c`.
    Whether anything changed. `left`, if given, gets the number of inits (and resets)
    left in each block that had one: with none left, the sweep would find nothing to do
    (no later sweep makes one)."""
    changed = False
    out: list = []
    pending: dict = {}  # adjoint name -> its init, not yet placed
    since: dict = {}  # adjoint name -> when it became pending (the order inits are placed in)
    # last_scatter[v]: the last position of a statement scattering into v (one pass)
    last_scatter = {}
    adjoints = anno.getannos(stmts, "adjoint", _NO_ADJOINT)
    nothing = _INITS.isdisjoint(map(itemgetter(0), adjoints)) \
        and _COMPOUND.isdisjoint(map(type, stmts))
    if nothing and not CHECK:
        return False  # (a straight-line block without an init: in C, no loop in Python)
    seen = 0  # inits (and resets) in stmts
    for j, stmt in enumerate(stmts):
        if stmt.__class__ in _COMPOUND:  # (its blocks first: what they scatter into stays)
            for block in blocks(stmt):
                changed |= _fold_inits(block, names, ctx, left)
            for var in _scattered(stmt):
                last_scatter[var] = j
        elif adjoints[j][0] == "scatter":  # (the common case, without a walk)
            last_scatter[adjoints[j][1]] = j
    for j, stmt in enumerate(stmts):
        op, adj = adjoints[j]
        if op in ("init", "reset"):
            seen += 1
            # an init that reads other adjoints (a display _fold_item_inits made,
            # `bp = {'W': bsub['W']}`) places theirs first (`bx = 0.0` reads none: most
            # inits, and many go, their names never needed)
            if pending and not (target_name(stmt) == adj
                                and stmt.value.__class__ is gast.Constant):
                mentioned = _call_names(stmt) or names.get(stmt)[3]
                for var in _in_order((pending.keys() & mentioned) - {adj}, since):
                    out.append(pending.pop(var))
            if adj not in pending:
                since[adj] = j
            pending[adj] = stmt  # an earlier unplaced init of adj was never read: dropped
            continue
        if not pending:  # (the forward pass, for one: no init waits)
            out.append(stmt)
            continue
        # (the names this statement mentions, not every pending init: a long block has
        # hundreds of those)
        found = pending.keys() & names.get(stmt)[3]
        if len(found) > 1:
            found = _in_order(found, since)
        for var in found:
            init = pending.pop(var)
            if (op, adj) == ("add", var):
                added = _contribution_in(stmt, var, names)
                if added is not None and (last_scatter.get(var, -1) < j
                                          or _fresh_fill(init, added, ctx)) \
                        and not _holds_contributions(init):
                    names.assign_contribution(stmt, var, added)
                    changed = True
                    continue
            out.append(init)
        out.append(stmt)
    out.extend(pending.values())  # never read: dead code removal takes them
    moved = out != stmts  # (nodes compare as themselves: one C loop)
    assert not CHECK or moved == (len(out) != len(stmts)
                                  or any(a is not b for a, b in zip(out, stmts)))
    changed |= moved
    assert not (CHECK and nothing and (changed or seen)), "a block _fold_inits skips"
    if left is not None and seen:  # (out: each other statement once, and the inits left)
        left.append(len(out) - (len(stmts) - seen))
    stmts[:] = out
    return changed


# The adjoint annotations _fold_inits moves: an init, a reset.
_INITS = frozenset({"init", "reset"})


def _holds_contributions(init: gast.AST) -> bool:
    """Whether an init is a display _fold_item_inits wrote contributions into (`bp = [bt3,
    0.0]`, from `bp[0] += bt3`): not a zero, so a first `bp = accumulate(bp, c)` must keep
    it (folded, it became `bp = c` and lost bt3)."""
    value = init.value
    items = value.elts if value.__class__ is gast.List else \
        value.values if value.__class__ is gast.Dict else ()
    return any(not (_is_zero(item) or item.__class__ is gast.Constant and item.value is None)
               for item in items)


def _call_names(stmt) -> set | None:
    """The names in `v = f(a, b)` (f a name or a dotted one, a and b names: an init such as
    `bx = np.zeros_like(x)`), without a walk; None for any other statement."""
    if stmt.__class__ is not gast.Assign or len(stmt.targets) != 1:
        return None
    target, value = stmt.targets[0], stmt.value
    if target.__class__ is not gast.Name or value.__class__ is not gast.Call or value.keywords:
        return None
    found = {target.id}
    for arg in value.args:
        if arg.__class__ is not gast.Name or arg.annotation is not None:
            return None
        found.add(arg.id)
    func = value.func
    while func.__class__ is gast.Attribute:
        func = func.value
    if func.__class__ is not gast.Name or func.annotation is not None \
            or target.annotation is not None:
        return None
    found.add(func.id)
    return found


def _fresh_fill(init: gast.Assign, added: gast.AST, ctx: Context | None) -> bool:
    """`bx = np.zeros_like(x)` whose first contribution c is arithmetic (a new array) of
    x's static shape and dtype: bx can start as c itself, also when parts of it are
    written later (`bx = 2.0 * x`, not `np.zeros_like(x) + 2.0 * x`)."""
    import numpy

    from ..values import ARRAY
    from .facts import Facts

    value = init.value
    if ctx is None or not isinstance(added, (gast.BinOp, gast.UnaryOp)) \
            or not isinstance(value, gast.Call) or len(value.args) != 1 or value.keywords \
            or not isinstance(value.args[0], gast.Name) \
            or _object(value.func, ctx) is not numpy.zeros_like:
        return False
    facts = Facts(ctx)
    want, got = facts.value(value.args[0]), facts.value(added)
    return want.kind == ARRAY and got.kind == ARRAY and want.dtype is not None \
        and got.dtype == want.dtype and want.shape is not None and len(want.shape) >= 1 \
        and all(type(d) is int for d in want.shape) and tuple(got.shape or ()) == tuple(want.shape)


def _in_order(found: set, since: dict):
    """The names `found` in the order of `since` (most statements find none, or one)."""
    return sorted(found, key=since.__getitem__) if len(found) > 1 else found


def _fold_item_inits(stmts: list, ctx: Context, names: _NameCache,
                     shown: list | None = None) -> bool:
    """`bt = [0.0, 0.0, 0.0]` then `bt[2] += a`, `bt[0] += c` becomes `bt = [c, 0.0, a]` where
    the last of them was: the adjoint of a tuple of numbers (a helper's `return a, b, c`)
    built in one display. Statements between them stay, if they change nothing the
    display reads. Whether anything changed. `shown`, if given, gets an entry for each
    display init it saw (folded or not): with none, the sweep would find nothing to do."""
    assign, displays = gast.Assign, (gast.List, gast.Dict)
    nothing = not any([s.__class__ is assign and s.value.__class__ in displays
                       for s in stmts]) and _COMPOUND.isdisjoint(map(type, stmts))
    if nothing and not CHECK:
        return False  # (most blocks: one comprehension, not the loop below)
    count = len(shown) if shown is not None else 0
    changed = False
    for stmt in stmts:
        if stmt.__class__ in _COMPOUND:
            for block in blocks(stmt):
                changed |= _fold_item_inits(block, ctx, names, shown)
    j = 0
    while j < len(stmts):
        init = stmts[j]
        if init.__class__ is not assign or init.value.__class__ not in displays:  # (most)
            j += 1
            continue
        if shown is not None:
            shown.append(init)
        var = target_name(init)
        if var is None:
            j += 1
            continue
        value = ctx.values.get(ctx.primal_of.get(var, var))
        display = init.value if isinstance(init, gast.Assign) else None
        keys = [k.value for k in display.keys] if isinstance(display, gast.Dict) else None
        if isinstance(display, gast.Dict):  # a dict or dataclass argument's adjoint
            display = gast.List(elts=display.values, ctx=gast.Load())
        if value is None or not isinstance(display, gast.List) or value.items is None \
                or len(value.items) != len(display.elts) \
                or any(v.kind != SCALAR for v in value.items) and not all(
                    _is_zero(e) and anno.getanno(e, "zero", False) or v.kind == SCALAR
                    and _is_zero(e) for e, v in zip(display.elts, value.items)):
            j += 1
            continue
        items = list(display.elts)
        reads = [(j, set(loads_of(init.value)))]  # (where evaluated, the names read)
        stores: list = []  # (where, the names stored) of the statements in between
        adds, p = [], j + 1
        while p < len(stmts):
            index = _item_add(stmts[p], var, len(items), keys)
            if index is not None:
                reads.append((p, set(loads_of(stmts[p].value))))
                adds.append((p, index))
            elif _mentions(stmts[p], var) or compound(stmts[p]):
                break
            else:
                stores.append((p, set(store_names(stmts[p]))))
            p += 1
        # The display moves to the last add whose values (and the earlier ones) are not
        # changed between where they were computed and there.
        while adds and any(read & names for where, read in reads if where <= adds[-1][0]
                           for at, names in stores if where < at < adds[-1][0]):
            adds.pop()
        if not adds:
            j += 1
            continue
        for p, index in adds:
            added = stmts[p].value
            items[index] = added if _is_zero(items[index]) else gast.BinOp(
                left=items[index], op=gast.Add(), right=added)
        last = adds[-1][0]
        init.value = gast.List(elts=items, ctx=gast.Load()) if keys is None else gast.Dict(
            keys=[const(k) for k in keys], values=items)
        names.forget(init)
        stmts[last] = init
        for p, _ in reversed(adds[:-1]):
            del stmts[p]
        del stmts[j]
        changed = True
    assert not (CHECK and nothing and (changed or shown is not None and len(shown) > count)), \
        "a block _fold_item_inits skips"
    return changed


def _read_items(stmts: list, names: _NameCache) -> bool:
    """`bp = [a, 0.0]` (a display of names and constants in the backward pass), then
    `bw = bp[0]`: the read becomes `bw = a`, in the statements after the display up to
    one that stores into bp or an item's name, or mentions bp otherwise. (The adjoint of
    a NamedTuple or dataclass built in the function is read field by field: once every
    read is an item, the display is dead.) Whether anything changed."""
    changed = False
    for i, stmt in enumerate(stmts):
        if stmt.__class__ in _COMPOUND:
            for block in blocks(stmt):
                changed |= _read_items(block, names)
            continue
        items = _atom_items(stmt)
        if items is None:
            continue
        var = stmt.targets[0].id
        sources = {e.id for e in items.values() if e.__class__ is gast.Name}
        for later in stmts[i + 1:]:
            if later.__class__ in _COMPOUND or _is_scatter_on(later, var):
                break
            if _replace_items(later, var, items):
                names.forget(later)
                changed = True
            if _mentions(later, var) or sources.intersection(store_names(later)):
                break
    return changed


def _atom_items(stmt) -> dict | None:
    """{(type of the key, key): item} of `v = [a, 0.0]` (keys 0, 1 and -2, -1) or
    `v = {"w": a}` in the backward pass, every item a name or a constant; else None."""
    if stmt.__class__ is not gast.Assign or len(stmt.targets) != 1 \
            or stmt.targets[0].__class__ is not gast.Name \
            or anno.getanno(stmt, "section") != "backward":
        return None
    value = stmt.value
    if value.__class__ is gast.List:
        size = len(value.elts)
        keyed = {(int, k): e for i, e in enumerate(value.elts) for k in (i, i - size)}
    elif value.__class__ is gast.Dict and all(
            k is not None and k.__class__ is gast.Constant for k in value.keys):
        keyed = {(type(k.value), k.value): v for k, v in zip(value.keys, value.values)}
    else:
        return None
    if not all(e.__class__ is gast.Name or e.__class__ is gast.Constant
               for e in keyed.values()):
        return None
    return keyed


def _replace_items(node: gast.AST, var: str, items: dict) -> bool:
    """Put the item in place of each read `var[k]` (a constant k among `items`' keys) below
    `node`; whether there was one."""
    replaced = False
    fields = node.__dict__
    for key in node._fields:
        child = fields.get(key)
        children = child if type(child) is list else [child]
        for i, item in enumerate(children):
            if not isinstance(item, gast.AST):
                continue
            found = _item_read(item, var, items)
            if found is not None:
                if type(child) is list:
                    child[i] = clone(found)
                else:
                    fields[key] = clone(found)
                replaced = True
            elif item._fields:
                replaced |= _replace_items(item, var, items)
    return replaced


def _item_read(node: gast.AST, var: str, items: dict):
    """The item `var[k]` reads, if `node` is such a read."""
    if node.__class__ is gast.Subscript and node.value.__class__ is gast.Name \
            and node.value.id == var and node.ctx.__class__ is gast.Load \
            and node.slice.__class__ is gast.Constant:
        return items.get((type(node.slice.value), node.slice.value))
    return None


def _item_add(stmt, var: str, length: int, keys=None) -> int | None:
    """k, for `var[k] += c` with a constant k in range and c not reading var (with keys:
    the position of the constant key k)."""
    if isinstance(stmt, gast.AugAssign) and isinstance(stmt.op, gast.Add) \
            and isinstance(stmt.target, gast.Subscript) \
            and isinstance(stmt.target.value, gast.Name) and stmt.target.value.id == var \
            and isinstance(stmt.target.slice, gast.Constant) \
            and not _mentions(stmt.value, var):
        key = stmt.target.slice.value
        if keys is not None:
            return keys.index(key) if key in keys else None
        if type(key) is int and 0 <= key < length:
            return key
    return None


def _is_zero(node) -> bool:
    """0.0, or the zeros of an item of a dict adjoint (facts.keyed_zero)."""
    return isinstance(node, gast.Constant) and node.value == 0.0 and type(node.value) is float \
        or anno.getanno(node, "zero", False)


def _contribution_in(stmt, var: str, names: _NameCache) -> gast.AST | None:
    """contribution(stmt.value, var) of a statement `var = ...`; for `var = var + c` where
    the name cache shows var read once (there) and bound once (the target), c itself,
    without a walk of c to see that it does not mention var (a long backward pass has
    thousands of these)."""
    value = stmt.value
    if value.__class__ is gast.BinOp and value.op.__class__ is gast.Add \
            and value.left.__class__ is gast.Name and value.left.id == var \
            and value.left.ctx.__class__ is gast.Load and target_name(stmt) == var:
        info = names.get(stmt)
        if info[0].get(var) == 1 and info[6].get(var) == 1:
            return value.right
    return contribution(value, var)


def contribution(total: gast.AST, var: str) -> gast.AST | None:
    """c, for an accumulation `var + c`, `var - c` or `accumulate(var, c)` (c not reading var)."""
    if isinstance(total, gast.BinOp) and isinstance(total.op, (gast.Add, gast.Sub)):
        left, right = total.left, total.right
        if _mentions(right, var):
            return None
        if isinstance(left, gast.Name) and left.id == var:
            if isinstance(total.op, gast.Add):
                return right
            return algebra.simplify(gast.UnaryOp(op=gast.USub(), operand=right))
        inner = contribution(left, var)  # (var + a) + b, after folding two additions
        if inner is not None:
            return gast.BinOp(left=inner, op=total.op, right=right)
    if isinstance(total, gast.Call) and len(total.args) == 2 and not total.keywords:
        first, second = total.args
        if isinstance(first, gast.Name) and first.id == var and not _mentions(second, var):
            return second
    return None


def _scattered(stmt: gast.AST) -> set[str]:
    """The adjoints `stmt` (or a statement inside it) scatters into."""
    found = set()
    for s in walk_statements([stmt]):
        op, adj = anno.getanno(s, "adjoint", (None, None))
        if op == "scatter":
            found.add(adj)
    return found


# -- copy and constant propagation --------------------------------------------


def _propagate(stmts: list, derivative: frozenset, names: _NameCache) -> bool:
    """Substitute each backward copy or constant into the statements that follow it in
    its block, until its name or source is stored into. Whether anything changed."""
    changed = False
    # name -> positions of the statements that mention it (or scatter into it), and of
    # those that store into it: each copy visits only the statements it concerns, not
    # the whole rest of a long block
    # (sorted lists: a copy looks only at the positions after it, in order, until it stops;
    # made at the first copy, from there: often there is none)
    at = stored_at = None
    assign, copied, compound_ = gast.Assign, _COPIED, _COMPOUND
    for i, stmt in enumerate(stmts):
        kind = stmt.__class__
        if kind is assign:
            if stmt.value.__class__ not in copied:
                continue  # (most statements: no need to look further)
        elif kind in compound_:
            for block in blocks(stmt):
                changed |= _propagate(block, derivative, names)
            continue
        else:
            continue
        var = target_name(stmt)
        if var is None or anno.getanno(stmt, "section") != "backward":
            continue
        value = stmt.value
        if isinstance(value, gast.Name) and value.id == var:
            continue
        source = value.id if isinstance(value, gast.Name) else None
        if at is None:
            at, stored_at = _positions(stmts, i, names)
        # (at[var] holds stored_at[var]: a statement mentions what it stores into)
        assert not CHECK or set(stored_at.get(var, ())) <= set(at.get(var, ()))
        runs = [at.get(var, ()), stored_at.get(source, ())]
        for j in _merged_after(runs, i):  # (at[source] changes below: it is not one of them)
            later = stmts[j]
            if source is not None:  # substituting may bring the source in
                brought = at[source]
                place = bisect.bisect_left(brought, j)
                if place == len(brought) or brought[place] != j:
                    brought.insert(place, j)
            held = names.cached(later) or names.entry(later)  # (None: a compound statement)
            stored = (held[1] if held is not None else names.get(later))[2]
            stops = var in stored or (source is not None and source in stored)
            if held is None:
                if stops:
                    changed |= _substitute_in(_headers(later), var, value, derivative, names)
                    break
                changed |= _substitute_in([later], var, value, derivative, names)
                continue
            if held[5] == ("scatter", var):  # (_is_scatter_on, from the name cache)
                break
            if not isinstance(later, gast.Return):  # `return y, (bx, by)` keeps its names
                changed |= _substitute_in([later], var, value, derivative, names)
            if stops:
                break
    return changed


def _positions(stmts: list, start: int, names: _NameCache) -> tuple:
    """name -> the positions from `start` on of the statements that mention it (or scatter
    into it), and name -> those of the statements that store into it."""
    at, stored_at = defaultdict(list), defaultdict(list)
    cached, entry = names.cached, names.entry
    for k in range(start, len(stmts)):
        held = cached(stmts[k]) or entry(stmts[k])
        if held is not None:
            _, _, stored, mentioned, _, _, _ = held[1]
            op, adj = held[5]
        else:  # (a compound statement)
            _, _, stored, mentioned, _, _, _ = names.get(stmts[k])
            op, adj = anno.getanno(stmts[k], "adjoint", _NO_ADJOINT)
        for n in mentioned:
            at[n].append(k)
        for n in stored:
            stored_at[n].append(k)
        if op == "scatter" and (not at[adj] or at[adj][-1] != k):
            at[adj].append(k)
    return at, stored_at


# The values a copy propagates: a name (`bt = by`) or a constant (`by = 1.0`).
_COPIED = (gast.Name, gast.Constant)


def _merged_after(runs: list, i: int) -> list:
    """The positions after i in any of the sorted lists `runs`, in order, each once (a
    list: the runs stay as they are while it is read)."""
    tails = [run[bisect.bisect_right(run, i):] for run in runs if run and run[-1] > i]
    if len(tails) == 1:  # (most: one run, nothing to merge)
        return tails[0]
    return sorted(set().union(*tails))


def _headers(stmt: gast.AST) -> list:
    if isinstance(stmt, gast.If) or isinstance(stmt, gast.While):
        return [stmt.test]
    if isinstance(stmt, gast.For):
        return [stmt.iter]
    return []


def _rebinds(node: gast.AST, var: str) -> bool:
    return any(n.id == var and type(n.ctx) is gast.Store for n in name_nodes(node))


def _stores(node: gast.AST, var: str) -> bool:
    """Whether `node` rebinds `var` or writes into it (`var[i] = ...`, `var[i] += ...`)."""
    return var in _stored_names(node)


def _stored_names(node: gast.AST) -> set[str]:
    """The names `node` rebinds or writes into (also np.add.at(var, ...), var.pop(),
    var.append(...))."""
    return _stored_among(nodes_of(node, (gast.Name, gast.Subscript, gast.Call)))


def _stored_among(nodes) -> set[str]:
    found = set()
    for n in nodes:
        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
            found.add(n.id)
        elif isinstance(n, gast.Subscript) and isinstance(n.ctx, gast.Store) \
                and isinstance(n.value, gast.Name):
            found.add(n.value.id)
        elif isinstance(n, gast.Call):
            found.update(_stored_by_call(n))
    return found


# The methods whose call changes a name's value (see _stored_by_call).
_CHANGING_METHODS = frozenset({"at", "pop", "append"})


def _stored_by_call(n: gast.Call) -> tuple:
    """The names a call changes: np.add.at(var, ...), var.pop(), var.append(...)."""
    func = n.func
    if not isinstance(func, gast.Attribute) or func.attr not in _CHANGING_METHODS:
        return ()
    found = (n.args[0].id,) if n.args and isinstance(n.args[0], gast.Name) else ()
    if func.attr != "at" and isinstance(func.value, gast.Name):
        found += (func.value.id,)
    return found


def _is_scatter_on(stmt: gast.AST, var: str) -> bool:
    op, adj = anno.getanno(stmt, "adjoint", (None, None))
    return op == "scatter" and adj == var


def _substitute_in(nodes: list, var: str, value: gast.AST,
                   derivative: frozenset = frozenset(), names: _NameCache | None = None) -> bool:
    """Replace reads of `var` by `value` in `nodes`, then re-simplify what changed (and
    say whether there was a read to replace).
    Statements assigning a name in `derivative` (adjoints, tangents) hold floats only;
    others may hold ints (see algebra.simplify). `names` forgets the statements changed
    (and tells which simple statements mention `var` without walking them)."""
    replaced = False
    for node in nodes:
        simple = isinstance(node, gast.stmt) and not compound(node)
        if names is not None and simple:
            if var not in names.get(node)[3]:
                continue
        elif not _mentions(node, var):
            continue
        replaced |= _replace_loads(node, var, value)
        if simple and names is not None and node.__class__ in _SIMPLIFIED \
                and node.value is not None:  # (most: names worked out, if simplify keeps it)
            floats = target_name(node) in derivative
            if CHECK:  # (as simplify makes it; as it was, if it says it changed nothing)
                was = gast.dump(node.value)
                simplified = gast.dump(algebra.simplify(copy.deepcopy(node.value), floats))
            node.value, changed = algebra.simplify_again_changed(node.value, floats, {})
            if CHECK:
                assert gast.dump(node.value) == simplified and (changed or simplified == was)
            if changed:
                names.forget(node)
            else:
                names.substituted(node, var, value)
            continue
        # (a simple statement holds no other statement; a compound one holds several)
        for sub in [node] if simple else walk_statements([node]) \
                if isinstance(node, gast.stmt) else ():
            if isinstance(sub, (gast.Assign, gast.AugAssign, gast.Expr, gast.Return)) \
                    and sub.value is not None:
                sub.value = algebra.simplify(sub.value, target_name(sub) in derivative)
            if names is not None:
                names.forget(sub)
    return replaced


def _replace_loads(node: gast.AST, var: str, value: gast.AST) -> bool:
    """Replace each read of `var` below `node` (not `node` itself) by a copy of `value`;
    whether there was one."""
    replaced = False
    fields = node.__dict__
    for key in node._fields:
        child = fields.get(key)
        if isinstance(child, gast.AST):
            if type(child) is gast.Name:
                if child.id == var and isinstance(child.ctx, gast.Load):
                    fields[key] = clone(value)
                    replaced = True
            elif child._fields:  # (not an operator or a context: nothing in those)
                replaced |= _replace_loads(child, var, value)
        elif type(child) is list:
            for i, item in enumerate(child):
                if type(item) is gast.Name:
                    if item.id == var and isinstance(item.ctx, gast.Load):
                        child[i] = clone(value)
                        replaced = True
                elif isinstance(item, gast.AST):
                    replaced |= _replace_loads(item, var, value)
    return replaced


# -- dead code ------------------------------------------------------------------


def _remove_self_copies(stmts: list) -> bool:
    """`bs = bs` (left when a copy was propagated into its own source) does nothing.
    Whether there was one."""
    kept = [s for s in stmts if not (
        s.__class__ is gast.Assign and s.value.__class__ is gast.Name
        and target_name(s) == s.value.id)]
    changed = len(kept) != len(stmts)
    stmts[:] = kept
    for stmt in stmts:
        if stmt.__class__ not in _COMPOUND:
            continue
        for block in blocks(stmt):
            changed |= _remove_self_copies(block)
            if not block and isinstance(stmt, gast.If) and block is stmt.body:
                block.append(gast.Pass())
    return changed


def _remove_dead_stores(stmts: list, ctx: Context, names: _NameCache,
                        watch: _StoreWatch | None = None) -> bool:
    """Drop `v = e` when the same block assigns v again before anything reads it.
    Whether there was one. `watch` (if given) notes what keeps the stores left from
    being dead (see _StoreWatch)."""
    changed = False
    for stmt in stmts:
        if stmt.__class__ in _COMPOUND:
            for block in blocks(stmt):
                changed |= _remove_dead_stores(block, ctx, names, watch)
    # (a store can be dead only from the first name assigned again on: in a long function
    # that is where the backward pass starts, the forward pass assigning each name once)
    cached, entry = names.cached, names.entry  # (target, names, adjoint: cached)
    entries = [cached(stmt) or entry(stmt) for stmt in stmts]
    targets = [None if held is None else held[4] for held in entries]
    assert not CHECK or targets == _targets(stmts)
    again = {var for var, n in Counter(targets).items() if n > 1} - {None}
    first = next((i for i, var in enumerate(targets) if var in again), len(stmts))
    dropped = set()
    read_next = {} if watch is not None else None
    for i, overwritten in _overwritten_next(stmts, names, first, targets, read_next,
                                            entries):
        var = targets[i]
        if var is None:
            continue
        if var in overwritten:
            if names.pure(stmts[i], ctx):
                dropped.add(i)
        elif read_next is not None:
            reader = read_next.get(var)
            if reader is not None:
                watch.readers.append(reader)
    if dropped:  # (one pass: deleting one by one moves the rest of a long block each time)
        if watch is not None:
            watch.dropped.update(id(stmts[i]) for i in dropped)
        stmts[:] = [s for i, s in enumerate(stmts) if i not in dropped]
    return changed or bool(dropped)


class _StoreWatch:
    """What keeps the stores _remove_dead_stores left from being dead: it can tell whether
    the sweep, run again with no statement changed since and some removed, would drop
    nothing (simplify's last round is then one sweep shorter).

    A store left alone (`v = e`) is read next by nothing, by a compound statement, or by a
    simple statement r, the reader (a read of v or a scatter into it; not an assignment:
    the store would be dead). Removing statements changes that only where r goes: then
    the store's next event is the one after r, which the sweep noted as r's `after` (an
    assignment: the store is dead now; a reader, which is looked at in turn; or nothing
    or a compound statement, which stays).
    An event is (r, after), ASSIGNED or None."""

    ASSIGNED = "assigned"  # (an assignment of v)

    def __init__(self):
        self.readers: list = []  # the next event of each store left that has a reader
        self.dropped: set = set()  # the ids of the statements the sweep dropped

    def finds_nothing(self, gone: set) -> bool:
        """Whether the sweep, run again, would drop nothing, if since it ran nothing
        changed but the removal of the statements `gone` (ids) and of those it dropped."""
        gone = gone | self.dropped if self.dropped else gone
        if not gone:
            return True
        assigned = self.ASSIGNED
        for event in self.readers:
            while event.__class__ is tuple and id(event[0]) in gone:
                event = event[1]  # (the reader went: the event after it)
            if event is assigned:
                return False  # (the store is dead now)
        return True


def _targets(stmts: list) -> list:
    """target_name(stmt) of each statement (a listing of every statement of a block)."""
    assign, name = gast.Assign, gast.Name
    return [stmt.targets[0].id if stmt.__class__ is assign and len(stmt.targets) == 1
            and stmt.targets[0].__class__ is name else None for stmt in stmts]


def _overwritten_next(stmts: list, names: _NameCache, stop: int = 0, targets=None,
                      read_next: dict | None = None, entries: list | None = None):
    """From the last statement back to statement `stop`, (i, the names whose next event
    after statement i is an assignment: not a read, a scatter into them, or a compound
    statement, which may read them). One set, changed after each step: once all are done
    it holds the names assigned before anything else happens to them from statement `stop`
    on. (One pass: adjoints such as bx are assigned all over a long block.)
    `targets`: target_name of each statement, if known. `read_next`, if given, is kept
    as name -> (r, after): r the statement of its next event after statement i if that
    is a read or a scatter (none if a compound statement), `after` its next event after
    r, in turn (see _StoreWatch). `entries`: names.entry of each statement, if known."""
    overwritten: set = set()
    if entries is None:
        entries = [names.entry(stmt) for stmt in stmts]
    augassign = gast.AugAssign
    for i in range(len(stmts) - 1, stop - 1, -1):
        yield i, overwritten
        held = entries[i]
        if held is None:  # (a compound statement)
            overwritten.clear()
            if read_next is not None:
                read_next.clear()
            continue
        stmt, info = held[0], held[1]
        op, adj = held[5]
        if read_next is not None:  # (what is after the statement: before it is looked at)
            read = info[0]
            if stmt.__class__ is augassign or op == "scatter":
                read = set(read)
                if stmt.__class__ is augassign:
                    read |= info[2]
                if op == "scatter":
                    read.add(adj)
            _note_reads(read_next, stmt, read, overwritten)
        var = targets[i] if targets is not None else target_name(stmt)
        if var is not None:
            overwritten.add(var)
        if overwritten:  # (a statement reads before it writes)
            overwritten.difference_update(info[0])  # (each count is at least 1)
            if stmt.__class__ is augassign:  # (`v += c` reads v, stored to, too)
                overwritten.difference_update(info[2])
            if op == "scatter":
                overwritten.discard(adj)


def _note_reads(read_next: dict, stmt, read, overwritten: set) -> None:
    """Statement `stmt` reads the names `read` (before what is after it: read_next and
    overwritten, see _overwritten_next)."""
    for var in read:
        if var in overwritten:
            read_next[var] = (stmt, _StoreWatch.ASSIGNED)
        else:
            read_next[var] = (stmt, read_next.get(var))


_NO_ADJOINT = (None, None)


# What _remove_dead did: nothing; removed statements (run again on what it left, it
# would remove nothing more); removed a loop or an `if` too (whose header kept names
# live: run again, it may find more).
_KEPT, _REMOVED, _REMOVED_BRANCHES = 0, 1, 2


def _remove_dead(func: gast.FunctionDef, ctx: Context, names: _NameCache,
                 gone: set | None = None) -> int:
    """Mark and sweep: keep what the return value, the side effects and the control flow
    need, transitively; remove every other pure statement (cycles through loops too).
    What it did (see _KEPT). `gone`, if given, gets the ids of the simple statements
    removed."""
    defs = defaultdict(list)  # var -> what each statement that writes it reads
    live: set[str] = set()
    known = []  # names.known of each simple statement, in the order scan and prune see them
    found = names.found
    note, ret = known.append, gast.Return

    def scan(stmts):
        for stmt in stmts:
            if stmt.__class__ in _COMPOUND:
                for header in _headers(stmt):
                    live.update(loads_of(header))
                for block in blocks(stmt):
                    scan(block)
                continue
            held = found.get(stmt)
            if held is None or held[2] is None or held[3] is None:
                held = names.known(stmt, ctx)
            note(held)
            written, reads = held[3], held[1][0]
            if not written or not held[2] or stmt.__class__ is ret:
                live.update(reads)  # a side effect, or the result
                if stmt.__class__ is not ret:
                    live.update(written)
            for var in written:
                defs[var].append(reads)

    scan(func.body)
    todo = list(live)
    while todo:
        var = todo.pop()
        for reads in defs.get(var, ()):
            if live.issuperset(reads):  # (most: all read are live already)
                continue
            for used in reads:
                if used not in live:
                    live.add(used)
                    todo.append(used)

    def prune(stmts):
        out = []
        for stmt in stmts:
            if stmt.__class__ in _COMPOUND:
                for block in blocks(stmt):
                    block[:] = prune(block)
                if isinstance(stmt, gast.If) and not _real(stmt.body) and not _real(stmt.orelse):
                    result[0] = _REMOVED_BRANCHES
                    continue
                if isinstance(stmt, gast.If) and not _real(stmt.body):
                    emptied(stmt)
                if isinstance(stmt, (gast.For, gast.While)) and not _real(stmt.body):
                    if isinstance(stmt, gast.For) and _pure(stmt.iter, ctx) \
                            and not set(store_names(stmt.target)) & live:
                        result[0] = _REMOVED_BRANCHES
                        continue  # a loop left with nothing to do (its target unread)
                    emptied(stmt)  # a while loop still runs until its test fails
                out.append(stmt)
                continue
            held = take()
            assert held[0] is stmt or not CHECK
            written = held[3]
            if written and held[2] and live.isdisjoint(written):
                if gone is not None:
                    gone.add(id(stmt))
                continue
            out.append(stmt)
        if len(out) != len(stmts):
            result[0] = max(result[0], _REMOVED)
        return out

    def emptied(stmt):  # a body left with nothing to do is `pass`
        if len(stmt.body) != 1:
            result[0] = max(result[0], _REMOVED)
        stmt.body = [gast.Pass()]

    result = [_KEPT]
    take = iter(known).__next__
    func.body = prune(func.body)
    scan = prune = None  # (recursive closures: a reference cycle holding the whole tree)
    return result[0]


def _real(stmts: list) -> bool:
    return any(not isinstance(s, gast.Pass) for s in stmts)


def _written(stmt: gast.AST, var: str | None) -> set[str]:
    """Variables a simple statement assigns or writes into (`var`: its target_name)."""
    if var is not None:  # (most)
        return {var}
    if isinstance(stmt, gast.Assign):
        target = stmt.targets[0]
        if isinstance(target, (gast.Name, gast.Tuple)):
            return set(assigned_names(stmt))
        if isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name):
            return {target.value.id}
    if isinstance(stmt, gast.AugAssign) and isinstance(stmt.target, gast.Subscript) \
            and isinstance(stmt.target.value, gast.Name):
        return {stmt.target.value.id}
    if anno.getanno(stmt, "adjoint", (None, None))[0] == "scatter":  # np.add.at(bx, ...)
        return {anno.getanno(stmt, "adjoint")[1]}
    if isinstance(stmt, (gast.Expr, gast.Assign)) and isinstance(stmt.value, gast.Call):
        func = stmt.value.func  # ys.append(v), stack.pop(): they change the list
        if isinstance(func, gast.Attribute) and func.attr in ("append", "pop") \
                and isinstance(func.value, gast.Name):
            return {func.value.id} | (set(assigned_names(stmt)) if isinstance(
                stmt, gast.Assign) else set())
    return set()


# Array methods the generated code calls that change nothing (x[i].copy()).
PURE_METHODS = {"copy", "reshape", "sum", "mean", "astype", "transpose"}


def _pure(stmt: gast.AST, ctx: Context, calls=None) -> bool:
    """Whether running `stmt` changes nothing but what it assigns (`calls`: the calls in
    it, if known)."""
    for n in nodes_of(stmt, gast.Call) if calls is None else calls:
        callee = anno.getanno(n, "callee") if anno.hasanno(n, "callee") else _object(n.func, ctx)
        if isinstance(callee, tuple):  # a method of a local value: x.sum() is pure
            continue
        if callee is None and isinstance(n.func, gast.Attribute) and n.func.attr in PURE_METHODS:
            continue
        module = getattr(callee, "__module__", None) or ""
        if isinstance(callee, type) and callee.__module__ == "builtins":
            continue
        if callee is print or module.split(".")[0] not in ("math", "numpy", "ast_ad") \
                and module != "builtins":
            if anno.getanno(stmt, "adjoint", (None, None))[0] == "scatter":
                continue
            return False
    return True


def _object(node, ctx):
    if isinstance(node, gast.Name):
        if node.id in ctx.references:
            return ctx.references[node.id]
        import builtins

        return getattr(builtins, node.id, None)
    if isinstance(node, gast.Attribute):
        return getattr(_object(node.value, ctx), node.attr, None)
    return None
