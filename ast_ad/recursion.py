"""Room on the stack for the compiler: its tree walkers recurse once per level of nesting.

A product of 1000 factors (`x*x*...*x`) is a tree 1000 levels deep. Python
itself compiles expressions nested up to about three times its recursion
limit; the walkers of gast, astor and the passes take a few frames per level.
While ast-ad compiles, the recursion limit is raised to LIMIT (never lowered),
and a RecursionError still raised is reported as an ADError at the function.
"""

from __future__ import annotations

import sys
import threading
from contextlib import contextmanager

from .errors import UnsupportedSyntaxError
from .source import FunctionSource

# Python compiles at most ~3000 levels under its default limit (1000); the walkers take
# at most ~8 frames per level (measured: x*x*..., -(-(...)), f(f(...)), (x + 1.0) * ...).
LIMIT = 30_000

_lock = threading.Lock()
_active = 0  # compilations under way (nested ones included, any thread)
_saved: int | None = None  # the limit to put back when the last one ends


@contextmanager
def room_for(src: FunctionSource):
    """Raise the recursion limit while `src` compiles; a RecursionError becomes an ADError."""
    global _active, _saved
    with _lock:
        if _active == 0:
            _saved = sys.getrecursionlimit()
            if _saved < LIMIT:
                sys.setrecursionlimit(LIMIT)
        _active += 1
    try:
        yield
    except RecursionError:
        raise UnsupportedSyntaxError(
            f"{src.name} is nested too deeply for ast-ad to compile",
            src.location,
            hint="split its longest expression into several statements",
        ) from None
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _saved is not None and sys.getrecursionlimit() == LIMIT:
                sys.setrecursionlimit(_saved)
