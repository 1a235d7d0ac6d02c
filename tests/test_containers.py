"""Containers (pytrees) as arguments: dicts, lists, tuples, NamedTuples, dataclasses, nested.

Every gradient is compared with central differences leaf by leaf (reverse mode), and
jvp along a random direction of the same structure (forward mode)."""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from typing import NamedTuple

import numpy as np
import pytest
from numeric import float_leaf as _floats
from numeric import numeric_tree_gradient

import ast_ad
from ast_ad import tree_flatten, tree_leaves, tree_map, tree_unflatten

RNG = np.random.default_rng(7)


def check_tree_gradient(f, *args, argnum=0):
    """grad(f) has args[argnum]'s structure and types and matches finite differences; jvp
    along a random tangent of that structure matches a central difference."""
    got = ast_ad.grad(f, argnums=argnum)(*args)
    expected = numeric_tree_gradient(f, args, argnum)
    got_leaves, got_def = tree_flatten(got)
    want_leaves, want_def = tree_flatten(expected)
    assert got_def == want_def, (got_def, want_def)
    assert type(got) is type(args[argnum])
    for (g, e, x) in zip(got_leaves, want_leaves, tree_leaves(args[argnum])):
        if e is None:
            assert g is None
            continue
        assert type(g) is type(x) or isinstance(x, float) and isinstance(g, float), (g, x)
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-7)
    # forward mode: a random direction in the same structure
    direction = tree_map(lambda x: RNG.normal(size=np.shape(x)) if isinstance(x, np.ndarray)
                         else float(RNG.normal()) if isinstance(x, float) else x, args[argnum])
    tangents = tuple(direction if i == argnum else (
        np.zeros_like(a) if isinstance(a, np.ndarray) else 0.0 if isinstance(a, float) else a)
        for i, a in enumerate(args))
    value, tangent = ast_ad.jvp(f, args, tangents)
    eps = 1e-6

    def moved(sign):
        shifted = list(args)
        shifted[argnum] = tree_map(lambda x, d: x + sign * eps * d if _floats(x) else x,
                                   args[argnum], direction)
        return f(*shifted)

    np.testing.assert_allclose(value, f(*args), rtol=1e-12)
    np.testing.assert_allclose(tangent, (moved(1) - moved(-1)) / (2 * eps), rtol=1e-5,
                               atol=1e-7)
    # and the directional derivative is the gradient's inner product with the direction
    inner = sum(np.sum(g * d) for g, d in zip(tree_leaves(got), tree_leaves(direction))
                if g is not None)
    np.testing.assert_allclose(tangent, inner, rtol=1e-8, atol=1e-10)
    return got


# -- dicts ---------------------------------------------------------------------------


def mlp_loss(params, X, y):
    h = np.tanh(X @ params["W1"] + params["b1"])
    out = h @ params["W2"] + params["b2"]
    return np.mean((out - y) ** 2)


PARAMS = {"W1": RNG.normal(size=(4, 5)), "b1": RNG.normal(size=5),
          "W2": RNG.normal(size=(5, 2)), "b2": RNG.normal(size=2)}
X = RNG.normal(size=(6, 4))
Y = RNG.normal(size=(6, 2))


def test_dict_of_arrays():
    check_tree_gradient(mlp_loss, PARAMS, X, Y)


def test_dict_gradient_code_is_one_display_without_helpers():
    text = ast_ad.source(ast_ad.grad(mlp_loss), PARAMS, X, Y)
    assert "bparams = {'W1': " in text
    assert "tree_gradient" not in text and "zeros_like" not in text and "add_at" not in text
    assert "return bparams" in text


def scaled(p, x):
    return np.sum(p["w"] * x) * p["s"] + p["n"] * 0.0 + len(p["name"])


def test_dict_with_floats_ints_and_strings():
    p = {"w": RNG.normal(size=3), "s": 1.5, "n": 3, "name": "abc"}
    g = check_tree_gradient(scaled, p, RNG.normal(size=3))
    assert g["n"] is None and g["name"] is None and isinstance(g["s"], float)


def test_dict_argument_not_differentiated_and_second_argument():
    p = {"w": RNG.normal(size=3), "s": 1.5, "n": 3, "name": "abc"}
    x = RNG.normal(size=3)
    g = ast_ad.grad(scaled, argnums=1)(p, x)
    np.testing.assert_allclose(g, p["w"] * p["s"])
    both = ast_ad.grad(scaled, argnums=(0, 1))(p, x)
    np.testing.assert_allclose(both[0]["w"], x * p["s"])


def test_gradient_dict_keeps_the_argument_key_order():
    p = {"z": 1.0, "a": 2.0}
    g = ast_ad.grad(lambda p: p["z"] * p["a"] ** 2)(p)
    assert list(g) == ["z", "a"] and g == pytest.approx({"z": 4.0, "a": 4.0})


def test_new_structure_recompiles():
    f = ast_ad.grad(lambda p: np.sum(p["w"] ** 2))
    np.testing.assert_allclose(f({"w": np.ones(3)})["w"], 2 * np.ones(3))
    np.testing.assert_allclose(f({"w": np.ones((2, 2)), "extra": 1.0})["w"], 2 * np.ones((2, 2)))
    assert f({"w": 3.0})["w"] == pytest.approx(6.0)
    g = f({"w": 3.0, "v": np.ones(2)})
    assert g["w"] == pytest.approx(6.0) and np.all(g["v"] == 0) and g["v"].shape == (2,)


def float32_leaves(p):
    return np.sum(p["w"] * p["w"]) + p["s"]


def test_leaf_dtypes_are_kept():
    p = {"w": np.ones(3, dtype=np.float32), "s": np.float32(2.0)}
    g = ast_ad.grad(float32_leaves)(p)
    assert g["w"].dtype == np.float32 and isinstance(g["s"], np.float32)
    np.testing.assert_allclose(g["w"], 2 * np.ones(3))


# -- NamedTuples and dataclasses ------------------------------------------------------


class Linear(NamedTuple):
    w: np.ndarray
    b: float


@dataclasses.dataclass
class Model:
    w: np.ndarray
    b: float
    name: str = "model"

    def loss(self, x):
        return np.sum(np.tanh(self.w * x + self.b) ** 2) * self.b


def linear_loss(p, x):
    return np.sum(np.tanh(p.w * x + p.b) ** 2) * p.b + p[1]


def test_namedtuple():
    g = check_tree_gradient(linear_loss, Linear(RNG.normal(size=3), 0.7), RNG.normal(size=3))
    assert type(g) is Linear


def model_loss(m, x):
    return np.sum(np.tanh(m.w * x + m.b) ** 2) * m.b


def test_dataclass():
    m = Model(RNG.normal(size=3), 0.7)
    g = check_tree_gradient(model_loss, m, RNG.normal(size=3))
    assert type(g) is Model and g.name is None


def test_grad_of_a_method_with_respect_to_self():
    m = Model(RNG.normal(size=3), 0.7)
    x = RNG.normal(size=3)
    g = ast_ad.grad(Model.loss)(m, x)
    assert type(g) is Model
    np.testing.assert_allclose(g.w, numeric_tree_gradient(Model.loss, (m, x), 0).w, rtol=1e-6)
    assert g.b == pytest.approx(numeric_tree_gradient(Model.loss, (m, x), 0).b, rel=1e-6)


@dataclasses.dataclass(frozen=True)
class Frozen:
    w: np.ndarray
    scale: float = 2.0


def test_frozen_dataclass():
    g = check_tree_gradient(lambda p, x: np.sum(p.w * x) * p.scale ** 2,
                            Frozen(RNG.normal(size=2)), RNG.normal(size=2))
    assert type(g) is Frozen


# -- lists, tuples, nesting -----------------------------------------------------------


def layers_loss(layers, x):
    h = x
    for W, b in layers:
        h = np.tanh(W @ h + b)
    return np.sum(h ** 2)


def _layers(n):
    return [(RNG.normal(size=(3, 3)), RNG.normal(size=3)) for _ in range(n)]


def test_list_of_tuples_with_for_unpacking():
    g = check_tree_gradient(layers_loss, _layers(3), RNG.normal(size=3))
    assert type(g) is list and type(g[0]) is tuple


def test_list_of_other_length_runs():
    f = ast_ad.grad(layers_loss)
    x = RNG.normal(size=3)
    for n in (1, 2, 4):
        layers = _layers(n)
        expected = numeric_tree_gradient(layers_loss, (layers, x), 0)
        for got, want in zip(tree_leaves(f(layers, x)), tree_leaves(expected)):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-8)


def indexed_layers(layers, x):
    total = 0.0
    for i in range(len(layers)):
        total = total + np.sum(layers[i]["W"] @ x) * layers[i]["c"]
    return total


def test_list_of_dicts_indexed():
    layers = [{"W": RNG.normal(size=(2, 3)), "c": 0.5}, {"W": RNG.normal(size=(2, 3)), "c": 1.5}]
    check_tree_gradient(indexed_layers, layers, RNG.normal(size=3))


def nested_loss(params, x):
    h = x
    for W, b in params["enc"]:
        h = np.tanh(W @ h + b)
    head = params["head"]
    return np.sum(head.w * h) + head.b * params["scale"]["value"]


def test_nested_dict_list_namedtuple():
    params = {"enc": [(RNG.normal(size=(3, 3)), RNG.normal(size=3))] * 2,
              "head": Linear(RNG.normal(size=3), 0.3), "scale": {"value": 2.0, "tag": "s"}}
    g = check_tree_gradient(nested_loss, params, RNG.normal(size=3))
    assert type(g["head"]) is Linear and g["scale"]["tag"] is None


def tuple_params(p, x):
    a, b = p
    return np.sum(a * x) * b


def test_tuple():
    g = check_tree_gradient(tuple_params, (RNG.normal(size=3), 2.0), RNG.normal(size=3))
    assert type(g) is tuple


# -- vjp -----------------------------------------------------------------------------


def test_vjp_gives_cotangents_of_the_same_structure():
    value, vjp_fn = ast_ad.vjp(mlp_loss, PARAMS, X, Y)
    (gp, gx, gy) = vjp_fn(2.0)
    expected = ast_ad.grad(mlp_loss)(PARAMS, X, Y)
    assert set(gp) == set(PARAMS)
    for k in PARAMS:
        np.testing.assert_allclose(gp[k], 2.0 * expected[k])


# -- tree utilities ------------------------------------------------------------------


def test_tree_utilities():
    tree = {"b": [1.0, (np.ones(2), None)], "a": Linear(np.zeros(1), 2.0), "c": Model(
        np.ones(1), 3.0)}
    leaves, treedef = tree_flatten(tree)
    assert len(leaves) == 8 and leaves[0] is tree["a"].w  # dict keys in sorted order
    rebuilt = tree_unflatten(treedef, leaves)
    assert type(rebuilt["a"]) is Linear and type(rebuilt["c"]) is Model
    assert rebuilt["c"].name == "model"
    doubled = tree_map(lambda v: v * 2 if isinstance(v, (float, np.ndarray)) else v, tree)
    assert doubled["b"][0] == 2.0 and doubled["a"].b == 4.0
    with pytest.raises(ValueError, match="structures differ"):
        tree_map(lambda a, b: a, {"x": 1.0}, {"y": 1.0})


def test_sgd_step_with_tree_map():
    params = dict(PARAMS)
    lr = 0.1
    before = mlp_loss(params, X, Y)
    for _ in range(5):
        grads = ast_ad.grad(mlp_loss)(params, X, Y)
        params = tree_map(lambda p, g: p - lr * g, params, grads)
    assert mlp_loss(params, X, Y) < before


def test_tree_map_skips_none_gradients():
    p = {"w": np.ones(2), "n": 3}
    g = ast_ad.grad(lambda p: np.sum(p["w"] ** 2) * p["n"])(p)
    assert g["n"] is None
    new = tree_map(lambda v, d: v - 0.5 * d, p, g)
    assert new["n"] == 3 and np.allclose(new["w"], 1.0 - 0.5 * 6.0)


# -- rejected ------------------------------------------------------------------------


def writes_into_params(p, x):
    p["w"] = p["w"] * 2.0
    return np.sum(p["w"] * x)


def appends_to_layers(layers, x):
    layers.append(x)
    return np.sum(layers[0] * x)


def test_mutating_a_container_argument_is_rejected():
    with pytest.raises(ast_ad.UnsupportedSyntaxError,
                       match="writing into the container argument p") as info:
        ast_ad.grad(writes_into_params)({"w": np.ones(2)}, np.ones(2))
    assert info.value.location.lineno == writes_into_params.__code__.co_firstlineno + 1
    with pytest.raises(ast_ad.UnsupportedSyntaxError, match=r"calling \.append\(\) on"):
        ast_ad.grad(appends_to_layers)([np.ones(2)], np.ones(2))


def sets_an_attribute(m, x):
    m.b = 2.0
    return np.sum(m.w * x)


def test_attribute_assignment_is_rejected():
    with pytest.raises(ast_ad.UnsupportedSyntaxError, match="assigning to an attribute"):
        ast_ad.grad(sets_an_attribute)(Model(np.ones(2), 1.0), np.ones(2))


def test_complex_leaf_error_names_its_path():
    p = {"enc": [np.ones(2), np.ones(2, dtype=complex)]}
    with pytest.raises(ast_ad.NonDifferentiableError, match=r"p\['enc'\]\[1\] is complex"):
        ast_ad.grad(lambda p: np.sum(p["enc"][0]))(p)


def test_jvp_tangent_of_another_structure_is_rejected():
    with pytest.raises(ast_ad.ADError, match="structure"):
        ast_ad.jvp(mlp_loss, (PARAMS, X, Y), ({"W1": PARAMS["W1"]}, X, Y))


# -- dict displays and dict results ---------------------------------------------------


def through_a_local_dict(p, x):
    d = {"a": p["w"] * x, "b": np.sin(x) * p["s"]}
    return np.sum(d["a"]) + np.sum(d["b"] ** 2)


def test_dict_display_inside():
    check_tree_gradient(through_a_local_dict, {"w": RNG.normal(size=3), "s": 0.5},
                        RNG.normal(size=3))


def returns_a_dict(p, x):
    return {"a": p["w"] * x, "b": np.sin(x) * p["s"]}


def test_jvp_and_vjp_of_a_dict_result():
    p, x = {"w": RNG.normal(size=3), "s": 0.5}, RNG.normal(size=3)
    dp, dx = {"w": RNG.normal(size=3), "s": 0.7}, RNG.normal(size=3)
    value, tangent = ast_ad.jvp(returns_a_dict, (p, x), (dp, dx))
    eps = 1e-6
    plus = returns_a_dict(tree_map(lambda a, b: a + eps * b, p, dp), x + eps * dx)
    minus = returns_a_dict(tree_map(lambda a, b: a - eps * b, p, dp), x - eps * dx)
    assert set(tangent) == {"a", "b"}
    for k in ("a", "b"):
        np.testing.assert_allclose(value[k], returns_a_dict(p, x)[k])
        np.testing.assert_allclose(tangent[k], (plus[k] - minus[k]) / (2 * eps), rtol=1e-6)
    # vjp: <cotangent, jvp> = <vjp(cotangent), tangent>
    value, vjp_fn = ast_ad.vjp(returns_a_dict, p, x)
    ct = {"a": RNG.normal(size=3), "b": RNG.normal(size=3)}
    gp, gx = vjp_fn(ct)
    lhs = sum(np.sum(ct[k] * tangent[k]) for k in ct)
    rhs = np.sum(gp["w"] * dp["w"]) + gp["s"] * dp["s"] + np.sum(gx * dx)
    assert lhs == pytest.approx(rhs, rel=1e-10)


def test_jacobian_nests_output_then_input():
    p, x = {"w": RNG.normal(size=3), "s": 0.5}, RNG.normal(size=3)
    for jac in (ast_ad.jacobian, ast_ad.jacrev, ast_ad.jacfwd):
        J = jac(returns_a_dict)(p, x)
        assert set(J) == {"a", "b"} and set(J["a"]) == {"w", "s"}
        np.testing.assert_allclose(J["a"]["w"], np.diag(x))
        np.testing.assert_allclose(J["b"]["s"], np.sin(x))
        assert J["a"]["s"].shape == (3,) and J["b"]["w"].shape == (3, 3)
    Jx = ast_ad.jacobian(returns_a_dict, argnums=1)(p, x)
    np.testing.assert_allclose(Jx["a"], np.diag(p["w"]))
    Jw = ast_ad.jacobian(lambda p: p["w"] * p["s"])(p)
    np.testing.assert_allclose(Jw["w"], p["s"] * np.eye(3))
    np.testing.assert_allclose(Jw["s"], p["w"])


def computed_key(p, k):
    d = {k: p["w"]}
    return np.sum(d[k])


def test_dict_display_with_a_computed_key_is_rejected():
    with pytest.raises(ast_ad.UnsupportedSyntaxError, match="key known only when running") \
            as info:
        ast_ad.grad(computed_key)({"w": np.ones(2)}, "w")
    assert info.value.location.lineno == computed_key.__code__.co_firstlineno + 1


def iterates_a_dict(p, x):
    total = 0.0
    for key in p:
        total = total + np.sum(p[key] * x)
    return total


def iterates_a_local_dict(x):
    d = {0: x, 1: 2.0 * x}
    total = 0.0
    for v in d:
        total = total + v
    return total


def loops_over_keys(p, x):
    total = 0.0
    for key in ("a", "b"):
        total = total + np.sum(p[key] * x)
    return total


def test_iterating_over_a_dict_argument_works_and_over_a_local_int_keyed_dict_is_rejected():
    p, x = {"a": RNG.normal(size=2), "b": RNG.normal(size=2)}, RNG.normal(size=2)
    check_tree_gradient(iterates_a_dict, p, x)  # unrolled over its keys (static_keys)
    with pytest.raises(ast_ad.UnsupportedSyntaxError, match="iterating over a dict"):
        ast_ad.grad(iterates_a_local_dict)(1.0)
    check_tree_gradient(loops_over_keys, p, x)


def duplicate_keys(x):
    return {"a": x, "a": 2.0 * x}["a"]  # noqa: F601


def test_dict_display_with_a_key_twice_is_rejected():
    with pytest.raises(ast_ad.UnsupportedSyntaxError, match="key twice"):
        ast_ad.grad(duplicate_keys)(1.0)


@dataclasses.dataclass
class Checked:
    w: np.ndarray
    rate: float
    size: int = dataclasses.field(init=False)

    def __post_init__(self):
        assert self.rate > 0, "rate must be positive"
        self.size = len(self.w)


def checked_loss(m, x):
    return np.sum(m.w * x) * m.rate - 3.0 * m.rate


def test_dataclass_gradient_is_made_without_running_post_init():
    m = Checked(RNG.normal(size=3), 0.5)
    x = RNG.normal(size=3)
    g = check_tree_gradient(checked_loss, m, x)
    assert type(g) is Checked and g.size is None  # an int field: no gradient
    assert g.rate == pytest.approx(np.sum(m.w * x) - 3.0)  # negative: __post_init__ skipped


def cubic(p):
    return np.sum(p["w"] ** 3) * p["s"]


def test_second_derivatives_with_respect_to_a_container_are_rejected():
    p = {"w": np.array([1.0, 2.0]), "s": 2.0}
    with pytest.raises(ast_ad.ADError, match="itself a derivative.*a dict, is not supported"):
        ast_ad.hessian(cubic)(p)
    with pytest.raises(ast_ad.ADError, match="itself a derivative.*a dict, is not supported"):
        ast_ad.grad(ast_ad.grad(lambda p: p["s"] ** 3))({"s": 2.0})


def test_hessian_with_respect_to_an_array_beside_a_dict():
    p = {"s": 2.0}
    H = ast_ad.hessian(lambda w, p: np.sum(w ** 3) * p["s"])(np.array([1.0, 3.0]), p)
    np.testing.assert_allclose(H, np.diag([12.0, 36.0]))


def int_array_leaf(p, x):
    return np.sum(p["counts"] * x * p["w"])


def test_int_array_leaf_gets_none():
    p = {"counts": np.array([1, 2, 3]), "w": RNG.normal(size=3)}
    g = check_tree_gradient(int_array_leaf, p, RNG.normal(size=3))
    assert g["counts"] is None and g["w"].dtype == np.float64


# -- params.values(), .items(), .keys(): spelled out for a dict argument's known keys ----------


def l2_penalised(params, X, y, lam):
    h = np.tanh(X @ params["W1"] + params["b1"])
    err = h @ params["W2"] - y
    return np.mean(err ** 2) + lam * sum(np.sum(w ** 2) for w in params.values())


def l2_by_items(params, lam):
    total = 0.0
    for _, w in params.items():
        total = total + lam * np.sum(w ** 2)
    return total * len(params.keys())


def values_of_a_rebound_dict(params):
    params = {"a": params["a"] * 2.0}
    return sum(np.sum(v) for v in params.values())


def _mlp_dict():
    rng = np.random.default_rng(3)
    return {"W1": rng.normal(size=(3, 4)), "b1": rng.normal(size=4), "W2": rng.normal(size=4)}


def test_dict_views_of_an_argument():
    params = _mlp_dict()
    X, y = RNG.normal(size=(5, 3)), RNG.normal(size=5)
    check_tree_gradient(l2_penalised, params, X, y, 0.1)
    check_tree_gradient(l2_by_items, params, 0.1)
    got = ast_ad.grad(l2_by_items)(params, 0.1)
    for k, w in params.items():
        np.testing.assert_allclose(got[k], 3 * 0.2 * w)
    source = ast_ad.source(ast_ad.grad(l2_penalised), params, X, y, 0.1)
    code = [line for line in source.splitlines() if not line.strip().startswith("#")]
    assert not any(".values()" in line for line in code)
    assert any("params['W1'], params['b1'], params['W2']" in line for line in code)


def test_views_of_a_rebound_dict_are_left_alone():
    with pytest.raises(ast_ad.ADError):
        ast_ad.grad(values_of_a_rebound_dict)({"a": np.ones(2)})


def scaled_copy(params, s):
    scaled = {k: s * v for k, v in params.items()}
    return np.sum(scaled["W1"] ** 2) + np.sum(scaled["b1"]) * s


def comprehension_over_a_list(xs):
    d = {k: 2.0 for k in xs.keys()}
    return d


def comprehension_over_a_range(x):
    d = {i: x * i for i in range(3)}
    return d[1]


def test_dict_comprehension_over_a_dict_argument_is_spelled_out():
    params = {"W1": RNG.normal(size=(3, 2)), "b1": RNG.normal(size=2)}
    check_tree_gradient(scaled_copy, params, 1.5)
    g = ast_ad.grad(scaled_copy, argnums=1)(params, 1.5)
    assert g == pytest.approx(2 * 1.5 * np.sum(params["W1"] ** 2) + 2 * 1.5 * np.sum(params["b1"]))
    source = ast_ad.source(ast_ad.grad(scaled_copy), params, 1.5)
    assert "scaled = {'W1': s * params['W1'], 'b1': s * params['b1']}" in source


def test_dict_comprehension_over_a_range_works_and_over_a_list_view_is_rejected():
    assert ast_ad.grad(comprehension_over_a_range)(1.5) == 1.0  # {0: x * 0, 1: x * 1, ...}[1]
    # over a view of a parameter that turns out not to be a dict: rejected when compiling
    f = ast_ad.grad(comprehension_over_a_list)
    with pytest.raises(ast_ad.UnsupportedSyntaxError, match="a dict comprehension"):
        f([1.0, 2.0])


# -- loops over what the code cannot tell is a sequence ----------------------------------------
# A loop reads its items by position (seq[k]). Over a mapping the code could not see as a dict
# with str or int keys (an OrderedDict, a dict with float keys, a global dict), seq[k] is a
# lookup by key: with keys 0, 1, ... the value and the gradient were silently another
# function's; over a dict view, a TypeError from the generated code.

INT_KEYED = {1: 10.0, 0: 20.0}


def loops_over_a_mapping(x, d):
    total = 0.0
    for k in d:
        total = total + k * x
    return total


def loops_over_a_global_dict(x):
    total = 0.0
    for k in INT_KEYED:
        total = total + k * x
    return total


def loops_over_items(x, d):
    total = 0.0
    for k, a in d.items():
        total = total + a * np.sin(x - k)
    return total


def loops_over_a_list_of_the_items(x, d):
    total = 0.0
    for k, a in list(d.items()):
        total = total + a * np.sin(x - k)
    return total


def loops_over_a_range(x, ks):
    total = 0.0
    for k in ks:
        total = total + np.sin(k * x)
    return total


@pytest.mark.parametrize("f, args, what, mode", [
    (loops_over_a_mapping, (2.0, OrderedDict([(1, 10.0), (0, 20.0)])), "a mapping", "grad"),
    (loops_over_a_mapping, (2.0, OrderedDict([(1, 10.0), (0, 20.0)])), "a mapping", "jvp"),
    (loops_over_a_mapping, (2.0, {1.0: 5.0, 0.0: 6.0}), "a mapping", "grad"),
    (loops_over_a_global_dict, (2.0,), "a mapping", "grad"),
    (loops_over_a_global_dict, (2.0,), "a mapping", "jvp"),
    (loops_over_items, (0.5, {0.0: 0.3, 1.0: -0.2}), "a dict_items", "grad"),
])
def test_a_loop_over_a_mapping_or_a_view_is_rejected_when_it_runs(f, args, what, mode):
    with pytest.raises(ast_ad.UnsupportedSyntaxError, match=f"iterating over {what}") as info:
        if mode == "grad":
            ast_ad.grad(f)(*args)
        else:
            ast_ad.jvp(f, args, (1.0,) + args[1:])
    assert info.value.location.lineno == f.__code__.co_firstlineno + 2  # the loop


def test_loops_over_a_range_or_a_list_of_items_still_work():
    d = {0.0: 0.3, 1.0: -0.2}
    ast_ad.check_grads(loops_over_a_list_of_the_items, (0.5, d), argnums=0)
    ast_ad.check_grads(loops_over_a_range, (0.5, range(4)), order=2, argnums=0, modes=("fwd",))
    assert ast_ad.grad(ast_ad.grad(loops_over_a_range))(0.5, range(4)) == pytest.approx(
        -sum(k * k * np.sin(k * 0.5) for k in range(4)))


# `d1 | d2` merges dicts, but | was read only as the integer operator, which passes no
# derivative on: the gradient was 0. Rejected where the dicts hold values that carry one.


def merged_with_bar(x, y):
    d = {"a": x * 2.0} | {"b": y}
    return d["a"] * d["b"]


def merged_in_place(x, y):
    d = {"a": x * 2.0}
    d |= {"b": y}
    return d["a"] * d["b"]


def config_merged(x):
    cfg = {"scale": 2} | {"shift": 1}
    mask = (x > 0) | (x < -1)
    return x * cfg["scale"] + cfg["shift"] + np.sum(mask) * x


@pytest.mark.parametrize("f", [merged_with_bar, merged_in_place])
def test_merging_dicts_that_carry_derivatives_is_rejected(f):
    for transform in (lambda: ast_ad.grad(f, argnums=(0, 1))(0.5, 0.25),
                      lambda: ast_ad.jvp(f, (0.5, 0.25), (1.0, 0.0))):
        with pytest.raises(ast_ad.NoRuleError, match=r"merging dicts with \|"):
            transform()


def test_merging_constant_dicts_and_or_of_masks_still_work():
    assert ast_ad.grad(config_merged)(0.5) == 3.0
