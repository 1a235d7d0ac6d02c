"""Finding a function's source: its text, real filename, absolute first line and environment."""

from __future__ import annotations
import __future__

import ast
import dis
import importlib.machinery
import inspect
import linecache
import operator
import os
import re
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


def bound_call(fn):
    """A callable object (an instance of a class that defines `__call__` in Python) as its
    bound `__call__`, differentiated as a method is; anything else as it is."""
    call = next((vars(k)["__call__"] for k in type(fn).__mro__ if "__call__" in vars(k)), None)
    return types.MethodType(call, fn) if isinstance(call, types.FunctionType) else fn


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
        lines, first = source_lines(code)
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


def source_lines(code: types.CodeType) -> tuple[list, int]:
    """inspect.getsourcelines(code): the lines of the `def` (decorators first) and the
    number of its first line. inspect finds the block's end with Python's tokenize, in
    Python, token by token; `_block_length` reads it off the lines, and leaves anything
    it is not sure of to inspect."""
    found = _quick_source_lines(code)
    return found if found is not None else inspect.getsourcelines(code)


# What inspect.getsourcefile maps to another file or to none.
_COMPILED_SUFFIXES = tuple(importlib.machinery.BYTECODE_SUFFIXES
                           + importlib.machinery.EXTENSION_SUFFIXES)

# The line inspect.findsource accepts as the first of a function (else it looks above).
_FIRST_LINE = re.compile(r'^(\s*def\s)|(\s*async\s+def\s)|(.*(?<!\w)lambda(:|\s))|^(\s*@)')


def _quick_source_lines(code: types.CodeType) -> tuple[list, int] | None:
    """What inspect.getsourcelines(code) returns, or None where this is not sure."""
    filename = code.co_filename
    if filename.endswith(_COMPILED_SUFFIXES):
        return None
    # The file's lines as inspect.findsource reads them: the module's globals it passes
    # only matter for a file found through its module's loader, left to inspect.
    linecache.checkcache(filename)
    entry = linecache.cache.get(filename)
    if entry is not None and len(entry) != 1:
        lines = entry[2]
    elif not filename.startswith("<") and os.path.isfile(filename):
        lines = linecache.getlines(filename)
    else:
        return None
    start = code.co_firstlineno - 1
    if not 0 <= start < len(lines) or start > 0 and not _FIRST_LINE.match(lines[start]):
        return None
    length = _block_length(lines, start)
    if length is None or _last_line(code) > start + length:
        return None
    return lines[start:start + length], start + 1


_LINE = operator.itemgetter(2)  # (start, end, line) -> line


def _last_line(code: types.CodeType) -> int:
    """The last line any instruction of `code` (or of the code nested in it) comes from."""
    # (the lines of a long function's instructions taken and compared in C)
    last = max(filter(None, map(_LINE, code.co_lines())), default=0)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            last = max(last, _last_line(const))
    return last


# A line without these holds no string, comment or continuation: brackets are counted.
_PLAIN = re.compile(r"[\"'#\\]")
_QUOTE_OR_COMMENT = re.compile(r"'''|\"\"\"|['\"#\\]")
# The rest of a string from after its opening quotes (as tokenize reads them: a
# backslash escapes the next character in every kind of string).
_STRING_END = {
    "'": re.compile(r"[^\n'\\]*(?:\\.[^\n'\\]*)*'"),
    '"': re.compile(r'[^\n"\\]*(?:\\.[^\n"\\]*)*"'),
    "'''": re.compile(r"[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*'''", re.S),
    '"""': re.compile(r'[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*"""', re.S),
}
_DEF = re.compile(r"(?:async\s+)?def\s")


def _block_length(lines: list, start: int) -> int | None:
    """How many lines from lines[start] inspect.getblock gives for a `def` starting
    there, or None if not sure (then inspect reads them).

    getblock's rule: the block ends at the first statement indented less than the
    body's first; it spans its last statement's logical line and any line after that
    holding only a comment indented at least as deep as the body. A one-line `def`
    ends with its line. Lines are followed as tokenize reads them: strings, comments,
    brackets and backslashes decide where a logical line ends."""
    depth = 0  # brackets open
    quote = None  # the quotes of a string going on to the next line
    continued = False  # a backslash ended the line
    header = True  # before the end of the `def` line
    seen_def = one_line = False
    def_indent = body_indent = None
    indents: list = []  # the body's indentation levels
    last = None  # the block's lines so far
    ending = ""  # the last character of the logical line's code so far
    for i in range(start, len(lines)):
        line = lines[i]
        pos = 0
        if quote is not None:  # in a triple-quoted string
            end = _STRING_END[quote].match(line)
            if end is None:
                continue
            pos, quote, ending = end.end(), None, "'"
        elif depth == 0 and not continued:  # a logical line starts here
            stripped = line.lstrip(" ")
            indent = len(line) - len(stripped)
            head = stripped[:1]
            if head == "\n":
                continue
            if head == "#":
                if body_indent is not None and indent >= body_indent:
                    last = i - start + 1
                continue
            if not head or head.isspace() or "\r" in line:
                return None  # (tabs, form feeds, a blank last line: left to inspect)
            if one_line:
                return last if indent <= def_indent else None
            if header:
                if def_indent is None:
                    def_indent = indent
                elif indent != def_indent or seen_def:
                    return None
                if _DEF.match(stripped):
                    seen_def = True
                elif head != "@":
                    return None
            elif body_indent is None:
                if indent <= def_indent:
                    return None
                body_indent = indent
                indents.append(indent)
            elif indent < body_indent:
                return last
            elif indent > indents[-1]:
                indents.append(indent)
            else:
                while indent < indents[-1]:
                    indents.pop()
                if indent != indents[-1]:
                    return None  # (a dedent to no level: tokenize's error)
            ending = ""
        elif continued and not line.strip():
            return None  # (a blank line continuing a backslash)
        continued = False
        if pos == 0 and not _PLAIN.search(line):
            depth += line.count("(") + line.count("[") + line.count("{") \
                - line.count(")") - line.count("]") - line.count("}")
            code = line.rstrip()
            if code:
                ending = code[-1]
        else:
            while True:
                found = _QUOTE_OR_COMMENT.search(line, pos)
                code = line[pos:found.start()] if found is not None else line[pos:]
                depth += code.count("(") + code.count("[") + code.count("{") \
                    - code.count(")") - code.count("]") - code.count("}")
                code = code.rstrip()
                if code:
                    ending = code[-1]
                if found is None or found.group() == "#":
                    break
                mark = found.group()
                if mark == "\\":
                    if line[found.end():] != "\n":
                        return None  # (a backslash not ending its line)
                    continued = True
                    break
                end = _STRING_END[mark].match(line, found.end())
                if end is None:
                    if len(mark) == 1:
                        return None  # (a string continued by a backslash)
                    quote = mark
                    break
                pos, ending = end.end(), "'"
        if depth < 0:
            return None
        if depth or quote is not None or continued:
            continue
        # A logical line ends here (tokenize's NEWLINE).
        if header:
            if seen_def:
                header = False
                last = i - start + 1
                one_line = ending != ":"
        else:
            last = i - start + 1
    if quote is not None or depth or continued or header or not lines[-1].endswith("\n") \
            or not one_line and body_indent is None:
        return None
    return last


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
