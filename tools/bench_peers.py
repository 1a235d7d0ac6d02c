"""The benchmark's peers: the same workloads written for autograd, JAX and PyTorch.

Each workload is written the way a user of that library would write it
(autograd.numpy / jax.numpy in place of numpy, torch ops on float64 tensors)
and computes the same function as the NumPy primal in tools/bench.py.

An adapter takes a workload and returns a `Contender`: the value-and-gradient
callable, its arguments converted once to the library's own types (outside
the timing), and a function turning its result into NumPy for the
correctness check. It raises `Missing` when the library is not installed.
Thread settings (one BLAS / XLA / torch thread) are made by tools/bench.py
before anything is imported.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


class Missing(Exception):
    """The peer library is not installed."""


@dataclass
class Contender:
    fn: Callable  # fn(*args) -> (value, gradients) in the library's own types
    args: tuple
    to_numpy: Callable = lambda result: result  # -> (value, tuple of gradients) as NumPy


def version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


# -- the workloads, against a NumPy look-alike (autograd.numpy, jax.numpy) --------------


def numpy_style(np):
    """The workloads written with `np` bound to autograd.numpy or jax.numpy."""

    def w1(x1, x2):
        return np.log(x1) + x1 * x2 - np.sin(x2)

    def scalar_loop(x, a):
        s = 0.0
        for i in range(100):
            s = s + np.sin(x * i * 0.01) * a + x * x * 0.001
        return s

    def mlp(X, W1, b1, W2, b2, y):
        hidden = np.tanh(X @ W1 + b1)
        prediction = hidden @ W2 + b2
        return np.mean((prediction - y) ** 2)

    def logistic(w, X, s):
        return np.mean(np.logaddexp(0, -s * (X @ w)))

    def rnn(W, U, x, h0):
        h = h0
        for t in range(x.shape[0]):
            h = np.tanh(W @ h + U @ x[t])
        return np.sum(h ** 2)

    return {"W1": w1, "W2": scalar_loop, "W3": mlp, "W4": logistic, "W5": rnn}


# -- the workloads in PyTorch -----------------------------------------------------------


def torch_style(torch):
    """The workloads written with torch ops on float64 tensors."""
    F = torch.nn.functional

    def w1(x1, x2):
        return torch.log(x1) + x1 * x2 - torch.sin(x2)

    def scalar_loop(x, a):
        s = 0.0
        for i in range(100):
            s = s + torch.sin(x * i * 0.01) * a + x * x * 0.001
        return s

    def mlp(X, W1, b1, W2, b2, y):
        hidden = torch.tanh(X @ W1 + b1)
        prediction = hidden @ W2 + b2
        return ((prediction - y) ** 2).mean()

    def logistic(w, X, s):
        return F.softplus(-s * (X @ w)).mean()  # softplus(z) = logaddexp(0, z)

    def rnn(W, U, x, h0):
        h = h0
        for t in range(x.shape[0]):
            h = torch.tanh(W @ h + U @ x[t])
        return (h ** 2).sum()

    return {"W1": w1, "W2": scalar_loop, "W3": mlp, "W4": logistic, "W5": rnn}


# -- adapters ---------------------------------------------------------------------------


def _is_float_data(value) -> bool:
    return isinstance(value, float) or isinstance(value, np.ndarray) and value.dtype.kind == "f"


def autograd_adapter(workload) -> Contender:
    """`autograd.value_and_grad` of the autograd.numpy version, on the NumPy arguments."""
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        raise Missing from None
    f = numpy_style(anp)[workload.name]
    return Contender(autograd.value_and_grad(f, argnum=workload.argnums), workload.args)


def _jax(workload, jit: bool) -> Contender:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        raise Missing from None
    jax.config.update("jax_enable_x64", True)
    vg = jax.value_and_grad(numpy_style(jnp)[workload.name], argnums=workload.argnums)
    if jit:
        vg = jax.jit(vg)

    def call(*args):  # JAX dispatches asynchronously: wait for the result
        return jax.block_until_ready(vg(*args))

    args = tuple(jnp.asarray(a) if _is_float_data(a) else a for a in workload.args)
    return Contender(call, args, _jax_to_numpy)


def _jax_to_numpy(result):
    value, grads = result
    return np.asarray(value), tuple(np.asarray(g) for g in grads)


def jax_adapter(workload) -> Contender:
    """`jax.value_and_grad` of the jax.numpy version, run op by op (no jit), float64."""
    return _jax(workload, jit=False)


def jax_jit_adapter(workload) -> Contender:
    """`jax.jit(jax.value_and_grad(...))`, float64; compiled during the warm-up."""
    return _jax(workload, jit=True)


def torch_adapter(workload) -> Contender:
    """Eager PyTorch: float64 tensors, forward plus `.backward()` on every call."""
    try:
        import torch
    except ImportError:
        raise Missing from None
    torch.set_num_threads(1)
    f = torch_style(torch)[workload.name]
    argnums = workload.argnums
    args = tuple(torch.tensor(a, dtype=torch.float64) if _is_float_data(a) else a
                 for a in workload.args)
    for i in argnums:
        args[i].requires_grad_(True)

    def call(*args):
        for i in argnums:
            args[i].grad = None
        loss = f(*args)
        loss.backward()
        return loss, tuple(args[i].grad for i in argnums)

    return Contender(call, args, _torch_to_numpy)


def _torch_to_numpy(result):
    value, grads = result
    return value.detach().numpy(), tuple(g.numpy() for g in grads)


# label -> (adapter, distribution whose version is reported)
PEERS = {
    "autograd": (autograd_adapter, "autograd"),
    "jax": (jax_adapter, "jax"),
    "jax.jit": (jax_jit_adapter, "jax"),
    "torch": (torch_adapter, "torch"),
}
