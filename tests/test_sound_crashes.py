"""Crashes in code generation turned into right answers (issue 9, "sound or rejected").

Each case once made the compiler raise something other than an ADError (an
IndentationError or SyntaxError from the generated code, a RecursionError, a
KeyError): now it gives the gradient central differences give.
"""
# The programs are the reproducers as written: unused loop variables and values included.
# ruff: noqa: B007, F841

import importlib.util
import itertools
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
    # (500 levels: 300 now fit under that limit, the parse taking fewer frames per level)
    module = _module(tmp_path, "deep500", _deep_functions(500))
    with pytest.raises(UnsupportedSyntaxError, match="nested too deeply") as info:
        ast_ad.grad(module.product)(1.0)
    assert info.value.location.lineno == 3
    assert "split its longest expression" in str(info.value)


# -- strings and names in the generated code ---------------------------------------
# astor printed f"{'q'} \"" as f'{\'q\'} "' (a backslash in an expression part), and a
# function named "my loss" gave `def my loss_grad(x):`.


def print_nested_quotes(x):
    print(f"{'q'} \"")
    return x * x


def print_format_specs(x):
    print(f"value {x!r:>12} {x:.3f} {'a' + 'b'} \\ done {{braces}}")
    print(f"{x=}", f"{x:{10}.{3}}", f'{"double"}', f"""{'single'} "quoted" """)
    return x * x * x


def print_escapes(x):
    s = "it's \"quoted\"\n\ttabbed \\ backslash \x00 caf\u00e9"
    print(s, f"{s!r}", rf"raw \d {x}", b"bytes\x01")
    return np.sin(x) * 2.0


def loss(x):
    return x * x * x


loss.__name__ = "my loss"

square_plus_one = lambda x: x * x + 1.0


def renamed_to_keyword(x):
    return x * 4.0


renamed_to_keyword.__name__ = "lambda"


@pytest.mark.parametrize("fn", [print_nested_quotes, print_format_specs, print_escapes, loss,
                                square_plus_one, renamed_to_keyword])
def test_strings_and_names_print_as_valid_python(fn):
    x = 1.3
    expected = numeric_gradient(fn, (x,), 0)
    assert ast_ad.grad(fn)(x) == pytest.approx(expected, rel=1e-6)
    assert ast_ad.value_and_grad(fn)(x)[1] == pytest.approx(expected, rel=1e-6)
    assert ast_ad.vjp(fn, x)[1](1.0)[0] == pytest.approx(expected, rel=1e-6)
    check_jvp(fn, x)
    second = numeric_gradient(ast_ad.grad(fn), (x,), 0)
    assert ast_ad.hessian(fn)(x) == pytest.approx(second, rel=1e-5)


def test_f_string_prints_what_python_prints(capsys):
    ast_ad.grad(print_format_specs)(1.3)
    generated = capsys.readouterr().out
    print_format_specs(1.3)
    assert generated == capsys.readouterr().out


def test_generated_names_are_identifiers():
    code = ast_ad.generated_source(loss, 1.0, mode="vjp")
    assert "def loss_forward(x):" in code and "def loss_backward(" in code, code
    assert "my loss" not in code


def test_f_string_with_no_quotes_left_prints_as_join():
    """An expression part that needs a backslash cannot be inside an f-string before
    Python 3.12: it prints as "".join(...) with format() calls instead."""
    import ast

    import gast

    from ast_ad.passes.emit import _print

    node = ast.parse('f"{x!r:>{w}} and {y!s}"', mode="eval").body
    node.values[-1].value = ast.Constant(value="a\\b\x00'\"")
    text = _print(gast.Expr(value=gast.ast_to_gast(ast.Expression(body=node)).body))
    x, w = 1.5, 8
    assert eval(text) == f"{x!r:>{w}} and a\\b\x00'\""


# -- values a loop overwrites, read by the adjoints of statements before it ----------
# Found by tools/fuzz_codegen.py: the adjoint of `x = 1.5 / x` reads its result, whose
# SSA name is also the loop's header name for x; after the loop it held y's value, and
# grad gave -3.0 instead of -0.75 (jvp was right).


def swap_in_loop(x, y, n):
    x = 1.5 / x
    v = y
    for i in range(n):
        x, v = v, x
    return x + 2.0 * v


def rotate_in_while(x, y, n):
    x = np.exp(x)
    a = x * y
    i = 0
    while i < n:
        x, a = a, np.sin(x)
        i = i + 1
    return np.sum(x * a) + np.sum(x)


def nested_swaps(x, y, n):
    x = x * x * x
    v = math.sqrt(y)
    for i in range(n):
        for j in range(n):
            x, v = v, x
        x = x + 0.0
    return x * 2.0 + v


@pytest.mark.parametrize("fn, args", [
    (swap_in_loop, (2.0, 3.0, 1)), (swap_in_loop, (2.0, 3.0, 2)), (swap_in_loop, (2.0, 3.0, 0)),
    (swap_in_loop, (-0.97, -0.39, 3)), (rotate_in_while, (0.3, 0.8, 1)),
    (rotate_in_while, (0.3, 0.8, 3)), (rotate_in_while, (np.array([0.3, -0.2]), 0.8, 2)),
    (nested_swaps, (1.2, 2.0, 1)), (nested_swaps, (1.2, 2.0, 3)),
])
def test_loop_header_values_are_put_back(fn, args):
    check_gradient(fn, *args, argnums=(0, 1))
    value, pullback = ast_ad.vjp(fn, *args)
    for argnum, g in enumerate(pullback(1.0)[:2]):
        np.testing.assert_allclose(g, numeric_gradient(fn, args, argnum), rtol=1e-5, atol=1e-6)
    check_jvp(fn, *args, argnums=(0, 1))


# -- while loops left by break -----------------------------------------------------
# Found by tools/fuzz_codegen.py: SSA put a while loop's back-edge copies after its
# exit check only when the check was the body's last statement, but a while loop
# computes its next test after the check: a loop left by `break` then returned the
# previous iteration's values (value_and_grad of doubling_until gave (6.0, 4.0)
# instead of (12.0, 4.0); jvp's value too).


def doubling_until(x, n):
    i = 0
    while i < n:
        i = i + 1
        x = x * 2.0
        if x > 10.0:
            break
    return x


def swap_until(x, y, n):
    i = 0
    while i < n:
        i = i + 1
        y, x = x, y
        if x > 1.0:
            break
        y = 2.0 * y
    return x + 2.0 * y


@pytest.mark.parametrize("fn, args", [
    (doubling_until, (3.0, 5)), (doubling_until, (3.0, 1)), (doubling_until, (30.0, 5)),
    (swap_until, (0.3, 2.0, 3)), (swap_until, (0.3, -0.78, 2)), (swap_until, (1.5, 0.2, 4)),
])
def test_while_loop_left_by_break(fn, args):
    floats = tuple(i for i, a in enumerate(args) if isinstance(a, float))
    check_gradient(fn, *args, argnums=floats)
    check_jvp(fn, *args, argnums=floats)


# -- loops over iterators --------------------------------------------------------------
# A for loop runs by the index of its items (`for k in range(len(seq))`), and an iterator
# has neither: these raised TypeError ("object of type 'generator' has no len()") from
# the generated code. Rejected at the loop, saying to make a list of it.


def index_pairs(n):
    for i in range(n):
        for j in range(i + 1, n):
            yield i, j


def over_a_generator(x):
    e = 0.0
    for i, j in index_pairs(x.shape[0]):
        e = e + x[i] * x[j]
    return e


def over_itertools_product(x):
    e = 0.0
    for i, j in itertools.product(range(2), range(3)):
        e = e + x[i] * x[j]
    return e


def over_enumerated_generator(x):
    e = 0.0
    for k, (i, j) in enumerate(index_pairs(x.shape[0])):
        e = e + k * x[i] * x[j]
    return e


def over_a_listed_generator(x):
    e = 0.0
    for i, j in list(index_pairs(x.shape[0])):
        e = e + x[i] * x[j]
    return e


@pytest.mark.parametrize("fn, shown", [
    (over_a_generator, "index_pairs"), (over_itertools_product, "itertools.product"),
    (over_enumerated_generator, "index_pairs"),
])
def test_loop_over_an_iterator_is_rejected(fn, shown):
    with pytest.raises(UnsupportedSyntaxError, match=rf"a for loop over `{shown}\(\.\.\.\)`, "
                       r"which gives an iterator.*loop over `list\("):
        ast_ad.grad(fn)(np.array([0.3, 0.5, 0.7, 0.9]))


def test_loop_over_a_listed_generator():
    check_gradient(over_a_listed_generator, np.array([0.3, 0.5, 0.7, 0.9]))


# -- lists and tuples joined with + or repeated with * -----------------------------------
# Their adjoint was that of numbers added or multiplied: `[a] + [3 * b]` gave the gradient
# (11, 33) for (10, 3), a list grown in a loop (`parts = parts + [v]`) the wrong gradient
# after one iteration and a ValueError from unbroadcast after two.


def joined_floats(a, b):
    ys = [a] + [b * 3.0]
    return ys[0] * 10.0 + ys[1]


def joined_to_a_constant(b):
    ys = [b * 3.0] + [2.0, b]
    return ys[0] * 10.0 + ys[1] + ys[2] * 5.0


def joined_tuples(x):
    t = (x,)
    t = t + (x * 2.0,)
    return np.sum(t[0] * 3.0 + t[-1])


def grown_in_a_loop(x, n):
    parts = [x]
    for i in range(n):
        parts = parts + [x * (i + 2.0)]
    return np.sum(parts[0] * 3.0 + parts[-1] * parts[len(parts) // 2])


def grown_with_plus_equals(x):
    out = []
    for i in range(3):
        out += [np.sin(x * (i + 1))]
    return np.sum(np.stack(out) ** 2)


def repeated_list(b):
    ys = [b, b * 2.0] * 3
    zs = 2 * [b * b]
    return ys[0] + ys[3] * 10.0 + ys[5] + zs[1]


@pytest.mark.parametrize("f, args", [
    (joined_floats, (0.5, 0.25)), (joined_to_a_constant, (0.7,)),
    (joined_tuples, (np.array([0.3, -0.5]),)),
    (grown_in_a_loop, (np.array([0.3, -0.5]), 0)), (grown_in_a_loop, (np.array([0.3, -0.5]), 1)),
    (grown_in_a_loop, (np.array([0.3, -0.5]), 3)),
    (grown_with_plus_equals, (np.array([0.3, -0.5]),)),
    (repeated_list, (0.7,)),
])
def test_lists_joined_or_repeated(f, args):
    floats = tuple(i for i, a in enumerate(args) if not isinstance(a, int))
    check_gradient(f, *args, argnums=floats)
    check_jvp(f, *args, argnums=floats)
    ast_ad.check_grads(f, args, order=2, modes=("fwd",), argnums=floats)


def array_times_a_list(a, b):
    v = np.array([a, b]) * [2.0, 3.0]  # (NumPy multiplies item by item: no repetition)
    w = [a, b] + np.array([2.0, 3.0])  # (and adds item by item: no joining)
    return v[0] + 10.0 * v[1] + w[0] * w[1]


def test_a_list_with_an_array_is_not_joined_nor_repeated():
    check_gradient(array_times_a_list, 0.5, 0.25)
    check_jvp(array_times_a_list, 0.5, 0.25)


# -- NumPy functions given lists of values that carry a derivative -----------------------
# NumPy makes the list an array, but the rule's derivative code would treat it as a list:
# `dx + dy` joined two lists of tangents (a wrong jvp), `g * y` or `2 * x` raised a
# TypeError or repeated the list. Such a call (where values that carry a derivative take
# part) is rejected, saying to make the array first.


def added_lists(a, b):
    z = np.add([a, 2.0 * b], [b, 3.0 * a])
    return z[0] * z[1]


def dotted_lists(a, b):
    return np.dot([a, b], [b, a])


def scaled_list(a, b):
    return np.sum(np.multiply([a, b], 2.0))


def sine_of_a_tuple(a, b):  # (a ufunc of one list is differentiated)
    return np.sum(np.sin((a, b)) * np.exp([a, b]))


def dotted_with_a_constant_list(a, b):  # (the adjoint of a: g * [1.0, 2.0], g a float)
    return np.dot(np.array([a, b]), [1.0, 2.0])


def added_arrays(a, b):  # (the rewrite the message asks for)
    z = np.add(np.array([a, 2.0 * b]), np.array([b, 3.0 * a]))
    return z[0] * z[1] + np.dot(np.array([a, b]), np.array([1.0, 2.0]))


@pytest.mark.parametrize("fn", [added_lists, dotted_lists, scaled_list,
                                dotted_with_a_constant_list],
                         ids=lambda f: f.__name__)
def test_a_numpy_function_of_a_list_carrying_derivatives_is_rejected(fn):
    for run in (lambda: ast_ad.grad(fn, argnums=(0, 1))(0.3, 0.7),
                lambda: ast_ad.jvp(fn, (0.3, 0.7), (1.0, 0.5))):
        with pytest.raises(ast_ad.ADError, match="with values that carry a derivative — make "
                                                 "it an array first"):
            run()


def test_a_list_made_an_array_first_is_differentiated():
    check_gradient(sine_of_a_tuple, 0.3, 0.7)
    check_jvp(sine_of_a_tuple, 0.3, 0.7)
    check_gradient(added_arrays, 0.3, 0.7)
    check_jvp(added_arrays, 0.3, 0.7)
    ast_ad.check_grads(added_arrays, (0.3, 0.7), modes=("fwd",), order=2)
