"""Every adjoint rule against central finite differences, on scalars and on broadcast arrays."""

import math

import numpy as np
import pytest
from numeric import check_gradient, check_jvp

rng = np.random.default_rng(0)

# (primitive, low, high): inputs are drawn from [low, high], where the function is smooth.
UNARY = [
    (math.sin, -2, 2), (math.cos, -2, 2), (math.tan, -1, 1), (math.exp, -2, 2),
    (math.log, 0.5, 3), (math.log1p, -0.5, 2), (math.sqrt, 0.5, 3), (math.tanh, -2, 2),
    (math.sinh, -2, 2), (math.cosh, -2, 2), (math.atan, -2, 2), (math.asin, -0.9, 0.9),
    (math.acos, -0.9, 0.9), (math.fabs, 0.5, 2), (math.fabs, -2, -0.5),
    (np.sin, -2, 2), (np.cos, -2, 2), (np.tan, -1, 1), (np.exp, -2, 2), (np.log, 0.5, 3),
    (np.log1p, -0.5, 2), (np.sqrt, 0.5, 3), (np.tanh, -2, 2), (np.sinh, -2, 2),
    (np.cosh, -2, 2), (np.arctan, -2, 2), (np.arcsin, -0.9, 0.9), (np.arccos, -0.9, 0.9),
    (np.abs, 0.5, 2), (np.abs, -2, -0.5), (np.negative, -2, 2), (abs, -2, -0.5),
    (float, -2, 2),
]


def _id(row):
    fn = row[0]
    return f"{getattr(fn, '__module__', None) or 'numpy'}.{fn.__name__}[{row[1]},{row[2]}]"


def scalar_of(fn):
    def f(x):
        return fn(x)
    return f


def array_of(fn, weights):
    def f(x):
        return np.sum(fn(x) * weights)
    return f


@pytest.mark.parametrize("row", UNARY, ids=[_id(r) for r in UNARY])
def test_unary_scalar(row):
    fn, low, high = row
    check_gradient(scalar_of(fn), float(rng.uniform(low, high)))


@pytest.mark.parametrize("row", [r for r in UNARY if r[0].__class__ is np.ufunc or r[0] is abs],
                         ids=[_id(r) for r in UNARY if r[0].__class__ is np.ufunc or r[0] is abs])
def test_unary_array(row):
    fn, low, high = row
    x = rng.uniform(low, high, size=(3, 4))
    check_gradient(array_of(fn, rng.normal(size=(3, 4))), x)


def test_log_with_base():
    def f(x, base):
        return math.log(x, base)
    check_gradient(f, 2.5, 3.0)


def test_pow_functions():
    def f(x, y):
        return math.pow(x, y) + np.power(x, y)
    check_gradient(f, 1.7, 2.3)

    def g(x, y, w):
        return np.sum(np.power(x, y) * w)
    check_gradient(g, rng.uniform(0.5, 2, (3, 1)), rng.uniform(0.5, 2, (1, 4)),
                   rng.normal(size=(3, 4)), argnums=(0, 1))


# -- operators ------------------------------------------------------------------


def op_add(x, y, w):
    return np.sum((x + y) * w)


def op_sub(x, y, w):
    return np.sum((x - y) * w)


def op_mul(x, y, w):
    return np.sum((x * y) * w)


def op_div(x, y, w):
    return np.sum((x / y) * w)


def op_pow(x, y, w):
    return np.sum((x ** y) * w)


def op_mod(x, y, w):
    return np.sum((x % y) * w)


def op_neg(x, y, w):
    return np.sum((-x + +y) * w)


OPERATORS = [op_add, op_sub, op_mul, op_div, op_pow, op_mod, op_neg]
# Pairs of shapes that broadcast, () being a Python float.
SHAPES = [((), ()), ((3,), (3,)), ((2, 3), (3,)), ((3,), (2, 3)), ((2, 1), (1, 3)),
          ((), (2, 3)), ((2, 3), ()), ((1,), (2, 3)), ((2, 1, 3), (4, 1))]


def _value(shape, low, high):
    if shape == ():
        return float(rng.uniform(low, high))
    return rng.uniform(low, high, size=shape)


@pytest.mark.parametrize("op", OPERATORS, ids=[o.__name__ for o in OPERATORS])
@pytest.mark.parametrize("shapes", SHAPES, ids=[f"{a}x{b}" for a, b in SHAPES])
def test_operator_broadcasting(op, shapes):
    low, high = (0.5, 2.0)
    x = _value(shapes[0], low, high)
    y = _value(shapes[1], low, high) if op is not op_mod else _value(shapes[1], 2.5, 3.0)
    w = rng.normal(size=np.broadcast_shapes(np.shape(x), np.shape(y)))
    check_gradient(op, x, y, w, argnums=(0, 1))


def test_operators_on_python_floats():
    def f(x, y):
        return (x + y) * (x - y) / y ** 2 - x % y + -x
    check_gradient(f, 1.3, 0.7)


def test_same_variable_twice():
    def f(x):
        return x * x + x / x - x ** x
    check_gradient(f, 1.4)


# -- reductions and linear algebra ---------------------------------------------


def reduce_sum(x, w, axis, keepdims):
    return np.sum(np.sum(x, axis=axis, keepdims=keepdims) * w)


def reduce_mean(x, w, axis, keepdims):
    return np.sum(np.mean(x, axis=axis, keepdims=keepdims) * w)


@pytest.mark.parametrize("reduce", [reduce_sum, reduce_mean], ids=["sum", "mean"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(reduce, axis, keepdims):
    x = rng.normal(size=(2, 3, 4))
    w = rng.normal(size=np.sum(x, axis=axis, keepdims=keepdims).shape)
    check_gradient(reduce, x, w, axis, keepdims, argnums=(0,))


def test_reduction_positional_axis():
    def f(x):
        return np.sum(np.sum(x, 1) ** 2) + np.mean(x)
    check_gradient(f, rng.normal(size=(3, 4)))


def matmul_op(x, y, w):
    return np.sum((x @ y) * w)


def matmul_fn(x, y, w):
    return np.sum(np.matmul(x, y) * w)


def dot_fn(x, y, w):
    return np.sum(np.dot(x, y) * w)


MATMUL_SHAPES = [((3, 4), (4, 2)), ((4,), (4, 2)), ((3, 4), (4,)), ((4,), (4,)),
                 ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((4,), (2, 4, 5)),
                 ((2, 3, 4), (4,)), ((3, 4), (2, 4, 5))]


@pytest.mark.parametrize("fn", [matmul_op, matmul_fn], ids=["@", "np.matmul"])
@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=[f"{a}x{b}" for a, b in MATMUL_SHAPES])
def test_matmul(fn, shapes):
    x, y = rng.normal(size=shapes[0]), rng.normal(size=shapes[1])
    w = rng.normal(size=np.shape(x @ y))
    check_gradient(fn, x, y, w, argnums=(0, 1))


DOT_SHAPES = [((3, 4), (4, 2)), ((4,), (4, 2)), ((3, 4), (4,)), ((4,), (4,)), ((), (3, 2)),
              ((3, 2), ()), ((2, 3, 4), (4, 5)), ((2, 3, 4), (5, 4, 2))]


@pytest.mark.parametrize("shapes", DOT_SHAPES, ids=[f"{a}x{b}" for a, b in DOT_SHAPES])
def test_dot(shapes):
    x = _value(shapes[0], -1, 1) if shapes[0] == () else rng.normal(size=shapes[0])
    y = rng.normal(size=shapes[1]) if shapes[1] != () else float(rng.normal())
    w = rng.normal(size=np.shape(np.dot(x, y)))
    check_gradient(dot_fn, x, y, w, argnums=(0, 1))


# -- the same primitives in forward mode ---------------------------------------------


@pytest.mark.parametrize("row", UNARY, ids=[_id(r) for r in UNARY])
def test_unary_tangent(row):
    fn, low, high = row
    check_jvp(scalar_of(fn), float(rng.uniform(low, high)))
    if isinstance(fn, np.ufunc) or fn is abs:
        check_jvp(array_of(fn, rng.normal(size=(3, 4))), rng.uniform(low, high, size=(3, 4)))


@pytest.mark.parametrize("op", OPERATORS, ids=[o.__name__ for o in OPERATORS])
@pytest.mark.parametrize("shapes", SHAPES, ids=[f"{a}x{b}" for a, b in SHAPES])
def test_operator_tangents(op, shapes):
    x = _value(shapes[0], 0.5, 2.0)
    y = _value(shapes[1], 0.5, 2.0) if op is not op_mod else _value(shapes[1], 2.5, 3.0)
    w = rng.normal(size=np.broadcast_shapes(np.shape(x), np.shape(y)))
    check_jvp(op, x, y, w)


@pytest.mark.parametrize("reduce", [reduce_sum, reduce_mean], ids=["sum", "mean"])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2)])
def test_reduction_tangents(reduce, axis):
    x = rng.normal(size=(2, 3, 4))
    w = rng.normal(size=np.sum(x, axis=axis).shape)
    check_jvp(reduce, x, w, axis, False)


@pytest.mark.parametrize("fn", [matmul_op, matmul_fn], ids=["@", "np.matmul"])
@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=[f"{a}x{b}" for a, b in MATMUL_SHAPES])
def test_matmul_tangents(fn, shapes):
    x, y = rng.normal(size=shapes[0]), rng.normal(size=shapes[1])
    check_jvp(fn, x, y, rng.normal(size=np.shape(x @ y)))
