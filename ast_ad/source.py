"""Finding a function's source: its text, real filename, absolute first line and environment."""

from __future__ import annotations
import __future__

import ast
import dis
import inspect
import linecache
import textwrap
import types
from dataclasses import dataclass, field
from keyword import iskeyword

import gast

from . import cache
from .errors import Location, SourceUnavailableError


@dataclass
class FunctionSource:
    """A user function and everything the compiler needs to know about where it lives."""

    fn: types.FunctionType
    filename: str
    text: str  # dedented source of the `def` (or of the whole file, for a lambda)
    first_lineno: int  # absolute line of the first line of `text`
    indent: int  # columns that dedenting removed
    is_lambda: bool = False
    closure: dict = field(default_factory=dict)
    # The tree pipeline.check parsed, kept for the first transform (which takes it).
    checked_tree: object = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        """A Python identifier the generated functions' names start with.

        `__name__` may be anything (`f.__name__ = "my loss"`); the name in the `def`
        (co_name) is an identifier.
        """
        if self.is_lambda:
            return "lambda"
        for name in (self.fn.__name__, self.fn.__code__.co_name):
            if isinstance(name, str) and name.isidentifier() and not iskeyword(name):
                return name
        return "function"

    @property
    def qualname(self) -> str:
        return f"{self.fn.__module__}.{self.fn.__qualname__}".replace("<lambda>", "lambda")

    @property
    def globals(self) -> dict:
        return self.fn.__globals__

    @property
    def location(self) -> Location:
        return Location(self.filename, self.fn.__code__.co_firstlineno, 0)


def describe(fn) -> str:
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
    module = getattr(fn, "__module__", None)
    return f"{module}.{name}" if module and module != "builtins" else name


def get_source(fn) -> FunctionSource:
    """Return the source of a plain Python function, or raise SourceUnavailableError."""
    if not isinstance(fn, types.FunctionType):
        builtin = isinstance(fn, types.BuiltinFunctionType)
        kind = "a built-in function" if builtin else type(fn).__name__
        raise SourceUnavailableError(
            f"cannot differentiate {describe(fn)}: it is {kind}, not a Python function with source",
            hint="wrap it in a Python function, e.g. `def f(x): return g(x)`",
        )
    # Generated code is differentiated in its version without in-place accumulation
    # (see compile._without_inplace), and read without the dependency guard compiled into
    # its entry copy.
    differentiable = getattr(fn, "__ast_ad_differentiable__", None)
    if differentiable is not None:
        fn = differentiable() or fn
    fn = getattr(fn, "__ast_ad_plain__", fn)
    code = fn.__code__
    closure = dict(zip(code.co_freevars, fn.__closure__ or ()))
    if code.co_name == "<lambda>":
        return _lambda_source(fn, closure)
    try:
        # The code object's own lines: inspect would follow a functools.wraps
        # `__wrapped__` to the function the decorator wrapped, which is not what runs.
        lines, first = inspect.getsourcelines(code)
    except (OSError, TypeError) as exc:
        raise SourceUnavailableError(
            f"cannot read the source of {describe(fn)} (defined in {code.co_filename})",
            hint="define the function in a file (a module, script or notebook cell) "
                 "so its source can be read",
        ) from exc
    raw = "".join(lines)
    text = textwrap.dedent(raw)
    indent = len(lines[0]) - len(text.splitlines(True)[0]) if lines else 0
    if not code.co_filename.startswith("<ast_ad:"):
        check_source_matches(fn, text, first)
    return FunctionSource(fn, code.co_filename, text, first, indent, closure=closure)


# Compiler flags that change the code a `def` compiles to (from __future__ imports).
_FUTURE_FLAGS = 0
for _feature in __future__.all_feature_names:
    _FUTURE_FLAGS |= getattr(__future__, _feature).compiler_flag


def check_source_matches(fn, text: str, first: int) -> None:
    """Refuse source text that does not compile to the code that runs: a file edited
    after the module was imported (linecache reads the file as it is now)."""
    code = fn.__code__
    if cache.lookup(fn, "source", (code, text)):
        return
    frees = code.co_freevars
    wrapped = text
    if frees:  # compile inside a function with those variables, so they stay free
        wrapped = f"def __ast_ad_outer__({', '.join(frees)}):\n" + textwrap.indent(text, " ")
    # Python 3.11+ compiles `np.sum(x)` differently when `np` is imported in the same file
    # (LOAD_ATTR rather than LOAD_METHOD): the modules the code reads imported first, its
    # bytes are most often the running code's own (and compared as bytes, fast).
    imported = sorted(n for n in _global_names(code)
                      if isinstance(fn.__globals__.get(n), types.ModuleType))
    if imported:
        wrapped = "".join(f"import {n}\n" for n in imported) + wrapped
    try:
        module = compile(wrapped, code.co_filename, "exec", flags=code.co_flags & _FUTURE_FLAGS,
                         dont_inherit=True)
    except (SyntaxError, ValueError):
        module = None
    if module is None or not any(_same_code(c, code) for c in _functions_in(module, frees)):
        raise SourceUnavailableError(
            f"the source of {describe(fn)} in {code.co_filename} (line {first}) is not the "
            "code that runs: the file changed after the module was imported",
            Location(code.co_filename, first, 0),
            "reload the module (importlib.reload) or restart Python, then differentiate again",
        )
    cache.store(fn, "source", (code, text), True)


def _global_names(code: types.CodeType) -> set:
    """The names `code` (and the code nested in it) reads as globals or attributes."""
    found = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found |= _global_names(const)
    return found


def _functions_in(module: types.CodeType, frees) -> list:
    found = [c for c in module.co_consts if isinstance(c, types.CodeType)]
    if frees:
        found = [c for outer in found for c in outer.co_consts if isinstance(c, types.CodeType)]
    return found


def _ops(code: types.CodeType) -> list:
    """The instructions by name and meaning: running code is specialised in place
    (`LOAD_GLOBAL np; LOAD_METHOD sum` becomes `LOAD_GLOBAL NULL + np; LOAD_ATTR sum`)."""
    return [("LOAD_ATTR" if i.opname == "LOAD_METHOD" else i.opname,
             None if isinstance(i.argval, types.CodeType) or i.opcode in _JUMPS else i.argval)
            for i in dis.get_instructions(code) if i.opname not in _NOISE]


_JUMPS = set(dis.hasjrel) | set(dis.hasjabs)  # their targets move when code is specialised
_NOISE = {"PUSH_NULL", "NOP", "EXTENDED_ARG", "CACHE"}  # differ between 3.11 builds


def _same_code(a: types.CodeType, b: types.CodeType) -> bool:
    fields = ("co_name", "co_names", "co_varnames", "co_freevars", "co_cellvars",
              "co_argcount", "co_posonlyargcount", "co_kwonlyargcount")
    if any(getattr(a, f) != getattr(b, f) for f in fields):
        return False
    # (the same bytes are the same instructions; only differing bytes need a closer look)
    if a.co_code != b.co_code and _ops(a) != _ops(b):
        return False
    if len(a.co_consts) != len(b.co_consts):
        return False
    for x, y in zip(a.co_consts, b.co_consts):
        if isinstance(x, types.CodeType) and isinstance(y, types.CodeType):
            if not _same_code(x, y):
                return False
        elif type(x) is not type(y) or x != y and x == x:  # (NaN equals itself here)
            return False
    return True


def _lambda_source(fn, closure) -> FunctionSource:
    filename = fn.__code__.co_filename
    lines = linecache.getlines(filename, fn.__globals__)
    if not lines:
        raise SourceUnavailableError(
            f"cannot read the source of a lambda defined in {filename}",
            hint="define the function in a file, or use `def` instead of a lambda typed at "
                 "a prompt",
        )
    text = "".join(lines)
    _check_lambda_matches(fn, text)
    return FunctionSource(fn, filename, text, 1, 0, is_lambda=True, closure=closure)


def _check_lambda_matches(fn, text: str) -> None:
    """A lambda's file must still hold, on its line, a lambda compiling to its code."""
    code = fn.__code__
    if cache.lookup(fn, "source", (code, text)):
        return
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        tree = None
    lambdas = [node for node in ast.walk(tree) if isinstance(node, ast.Lambda)
               and node.lineno == code.co_firstlineno] if tree is not None else []
    for lam in lambdas:
        args = ast.arguments(posonlyargs=[], args=[ast.arg(arg=v) for v in code.co_freevars],
                             kwonlyargs=[], kw_defaults=[], defaults=[])
        outer = ast.FunctionDef(name="__ast_ad_outer__", args=args, body=[ast.Return(lam)],
                                decorator_list=[], returns=None, type_params=[])
        module = ast.fix_missing_locations(ast.Module(body=[outer], type_ignores=[]))
        try:
            compiled = compile(module, code.co_filename, "exec",
                               flags=code.co_flags & _FUTURE_FLAGS, dont_inherit=True)
        except (SyntaxError, ValueError):
            continue
        if any(_same_code(c, code) for c in _functions_in(compiled, True)):
            cache.store(fn, "source", (code, text), True)
            return
    raise SourceUnavailableError(
        f"the source of the lambda at {code.co_filename}:{code.co_firstlineno} is not the code "
        "that runs: the file changed after it was loaded",
        Location(code.co_filename, code.co_firstlineno, 0),
        "reload the module (importlib.reload) or restart Python, then differentiate again",
    )


def lambda_node(tree: gast.Module, fn: types.FunctionType) -> gast.Lambda | None:
    """Find the Lambda node in a parsed file that compiled to `fn`'s code."""
    code = fn.__code__
    candidates = [
        node
        for node in gast.walk(tree)
        if isinstance(node, gast.Lambda) and node.lineno == code.co_firstlineno
    ]
    arg_names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    candidates = [
        node
        for node in candidates
        if tuple(a.id for a in node.args.args + node.args.kwonlyargs) == arg_names
    ]
    if len(candidates) > 1:
        # Several lambdas with the same signature on one line: tell them apart by
        # the column where their body's code starts.
        starts = {(pos[0], pos[2]) for pos in code.co_positions() if pos[0] is not None}
        candidates = [
            node for node in candidates if (node.body.lineno, node.body.col_offset) in starts
        ] or candidates[:1]
    return candidates[0] if candidates else None
