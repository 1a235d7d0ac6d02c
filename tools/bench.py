"""Benchmark: ast-ad gradients against the primal and a hand-written gradient, side by side.

    python tools/bench.py [--quick] [--only NAME,...]

Each workload is timed round-robin (primal, hand-written value+gradient,
ast-ad value_and_grad) in one process, single-threaded BLAS, and the table
reports per-call medians and ratios. Results are checked equal before timing.
Speed is measured here, never asserted in the unit tests.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy loads its BLAS

import argparse  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Callable  # noqa: E402

import numpy as np  # noqa: E402

import ast_ad  # noqa: E402
from ast_ad import api  # noqa: E402


@dataclass
class Workload:
    name: str
    description: str
    primal: Callable
    hand: Callable  # returns (value, gradients) like value_and_grad
    args: tuple
    argnums: tuple
    target: float  # ast-ad time / hand-written time must stay below this


# -- W1: math functions on floats ------------------------------------------------


def w1(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)


def w1_hand(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2), (1.0 / x1 + x2, x1 - math.cos(x2))


# -- W2: a scalar loop ---------------------------------------------------------------


def scalar_loop(x, a):
    s = 0.0
    for i in range(100):
        s = s + math.sin(x * i * 0.01) * a + x * x * 0.001
    return s


def scalar_loop_hand(x, a):
    # Each term depends only on x and a, so one pass accumulates both derivatives.
    s = dx = da = 0.0
    for i in range(100):
        u = x * i * 0.01
        sin_u = math.sin(u)
        s = s + sin_u * a + x * x * 0.001
        dx = dx + math.cos(u) * a * i * 0.01 + x * 0.002
        da = da + sin_u
    return s, (dx, da)


# -- W3: 2-layer tanh MLP, mean squared error ----------------------------------------


def mlp(X, W1, b1, W2, b2, y):
    hidden = np.tanh(X @ W1 + b1)
    prediction = hidden @ W2 + b2
    return np.mean((prediction - y) ** 2)


def mlp_hand(X, W1, b1, W2, b2, y):
    hidden = np.tanh(X @ W1 + b1)
    error = hidden @ W2 + b2 - y
    loss = np.mean(error ** 2)
    d_prediction = (2.0 / error.size) * error
    d_hidden = (d_prediction @ W2.T) * (1.0 - hidden * hidden)
    return loss, (X.T @ d_hidden, d_hidden.sum(axis=0), hidden.T @ d_prediction,
                  d_prediction.sum(axis=0))


def _mlp_args(batch=256, rng=np.random.default_rng(0)):
    return (rng.normal(size=(batch, 64)), rng.normal(size=(64, 128)) * 0.1,
            rng.normal(size=128) * 0.1, rng.normal(size=(128, 1)) * 0.1,
            rng.normal(size=1) * 0.1, rng.normal(size=(batch, 1)))


# -- W5: a recurrent network -------------------------------------------------------------


def rnn(W, U, x, h0):
    h = h0
    for t in range(x.shape[0]):
        h = np.tanh(W @ h + U @ x[t])
    return np.sum(h ** 2)


def rnn_hand(W, U, x, h0):
    # Backpropagation through time: keep the states, then walk them backwards.
    states = [h0]
    h = h0
    for t in range(x.shape[0]):
        h = np.tanh(W @ h + U @ x[t])
        states.append(h)
    d_h = 2.0 * h
    d_W, d_U = np.zeros_like(W), np.zeros_like(U)
    for t in reversed(range(x.shape[0])):
        d_z = d_h * (1.0 - states[t + 1] ** 2)
        d_W += np.outer(d_z, states[t])
        d_U += np.outer(d_z, x[t])
        d_h = W.T @ d_z
    return np.sum(h ** 2), (d_W, d_U)


def _rnn_args(T=50, H=32, D=16, rng=np.random.default_rng(0)):
    return (rng.normal(size=(H, H)) / np.sqrt(H), rng.normal(size=(H, D)) / np.sqrt(D),
            rng.normal(size=(T, D)), rng.normal(size=H))


WORKLOADS = [
    Workload("W1", "log(x1) + x1*x2 - sin(x2) at (2, 5), floats", w1, w1_hand, (2.0, 5.0),
             (0, 1), 1.2),
    Workload("W2", "100-iteration scalar loop s += sin(x*i*0.01)*a + x*x*0.001", scalar_loop,
             scalar_loop_hand, (0.7, 1.3), (0, 1), 1.2),
    Workload("W3", "tanh MLP MSE, X 256x64, W1 64x128, W2 128x1", mlp, mlp_hand, _mlp_args(),
             (1, 2, 3, 4), 1.1),
    Workload("W5", "RNN h = tanh(W@h + U@x[t]), T=50, H=32, D=16, loss sum(h**2)", rnn,
             rnn_hand, _rnn_args(), (0, 1), 1.15),
]


# -- timing ---------------------------------------------------------------------------


def per_call_times(fns: dict[str, Callable], args, rounds: int, budget: float) -> dict:
    """Median seconds per call of each function, measured round-robin."""
    numbers = {}
    for label, fn in fns.items():
        n, start = 1, time.perf_counter()
        while True:  # find a loop count that takes about `budget` seconds
            t0 = time.perf_counter()
            for _ in range(n):
                fn(*args)
            if time.perf_counter() - t0 > budget or n > 1 << 22:
                break
            n *= 2
        numbers[label] = n
    samples = {label: [] for label in fns}
    for _ in range(rounds):
        for label, fn in fns.items():
            n = numbers[label]
            t0 = time.perf_counter()
            for _ in range(n):
                fn(*args)
            samples[label].append((time.perf_counter() - t0) / n)
    return {label: statistics.median(s) for label, s in samples.items()}


def compile_time(workload: Workload, repeats: int = 5) -> float:
    """Median seconds to transform and compile the workload's gradient (cache cleared)."""
    times = []
    for _ in range(repeats):
        api._CACHE.clear()
        transformed = ast_ad.value_and_grad(workload.primal, argnums=workload.argnums)
        t0 = time.perf_counter()
        transformed.__ast_ad__.compile_for(workload.args, {})
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def check(workload: Workload, ours) -> None:
    value, grads = ours(*workload.args)
    hand_value, hand_grads = workload.hand(*workload.args)
    np.testing.assert_allclose(value, hand_value, rtol=1e-10)
    for g, h in zip(grads, hand_grads):
        np.testing.assert_allclose(g, h, rtol=1e-8, atol=1e-12)


def run(workloads, rounds: int, budget: float) -> list[dict]:
    rows = []
    for w in workloads:
        ours = ast_ad.value_and_grad(w.primal, argnums=w.argnums)
        check(w, ours)
        t = per_call_times({"primal": w.primal, "hand": w.hand, "ast-ad": ours}, w.args,
                           rounds, budget)
        rows.append({"workload": w, "times": t, "compile": compile_time(w)})
    return rows


def _fmt(seconds: float) -> str:
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def report(rows) -> bool:
    print(f"Python {platform.python_version()}, NumPy {np.__version__}, ast-ad "
          f"{ast_ad.__version__}, {platform.machine()}, single-threaded BLAS")
    header = (f"{'':4} {'primal':>9} {'hand':>9} {'ast-ad':>9} {'ast-ad/hand':>12} "
              f"{'target':>7} {'ast-ad/primal':>14} {'compile':>9}")
    print(header)
    ok = True
    for row in rows:
        w, t = row["workload"], row["times"]
        ratio = t["ast-ad"] / t["hand"]
        ok &= ratio <= w.target
        print(f"{w.name:4} {_fmt(t['primal']):>9} {_fmt(t['hand']):>9} {_fmt(t['ast-ad']):>9} "
              f"{ratio:>11.2f}x {w.target:>6.2f}x {t['ast-ad'] / t['primal']:>13.2f}x "
              f"{_fmt(row['compile']):>9}")
    for row in rows:
        print(f"  {row['workload'].name}: {row['workload'].description}")
    return ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    parser.add_argument("--only", help="comma-separated workload names")
    args = parser.parse_args(argv)
    chosen = [w for w in WORKLOADS if not args.only or w.name in args.only.split(",")]
    rounds, budget = (5, 0.02) if args.quick else (15, 0.1)
    ok = report(run(chosen, rounds, budget))
    print("all targets met" if ok else "some targets missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
