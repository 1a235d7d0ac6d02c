"""What parse records as it converts a function (parse.Parsed), and the walks it saves.

The namer takes the names parse recorded; pipeline.check's fence, the views stage, the
exits pass and expand (from what resolve found) skip their look at each statement when
what was recorded shows they have nothing to do. With syntax.CHECK_GATES (set for every
test of this file) each of them also looks in full and must agree.
"""

import functools
import math

import numpy as np
import pytest
import scipy.special
from numeric import check_gradient

import ast_ad
from ast_ad import anno, pipeline, syntax
from ast_ad.naming import names_in
from ast_ad.passes import exits, expand, fence, parse, static_keys
from ast_ad.source import get_source

pytestmark = pytest.mark.usefixtures("check_gates")  # (conftest.py)


def _decorated(f):
    @functools.wraps(f)
    def wrapper(*args):
        return f(*args)
    return wrapper


@_decorated
def annotated(x: float, *rest: "np.ndarray", scale: float = 2.0) -> float:
    y = math.sin(x) * scale
    return y + sum(v for v in rest)


def nested(x, y):
    def square(v):
        return v * v
    halve = lambda v: v / 2  # noqa: E731
    return square(x) + halve(np.cos(y)).real


def handler(x):
    try:
        return 1.0 / x
    except ZeroDivisionError as error:
        return error.args


@pytest.mark.parametrize("f", [annotated, nested])
def test_the_names_parse_records_are_those_of_the_tree(f):
    tree = parse.parse(get_source(f))
    recorded = anno.getanno(tree, "parsed")
    assert recorded is not None
    assert recorded.names == names_in(tree)
    assert "_decorated" not in recorded.names and "float" not in recorded.names
    assert recorded.functions == (2 if f is nested else 1)


def test_a_node_whose_names_parse_does_not_record_leaves_no_record():
    tree = parse.parse(get_source(handler))  # (gast makes a Name of `error`)
    assert anno.getanno(tree, "parsed") is None
    assert "error" in names_in(tree)


def plain(x, y):
    a = math.sin(x) * y + 2.0
    b = -a ** 2 if a > 0 else math.cos(a)
    return a * b


@pytest.fixture
def no_check(monkeypatch):
    """Gates as they run outside the tests (not also running the whole pass)."""
    monkeypatch.setattr(syntax, "CHECK_GATES", False)


def _refuse(*args, **kwargs):
    raise AssertionError("looked at although the gate said there is nothing to see")


def test_plain_code_is_fenced_and_lowered_without_a_walk_of_each_statement(
        no_check, monkeypatch):
    monkeypatch.setattr(fence, "_check", _refuse)
    monkeypatch.setattr(static_keys, "_Unroll", _refuse)
    monkeypatch.setattr(exits, "_walk_own", _refuse)
    monkeypatch.setattr(expand, "_block", _refuse)
    monkeypatch.setattr(pipeline, "names_in", _refuse)
    value, grads = ast_ad.value_and_grad(plain, argnums=(0, 1))(0.3, 1.2)
    assert value == pytest.approx(plain(0.3, 1.2))


def complex_constant(x):
    return x * 1j


def unpacked_keywords(x):
    options = {"axis": 0}
    return np.sum(x, **options)


def attribute_target(x):
    x.value = 1.0
    return x


def set_display(x):
    s = {x, 2.0}
    return len(s)


@pytest.mark.parametrize("f", [complex_constant, unpacked_keywords, attribute_target,
                               set_display])
def test_what_the_fence_rejects_opens_its_gate(no_check, f):
    with pytest.raises(ast_ad.ADError):
        ast_ad.value_and_grad(f)


def views_of_a_dict(params, x):
    return sum(w * x for w in params.values())


def loop_over_keys(params, x):
    total = 0.0
    for k in ("a", "b"):
        total = total + params[k] * x
    return total


@pytest.mark.parametrize("f", [views_of_a_dict, loop_over_keys])
def test_what_the_views_stage_rewrites_opens_its_gate(f):
    params = {"a": 1.5, "b": -0.5}
    value, grads = ast_ad.value_and_grad(f, argnums=(0, 1))(params, 2.0)
    assert value == pytest.approx(f(params, 2.0))
    assert grads[1] == pytest.approx(1.0)


def early_return(x):
    y = x * x
    if y > 1.0:
        return y
    return -y


def test_an_early_return_opens_the_exits_gate():
    check_gradient(early_return, 2.0)
    check_gradient(early_return, 0.5)


def cross_entropy(x, w):
    return np.sum(scipy.special.log_softmax(x, axis=1) * w)


def test_a_log_softmax_call_opens_the_expand_gate():
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    check_gradient(cross_entropy, x, w)
    assert "np.errstate" in ast_ad.source(ast_ad.grad(cross_entropy), x, w)
