"""tools/bench.py's correctness path, so the benchmark cannot silently rot (no timing here)."""

import dataclasses
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "tools" / "bench.py"


def _env():
    return dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))


def test_check_path_passes_for_every_workload():
    env = _env()
    result = subprocess.run([sys.executable, str(BENCH), "--check", "--no-peers"],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "all checks passed"
    names = [f"W{k}" for k in range(1, 12)] + ["W2 n=10000", "W3 batch=4096"]
    for name in names:
        line = next(line for line in lines if line.startswith(f"{name}:"))
        assert "hand-written gradient matches central differences" in line
        if name == "W11" and "equal to it" not in line:
            # np.linalg.cholesky has no adjoint rule yet: the row reports the error's class.
            assert re.search(r"not checked: ast-ad n/a \((\w+Error)\), ast-ad wrapper n/a "
                             r"\(\1\)$", line), line
            continue
        assert "equal to it: ast-ad, ast-ad wrapper" in line, line
    w9 = next(line for line in lines if line.startswith("W9:"))
    assert w9.endswith("; gradient dtype float32 (hand, ast-ad, ast-ad wrapper)"), w9


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "tools"))
    saved = dict(os.environ)
    import bench
    os.environ.clear()
    os.environ.update(saved)  # bench sets thread counts for its own process only
    return bench


def test_a_wrong_gradient_fails_the_check(bench):
    w1 = bench.WORKLOADS[0]

    def wrong(x1, x2):
        return math.log(x1) + x1 * x2 - math.sin(x2), (1.0 / x1 + x2, x1 - 1.0001 * math.cos(x2))

    with pytest.raises(bench.CheckFailed, match="central differences"):
        bench.check_hand(dataclasses.replace(w1, hand=wrong))
    contender = bench.Contender(wrong, w1.args)
    with pytest.raises(bench.CheckFailed, match="W1 ast-ad gradient 1"):
        bench.check_contender(w1, "ast-ad", contender, w1.hand(*w1.args))


def test_a_float64_gradient_of_float32_arguments_fails_the_check(bench):
    w9 = next(w for w in bench.WORKLOADS if w.name == "W9")

    def widened(*args):
        value, grads = w9.hand(*args)
        return value, tuple(g.astype("float64") for g in grads)

    with pytest.raises(bench.CheckFailed, match="W9 ast-ad gradient 0: dtype float64"):
        bench.check_contender(w9, "ast-ad", bench.Contender(widened, w9.args),
                              w9.hand(*w9.args))


def _rejected(x):
    try:
        y = x * 2.0
    except ValueError:
        y = x
    return y


def test_a_workload_ast_ad_rejects_is_reported_in_its_cells(bench):
    w = bench.Workload("WX", "rejected", _rejected, lambda x: (2.0 * x, (2.0,)), (1.5,), (0,),
                       1.0, peers=False)
    contenders = bench.contenders_for(w, peers=False)
    assert contenders["ast-ad"] == contenders["ast-ad wrapper"] == \
        "n/a (UnsupportedSyntaxError)"
    bench.check_all(w, contenders)  # the hand-written gradient is still checked
    row = bench.measure(w, peers=False, rounds=3, budget=1e-4)
    assert "n/a (UnsupportedSyntaxError)" in bench.report_main([row])
    cost = bench.compile_cost(w, repeats=1, rounds=3, budget=1e-4)
    assert cost.first_call == cost.recreate == "n/a (UnsupportedSyntaxError)"
    assert "n/a (UnsupportedSyntaxError)" in bench.report_compile([cost], [row])
    assert "n/a (UnsupportedSyntaxError)" in bench.report_memory([w])


def test_peak_memory_counts_numpy_buffers(bench):
    c = bench.Contender(lambda n: float(np.ones(n).sum()), (100_000,))
    assert 800_000 <= bench.peak_memory(c) < 900_000
    w2 = next(w for w in bench.WORKLOADS if w.name == "W2")
    assert bench.report_memory([w2]).splitlines()[2].startswith("W2 ")


def test_straight_line_functions_have_the_asked_number_of_statements(bench, tmp_path):
    for kind in ("floats", "arrays"):
        source = bench.straight_line_source(40, f"f_{kind}", kind)
        assert len(source.splitlines()) == 41  # the def line, then 40 statements
        f = bench.load_function(source, f"f_{kind}", str(tmp_path))
        x = 0.3 if kind == "floats" else np.linspace(0.1, 0.5, 16)
        assert math.isfinite(f(x, x + 0.4))


def test_compile_scaling_reports_sizes_and_timeouts(bench, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", _env()["PYTHONPATH"])
    lines = bench.compile_scaling(limit=300, sizes=(20,)).splitlines()
    assert lines[0].split() == ["statements", "floats:", "first", "call", "per", "100",
                                "arrays:", "first", "call", "per", "100"]
    assert [line.split()[0] for line in lines[2:4]] == ["10", "20"]
    assert lines[4].startswith("first ast-ad call of a process")
    lines = bench.compile_scaling(limit=1e-3, sizes=(20, 40)).splitlines()
    assert [line.split()[1:] for line in lines[2:]] == [
        [">", "1", "ms", "-", ">", "1", "ms", "-"], ["skipped", "-", "skipped", "-"],
        ["skipped", "-", "skipped", "-"]]
