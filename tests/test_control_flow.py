"""Branches, loops and early exits, every path checked against central differences."""

import control_cases as c
import numpy as np
import pytest
from numeric import check_gradient

rng = np.random.default_rng(3)

CASES = [
    # Both branches of each if.
    (c.if_else, (2.0, 1.0)), (c.if_else, (0.5, 1.0)),
    (c.if_elif_else, (1.5,)), (c.if_elif_else, (0.5,)), (c.if_elif_else, (-0.5,)),
    (c.nested_if, (0.5, 0.3)), (c.nested_if, (0.5, -0.3)), (c.nested_if, (-0.5, 0.3)),
    (c.conditional_expression, (0.3, 0.7)), (c.conditional_expression, (0.9, 0.4)),
    (c.conditional_expression, (-0.3, 0.7)),
    (c.boolean_conditions, (-1.0, -2.0)), (c.boolean_conditions, (0.5, 2.0)),
    (c.boolean_conditions, (2.0, 3.0)),
    (c.one_sided_if, (0.7,)), (c.one_sided_if, (0.2,)),
    # Loops of 0, 1 and many iterations.
    (c.for_range, (0.7, 0)), (c.for_range, (0.7, 1)), (c.for_range, (0.7, 7)),
    (c.for_range_start_stop_step, (1.1, 1, 8, 3)), (c.for_range_start_stop_step, (1.1, 5, 0, -2)),
    (c.for_range_start_stop_step, (1.1, 3, 3, 1)),
    (c.for_range_from_argument, (0.8,)), (c.for_range_from_argument, (2.5,)),
    (c.scalar_loop, (0.7, 1.3)),
    (c.while_loop, (1.2,)), (c.while_loop, (11.0,)), (c.while_loop, (6.0,)),
    (c.while_with_compound_condition, (1.1, 3)), (c.while_with_compound_condition, (1.1, 0)),
    (c.while_with_compound_condition, (4.0, 10)),
    (c.nested_loops, (0.9, 3, 4)), (c.nested_loops, (0.9, 0, 4)), (c.nested_loops, (0.9, 3, 0)),
    # break and continue anywhere.
    (c.break_and_continue, (0.9, 10)), (c.break_and_continue, (0.9, 0)),
    (c.break_and_continue, (0.3, 10)), (c.break_and_continue, (0.9, 1)),
    (c.nested_break, (0.5, 6)), (c.nested_break, (1.5, 6)), (c.nested_break, (0.5, 2)),
    (c.while_true_break, (0.3,)), (c.while_true_break, (20.0,)),
    # Early and multiple returns.
    (c.early_return, (2.0,)), (c.early_return, (0.5,)), (c.early_return, (-0.5,)),
    (c.return_in_loop, (1.0,)), (c.return_in_loop, (0.01,)),
    (c.return_in_nested_loop, (1.0,)), (c.return_in_nested_loop, (0.1,)),
    # Iterating over sequences.
    (c.iterate_list, (0.7,)),
    (c.iterate_array_rows, (rng.normal(size=(4, 3)), rng.normal(size=3))),
    (c.iterate_array_rows, (np.zeros((0, 3)), rng.normal(size=3))),
    (c.iterate_enumerate_zip, (rng.normal(size=(3, 3)), rng.normal(size=3))),
    # Assignments.
    (c.tuple_unpacking_and_swaps, (0.7, 1.3)),
    (c.augmented_assignment, (0.7, 1.3)),
    (c.reassign_many_times, (0.4,)),
    (c.non_differentiable_values, (0.7, 1)), (c.non_differentiable_values, (0.7, 0)),
    (c.loop_with_branch, (0.8, 7)), (c.loop_with_branch, (0.8, 0)),
    (c.constant_in_one_branch_loop_in_the_other, (0.16, 1)),
    (c.constant_in_one_branch_loop_in_the_other, (0.16, 0)),
    (c.constant_in_one_branch_loop_in_the_other, (0.16, -1)),
]


@pytest.mark.parametrize("fn, args", CASES,
                         ids=[f"{f.__name__}{a if all(np.ndim(x) == 0 for x in a) else ''}"
                              for f, a in CASES])
def test_control_flow(fn, args):
    check_gradient(fn, *args)


def test_rnn_with_respect_to_weights():
    T, H, D = 6, 5, 3
    W, U = rng.normal(size=(H, H)) * 0.5, rng.normal(size=(H, D)) * 0.5
    x, h0 = rng.normal(size=(T, D)), rng.normal(size=H)
    check_gradient(c.rnn, W, U, x, h0, argnums=(0, 1))
    check_gradient(c.rnn, W, U, x, h0, argnums=(2, 3))


def test_loop_saves_only_what_the_backward_pass_needs():
    """A loop overwriting a scalar N times pushes N floats, and no arrays it does not need."""
    import ast_ad

    text = ast_ad.source(ast_ad.grad(c.for_range_start_stop_step, argnums=0), 1.1, 1, 8, 3)
    pushes = [line.strip() for line in text.splitlines() if "stack.append" in line]
    assert pushes == ["stack.append(s)"], text

    W, v = np.ones((3, 2)), np.ones(2)
    text = ast_ad.source(ast_ad.grad(c.iterate_array_rows, argnums=1), W, v)
    assert "stack" not in text  # a sum of independent terms: fused into the forward loop


def test_independent_iterations_run_in_the_forward_loop():
    import ast_ad

    text = ast_ad.source(ast_ad.grad(c.scalar_loop, argnums=(0, 1)), 0.7, 1.3)
    assert "stack" not in text and "reversed" not in text
    assert "bx_1 = 0.0" in text and "bx = bx_1" in text


WRITES = [
    (c.write_elements, (0.7, 5)), (c.write_elements, (0.7, 0)), (c.write_elements, (0.7, 1)),
    (c.write_then_read_old_values, (rng.normal(size=4),)),
    (c.write_slices_and_pairs, (rng.normal(size=(3, 3)), rng.normal(size=3))),
    (c.write_broadcast_scalar, (rng.normal(size=4), 0.3)),
    (c.build_list_and_stack, (rng.normal(size=3), 4)),
    (c.build_list_of_scalars, (0.7,)),
    (c.array_of_scalars, (0.7, 1.3)),
    (c.list_read_after_append, (0.7,)),
    (c.recurrence_in_array, (0.4, 6)), (c.recurrence_in_array, (0.4, 0)),
]


@pytest.mark.parametrize("fn, args", WRITES, ids=[f.__name__ for f, _ in WRITES])
def test_array_writes_and_lists(fn, args):
    check_gradient(fn, *args)


def test_writes_do_not_leak_into_the_arguments():
    import ast_ad

    x = rng.normal(size=4)
    before = x.copy()
    ast_ad.grad(c.write_then_read_old_values)(x)
    np.testing.assert_array_equal(x, before)


def test_print_runs_in_the_forward_pass_only(capsys):
    import ast_ad

    def noisy(x):
        y = x * x
        print("y is", y)
        return y * x

    assert ast_ad.grad(noisy)(2.0) == 12.0
    assert capsys.readouterr().out == "y is 4.0\n"
