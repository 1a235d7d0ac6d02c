"""Calls to user functions: each callee gets its own generated forward/backward functions."""

import calls_cases as c
import numpy as np
import pytest
from numeric import check_gradient, check_jvp

import ast_ad

rng = np.random.default_rng(7)

CASES = [
    (c.same_module, (0.7, 1.3)),
    (c.other_module, (rng.normal(size=3) * 0.3, rng.normal(size=(4, 3)))),
    (c.keyword_arguments_and_defaults, (0.7, 1.3)),
    (c.array_defaults, (0.7, 1.3)),
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


CONTAINERS = [
    (c.affine_used_and_passed, c.Affine(rng.normal(size=3), 0.5)),
    (c.affine_passed_twice, c.Affine(rng.normal(size=3), 0.5)),
    (c.layer_passed, c.Layer(rng.normal(size=(2, 3)), rng.normal(size=2))),
    (c.layer_used_and_passed, c.Layer(rng.normal(size=(2, 3)), rng.normal(size=2))),
    (c.pair_passed_twice, (rng.normal(size=3), rng.normal(size=3))),
]


@pytest.mark.parametrize("fn, params", CONTAINERS, ids=[f.__name__ for f, _ in CONTAINERS])
def test_a_container_argument_passed_to_a_callee(fn, params):
    """Its adjoint comes back from the callee's backward function as the caller holds it
    (a NamedTuple's as a list, a dataclass's as a dict): added to the caller's own
    contributions, not put in their place, and not concatenated as tuples."""
    x = rng.normal(size=3)
    grads = ast_ad.grad(fn, argnums=(0, 1))(params, x)
    assert type(grads[0]) is type(params)
    ast_ad.check_grads(fn, (params, x), order=1, argnums=(0, 1))


def test_forward_mode_passes_a_callee_array_defaults_by_reference():
    """The jvp of a callee takes every positional parameter (its tangents follow them), so
    the caller passes the defaults itself: literals as literals, arrays by reference (an
    array's repr is no expression, and a long one's has `...` in it)."""
    check_jvp(c.array_defaults, 0.7, 1.3)
    text = ast_ad.generated_source(c.array_defaults, 0.7, 1.3, mode="jvp")
    assert "weighted_jvp(t2, w_default, table_default, (1.5, -0.5), " in text, text
    assert "array(" not in text.replace("np.array(", "")


def test_each_callee_is_generated_once_and_shown():
    # softplus is in another module, so it is not inlined (see pipeline.inlinable_helper)
    text = ast_ad.source(ast_ad.grad(c.softplus_twice, argnums=(0, 1)), 0.7, 1.3)
    assert text.count("def softplus_forward(") == 1 and text.count("def softplus_backward(") == 1
    assert "softplus_forward(x)" in text and "softplus_forward(y)" in text


def test_a_small_helper_of_the_same_module_is_inlined():
    text = ast_ad.source(ast_ad.grad(c.same_module, argnums=(0, 1)), 0.7, 1.3)
    assert "square_forward" not in text and "def " not in text.split("\n", 1)[1]
    g = ast_ad.grad(c.same_module, argnums=(0, 1))(0.7, 1.3)
    assert g == (pytest.approx(2 * 0.7 * 1.3), pytest.approx(0.7 ** 2 + 2 * 1.3))


def test_callee_code_is_cached_across_callers():
    from ast_ad import cache

    ast_ad.clear_caches()  # other tests may have made other versions (jvp, vjp) of square
    ast_ad.grad(c.softplus_twice)(0.7, 1.3)
    ast_ad.grad(c.softplus_twice, argnums=1)(0.3, 1.1)
    softplus_versions = cache.entries(c.softplus, "generated")
    assert len(softplus_versions) == 1  # scalar vjp of softplus, shared by both callers


def test_recursion_is_differentiated():
    # (more in test_python_syntax.py)
    assert ast_ad.value_and_grad(c.recursive)(2.0) == (-1.0, 1.0)


SCALE = 2.0


def scale(v):
    return v * SCALE


def shadows_scale(x):
    SCALE = 3.0  # noqa: N806 -- a local with the name of the global scale() reads
    return scale(x) + SCALE


def divided_by_own_scale(x):
    SCALE = x.shape[0]  # noqa: N806 -- a local named as the global scale() reads
    return x / SCALE


def scale_then_divide(v):
    w = scale(v)
    return np.sum(divided_by_own_scale(w) ** 2)


def writes_its_argument(v):
    v[0] = 0.0
    return np.sum(v)


def calls_a_writer(x):
    y = x * 1.0
    s = writes_its_argument(y)
    return s + np.sum(y * x)


def test_a_helper_reading_a_global_the_caller_shadows_is_not_inlined():
    assert ast_ad.grad(shadows_scale)(1.5) == 2.0
    assert "scale_forward" in ast_ad.source(ast_ad.grad(shadows_scale), 1.5)


def test_a_helper_inlined_after_one_reading_a_global_renames_its_local_of_that_name():
    # Both helpers are inlined: the second one's local SCALE must not shadow the global
    # the first one read (an UnboundLocalError, or a wrong value, in the generated code).
    v = np.array([1.0, 2.0, 3.0])
    value, g = ast_ad.value_and_grad(scale_then_divide)(v)
    assert value == pytest.approx(scale_then_divide(v))
    np.testing.assert_allclose(g, 2 * v * (SCALE / 3) ** 2)
    _, tangent = ast_ad.jvp(scale_then_divide, (v,), (np.ones(3),))
    assert tangent == pytest.approx(np.sum(g))
    assert "scale_forward" not in ast_ad.source(ast_ad.grad(scale_then_divide), v)


def test_a_helper_that_writes_into_its_argument_is_not_inlined():
    # It stays a callee, whose change to its argument the aliases pass rejects.
    with pytest.raises(ast_ad.UnsupportedSyntaxError, match="changes its argument `y`"):
        ast_ad.grad(calls_a_writer)(np.ones(3))
