"""The public API follows JAX/autograd conventions."""

import inspect
import math

import numpy as np
import pytest

import ast_ad
from ast_ad import grad, value_and_grad

SCALE = 3.0
TABLE = np.array([1.0, 2.0, 3.0])


def f(x, y, z):
    return x * y + math.sin(z) * SCALE


def test_int_argnums_returns_one_gradient():
    assert grad(f)(1.0, 2.0, 0.0) == pytest.approx(2.0)
    assert grad(f, argnums=2)(1.0, 2.0, 0.0) == pytest.approx(3.0)


def test_tuple_argnums_returns_tuple():
    g = grad(f, argnums=(0, 2))(1.0, 2.0, 0.0)
    assert isinstance(g, tuple) and g == pytest.approx((2.0, 3.0))
    one = grad(f, argnums=(1,))(1.0, 2.0, 0.0)
    assert isinstance(one, tuple) and len(one) == 1


def test_negative_argnums():
    assert grad(f, argnums=-1)(1.0, 2.0, 0.0) == pytest.approx(3.0)


def test_decorator_forms():
    @grad
    def a(x):
        return x ** 3

    @grad(argnums=(0, 1))
    def b(x, y):
        return x * y

    @value_and_grad
    def c(x):
        return x * x

    assert a(2.0) == pytest.approx(12.0)
    assert b(2.0, 5.0) == pytest.approx((5.0, 2.0))
    assert c(3.0) == pytest.approx((9.0, 6.0))


def test_value_and_grad():
    value, gradient = value_and_grad(f, argnums=(0, 1))(1.0, 2.0, 0.5)
    assert value == pytest.approx(f(1.0, 2.0, 0.5))
    assert gradient == pytest.approx((2.0, 1.0))


def test_array_gradient_shape_and_dtype():
    def loss(w, x):
        return np.sum(np.tanh(x @ w) ** 2)

    for dtype in (np.float64, np.float32):
        w = np.linspace(-1, 1, 6).reshape(3, 2).astype(dtype)
        x = np.linspace(0, 1, 12).reshape(4, 3).astype(dtype)
        g = grad(loss)(w, x)
        assert g.shape == w.shape and g.dtype == dtype


def test_zero_gradient_when_output_ignores_input():
    def h(x, y):
        return y * 2.0

    assert grad(h)(1.0, 3.0) == 0.0
    g = grad(h)(np.ones((2, 3)), 3.0)
    assert g.shape == (2, 3) and not g.any()


def test_keyword_arguments_and_defaults():
    def h(x, y=2.0, *, power=3):
        return x ** power * y

    assert grad(h)(2.0) == pytest.approx(24.0)
    assert grad(h)(2.0, y=1.0, power=2) == pytest.approx(4.0)
    assert grad(h, argnums=1)(2.0, 5.0) == pytest.approx(8.0)


def test_globals_and_closures_are_constants_read_at_call_time():
    offset = 1.0

    def h(x):
        return np.sum((x - TABLE) ** 2) * offset

    g = grad(h)
    x = np.zeros(3)
    np.testing.assert_allclose(g(x), -2 * TABLE)
    offset = 2.0  # noqa: F841  (the closure cell changes)
    np.testing.assert_allclose(g(x), -4 * TABLE)


def test_lambda():
    assert grad(lambda x: x ** 2 + 1.0)(3.0) == pytest.approx(6.0)
    both = grad(lambda x, y: x * y, argnums=(0, 1))
    assert both(2.0, 5.0) == pytest.approx((5.0, 2.0))


def test_python_float_gradient_is_a_float():
    g = grad(f)(1.0, 2.0, 0.0)
    assert isinstance(g, float)


def test_second_grad_reuses_the_cache(monkeypatch):
    import ast_ad.compile

    def cubic(x):
        return x ** 3 - x

    calls = []
    real = ast_ad.compile.generate
    monkeypatch.setattr(ast_ad.compile, "generate",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    assert grad(cubic)(2.0) == pytest.approx(11.0)
    assert grad(cubic)(3.0) == pytest.approx(26.0)  # a new grad(...) of the same function
    assert grad(cubic)(np.array(2.0)) == pytest.approx(11.0)  # an array: new code
    assert len(calls) == 2


def test_source_is_reachable_and_registered_with_linecache():
    g = value_and_grad(f, argnums=(0, 1, 2))
    text = ast_ad.source(g, 1.0, 2.0, 0.5)
    assert text.startswith("def f_value_and_grad(x, y, z):")
    assert "# backward" in text and "math.cos(z)" in text
    g(1.0, 2.0, 0.5)
    generated = g.__ast_ad__.latest
    assert generated.__code__.co_filename.startswith("<ast_ad:")
    # Tracebacks and inspect see the generated lines (indented inside a factory); the
    # copy that runs first checks what the code assumed (the global SCALE's kind).
    shown = inspect.getsource(generated.__ast_ad_plain__).splitlines()
    assert [line[4:] for line in shown] == text.splitlines()
    running = inspect.getsource(generated)
    assert "_ast_ad_stale(x, y, z)" in running and "SCALE.__class__" in running


def test_source_of_something_else():
    with pytest.raises(ast_ad.ADError, match="not a function made by"):
        ast_ad.source(f)


def test_generated_code_is_deterministic():

    first = ast_ad.source(grad(f), 1.0, 2.0, 3.0)
    ast_ad.clear_caches()
    assert ast_ad.source(grad(f), 1.0, 2.0, 3.0) == first


def test_wrapped_function_metadata():
    g = grad(f)
    assert g.__name__ == "f" and g.__wrapped__ is f


def test_code_is_specialised_per_shape_and_stays_correct():
    from numeric import check_gradient

    def loss(w, b):
        return np.sum(np.tanh(w + b) ** 2)

    rng = np.random.default_rng(5)
    for shape_w, shape_b in [((3, 4), (4,)), ((3, 4), (3, 1)), ((2, 5), (5,)), ((3, 4), (4,))]:
        check_gradient(loss, rng.normal(size=shape_w), rng.normal(size=shape_b))
    # Known shapes turn unbroadcasting into the explicit sum.
    text = ast_ad.source(grad(loss, argnums=1), np.ones((3, 4)), np.ones(4))
    assert "unbroadcast" not in text and "axis=0)" in text


def test_many_shapes_fall_back_to_shape_generic_code():
    from ast_ad import api

    def loss(w, b):
        return np.sum((w * b) ** 2)

    g = grad(loss, argnums=(0, 1))
    for n in range(1, api.MAX_SHAPE_SPECIALISATIONS + 4):
        w, b = np.arange(1.0, n + 1), np.float64(2.0) * np.ones(1)
        gw, gb = g(w, b)
        np.testing.assert_allclose(gw, 2 * w * b * b)
        np.testing.assert_allclose(gb, [np.sum(2 * w * w * b)])
    generic = g.__ast_ad__.latest.__ast_ad_source__
    assert "unbroadcast" in generic  # shapes unknown: reduced at run time


def test_partial_functions():
    import functools

    def loss(w, X, y, scale=1.0):
        return scale * np.sum((X @ w - y) ** 2)

    X, y, w = np.arange(6.0).reshape(3, 2), np.ones(3), np.array([0.5, -0.5])
    expected = 2 * X.T @ (X @ w - y)
    np.testing.assert_allclose(grad(functools.partial(loss, X=X, y=y))(w), expected)
    np.testing.assert_allclose(grad(functools.partial(loss, X=X, y=y, scale=2.0))(w),
                               2 * expected)
    bound_w = functools.partial(loss, w)
    np.testing.assert_allclose(grad(bound_w, argnums=0)(y=y, X=X), 2 * np.outer(X @ w - y, w))
    np.testing.assert_allclose(grad(bound_w, argnums=1)(X, y), -2 * (X @ w - y))
    with pytest.raises(ast_ad.ADError, match="argnums=3"):
        grad(functools.partial(loss, X=X), argnums=3)


def test_grad_of_the_same_function_is_remembered_but_bounded():
    import gc

    from ast_ad import cache

    def square(x):
        return x * x

    assert grad(square) is grad(square) and grad(square) is not grad(square, argnums=(0,))

    def make(k):
        def f(x):
            return x * k
        return f

    gc.collect()
    before = cache.size()
    for k in range(300):
        assert grad(make(float(k)))(1.0) == float(k)
    gc.collect()
    assert cache.size() < before + 50  # held by the functions, which are gone
