"""The fold's shortcuts (simplify._fold) make what the full computation makes: algebra's
re-simplification of a changed tree (children it settled are not looked at, `t * 0.5`
needs no rule) is algebra.simplify, and _single_use's answer from a few positions is
the merged scan's (simplify.CHECK compares each fold). Equalities, not timings."""

import copy
import itertools

import gast
import pytest

import ast_ad
from ast_ad import algebra, pipeline
from ast_ad.compile import compile_callee
from ast_ad.passes import simplify
from ast_ad.source import get_source

_CONSTANTS = [0, 1, -1, 2, 0.0, 1.0, -1.0, -0.0, 0.5, 2.5, True, False, None, "s",
              float("nan"), 1j]
_OPERANDS = ["a", "f(a)", "a.b", "a[0]", "-a", "1.0 / a", "a * b", "(a < b)"]
_OPS = ["+", "-", "*", "/", "**", "%", "//"]


def _expr(source: str):
    return gast.parse(source, mode="eval").body


def _constant(value):
    return gast.Constant(value=value, kind=None)


@pytest.mark.parametrize("floats", [True, False])
def test_rewrite_of_a_constant_and_a_plain_operand_is_the_full_rules(floats, monkeypatch):
    """_rewrite returns at once for a constant that is no 0, 1 or -1 beside an operand no
    rule looks into: what it returns with that shortcut off (_plain always False)."""
    cases = []
    for value, operand, op, constant_left in itertools.product(
            _CONSTANTS, _OPERANDS, _OPS, (True, False)):
        node = _expr(f"a {op} b")
        other = _expr(operand)
        node.left, node.right = (_constant(value), other) if constant_left \
            else (other, _constant(value))
        cases.append(node)
    fast = [gast.dump(algebra._rewrite(copy.deepcopy(n), floats)) for n in cases]
    monkeypatch.setattr(algebra, "_plain", lambda value: False)
    full = [gast.dump(algebra._rewrite(copy.deepcopy(n), floats)) for n in cases]
    assert fast == full


_SOURCES = [
    "a * 1.0 + b", "-(-a) * f(b, 1.0 * c)", "x.y * (1.0 / a) * -b", "(0 + a) / 1",
    "f(a * 1, -(-b))[0] - 0.0", "g(h(a + 0.0), k=-(-c)) * 2.0", "-a * -b / 1.0",
    "(a < b * 1.0) + 0.5 * a", "[a * 1.0, (b + 0.0,)][0] ** 1",
]


@pytest.mark.parametrize("floats", [True, False])
def test_simplify_again_after_a_change_is_simplify(floats):
    """simplify_again_changed on a tree it settled once, then changed below (a value moved
    in place of a name, as a fold does), makes what algebra.simplify makes of it."""
    for source, inner in itertools.product(_SOURCES, _SOURCES):
        tree = _expr(source)
        settled: dict = {}
        tree, _ = algebra.simplify_again_changed(tree, floats, settled)
        moved = simplify._move_into(tree, "a", _expr(inner), {floats: settled})
        if moved is None:
            continue
        expected = gast.dump(algebra.simplify(copy.deepcopy(tree), floats))
        was = gast.dump(tree)
        again, changed = algebra.simplify_again_changed(tree, floats, settled)
        assert gast.dump(again) == expected, (source, inner)
        assert changed or expected == was


@pytest.mark.parametrize("which", ["floats", "arrays", "branches", "entries", "loops"])
def test_folds_checked_against_the_full_computation(scaling, monkeypatch, which):
    """With simplify.CHECK on, each _single_use answer is compared with the merged scan,
    each re-simplified use with algebra.simplify, the names written into and the views
    with a walk: the code is the code made without the checks."""
    variant, shape = (which, "straight") if which in ("floats", "arrays") else ("floats", which)
    fn = scaling.load(scaling.generate(40, variant, shape=shape))
    args = scaling.arguments(variant)
    texts = []
    for check in (False, True):
        monkeypatch.setattr(simplify, "CHECK", check)
        ast_ad.clear_caches()
        text, _, _ = pipeline.generate(get_source(fn), scaling.options_for(args),
                                       compile_callee=compile_callee)
        texts.append(text)
    assert texts[0] == texts[1]
