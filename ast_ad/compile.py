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


def compile_generated(source: str, func_name: str, ctx: Context) -> types.FunctionType:
    user = ctx.src
    injected = dict(ctx.injected)
    outer = sorted(injected) + sorted(set(user.closure) - set(injected))
    factory_source = (
        f"def __ast_ad_factory__({', '.join(outer)}):\n"
        + textwrap.indent(source, "    ")
        + f"    return {func_name}\n"
    )
    filename = f"<ast_ad:{user.qualname}:{func_name}>"
    code = compile(factory_source, filename, "exec")
    namespace: dict = {}
    exec(code, user.globals, namespace)
    factory = namespace["__ast_ad_factory__"]
    inner = next(c for c in factory.__code__.co_consts
                 if isinstance(c, types.CodeType) and c.co_name == func_name)
    cells = tuple(
        types.CellType(injected[var]) if var in injected else user.closure[var]
        for var in inner.co_freevars
    )
    fn = types.FunctionType(inner, user.globals, func_name, user.fn.__defaults__, cells)
    fn.__kwdefaults__ = user.fn.__kwdefaults__
    fn.__qualname__ = f"{user.fn.__qualname__}.<{func_name}>"
    fn.__module__ = user.fn.__module__
    linecache.cache[filename] = (len(factory_source), None,
                                 factory_source.splitlines(True), filename)
    return fn
