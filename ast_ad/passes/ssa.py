"""Rename variables so that every assignment defines a new name (static single assignment).

Straight-line code never overwrites a value, so the backward pass can read
every forward value where it was computed. Values merge through explicit
copies annotated "phi":

- after an if/else, a variable assigned in either branch gets one name; each
  branch's last assignment is renamed to it, or a branch that did not assign
  it ends with a copy (`y_2 = y`)            phi = "merge"
- a variable a loop body assigns and that is live around the loop gets a
  header name: a copy before the loop (`s_1 = s`, coalesced away when the
  old name has no other use) and one at the end of the body (`s_1 = s_2`)
                                              phi = "entry" / "backedge"
- a header the body reads before any value exists starts as None
                                              phi = "undefined"

Inside a loop body names are still assigned once per iteration; the reverse
pass saves what the backward pass needs of each iteration.
"""

from __future__ import annotations

import bisect
from collections import Counter

import gast

from .. import anno
from ..context import Context
from ..errors import UnsupportedSyntaxError
from ..syntax import (
    assign,
    blocks,
    const,
    item_write,
    load_and_store_names,
    load_names,
    name,
    param_names,
    rename,
    store_names,
    walk_lean,
    walk_statements,
)

# (a name or a constant: what _SSA.stmt renames without a walk)
_ATOMS = (gast.Name, gast.Constant)


def ssa(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    renamer = _Renamer(ctx, func)
    env = {p: p for p in renamer.params}
    func.body = renamer.block(func.body, env)
    renamer.start_unbound(func)
    _coalesce_entry_copies(func)
    _merge_write_aliases(func, ctx)
    return func


def _merge_write_aliases(func: gast.FunctionDef, ctx: Context) -> None:
    """`y = z` then `y[0] = v` (or `z[0] = v`): y and z are one array, so writing through
    either changes both. Give them one name (z), so every later read of either sees the
    write.

    A name a branch merges (`y = a if c else b`) is one of several arrays, known
    only at run time: a write through it is rejected rather than left untracked."""
    params = set(param_names(func))
    loops = [s for s in walk_statements(func.body) if isinstance(s, (gast.For, gast.While))]
    while True:
        writes = {}
        for s in walk_statements(func.body):
            written = item_write(s)
            if written:
                writes.setdefault(written[0], s)
        if not writes:
            return  # (nothing written into: no alias to merge)
        definitions: dict[str, list] = {}
        for s in walk_statements(func.body):
            if isinstance(s, gast.Assign) and len(s.targets) == 1 \
                    and isinstance(s.targets[0], gast.Name):
                definitions.setdefault(s.targets[0].id, []).append(s)
        for array in sorted(writes):
            defs = definitions.get(array, [])
            if len(defs) == 1 and _is_copy(defs[0]):
                _remove(func.body, defs[0])
                rename(func, {array: defs[0].value.id})
                break
            copies = [d[0] for d in definitions.values() if len(d) == 1 and _is_copy(d[0])
                      and d[0].value.id == array]
            if copies and (array in params or len(defs) == 1 and not anno.getanno(defs[0], "phi")
                           and not any(defs[0] in walk_statements(loop.body)
                                       for loop in loops)):
                # `w = z` then `z[0] = v`: w is z (z is never rebound), so it sees the write
                _remove(func.body, copies[0])
                rename(func, {copies[0].targets[0].id: array})
                break
            aliased = _branch_aliases(array, definitions, set())
            if len(defs) > 1 and aliased:
                names = sorted({ctx.src_name(a) for a in aliased
                                if a not in ctx.namer.invented}) or ["another array"]
                others = " or ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1
                                     else names)
                raise ctx.error(
                    UnsupportedSyntaxError, writes[array],
                    f"unsupported: writing into an array that, depending on a branch, may be "
                    f"{others}: the write would change it unseen",
                    "copy it first (y = np.copy(a if c else b)), or write into each array "
                    "in its own branch")
        else:
            return


def _is_copy(stmt: gast.Assign) -> bool:
    return isinstance(stmt.value, gast.Name) and not anno.getanno(stmt, "phi")


def _branch_aliases(var: str, definitions: dict, seen: set) -> set[str]:
    """The other variables whose array `var` may be, through copies and branch merges."""
    if var in seen:
        return set()
    seen.add(var)
    found: set[str] = set()
    for stmt in definitions.get(var, []):
        if isinstance(stmt.value, gast.Name):
            source = stmt.value.id
            if _is_copy(stmt):
                found.add(source)
            found |= _branch_aliases(source, definitions, seen)
    return found


def _remove(stmts: list, target) -> bool:
    for i, stmt in enumerate(stmts):
        if stmt is target:
            del stmts[i]
            return True
        for block in ([stmt.body, stmt.orelse] if isinstance(stmt, gast.If)
                      else [stmt.body] if isinstance(stmt, (gast.For, gast.While)) else []):
            if _remove(block, target):
                return True
    return False


class _Renamer:
    def __init__(self, ctx: Context, func: gast.FunctionDef):
        self.namer = ctx.namer
        self.params = param_names(func)
        self.defined: set[str] = set(self.params)
        # (name, branch, other branch, if): a name one branch of an if assigns and the other
        # leaves unbound, as Python does
        self.unbound: list = []
        # How often each variable is mentioned, in the whole function and in each
        # loop body, counted before any renaming.
        self.body_mentions = {
            id(loop): Counter(_mentions(loop.body))
            for loop in walk_statements(func.body) if isinstance(loop, (gast.For, gast.While))
        }
        # (read at loops only: without one, no walk of the whole function for it)
        self.mentions = Counter(_mentions(func.body)) if self.body_mentions else Counter()

    def new_name(self, var: str) -> str:
        if var not in self.defined:
            self.defined.add(var)
            return self.namer.reserve(var)
        return self.namer.version(var)

    def uses(self, node: gast.AST, env: dict) -> None:
        for n in walk_lean(node):
            if n.__class__ is gast.Name and n.ctx.__class__ is gast.Load and n.id in env:
                n.id = env[n.id]

    def block(self, stmts: list, env: dict) -> list:
        out = []
        for stmt in stmts:
            out.extend(self.stmt(stmt, env))
        return out

    def stmt(self, stmt: gast.AST, env: dict) -> list:
        cls = stmt.__class__
        if cls is gast.If:
            return self.if_(stmt, env)
        if cls is gast.For or cls is gast.While:
            return self.loop(stmt, env)
        if cls is gast.Assign and stmt.targets[0].__class__ is gast.Name:
            value = stmt.value
            if value.__class__ is gast.BinOp and value.left.__class__ in _ATOMS \
                    and value.right.__class__ in _ATOMS:  # (most statements: no walk)
                for atom in (value.left, value.right):
                    if atom.__class__ is gast.Name and atom.id in env \
                            and atom.ctx.__class__ is gast.Load:
                        atom.id = env[atom.id]
            else:
                self.uses(value, env)
            var = stmt.targets[0].id
            env[var] = stmt.targets[0].id = self.new_name(var)
            return [stmt]
        self.uses(stmt, env)
        return [stmt]

    def if_(self, stmt: gast.If, env: dict) -> list:
        self.uses(stmt.test, env)
        env_then, env_else = _Branch(env), _Branch(env)
        stmt.body = self.block(stmt.body, env_then)
        stmt.orelse = self.block(stmt.orelse, env_else)
        # (only a name a branch assigned can differ between them: not every name in scope,
        # which made a function of many ifs quadratic)
        for var in sorted(env_then.assigned | env_else.assigned):
            then_name, else_name = env_then.get(var), env_else.get(var)
            if then_name == else_name:
                continue
            old = env.get(var)  # (env changes below only at var, after this)
            if then_name is None or else_name is None:  # unbound on one path
                env[var] = then_name or else_name
                self.unbound.append((env[var], *((stmt.body, stmt.orelse) if then_name is None
                                                 else (stmt.orelse, stmt.body)), stmt))
                continue
            if then_name != old and else_name != old:
                # Both branches assigned: give the else branch's value the then branch's name.
                for s in stmt.orelse:
                    rename(s, {else_name: then_name})
                self.unbound = [(then_name if v == else_name else v, *rest)
                                for v, *rest in self.unbound]
                merged = then_name
            elif then_name != old:
                merged = then_name
                stmt.orelse.append(_phi(merged, old, "merge", stmt))
            else:
                merged = else_name
                stmt.body.append(_phi(merged, old, "merge", stmt))
            env[var] = merged
        return [stmt]

    def start_unbound(self, func: gast.FunctionDef) -> None:
        """A name left unbound on one path of an if (or by a loop that runs no iteration)
        that code after it reads (a merge copy, a loop's entry copy, or the program where
        the same test holds) starts as None on that path: a copy would raise
        UnboundLocalError where the program runs."""
        if not self.unbound:
            return
        read = Counter(load_names(func))
        reads_in = _ReadsIn(func.body, {var for var, *_ in self.unbound})
        for var, branch, other, origin in self.unbound:
            if read[var] > reads_in.block(other, var) \
                    and not (branch and isinstance(
                        branch[-1], (gast.Return, gast.Raise, gast.Break, gast.Continue))):
                node = assign(var, const(None), origin)
                anno.setanno(node, "phi", "undefined")
                if branch is None:  # a loop's header: before the loop
                    holder = _holder(func.body, origin) or []
                    at = next((k for k, s in enumerate(holder) if s is origin), None)
                    if at is not None:
                        holder.insert(at, node)
                else:
                    branch.append(node)

    def loop(self, stmt, env: dict) -> list:
        counts = self.body_mentions[id(stmt)]
        assigned = set(store_names(gast.Module(body=stmt.body, type_ignores=[])))
        target = None
        if isinstance(stmt, gast.For):
            self.uses(stmt.iter, env)
            target = stmt.target.id
            assigned.discard(target)
        # Variables whose value flows from one iteration to the next or out of the loop.
        carried = sorted(
            var for var in assigned
            if var in env or self.mentions[var] > counts[var]
        )
        before: list = []
        headers = {}
        for var in carried:
            header = self.new_name(var)
            headers[var] = header
            if var in env:
                before.append(_phi(header, env[var], "entry", stmt))
            env[var] = header
        if isinstance(stmt, gast.While):
            self.uses(stmt.test, env)
        if target is not None:
            env[target] = stmt.target.id = self.new_name(target)
        body_env = dict(env)
        stmt.body = self.block(stmt.body, body_env)
        # The copies go before the exit check, so a loop left by `break` has
        # its last iteration's values under the header names too. A while loop
        # computes its next test after the check: those copies stay at the end.
        checks = [k for k, s in enumerate(stmt.body) if anno.getanno(s, "exit_check")]
        at = checks[-1] if checks else len(stmt.body)
        later = set(store_names(gast.Module(body=stmt.body[at + 1:], type_ignores=[])))
        for var in carried:
            if body_env.get(var) != headers[var]:
                copy = _phi(headers[var], body_env[var], "backedge", stmt)
                if body_env[var] in later:
                    stmt.body.append(copy)
                else:
                    stmt.body.insert(at, copy)
                    at += 1
        # A header with no value before the loop that the body reads before assigning
        # it (a merge after `if ...: result = ...`) starts as None, which is never used.
        read = set(load_names(gast.Module(body=stmt.body, type_ignores=[])))
        for var in carried:
            if not any(anno.getanno(b, "phi") == "entry" and b.targets[0].id == headers[var]
                       for b in before):
                if headers[var] in read:
                    node = assign(headers[var], const(None), stmt)
                    anno.setanno(node, "phi", "undefined")
                    before.append(node)
                else:  # unbound after a loop that runs no iteration: as after an if
                    self.unbound.append((headers[var], None, [stmt], stmt))
        return before + [stmt]


class _Branch(dict):
    """The names in scope in one branch of an if (a copy), and which of them it assigns."""

    def __init__(self, env: dict):
        super().__init__(env)
        self.assigned: set[str] = set()

    def __setitem__(self, var: str, value: str) -> None:
        self.assigned.add(var)
        super().__setitem__(var, value)


class _ReadsIn:
    """How many times a block reads a name (one of `wanted`), from one walk of the function
    (not a walk of the block each time: the rest of a function after an early return is
    the `else` of its `if`, so each of n early returns walked all the ifs after it)."""

    def __init__(self, stmts: list, wanted: set):
        self.start, self.stop = {}, {}  # id(statement) -> its first, after its last position
        self.at = {var: [] for var in wanted}  # var -> the positions of its reads, in order
        self.count = 0
        self.visit(stmts)

    def visit(self, stmts: list) -> None:
        for stmt in stmts:
            k = self.start[id(stmt)] = self.count
            self.count += 1
            nested = blocks(stmt)
            held = {id(block) for block in nested}
            for field in stmt._fields:  # (what a compound statement holds besides its blocks)
                value = getattr(stmt, field, None)
                if isinstance(value, gast.AST):
                    self.note(value, k)
                elif isinstance(value, list) and id(value) not in held:
                    for item in value:
                        if isinstance(item, gast.AST):
                            self.note(item, k)
            for block in nested:
                self.visit(block)
            self.stop[id(stmt)] = self.count

    def note(self, node: gast.AST, k: int) -> None:
        for n in walk_lean(node):
            if n.__class__ is gast.Name and n.ctx.__class__ is gast.Load and n.id in self.at:
                self.at[n.id].append(k)

    def block(self, stmts: list, var: str) -> int:
        """Reads of var in `stmts` (consecutive statements of one block, walked at the start:
        statements added since, `v = None`, read nothing)."""
        known = [s for s in stmts if id(s) in self.start]
        if not known:
            return 0
        at = self.at[var]
        return bisect.bisect_left(at, self.stop[id(known[-1])]) \
            - bisect.bisect_left(at, self.start[id(known[0])])


def _holder(stmts: list, target) -> list | None:
    """The statement list holding `target`."""
    for stmt in stmts:
        if stmt is target:
            return stmts
        for block in ([stmt.body, stmt.orelse] if isinstance(stmt, gast.If)
                      else [stmt.body] if isinstance(stmt, (gast.For, gast.While)) else []):
            found = _holder(block, target)
            if found is not None:
                return found
    return None


def _phi(target: str, source: str, kind: str, origin: gast.AST) -> gast.Assign:
    node = assign(target, name(source), origin)
    anno.setanno(node, "phi", kind)
    return node


def _result_unread(value) -> bool:
    """Values whose adjoints read only their operands, never the result itself."""
    if isinstance(value, (gast.Name, gast.Constant, gast.Compare, gast.BoolOp)):
        return True
    if isinstance(value, gast.BinOp):
        return isinstance(value.op, (gast.Add, gast.Sub, gast.Mult))
    if isinstance(value, gast.UnaryOp):
        return isinstance(value.op, (gast.USub, gast.UAdd, gast.Not))
    return False


def _mentions(stmts: list) -> list[str]:
    module = gast.Module(body=stmts, type_ignores=[])
    return [n.id for n in walk_lean(module) if n.__class__ is gast.Name]


def _coalesce_entry_copies(func: gast.FunctionDef) -> None:
    """Drop `h = e` before a loop when `e` is read nowhere else: the loop reuses the name `e`.

    Only where the backward pass will not read `e` either: a parameter, or a value whose
    adjoint does not read the result. `s = np.exp(y)` keeps its copy, since exp's adjoint
    reads `s`, and the loop would have overwritten it by then."""
    if not any(anno.getanno(s, "phi") == "entry" for s in walk_statements(func.body)):
        return  # no loop: nothing to coalesce (and no walk of the whole function)
    loaded, stored = load_and_store_names(func)
    loads, stores = Counter(loaded), Counter(stored)
    params = set(param_names(func))
    values = {stmt.targets[0].id: stmt.value for stmt in walk_statements(func.body)
              if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
              and isinstance(stmt.targets[0], gast.Name)}
    mapping: dict[str, str] = {}

    def visit(stmts: list) -> list:
        out = []
        for stmt in stmts:
            if anno.getanno(stmt, "phi") == "entry":
                header, entry = stmt.targets[0].id, stmt.value.id
                # (the header stored only here and by the backedge: a header that is also
                # an if's merge name is stored in the other branch, and there the entry's
                # name would be overwritten before the backward pass reads its adjoint)
                if loads[entry] == 1 and (stores[entry] == 1 or entry in params) \
                        and stores[entry] + (entry in params) == 1 and stores[header] == 2 \
                        and (entry in params or _result_unread(values.get(entry))):
                    mapping[header] = entry
                    continue
            for block in ([stmt.body, stmt.orelse] if isinstance(stmt, gast.If)
                          else [stmt.body] if isinstance(stmt, (gast.For, gast.While)) else []):
                block[:] = visit(block)
            out.append(stmt)
        return out

    func.body = visit(func.body)
    if mapping:
        rename(func, mapping)
