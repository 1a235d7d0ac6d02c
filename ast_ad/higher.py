"""Derivatives of derivatives: differentiate the code ast-ad generated, with forward mode.

`grad(g)` for a scalar-valued g that is itself a derivative (`g = grad(f)`)
takes the jvp of g's generated code with a unit tangent per argument:

    def f_grad_grad(x):
        value, t1 = f_grad_jvp(x, 1.0)
        check_scalar_output(value)
        return t1

That wrapper is generated code too, registered like the rest, so it can be
differentiated again: grad(grad(grad(f))) works to any order.
"""

from __future__ import annotations

import inspect
import weakref

from . import cache
from .compile import compile_function, compile_wrapper, stale_handler
from .context import Options
from .runtime import scalar_output_check
from .source import get_source
from .values import kind_of_value


def derivative_of_generated(generated, mode: str, argnums: tuple, is_tuple: bool, values):
    kinds = tuple(kind_of_value(v) for v in values)
    key = (mode, argnums, is_tuple, kinds)
    found = cache.lookup(generated, "wrappers", key)
    if found is not None:
        return found
    import numpy as np

    arrays = tuple((v.dtype.name, v.shape) if isinstance(v, np.ndarray) else None
                   for v in values)
    src = get_source(generated)
    (jvp_fn,) = compile_function(src, Options("jvp", argnums, True, kinds, arrays))
    params = inspect.signature(generated).parameters.values()
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY,
                                                       p.POSITIONAL_OR_KEYWORD)]
    keyword = [p.name for p in params if p.kind == p.KEYWORD_ONLY]
    signature = ", ".join(positional + (["*"] + keyword if keyword else []))
    base = generated.__name__
    name = f"{base}_{'value_and_grad' if mode == 'value_and_grad' else 'grad'}"
    lines = [f"def {name}({signature}):"]
    tangents = []
    for k in range(len(argnums)):
        unit = ", ".join("1.0" if j == k else "0.0" for j in range(len(argnums)))
        t = f"t{k + 1}"
        tangents.append(t)
        call = ", ".join(positional + [unit] + [f"{kw}={kw}" for kw in keyword])
        lines.append(f"    value, {t} = {jvp_fn.__name__}({call})")
    lines.append("    check_scalar_output(value)")
    grad = f"({', '.join(tangents)},)" if is_tuple else tangents[0]
    lines.append(f"    return value, {grad}" if mode == "value_and_grad" else f"    return {grad}")
    text = "\n".join(lines) + "\n"
    injected = {jvp_fn.__name__: jvp_fn,
                "check_scalar_output": scalar_output_check(generated.__qualname__, None)}
    deps = getattr(jvp_fn, "__ast_ad_deps__", ())
    stale = stale_handler(generated, None)
    wrapper = compile_wrapper(text, name, generated.__globals__, injected, generated.__qualname__,
                              deps, stale)
    stale.__ast_ad_for__.append(wrapper)
    wrapper.__ast_ad_source__ = text + "\n\n" + jvp_fn.__ast_ad_source__
    wrapper.__ast_ad_users__ = weakref.WeakSet()
    cache.store(generated, "wrappers", key, wrapper, deps)
    return wrapper
