"""Issue 15, the rules users reach for: what the rule rows (numpy_cases_issue15.py) do not show.

Decompositions checked against analytic gradients and forward against reverse
(<u, J v> = <J^T u, v>, exact up to rounding); arguments the rules do not differentiate
(np.pad's other modes, a Bessel function's order, a non-square full SVD, a wide QR) are
rejected with an ADError, at compile time where the call says so, else when the code runs."""

import importlib.util
import math

import numpy as np
import pytest
from numeric import check_gradient, check_jvp

import ast_ad
from ast_ad import NonDifferentiableError, NoRuleError

HAVE_SCIPY = importlib.util.find_spec("scipy") is not None
if HAVE_SCIPY:
    import scipy.special
    import scipy.stats
needs_scipy = pytest.mark.skipif(not HAVE_SCIPY, reason="SciPy is not installed")
RNG = np.random.default_rng(15)


def symmetric(n):
    x = RNG.normal(size=(n, n))
    return x + x.T


# -- eigh: analytic gradients ----------------------------------------------------------------


def eigenvalue_sum(a):
    return np.sum(np.linalg.eigh(a)[0])


def largest_eigenvalue(a):
    w, v = np.linalg.eigh(a)
    return w[-1]


def largest_eigenvalue_upper(a):
    w, v = np.linalg.eigh(a, "U")
    return w[-1]


def test_eigh_sum_of_eigenvalues_is_the_trace():
    np.testing.assert_allclose(ast_ad.grad(eigenvalue_sum)(symmetric(4)), np.eye(4), atol=1e-12)


def test_eigh_largest_eigenvalue_reads_one_triangle():
    """d(lambda_max) = v^T dA v for a symmetric dA; NumPy reads the lower triangle (UPLO='U':
    the upper), so an off-diagonal entry there counts twice and the other triangle not at all."""
    a = symmetric(4)
    v = np.linalg.eigh(a)[1][:, -1]
    outer = np.outer(v, v)
    lower = np.tril(2 * outer, -1) + np.diag(np.diag(outer))
    np.testing.assert_allclose(ast_ad.grad(largest_eigenvalue)(a), lower, atol=1e-10)
    np.testing.assert_allclose(ast_ad.grad(largest_eigenvalue_upper)(a), lower.T, atol=1e-10)
    check_gradient(largest_eigenvalue, a)  # every entry, the unread triangle too


# -- forward against reverse ------------------------------------------------------------------


def decompositions(a, s):
    u, sv, vh = np.linalg.svd(a, full_matrices=False)
    q, r = np.linalg.qr(a)
    w, v = np.linalg.eigh(s)
    return (np.abs(u) * sv[None, :], vh * vh, q * r[0], np.linalg.pinv(a), w, v * v,
            np.cross(a[:2], s[:2, :3]))


def test_forward_agrees_with_reverse_exactly():
    a, s = RNG.normal(size=(5, 3)), symmetric(4)
    ta, ts = RNG.normal(size=(5, 3)), RNG.normal(size=(4, 4))
    out, tangent = ast_ad.jvp(decompositions, (a, s), (ta, ts))
    us = [RNG.normal(size=np.shape(o)) for o in out]
    _, vjp_fn = ast_ad.vjp(decompositions, a, s)
    ga, gs = vjp_fn(tuple(us))
    left = sum(float(np.sum(u * t)) for u, t in zip(us, tangent))
    right = float(np.sum(ga * ta) + np.sum(gs * ts))
    assert abs(left - right) < 1e-9 * max(1.0, abs(left))


def batched_decompositions(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    q, r = np.linalg.qr(np.swapaxes(a, -1, -2) @ a)
    return np.sum(s ** 2) + np.sum(np.abs(u)) + np.sum(q * q * r) + np.sum(np.linalg.pinv(a))


def test_batched_decompositions():
    a = RNG.normal(size=(2, 4, 3))
    check_gradient(batched_decompositions, a, rtol=1e-4, atol=1e-6)
    check_jvp(batched_decompositions, a, rtol=1e-4, atol=1e-6)


# -- what the rules reject ------------------------------------------------------------------


def pad_maximum(x):
    return np.sum(np.pad(x, 1, "maximum"))


def pad_with(x, mode):
    return np.sum(np.pad(x, 1, mode) ** 2)


def svd_full(a):
    return np.sum(np.linalg.svd(a)[0])


def qr_wide(a):
    return np.sum(np.linalg.qr(a)[1])


def gradient_of_vector(x):
    return np.sum(np.gradient(x) ** 2)


def _line(fn, offset):
    return fn.__code__.co_firstlineno + offset


@pytest.mark.parametrize("fn, args, what", [
    (pad_maximum, (np.ones((2, 3)),), "numpy.pad is called with arguments"),
    (svd_full, (np.ones((4, 3)),), "numpy.linalg.svd is called with arguments"),
    (qr_wide, (np.ones((2, 3)),), "numpy.linalg.qr is called with arguments"),
    (gradient_of_vector, (np.ones(5),), "numpy.gradient is called with arguments"),
])
def test_unsupported_forms_are_rejected_at_the_call(fn, args, what):
    with pytest.raises(NoRuleError, match=what) as info:
        ast_ad.grad(fn)(*args)
    assert info.value.location.lineno == _line(fn, 1)


def test_pad_mode_known_when_running_is_checked_then():
    x = RNG.normal(size=(2, 3))
    check_gradient(pad_with, x, "reflect", argnums=(0,))
    check_jvp(pad_with, x, "wrap", argnums=(0,))
    with pytest.raises(NonDifferentiableError, match="mode='mean'"):
        ast_ad.grad(pad_with)(x, "mean")
    with pytest.raises(NonDifferentiableError, match="mode='median'"):
        ast_ad.jvp(pad_with, (x, "median"), (x, 0.0))


def bessel(v, x):
    return scipy.special.iv(v, x) + scipy.special.jv(v, x)


@needs_scipy
def test_bessel_order_carrying_a_derivative_is_rejected():
    assert math.isfinite(ast_ad.grad(bessel, argnums=1)(1.5, 0.7))
    with pytest.raises(NonDifferentiableError, match="has no derivative rule with respect to "
                                                     "its argument v"):
        ast_ad.grad(bessel, argnums=(0, 1))(1.5, 0.7)
    # forward mode: a zero tangent along the order is fine, a nonzero one is not
    _, t = ast_ad.jvp(bessel, (1.5, 0.7), (0.0, 1.0))
    assert abs(t - ast_ad.grad(bessel, argnums=1)(1.5, 0.7)) < 1e-12
    with pytest.raises(NonDifferentiableError, match="argument v"):
        ast_ad.jvp(bessel, (1.5, 0.7), (1.0, 1.0))


# -- workloads: a Student-t likelihood, a convolution ------------------------------------------


def student_t_nll(loc, log_scale, data):
    return -np.sum(scipy.stats.t.logpdf(data, 4.0, loc, np.exp(log_scale)))


@needs_scipy
def test_student_t_likelihood():
    data = RNG.standard_t(4.0, size=50) * 2.0 + 1.0
    check_gradient(student_t_nll, 0.5, 0.3, data, argnums=(0, 1))
    check_jvp(student_t_nll, 0.5, 0.3, data, argnums=(0, 1))
    loc = 0.5
    for _ in range(200):  # the gradient is good enough to fit the location
        loc -= 0.05 * ast_ad.grad(student_t_nll)(loc, math.log(2.0), data)
    assert abs(loc - np.median(data)) < 0.5


def test_math_special_functions_against_analytic():
    g = ast_ad.grad(lambda_free_gamma)(2.5)
    assert abs(g - math.gamma(2.5) * (1 / 1.5 + 1 / 0.5 + digamma_of_half())) < 1e-9


def lambda_free_gamma(x):
    return math.gamma(x)


def digamma_of_half():
    return -math.log(4.0) - 0.5772156649015329  # psi(1/2)


# -- tuple(...) of a list the code writes into afterwards: a copy, in both modes --------------


def tuple_then_write(x):
    items = [x, 2.0 * x]
    t = tuple(items)
    items[0] = x * 5.0
    return t[0] * items[0] + t[1]


def tuple_then_append(x):
    items = []
    for i in range(3):
        items.append(x * i)
    t = tuple(items)
    items.append(x)
    return t[2] * items[3] + len(t)


def list_of_list(x):
    items = [x, 2.0 * x]
    copy = list(items)
    copy.append(x * x)
    return copy[0] * copy[2]


@pytest.mark.parametrize("fn", [tuple_then_write, tuple_then_append])
def test_tuple_of_a_list_written_later(fn):
    check_gradient(fn, 0.7)
    check_jvp(fn, 0.7)


def test_list_of_a_list_is_rejected():  # a new list that may grow: no rule
    with pytest.raises(NoRuleError, match="no adjoint rule for list"):
        ast_ad.grad(list_of_list)(0.7)


# -- results that may share memory with an argument: writes through them are rejected ---------


def write_into_rollaxis(x):
    y = x * 1.0
    r = np.rollaxis(y, 1)
    r[0] = 5.0
    return np.sum(y * y)


def write_into_rot90(x):
    y = x * 1.0
    r = np.rot90(y)
    r[0] = 5.0
    return np.sum(y * y)


def write_into_real(x):
    y = x * 1.0
    r = np.real(y)
    r[0] = 5.0
    return np.sum(y * y)


def write_into_real_if_close(x):
    y = x * 1.0
    r = np.real_if_close(y)
    r[0] = 5.0
    return np.sum(y * y)


def write_into_einsum(x):
    y = x * 1.0
    r = np.einsum("ij->ji", y)
    r[0] = 5.0
    return np.sum(y * y)


def write_into_einsum_sublist(x):
    y = x * 1.0
    r = np.einsum(y, [0, 1], [1, 0])
    r[0] = 5.0
    return np.sum(y * y)


def write_into_diff(x):
    y = x * 1.0
    r = np.diff(y, 0)
    r[0] = 5.0
    return np.sum(y * y)


def write_into_split(x):
    y = x * 1.0
    a, b = np.hsplit(y, 2)
    a[0] = 5.0
    return np.sum(y * y)


def write_under_tuple(x):
    y = x * 1.0
    t = tuple([y, y])
    y[0] = 5.0
    return np.sum(t[0])


@pytest.mark.parametrize("fn", [write_into_rollaxis, write_into_rot90, write_into_real,
                                write_into_real_if_close, write_into_einsum,
                                write_into_einsum_sublist, write_into_diff, write_into_split,
                                write_under_tuple])
def test_writes_through_views_are_rejected(fn):
    with pytest.raises(ast_ad.UnsupportedSyntaxError) as info:
        ast_ad.grad(fn)(RNG.normal(size=(2, 2)))
    assert info.value.location.lineno == _line(fn, 3)


# -- scipy.stats and scipy.signal take seconds to import: their rules load on first use -------

LAZY_SCRIPT = """
import sys
import numpy as np
import ast_ad
assert "scipy.stats" not in sys.modules and "scipy.signal" not in sys.modules
from lazy_model import model
print(ast_ad.grad(model)(np.array([0.3, -0.2, 1.1])))
"""

LAZY_MODEL = """
import numpy as np
import scipy.signal
import scipy.stats


def model(x):
    return np.sum(scipy.stats.norm.logpdf(x, 0.5, 2.0)) + np.sum(scipy.signal.convolve(x, x))
"""


@needs_scipy
def test_scipy_stats_and_signal_rules_load_when_first_used(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "lazy_model.py").write_text(LAZY_MODEL)
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), str(tmp_path)]))
    result = subprocess.run([sys.executable, "-c", LAZY_SCRIPT], capture_output=True, text=True,
                            env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    x = np.array([0.3, -0.2, 1.1])
    expected = -(x - 0.5) / 4.0 + 2 * np.sum(x)  # d/dx of sum(conv(x, x)) = 2 sum(x)
    np.testing.assert_allclose(np.array(result.stdout.strip()[1:-1].split(), dtype=float),
                               expected, rtol=1e-6)


# -- scipy.stats.multivariate_normal.logpdf ----------------------------------------------


def mvn_default_cov(x):
    return np.sum(scipy.stats.multivariate_normal.logpdf(x))


def mvn_one_dimensional(x, mean, cov):
    return np.sum(scipy.stats.multivariate_normal.logpdf(x, mean, cov))


def mvn_nll(mean, lower, data):  # a Gaussian fitted by its mean and a Cholesky-like factor
    cov = lower @ lower.T + 0.5 * np.eye(2)
    return -np.sum(scipy.stats.multivariate_normal.logpdf(data, mean, cov))


@pytest.mark.skipif(not HAVE_SCIPY, reason="needs scipy")
def test_multivariate_normal_forms_outside_the_rule_are_rejected_at_the_call():
    with pytest.raises(NoRuleError, match="multivariate_normal_gen.logpdf is called with") as info:
        ast_ad.grad(mvn_default_cov)(np.ones((3, 2)))
    assert "mean and cov given" in str(info.value)
    # k = 1: SciPy reads a 1-D x as points, not as one point of dimension 1
    with pytest.raises(NoRuleError, match="multivariate_normal_gen.logpdf is called with"):
        ast_ad.grad(mvn_one_dimensional)(np.ones(3), np.zeros(1), np.eye(1))


@pytest.mark.skipif(not HAVE_SCIPY, reason="needs scipy")
def test_multivariate_normal_likelihood():
    rng = np.random.default_rng(3)
    mean, lower, data = rng.normal(size=2), rng.normal(size=(2, 2)), rng.normal(size=(6, 2))
    check_gradient(mvn_nll, mean, lower, data, argnums=(0, 1, 2))
    check_jvp(mvn_nll, mean, lower, data)
    hessian = ast_ad.hessian(mvn_nll)(mean, lower, data)
    np.testing.assert_allclose(hessian, hessian.T, atol=1e-10)
    # the mean's Hessian is n times the precision matrix
    precision = np.linalg.inv(lower @ lower.T + 0.5 * np.eye(2))
    np.testing.assert_allclose(hessian, 6 * precision, rtol=1e-10)
