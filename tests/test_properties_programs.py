"""Random programs (hypothesis) with the shapes that broke before: two loops in a row, helpers
called with permuted arguments from several callers, helpers that append to lists, views and
writes into arrays.

Every program is checked in reverse mode and forward mode against central differences,
forward against reverse (<u, J v> = <J^T u, v>) and, where it is scalar, in second order
(jvp over the gradient against differences of the gradient). Programs built from constructs
ast-ad supports must not be rejected; the others (a helper appending to its argument, writes
into views) must be right or rejected with an ADError, never silently wrong.
"""

import itertools
import math
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from numeric import check_jvp, numeric_gradient
from test_properties import _smooth_at, expressions
from test_properties_consistency import check_forward_reverse, check_second_order

import ast_ad

# No shrinking: a failing example is printed as generated (shrinking compiles hundreds more).
PHASES = (Phase.explicit, Phase.generate)
SETTINGS = dict(deadline=None, derandomize=True, database=None, phases=PHASES,
                suppress_health_check=[HealthCheck.too_slow])
_counter = itertools.count()  # (module names apart from test_properties.py's random_program_N)


@pytest.fixture(scope="module")
def program_dir(tmp_path_factory):
    """Programs are written here (ast-ad reads source from files), and forgotten afterwards."""
    path = tmp_path_factory.mktemp("programs")
    before = set(sys.modules)
    yield path
    for name in set(sys.modules) - before:
        if name.startswith("generated_program_"):
            del sys.modules[name]


def load(directory, source: str) -> dict:
    import importlib.util

    name = f"generated_program_{next(_counter)}"
    path = directory / f"{name}.py"
    path.write_text("import math\n\nimport numpy as np\n\n\n" + source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return vars(module)


def check_all(f, args, source, second_order=True):
    """Reverse and forward mode against differences, forward against reverse, second order."""
    nums = tuple(i for i, a in enumerate(args) if isinstance(a, (float, np.ndarray)))
    value, grads = ast_ad.value_and_grad(f, argnums=nums)(*[_copy(a) for a in args])
    expected_value = f(*[_copy(a) for a in args])
    np.testing.assert_allclose(value, expected_value, rtol=1e-12, atol=1e-12, err_msg=source)

    def fresh(*a):
        return f(*[_copy(v) for v in a])

    for i, g in zip(nums, grads):
        np.testing.assert_allclose(g, numeric_gradient(fresh, args, i), rtol=1e-4, atol=1e-5,
                                   err_msg=source)
    check_jvp(f, *[_copy(a) for a in args], rtol=1e-4, atol=1e-5)
    check_forward_reverse(f, args, nums, seed=0)
    if second_order:
        check_second_order(f, args, nums, seed=1)


def _copy(a):
    return a.copy() if isinstance(a, np.ndarray) else a


# -- two loops in a row, helpers with permuted arguments, several callers --------------------


@st.composite
def loops_and_helpers(draw):
    helper = draw(expressions(["a", "b", "c"]))
    body = draw(expressions(["x", "y"]))
    step1 = draw(expressions(["s", "x", "i"]))
    step2 = draw(expressions(["s", "y", "j"]))
    perms = draw(st.lists(st.permutations(["x", "y", "s"]), min_size=3, max_size=3))
    t1, t2 = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    return (f"def helper(a, b, c):\n"
            f"    return {helper}\n\n\n"
            f"def f(x, y):\n"
            f"    s = {body}\n"
            f"    for i in range({t1}):\n"
            f"        s = s * 0.8 + math.sin({step1}) * 0.1\n"
            f"    for j in range({t2}):\n"
            f"        s = s * 0.9 + math.cos({step2}) * 0.1\n"
            f"    u = helper({', '.join(perms[0])})\n"
            f"    v = helper({', '.join(perms[1])})\n"
            f"    return u * 0.5 + v * 0.25 + s\n\n\n"
            f"def g(x, y):\n"
            f"    s = x * y\n"
            f"    return helper({', '.join(perms[2])}) * 0.5 + helper(y, x, 0.5)\n")


@settings(max_examples=25, **SETTINGS)
@given(source=loops_and_helpers(), x=st.floats(-1.5, 1.5), y=st.floats(-1.5, 1.5))
def test_two_loops_and_permuted_helper_calls(program_dir, source, x, y):
    names = load(program_dir, source)
    for fn in (names["f"], names["g"]):  # two callers of one helper: its code is cached
        if _smooth_at(fn, x, y):
            check_all(fn, (x, y), source, second_order=False)


@settings(max_examples=25, **SETTINGS)
@given(source=loops_and_helpers(), x=st.floats(-1.5, 1.5), y=st.floats(-1.5, 1.5))
def test_two_loops_and_permuted_helper_calls_second_order(program_dir, source, x, y):
    names = load(program_dir, source)
    for fn in (names["f"], names["g"]):
        if _smooth_at(fn, x, y):
            check_second_order(fn, (x, y), (0, 1), seed=1)


# -- helpers that append to a list they are given -----------------------------------------------

PUSHES = ["push(acc, {e})", "push_two(acc, {e}, {e2})", "acc.append({e})"]


@st.composite
def list_programs(draw):
    steps = draw(st.lists(st.sampled_from(PUSHES), min_size=1, max_size=4))
    lines = []
    for step in steps:
        e = draw(expressions(["x", "y"]))
        e2 = draw(expressions(["x", "y"]))
        lines.append("    " + step.format(e=e, e2=e2))
    reduce = draw(expressions(["v", "x"]))
    return ("def push(acc, v):\n"
            "    acc.append(v * 1.5)\n\n\n"
            "def push_two(acc, a, b):\n"
            "    acc.append(a)\n"
            "    acc.append(a * b)\n\n\n"
            "def f(x, y):\n"
            "    acc = [x * 1.0]\n"
            + "\n".join(lines) + "\n"
            "    total = 0.0\n"
            "    for v in acc:\n"
            f"        total = total + {reduce}\n"
            "    return total + acc[0] * acc[-1]\n")


@settings(max_examples=20, **SETTINGS)
@given(source=list_programs(), x=st.floats(-1.5, 1.5), y=st.floats(-1.5, 1.5))
def test_helpers_that_append_to_lists_are_right_or_rejected(program_dir, source, x, y):
    f = load(program_dir, source)["f"]
    if not _smooth_at(f, x, y):
        return
    try:
        ast_ad.grad(f, argnums=(0, 1))(x, y)
    except ast_ad.ADError:
        return  # rejected: sound
    check_all(f, (x, y), source)


# -- views and writes into arrays ----------------------------------------------------------------


@st.composite
def array_programs(draw):
    index = st.integers(0, 3)
    lines, view = [], False
    for _ in range(draw(st.integers(1, 6))):
        i, j, k = draw(index), draw(index), draw(index)
        value = draw(st.sampled_from([f"x[{j}] * y", f"np.sin(z[{k}]) + x[{j}]",
                                      f"z[{k}] * z[{j}]", "y * 0.5", f"np.sum(z) * x[{j}]"]))
        choices = [f"z[{i}] = {value}", f"z[{i}] += {value}", "z = z * 1.5 + x",
                   f"v = z[{min(i, 2)}:{min(i, 2) + 2}]", "v = z.reshape(2, 2)",
                   f"w = z\n    w[{i}] = {value}", f"put(z, {i}, {value})",
                   f"s = s + np.sum(z) * {value}"]
        if view:
            choices += [f"v[0] = {value}", "s = s + np.sum(v)"]
        line = draw(st.sampled_from(choices))
        view = view or line.startswith("v =")
        lines.append("    " + line)
    tail = " + np.sum(v * v)" if view else ""
    return ("def put(a, i, value):\n"
            "    a[i] = value * 2.0\n\n\n"
            "def f(x, y):\n"
            "    z = x * 1.0\n"
            "    s = 0.0\n"
            + "\n".join(lines) + "\n"
            f"    return np.sum(z * z) + s{tail}\n")


@settings(max_examples=40, **SETTINGS)
@given(source=array_programs(), seed=st.integers(0, 1000))
def test_views_and_writes_are_right_or_rejected(program_dir, source, seed):
    f = load(program_dir, source)["f"]
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(-1, 1, size=4), float(rng.uniform(-1, 1))
    try:
        ast_ad.grad(f, argnums=(0, 1))(x.copy(), y)
    except ast_ad.ADError:
        return  # rejected: sound
    check_all(f, (x, y), source, second_order=False)


def test_programs_without_views_are_not_rejected(program_dir):
    """The generators above are not vacuous: these supported shapes compile and are right."""
    source = ("def put(a, i, value):\n"
              "    a[i] = value * 2.0\n\n\n"
              "def f(x, y):\n"
              "    z = x * 1.0\n"
              "    s = 0.0\n"
              "    z[1] = x[2] * y\n"
              "    z[0] += np.sin(z[3]) + x[1]\n"
              "    z = z * 1.5 + x\n"
              "    s = s + np.sum(z) * y * 0.5\n"
              "    return np.sum(z * z) + s\n")
    f = load(program_dir, source)["f"]
    check_all(f, (np.array([0.3, -0.5, 0.8, 0.1]), 0.7), source, second_order=False)
    assert math.isfinite(f(np.array([0.3, -0.5, 0.8, 0.1]), 0.7))


# -- loops the compiler restructures: hoisted invariants, inlined helpers, batched products -----


@st.composite
def restructured_loops(draw):
    invariant = draw(expressions(["a", "b"]))  # moves out of the loop when it can
    step = draw(expressions(["s", "a", "i"]))
    helper = draw(expressions(["u", "v"]))  # a pure helper of the same module: inlined
    steps = draw(st.integers(0, 3))
    carried = draw(st.sampled_from(["W @ h", "h @ W", "W @ h * s"]))  # outer products in BPTT
    return (f"def mix(u, v):\n"
            f"    return {helper}\n\n\n"
            f"def f(a, b, W, x):\n"
            f"    s = a\n"
            f"    h = np.zeros(3)\n"
            f"    for i in range({steps}):\n"
            f"        k = {invariant}\n"
            f"        s = s * 0.9 + mix({step}, b) * 0.1 * k\n"
            f"        h = np.tanh({carried} * 0.5 + x[i] * s)\n"
            f"    return s + np.sum(h * h) + mix(a, s)\n")


@settings(max_examples=30, **SETTINGS)
@given(source=restructured_loops(), a=st.floats(-1.2, 1.2), b=st.floats(-1.2, 1.2))
def test_hoisted_inlined_and_batched_loops(program_dir, source, a, b):
    f = load(program_dir, source)["f"]
    rng = np.random.default_rng(0)
    W, x = rng.normal(size=(3, 3)) * 0.5, rng.normal(size=(3, 3))
    if _smooth_at(lambda a, b: f(a, b, W, x), a, b):
        check_all(f, (a, b, W, x), source, second_order=False)
