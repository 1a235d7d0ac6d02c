"""Peak memory and time of a long loop's gradient, with and without checkpointing.

    python tools/checkpoint_bench.py [--sizes 1000,10000,100000,1000000] [--snapshots 30]
                                     [--rounds 3] [--check]

The workload is tools/bench.py's W6: an RK4 integration of a 3-variable ODE (a driven,
damped pendulum) through a helper returning a tuple, on Python floats, n steps. For each
n it measures one value-and-gradient call of:

    hand      the careful hand-written discrete adjoint of W6 (a tape of 16 floats a step)
    default   ast_ad.value_and_grad(rk4): stores what every step's adjoint reads
    revolve   the same with checkpoint="revolve": binomial checkpointing with the default
              number of snapshots (each step recomputed at most twice)
    revolve-K checkpoint=K (--snapshots): at most K snapshots, more recomputation

Time: the median of --rounds calls (one call for n >= 10**6), without tracemalloc.
Memory: the peak of one more call under tracemalloc, minus what was in use before it
(Python objects and NumPy buffers alike), as tools/bench.py measures it. Every
contender's value and gradient is checked against the hand-written one first.
`--check` runs only the checks, at small n (the unit tests run it). Timings are
reported, never asserted.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench import rk4, rk4_hand  # noqa: E402

import ast_ad  # noqa: E402

START = (1.0, 0.0, 0.0, 1.5)  # x, y, z, a
ARGNUMS = (0, 1, 2, 3)


def contenders(snapshots: int) -> dict:
    return {
        "hand": rk4_hand,
        "default": ast_ad.value_and_grad(rk4, argnums=ARGNUMS),
        "revolve": ast_ad.value_and_grad(rk4, argnums=ARGNUMS, checkpoint="revolve"),
        f"revolve-{snapshots}": ast_ad.value_and_grad(rk4, argnums=ARGNUMS,
                                                      checkpoint=snapshots),
    }


def check(n: int = 300, snapshots: int = 5) -> None:
    """Every contender's value and gradient equal the hand-written ones (to rounding)."""
    found = {label: fn(*START, n) for label, fn in contenders(snapshots).items()}
    value, grad = found["hand"]
    for label, (v, g) in found.items():
        if not math.isclose(v, value, rel_tol=1e-12) or not all(
                math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) for a, b in zip(g, grad)):
            raise AssertionError(f"{label} at n={n}: {v}, {g} != hand {value}, {grad}")


def peak(fn, n: int) -> int:
    fn(*START, min(n, 10))  # compiled before the measured call
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = fn(*START, n)
        top = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del result
    return top - before


def seconds(fn, n: int, rounds: int) -> float:
    fn(*START, min(n, 10))
    times = []
    for _ in range(rounds if n < 1_000_000 else 1):
        gc.collect()
        start = time.perf_counter()
        fn(*START, n)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def fmt_bytes(n: int) -> str:
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} B"


def fmt_time(t: float) -> str:
    return f"{t * 1e3:.3g} ms" if t < 1 else f"{t:.3g} s"


def table(header: list, rows: list) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--snapshots", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--contenders", help="comma-separated labels to measure (default: all; "
                        "revolve-K is named by --snapshots)")
    parser.add_argument("--check", action="store_true", help="only check the gradients")
    args = parser.parse_args(argv)
    check(snapshots=args.snapshots)
    print("gradients checked against the hand-written adjoint")
    if args.check:
        return 0
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    fns = contenders(args.snapshots)
    if args.contenders:
        fns = {k: v for k, v in fns.items() if k in args.contenders.split(",")}
    memory, timing = [], []
    for n in sizes:
        mem = {label: peak(fn, n) for label, fn in fns.items()}
        sec = {label: seconds(fn, n, args.rounds) for label, fn in fns.items()}
        memory.append([f"{n:,}"] + [fmt_bytes(mem[label]) for label in fns]
                      + ([f"{mem['default'] / mem['revolve']:.0f}×"]
                         if {"default", "revolve"} <= set(mem) else []))
        timing.append([f"{n:,}"] + [fmt_time(sec[label]) for label in fns]
                      + [f"{sec[label] / sec['default']:.2f}×" for label in fns
                         if label.startswith("revolve") and "default" in sec])
        print(f"n={n:,}: memory {' '.join(memory[-1][1:])}; time {' '.join(timing[-1][1:])}",
              file=sys.stderr, flush=True)
    labels = list(fns)
    print(f"\nRK4 (tools/bench.py W6), value and gradient; Python {platform.python_version()}, "
          f"{platform.machine()}\n")
    print("peak memory (tracemalloc)\n")
    print(table(["n"] + labels + (["default / revolve"] if {"default", "revolve"} <= set(fns)
                                  else []), memory))
    print("\ntime (median of {} calls; one at 10^6)\n".format(args.rounds))
    print(table(["n"] + labels + [f"{label} / default" for label in labels
                                  if label.startswith("revolve") and "default" in fns], timing))
    return 0


if __name__ == "__main__":
    sys.exit(main())
