"""Functions ast-ad must reject, each with the construct on a known line (see test_errors.py)."""

import collections
import math
from dataclasses import dataclass

import numpy as np

import ast_ad


def uses_try(x):
    try:
        return x * 2
    except ValueError:
        return x


def uses_with(x):
    with open("f") as fh:
        return x * len(fh.read())


def uses_yield(x):
    yield x * 2


def uses_lambda_as_argument(x):
    values = sorted([x, 2.0], key=lambda v: -v)
    return values[0]


def uses_comprehension(x):
    return sum({x * i for i in range(3)})


def uses_global(x):
    global counter
    counter = 1
    return x


def uses_del(x):
    y = x * 2
    del y
    return x


def uses_class(x):
    class Box:
        pass
    return x


def uses_local_function_as_value(x):
    def inner(v):
        return v * 2
    helper = inner
    return helper(x)


def uses_decorated_nested_def(x):
    @staticmethod
    def inner(v):
        return v * 2
    return inner(x)


def local_recursion(x):
    def fall(v):
        return v if v < 0.0 else fall(v - 1.0)
    return fall(x)


def uses_starred(x):
    args = (x, 2.0)
    return math.pow(*args)


def uses_walrus(x):
    return (y := x * 2) + y


def uses_for_else(x):
    for _ in range(3):
        x = x * 2
    else:
        x = x + 1
    return x


def uses_complex(x):
    return x * 2j


def uses_dict(x):
    return {**{"a": x}}["a"]


def uses_varargs(*xs):
    return xs[0]


def calls_unknown(x):
    return np.frompyfunc(math.sin, 1, 1)(x) * 2.0


def calls_fmod(x):
    y = x * 2.0
    return math.fmod(y, 3.0)


def unknown_method(x):
    return x.byteswap().sum()


def unknown_attribute(x):
    return np.sum(x.base + x)


def vector_output(x):
    return np.sin(x)


def ignores_input(x, n):
    return x * n


class Pair(collections.namedtuple("PairBase", "a b")):
    def __new__(cls, a, b):  # (code of its own when built: not a record)
        return super().__new__(cls, a, max(a, b))


@dataclass
class Box:
    a: float
    b: float

    def __post_init__(self):
        self.b = max(self.a, self.b)


def builds_a_namedtuple(x):
    p = Pair(x, 2.0 * x)
    return p.a * p.b


def builds_a_dataclass(x):
    p = Box(x, 2.0 * x)
    return p.a * p.b


def inner_loss(w, x):
    return np.sum((w * x) ** 2)


def gradient_penalty(w, x):
    g = ast_ad.grad(inner_loss)(w, x)
    return np.sum(g ** 2)


def constant_inner_gradient(w, x):
    g = ast_ad.grad(inner_loss)(np.ones(2), np.ones(2))  # (no derivative flows in)
    return np.sum(w * x) + np.sum(g)
