"""Benchmark suite: ast-ad gradients against the primal, hand-written gradients and peers.

    python tools/bench.py [--quick] [--only W1,W3] [--no-peers] [--scaling] [--check]
    python tools/bench.py --compile-scaling [--compile-timeout SECONDS]
    python tools/bench.py --dask [--quick]   (D1: a gradient over a Dask array, bench_dask.py)

For each workload, every contender is timed round-robin in one process
(primal; hand-written value and gradient; the function ast-ad generated,
called directly; the same through `ast_ad.value_and_grad`'s dispatcher; and
autograd, JAX without and with jit, eager PyTorch when they are installed),
on one thread (BLAS, XLA and torch), and the tables report per-call medians
and ratios. Every contender's value and gradient is checked against the
hand-written ones before timing, and the hand-written gradient against
central differences. `--check` runs only these checks (no timing; the unit
tests run it). The loop workloads and W8 also get the peak memory of one
call (tracemalloc). `--compile-scaling` times only the first compile of
straight-line functions of 100 to 2,000 statements, each in a fresh process.
See docs/benchmarks.md. Speed is measured here, never asserted in the unit tests.
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
import importlib.util  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, replace  # noqa: E402

import numpy as np  # noqa: E402

try:
    import scipy.special as scipy_special  # noqa: E402
except ImportError:  # W8l then reports the missing module
    scipy_special = None
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
    # Backpropagation through time, batched: the forward keeps the states as the rows
    # of one (T+1, H) array; the backward loop only carries d_h and stores each step's
    # pre-activation adjoint as a row of DA, and the weight gradients are two matrix
    # products after the loop (no per-step outer products).
    steps, size = x.shape[0], h0.shape[0]
    states = np.empty((steps + 1, size))
    states[0] = h0
    h = h0
    for t in range(steps):
        h = np.tanh(W @ h + U @ x[t])
        states[t + 1] = h
    d_tanh = 1.0 - states[1:] ** 2  # tanh' for every step at once
    DA = np.empty((steps, size))
    W_T = W.T
    d_h = 2.0 * h
    for t in range(steps - 1, -1, -1):
        d_a = d_h * d_tanh[t]
        DA[t] = d_a
        d_h = W_T @ d_a
    return np.sum(h ** 2), (DA.T @ states[:-1], DA.T @ x)


def _rnn_args(T=50, H=32, D=16):
    rng = np.random.default_rng(0)
    return (rng.normal(size=(H, H)) / np.sqrt(H), rng.normal(size=(H, D)) / np.sqrt(D),
            rng.normal(size=(T, D)), rng.normal(size=H))


# -- W6: RK4 integration of a 3-variable ODE through a helper ---------------------------


def deriv(x, y, z, a):
    # A damped pendulum (angle x, velocity y) driven at a phase z that drifts with x.
    return y, -a * math.sin(x) - 0.5 * y + 0.3 * math.cos(z), 0.8 + 0.1 * math.tanh(x)


def rk4(x, y, z, a, n):
    h = 0.01
    for _ in range(n):
        k1x, k1y, k1z = deriv(x, y, z, a)
        k2x, k2y, k2z = deriv(x + 0.5 * h * k1x, y + 0.5 * h * k1y, z + 0.5 * h * k1z, a)
        k3x, k3y, k3z = deriv(x + 0.5 * h * k2x, y + 0.5 * h * k2y, z + 0.5 * h * k2z, a)
        k4x, k4y, k4z = deriv(x + h * k3x, y + h * k3y, z + h * k3z, a)
        x = x + h / 6 * (k1x + 2 * k2x + 2 * k3x + k4x)
        y = y + h / 6 * (k1y + 2 * k2y + 2 * k3y + k4y)
        z = z + h / 6 * (k1z + 2 * k2z + 2 * k3z + k4z)
    return math.sqrt(x * x + y * y + z * z)


def rk4_hand(x, y, z, a, n):
    # The discrete adjoint of RK4, on Python floats. The forward is `deriv` inlined;
    # each step appends to a tape what the backward needs at its four stages: the
    # stage's x and z (for cos x and sin z), and sin x and tanh x, computed anyway.
    # Nothing is recomputed (recomputing the stages from per-step states instead
    # keeps a third of the memory but takes 1.7 times as long).
    h = 0.01
    h2, h3, h6 = 0.5 * h, h / 3, h / 6
    tape = []
    for _ in range(n):
        s1, t1 = math.sin(x), math.tanh(x)
        k1x, k1y, k1z = y, -a * s1 - 0.5 * y + 0.3 * math.cos(z), 0.8 + 0.1 * t1
        x2, y2, z2 = x + h2 * k1x, y + h2 * k1y, z + h2 * k1z
        s2, t2 = math.sin(x2), math.tanh(x2)
        k2x, k2y, k2z = y2, -a * s2 - 0.5 * y2 + 0.3 * math.cos(z2), 0.8 + 0.1 * t2
        x3, y3, z3 = x + h2 * k2x, y + h2 * k2y, z + h2 * k2z
        s3, t3 = math.sin(x3), math.tanh(x3)
        k3x, k3y, k3z = y3, -a * s3 - 0.5 * y3 + 0.3 * math.cos(z3), 0.8 + 0.1 * t3
        x4, y4, z4 = x + h * k3x, y + h * k3y, z + h * k3z
        s4, t4 = math.sin(x4), math.tanh(x4)
        k4x, k4y, k4z = y4, -a * s4 - 0.5 * y4 + 0.3 * math.cos(z4), 0.8 + 0.1 * t4
        tape.append((x, z, s1, t1, x2, z2, s2, t2, x3, z3, s3, t3, x4, z4, s4, t4))
        x = x + h6 * (k1x + 2 * k2x + 2 * k3x + k4x)
        y = y + h6 * (k1y + 2 * k2y + 2 * k3y + k4y)
        z = z + h6 * (k1z + 2 * k2z + 2 * k3z + k4z)
    r = math.sqrt(x * x + y * y + z * z)
    bx, by, bz = x / r, y / r, z / r  # adjoint of the state after the step
    ba = 0.0
    for x1, z1, s1, t1, x2, z2, s2, t2, x3, z3, s3, t3, x4, z4, s4, t4 in reversed(tape):
        # A stage maps the adjoint (gx, gy, gz) of its k to its input's adjoint
        # (0.1 (1 - tanh^2 x) gz - a cos(x) gy, gx - 0.5 gy, -0.3 sin(z) gy), and adds
        # -sin(x) gy to a's. k4 enters the new state with weight h/6; k3 with h/3 and
        # through stage 4's input (x + h k3); k2 with h/3 and through stage 3's
        # (x + h/2 k2); k1 with h/6 and through stage 2's.
        gx, gy, gz = h6 * bx, h6 * by, h6 * bz
        ax = 0.1 * (1.0 - t4 * t4) * gz - a * math.cos(x4) * gy
        ay, az = gx - 0.5 * gy, -0.3 * math.sin(z4) * gy
        ba -= s4 * gy
        cx, cy, cz = ax, ay, az
        gx, gy, gz = h3 * bx + h * ax, h3 * by + h * ay, h3 * bz + h * az
        ax = 0.1 * (1.0 - t3 * t3) * gz - a * math.cos(x3) * gy
        ay, az = gx - 0.5 * gy, -0.3 * math.sin(z3) * gy
        ba -= s3 * gy
        cx, cy, cz = cx + ax, cy + ay, cz + az
        gx, gy, gz = h3 * bx + h2 * ax, h3 * by + h2 * ay, h3 * bz + h2 * az
        ax = 0.1 * (1.0 - t2 * t2) * gz - a * math.cos(x2) * gy
        ay, az = gx - 0.5 * gy, -0.3 * math.sin(z2) * gy
        ba -= s2 * gy
        cx, cy, cz = cx + ax, cy + ay, cz + az
        gx, gy, gz = h6 * bx + h2 * ax, h6 * by + h2 * ay, h6 * bz + h2 * az
        ax = 0.1 * (1.0 - t1 * t1) * gz - a * math.cos(x1) * gy
        ay, az = gx - 0.5 * gy, -0.3 * math.sin(z1) * gy
        ba -= s1 * gy
        bx, by, bz = bx + cx + ax, by + cy + ay, bz + cz + az
    return r, (bx, by, bz, ba)


# -- W7: a Python loop over two lists of floats -----------------------------------------


def poisson(a, b, xs, ks):
    s = 0.0
    for x, k in zip(xs, ks):
        lam = math.exp(a * x + b)
        s = s + k * math.log(lam) - lam
    return -s


def poisson_hand(a, b, xs, ks):
    # One forward loop; d(-s)/d(a*x + b) = lam - k for each term, so both derivatives
    # accumulate as it goes (O(1) memory).
    s = da = db = 0.0
    for x, k in zip(xs, ks):
        lam = math.exp(a * x + b)
        s = s + k * math.log(lam) - lam
        r = lam - k
        da += r * x
        db += r
    return -s, (da, db)


def _poisson_args(n=10000):
    rng = np.random.default_rng(0)
    xs = rng.uniform(-1.0, 1.0, size=n)
    ks = rng.poisson(np.exp(0.8 * xs + 0.3)).astype(float)
    return 0.7, 0.2, xs.tolist(), ks.tolist()


# -- W8: log-softmax cross-entropy ------------------------------------------------------


def cross_entropy(X, y):
    n = X.shape[0]
    m = np.max(X, axis=1, keepdims=True)
    s = X - m
    logp = s - np.log(np.sum(np.exp(s), axis=1, keepdims=True))
    return -np.mean(logp[np.arange(n), y])


def cross_entropy_stopped(X, y):
    # W8s: the same, written with the shift marked as having no gradient.
    n = X.shape[0]
    m = ast_ad.stop_gradient(np.max(X, axis=1, keepdims=True))
    s = X - m
    logp = s - np.log(np.sum(np.exp(s), axis=1, keepdims=True))
    return -np.mean(logp[np.arange(n), y])


def cross_entropy_scipy(X, y):
    # W8l: the same, through scipy.special.log_softmax (ast-ad has a rule for it).
    n = X.shape[0]
    return -np.mean(scipy_special.log_softmax(X, axis=1)[np.arange(n), y])


def cross_entropy_hand(X, y):
    # d loss / dX = (softmax(X) - onehot(y)) / n. The shift by the max has no gradient
    # (softmax does not change under it); log-probabilities are formed only at the n
    # labels; the softmax reuses the forward's exp(s) and row sums, in place, and the
    # one-hot is a subtraction at the n label entries. Two n x classes arrays in all.
    n = X.shape[0]
    s = X - np.max(X, axis=1, keepdims=True)
    e = np.exp(s)
    sums = np.sum(e, axis=1, keepdims=True)
    rows = np.arange(n)
    loss = -np.mean(s[rows, y] - np.log(sums[:, 0]))
    e /= n * sums
    e[rows, y] -= 1.0 / n
    return loss, (e,)


def _cross_entropy_args(n=10000, classes=100):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, classes)) * 3.0, rng.integers(0, classes, size=n)


# -- W9: a 3-layer ReLU MLP in float32 --------------------------------------------------


def relu_mlp(X, W1, W2, W3, Y):
    h1 = np.maximum(X @ W1, 0)
    h2 = np.maximum(h1 @ W2, 0)
    return np.mean((h2 @ W3 - Y) ** 2)


def relu_mlp_hand(X, W1, W2, W3, Y):
    # float32 throughout: Python-float scalars and boolean masks keep the dtype.
    z1 = X @ W1
    h1 = np.maximum(z1, 0)
    z2 = h1 @ W2
    h2 = np.maximum(z2, 0)
    error = h2 @ W3 - Y
    loss = np.mean(error ** 2)
    d_out = error * (2.0 / error.size)
    d_z2 = (d_out @ W3.T) * (z2 > 0)
    d_z1 = (d_z2 @ W2.T) * (z1 > 0)
    return loss, (X.T @ d_z1, h1.T @ d_z2, h2.T @ d_out)


def _relu_mlp_args(batch=512, dtype=np.float32):
    rng = np.random.default_rng(0)
    return tuple(a.astype(dtype) for a in (
        rng.normal(size=(batch, 64)), rng.normal(size=(64, 128)) / 8,
        rng.normal(size=(128, 128)) / 11, rng.normal(size=(128, 10)) / 11,
        rng.normal(size=(batch, 10))))


# -- W10: softmax attention -------------------------------------------------------------


def attention(Q, K, V, C):
    S = Q @ K.T / np.sqrt(Q.shape[1])
    E = np.exp(S - np.max(S, axis=1, keepdims=True))
    P = E / np.sum(E, axis=1, keepdims=True)
    return np.sum(P @ V * C)


def attention_hand(Q, K, V, C):
    # The standard attention backward: dP = dO V^T, dS = P * (dP - rowsum(dP * P)),
    # with dO = C; the max shift has no gradient.
    scale = 1.0 / np.sqrt(Q.shape[1])
    S = Q @ K.T * scale
    E = np.exp(S - np.max(S, axis=1, keepdims=True))
    P = E / np.sum(E, axis=1, keepdims=True)
    loss = np.sum(P @ V * C)
    d_P = C @ V.T
    d_S = P * (d_P - np.sum(d_P * P, axis=1, keepdims=True)) * scale
    return loss, (d_S @ K, d_S.T @ Q, P.T @ C)


def _attention_args(n=128, d=64):
    rng = np.random.default_rng(0)
    return tuple(rng.normal(size=(n, d)) for _ in range(4))


# -- W11: Gaussian-process negative log marginal likelihood -----------------------------


def gp_nlml(ell, sf2, noise, X, y):
    n = X.shape[0]
    sq = np.sum(X * X, axis=1)
    D = sq[:, None] + sq[None, :] - 2.0 * (X @ X.T)
    K = sf2 * np.exp(-0.5 * D / ell ** 2) + noise * np.eye(n)
    L = np.linalg.cholesky(K)
    alpha = np.linalg.solve(L.T, np.linalg.solve(L, y))
    return 0.5 * (y @ alpha) + np.sum(np.log(np.diag(L))) + 0.5 * n * math.log(2 * math.pi)


def gp_nlml_hand(ell, sf2, noise, X, y):
    # d NLML / dK = (K^-1 - alpha alpha^T) / 2, with K^-1 from the Cholesky factor
    # (L^-T L^-1); each parameter's derivative is its sum against dK/dparameter:
    # sf2 E D / ell^3, E, and the identity (a trace).
    n = X.shape[0]
    sq = np.sum(X * X, axis=1)
    D = sq[:, None] + sq[None, :] - 2.0 * (X @ X.T)
    E = np.exp(-0.5 * D / ell ** 2)
    K = sf2 * E + noise * np.eye(n)
    L = np.linalg.cholesky(K)
    alpha = np.linalg.solve(L.T, np.linalg.solve(L, y))
    value = 0.5 * (y @ alpha) + np.sum(np.log(np.diag(L))) + 0.5 * n * math.log(2 * math.pi)
    L_inv = np.linalg.solve(L, np.eye(n))
    K_inv = L_inv.T @ L_inv
    W = K_inv - np.outer(alpha, alpha)  # twice d NLML / dK
    d_sf2 = 0.5 * np.sum(W * E)
    d_ell = sf2 * np.sum(W * E * D) / (2.0 * ell ** 3)
    d_noise = 0.5 * (np.trace(K_inv) - alpha @ alpha)
    return value, (d_ell, d_sf2, d_noise)


def _gp_args(n=200, d=3):
    rng = np.random.default_rng(0)
    X = rng.uniform(-2.0, 2.0, size=(n, d))
    y = np.sin(X @ np.array([1.0, -0.5, 0.3])[:d]) + 0.1 * rng.normal(size=n)
    return 0.9, 1.1, 0.05, X, y


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
    Workload("W6", "RK4, 1000 steps of a 3-variable ODE through deriv() returning a tuple, "
             "math.*, Python floats", rk4, rk4_hand, (1.0, 0.0, 0.0, 1.5, 1000), (0, 1, 2, 3),
             1.3, peers=False),
    Workload("W7", "Poisson negative log-likelihood, Python loop over two lists of 10,000 floats",
             poisson, poisson_hand, _poisson_args(), (0, 1), 1.5, peers=False),
    Workload("W8", "log-softmax cross-entropy, X 10000x100 logits, y 10000 labels",
             cross_entropy, cross_entropy_hand, _cross_entropy_args(), (0,), 1.3, peers=False),
    Workload("W8s", "W8 with the max shift in ast_ad.stop_gradient", cross_entropy_stopped,
             cross_entropy_hand, _cross_entropy_args(), (0,), 1.3, peers=False),
    Workload("W8l", "W8 through scipy.special.log_softmax", cross_entropy_scipy,
             cross_entropy_hand, _cross_entropy_args(), (0,), 1.3, peers=False),
    Workload("W9", "3-layer ReLU MLP in float32, X 512x64, W1 64x128, W2 128x128, W3 128x10, "
             "MSE", relu_mlp, relu_mlp_hand, _relu_mlp_args(), (1, 2, 3), 1.15, peers=False),
    Workload("W10", "softmax attention, Q, K, V 128x64, loss sum(P @ V * C)", attention,
             attention_hand, _attention_args(), (0, 1, 2), 1.1, peers=False),
    Workload("W11", "Gaussian-process negative log marginal likelihood, n=200, "
             "np.linalg.cholesky + solve", gp_nlml, gp_nlml_hand, _gp_args(), (0, 1, 2), 1.3,
             peers=False),
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


def rejected(error: ast_ad.ADError) -> str:
    """The table cell of a workload ast-ad rejects: the error's class, e.g. "n/a (NoRuleError)"."""
    return f"n/a ({type(error).__name__})"


def ast_ad_contenders(w: Workload) -> dict[str, Contender | str]:
    """The generated function called directly, and through value_and_grad's dispatcher.

    A workload ast-ad rejects (no rule for a call, unsupported syntax: any ADError
    while it compiles) gets the error's class name in both cells instead.
    """
    try:
        wrapper = ast_ad.value_and_grad(w.primal, argnums=w.argnums)  # checks the syntax
        wrapper(*w.args)  # generates and compiles the code for these argument kinds
    except ast_ad.ADError as error:
        return {"ast-ad": rejected(error), "ast-ad wrapper": rejected(error)}
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
    """The hand-written value equals the primal; its gradient matches central differences.

    A float32 workload's central differences run on float64 copies of its arguments
    (the primal and hand-written code are dtype-generic), and its float32 gradient
    must be float32 and agree with the float64 one to float32 accuracy.
    """
    value, grads = w.hand(*w.args)
    _close(f"{w.name} hand-written value vs primal", value, w.primal(*w.args), 1e-12, 0)
    if single_precision(w.args):
        check_dtypes(w, "hand-written", grads)
        w = replace(w, args=tuple(a.astype(np.float64) if isinstance(a, np.ndarray)
                                  and a.dtype == np.float32 else a for a in w.args))
        wide_value, wide_grads = w.hand(*w.args)
        for k, (g, wide) in enumerate(zip(grads, wide_grads)):
            _close(f"{w.name} hand-written gradient {k} in float32 vs float64", g, wide,
                   *float32_tolerance(wide))
        grads = wide_grads
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


def single_precision(args) -> bool:
    return any(isinstance(a, np.ndarray) and a.dtype == np.float32 for a in args)


def float32_tolerance(reference) -> tuple[float, float]:
    """(rtol, atol) for float32 results: a few hundred float32 roundings, relative to the
    largest entry (an entry near zero is the difference of larger ones)."""
    return 1e-4, 1e-5 * float(np.max(np.abs(reference), initial=0.0))


def check_dtypes(w: Workload, label: str, grads) -> None:
    """Each gradient of a float32 argument is float32 (no float64 backward cast back or not)."""
    for k, (i, g) in enumerate(zip(w.argnums, grads)):
        expected = np.asarray(w.args[i]).dtype
        if np.asarray(g).dtype != expected:
            raise CheckFailed(f"{w.name} {label} gradient {k}: dtype {np.asarray(g).dtype}, "
                              f"expected {expected} like its argument")


def check_contender(w: Workload, label: str, c: Contender, reference) -> None:
    """Fail loudly unless `c` returns the hand-written value and gradients."""
    value, grads = c.to_numpy(c.fn(*c.args))
    ref_value, ref_grads = reference
    value_rtol, grad_rtol = TOLERANCES["ast-ad" if label.startswith("ast-ad") else "peer"]
    single = single_precision(w.args)
    _close(f"{w.name} {label} value", value, ref_value,
           *(float32_tolerance(ref_value) if single else (value_rtol, 0)))
    if len(grads) != len(ref_grads):
        raise CheckFailed(f"{w.name} {label}: {len(grads)} gradients, expected {len(ref_grads)}")
    for k, (g, h) in enumerate(zip(grads, ref_grads)):
        if np.shape(g) != np.shape(h):
            raise CheckFailed(f"{w.name} {label} gradient {k}: shape {np.shape(g)}, expected "
                              f"{np.shape(h)}")
        _close(f"{w.name} {label} gradient {k}", g, h,
               *(float32_tolerance(h) if single else (grad_rtol, 1e-12)))
    if single and label.startswith("ast-ad"):
        check_dtypes(w, label, grads)


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
    create: float | str  # value_and_grad(f): read the source, parse, check, build the dispatcher
    first_call: float | str  # first call, code cache cleared: transform + compile + one run
    recreate: float | str  # value_and_grad(f)(*args) each call, minus the generated function


def compile_cost(w: Workload, repeats: int, rounds: int, budget: float) -> CompileCost:
    creates, firsts = [], []
    for _ in range(repeats):
        ast_ad.clear_caches()
        try:
            t0 = time.perf_counter()
            transformed = ast_ad.value_and_grad(w.primal, argnums=w.argnums)
            t1 = time.perf_counter()
            creates.append(t1 - t0)
            transformed(*w.args)
        except ast_ad.ADError as error:
            create = statistics.median(creates) if creates else rejected(error)
            return CompileCost(w, create, rejected(error), rejected(error))
        firsts.append(time.perf_counter() - t1)
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


# -- memory -----------------------------------------------------------------------------

MEMORY_WORKLOADS = ("W2", "W5", "W6", "W7", "W8", "W8s")  # the loops, and the 10000x100 softmax


def peak_memory(c: Contender) -> int:
    """Bytes one call allocates at its peak (tracemalloc: peak minus the memory in use
    before the call), counting Python objects and NumPy's array buffers alike."""
    c.fn(*c.args)  # warm: nothing compiled or cached during the measured call
    gc.collect()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        result = c.fn(*c.args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del result
    return peak - baseline


def report_memory(workloads: list[Workload]) -> str:
    labels = ("primal", "hand", "ast-ad", "ast-ad wrapper")
    out = []
    for w in workloads:
        contenders = contenders_for(w, peers=False)
        peak = {label: peak_memory(contenders[label]) if isinstance(contenders[label], Contender)
                else contenders[label] for label in labels}
        cells = [w.name, fmt_bytes(peak["primal"]), fmt_bytes(peak["hand"])]
        for label in ("ast-ad", "ast-ad wrapper"):
            cells.append(fmt_bytes(peak[label]))
            cells.append(fmt_ratio(peak[label] / peak["hand"])
                         if isinstance(peak[label], int) else "-")
        out.append(cells)
    return table(["", "primal", "hand", "ast-ad", "/hand", "via wrapper", "/hand"], out)


def fmt_bytes(n: int | str) -> str:
    if isinstance(n, str):
        return n
    for unit, scale in (("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} B"


# -- compile time against statement count -----------------------------------------------

COMPILE_SIZES = (100, 200, 400, 800, 2000)

# One statement each, on four variables: float arithmetic and math calls on Python
# floats, or the same with NumPy on arrays of 16 (and a reduction). Every form is
# bounded (|result| stays below a few units), so any sequence of them stays finite,
# and each reads the variable it assigns ({t} is {a}), so no statement is dead.
_FORMS = (
    "{t} = {a} * {m}.cos({b}) * 0.9",
    "{t} = {m}.tanh({a} * {b}) + 0.5 * {c}",
    "{t} = ({a} + {b}) * 0.5",
    "{t} = {m}.sin({a}) * {b}",
    "{t} = {m}.exp(-{a} * {a}) + 0.5 * {b}",
    "{t} = {a} / (1.0 + {b} * {b})",
    "{t} = {m}.sqrt({a} * {a} + 1.0) - 1.0",
)
STATEMENT_FORMS = {
    "floats": _FORMS + ("{t} = ({a} - {b}) * 0.7",),
    "arrays": _FORMS + ("{t} = ({a} - np.mean({b})) * 0.7",),
}


def straight_line_source(statements: int, name: str = "f", kind: str = "floats") -> str:
    """A function of two floats (or arrays) whose body is `statements` statements, no loop
    or branch."""
    rng = random.Random(statements)
    forms, module = STATEMENT_FORMS[kind], "math" if kind == "floats" else "np"
    names = ("a", "b", "c", "d")
    body = ["a = x", "b = y", "c = x * y", "d = x - y"]
    while len(body) < statements - 1:
        t, b, c = (rng.choice(names) for _ in range(3))
        body.append(rng.choice(forms).format(t=t, a=t, b=b, c=c, m=module))
    body.append("return a + b * c - d" if kind == "floats" else "return np.sum(a + b * c - d)")
    return f"def {name}(x, y):\n" + "".join(f"    {line}\n" for line in body[:statements])


def load_function(source: str, name: str, directory: str):
    """Define `name` from `source` in a module file (ast-ad reads the source from it)."""
    path = os.path.join(directory, f"{name}.py")
    with open(path, "w") as file:
        file.write("import math\n\nimport numpy as np\n\n\n" + source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def time_first_compile(statements: int, kind: str) -> None:
    """(In a fresh process) print the seconds of the first `value_and_grad(f)(x, y)`.

    A 10-line function is timed first, as the process's very first ast-ad call
    ("cold": what a user waits for at first); the function of `statements`
    statements is timed after it (warm). Its gradient is checked against central
    differences.
    """
    point = ((0.3, 0.7) if kind == "floats"
             else (np.linspace(0.1, 0.5, 16), np.linspace(0.7, -0.2, 16)))
    with tempfile.TemporaryDirectory() as directory:
        small = load_function(straight_line_source(10, "cold", kind), "cold", directory)
        t0 = time.perf_counter()
        ast_ad.value_and_grad(small, argnums=(0, 1))(*point)
        cold = time.perf_counter() - t0
        f = load_function(straight_line_source(statements, "f", kind), "f", directory)
        t0 = time.perf_counter()
        value, grads = ast_ad.value_and_grad(f, argnums=(0, 1))(*point)
        seconds = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    directions = [rng.normal(size=np.shape(p)) for p in point]

    def moved(step):
        return [p + step * (float(d) if isinstance(p, float) else d)
                for p, d in zip(point, directions)]

    numeric = (f(*moved(1e-6)) - f(*moved(-1e-6))) / 2e-6
    _close(f"{statements}-statement function value", value, f(*point), 1e-12, 0)
    _close(f"{statements}-statement function gradient vs central differences",
           sum(np.sum(g * d) for g, d in zip(grads, directions)), numeric, 1e-6, 1e-9)
    print(f"{seconds!r} {cold!r}")


def compile_scaling(limit: float, sizes=COMPILE_SIZES) -> str:
    """First-compile time per size and kind, each in a fresh process killed after `limit`
    seconds (then that kind's larger sizes are skipped)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.dirname(os.path.dirname(ast_ad.__file__))]
        + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    columns, colds = [], {}
    for kind in STATEMENT_FORMS:
        cells, timed_out = [], False
        for size in (10, *sizes):
            if timed_out:
                cells += ["skipped", "-"]
                continue
            try:
                done = subprocess.run([sys.executable, __file__, "--compile-size", str(size),
                                       "--compile-kind", kind],
                                      capture_output=True, text=True, env=env, timeout=limit)
            except subprocess.TimeoutExpired:
                cells += [f"> {fmt(limit)}", "-"]
                timed_out = True
                continue
            if done.returncode != 0:
                raise CheckFailed(f"{size}-statement function on {kind}: "
                                  f"{done.stdout}{done.stderr}")
            seconds, cold = (float(v) for v in done.stdout.split())
            colds.setdefault(kind, cold)
            cells += [fmt(seconds), fmt(seconds * 100 / size) if size >= 100 else "-"]
        columns.append(cells)
    rows = [[str(size)] + [c for cells in columns for c in cells[2 * k:2 * k + 2]]
            for k, size in enumerate((10, *sizes))]
    header = ["statements"] + [h for kind in STATEMENT_FORMS
                               for h in (f"{kind}: first call", "per 100")]
    text = table(header, rows)
    if colds:
        text += ("\nfirst ast-ad call of a process (a 10-statement function, cold): "
                 + ", ".join(f"{kind} {fmt(t)}" for kind, t in colds.items())
                 + "; the 10-statement row is a second one (warm)")
    return text


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
        dtypes = ""
        if single_precision(w.args):  # check_contender checked that they are float32
            found = sorted({str(np.asarray(g).dtype) for label in ["hand"] + checked
                            for g in contenders[label].fn(*w.args)[1]})
            dtypes = f"; gradient dtype {', '.join(found)} ({', '.join(['hand'] + checked)})"
        print(f"{w.name}: hand-written gradient matches central differences"
              + (f"; equal to it: {', '.join(checked)}" if checked else "")
              + (f"; not checked: {', '.join(skipped)}" if skipped else "") + dtypes)
    _check_dask()
    print("all checks passed")


def _check_dask() -> None:
    """D1 (tools/bench_dask.py): only when dask is installed."""
    import bench_dask

    try:
        import dask  # noqa: F401
    except ImportError:
        print("D1: not checked, dask is not installed")
        return
    bench_dask.check()
    print("D1: ast-ad's gradient over a Dask array is lazy and equals the hand-written one")


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
    parser.add_argument("--compile-scaling", action="store_true",
                        help="only the first-compile time of straight-line functions of "
                             f"{', '.join(map(str, COMPILE_SIZES))} statements")
    parser.add_argument("--compile-timeout", type=float, default=60.0, metavar="SECONDS",
                        help="with --compile-scaling: stop a size after this long and skip "
                             "the larger ones (default 60)")
    parser.add_argument("--dask", action="store_true",
                        help="only D1: one gradient over a chunked Dask array against the "
                             "hand-written (dask-glm) one (tools/bench_dask.py)")
    parser.add_argument("--jacobians", action="store_true",
                        help="only H1, J1, H2: Hessians and Jacobians in one call against "
                             "hand-written ones (tools/bench_jacobians.py)")
    parser.add_argument("--compile-size", type=int, help=argparse.SUPPRESS)  # the child
    parser.add_argument("--compile-kind", choices=STATEMENT_FORMS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.compile_size:
        time_first_compile(args.compile_size, args.compile_kind)
        return 0
    if args.dask:
        import bench_dask

        print(bench_dask.report(rows=100_000, rounds=5) if args.quick else bench_dask.report())
        return 0
    if args.jacobians:
        import bench_jacobians

        if args.check:
            bench_jacobians.run_checks(not args.no_peers)
            return 0
        rounds, budget = (7, 0.01) if args.quick else (41, 0.025)
        print(environment_line(not args.no_peers))
        print(bench_jacobians.report(rounds, budget, not args.no_peers, per_call_samples, fmt,
                                     table))
        return 0
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
        if args.compile_scaling:
            print(environment_line(False))
            print("First call of value_and_grad(f)(x, y), f straight-line code: math calls "
                  "and arithmetic on floats, or NumPy on arrays of 16; each in a fresh process")
            print(compile_scaling(args.compile_timeout))
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
        memory = [w for w in chosen if w.name in MEMORY_WORKLOADS]
        if memory:
            print("\nPeak memory of one call (tracemalloc: peak minus the memory in use before)")
            print(report_memory(memory))
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
