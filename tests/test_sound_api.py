"""API-level soundness: what the transformations accept is differentiated right, else ADError.

Outputs that are not floats, complex values, mixed float precisions, bad argnums, array
subclasses, parameters with defaults, non-Python functions, powers at 0, and errors raised
while generated code runs (they name the user's line).
"""

import functools
import math
import sys
import warnings

import numpy as np
import pytest
from numeric import check_gradient, numeric_gradient

import ast_ad
from ast_ad import (
    ADError,
    NonDifferentiableError,
    NonScalarOutputError,
    SourceUnavailableError,
)

# -- 1. outputs that are not floats ----------------------------------------------------


def forgot_return(x):
    y = x * 2.0  # noqa: F841


def returns_str(x):
    return "loss"


def returns_int(x):
    return 3


def returns_bool(x):
    y = x * 2.0
    return y > 0


def returns_none_sometimes(x):
    if x > 0:
        return x * x


def _line(fn, offset=0):
    return fn.__code__.co_firstlineno + offset


@pytest.mark.parametrize("fn, words, offset", [
    (forgot_return, "returned None (is a `return` missing?)", 1),
    (returns_str, "returned a str ('loss')", 1),
    (returns_int, "returned an int (3)", 1),
    (returns_bool, "returned a bool", 2),
])
@pytest.mark.parametrize("transform", [ast_ad.grad, ast_ad.value_and_grad, ast_ad.hessian])
def test_grad_of_a_function_not_returning_a_float_is_rejected(fn, words, offset, transform):
    for x in (1.5, np.array(1.5)):
        with pytest.raises(NonScalarOutputError, match=words.replace("(", r"\(")
                           .replace(")", r"\)").replace("?", r"\?")) as info:
            transform(fn)(x)
        assert info.value.location.lineno == _line(fn, offset)
        assert fn.__name__ in str(info.value)


def test_grad_checks_a_none_returned_on_some_paths_only():
    assert ast_ad.grad(returns_none_sometimes)(2.0) == pytest.approx(4.0)
    with pytest.raises(NonScalarOutputError, match="returned None"):
        ast_ad.grad(returns_none_sometimes)(-2.0)


@pytest.mark.parametrize("fn, words", [(forgot_return, "returned None"),
                                       (returns_str, "returned a str")])
def test_jvp_vjp_jacobians_of_none_or_str_are_rejected(fn, words):
    calls = [lambda: ast_ad.jvp(fn, (1.5,), (1.0,)), lambda: ast_ad.vjp(fn, 1.5),
             lambda: ast_ad.jacobian(fn)(1.5), lambda: ast_ad.jacfwd(fn)(1.5),
             lambda: ast_ad.jacrev(fn)(1.5)]
    for call in calls:
        with pytest.raises(NonScalarOutputError, match=words) as info:
            call()
        assert info.value.location.lineno == _line(fn)


def test_jacobians_need_float_outputs():
    for jac in (ast_ad.jacobian, ast_ad.jacfwd, ast_ad.jacrev):
        with pytest.raises(NonScalarOutputError, match="returned a bool"):
            jac(returns_bool)(1.5)


def test_float_outputs_still_work():
    assert ast_ad.grad(lambda x: 3.0)(1.0) == 0.0
    assert ast_ad.grad(lambda x: np.sum(x * 0.0))(np.ones(2)).tolist() == [0.0, 0.0]
    assert ast_ad.jvp(returns_int, (1.5,), (1.0,)) == (3, 0.0)  # as JAX: ints pass jvp
    np.testing.assert_allclose(ast_ad.jacobian(lambda x: [x, 2.0 * x])(1.5), [1.0, 2.0])


# -- 2. complex numbers ----------------------------------------------------------------

C = 1.0 + 2.0j
CA = np.array([1.0 + 2.0j, 0.5 - 1.0j])


def abs_times_global(x):
    return np.abs(x * C)


def sum_abs_times_global(x):
    return np.sum(np.abs(x * CA))


def fft_of_data(x, d):
    spectrum = np.fft.fft(d)
    return np.sum(np.abs(x * spectrum))


def complex_dtype(x):
    return np.sum(np.abs(x * np.ones(2, dtype="complex")))


def complex_call(x):
    return abs(complex(x, 1.0))


def astype_complex(x):
    return np.sum(np.abs(x.astype(complex)))


def emath_sqrt(x):
    return np.abs(np.emath.sqrt(x))


def _all_transforms(fn, *args):
    x = args[0]
    ones = 1.0 if np.ndim(x) == 0 else np.ones(np.shape(x))
    return [
        lambda: ast_ad.grad(fn)(*args), lambda: ast_ad.value_and_grad(fn)(*args),
        lambda: ast_ad.jvp(fn, args, (ones,) + tuple(np.zeros_like(a) for a in args[1:])),
        lambda: ast_ad.vjp(fn, *args), lambda: ast_ad.jacfwd(fn)(*args),
        lambda: ast_ad.jacrev(fn)(*args), lambda: ast_ad.hessian(fn)(*args)]


@pytest.mark.parametrize("fn, args, words, offset", [
    (abs_times_global, (0.5,), "C holds complex numbers", 1),
    (sum_abs_times_global, (np.ones(2),), "CA holds complex numbers", 1),
    (fft_of_data, (np.ones(2), np.ones(2)), "np.fft.fft returns complex numbers", 1),
    (complex_dtype, (np.ones(2),), "dtype 'complex' is complex", 1),
    (complex_call, (0.5,), "complex makes complex numbers", 1),
    (astype_complex, (np.ones(2),), "complex makes complex numbers", 1),
    (emath_sqrt, (-1.0,), "np.emath.sqrt returns complex numbers", 1),
])
def test_complex_values_reaching_differentiated_code_are_rejected(fn, args, words, offset):
    for call in _all_transforms(fn, *args):
        with pytest.raises(NonDifferentiableError, match=words) as info:
            call()
        assert info.value.location.lineno == _line(fn, offset)


@pytest.mark.parametrize("value", [1.0 + 1.0j, np.complex128(1.0), np.array([1.0 + 1.0j])])
def test_complex_arguments_are_rejected(value):
    def f(x):
        return x * 2.0

    with pytest.raises(NonDifferentiableError, match="complex"):
        ast_ad.vjp(f, value)  # gave (None,)
    with pytest.raises(NonDifferentiableError, match="complex"):
        ast_ad.jvp(f, (value,), (value,))  # gave a zero tangent
    for call in (ast_ad.grad(f), ast_ad.value_and_grad(f), ast_ad.jacfwd(f),
                 ast_ad.jacrev(f), ast_ad.hessian(f)):
        with pytest.raises(NonDifferentiableError, match="complex"):
            call(value)


def test_complex_argument_not_differentiated_is_rejected_too():
    def f(x, c):
        return np.abs(x * c)

    with pytest.raises(NonDifferentiableError, match=r"argument 1 \(c\).*complex"):
        ast_ad.grad(f)(1.0, 1j)
    with pytest.raises(NonDifferentiableError, match="complex"):
        ast_ad.vjp(f, 1.0, 1j)


# -- 3. a gradient has its argument's dtype and shape ----------------------------------

W32 = np.linspace(0.5, 1.5, 3).astype(np.float32)


def _helper_reading_float32(v):
    return v * W32


def mixed_mul(a, b):
    return np.sum(a * b)


def mixed_add(a, b):
    return np.sum(a + b * b)


def mixed_div(a, b):
    return np.sum(a / (b + 3.0))


def mixed_dot(a, b):
    return np.sum(np.dot(a, b))


def mixed_sin_cos(a, b):
    return np.sum(np.sin(a) * np.cos(b))


def mixed_global_float32(a, b):
    return np.sum(a * W32 + b * W32)


def mixed_exp(a, b):
    return np.sum(np.exp(a * b))


def mixed_max(a, b):
    return np.max(a * b)


def mixed_mean(a, b):
    return np.mean(a) * np.mean(b)


def mixed_power(a, b):
    return np.sum(a ** 2 * b)


def mixed_b_only(a, b):
    return np.sum(b * 2.0)


def mixed_callee_float32(a, b):
    return np.sum(_helper_reading_float32(a) * b)


def mixed_astype(a, b):
    return np.sum(a.astype(np.float32) * b)


MIXED = {
    "mul": mixed_mul,
    "add": mixed_add,
    "div": mixed_div,
    "dot": mixed_dot,
    "sin_cos": mixed_sin_cos,
    "global_float32": mixed_global_float32,
    "exp": mixed_exp,
    "max": mixed_max,
    "mean": mixed_mean,
    "power": mixed_power,
    "b_only": mixed_b_only,
    "callee_float32": mixed_callee_float32,
    "astype": mixed_astype,
}

VALUES = {
    "f64": np.linspace(0.1, 0.9, 3),
    "f32": np.linspace(0.2, 0.7, 3).astype(np.float32),
    "s64": 0.5,
    "z64": np.array(0.5),
    "z32": np.array(0.5, dtype=np.float32),
}


def _dtype_of(value):
    return np.dtype(np.float64) if isinstance(value, float) else value.dtype


PAIRS = [("f32", "f64"), ("f64", "f32"), ("f32", "s64"), ("s64", "f32"), ("f64", "z32"),
         ("z32", "f64"), ("f64", "f64"), ("f32", "f32"), ("z64", "f64"), ("f64", "s64")]


@pytest.mark.parametrize("name, a_name, b_name", [
    (name, a, b) for name in MIXED for a, b in PAIRS
    if not (name == "astype" and isinstance(VALUES[a], float))])  # a float has no astype
def test_gradients_have_their_arguments_dtype_and_shape(name, a_name, b_name):
    fn, a, b = MIXED[name], VALUES[a_name], VALUES[b_name]
    grads = ast_ad.grad(fn, argnums=(0, 1))(a, b)
    _, vjp_fn = ast_ad.vjp(fn, a, b)
    vjp_grads = vjp_fn(1.0)
    for arg, g, g_vjp, i in zip((a, b), grads, vjp_grads, (0, 1)):
        for got in (g, g_vjp):
            assert np.shape(got) == np.shape(arg)
            assert np.result_type(got) == _dtype_of(arg), (i, np.result_type(got))
            assert isinstance(got, np.ndarray) == isinstance(arg, np.ndarray), (i, type(got))
        tol = 1e-3  # the reference is float32 where the function computes in float32
        reference = numeric_gradient(
            lambda p, q: fn(np.asarray(p, dtype=np.float64) if isinstance(a, np.ndarray) else p,
                            np.asarray(q, dtype=np.float64) if isinstance(b, np.ndarray) else q),
            (a, b), i, eps=1e-4)
        np.testing.assert_allclose(g, reference, rtol=tol, atol=tol)
        np.testing.assert_allclose(g_vjp, g, rtol=1e-6)


def test_float64_gradient_of_a_float32_product_is_float64():
    """The reproducer: the adjoint of y64 was np.full_like(x32 * y64, 1.0) * x32, simplified
    to 1.0 * x32, a float32 array."""
    x32, y64 = np.arange(1.0, 4.0, dtype=np.float32) / 3.0, np.ones(3)
    g = ast_ad.grad(lambda x, y: np.sum(x * y), argnums=1)(x32, y64)
    assert g.dtype == np.float64
    np.testing.assert_array_equal(g, x32.astype(np.float64))


# -- 4. argnums ------------------------------------------------------------------------

TRANSFORMS = [ast_ad.grad, ast_ad.value_and_grad, ast_ad.jacfwd, ast_ad.jacrev,
              ast_ad.jacobian, ast_ad.hessian]


def two_args(x, y):
    return x * y


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("argnums, words", [
    (1.0, r"argnums=1\.0 is not an int or a tuple of ints"),
    (None, "argnums=None is not an int"),
    (True, "argnums=True is not an int"),
    ((True,), r"argnums=\(True,\) is not an int"),
    ("0", "argnums='0' is not an int"),
    ({0: 1}, "is not an int or a tuple of ints"),
    ((0, 0), "names a parameter more than once"),
    ((0, -2), "names a parameter more than once"),
    (2, "argnums=2 does not fit"),
    (-3, "argnums=-3 does not fit"),
    ((0, 5), r"argnums=\(0, 5\) does not fit"),
    ((), "argnums is empty"),
])
def test_bad_argnums_are_an_aderror_when_transforming(transform, argnums, words):
    with pytest.raises(ADError, match=words) as info:
        transform(two_args, argnums=argnums)
    assert "argnums" in str(info.value)


def test_good_argnums_still_work():
    assert ast_ad.grad(two_args, argnums=[0, 1])(2.0, 3.0) == (3.0, 2.0)
    assert ast_ad.grad(two_args, argnums=np.int64(1))(2.0, 3.0) == 2.0
    assert ast_ad.grad(two_args, argnums=-1)(2.0, 3.0) == 2.0


# -- 5. NumPy array subclasses ---------------------------------------------------------

with warnings.catch_warnings():
    warnings.simplefilter("ignore", PendingDeprecationWarning)
    M = np.matrix([[1.0, 2.0], [3.0, 4.0]])


def times_global_matrix(x):
    return np.sum(x * M)


def makes_matrix(x):
    return np.sum(x * np.matrix([[1.0, 2.0], [3.0, 4.0]]))


def masks(x):
    return np.sum(np.ma.masked_less(x, 0.5) * x)


def sum_of_squares(x, w):
    return np.sum(x * x * w)


@pytest.mark.parametrize("value", [M,
                                   np.ma.array([[1.0, 2.0], [3.0, 4.0]], mask=[[0, 1], [0, 0]])])
def test_matrix_and_masked_arguments_are_rejected(value):
    plain = np.ones((2, 2))
    for call in (lambda: ast_ad.grad(sum_of_squares)(value, plain),
                 lambda: ast_ad.grad(sum_of_squares)(plain, value),  # not differentiated
                 lambda: ast_ad.vjp(sum_of_squares, value, plain),
                 lambda: ast_ad.jvp(sum_of_squares, (value, plain), (plain, plain)),
                 lambda: ast_ad.jacrev(sum_of_squares)(value, plain)):
        with pytest.raises(NonDifferentiableError, match="np.asarray"):
            call()


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
@pytest.mark.parametrize("fn, words", [
    (times_global_matrix, "M is a matrix"), (makes_matrix, "np.matrix makes a np.matrix"),
    (masks, "np.ma.masked_less makes")])
def test_matrices_made_or_read_inside_are_rejected(fn, words):
    with pytest.raises(NonDifferentiableError, match=words) as info:
        ast_ad.grad(fn)(np.ones((2, 2)))
    assert info.value.location.lineno == _line(fn, 1)


def test_object_arrays_are_not_differentiated():
    with pytest.raises(NonDifferentiableError, match="dtype object"):
        ast_ad.grad(lambda x: np.sum(x * x))(np.array([1.0, 2.0], dtype=object))


# -- 6. parameters with defaults -------------------------------------------------------


def with_default(x, y, k=2):
    return x * y ** k


def with_keyword_only(x, *, k=2.0):
    return x * k


def test_jvp_fills_in_defaults():
    assert ast_ad.jvp(with_default, (1.0, 2.0), (1.0, 0.0)) == (4.0, 4.0)
    assert ast_ad.jvp(with_default, (1.0, 2.0), (0.0, 1.0)) == (4.0, 4.0)
    assert ast_ad.jvp(with_default, (1.0, 2.0, 3), (0.0, 1.0, 0)) == (8.0, 12.0)
    assert ast_ad.jvp(with_keyword_only, (1.0,), (1.0,)) == (2.0, 2.0)


def test_vjp_and_jacobians_fill_in_defaults():
    value, vjp_fn = ast_ad.vjp(with_default, 1.0, 2.0)
    assert value == 4.0 and vjp_fn(1.0) == (4.0, 4.0)
    for jac in (ast_ad.jacfwd, ast_ad.jacrev, ast_ad.jacobian):
        assert jac(with_default, argnums=1)(1.0, 2.0) == pytest.approx(4.0)
        assert jac(with_default)(1.0, 2.0) == pytest.approx(4.0)


def test_jvp_without_a_required_argument_is_an_aderror():
    with pytest.raises(ADError, match="needs an argument for y"):
        ast_ad.jvp(with_default, (1.0,), (1.0,))


# -- 7. functions without Python source ------------------------------------------------


@pytest.mark.parametrize("fn", [np.append, np.sin, math.sin, abs,
                                functools.partial(with_default, k=3)])
def test_non_python_functions_are_a_source_unavailable_error(fn):
    x = np.ones(2)
    calls = [lambda: ast_ad.vjp(fn, x, x), lambda: ast_ad.jvp(fn, (x,), (x,)),
             lambda: ast_ad.jacobian(fn)(x), lambda: ast_ad.jacfwd(fn)(x),
             lambda: ast_ad.jacrev(fn)(x)]
    if not isinstance(fn, functools.partial):  # grad reads through partials
        calls += [lambda: ast_ad.grad(fn)(1.0), lambda: ast_ad.hessian(fn)(1.0)]
    for call in calls:
        with pytest.raises(SourceUnavailableError, match="wrap it in a Python function"):
            call()


# -- 8. powers at 0 --------------------------------------------------------------------

def pow_zero_float(x):
    return x ** 0.0


def pow_zero_float_summed(x):
    return np.sum(x ** 0.0)


def pow_zero_int(x):
    return x ** 0


def pow_zero_int_summed(x):
    return np.sum(x ** 0)


def pow_one_float(x):
    return x ** 1.0


def pow_one_float_summed(x):
    return np.sum(x ** 1.0)


def pow_one_int(x):
    return x ** 1


def pow_one_int_summed(x):
    return np.sum(x ** 1)


def pow_two(x):
    return x ** 2


def pow_two_summed(x):
    return np.sum(x ** 2)


def pow_three(x):
    return x ** 3.0


def pow_three_summed(x):
    return np.sum(x ** 3.0)


def np_power_zero(x):
    return np.power(x, 0.0)


def np_power_zero_summed(x):
    return np.sum(np.power(x, 0.0))


def np_power_two(x):
    return np.power(x, 2.0)


def np_power_two_summed(x):
    return np.sum(np.power(x, 2.0))


def math_pow_zero(x):
    return math.pow(x, 0.0)


POWERS = [
    ("x ** 0.0", pow_zero_float, pow_zero_float_summed, lambda x: 0.0 * x),
    ("x ** 0", pow_zero_int, pow_zero_int_summed, lambda x: 0.0 * x),
    ("x ** 1.0", pow_one_float, pow_one_float_summed, lambda x: 1.0 + 0.0 * x),
    ("x ** 1", pow_one_int, pow_one_int_summed, lambda x: 1.0 + 0.0 * x),
    ("x ** 2", pow_two, pow_two_summed, lambda x: 2.0 * x),
    ("x ** 3.0", pow_three, pow_three_summed, lambda x: 3.0 * x * x),
    ("np.power(x, 0.0)", np_power_zero, np_power_zero_summed, lambda x: 0.0 * x),
    ("np.power(x, 2.0)", np_power_two, np_power_two_summed, lambda x: 2.0 * x),
    ("math.pow(x, 0.0)", math_pow_zero, None, lambda x: 0.0 * x),
]


@pytest.mark.parametrize("label, fn, summed, derivative", POWERS, ids=[p[0] for p in POWERS])
@pytest.mark.parametrize("x", [0.0, 1.5, -2.0])
def test_powers_at_and_away_from_zero(label, fn, summed, derivative, x):
    assert ast_ad.grad(fn)(x) == pytest.approx(derivative(x))
    assert ast_ad.jvp(fn, (x,), (1.0,))[1] == pytest.approx(derivative(x))
    if summed is None:
        return
    xs = np.array([x, 0.0, 0.5])
    np.testing.assert_allclose(ast_ad.grad(summed)(xs), derivative(xs))
    np.testing.assert_allclose(ast_ad.jvp(fn, (xs,), (np.ones(3),))[1], derivative(xs))


def polynomial(x, n):
    s = 0.0
    for k in range(n):
        s = s + (k + 1.0) * x ** k
    return s


def power_of(x, e):
    return x ** e


def test_variable_exponent_zero_at_base_zero():
    assert ast_ad.grad(polynomial)(0.0, 4) == pytest.approx(2.0)
    assert ast_ad.jvp(polynomial, (0.0, 4), (1.0, 0))[1] == pytest.approx(2.0)
    assert ast_ad.grad(power_of, argnums=(0, 1))(0.0, 0.0) == (0.0, 0.0)
    assert ast_ad.grad(power_of, argnums=(0, 1))(0.0, 2.0) == (0.0, 0.0)
    assert ast_ad.jvp(power_of, (0.0, 0.0), (1.0, 0.0))[1] == 0.0
    np.testing.assert_allclose(
        ast_ad.grad(lambda x, e: np.sum(x ** e))(np.zeros(3), np.array([0.0, 1.0, 2.0])),
        [0.0, 1.0, 0.0])
    check_gradient(power_of, 1.5, 2.5)
    check_gradient(lambda x, e: np.sum(np.power(x, e)), np.array([0.5, 1.5]),
                   np.array([0.0, 2.5]))


def test_zero_to_a_power():
    assert ast_ad.grad(lambda y: 0.0 ** y)(2.0) == 0.0
    assert ast_ad.jvp(lambda y: 0.0 ** y, (2.0,), (1.0,)) == (0.0, 0.0)


# -- 9. errors raised while generated code runs name the user's line -------------------


def divides(x):
    y = x * 2.0
    return 1.0 / y


def takes_log(x):
    y = np.log(x)
    return y * y


def indexes(x, i):
    return x[i] * 2.0


def calls_divides(x):
    z = x + 1.0
    return divides(z) * 3.0


def _notes(error):
    return " | ".join(getattr(error, "__notes__", ()))


needs_notes = pytest.mark.skipif(sys.version_info < (3, 11), reason="add_note is 3.11+")


@needs_notes
def test_runtime_errors_name_the_users_line():
    here = __file__
    with pytest.raises(ZeroDivisionError) as info:
        ast_ad.value_and_grad(divides)(0.0)
    assert f"in divides, at {here}:{_line(divides, 2)}: return 1.0 / y" in _notes(info.value)
    with pytest.raises(ZeroDivisionError) as info:
        ast_ad.grad(divides)(0.0)
    assert f"in the derivative of divides, at {here}:" in _notes(info.value)
    with pytest.raises(FloatingPointError) as info, np.errstate(all="raise"):
        ast_ad.grad(takes_log)(0.0)
    assert f"in takes_log, at {here}:{_line(takes_log, 1)}: y = np.log(x)" in _notes(info.value)
    with pytest.raises(IndexError) as info:
        ast_ad.grad(indexes)(np.ones(2), 5)
    assert f"{here}:{_line(indexes, 1)}: return x[i] * 2.0" in _notes(info.value)
    with pytest.raises(ZeroDivisionError) as info:
        ast_ad.grad(calls_divides)(-1.0)
    assert f"divides, at {here}:" in _notes(info.value)


@needs_notes
def test_runtime_errors_name_the_users_line_in_every_transform():
    here = __file__
    where = f"at {here}:{_line(divides, 2)}: return 1.0 / y"
    calls = [lambda: ast_ad.jvp(divides, (0.0,), (1.0,)), lambda: ast_ad.vjp(divides, 0.0),
             lambda: ast_ad.jacobian(divides)(0.0), lambda: ast_ad.jacfwd(divides)(0.0),
             lambda: ast_ad.jacrev(divides)(0.0)]
    for call in calls:
        with pytest.raises(ZeroDivisionError) as info:
            call()
        assert where in _notes(info.value)
    for call in (lambda: ast_ad.hessian(divides)(0.0),
                 lambda: ast_ad.grad(ast_ad.grad(divides))(0.0)):
        with pytest.raises(ZeroDivisionError) as info:
            call()
        assert f"in the derivative of divides, at {here}:" in _notes(info.value)


@needs_notes
def test_a_note_is_added_once():
    g = ast_ad.grad(divides)
    for _ in range(2):
        with pytest.raises(ZeroDivisionError) as info:
            g(0.0)
        assert len(info.value.__notes__) == 1


# -- found on the way ------------------------------------------------------------------


def cubic_mix(x, y):
    return x * y * y


def test_second_derivative_reads_its_own_generated_code():
    """grad(f, argnums=0) and grad(f, argnums=1) both made <ast_ad:...:f_grad>: linecache held
    the latest, and grad(grad(f)) differentiated that one (6.0 instead of 0.0)."""
    ast_ad.grad(cubic_mix, argnums=0)(1.0, 3.0)
    ast_ad.grad(cubic_mix, argnums=1)(1.0, 3.0)
    assert ast_ad.grad(ast_ad.grad(cubic_mix, argnums=0))(1.0, 3.0) == 0.0
    assert ast_ad.grad(ast_ad.grad(cubic_mix, argnums=1), argnums=1)(1.0, 3.0) == 2.0
    assert ast_ad.hessian(cubic_mix, argnums=(0, 1))(1.0, 3.0)[0][1] == pytest.approx(6.0)


W23 = np.linspace(0.5, 1.5, 6).reshape(2, 3)


def broadcasts(x):
    return np.sum((x * W23) ** 2)


def test_hessian_through_unbroadcast():
    """The gradient code calls runtime.unbroadcast; forward mode over it read runtime.py."""
    np.testing.assert_allclose(ast_ad.hessian(broadcasts)(np.ones(3)),
                               np.diag(2.0 * np.sum(W23 ** 2, axis=0)))


def test_hessian_of_a_variable_power():
    x, y = 1.5, 2.5
    assert ast_ad.hessian(power_of)(x, y) == pytest.approx(y * (y - 1) * x ** (y - 2))
    assert ast_ad.hessian(power_of, argnums=1)(x, y) == pytest.approx(x ** y * np.log(x) ** 2)
    assert ast_ad.grad(ast_ad.grad(power_of))(x, y) == pytest.approx(y * (y - 1) * x ** (y - 2))


def vector_output(x):
    return np.array([x ** 3]) * 2.0


def test_second_derivatives_of_a_vector_output_say_so():
    """Forward mode over gradient code that cannot run reported a missing rule in the
    generated code; the gradient's own error comes first."""
    for call in (ast_ad.hessian(vector_output), ast_ad.grad(ast_ad.grad(vector_output)),
                 ast_ad.jacfwd(ast_ad.grad(vector_output))):
        with pytest.raises(NonScalarOutputError, match="returned ndarray of shape") as info:
            call(1.5)
        assert info.value.location.lineno == _line(vector_output, 1)
