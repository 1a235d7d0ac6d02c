"""Forward mode, Jacobians, Hessians and higher derivatives."""

import math

import calls_cases
import control_cases
import numpy as np
import pytest
from numeric import check_gradient, check_jvp, numeric_gradient
from test_calls import CASES as CALL_CASES
from test_control_flow import CASES as CONTROL_CASES
from test_control_flow import WRITES
from test_golden import CASES as GOLDEN_CASES

import ast_ad

rng = np.random.default_rng(21)


def _golden_rows():
    import importlib

    for module, function, _, args in GOLDEN_CASES:
        yield getattr(importlib.import_module(module), function), args


JVP_ROWS = list(_golden_rows()) + CONTROL_CASES + WRITES + CALL_CASES


@pytest.mark.parametrize("fn, args", JVP_ROWS,
                         ids=[f"{f.__module__}.{f.__name__}-{i}" for i, (f, _) in
                              enumerate(JVP_ROWS)])
def test_jvp_against_central_differences(fn, args):
    check_jvp(fn, *args)


def test_seed_forward_trace():
    def f(x1, x2):
        return math.log(x1) + x1 * x2 - math.sin(x2)

    value, d1 = ast_ad.jvp(f, (2.0, 5.0), (1.0, 0.0))
    _, d2 = ast_ad.jvp(f, (2.0, 5.0), (0.0, 1.0))
    assert value == pytest.approx(11.652071455)
    assert d1 == pytest.approx(5.5) and d2 == pytest.approx(1.7163378145)


def vector_function(x, W):
    h = np.tanh(W @ x)
    return h * np.sum(x ** 2) + np.sin(W[0])


def test_vjp_and_jvp_agree():
    """<u, J v> computed by forward mode equals <J^T u, v> computed by reverse mode."""
    x, W = rng.normal(size=3), rng.normal(size=(3, 3))
    for _ in range(3):
        v_x, v_W = rng.normal(size=3), rng.normal(size=(3, 3))
        value, Jv = ast_ad.jvp(vector_function, (x, W), (v_x, v_W))
        u = rng.normal(size=np.shape(value))
        value2, vjp_fn = ast_ad.vjp(vector_function, x, W)
        u_x, u_W = vjp_fn(u)
        np.testing.assert_allclose(value, value2)
        assert np.dot(u, Jv) == pytest.approx(np.dot(u_x, v_x) + np.sum(u_W * v_W))


def test_vjp_function_can_be_called_again():
    value, vjp_fn = ast_ad.vjp(control_cases.write_elements, 0.7, 5)
    first = vjp_fn(1.0)
    assert vjp_fn(1.0) == first and first[1] is None
    value, vjp_fn = ast_ad.vjp(control_cases.for_range_start_stop_step, 1.1, 1, 8, 3)
    assert vjp_fn(2.0)[0] == pytest.approx(2 * vjp_fn(1.0)[0])


def test_jacobians_agree():
    x, W = rng.normal(size=3), rng.normal(size=(3, 3))
    forward = ast_ad.jacfwd(vector_function)(x, W)
    reverse = ast_ad.jacrev(vector_function)(x, W)
    either = ast_ad.jacobian(vector_function)(x, W)
    assert forward.shape == (3, 3)
    np.testing.assert_allclose(forward, reverse)
    np.testing.assert_allclose(either, forward)
    numeric = np.stack([numeric_gradient(lambda x, W, k=k: vector_function(x, W)[k], (x, W), 0)
                        for k in range(3)])
    np.testing.assert_allclose(forward, numeric, rtol=1e-5, atol=1e-7)
    by_W = ast_ad.jacrev(vector_function, argnums=1)(x, W)
    assert by_W.shape == (3, 3, 3)
    np.testing.assert_allclose(by_W, ast_ad.jacfwd(vector_function, argnums=1)(x, W))


def tuple_function(x, y):
    return x * y, np.sin(x) + y


def test_jacobian_of_tuple_outputs_and_argnums():
    x, y = rng.normal(size=2), rng.normal(size=2)
    (jxx, jxy), (jyx, jyy) = ast_ad.jacfwd(tuple_function, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(jxx, np.diag(y))
    np.testing.assert_allclose(jyx, np.diag(np.cos(x)))
    np.testing.assert_allclose(jyy, np.eye(2))
    rev = ast_ad.jacrev(tuple_function, argnums=(0, 1))(x, y)
    for a, b in zip(rev, ((jxx, jxy), (jyx, jyy))):
        for p, q in zip(a, b):
            np.testing.assert_allclose(p, q)


def scalar_field(x, y):
    return x * y ** 2 + math.cos(x * y)


def array_loss(w, X):
    return np.sum(np.tanh(X @ w) ** 2) + np.sum(w ** 4)


def test_hessian_is_symmetric_and_matches_differences_of_the_gradient():
    H = ast_ad.hessian(scalar_field, argnums=(0, 1))(1.0, 2.0)
    assert H[0][1] == pytest.approx(H[1][0])
    laplacian = H[0][0] + H[1][1]
    assert laplacian == pytest.approx(2 * 1.0 - (1.0 + 4.0) * math.cos(2.0))

    w, X = rng.normal(size=3), rng.normal(size=(5, 3))
    H = ast_ad.hessian(array_loss)(w, X)
    assert H.shape == (3, 3)
    np.testing.assert_allclose(H, H.T, atol=1e-10)
    gradient = ast_ad.grad(array_loss)
    numeric = np.stack([numeric_gradient(lambda w, X, k=k: gradient(w, X)[k], (w, X), 0)
                        for k in range(3)])
    np.testing.assert_allclose(H, numeric, rtol=1e-5, atol=1e-6)


def test_hessian_through_loops_and_calls():
    H = ast_ad.hessian(control_cases.scalar_loop, argnums=(0, 1))(0.7, 1.3)
    g = ast_ad.grad(control_cases.scalar_loop, argnums=(0, 1))
    numeric = [[numeric_gradient(lambda x, a, i=i: g(x, a)[i], (0.7, 1.3), j) for j in range(2)]
               for i in range(2)]
    np.testing.assert_allclose(np.array(H, dtype=float), numeric, rtol=1e-5)
    H = ast_ad.hessian(calls_cases.same_module, argnums=(0, 1))(0.7, 1.3)
    np.testing.assert_allclose(np.array(H, dtype=float), [[2 * 1.3, 2 * 0.7], [2 * 0.7, 2.0]])


def cubic_sine(x):
    return math.sin(x) * x ** 3


def test_derivatives_to_any_order():
    d1 = ast_ad.grad(cubic_sine)
    d2 = ast_ad.grad(d1)
    d3 = ast_ad.grad(d2)
    x = 0.7
    s, c = math.sin(x), math.cos(x)
    assert d1(x) == pytest.approx(c * x**3 + 3 * x**2 * s)
    assert d2(x) == pytest.approx(-s * x**3 + 6 * x**2 * c + 6 * x * s)
    assert d3(x) == pytest.approx(-c * x**3 - 9 * x**2 * s + 18 * x * c + 6 * s)
    value, slope = ast_ad.value_and_grad(d1)(x)
    assert value == pytest.approx(d1(x)) and slope == pytest.approx(d2(x))
    assert "def cubic_sine_grad_jvp(" in ast_ad.source(d2, x)


def test_grad_of_grad_through_control_flow():
    def loopy(x):
        s = x
        for i in range(4):
            s = math.tanh(s * x + i) if s < 10 else s
        return s

    second = ast_ad.grad(ast_ad.grad(loopy))
    first = ast_ad.grad(loopy)
    numeric = numeric_gradient(first, (0.3,), 0)
    assert second(0.3) == pytest.approx(numeric, rel=1e-5)


def test_grad_of_grad_with_respect_to_an_array_says_what_to_use():
    with pytest.raises(ast_ad.ADError, match="hessian"):
        ast_ad.grad(ast_ad.grad(array_loss))(rng.normal(size=3), rng.normal(size=(5, 3)))


def test_jvp_errors():
    with pytest.raises(ast_ad.ADError, match="tangent 0 has shape"):
        ast_ad.jvp(array_loss, (np.ones(3), np.ones((5, 3))), (np.ones(2), np.ones((5, 3))))
    with pytest.raises(ast_ad.ADError, match="2 primal.*1 tangent"):
        ast_ad.jvp(array_loss, (np.ones(3), np.ones((5, 3))), (np.ones(3),))


def test_gradient_checks_still_hold_for_second_derivative_functions():
    check_gradient(ast_ad.grad(cubic_sine), 0.4)


# An int exponent that travels next to the base (in a tuple or list, or among a helper's
# saved values for a second derivative) gets a zero tangent, not none: the exponent's
# term, zero times log(x), was nan where x < 0, and the whole tangent with it.


def cube_from_a_tuple(x):
    t = (x, 3)
    return np.sum(x ** t[1])


def powers_from_pairs(x):
    s = 0.0
    for base, n in [(x, 2), (x * 0.5, 3)]:
        s = s + np.sum(base ** n)
    return s


def powered(x, n=3):
    return np.sum(x ** n)


def through_a_helper_with_a_default(x):
    return 0.5 * powered(x)


NEGATIVE_BASE = np.array([-0.7, 0.5])


@pytest.mark.parametrize("fn", [cube_from_a_tuple, powers_from_pairs])
def test_int_exponent_carried_next_to_a_negative_base(fn):
    with np.errstate(invalid="ignore"):  # (log(x) at x < 0, multiplied by a zero tangent)
        check_jvp(fn, NEGATIVE_BASE)
        jacobian = ast_ad.jacfwd(fn)(NEGATIVE_BASE)
        gradient = ast_ad.grad(fn)(NEGATIVE_BASE)
    np.testing.assert_allclose(jacobian, gradient, rtol=1e-12)


def test_int_exponent_among_a_helpers_saved_values():
    with np.errstate(invalid="ignore"):
        hessian = ast_ad.hessian(through_a_helper_with_a_default)(NEGATIVE_BASE)
    np.testing.assert_allclose(hessian, np.diag(3.0 * NEGATIVE_BASE), rtol=1e-12)


def test_exponent_moved_at_a_negative_base_is_still_nan():
    # (d(x ** y)/dy is not defined for x < 0: a tangent along y stays nan there)
    with np.errstate(invalid="ignore"):
        _, tangent = ast_ad.jvp(lambda_free_power, (NEGATIVE_BASE, 3.0), (np.zeros(2), 1.0))
    assert np.isnan(tangent[0]) and np.isfinite(tangent[1])


def lambda_free_power(x, y):
    return x ** y
