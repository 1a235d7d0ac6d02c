"""The samples run and print the seeds' worked values."""

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def run(name):
    # The samples import this checkout's ast_ad (not another installed one).
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(SAMPLES.parent)] + [p for p in [os.environ.get("PYTHONPATH")] if p])}
    result = subprocess.run([sys.executable, str(SAMPLES / name)], capture_output=True, text=True,
                            env=env)
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


def test_forward_trace():
    out = run("forward_trace.py")
    assert "def f_jvp(x1, x2, dx1, dx2):" in out and "dt2 = dx1 * x2 + x1 * dx2" in out
    assert "seed (1.0, 0.0): f = 11.6521, directional derivative = 5.5000" in out
    assert "seed (0.0, 1.0): f = 11.6521, directional derivative = 1.7163" in out


def test_laplacian_matches_the_formula():
    for line in run("laplacian.py").splitlines():
        got = line.split("Laplacian ")[1].split(" ")[0]
        formula = line.split("(formula ")[1].rstrip(")")
        assert got == formula


def test_newton_reaches_the_minimum():
    last = run("newton.py").splitlines()[-1]
    assert "p = (1.000000, 1.000000)" in last


def test_levenberg_marquardt_recovers_the_parameters():
    last = run("levenberg_marquardt.py").splitlines()[-1]
    fitted = [float(v) for v in last.split("[")[1].split("]")[0].split()]
    assert abs(fitted[0] - 2.5) < 0.05 and abs(fitted[1] - 1.3) < 0.05
    assert abs(fitted[2] - 0.5) < 0.05


def test_linear_network_learns_the_map():
    out = run("linear_network.py")
    losses = [float(line.split("loss ")[1]) for line in out.splitlines() if "loss" in line]
    assert losses[0] > 1.0 and losses[-1] < 1e-3


def test_readme_shows_the_code_ast_ad_generates():
    readme = (SAMPLES.parent / "README.md").read_text()
    shown = readme.split("shows the code ast-ad generated for it:")[1].split("```python\n")[1]
    shown = shown.split("```")[0]
    golden = (SAMPLES.parent / "tests" / "golden" / "seeds.log_sin.txt").read_text()
    assert shown == golden


def test_mlp_params_trains_with_a_dict_of_parameters():
    out = run("mlp_params.py")
    losses = [float(line.split("loss ")[1]) for line in out.splitlines() if "loss" in line]
    assert len(losses) == 7 and losses[-1] < 0.1 * losses[0]
    assert all(later < earlier for earlier, later in zip(losses, losses[1:]))
    assert "gradient keys: W1, b1, W2, b2" in out


def test_dask_logistic_regression_learns_lazily():
    pytest.importorskip("dask", reason="dask is not installed (pip install 'ast-ad[dask]')")
    out = run("dask_logistic.py").splitlines()
    assert out[1].startswith("value and gradient before computing: Array, Array of chunks")
    losses = [float(line.split("loss ")[1].split()[0]) for line in out if line.startswith("step")]
    assert len(losses) == 8 and losses[0] == float(f"{math.log(2):.6f}")
    assert all(later < earlier for earlier, later in zip(losses, losses[1:]))
    assert float(out[-1].split("= ")[1]) > 0.99  # the direction of the true weights
