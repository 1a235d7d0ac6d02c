"""Golden files: the generated code of the samples and of each rule family, diffed as text.

Regenerate with `pytest tests/test_golden.py --update-golden` (or tools/update_golden.py)
and read the diff of tests/golden/ as carefully as a code diff.
"""

import difflib
import importlib
import sys
from pathlib import Path

import numpy as np
import pytest
from numeric import check_gradient, numeric_tree_gradient

import ast_ad

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
sys.path.insert(0, str(ROOT / "samples"))

rng = np.random.default_rng(1)


def _mlp_args():
    return (rng.normal(size=(8, 4)), rng.normal(size=(4, 5)), rng.normal(size=5),
            rng.normal(size=(5, 1)), rng.normal(size=1), rng.normal(size=(8, 1)))


# (module, function, argnums, example arguments)
CASES = [
    ("seeds", "quadratic", (0, 1, 2), (2.0, 3.0, 4.0)),
    ("seeds", "log_sin", (0, 1), (2.0, 5.0)),
    ("seeds", "product_sin", (0, 1, 2), (3.0, -1.0, 2.0)),
    ("seeds", "sin_plus_cos", (0, 1), (2.0, 3.0)),
    ("gradient_descent", "cost", (0, 1, 2), (2.0, 3.0, 4.0)),
    ("golden_cases", "arithmetic", (0, 1), (1.3, 0.7)),
    ("golden_cases", "math_chain", (0,), (0.8,)),
    ("golden_cases", "numpy_elementwise", (0,), (rng.normal(size=(3, 4)),)),
    ("golden_cases", "broadcasting", (0, 1, 2),
     (rng.normal(size=(3, 4)), rng.normal(size=4), 0.5)),
    ("golden_cases", "reductions", (0,), (rng.normal(size=(3, 4)),)),
    ("golden_cases", "mlp_loss", (1, 2, 3, 4), _mlp_args()),
    ("golden_cases", "dot_products", (0, 1), (rng.normal(size=3), rng.normal(size=(3, 3)))),
    ("golden_cases", "comprehension", (0, 1), (rng.normal(size=3), rng.normal(size=3))),
    ("golden_cases", "recursive_power", (0,), (1.3, 4)),
    # One representative function per control-flow construct.
    ("control_cases", "if_else", (0, 1), (2.0, 1.0)),
    ("control_cases", "conditional_expression", (0, 1), (0.3, 0.7)),
    ("control_cases", "scalar_loop", (0, 1), (0.7, 1.3)),
    ("control_cases", "for_range_start_stop_step", (0,), (1.1, 1, 8, 3)),
    ("control_cases", "while_loop", (0,), (1.2,)),
    ("control_cases", "break_and_continue", (0,), (0.9, 10)),
    ("control_cases", "early_return", (0,), (0.5,)),
    ("control_cases", "return_in_loop", (0,), (1.0,)),
    ("control_cases", "iterate_enumerate_zip", (0, 1),
     (rng.normal(size=(3, 3)), rng.normal(size=3))),
    ("control_cases", "tuple_unpacking_and_swaps", (0, 1), (0.7, 1.3)),
    ("control_cases", "augmented_assignment", (0, 1), (0.7, 1.3)),
    ("control_cases", "write_elements", (0,), (0.7, 5)),
    ("control_cases", "write_then_read_old_values", (0,), (rng.normal(size=4),)),
    ("control_cases", "build_list_and_stack", (0,), (rng.normal(size=3), 4)),
    ("control_cases", "rnn", (0, 1), (rng.normal(size=(4, 4)) * 0.5, rng.normal(size=(4, 3)) * 0.5,
                                      rng.normal(size=(5, 3)), rng.normal(size=4))),
    ("calls_cases", "same_module", (0, 1), (0.7, 1.3)),
    ("calls_cases", "tuple_results", (0, 1), (1.2, 0.4)),
    ("calls_cases", "nested_definitions", (0, 1), (0.7, 1.3)),
    # Model losses.
    ("model_cases", "logistic_regression", (0,),
     (rng.normal(size=5), rng.normal(size=(50, 5)), np.sign(rng.normal(size=50)))),
    ("model_cases", "softmax_cross_entropy", (0, 1),
     (rng.normal(size=(4, 3)), rng.normal(size=3), rng.normal(size=(6, 4)),
      np.eye(3)[rng.integers(0, 3, size=6)])),
    ("model_cases", "label_cross_entropy", (0,),
     (rng.normal(size=(4, 3)), rng.normal(size=(6, 4)), rng.integers(0, 3, size=6))),
    ("model_cases", "attention", (0, 1, 2), tuple(rng.normal(size=(5, 3)) for _ in range(4))),
]


def _ids():
    return [f"{m}.{f}" for m, f, _, _ in CASES]


@pytest.mark.parametrize("module, function, argnums, args", CASES, ids=_ids())
def test_golden(module, function, argnums, args, update_golden):
    fn = getattr(importlib.import_module(module), function)
    text = ast_ad.source(ast_ad.value_and_grad(fn, argnums=argnums), *args)
    _compare(GOLDEN / f"{module}.{function}.txt", text, update_golden)


def _compare(path, text, update_golden):
    if update_golden or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        if not update_golden:
            pytest.fail(f"{path.name} did not exist; written now, check it in")
    expected = path.read_text()
    if text != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True),
                                            f"golden/{path.name}", "generated"))
        pytest.fail(f"generated code differs from the golden file:\n{diff}")


@pytest.mark.parametrize("module, function, argnums, args", CASES, ids=_ids())
def test_golden_case_is_correct(module, function, argnums, args):
    fn = getattr(importlib.import_module(module), function)
    check_gradient(fn, *args, argnums=argnums)


# Forward-mode and Hessian code of the seed functions.
MODE_CASES = [
    ("seeds", "log_sin", "jvp", (2.0, 5.0)),
    ("seeds", "quadratic", "jvp", (2.0, 3.0, 4.0)),
    ("seeds", "product_sin", "jvp", (3.0, -1.0, 2.0)),
    ("seeds", "log_sin", "hessian", (2.0, 5.0)),
    ("seeds", "sin_plus_cos", "hessian", (2.0, 3.0)),
    ("control_cases", "scalar_loop", "jvp", (0.7, 1.3)),
    ("control_cases", "scalar_loop", "hessian", (0.7, 1.3)),
    ("golden_cases", "mlp_loss", "vjp", _mlp_args()),
    # Vector mode (docs/vector_mode.md): the whole Hessian or Jacobian in one function.
    ("golden_cases", "rosenbrock", "hessian", (np.linspace(-1.0, 1.5, 5),)),
    ("golden_cases", "tanh_cubic", "jacfwd", (rng.normal(size=4), rng.normal(size=(4, 4)))),
]


@pytest.mark.parametrize("module, function, mode, args", MODE_CASES,
                         ids=[f"{m}.{f}.{mode}" for m, f, mode, _ in MODE_CASES])
def test_golden_modes(module, function, mode, args, update_golden):
    fn = getattr(importlib.import_module(module), function)
    text = ast_ad.generated_source(fn, *args, mode=mode)
    _compare(GOLDEN / f"{module}.{function}.{mode}.txt", text, update_golden)


# A function whose parameters are a dict (see tests/test_containers.py): its gradient, and
# its jvp and vjp code.
def _params_args():
    return ({"W1": rng.normal(size=(4, 5)), "b1": rng.normal(size=5),
             "W2": rng.normal(size=(5, 1)), "b2": rng.normal(size=1)},
            rng.normal(size=(8, 4)), rng.normal(size=(8, 1)))


@pytest.mark.parametrize("mode", ["grad", "jvp", "vjp"])
def test_golden_dict_params(mode, update_golden):
    fn = importlib.import_module("golden_cases").mlp_params
    args = _params_args()
    if mode == "grad":
        text = ast_ad.source(ast_ad.grad(fn), *args)
        got = ast_ad.grad(fn)(*args)
        expected = numeric_tree_gradient(fn, args, 0)
        for key in args[0]:
            np.testing.assert_allclose(got[key], expected[key], rtol=1e-5, atol=1e-8)
    else:
        text = ast_ad.generated_source(fn, *args, mode=mode, argnums=(0,))
    suffix = "" if mode == "grad" else f".{mode}"
    _compare(GOLDEN / f"golden_cases.mlp_params{suffix}.txt", text, update_golden)
