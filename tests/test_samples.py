"""The samples run and print the seeds' worked values."""

import subprocess
import sys
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def run(name):
    result = subprocess.run([sys.executable, str(SAMPLES / name)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_seeds():
    out = run("seeds.py")
    assert "quadratic(2.0, 3.0, 4.0): value 48.0000, gradient (12.0000, 12.0000, 9.0000)" in out
    assert "log_sin(2.0, 5.0): value 11.6521, gradient (5.5000, 1.7163)" in out
    assert "product_sin(3.0, -1.0, 2.0): value 2.7279, gradient (0.9093, -0.2310, -1.2484)" in out
    assert "sin_plus_cos(2.0, 3.0): value 0.6808, gradient (3.7188, 2.4792)" in out


def test_gradient_descent_lowers_the_cost():
    costs = [float(line.split("cost = ")[1]) for line in run("gradient_descent.py").splitlines()]
    assert len(costs) == 6 and costs[0] == 48.0
    assert all(later < earlier for earlier, later in zip(costs, costs[1:]))
