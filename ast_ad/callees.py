"""What a user function called by the code being compiled returns: its abstract value.

The caller's values pass asks, so code after `z = helper(x)` knows z is a
scalar, an array of a known shape, or a tuple of three floats, as well as it
would inline. The callee is analysed with the values of the caller's
arguments, up to its values pass (a summary per callee and argument values).
"""

from __future__ import annotations

from dataclasses import dataclass

import gast

from . import cache, values
from .errors import ADError
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


def result_of(fn, arguments: tuple) -> Result:
    """What `fn` returns and changes when called with arguments of these values."""
    from .context import Options
    from .passes.aliases import changes, shares_with_parameters
    from .pipeline import transform
    from .source import get_source

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
                tree, ctx = transform(get_source(fn), Options.of_values(arguments),
                                      stop_after="values")
            except ADError:
                result = UNKNOWN  # if it is ever differentiated, compiling it reports the error
            else:
                value = tree.body[-1].value
                changed = tuple(changes(tree, ctx))
                if isinstance(value, gast.Name):
                    result = Result(ctx.values.get(value.id, values.UNKNOWN),
                                    shares_with_parameters(tree, ctx, value.id), changed)
                else:
                    result = Result(values.UNKNOWN, None, changed)
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
