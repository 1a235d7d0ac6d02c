"""Resolve what each call and global reference means, at compile time.

Annotates every Call with "callee": the Python object it calls (`numpy.sin`,
a user function), or ("method", name) for a method of a local value
(`x.sum()`), or None when it cannot be known.
"""

from __future__ import annotations

import builtins

import gast
import numpy as np

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
            for atom in node.args + [k.value for k in node.keywords]:
                if isinstance(atom, gast.Constant) and atom.value in _COMPLEX_NAMES:
                    _reject_complex(atom, f"dtype {atom.value!r} is complex", ctx)
            if _makes_complex(anno.getanno(node, "callee")):
                _reject_complex(node, f"{dotted_path(node.func)} returns complex numbers",
                                ctx)
        elif isinstance(node, (gast.Name, gast.Attribute)) and \
                isinstance(node.ctx, gast.Load):
            path = dotted_path(node)
            value = scope.value(path) if path is not None else _MISSING
            if isinstance(node, gast.Name):
                _check_array_class(node, value, ctx)
            if _is_complex(value):
                what = "makes" if isinstance(value, (type, np.dtype)) else "holds"
                _reject_complex(node, f"{path} {what} complex numbers", ctx)
    return func


# dtype strings naming complex numbers (np.zeros(3, dtype="complex"), x.astype("c16"))
_COMPLEX_NAMES = frozenset({"complex", "complex64", "complex128", "complex256", "c8", "c16",
                            "cfloat", "cdouble", "csingle", "clongdouble"})


def _makes_complex(callee) -> bool:
    """NumPy functions whose results are complex (even for real input): an FFT of data,
    eigenvalues of a general matrix, roots, np.emath."""
    module = getattr(callee, "__module__", None) or ""
    name = getattr(callee, "__name__", "")
    if module.startswith(("numpy.lib.scimath", "numpy.emath")):
        return True
    if module.startswith("numpy.fft"):
        return name in ("fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "rfft2",
                        "rfftn", "ihfft")
    return callee in (np.linalg.eig, np.linalg.eigvals, np.roots)


def _is_complex(value) -> bool:
    """A complex number or array, or the complex type or a complex dtype."""
    if isinstance(value, type):
        return issubclass(value, (complex, np.complexfloating))
    if isinstance(value, (np.ndarray, np.dtype)):
        return value.dtype.kind == "c" if isinstance(value, np.ndarray) else value.kind == "c"
    return isinstance(value, (complex, np.complexfloating))


def _reject_complex(node: gast.AST, what: str, ctx: Context) -> None:
    """Complex values would flow through rules written for real numbers (np.abs's adjoint
    needs a conjugate), so a derivative could come out complex or silently wrong."""
    raise ctx.error(NonDifferentiableError, node,
                    f"{what}: ast-ad differentiates real-valued code only",
                    "split complex values into real and imaginary parts (two float arrays)")


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
