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
from .recursion import room_for


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
    filename = f"<ast_ad:{user.qualname}:{names[0]}>"
    with room_for(user):
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
    return functions


def compile_wrapper(source: str, name: str, globals_: dict, injected: dict,
                    qualname: str) -> types.FunctionType:
    """Compile a small generated function that calls other generated functions."""
    outer = sorted(injected)
    factory_source = (f"def __ast_ad_factory__({', '.join(outer)}):\n"
                      + textwrap.indent(source, "    ") + f"    return {name}\n")
    filename = f"<ast_ad:{qualname}:{name}>"
    namespace: dict = {}
    exec(compile(factory_source, filename, "exec"), globals_, namespace)
    fn = namespace["__ast_ad_factory__"](*[injected[k] for k in outer])
    fn.__qualname__ = f"{qualname}.<{name}>"
    linecache.cache[filename] = (len(factory_source), None,
                                 factory_source.splitlines(True), filename)
    return fn
