"""Table-driven check of every NumPy rule: float64 against central differences, then float32.

The tables are the CASES lists of tests/numpy_cases_*.py (one module per rule
family); see tests/numpy_case.py for the row format.
"""

import importlib
import zlib
from pathlib import Path

import numpy as np
import pytest
from numeric import check_gradient, check_jvp

import ast_ad

HERE = Path(__file__).resolve().parent
MODULES = sorted(p.stem for p in HERE.glob("numpy_cases_*.py"))
ROWS = [(module, case) for module in MODULES
        for case in importlib.import_module(module).CASES]


def _ids():
    return [f"{m.removeprefix('numpy_cases_')}:{c.id}" for m, c in ROWS]


@pytest.mark.parametrize("module, case", ROWS, ids=_ids())
def test_float64_against_finite_differences(module, case):
    rng = np.random.default_rng(zlib.crc32(case.id.encode()))
    check_gradient(case.fn, *case.args(rng), argnums=case.argnums, rtol=case.rtol,
                   atol=case.atol)


@pytest.mark.parametrize("module, case", ROWS, ids=_ids())
def test_tangents_against_finite_differences(module, case):
    """Forward mode through the same rows: every tangent rule along a random direction."""
    rng = np.random.default_rng(zlib.crc32(case.id.encode()))
    check_jvp(case.fn, *case.args(rng), argnums=case.argnums, rtol=case.rtol, atol=case.atol)


@pytest.mark.parametrize("module, case", [r for r in ROWS if r[1].float32],
                         ids=[i for i, r in zip(_ids(), ROWS) if r[1].float32])
def test_float32_gradients_are_float32(module, case):
    rng = np.random.default_rng(zlib.crc32(case.id.encode()))
    args = case.args(rng)
    expected = ast_ad.grad(case.fn, argnums=case.argnums)(*args)
    single = tuple(a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype == np.float64
                   else a for a in args)
    grads = ast_ad.grad(case.fn, argnums=case.argnums)(*single)
    for i, g, e in zip(case.argnums, grads, expected):
        if isinstance(single[i], np.ndarray):
            assert isinstance(g, np.ndarray) and g.dtype == np.float32, (i, type(g), g.dtype)
            assert g.shape == single[i].shape
        scale = max(1.0, float(np.max(np.abs(e))))
        np.testing.assert_allclose(g, e, rtol=2e-3, atol=2e-3 * scale)


def test_tables_were_found():
    assert "numpy_cases_basics" in MODULES and len(ROWS) >= 5, MODULES
