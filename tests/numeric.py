"""Central finite differences: the reference every derivative is checked against."""

from __future__ import annotations

import numbers

import numpy as np

import ast_ad


def numeric_gradient(f, args, argnum, eps=1e-6):
    """d f(*args) / d args[argnum] by central differences (f must return a scalar)."""
    x = args[argnum]

    def at(value):
        shifted = list(args)
        shifted[argnum] = value
        return float(f(*shifted))

    if isinstance(x, numbers.Real) and not isinstance(x, np.ndarray):
        return (at(x + eps) - at(x - eps)) / (2 * eps)
    x = np.asarray(x, dtype=float)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += eps
        minus[index] -= eps
        grad[index] = (at(plus) - at(minus)) / (2 * eps)
    return grad


def check_gradient(f, *args, argnums=None, rtol=1e-5, atol=1e-6, eps=1e-6):
    """Compare ast_ad.value_and_grad(f) with f itself and with central differences."""
    if argnums is None:
        argnums = tuple(i for i, a in enumerate(args) if _is_float(a))
    value, grads = ast_ad.value_and_grad(f, argnums=tuple(argnums))(*args)
    np.testing.assert_allclose(value, f(*args), rtol=1e-12, atol=1e-12)
    for argnum, g in zip(argnums, grads):
        expected = numeric_gradient(f, args, argnum, eps)
        x = args[argnum]
        if isinstance(x, np.ndarray):
            assert isinstance(g, np.ndarray), f"gradient of argument {argnum} is {type(g)}"
            assert g.shape == x.shape, (g.shape, x.shape)
            assert g.dtype == x.dtype, (g.dtype, x.dtype)
        else:
            assert np.ndim(g) == 0, f"gradient of scalar argument {argnum} has shape {np.shape(g)}"
        np.testing.assert_allclose(g, expected, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of argument {argnum}")
    return grads


def _is_float(a):
    if isinstance(a, np.ndarray):
        return a.dtype.kind == "f"
    return isinstance(a, (float, np.floating))


def check_jvp(f, *args, argnums=None, rtol=1e-5, atol=1e-6, eps=1e-6, seed=0):
    """Compare ast_ad.jvp(f) along a random direction with a central difference.

    Only the arguments in `argnums` (default: every float argument) move.
    """
    rng = np.random.default_rng(seed)
    moving = range(len(args)) if argnums is None else argnums
    tangents = tuple(rng.normal(size=np.shape(a)) if _is_float(a) and i in moving
                     else np.zeros(np.shape(a)) for i, a in enumerate(args))
    tangents = tuple(float(t) if np.ndim(a) == 0 and _is_float(a) else t
                     for a, t in zip(args, tangents))
    value, tangent = ast_ad.jvp(f, args, tangents)

    def at(sign):
        return f(*[a + sign * eps * t if _is_float(a) else a for a, t in zip(args, tangents)])

    if isinstance(value, tuple):
        expected = tuple((np.asarray(p) - np.asarray(m)) / (2 * eps)
                         for p, m in zip(at(1), at(-1)))
        for v, e in zip(tangent, expected):
            np.testing.assert_allclose(v, e, rtol=rtol, atol=atol)
        return tangent
    np.testing.assert_allclose(value, f(*args), rtol=1e-12, atol=1e-12)
    expected = (np.asarray(at(1)) - np.asarray(at(-1))) / (2 * eps)
    assert np.shape(tangent) == np.shape(value), (np.shape(tangent), np.shape(value))
    np.testing.assert_allclose(tangent, expected, rtol=rtol, atol=atol)
    return tangent


def float_leaf(leaf) -> bool:
    return isinstance(leaf, float) or isinstance(leaf, np.ndarray) and leaf.dtype.kind == "f"


def numeric_tree_gradient(f, args, argnum, eps=1e-6):
    """Central differences of f with respect to every float leaf of args[argnum], as a tree
    (None at the other leaves)."""
    leaves, treedef = ast_ad.tree_flatten(args[argnum])

    def at(i, value):
        moved = list(leaves)
        moved[i] = value
        shifted = list(args)
        shifted[argnum] = ast_ad.tree_unflatten(treedef, moved)
        return float(f(*shifted))

    grads = []
    for i, leaf in enumerate(leaves):
        if not float_leaf(leaf):
            grads.append(None)
        elif isinstance(leaf, float):
            grads.append((at(i, leaf + eps) - at(i, leaf - eps)) / (2 * eps))
        else:
            g = np.zeros_like(leaf)
            for index in np.ndindex(leaf.shape):
                plus, minus = leaf.copy(), leaf.copy()
                plus[index] += eps
                minus[index] -= eps
                g[index] = (at(i, plus) - at(i, minus)) / (2 * eps)
            grads.append(g)
    return ast_ad.tree_unflatten(treedef, grads)
