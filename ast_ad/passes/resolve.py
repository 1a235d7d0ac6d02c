"""Resolve what each call and global reference means, at compile time.

Annotates every Call with "callee": the Python object it calls (`numpy.sin`,
a user function), or ("method", name) for a method of a local value
(`x.sum()`), or None when it cannot be known.
"""

from __future__ import annotations

import builtins

import gast

from .. import anno
from ..context import Context
from ..errors import NonDifferentiableError
from ..syntax import dotted_path
from .anf import local_names

_MISSING = object()


class Scope:
    """Looks names up the way the user's function does: closure, then globals, then builtins."""

    def __init__(self, ctx: Context, locals_: set[str]):
        self.ctx = ctx
        self.locals = locals_

    def value(self, path: str):
        """The object a dotted non-local name refers to, or _MISSING."""
        root, *rest = path.split(".")
        if root in self.locals:
            return _MISSING
        src = self.ctx.src
        if root in src.closure:
            try:
                obj = src.closure[root].cell_contents
            except ValueError:
                return _MISSING
        elif root in src.globals:
            obj = src.globals[root]
        elif hasattr(builtins, root):
            obj = getattr(builtins, root)
        else:
            return _MISSING
        for part in rest:
            obj = getattr(obj, part, _MISSING)
            if obj is _MISSING:
                return _MISSING
        return obj


def resolve(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    scope = Scope(ctx, local_names(func))
    ctx.scope = scope
    for node in gast.walk(func):
        if isinstance(node, gast.Call):
            anno.setanno(node, "callee", callee_of(node.func, scope))
            _check_matrix_call(node, anno.getanno(node, "callee"), ctx)
        elif isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
            _check_array_class(node, scope.value(node.id), ctx)
    return func


def _check_matrix_call(node: gast.Call, callee, ctx: Context) -> None:
    import numpy as np

    if callee in (np.matrix, np.asmatrix, np.bmat) or isinstance(callee, type) and \
            issubclass(callee, np.ma.MaskedArray) or \
            (getattr(callee, "__module__", None) or "").startswith("numpy.ma"):
        raise ctx.error(NonDifferentiableError, node,
                        f"{dotted_path(node.func) or 'this call'} makes a "
                        "np.matrix or masked array, whose operators differ from a NumPy "
                        "array's", "use plain arrays (np.array) and @ for matrix products")


def _check_array_class(node: gast.Name, value, ctx: Context) -> None:
    """A global or closure np.matrix or masked array: its operators differ from an
    ndarray's (`*` is a matrix product), which the rules assume."""
    import numpy as np

    if isinstance(value, np.ndarray) and isinstance(value, (np.matrix, np.ma.MaskedArray)):
        raise ctx.error(NonDifferentiableError, node,
                        f"{node.id} is a {type(value).__name__}, whose operators differ "
                        "from a NumPy array's",
                        "use np.asarray(...) of it (and @ for matrix products)")


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
