"""Adjoint and tangent rules, one module per family; importing this package fills the tables."""

from . import (  # noqa: F401  (registration)
    arithmetic,
    arrays,
    elementwise,
    generated,
    indexing,
    linalg,
    mutating,
    reductions,
    shape,
)
from .registry import ADJOINTS, METHODS, NONDIFFERENTIABLE, Rule, lookup  # noqa: F401
