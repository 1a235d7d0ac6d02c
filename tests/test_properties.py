"""Random programs (hypothesis): gradients and tangents against central differences.

Each example is a small function written to a real module file, so ast-ad
reads its source like any user's: expressions over math/NumPy functions, a
branch on the data, and a loop carrying a value.
"""

import importlib.util
import itertools
import math
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numeric import check_jvp, numeric_gradient

import ast_ad

SAFE_UNARY = ["math.sin({})", "math.cos({})", "math.tanh({})", "math.atan({})",
              "math.exp(math.sin({}))", "math.log(1.0 + ({}) ** 2)", "math.sqrt(1.0 + ({}) ** 2)",
              "np.sin({})", "np.tanh({})", "abs({}) * 0.5"]
SAFE_BINARY = ["({} + {})", "({} - {})", "({} * {})", "({} / (2.0 + math.cos({})))",
               "max({}, {})", "np.hypot({}, 1.0 + {} * 0.0)"]


def expressions(names):
    leaves = st.sampled_from(list(names) + ["0.5", "1.5", "-2.0"])

    def extend(children):
        unary = st.tuples(st.sampled_from(SAFE_UNARY), children).map(lambda t: t[0].format(t[1]))
        binary = st.tuples(st.sampled_from(SAFE_BINARY), children, children).map(
            lambda t: t[0].format(t[1], t[2]) if t[0].count("{}") == 2
            else t[0].format(t[1], t[2], t[2]))
        return unary | binary

    return st.recursive(leaves, extend, max_leaves=8)


@st.composite
def programs(draw):
    body = draw(expressions(["x", "y"]))
    branch = draw(expressions(["x", "y", "s"]))
    step = draw(expressions(["s", "x", "i"]))
    trips = draw(st.integers(0, 4))
    return (f"def f(x, y):\n"
            f"    s = {body}\n"
            f"    if s > 0.3:\n"
            f"        s = s * 0.5 + {branch} * 0.25\n"
            f"    for i in range({trips}):\n"
            f"        s = s * 0.8 + math.sin({step}) * 0.1\n"
            f"    return s\n")


_counter = itertools.count()


@pytest.fixture(scope="module")
def program_dir(tmp_path_factory):
    """Programs are written here (ast-ad reads source from files), and forgotten afterwards."""
    before = set(sys.modules)
    yield tmp_path_factory.mktemp("programs")
    for name in set(sys.modules) - before:
        if name.startswith("random_program_"):
            del sys.modules[name]


def _load(source: str, directory):
    name = f"random_program_{next(_counter)}"
    path = directory / f"{name}.py"
    path.write_text("import math\nimport numpy as np\n\n\n" + source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module.f


def _smooth_at(f, x, y, eps=1e-4) -> bool:
    """Away from kinks (abs, max, the branch): the function's pieces agree near the point."""
    around = [f(x + dx, y + dy) for dx in (-eps, 0, eps) for dy in (-eps, 0, eps)]
    if not all(math.isfinite(v) for v in around):
        return False
    # Smooth: a second difference of order eps**2; a kink in the slope: of order eps.
    second = abs(around[5] - 2 * around[4] + around[3]) + abs(around[7] - 2 * around[4] + around[1])
    return second < 1e-6


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(source=programs(), x=st.floats(-1.5, 1.5), y=st.floats(-1.5, 1.5))
def test_random_programs(program_dir, source, x, y):
    f = _load(source, program_dir)
    if not _smooth_at(f, x, y):
        return
    value, (gx, gy) = ast_ad.value_and_grad(f, argnums=(0, 1))(x, y)
    assert value == f(x, y) or math.isclose(value, f(x, y), rel_tol=1e-12, abs_tol=1e-12)
    np.testing.assert_allclose([gx, gy], [numeric_gradient(f, (x, y), 0),
                                          numeric_gradient(f, (x, y), 1)],
                               rtol=1e-4, atol=1e-5, err_msg=source)
    check_jvp(f, x, y, rtol=1e-4, atol=1e-5)
