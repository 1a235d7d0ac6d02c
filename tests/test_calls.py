"""Calls to user functions: each callee gets its own generated forward/backward functions."""

import calls_cases as c
import numpy as np
import pytest
from numeric import check_gradient

import ast_ad

rng = np.random.default_rng(7)

CASES = [
    (c.same_module, (0.7, 1.3)),
    (c.other_module, (rng.normal(size=3) * 0.3, rng.normal(size=(4, 3)))),
    (c.keyword_arguments_and_defaults, (0.7, 1.3)),
    (c.tuple_results, (1.2, 0.4)),
    (c.calls_in_a_loop, (0.4, 5)), (c.calls_in_a_loop, (0.4, 0)),
    (c.chain_of_helpers, (0.6,)),
    (c.branching_helper, (0.5, -0.7)), (c.branching_helper, (-0.5, 0.7)),
    (c.calls_a_closure, (0.3,)),
    (c.nested_definitions, (0.7, 1.3)), (c.nested_definitions, (0.2, 0.3)),
    (c.inactive_helper_arguments, (0.7, 3)),
]


@pytest.mark.parametrize("fn, args", CASES, ids=[f.__name__ for f, _ in CASES])
def test_calls(fn, args):
    check_gradient(fn, *args)


def test_each_callee_is_generated_once_and_shown():
    text = ast_ad.source(ast_ad.grad(c.same_module, argnums=(0, 1)), 0.7, 1.3)
    assert text.count("def square_forward(") == 1 and text.count("def square_backward(") == 1
    assert "square_forward(x)" in text and "square_forward(y)" in text


def test_callee_code_is_cached_across_callers():
    from ast_ad import cache

    ast_ad.clear_caches()  # other tests may have made other versions (jvp, vjp) of square
    ast_ad.grad(c.same_module)(0.7, 1.3)
    ast_ad.grad(c.chain_of_helpers)(0.6)
    square_versions = cache.entries(c.square, "generated")
    assert len(square_versions) == 1  # scalar vjp of square, shared by both callers


def test_recursion_is_an_error():
    with pytest.raises(ast_ad.NoRuleError, match="recursive") as info:
        ast_ad.grad(c.recursive)(2.0)
    assert "calls_cases.py" in str(info.value) and "rewrite the recursion as a loop" in str(
        info.value)
