"""The reverse pass places the adjoint inits of a function without branches or loops as
simplify's _fold_inits would (reverse.PLACE_INITS): the generated code is the same as
with every init at the top, and _fold_inits finds nothing left to do. simplify.CHECK
(AST_AD_CHECK_SIMPLIFY=1) compares each such function with _fold_inits' own result."""

import math

import numpy as np
import pytest
from test_compile_time_linear import load_looped
from test_simplify_sweeps import _mlp, _through_polar  # (a tuple helper; dict parameters)

import ast_ad
import ast_ad.compile as compile_module
from ast_ad import anno, pipeline, syntax
from ast_ad.compile import compile_callee
from ast_ad.passes import patterns, reverse, simplify
from ast_ad.source import get_source


def _unread(x, y):
    t = x * y  # read only by the line after: its adjoint's first use is a read
    u = t * 0.0 + math.sin(x)
    v = u * y - x / (1.0 + y * y)
    return v * v + u


def _written(x):
    y = np.zeros(3)
    y[0] = x[0] * 2.0  # a scatter: the inits stay at the top, as before
    return np.sum(y * x)


def _cases(scaling):
    mlp_params = {"W1": np.ones((3, 4)) * 0.1, "b1": np.zeros(4), "W2": np.ones((4, 2))}
    return [
        (scaling.load(scaling.generate(60, "floats")), scaling.arguments("floats")),
        (scaling.load(scaling.generate(60, "arrays")), scaling.arguments("arrays")),
        (load_looped(scaling, 12), (0.3, -0.2, 0.5)),
        (_through_polar, (0.7, 0.3)),
        (_mlp, (mlp_params, np.ones((5, 3)))),
        (_unread, (0.4, -1.3)),
        (_written, (np.array([0.5, 1.0, 2.0]),)),
    ]


_GENERATE = pipeline.generate


def _generated(monkeypatch, fn, args, placing: bool) -> list:
    """The texts a first value_and_grad call generates (callees' too)."""
    texts = []
    run = _GENERATE

    def recording(*given, **keywords):
        made = run(*given, **keywords)
        texts.append(made[0])
        return made

    monkeypatch.setattr(pipeline, "generate", recording)
    monkeypatch.setattr(compile_module, "generate", recording)
    monkeypatch.setattr(reverse, "PLACE_INITS", placing)
    ast_ad.clear_caches()
    ast_ad.value_and_grad(fn, argnums=tuple(range(len(args))))(*args)
    return texts


@pytest.mark.parametrize("which", range(7))
@pytest.mark.parametrize("fill", [False, True])
def test_placed_inits_give_the_same_code(scaling, monkeypatch, which, fill):
    """(`fill`: every rule filled in full, patterns.CHECK: no statement is a copy, whose
    names place_inits knows without a walk)"""
    monkeypatch.setattr(simplify, "CHECK", True)  # (and reverse compares with _fold_inits)
    monkeypatch.setattr(patterns, "CHECK", fill)
    fn, args = _cases(scaling)[which]
    placed = _generated(monkeypatch, fn, args, True)
    assert placed and placed == _generated(monkeypatch, fn, args, False)


@pytest.mark.parametrize("variant", ["floats", "arrays"])
def test_a_straight_line_backward_pass_has_no_init_left_to_fold(scaling, variant):
    """Every init of a long straight-line function is folded into its first contribution
    (none is made), and _fold_inits would change nothing."""
    fn, args = scaling.load(scaling.generate(60, variant)), scaling.arguments(variant)
    ast_ad.clear_caches()
    tree, ctx = pipeline.transform(get_source(fn), scaling.options_for(args),
                                   stop_after="differentiate", compile_callee=compile_callee)
    ops = [anno.getanno(s, "adjoint", (None, None))[0] for s in syntax.walk_statements(tree.body)]
    assert "init" not in ops and ops.count("add") > 100
    assert not simplify._fold_inits(tree.body, simplify._NameCache(), ctx)
