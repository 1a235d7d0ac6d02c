"""Python as people write it (issue 12): comprehensions, `with` blocks, bound methods,
*args/**kwargs helpers, recursion (see test_python_syntax.py); errors on known lines."""

import contextlib
import math
import threading
import warnings

import numpy as np

# -- comprehensions -----------------------------------------------------------------

def weighted_sum(ws, xs):
    return sum(w * x for w, x in zip(ws, xs))


def stack_rows(x, W):
    rows = [np.tanh(W[i] * x) for i in range(W.shape[0]) if i != 1]
    return np.sum(np.stack(rows) ** 2)


def array_of_scalars(x, y):
    v = np.array([x * k + y for k in range(4)])
    return np.sum(v * v)


def largest(x, y):
    return max(x * a + y for a in (1.0, 2.0, -3.0)) + min([x * y * k - k for k in (1.0, -1.0, 2.0)])


def nested_loops(x, n):
    return sum(x ** i * j for i in range(n) for j in range(i) if (i + j) % 2 == 0)


def scoped(x):
    i = 10.0
    s = sum(x * i for i in range(3))
    return s * i  # the outer i, unchanged by the comprehension's


def first_iterable_outside(x):
    xs = [x, 2.0 * x]
    return sum(x * x for x in xs)  # `xs` is read before the comprehension's x exists


def lazy_branch(x, take):
    return x * x if take else sum([1.0 / (x - x) for _ in range(2)])


def in_while_condition(x):
    while sum(x * j for j in range(3)) < 20.0:
        x = x * 1.5
    return x


def sum_of_arrays(x):
    return np.sum(sum(np.sin(x * k) for k in range(3)) ** 2)


def sum_with_start(x, y):
    return sum((x * k for k in range(3)), y * y)


def empty_sum(x, n):
    return x + sum(x * k for k in range(n))


def consumed_as_list(x):
    t = list(x * k for k in range(3))
    return t[1] * t[2] + float(any(v > 1.0 for v in t))


def generator_as_value(x):
    g = (x * k for k in range(3))
    return sum(g)


def generator_to_numpy(x):
    return np.array(x * k for k in range(3))


# -- with blocks ----------------------------------------------------------------------

def entropy(p):
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    return -np.sum(terms)


def quiet_sqrt(x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = np.sqrt(x) * x
    return np.sum(y)


def nested_with_return(x):
    with np.errstate(over="ignore"):
        with warnings.catch_warnings():
            if x > 0:
                return math.exp(x) * 2.0
        y = x * x
    return y * x


def with_in_loop(x, n):
    s = 0.0
    for i in range(n):
        with np.errstate(divide="ignore"):
            s = s + np.log(x * i + 1.0)
            if s > 100.0:
                break
    return s


def raising_errstate(x):
    with np.errstate(divide="raise"):
        y = np.log(x)
    return np.sum(y)


def suppressing(x):
    with contextlib.suppress(ValueError):
        x = x * 2
    return x


def unknown_manager(x):
    with threading.Lock():
        x = x * 2
    return x


def binding_manager(x):
    with warnings.catch_warnings(record=True) as caught:
        x = x * 2
    return x + len(caught)


def computed_manager_argument(x, mode):
    with np.errstate(divide=mode):
        x = x * 2
    return x


# -- bound methods ---------------------------------------------------------------------

class Layer:
    def __init__(self, W, b):
        self.W = W
        self.b = b

    @property
    def bias(self):
        return 2.0 * self.b

    def predict(self, x):
        return np.tanh(self.W @ x + self.bias)

    def loss(self, x, y=None):
        error = self.predict(x) - (0.0 if y is None else y)
        return np.sum(error ** 2) + self.penalty(x)

    def penalty(self, x, weight=0.1):
        return weight * np.sum(x * x)


class Recorder:
    def __init__(self):
        self.items = [0.0]

    def record(self, x):
        self.items.append(x * 2.0)
        return self.items[-1] * x


class ScaledLayer(Layer):
    def predict(self, x):
        return 3.0 * np.sin(self.W @ x)


# -- *args and **kwargs in helpers --------------------------------------------------------

def _norm2(*xs):
    return sum(x * x for x in xs)


def _shifted(x, shift=0.0, power=2):
    return (x - shift) ** power


def _scaled(x, *rest, scale=1.0, **options):
    total = x
    for r in rest:
        total = total * r
    return scale * _norm2(x, *rest) + _shifted(total, **options)


def packs(a, b):
    return _norm2(a, b, 2.0 * a) + _scaled(a, b, scale=3.0, shift=0.5, power=3) + _scaled(b)


def _array_args(*arrays):
    return np.sum(np.stack(arrays) ** 2)


def packs_arrays(x, y):
    return _array_args(x, np.sin(y), x * y)


def _reads_kwargs(x, **options):
    return x * len(list(options))


def kwargs_as_dict(x):
    return _reads_kwargs(x, s=2.0)


# -- recursion -------------------------------------------------------------------------------

def power(x, n):
    if n == 0:
        return 1.0
    return x * power(x, n - 1)


def newton_sqrt(a, x):
    """Newton's iteration for sqrt(a), written recursively until it converges."""
    if abs(x * x - a) < 1e-12:
        return x
    return newton_sqrt(a, 0.5 * (x + a / x))


def sqrt_by_newton(a):
    return newton_sqrt(a, 1.0) * 2.0


def shrinking(x):
    if x.shape[0] == 1:
        return x[0] ** 2
    return shrinking(x[1:]) * np.cos(x[0]) + np.sin(x[0])


def _kind_changes(x, n):
    if n == 0:
        return x * 2.0  # an array at the bottom, a scalar above it
    return np.sum(_kind_changes(x, n - 1)) * x


def kind_changes_with_depth(x):
    return np.sum(_kind_changes(x, 3))


def growing(x, n):
    if n == 0:
        return np.sum(x ** 2)
    return growing(np.concatenate([x, np.sin(x)]), n - 1)


def two_calls(x, n):
    return x if n <= 1 else x * n * two_calls(x * 0.5, n - 1) + two_calls(x, n - 2)


def _is_even(x, n):
    return x if n == 0 else _is_odd(x * 2.0, n - 1)


def _is_odd(x, n):
    return -x if n == 0 else _is_even(x * 3.0, n - 1)


def mutual(x):
    return _is_even(x, 3)


def _collect(xs, x, n):
    if n == 0:
        return sum(xs)
    xs.append(x)
    return _collect(xs, x * 2.0, n - 1)


def recursion_changing_arguments(x):
    return _collect([], x, 3)


def nested_comprehension_array(x):
    # each row's adjoint comes back from np.array's adjoint as an array row
    A = np.array([[x[i] * x[j] for j in range(3)] for i in range(3)])
    return np.sum(A ** 2)


def ufunc_of_a_comprehension(a, d):
    # np.sin of a list: its adjoint is an array, popped item by item in the backward loop
    return np.sum(np.sin([a * j for j in range(d)]), axis=0)


def two_uses_of_a_comprehension(a, d):
    ys = [a * j for j in range(d)]
    return np.sum(np.exp(ys)) + np.sum(np.array(ys) ** 2) + sum(ys)
