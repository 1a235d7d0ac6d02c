"""Finding a function's source: its text, real filename, absolute first line and environment."""

from __future__ import annotations

import inspect
import linecache
import textwrap
import types
from dataclasses import dataclass, field
from keyword import iskeyword

import gast

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
    code = fn.__code__
    closure = dict(zip(code.co_freevars, fn.__closure__ or ()))
    if fn.__name__ == "<lambda>":
        return _lambda_source(fn, closure)
    try:
        lines, first = inspect.getsourcelines(fn)
    except (OSError, TypeError) as exc:
        raise SourceUnavailableError(
            f"cannot read the source of {describe(fn)} (defined in {code.co_filename})",
            hint="define the function in a file (a module, script or notebook cell) "
                 "so its source can be read",
        ) from exc
    raw = "".join(lines)
    text = textwrap.dedent(raw)
    indent = len(lines[0]) - len(text.splitlines(True)[0]) if lines else 0
    return FunctionSource(fn, code.co_filename, text, first, indent, closure=closure)


def _lambda_source(fn, closure) -> FunctionSource:
    filename = fn.__code__.co_filename
    lines = linecache.getlines(filename, fn.__globals__)
    if not lines:
        raise SourceUnavailableError(
            f"cannot read the source of a lambda defined in {filename}",
            hint="define the function in a file, or use `def` instead of a lambda typed at "
                 "a prompt",
        )
    return FunctionSource(fn, filename, "".join(lines), 1, 0, is_lambda=True, closure=closure)


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
