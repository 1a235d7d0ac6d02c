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
    # name of a global), the line doing it, its source text), e.g. `s.append(v)`; a fourth
    # item says why, when the change is only assumed (a function ast-ad cannot read).
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
        if fn in cache.analysing():  # a recursive call
            if key in _ASSUMED:
                _ASSUMED[key][1] = True
                return _ASSUMED[key][0]
            return UNKNOWN
        cache.analysing().append(fn)
        _ASSUMED[key] = [UNKNOWN, False]
        with cache.recording() as recorded:
            try:
                result = ctx.analyse_callee(fn, arguments)
                if _ASSUMED[key][1]:
                    result = _fixpoint(ctx, fn, arguments, key)
            finally:
                cache.analysing().pop()
                del _ASSUMED[key]
        cache.store(fn, "results", key, result, recorded.values())
        return result


# (function code, arguments) of a recursive function being analysed -> [the Result its
# recursive calls with those arguments are assumed to return, whether one was made].
_ASSUMED: dict = {}


def _fixpoint(ctx, fn, arguments: tuple, key) -> Result:
    """What a recursive function returns: assume its recursive calls return nothing known
    yet (so what the other branches return decides), analyse it again assuming that, and
    repeat with the join until the result is what was assumed (a few times at most, else
    UNKNOWN). The recursion ends when it runs, so an assumption the function's own
    analysis reproduces holds at every depth."""
    assumed = Result(None)
    for _ in range(3):
        _ASSUMED[key] = [assumed, False]
        try:
            result = ctx.analyse_callee(fn, arguments)
        except Exception:  # a pass meeting "nothing known yet" where it expected a value
            return UNKNOWN
        if result.value == assumed.value:
            return result if result.value is not None else UNKNOWN  # (no branch returns)
        assumed = Result(values.join(assumed.value, result.value))
    return UNKNOWN


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
