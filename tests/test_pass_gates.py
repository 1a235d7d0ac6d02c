"""Passes that return at once when a cheap test shows they have nothing to do.

The aliases pass on a function that changes nothing in place, save on straight-line
code, inplace without arrays, factor where none of its rewrites has a place to start.
Each gate must let through only what the whole pass would let through unchanged: with
syntax.CHECK_GATES set (as here, for every test of this file) a pass that returns early
also runs in full, and must neither reject nor change the function. A whole test run can set it too:

    PYTHONPATH=<dir of a plugin whose pytest_configure sets ast_ad.syntax.CHECK_GATES> \
        python -m pytest -p <that plugin>

And each gate lets the pass run on a function with just one of the features it looks for.
"""

import gast
import numpy as np
import pytest
from numeric import check_gradient
from test_speed_rewrites import normalised_columns, normalised_rows

import ast_ad
from ast_ad import anno, pipeline, syntax
from ast_ad.context import Options
from ast_ad.passes import aliases, factor
from ast_ad.source import get_source

pytestmark = pytest.mark.usefixtures("check_gates")  # (conftest.py)


def _before_aliases(f, *args):
    """The tree and context check_aliases sees for value_and_grad(f)(*args)."""
    options = Options.of_values(tuple(ast_ad.values.of(a) for a in args))
    return pipeline.transform(get_source(f), options, stop_after="containers")


# -- aliases ---------------------------------------------------------------------------

def straight_line(x, y):
    a = np.sin(x) * y
    b = np.exp(-a * a) + 0.5 * x
    c = np.sum(b, axis=0) - np.tanh(a)[0]
    return np.sum(a) + c


def floats(x, y):
    a = x * y
    a += 1.5  # (on a number: a new value in NumPy too)
    b = math_like(a)
    return a - b


def math_like(t):
    return t * t


G_LIST = [1.0]
G_ARR = np.zeros(3)


def item_write_into_a_view(x, y):
    z = np.outer(x, y)
    r = z[0]
    r[1] = y[0]
    return np.sum(z)


def augmented_array_another_name_reads(x, y):
    z = x * 1.0
    s = [z]
    z += y
    return np.sum(s[0]) + np.sum(z)


def appends_to_a_global_list(x, y):
    G_LIST.append(np.sum(x))
    return np.sum(x * y)


def sorts_a_global_list(x, y):
    G_LIST.sort()
    return np.sum(x * y)


def writes_out_into_a_global(x, y):
    np.multiply(x, y, out=G_ARR)
    return np.sum(x * y)


def push(s, v):
    s.append(v)


def pushed_then_read(x, y):
    s = [x]
    push(s, y)
    return np.sum(s[0] * s[1])


def nested_call_in_a_global(x, y):
    G_ARR[0] = np.sum(x)
    return np.sum(x * y)


X = np.array([0.5, 1.5, 2.0])
Y = np.array([1.0, -0.5, 0.25])


def test_straight_line_code_changes_nothing_in_place():
    for f, args in ((straight_line, (X, Y)), (floats, (0.5, 1.5))):
        tree, ctx = _before_aliases(f, *args)
        assert not aliases._may_change_in_place(tree, ctx)
        value, grads = ast_ad.value_and_grad(f, argnums=(0, 1))(*args)
        assert value == pytest.approx(f(*args))


@pytest.mark.parametrize("f, fragment", [
    (item_write_into_a_view, "which may be a view of another array"),
    (augmented_array_another_name_reads, "also refer"),
    (appends_to_a_global_list, "changing `G_LIST` in place, a global"),
    (sorts_a_global_list, "changing `G_LIST` in place, a global"),
    (writes_out_into_a_global, "changing `G_ARR` in place, a global"),
    (pushed_then_read, "changes its argument `s` in place"),
    (nested_call_in_a_global, "changing `G_ARR` in place, a global"),
])
def test_one_feature_that_may_change_an_array_makes_the_aliases_pass_look(f, fragment):
    tree, ctx = _before_aliases(f, X, Y)
    assert aliases._may_change_in_place(tree, ctx)
    with pytest.raises(ast_ad.UnsupportedSyntaxError) as info:
        ast_ad.grad(f)(X, Y)
    assert fragment in str(info.value)


def test_a_gate_that_skips_a_rejection_is_caught(monkeypatch):
    monkeypatch.setattr(aliases, "_may_change_in_place", lambda func, ctx: False)
    with pytest.raises(AssertionError, match="the aliases pass's gate"):
        ast_ad.grad(item_write_into_a_view)(X, Y)


# -- save, inplace ---------------------------------------------------------------------

def looped(x, n):
    for _ in range(n):
        x = np.sin(x) * 1.5
    return np.sum(x)


def accumulated(a, n):
    total = np.zeros_like(a)
    for _ in range(n):
        total = total + a * a
    return np.sum(total)


def test_a_loop_still_saves_its_values():
    text = ast_ad.source(ast_ad.value_and_grad(looped), X, 3)
    assert ".append(" in text and ".pop()" in text
    value, g = ast_ad.value_and_grad(looped)(X, 3)
    eps = 1e-6
    numeric = [(looped(X + eps * e, 3) - looped(X - eps * e, 3)) / (2 * eps) for e in np.eye(3)]
    assert g == pytest.approx(np.array(numeric), rel=1e-6)


def test_array_adjoints_still_accumulate_in_place():
    text = ast_ad.source(ast_ad.value_and_grad(accumulated), X, 3)
    assert " += " in text
    straight = ast_ad.source(ast_ad.value_and_grad(floats), 0.5, 1.5)
    assert " += " not in straight.split("# backward", 1)[-1]


# -- factor ------------------------------------------------------------------------------

def _factor_gate(f, *args) -> tuple[bool, bool]:
    """(whether the factor pass's gate lets it run, whether the pass then changes the
    function) for value_and_grad(f)(*args)."""
    options = Options.of_values(tuple(ast_ad.values.of(a) for a in args))
    tree, ctx = pipeline.transform(get_source(f), options, stop_after="simplify")
    body = tree.body
    backward = [i for i, s in enumerate(body) if isinstance(s, gast.Assign)
                and anno.getanno(s, "section") == "backward"]
    before = gast.dump(tree)
    may = factor._may_rewrite(body, backward)
    factor.factor(tree, ctx)
    return may, gast.dump(tree) != before


def quotient_reused(x, e, w):
    t = np.sum(e, axis=1, keepdims=True)
    p = e / t
    y = x * e / t  # (its adjoint `w / t * e` becomes `w * p`)
    return np.sum(y * w) + np.sum(p * p)


M = np.array([[0.5, 1.5, 2.0], [1.0, -2.0, 3.0], [0.25, 0.75, -1.0]])
N = np.array([[1.0, -0.5, 0.25], [2.0, 0.5, 1.5], [-1.0, 0.3, 0.6]])


@pytest.mark.parametrize("f, args", [
    (quotient_reused, (M, N + 2.0, M)),
    (normalised_rows, (M, N)),  # (a factor leaves the sum)
    (normalised_columns, (M + 3.0, N)),  # (a common divisor)
])
def test_code_the_factor_pass_rewrites_opens_its_gate(f, args):
    assert _factor_gate(f, *args) == (True, True)
    check_gradient(f, *args)  # (the rewritten adjoint, against central differences)


def test_a_quotient_to_reuse_alone_opens_the_factor_gate(monkeypatch):
    monkeypatch.setattr(factor, "_rewrite_starts", lambda value: False)
    assert _factor_gate(quotient_reused, M, N + 2.0, M) == (True, True)


def test_straight_line_arrays_skip_the_factor_pass(scaling):
    # divisions in the backward statements, but none the pass can rewrite (the fixture
    # runs it anyway: it must leave the function as it is)
    fn = scaling.load(scaling.generate(60, "arrays", seed=3))
    args = scaling.arguments("arrays")
    assert _factor_gate(fn, *args) == (False, False)
    value, grads = ast_ad.value_and_grad(fn, argnums=(0, 1, 2))(*args)
    assert value == pytest.approx(fn(*args))


# -- syntax.writes_into_any: statements of one operation on atoms are not walked ------------

def _writes_into_any_by_walk(stmts: list) -> bool:
    """What syntax.writes_into_any answered before: a walk of every node."""
    for node in syntax.walk_lean(gast.Module(body=stmts, type_ignores=[])):
        if isinstance(node, (gast.Subscript, gast.Attribute)) and isinstance(node.ctx, gast.Store):
            base = node.value
            while isinstance(base, (gast.Subscript, gast.Attribute)):
                base = base.value
            if isinstance(base, gast.Name):
                return True
    return False


def test_writes_into_any_agrees_with_a_walk_of_every_node():
    import importlib
    import types

    trees = writes = 0
    for module_name in ("control_cases", "program_cases", "python_syntax_cases", "calls_cases"):
        module = importlib.import_module(module_name)
        for fn in vars(module).values():
            if not isinstance(fn, types.FunctionType) or fn.__module__ != module_name:
                continue
            # as the user wrote it (nested expressions), and in A-normal form
            for stage in ("fence", "expand"):
                try:
                    tree, _ = pipeline.transform(get_source(fn), Options(), stop_after=stage)
                except ast_ad.ADError:
                    continue
                trees += 1
                expected = _writes_into_any_by_walk(tree.body)
                writes += expected
                assert syntax.writes_into_any(tree.body) == expected, (fn.__qualname__, stage)
    assert trees > 100 and writes > 10  # (the cases still hold both kinds)
