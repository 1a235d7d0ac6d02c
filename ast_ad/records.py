"""Calls that build a NamedTuple or a plain dataclass: displays with a class.

`P(a, b)` for a NamedTuple P, or `Q(w=a, s=b)` for a dataclass Q whose `__init__`
only stores its fields, holds its arguments as the display `(a, b)` holds its items.
resolve marks such a call ("record": the class, its field names, and "tuple" or
"object" as for the values of arguments) and writes it with every field given, in
field order (defaults filled in), so the derivative passes can treat it as a display:
the adjoint of a NamedTuple is a list of its fields' adjoints, a dataclass's a dict
by field name, as for arguments of those classes.

A class that runs code of its own when built or read (`__post_init__`, an `__init__`
or `__new__` of its own, a field made by `default_factory`, `__getattr__`) is not a
record: a call of it stays a call of an unknown function, which the mutation pass
rejects if values carrying a derivative flow into it.
"""

from __future__ import annotations

import dataclasses

import gast

from . import anno
from .syntax import const

_LITERALS = (bool, int, float, str, type(None))
_PLAIN_READS = (object.__getattribute__, tuple.__getattribute__)


def record_kind(cls) -> str | None:
    """"tuple" for a NamedTuple class, "object" for a plain dataclass, else None."""
    if not isinstance(cls, type) or cls.__getattribute__ not in _PLAIN_READS \
            or hasattr(cls, "__getattr__"):
        return None  # (a field read `p.w` that may run code of the class's)
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        # the class that makes its instances is the one namedtuple wrote
        maker = next(c for c in cls.__mro__ if "__new__" in vars(c))
        return "tuple" if "_make" in vars(maker) and "_fields" in vars(maker) else None
    if not dataclasses.is_dataclass(cls) or not cls.__dataclass_params__.init:
        return None
    init = cls.__init__
    if getattr(cls, "__post_init__", None) is not None or cls.__new__ is not object.__new__ \
            or getattr(getattr(init, "__code__", None), "co_filename", None) != "<string>":
        return None  # (dataclasses writes __init__ from a string: a user's comes from a file)
    setter = cls.__setattr__
    if setter is not object.__setattr__ and not cls.__dataclass_params__.frozen:
        return None
    if len(dataclasses.fields(cls)) != len(init.__code__.co_varnames[
            1:init.__code__.co_argcount + init.__code__.co_kwonlyargcount]):
        return None  # an InitVar, or a field outside __init__
    return "object"


def _defaults(cls, kind: str) -> dict:
    """The default of each field that has one (_NOT_LITERAL where it is not a literal:
    such a call is not written as a record)."""
    if kind == "tuple":
        return {k: v if type(v) in _LITERALS else _NOT_LITERAL
                for k, v in cls._field_defaults.items()}
    found = {}
    for f in dataclasses.fields(cls):
        if f.default_factory is not dataclasses.MISSING:
            found[f.name] = _NOT_LITERAL
        elif f.default is not dataclasses.MISSING:
            found[f.name] = f.default if type(f.default) in _LITERALS else _NOT_LITERAL
    return found


_NOT_LITERAL = object()


def mark(node: gast.Call, cls) -> tuple | None:
    """If `node` builds a record of `cls`, write it with every field given, in field order
    (positionally for a NamedTuple, by keyword for a dataclass) and return its "record"
    annotation (cls, field names, kind); else None, the call left as it is."""
    kind = record_kind(cls)
    if kind is None:
        return None
    keys = tuple(cls._fields) if kind == "tuple" else \
        tuple(f.name for f in dataclasses.fields(cls))
    # (a dataclass's keyword-only fields come after the others in its __init__)
    code = None if kind == "tuple" else cls.__init__.__code__
    positional = keys if code is None else code.co_varnames[1:code.co_argcount]
    if any(a.__class__ is gast.Starred for a in node.args) \
            or any(k.arg is None for k in node.keywords) or len(node.args) > len(positional):
        return None
    given = dict(zip(positional, node.args))
    for k in node.keywords:
        if k.arg not in keys or k.arg in given:
            return None  # (Python raises a TypeError: let it)
        given[k.arg] = k.value
    defaults = _defaults(cls, kind)
    items = []
    for key in keys:
        default = defaults.get(key, _NOT_LITERAL)
        if key not in given and default is _NOT_LITERAL:
            return None
        items.append(given[key] if key in given else const(default))
    if kind == "tuple":
        node.args, node.keywords = items, []
    else:
        node.args = []
        node.keywords = [gast.keyword(arg=k, value=v) for k, v in zip(keys, items)]
    return cls, keys, kind


def items(node: gast.Call, record: tuple) -> list:
    """The atoms of a marked call, in field order."""
    return node.args if record[2] == "tuple" else [k.value for k in node.keywords]


def display_items(node) -> list | None:
    """The items of a display (`(a, b)`, `[a, b]`, `{"w": a}`) or of a marked record call,
    in order; None for any other node."""
    cls = node.__class__
    if cls is gast.Tuple or cls is gast.List:
        return node.elts
    if cls is gast.Dict:
        return node.values
    if cls is gast.Call:
        record = anno.getanno(node, "record")
        return None if record is None else items(node, record)
    return None
