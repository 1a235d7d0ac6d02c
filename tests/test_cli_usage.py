"""`ast-ad show` exit statuses, run as a user runs it: 0 success, 1 user error, 2 bad usage;
never a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = str(ROOT / "samples" / "seeds.py")

TWO = "def f(x, y):\n    return x * y\n"


def run(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))  # this checkout's ast_ad
    return subprocess.run([sys.executable, "-m", "ast_ad.cli", "show", *args],
                          capture_output=True, text=True, cwd=ROOT, env=env)


def write(tmp_path, text, name="mod.py"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


USAGE = [
    # (options, message fragment); the file defines f(x, y)
    (["--at", "[1.0, [2.0]], 2.0"], "not a rectangular array"),
    (["--at", "1.0, nope"], "--at takes Python literals"),
    (["--at", "1.0,,"], "--at takes Python literals"),
    (["--at", "1.0"], "--at gives 1 value(s) but f takes 2 positional parameter(s) (x, y)"),
    (["--at", "1.0, 2.0, 3.0"], "--at gives 3 value(s) but f takes 2"),
    (["--argnums", "0,x"], "--argnums takes comma-separated integers"),
    (["--argnums", ""], "--argnums takes comma-separated integers"),
    (["--argnums", "0,"], "--argnums takes comma-separated integers"),
    (["--argnums", "0,0"], "names a position twice"),
    (["--argnums", "2"], "--argnums 2 is out of range: f takes 2"),
    (["--argnums", "-1"], "--argnums -1 is out of range"),
    (["--kinds", "scalar,vector"], "unknown kind 'vector'"),
    (["--kinds", "scalar,scalar,scalar"], "--kinds gives 3 kind(s) but f takes 2"),
    (["--mode", "sideways"], "invalid choice: 'sideways'"),
    (["--stage", "nowhere"], "invalid choice: 'nowhere'"),
    (["--bogus"], "unrecognized arguments: --bogus"),
]


@pytest.mark.parametrize("options, message", USAGE, ids=[" ".join(o) for o, _ in USAGE])
def test_bad_usage_exits_2(tmp_path, options, message):
    result = run(write(tmp_path, TWO), *options)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "usage: ast-ad" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_no_arguments_exits_2():
    result = subprocess.run([sys.executable, "-m", "ast_ad.cli"], capture_output=True, text=True,
                            cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert result.returncode == 2 and "Traceback" not in result.stderr


USER_ERRORS = [
    # (file text or None for a missing file, options, message fragment)
    (None, [], "no such file"),
    (TWO, ["--function", "g"], "defines no function 'g' (it defines: f)"),
    ("def f(x):\n    return x +\n", [], "cannot import"),
    ("def f(x):\n    return x\n\nraise RuntimeError('boom')\n", [],
     "cannot import {file}: RuntimeError: boom"),
    ("import sys\n\ndef f(x):\n    return x\n\nsys.exit(3)\n", [],
     "{file} called sys.exit(3) while being imported"),
    ("import sys\n\nsys.exit()\n", [], "{file} called sys.exit() while being imported"),
    ("import sys\n\nsys.exit('usage: mod.py N')\n", [],
     "called sys.exit('usage: mod.py N') while being imported"),
    ("def f(x):\n    try:\n        return x\n    finally:\n        pass\n", [],
     "unsupported syntax: a try statement"),
]


@pytest.mark.parametrize("text, options, message", USER_ERRORS,
                         ids=["missing", "function", "syntax", "raises", "exit3", "exit",
                              "exit-text", "unsupported"])
def test_user_errors_exit_1(tmp_path, text, options, message):
    path = write(tmp_path, text) if text is not None else str(tmp_path / "missing.py")
    result = run(path, *options)
    assert result.returncode == 1, result.stderr
    assert message.format(file=path) in result.stderr
    assert "Traceback" not in result.stderr


def test_exit_hint_names_the_main_guard(tmp_path):
    result = run(write(tmp_path, "import sys\n\nsys.exit(3)\n"))
    assert 'if __name__ == "__main__":' in result.stderr


def test_right_values_succeed(tmp_path):
    path = write(tmp_path, TWO)
    for options in (["--at", "1.0, [2.0, 3.0]"], ["--argnums", "1", "--kinds", "scalar"],
                    ["--kinds", "scalar,array"], ["-f", "f", "--at", "[[1.0], [2.0]], 2.0"]):
        result = run(path, *options)
        assert result.returncode == 0, (options, result.stderr)
        assert result.stdout.startswith("def f_value_and_grad(x, y):"), result.stdout


def test_help_says_the_file_is_imported():
    result = run("--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "Import FILE" in text and "top-level code runs" in text


def test_seeds_still_show():
    result = run(SEEDS, "-f", "log_sin", "--at", "2.0, 5.0")
    assert result.returncode == 0 and "def log_sin_value_and_grad(x1, x2):" in result.stdout
