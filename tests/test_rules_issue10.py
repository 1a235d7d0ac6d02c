"""Issue 10, the rule-level parts: adjoints keep float32, np.linalg.cholesky (a Gaussian-process
likelihood), ast_ad.stop_gradient, an np.arange index adding without np.add.at, SciPy rules.

The rules' own float64 / float32 / forward-mode rows are in numpy_cases_linalg.py (cholesky,
tril, triu), numpy_cases_scipy.py and test_tangent_rules.py; these are the workloads."""

import importlib.util
import sys

import numpy as np
import pytest
from numeric import check_gradient, check_jvp

import ast_ad
from ast_ad import NoRuleError

HAVE_SCIPY = importlib.util.find_spec("scipy") is not None
if HAVE_SCIPY:
    import scipy.special
needs_scipy = pytest.mark.skipif(not HAVE_SCIPY, reason="SciPy is not installed")


def float64_locals(fn, *args):
    """Call fn; return its result and the float64 values left in the locals of every
    generated function it ran ({"function.name": type}), however they were computed."""
    found = {}

    def local(frame, event, arg):
        if event == "return":
            for key, value in frame.f_locals.items():
                if getattr(value, "dtype", None) == np.float64:
                    found[f"{frame.f_code.co_name}.{key}"] = type(value).__name__
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename.startswith("<ast_ad:") else None

    old = sys.gettrace()
    sys.settrace(tracer)
    try:
        result = fn(*args)
    finally:
        sys.settrace(old)
    return result, found


def fd_hessian(f, args, argnums, eps=1e-5):
    """Central differences of ast_ad's gradient: rows per argument in argnums (scalars)."""
    grad = ast_ad.grad(f, argnums=argnums)
    rows = []
    for i in argnums:
        plus, minus = list(args), list(args)
        plus[i] += eps
        minus[i] -= eps
        rows.append((np.array(grad(*plus)) - np.array(grad(*minus))) / (2 * eps))
    return np.array(rows)


# -- dtype: a float32 ReLU network runs its backward pass in float32 -----------------------


def relu_mlp(W1, W2, W3, X, Y):
    h1 = np.maximum(X @ W1, 0)
    h2 = np.maximum(h1 @ W2, 0)
    return np.mean((h2 @ W3 - Y) ** 2)


def mlp_arguments(dtype):
    rng = np.random.default_rng(0)
    return tuple(a.astype(dtype) for a in (
        0.2 * rng.normal(size=(64, 64)), 0.2 * rng.normal(size=(64, 64)),
        0.2 * rng.normal(size=(64, 10)), rng.normal(size=(512, 64)), rng.normal(size=(512, 10))))


def test_float32_relu_mlp_backward_is_float32_throughout():
    args = mlp_arguments(np.float32)
    grads, found = float64_locals(ast_ad.grad(relu_mlp, argnums=(0, 1, 2)), *args)
    assert not found, found  # was: every adjoint below the first ReLU (tie weights float64)
    assert [g.dtype for g in grads] == [np.float32] * 3
    exact = ast_ad.grad(relu_mlp, argnums=(0, 1, 2))(*mlp_arguments(np.float64))
    for g, e in zip(grads, exact):
        np.testing.assert_allclose(g, e, rtol=1e-3, atol=1e-4 * np.max(np.abs(e)))
    source = ast_ad.source(ast_ad.grad(relu_mlp, argnums=(0, 1, 2)), *args)
    assert "unbroadcast" not in source  # the tie weights' shape is known


def maximum_ties(x, y):
    return np.sum(np.maximum(x, y) * 3.0) + np.sum(np.minimum(x, 0.5) ** 2)


def fmax_nan(x, y):
    return np.sum(np.fmax(x, y)) + np.sum(np.fmin(x, y) * 2.0)


def clip_ties(x, lo):
    return np.sum(np.clip(x, lo, 1.0) * 5.0) + np.sum(np.clip(x, None, 0.0) ** 2) \
        + np.sum(np.clip(x, -1.0, None))


def extremum_ties(x):
    return np.sum(np.max(x, axis=1)) + np.min(x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ties_split_equally_and_keep_the_dtype(dtype):
    x = np.array([-1.0, 0.0, 0.5, 2.0], dtype=dtype)
    y = np.array([0.0, 0.0, 0.5, 1.0], dtype=dtype)
    (gx, gy), found = float64_locals(ast_ad.grad(maximum_ties, argnums=(0, 1)), x, y)
    assert not found or dtype == np.float64
    assert gx.dtype == gy.dtype == dtype
    # maximum: ties (x == y at 1 and 2) split 3.0; minimum(x, 0.5): tie at 2 gives half of 2x
    np.testing.assert_allclose(gx, [-2.0, 1.5, 1.5 + 0.5, 3.0])
    np.testing.assert_allclose(gy, [3.0, 1.5, 1.5, 0.0])

    x = np.array([1.0, np.nan, 2.0], dtype=dtype)
    y = np.array([np.nan, 3.0, 2.0], dtype=dtype)
    (gx, gy), found = float64_locals(ast_ad.grad(fmax_nan, argnums=(0, 1)), x, y)
    assert not found or dtype == np.float64
    np.testing.assert_allclose(gx, [3.0, 0.0, 1.5])  # a NaN argument gets nothing
    np.testing.assert_allclose(gy, [0.0, 3.0, 1.5])

    x = np.array([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0], dtype=dtype)
    lo = np.array(-1.0, dtype=dtype)
    (gx, glo), found = float64_locals(ast_ad.grad(clip_ties, argnums=(0, 1)), x, lo)
    assert not found or dtype == np.float64
    assert gx.dtype == dtype
    np.testing.assert_allclose(gx, [0.0 - 4.0 + 0.0, 2.5 - 2.0 + 0.5, 5.0 + 0.0 + 1.0,
                                    5.0 + 1.0, 2.5 + 1.0, 1.0])
    np.testing.assert_allclose(glo, 5.0 + 2.5)

    x = np.array([[1.0, 3.0, 3.0], [0.0, -2.0, -2.0]], dtype=dtype)
    gx, found = float64_locals(ast_ad.grad(extremum_ties), x)
    assert not found or dtype == np.float64
    assert gx.dtype == dtype
    np.testing.assert_allclose(gx, [[0.0, 0.5, 0.5], [1.0, 0.5, 0.5]])


def einsum_scalar(a, b, c):
    return np.einsum("ij,jk,ki->", a, b, c) * 2.0


def test_einsum_to_a_scalar_keeps_float32():
    """The output's adjoint starts as a Python float: weak in arithmetic, but np.einsum
    would make it a float64 array (and the whole adjoint float64) if passed as it is."""
    rng = np.random.default_rng(10)
    a, b, c = (rng.normal(size=s).astype(np.float32) for s in ((2, 3), (3, 4), (4, 2)))
    grads, found = float64_locals(ast_ad.grad(einsum_scalar, argnums=(0, 1, 2)), a, b, c)
    assert not found, found
    assert all(g.dtype == np.float32 for g in grads)
    np.testing.assert_allclose(grads[0], 2.0 * (b @ c).T, rtol=1e-5)


def maximum_times_x(x, y):
    return np.sum(np.maximum(x, y) * x)


def test_second_order_through_the_tie_weights():
    x = np.array([-1.0, 0.3, 2.0])
    y = np.array([0.5, -0.2, 1.0])
    # x_i < y_i: y_i * x_i (second derivative 0); x_i > y_i: x_i ** 2 (2)
    np.testing.assert_allclose(ast_ad.hessian(maximum_times_x)(x, y), np.diag([0.0, 2.0, 2.0]))


# -- np.linalg.cholesky: a Gaussian-process negative log marginal likelihood ------------------


def gp_nll(log_ell, log_sf, log_sn, X, y):
    sq = np.sum(X ** 2, axis=1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * X @ X.T
    K = np.exp(2.0 * log_sf) * np.exp(-0.5 * d2 / np.exp(2.0 * log_ell))
    K = K + np.exp(2.0 * log_sn) * np.eye(X.shape[0])
    L = np.linalg.cholesky(K)
    alpha = np.linalg.solve(K, y)
    return 0.5 * y @ alpha + np.sum(np.log(np.diag(L)))


def gp_nll_through_factor(log_ell, log_sf, log_sn, X, y):
    """alpha from the factor: two solves with L, as a careful GP code does."""
    d2 = np.sum((X[:, None, :] - X[None, :, :]) ** 2, axis=-1)
    K = np.exp(2.0 * log_sf) * np.exp(-0.5 * d2 / np.exp(2.0 * log_ell))
    L = np.linalg.cholesky(K + np.exp(2.0 * log_sn) * np.eye(len(y)))
    alpha = np.linalg.solve(L.T, np.linalg.solve(L, y))
    return 0.5 * y @ alpha + np.sum(np.log(np.diag(L))) + 0.5 * len(y) * np.log(2 * np.pi)


def gp_data(n):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(n, 3))
    y = np.sin(X[:, 0]) + 0.1 * rng.normal(size=n)
    return (np.log(0.8), np.log(1.2), np.log(0.3), X, y)


@pytest.mark.parametrize("fn", [gp_nll, gp_nll_through_factor])
def test_gaussian_process_gradient(fn):
    args = gp_data(200 if fn is gp_nll else 60)
    # was: NoRuleError, no adjoint rule for numpy.linalg.cholesky
    check_gradient(fn, *args, argnums=(0, 1, 2), rtol=1e-5, atol=1e-6)
    check_jvp(fn, *args, argnums=(0, 1, 2), rtol=1e-5, atol=1e-6)


def test_gaussian_process_hessian():
    args = gp_data(30)
    hessian = np.array(ast_ad.hessian(gp_nll, argnums=(0, 1, 2))(*args))
    np.testing.assert_allclose(hessian, fd_hessian(gp_nll, args, (0, 1, 2)), rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_allclose(hessian, hessian.T, rtol=1e-8, atol=1e-8)


def cholesky_sum(a, w):
    return np.sum(np.linalg.cholesky(a) * w)


def test_cholesky_gradient_lives_on_the_triangle_numpy_reads():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(4, 4))
    a = x @ x.T + 4 * np.eye(4)
    g = ast_ad.grad(cholesky_sum)(a, rng.normal(size=(4, 4)))
    assert np.all(np.triu(g, 1) == 0.0)  # NumPy never reads the strict upper triangle
    assert np.all(g[np.tril_indices(4, -1)] != 0.0)


def cholesky_upper_keyword(a, w):
    return np.sum(np.linalg.cholesky(a, upper=w) * 2.0)


def test_cholesky_upper_must_be_a_literal():
    a = np.eye(3) * 2.0
    with pytest.raises(NoRuleError, match="cholesky is called with arguments its adjoint rule"):
        ast_ad.grad(cholesky_upper_keyword)(a, True)


# -- stop_gradient -------------------------------------------------------------------------


def stopped_product(x):
    return np.sum(ast_ad.stop_gradient(x) * x)


def stopped_scalar(x):
    return ast_ad.stop_gradient(x * x) * x + x


def log_softmax_loss(X, labels):
    n = X.shape[0]
    m = ast_ad.stop_gradient(np.max(X, axis=1, keepdims=True))
    Z = X - m
    logp = Z - np.log(np.sum(np.exp(Z), axis=1, keepdims=True))
    return -np.mean(logp[np.arange(n), labels])


def log_softmax_loss_plain(X, labels):
    Z = X - np.max(X, axis=1, keepdims=True)
    logp = Z - np.log(np.sum(np.exp(Z), axis=1, keepdims=True))
    return -np.mean(logp[np.arange(X.shape[0]), labels])


def test_stop_gradient_is_identity_with_zero_derivative():
    x = np.array([1.0, -2.0, 3.0])
    assert np.array_equal(ast_ad.stop_gradient(x), x)
    assert ast_ad.stop_gradient(x) is not x  # a copy: writing into it leaves x alone
    assert ast_ad.stop_gradient(2.5) == 2.5
    np.testing.assert_allclose(ast_ad.grad(stopped_product)(x), x)
    _, tangent = ast_ad.jvp(stopped_product, (x,), (np.ones(3),))
    np.testing.assert_allclose(tangent, np.sum(x))
    # f(x) = c * x + x with c = x*x held constant: f' = x*x + 1, f'' = 0
    assert ast_ad.grad(stopped_scalar)(1.5) == pytest.approx(1.5 ** 2 + 1.0)
    assert ast_ad.grad(ast_ad.grad(stopped_scalar))(1.5) == pytest.approx(0.0)
    # the gradient is stop_gradient(x): its own derivative is zero
    np.testing.assert_allclose(ast_ad.hessian(stopped_product)(x), np.zeros((3, 3)))
    assert "constant for differentiation" in ast_ad.stop_gradient.__doc__


def test_log_softmax_with_stop_gradient_skips_the_max_adjoint():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(40, 7))
    labels = rng.integers(0, 7, size=40)
    check_gradient(log_softmax_loss, X, labels, argnums=(0,))
    check_jvp(log_softmax_loss, X, labels, argnums=(0,))
    np.testing.assert_allclose(ast_ad.grad(log_softmax_loss)(X, labels),
                               ast_ad.grad(log_softmax_loss_plain)(X, labels), atol=1e-15)
    source = ast_ad.source(ast_ad.grad(log_softmax_loss), X, labels)
    assert "extremum_weights" not in source
    # (without stop_gradient the shift's adjoint is proven zero: tests/test_cancel.py)
    assert "extremum_weights" not in ast_ad.source(ast_ad.grad(log_softmax_loss_plain), X, labels)
    small = (X[:5, :3], labels[:5] % 3)
    hessian = ast_ad.hessian(log_softmax_loss)(*small)
    np.testing.assert_allclose(hessian, ast_ad.hessian(log_softmax_loss_plain)(*small),
                               atol=1e-12)


# -- an index with np.arange: each position once, so no np.add.at ------------------------------


def test_arange_index_adds_without_add_at():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(30, 5))
    labels = rng.integers(0, 5, size=30)
    source = ast_ad.source(ast_ad.grad(log_softmax_loss), X, labels)
    assert "np.add.at" not in source  # was: np.add.at(blogp, (t6, labels), ...)
    assert "] += " in source
    check_gradient(log_softmax_loss_plain, X, labels, argnums=(0,))


def pick_repeated_rows(x, y):
    return np.sum(x[[0, 0], y] * np.array([1.0, 2.0]))


def pick_one_row(x, y):
    return np.sum(x[np.arange(1), y] * np.arange(1.0, 4.0))


def pick_given_rows(x, rows, y):
    return np.sum(x[rows, y] ** 2)


def pick_arange_columns(x, y):
    n = len(y)
    return np.sum(x[y, :, np.arange(n)] * 2.0) + np.sum(x[np.arange(0, 2 * n, 2) // 2, 0, y])


def write_arange(x, v, y):
    z = x * 1.0
    z[np.arange(x.shape[0]), y] = v
    return np.sum(z * z)


def test_repeated_indices_still_accumulate():
    x = np.arange(12.0).reshape(3, 4)
    y = np.array([2, 2])
    g = ast_ad.grad(pick_repeated_rows)(x, y)
    assert g[0, 2] == 3.0 and np.sum(g) == 3.0
    assert "np.add.at" in ast_ad.source(ast_ad.grad(pick_repeated_rows), x, y)
    # np.arange(1) broadcast against three labels: row 0, column 1 is picked twice
    y = np.array([1, 1, 3])
    g = ast_ad.grad(pick_one_row)(x, y)
    assert g[0, 1] == 3.0 and g[0, 3] == 3.0 and np.sum(g) == 6.0
    assert "np.add.at" in ast_ad.source(ast_ad.grad(pick_one_row), x, y)
    # rows given as an argument may repeat
    rows, y = np.array([1, 1, 0]), np.array([2, 2, 3])
    check_gradient(pick_given_rows, x, rows, y, argnums=(0,))
    assert "np.add.at" in ast_ad.source(ast_ad.grad(pick_given_rows), x, rows, y)


def test_arange_in_any_position_and_item_writes():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(4, 2, 3))
    y = np.array([2, 2, 0])
    check_gradient(pick_arange_columns, x, y, argnums=(0,))
    check_jvp(pick_arange_columns, x, y, argnums=(0,))
    source = ast_ad.source(ast_ad.grad(pick_arange_columns), x, y)
    # x[y, :, arange(3)]: distinct; x[arange(0, 6, 2) // 2, 0, y] is not an arange
    assert source.count("np.add.at") == 1, source
    x2 = rng.normal(size=(3, 4))
    check_gradient(write_arange, x2, rng.normal(size=3), np.array([1, 1, 2]), argnums=(0, 1))
    assert "written_adjoint" not in ast_ad.source(ast_ad.grad(write_arange, argnums=(0, 1)), x2,
                                                  rng.normal(size=3), np.array([1, 1, 2]))


# -- SciPy ---------------------------------------------------------------------------------


def scipy_log_softmax_loss(X, labels):
    logp = scipy.special.log_softmax(X, axis=1)
    return -np.mean(logp[np.arange(X.shape[0]), labels])


def scipy_logsumexp_signed(x, w):
    return scipy.special.logsumexp(x, b=w, return_sign=True)[0]


@needs_scipy
def test_scipy_log_softmax_cross_entropy():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(20, 6))
    labels = rng.integers(0, 6, size=20)
    check_gradient(scipy_log_softmax_loss, X, labels, argnums=(0,))
    check_jvp(scipy_log_softmax_loss, X, labels, argnums=(0,))
    np.testing.assert_allclose(ast_ad.grad(scipy_log_softmax_loss)(X, labels),
                               ast_ad.grad(log_softmax_loss_plain)(X, labels), atol=1e-15)
    source = ast_ad.source(ast_ad.grad(scipy_log_softmax_loss), X, labels)
    assert "np.add.at" not in source and "extremum_weights" not in source


@needs_scipy
def test_scipy_logsumexp_return_sign_is_rejected():  # (b= weights are supported: issue 15)
    with pytest.raises(NoRuleError, match="logsumexp is called with arguments"):
        ast_ad.grad(scipy_logsumexp_signed)(np.ones(3), np.ones(3))
