"""Shape: transposes and reshapes (more in the NumPy coverage work)."""

# ruff: noqa: F821

from .registry import adjoint


@adjoint("attr:T", shape=lambda s, atoms: None if s["x"] is None else tuple(reversed(s["x"])))
def transpose_attribute(y, x):
    b[x] = b[y].T
