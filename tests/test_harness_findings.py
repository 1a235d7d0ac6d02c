"""Bugs found by tools/peers.py and the forward-vs-reverse property tests, one test each."""

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
