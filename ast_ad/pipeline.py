"""The order of the compiler passes: the one place it is declared.

    source -> parse -> fence -> loops -> exits -> anf -> ssa -> resolve -> kinds -> shapes
           -> aliases -> activity -> mutation -> differentiate (reverse, or forward for jvp)
           -> simplify -> fuse -> save -> inplace -> split (vjp) -> emit -> compile
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Callable

import gast

from .context import Context, Options
from .naming import Namer, names_in
from .passes.activity import activity
from .passes.aliases import check_aliases
from .passes.anf import anf
from .passes.emit import emit
from .passes.exits import exits
from .passes.fence import fence
from .passes.forward import forward
from .passes.fuse import fuse
from .passes.inplace import inplace
from .passes.kinds import infer_kinds
from .passes.loops import loops
from .passes.mutation import check_mutation
from .passes.parse import parse
from .passes.resolve import resolve
from .passes.reverse import reverse
from .passes.save import save
from .passes.shapes import infer_shapes
from .passes.simplify import simplify
from .passes.split import split
from .passes.ssa import ssa
from .recursion import room_for
from .source import FunctionSource

Pass = Callable[[gast.FunctionDef, Context], gast.FunctionDef]

# (stage name, pass) in order; every stage takes and returns the function's tree.
LOWERING: list[tuple[str, Pass]] = [
    ("fence", fence),
    ("loops", loops),
    ("exits", exits),
    ("anf", anf),
    ("ssa", ssa),
    ("resolve", resolve),
    ("kinds", infer_kinds),
    ("shapes", infer_shapes),
    ("aliases", check_aliases),
    ("activity", activity),
    ("mutation", check_mutation),
]
def differentiate(tree: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    """Forward mode for jvp, reverse mode for everything else."""
    return forward(tree, ctx) if ctx.options.mode == "jvp" else reverse(tree, ctx)


REVERSE: list[tuple[str, Pass]] = [
    ("differentiate", differentiate),
    ("simplify", simplify),
    ("fuse", fuse),
    ("save", save),
    ("inplace", inplace),
    ("split", split),
]

STAGES = ["parse"] + [n for n, _ in LOWERING + REVERSE]


def check(src: FunctionSource) -> None:
    """Parse and fence a function now, so unsupported syntax is reported up front."""
    with room_for(src):
        tree = parse(src)
        ctx = Context(src, Options())
        ctx.namer = Namer(names_in(tree))
        fence(tree, ctx)
        src.checked_tree = tree  # the first transform starts from it: no second parse


def transform(src: FunctionSource, options: Options, stop_after: str | None = None,
              compile_callee=None):
    """Run the pipeline on one function; return (tree, context).

    `stop_after` names a stage (see STAGES) to stop after, for `ast-ad show --stage`;
    `compile_callee` compiles user functions the code calls (see api.compile_callee).
    """
    ctx = Context(src, options, compile_callee=compile_callee)
    tree, src.checked_tree = src.checked_tree, None
    if tree is None:
        tree = parse(src)
    ctx.namer = Namer(names_in(tree))
    if stop_after == "parse":
        return tree, ctx
    for stage, run in LOWERING + REVERSE:
        tree = run(tree, ctx)
        if stage == stop_after:
            break
    return tree, ctx


def generate(src: FunctionSource, options: Options, stop_after: str | None = None,
             compile_callee=None):
    """Run the pipeline and print the result; return (source text, function names, context).

    One function, or two (forward, backward) in vjp mode.
    """
    with room_for(src), _no_collection():
        tree, ctx = transform(src, options, stop_after, compile_callee)
        functions = tree.body if isinstance(tree, gast.Module) else [tree]
        text = "\n\n".join(emit(f, ctx) for f in functions)
    return text, [f.name for f in functions], ctx


@contextmanager
def _no_collection():
    """The cyclic garbage collector paused while the compiler runs: the passes allocate
    many small nodes (and free them by reference counting), and each full collection
    walks all of them, which made the compile time of long functions grow faster than
    their length. Collection resumes (if it was on) when the compiler returns."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
