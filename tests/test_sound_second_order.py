"""Issue 9, second order: forward mode over ast-ad's own gradient code is right, or rejected.

grad(grad(f)), hessian(f) and jvp(grad(f)) differentiate the generated gradient
code. That code pops constants off stacks that also carry tangents, calls runtime
helpers (reduced_count), and accumulates adjoints in place (`bW += c`, which the
aliases pass rightly rejects when it cannot see that the buffer is the function's
own): it is differentiated in its version compiled without in-place accumulation.
And writes into a fresh array are no change to the lists that hold earlier ones.
"""


import numpy as np
import pytest
from control_cases import loop_with_branch
from program_cases import grid, pairwise

import ast_ad
from ast_ad import cache


@pytest.fixture(autouse=True)
def fresh_caches():
    ast_ad.clear_caches()
    yield
    ast_ad.clear_caches()


def check_hvp(f, args, argnums=(0,), seed=0, eps=1e-5, rtol=1e-5, atol=1e-6):
    """jvp over ast-ad's gradient (H v) against central differences of that gradient."""
    g = ast_ad.grad(f, argnums=tuple(argnums))
    rng = np.random.default_rng(seed)
    tangents = tuple((rng.normal(size=np.shape(a)) if np.ndim(a) else float(rng.normal()))
                     if i in argnums else np.zeros_like(a) if np.ndim(a) else 0.0
                     for i, a in enumerate(args))
    _, hv = ast_ad.jvp(g, args, tangents)

    def at(sign):
        return g(*[a + sign * eps * t if i in argnums else a
                   for i, (a, t) in enumerate(zip(args, tangents))])

    expected = [(np.asarray(p) - np.asarray(m)) / (2 * eps) for p, m in zip(at(1), at(-1))]
    assert len(hv) == len(expected)
    for h, e in zip(hv, expected):
        np.testing.assert_allclose(h, e, rtol=rtol, atol=atol)


# -- a constant popped off a stack that carries tangents -----------------------------------
# The gradient code pushes the branch flags of an if/elif onto its stack; forward mode
# pushed a zero tangent for each but did not pop it back when the popped flag (a bool)
# has no tangent: the tangent stack fell out of step (TypeError: 'float' object is not
# subscriptable). (control_cases.loop_with_branch; program_cases.grid in nested loops.)


def second(f, x, *rest, eps=1e-5):
    g = ast_ad.grad(f)
    return (g(x + eps, *rest) - g(x - eps, *rest)) / (2 * eps)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7])
def test_pop_of_a_constant_pops_its_tangent(n):
    expected = second(loop_with_branch, 0.7, n)
    assert ast_ad.grad(ast_ad.grad(loop_with_branch))(0.7, n) == pytest.approx(expected, rel=1e-6)
    check_hvp(loop_with_branch, (0.7, n))



def test_pop_in_nested_loops_with_writes():
    A = np.random.default_rng(1).normal(size=(3, 4))
    check_hvp(grid, (A,))
    H = ast_ad.hessian(grid)(A)
    assert H.shape == (3, 4, 3, 4)
    np.testing.assert_allclose(H.reshape(12, 12), H.reshape(12, 12).T, atol=1e-8)


# -- runtime helpers the gradient code calls -------------------------------------------------
# The gradient of np.mean / np.var divides by reduced_count(x, axis), a runtime helper:
# second order read its source as user code (UnsupportedSyntaxError in runtime.py).

def mean_and_var(x):
    return np.mean(x ** 3) + np.var(x, axis=0).sum() + np.std(x, axis=1).sum()


def test_reduced_count_is_a_count():
    x = np.random.default_rng(2).normal(size=(3, 4)) + 2.0
    check_hvp(mean_and_var, (x,))


# -- in-place accumulation in the gradient code ----------------------------------------------
# The inplace pass makes `bU = bU + c` into `bU += c` on buffers the gradient owns; the
# aliases pass rejected that when a list also refers to bU (UnsupportedSyntaxError in
# <ast_ad:...rnn_grad>). Second order differentiates the code made without it.

def rnn(W, U, x, h0):
    h = h0
    for t in range(x.shape[0]):
        h = np.tanh(W @ h * U[:, 0] + U @ x[t])  # U[:, 0]: an accumulation batch.py leaves
    return np.sum(h ** 2)


def test_inplace_accumulation_is_not_what_gets_differentiated():
    rng = np.random.default_rng(3)
    W, U = rng.normal(size=(3, 3)) * 0.5, rng.normal(size=(3, 2)) * 0.5
    x, h0 = rng.normal(size=(4, 2)), rng.normal(size=3)
    assert "+=" in ast_ad.generated_source(rnn, W, U, x, h0, mode="grad", argnums=(0, 1))
    check_hvp(rnn, (W, U, x, h0), argnums=(0, 1))
    check_hvp(rnn, (W, U, x, h0), argnums=(1, 3))
    # the first-order code still accumulates in place, and is still right
    g = ast_ad.grad(rnn, argnums=1)(W, U, x, h0)
    eps = 1e-6
    E = np.zeros_like(U)
    E[1, 0] = 1.0
    fd = (rnn(W, U + eps * E, x, h0) - rnn(W, U - eps * E, x, h0)) / (2 * eps)
    assert g[1, 0] == pytest.approx(fd, rel=1e-5)


def conv1d(x, w):
    n, k = x.shape[0], w.shape[0]
    out = np.zeros(n - k + 1)
    for i in range(n - k + 1):
        out[i] = np.dot(x[i:i + k], w)
    return np.sum(np.tanh(out))


def test_inplace_accumulation_with_writes():
    rng = np.random.default_rng(4)
    x, w = rng.normal(size=7), rng.normal(size=3)
    check_hvp(conv1d, (x, w), argnums=(0, 1))
    H = ast_ad.hessian(conv1d, argnums=1)(x, w)
    expected = np.stack([(ast_ad.grad(conv1d, argnums=1)(x, w + 1e-5 * e)
                          - ast_ad.grad(conv1d, argnums=1)(x, w - 1e-5 * e)) / 2e-5
                         for e in np.eye(3)], axis=-1)
    np.testing.assert_allclose(H, expected, rtol=1e-5, atol=1e-6)


# -- shapes of zeros_like & co -----------------------------------------------------------------
# `bt = by[0]; by[0] = 0.0; ... bt ...` in the gradient code: by was made by
# np.full_like / np.zeros_like, whose shape the values pass did not know, so by[0] might
# have been a row (a view): rejected as a stale read.

def write_then_read_old_values(x):
    y = x * 2.0
    z = y * x
    y[0] = 3.0 * x[1]
    y[1:] += x[:-1]
    return np.sum(z * y)


def test_zeros_like_has_its_arguments_shape():
    x = np.random.default_rng(5).normal(size=4)
    check_hvp(write_then_read_old_values, (x,))


def rows_of_zeros_like(x):
    y = np.zeros_like(x)
    r = y[0]          # an element of a 1-D array: a number, not a view
    y[0] = x[0] * 2.0
    return r + np.sum(y * x)


def test_element_of_zeros_like_is_a_number():
    x = np.array([1.0, 2.0, 3.0])
    g = ast_ad.grad(rows_of_zeros_like)(x)
    np.testing.assert_allclose(g, [4.0, 0.0, 0.0])


def rows_of_2d_zeros_like(x):
    y = np.zeros_like(x)
    r = y[0]          # a row of a 2-D array: a view, changed by the write below
    y[0] = x[0] * 2.0
    return np.sum(r * x[1])


def test_row_of_zeros_like_is_still_a_view():
    with pytest.raises(ast_ad.UnsupportedSyntaxError, match="changes `r`"):
        ast_ad.grad(rows_of_2d_zeros_like)(np.ones((2, 3)))


# -- a fresh buffer per iteration, appended to a list ------------------------------------------
# The gradient of pairwise builds `bX_1 = np.zeros_like(X)` per iteration, writes into it
# and appends it to its stack. The aliases pass took the write for a change to the arrays
# the stack already held (UnsupportedSyntaxError, in user code too): those are earlier
# iterations' arrays. An array just allocated, and since only written into, indexed or used
# in arithmetic, is referred to by nothing else.


def test_pairwise_second_order():
    X = np.random.default_rng(6).normal(size=(4, 2))
    check_hvp(pairwise, (X,))


def fresh_rows(x):
    ys = []
    for i in range(3):
        b = np.zeros(3)
        b[0] = x * i
        t = b[0] * 2.0
        b[1] = t + x
        ys.append(b)
    return ys[0][1] + ys[2][0] * x + ys[1][1] * ys[2][1]


def test_write_into_a_fresh_array_then_append():
    x = 1.5
    expected = (fresh_rows(x + 1e-6) - fresh_rows(x - 1e-6)) / 2e-6
    assert ast_ad.grad(fresh_rows)(x) == pytest.approx(expected, rel=1e-6)
    assert ast_ad.grad(ast_ad.grad(fresh_rows))(x) == pytest.approx(
        second(fresh_rows, x), rel=1e-5)


def allocated_before_the_loop(x):
    ys = []
    b = np.zeros(3)
    for i in range(3):
        b[0] = x * i       # the array appended in the previous iteration
        ys.append(b)
    return ys[0][0] * x


def written_after_append(x):
    ys = []
    b = np.zeros(3)
    ys.append(b)
    b[0] = x * x
    return ys[0][0]


def appended_on_a_branch(x, c):
    ys = [np.ones(3)]
    b = np.zeros(3)
    if c:
        ys.append(b)
    b[0] = x * x
    return ys[-1][0]


def view_in_a_list(x):
    ys = []
    b = np.zeros((2, 2))
    r = b[0]
    ys.append(r)
    b[0] = x
    return np.sum(ys[0]) * x


def view_of_a_fresh_array(x):
    b = np.zeros((2, 2))
    r = b[0]
    b[0] = x
    return np.sum(r) * x


@pytest.mark.parametrize("f, args, seen", [
    (allocated_before_the_loop, (1.5,), "changes `ys`"),
    (written_after_append, (1.5,), "changes `ys`"),
    (appended_on_a_branch, (1.5, True), "changes `ys`"),
    (view_in_a_list, (1.5,), "changes `ys`"),
    (view_of_a_fresh_array, (1.5,), "changes `r`"),
])
def test_writes_other_names_see_are_still_rejected(f, args, seen):
    with pytest.raises(ast_ad.UnsupportedSyntaxError, match=seen):
        ast_ad.grad(f)(*args)


# -- nested recordings of dependencies -------------------------------------------------------

def test_nested_recordings_with_equal_contents():
    with cache.recording() as outer:
        with cache.recording() as inner:
            assert inner == outer == {}
        assert cache._THREAD.recorders[-1] is outer


# np.concatenate, np.hstack and np.vstack of a list: their adjoint cuts the cotangent
# into a list of pieces, which the gradient code wrapped in list(...); forward mode over
# that code then met list(...), which has no tangent rule (a new list may grow).


def concatenate_of_a_list(a, b):
    return np.sum(np.concatenate([a, a * b]) ** 3)


def hstack_of_a_named_list(a, b):
    parts = [a, np.sin(b), a * b]
    return np.sum(np.cumsum(np.hstack(parts)) ** 2)


def vstack_of_a_list(a, b):
    return np.sum(np.tanh(np.vstack([a, a * b, b])) ** 2)


def concatenate_of_appended_rows(x):
    parts = []
    for i in range(3):
        parts.append(np.sin(x * (i + 1)))
    c = np.concatenate(parts)
    return np.sum(c ** 2 * np.arange(c.size))


@pytest.mark.parametrize("f", [concatenate_of_a_list, hstack_of_a_named_list, vstack_of_a_list])
def test_second_order_through_joining_a_list(f):
    args = (np.array([0.7, -1.2]), np.array([0.3, 0.4]))
    check_hvp(f, args, argnums=(0, 1))
    hessian = ast_ad.hessian(f, argnums=(0, 1))(*args)
    v = (np.array([0.5, -1.0]), np.array([2.0, 0.25]))
    hv = ast_ad.hvp(f, argnums=(0, 1))(*args, v)
    for i in range(2):
        np.testing.assert_allclose(hessian[i][0] @ v[0] + hessian[i][1] @ v[1], hv[i],
                                   rtol=1e-10)


def test_second_order_through_concatenating_appended_rows():
    check_hvp(concatenate_of_appended_rows, (np.array([0.3, 0.5]),))
