"""Checkpointing: ast_ad.checkpoint(helper) and grad(f, checkpoint=...) (binomial
checkpointing of loops). Gradients must equal the non-checkpointed path's and central
differences; loops that cannot be recomputed soundly are rejected with CheckpointError."""

from __future__ import annotations

import functools
import gc
import math
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from numeric import numeric_gradient

import ast_ad
from ast_ad import CheckpointError, revolve

ROOT = Path(__file__).resolve().parent.parent
SCHEDULES = ["revolve", 1, 3]


def check_checkpointed(f, args, argnums, schedules=SCHEDULES, rtol=1e-5, atol=1e-7):
    """Checkpointed value and gradients equal the default ones (to rounding) and central
    differences."""
    value, grads = ast_ad.value_and_grad(f, argnums=argnums)(*args)
    for argnum, g in zip(argnums, grads):
        np.testing.assert_allclose(g, numeric_gradient(f, args, argnum), rtol=rtol, atol=atol)
    for schedule in schedules:
        v, gs = ast_ad.value_and_grad(f, argnums=argnums, checkpoint=schedule)(*args)
        np.testing.assert_allclose(v, value, rtol=1e-13, atol=1e-13)
        for g, expected in zip(gs, grads):
            assert np.shape(g) == np.shape(expected)
            np.testing.assert_allclose(g, expected, rtol=1e-11, atol=1e-13,
                                       err_msg=f"checkpoint={schedule!r}")
    return grads


# -- loops --------------------------------------------------------------------------------


def pendulum(x, v, a, n):
    h = 0.05
    for _ in range(n):
        acc = -a * math.sin(x) - 0.1 * v
        x, v = x + h * v, v + h * acc
    return x * x + v


@pytest.mark.parametrize("n", [0, 1, 2, 17])
def test_straight_loop_of_floats(n):
    check_checkpointed(pendulum, (0.8, 0.1, 1.3, n), (0, 1, 2))


def rk4_deriv(x, y, z, a):
    return y, -a * math.sin(x) - 0.5 * y + 0.3 * math.cos(z), 0.8 + 0.1 * math.tanh(x)


def rk4(x, y, z, a, n):
    h = 0.01
    for _ in range(n):
        k1x, k1y, k1z = rk4_deriv(x, y, z, a)
        k2x, k2y, k2z = rk4_deriv(x + 0.5 * h * k1x, y + 0.5 * h * k1y, z + 0.5 * h * k1z, a)
        k3x, k3y, k3z = rk4_deriv(x + 0.5 * h * k2x, y + 0.5 * h * k2y, z + 0.5 * h * k2z, a)
        k4x, k4y, k4z = rk4_deriv(x + h * k3x, y + h * k3y, z + h * k3z, a)
        x = x + h / 6 * (k1x + 2 * k2x + 2 * k3x + k4x)
        y = y + h / 6 * (k1y + 2 * k2y + 2 * k3y + k4y)
        z = z + h / 6 * (k1z + 2 * k2z + 2 * k3z + k4z)
    return math.sqrt(x * x + y * y + z * z)


@pytest.mark.parametrize("n", [0, 5, 200])
def test_rk4(n):
    check_checkpointed(rk4, (1.0, 0.0, 0.0, 1.5, n), (0, 1, 2, 3))


def branchy(x, a, n):
    s = 0.0
    for i in range(n):
        if x > 0.5:
            x = x * a - 0.3
        elif i % 3 == 0:
            x = math.sin(x) + a
        else:
            x = x + 0.1 * a * a
        s = s + x * x
    return s


@pytest.mark.parametrize("n", [0, 9, 40])
def test_loop_with_branches(n):
    check_checkpointed(branchy, (0.3, 0.9, n), (0, 1))


def helper_with_loop(u, a, k=3):
    # a default argument: compiled as a callee, not inlined
    t = 0.0
    for j in range(k):
        t = t + math.cos(u * j + a)
    return t * u


def calls_helper(x, a, n):
    for _ in range(n):
        x = 0.5 * x + 0.2 * helper_with_loop(x, a)
    return x


@pytest.mark.parametrize("n", [0, 7])
def test_loop_calling_a_helper(n):
    check_checkpointed(calls_helper, (0.4, 0.7, n), (0, 1))


def nested_loops(x, a, n, m):
    for _ in range(n):
        y = x
        for j in range(m):
            y = math.sin(y) * a + 0.1 * j
        x = 0.5 * x + y
    return x


@pytest.mark.parametrize("n,m", [(0, 3), (4, 0), (5, 3)])
def test_loop_with_a_nested_loop(n, m):
    check_checkpointed(nested_loops, (0.4, 0.8, n, m), (0, 1))


def rnn(W, h, xs, n):
    for t in range(n):
        h = np.tanh(W @ h + xs[t])
    return np.sum(h * h)


@pytest.mark.parametrize("n", [0, 6])
def test_array_state(n):
    rng = np.random.default_rng(0)
    W, h, xs = rng.normal(size=(4, 4)) * 0.5, rng.normal(size=4), rng.normal(size=(6, 4))
    check_checkpointed(rnn, (W, h, xs, n), (0, 1, 2))


def test_array_state_keeps_no_rows_per_step():
    rng = np.random.default_rng(1)
    W, h, xs = rng.normal(size=(4, 4)) * 0.5, rng.normal(size=4), rng.normal(size=(6, 4))
    text = ast_ad.source(ast_ad.grad(rnn, argnums=(0, 1), checkpoint=2), W, h, xs, 6)
    assert "_list" not in text and "_rows" not in text  # (the batch pass is off)


def state_read_before_and_after(x, a, n):
    y = x * x
    for _ in range(n):
        x = math.tanh(x * a + y)
    return x + y * a


def test_state_read_around_the_loop():
    check_checkpointed(state_read_before_and_after, (0.3, 1.1, 8), (0, 1))


def two_loops(x, a, n):
    for _ in range(n):
        x = math.sin(x) * a
    s = 0.0
    for i in range(n):
        s = s + x * i
        x = x * 0.9
    return s + x


def test_two_loops():
    check_checkpointed(two_loops, (0.3, 1.1, 6), (0, 1))


def reads_what_a_later_loop_changes(x, a, n):
    y = 0.5
    for _ in range(n):
        x = math.sin(x) + y  # recomputed in the backward pass: must see y = 0.5
    for _ in range(n):
        y = y * a + 0.1 * x
    return x + y


def test_recomputation_sees_the_values_of_its_forward_pass():
    check_checkpointed(reads_what_a_later_loop_changes, (0.3, 0.9, 7), (0, 1))


def poisson(a, b, xs):
    s = 0.0
    for x in xs:
        lam = math.exp(a * x + b)
        s = s + x * math.log(lam) - lam
    return -s


def test_loop_run_with_the_forward_pass_saves_nothing_and_is_left_alone():
    xs = [0.1, -0.4, 0.7, 0.2]
    check_checkpointed(poisson, (0.7, 0.2, xs), (0, 1))
    text = ast_ad.source(ast_ad.grad(poisson, argnums=(0, 1), checkpoint="revolve"),
                         0.7, 0.2, xs)
    assert "checkpoint_forward" not in text and "stack" not in text


def test_range_with_start_and_step():
    def stepped(x, a, n):
        for i in range(2, n, 3):
            x = x + a * math.sin(x * i)
        return x

    check_checkpointed(stepped, (0.3, 0.4, 20), (0, 1))


def test_generated_code_shows_the_step_functions():
    text = ast_ad.source(ast_ad.value_and_grad(pendulum, argnums=(0, 1, 2),
                                               checkpoint="revolve"), 0.8, 0.1, 1.3, 5)
    assert "def pendulum_step(_, v, x):" in text
    assert "v, x, pendulum_tape = checkpoint_forward(pendulum_step, range(n), (v, x), None)" \
        in text
    assert "def pendulum_step_reverse(_, v, x, bv, bx, bt1):" in text
    assert "bv, bx, bt1 = checkpoint_backward(pendulum_tape, pendulum_step_reverse, " \
        "(bv, bx, bt1))" in text
    assert "stack" not in text  # nothing saved per iteration
    reverse = text.split("def pendulum_step_reverse")[1].split("return")[0]
    assert "x_2" not in reverse  # the next state: not needed by the adjoint
    text = ast_ad.source(ast_ad.grad(pendulum, checkpoint=7), 0.8, 0.1, 1.3, 5)
    assert "(v, x), 7)" in text


def test_memory_is_bounded():
    n = 1000
    args = (1.0, 0.0, 0.0, 1.5, n)

    def peak(f):
        f(*args[:-1], 3)
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            f(*args)
            return tracemalloc.get_traced_memory()[1] - before
        finally:
            tracemalloc.stop()

    default = peak(ast_ad.value_and_grad(rk4, argnums=(0, 1, 2, 3)))
    checkpointed = peak(ast_ad.value_and_grad(rk4, argnums=(0, 1, 2, 3), checkpoint=20))
    assert default > 400_000  # 16 floats a step
    assert checkpointed < 40_000  # 20 snapshots of 3 floats


# -- the schedule -------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 2, 5, 33, 500])
@pytest.mark.parametrize("snapshots", [1, 2, 3, 8, None, 10000])
def test_schedule_reverses_every_step_once_in_order(n, snapshots):
    advances, order = [0], []

    def step(i, k):
        assert i == 3 * k + 1
        advances[0] += 1
        return (k + 1,)

    def step_reverse(i, k, total):
        assert i == 3 * k + 1
        order.append(k)
        return (total + k,)

    steps = range(1, 3 * n + 1, 3)
    *state, tape = revolve.forward(step, steps, (0,), snapshots)
    assert state == [n]
    kept = revolve.snapshots_for(n, snapshots)
    assert len(tape.snapshots) <= kept
    (total,) = revolve.backward(tape, step_reverse, (0,))
    assert order == list(reversed(range(n))) and total == n * (n - 1) // 2
    # binomial bound: with s snapshots every step is advanced at most r + 1 times
    # (once in the forward sweep), r the least with C(s + r, s) >= n
    r = 0
    while math.comb(kept + r, kept) < n:
        r += 1
    assert advances[0] <= (r + 1) * n


def test_default_snapshots_recompute_at_most_twice():
    for n in (10, 1000, 10**6):
        s = revolve.snapshots_for(n, None)
        assert math.comb(s + 2, 2) >= n > math.comb(s + 1, 2)


# -- ast_ad.checkpoint on a helper ---------------------------------------------------------


@ast_ad.checkpoint
def expensive(x, a):
    u = np.sin(x) * a
    v = np.exp(u)
    w = u * v
    s = 0.0
    for i in range(3):
        s = s + np.sum(np.cos(w * i))
    return s


plain_expensive = expensive.__ast_ad_checkpoint__  # the same code, unmarked


def uses_checkpointed(x, a):
    y = expensive(x, a)
    return y * np.sum(x)


def uses_plain(x, a):
    y = plain_expensive(x, a)
    return y * np.sum(x)


def test_checkpointed_helper_gradient():
    x, a = np.array([0.3, -0.2, 0.9]), 0.7
    got = ast_ad.value_and_grad(uses_checkpointed, argnums=(0, 1))(x, a)
    want = ast_ad.value_and_grad(uses_plain, argnums=(0, 1))(x, a)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-14)
    for g, w, i in zip(got[1], want[1], (0, 1)):
        np.testing.assert_allclose(g, w, rtol=1e-12)
        np.testing.assert_allclose(g, numeric_gradient(uses_checkpointed, (x, a), i),
                                   rtol=1e-6, atol=1e-8)


def test_checkpointed_helper_is_called_in_forward_and_recomputed_in_backward():
    text = ast_ad.source(ast_ad.value_and_grad(uses_checkpointed, argnums=(0, 1)),
                         np.ones(3), 0.5)
    forward, backward = text.split("# backward", 1)
    assert "y = expensive(x, a)" in forward and "expensive_forward" not in forward
    assert "expensive_saved = expensive_forward(x, a)" in backward.split("\n\n")[0]
    assert expensive(np.ones(3), 0.5) == plain_expensive(np.ones(3), 0.5)
    assert expensive.__name__ == "expensive" and expensive.__ast_ad_checkpoint__ is not None


def pendulum_step(x, v, a):
    acc = -a * math.sin(x) - 0.1 * v
    return x + 0.05 * v, v + 0.05 * acc


checkpointed_step = ast_ad.checkpoint(pendulum_step)


def loop_over_checkpointed(x, v, a, n):
    for _ in range(n):
        x, v = checkpointed_step(x, v, a)
    return x * v


@pytest.mark.parametrize("schedules", [[], SCHEDULES[:2]])
def test_checkpointed_helper_in_a_loop(schedules):
    check_checkpointed(loop_over_checkpointed, (0.8, 0.1, 1.3, 9), (0, 1, 2), schedules)


def test_checkpointed_helper_forward_mode():
    primal, tangent = ast_ad.jvp(uses_checkpointed, (np.array([0.3, 0.2]), 0.7),
                                 (np.array([1.0, 0.0]), 0.0))
    expected = ast_ad.grad(uses_plain)(np.array([0.3, 0.2]), 0.7)[0]
    np.testing.assert_allclose(tangent, expected, rtol=1e-12)


# -- rejected -----------------------------------------------------------------------------


def _rejected(f, args, line_of: str, words: list, error=CheckpointError, **options):
    with pytest.raises(error) as info:
        ast_ad.grad(f, **options)(*args)
    text = str(info.value)
    for word in words:
        assert word in text, text
    source_line = info.value.location.source_line.strip()
    assert source_line.startswith(line_of), source_line
    return info.value


def while_loop(x, n):
    i = 0
    while i < n:
        x = math.sin(x)
        i += 1
    return x


def early_exit(x, n):
    for _ in range(n):
        x = math.sin(x)
        if x < 0.1:
            break
    return x


def writes_in_place(x, n):
    y = np.zeros(n)
    for i in range(n):
        y[i] = x * i
    return np.sum(y * y)


def list_state(x, n):
    out = [x]
    for i in range(n):
        out.append(out[i] * x)
    return np.sum(np.stack(out))


def draws(x, n):
    s = 0.0
    for _ in range(n):
        s = s + x * np.random.normal()
    return s


def inside_if(x, n):
    if x > 0:
        for _ in range(n):
            x = math.sin(x)
    return x


def read_after(x, n):
    t = 0.0
    for i in range(n):
        t = x * (i + 1.5)
        x = math.sin(t)
    return x + t


def test_while_loop_is_rejected():
    _rejected(while_loop, (0.3, 4), "while i < n", ["while loop", "for loop over range"],
              checkpoint="revolve")


def test_early_exit_is_rejected():
    _rejected(early_exit, (0.3, 4), "for _ in range(n)", ["stop early"], checkpoint="revolve")


def test_write_into_array_is_rejected():
    _rejected(writes_in_place, (0.3, 4), "y[i] = x * i", ["writes into an array"],
              checkpoint="revolve")


def test_list_state_is_rejected():
    error = _rejected(list_state, (0.3, 4), "out.append", ["in place"], checkpoint="revolve")
    assert "cannot checkpoint this loop" in str(error)


def test_random_is_rejected():
    _rejected(draws, (0.3, 4), "s = s + x * np.random.normal()", ["random"],
              checkpoint="revolve")


def test_loop_in_if_is_rejected():
    _rejected(inside_if, (0.3, 4), "for _ in range(n)", ["inside an if"], checkpoint="revolve")


def test_value_of_an_iteration_read_after():
    # t is carried to after the loop (a header in SSA form): part of the loop's state
    grads = check_checkpointed(read_after, (0.3, 5), (0,))
    assert grads[0] != 0.0
    for schedule in ["revolve", 2]:
        got = ast_ad.grad(read_after, checkpoint=schedule)(0.3, 5)
        np.testing.assert_allclose(got, grads[0], rtol=1e-12)


def test_bad_schedule_and_derivative_of_derivative():
    with pytest.raises(ast_ad.ADError, match="not a checkpointing schedule"):
        ast_ad.grad(pendulum, checkpoint="sqrt")
    with pytest.raises(ast_ad.ADError, match="not a checkpointing schedule"):
        ast_ad.grad(pendulum, checkpoint=0)
    with pytest.raises(ast_ad.ADError, match="innermost grad"):
        ast_ad.grad(ast_ad.grad(pendulum), checkpoint="revolve")
    with pytest.raises(ast_ad.ADError, match="pendulum_step as a value"):
        ast_ad.grad(ast_ad.grad(pendulum, checkpoint="revolve"))(0.8, 0.1, 1.3, 5)


def noisy(x, s):
    return x * np.random.normal(scale=s)


checkpointed_noisy = ast_ad.checkpoint(noisy)


def uses_noisy(x):
    return checkpointed_noisy(x, 0.1) * x


def test_checkpointed_random_helper_is_rejected():
    _rejected(uses_noisy, (0.3,), "return checkpointed_noisy(x, 0.1) * x",
              ["cannot checkpoint noisy", "random"])


def test_checkpoint_takes_functions():
    with pytest.raises(ast_ad.ADError, match="takes a Python function"):
        ast_ad.checkpoint(math.sin)


# -- CLI and the measuring tool --------------------------------------------------------------


def test_cli_shows_the_checkpointed_form(tmp_path):
    path = tmp_path / "loop.py"
    path.write_text("import math\n\n\ndef f(x: float, a: float, n: int):\n"
                    "    for _ in range(n):\n        x = math.sin(x) * a\n    return x\n")
    run = subprocess.run([sys.executable, "-m", "ast_ad.cli", "show", str(path), "--argnums",
                          "0,1", "--checkpoint", "revolve"], capture_output=True, text=True,
                         cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert "def f_step(_, x):" in run.stdout and "checkpoint_backward(" in run.stdout
    run = subprocess.run([sys.executable, "-m", "ast_ad.cli", "show", str(path),
                          "--checkpoint", "often"], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 2 and "not a checkpointing schedule" in run.stderr


def test_bench_tool_check():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import checkpoint_bench
    finally:
        sys.path.pop(0)
    checkpoint_bench.check(n=50, snapshots=3)


def appends_only(x, n):
    out = []  # first statement, where the save pass puts its own stack
    for i in range(n):
        out.append(x * i)
    return sum(out)


def test_a_users_list_first_is_not_taken_for_the_save_stack():
    # It was: the loop's appends were dropped as pushes on the save stack, and the
    # function returned sum([]) = 0.
    assert ast_ad.grad(appends_only)(1.5, 4) == 6.0
    with pytest.raises(ast_ad.CheckpointError, match="writes into an array or list"):
        ast_ad.grad(appends_only, checkpoint="revolve")(1.5, 4)


class Damped:
    def __init__(self, k):
        self.k = k  # (an attribute is read when the code runs: not known to be a float)

    def run(self, x, v, n, k):
        for _ in range(n):
            x, v = x + 0.05 * v, v - 0.05 * (k * x + 0.1 * v)
        return x * x + v * self.k


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_bound_method_and_partial(schedule):
    # checkpoint= went through _transformation twice and was rejected as not a schedule
    m = Damped(2.0)
    default = ast_ad.grad(m.run, argnums=(0, 1))(0.7, 0.2, 40, 2.0)
    np.testing.assert_allclose(ast_ad.grad(m.run, argnums=(0, 1), checkpoint=schedule)(
        0.7, 0.2, 40, 2.0), default, rtol=1e-12)
    bound = functools.partial(pendulum, a=1.5, n=30)
    np.testing.assert_allclose(ast_ad.grad(bound, argnums=(0, 1), checkpoint=schedule)(
        0.4, 0.1), ast_ad.grad(bound, argnums=(0, 1))(0.4, 0.1), rtol=1e-12)


def tuple_state(x, n):
    pair = (x, 1.0)
    for _ in range(n):
        pair = (pair[0] * pair[1], pair[1] + pair[0])
    return pair[1]


def test_tuple_state_is_named():
    _rejected(tuple_state, (0.3, 4), "for _ in range(n)", ["its state pair", "a tuple"],
              checkpoint="revolve")


class Scaled:
    def __init__(self, k):
        self.k = k

    def run(self, x, n):
        for _ in range(n):
            x = x * self.k + 0.1
        return x


def test_state_depending_on_an_attribute_is_rejected_not_guessed():
    error = _rejected(Scaled(0.9).run, (0.3, 4), "for _ in range(n)",
                      ["its state x", "not known to be a float or an array"],
                      checkpoint="revolve")
    assert "test_checkpoint.py" in str(error)
