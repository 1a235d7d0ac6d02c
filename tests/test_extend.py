"""Custom adjoint rules, array methods and attributes."""

import sys
import textwrap

import extend_cases as cases
import numpy as np
import pytest
from numeric import check_gradient

import ast_ad
from ast_ad import RuleDefinitionError

rng = np.random.default_rng(11)


def test_register_adjoint_for_an_opaque_function():
    @ast_ad.register_adjoint(cases.opaque)
    def opaque(z, x, y):
        b[x] = b[z] * np.exp(y)  # noqa: F821
        b[y] = b[z] * z  # noqa: F821

    check_gradient(cases.uses_opaque, 0.7, 0.3)
    text = ast_ad.source(ast_ad.grad(cases.uses_opaque, argnums=(0, 1)), 0.7, 0.3)
    assert "opaque(" in text and "np.exp(y)" in text and "opaque_forward" not in text


def _define(source: str, name: str, directory):
    """Define a rule in a real file so its source can be read (as in a user's module)."""
    import importlib.util

    path = directory / f"rule_{name}.py"
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(f"rule_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    return module, str(path), spec


def test_wrong_arity_is_reported_with_the_rules_location(tmp_path):
    module, filename, spec = _define("""
        import ast_ad
        import extend_cases

        @ast_ad.register_adjoint(extend_cases.opaque)
        def opaque(z, x):
            b[x] = b[z]
    """, "opaque", tmp_path)
    with pytest.raises(RuleDefinitionError) as info:
        spec.loader.exec_module(module)
    text = str(info.value)
    assert f"{filename}:6:" in text and "takes 1 input(s) (x)" in text and "x, y" in text


def test_ufunc_arity_and_unknown_names_are_checked(tmp_path):
    module, filename, spec = _define("""
        import numpy as np
        import ast_ad

        @ast_ad.register_adjoint(np.hypot)
        def hypot(z, x):
            b[x] = b[z] * x / z
    """, "hypot", tmp_path)
    with pytest.raises(RuleDefinitionError, match="takes 1 required input.*takes 2"):
        spec.loader.exec_module(module)
    module, filename, spec = _define("""
        import ast_ad
        import extend_cases

        @ast_ad.register_adjoint(extend_cases.opaque)
        def opaque(z, x, y):
            b[x] = b[z] * undefined_helper(y)
    """, "unknown", tmp_path)
    with pytest.raises(RuleDefinitionError, match="unknown name undefined_helper") as info:
        spec.loader.exec_module(module)
    assert f"{filename}:7:" in str(info.value)
    module, filename, spec = _define("""
        import ast_ad
        import extend_cases

        @ast_ad.register_adjoint(extend_cases.opaque)
        def opaque(z, x, y):
            b[w] = b[z]
    """, "placeholder", tmp_path)
    with pytest.raises(RuleDefinitionError, match=r"b\[w\] names no parameter"):
        spec.loader.exec_module(module)


def test_array_methods_and_attributes():
    check_gradient(cases.methods_and_attributes, rng.normal(size=(3, 4)), rng.normal(size=3))


def test_declare_nondifferentiable():
    def f(x):
        return x * cases.opaque(x, 0.0) + x

    ast_ad.register_nondifferentiable(cases.opaque)
    try:
        assert ast_ad.grad(f)(2.0) == 3.0  # opaque(x, 0.0) = x treated as a constant
    finally:
        ast_ad.rules.registry.NONDIFFERENTIABLE.pop(cases.opaque)
        ast_ad.rules.registry.RESULT_KINDS.pop(cases.opaque, None)
