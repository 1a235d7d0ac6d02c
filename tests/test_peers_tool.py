"""tools/peers.py on tiny fake checkouts of tangent and autograd: the tool itself keeps working."""

import importlib.util
import re
import sys
import textwrap
from pathlib import Path

import pytest

import ast_ad

TOOL = Path(__file__).resolve().parent.parent / "tools" / "peers.py"

TANGENT_FUNCTIONS = '''
import numpy as np

import tangent
from tangent import insert_grad_of


def square(a):
    return a * a


def sum_of_sines(x):
    return np.sum(np.sin(x))


def power(a, n):
    return a ** n


def handled(a):
    try:
        return a
    finally:
        pass


def other_names(t):
    return t
'''

AUTOGRAD_TEST = '''
import autograd.numpy as np
import autograd.numpy.random as npr
import pytest
from autograd import grad
from autograd.test_util import check_grads, combo_check

npr.seed(0)


def test_sin():
    fun = lambda x: 3.0 * np.sin(x)
    check_grads(fun)(0.5)
    check_grads(fun)(npr.randn(3))


def test_sum():
    combo_check(np.sum, [0])([npr.randn(2, 3)], axis=[None, 0], keepdims=[True, False])


def test_grad_right():
    def f(x):
        return x * x
    assert grad(f)(3.0) == 6.0


def test_grad_expected_differs():
    def f(x):
        return x * x
    assert grad(f)(3.0) == 7.0


def test_rejected():
    def f(x):
        try:
            return x
        finally:
            pass
    check_grads(f)(1.0)


def test_complex():
    check_grads(lambda x: np.sum(x * x))(npr.randn(2) + 1j * npr.randn(2))


@pytest.mark.parametrize("k", [1.0, 2.0])
def test_parametrized(k):
    check_grads(lambda x: k * np.tanh(x))(0.3)


def test_needs_autograd():
    from autograd.core import vspace
    vspace(1.0)
'''


@pytest.fixture
def peers(monkeypatch):
    """The tool as a module, imported from its path; sys.modules left as it was."""
    before = set(sys.modules)
    spec = importlib.util.spec_from_file_location("peers_tool_under_test", TOOL)
    module = importlib.util.module_from_spec(spec)
    path = list(sys.path)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    sys.path[:] = path
    monkeypatch.setattr(module, "TIMEOUT", 60)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield module
    for name in set(sys.modules) - before:
        del sys.modules[name]


def _checkouts(tmp_path):
    tangent = tmp_path / "tangent"
    (tangent / "tests").mkdir(parents=True)
    (tangent / "tests" / "functions.py").write_text(TANGENT_FUNCTIONS)
    autograd = tmp_path / "autograd"
    (autograd / "tests").mkdir(parents=True)
    (autograd / "tests" / "test_fake.py").write_text(textwrap.dedent(AUTOGRAD_TEST))
    return tangent, autograd


def _row(output: str, label: str) -> list[int]:
    line = next(line for line in output.splitlines() if line.strip().startswith(label))
    return [int(n) for n in re.findall(r"\d+", line.split(label, 1)[1])]


def test_counts_on_fake_checkouts(peers, tmp_path, capsys):
    tangent, autograd = _checkouts(tmp_path)
    assert peers.main(["--tangent", str(tangent), "--autograd", str(autograd),
                       "--modules", "test_fake.py", "--details"]) == 0
    out = capsys.readouterr().out
    # cases, ok, wrong, crash, rejected, complex, skipped
    # tangent: square, sum_of_sines and power at three argument sets each (power's n: 1, 2, 3),
    # handled rejected three times, other_names skipped.
    assert _row(out, "tangent (total)") == [13, 9, 0, 0, 3, 0, 1], out
    # autograd: sin 2, sum 4, grad right 1, grad expected differs 1 (wrong), rejected 1,
    # complex 1, parametrized 2.
    assert _row(out, "autograd (total)") == [12, 9, 1, 0, 1, 1, 0], out
    assert "UnsupportedSyntaxError" in out
    assert "wrong  tests/test_fake.py:30 test_grad_expected_differs" in out  # by file:line
    assert "test_needs_autograd: the test needs autograd" in out
    assert not list(tmp_path.glob("**/peers_case_*.py"))
    assert "autograd" not in sys.modules and "autograd.numpy" not in sys.modules


def test_a_crash_is_counted_with_its_location(peers, tmp_path, capsys, monkeypatch):
    tangent, _ = _checkouts(tmp_path)

    def broken(*args, **kwargs):
        raise RuntimeError("internal failure")

    monkeypatch.setattr(peers.ast_ad, "jvp", broken)
    peers.main(["--tangent", str(tangent), "--details"])
    out = capsys.readouterr().out
    assert _row(out, "tangent (total)")[3] == 12, out  # a crash outranks a rejection
    assert "crash  tests/functions.py:8 square(-1.5)" in out
    assert "RuntimeError: forward: internal failure" in out


def test_a_wrong_derivative_is_counted(peers, tmp_path, capsys, monkeypatch):
    tangent, _ = _checkouts(tmp_path)
    real = ast_ad.value_and_grad

    def off_by_one(fun, argnums=0):
        inner = real(fun, argnums=argnums)

        def call(*args):
            value, grads = inner(*args)
            return value, tuple(g + 1.0 for g in grads)
        return call

    monkeypatch.setattr(peers.ast_ad, "value_and_grad", off_by_one)
    peers.main(["--tangent", str(tangent)])
    out = capsys.readouterr().out
    assert _row(out, "tangent (total)")[2] == 9, out
    assert "wrong Derivative: reverse: value_and_grad: derivative of argument" in out
