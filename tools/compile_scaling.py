"""Compile time against statement count: straight-line functions of N statements.

    python tools/compile_scaling.py [--sizes 100,200,400] [--variant floats|arrays|both]
                                    [--stages] [--floor] [--profile N] [--first-call]

`generate(n, variant)` writes the source of a function of `n` statements: float
arithmetic and math.* calls over a few variables that feed into each other
(`floats`), or the same with NumPy arrays and np.* calls (`arrays`). `load(source)`
turns it into a real function (a file in a temporary directory, so its source can
be read). `compile_time(fn, args)` is the time of the first `value_and_grad` call
with the code cache cleared (transform, print, compile, one run); `stage_times`
splits the transform into the pipeline's stages, and `floor` measures what no pass can
avoid (parsing, printing, CPython compiling the printed text) and what one plain walk of
the function's tree costs before and after differentiation. tools/bench.py can call these.

Compile time is all plain Python, and how fast a shared machine runs it varies from
day to day (and hour to hour), so the table starts with the CPU time of a reference
loop (`reference_loop`), to tell a slow day from a slow change. It is no scale for
compile time, which walks large trees and is slowed more by a busy memory than the
loop: compare changes side by side in one session.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import os
import pstats
import random
import re
import sys
import tempfile
import time

import gast
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import ast_ad  # noqa: E402
from ast_ad import pipeline, syntax  # noqa: E402
from ast_ad.compile import compile_callee  # noqa: E402
from ast_ad.context import Context, Options  # noqa: E402
from ast_ad.naming import Namer, names_in  # noqa: E402
from ast_ad.passes.emit import emit  # noqa: E402
from ast_ad.passes.parse import parse  # noqa: E402
from ast_ad.recursion import room_for  # noqa: E402
from ast_ad.source import get_source  # noqa: E402
from ast_ad.values import kind_of_value  # noqa: E402

VARIABLES = ("a", "b", "c", "d")


SHAPES = ("straight", "loops", "branches", "entries")


def generate(n: int, variant: str = "floats", seed: int = 0, shape: str = "straight") -> str:
    """The source of `def f(x, y, z)` with `n` statements and one `return`.

    Each statement assigns one of a few variables from the values of one or two
    others (and sometimes a parameter), so the variables are reassigned again and
    again and every statement feeds later ones. Values stay bounded (tanh, sin,
    cos, small factors) so the function can be run at any size. `shape`: the
    statements one after the other (straight), or in groups of four, each group the
    body of its own `for` loop of two iterations (loops) or the two branches of its
    own `if` (branches), or straight-line with the variables entries of one dict,
    `p["a"] = ...` (entries: each write the backward pass undoes).
    """
    rng = random.Random(seed)
    lib = "np" if variant == "arrays" else "math"
    lines = ["def f(x, y, z):"]
    defined: list[str] = []
    if shape in ("loops", "branches"):  # (so that each variable is bound on every path)
        lines.append("    a, b, c, d = x, y, z, x")
        defined = list(VARIABLES)
    elif shape == "entries":
        lines.append('    p = {"a": x, "b": y, "c": z, "d": x}')
        defined = list(VARIABLES)
    for i in range(n):
        target = VARIABLES[i % len(VARIABLES)]
        # each variable is updated from its own value (so nothing is dead) and another's
        u = target if target in defined else rng.choice(["x", "y", "z"])
        v = rng.choice([w for w in defined if w != target] + ["x", "y", "z"])
        k = round(rng.uniform(0.1, 0.5), 2)
        # every form keeps |value| <= 2 when its operands are
        expr = rng.choice([
            f"{k} * {u} * {v}",
            f"0.5 * {u} + {k} * {v}",
            f"{lib}.{rng.choice(['sin', 'cos', 'tanh'])}({u}) + {k} * {v}",
            f"{lib}.exp(-{u} * {u}) * {v}",
            f"0.5 * {u} - {v} / (1.0 + {v} * {v})",
            f"{lib}.tanh({u} * {v} + {k})",
            f"{lib}.sqrt(1.0 + {u} * {u}) * {k} + {k} * {v}",
            f"{lib}.sin({u}) * {lib}.cos({v})",
        ])
        lines.append(f"    {target} = {expr}")
        if target not in defined:
            defined.append(target)
    if shape in ("loops", "branches"):
        lines[2:] = _grouped(lines[2:], shape, variant)
    result = " + ".join(defined or ["x"])
    if shape == "entries":
        lines[2:] = [re.sub(r"\b([a-d])\b", r'p["\1"]', line) for line in lines[2:]]
        result = re.sub(r"\b([a-d])\b", r'p["\1"]', result)
    lines.append(f"    return np.sum({result})" if variant == "arrays" else f"    return {result}")
    return "\n".join(lines) + "\n"


def _grouped(statements: list[str], shape: str, variant: str) -> list[str]:
    """The statements in groups of four, each in a loop or an if of its own."""
    test = "np.sum(x) > 0.0" if variant == "arrays" else "x > 0.0"
    lines = []
    for start in range(0, len(statements), 4):
        group = ["    " + line for line in statements[start:start + 4]]
        if shape == "loops":
            lines += [f"    for i{start // 4} in range(2):"] + group
        else:
            half = (len(group) + 1) // 2
            lines += [f"    if {test}:"] + group[:half] \
                + (["    else:"] + group[half:] if group[half:] else [])
    return lines


def arguments(variant: str = "floats"):
    if variant == "arrays":
        rng = np.random.default_rng(0)
        return tuple(rng.uniform(-1.0, 1.0, 16) for _ in range(3))
    return (0.3, -0.2, 0.5)


_DIR = None


def load(source: str, name: str = "f"):
    """The function `name` defined by `source`, from a real file (inspect reads it)."""
    global _DIR
    if _DIR is None:
        _DIR = tempfile.mkdtemp(prefix="ast_ad_scaling_")
    path = os.path.join(_DIR, f"gen_{abs(hash(source))}.py")
    with open(path, "w") as handle:
        handle.write("import math\nimport numpy as np\n\n\n" + source)
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def compile_time(fn, args, clock=time.perf_counter) -> float:
    """Seconds of the first value_and_grad call with the code cache cleared (wall time;
    `clock=time.process_time` for this process's CPU time, steadier on a busy machine)."""
    ast_ad.clear_caches()
    start = clock()
    ast_ad.value_and_grad(fn, argnums=tuple(range(len(args))))(*args)
    return clock() - start


def options_for(args) -> Options:
    """The options value_and_grad(fn, argnums=all)(*args) compiles with."""
    return Options("value_and_grad", tuple(range(len(args))), True,
                   tuple(kind_of_value(v) for v in args),
                   tuple((v.dtype.name, v.shape) if isinstance(v, np.ndarray) else None
                         for v in args))


def stage_times(fn, args) -> dict[str, float]:
    """Seconds per pipeline stage (and printing) for one transform of `fn` for `args`."""
    options = options_for(args)
    ast_ad.clear_caches()
    src = get_source(fn)
    times = {}
    with room_for(src):
        ctx = Context(src, options, compile_callee=compile_callee,
                      analyse_callee=pipeline.analyse_callee)
        start = time.perf_counter()
        tree = parse(src)
        ctx.namer = Namer(names_in(tree))
        times["parse"] = time.perf_counter() - start
        for stage, run in pipeline.LOWERING + pipeline.REVERSE:
            start = time.perf_counter()
            tree = run(tree, ctx)
            times[stage] = time.perf_counter() - start
        start = time.perf_counter()
        for f in tree.body if isinstance(tree, gast.Module) else [tree]:
            emit(f, ctx)
        times["emit"] = time.perf_counter() - start
    return times


def floor(fn, args) -> dict[str, float]:
    """What a first call costs that no pass can avoid, and the price of one walk: seconds
    to parse, to print and to compile the printed text (CPython's `compile`), and of one
    `syntax.walk` of the tree after lowering and after differentiation (best of three
    each, the collector paused as in a real call), with those trees' node counts."""
    options = options_for(args)
    ast_ad.clear_caches()
    src = get_source(fn)
    found: dict[str, float] = {}

    def best(work) -> float:
        times = []
        for _ in range(3):
            start = time.process_time()
            work()
            times.append(time.process_time() - start)
        return min(times)

    def walked(label, tree) -> None:
        found[f"nodes {label}"] = len(syntax.walk(tree))
        found[f"walk {label}"] = best(lambda: syntax.walk(tree))

    with room_for(src), pipeline.no_collection():
        found["parse"] = best(lambda: parse(src))
        ctx = Context(src, options, compile_callee=compile_callee,
                      analyse_callee=pipeline.analyse_callee)
        tree = parse(src)
        ctx.namer = Namer(names_in(tree))
        for stage, run in pipeline.LOWERING + pipeline.REVERSE:
            tree = run(tree, ctx)
            if stage == pipeline.LOWERING[-1][0]:
                walked("lowered", tree)
            elif stage == "differentiate":
                walked("differentiated", tree)
        functions = tree.body if isinstance(tree, gast.Module) else [tree]
        text = "\n\n".join(emit(f, ctx) for f in functions)
        found["print"] = best(lambda: [emit(f, ctx) for f in functions])
        found["compile"] = best(lambda: compile(text, "<generated>", "exec"))
    found["stages"] = len(pipeline.LOWERING + pipeline.REVERSE)
    return found


FIRST_CALL_SOURCE = '''\
def small(x, y):
    a = x * y
    b = math.sin(a) + x
    c = math.exp(-b * b)
    d = a / (1.0 + c)
    e = math.log(1.0 + d * d)
    f = math.tanh(e - a)
    g = f * y + c
    h = math.sqrt(1.0 + g * g)
    return h + b
'''


def first_call(repeats: int = 5, clock=time.perf_counter) -> float:
    """Best seconds of the first value_and_grad call of a 10-line function on floats
    (code cache cleared; the compiler's modules already imported)."""
    fn = load(FIRST_CALL_SOURCE, "small")
    return min(compile_time(fn, (0.3, 0.7), clock) for _ in range(repeats))


def reference_loop(repeats: int = 3) -> float:
    """Best CPU seconds of `for i in range(10**7): s += i`: how fast this machine runs
    a plain Python loop now (0.35-1.7 s seen on the shared machines here)."""
    best = float("inf")
    for _ in range(repeats):
        start, total = time.process_time(), 0
        for i in range(10**7):
            total += i
        best = min(best, time.process_time() - start)
    return best


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,200,400,800,2000")
    parser.add_argument("--variant", default="both", choices=["floats", "arrays", "both"])
    parser.add_argument("--shape", default="straight", choices=SHAPES,
                        help="straight-line statements, or groups of four in loops or ifs")
    parser.add_argument("--stages", action="store_true", help="time each pipeline stage")
    parser.add_argument("--floor", action="store_true",
                        help="time what no pass avoids (parse, print, compile) and one walk")
    parser.add_argument("--profile", type=int, default=0,
                        help="cProfile one compile of this many statements instead")
    parser.add_argument("--first-call", action="store_true",
                        help="also time the first call of a 10-line function")
    args = parser.parse_args(argv)
    variants = ["floats", "arrays"] if args.variant == "both" else [args.variant]
    if args.profile:
        fn = load(generate(args.profile, variants[0], shape=args.shape))
        values = arguments(variants[0])
        profile = cProfile.Profile()
        profile.enable()
        compile_time(fn, values)
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
        return
    if args.first_call:
        print(f"first call of a 10-line function: {first_call() * 1000:.1f} ms "
              f"(CPU {first_call(clock=time.process_time) * 1000:.1f} ms)")
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"reference loop (10**7 additions): {reference_loop():.2f} s CPU")
    if not (args.stages or args.floor):
        print(f"{'variant':8} {'N':>6} {'first call':>11} {'per 100':>9} {'CPU':>9} "
              f"{'per 100':>9}")
    for variant in variants:
        for n in sizes:
            fn = load(generate(n, variant, shape=args.shape))
            values = arguments(variant)
            if args.floor:
                found = floor(fn, values)
                print(f"{variant:8} {n:>6}  " + "  ".join(
                    f"{k} {v}" if isinstance(v, int) else f"{k} {v:.3f}"
                    for k, v in found.items()))
                continue
            if args.stages:
                times = stage_times(fn, values)
                slow = sorted(times.items(), key=lambda kv: -kv[1])[:6]
                print(f"{variant:8} {n:>6}  " + "  ".join(f"{k} {v:.3f}" for k, v in slow))
                continue
            start = time.process_time()
            seconds = compile_time(fn, values)
            cpu = time.process_time() - start
            print(f"{variant:8} {n:>6} {seconds:>10.3f}s {seconds / n * 100 * 1000:>7.1f}ms"
                  f" {cpu:>8.3f}s {cpu / n * 100 * 1000:>7.1f}ms")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
