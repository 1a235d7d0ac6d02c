"""Adjoint and tangent rules, one module per family; importing this package fills the tables."""

from . import arithmetic, arrays, elementwise, generated, indexing, linalg, reductions, shape  # noqa: F401  (registration)
from .registry import ADJOINTS, METHODS, NONDIFFERENTIABLE, Rule, lookup  # noqa: F401
