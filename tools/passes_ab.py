"""Before and after some passes, side by side in one run: `python tools/passes_ab.py W5,W10`.

For each benchmark workload (tools/bench.py), the generated function is compiled twice,
without the passes named by --without (before) and with every pass (after), and timed
round-robin against the hand-written gradient: per-call medians, so machine load hits
the three alike. Both versions' values are checked against the hand-written ones.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # (before NumPy loads BLAS)

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

import bench  # noqa: E402
import numpy as np  # noqa: E402

import ast_ad  # noqa: E402
from ast_ad import api, pipeline  # noqa: E402

PASSES = ("expand", "factor", "rows", "buffers")


def generated(workload, without: tuple):
    """The generated value-and-gradient function itself (no dispatcher), compiled with the
    stages in `without` left out."""
    full = list(pipeline.LOWERING), list(pipeline.REVERSE)
    made = []
    compile_function = api.compile_function

    def record(src, options):
        functions = compile_function(src, options)
        made.append(functions[0])
        return functions

    pipeline.LOWERING[:] = [(n, p) for n, p in full[0] if n not in without]
    pipeline.REVERSE[:] = [(n, p) for n, p in full[1] if n not in without]
    api.compile_function = record
    try:
        ast_ad.clear_caches()
        ast_ad.value_and_grad(workload.primal, argnums=workload.argnums)(*workload.args)
    finally:
        pipeline.LOWERING[:], pipeline.REVERSE[:] = full
        api.compile_function = compile_function
        ast_ad.clear_caches()
    function = made[0]
    value, gradient = function(*workload.args)
    hand_value, hand_gradient = workload.hand(*workload.args)
    np.testing.assert_allclose(value, hand_value, rtol=1e-9)
    for got, want in zip(gradient if isinstance(gradient, tuple) else (gradient,),
                         hand_gradient):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)
    return function


def median_times(functions: dict, args: tuple, rounds: int) -> dict:
    start = time.perf_counter()
    functions["hand"](*args)
    repeats = max(1, int(0.01 / max(time.perf_counter() - start, 1e-7)))
    samples = {k: [] for k in functions}
    gc.disable()
    try:
        for _ in range(rounds):
            for key, f in functions.items():
                start = time.perf_counter()
                for _ in range(repeats):
                    f(*args)
                samples[key].append((time.perf_counter() - start) / repeats)
    finally:
        gc.enable()
    return {k: sorted(v)[len(v) // 2] for k, v in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workloads", help="comma-separated, e.g. W5,W10")
    parser.add_argument("--without", default=",".join(PASSES),
                        help="the stages left out before (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=31)
    options = parser.parse_args()
    without = tuple(options.without.split(","))
    found = {w.name: w for w in bench.WORKLOADS}
    print(f"before: without {', '.join(without)}; per-call medians of {options.rounds} rounds")
    print(f"{'':4} {'hand':>9} {'before':>9} {'/hand':>6} {'after':>9} {'/hand':>6}")
    for key in options.workloads.split(","):
        workload = found[key]
        functions = {"hand": workload.hand, "before": generated(workload, without),
                     "after": generated(workload, ())}
        t = median_times(functions, workload.args, options.rounds)
        print(f"{key:4} {t['hand'] * 1e6:7.0f}us {t['before'] * 1e6:7.0f}us "
              f"{t['before'] / t['hand']:5.2f}x {t['after'] * 1e6:7.0f}us "
              f"{t['after'] / t['hand']:5.2f}x", flush=True)


if __name__ == "__main__":
    main()
