"""D1, the Dask row of tools/bench.py (`python tools/bench.py --dask`): one gradient of a
logistic-regression loss over a chunked Dask array, ast-ad against the gradient written
by hand as dask-glm writes it, on the same chunks and the same scheduler.

Each contender builds its graph and computes it (`dask.compute`); X and y are generated
chunk by chunk and persisted first, so that both time the gradient, not the data. The
contenders run in a shuffled order each round, and the table reports median wall
times and median CPU times of this process (on a shared machine the CPU time is the
steadier measure: other processes' load stretches wall time, not our CPU time).
Needs dask (`pip install 'ast-ad[dask]'`); without it the section says so and is skipped.
"""

from __future__ import annotations

import random
import statistics
import time

import numpy as np

import ast_ad


def logistic_loss(w, X, y):
    """Negative log-likelihood of logistic regression, labels y in {0, 1}, written as
    dask-glm's Logistic family writes it (sum of log(1 + exp(Xw)) - y . Xw)."""
    Xw = X @ w
    return np.sum(Xw + np.log1p(np.exp(-Xw))) - y @ Xw


def logistic_gradient_hand(w, X, y):
    """The gradient as dask-glm's Logistic family writes it: X^T (sigmoid(X w) - y)."""
    Xw = X.dot(w)
    p = 1.0 / (1.0 + np.exp(-Xw))
    return X.T.dot(p - y)


def dataset(rows: int, columns: int, chunk_rows: int, seed: int = 0):
    """(w, X, y): X normal, y drawn from the model at a known w, generated chunk by chunk."""
    import dask.array as da

    rng = da.random.default_rng(seed)
    X = rng.normal(size=(rows, columns), chunks=(chunk_rows, columns))
    true_w = np.linspace(-1.0, 1.0, columns)
    p = 1.0 / (1.0 + np.exp(-(X @ true_w)))
    y = (rng.random(size=rows, chunks=chunk_rows) < p).astype(float)
    return np.zeros(columns) + 0.1, X, y


def check(rows: int = 2000, columns: int = 5, chunk_rows: int = 500) -> float:
    """ast-ad's gradient equals the hand-written one, and is a lazy Dask array; returns the
    largest difference."""
    import dask
    import dask.array as da

    w, X, y = dataset(rows, columns, chunk_rows)
    generated = ast_ad.grad(logistic_loss)(w, X, y)
    if not isinstance(generated, da.Array):
        raise AssertionError(f"ast-ad's gradient is a {type(generated).__name__}, not lazy")
    ours, hand = dask.compute(generated, logistic_gradient_hand(w, X, y))
    difference = float(np.max(np.abs(ours - hand)))
    if not np.allclose(ours, hand, rtol=1e-10, atol=1e-10 * rows):
        raise AssertionError(f"D1: ast-ad's gradient differs from the hand-written one by "
                             f"{difference:.3g}")
    return difference


def report(rows: int = 400_000, columns: int = 50, chunk_rows: int = 50_000,
           rounds: int = 21, scheduler: str = "threads") -> str:
    """Time one gradient (graph and compute) per contender, alternating; a text table."""
    try:
        import dask
    except ImportError:
        return "D1 (Dask): skipped, dask is not installed (pip install 'ast-ad[dask]')"
    check()
    w, X, y = dataset(rows, columns, chunk_rows)
    with dask.config.set(scheduler=scheduler):
        X, y = dask.persist(X, y)
        gradient = ast_ad.grad(logistic_loss)
        contenders = {
            "primal": lambda: dask.compute(logistic_loss(w, X, y)),
            "hand-written": lambda: dask.compute(logistic_gradient_hand(w, X, y)),
            "ast-ad": lambda: dask.compute(gradient(w, X, y)),
        }
        for fn in contenders.values():
            fn()  # warm: ast-ad's code is generated here
        wall = {label: [] for label in contenders}
        cpu = {label: [] for label in contenders}
        order = list(contenders)
        for _ in range(rounds):
            random.shuffle(order)  # no contender always runs after the same one
            for label in order:
                fn = contenders[label]
                start, start_cpu = time.perf_counter(), time.process_time()
                fn()
                cpu[label].append(time.process_time() - start_cpu)
                wall[label].append(time.perf_counter() - start)
    rows_out = [(what, {label: statistics.median(s) for label, s in samples.items()})
                for what, samples in (("wall time", wall), ("CPU time", cpu))]
    chunks = rows // chunk_rows
    return (
        f"D1: logistic regression, X {rows}x{columns} float64 in {chunks} chunks of "
        f"{chunk_rows} rows (persisted), scheduler {scheduler!r}, dask {dask.__version__}; "
        f"one gradient (graph + compute), medians of {rounds} rounds (CPU time: of this "
        f"process, all threads)\n"
        f"| | | primal | hand-written (dask-glm) | ast-ad | ast-ad / hand | target |\n"
        f"|---|---|---|---|---|---|---|\n" + "".join(
            f"| D1 | {what} | {times['primal'] * 1e3:.1f} ms | "
            f"{times['hand-written'] * 1e3:.1f} ms | {times['ast-ad'] * 1e3:.1f} ms | "
            f"{times['ast-ad'] / times['hand-written']:.2f}x | <= 1.1 |\n"
            for what, times in rows_out).rstrip())


if __name__ == "__main__":
    print(report())
