"""The builtins the generated code calls by name (range, len, min, reversed, slice) are
the builtins: where the user's function gives one of those names to something else, an
UnsupportedSyntaxError at the line, not a loop that runs another number of times (a
wrong value and gradient) or a TypeError from the generated code."""

import builtin_names_cases as module_len
import builtin_names_locals as local
import pytest
from numeric import check_gradient

import ast_ad
from ast_ad import UnsupportedSyntaxError


def _line_of(fn, text: str) -> int:
    lines = open(fn.__code__.co_filename).read().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


@pytest.mark.parametrize("fn, name_, line", [
    (module_len.loop_over_list, "len", "for v in xs:"),
    (module_len.max_of_list, "len", "return max("),
    (local.zip_with_local_min, "min", "for u, v in zip("),
    (local.comprehension_over_local_range, "range", "return sum("),
    (local.while_with_local_range, "range", "while k < 2:"),
], ids=["global len", "global len, max", "local min", "local range", "local range, while"])
def test_a_builtin_the_generated_code_calls_may_not_be_renamed(fn, name_, line):
    args = (0.3,) if fn is local.while_with_local_range else (0.3, 0.7)
    with pytest.raises(UnsupportedSyntaxError) as info:
        ast_ad.value_and_grad(fn, argnums=tuple(range(len(args))))(*args)
    text = str(info.value)
    assert f"calls the builtin `{name_}`" in text and f"give your `{name_}` another" in text
    assert info.value.location.lineno == _line_of(fn, line), text


def test_a_name_the_final_code_does_not_call_is_free():
    check_gradient(local.loop_with_local_reversed, 0.3, 0.7, argnums=(0, 1))
    assert "reversed(" not in ast_ad.source(ast_ad.value_and_grad(
        local.loop_with_local_reversed, argnums=(0, 1)), 0.3, 0.7)


LOOP = '''
def f(x):
    s = 0.0
    for i in range(3):
        s = s + x * i * s + x
    return s


def g(x, k):
    s = 0.0
    while k < 2:
        s = s + x * s + x
        k = k + 1
    return s


def h(x, rows):
    return (x[rows, 1:] ** 2).sum()
'''


@pytest.fixture
def loop_module(tmp_path, monkeypatch):
    import importlib.util
    import sys

    path = tmp_path / "reversed_later.py"
    path.write_text(LOOP)
    spec = importlib.util.spec_from_file_location("reversed_later", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "reversed_later", module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("fn, called, args", [
    ("f", "reversed", (0.5,)), ("g", "range", (0.5, 0)), ("h", "slice", ()),
], ids=["for: reversed", "while: range", "rows that may repeat: slice"])
def test_a_builtin_defined_in_the_module_later_reaches_no_cached_code(
        loop_module, monkeypatch, fn, called, args):
    """The backward code calls reversed, range or slice by name and looks it up when it
    runs: a module global of that name defined after the first call (a function that
    does not reverse, here) must not silently change the gradient of the code compiled
    before: the code is regenerated, and rejected while the name is not the builtin."""
    import numpy as np

    f = getattr(loop_module, fn)
    if not args:  # (np.add.at with the index (rows, slice(1, None, None)))
        args = (np.arange(6.0).reshape(2, 3), np.array([0, 1, 0]))
    grad = ast_ad.grad(f)
    assert f"{called}(" in ast_ad.source(grad, *args)
    expected = grad(*args)
    check_gradient(f, *args, argnums=(0,))
    monkeypatch.setattr(loop_module, called, lambda *parts: None, raising=False)
    with pytest.raises(UnsupportedSyntaxError, match=f"calls the builtin `{called}`"):
        grad(*args)
    monkeypatch.delattr(loop_module, called)
    np.testing.assert_allclose(grad(*args), expected)
