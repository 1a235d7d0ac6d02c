"""What a user function called by the code being compiled returns: its kind and shape.

The caller's kinds and shapes passes ask, so code after `z = helper(x)` knows
z is a scalar (or an array of a known shape) as well as it would inline.
The callee is analysed with the caller's argument kinds, up to its shapes pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import gast

from . import cache
from .errors import ADError


@dataclass(frozen=True)
class Result:
    kind: str | None
    shape: tuple | None
    item_kind: str | None  # when the function returns a tuple or list of one kind
    # The positions of the arguments the result may share memory with (`return a[0]`,
    # `return a.T`); None: any.
    shares: tuple | None = None
    # What the function changes in place that its caller sees: ((parameter index, or the
    # name of a global), the line doing it, its source text), e.g. `s.append(v)`.
    changes: tuple = ()


UNKNOWN = Result("other", None, None)


def result_of(fn, kinds: tuple, arrays: tuple | None) -> Result:
    from .context import Options
    from .passes.aliases import changes, shares_with_parameters
    from .pipeline import transform
    from .source import get_source

    key = (fn.__code__, kinds, arrays)
    with cache.LOCK:
        found = cache.lookup(fn, "results", key)  # None if what it assumed changed
        if found is not None:
            return found
        if fn in cache.analysing():
            return UNKNOWN  # recursive: compiling it will say so
        cache.analysing().append(fn)
        with cache.recording() as recorded:
            try:
                tree, ctx = transform(get_source(fn), Options(kinds=kinds, arrays=arrays),
                                      stop_after="shapes")
            except ADError:
                result = UNKNOWN  # if it is ever differentiated, compiling it reports the error
            else:
                value = tree.body[-1].value
                changed = tuple(changes(tree, ctx))
                if isinstance(value, gast.Name):
                    result = Result(ctx.kinds.get(value.id), ctx.shapes.get(value.id),
                                    ctx.elements.get(value.id),
                                    shares_with_parameters(tree, ctx, value.id), changed)
                else:
                    result = Result("other", None, None, None, changed)
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
