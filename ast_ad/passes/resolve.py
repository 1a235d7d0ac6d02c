"""Resolve what each call and global reference means, at compile time.

Annotates every Call with "callee": the Python object it calls (`numpy.sin`,
a user function), or ("method", name) for a method of a local value
(`x.sum()`), or None when it cannot be known.
"""

from __future__ import annotations

import builtins

import gast

from .. import anno, cache
from ..context import Context
from ..syntax import dotted_path
from .anf import local_names

_MISSING = object()


class Scope:
    """Looks names up the way the user's function does: closure, then globals, then builtins."""

    def __init__(self, ctx: Context, locals_: set[str], read: set[str] = frozenset()):
        self.ctx = ctx
        self.locals = locals_
        self.read = read  # the non-local names the function reads

    def value(self, path: str):
        """The object a dotted non-local name refers to, or _MISSING."""
        root, *rest = path.split(".")
        if root in self.locals:
            return _MISSING
        src = self.ctx.src
        if root in src.closure:
            where, container = "closure", src.closure[root]
            try:
                obj = container.cell_contents
            except ValueError:
                return _MISSING
        elif root in src.globals:
            where, container, obj = "global", src.globals, src.globals[root]
        elif hasattr(builtins, root):
            where, container, obj = "builtin", src.globals, getattr(builtins, root)
        else:
            return _MISSING
        found = obj
        for part in rest:
            obj = getattr(obj, part, _MISSING)
            if obj is _MISSING:
                return _MISSING
        # The code generated from what was found here is only right while it stays so.
        cache.depend(where, container, root, rest, obj, found)
        return obj


def resolve(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    locals_ = local_names(func)
    read = {n.id for n in gast.walk(func) if isinstance(n, gast.Name)} - locals_
    scope = Scope(ctx, locals_, read)
    ctx.scope = scope
    for node in gast.walk(func):
        if isinstance(node, gast.Call):
            anno.setanno(node, "callee", callee_of(node.func, scope))
    return func


def callee_of(func: gast.AST, scope: Scope):
    path = dotted_path(func)
    if path is not None:
        value = scope.value(path)
        if value is not _MISSING:
            return value
    if isinstance(func, gast.Attribute):
        return ("method", func.attr)
    return None


def is_missing(value) -> bool:
    return value is _MISSING


def call_parts(node: gast.Call):
    """(callee, positional atoms, keyword atoms) with methods turned into functions.

    `x.sum(axis=0)` becomes (numpy.sum, [x], {"axis": 0}) when `sum` is a known
    array method; an unknown method gives (("method", name), [x, ...], {...}).
    """
    from ..rules import registry

    callee = anno.getanno(node, "callee")
    args = list(node.args)
    keywords = {k.arg: k.value for k in node.keywords}
    if isinstance(callee, tuple) and callee[0] == "method":
        args = [node.func.value] + args
        meaning = registry.METHODS.get(callee[1])
        if meaning is not None:
            callee = meaning.function
            at = meaning.pack_from
            if at is not None and len(args) > at + 1:  # x.reshape(3, 4)
                args = args[:at] + [gast.Tuple(elts=args[at:], ctx=gast.Load())]
    return callee, args, keywords
