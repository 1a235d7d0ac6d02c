"""CuPy arrays: gradients stay on the GPU and equal NumPy's (docs/arrays.md).

Runs only where CuPy and a CUDA device are present; elsewhere the module is skipped
and says which is missing.
"""

from __future__ import annotations

import numpy as np
import pytest

import ast_ad

cupy = pytest.importorskip("cupy", reason="CuPy is not installed (these tests need a GPU)")


def _devices() -> tuple[int, str]:
    try:
        return cupy.cuda.runtime.getDeviceCount(), ""
    except Exception as exc:  # no driver, no device
        return 0, f"{type(exc).__name__}: {exc}"


_count, _why = _devices()
if _count == 0:
    pytest.skip(f"no CUDA device for CuPy ({_why or 'none found'})", allow_module_level=True)


def logistic(w, X, y):
    Xw = X @ w
    return np.sum(np.logaddexp(0.0, Xw) - y * Xw)


def softmax_cross_entropy(W, b, X, labels):
    logits = X @ W + b
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.mean(np.sum(log_probs * labels, axis=1))


def mlp(W1, b1, W2, X, y):
    h = np.tanh(X @ W1 + b1)
    return np.mean((np.maximum(h @ W2, 0.0) - y) ** 2) + 0.1 * np.sum(W1 ** 2)


def reductions_and_shapes(x, w):
    return (np.sum(np.std(x, axis=0) * w[:, 0]) + np.prod(np.clip(x[:2], -1.0, 1.0))
            + np.sum(np.transpose(x) @ w) + np.linalg.norm(x.reshape(-1)))


rng = np.random.default_rng(3)
CASES = [
    (logistic, (rng.normal(size=4), rng.normal(size=(50, 4)),
                (rng.random(50) < 0.5).astype(float)), (0, 1)),
    (softmax_cross_entropy, (rng.normal(size=(4, 3)), rng.normal(size=3),
                             rng.normal(size=(6, 4)), np.eye(3)[rng.integers(0, 3, 6)]), (0, 1)),
    (mlp, (rng.normal(size=(4, 5)), rng.normal(size=5), rng.normal(size=(5, 1)),
           rng.normal(size=(8, 4)), rng.normal(size=(8, 1))), (0, 1, 2)),
    (reductions_and_shapes, (rng.normal(size=(3, 4)), rng.normal(size=(3, 1))), (0, 1)),
]


@pytest.mark.parametrize("fn, args, argnums", CASES, ids=[c[0].__name__ for c in CASES])
def test_gradients_stay_on_the_gpu_and_equal_numpys(fn, args, argnums):
    on_gpu = tuple(cupy.asarray(a) for a in args)
    value, grads = ast_ad.value_and_grad(fn, argnums=argnums)(*on_gpu)
    expected_value, expected = ast_ad.value_and_grad(fn, argnums=argnums)(*args)
    np.testing.assert_allclose(float(value), expected_value, rtol=1e-10)
    for g, e in zip(grads, expected):
        assert isinstance(g, cupy.ndarray) and g.shape == e.shape and g.dtype == e.dtype
        np.testing.assert_allclose(cupy.asnumpy(g), e, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("fn, args, argnums", CASES[:2], ids=[c[0].__name__ for c in CASES[:2]])
def test_jvp_on_the_gpu(fn, args, argnums):
    tangents = tuple(rng.normal(size=np.shape(a)) if i in argnums else np.zeros(np.shape(a))
                     for i, a in enumerate(args))
    _, tangent = ast_ad.jvp(fn, tuple(cupy.asarray(a) for a in args),
                            tuple(cupy.asarray(t) for t in tangents))
    np.testing.assert_allclose(float(tangent), ast_ad.jvp(fn, args, tangents)[1], rtol=1e-8)


def test_float32_stays_float32_on_the_gpu():
    w, X, y = (a.astype(np.float32) for a in CASES[0][1])
    g = ast_ad.grad(logistic)(cupy.asarray(w), cupy.asarray(X), cupy.asarray(y))
    assert isinstance(g, cupy.ndarray) and g.dtype == np.float32
    np.testing.assert_allclose(cupy.asnumpy(g), ast_ad.grad(logistic)(w, X, y), rtol=1e-4)
