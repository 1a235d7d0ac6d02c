"""Bad input gets a clear ADError naming file:line:col, the construct and what to do instead."""

import importlib.util
import math
import os

import error_cases as cases
import numpy as np
import pytest
from numeric import check_gradient

import ast_ad
from ast_ad import (
    ADError,
    NonDifferentiableError,
    NonScalarOutputError,
    NoRuleError,
    SourceUnavailableError,
    UnsupportedSyntaxError,
)

FILE = os.path.basename(cases.__file__)

# (function, line offset from its `def`, column (1-based), words the message must contain)
REJECTED = [
    (cases.uses_try, 1, 5, "try statement"),
    (cases.uses_with, 1, 5, "with statement binding a name"),
    (cases.uses_yield, 1, 5, "yield expression"),
    (cases.uses_lambda_as_argument, 1, 35, "lambda"),
    (cases.uses_comprehension, 1, 16, "set comprehension"),
    (cases.uses_global, 1, 5, "global statement"),
    (cases.uses_del, 2, 5, "del statement"),
    (cases.uses_class, 1, 5, "class definition"),
    (cases.uses_decorated_nested_def, 2, 5, "decorated nested function"),
    (cases.uses_starred, 2, 21, "starred expression"),
    (cases.uses_walrus, 1, 13, "assignment expression"),
    (cases.uses_for_else, 4, 9, "else clause on a for loop"),
    (cases.uses_complex, 1, 16, "complex numbers"),
    (cases.uses_dict, 1, 12, "dict display"),
    (cases.uses_varargs, 0, 19, "*xs parameters"),
]


def _expect(error, fn, offset, col, words):
    line = fn.__code__.co_firstlineno + offset
    text = str(error)
    assert f"{FILE}:{line}:{col}: " in text, text
    assert words in text, text
    assert error.location.lineno == line and error.location.col + 1 == col
    # The offending source line is quoted under the message, with a caret.
    source_line = open(cases.__file__).read().splitlines()[line - 1]
    assert source_line in text
    assert text.rstrip().endswith("^")


@pytest.mark.parametrize("fn, offset, col, words", REJECTED, ids=[r[0].__name__ for r in REJECTED])
def test_unsupported_syntax_is_rejected_up_front(fn, offset, col, words):
    with pytest.raises(UnsupportedSyntaxError) as info:
        ast_ad.grad(fn)(1.0)
    _expect(info.value, fn, offset, col, words)
    assert " — " in str(info.value)  # every rejection says what to write instead


def test_local_function_used_as_a_value():
    with pytest.raises(UnsupportedSyntaxError) as info:
        ast_ad.grad(cases.uses_local_function_as_value)(1.0)
    _expect(info.value, cases.uses_local_function_as_value, 3, 14, "local function inner")


def test_local_recursion():
    with pytest.raises(UnsupportedSyntaxError) as info:
        ast_ad.grad(cases.local_recursion)(1.0)
    _expect(info.value, cases.local_recursion, 2, 34, "fall calls itself")


def test_errors_derive_from_aderror():
    for cls in (UnsupportedSyntaxError, NoRuleError, NonDifferentiableError,
                NonScalarOutputError, SourceUnavailableError):
        assert issubclass(cls, ADError)


def test_call_without_rule_names_callee_and_call_site():
    with pytest.raises(NoRuleError) as info:
        ast_ad.grad(cases.calls_fmod)(0.3)
    _expect(info.value, cases.calls_fmod, 2, 12, "no adjoint rule for math.fmod")
    assert "register_adjoint" in str(info.value)


def test_unresolvable_call_is_rejected():
    with pytest.raises(NoRuleError) as info:
        ast_ad.grad(cases.calls_unknown)(0.3)
    _expect(info.value, cases.calls_unknown, 1, 12, "cannot be resolved")


@pytest.mark.parametrize("fn, record", [(cases.builds_a_namedtuple, "Pair (NamedTuple)"),
                                        (cases.builds_a_dataclass, "Box (dataclass)")])
def test_building_a_namedtuple_or_dataclass_running_code_of_its_own_is_rejected(fn, record):
    with pytest.raises(NoRuleError) as info:
        ast_ad.grad(fn)(0.3)
    _expect(info.value, fn, 1, 9, f"unsupported: building a error_cases.{record}")
    assert "build it outside and pass it in" in str(info.value)
    assert "whose __init__ only stores their fields" in str(info.value)


def test_unknown_method_is_rejected():
    with pytest.raises(NoRuleError) as info:
        ast_ad.grad(cases.unknown_method)(np.ones(3))
    _expect(info.value, cases.unknown_method, 1, 12, ".byteswap()")


def test_unknown_attribute_is_named_as_one():
    with pytest.raises(NoRuleError) as info:
        ast_ad.grad(cases.unknown_attribute)(np.ones(3))
    _expect(info.value, cases.unknown_attribute, 1, 19, "no adjoint rule for the attribute .base")


def test_integer_argument():
    with pytest.raises(NonDifferentiableError) as info:
        ast_ad.grad(cases.ignores_input)(3, 2.0)
    assert "argument 0 (x)" in str(info.value) and "integer" in str(info.value)
    assert "3.0" in str(info.value)  # the hint shows the float to pass instead
    with pytest.raises(NonDifferentiableError, match="bool"):
        ast_ad.grad(cases.ignores_input)(True, 2.0)
    with pytest.raises(NonDifferentiableError, match="int64"):
        ast_ad.grad(cases.ignores_input)(np.arange(3), 2.0)
    with pytest.raises(NonDifferentiableError, match="complex"):
        ast_ad.grad(cases.ignores_input)(1j, 2.0)
    # Not differentiated: an int is fine.
    assert ast_ad.grad(cases.ignores_input)(2.0, 3) == 3


def test_integer_array_after_float_array_is_still_checked():
    g = ast_ad.grad(cases.vector_output)
    with pytest.raises(NonScalarOutputError):
        g(np.ones(3))
    with pytest.raises(NonDifferentiableError, match="int64"):
        g(np.arange(3))


def test_non_scalar_output_names_shape():
    with pytest.raises(NonScalarOutputError) as info:
        ast_ad.grad(cases.vector_output)(np.ones(3))
    text = str(info.value)
    assert "scalar" in text and "(3,)" in text
    _expect(info.value, cases.vector_output, 1, 5, "vector_output")


def test_builtin_has_no_source():
    with pytest.raises(SourceUnavailableError, match="math.sin") as info:
        ast_ad.grad(math.sin)
    assert "def f(x)" in str(info.value)


def test_repl_lambda_has_no_source():
    fn = eval("lambda x: x * 2")
    with pytest.raises(SourceUnavailableError, match="lambda"):
        ast_ad.grad(fn)


def test_argnums_out_of_range():
    with pytest.raises(ADError, match="argnums=2"):
        ast_ad.grad(cases.ignores_input, argnums=2)


def test_error_traceback_is_short():
    """The error is raised from the user's call, not from deep inside the compiler."""
    import traceback

    with pytest.raises(UnsupportedSyntaxError) as info:
        ast_ad.grad(cases.uses_try)(1.0)
    frames = traceback.extract_tb(info.value.__traceback__)
    assert all("ast_ad/passes" not in f.filename for f in frames), frames


def _early_returns(tmp_path, n: int):
    """f(x, y) that returns early in n places (each `if` after the first one's `else`)."""
    lines = ["import math", "", "", "def f(x, y):", "    a = x"]
    for i in range(n):
        lines += [f"    if a > {2.0 + i / n:.3f}:", "        return a * y",
                  f"    a = math.tanh(a * y + 0.{i % 9 + 1})"]
    path = tmp_path / f"early_{n}.py"
    path.write_text("\n".join(lines + ["    return a * y", ""]))
    spec = importlib.util.spec_from_file_location(f"early_{n}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.f, path


def test_too_many_early_returns_name_the_return_too_deep(tmp_path):
    """Past 96 early returns the generated code would nest ifs deeper than Python
    compiles: an UnsupportedSyntaxError at the first `if` too deep, not an
    IndentationError from inside the compiler; 96 still compile."""
    fn, path = _early_returns(tmp_path, 97)
    with pytest.raises(UnsupportedSyntaxError) as info:
        ast_ad.grad(fn, argnums=(0, 1))(0.3, 0.5)
    text = str(info.value)
    assert f"{path}:{5 + 3 * 96 + 1}:5: " in text, text  # (the 97th `if`)
    assert "nests more than 96 blocks" in text and "return once at the end" in text
    fn, _ = _early_returns(tmp_path, 96)
    check_gradient(fn, 0.3, 0.5, argnums=(0, 1))
    check_gradient(fn, 2.5, 1.5, argnums=(0, 1))  # (returns at the first `if`)


def test_a_function_an_ast_ad_transformation_made_called_inside_is_named():
    with pytest.raises(NoRuleError) as info:
        ast_ad.grad(cases.gradient_penalty)(np.ones(2), np.ones(2))
    _expect(info.value, cases.gradient_penalty, 1, 9,
            "calling the function that ast_ad.grad(...) made")
    assert "ast_ad.hessian(f)" in str(info.value)
    # given only constants, it is a constant
    w, x = np.array([0.5, -1.0]), np.array([2.0, 3.0])
    np.testing.assert_allclose(ast_ad.grad(cases.constant_inner_gradient)(w, x), x)
