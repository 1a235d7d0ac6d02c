"""Forward against reverse, and second order, on every rule row and every program case.

Forward and reverse mode are independent code paths (tangent templates and
adjoint templates), so <u, J v> (jvp, then a dot with u) and <J^T u, v> (vjp,
then a dot with v) must agree to rounding for any u and v. Unlike a finite
difference this is exact, so it also catches rules that disagree at kinks and
ties. Second order: jvp over the generated gradient (a Hessian-vector product)
against central differences of that gradient, on every scalar program.
"""

import importlib
import zlib

import numpy as np
import pytest
import test_calls
import test_control_flow
import test_golden
import test_models
import test_programs
import test_rules
from test_numpy_rules import ROWS, _ids

import ast_ad


def _is_float(a):
    return isinstance(a, (float, np.floating)) or isinstance(a, np.ndarray) and a.dtype.kind == "f"


def _copy(args):
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)


def _random_like(rng, value):
    if isinstance(value, (tuple, list)):
        return type(value)(_random_like(rng, v) for v in value)
    if isinstance(value, np.ndarray):
        return rng.normal(size=value.shape).astype(value.dtype)
    return float(rng.normal())


def _dot(a, b) -> tuple[float, float]:
    """<a, b> and the sum of |a_i b_i| (the scale rounding errors are relative to)."""
    if isinstance(a, (tuple, list)):
        parts = [_dot(x, y) for x, y in zip(a, b)]
        return sum(p[0] for p in parts), sum(p[1] for p in parts)
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.sum(a * b)), float(np.sum(np.abs(a * b)))


def check_forward_reverse(f, args, argnums, seed):
    """<u, J v> from jvp equals <J^T u, v> from vjp, with respect to the arguments in argnums."""
    rng = np.random.default_rng(seed)
    tangents = []
    for i, a in enumerate(args):
        if not isinstance(a, np.ndarray):
            t = float(rng.normal()) if i in argnums else 0.0  # ignored unless a is a float
        else:
            t = rng.normal(size=a.shape) if i in argnums else np.zeros(a.shape)
        if isinstance(a, np.ndarray) and _is_float(a):
            t = t.astype(a.dtype)
        tangents.append(t)
    tangents = tuple(tangents)
    value, jv = ast_ad.jvp(f, _copy(args), _copy(tangents))
    value_r, vjp_fn = ast_ad.vjp(f, *_copy(args))
    u = _random_like(rng, value_r)
    cotangents = vjp_fn(u)
    forward, forward_scale = _dot(u, jv)
    reverse, reverse_scale = 0.0, 0.0
    for i in argnums:
        d, s = _dot(cotangents[i], tangents[i])
        reverse, reverse_scale = reverse + d, reverse_scale + s
    np.testing.assert_allclose(_dot(value, value)[0], _dot(value_r, value_r)[0], rtol=1e-12)
    scale = max(forward_scale, reverse_scale, 1e-300)
    assert abs(forward - reverse) <= 1e-9 * scale + 1e-12, (forward, reverse, scale)


def check_second_order(f, args, argnums, seed, eps=1e-5, rtol=1e-4, atol=1e-5):
    """jvp over ast-ad's gradient (H v) against central differences of that gradient."""
    rng = np.random.default_rng(seed)
    g = ast_ad.grad(f, argnums=tuple(argnums))
    tangents = [rng.normal(size=np.shape(a)) if i in argnums else np.zeros(np.shape(a))
                for i, a in enumerate(args)]
    tangents = tuple(float(t) if not isinstance(a, np.ndarray) else t
                     for a, t in zip(args, tangents))
    _, hv = ast_ad.jvp(g, _copy(args), _copy(tangents))

    def at(sign):
        return g(*[a + sign * eps * t if i in argnums else a
                   for i, (a, t) in enumerate(zip(args, tangents))])

    expected = [(np.asarray(p) - np.asarray(m)) / (2 * eps) for p, m in zip(at(1), at(-1))]
    for h, e in zip(hv, expected):
        scale = max(1.0, float(np.max(np.abs(e)))) if np.size(e) else 1.0
        np.testing.assert_allclose(h, e, rtol=rtol, atol=atol * scale)


# -- every rule row ---------------------------------------------------------------------


@pytest.mark.parametrize("module, case", ROWS, ids=_ids())
def test_rule_rows_forward_matches_reverse(module, case):
    seed = zlib.crc32(case.id.encode())
    args = case.args(np.random.default_rng(seed))
    check_forward_reverse(case.fn, args, case.argnums, seed)


def _rule_table():
    rows = []
    for fn, low, high in test_rules.UNARY:
        rows.append((test_rules._id((fn, low, high)), test_rules.scalar_of(fn),
                     lambda r, lo=low, hi=high: (float(r.uniform(lo, hi)),), (0,)))
        if isinstance(fn, np.ufunc) or fn is abs:
            w = np.random.default_rng(1).normal(size=(3, 4))
            rows.append((test_rules._id((fn, low, high)) + "-array", test_rules.array_of(fn, w),
                         lambda r, lo=low, hi=high: (r.uniform(lo, hi, size=(3, 4)),), (0,)))
    for op in test_rules.OPERATORS:
        for shapes in test_rules.SHAPES:
            low = 2.5 if op is test_rules.op_mod else 0.5

            def args(r, shapes=shapes, low=low):
                x = float(r.uniform(0.5, 2)) if shapes[0] == () else r.uniform(0.5, 2, shapes[0])
                y = float(r.uniform(low, low + 1.5)) if shapes[1] == () else \
                    r.uniform(low, low + 1.5, shapes[1])
                return x, y, r.normal(size=np.broadcast_shapes(np.shape(x), np.shape(y)))

            rows.append((f"{op.__name__}-{shapes[0]}x{shapes[1]}", op, args, (0, 1)))
    for fn, product, shapes in ((test_rules.matmul_op, np.matmul, test_rules.MATMUL_SHAPES),
                                (test_rules.dot_fn, np.dot, test_rules.DOT_SHAPES)):
        for a, b in shapes:
            def args(r, a=a, b=b, product=product):
                x = float(r.normal()) if a == () else r.normal(size=a)
                y = float(r.normal()) if b == () else r.normal(size=b)
                return x, y, r.normal(size=np.shape(product(x, y)))
            rows.append((f"{fn.__name__}-{a}x{b}", fn, args, (0, 1)))
    return rows


RULES = _rule_table()


@pytest.mark.parametrize("name, fn, args, argnums", RULES, ids=[r[0] for r in RULES])
def test_rule_table_forward_matches_reverse(name, fn, args, argnums):
    seed = zlib.crc32(name.encode())
    check_forward_reverse(fn, args(np.random.default_rng(seed)), argnums, seed)


# -- every program case -----------------------------------------------------------------


def _programs():
    cases = []
    for module, function, argnums, args in test_golden.CASES:
        fn = getattr(importlib.import_module(module), function)
        cases.append((f"golden:{module}.{function}", fn, args, argnums))
    for i, (fn, args) in enumerate(test_programs.PROGRAMS):
        cases.append((f"program:{fn.__name__}-{i}", fn, args, None))
    for i, (fn, args) in enumerate(test_control_flow.CASES):
        cases.append((f"control:{fn.__name__}-{i}", fn, args, None))
    for i, (fn, args) in enumerate(test_calls.CASES):
        cases.append((f"calls:{fn.__name__}-{i}", fn, args, None))
    for fn, args, argnums in test_models.MODELS:
        cases.append((f"model:{fn.__name__}", fn, args, argnums))
    return [(name, fn, args, argnums if argnums is not None else
             tuple(i for i, a in enumerate(args) if _is_float(a)))
            for name, fn, args, argnums in cases]


PROGRAMS = _programs()


@pytest.mark.parametrize("name, fn, args, argnums", PROGRAMS, ids=[p[0] for p in PROGRAMS])
def test_programs_forward_matches_reverse(name, fn, args, argnums):
    check_forward_reverse(fn, args, argnums, zlib.crc32(name.encode()))


@pytest.mark.parametrize("name, fn, args, argnums", PROGRAMS, ids=[p[0] for p in PROGRAMS])
def test_programs_second_order(name, fn, args, argnums):
    check_second_order(fn, args, argnums, zlib.crc32(name.encode()))
