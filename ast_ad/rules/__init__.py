"""Adjoint and tangent rules, one module per family; importing this package fills the tables."""

from . import (  # noqa: F401  (registration)
    arithmetic,
    arrays,
    compat,
    differences,
    elementwise,
    fft,
    generated,
    indexing,
    linalg,
    mutating,
    reductions,
    shape,
    special,
)
from .registry import ADJOINTS, METHODS, NONDIFFERENTIABLE, Rule, lookup  # noqa: F401

# Rule families for optional libraries: family -> the module it needs. Each loads only where
# that module is installed (ast-ad itself needs only NumPy).
OPTIONAL = {"scipy": "scipy", "scipy_stats": "scipy"}


def _load_optional():
    import importlib
    import importlib.util

    for family, module in OPTIONAL.items():
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(f"{__name__}.{family}")


_load_optional()
