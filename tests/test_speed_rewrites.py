"""Adjoints factored as a person writes them (passes/factor.py), and a backward loop's
per-step factors computed for all steps at once (passes/rows.py).

Each function is checked against central differences (reverse mode, forward mode where it
applies); the generated code must show the rewrite where it is sound, and must not where a
value involved changes (written into, stored in a loop or branch, a loop not over
range(n)).
"""

import numpy as np
import pytest
from numeric import check_gradient, check_jvp, numeric_gradient

import ast_ad


def _source(f, *args, argnums=0):
    return ast_ad.source(ast_ad.value_and_grad(f, argnums=argnums), *args)


def _code(text: str) -> str:
    """The generated statements, without the comments quoting the source lines."""
    return "\n".join(line for line in text.splitlines() if not line.strip().startswith("#"))


def _backward(text: str) -> str:
    """The backward statements, without the comments quoting the source lines."""
    return "\n".join(line for line in text.split("# backward", 1)[1].splitlines()
                     if not line.strip().startswith("#"))


# -- passes/factor.py -----------------------------------------------------------------


def attention(Q, K, V, C):
    S = Q @ K.T / np.sqrt(Q.shape[1])
    E = np.exp(S - np.max(S, axis=1, keepdims=True))
    P = E / np.sum(E, axis=1, keepdims=True)
    return np.sum(P @ V * C)


def attention_tanh(Q, K, V):
    S = Q @ K.T
    E = np.exp(S - np.max(S, axis=1, keepdims=True))
    P = E / np.sum(E, axis=1, keepdims=True)
    return np.sum(np.tanh(P @ V))


def normalised_rows(x, w):
    s = np.sum(x * x, axis=1, keepdims=True)
    return np.sum(np.sin(x / s) * w)


def normalised_columns(x, w):
    c = np.sum(x, axis=0, keepdims=True)
    return np.sum(x / c * w)


def attention_written(Q, K, V):
    # P changes after it is computed: `x / t * E` must not become `x * P`
    S = Q @ K.T
    E = np.exp(S - np.max(S, axis=1, keepdims=True))
    P = E / np.sum(E, axis=1, keepdims=True)
    P[:, 0] = 0.5
    return np.sum(np.tanh(P @ V))


def attention_in_branch(Q, K, V, flag):
    S = Q @ K.T
    E = np.exp(S - np.max(S, axis=1, keepdims=True))
    P = E / np.sum(E, axis=1, keepdims=True)
    if flag:
        P = P * 2.0
    return np.sum(np.tanh(P @ V))


def divided_by_columns(x, w):
    d = np.sum(x * x, axis=0, keepdims=True) + 1.0
    q = x / d
    return np.sum(np.log(np.sum(np.exp(q * w), axis=1, keepdims=True)))


def log_softmax_loss(x, w):
    # the quotient t2 / t3 is never computed as a name: nothing to reuse
    s = x - np.max(x, axis=1, keepdims=True)
    return np.sum(w * (s - np.log(np.sum(np.exp(s), axis=1, keepdims=True))))


def _matrices(seed, count, shape=(5, 3)):
    rng = np.random.default_rng(seed)
    return tuple(rng.normal(size=shape) for _ in range(count))


def test_attention_adjoint_is_the_hand_written_one():
    Q, K, V, C = _matrices(0, 4)
    check_gradient(attention, Q, K, V, C, argnums=(0, 1, 2))
    check_jvp(attention, Q, K, V, C, argnums=(0, 1, 2))
    backward = _backward(_source(attention, Q, K, V, C, argnums=(0, 1, 2)))
    # one division by the row sums fewer, and P = E / t8 reused: dS = (dP - rowsum(dP P)) P
    assert "(bP - np.sum(bP * P, axis=1, keepdims=True)) * P / t5" in backward
    assert "/ t8" not in backward and "bE" not in backward


def test_attention_hessian():
    Q, K, V = _matrices(1, 3, (3, 2))
    f = attention_tanh
    assert "* P" in _backward(_source(f, Q, K, V))
    hessian = ast_ad.hessian(f)(Q, K, V).reshape(Q.size, Q.size)
    gradient = ast_ad.grad(f)
    numeric = np.stack([numeric_gradient(lambda Q, k: gradient(Q, K, V).ravel()[k], [Q, k], 0)
                        .ravel() for k in range(Q.size)])
    np.testing.assert_allclose(hessian, numeric, atol=1e-6)


def test_a_factor_constant_along_the_sum_leaves_it():
    x, w = _matrices(2, 2)
    check_gradient(normalised_rows, x, w)
    check_jvp(normalised_rows, x, w)
    assert "np.sum(bt2 * t2, axis=1, keepdims=True) / s" in _source(normalised_rows, x, w) \
        or "np.sum(bq * q, axis=1, keepdims=True) / s" in _source(normalised_rows, x, w)


def test_a_common_divisor_divides_once():
    x, w = _matrices(3, 2)
    x = x + 3.0  # column sums away from zero
    check_gradient(normalised_columns, x, w)
    check_jvp(normalised_columns, x, w)
    backward = _backward(_source(normalised_columns, x, w))
    assert backward.count("/ c") == 1 and "np.sum(" in backward


def test_no_reuse_of_a_quotient_written_into():
    Q, K, V = _matrices(4, 3)
    check_gradient(attention_written, Q, K, V)
    backward = _backward(_source(attention_written, Q, K, V))
    # (not `* P`: P holds other values when the backward runs)
    assert "bE * E" in backward and "* P /" not in backward


def test_a_quotient_rebound_in_a_branch():
    Q, K, V = _matrices(5, 3)
    for flag in (True, False):
        check_gradient(attention_in_branch, Q, K, V, flag, argnums=(0, 1, 2))
    # bP is accumulated in both branches: not one value, its use is not moved
    assert "bt3 = bE * E" in _backward(_source(attention_in_branch, Q, K, V, True,
                                               argnums=(0, 1, 2)))


def test_a_divisor_leaves_the_sum_over_its_own_axis():
    x, w = _matrices(6, 2)
    check_gradient(divided_by_columns, x, w)
    check_jvp(divided_by_columns, x, w)
    backward = _backward(_source(divided_by_columns, x, w))
    assert "np.sum(bq * q, axis=0, keepdims=True) / d" in backward


def test_no_quotient_to_reuse():
    x, w = _matrices(7, 2)
    check_gradient(log_softmax_loss, x, w)
    backward = _backward(_source(log_softmax_loss, x, w))
    assert "/ t3 * t2" in backward  # as before: t2 / t3 is not a name


def test_integer_factors_are_left_alone():
    def scaled(x, k):
        s = np.sum(x, axis=1, keepdims=True)
        return np.sum(np.sin(x / s) * k)

    x, = _matrices(7, 1)
    x = x + 3.0
    k = np.arange(15).reshape(5, 3)
    check_gradient(scaled, x, k, argnums=(0,))
    check_jvp(scaled, x, k, argnums=(0,))


# -- passes/rows.py -------------------------------------------------------------------


def rnn(W, U, x, h0):
    h = h0
    for t in range(x.shape[0]):
        h = np.tanh(W @ h + U @ x[t])
    return np.sum(h ** 2)


def rnn_prefix(W, U, x, h0, n):
    h = h0
    for t in range(n):
        h = np.tanh(W @ h + U @ x[t])
    return np.sum(h ** 2)


def rnn_written_input(W, U, x, h0):
    xs = x * 1.0
    xs[0] = 2.0 * xs[1]
    h = h0
    for t in range(x.shape[0]):
        h = np.tanh(W @ h + U @ xs[t])
    return np.sum(h ** 2)


def rnn_from_one(W, U, x, h0):
    h = h0
    for t in range(1, x.shape[0]):
        h = np.tanh(W @ h + U @ x[t])
    return np.sum(h ** 2)


def rnn_exp_factor(W, x):
    h = np.zeros(W.shape[0])
    for t in range(x.shape[0]):
        h = np.exp(-(W @ h) * 0.5) * x[t]
    return np.sum(h)


def _rnn_args(seed=8):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(4, 4)) * 0.5, rng.normal(size=(4, 3)) * 0.5,
            rng.normal(size=(6, 3)), rng.normal(size=4))


def test_rnn_step_factors_and_input_rows():
    args = _rnn_args()
    check_gradient(rnn, *args, argnums=(0, 1, 2, 3))
    check_jvp(rnn, *args, argnums=(0, 1, 2, 3))
    text = _source(rnn, *args, argnums=(0, 1))
    assert "step_factors = 1.0 - h_2_rows * h_2_rows" in text
    assert "bt6 = bh * step_factors[t]" in text
    assert "t4_rows = x[::-1]" in text and "t4_list" not in text
    assert "stack.append(h)" in text  # only the previous state is still pushed


def test_rnn_over_a_prefix_of_the_input():
    args = _rnn_args(9)
    for n in (0, 1, 4):
        check_gradient(rnn_prefix, *args, n, argnums=(0, 1, 2, 3))
    assert "x[:n][::-1]" in _source(rnn_prefix, *args, 4, argnums=(0, 1, 2))


def test_rnn_vjp_hessian_and_checkpoint():
    W, U, x, h0 = _rnn_args(10)
    value, pullback = ast_ad.vjp(rnn, W, U, x, h0)
    expected = ast_ad.grad(rnn, argnums=(0, 1, 2, 3))(W, U, x, h0)
    for got, want in zip(pullback(1.0), expected):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    for k in range(4):
        np.testing.assert_allclose(expected[k], numeric_gradient(rnn, [W, U, x, h0], k),
                                   rtol=1e-5, atol=1e-7)
    hessian = ast_ad.hessian(rnn)(W, U, x, h0).reshape(W.size, W.size)
    gradient = ast_ad.grad(rnn)
    numeric = np.stack([numeric_gradient(lambda W, k: gradient(W, U, x, h0).ravel()[k],
                                         [W, k], 0).ravel() for k in range(W.size)])
    np.testing.assert_allclose(hessian, numeric, atol=1e-5)
    checkpointed = ast_ad.grad(rnn, argnums=(0, 1), checkpoint=2)(W, U, x, h0)
    for got, want in zip(checkpointed, expected[:2]):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_other_element_wise_factors():
    rng = np.random.default_rng(11)
    W, x = rng.normal(size=(3, 3)) * 0.3, rng.normal(size=(5, 3))
    check_gradient(rnn_exp_factor, W, x)
    check_jvp(rnn_exp_factor, W, x)


def test_rows_of_an_array_written_into_are_kept():
    args = _rnn_args(12)
    check_gradient(rnn_written_input, *args, argnums=(0, 1, 2, 3))
    text = _source(rnn_written_input, *args, argnums=(0, 1, 2))
    assert "np.reshape(t6_list" in text and "xs[::-1]" not in text


def test_a_loop_not_over_range_n_is_left_alone():
    args = _rnn_args(13)
    check_gradient(rnn_from_one, *args, argnums=(0, 1, 2, 3))
    text = _source(rnn_from_one, *args, argnums=(0, 1, 2))
    assert "step_factors" not in text and "x[::-1]" not in text


@pytest.mark.parametrize("n", [0, 1, 3])
def test_short_loops(n):
    W, U, x, h0 = _rnn_args(14)
    check_gradient(rnn, W, U, x[:n], h0, argnums=(0, 1, 3))


def test_a_product_by_one_returned_stays_a_new_array():
    def weighted(x, c):
        return np.sum(x * c)

    x, c = _matrices(15, 2)
    check_gradient(weighted, x, c)
    gradient = ast_ad.grad(weighted)(x, c)
    assert not np.shares_memory(gradient, c)
    assert "bx = 1.0 * c" in _source(weighted, x, c)


def rnn_break(W, U, x, h0):
    h = h0
    for t in range(x.shape[0]):
        h = np.tanh(W @ h + U @ x[t])
        if np.sum(h) > 1.5:
            break
    return np.sum(h ** 2)


def rnn_continue(W, U, x, h0):
    h = h0
    for t in range(x.shape[0]):
        if t == 2:
            continue
        h = np.tanh(W @ h + U @ x[t])
    return np.sum(h ** 2)


@pytest.mark.parametrize("f", [rnn_break, rnn_continue])
def test_loops_with_exits(f):
    W, U, x, h0 = _rnn_args(16)
    for scale in (0.1, 3.0):  # (the break taken or not)
        check_gradient(f, W, U * scale, x, h0, argnums=(0, 1, 2, 3))


# -- passes/buffers.py ----------------------------------------------------------------


def cross_entropy(X, y):
    n = X.shape[0]
    s = X - np.max(X, axis=1, keepdims=True)
    e = np.exp(s)
    logp = s - np.log(np.sum(e, axis=1, keepdims=True))
    return -np.mean(logp[np.arange(n), y])


def cross_entropy_viewed(X, y):
    # u is a view of e, read after the adjoint that reads e last: e's buffer is not free
    n = X.shape[0]
    s = X - np.max(X, axis=1, keepdims=True)
    e = np.exp(s)
    u = e.T
    logp = s - np.log(np.sum(e, axis=1, keepdims=True))
    return -np.mean(logp[np.arange(n), y]) + np.sum(u[0] * 1e-3)


def _labels(seed, n=700, classes=100):  # 70,000 entries: a large array
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, classes)) * 2.0, rng.integers(0, classes, size=n)


def _softmax_minus_onehot(X, y):
    e = np.exp(X - X.max(axis=1, keepdims=True))
    g = e / e.sum(axis=1, keepdims=True)
    g[np.arange(len(y)), y] -= 1.0
    return g / len(y)


def test_a_large_temporary_read_last_is_scaled_in_place():
    X, y = _labels(20)
    text = _source(cross_entropy, X, y)
    assert "e *= -bt6[:, None] / t3" in text and "bs = e" in text
    value, gradient = ast_ad.value_and_grad(cross_entropy)(X, y)
    np.testing.assert_allclose(gradient, _softmax_minus_onehot(X, y), rtol=1e-12, atol=1e-17)
    # again: the forward makes a new e on every call
    np.testing.assert_allclose(ast_ad.grad(cross_entropy)(X, y), gradient, rtol=0, atol=0)
    check_jvp(cross_entropy, X[:5, :4], y[:5] % 4, argnums=(0,))


def test_vjp_pullback_runs_twice_on_the_same_forward_values():
    X, y = _labels(21)
    value, pullback = ast_ad.vjp(cross_entropy, X, y)
    first, = pullback(1.0)[:1]
    second, = pullback(2.0)[:1]
    np.testing.assert_allclose(first, _softmax_minus_onehot(X, y), rtol=1e-12, atol=1e-17)
    np.testing.assert_allclose(second, 2.0 * first, rtol=1e-13, atol=1e-17)


def test_a_viewed_temporary_keeps_its_buffer():
    X, y = _labels(22)
    lines = [line.strip() for line in _source(cross_entropy_viewed, X, y).splitlines()]
    assert not any(line.startswith("e *=") for line in lines)
    g = ast_ad.grad(cross_entropy_viewed)(X, y)
    small_X, small_y = X[:4, :3], y[:4] % 3
    check_gradient(cross_entropy_viewed, small_X, small_y, argnums=(0,))
    expected = _softmax_minus_onehot(X, y)
    e = np.exp(X - X.max(axis=1, keepdims=True))
    expected[:, 0] += 1e-3 * e[:, 0]  # d/dX of sum(e[:, 0]) * 1e-3 (the max shift cancels
    expected -= 1e-3 * e[:, [0]] * (X == X.max(axis=1, keepdims=True))  # except through m)
    np.testing.assert_allclose(g, expected, rtol=1e-9, atol=1e-15)


def test_small_arrays_keep_the_plain_statement():
    X, y = _labels(23, n=6, classes=4)
    check_gradient(cross_entropy, X, y, argnums=(0,))
    assert "*=" not in _source(cross_entropy, X, y)


# -- passes/expand.py -----------------------------------------------------------------

scipy_special = pytest.importorskip("scipy.special")


def scipy_cross_entropy(X, y):
    n = X.shape[0]
    return -np.mean(scipy_special.log_softmax(X, axis=1)[np.arange(n), y])


def scipy_axis_0(X, w):
    return np.sum(scipy_special.log_softmax(X, axis=0) * w)


def scipy_axis_1(X, w):
    return np.sum(scipy_special.log_softmax(X, 1) * w)


def scipy_axis_last(X, w):
    return np.sum(scipy_special.log_softmax(X, axis=-1) * w)


def scipy_axes(X, w):
    return np.sum(scipy_special.log_softmax(X, axis=(0, 1)) * w)


def scipy_axis_none(X, w):
    return np.sum(scipy_special.log_softmax(X, axis=None) * w)


def scipy_default_axis(X, w):
    return np.sum(scipy_special.log_softmax(X) * w)


def scipy_axis_argument(X, w, k):
    return np.sum(scipy_special.log_softmax(X, k) * w)


def test_log_softmax_spelled_out_shares_its_exponentials():
    X, y = _labels(30, n=6, classes=4)
    check_gradient(scipy_cross_entropy, X, y, argnums=(0,))
    check_jvp(scipy_cross_entropy, X, y, argnums=(0,))
    text = _source(scipy_cross_entropy, X, y)
    assert "log_softmax(" not in _code(text)
    assert text.count("np.exp(") == 1 and "extremum_weights" not in text
    assert "t2_shifted[t3, y] - t2_log[t3, 0]" in text  # picked before computing
    X, y = _labels(31)
    np.testing.assert_allclose(ast_ad.grad(scipy_cross_entropy)(X, y),
                               _softmax_minus_onehot(X, y), rtol=1e-12, atol=1e-17)
    hessian = ast_ad.hessian(scipy_cross_entropy)(X[:3, :3], y[:3] % 3).reshape(9, 9)
    gradient = ast_ad.grad(scipy_cross_entropy)
    numeric = np.stack([numeric_gradient(lambda Z, k: gradient(Z, y[:3] % 3).ravel()[k],
                                         [X[:3, :3], k], 0).ravel() for k in range(9)])
    np.testing.assert_allclose(hessian, numeric, atol=1e-6)


@pytest.mark.parametrize("f", [scipy_axis_0, scipy_axis_1, scipy_axis_last, scipy_axes,
                               scipy_axis_none])
def test_log_softmax_axes(f):
    rng = np.random.default_rng(32)
    X, w = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    check_gradient(f, X, w, argnums=(0, 1))
    check_jvp(f, X, w, argnums=(0, 1))
    value = ast_ad.value_and_grad(f)(X, w)[0]
    assert value == f(X, w)  # SciPy's operations, in its order
    # (a tuple of axes is a name in the ANF code: SciPy's function is called, with its rule)
    assert ("log_softmax(" in _code(_source(f, X, w))) == (f is scipy_axes)


def test_log_softmax_default_axis_and_infinities():
    X = np.array([[1.0, np.inf, 2.0], [-np.inf, -np.inf, -np.inf], [0.5, -np.inf, 3.0]])
    w = np.ones((3, 3))
    with np.errstate(invalid="ignore"):  # (inf - inf in SciPy's own last subtraction)
        expected = scipy_special.log_softmax(X)
        by_rows = np.sum(scipy_special.log_softmax(X, axis=1)[:, 0])
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no divide warning from np.log(0)
        rows = ast_ad.value_and_grad(lambda X: np.sum(scipy_special.log_softmax(X, axis=1)[:, 0]))
        with np.errstate(invalid="ignore"):
            value = rows(X)[0]
    np.testing.assert_array_equal(value, by_rows)
    with np.errstate(invalid="ignore"):
        value = ast_ad.value_and_grad(scipy_default_axis)(X, w)[0]
    np.testing.assert_array_equal(value, np.sum(expected * w))
    finite = np.random.default_rng(33).normal(size=(3, 3))
    check_gradient(scipy_default_axis, finite, w)
    assert "log_softmax(" not in _code(_source(scipy_default_axis, finite, w))


def test_log_softmax_with_an_axis_computed_keeps_the_rule():
    rng = np.random.default_rng(34)
    X, w = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    check_gradient(scipy_axis_argument, X, w, 1, argnums=(0, 1))
    assert "log_softmax(X, k)" in _source(scipy_axis_argument, X, w, 1)
