"""Issue 9, aliasing and callees: right derivatives or a clear ADError, never a silent wrong one.

Views read after their array is written, lists and arrays a called function
mutates, writes into globals, second derivatives of code that builds lists,
and second derivatives through helpers compiled for several argument patterns.
"""

import numpy as np
import pytest
from numeric import check_gradient, check_jvp

import ast_ad


@pytest.fixture(autouse=True)
def fresh_caches():
    ast_ad.clear_caches()
    yield
    ast_ad.clear_caches()


def second(f, x, eps=1e-5):
    """d2f/dx2 of a scalar function, by central differences of ast-ad's first derivative."""
    g = ast_ad.grad(f)
    return (g(x + eps) - g(x - eps)) / (2 * eps)


# -- second order through helpers compiled for several argument patterns ----------------------
# inner(a, b) called as inner(a, b) and inner(b, a) is compiled twice (a active, then b
# active); both versions were registered under one linecache name, so differentiating the
# generated code again read back the other version's text (and cached the result).

def inner(a, b):
    return a * b + a * a


def inner_cube(a, b):
    return a * a * b


def swapped(a, b):
    return inner(a, b) + inner(b, a)


def only_inner(a, b):
    return inner(a, b)


def swapped_cube(a, b):
    return inner_cube(b, a) * 2.0 + inner_cube(a, b)


def only_cube(a, b):
    return inner_cube(a, b)


def test_grad_grad_through_a_helper_called_with_swapped_arguments():
    # swapped = 2ab + a^2 + b^2: d2/da2 = 2 (it gave 1.0), d2/dadb = 2
    assert ast_ad.grad(ast_ad.grad(swapped))(3.0, 2.0) == pytest.approx(2.0)
    assert ast_ad.grad(ast_ad.grad(swapped), argnums=1)(3.0, 2.0) == pytest.approx(2.0)
    assert ast_ad.grad(ast_ad.grad(swapped, argnums=1), argnums=1)(3.0, 2.0) == pytest.approx(2.0)
    # the code compiled for swapped's helpers must not leak into other callers
    hessian = ast_ad.hessian(only_inner, argnums=(0, 1))(3.0, 2.0)
    np.testing.assert_allclose(np.array(hessian, dtype=float), [[2.0, 1.0], [1.0, 0.0]])


@pytest.mark.parametrize("order", ["swapped_first", "single_first"])
def test_second_derivatives_do_not_depend_on_what_was_compiled_before(order):
    a, b = 3.0, 2.0
    # swapped_cube = 2 b^2 a + a^2 b; only_cube = a^2 b
    expected = {
        "swapped": [[2 * b, 4 * b + 2 * a], [4 * b + 2 * a, 4 * a]],
        "single": [[2 * b, 2 * a], [2 * a, 0.0]],
    }
    runs = {"swapped": swapped_cube, "single": only_cube}
    names = ["swapped", "single"] if order == "swapped_first" else ["single", "swapped"]
    for name in names:
        f = runs[name]
        hessian = np.array(ast_ad.hessian(f, argnums=(0, 1))(a, b), dtype=float)
        np.testing.assert_allclose(hessian, expected[name], err_msg=name)
        for i in range(2):
            for j in range(2):
                got = ast_ad.grad(ast_ad.grad(f, argnums=i), argnums=j)(a, b)
                assert got == pytest.approx(expected[name][i][j]), (name, i, j)


def test_one_helper_from_several_callers_matches_a_fresh_compile():
    a, b = 1.5, -0.5
    runs = [lambda: ast_ad.grad(ast_ad.grad(swapped_cube, argnums=1), argnums=1)(a, b),
            lambda: ast_ad.grad(ast_ad.grad(only_cube))(a, b),
            lambda: ast_ad.grad(ast_ad.grad(swapped_cube))(a, b),
            lambda: ast_ad.grad(ast_ad.grad(only_cube, argnums=1), argnums=0)(a, b)]
    together = [run() for run in runs]
    alone = []
    for run in runs:
        ast_ad.clear_caches()
        alone.append(run())
    np.testing.assert_allclose(together, alone)
    np.testing.assert_allclose(together, [4 * a, 2 * b, 2 * b, 2 * a])


# -- second order through code that builds lists ----------------------------------------------
# The generated gradient starts list adjoints with the runtime helper zeros_like and turns
# arrays back into lists with unstack: forward mode over that code compiled the helpers'
# own source (a comprehension: an error pointing into ast_ad/runtime.py).

def list_product(x):
    s = []
    s.append(x * x)
    s.append(x)
    return s[0] * s[1]


def list_in_loop(x):
    s = []
    for i in range(3):
        s.append(x * float(i))
    t = 0.0
    for v in s:
        t = t + v * v * x
    return t


def list_stacked(x):
    s = []
    for i in range(3):
        s.append(np.sin(x * i))
    return np.sum(np.stack(s) ** 2)


def list_to_array(x):
    s = []
    s.append(x)
    s.append(x * 2.0)
    return np.sum(np.array(s) ** 3)


def list_item_written(x):
    s = [x, x * x]
    s[0] = s[1] * x
    return s[0] + s[1]


@pytest.mark.parametrize("f", [list_product, list_in_loop, list_stacked, list_to_array,
                               list_item_written])
def test_second_derivative_of_code_building_a_list(f):
    x = 0.7
    expected = second(f, x)
    assert ast_ad.grad(ast_ad.grad(f))(x) == pytest.approx(expected, rel=1e-6)
    assert ast_ad.hessian(f)(x) == pytest.approx(expected, rel=1e-6)


def test_second_derivative_of_list_product_is_analytic():
    assert ast_ad.grad(ast_ad.grad(list_product))(2.0) == pytest.approx(12.0)


@pytest.mark.parametrize("f", [list_stacked, list_to_array])
def test_hessian_of_array_code_building_a_list(f):
    x = np.array([0.7, 1.3])
    g = ast_ad.grad(f)
    expected = np.array([(g(x + e) - g(x - e)) / 2e-5 for e in np.eye(2) * 1e-5]).T
    np.testing.assert_allclose(ast_ad.hessian(f)(x), expected, atol=1e-5)
    np.testing.assert_allclose(ast_ad.jacfwd(g)(x), expected, atol=1e-5)


def sum_broadcast(x):
    return np.sum(x[None, :] * np.ones((3, 1)) * x)


def test_hessian_through_the_adjoint_of_a_sum():
    x = np.array([0.7, 1.3])
    np.testing.assert_allclose(ast_ad.hessian(sum_broadcast)(x), 6.0 * np.eye(2))
    np.testing.assert_allclose(ast_ad.jacrev(ast_ad.grad(sum_broadcast))(x), 6.0 * np.eye(2))


def test_gradient_of_a_written_list_item():
    # `bs[0].copy()` on a float adjoint: AttributeError from the generated code
    check_gradient(list_item_written, 0.7)
    check_jvp(list_item_written, 0.7)
