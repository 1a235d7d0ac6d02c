"""Gradients over Dask arrays: lazy, chunked, one graph for a value and its gradient.

Arrays here are built with `da.map_blocks` around a counter, so a test sees whether any
chunk was computed before `dask.compute` (docs/arrays.md says what is expected to work).
"""

from __future__ import annotations

import importlib
import re
import threading
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from numeric import numeric_gradient

import ast_ad
from ast_ad import ADError, NonDifferentiableError, NoRuleError

dask = pytest.importorskip("dask", reason="dask is not installed (pip install 'ast-ad[dask]')")
import dask.array as da  # noqa: E402


class Counted:
    """Makes Dask arrays whose chunks count how often they are computed."""

    def __init__(self):
        self.computed = 0
        self._lock = threading.Lock()

    def _count(self, block):
        with self._lock:
            self.computed += 1
        return block

    def __call__(self, a, chunks=None):
        a = np.asarray(a)
        if chunks is None:  # about two chunks per axis
            chunks = tuple(max(1, (n + 1) // 2) for n in a.shape)
        base = da.from_array(a, chunks=chunks)
        return da.map_blocks(self._count, base, dtype=a.dtype,
                             meta=np.empty((0,) * a.ndim, dtype=a.dtype))


@pytest.fixture
def lazy():
    return Counted()


def logistic(w, X, y):
    Xw = X @ w
    return np.sum(np.logaddexp(0.0, Xw) - y * Xw)


def _logistic_data(rows=60, columns=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, columns))
    y = (rng.random(rows) < 0.5).astype(float)
    return rng.normal(size=columns), X, y


# -- the contract: lazy, chunked, one graph ---------------------------------------------


def test_gradient_is_lazy_and_equals_numpys(lazy):
    w, X, y = _logistic_data()
    Xd, yd = lazy(X, chunks=(15, 4)), lazy(y, chunks=15)
    g = ast_ad.grad(logistic)(w, Xd, yd)
    assert isinstance(g, da.Array) and lazy.computed == 0
    assert g.shape == w.shape and g.dtype == w.dtype
    (computed,) = dask.compute(g)
    np.testing.assert_allclose(computed, ast_ad.grad(logistic)(w, X, y), rtol=1e-12)
    np.testing.assert_allclose(computed, numeric_gradient(logistic, (w, X, y), 0), rtol=1e-6)


def test_value_and_grad_are_one_graph(lazy):
    """Both come back lazy, and one dask.compute computes every chunk once, not twice."""
    w, X, y = _logistic_data()
    Xd, yd = lazy(X, chunks=(15, 4)), lazy(y, chunks=15)
    value, grad = ast_ad.value_and_grad(logistic)(w, Xd, yd)
    assert isinstance(value, da.Array) and isinstance(grad, da.Array)
    assert lazy.computed == 0
    value, grad = dask.compute(value, grad)
    assert lazy.computed == 4 + 4  # X's chunks and y's, each once
    expected = ast_ad.value_and_grad(logistic)(w, X, y)
    np.testing.assert_allclose(value, expected[0], rtol=1e-12)
    np.testing.assert_allclose(grad, expected[1], rtol=1e-12)


def test_gradient_of_a_dask_argument_keeps_its_chunks_and_dtype():
    def f(X, w):
        return np.mean(np.tanh(X * w) ** 2) + np.sum(X[1:3, :2] ** 3)

    rng = np.random.default_rng(1)
    for dtype in (np.float64, np.float32):
        lazy = Counted()
        X, w = rng.normal(size=(8, 6)).astype(dtype), rng.normal(size=6).astype(dtype)
        Xd = lazy(X, chunks=(3, 4))
        g = ast_ad.grad(f)(Xd, w)
        assert isinstance(g, da.Array) and g.chunks == Xd.chunks and g.dtype == dtype
        assert lazy.computed == 0
        np.testing.assert_allclose(dask.compute(g)[0], ast_ad.grad(f)(X, w),
                                   rtol=1e-5 if dtype == np.float32 else 1e-12)
    np.testing.assert_allclose(dask.compute(ast_ad.grad(f)(lazy(X.astype(float)), w))[0],
                               numeric_gradient(f, (X.astype(float), w.astype(float)), 0),
                               rtol=1e-5, atol=1e-7)


def test_the_same_function_keeps_serving_numpy(lazy):
    """Code is generated per argument class: NumPy calls stay NumPy."""
    w, X, y = _logistic_data()
    g = ast_ad.grad(logistic)
    first = g(w, X, y)
    lazy_result = g(w, lazy(X), lazy(y))
    again = g(w, X, y)
    assert type(first) is np.ndarray and type(again) is np.ndarray
    assert isinstance(lazy_result, da.Array)
    np.testing.assert_allclose(dask.compute(lazy_result)[0], again, rtol=1e-12)


def test_forward_mode_vjp_and_hessian_stay_lazy(lazy):
    w, X, y = _logistic_data(rows=30, columns=3)
    Xd, yd = lazy(X, chunks=(10, 3)), lazy(y, chunks=10)
    dw = np.array([0.3, -1.0, 0.5])
    dX = np.random.default_rng(2).normal(size=X.shape)
    value, tangent = ast_ad.jvp(logistic, (w, Xd, yd), (dw, lazy(dX), np.zeros(30)))
    _, vjp_fn = ast_ad.vjp(logistic, w, Xd, yd)
    cotangents = vjp_fn(1.0)
    hessian = ast_ad.hessian(logistic)(w, Xd, yd)
    by_rows = ast_ad.jacrev(ast_ad.grad(logistic))(w, Xd, yd)
    either = ast_ad.jacobian(ast_ad.grad(logistic))(w, Xd, yd)
    assert all(isinstance(a, da.Array) for a in (value, tangent, hessian, by_rows, either,
                                                 *cotangents))
    assert lazy.computed == 0
    got = dask.compute(value, tangent, cotangents, hessian, by_rows, either)
    expected_jvp = ast_ad.jvp(logistic, (w, X, y), (dw, dX, np.zeros(30)))
    np.testing.assert_allclose(got[0], expected_jvp[0], rtol=1e-12)
    np.testing.assert_allclose(got[1], expected_jvp[1], rtol=1e-12)
    for a, b in zip(got[2], ast_ad.vjp(logistic, w, X, y)[1](1.0)):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    for h in got[3:]:
        np.testing.assert_allclose(h, ast_ad.hessian(logistic)(w, X, y), rtol=1e-12)
    eps = 1e-6  # the jvp against a central difference
    moved = [logistic(w + s * eps * dw, X + s * eps * dX, y) for s in (1, -1)]
    np.testing.assert_allclose(got[1], (moved[0] - moved[1]) / (2 * eps), rtol=1e-6)


SCALE = np.array([1.0, 2.0, 3.0])


def test_globals_and_closures_may_be_dask_arrays(lazy):
    offsets = lazy(np.linspace(0.0, 1.0, 12).reshape(4, 3))

    def f(w):
        return np.sum(np.sin(offsets * w) * SCALE)

    w = np.array([0.5, -0.2, 1.5])
    g = ast_ad.grad(f)(w)
    assert isinstance(g, da.Array) and lazy.computed == 0
    plain = np.linspace(0.0, 1.0, 12).reshape(4, 3)
    np.testing.assert_allclose(dask.compute(g)[0], np.sum(np.cos(plain * w) * plain, axis=0)
                               * SCALE, rtol=1e-12)


# -- Python control flow on values: computed once, as by the function itself ------------


def branchy(x):
    if np.sum(x) > 0:
        y = x * 0.5
    else:
        y = -x
    return np.sum(y ** 2)


def test_a_branch_on_a_value_is_computed_once_as_in_the_primal(lazy):
    x = np.array([0.3, -0.1, 0.4, 0.2])
    primal = Counted()
    branchy(primal(x))
    xd = lazy(x)
    g = ast_ad.grad(branchy)(xd)
    assert lazy.computed == primal.computed == 2  # the test's np.sum, once (two chunks)
    np.testing.assert_allclose(dask.compute(g)[0], 0.5 * x, rtol=1e-12)
    assert "t2 = bool(np.sum(x) > 0)" in ast_ad.source(ast_ad.grad(branchy), xd)
    assert "bool(" not in ast_ad.source(ast_ad.grad(branchy), x)  # NumPy code is unchanged


# -- what is rejected ---------------------------------------------------------------------


def _line_of(fn, text):
    import inspect

    lines, first = inspect.getsourcelines(fn)
    return first + next(i for i, line in enumerate(lines) if text in line)


def gather(x, idx):
    return np.sum(x[idx] ** 2)


def newaxis(x):
    return np.sum(x[None, :] ** 2)


def factor(a):
    return np.sum(np.linalg.cholesky(a))


@pytest.mark.parametrize("fn, args, fragment, where", [
    (gather, (np.arange(6.0), np.array([0, 2, 2])), "an integer array or a mask", "x[idx]"),
    (newaxis, (np.arange(6.0),), "None (np.newaxis)", "x[None, :]"),
    (factor, (np.eye(3) * 2.0,), "returns the upper triangular factor",
     "np.linalg.cholesky(a)"),
], ids=["integer index", "newaxis", "cholesky"])
def test_what_dask_cannot_do_lazily_is_a_no_rule_error(lazy, fn, args, fragment, where):
    lazy_args = (lazy(args[0], chunks=args[0].shape),) + args[1:]
    with pytest.raises(NoRuleError, match=re.escape(fragment)) as info:
        ast_ad.grad(fn)(*lazy_args)
    assert f":{_line_of(fn, where)}:" in str(info.value)
    ast_ad.grad(fn)(*args)  # NumPy arrays: fine
    assert lazy.computed == 0


def test_unknown_chunk_sizes_are_rejected(lazy):
    x = lazy(np.arange(6.0))
    masked = x[x > 2]  # Dask does not know how many
    with pytest.raises(ADError, match=r"unknown shape \(nan,\).*compute_chunk_sizes"):
        ast_ad.grad(lambda_free_sum)(masked)
    assert lazy.computed == 0


def lambda_free_sum(x):
    return np.sum(x ** 2)


def test_integer_and_complex_dask_arrays(lazy):
    with pytest.raises(NonDifferentiableError, match="a Array of dtype int64"):
        ast_ad.grad(lambda_free_sum)(lazy(np.arange(4)))
    with pytest.raises(NonDifferentiableError, match="is complex"):
        ast_ad.grad(lambda_free_sum)(lazy(np.ones(4) + 1j))
    ints = lazy(np.arange(4))  # not differentiated: passes through

    def f(x, k):
        return np.sum(x * k)

    g = ast_ad.grad(f)(np.ones(4), ints)
    np.testing.assert_allclose(dask.compute(g)[0], np.arange(4.0))


# -- every NumPy rule, with Dask arguments ------------------------------------------------

HERE = Path(__file__).resolve().parent
ROWS = [(f"{module.removeprefix('numpy_cases_')}:{case.id}", case)
        for module in sorted(p.stem for p in HERE.glob("numpy_cases_*.py"))
        for case in importlib.import_module(module).CASES]

# Rows whose function Dask itself cannot run lazily (chunked in halves, nor in one chunk):
# it has no such function (np.kron, np.linalg.det...), lacks a parameter (order=, mode=),
# computes (SciPy's functions, Python's max of arrays), or needs other chunks. ast-ad
# differentiates what the function computes; these rows check that it still cannot.
DASK_CANNOT = {
    'elementwise:builtin_max_arrays', 'elementwise:clip_one_side', 'indexing:index_two_arrays',
    'indexing:take_along_axis_flat', 'indexing:take_along_axis_forms', 'indexing:take_axis',
    'indexing:take_flat', 'indexing:take_modes', 'indexing:take_scalar_index',
    'linalg:cholesky_lower[batched]', 'linalg:cholesky_of_gram', 'linalg:cholesky_upper',
    'linalg:cholesky_upper[batched]', 'linalg:convolve_modes',
    'linalg:convolve_modes[shorter first]', 'linalg:det_2d', 'linalg:det_batched',
    'linalg:diagonal_forms', 'linalg:dot_forms', 'linalg:inner_nd', 'linalg:inner_scalar',
    'linalg:inner_vectors', 'linalg:inv_batched', 'linalg:kron_2d', 'linalg:kron_mixed',
    'linalg:slogdet_fields', 'linalg:slogdet_negative', 'linalg:slogdet_unpacked',
    'linalg:solve_batched', 'linalg:solve_batched_vector', 'linalg:solve_broadcast',
    'reductions:average_weights[axis=(1, 0),keepdims=True,weights=(4, 3)]', 'reductions:methods',
    'reductions:norm(2, 3, 4)[ord=-2,axis=(1, 2),keepdims=False]',
    'reductions:norm(2, 3, 4)[ord=-2,axis=(2, 0),keepdims=True]',
    'reductions:norm(2, 3, 4)[ord=2,axis=(1, 2),keepdims=False]',
    'reductions:norm(2, 3, 4)[ord=2,axis=(2, 0),keepdims=True]',
    'reductions:norm(2, 3, 4)[ord=None,axis=None,keepdims=False]',
    'reductions:norm(2, 3, 4)[ord=None,axis=None,keepdims=True]',
    'reductions:norm(2, 3, 4)[ord=nuc,axis=(1, 2),keepdims=False]',
    'reductions:norm(2, 3, 4)[ord=nuc,axis=(2, 0),keepdims=True]', 'scipy:cho_factor_whole',
    'scipy:cho_solve_lower', 'scipy:cho_solve_upper', 'scipy:log_softmax_forms',
    'scipy:logsumexp_forms', 'scipy:softmax_forms', 'scipy:solve_triangular_forms',
    'shape:array_split_uneven', 'shape:ravel_forms', 'shape:repeat_counts', 'shape:repeat_forms',
    'shape:reshape_forms', 'shape:reshape_fortran', 'shape:split_indices', 'shape:split_unpacked',
    'issue15:cross_forms', 'issue15:cross_broadcast', 'issue15:eigh_forms',
    'issue15:eigh_batched', 'issue15:svd_forms', 'issue15:pinv_forms', 'issue15:split_forms',
    'issue15:stack_forms', 'issue15:partition_forms', 'issue15:real_forms',
    'issue15:clip_keywords', 'issue15:gamma_forms', 'issue15:logsumexp_weights',
    'issue15:convolve_forms', 'issue15:norm_forms', 'issue15:t_forms', 'issue15:densities',
    'issue15:cdfs', 'issue15:mvn_forms',
}
# Rows ast-ad rejects for Dask arrays (NoRuleError, at compile time): writes into the
# gradient Dask cannot make lazily, and Dask's Cholesky (the upper factor).
REJECTED = {
    'indexing:index_ellipsis_newaxis': 'None (np.newaxis)',
    'indexing:index_int_array': 'an integer array',
    'indexing:index_int_array_axis': 'an integer array',
    'indexing:index_int_list': 'an integer array',
    'indexing:index_mask': 'or a mask',
    'indexing:index_mask_rows': 'or a mask',
    'linalg:cholesky_lower': 'upper triangular factor',
    # derivatives whose helpers compute with NumPy (not written for Dask arrays)
    'issue15:svd_wide': 'not written for Dask arrays',
    'issue15:svd_square': 'not written for Dask arrays',
    'issue15:qr_forms': 'not written for Dask arrays',
    'issue15:pad_modes': 'not written for Dask arrays',
    'issue15:diff_forms': 'not written for Dask arrays',
    'issue15:gradient_forms': 'not written for Dask arrays',
}


def _lazy_call(fn, args):
    """fn(*args) with dask's 'not implemented by Dask' fallback (which computes) as an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        return fn(*args)


def _primal_runs_lazily(case, args, chunked) -> bool:
    counter = Counted()
    lazy_args = tuple(counter(a, chunks=a.shape if not chunked else None)
                      if isinstance(a, np.ndarray) and a.ndim else a for a in args)
    try:
        value = _lazy_call(case.fn, lazy_args)
        return counter.computed == 0 and np.allclose(dask.compute(value)[0], case.fn(*args))
    except Exception:
        return False


@pytest.mark.parametrize("row, case", ROWS, ids=[row for row, _ in ROWS])
def test_rule_rows_with_dask_arguments(row, case):
    """value_and_grad and jvp with Dask arrays: lazy, and equal to NumPy's (which
    test_numpy_rules checks against central differences)."""
    rng = np.random.default_rng(zlib.crc32(case.id.encode()))
    args = case.args(rng)
    chunked = _primal_runs_lazily(case, args, True)
    if row in DASK_CANNOT:
        assert not chunked and not _primal_runs_lazily(case, args, False), \
            f"Dask now runs {row} lazily: take it out of DASK_CANNOT"
        return
    counter = Counted()
    if row in REJECTED:
        lazy_args = tuple(counter(a, chunks=a.shape) if isinstance(a, np.ndarray) and a.ndim
                          else a for a in args)
        with pytest.raises(NoRuleError, match=re.escape(REJECTED[row])):
            ast_ad.value_and_grad(case.fn, argnums=case.argnums)(*lazy_args)
        assert counter.computed == 0
        return
    assert chunked or _primal_runs_lazily(case, args, False), f"Dask cannot run {row}"
    lazy_args = tuple(counter(a, chunks=None if chunked else a.shape)
                      if isinstance(a, np.ndarray) and a.ndim else a for a in args)
    value, grads = _lazy_call(ast_ad.value_and_grad(case.fn, argnums=case.argnums), lazy_args)
    for i, g in zip(case.argnums, grads):
        if isinstance(args[i], np.ndarray) and args[i].ndim:
            assert isinstance(g, da.Array), (i, type(g))
    tangents = tuple(rng.normal(size=np.shape(a)) if i in case.argnums else np.zeros(np.shape(a))
                     for i, a in enumerate(args))
    tangents = tuple(float(t) if np.ndim(a) == 0 else counter(t, chunks=a.chunks)
                     if isinstance(a, da.Array) else t for a, t in zip(lazy_args, tangents))
    jvp_value, tangent = _lazy_call(ast_ad.jvp, (case.fn, lazy_args, tangents))
    assert counter.computed == 0, "a chunk was computed before dask.compute"
    value, grads, jvp_value, tangent = dask.compute(value, grads, jvp_value, tangent)
    expected_value, expected = ast_ad.value_and_grad(case.fn, argnums=case.argnums)(*args)
    np.testing.assert_allclose(value, expected_value, rtol=1e-10, atol=1e-10)
    for g, e in zip(grads, expected):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-10)
    plain = tuple(np.asarray(dask.compute(t)[0]) if isinstance(t, da.Array) else t
                  for t in tangents)
    np.testing.assert_allclose(tangent, ast_ad.jvp(case.fn, args, plain)[1], rtol=1e-10,
                               atol=1e-10)


def test_most_rule_rows_run_on_dask():
    rows = {row for row, _ in ROWS}
    scipy_rows = {r for r in DASK_CANNOT if r.startswith("scipy:")}  # with SciPy only
    assert DASK_CANNOT - scipy_rows <= rows and set(REJECTED) <= rows
    assert len([r for r, _ in ROWS if r not in DASK_CANNOT and r not in REJECTED]) >= 300


# -- the numbers behind tools/bench.py --dask ---------------------------------------------


def test_bench_row_checks_against_the_hand_written_gradient(monkeypatch):
    monkeypatch.syspath_prepend(str(HERE.parent / "tools"))
    import bench_dask

    assert bench_dask.check() < 1e-8
    w, X, y = bench_dask.dataset(40, 3, 10)
    code = ast_ad.source(ast_ad.grad(bench_dask.logistic_loss), w, X, y)
    # an array of ones (the adjoint of np.sum) is the number 1.0 in code for Dask arrays
    assert "full_like" not in code and "bXw = 1.0 - y - t2 / (1.0 + t2)" in code, code
    assert "full_like" in ast_ad.source(ast_ad.grad(bench_dask.logistic_loss),
                                        w, *dask.compute(X, y))  # NumPy code unchanged
    assert isinstance(X, da.Array) and X.numblocks == (4, 1)
    numeric = numeric_gradient(bench_dask.logistic_loss, (w, *dask.compute(X, y)), 0)
    np.testing.assert_allclose(dask.compute(bench_dask.logistic_gradient_hand(w, X, y))[0],
                               numeric, rtol=1e-6)


def test_counted_arrays_do_count():
    """The counter the tests rely on sees computations."""
    counter = Counted()
    x = counter(np.arange(8.0), chunks=2)
    assert counter.computed == 0
    dask.compute(x.sum())
    assert counter.computed == 4
