"""Functions that give the name of a builtin the generated code calls to something else
(tests/test_builtin_names.py)."""


def len(xs):  # noqa: A001 (a module function that happens to be called len)
    return 2


def loop_over_list(x, y):
    xs = [x, y, x * y]
    total = 0.0
    for v in xs:  # (the loop pass writes `for k in range(len(xs))`)
        total = total + v * v
    return total


def max_of_list(x, y):
    return max([x * y * v for v in range(1, 4)])  # (a loop `for k in range(1, len(items))`)
