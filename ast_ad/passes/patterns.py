"""Rule instances remembered by pattern: fill a rule once per pattern of operands, then copy.

A long function applies the same few rules to operands the compiler knows the same
things about (`t5 = 0.5 * c_3`, `t9 = 0.5 * a_7`: two floats, one a literal). Filling
a template, simplifying the result, dropping needless `unbroadcast` calls and adding
it into the adjoints gives the same statements for both, up to the names: the
derivative passes fill a rule in full the first time they meet a pattern, and for
the next use of that pattern copy what it made, renamed.

The pattern holds everything filling a rule reads about its operands: the template
and the module of the call; for each operand a literal's type and value, or for a
name what the compiler knows of it (its abstract value, kind, whether it carries a
derivative), which other operands are the same name and which have the same shape
class (the passes only compare shape classes). A use that has an
operand of another form (an index expression, `p.w`), or whose statements mention a
name the copy could not rename, is always filled in full.
"""

from __future__ import annotations

import builtins
import types

import gast

from .. import anno
from ..syntax import clone, walk
from ..values import SCALAR, UNKNOWN


class Recording:
    """The per-use names a full fill made, in the order it asked for them: adjoints or
    tangents of operands (by operand), and fresh temporaries."""

    def __init__(self):
        self.derivatives: list[str] = []  # operand names whose derivative name was asked for
        self.temps: list[str] = []


class Instance:
    """What one full fill made, with the roles of the names in it."""

    def __init__(self, stmts: list, roles: dict, derivatives: list, temps: int, values: list):
        self.stmts = stmts  # the statements, with the first use's names
        self.roles = roles  # name in stmts -> ("atom", param) | ("derivative", param) | ("temp", i)
        # params whose derivative names to ask for, in order (asking again changes nothing)
        self.derivatives = list(dict.fromkeys(derivatives))
        self.temps = temps  # how many temporaries to make
        self.values = values  # [(temp index, Value)] that the fill recorded for temporaries
        self.make = None  # the function that copies them, made at the first copy (see _maker)
        self.adjoint_uses = None  # (the reverse pass's, see reverse.place_inits)


def pattern(facts, template, lib, atoms: dict, active, table: dict, more=(),
            names: dict | None = None) -> tuple | None:
    """The key under which a fill of `template` with `atoms` is remembered, or None if this
    use is always filled in full. `table` is the pass's own dict, where the facts (abstract
    values, which are immutable) get numbers: equal values, the same number. `more`: what
    else the pass reads, for the key. `names`: see `operands`."""
    found = operands(facts, atoms.values(), active, table, names if names is not None else {})
    if found is None:
        return None
    # (templates live in the registry: ids stay theirs)
    return id(template), lib, more, tuple(atoms), found


def operands(facts, atoms, active, table: dict, names: dict) -> tuple | None:
    """What filling a rule reads about its operands `atoms` (in order): for a literal its
    type and value; for a name what the compiler knows of it, which other operands are the
    same name and which have the same shape class (the passes only compare shape
    classes). None if an operand has another form. `names` is the pass's own dict of what
    is known of each name (which does not change while the pass runs)."""
    ids: dict = {}
    classes: dict = {None: None, SCALAR: SCALAR}  # shape classes: only equal or not matters
    parts = []
    for atom in atoms:
        cls = atom.__class__
        if cls is gast.Constant:
            value = atom.value
            parts.append((type(value), repr(value)))
            continue
        if cls is not gast.Name:
            return None
        var = atom.id
        known = names.get(var)
        if known is None or CHECK:
            fresh = _name_facts(facts, atom, active, table)
            assert known is None or known == fresh, (var, known, fresh)
            known = names[var] = fresh
        if known is _UNHASHABLE:
            return None
        parts.append((ids.setdefault(var, len(ids)), classes.setdefault(known[0], len(classes)),
                      known[1]))
    return tuple(parts)


_UNHASHABLE = ()


def _name_facts(facts, atom: gast.Name, active, table: dict) -> tuple:
    """(shape class, what else is known) of a name operand, or _UNHASHABLE if a value holds
    something unhashable (such a use is not remembered)."""
    ctx = facts.ctx
    var = atom.id
    primal = ctx.primal_of.get(var)
    # (what facts.evaluator.atom gives a name it has a value for, without the call)
    known = ctx.values.get(primal if primal is not None else var)
    if known is None:
        known = facts.evaluator.atom(atom)
    # (Facts.shape_class of a name, written out with the value already at hand)
    shape_class = SCALAR if (known if known is not None else UNKNOWN).kind == SCALAR \
        else ctx.shape_class.get(primal if primal is not None else var)
    # values.get(var) is `known` unless var stands for another name or has no value
    own = ctx.values.get(var) if primal is not None or known is None else None
    try:
        rest = (_number(known, table), _number(own, table), facts.kinds.get(var), primal,
                active(var))
        hash(shape_class)
    except TypeError:
        return _UNHASHABLE
    # (numbered like the values, so that keys hold small ints: hashed at every use)
    return shape_class, table.setdefault((_FACTS, rest), len(table))


_FACTS = "facts of a name"  # (tags them in the table, apart from values and their ids)


def _number(value, table: dict):
    """The number of an abstract value in `table` (equal values have the same number)."""
    if value is None:
        return None
    held = table.get(id(value))
    if held is None:  # (the table keeps `value`, so its id is not reused)
        held = table[id(value)] = (value, table.setdefault(value, len(table)))
    return held[1]


def binding(atoms: dict, given: list) -> list:
    """Where each operand of a use comes from: [(parameter, index in `given` (the result's
    name, the call's positional and keyword atoms) or a default's literal)]."""
    found = []
    for param, atom in atoms.items():
        index = next((i for i, g in enumerate(given) if g is atom), None)
        found.append((param, index if index is not None else atom))
    return found


def bind(binding: list, given: list) -> dict:
    """The operands of a use whose atoms are `given` (see `binding`)."""
    return {param: given[at] if at.__class__ is int else at for param, at in binding}


def marked(atoms: dict) -> dict:
    """The operands, each replaced by a copy that says which operand it is: its copies in
    what the fill makes are that operand (replaced by this use's, with its position and
    annotations), not a literal of the rule or another operand of the same name."""
    out = {}
    for param, atom in atoms.items():
        atom = clone(atom)
        atom.__dict__[_MARK] = param
        out[param] = atom
    return out


def unmark(stmts: list) -> None:
    """Take the marks `marked` gave off what a fill made."""
    for stmt in stmts:
        for node in walk(stmt):
            if node.__class__ is gast.Constant or node.__class__ is gast.Name:
                node.__dict__.pop(_MARK, None)


_MARK = "_ast_ad_operand"


def remember(stmts: list, atoms: dict, recording: Recording, derivative_name, values: list,
             references: dict) -> Instance | None:
    """An Instance of what a full fill made with marked operands (`values`: [(temporary,
    Value)] it recorded), or None if a name in it has no known role."""
    roles, by_var = {}, {}
    for param, atom in atoms.items():
        if atom.__class__ is gast.Name:
            by_var.setdefault(atom.id, param)
            roles.setdefault(atom.id, ("atom", param))
    derivatives = []
    for var in recording.derivatives:
        param = by_var.get(var)
        if param is None:
            return None
        derivatives.append(param)
        if roles.setdefault(derivative_name(var), ("derivative", param)) \
                != ("derivative", param):
            return None  # (an operand that is another's adjoint)
    for i, temp in enumerate(recording.temps):
        roles[temp] = ("temp", i)
    temp_values = []
    for temp, value in values:
        if temp not in roles:
            return None
        temp_values.append((roles[temp][1], value))
    for stmt in stmts:
        for node in walk(stmt):
            if node.__class__ is gast.Name and node.id not in roles \
                    and node.id not in references:
                return None  # a name only this use has
    return Instance(clone(stmts), roles, derivatives, len(recording.temps), temp_values)


# Tests set this: every use is filled in full, and where a remembered instance exists,
# `check` compares its copy with what the fill made.
CHECK = False


def check(instance: Instance, made: list, atoms: dict, derivative_name, recording: Recording,
          origin) -> None:
    """Raise AssertionError if copying `instance` for this use would not give `made`."""
    temps = iter(recording.temps)
    copied, _, _ = copy(instance, atoms, derivative_name, lambda: next(temps), origin)
    if [dump(s) for s in copied] != [dump(s) for s in made]:
        raise AssertionError("a remembered rule instance differs from the rule filled in "
                             f"full: {[dump(s) for s in copied]} != {[dump(s) for s in made]}")


def dump(node) -> str:
    """The fields and annotations of a tree, for `check`."""
    if type(node) is list:
        return "[" + ", ".join(dump(n) for n in node) + "]"
    if not isinstance(node, gast.AST):
        return repr(node)
    fields = ", ".join(f"{f}={dump(getattr(node, f, None))}" for f in node._fields)
    annos = node.__dict__.get("_ast_ad_anno", {})
    noted = ", ".join(f"{k}={v!r}" if k != "origin" else f"origin={id(v)}"
                      for k, v in sorted(annos.items()))
    return f"{node.__class__.__name__}({fields}; {noted})"


def copy(instance: Instance, atoms: dict, derivative, new_temp, origin) -> tuple:
    """The instance's statements for this use (names renamed, `origin` its statement), the
    temporaries' names and the derivative names (by operand)."""
    derivatives = {param: derivative(atoms[param].id) for param in instance.derivatives}
    temps = [new_temp() for _ in range(instance.temps)]
    make = instance.make
    if make is None:
        make = instance.make = _maker(instance)
    return make(atoms, derivatives, temps, anno.getanno(origin, "origin", origin)), temps, \
        derivatives


def _maker(instance: Instance):
    """A function (atoms, derivative names by operand, temporaries, origin) -> statements
    that copies the instance's statements for one use, written out as Python source and
    compiled once: what is the same at every use is sorted out here, and a use only
    builds nodes (a long function copies a few instances thousands of times)."""
    roles = instance.roles
    lines: list[str] = []
    shared: dict = {"ca": _clone_atom, "new": _NEW}  # the generated function's globals
    by_id: dict = {}  # id(object) -> its global's name

    def constant(value) -> str:
        if value is None or value is True or value is False:
            return repr(value)
        held = by_id.get(id(value))
        if held is None:
            held = by_id[id(value)] = f"k{len(by_id)}"
            shared[held] = value
        return held

    def renamed(old: str, as_id: bool) -> str:
        """The expression of a name's new value (atoms: the node, or its id)."""
        role, which = roles[old]
        if role == "atom":
            return f"A[{which!r}].id" if as_id else f"A[{which!r}]"
        return f"D[{which!r}]" if role == "derivative" else f"T[{which}]"

    def build(node, top: bool) -> str:
        """Lines making a copy of `node` (children first); the local holding it."""
        fields = node.__dict__
        local = f"n{len(lines)}"
        if _MARK in fields:  # an operand: this use's, copied
            lines.append(f"{local} = ca(A[{fields[_MARK]!r}])")
            return local
        cls = constant(node.__class__)
        items = []
        if node.__class__ is gast.Name and node.id in roles:
            items.append(f"'id': {renamed(node.id, True)}")
            context = constant(node.ctx.__class__)
            items.append(f"'ctx': new({context})" if node.ctx.__class__.__new__ is _NEW
                         else f"'ctx': {context}.__new__({context})")
            fields = {k: v for k, v in fields.items() if k not in ("id", "ctx")}
        for key, value in fields.items():
            if key == _ANNO:
                annos = []
                for k, v in value.items():
                    if top and k == "origin":
                        annos.append(f"{k!r}: place")
                    elif top and k == "adjoint" and v[1] in roles:
                        annos.append(f"{k!r}: ({constant(v[0])}, {renamed(v[1], False)})")
                    else:
                        annos.append(f"{k!r}: {constant(v)}")
                items.append(f"{key!r}: {{{', '.join(annos)}}}")
            elif isinstance(value, gast.AST):
                items.append(f"{key!r}: {build(value, False)}")
            elif type(value) is list:
                parts = [build(v, False) if isinstance(v, gast.AST) else constant(v)
                         for v in value]
                items.append(f"{key!r}: [{', '.join(parts)}]")
            elif type(value) is dict:
                items.append(f"{key!r}: dict({constant(value)})")
            else:
                items.append(f"{key!r}: {constant(value)}")
        local = f"n{len(lines)}"
        lines.append(f"{local} = new({cls})" if node.__class__.__new__ is _NEW
                     else f"{local} = {cls}.__new__({cls})")
        if items:
            lines.append(f"{local}.__dict__ = {{{', '.join(items)}}}")
        return local

    made = [build(stmt, True) for stmt in instance.stmts]
    source = "def make(A, D, T, place):\n" + "".join(f"    {line}\n" for line in lines) \
        + f"    return [{', '.join(made)}]\n"
    code = _CODE.get(source)
    if code is None:
        if len(_CODE) > 4096:
            _CODE.clear()
        namespace = {}
        exec(compile(source, "<ast_ad rule instance>", "exec"), namespace)
        code = _CODE[source] = namespace["make"].__code__
    shared["__builtins__"] = builtins
    return types.FunctionType(code, shared)


_NEW = gast.AST.__new__  # (what makes a node of every gast class)

# generated source -> its compiled function's code: instances of the same form (the same
# rule over other literals, say) share it
_CODE: dict = {}


_ANNO = "_ast_ad_anno"


def _clone_atom(atom):
    """A copy of an operand (most are names: copied without clone's generic walk)."""
    if atom.__class__ is not gast.Name:
        return clone(atom)
    made = gast.Name.__new__(gast.Name)
    made.__dict__ = fields = dict(atom.__dict__)
    context = atom.ctx.__class__
    fields["ctx"] = context.__new__(context)
    if _ANNO in fields:
        fields[_ANNO] = dict(fields[_ANNO])
    return made
