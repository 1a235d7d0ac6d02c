"""Python as people write it (issue 12): comprehensions, `with` blocks, bound methods,
*args/**kwargs helpers and recursion, against central differences (reverse and forward
mode), and what stays rejected."""

import os
import warnings

import numpy as np
import pytest
import python_syntax_cases as cases
from numeric import check_gradient, check_jvp

import ast_ad
from ast_ad import UnsupportedSyntaxError

FILE = os.path.basename(cases.__file__)
rng = np.random.default_rng(12)


def _expect(error, fn, offset, col, words):
    line = fn.__code__.co_firstlineno + offset
    text = str(error)
    assert f"{FILE}:{line}:{col}: " in text, text
    assert words in text, text
    assert " — " in text  # says what to write instead


# -- comprehensions -----------------------------------------------------------------

COMPREHENSIONS = [
    (cases.weighted_sum, (rng.normal(size=4), rng.normal(size=4))),
    (cases.stack_rows, (rng.normal(size=3), rng.normal(size=(4, 3)))),
    (cases.array_of_scalars, (0.7, -0.3)),
    (cases.largest, (0.7, 0.4)),
    (cases.largest, (-0.7, 0.4)),
    (cases.nested_loops, (1.3, 5)),
    (cases.scoped, (1.5,)),
    (cases.first_iterable_outside, (1.5,)),
    (cases.lazy_branch, (1.5, True)),
    (cases.in_while_condition, (1.1,)),
    (cases.sum_of_arrays, (rng.normal(size=3),)),
    (cases.sum_with_start, (0.8, 1.7)),
    (cases.empty_sum, (0.8, 0)),
    (cases.empty_sum, (0.8, 3)),
    (cases.consumed_as_list, (0.8,)),
    (cases.consumed_as_list, (0.2,)),
]


@pytest.mark.parametrize("fn, args", COMPREHENSIONS,
                         ids=[f"{f.__name__}-{i}" for i, (f, _) in enumerate(COMPREHENSIONS)])
def test_comprehension_gradients(fn, args):
    check_gradient(fn, *args)
    check_jvp(fn, *args)


def test_sum_of_a_generator_starts_from_zero():
    # Python's sum adds the items to 0: an empty generator gives 0 and a zero gradient.
    value, g = ast_ad.value_and_grad(cases.empty_sum)(0.8, 0)
    assert value == 0.8 and g == 1.0


def test_comprehension_variables_do_not_leak():
    assert cases.scoped(1.5) == ast_ad.value_and_grad(cases.scoped)(1.5)[0] == 45.0


def test_comprehension_is_lowered_to_a_readable_loop():
    text = ast_ad.source(ast_ad.value_and_grad(cases.weighted_sum), rng.normal(size=3),
                         rng.normal(size=3))
    # sum(...) adds in the loop, from 0 as Python's sum: no list, nothing saved
    assert "for k in range(" in text and "    t1 = 0\n" in text and "t1 = t1 + " in text
    code = [line for line in text.splitlines() if not line.strip().startswith("#")]
    assert not any(".append(" in line or "sum(" in line for line in code)


@pytest.mark.parametrize("fn, offset, col, words", [
    (cases.generator_as_value, 1, 9, "generator expression used as a value"),
    (cases.generator_to_numpy, 1, 20, "generator expression passed to np.array"),
])
def test_generators_outside_known_consumers_are_rejected(fn, offset, col, words):
    with pytest.raises(UnsupportedSyntaxError) as info:
        ast_ad.grad(fn)(1.0)
    _expect(info.value, fn, offset, col, words)


# -- with blocks ----------------------------------------------------------------------

WITH_BLOCKS = [
    (cases.entropy, (np.array([0.2, 0.5, 0.3]),)),
    (cases.quiet_sqrt, (np.array([0.2, 0.5, 1.3]),)),
    (cases.nested_with_return, (0.7,)),
    (cases.nested_with_return, (-0.7,)),
    (cases.with_in_loop, (0.7, 4)),
]


@pytest.mark.parametrize("fn, args", WITH_BLOCKS,
                         ids=[f"{f.__name__}-{i}" for i, (f, _) in enumerate(WITH_BLOCKS)])
def test_with_block_gradients(fn, args):
    check_gradient(fn, *args)
    check_jvp(fn, *args)


def test_with_block_is_entered_forward_and_backward():
    p = np.array([0.0, 0.5, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning outside the errstate would raise here
        value, g = ast_ad.value_and_grad(cases.entropy)(p)
        tangent = ast_ad.jvp(cases.entropy, (p,), (np.ones(3),))[1]
        quiet = ast_ad.grad(cases.quiet_sqrt)(np.array([0.0, 1.0]))
    assert value == pytest.approx(np.log(2.0))
    np.testing.assert_allclose(g[1:], -(np.log(0.5) + 1.0))
    assert np.isfinite(tangent)
    assert quiet[1] == pytest.approx(1.5)
    text = ast_ad.source(ast_ad.value_and_grad(cases.quiet_sqrt), np.ones(2))
    # the filter is set again where the backward statements run
    code = [line.strip() for line in text.splitlines() if not line.strip().startswith("#")]
    assert code.count("with warnings.catch_warnings():") == 2
    assert code.count("warnings.simplefilter('ignore')") == 2


def test_errstate_raise_still_raises():
    with pytest.raises(FloatingPointError):
        ast_ad.grad(cases.raising_errstate)(np.array([0.0, 1.0]))


def test_second_order_through_a_with_block():
    h = ast_ad.hessian(cases.nested_with_return)(-0.7)
    assert h == pytest.approx(6 * -0.7)


@pytest.mark.parametrize("fn, offset, col, words", [
    (cases.suppressing, 1, 10, "contextlib.suppress skips the rest of the block"),
    (cases.unknown_manager, 1, 10, "does not know what threading.Lock does"),
    (cases.binding_manager, 1, 5, "with statement binding a name"),
    (cases.computed_manager_argument, 1, 29, "argument computed in the function"),
])
def test_with_blocks_that_may_change_values_are_rejected(fn, offset, col, words):
    with pytest.raises(UnsupportedSyntaxError) as info:
        ast_ad.grad(fn)(1.0, "ignore") if fn is cases.computed_manager_argument \
            else ast_ad.grad(fn)(1.0)
    _expect(info.value, fn, offset, col, words)


# -- bound methods ---------------------------------------------------------------------

def _layer(cls=cases.Layer):
    return cls(rng.normal(size=(2, 3)), rng.normal(size=2))


@pytest.mark.parametrize("cls", [cases.Layer, cases.ScaledLayer])
def test_bound_method_gradients(cls):
    layer, x, y = _layer(cls), rng.normal(size=3), rng.normal(size=2)
    # self.predict(x) and self.penalty(x) are the methods of the object's own class
    check_gradient(layer.loss, x, y, argnums=(0, 1))
    check_jvp(layer.loss, x, y)
    assert ast_ad.grad(layer.loss)(x).shape == (3,)


def test_bound_method_reads_attributes_when_it_runs():
    layer, x = _layer(), rng.normal(size=3)
    g = ast_ad.grad(layer.loss)
    before = g(x)
    layer.W = 2.0 * layer.W  # the same transformed function sees the new weights
    after = g(x)
    assert not np.allclose(before, after)
    check_gradient(layer.loss, x)


def test_methods_are_inlined_in_the_generated_code():
    layer, x = _layer(), rng.normal(size=3)
    text = ast_ad.source(ast_ad.grad(layer.loss), x)
    code = [line for line in text.splitlines() if not line.strip().startswith("#")]
    assert any("self.W" in line for line in code) and any("self.bias" in line for line in code)
    assert not any("predict" in line or "penalty" in line for line in code)
    assert "# line" in text and "return np.tanh(self.W @ x + self.bias)" in text


def test_bound_method_whose_method_is_hidden_by_an_attribute_is_rejected():
    layer, x = _layer(), rng.normal(size=3)
    g = ast_ad.grad(layer.loss)
    g(x)
    layer.predict = lambda v: v
    with pytest.raises(ast_ad.ADError, match="hides a method"):
        g(x)


def test_rebinding_a_method_of_the_class_generates_the_code_again(monkeypatch):
    layer, x = _layer(), rng.normal(size=3)
    g = ast_ad.grad(layer.loss)
    first = g(x)
    monkeypatch.setattr(cases.Layer, "penalty", lambda self, x, weight=0.1: 0.0 * x[0])
    # (a lambda has no rule and is not inlined: rejected, not silently stale)
    with pytest.raises(ast_ad.ADError):
        g(x)
    monkeypatch.undo()
    np.testing.assert_allclose(g(x), first)


# -- *args and **kwargs in helpers --------------------------------------------------------

@pytest.mark.parametrize("fn, args", [
    (cases.packs, (1.5, 0.7)),
    (cases.packs, (-0.4, 1.1)),
    (cases.packs_arrays, (rng.normal(size=3), rng.normal(size=3))),
])
def test_helpers_with_star_args_and_keywords(fn, args):
    check_gradient(fn, *args)
    check_jvp(fn, *args)


def test_star_args_helper_is_inlined():
    text = ast_ad.source(ast_ad.value_and_grad(cases.packs), 1.5, 0.7)
    code = [line for line in text.splitlines() if not line.strip().startswith("#")]
    assert not any("_norm2" in line for line in code) and "    xs = a, b, 2.0 * a" in code


def test_kwargs_used_as_a_dict_is_rejected():
    with pytest.raises(UnsupportedSyntaxError) as info:
        ast_ad.grad(cases.kwargs_as_dict)(1.0)
    _expect(info.value, cases._reads_kwargs, 1, 25, "using **kwargs other than passing it on")


# -- recursion -------------------------------------------------------------------------------

RECURSIVE = [
    (cases.power, (1.3, 4)),
    (cases.power, (-0.7, 0)),
    (cases.sqrt_by_newton, (2.0,)),
    (cases.sqrt_by_newton, (7.5,)),
    (cases.shrinking, (rng.normal(size=4),)),
    (cases.kind_changes_with_depth, (rng.normal(size=3),)),
    (cases.growing, (rng.normal(size=2), 3)),
    (cases.two_calls, (0.7, 6)),
]


@pytest.mark.parametrize("fn, args", RECURSIVE,
                         ids=[f"{f.__name__}-{i}" for i, (f, _) in enumerate(RECURSIVE)])
def test_recursive_gradients(fn, args):
    check_gradient(fn, *args)
    check_jvp(fn, *args)


def test_newton_recursion_converges_to_the_derivative_of_sqrt():
    assert ast_ad.grad(cases.sqrt_by_newton)(2.0) == pytest.approx(1.0 / np.sqrt(2.0))


def test_recursive_function_calls_its_own_generated_code():
    text = ast_ad.source(ast_ad.value_and_grad(cases.power), 1.3, 4)
    assert "def power_forward(x, n):" in text and "def power_backward(saved, bresult):" in text
    assert "power_forward(x, n - 1)" in text and "= power_backward(power_saved, " in text


def test_what_a_recursive_function_returns_is_known():
    # (a fixpoint: its recursive calls assumed to return what its other branches do)
    text = ast_ad.source(ast_ad.value_and_grad(cases.power), 1.3, 4)
    assert "unbroadcast" not in text and "check_scalar_output" not in text


def test_recursion_deeper_than_python_allows_is_reported():
    with pytest.raises(RecursionError) as info:
        ast_ad.grad(cases.power)(1.0001, 100_000)
    notes = "\n".join(info.value.__notes__)
    assert "power calls itself more deeply than Python's recursion limit" in notes
    assert "python_syntax_cases.py" in notes


def test_mutual_recursion_is_rejected():
    with pytest.raises(ast_ad.NoRuleError, match="mutual recursion") as info:
        ast_ad.grad(cases.mutual)(1.0)
    assert "python_syntax_cases.py" in str(info.value)


def test_second_order_of_a_recursive_function():
    assert ast_ad.hessian(cases.power)(1.3, 4) == pytest.approx(12 * 1.3 ** 2)
    assert ast_ad.grad(ast_ad.grad(cases.sqrt_by_newton))(2.0) == pytest.approx(
        -2.0 * 0.25 * 2.0 ** -1.5)


def test_changing_an_attribute_in_place_is_rejected():
    # The derivative code would read the attribute's old list (and drop the append).
    with pytest.raises(ast_ad.NoRuleError, match="changing `self.items` in place") as info:
        ast_ad.grad(cases.Recorder().record)(1.5)
    assert "python_syntax_cases.py" in str(info.value)


def test_recursive_function_changing_a_value_in_place_is_rejected():
    # A recursive call's changes are not known while its function is analysed.
    with pytest.raises(ast_ad.ADError, match="in place") as info:
        ast_ad.grad(cases.recursion_changing_arguments)(1.5)
    assert "python_syntax_cases.py" in str(info.value)


def test_np_array_of_a_nested_comprehension():
    # it crashed in the backward pass ('numpy.ndarray' object has no attribute 'pop')
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(ast_ad.grad(cases.nested_comprehension_array)(x),
                               4.0 * np.sum(x ** 2) * x)
    check_gradient(cases.nested_comprehension_array, x)
    check_jvp(cases.nested_comprehension_array, x)


@pytest.mark.parametrize("f", [cases.ufunc_of_a_comprehension,
                               cases.two_uses_of_a_comprehension])
def test_numpy_function_of_a_comprehension(f):
    # it crashed in the backward pass ('numpy.ndarray' object has no attribute 'pop'),
    # found by autograd's test_multigammaln (scipy's multigammaln does this)
    check_gradient(f, 1.3, 4)
    check_jvp(f, 1.3, 4)
