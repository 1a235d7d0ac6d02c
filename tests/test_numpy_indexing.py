"""Indexing reads and writes that a table row cannot express: exact gradients of repeated
indices and masks, item writes (ints, slices, masks, integer arrays), loops of writes."""

import numpy as np
import pytest
from numeric import check_gradient, numeric_gradient

import ast_ad

RNG = np.random.default_rng(7)


def normal(*shape):
    return RNG.normal(size=shape)


# -- reads: repeated indices accumulate, masks pick ---------------------------------


def test_repeated_integer_indices_accumulate():
    def f(x):
        return np.sum(x[np.array([0, 0, 2, 0])])

    np.testing.assert_array_equal(ast_ad.grad(f)(np.ones(3)), [3.0, 0.0, 1.0])


def test_repeated_indices_of_a_list_and_of_two_arrays_accumulate():
    def f(x):
        return np.sum(x[[1, 1]]) + np.sum(x[np.array([0, 0]), np.array([1, 1])])

    np.testing.assert_array_equal(ast_ad.grad(f)(np.ones((2, 2))), [[0.0, 2.0], [2.0, 2.0]])


def test_np_take_repeated_indices_accumulate():
    def f(x):
        return np.sum(np.take(x, np.array([[1, 1], [1, 0]]), axis=0) * 2.0)

    np.testing.assert_array_equal(ast_ad.grad(f)(np.ones((2, 2))), [[2.0, 2.0], [6.0, 6.0]])


def test_take_along_axis_repeated_indices_accumulate():
    def f(x):
        return np.sum(np.take_along_axis(x, np.array([[0, 0, 0]]), axis=1))

    np.testing.assert_array_equal(ast_ad.grad(f)(np.ones((1, 2))), [[3.0, 0.0]])


def test_boolean_mask_gradient_is_zero_where_not_selected():
    def f(x):
        return np.sum(x[x > 0] ** 2)

    x = np.array([-1.0, 2.0, -3.0, 0.5])
    np.testing.assert_array_equal(ast_ad.grad(f)(x), [0.0, 4.0, 0.0, 1.0])


def test_mask_of_rows():
    def f(x, keep):
        return np.sum(x[keep, 1:] * 3.0)

    g = ast_ad.grad(f)(np.ones((3, 3)), np.array([True, False, True]))
    np.testing.assert_array_equal(g, [[0, 3, 3], [0, 0, 0], [0, 3, 3]])


def test_negative_steps_and_newaxis():
    def f(x):
        return np.sum(x[::-2, None, ...] * np.arange(6.0).reshape(2, 1, 3))

    check_gradient(f, normal(4, 3))


# -- writes -----------------------------------------------------------------


def test_write_an_int_index():
    def f(x, v):
        y = x * 1.0
        y[1] = v * v
        return np.sum(y * np.arange(1.0, 4.0))

    gx, gv = ast_ad.grad(f, argnums=(0, 1))(np.ones(3), 3.0)
    np.testing.assert_array_equal(gx, [1.0, 0.0, 3.0])  # x[1] was overwritten
    assert gv == 2 * 3.0 * 2.0
    check_gradient(f, normal(3), 1.5)


def test_write_a_slice_with_augmented_assignment():
    def f(x, v):
        y = np.zeros((3, 2))
        y[1:3, 0] += v
        y[:, 1] = x
        y[0, :] += x[:2] * v
        return np.sum(y ** 2)

    check_gradient(f, normal(3), normal(2))


def test_write_a_row_of_a_matrix():
    def f(x, v):
        y = x * 2.0
        y[1] = v
        y[-1, ::-1] = v * 3.0
        return np.sum(np.sin(y))

    check_gradient(f, normal(3, 2), normal(2))


def test_write_with_ellipsis():
    def f(x, v):
        y = np.ones((2, 3, 2))
        y[..., 0] = x
        y[0, ..., 1] = v
        return np.sum(y ** 3)

    check_gradient(f, normal(2, 3), normal(3))


def test_write_a_boolean_mask_with_a_constant():
    def relu(x):
        y = x * 1.0
        y[y < 0] = 0.0
        return np.sum(y * y)

    x = np.array([-1.0, 2.0, -0.5, 3.0])
    np.testing.assert_array_equal(ast_ad.grad(relu)(x), [0.0, 4.0, 0.0, 6.0])
    check_gradient(relu, normal(5))


def test_write_a_boolean_mask_with_values():
    def f(x, v):
        y = x * 1.0
        y[x > 0] = v
        return np.sum(y ** 2)

    x = np.array([-1.0, 2.0, -0.5, 3.0])
    check_gradient(f, x, np.array([0.3, -0.7]))


def test_write_an_integer_array_index():
    def f(x, v):
        y = x * 1.0
        y[np.array([2, 0])] = v
        return np.sum(y ** 2 * np.arange(1.0, 5.0))

    check_gradient(f, normal(4), normal(2))


def test_writes_in_a_loop():
    def f(x):
        y = np.zeros(4)
        for i in range(1, 4):
            y[i] = y[i - 1] * x[i] + x[i - 1]
        return np.sum(y ** 2)

    check_gradient(f, normal(4))


def test_write_into_a_copy_of_an_argument():
    def f(x):
        y = x.copy()
        y[0] = y[1] ** 2
        return np.sum(y ** 2)

    x = normal(3)
    before = x.copy()
    check_gradient(f, x)
    np.testing.assert_array_equal(x, before)


def test_constructors_as_constants():
    def f(x):
        a = np.zeros(3) + np.ones(3) * x[0] + np.full(3, 2.0) * x[1]
        b = np.eye(3) @ a + np.arange(3.0) * np.linspace(0.0, 1.0, 3) * x[2]
        c = np.zeros_like(a) + np.ones_like(a) * b + np.empty(3) * 0.0
        return np.sum(c ** 2) + np.sum(np.identity(3) * np.outer(a, a))

    check_gradient(f, normal(3))


def test_zeros_filled_in_then_used():
    def f(x):
        y = np.zeros((2, 2))
        y[0, 0] = x[0]
        y[1, 1] = x[1]
        y[0, 1] = x[0] * x[1]
        return np.linalg.det(y + 2.0 * np.eye(2))

    check_gradient(f, normal(2))


def test_write_a_repeated_integer_index():
    def f(v):
        y = np.zeros(3)
        y[np.array([0, 0])] = v  # y[0] = v[1]: v[0] is overwritten
        return np.sum(y)

    np.testing.assert_array_equal(ast_ad.grad(f)(np.array([1.0, 2.0])), [0.0, 1.0])



def _write_into_expand_dims(x):
    z = x * 1.0
    y = np.expand_dims(z, 0)  # a view: writing into y changes z
    y[0, 1] = 5.0
    return np.sum(z ** 2)


def _write_into_squeeze(x):
    z = np.ones((1, 3)) * x
    y = z.squeeze()
    y[1] = 5.0
    return np.sum(z ** 2)


def _write_into_moveaxis(x):
    z = np.ones((2, 3)) * x
    y = np.moveaxis(z, 0, 1)
    y[1, 0] = 5.0
    return np.sum(z ** 2)


def _write_into_flip(x):
    z = x * 1.0
    y = np.flip(z)
    y[0] = 5.0
    return np.sum(z ** 2)


def _write_into_unpacked_split(x):
    z = x * 1.0
    a, _ = np.split(z, [1])  # a is `t[0]`, copied by the unpacking: a view of z
    a[0] = 5.0
    return np.sum(z ** 2)


def _write_into_unpacked_rows(x):
    z = np.ones((2, 3)) * x
    a, _ = z[0], z[1]
    a[0] = 5.0
    return np.sum(z ** 2)


def _write_into_asarray(x):
    z = x * 1.0
    y = np.asarray(z)  # z itself
    y[0] = 5.0
    return np.sum(z ** 2)


@pytest.mark.parametrize("fn", [_write_into_expand_dims, _write_into_squeeze,
                                _write_into_moveaxis, _write_into_flip,
                                _write_into_unpacked_split, _write_into_unpacked_rows,
                                _write_into_asarray])
@pytest.mark.parametrize("transform", [ast_ad.grad, lambda f: lambda x: ast_ad.jvp(f, (x,), (x,))])
def test_writing_into_a_view_is_rejected(fn, transform):
    with pytest.raises(ast_ad.UnsupportedSyntaxError, match="may be a view"):
        transform(fn)(np.ones(3))


def test_write_through_another_name():
    def f(x):
        z = x * 1.0
        y = z
        y[0] = 5.0  # z[0] is 5.0 too: the output no longer depends on x[0]
        return np.sum(z ** 2)

    np.testing.assert_array_equal(ast_ad.grad(f)(np.ones(3)), [0.0, 2.0, 2.0])


def _write_into_a_branch_choice(a, b, c):
    y = a if c > 0 else b  # y is a or b: the write changes one of them
    y[0] = 2.0 * y[1]
    return np.sum(a * a) + np.sum(b)


def _write_into_a_branch_merge(a, b, c):
    y = a * 1.0
    z = y
    if c > 0:
        z = b * 2.0
    z[0] = 5.0  # z is y when c <= 0
    return np.sum(y * y)


@pytest.mark.parametrize("fn, names, line", [(_write_into_a_branch_choice, "a or b", 2),
                                             (_write_into_a_branch_merge, "y", 5)])
def test_writing_into_an_array_a_branch_chose_is_rejected(fn, names, line):
    with pytest.raises(ast_ad.UnsupportedSyntaxError, match=f"may be {names}:") as error:
        ast_ad.grad(fn, argnums=(0, 1))(np.ones(3), np.ones(3), 1.0)
    assert f":{fn.__code__.co_firstlineno + line}:" in str(error.value)


def test_write_into_a_copy_of_a_branch_choice():
    def f(a, b, c):
        y = np.copy(a if c > 0 else b)  # what the error message suggests
        y[0] = 2.0 * y[1]
        return np.sum(y * a) + np.sum(b)

    for c in (1.0, -1.0):
        check_gradient(f, normal(3), normal(3), c, argnums=(0, 1))


def test_write_into_fresh_arrays_a_branch_chose():
    def f(x, c):
        if c > 0:
            y = x * 2.0
        else:
            y = x * 3.0
        y[0] = x[1] ** 2
        return np.sum(y * x)

    for c in (1.0, -1.0):
        check_gradient(f, normal(3), c, argnums=(0,))


# `y += e` is `y = y + e` in ast-ad (a new array); NumPy writes into y's array. Where
# another name for that array is read afterwards, the two differ: that is rejected.

def _augment_a_copy(x):
    y = x
    y += 1.0
    return np.sum(y * x)  # NumPy: x is y, so this is sum((x + 1) ** 2)


def _augment_a_row(X):
    row = X[0]
    row += 1.0  # changes X
    return np.sum(X * X)


def _augment_in_a_loop(x):
    z = x * 2.0
    w = z
    for _ in range(2):
        z += x
    return np.sum(w * z)


def _augment_a_listed_array(x):
    ys = [x * 1.0]
    y = ys[0]
    y *= 3.0
    return np.sum(ys[0])


def _augment_a_reshaped_array(x):
    z = x * 1.0
    flat = z.reshape(-1)
    flat -= 1.0
    return np.sum(z * z)


@pytest.mark.parametrize("fn, other, line", [
    (_augment_a_copy, "`x`", 2), (_augment_a_row, "`X`", 2), (_augment_in_a_loop, "`w`", 4),
    (_augment_a_listed_array, "`ys`", 3), (_augment_a_reshaped_array, "`z`", 3)])
@pytest.mark.parametrize("transform", [ast_ad.grad, lambda f: lambda x: ast_ad.jvp(f, (x,), (x,))])
def test_augmenting_an_array_another_name_reads_is_rejected(fn, other, line, transform):
    with pytest.raises(ast_ad.UnsupportedSyntaxError,
                       match=f"on an array {other} also refers to, read afterwards") as error:
        transform(fn)(np.ones((2, 3)))
    assert f":{fn.__code__.co_firstlineno + line}:" in str(error.value)
    assert "write `" in str(error.value)  # the hint


def _check_gradient_of_mutating(f, *args):
    """check_gradient for an f that changes its array arguments under NumPy (`x += e` on a
    parameter): ast-ad's code does not, so the references run f on copies."""
    grads = ast_ad.grad(f, argnums=tuple(range(len(args))))(*args)
    on_copies = lambda *a: f(*[np.copy(v) for v in a])  # noqa: E731
    for argnum, g in enumerate(grads):
        np.testing.assert_allclose(g, numeric_gradient(on_copies, args, argnum),
                                   rtol=1e-5, atol=1e-6)


def test_augmenting_an_array_nobody_else_reads():
    def loop(x, h0):
        h = h0  # h0 changes too under NumPy, but nothing reads it afterwards
        for i in range(3):
            h += x * i
        return np.sum(h * h)

    def element_read_before(x):
        s = x[0]  # a number, not a view
        x += 1.0
        return s * np.sum(x)

    def copied_first(x):
        y = np.copy(x)  # what the error's hint suggests
        y += 1.0
        return np.sum(y * x)

    _check_gradient_of_mutating(loop, normal(3), normal(3))
    _check_gradient_of_mutating(element_read_before, normal(3))
    def beside_another_in_a_list(a, b):
        pair = [a, b]
        first = np.sum(pair[1] * pair[1])
        a += 1.0  # b, read below, is not a
        return first + np.sum(b * a)

    check_gradient(copied_first, normal(3))
    _check_gradient_of_mutating(beside_another_in_a_list, normal(3), normal(3))
    x = normal(3)
    assert ast_ad.grad(element_read_before)(x)[1] == x[0]


def test_slice_of_a_list():
    def f(a, b):
        parts = [a, b]
        rest = parts[1:]
        return rest[0] * 2.0

    assert ast_ad.grad(f, argnums=(0, 1))(1.0, 1.0) == (0.0, 2.0)
