"""Shortcuts of the front passes on long functions, each checked against the work it saves.

parse shares one context and operator instance per class in a tree (as ast.parse does);
resolve's Scope keeps what each dotted name was found to be (with syntax.CHECK_GATES it
looks again and must find the same); resolve finds a kept signature at once and binds
nothing for a function without an `out` parameter; anno.any_managers is
any(managers_of(s) for s in stmts) without two calls per statement.
"""

import math

import gast
import numpy as np
import pytest
from numeric import check_gradient

import ast_ad
from ast_ad import anno, cache, pipeline, syntax
from ast_ad.context import Context, Options
from ast_ad.passes import resolve
from ast_ad.passes.parse import parse
from ast_ad.source import get_source

pytestmark = pytest.mark.usefixtures("check_gates")  # (conftest.py)


def long_line(x, y):
    a = math.sin(x) * math.cos(y) + x * y
    b = math.sin(a) * math.cos(a) - a / (1.0 + y * y)
    c = math.exp(-b * b) * x + math.sin(b) * math.sin(a)
    return a + b * c


RNG = np.random.default_rng(0)


def with_noise(x):
    return np.sum(x * RNG.standard_normal(3)) + np.sum(x * x * RNG.standard_normal(3))


def test_parse_shares_contexts_and_operators_within_a_tree():
    tree = parse(get_source(long_line))
    nodes = list(gast.walk(tree))
    loads = {id(n) for n in nodes if isinstance(n, gast.Load)}
    mults = {id(n) for n in nodes if isinstance(n, gast.Mult)}
    assert len(loads) == 1 and len(mults) == 1
    # (another parse: its own instances, nothing shared between trees)
    other = parse(get_source(long_line))
    assert not loads & {id(n) for n in gast.walk(other) if isinstance(n, gast.Load)}


def test_long_line_gradient_with_shared_leaves():
    check_gradient(long_line, 0.3, 0.7)


def test_scope_finds_a_name_once_and_notes_its_dependency():
    src = get_source(long_line)
    scope = resolve.Scope(Context(src, Options()), {"x", "y", "a", "b", "c"})
    with cache.recording() as recorded:
        first = scope.value("math.sin")
        again = scope.value("math.sin")  # (looked up again under CHECK_GATES: the same)
    assert first is again is math.sin
    assert len(recorded) == 1
    assert scope.value("a") is resolve._MISSING  # a local
    assert scope.value("math.no_such_function") is resolve._MISSING


def test_scope_keeps_a_bound_method_found_anew_at_each_lookup():
    src = get_source(with_noise)
    scope = resolve.Scope(Context(src, Options()), {"x"})
    first = scope.value("RNG.standard_normal")
    assert scope.value("RNG.standard_normal") is first
    assert first == RNG.standard_normal  # (equal, not identical, to a lookup now)


def test_bound_method_function_compiles_with_checked_lookups():
    f = ast_ad.value_and_grad(with_noise)
    x = np.array([0.5, -1.0, 2.0])
    state = RNG.bit_generator.state
    value, grad = f(x)
    RNG.bit_generator.state = state
    first, second = RNG.standard_normal(3), RNG.standard_normal(3)
    assert value == pytest.approx(np.sum(x * first) + np.sum(x * x * second))
    assert np.allclose(grad, first + 2 * x * second)


@pytest.mark.parametrize("call, found", [
    ("np.sum(x, 0, None, y)", ["y"]),  # out= by position
    ("np.add(x, x, y)", ["y"]),  # a ufunc's outputs
    ("math.sin(x)", []),  # no `out` parameter
    ("np.sin(x)", []),
    ("np.sum(x, 0)", []),
])
def test_written_arguments_with_and_without_an_out_parameter(call, found):
    node = gast.parse(call).body[0].value
    scope = resolve.Scope(Context(get_source(long_line), Options()), {"x", "y"})
    anno.setanno(node, "callee", resolve.callee_of(node.func, scope))
    for _ in range(2):  # (the second time from the kept signature)
        written = resolve.written_arguments(node)
        assert [a.id for a, _ in written] == found


def test_signature_of_a_method_of_an_unhashable_object():
    values = [3.0, 1.0]
    assert resolve._signature(values.append) is not None
    assert resolve._signature(values.append) is not None


def with_errstate(x):
    with np.errstate(divide="ignore"):
        y = np.log(x)
    z = y * 2.0
    return np.sum(z)


@pytest.mark.parametrize("f, any_", [(long_line, False), (with_errstate, True)])
def test_any_managers_agrees_with_managers_of(f, any_):
    args = (0.3, 0.7) if f is long_line else (np.array([1.0, 2.0]),)
    options = Options.of_values(tuple(ast_ad.values.of(a) for a in args))
    tree, _ = pipeline.transform(get_source(f), options, stop_after="buffers")
    stmts = list(syntax.walk_statements(tree.body))
    assert anno.any_managers(stmts) == any(anno.managers_of(s) for s in stmts) == any_
    assert not anno.any_managers([])


def test_checked_scope_notices_a_name_found_otherwise(monkeypatch):
    scope = resolve.Scope(Context(get_source(long_line), Options()), {"x", "y"})
    scope.value("math.sin")
    monkeypatch.setattr(math, "sin", math.cos)  # (what no compile does between lookups)
    with pytest.raises(AssertionError):
        scope.value("math.sin")
