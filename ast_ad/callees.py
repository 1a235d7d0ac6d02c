"""What a user function called by the code being compiled returns: its kind and shape.

The caller's kinds and shapes passes ask, so code after `z = helper(x)` knows
z is a scalar (or an array of a known shape) as well as it would inline.
The callee is analysed with the caller's argument kinds, up to its shapes pass,
by the pipeline (`ctx.analyse_callee`): a pass never runs the pipeline itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import cache


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


def result_of(ctx, fn, kinds: tuple, arrays: tuple | None) -> Result:
    """What `fn` returns for arguments of these kinds (cached): see `ctx.analyse_callee`."""
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
                result = ctx.analyse_callee(fn, kinds, arrays)
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
