"""Compile time of the stages around differentiate/simplify/emit (parse, views, fence,
anf, ssa, resolve, values, aliases, activity, mutation, factor, buffers, ...): counts of
walks, sweeps and reference cycles, not timings; and the gradients of the code they
lower on the paths they now take (one values sweep on straight-line code, a fence that
looks only at what views changed).

The functions are tools/compile_scaling.py's straight-line bodies (floats and arrays).
"""

import gc
import math
import sys

import numpy as np
import pytest
from numeric import check_gradient

import ast_ad
from ast_ad import pipeline, syntax
from ast_ad.compile import compile_callee
from ast_ad.context import Context
from ast_ad.naming import Namer, names_in
from ast_ad.passes import facts, fence, values
from ast_ad.source import get_source

source = sys.modules["ast_ad.source"]  # (ast_ad.source is also a function's name)

# The stages this file is about (the others are measured elsewhere).
FRONT = {"views", "fence", "with", "loops", "exits", "anf", "ssa", "resolve", "expand",
         "values", "containers", "aliases", "activity", "mutation", "hoist", "factor",
         "fuse", "batch", "rows", "save", "inplace", "buffers", "checkpoint", "split",
         "managers"}


def _counting_walk(monkeypatch) -> list:
    """Make every module's syntax.walk count the nodes it visits (count[0])."""
    count = [0]
    walk = syntax.walk

    def counting(node):
        found = walk(node)
        count[0] += len(found)
        return found

    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("ast_ad") \
                and getattr(module, "walk", None) is walk:
            monkeypatch.setattr(module, "walk", counting)
    return count


@pytest.mark.parametrize("variant", ["floats", "arrays"])
def test_each_front_stage_walks_the_function_at_most_twice(scaling, monkeypatch, variant):
    fn = scaling.load(scaling.generate(120, variant))
    options = scaling.options_for(scaling.arguments(variant))
    size = syntax.walk  # (the real walk, for the tree's size)
    count = _counting_walk(monkeypatch)
    ast_ad.clear_caches()
    src = get_source(fn)
    ctx = Context(src, options, compile_callee=compile_callee,
                  analyse_callee=pipeline.analyse_callee)
    tree = pipeline.parse(src)
    ctx.namer = Namer(names_in(tree))
    walks = {}
    for stage, run in pipeline.LOWERING + pipeline.REVERSE:
        nodes = len(size(tree))
        count[0] = 0
        tree = run(tree, ctx)
        walks[stage] = count[0] / nodes
    assert {s: w for s, w in walks.items() if s in FRONT and w > 2.0} == {}, walks


@pytest.mark.parametrize("variant", ["floats", "arrays"])
def test_straight_line_gradients(scaling, variant):
    fn = scaling.load(scaling.generate(60, variant, seed=3))
    check_gradient(fn, *scaling.arguments(variant), argnums=(0, 1, 2))


def _sweeps(monkeypatch) -> list:
    """How many times the values pass goes over the function's statements (count[0])."""
    count = [0]
    walk_statements = values.walk_statements

    def counting(stmts):
        count[0] += 1
        return walk_statements(stmts)

    monkeypatch.setattr(values, "walk_statements", counting)
    return count


def test_values_sweeps_straight_line_code_once(scaling, monkeypatch):
    fn = scaling.load(scaling.generate(80, "floats"))
    count = _sweeps(monkeypatch)
    ast_ad.grad(fn, argnums=(0, 1, 2))(0.3, -0.2, 0.5)
    assert count[0] == 1  # one sweep (the shape classes come from the statements it saw)


def appended_later(x):
    ys = []
    ys.append(x * 2.0)
    t = ys[0] * x  # reads the list before its second item is appended
    ys.append(t)
    return ys[0] + ys[1] * x


def looped(x):
    h = x
    for _ in range(3):
        h = math.sin(h) * x
    return h


@pytest.mark.parametrize("fn", [appended_later, looped])
def test_values_sweeps_again_where_a_value_can_change(monkeypatch, fn):
    count = _sweeps(monkeypatch)
    check_gradient(fn, 0.7)
    assert count[0] > 1


def test_fence_after_the_check_looks_only_at_what_views_changed(scaling, monkeypatch):
    fn = scaling.load(scaling.generate(40, "floats"))
    checked = []
    check = fence._check
    monkeypatch.setattr(fence, "_check", lambda node, *a, **k: (checked.append(node),
                                                               check(node, *a, **k)))
    ast_ad.grad(fn, argnums=(0, 1, 2))(0.3, -0.2, 0.5)
    # the check looked at no statement of plain code (at each once, gates in full); fence none
    assert len(checked) == (len(pipeline.parse(get_source(fn)).body) if syntax.CHECK_GATES else 0)


def unpacked(p, x):
    return sum(v * x for k, v in p.items() if k != "skip")


def test_views_unrolled_statements_are_fenced_and_differentiated():
    p = {"a": 2.0, "skip": 5.0, "b": -1.5}
    value, grad = ast_ad.value_and_grad(unpacked, argnums=1)(p, 0.5)
    assert value == pytest.approx(0.25)
    assert grad == pytest.approx(0.5)


def test_front_stages_leave_no_reference_cycles(scaling):
    """The trees and tables the lowering stages make are freed as soon as they are
    dropped (reference counting), not left to a full collection."""
    options = scaling.options_for(scaling.arguments("floats"))

    def garbage(n):
        fn = scaling.load(scaling.generate(n, "floats"))
        src = get_source(fn)
        gc.collect()
        enabled = gc.isenabled()
        gc.disable()
        try:
            tree, ctx = pipeline.transform(src, options, stop_after="hoist",
                                           compile_callee=compile_callee)
            del tree, ctx
            return gc.collect()
        finally:
            if enabled:
                gc.enable()

    garbage(20)  # (library signatures parsed the first time)
    small, large = garbage(40), garbage(160)
    assert large <= small + 20, (small, large)


def test_facts_free_without_the_collector():
    import weakref

    from ast_ad.context import Options

    src = get_source(appended_later)
    ctx = Context(src, Options())
    ctx.values, ctx.kinds = {}, {}
    made = facts.Facts(ctx)
    ref = weakref.ref(made)
    del made
    assert ref() is None


def test_source_check_compares_bytes(monkeypatch):
    """A module function reading np and math: the source compiles (after the imports
    it reads) to the running code's own bytes, with no instruction-level comparison."""
    def calls_np(x):
        return np.sum(np.tanh(x)) + math.sin(1.0)

    monkeypatch.setattr(source, "_ops", lambda code: pytest.fail("compared instructions"))
    ast_ad.clear_caches()
    src = get_source(calls_np)
    assert "np.tanh" in src.text


def test_memo_tables_stay_bounded():
    # The compiler's memo tables (broadcast shapes, array values) keep answers by key; a long
    # session that sees many shapes must not keep them all alive.
    from ast_ad import shapes, values

    for n in range(2 * shapes._MEMO_LIMIT):
        assert shapes.broadcast((n + 1,), (1,)) == (n + 1,)
        assert values.array(np.float64, (n + 1, 2)).shape == (n + 1, 2)
    assert len(shapes._BROADCASTS) <= shapes._MEMO_LIMIT
    assert len(values._ARRAYS) <= shapes._MEMO_LIMIT


# (at the end: the functions above keep their lines, and their generated code its
# comments)
def swapped(x, y):
    a, b = y * x, x + 1.0
    c = math.sin(a) * b
    return c


def test_fence_looks_at_each_statement_once_when_parse_saw_more_than_plain_nodes(
        monkeypatch):
    checked = []
    check = fence._check
    monkeypatch.setattr(fence, "_check", lambda node, *a, **k: (checked.append(node),
                                                               check(node, *a, **k)))
    check_gradient(swapped, 0.3, -0.2)  # (a tuple target: the fence looks)
    # the up-front check looked at each statement once; the fence stage at none again
    assert len(checked) == len(pipeline.parse(get_source(swapped)).body)
