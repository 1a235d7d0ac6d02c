"""Python as ML users write it, continued (issue 12): dict comprehensions whose keys are
known at compile time, loops that read a dict's keys, **kwargs read as a dict, and the
Jacobians, vjp and second derivatives of bound methods.

Every gradient is compared with central differences leaf by leaf (reverse mode) and a
jvp along a random direction with a central difference (forward mode); errors by type,
message and line."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np
import pytest
from numeric import check_gradient, check_jvp, numeric_gradient, numeric_tree_gradient

import ast_ad
from ast_ad import tree_flatten, tree_leaves, tree_map

RNG = np.random.default_rng(12)


def check_tree(f, *args, argnum=0):
    """grad(f) w.r.t. args[argnum] (any structure) against finite differences, and jvp
    along a random direction of that structure against a central difference."""
    got = ast_ad.grad(f, argnums=argnum)(*args)
    want = numeric_tree_gradient(f, args, argnum)
    assert tree_flatten(got)[1] == tree_flatten(want)[1]
    for g, w in zip(tree_leaves(got), tree_leaves(want)):
        assert (g is None) == (w is None)
        if w is not None:
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-7)
    floats = (lambda v: isinstance(v, float) or isinstance(v, np.ndarray)
              and v.dtype.kind == "f")
    direction = tree_map(lambda v: RNG.normal(size=np.shape(v)) if isinstance(v, np.ndarray)
                         else float(RNG.normal()), args[argnum])
    tangents = tuple(direction if i == argnum else tree_map(
        lambda v: np.zeros_like(v) if isinstance(v, np.ndarray) else 0.0 if floats(v) else v, a)
        for i, a in enumerate(args))
    value, tangent = ast_ad.jvp(f, args, tangents)
    eps = 1e-6

    def moved(sign):
        shifted = list(args)
        shifted[argnum] = tree_map(lambda v, d: v + sign * eps * d if floats(v) else v,
                                   args[argnum], direction)
        return f(*shifted)

    np.testing.assert_allclose(value, f(*args), rtol=1e-12)
    np.testing.assert_allclose(tangent, (moved(1) - moved(-1)) / (2 * eps), rtol=1e-5,
                               atol=1e-7)
    return got


def _params():
    return {"W1": RNG.normal(size=(3, 4)), "b1": RNG.normal(size=4),
            "W2": RNG.normal(size=4), "b2": 0.3}


def _expect(error, fn, line_offset, fragment):
    assert fragment in str(error), str(error)
    assert error.location.lineno == fn.__code__.co_firstlineno + line_offset, str(error)


X = RNG.normal(size=(5, 3))
Y = RNG.normal(size=5)

# -- dict comprehensions with keys known at compile time ----------------------------------


def range_fstring(x, ws):
    hidden = {f"h{i}": np.tanh(x * ws[i]) for i in range(3)}
    return np.sum(hidden["h0"] + hidden["h1"] * hidden["h2"])


def zip_of_names(a, b):
    names = ("first", "second")
    d = {k: v * 2.0 for k, v in zip(names, [a, b])}
    return np.sum(d["first"] * d["second"])


def filtered_items(params):
    doubled = {k: v * 2 for k, v in params.items() if k != "b2"}
    return np.sum(doubled["W1"]) + np.sum(doubled["b1"] ** 2) \
        + np.sum(doubled["W2"]) * params["b2"]


def over_the_dict_itself(params, s):
    return sum(np.sum(v ** 2) for v in {k: params[k] * s for k in params}.values())


def listed_names(params):
    sub = {n: params[n] for n in ["W1", "b1"]}
    return sum(np.sum(v ** 2) for v in sub.values())


def enumerated(x):
    d = {f"{name}{i}": x * (i + 1.0) for i, name in enumerate(("a", "b", "c")) if i != 1}
    return np.sum(d["a0"] * np.sin(d["c2"]))


def nested_for(x):
    d = {f"{a}{b}": x * len(a + b) for a in ("p", "qq") for b in ("r", "s") if a != b}
    return np.sum(d["pr"] * d["qqs"])


def dict_of_zip(a, b):
    d = dict(zip(["a", "b"], [a, b]))
    return np.sum(d["a"] * d["b"])


def merged(params):
    p = {**params, "b2": 0.0}
    return np.sum(p["W2"] ** 2) + p["b2"] + np.sum(p["b1"])


def keyword_dict(a, b):
    d = dict(first=a, second=b * 2.0)
    return np.sum(d["first"] ** 2 * d["second"])


@pytest.mark.parametrize("fn, args, argnum", [
    (range_fstring, (RNG.normal(size=3), [0.5, 1.5, -0.7]), 0),
    (zip_of_names, (RNG.normal(size=3), RNG.normal(size=3)), 0),
    (zip_of_names, (RNG.normal(size=3), RNG.normal(size=3)), 1),
    (filtered_items, (_params(),), 0),
    (over_the_dict_itself, (_params(), 1.3), 0),
    (over_the_dict_itself, (_params(), 1.3), 1),
    (listed_names, (_params(),), 0),
    (enumerated, (RNG.normal(size=3),), 0),
    (nested_for, (RNG.normal(size=3),), 0),
    (dict_of_zip, (RNG.normal(size=3), RNG.normal(size=3)), 0),
    (merged, (_params(),), 0),
    (keyword_dict, (RNG.normal(size=3), RNG.normal(size=3)), 1),
])
def test_dict_comprehensions_with_known_keys(fn, args, argnum):
    check_tree(fn, *args, argnum=argnum)


def test_a_dict_comprehension_is_a_display_in_the_generated_code():
    text = ast_ad.source(ast_ad.grad(filtered_items), _params())
    code = [line for line in text.splitlines() if not line.strip().startswith("#")]
    assert "    doubled = {'W1': params['W1'] * 2, 'b1': params['b1'] * 2, " \
           "'W2': params['W2'] * 2}" in code, text
    assert not any("for " in line for line in code), text


def keys_from_an_argument(x, names):
    d = {n: x for n in names}
    return np.sum(d["a"])


def filter_on_data(params):
    big = {k: v for k, v in params.items() if np.sum(v) > 0}
    return np.sum(big["W1"])


def key_from_data(x):
    d = {float(np.sum(x)): x for _ in range(2)}
    return np.sum(d[0.0])


def test_unknown_keys_are_rejected_with_the_reason():
    with pytest.raises(ast_ad.UnsupportedSyntaxError) as info:
        ast_ad.grad(keys_from_an_argument)(np.ones(2), ["a", "b"])
    _expect(info.value, keys_from_an_argument, 1,
            "dict comprehension whose keys are not known at compile time: it runs over `names`")
    with pytest.raises(ast_ad.UnsupportedSyntaxError) as info:
        ast_ad.grad(filter_on_data)(_params())
    _expect(info.value, filter_on_data, 1, "its `if` filter is not known before the code runs")
    with pytest.raises(ast_ad.UnsupportedSyntaxError) as info:
        ast_ad.grad(key_from_data)(np.ones(2))
    _expect(info.value, key_from_data, 1, "a key is not a string or int known")


# -- loops and generators reading the keys -------------------------------------------------


def l2_on_weights(params, X, y):
    h = np.tanh(X @ params["W1"] + params["b1"])
    pred = h @ params["W2"] + params["b2"]
    penalty = 0.0
    for name, value in params.items():
        if name.startswith("W"):
            penalty = penalty + 0.01 * np.sum(value ** 2)
    return np.mean((pred - y) ** 2) + penalty


def generator_with_key_filter(params):
    return sum(np.sum(w ** 2) for name, w in params.items() if name.startswith("W"))


def in_and_equals(params):
    total = 0.0
    for k, v in params.items():
        if "b" in k:
            total = total + np.sum(v)
        elif k == "W2":
            total = total + np.sum(np.sin(v))
        else:
            total = total + np.sum(v ** 2)
    return total


def keys_then_index(params):
    total = 0.0
    for k in params.keys():
        total = total + np.sum(params[k] ** 2) * len(k)
    return total


def list_of_key_reads(params):
    return np.concatenate([np.ravel(params[k]) for k in params if k.upper() != "B2"])


def loop_name_read_after(params):
    total = 0.0
    for name, w in params.items():
        total = total + np.sum(w) * (2.0 if name.endswith("1") else 1.0)
    return total * len(name)


@pytest.mark.parametrize("fn, args", [
    (l2_on_weights, (_params(), X, Y)),
    (generator_with_key_filter, (_params(),)),
    (in_and_equals, (_params(),)),
    (keys_then_index, (_params(),)),
    (loop_name_read_after, (_params(),)),
])
def test_loops_reading_keys(fn, args):
    check_tree(fn, *args)


def test_list_of_key_reads_vjp():
    params = _params()
    value, pullback = ast_ad.vjp(list_of_key_reads, params)
    np.testing.assert_allclose(value, list_of_key_reads(params))
    ct = RNG.normal(size=value.shape)
    (g,) = pullback(ct)
    want = numeric_tree_gradient(lambda p: float(np.sum(list_of_key_reads(p) * ct)), (params,), 0)
    for a, b in zip(tree_leaves(g), tree_leaves(want)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_the_penalty_loop_is_spelled_out_per_key():
    text = ast_ad.source(ast_ad.grad(l2_on_weights), _params(), X, Y)
    code = [line for line in text.splitlines() if not line.strip().startswith("#")]
    assert not any("startswith" in line or "for " in line for line in code), text
    # the penalty's adjoint goes to the weights only
    assert not any("'b1': " in line and "0.02" in line for line in code), text


# -- **kwargs read as a dict ------------------------------------------------------------


def _act(x, **kwargs):
    if "scale" in kwargs:
        x = x * kwargs["scale"]
    for k, v in kwargs.items():
        if k == "shift":
            x = x + v
    return np.tanh(x) * len(kwargs) + kwargs.get("bias", 0.0)


def _outer(x, **kw):
    return _act(x, **kw) + kw.get("offset", 0.5)


def kwargs_reads(x, s):
    return np.sum(_outer(x, scale=s, shift=0.5)) + np.sum(_act(x, bias=s))


def test_kwargs_read_as_a_dict():
    args = (RNG.normal(size=3), 1.7)
    check_gradient(kwargs_reads, *args)
    check_jvp(kwargs_reads, *args)


def _needs_scale(x, **kw):
    return x * kw["scale"]


def misses_a_keyword(x):
    return _needs_scale(x, scal=2.0)


def test_a_keyword_the_call_does_not_pass_is_rejected():
    with pytest.raises(ast_ad.UnsupportedSyntaxError) as info:
        ast_ad.grad(misses_a_keyword)(1.0)
    _expect(info.value, _needs_scale, 1, "kw['scale']: this call passes no keyword scale=")


# -- bound methods: vjp, Jacobians, second derivatives ----------------------------------


class Model:
    def __init__(self):
        self.W = RNG.normal(size=(3, 2))

    def predict(self, x, scale=2.0):
        return np.tanh(x @ self.W) * scale

    def loss(self, x):
        return np.sum(self.predict(x) ** 2)

    def energy(self, t):
        return np.sin(t) * t ** 2


def test_vjp_and_jacobians_of_a_bound_method():
    model, x = Model(), RNG.normal(size=3)
    value, pullback = ast_ad.vjp(model.predict, x)
    np.testing.assert_allclose(value, model.predict(x))
    ct = RNG.normal(size=2)
    (g,) = pullback(ct)
    np.testing.assert_allclose(g, numeric_gradient(lambda x: np.sum(model.predict(x) * ct),
                                                   (x,), 0), rtol=1e-6, atol=1e-8)
    want = np.stack([numeric_gradient(lambda x, i=i: model.predict(x)[i], (x,), 0)
                     for i in range(2)])
    for jac in (ast_ad.jacobian, ast_ad.jacrev, ast_ad.jacfwd):
        np.testing.assert_allclose(jac(model.predict)(x), want, rtol=1e-6, atol=1e-8)
    hess = ast_ad.hessian(model.loss)(x)
    eps = 1e-5
    g = ast_ad.grad(model.loss)
    np.testing.assert_allclose(hess, np.stack([(g(x + eps * e) - g(x - eps * e)) / (2 * eps)
                                               for e in np.eye(3)]), rtol=1e-5, atol=1e-7)
    model.W = model.W * 2.0  # read when the code runs
    np.testing.assert_allclose(ast_ad.vjp(model.predict, x)[0], model.predict(x))


def test_second_and_third_derivatives_of_a_bound_method():
    model, t = Model(), 0.7
    second = -np.sin(t) * t ** 2 + 4 * t * np.cos(t) + 2 * np.sin(t)
    third = np.cos(t) * (6 - t ** 2) - 6 * t * np.sin(t)
    assert ast_ad.grad(ast_ad.grad(model.energy))(t) == pytest.approx(second, rel=1e-12)
    assert ast_ad.grad(ast_ad.grad(ast_ad.grad(model.energy)))(t) == pytest.approx(third,
                                                                                rel=1e-12)
    assert ast_ad.vjp(ast_ad.grad(model.energy), t)[1](1.0)[0] == pytest.approx(second)


class CallableModel(Model):
    def __call__(self, x):  # (inherited by CallableChild: found on the MRO)
        return self.loss(x) + np.sum(x ** 2)


class CallableChild(CallableModel):
    pass


@pytest.mark.parametrize("cls", [CallableModel, CallableChild])
def test_a_callable_object_is_differentiated_as_its_bound_call(cls):
    """grad(layer) as JAX users write it: the object's __call__, bound to it, in every
    transformation (they said the object was no Python function)."""
    layer, x = cls(), RNG.normal(size=3)
    want = numeric_gradient(layer, (x,), 0)
    np.testing.assert_allclose(ast_ad.grad(layer)(x), want, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ast_ad.value_and_grad(layer)(x)[0], layer(x))
    np.testing.assert_allclose(ast_ad.vjp(layer, x)[1](1.0)[0], want, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ast_ad.jvp(layer, (x,), (np.eye(3)[0],))[1], want[0],
                               rtol=1e-6, atol=1e-8)
    for jac in (ast_ad.jacobian, ast_ad.jacrev, ast_ad.jacfwd):
        np.testing.assert_allclose(jac(layer)(x), want, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ast_ad.hessian(layer)(x) @ x, ast_ad.hvp(layer)(x, x),
                               rtol=1e-9)


def test_a_method_hidden_by_an_attribute_is_rejected():
    model = Model()
    model.predict = lambda x: x
    with pytest.raises(ast_ad.ADError, match="the object's own attribute 'predict' hides a "
                                             "method of Model"):
        ast_ad.vjp(model.loss, np.ones(3))


# -- programs written the way ML users write them -----------------------------------------


class Params(NamedTuple):
    Ws: list
    bs: list


def namedtuple_layers(p, x):
    h = x
    for W, b in zip(p.Ws, p.bs):
        h = np.tanh(h @ W + b)
    return np.sum(h ** 2)


@dataclasses.dataclass
class Linear:
    w: np.ndarray
    b: float

    def loss(self, x):
        return np.sum((x @ self.w + self.b) ** 2)


def init_then_use(x):
    params = {f"W{i}": x * (i + 1.0) for i in range(3)}
    return sum(np.sum(np.sin(w)) for w in params.values())


def xent(params, X, labels):
    logits = X @ params["W"] + params["b"]
    m = np.max(logits, axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.sum(np.exp(logits - m), axis=1))
    return np.mean(lse - logits[np.arange(len(labels)), labels])


def enumerate_layers(layers, x):
    h = x
    for i, (W, b) in enumerate(layers):
        h = h @ W + b
        if i < len(layers) - 1:
            h = np.maximum(h, 0.0) + 0.1 * h
    return np.sum(h)


@pytest.mark.parametrize("fn, args", [
    (namedtuple_layers, (Params([RNG.normal(size=(3, 4)), RNG.normal(size=(4, 2))],
                                [RNG.normal(size=4), RNG.normal(size=2)]), X)),
    (init_then_use, (RNG.normal(size=3),)),
    (xent, ({"W": RNG.normal(size=(3, 4)), "b": RNG.normal(size=4)}, X,
            np.array([0, 1, 3, 2, 1]))),
    (enumerate_layers, ([(RNG.normal(size=(3, 4)), RNG.normal(size=4)),
                         (RNG.normal(size=(4, 2)), RNG.normal(size=2))], X)),
    (Linear.loss, (Linear(RNG.normal(size=3), 0.5), X)),
])
def test_programs(fn, args):
    check_tree(fn, *args)


# -- more of the same, and the guards ----------------------------------------------------


def rebinds_key(params):
    total = 0.0
    for name, w in params.items():
        name = name + "_x"
        if name.startswith("W"):
            total = total + np.sum(w ** 2)
    return total


def max_over_weights(params):
    return max(np.max(w) for n, w in params.items() if n.startswith("W"))


def enumerate_items(params):
    t = 0.0
    for i, (k, v) in enumerate(params.items()):
        if k.startswith("b"):
            t = t + (i + 1) * np.sum(v)
    return t


def nested_items(params):
    return sum(np.sum(w ** 2) for k, w in params["enc"].items() if k != "b")


def continue_and_break(params):
    t = 0.0
    for k, v in params.items():
        if k.startswith("b"):
            continue
        t = t + np.sum(v ** 2)
        if k == "W2":
            break
    return t


def get_with_default(params):
    return np.sum(params["W1"]) * params.get("scale", 2.0) + params.get("b2", 1.0)


def sum_in_values(params, xs):
    d = {k: sum(v * x for x in xs) for k, v in params.items() if k != "b2"}
    return np.sum(d["W1"]) + np.sum(d["W2"] ** 2)


def loop_over_local_items(x):
    d = {"a": x, "b": 2.0 * x}
    t = 0.0
    for k, v in d.items():
        t = t + np.sum(v ** 2) * (3.0 if k == "a" else 1.0)
    return t


def read_before_rebinding(x):
    total = 0.0
    for k, v in (("a", x), ("bb", x)):
        x = x * 2.0  # the items were read before: both are the first x
        total = total + np.sum(v) * len(k)
    return total + np.sum(x)


def sizes_from_a_list(x):
    sizes = [3, 4, 2]
    ws = {f"W{i}": np.ones((sizes[i], sizes[i + 1])) * 0.1 for i in range(len(sizes) - 1)}
    h = x
    for i in range(len(sizes) - 1):
        h = np.tanh(h @ ws[f"W{i}"] + h[0])
    return np.sum(h)


def _options(x, **kw):
    opts = {"scale": 1.0, "shift": 0.0, **kw}
    return np.sum(x * opts["scale"] + opts["shift"])


def merged_keywords(x, s):
    return _options(x, scale=s) + _options(x, shift=s)


@pytest.mark.parametrize("fn, args", [
    (rebinds_key, (_params(),)),
    (max_over_weights, (_params(),)),
    (enumerate_items, (_params(),)),
    (nested_items, ({"enc": {"W": RNG.normal(size=3), "b": RNG.normal(size=2)}},)),
    (continue_and_break, (_params(),)),
    (get_with_default, (_params(),)),
    (sum_in_values, (_params(), [1.0, 2.0])),
    (loop_over_local_items, (RNG.normal(size=3),)),
    (read_before_rebinding, (RNG.normal(size=3),)),
    (sizes_from_a_list, (RNG.normal(size=3),)),
    (merged_keywords, (RNG.normal(size=3), 1.3)),
])
def test_more_programs(fn, args):
    check_tree(fn, *args)


def names_changed(params):
    names = ["W1", "b1"]
    names.append("W2")
    d = {n: params[n] for n in names}
    return sum(np.sum(v) for v in d.values())


def names_aliased(params):
    names = ["W1", "b1"]
    other = names
    other.append("W2")
    return sum(np.sum(v) for v in {n: params[n] for n in names}.values())


def test_a_list_that_may_change_is_not_known():
    for fn in (names_changed, names_aliased):
        with pytest.raises(ast_ad.UnsupportedSyntaxError) as info:
            ast_ad.grad(fn)(_params())
        assert "it runs over `names`, not known before the code runs" in str(info.value)


def test_a_builtin_shadowed_is_not_evaluated():
    def range(n):  # noqa: A001
        return [5, 6]

    def f(x):
        return sum(np.sum(v) for v in {i: x * i for i in range(2)}.values())

    with pytest.raises(ast_ad.UnsupportedSyntaxError, match="keys are not known"):
        ast_ad.grad(f)(np.ones(2))


@dataclasses.dataclass
class Scaled:
    w: np.ndarray
    b: float

    @property
    def norm(self):
        return np.sum(self.w ** 2) + self.b ** 2

    @property
    def shift(self):
        return 2.0 * self.b

    def loss(self, x):
        return np.sum(np.tanh(x @ self.w + self.shift)) * self.norm


def test_properties_of_a_differentiated_dataclass_are_inlined():
    s = Scaled(RNG.normal(size=3), 0.4)
    check_tree(Scaled.loss, s, X)
    assert ast_ad.grad(Scaled.loss, argnums=1)(s, X).shape == X.shape
    text = ast_ad.source(ast_ad.grad(Scaled.loss), s, X)
    code = [line for line in text.splitlines() if not line.strip().startswith("#")]
    assert not any("Scaled_norm" in line or ".norm" in line for line in code), text


@dataclasses.dataclass
class Net:
    params: dict

    def loss(self, x):
        pen = 0.0
        for k, v in self.params.items():
            if k.startswith("W"):
                pen = pen + np.sum(v ** 2)
        return np.sum(np.tanh(x @ self.params["W1"])) + 0.1 * pen


class Holder(NamedTuple):
    scale: float
    weights: dict


def namedtuple_dict_field(h, x):
    return h.scale * sum(np.sum(w * x) for k, w in h.weights.items() if k != "skip")


def nested_loop_keys(params):
    t = 0.0
    for k1 in params:
        for k2 in params:
            if k1 < k2:
                t = t + np.sum(params[k1]) * np.sum(params[k2])
    return t


def sgd_inside(params, lr):
    new = {k: v - lr * 2 * v for k, v in params.items()}
    return sum(np.sum(v ** 2) for v in new.values())


@pytest.mark.parametrize("fn, args, argnum", [
    (Net.loss, (Net({"W1": RNG.normal(size=(3, 2)), "b1": RNG.normal(size=2)}), X), 0),
    (namedtuple_dict_field, (Holder(1.5, {"a": RNG.normal(size=3), "skip": RNG.normal(size=3)}),
                             RNG.normal(size=3)), 0),
    (nested_loop_keys, ({"a": RNG.normal(size=2), "b": RNG.normal(size=3), "c": 0.7},), 0),
    (sgd_inside, (_params(), 0.1), 0),
    (sgd_inside, (_params(), 0.1), 1),
])
def test_views_of_fields_and_nested_key_loops(fn, args, argnum):
    check_tree(fn, *args, argnum=argnum)


# -- crashes on main, hand-written (no comprehension involved) ------------------------------


def unused_entry_of_sums(params, xs):
    d = {"W1": sum(params["W1"] * x for x in xs), "b1": sum(params["b1"] * x for x in xs)}
    return np.sum(d["W1"])


def local_dict_read_through_a_display(params):
    sub = {"W1": params["W1"], "b1": params["b1"]}
    return sum(np.sum(v ** 2) for v in (sub["W1"], sub["b1"]))


def test_local_dicts_of_argument_items():
    params = {"W1": RNG.normal(size=3), "b1": RNG.normal(size=2)}
    check_tree(unused_entry_of_sums, params, [1.0, 2.0])  # was: NoneType has no reshape
    check_tree(local_dict_read_through_a_display, params)  # was: bsub read after return


def test_sum_of_a_generator_over_keys_is_a_sum_of_its_items():
    text = ast_ad.source(ast_ad.grad(generator_with_key_filter), _params())
    code = [line for line in text.splitlines() if not line.strip().startswith("#")]
    assert not any("for " in line or "startswith" in line for line in code), text
    assert "    bparams = {'W1': 2.0 * t1, 'b1': np.zeros_like(params['b1']), " \
           "'W2': 2.0 * t4, 'b2': 0.0}" in code, text
    init = ast_ad.source(ast_ad.grad(init_then_use), np.ones(3))
    assert "    params = {'W0': x * 1.0, 'W1': x * 2.0, 'W2': x * 3.0}" in init.splitlines()


def first_bias(params):
    for k, v in params.items():
        if k.startswith("b"):
            return np.sum(v ** 2)
    return 0.0


def named_layers(layers):
    d = {f"layer{i}": W * b for i, (W, b) in enumerate(layers)}
    return np.sum(d["layer1"] ** 2) + np.sum(d["layer0"])


def test_return_in_a_loop_over_keys_and_layers_unpacked():
    check_tree(first_bias, _params())
    layers = ((RNG.normal(size=2), 1.5), (RNG.normal(size=3), -0.5))
    check_tree(named_layers, layers)
    with pytest.raises(ast_ad.UnsupportedSyntaxError) as info:
        ast_ad.grad(named_layers)(list(layers))
    _expect(info.value, named_layers, 1, "it runs over `layers`, a list argument, whose "
                                         "length the code is not specialised to")


# -- builtins as users spell them: enumerate(xs, start=1), pow(x, y), max(a, b, c) ----------


def weighted_from_one(xs, ws):
    s = 0.0
    for i, (x, w) in enumerate(zip(xs, ws), start=1):
        s = s + i * x * w
    return s


def powers(x, y):
    return np.sum(pow(x, 2.5)) + pow(np.sum(x), 2) + np.sum(pow(y, x))


def test_enumerate_with_a_start_keyword():
    xs, ws = [0.3, -0.2, 0.5], [1.5, 2.0, -1.0]
    check_tree(weighted_from_one, xs, ws)
    assert ast_ad.grad(weighted_from_one, argnums=(0, 1))(xs, ws)[0] == \
        pytest.approx([1.5, 4.0, -3.0])


def test_the_builtin_pow_is_the_power_operator():
    x, y = RNG.uniform(0.5, 1.5, size=3), RNG.uniform(0.5, 1.5, size=3)
    check_gradient(powers, x, y)
    check_jvp(powers, x, y)
    ast_ad.check_grads(powers, (x, y), order=2)


def extremes(x, y, z):
    return max(x, y, z) * min(x * x, y, z, 0.5) + max(x, x, y)


@pytest.mark.parametrize("args", [(0.3, 0.7, 0.5), (0.9, 0.2, 0.4), (0.2, 0.3, 0.8)])
def test_max_and_min_of_more_than_two_numbers(args):
    check_gradient(extremes, *args)
    ast_ad.check_grads(extremes, args, order=2)
    assert "max(x, y)" in ast_ad.source(ast_ad.grad(extremes), *args)  # max(max(x, y), z)


# -- lists and tuples joined with + and repeated with * ---------------------------------
# (their adjoints split or sum the items: the elementwise sum's rule added every item's
# adjoint into every operand, a wrong gradient with no error)


def joined_lists(x):
    parts = [x] + [x * 2.0]
    return parts[1] ** 2 + np.sin(parts[0])


def joined_tuples_stacked(h):
    parts = (h,) + (np.exp(h),)
    return np.sum(np.hstack(parts) ** 2)


def constant_side_first(x):
    parts = [1.5] + [x * 2.0]
    return parts[1] ** 2 + parts[0]


def grown_in_a_loop(x):
    ys = [x]
    for _ in range(3):
        ys = ys + [np.sin(ys[-1])]
    return ys[-1] * ys[0]


def grown_with_plus_equals(x):
    ys = [x]
    ys += [x * x]
    return ys[0] * ys[1]


def repeated_list(x):
    parts = [x, 3.0 * x] * 2
    return parts[0] * parts[3] + parts[2]


def repeated_on_the_left(x):
    parts = 2 * (x,)
    return parts[0] * np.cos(parts[1])


def with_a_bias_column(weights, *args):
    # (*args is a tuple: a column of ones joins it, as in a recurrent cell)
    inputs = np.hstack(args + (np.ones((args[0].shape[0], 1)),))
    return np.dot(inputs, weights)


def recurrent_step(weights, x, h):
    return np.sum(np.tanh(with_a_bias_column(weights, x, h)))


SEQUENCE_PROGRAMS = [
    (joined_lists, (0.7,)),
    (joined_tuples_stacked, (RNG.standard_normal((2, 3)),)),
    (constant_side_first, (0.7,)),
    (grown_in_a_loop, (0.7,)),
    (grown_with_plus_equals, (0.7,)),
    (repeated_list, (0.7,)),
    (repeated_on_the_left, (0.7,)),
    (recurrent_step, (RNG.standard_normal((6, 2)), RNG.standard_normal((3, 2)),
                      RNG.standard_normal((3, 3)))),
]


@pytest.mark.parametrize("fn, args", SEQUENCE_PROGRAMS,
                         ids=[f.__name__ for f, _ in SEQUENCE_PROGRAMS])
def test_lists_and_tuples_joined_and_repeated(fn, args):
    check_gradient(fn, *args)
    check_jvp(fn, *args)


def test_a_list_adjoint_in_a_sum_of_unknown_kinds_stops_the_run():
    """Where ast-ad did not know the operands were lists, the sum's adjoint would get a
    list's adjoint: the run stops instead of giving a wrong gradient (a TypeError: the
    helper runs in exported code too)."""
    from ast_ad import runtime

    with pytest.raises(TypeError, match=r"\+ or \* of lists or tuples"):
        runtime.unbroadcast([1.0, 2.0], [0.5])  # z = [a] + [b]: a's adjoint is not both
    assert runtime.unbroadcast([1.0, 2.0], [0.5, 0.5]) == [1.0, 2.0]  # (nothing to sum)
