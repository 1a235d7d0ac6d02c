"""Checkpointing, as users ask for it: `ast_ad.checkpoint(helper)` (recompute a helper's
forward in the backward pass instead of keeping its intermediates) and the `checkpoint=`
option of grad and value_and_grad (binomial checkpointing of the function's loops); and
what both must refuse: code whose recomputation would not compute the same values.
"""

from __future__ import annotations

import functools
import types

from .errors import ADError


def checkpoint(fun):
    """`fun`, marked so that where a differentiated function calls it, its forward
    intermediates are not kept for the backward pass: the backward pass calls its forward
    again (with the same arguments) just before its adjoint, as `jax.checkpoint` does.

    Less memory (the arguments instead of every intermediate), one more forward call.
    Usable as a decorator; calling the result calls `fun`. A function that draws random
    numbers is rejected when a differentiated function calling it is compiled.
    """
    if not isinstance(fun, types.FunctionType):
        raise ADError(f"ast_ad.checkpoint takes a Python function, not {type(fun).__name__}",
                      hint="wrap it: `ast_ad.checkpoint(lambda x: g(x))` or define a def")
    marked = types.FunctionType(fun.__code__, fun.__globals__, fun.__name__, fun.__defaults__,
                                fun.__closure__)
    # (__wrapped__ also keeps the anf pass from inlining it: it stays a call)
    functools.update_wrapper(marked, fun, updated=())
    marked.__kwdefaults__ = fun.__kwdefaults__
    marked.__dict__.update(fun.__dict__)
    marked.__ast_ad_checkpoint__ = fun
    return marked


def is_checkpointed(fn) -> bool:
    return getattr(fn, "__ast_ad_checkpoint__", None) is not None


def schedule(option) -> tuple | None:
    """The `checkpoint=` option of grad as Options holds it: None, or ("revolve",
    snapshots or None for the default)."""
    if option is None or option is False:
        return None
    if option == "revolve" or option is True:
        return ("revolve", None)
    if isinstance(option, int) and not isinstance(option, bool) and option >= 1:
        return ("revolve", int(option))
    raise ADError(f"checkpoint={option!r} is not a checkpointing schedule",
                  hint='pass checkpoint="revolve" (the default number of snapshots) or '
                       "checkpoint=K, an int >= 1: keep at most K snapshots of a loop's state")


def draws_random(obj, seen=None) -> bool:
    """Whether calling `obj` may draw random numbers (NumPy's or Python's generators), as
    far as its code and the globals and closure it reads show: recomputing it would not
    give the values the forward pass used. Conservative: code that names `random` counts."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return False
    seen.add(id(obj))
    if isinstance(obj, types.ModuleType):
        return obj.__name__.split(".")[0] in ("random", "secrets") \
            or obj.__name__.startswith("numpy.random")
    owner = getattr(obj, "__self__", None)  # a bound method: rng.normal
    if owner is not None and not isinstance(owner, types.ModuleType) \
            and (type(owner).__module__.startswith("numpy.random")
                 or type(owner).__module__ == "random"):
        return True
    module = getattr(obj, "__module__", None) or ""
    if module.split(".")[0] in ("random", "secrets") or module.startswith("numpy.random"):
        return True
    if not isinstance(obj, types.FunctionType):
        return False
    codes, names = [obj.__code__], set()
    for code in codes:
        names.update(code.co_names)
        codes.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    if "random" in names or "default_rng" in names:
        return True
    cells = [c.cell_contents for c in obj.__closure__ or () if filled(c)]
    found = [obj.__globals__.get(n) for n in names] + cells
    return any(draws_random(v, seen) for v in found
               if isinstance(v, (types.FunctionType, types.ModuleType, types.MethodType)))


def filled(cell) -> bool:
    """Whether a closure cell holds a value (a variable not yet assigned does not)."""
    try:
        return cell.cell_contents is not _EMPTY
    except ValueError:
        return False


_EMPTY = object()
