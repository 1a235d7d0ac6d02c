"""simplify's shortcuts for long straight-line blocks (a sweep that returns at once where
it would find nothing, a fold into `v = e` that looks at e only) make the code the full
computation makes: with simplify.CHECK on, each runs the full computation too and
asserts that they agree. Equalities, not timings.
"""

import copy

import gast
import numpy as np
import pytest
from test_simplify_sweeps import _differentiated, _function, _mlp, _through_polar

import ast_ad
from ast_ad import anno, pipeline
from ast_ad.compile import compile_callee
from ast_ad.passes import simplify, sparse
from ast_ad.source import get_source


def _case(scaling, which):
    if which == "polar":
        return _through_polar, (1.3, 0.4)
    if which == "dict":
        rng = np.random.default_rng(3)
        return _mlp, ({"W1": rng.normal(size=(3, 4)), "b1": rng.normal(size=4),
                       "W2": rng.normal(size=(4, 2))}, rng.normal(size=(5, 3)))
    return _function(scaling, which)


def _placed(scaling, fn, args):
    """The function after the reverse pass, its inits placed there (the usual input)."""
    ast_ad.clear_caches()
    return pipeline.transform(get_source(fn), scaling.options_for(args),
                              stop_after="differentiate", compile_callee=compile_callee)


@pytest.mark.parametrize("placed", [True, False])
@pytest.mark.parametrize("which", ["floats", "arrays", "looped", "polar", "dict"])
def test_shortcuts_agree_with_the_full_sweeps(scaling, monkeypatch, which, placed):
    """The code simplify makes with its shortcuts is the code it makes checking each
    against the computation it replaces (simplify.CHECK), inits placed by reverse (no init
    left for _fold_inits: it returns at once) or not."""
    fn, args = _case(scaling, which)
    made = _placed if placed else _differentiated
    texts = []
    for check in (False, True):
        monkeypatch.setattr(simplify, "CHECK", check)
        tree, ctx = made(scaling, fn, args)
        texts.append(gast.dump(simplify.simplify(tree, ctx)))
    assert texts[0] == texts[1]


def test_fold_inits_returns_at_once_only_without_an_init(scaling, monkeypatch):
    """A straight-line block without an init: _fold_inits changes nothing and says so (it
    need not look); with one inside a loop, it still looks inside."""
    monkeypatch.setattr(simplify, "CHECK", False)
    fn, args = _function(scaling, "floats")
    tree, _ = _placed(scaling, fn, args)
    assert not any(anno.getanno(s, "adjoint", (None, None))[0] in ("init", "reset")
                   for s in tree.body)
    body = list(tree.body)
    left: list = []
    assert not simplify._fold_inits(tree.body, simplify._NameCache(), None, left)
    assert left == [] and all(a is b for a, b in zip(body, tree.body))
    fn, args = _function(scaling, "looped")
    tree, ctx = _differentiated(scaling, fn, args)
    assert simplify._fold_inits(tree.body, simplify._NameCache(), ctx, [])


def _statement(source: str):
    return gast.parse(source).body[0]


@pytest.mark.parametrize("source", [
    "v = t", "v = u", "v = 2.0", "v = a * t + t", "v = f(t, t)", "v = -t",
    "v[t] = t * 2.0", "v, w = t, t", "v += t", "return t", "f(t)",
])
def test_move_into_statement_is_move_into(source):
    """A fold into a statement puts the value where _move_into would (the first read of
    the name, in the same order), `v = e` looking at e only."""
    value = _statement("x = a + 1.0").value
    use, expected = _statement(source), _statement(source)
    moved = simplify._move_into_statement(use, "t", copy.deepcopy(value), {})
    expected_moved = simplify._move_into(expected, "t", copy.deepcopy(value), {})
    assert gast.dump(use) == gast.dump(expected)
    assert (moved is None) == (expected_moved is None)


def test_holds_restores_looks_inside_blocks():
    """A restore inside a loop's `if` is found; a block without one has none."""
    tree = gast.parse("for i in r:\n    if c:\n        y[i] = s\nz = 1")
    assert not simplify._holds_restores(tree.body)
    inner = tree.body[0].body[0].body[0]
    anno.setanno(inner, "restores", "y")
    assert simplify._holds_restores(tree.body)
    assert not simplify._holds_restores([tree.body[1]])


def test_sparse_rows_without_a_scatter_finds_nothing():
    """A body without an augmented assignment holds no scatter for sparse_rows (it looks no
    further; checking, as under simplify.CHECK, it does, and finds nothing)."""
    func = gast.parse("def f(x):\n    a = x * 2.0\n    return a").body[0]
    for check in (False, True):
        assert sparse._next(func, None, check) is None
