"""Adjoint and tangent rules, one module per family; importing this package fills the tables."""

from . import arithmetic, arrays, elementwise, linalg, reductions, shape  # noqa: F401  (registration)
from . import tangents_interim  # noqa: F401
from .registry import ADJOINTS, METHODS, NONDIFFERENTIABLE, Rule, lookup  # noqa: F401
