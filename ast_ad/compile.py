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
    filename = _register(f"{user.qualname}:{names[0]}", factory_source)
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
    return functions


def compile_wrapper(source: str, name: str, globals_: dict, injected: dict,
                    qualname: str) -> types.FunctionType:
    """Compile a small generated function that calls other generated functions."""
    outer = sorted(injected)
    factory_source = (f"def __ast_ad_factory__({', '.join(outer)}):\n"
                      + textwrap.indent(source, "    ") + f"    return {name}\n")
    filename = _register(f"{qualname}:{name}", factory_source)
    namespace: dict = {}
    exec(compile(factory_source, filename, "exec"), globals_, namespace)
    fn = namespace["__ast_ad_factory__"](*[injected[k] for k in outer])
    fn.__qualname__ = f"{qualname}.<{name}>"
    return fn


def _register(label: str, text: str) -> str:
    """Register generated source with linecache under `<ast_ad:label>`; return that filename.

    Each different text gets its own filename (`<ast_ad:label#2>`...): the same function
    compiled for other options (other active arguments, kinds or shapes) is other code, and
    differentiating generated code again (grad(grad(f))) reads its source back from here.
    """
    lines = text.splitlines(True)
    filename, n = f"<ast_ad:{label}>", 1
    while filename in linecache.cache and linecache.cache[filename][2] != lines:
        n += 1
        filename = f"<ast_ad:{label}#{n}>"
    linecache.cache[filename] = (len(text), None, lines, filename)
    return filename
