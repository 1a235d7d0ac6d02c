"""The abstract-value analysis (ast_ad/values.py, passes/values.py) and the code it allows.

Each fact the analysis claims lets the compiler drop a run-time helper; a wrong
fact would be a wrong gradient. So every specialisation is checked twice: the
generated code no longer has the helper, and the gradient is still right
(central differences), also when the same function is then called with
arguments the first code was not made for.
"""

import math

import numpy as np
import pytest
from control_cases import rnn
from numeric import check_gradient, check_jvp, numeric_gradient

import ast_ad
from ast_ad import values
from ast_ad.context import Options
from ast_ad.pipeline import transform
from ast_ad.rules import linalg as linalg_rules
from ast_ad.source import get_source
from ast_ad.values import ARRAY, OTHER, SCALAR


def code_of(fn, *args, argnums):
    """The value-and-gradient code for these arguments, without its comment lines."""
    text = ast_ad.generated_source(fn, *args, mode="value_and_grad", argnums=argnums)
    return "\n".join(line for line in text.splitlines() if not line.strip().startswith("#"))


def values_of(fn, *args):
    """What the values pass infers for `fn` called with `args`."""
    arrays = tuple((a.dtype.name, a.shape) if isinstance(a, np.ndarray) else None for a in args)
    options = Options(kinds=tuple(values.kind_of_value(a) for a in args), arrays=arrays,
                      values=values.of_arguments(args, arrays))
    _, ctx = transform(get_source(fn), options, stop_after="values")
    return ctx.values


# -- the lattice -----------------------------------------------------------------------------

def test_join_keeps_what_both_sides_know():
    a = values.array(np.float64, (3, 4))
    assert values.join(None, a) == a  # "no value yet" is the bottom
    assert values.join(a, a) == a
    assert values.join(a, values.array(np.float64, (3, 5))).shape is None
    assert values.join(a, values.array(np.float32, (3, 4))).dtype is None
    assert values.join(a, values.SCALAR_VALUE) == values.UNKNOWN
    pair = values.sequence([values.SCALAR_VALUE, a], "tuple")
    assert values.join(pair, pair).items == pair.items
    assert values.join(pair, values.sequence([a, a], "tuple")).items[0] == values.UNKNOWN


def test_list_arguments_are_known_by_what_they_hold():
    assert values.of_argument([1.0, 2, True]).element == values.SCALAR_VALUE
    rows = values.of_argument([np.zeros(3), np.ones(3)])
    assert rows.element == values.array(np.float64, (3,)) and rows.items is None
    assert values.of_argument([1.0, np.zeros(2)]).element.kind == OTHER
    assert values.of_argument((1.0, np.zeros(2))).items[1].shape == (2,)
    assert values.of_argument([]).element is None


# -- what the pass infers ----------------------------------------------------------------------

def zeros_then_loop(W, x):
    h = np.zeros(4)
    for t in range(3):
        h = np.tanh(W @ h + x[t])
    return np.sum(h)


def test_a_loop_carried_array_keeps_its_shape():
    found = values_of(zeros_then_loop, np.ones((4, 4)), np.ones((3, 4)))
    assert all(v.shape == (4,) for n, v in found.items() if n.startswith("h"))


def changes_shape(x):
    y = x
    for _ in range(2):
        y = np.concatenate([y, x])
    return np.sum(y)


def test_a_loop_that_changes_a_shape_makes_it_unknown():
    found = values_of(changes_shape, np.ones(3))
    assert found["y"].kind == ARRAY and found["y"].shape is None
    check_gradient(changes_shape, np.arange(3.0))


def three(x, y):
    return x * y, x + y, np.sin(x)


def uses_three(x, y):
    a, b, c = three(x, y)
    return np.sum(a * b - c)


def test_a_helper_returning_a_tuple_is_known_item_by_item():
    found = values_of(uses_three, 1.5, np.ones(3))
    result = next(v for v in found.values() if v.items is not None)
    assert [v.kind for v in result.items] == [ARRAY, ARRAY, SCALAR]
    assert result.items[0].shape == (3,)
    check_gradient(uses_three, 1.5, np.linspace(0.1, 0.9, 3))


# -- code specialised to lists of numbers -------------------------------------------------------

def poisson(a, b, xs, ks):
    s = 0.0
    for x, k in zip(xs, ks):
        lam = math.exp(a * x + b)
        s = s + k * math.log(lam) - lam
    return -s


def test_a_loop_over_lists_of_floats_needs_no_helpers_and_no_stack():
    xs, ks = [0.1, 0.5, 0.9, 1.3], [1.0, 0.0, 3.0, 2.0]
    code = ast_ad.generated_source(poisson, 0.3, -0.2, xs, ks, mode="grad",
                                   argnums=(0, 1))
    assert "unbroadcast" not in code and "stack" not in code
    check_gradient(poisson, 0.3, -0.2, xs, ks, argnums=(0, 1))


def total(a, xs):
    s = 0.0
    for x in xs:
        s = s + np.sum(a * x)
    return s


@pytest.mark.parametrize("first, then", [
    ([1.0, 2.0, 3.0], [np.ones(3), np.arange(3.0)]),  # floats, then arrays
    ([np.ones(2)], [np.ones(3), np.ones(3)]),  # arrays of one shape, then another
    ([1.0, 2.0], [1.0, np.ones(2)]),  # then a mix
    ((1.0, 2.0), (1.0, np.ones(2))),  # tuples too
])
def test_code_for_one_list_is_not_run_for_another(first, then):
    g = ast_ad.grad(total)
    for xs in (first, then, first):
        expected = numeric_gradient(total, (2.0, xs), 0)
        assert g(2.0, xs) == pytest.approx(expected, rel=1e-6)


def test_the_same_list_changed_between_calls():
    g = ast_ad.grad(total)
    xs = [1.0, 2.0]
    assert g(2.0, xs) == pytest.approx(3.0)
    xs.append(np.ones(4))
    assert g(2.0, xs) == pytest.approx(7.0)


# -- hoisting loop invariants (passes/hoist.py) --------------------------------------------------

def invariant(x, n):
    h = 0.01
    s = x
    for _ in range(n):
        s = s + 0.5 * h * s * x + h / 6 * x
    return s


def test_invariant_arithmetic_is_computed_once_before_the_loop():
    code = code_of(invariant, 1.2, 5, argnums=0)
    forward_loop = code.split("for _ in range(n):")[1].split("# backward")[0]
    assert "0.5 * h" not in forward_loop and "h / 6" not in forward_loop
    assert code.count("0.5 * h") == 1
    check_gradient(invariant, 1.2, 5, argnums=(0,))
    check_jvp(invariant, 1.2, 5, argnums=(0,))


def test_a_loop_that_never_runs_does_not_raise_for_what_was_moved():
    # h / 0.0 would raise: a division moves only by a nonzero constant
    def divides(x, h, n):
        s = x
        for _ in range(n):
            s = s + x / h
        return s

    assert ast_ad.grad(divides)(1.0, 0.0, 0) == 1.0
    assert ast_ad.grad(divides)(1.0, 2.0, 3) == pytest.approx(2.5)


def changed_in_the_loop(x, w):
    s = 0.0
    for i in range(3):
        t = w * 2.0  # not invariant: w changes below
        s = s + np.sum(t * x)
        w[i] = 1.0
    return s


def test_arithmetic_on_an_array_the_loop_writes_into_stays():
    # Also a fuse.py regression: its backward loop, run inside the forward loop, restored
    # w[i] right after the write, so later iterations read the old w (gradient 18, 24, 30).
    w = np.array([3.0, 4.0, 5.0])
    code = ast_ad.generated_source(changed_in_the_loop, np.ones(3), w.copy(), mode="grad",
                                   argnums=0)
    assert code.index("w * 2.0") > code.index("for i in range(3):")
    x = np.array([0.5, 1.5, 2.5])
    expected = numeric_gradient(lambda x: changed_in_the_loop(x, w.copy()), (x,), 0)
    np.testing.assert_allclose(ast_ad.grad(changed_in_the_loop)(x, w.copy()), expected,
                               rtol=1e-6)


def nested(x, n):
    s = 0.0
    for i in range(n):
        for j in range(n):
            s = s + x * x * 0.5 + i * j * x
    return s


def test_invariants_of_nested_loops_move_out_of_both():
    code = code_of(nested, 0.7, 3, argnums=0)
    assert code.index("x * x") < code.index("for i in range(n):")
    check_gradient(nested, 0.7, 3, argnums=(0,))
    check_gradient(nested, 0.7, 0, argnums=(0,))


# -- the adjoint of a tuple of numbers -----------------------------------------------------------

def shared_with_dead_code(x, y, n):
    s = y
    for _ in range(n):
        unused = (x * 4.0) * s  # noqa: F841 - x * 4.0 here feeds only dead code: inactive
        for _ in range(n):
            s = math.sin(s + x * 4.0)  # hoisted out of both loops, merged with the first
    return s


def test_merged_invariants_keep_the_derivative_of_either():
    # found by tools/fuzz_codegen.py (seed 23): the merged name was the inactive one, and
    # the inner loop's x * 4.0 lost its adjoint and tangent (d/dx came back 0.0)
    for args in [(0.3, 0.7, 3), (-0.45, 0.9, 2)]:
        check_gradient(shared_with_dead_code, *args)
        check_jvp(shared_with_dead_code, *args)
    assert ast_ad.grad(shared_with_dead_code)(0.3, 0.7, 3) != 0.0


def swap_in_a_nested_loop(x, n):
    v = x * 3.0
    for _ in range(n):
        y = x * 2.0  # invariant arithmetic, but the inner loop's header shares its name
        for _ in range(n):
            y, v = v, y
    return math.sin(y) + 2.0 * math.sin(v)


def test_a_name_a_nested_loop_stores_again_is_not_moved():
    # found by tools/fuzz_codegen.py (seed 23): ssa let the inner loop reuse the name of
    # `y = x * 2.0`, hoist moved that out of the outer loop, and from the second outer
    # iteration on y kept the inner loop's last value: value, jvp and grad were all wrong
    for args in [(0.3, 2), (0.3, 3), (0.7, 1)]:
        assert ast_ad.value_and_grad(swap_in_a_nested_loop)(*args)[0] == \
            swap_in_a_nested_loop(*args)
        check_gradient(swap_in_a_nested_loop, *args)
        check_jvp(swap_in_a_nested_loop, *args)


def polar(r, theta):
    return r * math.cos(theta), r * math.sin(theta)


def through_polar(r, theta):
    a, b = polar(r, theta)
    c, d = polar(a + b, b)
    return c * d + a


def test_the_adjoint_of_a_helpers_tuple_is_one_display():
    code = ast_ad.generated_source(through_polar, 1.3, 0.4, mode="grad", argnums=(0, 1))
    assert "zeros_like" not in code and "] +=" not in code
    check_gradient(through_polar, 1.3, 0.4)


# -- batched accumulation of per-step products (passes/batch.py) --------------------------------

def batched_rnn(W, U, X, H0):
    H = H0
    for t in range(X.shape[0]):
        H = np.tanh(H @ W + X[t] @ U)
    return np.sum(H ** 2)


def rnn_args(steps, batch=None):
    rng = np.random.default_rng(4)
    W, U = rng.normal(size=(3, 3)) * 0.5, rng.normal(size=(2, 3)) * 0.5
    if batch is None:
        return W, U.T, rng.normal(size=(steps, 2)), rng.normal(size=3)
    return W, U, rng.normal(size=(steps, batch, 2)), rng.normal(size=(batch, 3))


@pytest.mark.parametrize("fn, batch", [(rnn, None), (batched_rnn, 4)])
def test_per_step_products_become_one_product_after_the_loop(fn, batch):
    args = rnn_args(5, batch)
    code = ast_ad.generated_source(fn, *args, mode="grad", argnums=(0, 1))
    assert "np.outer" not in code and "_rows.T @" in code
    check_gradient(fn, *args, argnums=(0, 1, 3))
    check_jvp(fn, *args, argnums=(0, 1))


@pytest.mark.parametrize("fn, batch", [(rnn, None), (batched_rnn, 4)])
def test_a_loop_of_no_steps_gives_zero_products(fn, batch):
    args = rnn_args(0, batch)
    gW, gU = ast_ad.grad(fn, argnums=(0, 1))(*args)
    assert gW.shape == args[0].shape and not gW.any() and gU.shape == args[1].shape


def reused_factor(W, x, h0):
    h = h0
    for t in range(x.shape[0]):
        g = np.tanh(W @ h + x[t])
        h = g * h
    return np.sum(h)


def test_a_factor_the_loop_changes_afterwards_is_not_kept():
    def changes_factor(W, x):
        total = 0.0
        for t in range(x.shape[0]):
            v = x[t] * 1.0
            y = W @ v
            v = v * 2.0  # a new v: the kept row must be the one multiplied
            total = total + np.sum(y * y) + np.sum(v)
        return total

    rng = np.random.default_rng(5)
    W, x = rng.normal(size=(3, 3)), rng.normal(size=(4, 3))
    check_gradient(changes_factor, W, x, argnums=(0, 1))
    check_gradient(reused_factor, W, x, rng.normal(size=3), argnums=(0, 1, 2))


def writes_then_multiplies(W, x):
    h = np.zeros(3)
    for t in range(x.shape[0]):
        v = x[t] * 1.0
        u = np.sum(v * v)  # reads v before the write: the backward loop restores v[0]
        v[0] = h[1]
        h = np.tanh(W @ v) * u  # a row of v kept for bW would see the restore
    return np.sum(h * h)


def test_products_of_arrays_the_backward_loop_restores_stay_per_step():
    rng = np.random.default_rng(6)
    W, x = rng.normal(size=(3, 3)), rng.normal(size=(4, 3))
    check_gradient(writes_then_multiplies, W, x, argnums=(0, 1))


def eye_of_a_dimension(X, noise):
    n = X.shape[0]
    K = X @ X.T + noise * np.eye(n)
    idx = np.arange(len(X))
    return np.sum(K[idx, idx] * K[0])


def test_ints_from_shapes_give_static_shapes():
    found = values_of(eye_of_a_dimension, np.ones((4, 2)), 0.5)
    assert found["n"].const == 4 and found["K"].shape == (4, 4) and found["idx"].shape == (4,)
    code = ast_ad.generated_source(eye_of_a_dimension, np.ones((4, 2)), 0.5, mode="grad",
                                   argnums=(0, 1))
    assert "unbroadcast" not in code
    X = np.random.default_rng(7).normal(size=(4, 2))
    check_gradient(eye_of_a_dimension, X, 0.5)
    check_gradient(eye_of_a_dimension, X[:3], 0.5)  # another shape: other code


def test_dtypes_follow_numpy():
    def f(i, x):
        a = i / 2  # ints divided: float64
        b = np.sqrt(i)  # float64
        c = i + 1  # stays int64
        d = x * 2.0  # float32 stays float32
        e = np.mean(i)  # a float, not the ints' dtype
        return a, b, c, d, e

    found = values_of(f, np.arange(3), np.ones(3, np.float32))
    expected = {"a": f(np.arange(3), np.ones(3, np.float32))[0]}
    assert found["a"].dtype == expected["a"].dtype == np.float64
    assert found["b"].dtype == np.float64 and found["c"].dtype == np.int64
    assert found["d"].dtype == np.float32 and found["e"].dtype is None


# -- triangular matrices: the solve adjoint uses triangular solves -----------------------------

def through_cholesky(A, y, B):
    L = np.linalg.cholesky(A @ A.T + 3.0 * np.eye(3))
    x = np.linalg.solve(L.T, np.linalg.solve(L, y))
    X = np.linalg.solve(np.triu(A) + 4.0 * np.eye(3), B)  # triu(A) + 4I: not triangular-known
    Z = np.linalg.solve(np.tril(A).T, B)  # upper
    return np.sum(x * y) + np.sum(X * B) + np.sum(Z * Z)


def written_after(A, y):
    L = np.linalg.cholesky(A @ A.T + 3.0 * np.eye(3))
    L[0, 2] = A[1, 1]  # no longer triangular: the general solve must be used
    return np.sum(np.linalg.solve(L, y) ** 2)


@pytest.mark.skipif(linalg_rules.scipy_linalg is None, reason="needs SciPy")
def test_solves_with_a_cholesky_factor_are_triangular():
    rng = np.random.default_rng(8)
    A, y, B = rng.normal(size=(3, 3)), rng.normal(size=3), rng.normal(size=(3, 2))
    found = values_of(through_cholesky, A, y, B)
    assert found["L"].triangle == "lower"
    code = ast_ad.generated_source(through_cholesky, A, y, B, mode="grad", argnums=(0, 1, 2))
    assert code.count("solve_triangular(") >= 4 and "lower=False" in code
    check_gradient(through_cholesky, A, y, B)
    check_jvp(through_cholesky, A, y, B)


def test_a_factor_written_into_is_not_known_triangular():
    rng = np.random.default_rng(9)
    A, y = rng.normal(size=(3, 3)), rng.normal(size=3)
    assert values_of(written_after, A, y)["L"].triangle is None
    check_gradient(written_after, A, y)


def test_the_numpy_only_templates_without_scipy(monkeypatch):
    """The Cholesky and solve adjoints SciPy's triangular solves replace where it is
    installed (as in CI) are what runs without it: checked here by hiding them."""
    from ast_ad.rules import registry

    for primal in (np.linalg.cholesky, np.linalg.solve):
        rule = registry.lookup(primal)
        plain = [t for t in rule.adjoints if "solve_triangular" not in _source_of(t)]
        monkeypatch.setattr(rule, "adjoints", plain)
    ast_ad.clear_caches()
    try:
        rng = np.random.default_rng(10)
        A, y, B = rng.normal(size=(3, 3)), rng.normal(size=3), rng.normal(size=(3, 2))
        code = ast_ad.generated_source(through_cholesky, A, y, B, mode="grad",
                                       argnums=(0, 1, 2))
        assert "solve_triangular" not in code
        check_gradient(through_cholesky, A, y, B)
    finally:
        ast_ad.clear_caches()


def _source_of(template) -> str:
    import inspect

    return inspect.getsource(template.fn)
