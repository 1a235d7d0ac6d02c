"""Static result shapes (the rules' shape= functions) against the shapes NumPy produces.

A wrong static shape would let the compiler drop a needed unbroadcast, so every
shape a rule claims to know must be exactly NumPy's.
"""

import gast
import numpy as np
import pytest
from test_tangent_rules import ROWS, normal

from ast_ad.rules import registry
from ast_ad.templates import bind_call


def _atom(value):
    """Literals as the compiler sees them (x.reshape(3, 4) packs a tuple of constants)."""
    if isinstance(value, tuple) and all(isinstance(v, int) for v in value):
        return gast.Tuple(elts=[gast.Constant(value=v, kind=None) for v in value], ctx=gast.Load())
    if value is None or isinstance(value, (bool, int, float, str)):
        return gast.Constant(value=value, kind=None)
    return gast.Name(id="value", ctx=gast.Load(), annotation=None, type_comment=None)


def _shape(value):
    if isinstance(value, (np.ndarray, float, int)):
        return np.shape(value)
    return None


def static_shape(primal, args, kwargs):
    """What the shapes pass computes for `primal(*args, **kwargs)` (see passes/values.py)."""
    rule = registry.lookup(primal)
    atoms = [_atom(a) for a in args]
    keyword_atoms = {k: _atom(v) for k, v in kwargs.items()}
    values = dict(zip(range(len(args)), args))
    for template in rule.adjoints:
        if template.shape is None:
            continue
        bound = bind_call(template, atoms, keyword_atoms)
        if isinstance(bound, dict):
            call = template.signature.bind(*args, **kwargs)
            call.apply_defaults()
            values = call.arguments
            return template.shape({p: _shape(values[p]) for p in bound}, bound)
    return None


EXTRA = [
    (np.reshape, (normal(2, 6), (4, -1)), {}),
    (np.reshape, (normal(2, 6), 12), {}),
    (np.ravel, (normal(2, 6),), {}),
    (np.squeeze, (normal(1, 3, 1),), {}),
    (np.expand_dims, (normal(2, 3), -1), {}),
    (np.transpose, (normal(2, 3, 4), (-1, 0, 1)), {}),
    (np.repeat, (normal(2, 3), 3), {}),
    (np.repeat, (normal(2, 3), 2), {"axis": -2}),
    (np.tile, (normal(2, 3), 2), {}),
    (np.tile, (normal(3), (2, 2)), {}),
    (np.pad, (normal(2, 3), 2), {}),
    (np.pad, (normal(2, 3), (1, 2)), {}),
    (np.diag, (normal(3), -2), {}),
    (np.diag, (normal(3, 5), 2), {}),
    (np.diagonal, (normal(3, 4, 5),), {"axis1": 2, "axis2": 0}),
    (np.trace, (normal(3, 4, 5),), {"offset": -1, "axis1": 1, "axis2": 0}),
    (np.einsum, ("ij,jk", normal(3, 4), normal(4, 2)), {}),
    (np.einsum, ("ba", normal(3, 4)), {}),
    (np.einsum, ("bij,bjk->bik", normal(2, 3, 4), normal(2, 4, 5)), {}),
    (np.tensordot, (normal(2, 3, 4), normal(3, 4, 5)), {}),
    (np.tensordot, (normal(2, 3), normal(4, 5), 0), {}),
    (np.inner, (normal(2, 3), normal(3)), {}),
    (np.inner, (normal(3), 2.0), {}),
    (np.outer, (normal(2, 3), normal(4)), {}),
    (np.kron, (normal(3), normal(2, 2)), {}),
    (np.linalg.solve, (np.eye(3), normal(3)), {}),
    (np.linalg.solve, (np.eye(3)[None].repeat(2, 0), normal(3)), {}),
    (np.linalg.solve, (np.eye(3), normal(2, 3, 4)), {}),
    (np.linalg.det, (np.eye(3)[None].repeat(2, 0),), {}),
    (np.broadcast_to, (normal(3, 1), (2, 3, 4)), {}),
    (np.broadcast_to, (2.0, ()), {}),
    (np.take, (normal(2, 3), np.array([[0, 1]])), {}),
    (np.take, (normal(2, 3, 4), np.array([[0, 1], [1, 1]])), {"axis": -2}),
    (np.take, (normal(2, 3), 1), {"axis": 0}),
    (np.take_along_axis, (normal(3, 4), np.array([[0], [2], [1]])), {"axis": 1}),
    (np.take_along_axis, (normal(3, 4), np.array([[0, 1, 2, 0]])), {"axis": 0}),
    (np.take_along_axis, (normal(3, 4), np.array([1, 2])), {"axis": None}),
]
CALLS = [(key, args, kwargs) for key, fn, args, kwargs in ROWS if callable(key)
         and not isinstance(key, type)] + EXTRA
# Rules whose shapes must be known from these literal arguments.
KNOWN = {np.reshape, np.ravel, np.squeeze, np.expand_dims, np.transpose, np.swapaxes,
         np.moveaxis, np.repeat, np.tile, np.pad, np.diag, np.diagonal, np.trace, np.einsum,
         np.tensordot, np.inner, np.outer, np.kron, np.vdot, np.linalg.inv, np.linalg.solve,
         np.linalg.det, np.broadcast_to, np.flip, np.fliplr, np.flipud, np.roll, np.take,
         np.take_along_axis}


@pytest.mark.parametrize("primal, args, kwargs", CALLS,
                         ids=[f"{i}-{c[0].__name__}" for i, c in enumerate(CALLS)])
def test_static_shape_is_numpys(primal, args, kwargs):
    shape = static_shape(primal, args, kwargs)
    literal = all(isinstance(_atom(a), gast.Constant | gast.Tuple) or isinstance(a, np.ndarray)
                  for a in list(args) + list(kwargs.values()))
    if primal in KNOWN and literal:
        assert shape is not None, "the rule should know this shape"
    if shape is not None:
        assert shape == np.shape(primal(*args, **kwargs))
