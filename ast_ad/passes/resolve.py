"""Resolve what each call and global reference means, at compile time.

Annotates every Call with "callee": the Python object it calls (`numpy.sin`,
a user function), or ("method", name) for a method of a local value
(`x.sum()`), or None when it cannot be known.
"""

from __future__ import annotations

import builtins
import types

import gast
import numpy as np

from .. import anno, cache, records, runtime, syntax
from ..context import Context
from ..errors import NonDifferentiableError, NoRuleError
from ..rules import load_for, registry
from ..syntax import dotted_path, param_names, walk_lean

_MISSING = object()
# (`rng.normal`: a new bound method at every lookup, equal to the others)
_BOUND_METHODS = (types.MethodType, types.BuiltinMethodType)


class Scope:
    """Looks names up the way the user's function does: closure, then globals, then builtins."""

    def __init__(self, ctx: Context, locals_: set[str], read: set[str] = frozenset()):
        self.src = ctx.src  # (not ctx, which holds the scope: no reference cycle)
        self.locals = locals_
        self.read = read  # the non-local names the function reads
        # path -> what value() found: a long function reads `math.sin` hundreds of times
        # (the lookup's dependency is noted the first time; the others would note the same)
        self.found: dict = {}
        # id -> the callee of each call of the function, once resolve looked at them all
        self.callees: dict | None = None

    def value(self, path: str):
        """The object a dotted non-local name refers to, or _MISSING."""
        found = self.found.get(path, self)
        if found is self:
            found = self.found[path] = self._look_up(path)
        elif syntax.CHECK_GATES:  # (what a lookup finds now is what it found first)
            again = self._look_up(path)
            assert again is found or isinstance(found, _BOUND_METHODS) \
                and type(again) is type(found) and again == found, path
        return found

    def _look_up(self, path: str):
        root, *rest = path.split(".")
        if root in self.locals:
            return _MISSING
        src = self.src
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
    nodes = walk_lean(func)  # (one walk: nothing below adds or removes a node)
    locals_, mentioned, definitions = set(param_names(func)), set(), {}
    looked_at = []  # (the nodes the loop below may resolve, in order)
    for n in nodes:
        cls = n.__class__
        if cls is gast.Name:
            mentioned.add(n.id)
            if n.ctx.__class__ is gast.Store:
                locals_.add(n.id)
            else:
                looked_at.append(n)
        elif cls is gast.Assign:
            if len(n.targets) == 1 and n.targets[0].__class__ is gast.Name:
                definitions[n.targets[0].id] = n.value
        elif cls is gast.Call or cls is gast.Subscript or cls is gast.Attribute:
            looked_at.append(n)
    scope = Scope(ctx, locals_, mentioned - locals_)
    ctx.scope = scope
    name_class, call_class, load = gast.Name, gast.Call, gast.Load
    like_casts = False
    checked: dict = {}  # id -> a callee whose own checks passed (most calls call a few)
    for node in looked_at:
        cls = node.__class__
        if cls is name_class:
            if node.id in locals_ or node.ctx.__class__ is not load:
                continue  # (a local: nothing to resolve)
            _resolve_reference(node, scope, ctx)
        elif cls is call_class:
            like_casts |= _resolve_call(node, scope, definitions, ctx, checked)
        elif cls is gast.Subscript:
            if isinstance(node.ctx, gast.Load):
                indexer = _indexer(node.value, scope)
                if indexer is not None:
                    anno.setanno(node, "indexer", indexer)
        elif cls is gast.Attribute and isinstance(node.ctx, gast.Load):
            _resolve_reference(node, scope, ctx)
    if like_casts:  # (the only place a ("like", v) cast is made; see passes/activity)
        anno.setanno(func, "like_casts", True)
    scope.callees = checked  # (every call's callee: see passes/expand)
    return func


def _resolve_call(node: gast.Call, scope: Scope, definitions: dict, ctx: Context,
                  checked: dict) -> bool:
    """Annotate a call with its callee (and cast); return whether the cast is ("like", v).
    `checked`: the callees whose checks of their own (rules loaded, not making a matrix
    or complex numbers) passed already: they need not run again."""
    callee = callee_of(node.func, scope)
    anno.setanno(node, "callee", callee)
    if isinstance(callee, type):  # P(a, b) of a NamedTuple or dataclass: a display
        record = records.mark(node, callee)
        if record is not None:
            anno.setanno(node, "record", record)
    # (by identity: kept in `checked`, a callee's id is not reused)
    known = checked.get(id(callee), checked) is callee and not syntax.CHECK_GATES
    if not known:
        load_for(callee)  # scipy.stats' rules load on first use
    callee, args, keywords = call_parts(node)
    dtype = dtype_argument(callee, args, keywords)
    cast = None
    if dtype is not None:
        cast = cast_of(dtype, scope, definitions)
        anno.setanno(node, "cast", cast)
    callee = anno.getanno(node, "callee")
    if not known:
        _check_matrix_call(node, callee, ctx)
    if ctx.options.lazy:
        _check_lazy_call(node, callee, ctx)
    for atom in node.args + [k.value for k in node.keywords]:
        if isinstance(atom, gast.Constant) and atom.value in _COMPLEX_NAMES:
            _reject_complex(atom, f"dtype {atom.value!r} is complex", ctx)
    if not known:
        if _makes_complex(callee):
            _reject_complex(node, f"{_named(node)} returns complex numbers", ctx)
        checked[id(callee)] = callee
    return isinstance(cast, tuple)


def _resolve_reference(node: gast.AST, scope: Scope, ctx: Context) -> None:
    """A global or closure name read, or an attribute of one: rejected if it holds or
    makes complex numbers, or is an np.matrix."""
    path = dotted_path(node)
    value = scope.value(path) if path is not None else _MISSING
    if node.__class__ is gast.Name:
        _check_array_class(node, value, ctx)
    if _is_complex(value):
        what = "makes" if isinstance(value, (type, np.dtype)) else "holds"
        if isinstance(value, type) and value.__name__ != path.rsplit(".", 1)[-1]:
            path = f"{path} ({value.__module__}.{value.__name__})"
        _reject_complex(node, f"{path} {what} complex numbers", ctx)


def _indexer(value: gast.AST, scope: Scope):
    """For `np.r_[x, y]`, `np.c_[...]`, `np.mgrid[...]`: the global object indexed, which
    computes something from the index rather than reading from an array."""
    import numbers

    import numpy as np

    path = dotted_path(value)
    obj = scope.value(path) if path is not None else _MISSING
    if obj is _MISSING or isinstance(obj, (np.ndarray, np.generic, numbers.Number, list,
                                           tuple, dict, str, bytes, range)):
        return None
    return obj if hasattr(type(obj), "__getitem__") else None


# dtype strings naming complex numbers (np.zeros(3, dtype="complex"), x.astype("c16"))
_COMPLEX_NAMES = frozenset({"complex", "complex64", "complex128", "complex256", "c8", "c16",
                            "cfloat", "cdouble", "csingle", "clongdouble"})


def _named(node: gast.Call) -> str:
    """How an error names the function a call calls: as written, and by the object's own
    name when the code reaches it through another name (`fn = np.fft.fft`)."""
    from ..source import describe

    written = dotted_path(node.func)
    callee = anno.getanno(node, "callee")
    if not callable(callee) or written is not None and \
            written.rsplit(".", 1)[-1] == getattr(callee, "__name__", None):
        return written or "this call"
    return f"{written} ({describe(callee)})" if written else describe(callee)


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
                        f"{_named(node)} makes a "
                        "np.matrix or masked array, whose operators differ from a NumPy "
                        "array's", "use plain arrays (np.array) and @ for matrix products")


def _check_lazy_call(node: gast.Call, callee, ctx: Context) -> None:
    """In code for Dask arrays: np.linalg.cholesky of a Dask array is Dask's, which returns
    the upper factor (NumPy's returns the lower one, which its rule is written for)."""
    import numpy as np

    if callee is np.linalg.cholesky:
        raise ctx.error(NoRuleError, node, f"{_named(node)} of a Dask array returns the upper "
                        "triangular factor, not NumPy's lower one",
                        "factor a NumPy array, or compute the factor outside the function")
    mode = ([a for a in node.args[2:3]] + [k.value for k in node.keywords if k.arg == "mode"])
    copying_pad = callee is np.pad and mode and not (
        isinstance(mode[0], gast.Constant) and mode[0].value == "constant")
    if callee in (np.linalg.svd, np.linalg.qr, np.diff, np.gradient) or copying_pad:
        # (their derivatives' helpers compute with NumPy: the whole array would be read)
        raise ctx.error(NoRuleError, node, f"the derivative of {_named(node)} is not written "
                        "for Dask arrays: it would compute them before dask.compute",
                        "pass NumPy arrays, or compute this part outside the function")


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


# -- calls that write into their arguments --------------------------------------------

_DROP_OUT = "drop out= and assign the result to a name instead: `y = np.f(...)`"
_UFUNC_AT = ("write `y[i] = np.f(y[i], v)` with an index that does not repeat (of the .at "
             "methods, ast-ad follows np.add.at), or compute a new array")
# ufunc methods: the position of their `out` argument (ufunc.at writes into its first).
_UFUNC_METHOD_OUT = {"reduce": 3, "accumulate": 3, "reduceat": 4}


def written_arguments(node: gast.Call) -> list[tuple[gast.AST, str]]:
    """What a call writes into in place, each with what to write instead: an `out=`
    array (also passed positionally), ufunc.at's array, the array of np.copyto, np.put,
    x.sort(), ys.extend(...) and the other functions and methods in
    registry.WRITES / registry.INPLACE_METHODS."""
    callee = anno.getanno(node, "callee")
    args = list(node.args)
    keywords = {k.arg: k.value for k in node.keywords if k.arg is not None}
    found = []
    if isinstance(callee, tuple) and callee[0] == "method":
        operands = [node.func.value] + args
        inplace = registry.INPLACE_METHODS.get(callee[1])
        if inplace is not None and len(operands) > inplace[0]:
            found.append((operands[inplace[0]], inplace[1]))
        if callee[1] == "byteswap" and _given(args[0] if args else keywords.get("inplace")):
            found.append((operands[0], "compute a new array and assign it to a name instead"))
        meaning = registry.METHODS.get(callee[1])
        function = meaning.function if meaning is not None else getattr(np, callee[1], None)
        found += _positional_out(function, operands, keywords)
    elif isinstance(callee, np.ufunc):
        found += [(a, _DROP_OUT) for a in args[callee.nin:]]
    elif isinstance(getattr(callee, "__self__", None), np.ufunc):
        method_name = getattr(callee, "__name__", "")
        if method_name == "at" and args:
            found.append((args[0], _UFUNC_AT))
        at = _UFUNC_METHOD_OUT.get(method_name)
        if at is not None and len(args) > at:
            found.append((args[at], _DROP_OUT))
    else:
        declared = registry.writes_into(callee)
        inplace = registry.INPLACE_METHODS.get(getattr(callee, "__name__", None)) \
            if getattr(callee, "__objclass__", None) in (np.ndarray, list, dict, set) else None
        if declared is None and inplace is not None:  # np.ndarray.sort(y), list.sort(ys)
            declared = inplace
        if declared is not None and len(args) > declared[0]:
            found.append((args[declared[0]], declared[1]))
        found += _positional_out(callee, args, keywords)
    if "out" in keywords and _given(keywords["out"]):
        found.append((keywords["out"], _DROP_OUT))
    return found


def adds_at(stmt) -> bool:
    """Whether a statement is `np.add.at(y, i, v)` (or the runtime's `add_at`, for lists, in
    generated code that grad(grad(f)) differentiates) into a name y, which the derivative
    passes follow (the mutation pass rejects it into a view)."""
    return isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call) \
        and anno.getanno(stmt.value, "callee") in (np.add.at, runtime.add_at) \
        and len(stmt.value.args) == 3 \
        and not stmt.value.keywords and isinstance(stmt.value.args[0], gast.Name)


def _given(atom) -> bool:
    """Whether an optional argument is given: present and not a literal None or False."""
    return atom is not None and not (isinstance(atom, gast.Constant)
                                     and atom.value in (None, False))


def _positional_out(function, args: list, keywords: dict) -> list:
    """An `out` argument passed by position (np.sum(x, 0, None, y)), found by the signature."""

    if function is None or "out" in keywords or not callable(function):
        return []
    signature = _signature(function)
    if signature is None or "out" not in signature.parameters:
        return []  # (math.sin: no `out` to bind to)
    bound = _bind(function, args)
    out = bound.get("out")
    return [(out, _DROP_OUT)] if _given(out) else []


# -- casts ----------------------------------------------------------------------------

FLOAT_CAST, NO_DERIVATIVE_CAST, UNKNOWN_CAST = "float", "integer", "unknown"


def dtype_argument(callee, args: list, keywords: dict):
    """The atom a call passes as `dtype` (x.astype(int), np.asarray(x, dtype=...)), else None."""

    if "dtype" in keywords:
        return keywords["dtype"]
    if callee is None or is_missing(callee) or isinstance(callee, tuple) or not callable(callee):
        return None
    return _bind(callee, args).get("dtype")


def _bind(function, args: list) -> dict:
    """Positional arguments bound to the parameters of `function` ({} if it cannot tell)."""
    signature = _signature(function)
    if signature is None:
        return {}
    try:
        kept = _SIGNATURES.get(function) is signature
    except TypeError:  # unhashable
        kept = False
    # (a library function's signature is kept, and so is what n arguments bind to)
    names = _BOUND.get((id(signature), len(args))) if kept else None
    if names is not None:
        return dict(zip(names, args))
    try:
        bound = signature.bind_partial(*args).arguments
    except TypeError:  # the arguments do not fit
        return {}
    if kept and len(bound) == len(args) and all(v is a for v, a in zip(bound.values(), args)):
        _BOUND[(id(signature), len(args))] = tuple(bound)  # (each its own parameter)
    return bound


# (id of a kept signature, number of positional arguments) -> the parameters they bind
_BOUND: dict = {}


# Signatures of library functions (math.sin, np.sum, ufuncs: inspect.signature reads a
# builtin's from its text, ~100 µs a call). Not user functions: a table keyed by them
# would keep them alive.
_SIGNATURES: dict = {}
# (the classes of the commonest kept functions, hashable: builtins and ufuncs)
_KEPT_CLASSES = frozenset({type(len), np.ufunc})


def _signature(function):
    if function.__class__ in _KEPT_CLASSES:  # (math.sin, np.exp: kept once seen)
        try:
            signature = _SIGNATURES.get(function, _MISSING)
        except TypeError:  # a method of an unhashable object (ys.append)
            signature = _MISSING
        if signature is not _MISSING:
            return signature
    import inspect
    import types

    import numpy as np

    owner = getattr(function, "__self__", None)  # math.sin's is a module, rng.normal's not
    module = getattr(function, "__module__", None)
    library = (owner is None or isinstance(owner, types.ModuleType)) and (
        isinstance(function, (np.ufunc, types.BuiltinFunctionType))
        or isinstance(module, str) and module.split(".")[0] in ("numpy", "math"))
    if library:
        try:
            return _SIGNATURES[function]
        except KeyError:
            pass
        except TypeError:  # unhashable
            library = False
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # no signature
        signature = None
    if library:
        _SIGNATURES[function] = signature
    return signature


def cast_of(atom, scope: Scope, definitions: dict):
    """What converting to the dtype `atom` does to a derivative: FLOAT_CAST (a float dtype,
    or None: kept), NO_DERIVATIVE_CAST (an integer or bool dtype: none left),
    UNKNOWN_CAST, or ("like", v) for `v.dtype`, which only the activity pass can tell."""
    import numpy as np

    seen = set()
    while isinstance(atom, gast.Name) and atom.id in definitions and atom.id not in seen:
        seen.add(atom.id)  # a compiler temporary (`t = x.dtype`), or `dt = np.float32`
        atom = definitions[atom.id]
    if isinstance(atom, gast.Attribute) and atom.attr == "dtype" \
            and isinstance(atom.value, gast.Name) and atom.value.id in scope.locals:
        return ("like", atom.value.id)
    if isinstance(atom, gast.Constant):
        value = atom.value
    else:
        path = dotted_path(atom)
        value = scope.value(path) if path is not None else _MISSING
    if value is _MISSING:
        return UNKNOWN_CAST
    if value is None:
        return FLOAT_CAST  # no conversion
    try:
        kind = np.dtype(value).kind
    except (TypeError, ValueError):
        return UNKNOWN_CAST
    return {"f": FLOAT_CAST, "i": NO_DERIVATIVE_CAST, "u": NO_DERIVATIVE_CAST,
            "b": NO_DERIVATIVE_CAST}.get(kind, UNKNOWN_CAST)


def user_function(callee) -> bool:
    """Whether a callee is a Python function ast-ad compiles with the call: the user's,
    not one of NumPy's (those have rules, or are rejected as having none)."""
    import types

    module = getattr(callee, "__module__", None) or ""
    return isinstance(callee, types.FunctionType) and module.split(".")[0] != "numpy" \
        and not registry.is_nondifferentiable(callee)  # ast_ad.stop_gradient, declared ones
