"""Generate and compile a function's code: run the pipeline, exec once, register with
linecache, cache (`compile_function`, what every transformation calls).

The generated function runs with the user function's globals, shares its
closure cells (so it sees the same free variables), and reaches the objects
the rules need (numpy, runtime helpers) through closure cells of its own.

A function that callers reach through a dispatcher (grad, value_and_grad, and
the wrappers of higher derivatives) is compiled twice: as generated (what
`source`, linecache and further differentiation read), and as the copy that
runs, which first checks that what the compiler assumed still holds (see
cache.guard) and otherwise calls `stale` instead of running out-of-date code.
A long function's text is compiled once: what runs is a small function that
checks, then calls the generated one (see guarded_copy).
"""

from __future__ import annotations

import ast
import inspect
import linecache
import sys
import textwrap
import types
import weakref
from dataclasses import replace

from . import cache
from .context import Context, Options
from .errors import ADError, Location, NoRuleError
from .pipeline import change_in_place, generate, no_collection
from .recursion import room_for
from .source import FunctionSource, describe, get_source


def compile_function(src: FunctionSource, options: Options) -> list:
    """Generate and compile code for one function and options (cached per function).

    The code is cached with what generating it relied on (cache.Dep): if that
    changes, e.g. a global the function calls is rebound, the code is generated
    again; the first function also checks it whenever it runs (see guarded_copy).
    """
    key = (src.fn.__code__, src.text, options)
    with cache.LOCK:
        found = cache.lookup(src.fn, "generated", key)
        if found is not None:
            src.checked_tree = None  # (not needed: the tree check parsed is not kept)
            return found
        with no_collection():  # (until the trees and the context are freed: see there)
            return _compile_function(src, options, key)


def _compile_function(src: FunctionSource, options: Options, key) -> list:
    """compile_function's work when the code is not cached (the collector paused)."""
    with cache.recording() as recorded:
        # Code generated from generated code inherits what that code assumed.
        cache.replay(getattr(src.fn, "__ast_ad_deps__", ()))
        cache.compiling().append(src.fn)
        cache.compiling_options().append((src.fn, options))
        try:
            text, names, ctx = generate(src, options, compile_callee=compile_callee)
        finally:
            cache.compiling().pop()
            cache.compiling_options().pop()
    deps = tuple(recorded.values())
    guarded = options.mode in ("grad", "value_and_grad", "vector")
    stale = stale_handler(src.fn, options) if guarded else None
    functions = compile_generated(text, names, ctx, deps, stale)
    if stale is not None:
        stale.__ast_ad_for__.append(functions[0])
    callee_text = "".join(f"\n\n{t}" for t in dict.fromkeys(ctx.callees) if t not in text)
    for i, fn in enumerate(functions):
        fn.__ast_ad_source__ = text + callee_text
        if options.mode not in ("jvp", "vector") and options.inplace:
            fn.__ast_ad_differentiable__ = _without_inplace(src.fn, options, i)
        fn.__ast_ad_mutated__ = ctx.mutated_residuals
        fn.__ast_ad_primal_of__ = dict(ctx.primal_of)  # derivative name -> primal (trace)
        fn.__ast_ad_users__ = weakref.WeakSet()  # dispatchers that run it
    cache.store(src.fn, "generated", key, functions, deps)
    return functions


def _without_inplace(fn, options: Options, index: int):
    """The code to differentiate instead of the `index`-th generated function: the same
    code without in-place accumulation (`bx += c` on a buffer the function owns, which
    the aliases pass would rightly reject in code it cannot see is the only owner).
    Compiled on first use; held weakly, like the other caches keyed by `fn`."""
    fn_ref = weakref.ref(fn)

    def make():
        target = fn_ref()
        if target is None:
            return None
        return compile_function(get_source(target), replace(options, inplace=False))[index]

    return make


def stale_handler(fn, options: Options):
    """What generated code calls when what it was generated for no longer holds: the
    dispatchers running it forget it, and the call runs code generated afresh."""
    fn_ref = weakref.ref(fn)
    box: list = []  # the guarded function, once compiled

    def regenerate():
        target = fn_ref()
        if target is None or getattr(target, "__ast_ad_plain__", None) is not None or \
                target.__code__.co_filename.startswith("<ast_ad:"):
            raise ADError(f"the code ast-ad generated for {describe(target)} is out of date: a "
                          "global or closure variable it depends on was rebound",
                          hint="differentiate the function again")
        return compile_function(get_source(target), options)[0]

    def stale(*args, **kwargs):
        old = box[0] if box else None
        users = list(getattr(old, "__ast_ad_users__", ()))
        for state in users:
            state.forget(old)
        try:
            if users:
                new = users[0].compile_for(args, kwargs)
            else:
                new = regenerate()
        except ADError as error:
            raise error.with_traceback(None) from None
        return getattr(new, "__ast_ad_plain__", new)(*args, **kwargs)

    stale.__ast_ad_for__ = box
    return stale


def compile_callee(fn, options: Options, call_site: Location):
    """Forward and backward functions for a user function called by generated code
    (or its jvp function); None for a call of the function being generated by itself,
    with the same options: the generated code then calls itself.

    A recursive call is compiled for any array shapes (the shapes may change at each
    level, `f(x[1:])`); a function calling itself with other options still (which
    arguments carry a derivative, their kinds) gets one more version, up to
    RECURSIVE_VERSIONS; a call of a function being generated further out (mutual
    recursion) is rejected."""
    if getattr(fn, "__module__", None) in _OWN_HELPERS:
        try:  # (plain Python: most are differentiated like the user's code)
            return _compile_callee(fn, options, call_site)
        except ADError:
            raise NoRuleError(
                f"{describe(fn)}, the code ast-ad generates for a derivative here, cannot "
                "be differentiated again (it has no derivative rule, and its code is "
                "beyond what ast-ad differentiates)", call_site,
                "differentiate once here, or write the value with simpler NumPy operations "
                "(e.g. a norm as np.sqrt(np.sum(x * x, axis=...)))") from None
    return _compile_callee(fn, options, call_site)


def _compile_callee(fn, options: Options, call_site: Location):
    src = get_source(fn)
    fn = src.fn  # (generated code is differentiated in its version get_source gives)
    if fn not in cache.compiling():
        return compile_function(src, options)
    change = change_in_place(fn)
    if change is not None:
        where = Location(src.filename, change.lineno, change.col_offset)
        raise NoRuleError(
            f"{describe(fn)} calls itself and changes a value in place here: ast-ad cannot "
            "follow a change made by a recursive call", where,
            "build new values instead of changing them (or write the recursion as a loop)")
    options = replace(options, arrays=tuple(None if a is None else (a[0], None)
                                            for a in options.arrays or ()) or options.arrays)
    if _generating()[-1] == (fn, options):
        return None
    if cache.compiling()[-1] is not fn:
        raise NoRuleError(
            f"{describe(fn)} is called by a function it calls (mutual recursion): ast-ad "
            "differentiates a function that calls itself, not a cycle of functions",
            call_site, "call the function itself, or write the recursion as a loop")
    if sum(1 for f in cache.compiling() if f is fn) >= RECURSIVE_VERSIONS:
        raise NoRuleError(
            f"{describe(fn)} calls itself with arguments of other kinds at every level, "
            "or with other arguments carrying a derivative", call_site,
            "pass arguments of the same kinds (floats, arrays) at every level")
    return compile_function(src, options)


# ast-ad's helpers of generated code (their derivatives, where any, are rules).
_OWN_HELPERS = frozenset({"ast_ad.runtime", "ast_ad.runtime_extra"})

# A recursive function gets at most this many versions (see compile_callee).
RECURSIVE_VERSIONS = 4


def _generating() -> list:
    """(function, options) of the code being generated on this thread, innermost last."""
    return cache.compiling_options()


def note_user_line(error: BaseException) -> None:
    """Add a note to an exception raised in generated code, naming the user's function and
    source line the failing statement came from (read from its `# line N:` comment).
    Python 3.11+ (add_note); nothing otherwise. An ADError carries a location instead: one
    raised by a runtime check without one (runtime.check_positional) gets that line."""
    if isinstance(error, ADError):
        if error.location is None:
            _locate(error)
        return
    if not hasattr(error, "add_note"):
        return
    frame, tb = None, error.__traceback__
    while tb is not None:  # the innermost frame of generated code
        if cache.origin_of(tb.tb_frame.f_code.co_filename) is not None:
            frame = tb
        tb = tb.tb_next
    if frame is None:
        return
    place = cache.user_place(frame.tb_frame.f_code.co_filename, frame.tb_lineno)
    if place is None:
        return
    filename, lineno, source, derivative, function = place
    note = f"in {'the derivative of ' if derivative else ''}{function}, at {filename}:" \
           f"{lineno}: {source}"
    if note not in getattr(error, "__notes__", ()):
        error.add_note(note)
        if isinstance(error, RecursionError):
            error.add_note(
                f"{function} calls itself more deeply than Python's recursion limit "
                f"({sys.getrecursionlimit()}) allows: its generated code takes one frame per "
                "level, as it does; raise the limit (sys.setrecursionlimit) or write the "
                "recursion as a loop")


def _locate(error: ADError) -> None:
    """Give an ADError raised in generated code the user's line that code came from."""
    frame, tb = None, error.__traceback__
    while tb is not None:
        if cache.origin_of(tb.tb_frame.f_code.co_filename) is not None:
            frame = tb
        tb = tb.tb_next
    place = None if frame is None else \
        cache.user_place(frame.tb_frame.f_code.co_filename, frame.tb_lineno)
    if place is None:
        return
    filename, lineno = place[0], place[1]
    line = linecache.getline(filename, lineno)
    error.location = Location(filename, lineno, len(line) - len(line.lstrip()))
    error.args = (error._format(),)


def compile_generated(source: str, names: list[str], ctx: Context, deps=(),
                      stale=None) -> list[types.FunctionType]:
    """Compile the generated functions `names` defined by `source`; return them in order.

    With `stale`, the first function is the guarded copy of the generated one."""
    user = ctx.src
    injected = dict(ctx.injected)
    with room_for(user):
        functions = _compile(source, names, user.globals, injected, user.closure,
                             f"<ast_ad:{user.qualname}:{names[0]}>",
                             (user.filename, user.fn.__qualname__))
    for i, fn in enumerate(functions):
        # The backward function of a vjp takes no defaults; a jvp's positional
        # parameters are followed by tangents, so callers pass them all.
        fn.__defaults__ = user.fn.__defaults__ if i == 0 and ctx.options.mode != "jvp" else None
        if i == 0:
            fn.__kwdefaults__ = user.fn.__kwdefaults__
        fn.__qualname__ = f"{user.fn.__qualname__}.<{fn.__name__}>"
        fn.__module__ = user.fn.__module__
        fn.__ast_ad_source__ = source
        fn.__ast_ad_deps__ = tuple(deps)
    if stale is not None and deps:
        functions[0] = guarded_copy(functions[0], source, user.globals, injected, user.closure,
                                    deps, stale)
    return functions


def compile_wrapper(source: str, name: str, globals_: dict, injected: dict,
                    qualname: str, deps=(), stale=None) -> types.FunctionType:
    """Compile a small generated function that calls other generated functions."""
    (fn,) = _compile(source, [name], globals_, dict(injected), {}, f"<ast_ad:{qualname}:{name}>")
    fn.__qualname__ = f"{qualname}.<{name}>"
    fn.__ast_ad_deps__ = tuple(deps)
    if stale is not None and deps:
        fn = guarded_copy(fn, source, globals_, dict(injected), {}, deps, stale)
    return fn


def _compile(source: str, names: list[str], globals_: dict, injected: dict, closure: dict,
             filename: str, origin=None) -> list[types.FunctionType]:
    """`origin`: (the user's filename, function name) the code came from, for error notes."""
    outer = sorted(injected) + sorted(set(closure) - set(injected))
    factory_source = (
        f"def __ast_ad_factory__({', '.join(outer)}):\n"
        + _indent(source)
        + f"    return {', '.join(names)}\n"
    )
    filename = cache.register_lines(filename, factory_source, origin)
    code = compile(factory_source, filename, "exec")
    namespace: dict = {}
    exec(code, globals_, namespace)
    factory = namespace["__ast_ad_factory__"]
    functions = []
    own = {n: types.CellType() for n in names}  # a recursive function calls itself
    for func_name in names:
        inner = next(c for c in factory.__code__.co_consts
                     if isinstance(c, types.CodeType) and c.co_name == func_name)
        cells = tuple(
            types.CellType(injected[var]) if var in injected else
            own[var] if var in own and var not in closure else closure[var]
            for var in inner.co_freevars
        )
        fn = types.FunctionType(inner, globals_, func_name, None, cells)
        own[func_name].cell_contents = fn
        cache.keep_lines(filename, fn)
        functions.append(fn)
    cache.release_lines(filename)
    return functions


def _indent(text: str) -> str:
    """textwrap.indent(text, "    "), without its call per line (the generated text of a
    long function has tens of thousands)."""
    return "".join(["    " + line if line.strip() else line for line in text.splitlines(True)])


def _function_lines(source: str, lines: list, name: str) -> tuple:
    """(index of the line `def name(...):`, of its first statement's line, one past its
    last line, the indent of its statements) in the generated `source`. As emit prints it
    (a one-line header, then comments and statements indented, no line of it starting a
    line but its header), it is read off the lines; with a triple-quoted string, which may
    hold a line that starts as a header would, from a parse (a long text's parse costs
    more than compiling it)."""
    if '"""' not in source and "'''" not in source:
        starts = [i for i, line in enumerate(lines) if line.startswith(f"def {name}(")]
        if len(starts) == 1:
            first = starts[0]
            end = next((i for i in range(first + 1, len(lines)) if lines[i][:1] not in
                        (" ", "\n", "")), len(lines))
            while end > first + 1 and not lines[end - 1].strip():
                end -= 1
            at = next((i for i in range(first + 1, end)
                       if not lines[i].lstrip().startswith("#")), None)
            if at is not None:
                line = lines[at]
                return first, at, end, line[:len(line) - len(line.lstrip())]
    tree = ast.parse(source)
    func = next(node for node in tree.body
                if isinstance(node, ast.FunctionDef) and node.name == name)
    return func.lineno - 1, func.body[0].lineno - 1, func.end_lineno, \
        " " * func.body[0].col_offset


# A generated function of at least this many lines is guarded by a small function that
# checks and then calls it, rather than by a copy of its whole body: compiling a long
# text twice costs more than one call more per run (under a microsecond, nothing next
# to running so many lines; a 400-line function runs for tens of microseconds).
GUARD_CALLS_FROM = 400


def guarded_copy(fn: types.FunctionType, source: str, globals_: dict, injected: dict,
                 closure: dict, deps, stale) -> types.FunctionType:
    """`fn` recompiled so that it first checks `deps` and calls `stale` with its
    arguments if one no longer holds (or, for a long function, a function that checks
    and then calls `fn`). The copy refers to the generated function as
    `__ast_ad_plain__` (for inspect and further differentiation)."""
    code = fn.__code__
    shadowed = set(code.co_varnames) | set(injected) | {fn.__name__}
    condition, objects = cache.guard(deps, globals_, closure, shadowed)
    params = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    positional = params[:code.co_argcount]
    keywords = params[code.co_argcount:]
    call = ", ".join(list(positional) + [f"{k}={k}" for k in keywords])
    lines = source.splitlines(True)
    first, at, end, indent = _function_lines(source, lines, fn.__name__)
    check = textwrap.indent(
        f"if not ({condition}):\n"
        f"    return _ast_ad_stale({call})  # what the code was generated for changed\n",
        indent)
    both = {**injected, **objects, "_ast_ad_stale": stale}
    # (a function that calls itself keeps a whole copy: each level checks, as before;
    # one with *args or **kwargs too, whose call would need them spelt out)
    if end - at >= GUARD_CALLS_FROM and fn.__name__ not in code.co_freevars and \
            not code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS):
        run = textwrap.indent(f"return _ast_ad_plain({call})\n", indent)
        text = "".join(lines[first:at]) + check + run
        both["_ast_ad_plain"] = fn
    else:
        text = "".join(lines[first:at]) + check + "".join(lines[at:end])
    (copy,) = _compile(text, [fn.__name__], globals_, both, closure,
                       f"<ast_ad:{fn.__qualname__}:guarded>",
                       cache.origin_of(fn.__code__.co_filename))
    copy.__defaults__ = fn.__defaults__
    copy.__kwdefaults__ = fn.__kwdefaults__
    for attr in ("__qualname__", "__module__", "__ast_ad_source__", "__ast_ad_deps__"):
        if hasattr(fn, attr):
            setattr(copy, attr, getattr(fn, attr))
    copy.__ast_ad_plain__ = fn
    return copy
