"""A long generated function is guarded by a small function that checks what the code
assumed and then calls it (compile.GUARD_CALLS_FROM), not by a whole copy: its text is
compiled once. What the copy did, the small function does: stale code is regenerated,
inspect, export and further differentiation read the generated function."""

import inspect
import sys

import numpy as np
import pytest
import test_sound_caching as caching

import ast_ad
from ast_ad import compile as compile_module
from ast_ad.export import export_module


@pytest.fixture
def guard_calls(monkeypatch):
    """Every guarded function checks and calls (as a long one does)."""
    monkeypatch.setattr(compile_module, "GUARD_CALLS_FROM", 1)


@pytest.mark.parametrize("test", [
    caching.test_rebinding_a_global_function_regenerates,
    caching.test_rebinding_a_helper_regenerates_callers,
    caching.test_rebinding_a_global_in_a_callees_module,
    caching.test_second_derivatives_follow_a_rebinding,
    caching.test_global_constants_changing_kind_or_shape,
    caching.test_rebinding_a_module_alias_the_function_reads,
])
def test_rebinding_regenerates_as_with_a_copy(guard_calls, tmp_path, test):
    test(tmp_path)


def test_a_rebound_closure_cell_regenerates(guard_calls):
    caching.test_rebinding_a_closure_cell_regenerates()


LONG = """
import math

SCALE = 0.5

def long(x, y):
    a = x
    b = y
""" + "".join(f"    a = math.sin(a * b) + 0.{i % 7} * SCALE\n    b = 0.5 * b + 0.1 * math.cos(a)\n"
              for i in range(120)) + "    return a + b\n"


def test_a_long_function_is_guarded_by_a_call(tmp_path):
    m = caching.write_module(tmp_path, "guard_long", LONG)
    g = ast_ad.value_and_grad(m.long, argnums=(0, 1))
    value, grads = g(0.3, 0.2)
    running = g.__ast_ad__.latest
    plain = running.__ast_ad_plain__
    assert len(plain.__ast_ad_source__.splitlines()) >= compile_module.GUARD_CALLS_FROM
    shown = inspect.getsource(running)
    assert "_ast_ad_plain(x, y)" in shown and len(shown.splitlines()) < 10
    assert [line[4:] for line in inspect.getsource(plain).splitlines()] == \
        plain.__ast_ad_source__.splitlines()
    assert ast_ad.source(g, 0.3, 0.2) == plain.__ast_ad_source__
    assert "def long_value_and_grad" in export_module(running, [])
    eps = 1e-6
    numeric = (m.long(0.3 + eps, 0.2) - m.long(0.3 - eps, 0.2)) / (2 * eps)
    assert value == pytest.approx(m.long(0.3, 0.2))
    assert grads[0] == pytest.approx(numeric, rel=1e-5)
    # further differentiation reads the generated function, not the one that calls it
    second = ast_ad.grad(ast_ad.grad(m.long))(0.3, 0.2)
    step = (ast_ad.grad(m.long)(0.3 + eps, 0.2) - ast_ad.grad(m.long)(0.3 - eps, 0.2)) / (2 * eps)
    assert second == pytest.approx(step, rel=1e-4)
    m.SCALE = 2.0  # the code assumed a float SCALE: the same kind, no new code needed
    assert g(0.3, 0.2)[0] == pytest.approx(m.long(0.3, 0.2))
    m.math = np  # what `math.sin` calls changed: the check sends the call to new code
    assert g(0.3, 0.2)[0] == pytest.approx(m.long(0.3, 0.2))
    assert g.__ast_ad__.latest is not running
    del sys.modules["guard_long"]
