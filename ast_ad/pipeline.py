"""The order of the compiler passes: the one place it is declared.

    source -> parse -> fence -> loops -> exits -> anf -> ssa -> resolve -> values
           -> aliases -> activity -> mutation -> hoist
           -> differentiate (reverse, or forward for jvp)
           -> simplify -> fuse -> batch -> save -> inplace -> split (vjp) -> emit -> compile
"""

from __future__ import annotations

from typing import Callable

import gast

from . import callees
from .context import Context, Options
from .errors import ADError
from .naming import Namer, names_in
from .passes.activity import activity
from .passes.aliases import changes, check_aliases, shares_with_parameters
from .passes.anf import anf
from .passes.batch import batch
from .passes.emit import emit
from .passes.exits import exits
from .passes.fence import fence
from .passes.forward import forward
from .passes.fuse import fuse
from .passes.hoist import hoist
from .passes.inplace import inplace
from .passes.loops import loops
from .passes.mutation import check_mutation
from .passes.parse import parse
from .passes.resolve import resolve
from .passes.reverse import reverse
from .passes.save import save
from .passes.simplify import simplify
from .passes.split import split
from .passes.ssa import ssa
from .passes.values import infer_values
from .recursion import room_for
from .source import FunctionSource, get_source
from .values import UNKNOWN

Pass = Callable[[gast.FunctionDef, Context], gast.FunctionDef]


def lower_to_anf(tree: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    """The anf pass; a local function inlined where it is called first goes through the
    stages between fence and anf, as the function itself did."""
    return anf(tree, ctx, prepare=lambda body: exits(loops(body, ctx), ctx))


# (stage name, pass) in order; every stage takes and returns the function's tree.
LOWERING: list[tuple[str, Pass]] = [
    ("fence", fence),
    ("loops", loops),
    ("exits", exits),
    ("anf", lower_to_anf),
    ("ssa", ssa),
    ("resolve", resolve),
    ("values", infer_values),
    ("aliases", check_aliases),
    ("activity", activity),
    ("mutation", check_mutation),
    ("hoist", hoist),
]
def differentiate(tree: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    """Forward mode for jvp, reverse mode for everything else."""
    return forward(tree, ctx) if ctx.options.mode == "jvp" else reverse(tree, ctx)


REVERSE: list[tuple[str, Pass]] = [
    ("differentiate", differentiate),
    ("simplify", simplify),
    ("fuse", fuse),
    ("batch", batch),
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


def transform(src: FunctionSource, options: Options, stop_after: str | None = None,
              compile_callee=None):
    """Run the pipeline on one function; return (tree, context).

    `stop_after` names a stage (see STAGES) to stop after, for `ast-ad show --stage`;
    `compile_callee` compiles user functions the code calls (see compile.compile_callee).
    """
    ctx = Context(src, options, compile_callee=compile_callee, analyse_callee=analyse_callee)
    tree = parse(src)
    ctx.namer = Namer(names_in(tree))
    if stop_after == "parse":
        return tree, ctx
    for stage, run in LOWERING + REVERSE:
        tree = run(tree, ctx)
        if stage == stop_after:
            break
    return tree, ctx


def analyse_callee(fn, arguments: tuple) -> callees.Result:
    """What a user function the code calls returns (see callees.result_of, which caches
    it): the function analysed with the values of the caller's arguments, up to its
    values pass."""
    try:
        tree, ctx = transform(get_source(fn), Options.of_values(arguments), stop_after="values")
    except ADError:
        return callees.UNKNOWN  # if it is ever differentiated, compiling it reports the error
    value = tree.body[-1].value
    changed = tuple(changes(tree, ctx))
    if isinstance(value, gast.Name):
        return callees.Result(ctx.values.get(value.id, UNKNOWN),
                              shares_with_parameters(tree, ctx, value.id), changed)
    return callees.Result(UNKNOWN, None, changed)


def generate(src: FunctionSource, options: Options, stop_after: str | None = None,
             compile_callee=None):
    """Run the pipeline and print the result; return (source text, function names, context).

    One function, or two (forward, backward) in vjp mode.
    """
    with room_for(src):
        tree, ctx = transform(src, options, stop_after, compile_callee)
        functions = tree.body if isinstance(tree, gast.Module) else [tree]
        text = "\n\n".join(emit(f, ctx) for f in functions)
    return text, [f.name for f in functions], ctx
