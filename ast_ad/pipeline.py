"""The order of the compiler passes: the one place it is declared.

    source -> parse -> views -> fence -> with -> loops -> exits -> anf -> ssa -> resolve -> expand
           -> values
           -> containers
           -> aliases -> activity -> mutation -> hoist
           -> differentiate (reverse; forward for jvp; vector for jacfwd/jacrev/hessian)
           -> simplify -> factor -> fuse -> batch -> rows -> save -> inplace -> buffers
           -> checkpoint -> split (vjp)
           -> managers
           -> emit -> compile
"""

from __future__ import annotations

import gc
import inspect
import types
from contextlib import contextmanager
from typing import Callable

import gast

from . import anno, cache, callees, syntax
from .context import Context, Options
from .errors import ADError
from .naming import Namer, names_in
from .passes.activity import activity
from .passes.aliases import changes, check_aliases, shares_with_parameters
from .passes.anf import anf
from .passes.batch import batch
from .passes.buffers import buffers
from .passes.builtin_names import check_builtin_names
from .passes.checkpoint import checkpoint
from .passes.containers import check_containers
from .passes.depth import check_nesting
from .passes.dict_views import defer_dict_comprehensions, spell_out_dict_views
from .passes.emit import emit
from .passes.exits import exits
from .passes.expand import expand
from .passes.factor import factor
from .passes.fence import fence
from .passes.forward import forward
from .passes.fuse import fuse
from .passes.hoist import hoist
from .passes.inplace import inplace
from .passes.loops import loops
from .passes.managers import enter_managers
from .passes.mutation import check_mutation
from .passes.parse import parse
from .passes.resolve import resolve
from .passes.reverse import reverse
from .passes.rows import rows
from .passes.save import save
from .passes.simplify import simplify
from .passes.split import split
from .passes.ssa import ssa
from .passes.values import infer_values
from .passes.vector import vector
from .passes.with_blocks import with_blocks
from .recursion import room_for
from .source import FunctionSource, get_source
from .syntax import walk_statements
from .values import UNKNOWN

Pass = Callable[[gast.FunctionDef, Context], gast.FunctionDef]


def lower_to_anf(tree: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    """The anf pass; a local function inlined where it is called first goes through the
    stages between fence and anf, as the function itself did; so does a small helper
    of the same module (parsed and fenced first)."""
    def prepare(body):
        return exits(loops(with_blocks(body, ctx), ctx), ctx)

    return anf(tree, ctx, prepare,
               lambda name, names: inlinable_helper(name, names, ctx, prepare),
               lambda name, names: inlinable_method(name, names, ctx, prepare))


# A helper with at most this many statements is inlined where it is called.
INLINE_STATEMENTS = 12


def inlinable_helper(name: str, names: set, ctx: Context, prepare):
    """The tree of the global function `name` if it is worth inlining and means the same
    inlined: a small plain function of the same module (same globals, no closure, no
    defaults, no rule of its own) whose free names the caller does not also use as
    locals; else None (it is then compiled as a callee, as any other)."""
    from .rules import registry

    fn = ctx.src.globals.get(name) if name not in ctx.src.closure else None
    # A helper with *args or **kwargs is always inlined (the call binds them to the
    # call's own extra arguments, see anf); it may have defaults that are constants.
    packs = isinstance(fn, types.FunctionType) \
        and fn.__code__.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS)
    if not isinstance(fn, types.FunctionType) or fn.__globals__ is not ctx.src.globals \
            or fn.__closure__ or not packs and (fn.__defaults__ or fn.__kwdefaults__) \
            or packs and not _constant_defaults(fn) \
            or fn is ctx.src.fn or hasattr(fn, "__wrapped__") or hasattr(fn, "__ast_ad__") \
            or registry.lookup(fn) is not None or registry.is_nondifferentiable(fn) \
            or fn.__code__.co_flags & (inspect.CO_GENERATOR | inspect.CO_COROUTINE):
        return None
    if set(fn.__code__.co_names) & names:
        return None  # a global it reads would read the caller's local of that name
    try:
        src = get_source(fn)
        tree = parse(src)
        fence(tree, Context(src, Options()), packs=bool(packs))
    except ADError:
        return None  # compiled as a callee, which reports the problem
    # (inlined, a helper's writes into its arguments are the caller's, which the aliases
    # pass follows as it follows a callee's)
    if not packs and (sum(1 for _ in walk_statements(tree.body)) > INLINE_STATEMENTS
                      or not all(_pure(n, fn) for n in gast.walk(gast.Module(
                          body=tree.body, type_ignores=[])))):
        return None
    # The code inlined is right only while `name` still refers to this function.
    cache.depend("global", ctx.src.globals, name, (), fn)
    return prepare(tree)


def inlinable_method(name: str, names: set, ctx: Context, prepare):
    """The tree of the method `name` of a bound method's class (Options.self_class), to
    inline where the method calls `self.name(...)`: a plain function of the same module
    (same globals, no closure such as super()'s, defaults only of constants), reached
    through the class as a global of that module; else None (the call is then rejected)."""
    from .rules import registry

    cls = ctx.options.self_class
    fn = inspect.getattr_static(cls, name, None) if cls is not None else None
    if not isinstance(fn, types.FunctionType) or fn.__globals__ is not ctx.src.globals \
            or fn.__closure__ or ctx.src.globals.get(cls.__name__) is not cls \
            or any(not isinstance(d, (int, float, str, bool, type(None)))
                   for d in (fn.__defaults__ or ()) + tuple((fn.__kwdefaults__ or {}).values())) \
            or hasattr(fn, "__wrapped__") or registry.lookup(fn) is not None \
            or fn.__code__.co_flags & (inspect.CO_GENERATOR | inspect.CO_COROUTINE):
        return None
    if set(fn.__code__.co_names) & names:
        return None  # a global it reads would read the caller's local of that name
    try:
        src = get_source(fn)
        tree = parse(src)
        fence(tree, Context(src, Options()))
    except ADError:
        return None
    # The code inlined is right only while the class still has this method.
    cache.depend("global", ctx.src.globals, cls.__name__, (name,), fn, cls)
    return prepare(tree)


# (stage name, pass) in order; every stage takes and returns the function's tree.
LOWERING: list[tuple[str, Pass]] = [
    ("views", spell_out_dict_views),
    ("fence", fence),
    ("with", with_blocks),
    ("loops", loops),
    ("exits", exits),
    ("anf", lower_to_anf),
    ("ssa", ssa),
    ("resolve", resolve),
    ("expand", expand),
    ("values", infer_values),
    ("containers", check_containers),
    ("aliases", check_aliases),
    ("activity", activity),
    ("mutation", check_mutation),
    ("hoist", hoist),
]


def differentiate(tree: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    """Forward mode for jvp (with every direction at once for vector), reverse mode for
    everything else."""
    if ctx.options.mode == "vector":
        return vector(tree, ctx)
    return forward(tree, ctx) if ctx.options.mode == "jvp" else reverse(tree, ctx)


REVERSE: list[tuple[str, Pass]] = [
    ("differentiate", differentiate),
    ("simplify", simplify),
    ("factor", factor),
    ("fuse", fuse),
    ("batch", batch),
    ("rows", rows),
    ("save", save),
    ("inplace", inplace),
    ("buffers", buffers),
    ("checkpoint", checkpoint),
    ("split", split),
    ("managers", enter_managers),
]

STAGES = ["parse"] + [n for n, _ in LOWERING + REVERSE]


def check(src: FunctionSource) -> None:
    """Parse and fence a function now, so unsupported syntax is reported up front
    (the collector paused, as in generate: parsing a long function allocates many nodes)."""
    with room_for(src), no_collection():
        tree = parse(src)
        ctx = Context(src, Options())  # (no namer: checking invents no names)
        if "{" in src.text:  # (every dict display and comprehension is written with one)
            defer_dict_comprehensions(tree)
        fence(tree, ctx, parsed=anno.getanno(tree, "parsed"))
        anno.setanno(tree, "fenced", True)  # (the fence stage need not look again)
        src.checked_tree = tree  # the first transform starts from it: no second parse


def transform(src: FunctionSource, options: Options, stop_after: str | None = None,
              compile_callee=None):
    """Run the pipeline on one function; return (tree, context).

    `stop_after` names a stage (see STAGES) to stop after, for `ast-ad show --stage`;
    `compile_callee` compiles user functions the code calls (see compile.compile_callee).
    """
    ctx = Context(src, options, compile_callee=compile_callee, analyse_callee=analyse_callee)
    tree, src.checked_tree = src.checked_tree, None
    if tree is None:
        tree = parse(src)
    ctx.namer = Namer(_names(tree))
    if stop_after == "parse":
        return tree, ctx
    for stage, run in LOWERING + REVERSE:
        tree = run(tree, ctx)
        if stage == stop_after:
            break
    return tree, ctx


def _names(tree: gast.FunctionDef) -> set:
    """names_in(tree) of a tree as parse made it: the names its converter recorded, if it
    could (no walk of the whole tree)."""
    parsed = anno.getanno(tree, "parsed")
    if parsed is None:
        return names_in(tree)
    if syntax.CHECK_GATES:
        assert parsed.names == names_in(tree), parsed.names ^ names_in(tree)
    return parsed.names


def analyse_callee(fn, arguments: tuple) -> callees.Result:
    """What a user function the code calls returns (see callees.result_of, which caches
    it): the function analysed with the values of the caller's arguments, up to its
    values pass."""
    try:
        tree, ctx = transform(get_source(fn), Options.of_values(arguments), stop_after="values")
    except ADError as error:
        # If it is ever differentiated, compiling it reports the error. A call that is not
        # (its result carries no derivative) still runs it, and may change what it is given.
        return _unanalysed(fn, error)
    value = tree.body[-1].value
    changed = tuple(changes(tree, ctx))
    if isinstance(value, gast.Name):
        return callees.Result(ctx.values.get(value.id, UNKNOWN),
                              shares_with_parameters(tree, ctx, value.id), changed)
    return callees.Result(UNKNOWN, None, changed)


def _unanalysed(fn, error: ADError) -> callees.Result:
    """What a user function whose analysis failed (code ast-ad rejects, e.g. `ys[0][1] = v`)
    returns and changes: nothing known, and if any of its statements may change a value in
    place, each of its arguments, so a caller reading one around the call is rejected. (Not
    for a function of an installed library.)"""
    import linecache

    if cache.in_library(fn.__code__.co_filename) or fn.__module__.split(".")[0] == "ast_ad":
        # (an installed library's function, such as matplotlib's imsave in a plotting
        # callback: taken to change nothing, as before; its writes are not followed; and
        # ast-ad's own, such as ast_ad.grad(f): what it makes is rejected where it is called)
        return callees.UNKNOWN
    node = change_in_place(fn)
    if node is None:
        return callees.UNKNOWN
    line = getattr(node, "lineno", fn.__code__.co_firstlineno)
    text = linecache.getline(fn.__code__.co_filename, line).strip()
    count = fn.__code__.co_argcount + fn.__code__.co_kwonlyargcount
    where = f", line {error.location.lineno}" if error.location is not None else ""
    why = (f"ast-ad cannot read it ({error.message}{where}), and it may change a value in place "
           f"(line {line}: `{text}`)")
    return callees.Result(callees.UNKNOWN.value, None,
                          tuple((i, line, text, why) for i in range(count)))


def change_in_place(fn) -> gast.AST | None:
    """The first statement or call of `fn` that may change a value in place (`y[i] = v`,
    `y[i] += v`, `ys.append(v)`, `y.sort()`, `out=`), or None. A recursive call's
    changes are not known while the function is analysed, so a recursive function
    must change nothing (see compile.compile_callee)."""
    from .rules import registry

    tree = parse(get_source(fn))
    for node in gast.walk(gast.Module(body=tree.body, type_ignores=[])):
        if isinstance(node, (gast.Subscript, gast.Attribute)) and isinstance(node.ctx, gast.Store):
            return node
        if isinstance(node, gast.Call) and (
                any(k.arg == "out" for k in node.keywords)
                or isinstance(node.func, gast.Attribute) and (
                    node.func.attr in registry.INPLACE_METHODS
                    or node.func.attr in ("append", "extend", "insert", "pop", "remove",
                                          "clear", "sort", "reverse", "fill", "put",
                                          "resize", "setflags", "at"))):
            return node
    return None


def _constant_defaults(fn) -> bool:
    return all(isinstance(d, (int, float, str, bool, type(None)))
               for d in (fn.__defaults__ or ()) + tuple((fn.__kwdefaults__ or {}).values()))


def _pure(node, fn) -> bool:
    """Whether a node of a helper leaves its arguments and globals alone, as far as its
    syntax shows: no writes into items or attributes, no `+=`, no method calls (which
    may change their object), calls only of module functions (`np.exp`, `math.sin`)
    without `out=`, and no nested functions. Helpers that change things stay callees,
    whose changes the aliases pass follows."""
    if isinstance(node, (gast.Subscript, gast.Attribute)) and isinstance(node.ctx, gast.Store):
        return False
    if isinstance(node, (gast.AugAssign, gast.FunctionDef, gast.Lambda, gast.Global,
                         gast.Nonlocal, gast.Delete)):
        return False
    if isinstance(node, gast.Call):
        func = node.func
        if any(k.arg == "out" for k in node.keywords):
            return False
        root = func
        while isinstance(root, gast.Attribute):
            root = root.value
        return isinstance(func, gast.Attribute) and isinstance(root, gast.Name) \
            and func.attr != "at" and root.id not in fn.__code__.co_varnames \
            and isinstance(fn.__globals__.get(root.id), types.ModuleType)
    return True


def generate(src: FunctionSource, options: Options, stop_after: str | None = None,
             compile_callee=None):
    """Run the pipeline and print the result; return (source text, function names, context).

    One function, or two (forward, backward) in vjp mode.
    """
    with room_for(src), no_collection():
        tree, ctx = transform(src, options, stop_after, compile_callee)
        functions = tree.body if isinstance(tree, gast.Module) else [tree]
        for f in functions if stop_after is None else ():  # (the code to be compiled)
            check_nesting(f, ctx)
            check_builtin_names(f, ctx)
        text = "\n\n".join(emit(f, ctx) for f in functions)
    return text, [f.name for f in functions], ctx


@contextmanager
def no_collection():
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
