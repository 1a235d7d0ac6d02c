"""Functions with a local named after a builtin (tests/test_builtin_names.py)."""

import math


def zip_with_local_min(x, y):
    min = 0.5  # noqa: A001
    acc = 0.0
    for u, v in zip([x, y, x], [y, x]):  # (the loop pass writes min(len(...), len(...)))
        acc = acc + u * v * min
    return acc


def comprehension_over_local_range(x, y):
    range = [x, y]  # noqa: A001
    return sum([v * v for v in range]) + x


def while_with_local_range(x):
    range = 3.0  # noqa: A001
    k = 0
    while k < 2:  # (replayed backward by `for _ in range(trips)`)
        x = math.sin(x) * range
        k = k + 1
    return x


def loop_with_local_reversed(x, y):
    reversed = [x, y]  # noqa: A001
    acc = 0.0
    for v in reversed:  # (its adjoint goes into the forward loop: no backward loop)
        acc = acc + v * x * y
    return acc
