"""What the rule tables can't express: tie conventions, clip at its bounds, products with
zeros, norms against closed forms, rejected calls, and the tangent templates.

Tangent (forward-mode) templates have no compiler pass yet; the last section fills
each one in directly and checks it against central differences.
"""

import ast
import builtins
import math
import operator

import gast
import numpy as np
import pytest
from numeric import check_gradient

import ast_ad
from ast_ad import NoRuleError
from ast_ad.rules import registry
from ast_ad.templates import Arg, Binding, bind_call, instantiate
from ast_ad.values import kind_of_value

rng = np.random.default_rng(5)


def grads(f, *args, argnums=0):
    return ast_ad.grad(f, argnums=argnums)(*args)


# -- ties: the gradient is split equally ---------------------------------------------------


def test_maximum_and_minimum_split_ties_equally():
    def f(x, y):
        return np.sum(np.maximum(x, y) + 2.0 * np.minimum(x, y) + 4.0 * np.fmax(x, y)
                      + 8.0 * np.fmin(x, y))

    x, y = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 3.0])
    gx, gy = grads(f, x, y, argnums=(0, 1))
    np.testing.assert_allclose(gx, [7.5, 5.0, 7.5])  # tie: half of 1 + 2 + 4 + 8
    np.testing.assert_allclose(gy, [7.5, 10.0, 7.5])


def test_fmax_gives_no_gradient_to_nan():
    def f(x, y):
        return np.sum(np.fmax(x, y) + np.fmin(x, y))

    gx, gy = grads(f, np.array([np.nan, 1.0]), np.array([2.0, np.nan]), argnums=(0, 1))
    np.testing.assert_allclose(gx, [0.0, 2.0])
    np.testing.assert_allclose(gy, [2.0, 0.0])


def test_builtin_max_min_split_ties_equally():
    def f(x, y):
        return max(x, y) + 3.0 * min(x, y)

    assert grads(f, 1.5, 1.5, argnums=(0, 1)) == (2.0, 2.0)
    assert grads(f, 2.5, 1.5, argnums=(0, 1)) == (1.0, 3.0)


def test_max_reduction_splits_ties_among_the_maxima():
    def f(x):
        return np.max(x) + np.sum(np.min(x, axis=1) * np.array([1.0, 10.0])) \
            + 100.0 * np.amax(x, axis=0, keepdims=True)[0, 3] + 1000.0 * x.max(axis=-1)[0]

    x = np.array([[3.0, 1.0, 3.0, 2.0],
                  [0.0, 3.0, 0.0, 2.0]])
    # max: three-way tie (1/3 each); min of row 1: two zeros (10/2 each); column 3 of
    # amax: two 2s (100/2 each); max of row 0: two 3s (1000/2 each).
    expected = np.array([[1 / 3 + 500.0, 1.0, 1 / 3 + 500.0, 50.0],
                         [5.0, 1 / 3, 5.0, 50.0]])
    np.testing.assert_allclose(grads(f, x), expected)


def test_inf_norms_split_ties():
    x = np.array([1.0, -3.0, 3.0])
    g = grads(lambda x: np.linalg.norm(x, np.inf), x)
    np.testing.assert_allclose(g, [0.0, -0.5, 0.5])
    a = np.array([[1.0, -2.0], [-2.0, 1.0]])  # both column sums are 3
    g = grads(lambda a: np.linalg.norm(a, 1), a)
    np.testing.assert_allclose(g, 0.5 * np.sign(a))


# -- clip ---------------------------------------------------------------------------------


def test_clip_is_flat_where_clipped_and_splits_at_the_bounds():
    def f(x):
        return np.sum(np.clip(x, 0.0, 1.0))

    x = np.array([-1.0, 0.0, 0.5, 1.0, 2.0])
    np.testing.assert_allclose(grads(f, x), [0.0, 0.5, 1.0, 0.5, 0.0])


def test_clip_bounds_get_the_clipped_gradient():
    def f(x, lo, hi):
        return np.sum(np.clip(x, lo, hi) * np.array([1.0, 2.0, 3.0, 4.0]))

    x = np.array([-1.0, 0.0, 0.5, 2.0])
    gx, glo, ghi = grads(f, x, 0.0, 1.0, argnums=(0, 1, 2))
    np.testing.assert_allclose(gx, [0.0, 1.0, 3.0, 0.0])
    assert glo == pytest.approx(1.0 + 1.0) and ghi == pytest.approx(4.0)


def test_clip_with_one_bound_none():
    def f(x):
        return np.sum(np.clip(x, None, 1.0) + 2.0 * np.clip(x, 0.0, None))

    x = np.array([-1.0, 0.0, 0.5, 1.0, 2.0])
    np.testing.assert_allclose(grads(f, x), [1.0, 2.0, 3.0, 2.5, 2.0])


def test_where_gives_nothing_to_the_condition():
    def f(x, c):
        return np.sum(np.where(c > 0.0, x, 2.0 * x) * c)

    x, c = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    gx, gc = grads(f, x, c, argnums=(0, 1))
    np.testing.assert_allclose(gx, [3.0, -2.0])
    np.testing.assert_allclose(gc, [1.0, 4.0])  # only through the product


# -- products with zeros --------------------------------------------------------------------


def test_prod_with_zeros_is_exact():
    def f(x):
        return np.prod(x)

    np.testing.assert_array_equal(grads(f, np.array([2.0, 0.0, 3.0])), [0.0, 6.0, 0.0])
    np.testing.assert_array_equal(grads(f, np.array([0.0, 0.0, 3.0])), [0.0, 0.0, 0.0])

    def rows(x):
        return np.sum(np.prod(x, axis=1) * np.array([1.0, 10.0]))

    x = np.array([[2.0, 0.0, 5.0], [1.0, 2.0, 3.0]])
    np.testing.assert_allclose(grads(rows, x), [[0.0, 10.0, 0.0], [60.0, 30.0, 20.0]])


def test_cumprod_with_zeros_is_exact():
    def f(x):
        return np.sum(np.cumprod(x) * np.array([1.0, 10.0, 100.0, 1000.0]))

    x = np.array([2.0, 0.0, 3.0, 4.0])
    # y = [x0, x0 x1, x0 x1 x2, x0 x1 x2 x3]; at x1 = 0 only d/dx1 survives past y0.
    expected = [1.0, 10.0 * 2 + 100.0 * 6 + 1000.0 * 24, 0.0, 0.0]
    np.testing.assert_allclose(grads(f, x), expected)
    check_gradient(f, x)


# -- norms against closed forms ----------------------------------------------------------


def test_matrix_two_norm_and_nuclear_norm_use_singular_vectors():
    a = rng.normal(size=(4, 3))
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    np.testing.assert_allclose(grads(lambda a: np.linalg.norm(a, 2), a), np.outer(u[:, 0], vt[0]))
    np.testing.assert_allclose(grads(lambda a: np.linalg.norm(a, -2), a),
                               np.outer(u[:, -1], vt[-1]))
    np.testing.assert_allclose(grads(lambda a: np.linalg.norm(a, "nuc"), a), u @ vt)


def test_vector_norms():
    x = np.array([3.0, -4.0, 1.0])
    np.testing.assert_allclose(grads(lambda x: np.linalg.norm(x), x), x / np.sqrt(26.0))
    np.testing.assert_allclose(grads(lambda x: np.linalg.norm(x, 1), x), np.sign(x))
    np.testing.assert_allclose(grads(lambda x: np.linalg.norm(x, -np.inf), x), [0.0, 0.0, 1.0])
    np.testing.assert_allclose(grads(lambda x: np.linalg.norm(x, 0), x), [0.0, 0.0, 0.0])


def test_euclidean_kinks_take_the_zero_subgradient():
    zero = np.zeros(3)
    np.testing.assert_array_equal(grads(lambda x: np.linalg.norm(x), zero), zero)
    np.testing.assert_array_equal(grads(lambda x: np.linalg.norm(x, "fro"), np.zeros((2, 2))),
                                  np.zeros((2, 2)))
    np.testing.assert_array_equal(grads(lambda x: np.std(x), np.full(4, 2.0)), np.zeros(4))
    np.testing.assert_array_equal(grads(lambda x: np.sum(np.std(x, axis=1)), np.ones((2, 1))),
                                  np.zeros((2, 1)))
    assert grads(lambda x, y: math.hypot(x, y), 0.0, 0.0, argnums=(0, 1)) == (0.0, 0.0)


def test_var_and_std_with_ddof():
    x = rng.normal(size=(3, 5))
    for ddof in (0, 1, 2):
        g = grads(lambda x, ddof=ddof: np.sum(np.var(x, axis=1, ddof=ddof)), x)
        np.testing.assert_allclose(g, 2.0 * (x - x.mean(axis=1, keepdims=True)) / (5 - ddof))


# -- rejected calls ---------------------------------------------------------------------


def clip_keywords(x):  # min=/max= are supported (issue 15), not mixed with a_min/a_max
    return np.sum(np.clip(x, 0.0, max=1.0))


def average_returned(x):
    return np.sum(np.average(x, returned=True)[0])


def sum_with_dtype(x):
    return np.sum(x, 0, np.float64).sum()


def var_with_dtype(x):
    return np.var(x, 0, np.float64).sum()


def max_with_key(x):
    return max(x, 1.0, key=abs)


def max_of_a_list(x):
    return max([x, 1.0])


def hypot_of_three(x):
    return math.hypot(x, 1.0, 2.0)


@pytest.mark.parametrize("fn, args, message", [
    (clip_keywords, (np.ones(3),), "numpy.clip is called with arguments its adjoint rule"),
    (average_returned, (np.ones(3),), "numpy.average is called with arguments"),
    (sum_with_dtype, (np.ones((2, 2)),), "numpy.sum is called with arguments"),
    (var_with_dtype, (np.ones((2, 2)),), "numpy.var is called with arguments"),
    (max_with_key, (0.5,), "max is called with arguments"),
    (max_of_a_list, (0.5,), "max is called with arguments"),
    (hypot_of_three, (0.5,), "math.hypot is called with arguments"),
], ids=lambda v: getattr(v, "__name__", None) if callable(v) else "")
def test_unsupported_arguments_are_rejected_by_name(fn, args, message):
    with pytest.raises(NoRuleError) as info:
        ast_ad.grad(fn)(*args)
    assert message in str(info.value)
    assert "docs/coverage.md" in str(info.value)


# -- tangent templates, filled in and run directly ------------------------------------------


def _is_float(value):
    if isinstance(value, list):
        return all(_is_float(v) for v in value)
    return isinstance(value, float) or (isinstance(value, np.ndarray) and value.dtype.kind == "f")


def _direction(value):
    if isinstance(value, list):
        return [_direction(v) for v in value]
    return float(rng.normal()) if isinstance(value, float) else rng.normal(size=value.shape)


def _step(value, direction, eps):
    if isinstance(value, list):
        return [_step(v, d, eps) for v, d in zip(value, direction)]
    return value + eps * direction


def _scaled(direction, factor):
    if isinstance(direction, list):
        return [_scaled(d, factor) for d in direction]
    return factor * direction


def _name(id_, ctx=None):
    return gast.Name(id=id_, ctx=ctx or gast.Load(), annotation=None, type_comment=None)


def _atoms(args, kwargs):
    """Atoms for a call: constants for ints, None, strings, tuples, inf; else named values."""
    values = {}

    def atom(value):
        if value is None or isinstance(value, (bool, int, str, tuple)) or (
                isinstance(value, float) and math.isinf(value)):
            return gast.Constant(value=value, kind=None)
        values[f"v{len(values)}"] = value
        return _name(f"v{len(values) - 1}")

    return [atom(a) for a in args], {k: atom(v) for k, v in kwargs.items()}, values


def _arg(atom, values):
    if isinstance(atom, gast.Constant):
        return Arg(atom, kind_of_value(atom.value), np.shape(atom.value))
    return Arg(atom, kind_of_value(values[atom.id]), np.shape(values[atom.id]))


def run_tangent(primal, args, kwargs, directions):
    """Fill in primal's tangent template for this call and evaluate d[result], with the
    tangent of each named float input taken from `directions` (by atom name)."""
    rule = registry.lookup(primal)
    arg_atoms, kw_atoms, values = _atoms(args, kwargs)
    for template in rule.tangents:
        bound = bind_call(template, arg_atoms, kw_atoms)
        if isinstance(bound, dict) and (template.when is None or template.when(
                {p: _arg(a, values) for p, a in bound.items()})):
            break
    else:
        raise AssertionError(f"no tangent template of {primal} takes {args}, {kwargs}")
    env = dict(values, result=primal(*args, **kwargs))
    for param, a in bound.items():
        if isinstance(a, gast.Name) and a.id in directions:
            env["d_" + param] = directions[a.id]

    def derivative(kind, param):
        return _name("d_" + param) if kind == "d" and "d_" + param in env else None

    def resolve_global(name, obj):
        env["g_" + name] = obj
        return _name("g_" + name)

    temps = iter(range(10**6))
    binding = Binding(atoms={template.result: _name("result"), **bound}, derivative=derivative,
                      resolve_global=resolve_global, lib=rule.lib,
                      new_temp=lambda: f"t{next(temps)}")
    body = [gast.Assign(targets=[_name(item[1] if item[0] == "temp" else "tangent", gast.Store())],
                        value=item[-1], type_comment=None)
            for item in instantiate(template, binding)]
    module = ast.fix_missing_locations(gast.gast_to_ast(gast.Module(body=body, type_ignores=[])))
    exec(compile(module, "<tangent>", "exec"), env)
    return env["tangent"]


def check_tangent(primal, *args, **kwargs):
    """d[result] from the template against central differences along a random direction,
    and linear in the tangents."""
    arg_atoms, kw_atoms, values = _atoms(args, kwargs)
    directions = {n: _direction(v) for n, v in values.items() if _is_float(v)}
    tangent = run_tangent(primal, args, kwargs, directions)

    def shifted(eps):
        moved = {n: _step(v, directions[n], eps) if n in directions else v
                 for n, v in values.items()}

        def value(atom):
            return atom.value if isinstance(atom, gast.Constant) else moved[atom.id]

        return np.asarray(primal(*[value(a) for a in arg_atoms],
                                 **{k: value(a) for k, a in kw_atoms.items()}), dtype=float)

    eps = 1e-6
    expected = (shifted(eps) - shifted(-eps)) / (2 * eps)
    assert np.shape(tangent) == np.shape(expected), (np.shape(tangent), np.shape(expected))
    np.testing.assert_allclose(tangent, expected, rtol=1e-5, atol=1e-6)
    doubled = run_tangent(primal, args, kwargs,
                          {n: _scaled(d, 2.0) for n, d in directions.items()})
    np.testing.assert_allclose(doubled, 2.0 * np.asarray(tangent), rtol=1e-9, atol=1e-12)


def u(low, high, shape=(3, 4)):
    return rng.uniform(low, high, size=shape) if shape != () else float(rng.uniform(low, high))


def _unary_calls():
    domains = {
        "tan": (-1, 1), "arcsin": (-0.9, 0.9), "asin": (-0.9, 0.9), "arccos": (-0.9, 0.9),
        "acos": (-0.9, 0.9), "arccosh": (1.2, 3), "acosh": (1.2, 3), "arctanh": (-0.8, 0.8),
        "atanh": (-0.8, 0.8), "log": (0.5, 3), "log2": (0.5, 3), "log10": (0.5, 3),
        "log1p": (-0.5, 2), "sqrt": (0.5, 3), "reciprocal": (0.5, 2), "cbrt": (0.5, 3),
    }
    calls = []
    for primal, rule in registry.ADJOINTS.items():
        if not rule.tangents or rule.tangents[0].fn.__module__ != "ast_ad.rules.elementwise":
            continue
        nin = getattr(primal, "nin", None)
        if nin == 1 or getattr(primal, "__module__", None) == "math" and primal not in (
                math.atan2, math.hypot, math.pow, math.log) or primal in (builtins.abs,
                                                                          builtins.float):
            low, high = domains.get(primal.__name__, (-2, 2))
            shape = (3, 4) if nin == 1 or primal is builtins.abs else ()
            calls.append((primal, (u(low, high, shape),), {}))
    return calls


TANGENT_CALLS = _unary_calls() + [
    (np.abs, (u(-2, -0.5),), {}), (math.fabs, (u(-2, -0.5, ()),), {}),
    (math.log, (u(0.5, 3, ()), u(1.5, 3, ())), {}), (math.pow, (u(0.5, 2, ()), u(0.5, 2, ())), {}),
    (math.atan2, (u(-2, 2, ()), u(-2, 2, ())), {}), (math.hypot, (u(-2, 2, ()), u(-2, 2, ())), {}),
    (builtins.max, (u(0, 1, ()), u(1.5, 2, ())), {}),
    (builtins.min, (u(0, 1, ()), u(1.5, 2, ())), {}),
    (np.remainder, (u(0.5, 2, (3, 1)), u(2.5, 3, (4,))), {}),
    (np.power, (u(0.5, 2, (3, 1)), u(0.5, 2, (4,))), {}),
    (np.power, (u(0.5, 2, (3, 4)), 3), {}),
    (np.clip, (u(-2, 2), u(-1, -0.2, (3, 1)), u(0.2, 1, (4,))), {}),
    (np.clip, (u(-2, 2), None, 0.5), {}), (np.clip, (u(-2, 2), u(-1, 0.5, (4,)), None), {}),
    (np.clip, (u(-2, 2), None, None), {}), (np.clip, (u(-2, 2),), {"a_min": -0.5, "a_max": 0.5}),
    (np.where, (u(-1, 1) > 0, u(-1, 1), u(-1, 1, (4,))), {}),
    (np.where, (u(-1, 1) > 0, u(-1, 1), 2.0), {}),
] + [
    (fn, (u(-2, 2, (3, 1)), u(-2, 2, (4,))), {})
    for fn in (np.arctan2, np.hypot, np.logaddexp, np.logaddexp2, np.maximum, np.minimum,
               np.fmax, np.fmin, np.add, np.subtract, np.multiply)
] + [
    (np.divide, (u(-2, 2, (3, 1)), u(0.5, 2, (4,))), {}),
    (np.add, (u(-2, 2, ()), u(-2, 2)), {}),
    (np.fmax, (np.array([np.nan, 1.0, 2.0]), np.array([1.0, np.nan, 1.0])), {}),
] + [
    (fn, (u(0.5, 1.5, (2, 3, 4)),), dict(axis=axis, keepdims=keepdims))
    for fn in (np.sum, np.mean, np.prod, np.max, np.min, np.amax, np.amin, np.var, np.std)
    for axis, keepdims in [(None, False), (1, True), (-1, False), ((0, 2), False)]
] + [
    (fn, (u(0.5, 1.5, ()),), {}) for fn in (np.sum, np.mean, np.prod, np.max, np.var)
] + [
    (np.var, (u(0, 1),), dict(axis=0, ddof=1)), (np.std, (u(0, 1),), dict(ddof=2)),
    (np.prod, (np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 1.0]]),), dict(axis=1)),
    (np.cumsum, (u(0, 1),), {}), (np.cumsum, (u(0, 1),), dict(axis=-1)),
    (np.cumprod, (u(0.5, 1.5),), {}), (np.cumprod, (u(0.5, 1.5),), dict(axis=0)),
    (np.cumprod, (np.array([[2.0, 0.0, 3.0], [1.0, 2.0, 0.5]]),), dict(axis=1)),
    (np.average, (u(0, 1),), dict(axis=1)),
    (np.average, (u(0, 1), 0, u(0.5, 2)), {}),
    (np.average, (u(0, 1),), dict(axis=1, weights=u(0.5, 2, (4,)), keepdims=True)),
    (np.average, (u(0, 1, (2, 3, 4)),), dict(axis=(2, 0), weights=u(0.5, 2, (4, 2)))),
    (builtins.sum, (u(0, 1),), {}), (builtins.sum, ([u(0, 1), u(0, 1, (4,))], 1.5), {}),
] + [
    (np.linalg.norm, (u(-1, 1, (5,)), ord), {}) for ord in (None, 2, 1, np.inf, -np.inf, 3, 0)
] + [
    (np.linalg.norm, (u(-1, 1), ord), {}) for ord in (None, "fro", "nuc", 1, -1, 2, -2, np.inf)
] + [
    (np.linalg.norm, (u(-1, 1, (2, 3, 4)),), dict(ord=2, axis=(2, 1), keepdims=True)),
    (np.linalg.norm, (u(-1, 1),), dict(ord=1, axis=0)),
    # issue 15: nan-reductions, the operator module's functions
    (np.nansum, (u(0, 1),), dict(axis=1)), (np.nanmean, (u(0, 1),), {}),
    (np.nanmax, (u(0, 1),), dict(axis=0)), (np.nanmin, (u(0, 1),), dict(keepdims=True)),
] + [
    (fn, (u(0.5, 1.5), u(0.5, 1.5)), {}) for fn in (operator.add, operator.sub, operator.mul,
                                                    operator.truediv, operator.mod,
                                                    operator.pow)
] + [(operator.neg, (u(0, 1),), {}), (operator.pos, (u(0, 1),), {}),
      (builtins.pow, (u(0.5, 1.5), u(0.5, 1.5)), {}), (builtins.pow, (u(0.5, 1.5, ()), 3), {})]


def _call_id(call):
    primal, args, kwargs = call
    return f"{getattr(primal, '__module__', None) or 'numpy'}.{primal.__name__}" + (
        f"{sorted(kwargs.items())}" if kwargs else "")


@pytest.mark.parametrize("call", TANGENT_CALLS, ids=[_call_id(c) for c in TANGENT_CALLS])
def test_tangent_template_against_finite_differences(call):
    primal, args, kwargs = call
    with np.errstate(invalid="ignore"):
        check_tangent(primal, *args, **kwargs)


def test_every_tangent_of_these_families_is_checked():
    checked = {call[0] for call in TANGENT_CALLS}
    families = ("ast_ad.rules.elementwise", "ast_ad.rules.reductions")
    missing = [p for p, rule in registry.ADJOINTS.items()
               if rule.adjoints[0].fn.__module__ in families and p not in checked]
    assert not missing, missing
    untangented = [p for p, rule in registry.ADJOINTS.items()
                   if rule.adjoints[0].fn.__module__ in families and not rule.tangents]
    assert not untangented, untangented
