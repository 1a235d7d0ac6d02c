"""Benchmark suite: ast-ad gradients against the primal, hand-written gradients and peers.

    python tools/bench.py [--quick] [--only W1,W3] [--no-peers] [--scaling] [--check]

For each workload, every contender is timed round-robin in one process
(primal; hand-written value and gradient; the function ast-ad generated,
called directly; the same through `ast_ad.value_and_grad`'s dispatcher; and
autograd, JAX without and with jit, eager PyTorch when they are installed),
on one thread (BLAS, XLA and torch), and the tables report per-call medians
and ratios. Every contender's value and gradient is checked against the
hand-written ones before timing, and the hand-written gradient against
central differences. `--check` runs only these checks (no timing; the unit
tests run it). See docs/benchmarks.md. Speed is measured here, never
asserted in the unit tests.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy (or torch) loads its BLAS
os.environ.setdefault("XLA_FLAGS",
                      "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import argparse  # noqa: E402
import functools  # noqa: E402
import gc  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402
from bench_peers import PEERS, Contender, Missing, version  # noqa: E402

import ast_ad  # noqa: E402


@dataclass
class Workload:
    name: str
    description: str
    primal: Callable
    hand: Callable  # returns (value, gradients) like value_and_grad(primal, argnums)
    args: tuple
    argnums: tuple
    target: float  # ast-ad time / hand-written time should stay at or below this
    peers: bool = True  # also run autograd, JAX, PyTorch (their versions are in bench_peers)


# -- W1: math functions on floats -------------------------------------------------------


def w1(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)


def w1_hand(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2), (1.0 / x1 + x2, x1 - math.cos(x2))


# -- W2: a scalar loop ------------------------------------------------------------------


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


# The same loop with the iteration count as an argument, for the scaling rows.
def scalar_loop_n(x, a, n):
    s = 0.0
    for i in range(n):
        s = s + math.sin(x * i * 0.01) * a + x * x * 0.001
    return s


def scalar_loop_n_hand(x, a, n):
    s = dx = da = 0.0
    for i in range(n):
        u = x * i * 0.01
        sin_u = math.sin(u)
        s = s + sin_u * a + x * x * 0.001
        dx = dx + math.cos(u) * a * i * 0.01 + x * 0.002
        da = da + sin_u
    return s, (dx, da)


# -- W3: 2-layer tanh MLP, mean squared error -------------------------------------------


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


def _mlp_args(batch=256):
    rng = np.random.default_rng(0)
    return (rng.normal(size=(batch, 64)), rng.normal(size=(64, 128)) * 0.1,
            rng.normal(size=128) * 0.1, rng.normal(size=(128, 1)) * 0.1,
            rng.normal(size=1) * 0.1, rng.normal(size=(batch, 1)))


# -- W4: logistic regression ------------------------------------------------------------


def logistic(w, X, s):
    return np.mean(np.logaddexp(0, -s * (X @ w)))


def logistic_hand(w, X, s):
    z = -s * (X @ w)
    softplus = np.logaddexp(0.0, z)  # log(1 + exp(z)) without overflow
    # d softplus / dz = sigmoid(z) = exp(z - softplus(z)): the exponent is <= 0, so
    # it cannot overflow, and it reuses the forward's logaddexp.
    d_z = np.exp(z - softplus) * (1.0 / z.size)
    return np.mean(softplus), (X.T @ (-s * d_z),)


def _logistic_args(n=20000, d=200):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, d))
    labels = np.sign(X @ rng.normal(size=d) + rng.normal(size=n))  # ±1, a little noise
    return rng.normal(size=d) * 0.1, X, labels


# -- W5: a recurrent network ------------------------------------------------------------


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


def _rnn_args(T=50, H=32, D=16):
    rng = np.random.default_rng(0)
    return (rng.normal(size=(H, H)) / np.sqrt(H), rng.normal(size=(H, D)) / np.sqrt(D),
            rng.normal(size=(T, D)), rng.normal(size=H))


WORKLOADS = [
    Workload("W1", "log(x1) + x1*x2 - sin(x2) at (2, 5), Python floats", w1, w1_hand,
             (2.0, 5.0), (0, 1), 1.2),
    Workload("W2", "100-iteration scalar loop s = s + sin(x*i*0.01)*a + x*x*0.001",
             scalar_loop, scalar_loop_hand, (0.7, 1.3), (0, 1), 1.2),
    Workload("W3", "tanh MLP MSE, X 256x64, W1 64x128, b1 128, W2 128x1, b2 1", mlp,
             mlp_hand, _mlp_args(), (1, 2, 3, 4), 1.1),
    Workload("W4", "logistic regression mean(logaddexp(0, -s*(X@w))), X 20000x200, w 200",
             logistic, logistic_hand, _logistic_args(), (0,), 1.05),
    Workload("W5", "RNN h = tanh(W@h + U@x[t]), T=50, H=32, D=16, loss sum(h**2)", rnn,
             rnn_hand, _rnn_args(), (0, 1), 1.15),
]


def scaling_workloads(names) -> dict[str, list[tuple[int, Workload]]]:
    """W2 by number of iterations and W3 by batch size (ast-ad vs hand-written only)."""
    rows = {}
    if "W2" in names:
        rows["W2 iterations"] = [
            (n, Workload(f"W2 n={n}", f"scalar loop, {n} iterations", scalar_loop_n,
                         scalar_loop_n_hand, (0.7, 1.3, n), (0, 1), 1.2, peers=False))
            for n in (10, 100, 1000, 10000)]
    if "W3" in names:
        rows["W3 batch"] = [
            (b, Workload(f"W3 batch={b}", f"tanh MLP, batch {b}", mlp, mlp_hand, _mlp_args(b),
                         (1, 2, 3, 4), 1.1, peers=False))
            for b in (32, 256, 1024, 4096)]
    return rows


# -- contenders -------------------------------------------------------------------------

NOT_INSTALLED = "not installed"
NO_RULE = "n/a (no rule)"


def ast_ad_contenders(w: Workload) -> dict[str, Contender | str]:
    """The generated function called directly, and through value_and_grad's dispatcher."""
    wrapper = ast_ad.value_and_grad(w.primal, argnums=w.argnums)
    try:
        wrapper(*w.args)  # generates and compiles the code for these argument kinds
    except ast_ad.NoRuleError:
        return {"ast-ad": NO_RULE, "ast-ad wrapper": NO_RULE}
    direct = wrapper.__ast_ad__.latest
    return {"ast-ad": Contender(direct, w.args), "ast-ad wrapper": Contender(wrapper, w.args)}


def peer_contenders(w: Workload) -> dict[str, Contender | str]:
    contenders = {}
    for label, (adapter, _) in PEERS.items():
        try:
            contenders[label] = adapter(w)
        except Missing:
            contenders[label] = NOT_INSTALLED
    return contenders


def contenders_for(w: Workload, peers: bool) -> dict[str, Contender | str]:
    contenders = {"primal": Contender(w.primal, w.args), "hand": Contender(w.hand, w.args)}
    contenders.update(ast_ad_contenders(w))
    if peers and w.peers:
        contenders.update(peer_contenders(w))
    return contenders


# -- correctness ------------------------------------------------------------------------


class CheckFailed(AssertionError):
    pass


# Relative tolerances (value, gradients) against the hand-written results: ast-ad runs
# the same operations; peers may sum in another order (BLAS, XLA) or use softplus.
TOLERANCES = {"ast-ad": (1e-10, 1e-8), "peer": (1e-8, 1e-6)}


def check_hand(w: Workload, eps: float = 1e-6) -> None:
    """The hand-written value equals the primal; its gradient matches central differences."""
    value, grads = w.hand(*w.args)
    _close(f"{w.name} hand-written value vs primal", value, w.primal(*w.args), 1e-12, 0)
    rng = np.random.default_rng(1)
    directions = {i: rng.normal(size=np.shape(w.args[i])) for i in w.argnums}

    def moved(step):
        args = list(w.args)
        for i, d in directions.items():
            args[i] = args[i] + step * (float(d) if isinstance(args[i], float) else d)
        return args

    numeric = (w.primal(*moved(eps)) - w.primal(*moved(-eps))) / (2 * eps)
    analytic = sum(np.sum(g * d) for g, d in zip(grads, directions.values()))
    # Seen here: agreement to 1e-9 or better for every workload and size.
    _close(f"{w.name} hand-written gradient vs central differences", analytic, numeric, 1e-7, 0)


def check_contender(w: Workload, label: str, c: Contender, reference) -> None:
    """Fail loudly unless `c` returns the hand-written value and gradients."""
    value, grads = c.to_numpy(c.fn(*c.args))
    ref_value, ref_grads = reference
    value_rtol, grad_rtol = TOLERANCES["ast-ad" if label.startswith("ast-ad") else "peer"]
    _close(f"{w.name} {label} value", value, ref_value, value_rtol, 0)
    if len(grads) != len(ref_grads):
        raise CheckFailed(f"{w.name} {label}: {len(grads)} gradients, expected {len(ref_grads)}")
    for k, (g, h) in enumerate(zip(grads, ref_grads)):
        if np.shape(g) != np.shape(h):
            raise CheckFailed(f"{w.name} {label} gradient {k}: shape {np.shape(g)}, expected "
                              f"{np.shape(h)}")
        _close(f"{w.name} {label} gradient {k}", g, h, grad_rtol, 1e-12)


def _close(what: str, actual, expected, rtol: float, atol: float) -> None:
    try:
        np.testing.assert_allclose(np.asarray(actual, dtype=float),
                                   np.asarray(expected, dtype=float), rtol=rtol, atol=atol)
    except AssertionError as error:
        raise CheckFailed(f"{what} differs:{error}") from None


def check_all(w: Workload, contenders: dict) -> None:
    check_hand(w)
    reference = w.hand(*w.args)
    for label, c in contenders.items():
        if isinstance(c, Contender) and label not in ("primal", "hand"):
            check_contender(w, label, c, reference)


# -- timing -----------------------------------------------------------------------------


def per_call_samples(contenders: dict[str, Contender], rounds: int, budget: float) -> dict:
    """Seconds per call of each contender, one sample per round, measured round-robin.

    Each round runs every contender once, in a shuffled order (so a periodic load on
    the machine does not always hit the same one); the garbage collector is off
    while a sample runs, as in timeit.
    """
    gc.collect()
    gc.freeze()  # later collections skip everything that exists now (torch, jax, data)
    loops = {}
    for label, c in contenders.items():
        n = 1
        while True:  # a loop count that takes about `budget` seconds (also warms up)
            if timing_loop(len(c.args))(c.fn, n, *c.args) > budget or n > 1 << 22:
                break
            n *= 2
        loops[label] = n
    samples = {label: [] for label in contenders}
    order = list(contenders)
    shuffle = random.Random(0).shuffle
    for _ in range(rounds):
        shuffle(order)
        for label in order:
            c, n = contenders[label], loops[label]
            loop = timing_loop(len(c.args))
            gc.disable()
            elapsed = loop(c.fn, n, *c.args)
            gc.enable()
            samples[label].append(elapsed / n)
    return samples


@functools.cache
def timing_loop(nargs: int):
    """`loop(fn, n, a0, a1, ...)`: seconds for n calls `fn(a0, a1, ...)`.

    The calls pass the arguments one by one, as user code does: `fn(*args)` would
    cost some 50 ns more per call (in Python 3.11 it is not specialised).
    """
    names = ", ".join(f"a{i}" for i in range(nargs))
    source = (f"def loop(fn, n, {names}):\n"
              f"    t0 = perf_counter()\n"
              f"    for _ in range(n):\n"
              f"        fn({names})\n"
              f"    return perf_counter() - t0\n")
    namespace = {"perf_counter": time.perf_counter}
    exec(source, namespace)
    return namespace["loop"]


def paired_difference(samples: dict, a: str, b: str) -> float:
    """Median over rounds of (a - b): both were measured in the same round, side by side."""
    return statistics.median(x - y for x, y in zip(samples[a], samples[b]))


def dispatch_overhead(wrapper, args, rounds: int, budget: float) -> float:
    """Seconds a call through value_and_grad's dispatcher adds to the generated function.

    Wrapper minus direct on the real workload drowns in noise once a call takes
    more than a few microseconds, so the dispatcher is timed alone: the code it
    runs for these arguments is swapped for a function that does nothing.
    """
    state = wrapper.__ast_ad__
    generated = state.latest
    nothing = _do_nothing([p.name for p in state.params])  # called just like `generated`
    state.swap_generated(generated, nothing)
    try:
        samples = per_call_samples({"nothing": Contender(nothing, args),
                                    "dispatch": Contender(wrapper, args)}, rounds, budget / 4)
    finally:
        state.swap_generated(nothing, generated)
    return paired_difference(samples, "dispatch", "nothing")


def _recreate(params: list[str], w: Workload):
    """`recreate(a0, a1, ...)`: value_and_grad(f) asked for again, then called."""
    names = ", ".join(params)
    namespace = {"value_and_grad": ast_ad.value_and_grad, "f": w.primal, "argnums": w.argnums}
    exec(f"def recreate({names}):\n    return value_and_grad(f, argnums=argnums)({names})",
         namespace)
    return namespace["recreate"]


def _do_nothing(params: list[str]):
    namespace: dict = {}
    exec(f"def nothing({', '.join(params)}):\n    return None", namespace)
    return namespace["nothing"]


@dataclass
class Row:
    workload: Workload
    times: dict  # label -> median seconds per call, or a string ("not installed", ...)
    samples: dict  # label -> seconds per call, one per round (timed contenders only)
    dispatch: float | None = None  # seconds value_and_grad's dispatcher adds to a call

    def ratio(self, a: str, b: str) -> float | None:
        """Median over rounds of a's time over b's, measured in the same round."""
        if a not in self.samples or b not in self.samples:
            return None
        return statistics.median(x / y for x, y in zip(self.samples[a], self.samples[b]))

    def noise(self, a: str, b: str) -> float | None:
        """Half the interquartile range of those per-round ratios, relative to their median."""
        if a not in self.samples or b not in self.samples:
            return None
        q1, median, q3 = statistics.quantiles(
            [x / y for x, y in zip(self.samples[a], self.samples[b])], n=4)
        return (q3 - q1) / 2 / median


def measure(w: Workload, peers: bool, rounds: int, budget: float) -> Row:
    contenders = contenders_for(w, peers)
    check_all(w, contenders)
    timed = {label: c for label, c in contenders.items() if isinstance(c, Contender)}
    samples = per_call_samples(timed, rounds, budget)
    times = {label: statistics.median(samples[label]) if label in samples else c
             for label, c in contenders.items()}
    wrapper = contenders["ast-ad wrapper"]
    dispatch = (dispatch_overhead(wrapper.fn, w.args, rounds, budget)
                if isinstance(wrapper, Contender) else None)
    return Row(w, times, samples, dispatch)


@dataclass
class CompileCost:
    workload: Workload
    create: float  # value_and_grad(f): read the source, parse, check, build the dispatcher
    first_call: float | str  # first call, code cache cleared: transform + compile + one run
    recreate: float | str  # value_and_grad(f)(*args) each call, minus the generated function


def compile_cost(w: Workload, repeats: int, rounds: int, budget: float) -> CompileCost:
    creates, firsts = [], []
    for _ in range(repeats):
        ast_ad.clear_caches()
        t0 = time.perf_counter()
        transformed = ast_ad.value_and_grad(w.primal, argnums=w.argnums)
        t1 = time.perf_counter()
        creates.append(t1 - t0)
        try:
            transformed(*w.args)
        except ast_ad.NoRuleError:
            continue
        firsts.append(time.perf_counter() - t1)
    if not firsts:
        return CompileCost(w, statistics.median(creates), NO_RULE, NO_RULE)
    # As for the dispatch: time the overhead alone, with the generated code swapped for a
    # function that does nothing (on a millisecond workload, the difference would be noise).
    state = transformed.__ast_ad__
    generated = state.latest
    nothing = _do_nothing([p.name for p in state.params])
    state.swap_generated(generated, nothing)

    recreate = _recreate([p.name for p in state.params], w)  # called like `generated`
    try:
        samples = per_call_samples({"nothing": Contender(nothing, w.args),
                                    "re-create": Contender(recreate, w.args)}, rounds,
                                   budget / 4)
    finally:
        state.swap_generated(nothing, generated)
    return CompileCost(w, statistics.median(creates), statistics.median(firsts),
                       paired_difference(samples, "re-create", "nothing"))


# -- report -----------------------------------------------------------------------------


def fmt(seconds: float | str) -> str:
    if isinstance(seconds, str):
        return seconds
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if abs(seconds) >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def fmt_ratio(r: float | None) -> str:
    if r is None:
        return "-"
    return f"{r:.2f}x" if r < 10 else f"{r:.0f}x" if r < 1e4 else f"{r:.1e}x"


def fmt_noise(n: float | None) -> str:
    return "-" if n is None else f"±{n:.0%}"


def table(header: list[str], rows: list[list[str]]) -> str:
    """Left-aligned first column, right-aligned others, two spaces between columns."""
    widths = [max(len(r[k]) for r in [header] + rows) for k in range(len(header))]

    def line(r):
        return "  ".join(c.ljust(widths[0]) if k == 0 else c.rjust(widths[k])
                         for k, c in enumerate(r)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def environment_line(peers: bool) -> str:
    line = (f"Python {platform.python_version()}, NumPy {np.__version__}, ast-ad "
            f"{ast_ad.__version__}, {platform.machine()}, {os.cpu_count()} cores, "
            "one thread (BLAS, XLA, torch)")
    if peers:
        found = dict.fromkeys(f"{dist} {version(dist) or NOT_INSTALLED}"
                              for _, dist in PEERS.values())
        line += "; " + ", ".join(found)
    return line


def report_main(rows: list[Row]) -> str:
    header = ["", "primal", "hand", "ast-ad", "/primal", "/hand", "noise", "target", "",
              "via wrapper", "/hand", "dispatch"]
    out = []
    for row in rows:
        t, w = row.times, row.workload
        r = row.ratio("ast-ad", "hand")
        verdict = "" if r is None else "ok" if r <= w.target else "MISS"
        out.append([w.name, fmt(t["primal"]), fmt(t["hand"]), fmt(t["ast-ad"]),
                    fmt_ratio(row.ratio("ast-ad", "primal")), fmt_ratio(r),
                    fmt_noise(row.noise("ast-ad", "hand")), f"<= {w.target:.2f}", verdict,
                    fmt(t["ast-ad wrapper"]), fmt_ratio(row.ratio("ast-ad wrapper", "hand")),
                    "-" if row.dispatch is None else "+" + fmt(row.dispatch)])
    return table(header, out)


def report_peers(rows: list[Row]) -> str:
    labels = ["ast-ad"] + list(PEERS)
    out = []
    for row in rows:
        cells = [row.workload.name, fmt(row.times["hand"])]
        for label in labels:
            time_ = row.times.get(label, "-")
            cells.append(time_ if isinstance(time_, str)
                         else f"{fmt(time_)} ({fmt_ratio(row.ratio(label, 'hand'))})")
        out.append(cells)
    return table(["", "hand"] + labels, out)


def report_compile(costs: list[CompileCost], rows: list[Row]) -> str:
    out = [[c.workload.name, fmt(c.create), fmt(c.first_call),
            c.recreate if isinstance(c.recreate, str) else "+" + fmt(c.recreate)]
           for c in costs]
    text = table(["", "value_and_grad(f)", "first call", "re-create + call"], out)
    dispatch = [(r.dispatch, r.workload.name) for r in rows if r.dispatch is not None]
    recreate = [(c.recreate, c.workload.name) for c in costs if not isinstance(c.recreate, str)]
    for what, values in (("reused value_and_grad(f) (dispatch above)", dispatch),
                         ("value_and_grad(f) re-created for each call", recreate)):
        if values:
            worst, name = max(values)
            text += (f"\ncost over the generated function, {what}: at most +{fmt(worst)} "
                     f"({name}) -> {'ok' if worst <= 1e-6 else 'MISS'} (issue: <= 1 us)")
    return text


def report_scaling(groups: dict[str, list[tuple[int, Row]]]) -> str:
    blocks = []
    for title, sized in groups.items():
        rows = [row for _, row in sized]
        lines = [["primal"] + [fmt(r.times["primal"]) for r in rows],
                 ["hand"] + [fmt(r.times["hand"]) for r in rows],
                 ["ast-ad"] + [fmt(r.times["ast-ad"]) for r in rows],
                 ["ast-ad/hand"] + [fmt_ratio(r.ratio("ast-ad", "hand")) for r in rows],
                 ["noise"] + [fmt_noise(r.noise("ast-ad", "hand")) for r in rows],
                 ["via wrapper/hand"] + [fmt_ratio(r.ratio("ast-ad wrapper", "hand"))
                                         for r in rows]]
        blocks.append(table([title] + [str(size) for size, _ in sized], lines))
    return "\n\n".join(blocks)


# -- main -------------------------------------------------------------------------------


# -- forward mode and second derivatives (issue: jvp vs primal, Hessian vs hand-written) ----


def w1_jvp_hand(x1, x2, dx1, dx2):
    return (math.log(x1) + x1 * x2 - math.sin(x2),
            dx1 / x1 + dx1 * x2 + x1 * dx2 - dx2 * math.cos(x2))


def w1_hessian_hand(x1, x2):
    return ((-1.0 / (x1 * x1), 1.0), (1.0, math.sin(x2)))


def forward_contenders() -> dict[str, Contender]:
    """W1's directional derivative and Hessian: generated code, the public API, by hand."""
    point, seed = (2.0, 5.0), (1.0, 0.0)
    ast_ad.jvp(w1, point, seed)  # generates and compiles the jvp code
    (jvp_code,) = ast_ad.transforms._compile(w1, "jvp", (0, 1), point)
    hessian = ast_ad.hessian(w1, argnums=(0, 1))
    contenders = {
        "primal": Contender(w1, point),
        "jvp by hand": Contender(w1_jvp_hand, point + seed),
        "jvp generated": Contender(jvp_code, point + seed),
        "ast_ad.jvp": Contender(lambda p, t: ast_ad.jvp(w1, p, t), (point, seed)),
        "Hessian by hand": Contender(w1_hessian_hand, point),
        "ast_ad.hessian": Contender(hessian, point),
    }
    value, tangent = jvp_code(*point, *seed)
    _close("W1 jvp", (value, tangent), w1_jvp_hand(*point, *seed), 1e-12, 1e-12)
    _close("W1 Hessian", np.array(hessian(*point), dtype=float),
           np.array(w1_hessian_hand(*point)), 1e-10, 1e-12)
    return contenders


def report_forward(rounds: int, budget: float) -> str:
    samples = per_call_samples(forward_contenders(), rounds, budget)
    median = {label: statistics.median(v) for label, v in samples.items()}
    rows = [[label, fmt(median[label]), f"{median[label] / median['primal']:.2f}x",
             f"{median[label] / median[base]:.2f}x" if base else ""]
            for label, base in (("primal", None), ("jvp by hand", None),
                                ("jvp generated", "jvp by hand"), ("ast_ad.jvp", "jvp by hand"),
                                ("Hessian by hand", None),
                                ("ast_ad.hessian", "Hessian by hand"))]
    return table(["W1 at (2, 5)", "per call", "/primal", "/by hand"], rows)


def run_checks(workloads, scaling, peers: bool) -> None:
    if any(w.name == "W1" for w in workloads):
        forward_contenders()  # checks W1's jvp and Hessian against the hand-written ones
    for w in workloads + [w for sized in scaling.values() for _, w in sized]:
        contenders = contenders_for(w, peers)
        check_all(w, contenders)
        checked = [label for label, c in contenders.items()
                   if isinstance(c, Contender) and label not in ("primal", "hand")]
        skipped = [f"{label} {c}" for label, c in contenders.items() if isinstance(c, str)]
        print(f"{w.name}: hand-written gradient matches central differences"
              + (f"; equal to it: {', '.join(checked)}" if checked else "")
              + (f"; not checked: {', '.join(skipped)}" if skipped else ""))
    print("all checks passed")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    parser.add_argument("--only", help="comma-separated workload names, e.g. W1,W3")
    parser.add_argument("--no-peers", action="store_true",
                        help="skip autograd, JAX and PyTorch even if installed")
    parser.add_argument("--scaling", action="store_true",
                        help="add the scaling rows: W2 by iterations, W3 by batch size")
    parser.add_argument("--check", action="store_true",
                        help="only check every contender's results (and the scaling "
                             "variants') against the hand-written ones; no timing")
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else [w.name for w in WORKLOADS]
    unknown = set(names) - {w.name for w in WORKLOADS}
    if unknown:
        parser.error(f"unknown workload(s): {', '.join(sorted(unknown))}")
    chosen = [w for w in WORKLOADS if w.name in names]
    peers = not args.no_peers
    try:
        if args.check:
            run_checks(chosen, scaling_workloads(names), peers)
            return 0
        rounds, budget, repeats = (7, 0.01, 3) if args.quick else (41, 0.025, 5)
        print(environment_line(peers))
        print(f"per-call medians of {rounds} rounds, contenders round-robin, "
              f"each sample about {budget * 1e3:.0f} ms of calls\n")
        rows = [measure(w, peers, rounds, budget) for w in chosen]
        print("ast-ad against the primal and the hand-written value and gradient")
        print(report_main(rows))
        if peers:
            print("\nPeers: value and gradient per call (x hand-written)")
            print(report_peers(rows))
        if "W1" in names:
            print("\nForward mode and second derivatives (the seed function W1)")
            print(report_forward(rounds, budget))
        print("\nCompile and cache cost (code cache cleared before each first call)")
        print(report_compile([compile_cost(w, repeats, rounds, budget) for w in chosen], rows))
        if args.scaling:
            groups = {title: [(size, measure(w, False, rounds, budget)) for size, w in sized]
                      for title, sized in scaling_workloads(names).items()}
            print("\nScaling: ast-ad / hand-written should stay flat")
            print(report_scaling(groups))
        print()
        for w in chosen:
            print(f"{w.name}: {w.description}")
    except CheckFailed as error:
        print(f"CHECK FAILED: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
