"""The linear-algebra, shape and indexing table rows again, with code generated without
knowing the arrays' shapes (what a function called with many shapes falls back to): rules
chosen by ndim guards must have run-time fallbacks that give the same gradients."""

import importlib
import zlib

import numpy as np
import pytest

import ast_ad
from ast_ad import api
from ast_ad.values import kind_of_value

MODULES = ["numpy_cases_linalg", "numpy_cases_shape", "numpy_cases_indexing"]
ROWS = [(m, c) for m in MODULES for c in importlib.import_module(m).CASES]


@pytest.mark.parametrize("module, case", ROWS,
                         ids=[f"{m.removeprefix('numpy_cases_')}:{c.id}" for m, c in ROWS])
def test_shape_generic_code_gives_the_same_gradients(module, case):
    rng = np.random.default_rng(zlib.crc32(case.id.encode()))
    args = case.args(rng)
    transformed = api._Transformed(case.fn, "grad", case.argnums)
    kinds = tuple(kind_of_value(a) for a in args)
    arrays = tuple((a.dtype.name, None) if isinstance(a, np.ndarray) else None for a in args)
    generic = transformed.compile_options(transformed.options(kinds, arrays))
    expected = ast_ad.grad(case.fn, argnums=case.argnums)(*args)
    for g, e in zip(generic(*args), expected):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12)
