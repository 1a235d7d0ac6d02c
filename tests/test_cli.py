"""`ast-ad show`: prints generated code; exit 0 / 1 (user error, no traceback) / 2 (usage)."""

import subprocess
import sys
from pathlib import Path

import pytest

from ast_ad.cli import main

ROOT = Path(__file__).resolve().parent.parent
SEEDS = str(ROOT / "samples" / "seeds.py")
GOLDEN = Path(__file__).resolve().parent / "golden"


def test_show_one_function_matches_golden(capsys):
    assert main(["show", SEEDS, "--function", "log_sin"]) == 0
    assert capsys.readouterr().out == (GOLDEN / "seeds.log_sin.txt").read_text()


def test_show_every_function(capsys):
    assert main(["show", SEEDS]) == 0
    out = capsys.readouterr().out
    for name in ("quadratic", "log_sin", "product_sin", "sin_plus_cos"):
        assert f"def {name}_value_and_grad(" in out
    assert "def report" not in out and "def main" not in out


def test_argnums_and_grad_mode(capsys):
    assert main(["show", SEEDS, "-f", "quadratic", "--argnums", "1", "--mode", "grad"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("def quadratic_grad(x1, x2, x3):")
    assert out.rstrip().endswith("return bx2")


def test_kinds_and_example_arguments(capsys):
    assert main(["show", SEEDS, "-f", "log_sin", "--kinds", "generic"]) == 0
    generic = capsys.readouterr().out
    assert "unbroadcast" in generic and "check_scalar_output" in generic
    assert main(["show", SEEDS, "-f", "log_sin", "--at", "2.0, 5.0"]) == 0
    assert capsys.readouterr().out == (GOLDEN / "seeds.log_sin.txt").read_text()


def test_trace_keeps_one_primitive_per_line(capsys):
    assert main(["show", SEEDS, "-f", "log_sin", "--trace"]) == 0
    out = capsys.readouterr().out
    for line in ("t1 = math.log(x1)", "t2 = x1 * x2", "t4 = math.sin(x2)", "t5 = t3 - t4"):
        assert f"    {line}\n" in out


def test_stage(capsys):
    assert main(["show", SEEDS, "-f", "log_sin", "--stage", "anf"]) == 0
    out = capsys.readouterr().out
    assert "t1 = math.log(x1)" in out and "# backward" not in out


def test_user_errors_exit_1_without_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(x):\n    try:\n        return x\n    finally:\n        pass\n")
    assert main(["show", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.py:2:5: unsupported syntax: a try statement" in err
    assert "Traceback" not in err
    assert main(["show", str(tmp_path / "missing.py")]) == 1
    assert main(["show", SEEDS, "-f", "nope"]) == 1
    assert "defines no function 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:  # bad usage: see test_cli_usage.py
        main(["show", SEEDS, "-f", "log_sin", "--argnums", "7"])
    assert info.value.code == 2


def test_bad_usage_exits_2():
    with pytest.raises(SystemExit) as info:
        main(["show"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["show", SEEDS, "--mode", "sideways"])
    assert info.value.code == 2


def test_console_script():
    result = subprocess.run([sys.executable, "-m", "ast_ad.cli", "show", SEEDS, "-f", "quadratic"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (GOLDEN / "seeds.quadratic.txt").read_text()


def test_forward_and_hessian_modes(capsys):
    assert main(["show", SEEDS, "-f", "log_sin", "--mode", "forward"]) == 0
    forward = capsys.readouterr().out
    assert forward.startswith("def log_sin_jvp(x1, x2, dx1, dx2):")
    assert main(["show", SEEDS, "-f", "log_sin", "--mode", "hessian"]) == 0
    hessian = capsys.readouterr().out
    assert hessian.startswith("def log_sin_hessian(x1, x2):")  # vector mode
    assert (GOLDEN / "seeds.log_sin.hessian.txt").read_text() == hessian
