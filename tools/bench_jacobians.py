"""H1, J1, H2: Hessians and Jacobians in one call (vector mode) against hand-written ones.

    python tools/bench.py --jacobians [--quick] [--no-peers]

Each workload's contenders, timed round-robin in one process (tools/bench.py's
per_call_samples): the hand-written Hessian or Jacobian, ast-ad's public
function (vector mode: one generated function carries every direction), the
same one direction at a time (what ast-ad did before vector mode), and
jax.jit(jax.hessian / jax.jacfwd) when JAX is installed. Every result is
checked against the hand-written one first, and the hand-written one against
central differences of the gradient (or of the function).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Callable

import numpy as np

import ast_ad
from ast_ad import transforms


@dataclass
class Derivative:
    name: str
    description: str
    primal: Callable
    hand: Callable  # the Hessian or Jacobian, written as an expert would
    args: tuple
    kind: str  # "hessian" or "jacfwd"
    argnums: int | tuple
    target: float  # ast-ad / hand-written should stay at or below this
    jax_primal: Callable | None = None  # the function in jax.numpy


# -- H1: the Hessian of the 10-d Rosenbrock function ------------------------------------


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_hessian(x):
    """Tridiagonal: the diagonal and the first off-diagonals written into one array."""
    n = x.size
    H = np.zeros((n, n))
    off = -400.0 * x[:-1]
    H.flat[1::n + 1] = off
    H.flat[n::n + 1] = off
    diagonal = np.empty(n)
    diagonal[:-1] = 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    diagonal[-1] = 0.0
    diagonal[1:] += 200.0
    H.flat[::n + 1] = diagonal
    return H


# -- J1: a 50 -> 50 Jacobian ------------------------------------------------------------


def tanh_cubic(x, A):
    return np.tanh(A @ x) + 0.1 * x ** 3


def tanh_cubic_jacobian(x, A):
    t = np.tanh(A @ x)
    J = (1.0 - t * t)[:, None] * A
    J.flat[::len(x) + 1] += 0.3 * x * x
    return J


# -- H2: the 2x2 Hessian of the seed function on floats ---------------------------------


def seed(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)


def seed_hessian(x1, x2):
    return (-1.0 / (x1 * x1), 1.0), (1.0, math.sin(x2))


def _j1_args():
    rng = np.random.default_rng(0)
    return rng.normal(size=50), rng.normal(size=(50, 50)) / math.sqrt(50)


DERIVATIVES = [
    Derivative("H1", "Hessian of the 10-d Rosenbrock function", rosenbrock, rosenbrock_hessian,
               (np.linspace(-1.0, 1.5, 10),), "hessian", 0, 3.0),
    Derivative("J1", "Jacobian of tanh(A@x) + 0.1*x**3, 50 -> 50", tanh_cubic,
               tanh_cubic_jacobian, _j1_args(), "jacfwd", 0, 3.0),
    Derivative("J1r", "J1 by jacrev (one backward call for all 50 outputs)", tanh_cubic,
               tanh_cubic_jacobian, _j1_args(), "jacrev", 0, 3.0),
    Derivative("H2", "2x2 Hessian of log(x1) + x1*x2 - sin(x2), Python floats", seed,
               seed_hessian, (2.0, 5.0), "hessian", (0, 1), 5.0),
]


def _jax_versions():
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)

    def rosen(x):
        return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    def tanh_cubic_jax(x, A):
        return jnp.tanh(A @ x) + 0.1 * x ** 3

    def seed_jax(x1, x2):
        return jnp.log(x1) + x1 * x2 - jnp.sin(x2)

    return {"H1": jax.jit(jax.hessian(rosen)), "J1": jax.jit(jax.jacfwd(tanh_cubic_jax)),
            "J1r": jax.jit(jax.jacrev(tanh_cubic_jax)),
            "H2": jax.jit(jax.hessian(seed_jax, argnums=(0, 1)))}, jax


def contenders(d: Derivative, peers: bool) -> dict:
    from bench_peers import Contender

    made = {"hessian": ast_ad.hessian, "jacfwd": ast_ad.jacfwd, "jacrev": ast_ad.jacrev}[d.kind]
    nums, is_tuple = (d.argnums, True) if isinstance(d.argnums, tuple) else ((d.argnums,), False)
    if d.kind == "hessian":
        loop = transforms._jacfwd_loop(ast_ad.grad(d.primal, d.argnums), nums, is_tuple)
    elif d.kind == "jacrev":
        loop = transforms._jacrev_loop(d.primal, nums, is_tuple)
    else:
        loop = transforms._jacfwd_loop(d.primal, nums, is_tuple)
    found = {"hand": Contender(d.hand, d.args), "ast-ad": Contender(made(d.primal, d.argnums),
                                                                    d.args),
             "ast-ad per direction": Contender(loop, d.args)}
    jax_fns = _jax_versions() if peers else None
    if jax_fns is not None:
        fns, jax = jax_fns
        args = tuple(jax.numpy.asarray(a) for a in d.args)
        fn = fns[d.name]

        def run(*a, fn=fn):
            return jax.block_until_ready(fn(*a))

        found["jax.jit"] = Contender(run, args)
    return found


def check(d: Derivative, found: dict, eps: float = 1e-6) -> None:
    """Every contender equals the hand-written result; that one equals central differences."""
    reference = np.asarray(d.hand(*d.args), dtype=float)
    base = ast_ad.grad(d.primal, d.argnums) if d.kind == "hessian" else d.primal
    nums = d.argnums if isinstance(d.argnums, tuple) else (d.argnums,)
    columns = []
    for i in nums:
        x = np.asarray(d.args[i], dtype=float)
        for j in range(x.size):
            def moved(step, x=x, j=j, i=i):
                y = x.copy()
                y.flat[j] += step
                args = list(d.args)
                args[i] = y if np.ndim(d.args[i]) else float(y)
                return np.asarray(base(*args), dtype=float)
            columns.append((moved(eps) - moved(-eps)) / (2 * eps))
    differences = np.stack(columns, axis=-1).reshape(reference.shape)
    np.testing.assert_allclose(reference, differences, rtol=1e-5, atol=1e-5)
    for label, c in found.items():
        np.testing.assert_allclose(np.asarray(c.fn(*c.args), dtype=float), reference,
                                   rtol=1e-10, atol=1e-12, err_msg=f"{d.name} {label}")


def report(rounds: int, budget: float, peers: bool, per_call_samples, fmt, table) -> str:
    rows = []
    for d in DERIVATIVES:
        found = contenders(d, peers)
        check(d, found)
        samples = per_call_samples(found, rounds, budget)
        median = {label: statistics.median(v) for label, v in samples.items()}
        hand = median["hand"]
        ratio = median["ast-ad"] / hand
        cells = [d.name, d.description, fmt(hand)]
        for label in ("ast-ad", "ast-ad per direction", "jax.jit"):
            cells.append(f"{median[label] / hand:.1f}x ({fmt(median[label])})"
                         if label in median else "n/a")
        cells.append(f"{d.target:g}x " + ("ok" if ratio <= d.target else "MISSED"))
        rows.append(cells)
    return table(["", "workload", "hand-written", "ast-ad", "ast-ad per direction", "jax.jit",
                  "target"], rows)


def run_checks(peers: bool) -> None:
    for d in DERIVATIVES:
        check(d, contenders(d, peers))
        print(f"{d.name}: hand-written {d.kind} matches central differences; ast-ad's equals it")
