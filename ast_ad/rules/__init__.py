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
OPTIONAL = {"scipy": "scipy", "scipy_signal": "scipy", "scipy_stats": "scipy"}
# Families of libraries slow to import (seconds): family -> the library whose functions they
# cover. Each loads when that library was imported before ast-ad, or when the compiler first
# resolves a call into it (load_for), so that importing ast-ad does not import them.
LAZY = {"scipy_signal": "scipy.signal", "scipy_stats": "scipy.stats"}


def _load(family):
    import importlib

    importlib.import_module(f"{__name__}.{family}")


def _load_optional():
    import importlib.util
    import sys

    for family, module in OPTIONAL.items():
        if importlib.util.find_spec(module) is None:
            continue
        if family not in LAZY or LAZY[family] in sys.modules:
            _load(family)


def load_for(callee) -> None:
    """Load the lazy rule family covering `callee` (a function of scipy.stats, say)."""
    module = getattr(callee, "__module__", None)
    if not isinstance(module, str):
        return
    for family, library in LAZY.items():
        if module == library or module.startswith(library + "."):
            _load(family)


def load_all() -> None:
    """Load every optional family that can load (for the coverage table)."""
    import importlib.util

    for family, module in OPTIONAL.items():
        if importlib.util.find_spec(module) is not None:
            _load(family)


_load_optional()
