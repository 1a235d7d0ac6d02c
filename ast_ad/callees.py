"""What a user function called by the code being compiled returns: its abstract value.

The caller's values pass asks, so code after `z = helper(x)` knows z is a
scalar, an array of a known shape, or a tuple of three floats, as well as it
would inline. The callee is analysed with the values of the caller's
arguments, up to its values pass, by the pipeline (`ctx.analyse_callee`): a
pass never runs the pipeline itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import cache, values
from .values import Value


@dataclass(frozen=True)
class Result:
    value: Value  # what it returns
    # The positions of the arguments the result may share memory with (`return a[0]`,
    # `return a.T`); None: any.
    shares: tuple | None = None
    # What the function changes in place that its caller sees: ((parameter index, or the
    # name of a global), the line doing it, its source text), e.g. `s.append(v)`.
    changes: tuple = ()


UNKNOWN = Result(values.UNKNOWN)


def result_of(ctx, fn, arguments: tuple) -> Result:
    """What `fn` returns and changes when called with arguments of these values (cached):
    see `ctx.analyse_callee`."""
    key = (fn.__code__, arguments)
    with cache.LOCK:
        found = cache.lookup(fn, "results", key)  # None if what it assumed changed
        if found is not None:
            return found
        if fn in cache.analysing():
            return UNKNOWN  # recursive: compiling it will say so
        cache.analysing().append(fn)
        with cache.recording() as recorded:
            try:
                result = ctx.analyse_callee(fn, arguments)
            finally:
                cache.analysing().pop()
        cache.store(fn, "results", key, result, recorded.values())
        return result


def bind(fn, args: list, keywords: dict):
    """The callee's parameters bound to the call's atoms (defaults filled in), or None."""
    import inspect

    try:
        bound = inspect.signature(fn, follow_wrapped=False).bind(*args, **keywords)
    except (TypeError, ValueError):
        return None
    params = [p for p in inspect.signature(fn, follow_wrapped=False).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return [(p, bound.arguments.get(p.name)) for p in params]
