"""Turn generated source into a function: exec once, register with linecache, cache.

The generated function runs with the user function's globals, shares its
closure cells (so it sees the same free variables), and reaches the objects
the rules need (numpy, runtime helpers) through closure cells of its own.
"""

from __future__ import annotations

import linecache
import textwrap
import types

from .context import Context

# Generated code's filename -> (the user's filename, the user function's qualified name).
_ORIGINS: dict = {}


def note_user_line(error: BaseException) -> None:
    """Add a note to an exception raised in generated code, naming the user's function and
    source line the failing statement came from (read from its `# line N:` comment).
    Python 3.11+ (add_note); nothing otherwise, or for ADErrors (they carry a location)."""
    from .errors import ADError

    if not hasattr(error, "add_note") or isinstance(error, ADError):
        return
    frame, tb = None, error.__traceback__
    while tb is not None:  # the innermost frame of generated code
        if tb.tb_frame.f_code.co_filename in _ORIGINS:
            frame = tb
        tb = tb.tb_next
    if frame is None:
        return
    filename, lineno, source, derivative = frame.tb_frame.f_code.co_filename, \
        frame.tb_lineno, None, False
    # Code generated from generated code (hessian, grad of grad) maps back step by step.
    while filename in _ORIGINS:
        place = _source_line(filename, lineno)
        if place is None:
            break
        user_file, function = _ORIGINS[filename]
        filename, (lineno, source, backward) = user_file, place
        derivative = derivative or backward
    if source is None:
        return
    note = f"in {'the derivative of ' if derivative else ''}{function}, at {filename}:" \
           f"{lineno}: {source}"
    if note not in getattr(error, "__notes__", ()):
        error.add_note(note)


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


def _unique_filename(stem: str, source: str) -> str:
    """`stem>`, or `stem#2>`... when other code is registered under that name (grad(f) for
    other argnums or kinds): the source read back through linecache (tracebacks, and
    differentiating generated code again) must be this code's."""
    filename, n = f"{stem}>", 1
    while filename in linecache.cache and "".join(linecache.cache[filename][2]) != source:
        n += 1
        filename = f"{stem}#{n}>"
    return filename


def compile_generated(source: str, names: list[str], ctx: Context) -> list[types.FunctionType]:
    """Compile the generated functions `names` defined by `source`; return them in order."""
    user = ctx.src
    injected = dict(ctx.injected)
    outer = sorted(injected) + sorted(set(user.closure) - set(injected))
    factory_source = (
        f"def __ast_ad_factory__({', '.join(outer)}):\n"
        + textwrap.indent(source, "    ")
        + f"    return {', '.join(names)}\n"
    )
    filename = _unique_filename(f"<ast_ad:{user.qualname}:{names[0]}", factory_source)
    code = compile(factory_source, filename, "exec")
    namespace: dict = {}
    exec(code, user.globals, namespace)
    factory = namespace["__ast_ad_factory__"]
    functions = []
    for i, func_name in enumerate(names):
        inner = next(c for c in factory.__code__.co_consts
                     if isinstance(c, types.CodeType) and c.co_name == func_name)
        cells = tuple(
            types.CellType(injected[var]) if var in injected else user.closure[var]
            for var in inner.co_freevars
        )
        # The backward function of a vjp takes no defaults; a jvp's positional
        # parameters are followed by tangents, so callers pass them all.
        defaults = user.fn.__defaults__ if i == 0 and ctx.options.mode != "jvp" else None
        fn = types.FunctionType(inner, user.globals, func_name, defaults, cells)
        if i == 0:
            fn.__kwdefaults__ = user.fn.__kwdefaults__
        fn.__qualname__ = f"{user.fn.__qualname__}.<{func_name}>"
        fn.__module__ = user.fn.__module__
        fn.__ast_ad_source__ = source
        functions.append(fn)
    linecache.cache[filename] = (len(factory_source), None,
                                 factory_source.splitlines(True), filename)
    _ORIGINS[filename] = (user.filename, user.fn.__qualname__)
    return functions


def compile_wrapper(source: str, name: str, globals_: dict, injected: dict,
                    qualname: str) -> types.FunctionType:
    """Compile a small generated function that calls other generated functions."""
    outer = sorted(injected)
    factory_source = (f"def __ast_ad_factory__({', '.join(outer)}):\n"
                      + textwrap.indent(source, "    ") + f"    return {name}\n")
    filename = _unique_filename(f"<ast_ad:{qualname}:{name}", factory_source)
    namespace: dict = {}
    exec(compile(factory_source, filename, "exec"), globals_, namespace)
    fn = namespace["__ast_ad_factory__"](*[injected[k] for k in outer])
    fn.__qualname__ = f"{qualname}.<{name}>"
    linecache.cache[filename] = (len(factory_source), None,
                                 factory_source.splitlines(True), filename)
    return fn
