"""Functions with branches, loops and early exits (see test_control_flow.py)."""

import math

import numpy as np


def if_else(x, y):
    if x > y:
        z = x * y
    else:
        z = x + math.sin(y)
    return z * z


def if_elif_else(x):
    if x > 1.0:
        y = x ** 3
    elif x > 0.0:
        y = math.sin(x) * x
    else:
        y = -x * 2.0
    return y + x


def nested_if(x, y):
    z = x
    if x > 0.0:
        if y > 0.0:
            z = x * y
        else:
            z = x - y * y
        z = z + 1.0
    return z * x


def conditional_expression(x, y):
    z = x * y if x < y else x / y
    return z + (math.exp(x) if y > 0.5 and x > 0.0 else x)


def boolean_conditions(x, y):
    if not (x > 0.0 or y > 0.0) or x == y:
        return x * 3.0
    if 0.0 < x < 1.0:
        return x * y
    return y * y


def one_sided_if(x):
    y = x * 2.0
    if x > 0.5:
        y = y * y
    return y


def for_range(x, n):
    s = 0.0
    for i in range(n):
        s = s + math.sin(x * i) * x
    return s


def for_range_start_stop_step(x, start, stop, step):
    s = x
    for i in range(start, stop, step):
        s = s * x + i
    return s


def for_range_from_argument(x):
    s = 0.0
    for i in range(int(x) + 2):
        s = s + x ** i
    return s


def scalar_loop(x, a):
    s = 0.0
    for i in range(100):
        s = s + math.sin(x * i * 0.01) * a + x * x * 0.001
    return s


def while_loop(x):
    y = x
    n = 0
    while y < 10.0:
        y = y * 1.5 + x
        n += 1
    return y * n


def while_with_compound_condition(x, limit):
    y = x
    i = 0
    while i < limit and y < 100.0:
        y = y * y + 1.0
        i += 1
    return y


def nested_loops(x, n, m):
    s = 0.0
    for i in range(n):
        t = x
        for j in range(m):
            t = t * x + j
        s = s + t * i
    return s


def break_and_continue(x, n):
    s = 0.0
    for i in range(n):
        if s > 5.0:
            break
        if i % 2 == 0:
            continue
        s = s + x * i
    return s


def nested_break(x, n):
    s = x
    for i in range(n):
        if i > 1:
            if s > 3.0:
                break
            s = s * 1.1
        s = s + x
    return s


def while_true_break(x):
    y = x
    while True:
        y = y * 2.0
        if y > 10.0:
            break
    return y


def early_return(x):
    if x > 1.0:
        return x * x
    elif x > 0.0:
        return math.sin(x)
    return -x


def return_in_loop(x):
    for i in range(10):
        x = x * 1.3
        if x > 5.0:
            return x * i
    return x


def return_in_nested_loop(x):
    for i in range(4):
        for j in range(4):
            x = x + 0.1 * x * j
            if x > 3.0:
                return x * (i + 1)
    return -x


def iterate_list(x):
    total = 0.0
    for c in [1.0, 2.0, 3.0]:
        total = total + c * x
    for c in (0.5, 0.25):
        total = total * c + x
    return total


def iterate_array_rows(W, v):
    total = 0.0
    for row in W:
        total = total + np.sum(np.tanh(row * v))
    return total


def iterate_enumerate_zip(W, v):
    total = 0.0
    for i, w in enumerate(W):
        total = total + w[0] * i
    for a, b in zip(W, W[::-1]):
        total = total + np.sum(a * b * v)
    for k, (a, c) in enumerate(zip(W, v), 1):
        total = total + np.sum(a) * c * k
    for r in reversed(W):
        total = total * 0.5 + r[1]
    return total


def tuple_unpacking_and_swaps(x, y):
    a, b = x, y
    for _ in range(3):
        a, b = b, a * b
    (c, d), e = (a, b), x
    return a + b * c - d * e


def augmented_assignment(x, y):
    z = x
    z += y
    z *= x
    z -= 1.0
    z /= y
    z **= 2
    return z


def reassign_many_times(x):
    h = x
    h = h * 2.0
    h = math.sin(h)
    h = h + x
    h = h * h
    return h


def non_differentiable_values(x, n):
    k = len([1, 2, 3]) + n
    shape = np.shape(x)
    flag = k > 3 and shape == ()
    label = "big" if flag else "small"
    if label == "big":
        return x * k
    return x / k


def loop_with_branch(x, n):
    s = x
    for i in range(n):
        if i % 3 == 0:
            s = s * x
        elif i % 3 == 1:
            s = s + math.cos(s)
        else:
            s = s - x * 0.5
    return s


def rnn(W, U, x, h0):
    h = h0
    for t in range(x.shape[0]):
        h = np.tanh(W @ h + U @ x[t])
    return np.sum(h ** 2)


def write_elements(x, n):
    y = np.zeros(n)
    for i in range(n):
        y[i] = math.sin(x * i) + x
    return np.sum(y * y)


def write_then_read_old_values(x):
    y = x * 2.0
    z = y * x          # reads y before it is overwritten
    y[0] = 3.0 * x[1]
    y[1:] += x[:-1]
    return np.sum(z * y)


def write_slices_and_pairs(A, v):
    B = A * 1.0
    B[0, 1] = v[0] * v[1]
    B[:, 0] = v * 2.0
    B[1] *= v[2]
    return np.sum(B ** 2) + np.sum(A * B)


def write_broadcast_scalar(x, c):
    y = x * 1.0
    y[1:3] = c
    return np.sum(y * x)


def build_list_and_stack(x, n):
    ys = []
    for i in range(n):
        ys.append(np.tanh(x * (i + 1)))
    Y = np.stack(ys)
    return np.sum(Y ** 2)


def build_list_of_scalars(x):
    values = []
    for i in range(4):
        values.append(x ** i)
    values.append(math.sin(x))
    return np.sum(np.array(values) * np.arange(1.0, 6.0))


def array_of_scalars(a, b):
    v = np.array([a, b * a, math.sin(b)])
    return np.sum(v * v)


def list_read_after_append(x):
    ys = [x]
    for i in range(3):
        ys.append(ys[-1] * x + i)
    return ys[0] * ys[2] + ys[-1]


def recurrence_in_array(x, n):
    h = np.zeros(n + 1)
    h[0] = x
    for t in range(n):
        h[t + 1] = math.tanh(h[t] * 1.5 + x)
    return h[n] + np.sum(h)


def constant_in_one_branch_loop_in_the_other(x, n):
    # the loop's header is also the if's merge name: it must not become the parameter
    # (the constant branch overwrote x, and its adjoint was never reset: fuzz seed 22)
    if n > 0:
        x = 1.5
    else:
        for _ in range(n):
            x = x * 2.0
    return math.sin(x)
