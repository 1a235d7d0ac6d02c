"""Crashes in code generation turned into right answers (issue 9, "sound or rejected").

Each case once made the compiler raise something other than an ADError (an
IndentationError or SyntaxError from the generated code, a RecursionError, a
KeyError): now it gives the gradient central differences give.
"""

import importlib.util
import math
import sys

import numpy as np
import pytest
from numeric import check_gradient, check_jvp, numeric_gradient

import ast_ad
from ast_ad import recursion
from ast_ad.errors import UnsupportedSyntaxError

# -- loops whose forward part proves dead ------------------------------------------
# `grad` needs no value of these loops' forward iterations: simplify emptied the
# forward loops and emit printed `for i in range(n):` with no body.


def two_loops(x, n):
    s = x
    for i in range(n):
        s = s * 2.0
    for i in range(n):
        s = s * 3.0
    return s


def three_loops(x, n):
    s = x
    for i in range(n):
        s = s * 1.5
    for j in range(n):
        s = s + x
    for k in range(n):
        s = s * x
    return s


def loops_with_nothing_to_differentiate(x, n):
    s = x * x
    for i in range(n):
        t = i * 2
    for j in range(n):
        u = j + 1
    return s


def nested_loops_in_a_row(x, n):
    s = x
    for i in range(n):
        for j in range(n):
            s = s * 1.1
        for j in range(n):
            s = s + x
    return s


def while_loops_in_a_row(x, n):
    s = x
    i = 0
    while i < n:
        s = s * 2.0
        i = i + 1
    j = 0
    while j < n:
        s = s * x
        j = j + 1
    return s


def loop_target_read_afterwards(x, n):
    s = x
    for i in range(n):
        s = s * 2.0
    for i in range(n):
        pass
    return s * i


def loops_with_breaks(x, n):
    s = x
    for i in range(n):
        s = s * 2.0
        if i > 1:
            break
    for i in range(n):
        s = s * 3.0
        if s > 100.0:
            break
    return s


def array_loops(x, n):
    s = x
    for i in range(n):
        s = s * 2.0
    for i in range(n):
        s = np.sin(s)
    return np.sum(s)


def array_sums_in_a_row(x, n):
    s = 0.0
    for i in range(n):
        s = s + np.sum(x * i)
    for i in range(n):
        s = s + np.sum(x * x)
    for i in range(n):
        s = s + np.sum(x * x * x)
    return s


SCALAR_LOOPS = [two_loops, three_loops, loops_with_nothing_to_differentiate,
                nested_loops_in_a_row, while_loops_in_a_row, loop_target_read_afterwards,
                loops_with_breaks]
ARRAY_LOOPS = [array_loops, array_sums_in_a_row]
LOOP_CASES = [(f, (1.1, n)) for f in SCALAR_LOOPS for n in (0, 1, 3)
              if not (f is loop_target_read_afterwards and n == 0)] + \
    [(f, (np.array([0.3, -0.7, 1.2]), n)) for f in ARRAY_LOOPS for n in (0, 3)]
LOOP_IDS = [f"{f.__name__}-{np.ndim(a[0])}d-n{a[1]}" for f, a in LOOP_CASES]


@pytest.mark.parametrize("fn, args", LOOP_CASES, ids=LOOP_IDS)
def test_loops_in_a_row_grad(fn, args):
    expected = numeric_gradient(fn, args, 0)
    np.testing.assert_allclose(ast_ad.grad(fn)(*args), expected, rtol=1e-5, atol=1e-6)
    check_gradient(fn, *args, argnums=(0,))


@pytest.mark.parametrize("fn, args", LOOP_CASES, ids=LOOP_IDS)
def test_loops_in_a_row_vjp_and_jvp(fn, args):
    value, pullback = ast_ad.vjp(fn, *args)
    np.testing.assert_allclose(pullback(1.0)[0], numeric_gradient(fn, args, 0),
                               rtol=1e-5, atol=1e-6)
    check_jvp(fn, *args, argnums=(0,))


@pytest.mark.parametrize("fn", [two_loops, three_loops, while_loops_in_a_row])
def test_loops_in_a_row_hessian(fn):
    def derivative(x):
        return ast_ad.grad(fn)(x, 3)

    x = 1.1
    expected = (derivative(x + 1e-5) - derivative(x - 1e-5)) / 2e-5
    np.testing.assert_allclose(ast_ad.hessian(fn)(x, 3), expected, rtol=1e-5)


def test_dead_forward_loops_are_dropped():
    """No empty loop survives: grad of two_loops runs only the two backward loops."""
    code = ast_ad.generated_source(two_loops, 1.1, 3, mode="grad")
    lines = [line.strip() for line in code.splitlines() if not line.strip().startswith("#")]
    assert [line for line in lines if line.startswith("for ")] == [
        "for i_1 in reversed(range(n)):", "for i in reversed(range(n)):"], code
    assert "pass" not in code, code
    assert math.isclose(ast_ad.grad(two_loops)(1.1, 3), 216.0)


# -- long and deeply nested expressions --------------------------------------------
# The walkers (gast's conversion, the passes, astor) recurse once per level: a product
# of 250 factors raised RecursionError, and simplify took seconds per hundred terms.


def _module(tmp_path, name, text):
    """Import generated source from a real file (ast-ad reads functions' files)."""
    path = tmp_path / f"{name}.py"
    path.write_text("import numpy as np\n\n" + text)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _deep_functions(n):
    return (
        f"def product(x):\n    return {'*'.join(['x'] * n)}\n\n"
        f"def total(x):\n    return {' + '.join(f'x * {i % 7}.0 * x' for i in range(n))}\n\n"
        f"def negations(x):\n    return {'-' * n}x * x\n\n"
        f"def nested_calls(x):\n    return {'np.sin(' * 150}x{')' * 150}\n\n"
        f"def parentheses(x):\n    return {'(' * 150}x{' * 1.001)' * 150}\n"
    )


def test_250_factors_every_mode(tmp_path):
    module = _module(tmp_path, "deep250", _deep_functions(250))
    x = 1.001
    for fn in (module.product, module.total, module.negations, module.nested_calls,
               module.parentheses):
        expected = numeric_gradient(fn, (x,), 0, eps=1e-7)
        np.testing.assert_allclose(ast_ad.grad(fn)(x), expected, rtol=1e-5, err_msg=fn.__name__)
    for fn in (module.product, module.nested_calls):  # forward mode, and vjp's split
        expected = numeric_gradient(fn, (x,), 0, eps=1e-7)
        np.testing.assert_allclose(ast_ad.jvp(fn, (x,), (1.0,))[1], expected, rtol=1e-5)
        np.testing.assert_allclose(ast_ad.vjp(fn, x)[1](1.0)[0], expected, rtol=1e-5)
    assert ast_ad.grad(module.product)(x) == pytest.approx(250 * x ** 249, rel=1e-12)
    assert sys.getrecursionlimit() < recursion.LIMIT  # put back afterwards


def test_1000_factors(tmp_path):
    module = _module(tmp_path, "deep1000", _deep_functions(1000))
    x = 1.0005
    assert ast_ad.grad(module.product)(x) == pytest.approx(1000 * x ** 999, rel=1e-12)


def test_deeper_than_the_compiler_can_go_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setattr(recursion, "LIMIT", 1000)  # as if the expression were far deeper
    module = _module(tmp_path, "deep300", _deep_functions(300))
    with pytest.raises(UnsupportedSyntaxError, match="nested too deeply") as info:
        ast_ad.grad(module.product)(1.0)
    assert info.value.location.lineno == 3
    assert "split its longest expression" in str(info.value)
