"""NamedTuples and dataclasses built inside a differentiated function (records.py).

`P(a, b)` holds its arguments as the display `(a, b)` does: the derivative passes read
it field by field, forward and reverse, at first and second order, through callees and
loops. Classes that run code of their own when built are rejected by name.
"""

import collections
import dataclasses
from typing import NamedTuple

import gast
import numpy as np
import pytest
from numeric import check_gradient, check_jvp

import ast_ad
from ast_ad import algebra


class Layer(NamedTuple):
    w: np.ndarray
    b: float = 0.5


@dataclasses.dataclass
class Scale:
    w: np.ndarray
    s: float = 1.0


@dataclasses.dataclass(frozen=True)
class Pair:
    a: float
    b: float


@dataclasses.dataclass(kw_only=True)
class Named:
    w: np.ndarray
    s: float


class Stack(NamedTuple):
    inner: Scale
    c: float


Point = collections.namedtuple("Point", "x y")


@dataclasses.dataclass
class Doubled:
    w: np.ndarray

    def __post_init__(self):
        self.w = self.w * 2.0


@dataclasses.dataclass
class WithList:
    w: np.ndarray
    extra: list = dataclasses.field(default_factory=list)


def score(layer, x):
    return np.sum(np.tanh(x * layer.w + layer.b))


def built_and_passed_on(w, x):
    layer = Layer(w * 2.0)  # b from its default
    return score(layer, x)


def built_by_keyword(w, x):
    layer = Layer(b=np.sum(w), w=w)
    return np.sum(layer.w * x) + layer.b ** 2


def dataclass_fields(w, x):
    scale = Scale(w, 0.3)
    return np.sum(scale.w * x * scale.s)


def dataclass_default(w, x):
    scale = Scale(w * x)
    twice = Scale(scale.w * x, scale.s * 2.0)
    return np.sum(twice.w) * twice.s


def frozen_dataclass(w, x):
    pair = Pair(np.sum(w), np.sum(x * w))
    return pair.a * pair.b


def keyword_only_dataclass(w, x):
    named = Named(s=0.5, w=w)
    return np.sum(named.w * x * named.s)


def collections_namedtuple(w, x):
    point = Point(w, x)
    return np.sum(point.x * point.y)


def nested_records(w, x):
    stack = Stack(Scale(w, 2.0), 0.5)
    return np.sum(stack.inner.w * x) * stack.c * stack.inner.s


def rebuilt_in_a_loop(w, x):
    layer = Layer(w, 0.3)
    for _ in range(3):
        layer = Layer(np.tanh(layer.w * x), layer.b * 1.1)
    return np.sum(layer.w) * layer.b


def rebuilt_in_a_branch(w, x):
    layer = Layer(w, 0.3)
    if np.sum(x) > 0:
        layer = Layer(layer.w * 2.0, layer.b)
    return np.sum(layer.w ** 2) * layer.b


def step(layer, x):
    return Layer(layer.w - 0.1 * x * layer.w, layer.b * 0.9)


def returned_by_a_callee(w, x):
    layer = Layer(w, 0.3)
    for _ in range(3):
        layer = step(layer, x)
    return np.sum(layer.w) + layer.b


def in_a_list(w, x):
    layers = [Layer(w * i, 0.1 * i) for i in range(3)]
    return np.sum(np.stack([layer.w for layer in layers])) + sum(layer.b for layer in layers)


def unpacked_and_indexed(w, x):
    layer = Layer(w, 0.3)
    a, b = layer
    return np.sum(a * b * x) + np.sum(layer[0] * layer[1])


def built_as_output(w, x):
    return Layer(w * x, np.sum(w))


BUILT = [built_and_passed_on, built_by_keyword, dataclass_fields, dataclass_default,
         frozen_dataclass, keyword_only_dataclass, collections_namedtuple, nested_records,
         rebuilt_in_a_loop, rebuilt_in_a_branch, returned_by_a_callee, in_a_list,
         unpacked_and_indexed]

rng = np.random.default_rng(7)
W, X = rng.normal(size=3), rng.normal(size=3)


@pytest.mark.parametrize("f", BUILT, ids=lambda f: f.__name__)
def test_gradients_of_records_built_inside(f):
    check_gradient(f, W, X)
    check_jvp(f, W, X)
    if f is in_a_list:
        # Forward over forward: the items of the list of tangents are not known to be
        # records (`dlayers[k].w`), and what ast-ad does not know it rejects.
        with pytest.raises(ast_ad.ADError, match="no tangent rule for the attribute .w"):
            ast_ad.check_grads(f, (W, X), modes=("fwd",), order=2)
        return
    ast_ad.check_grads(f, (W, X), modes=("fwd",), order=2)


@pytest.mark.parametrize("f", [built_by_keyword, dataclass_default, nested_records,
                               rebuilt_in_a_branch], ids=lambda f: f.__name__)
def test_second_order_of_records_built_inside(f):
    ast_ad.check_grads(f, (W, X), order=2)
    hessian = ast_ad.hessian(f)(W, X)
    np.testing.assert_allclose(hessian, hessian.T, rtol=1e-10, atol=1e-12)


def test_a_record_as_the_output():
    out, back = ast_ad.vjp(built_as_output, W, X)
    assert type(out) is Layer
    np.testing.assert_allclose(out.w, W * X)
    bw, bx = back(Layer(np.ones(3), 2.0))
    np.testing.assert_allclose(bw, X + 2.0)
    np.testing.assert_allclose(bx, W)


def test_the_generated_code_builds_the_record_and_reads_its_fields():
    text = ast_ad.source(ast_ad.value_and_grad(dataclass_fields), W, X)
    assert "scale = Scale(w=w, s=0.3)" in text
    # the adjoint of `scale` is read field by field: no dict of adjoints is built
    assert "bscale" not in text and "{" not in text, text


def test_the_adjoint_of_a_record_read_once_is_its_field():
    text = ast_ad.source(ast_ad.value_and_grad(built_by_keyword), W, X)
    assert "layer = Layer(w, np.sum(w))" in text
    assert "blayer" not in text and "[" not in text.split("# backward")[1], text


@dataclasses.dataclass
class OwnInit:
    w: np.ndarray

    def __init__(self, w):
        self.w = w * 3.0


@dataclasses.dataclass
class Computed:
    w: np.ndarray

    def __getattr__(self, key):  # (a read of a missing attribute runs code)
        return 0.0


def reads_through_getattr(w, x):
    return np.sum(Computed(w).w * x)


def post_init(w, x):
    return np.sum(Doubled(w).w * x)


def default_factory(w, x):
    return np.sum(WithList(w).w * x)


def own_init(w, x):
    return np.sum(OwnInit(w).w * x)


@pytest.mark.parametrize("f", [post_init, default_factory, own_init, reads_through_getattr],
                         ids=lambda f: f.__name__)
def test_classes_that_run_code_when_built_are_rejected(f):
    with pytest.raises(ast_ad.ADError, match="whose __init__ only stores their fields"):
        ast_ad.grad(f)(W, X)


def given_every_field(w, x):
    return np.sum(WithList(w, []).w * x)


def test_a_default_factory_field_given_in_the_call_is_a_record():
    check_gradient(given_every_field, W, X)


def written_after(w, x):
    a = w * 1.0
    layer = Layer(a, 0.3)
    a[0] = 5.0  # layer.w is the same array: it changes too
    return np.sum(layer.w * x)


def test_writing_into_a_field_s_array_afterwards_is_rejected():
    with pytest.raises(ast_ad.ADError, match="shares its memory"):
        ast_ad.grad(written_after)(W, X)


@pytest.mark.parametrize("display, expected", [
    ("[a, b][0]", "a"), ("(a, b)[-1]", "b"), ('{"w": a, "s": b}["s"]', "b"),
    ('{"w": a, "w": b}["w"]', "b"), ("[a, b][2]", "[a, b][2]"), ("[a, *b][0]", "[a, *b][0]"),
    ('{"1": a}[1]', '{"1": a}[1]'), ("[a, b][i]", "[a, b][i]"),
])
def test_an_item_of_a_display_read_at_a_constant_key(display, expected):
    node = gast.parse(display).body[0].value
    got = algebra.simplify(node)
    assert gast.dump(got) == gast.dump(gast.parse(expected).body[0].value)
