"""Arrays that are not NumPy's but that NumPy's functions dispatch to: Dask and CuPy.

They implement NumPy's protocols (`__array_function__`, `__array_ufunc__`), so the
code ast-ad generates for NumPy arrays (`np.exp(x)`, `x @ w`, `np.sum(g, axis=0)`)
runs on them unchanged and returns their own arrays: a Dask gradient stays lazy and
chunked, a CuPy one stays on the GPU. Only these libraries are accepted: another
class with the protocols may give NumPy's functions other meanings (a matrix `*`,
masked items, units), which the rules do not model. See docs/arrays.md.
"""

from __future__ import annotations

import math

# (module, class name) of the accepted array classes; compared by name so that neither
# library is imported (nor needed) to recognise the other's arrays, or NumPy's.
_CLASSES = frozenset({
    ("dask.array.core", "Array"),
    ("cupy", "ndarray"),
    ("cupy._core.core", "ndarray"),
})
_known: dict[type, bool] = {}


def is_protocol_array(value) -> bool:
    """A Dask or CuPy array (not a NumPy array, nor an arbitrary array-like)."""
    cls = type(value)
    found = _known.get(cls)
    if found is None:
        found = _known[cls] = (cls.__module__, cls.__qualname__) in _CLASSES
    return found


def is_dask(value) -> bool:
    return type(value).__module__.startswith("dask.")


def known_shape(value) -> bool:
    """Whether every dimension is known (a Dask array's is nan after boolean indexing)."""
    return not any(isinstance(n, float) and math.isnan(n) for n in value.shape)
