"""Bugs found by tools/peers.py and the forward-vs-reverse property tests, one test each."""

import math

import calls_cases
import control_cases as c
import numpy as np
import pytest
from numeric import check_gradient, check_jvp

import ast_ad


@pytest.mark.parametrize("fn, args", [
    (c.if_elif_else, (1.5,)), (c.if_elif_else, (0.5,)), (c.if_elif_else, (-0.5,)),
    (c.for_range, (0.7, 0)), (c.nested_loops, (0.9, 0, 4)), (c.early_return, (2.0,)),
    (c.iterate_array_rows, (np.zeros((0, 3)), np.ones(3))),
    (calls_cases.calls_in_a_loop, (0.4, 0)),
], ids=lambda v: getattr(v, "__name__", None))
def test_vjp_of_a_branch_not_taken_or_a_loop_run_zero_times(fn, args):
    # vjp's forward function returned every residual, also those of the branch not taken
    # (or of a loop that ran no iteration): UnboundLocalError.
    value, vjp_fn = ast_ad.vjp(fn, *args)
    nums = tuple(i for i, a in enumerate(args) if isinstance(a, (float, np.ndarray)))
    expected_value, expected = ast_ad.value_and_grad(fn, argnums=nums)(*args)
    assert value == expected_value
    grads = vjp_fn(1.0)
    for i, e in zip(nums, expected):
        np.testing.assert_allclose(grads[i], e, rtol=1e-12)


def full_of_sum(x, w):
    return np.sum(np.full((2, 3), np.sum(x) * 0.5) * w)


def full_like_of(x, s, w):
    return np.sum(np.full_like(x, s) * w * x)


def linspace_between(a, b, w):
    return np.sum(np.linspace(a, b, 5) ** 2 * w) + np.sum(np.linspace(b, a, 4, False))


def tanh_of_sum(x):
    return np.tanh(np.sum(x)) * 2.0


@pytest.mark.parametrize("fn, args, argnums", [
    (full_of_sum, (np.array([0.3, -0.2, 0.7]), np.arange(6.0).reshape(2, 3)), (0,)),
    (full_like_of, (np.array([0.3, -0.2, 0.7]), 1.5, np.array([1.0, 2.0, -1.0])), (0, 1)),
    (linspace_between, (0.5, 2.0, np.array([1.0, -2.0, 0.5, 3.0, 1.0])), (0, 1)),
], ids=["full", "full_like", "linspace"])
def test_fill_values_and_linspace_ends_carry_derivatives(fn, args, argnums):
    # np.full, np.full_like and np.linspace were declared "a constant array": their fill value
    # (and linspace's ends) got a zero gradient and a zero tangent.
    check_gradient(fn, *args, argnums=argnums)
    check_jvp(fn, *args, argnums=argnums)


def test_hessian_through_the_gradient_of_a_sum():
    # The gradient of np.sum is np.full_like(x, b): its tangent was zero, so every Hessian
    # through a sum was zero (here 2 tanh''(s) in every entry).
    x = np.array([0.1, 0.2])
    t = np.tanh(np.sum(x))
    expected = np.full((2, 2), 2.0 * -2.0 * t * (1.0 - t * t))
    np.testing.assert_allclose(ast_ad.hessian(tanh_of_sum)(x), expected, rtol=1e-12)


def index_trick(x):
    return np.sum(np.r_[x, 2.0 * x] ** 2)


def column_trick(x):
    return np.sum(np.c_[x, x])


@pytest.mark.parametrize("fn, line", [(index_trick, "np.r_[x, 2.0 * x]"),
                                      (column_trick, "np.c_[x, x]")])
def test_index_objects_with_differentiated_values_are_rejected(fn, line):
    # np.r_[x, y] / np.c_[...] gave a zero gradient: the index was taken as an integer.
    x = np.array([0.5, -1.0])
    with pytest.raises(ast_ad.NoRuleError, match=r"np\.r_|np\.c_") as info:
        ast_ad.grad(fn)(x)
    assert "test_harness_findings.py" in str(info.value) and line in str(info.value)
    assert "np.concatenate" in str(info.value)
    with pytest.raises(ast_ad.NoRuleError, match=r"np\.r_|np\.c_"):
        ast_ad.jvp(fn, (x,), (x,))


def test_constant_index_objects_still_work():
    def f(x):
        return np.sum(x * np.r_[1.0, 2.0])
    np.testing.assert_allclose(ast_ad.grad(f)(np.array([0.5, -1.0])), [1.0, 2.0])


def exp_then_loop(y):
    s = np.exp(y)
    for _ in range(2):
        s = s * 0.8
    return s


def sqrt_then_loop(y):
    s = math.sqrt(y)
    for _ in range(2):
        s = s * 0.8 + 0.1
    return s + y


def divide_then_loop(x, y):
    s = x / y
    for _ in range(3):
        s = s * 1.5
    return s


def hypot_then_loop_then_helper(x, y):
    s = np.hypot(y, 1.0)
    for _ in range(2):
        s = s * 0.8
    u = first(y, s, x)
    return u + s


def first(a, b, c):
    return a


def loop_whose_forward_is_dead(x, y):
    s = y * y
    for _ in range(2):
        s = s * 0.8
    u = y
    return u + s


@pytest.mark.parametrize("fn, args", [
    (exp_then_loop, (0.5,)), (sqrt_then_loop, (0.7,)), (divide_then_loop, (0.7, 1.3)),
    (hypot_then_loop_then_helper, (0.0, 0.6)), (loop_whose_forward_is_dead, (0.3, 0.5)),
], ids=lambda v: getattr(v, "__name__", None))
def test_a_value_read_by_its_adjoint_survives_a_loop_that_reuses_its_name(fn, args):
    # SSA let the loop reuse the name of the value before it (`s = np.exp(y)` then
    # `for ...: s = s * 0.8`), but exp's adjoint reads that value after the loop has
    # overwritten it: by = bs * s with the final s (0.675 instead of 1.055 for exp).
    check_gradient(fn, *args)
    check_jvp(fn, *args)


def test_a_loop_whose_forward_statements_are_all_dead_is_still_valid_python():
    # grad (no value) needs nothing of the forward loop: its body was emptied, and the
    # generated `for _ in range(2):` with no body was an IndentationError.
    y = 0.5
    assert ast_ad.grad(loop_whose_forward_is_dead, argnums=(0, 1))(0.3, y) == \
        (0.0, pytest.approx(1.0 + 2.0 * y * 0.64))
    assert ast_ad.grad(exp_then_loop)(y) == pytest.approx(np.exp(y) * 0.64)


def scaled(x, k=3, offset=0.5):
    return x * k + offset


def transpose_by(x, axes):
    return np.sum(np.transpose(x, axes=axes) * np.arange(6.0).reshape(3, 2))


def test_jvp_of_a_function_called_without_its_defaults():
    # The tangents were passed where the defaults go: TypeError "missing ... 'dx'".
    assert ast_ad.jvp(scaled, (1.0,), (1.0,)) == (3.5, 3.0)
    assert ast_ad.jvp(scaled, (1.0, 2), (1.0, 0.0)) == (2.5, 2.0)


def test_transpose_with_axes_none_passed_as_an_argument():
    # axes=None known only at run time: the adjoint's inverse permutation crashed (TypeError).
    check_gradient(transpose_by, np.ones((2, 3)), None, argnums=(0,))
    check_jvp(transpose_by, np.ones((2, 3)), None, argnums=(0,))


def square_of(a):
    return a * a


def square_plus_sine(a):
    return square_of(a) + math.sin(a)  # calls a helper: stays a callee, not inlined


def rebinds_in_a_while_loop(x, y, n):
    v1 = y
    v2 = 0
    while v2 < n:
        v2 = v2 + 1
        x = 0.5
    v3 = square_plus_sine(x * y) * (v1 * 2.0 + x * 4.0)
    return math.sin(v3)


def test_an_adjoint_reading_a_loop_carried_name_is_not_moved_past_its_restore():
    # tools/fuzz_codegen.py --seed 11: simplify folded `by = t9 * x` (x after the loop)
    # into a statement after the backward loop, where save then put x's entry value
    # back (`x = x_entry`): the gradient in y read the old x (1.336 instead of -2.423).
    args = (-0.5567666695900158, 0.8409963766379354, 2)
    check_gradient(rebinds_in_a_while_loop, *args, argnums=(0, 1))


def half_squared(a):
    return a * a


def squared_plus_sine(a):
    return half_squared(a) + math.sin(a)


def loop_inside_an_if(x, y, n):
    v1 = x + y * 2.0
    v2 = v1 * 0.01
    v1 = (y - v1) - x
    if y > 0.5:
        for _ in range(n):
            if 0.5 > 0.5:
                if y > 0.5:
                    v2, y = y, v2
                else:
                    y = half_squared(0.5)
            else:
                if squared_plus_sine(math.exp(-v1 * v1)) > 0.5:
                    pass
                else:
                    if v2 > 1.0:
                        continue
    else:
        v2 = math.exp(-v2 * v2)
    return math.sin(x) + math.sin(y) + math.sin(v1) + math.sin(v2)


def test_a_loop_inside_an_if_restores_its_entry_values_once():
    # tools/fuzz_codegen.py --seed 12 (reduced): the save pass inserted the copy of a
    # header's entry value into the list it was walking, so a loop nested in an `if`
    # came round again, forever (the compile never ended).
    check_gradient(loop_inside_an_if, 0.3, 0.7, 2, argnums=(0, 1))
    check_gradient(loop_inside_an_if, 0.3, 0.2, 2, argnums=(0, 1))


def sum_after_a_loop(x, y, n):
    v = x * y
    for _ in range(n):
        v = v + math.sin(x)
    w = x * y
    return v * w


def inner_loop_then_a_later_factor(x, y, n):
    s = 0.0
    for i in range(n):
        v = x * y
        for _ in range(i):
            v = v + math.sin(x)
        w = y * i + x
        s = s + v * w
    return s


def test_a_backward_loop_reading_a_later_value_is_not_fused_into_its_forward_loop():
    # fuse ran the backward loop of `v = v + sin(x)` (adjoint `bt = bt + w`) inside its
    # forward loop, where `w`, computed after the loop, did not exist yet:
    # UnboundLocalError, or, in an outer loop whose first inner loop ran no iteration,
    # the previous outer iteration's w (a silently wrong d/dx: 0.232 instead of -0.437).
    for n in (0, 1, 3):
        check_gradient(sum_after_a_loop, 0.3, -0.7, n, argnums=(0, 1))
        check_jvp(sum_after_a_loop, 0.3, -0.7, n, argnums=(0, 1))
        check_gradient(inner_loop_then_a_later_factor, 0.3, -0.7, n, argnums=(0, 1))


def unbound_on_one_path(x, y, n):
    if y > 5.0:
        t = 1.0
    if x > 0.0:
        t = x * 2.0
        x = x + t * 0.1
    return x * y


def unbound_on_one_path_then_a_loop(x, y, n):
    if y > 5.0:
        t = 1.0
    for _ in range(n):
        if x > 0.0:
            t = math.sin(x)
            x = x + t * y
    return x * y


def unbound_after_a_loop_run_no_time(x, y, n):
    i = 0
    while i < n:
        i = i + 1
        t = x * 2.0
    if x > 0.0:
        t = x * 3.0
        x = x + t * y
    return x * y


def unbound_after_an_elif(x, y, n):
    if y > 5.0:
        t = 1.0
    elif y > 4.0:
        t = 2.0
    if x > 0.0:
        t = x * 2.0
        x = x + t * 0.1
    return x * y


def square(a):
    return a * a


def loop_in_an_if_never_taken(x, y, n):
    if 0.5 > 0.5:
        while n > 0:
            if square(x + 2.0) > 0.5:
                if 1.5 > 0.5:
                    y, x = x, y
    return math.sin(x) + math.sin(y)


@pytest.mark.parametrize("fn", [unbound_on_one_path, unbound_on_one_path_then_a_loop,
                                unbound_after_a_loop_run_no_time, unbound_after_an_elif])
def test_a_name_unbound_on_one_path_is_not_copied_there(fn):
    # ssa merged `t` (assigned only when y > 5, or y > 4, or by a loop run no time) into the next
    # if's or loop's name with a copy `t_1 = t` on the other path: UnboundLocalError
    # where the program runs.
    for x, n in ((-0.6, 0), (-0.6, 2), (0.4, 0), (0.4, 2)):
        check_gradient(fn, x, 0.9, n, argnums=(0, 1))
        check_jvp(fn, x, 0.9, n, argnums=(0, 1))


def test_jvp_of_the_gradient_of_a_loop_in_an_if_never_taken():
    # tools/fuzz_codegen.py programs under jvp(grad) (reduced): the gradient code names the
    # loop's saved test t5 in its forward and backward sections; ssa of that code copied
    # t5 on the path where the if was not taken (UnboundLocalError).
    args = (-0.1716186416480976, -0.5546290553802598, 1)
    grad = ast_ad.grad(loop_in_an_if_never_taken, argnums=(0, 1))
    for k in range(2):
        direction = [0.0, 0.0, 0]
        direction[k] = 1.0
        tangent = ast_ad.jvp(grad, args, tuple(direction))[1]
        plus, minus = list(args), list(args)
        plus[k] += 1e-6
        minus[k] -= 1e-6
        expected = [(a - b) / 2e-6 for a, b in zip(grad(*plus), grad(*minus))]
        np.testing.assert_allclose(tangent, expected, rtol=1e-5, atol=1e-7)
