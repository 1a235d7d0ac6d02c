"""Tangent (forward-mode) templates of the linear-algebra, shape, indexing and array rules,
checked without a forward-mode compiler: each template's body is run as plain Python on
example arguments and random input tangents, and compared with central differences of
the primal along those tangents (and checked to be linear in them)."""

import ast
import operator

import gast
import numpy as np
import pytest

from ast_ad.rules import registry
from ast_ad.runtime import astype
from ast_ad.syntax import clone
from ast_ad.templates import Arg, bind_call, placeholder
from ast_ad.values import kind_of_value

RNG = np.random.default_rng(11)
FAMILIES = ("linalg", "shape", "indexing", "arrays")


def normal(*shape):
    return RNG.normal(size=shape)


def well(n, batch=()):
    return RNG.normal(size=batch + (n, n)) + n * np.eye(n)


def spd(n, batch=()):
    """A symmetric positive definite matrix (or a stack), for np.linalg.cholesky."""
    x = RNG.normal(size=batch + (n, n))
    return x @ np.swapaxes(x, -1, -2) + n * np.eye(n)


def _atom(value):
    if isinstance(value, tuple) and all(isinstance(v, (int, type(None))) for v in value):
        return gast.Tuple(elts=[gast.Constant(value=v, kind=None) for v in value], ctx=gast.Load())
    if value is None or isinstance(value, (bool, int, float, str)):
        return gast.Constant(value=value, kind=None)
    return gast.Name(id="value", ctx=gast.Load(), annotation=None, type_comment=None)


def _differentiable(value) -> bool:
    if isinstance(value, list):
        return all(_differentiable(v) for v in value)
    return isinstance(value, float) or isinstance(value, np.ndarray) and value.dtype.kind == "f"


def _tangent_of(value):
    if isinstance(value, list):
        return [_tangent_of(v) for v in value]
    return RNG.normal() if isinstance(value, float) else RNG.normal(size=value.shape)


def _along(value, tangent, step):
    if isinstance(value, list):
        return [_along(v, t, step) for v, t in zip(value, tangent)]
    return value + step * tangent


def _select(primal, args, kwargs):
    """The tangent template the compiler would use, and its parameters' values."""
    rule = registry.lookup(primal)
    atoms = [_atom(a) for a in args]
    keyword_atoms = {k: _atom(v) for k, v in kwargs.items()}
    for template in rule.tangents:
        bound = bind_call(template, atoms, keyword_atoms)
        if not isinstance(bound, dict):
            continue
        values = template.signature.bind(*args, **kwargs)
        values.apply_defaults()
        values = dict(values.arguments)
        facts = {p: Arg(a, kind_of_value(values[p]) if not isinstance(values[p], list) else "other",
                        np.shape(values[p]) if isinstance(values[p], (np.ndarray, float)) else None)
                 for p, a in bound.items()}
        if template.when is None or template.when(facts):
            return template, values
    raise AssertionError(f"no tangent template of {primal} accepts these arguments")


def run_tangent(template, values: dict, result, tangents: dict):
    """Run a tangent template's body: d[p] is tangents.get(p, 0.0); returns d[result]."""
    names = {p: f"_d_{p}" for p in template.params}

    class Fill(gast.NodeTransformer):
        def visit_Subscript(self, node):
            ref = placeholder(node)
            if ref is None:
                return self.generic_visit(node)
            return gast.Name(id=names[ref[1]], ctx=node.ctx, annotation=None, type_comment=None)

        def visit_Attribute(self, node):
            if isinstance(node.value, gast.Name) and node.value.id == "lib":
                node.value.id = "_lib"
            return self.generic_visit(node)

    body = [Fill().visit(clone(stmt)) for stmt in template.body]
    module = ast.fix_missing_locations(gast.gast_to_ast(gast.Module(body=body, type_ignores=[])))
    namespace = dict(template.globals)
    namespace.update(values)
    namespace[template.result] = result
    namespace["_lib"] = np
    for p in template.params:
        namespace[names[p]] = tangents.get(p, 0.0)
    exec(compile(module, "<tangent template>", "exec"), namespace)
    return namespace[names[template.result]]


def _flat(value):
    if isinstance(value, (list, tuple)):
        return np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in value])
    return np.ravel(np.asarray(value, dtype=float))


def _attr(name):
    return lambda x: getattr(x, name)


# (rule key, the primal as a callable, positional args, keyword args)
ROWS = [
    # linear algebra
    (gast.MatMult, operator.matmul, (normal(3, 4), normal(4, 2)), {}),
    (gast.MatMult, operator.matmul, (normal(2, 3, 4), normal(4)), {}),
    (np.matmul, np.matmul, (normal(4), normal(2, 4, 3)), {}),
    (np.dot, np.dot, (normal(2, 3, 4), normal(5, 4, 2)), {}),
    (np.dot, np.dot, (1.5, normal(3)), {}),
    (np.inner, np.inner, (normal(2, 3), normal(4, 3)), {}),
    (np.outer, np.outer, (normal(2, 2), normal(3)), {}),
    (np.convolve, np.convolve, (normal(5), normal(3)), {}),
    (np.convolve, np.convolve, (normal(3), normal(5), "same"), {}),
    (np.convolve, np.convolve, (normal(5), normal(2)), {"mode": "valid"}),
    (np.vdot, np.vdot, (normal(2, 3), normal(6)), {}),
    (np.tensordot, np.tensordot, (normal(3, 4, 2), normal(2, 3, 5)), {"axes": ([0, 2], [1, 0])}),
    (np.tensordot, np.tensordot, (normal(3, 4), normal(4, 2), 1), {}),
    (np.kron, np.kron, (normal(2, 3), normal(3, 2)), {}),
    (np.einsum, np.einsum, ("ij,jk->ik", normal(3, 4), normal(4, 2)), {}),
    (np.einsum, np.einsum, ("ii->i", normal(3, 3)), {}),
    (np.einsum, np.einsum, ("ij,jk,ki->", normal(2, 3), normal(3, 4), normal(4, 2)),
     {"optimize": True}),
    (np.trace, np.trace, (normal(3, 4),), {"offset": 1}),
    (np.trace, np.trace, (normal(2, 3, 4), 0, 1, 2), {}),
    (np.diagonal, np.diagonal, (normal(3, 4, 4), -1, 2, 0), {}),
    (np.diag, np.diag, (normal(3), 1), {}),
    (np.diag, np.diag, (normal(3, 4), -1), {}),
    (np.linalg.inv, np.linalg.inv, (well(3, (2,)),), {}),
    (np.linalg.solve, np.linalg.solve, (well(3), normal(3)), {}),
    (np.linalg.solve, np.linalg.solve, (well(3, (2,)), normal(3)), {}),
    (np.linalg.solve, np.linalg.solve, (well(3, (2,)), normal(2, 3, 2)), {}),
    (np.linalg.det, np.linalg.det, (well(3),), {}),
    (np.linalg.det, np.linalg.det, (well(3, (2,)),), {}),
    (np.linalg.slogdet, np.linalg.slogdet, (-well(3),), {}),
    (np.linalg.cholesky, np.linalg.cholesky, (spd(3),), {}),
    (np.linalg.cholesky, np.linalg.cholesky, (spd(3, (2,)),), {}),
    (np.linalg.cholesky, np.linalg.cholesky, (spd(3),), {"upper": True}),
    (np.tril, np.tril, (normal(3, 4),), {}),
    (np.tril, np.tril, (normal(2, 3, 4), 1), {}),
    (np.triu, np.triu, (normal(3, 4), -1), {}),
    # shape
    (np.reshape, np.reshape, (normal(12), (3, -1)), {}),
    (np.reshape, np.reshape, (normal(3, 4), (4, 3)), {"order": "F"}),
    (np.ravel, np.ravel, (normal(3, 4), "F"), {}),
    (np.squeeze, np.squeeze, (normal(1, 3, 1),), {"axis": 0}),
    (np.expand_dims, np.expand_dims, (normal(2, 3), (0, 2)), {}),
    (np.broadcast_to, np.broadcast_to, (normal(3, 1), (2, 3, 4)), {}),
    ("attr:T", _attr("T"), (normal(2, 3),), {}),
    (np.transpose, np.transpose, (normal(2, 3, 4), (1, 2, 0)), {}),
    (np.transpose, np.transpose, (normal(2, 3),), {}),
    (np.swapaxes, np.swapaxes, (normal(2, 3, 4), 0, -1), {}),
    (np.moveaxis, np.moveaxis, (normal(2, 3, 4), 0, -1), {}),
    (np.concatenate, np.concatenate, ([normal(2, 3), normal(1, 3)],), {}),
    (np.concatenate, np.concatenate, ([normal(2, 3), normal(2, 1)],), {"axis": -1}),
    (np.hstack, np.hstack, ([normal(2), normal(3)],), {}),
    (np.vstack, np.vstack, ([normal(3), normal(2, 3)],), {}),
    (np.split, np.split, (normal(6, 2), 3), {}),
    (np.array_split, np.array_split, (normal(2, 7), 3), {"axis": 1}),
    (np.repeat, np.repeat, (normal(2, 3), 2), {"axis": 1}),
    (np.tile, np.tile, (normal(2, 3), (2, 1, 2)), {}),
    (np.flip, np.flip, (normal(3, 4),), {"axis": 0}),
    (np.fliplr, np.fliplr, (normal(3, 4),), {}),
    (np.flipud, np.flipud, (normal(3, 4),), {}),
    (np.roll, np.roll, (normal(3, 4), 2), {}),
    (np.roll, np.roll, (normal(3, 4), (1, -1)), {"axis": (0, 1)}),
    (np.pad, np.pad, (normal(2, 3), ((0, 1), (2, 0))), {"constant_values": 0.5}),
    # indexing
    (np.take, np.take, (normal(2, 3), np.array([2, 0, 2])), {"axis": 1}),
    (np.sort, np.sort, (normal(2, 3),), {}),
    (np.sort, np.sort, (normal(2, 3),), {"axis": 0}),
    (np.sort, np.sort, (normal(2, 3),), {"axis": None}),
    (np.take_along_axis, np.take_along_axis, (normal(3, 4), np.array([[0], [3], [1]])),
     {"axis": 1}),
    # arrays
    (np.array, np.array, ([1.5, 2.5],), {}),
    (np.array, np.array, (normal(2, 3),), {}),
    (np.asarray, np.asarray, (normal(3),), {}),
    (np.copy, np.copy, (normal(3),), {}),
    (astype, astype, (normal(3), np.float64), {}),
    *((t, t, (normal(3),), {}) for t in (np.float64, np.longdouble)),
    (np.full, np.full, ((2, 3), 1.5), {}),
    (np.full_like, np.full_like, (normal(3), 1.5), {}),
    (np.linspace, np.linspace, (0.5, 2.5, 5), {}),
    (np.linspace, np.linspace, (0.5, 2.5, 4, False), {}),
    (np.stack, np.stack, ([normal(3), normal(3)],), {"axis": -1}),
    (np.full_like, np.full_like, (normal(2, 3), 1.5), {}),
    (np.full_like, np.full_like, (normal(2, 3), normal(3)), {}),
    (np.full, np.full, ((2, 3), normal(3)), {}),
    # issue 15: cross, einsum's general forms, decompositions, more shapes, partition
    (operator.matmul, operator.matmul, (normal(3, 4), normal(4, 2)), {}),
    (np.cross, np.cross, (normal(4, 3), normal(3)), {}),
    (np.cross, np.cross, (normal(3, 2), normal(2, 3)), {"axisa": 0, "axisc": 0}),
    (np.einsum, np.einsum, ("...ij,...jk->...ik", normal(2, 3, 4), normal(4, 2)), {}),
    (np.einsum, np.einsum, (normal(3, 4), [0, 1], normal(4, 2), [1, 2], [0, 2]), {}),
    (np.linalg.eigh, np.linalg.eigh, (normal(4, 4),), {}),
    (np.linalg.eigh, np.linalg.eigh, (normal(2, 3, 3), "U"), {}),
    (np.linalg.eigvalsh, np.linalg.eigvalsh, (normal(4, 4),), {}),
    (np.linalg.svd, np.linalg.svd, (normal(5, 3),), {"full_matrices": False}),
    (np.linalg.svd, np.linalg.svd, (normal(2, 3, 4),), {"full_matrices": False}),
    (np.linalg.svd, np.linalg.svd, (normal(3, 3),), {}),
    (np.linalg.svd, np.linalg.svd, (normal(4, 3),), {"compute_uv": False}),
    (np.linalg.qr, np.linalg.qr, (normal(5, 3),), {}),
    (np.linalg.qr, np.linalg.qr, (normal(2, 3, 3),), {}),
    (np.linalg.pinv, np.linalg.pinv, (normal(4, 3),), {}),
    (np.linalg.pinv, np.linalg.pinv, (normal(2, 3, 5),), {}),
    (np.atleast_1d, np.atleast_1d, (1.5,), {}),
    (np.atleast_2d, np.atleast_2d, (normal(3),), {}),
    (np.atleast_3d, np.atleast_3d, (normal(2, 3),), {}),
    (np.rollaxis, np.rollaxis, (normal(2, 3, 4), 2, 0), {}),
    (np.rollaxis, np.rollaxis, (normal(2, 3, 4), 0, 3), {}),
    (np.rot90, np.rot90, (normal(2, 3, 4), 3, (2, 0)), {}),
    (np.hsplit, np.hsplit, (normal(2, 6), [1, 4]), {}),
    (np.vsplit, np.vsplit, (normal(4, 3), 2), {}),
    (np.dsplit, np.dsplit, (normal(2, 2, 4), 2), {}),
    (np.column_stack, np.column_stack, ([normal(3), normal(3, 2)],), {}),
    (np.dstack, np.dstack, ([normal(3), normal(1, 3, 2)],), {}),
    (np.pad, np.pad, (normal(3, 4), ((1, 2), (3, 1)), "reflect"), {}),
    (np.pad, np.pad, (normal(3, 4), 2, "wrap"), {}),
    (np.partition, np.partition, (normal(3, 7), 3), {}),
    (np.partition, np.partition, (normal(6, 2), [1, 4]), {"axis": 0}),
]


@pytest.mark.parametrize("key, fn, args, kwargs", ROWS,
                         ids=[f"{i}-{getattr(r[0], '__name__', r[0])}" for i, r in enumerate(ROWS)])
def test_tangent_matches_central_differences(key, fn, args, kwargs):
    template, values = _select(key, args, kwargs)
    active = [p for p in template.params[1:] if _differentiable(values[p])]
    assert active, "the row has nothing to differentiate"
    tangents = {p: _tangent_of(values[p]) for p in active}
    result = fn(*args, **kwargs)
    got = run_tangent(template, values, result, tangents)

    def at(step):
        moved = dict(values)
        for p in active:
            moved[p] = _along(values[p], tangents[p], step)
        positional = [moved[p] for p in template.params[1:len(args) + 1]]
        return fn(*positional, **{k: moved[k] for k in kwargs})

    eps = 1e-6
    expected = (_flat(at(eps)) - _flat(at(-eps))) / (2 * eps)
    np.testing.assert_allclose(_flat(got), expected, rtol=1e-5, atol=1e-6)
    # Linear in the tangents: doubling them doubles the result.
    doubled = run_tangent(template, values, result,
                          {p: _along(t, t, 1.0) for p, t in tangents.items()})
    np.testing.assert_allclose(_flat(doubled), 2 * _flat(got), rtol=1e-10, atol=1e-12)


def test_every_rule_of_these_families_has_a_tangent():
    missing = []
    for primal, rule in registry.ADJOINTS.items():
        family = rule.adjoints[0].fn.__module__.rsplit(".", 1)[-1] if rule.adjoints else None
        if family in FAMILIES and not rule.tangents:
            missing.append(primal)
    assert not missing, missing


def test_every_tangent_of_these_families_has_a_row():
    tested = {row[0] for row in ROWS}
    untested = [primal for primal, rule in registry.ADJOINTS.items()
                if rule.tangents and rule.tangents[0].fn.__module__.rsplit(".", 1)[-1]
                in FAMILIES and primal not in tested
                and primal not in ("attr:logabsdet", "attr:sign")]
    assert not untested, untested
