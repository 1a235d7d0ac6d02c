"""Random small programs through grad / value_and_grad / vjp / jvp: find code-generation crashes.

    python tools/fuzz_codegen.py [--seed 0] [--count 200] [--keep DIR] [--products] [--second-order]

Each program mixes loops in a row, break/continue, ifs inside loops, tuples, long
expressions, string constants and calls to helper functions. A program is flagged
when a transformation raises anything but an ADError, or when a derivative differs
from central finite differences. Flagged programs are written to --keep (default: a
temporary folder) with the failure as a comment.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import random
import sys
import tempfile
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import ast_ad  # noqa: E402
from ast_ad.errors import ADError  # noqa: E402

HELPERS = '''import math

import numpy as np


def helper_square(a):
    return a * a


def helper_pair(a, b):
    return a * b, a + b


def helper_nested(a):
    return helper_square(a) + math.sin(a)
'''


class Program:
    """One random function `f(x, y, n)` of two floats and an int."""

    def __init__(self, rng: random.Random, products: bool = False):
        self.rng = rng
        self.products = products
        self.lines: list[str] = []
        self.vars = ["x", "y"]
        self.counter = 0

    def fresh(self) -> str:
        self.counter += 1
        return f"v{self.counter}"

    def expr(self, depth: int = 0) -> str:
        rng = self.rng
        choice = rng.random()
        if depth > 2 or choice < 0.3:
            return rng.choice(self.vars + ["0.5", "1.5", "2.0"])
        a, b = self.expr(depth + 1), self.expr(depth + 1)
        options = [
            f"({a} + {b})", f"({a} - {b})", f"({a} * {b})", f"math.sin({a})",
            f"math.cos({a}) * {b}", f"({a} / (1.0 + {b} * {b}))", f"helper_square({a})",
            f"helper_nested({a})", f"math.exp(-{a} * {a})",
            " * ".join([rng.choice(self.vars)] * rng.randint(2, 40)),
            " + ".join(f"{rng.choice(self.vars)} * {i}.0" for i in range(rng.randint(2, 40))),
            f"({a} if {b} > 0.3 else {b})",
        ]
        return rng.choice(options)

    def statement(self, indent: int, in_loop: bool, depth: int) -> None:
        rng = self.rng
        pad = "    " * indent
        kind = rng.random()
        if depth < 2 and kind < 0.2:
            loop = rng.choice(["for", "for", "while"])
            if loop == "for":
                i = self.fresh()
                self.lines.append(f"{pad}for {i} in range(n):")
            else:
                i = self.fresh()
                self.lines.append(f"{pad}{i} = 0")
                self.lines.append(f"{pad}while {i} < n:")
                self.lines.append(f"{pad}    {i} = {i} + 1")
            for _ in range(rng.randint(1, 3)):
                self.statement(indent + 1, True, depth + 1)
            return
        if kind < 0.3:
            self.lines.append(f"{pad}if {self.expr()} > 0.5:")
            self.statement(indent + 1, in_loop, depth + 1)
            if rng.random() < 0.5:
                self.lines.append(f"{pad}else:")
                self.statement(indent + 1, in_loop, depth + 1)
            return
        if in_loop and kind < 0.38:
            self.lines.append(f"{pad}if {self.expr()} > 1.0:")
            self.lines.append(f"{pad}    {rng.choice(['break', 'continue'])}")
            return
        if kind < 0.45:
            a, b = rng.sample(self.vars, 2) if len(self.vars) > 1 else ("x", "y")
            self.lines.append(f"{pad}{a}, {b} = {b}, {a}")
            return
        if kind < 0.5:
            p, q = self.fresh(), self.fresh()
            self.lines.append(f"{pad}{p}, {q} = helper_pair({self.expr()}, {self.expr()})")
            self.vars += [p, q] if indent == 1 else []
            return
        if kind < 0.55:
            var = rng.choice(self.vars)
            self.lines.append(pad + "print(f\"{'q'} \\\"{" + var + ":.2f}\", 'it\\'s')")
            return
        target = rng.choice(self.vars) if rng.random() < 0.6 else self.fresh()
        if target == "x" and rng.random() < 0.5:
            target = self.fresh()
        self.lines.append(f"{pad}{target} = {self.expr()}")
        if indent == 1 and target not in self.vars:
            self.vars.append(target)

    def build(self, name: str) -> str:
        for _ in range(self.rng.randint(2, 6)):
            self.statement(1, False, 0)
        result = " + ".join(f"math.sin({v})" for v in self.vars)
        if self.products:  # adjoints that are forward values (`bv = w`) flow into the loops
            factors = self.rng.sample(self.vars, min(len(self.vars), self.rng.randint(2, 3)))
            result += " + " + " * ".join(f"math.cos({v})" if self.rng.random() < 0.5 else v
                                          for v in factors)
        return f"def {name}(x, y, n):\n" + "\n".join(self.lines) + f"\n    return {result}\n"


def numeric(f, args, k, eps=1e-6):
    plus, minus = list(args), list(args)
    plus[k] += eps
    minus[k] -= eps
    return (f(*plus) - f(*minus)) / (2 * eps)


def second_order(f, args) -> str | None:
    """jvp of the generated gradient code against finite differences of the gradient."""
    try:
        grad = ast_ad.grad(f, argnums=(0, 1))

        def column(k, eps):
            plus, minus = list(args), list(args)
            plus[k] += eps
            minus[k] -= eps
            return [(a - b) / (2 * eps) for a, b in zip(grad(*plus), grad(*minus))]

        expected = [column(0, 1e-5), column(1, 1e-5)]
        coarse = [column(0, 1e-3), column(1, 1e-3)]
    except Exception:
        return None  # the first-order check speaks for the gradient itself
    values = [v for col in expected + coarse for v in col]
    if not all(math.isfinite(v) and abs(v) < 1e5 for v in values) or not all(
            math.isclose(e, c, rel_tol=1e-2, abs_tol=1e-3)
            for a, b in zip(expected, coarse) for e, c in zip(a, b)):
        return None  # near a threshold, or too large for finite differences
    for k in range(2):
        direction = [0.0, 0.0, 0]
        direction[k] = 1.0
        try:
            got = ast_ad.jvp(grad, args, tuple(direction))[1]
        except ADError:
            return None
        except Exception:
            return f"jvp(grad): {traceback.format_exc(limit=-3)}"
        if not all(math.isclose(g, e, rel_tol=1e-4, abs_tol=1e-5)
                   for g, e in zip(got, expected[k])):
            return f"jvp(grad) along {k}: {got} but finite differences give {expected[k]}"
    return None


def check(f, args) -> str | None:
    try:
        value = f(*args)
        expected = (numeric(f, args, 0), numeric(f, args, 1))
        coarse = (numeric(f, args, 0, 1e-4), numeric(f, args, 1, 1e-4))
    except Exception:
        return None  # the program itself fails (overflow, a variable unbound): skip
    if not math.isfinite(value) or not all(math.isfinite(e) for e in expected + coarse):
        return None
    stable = all(math.isclose(e, c, rel_tol=1e-3, abs_tol=1e-4)
                 for e, c in zip(expected, coarse))  # else near a threshold or a break
    runs = {
        "grad": lambda: ast_ad.grad(f, argnums=(0, 1))(*args),
        "value_and_grad": lambda: ast_ad.value_and_grad(f, argnums=(0, 1))(*args)[1],
        "vjp": lambda: ast_ad.vjp(f, *args)[1](1.0)[:2],
        "jvp": lambda: (ast_ad.jvp(f, args, (1.0, 0.0, 0))[1],
                        ast_ad.jvp(f, args, (0.0, 1.0, 0))[1]),
    }
    results = {}
    for mode, run in runs.items():
        try:
            results[mode] = got = run()
        except ADError:
            continue  # a clear rejection is fine
        except Exception:
            return f"{mode}: {traceback.format_exc(limit=-3)}"
        if stable and not all(math.isclose(g, e, rel_tol=1e-4, abs_tol=1e-5)
                              for g, e in zip(got, expected)):
            return f"{mode}: {got} but finite differences give {expected}"
    # Forward and reverse mode agree up to rounding, finite differences or not.
    if not all(math.isfinite(g) for got in results.values() for g in got):
        return None  # overflow (values like v**33): the modes round differently
    for mode, got in results.items():
        if not all(math.isclose(g, r, rel_tol=1e-7, abs_tol=1e-9)
                   for g, r in zip(got, results.get("jvp", got))):
            return f"{mode}: {got} but jvp gives {results['jvp']}"
    return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--keep", help="folder for the flagged programs")
    parser.add_argument("--second-order", action="store_true",
                        help="also check jvp(grad(f)) against finite differences of grad")
    parser.add_argument("--products", action="store_true",
                        help="also return a product of the final values (other seeds' programs)")
    args = parser.parse_args(argv)
    keep = Path(args.keep or tempfile.mkdtemp(prefix="ast_ad_fuzz_"))
    keep.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ast_ad_fuzz_work_"))
    flagged = 0
    for k in range(args.count):
        rng = random.Random(args.seed * 100_003 + k)
        name = f"fuzz_{args.seed}_{k}"
        text = HELPERS + "\n\n" + Program(rng, args.products).build("f")
        path = work / f"{name}.py"
        path.write_text(text)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception:
            continue
        args_ = (rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0), rng.randint(0, 3))
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):
            problem = check(module.f, args_)
            if problem is None and args.second_order:
                problem = second_order(module.f, args_)
        if problem:
            flagged += 1
            comment = "".join(f"# {line}\n" for line in problem.splitlines())
            (keep / f"{name}.py").write_text(f"# f{args_}\n{comment}\n{text}")
            print(f"{name}: {problem.splitlines()[-1]}")
    print(f"{flagged} of {args.count} programs flagged; kept in {keep}")
    return 1 if flagged else 0


if __name__ == "__main__":
    sys.exit(main())
