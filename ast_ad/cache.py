"""Every cache of generated code, and what that code assumed about the user's world.

One place for all of them, so that they follow the same rules:

- Entries live on the function they belong to (`fn.__ast_ad_cache__`), so a
  function's generated code dies with it: nothing here keeps a user function
  alive. Each function keeps at most MAX_ENTRIES entries per table.
- An entry carries its dependencies (`Dep`): the global, closure and builtin
  objects the compiler resolved while generating it (which function a call
  means, hence which rule) and the kind, dtype and shape of global arrays and
  numbers it treated as constants. A lookup whose dependencies no longer hold
  misses, so the code is generated again. Generated code checks the same
  dependencies itself on entry (see `guard`), at the cost of an identity test each.
- One re-entrant lock serialises compilation; the recursion guards and the
  dependency recorders are per thread.
- `clear()` (ast_ad.clear_caches) forgets everything.
"""

from __future__ import annotations

import builtins
import linecache
import sysconfig
import threading
import types
import weakref
from contextlib import contextmanager
from typing import Any, NamedTuple

import numpy as np

MAX_ENTRIES = 64  # per function and table; the oldest entry goes first

LOCK = threading.RLock()
_ATTRIBUTE = "__ast_ad_cache__"
_HOLDERS: "weakref.WeakSet" = weakref.WeakSet()  # functions that carry entries
_MISSING = object()


class _PerThread(threading.local):
    def __init__(self):
        self.compiling: list = []  # functions being compiled, innermost last
        self.compiling_options: list = []  # (function, Options) of those, innermost last
        self.analysing: list = []  # functions whose result kinds are being inferred
        self.recorders: list = []  # dependency sets being collected, innermost last


_THREAD = _PerThread()


def compiling() -> list:
    """This thread's stack of functions being compiled (a callee already there is recursive)."""
    return _THREAD.compiling


def compiling_options() -> list:
    """This thread's stack of (function, Options) being compiled (see compile_callee)."""
    return _THREAD.compiling_options


def analysing() -> list:
    return _THREAD.analysing


# -- dependencies -------------------------------------------------------------


class Dep(NamedTuple):
    """One thing generated code assumed: `name` (then `.attrs`) looked up in a closure cell,
    a module's globals or the builtins, and what it was (`token`)."""

    where: str  # "closure", "global" or "builtin"
    container: Any  # the cell, or the globals dict (builtins are shadowed by globals)
    name: str
    attrs: tuple
    token: tuple  # ("is", obj) | ("eq", obj) | ("data", class, dtype, shape)

    @property
    def key(self) -> tuple:
        return (self.where, id(self.container), self.name, self.attrs)


def token_of(value) -> tuple:
    """What the compiler relied on: the identity of functions and modules (which rule),
    the class (and dtype and shape) of numbers and arrays it read as constants."""
    if isinstance(value, np.ndarray):
        return ("data", type(value), value.dtype, value.shape)
    if isinstance(value, (int, float, complex, np.generic)):
        return ("data", type(value), None, None)
    if isinstance(value, (types.MethodType, types.BuiltinMethodType)) and \
            not isinstance(getattr(value, "__self__", None), types.ModuleType):
        return ("eq", value)  # `obj.method` is a new bound method at every lookup
    return ("is", value)


def depend(where: str, container, name: str, attrs: tuple, value, root=None) -> None:
    """Note that the code being compiled (on this thread) relies on this lookup
    (`root`: what `name` itself is, when `attrs` were looked up in it)."""
    if not _THREAD.recorders:
        return
    if attrs and isinstance(root, types.ModuleType) and _is_library(root):
        # `np.tanh`, `math.log`: checking that `np` is still numpy is enough; we do not
        # follow libraries monkeypatched after the code was generated (each check costs).
        attrs, value = (), root
    dep = Dep(where, container, name, tuple(attrs), token_of(value))
    for recorder in _THREAD.recorders:
        recorder.setdefault(dep.key, dep)


_LIBRARY_PATHS = tuple({sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib",
                                                              "platlib")})


def _is_library(module: types.ModuleType) -> bool:
    """An installed library or the standard library, as opposed to the user's own modules."""
    file = getattr(module, "__file__", None)
    return file is None or in_library(file)


def in_library(filename) -> bool:
    """Whether a file is part of an installed library or the standard library."""
    return str(filename).startswith(_LIBRARY_PATHS)


def replay(deps) -> None:
    """A cached result was reused: whatever is being compiled now inherits its dependencies."""
    for recorder in _THREAD.recorders:
        for dep in deps:
            recorder.setdefault(dep.key, dep)


@contextmanager
def recording():
    """Collect the dependencies of what is compiled inside; yields a dict key -> Dep."""
    recorder: dict = {}
    _THREAD.recorders.append(recorder)
    try:
        yield recorder
    finally:  # by identity: an equal dict (e.g. an empty one) may be an outer recording's
        del _THREAD.recorders[next(i for i, r in enumerate(_THREAD.recorders)
                                   if r is recorder)]


def current(dep: Dep):
    """The object the dependency's lookup finds now (or _MISSING)."""
    if dep.where == "closure":
        try:
            obj = dep.container.cell_contents
        except ValueError:
            return _MISSING
    else:
        obj = dep.container.get(dep.name, _MISSING)
        if obj is _MISSING and dep.where == "builtin":
            obj = getattr(builtins, dep.name, _MISSING)
    for attr in dep.attrs:
        try:
            obj = getattr(obj, attr)
        except Exception:
            return _MISSING
    return obj


def holds(dep: Dep) -> bool:
    obj = current(dep)
    if obj is _MISSING:
        return False
    try:
        return bool(token_of(obj) == dep.token) if dep.token[0] != "is" else obj is dep.token[1]
    except Exception:
        return False


def all_hold(deps) -> bool:
    return all(holds(dep) for dep in deps)


def guard(deps, globals_: dict, closure: dict, local_names) -> tuple[str, dict]:
    """A boolean expression that is true while `deps` hold, for code running with these
    globals and closure cells; and the objects it needs injected (name -> object).

    Names the generated function can see as the user's function does are read
    directly (a LOAD_GLOBAL or LOAD_DEREF and an `is`: a few nanoseconds). Reading
    them raises what the user's function would raise (NameError for a deleted global).
    """
    tests, injected = [], {}
    for i, dep in enumerate(deps):
        visible = dep.name.isidentifier() and dep.name not in local_names
        if dep.where == "closure":
            if visible and closure.get(dep.name) is dep.container:
                expr = dep.name
            else:
                injected[f"_ast_ad_cell{i}"] = dep.container
                expr = f"_ast_ad_cell{i}.cell_contents"
        elif dep.container is globals_ and visible and dep.name not in closure:
            expr = dep.name  # a global, or the builtin when no global shadows it
        else:
            injected[f"_ast_ad_ns{i}"] = dep.container
            if dep.where == "builtin":
                injected[f"_ast_ad_builtin{i}"] = getattr(builtins, dep.name)
                expr = f"_ast_ad_ns{i}.get({dep.name!r}, _ast_ad_builtin{i})"
            else:
                injected["_ast_ad_absent"] = _MISSING
                expr = f"_ast_ad_ns{i}.get({dep.name!r}, _ast_ad_absent)"
        expr += "".join(f".{attr}" for attr in dep.attrs)
        kind = dep.token[0]
        if kind == "data":
            injected[f"_ast_ad_dep{i}"] = dep.token[1]
            test = f"{expr}.__class__ is _ast_ad_dep{i}"
            if dep.token[2] is not None:
                injected[f"_ast_ad_dtype{i}"] = dep.token[2]
                test += f" and {expr}.dtype == _ast_ad_dtype{i} and {expr}.shape == " \
                        f"{dep.token[3]!r}"
        else:
            injected[f"_ast_ad_dep{i}"] = dep.token[1]
            test = f"{expr} {'is' if kind == 'is' else '=='} _ast_ad_dep{i}"
        tests.append(test)
    return " and ".join(tests) or "True", injected


# -- entries --------------------------------------------------------------------


class _Holder:
    """What a function carries: its tables, and whose they are (functools.wraps copies
    __dict__, and an entry copied onto a wrapper is not the wrapper's)."""

    __slots__ = ("owner", "tables")

    def __init__(self, owner=None):
        self.owner = weakref.ref(owner) if owner is not None else None
        self.tables: dict = {}

    def __reduce__(self):
        return (_Holder, ())  # pickled functions (cloudpickle) carry no generated code


def _tables(owner, create: bool):
    """The owner's tables: {table name: {key: (value, deps)}}, oldest first."""
    attributes = getattr(owner, "__dict__", None)
    if attributes is None:
        return None
    found = attributes.get(_ATTRIBUTE)
    if isinstance(found, _Holder) and found.owner is not None and found.owner() is owner:
        return found.tables
    if not create:
        return None
    holder = _Holder(owner)
    attributes[_ATTRIBUTE] = holder
    _HOLDERS.add(owner)
    return holder.tables


def lookup(owner, table: str, key):
    """The value cached for `key`, if its dependencies still hold (else None).

    A hit passes its dependencies on to whatever is being compiled now."""
    with LOCK:
        tables = _tables(owner, create=False)
        entry = tables.get(table, {}).get(key) if tables is not None else None
        if entry is None:
            return None
        value, deps = entry
        if not all_hold(deps):
            del tables[table][key]
            return None
        replay(deps)
        return value


def store(owner, table: str, key, value, deps=()) -> None:
    with LOCK:
        tables = _tables(owner, create=True)
        if tables is None:
            return
        entries = tables.setdefault(table, {})
        entries.pop(key, None)
        entries[key] = (value, tuple(deps))
        while len(entries) > MAX_ENTRIES:
            del entries[next(iter(entries))]


def entries(owner, table: str) -> dict:
    """A copy of the owner's entries in one table (for tests and tools)."""
    with LOCK:
        tables = _tables(owner, create=False)
        return {k: v for k, (v, _) in (tables or {}).get(table, {}).items()}


def size() -> int:
    """How many entries all caches hold, plus the generated files linecache holds."""
    with LOCK:
        count = sum(len(t) for owner in list(_HOLDERS)
                    for t in (_tables(owner, create=False) or {}).values())
    return count + len(_LINES)


_DISPATCHERS: "weakref.WeakSet" = weakref.WeakSet()  # objects with a reset() of their own


def track(dispatcher) -> None:
    """`dispatcher.reset()` forgets its tables when the caches are cleared."""
    _DISPATCHERS.add(dispatcher)


def clear() -> None:
    with LOCK:
        for dispatcher in list(_DISPATCHERS):
            dispatcher.reset()
        for owner in list(_HOLDERS):
            tables = _tables(owner, create=False)
            if tables is not None:
                tables.clear()
        # _HOLDERS stays: a function keeps its (now empty) tables, and the next clear must
        # find them again (weak: it dies with the function)


# -- generated files in linecache ----------------------------------------------

_LINES: dict = {}  # filename -> number of live functions compiled from it
_ORIGINS: dict = {}  # filename -> (the user's filename, function name) it was generated from


def register_lines(filename: str, text: str, origin: tuple | None = None) -> str:
    """Show `text` to linecache (tracebacks, inspect) under a name no other live code uses.
    Returns the name to compile under; call keep_lines for each function compiled from
    it, then release_lines. `origin`: where the code came from (see origin_of)."""
    with LOCK:
        base, n = filename, 1
        while filename in _LINES:
            n += 1
            filename = f"{base[:-1]}#{n}>"
        _LINES[filename] = 1
        if origin is not None:
            _ORIGINS[filename] = origin
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
        return filename


def keep_lines(filename: str, fn) -> None:
    """The file `filename` is needed while `fn` lives."""
    with LOCK:
        _LINES[filename] = _LINES.get(filename, 0) + 1
    weakref.finalize(fn, release_lines, filename)


def release_lines(filename: str) -> None:
    with LOCK:
        left = _LINES.get(filename, 1) - 1
        if left > 0:
            _LINES[filename] = left
            return
        _LINES.pop(filename, None)
        _ORIGINS.pop(filename, None)
        linecache.cache.pop(filename, None)


def origin_of(filename: str) -> tuple | None:
    """(the user's filename, function name) that generated file `filename` came from."""
    return _ORIGINS.get(filename)


def user_place(filename: str, lineno: int) -> tuple | None:
    """Where line `lineno` of generated file `filename` came from: (the user's filename,
    line, its source, in a backward section?, the user's function), read from the
    `# line N:` comments; code generated from generated code (hessian, grad of grad) maps
    back step by step. None if `filename` is not generated code or the line has no origin."""
    source, derivative, function = None, False, None
    while origin_of(filename) is not None:
        place = _source_line(filename, lineno)
        if place is None:
            break
        user_file, function = origin_of(filename)
        filename, (lineno, source, backward) = user_file, place
        derivative = derivative or backward
    if source is None:
        return None
    return filename, lineno, source, derivative, function


def _source_line(filename: str, lineno: int):
    """(user line, its source, in a backward section?) from the `# line N:` comment above
    line `lineno` of generated code, else None."""
    place, backward = None, False
    for text in reversed(linecache.getlines(filename)[:lineno]):
        text = text.strip()
        if place is None and text.startswith("# line "):
            place = text[len("# line "):]
        elif text == "# backward":
            backward = True
            break
        elif text == "# forward" or text.startswith("def "):
            break
    if place is None:
        return None
    number, _, source = place.partition(": ")
    return int(number), source, backward
