"""tools/bench.py's correctness path, so the benchmark cannot silently rot (no timing here)."""

import dataclasses
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "tools" / "bench.py"


def test_check_path_passes_for_every_workload():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    result = subprocess.run([sys.executable, str(BENCH), "--check", "--no-peers"],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "all checks passed"
    for name in ("W1", "W2", "W3", "W4", "W5", "W2 n=10000", "W3 batch=4096"):
        line = next(line for line in lines if line.startswith(f"{name}:"))
        assert "hand-written gradient matches central differences" in line
        # ast-ad is checked wherever it has rules; W4 waits for np.logaddexp's.
        assert "equal to it: ast-ad, ast-ad wrapper" in line or "ast-ad n/a (no rule)" in line


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
