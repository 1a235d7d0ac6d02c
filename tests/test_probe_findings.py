"""Silent wrong derivatives found by probing with code written the way users write it
(a view of an adjoint zeroed under the value read from it), one test each."""

import numpy as np
import pytest
from numeric import check_gradient, check_jvp

import ast_ad


def write_of_unknown_shape(x):
    y = x * 1.0
    y[:2] = np.sin(x[x > 0][:2])  # (the shape of x[x > 0] is known only when it runs)
    return np.sum(y ** 2)


def test_adjoint_of_a_write_whose_value_has_an_unknown_shape():
    # `bt4 = unbroadcast(by[:2], t4)` returned the view by[:2], which `by[:2] = 0.0` then
    # zeroed: the gradient lost sin's contribution (x[0] got 0, not 0.565)
    x = np.array([0.3, -0.4, 0.7, 0.2])
    check_gradient(write_of_unknown_shape, x)
    check_jvp(write_of_unknown_shape, x)


def product_of_three(x):
    return np.prod(x[:3])


def trace_of_square(x):
    M = x[:4].reshape(2, 2)
    return np.trace(M @ M)


def hessian_by_differences(f, x, eps=1e-6):
    g = ast_ad.grad(f)
    return np.stack([(g(x + e) - g(x - e)) / (2 * eps) for e in np.eye(x.size) * eps], axis=1)


def test_reverse_over_reverse_of_a_write_into_an_adjoint():
    # jacrev(grad(f)) differentiates `bx[:3] += prod_of_others(x[:3])`, whose value's
    # shape comes from a helper: its backward read a view and zeroed it (all zeros)
    for f in (product_of_three, trace_of_square):
        x = np.array([0.3, -0.4, 0.7, 0.2, 0.9])
        expected = hessian_by_differences(f, x)
        np.testing.assert_allclose(ast_ad.jacrev(ast_ad.grad(f))(x), expected, atol=1e-6)
        np.testing.assert_allclose(ast_ad.hessian(f)(x), expected, atol=1e-6)
        value, pull = ast_ad.vjp(ast_ad.grad(f), x)
        np.testing.assert_allclose(pull(x)[0], expected.T @ x, atol=1e-6)


def relaxed(x):
    y = x.copy()
    for _ in range(3):
        y = y - 0.1 * (y ** 3 - x)
    return np.sum(y ** 2)


def test_an_error_in_generated_code_is_reported_at_the_users_line():
    # reverse mode over the gradient's loop (which pops its saved values) is rejected;
    # the error named a line of generated code (<ast_ad:...relaxed_grad#2>:22:19)
    with pytest.raises(ast_ad.ADError) as err:
        ast_ad.jacrev(ast_ad.grad(relaxed))(np.array([0.3, -0.4, 0.7]))
    text = str(err.value)
    line = relaxed.__code__.co_firstlineno + 2
    assert text.startswith(f"{__file__}:{line}:5: "), text
    assert "in the derivative ast-ad generated from this line: <ast_ad:" in text
    assert "for _ in range(3):" in text and "ast_ad.hessian" in text and "not in yours" in text


def pairwise_products(x):
    out = np.zeros(3)
    for i in range(3):
        out[i] = x[i] * x[i + 1]
    return out


def test_vjp_leaves_the_callers_cotangent_alone():
    # the backward pass zeroed `bout[i]` in the caller's cotangent array: the caller's
    # array changed, and a second call with it gave zeros
    x = np.array([0.3, -0.4, 0.7, 0.2])
    cotangent = np.array([1.0, 2.0, 3.0])
    _, pull = ast_ad.vjp(pairwise_products, x)
    first = pull(cotangent)[0]
    np.testing.assert_array_equal(cotangent, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(pull(cotangent)[0], first)
    expected = np.stack([(pairwise_products(x + e) - pairwise_products(x - e)) / 2e-6
                         for e in np.eye(4) * 1e-6], axis=1).T @ cotangent
    np.testing.assert_allclose(first, expected, atol=1e-8)
    np.testing.assert_allclose(ast_ad.jacrev(pairwise_products)(x).T @ cotangent, expected,
                               atol=1e-8)


def squares_first_in_place(x):
    x[0] = x[1] ** 2
    return np.sum(x ** 2)


def test_jvp_leaves_the_callers_tangent_alone():
    # the function writes into its argument; the jvp mirrored the write into the
    # caller's tangent array (v[0] became -1.6)
    x, v = np.array([0.3, -0.4, 0.7]), np.array([1.0, 2.0, 3.0])
    _, t = ast_ad.jvp(squares_first_in_place, (x.copy(),), (v,))
    np.testing.assert_array_equal(v, [1.0, 2.0, 3.0])
    # d/dx of x1**4 + x1**2 + x2**2 along v
    assert t == pytest.approx(4 * (-0.4) ** 3 * 2.0 + 2 * (-0.4) * 2.0 + 2 * 0.7 * 3.0)


def written_after_reduction(x):
    out = np.empty_like(x)
    out[0] = x[0]
    for i in range(1, x.size):
        out[i] = 0.9 * out[i - 1] + x[i]
    return np.sum(out ** 2)


def weighted_written(x, w):
    out = x * 1.0
    out[0] = x[1]
    return np.sum(out * w)  # out float32, w float64: by's first contribution is float64


def test_an_adjoint_written_into_later_starts_as_its_first_contribution():
    # `bout = 2.0 * out`, not `np.zeros_like(out) + 2.0 * out`: the contribution is already
    # a new array of out's shape and dtype (np.empty_like(x) has x's dtype)
    x = np.array([0.3, -0.4, 0.7, 0.2])
    check_gradient(written_after_reduction, x)
    code = ast_ad.source(ast_ad.grad(written_after_reduction), x)
    assert "bout = 2.0 * out\n" in code and "zeros_like(out)" not in code
    # a first contribution of another dtype keeps the zeros of out's dtype under it
    x32, w = x.astype(np.float32), np.array([1.0, 2.0, 3.0, 4.0])
    g = ast_ad.grad(weighted_written)(x32, w)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, [0.0, 1.0 + 2.0, 3.0, 4.0], rtol=1e-6)


def sized(x):
    y = np.zeros(x.size)
    for i in range(x.size - 1):
        y[i] = x[i] * x[i + 1] * x.ndim
    return np.sum(y ** 2)


def test_size_and_ndim_of_an_array_of_known_shape_are_known_ints():
    # `np.zeros(x.size)` had an unknown shape: the gradient read unbroadcast(by[i].copy(), t)
    # and seeded with np.full_like(y ** 2, 2.0) * y
    x = np.array([0.3, -0.4, 0.7, 0.2, 0.9])
    check_gradient(sized, x)
    check_jvp(sized, x)
    code = ast_ad.source(ast_ad.grad(sized), x)
    assert "unbroadcast" not in code and "full_like" not in code
    # other shapes, beyond the specialisations (then one shape-generic version)
    for n in range(2, 12):
        v = np.linspace(-0.5, 0.8, n)
        check_gradient(sized, v)
