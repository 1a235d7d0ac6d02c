"""Building arrays, splitting them, and slogdet's (sign, logabsdet) pair: results a table row
cannot express (lists of adjoints, unpacked pieces, exact values)."""

import numpy as np
from numeric import check_gradient

import ast_ad

RNG = np.random.default_rng(5)


def normal(*shape):
    return RNG.normal(size=shape)


# -- np.array / np.asarray of scalars, arrays and nested lists -----------------------


def test_array_of_scalars_with_constants():
    def f(a, b):
        v = np.array([a, b * a, 3.0, a])
        return np.sum(v * np.arange(1.0, 5.0))

    ga, gb = ast_ad.grad(f, argnums=(0, 1))(2.0, 5.0)
    assert (ga, gb) == (1.0 + 2 * 5.0 + 4.0, 2 * 2.0)
    check_gradient(f, 2.0, 5.0)


def test_nested_lists_of_scalars():
    def f(a, b, c):
        m = np.array([[a, b], [c, a * b]])
        return np.linalg.det(m) + np.sum(m ** 2)

    check_gradient(f, 1.5, -0.5, 2.0)


def test_array_of_arrays_and_asarray_of_a_tuple():
    def f(x, y):
        m = np.array([x, y * 2.0, x])
        t = np.asarray((x, y))
        return np.sum(m ** 2) + np.sum(t * m[:2])

    check_gradient(f, normal(3), normal(3))


def test_array_of_an_array_copies_and_dtype():
    def f(x):
        y = np.array(x)
        z = np.asarray(x, dtype=float)
        y[0] = 0.0  # a copy: x is unchanged
        return np.sum(y * z) + np.sum(np.array(x, dtype=np.float64) ** 2)

    check_gradient(f, normal(3))


def test_copies_and_astype():
    def f(x):
        a = np.copy(x)
        b = x.copy()
        c = x.astype(float)
        d = x.astype(np.float64, copy=False)
        return np.sum(a * b * c) + np.sum(d)

    check_gradient(f, normal(2, 2))


def test_astype_float32_keeps_float32_gradient():
    def f(x):
        return np.sum(x.astype(np.float32) ** 2)

    g = ast_ad.grad(f)(np.ones(3, dtype=np.float32))
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, [2.0, 2.0, 2.0])


# -- split / array_split: a list of pieces --------------------------------------------


def test_split_pieces_unpacked_and_unused():
    def f(x):
        a, b, c = np.split(x, 3, axis=1)  # b is never used: its part of x gets no gradient
        return np.sum(a * c)

    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(ast_ad.grad(f)(x), [[2.0, 0.0, 0.0], [5.0, 0.0, 3.0]])


def test_split_then_concatenate():
    def f(x):
        parts = np.array_split(x, 3)
        return np.sum(np.concatenate([parts[2], parts[0] * 2.0]) ** 2)

    check_gradient(f, normal(7))


def test_split_indexed_in_a_loop():
    def f(x):
        parts = np.split(x, [1, 3])
        total = 0.0
        for i in range(3):
            total = total + np.sum(parts[i] ** 2) * (i + 1.0)
        return total

    check_gradient(f, normal(5))


def test_pieces_of_a_split_written_into_are_rejected():
    def f(x):
        a, b = np.split(x * 1.0, 2)
        a[0] = 1.0  # a is a view of the split array
        return np.sum(a) + np.sum(b)

    try:
        ast_ad.grad(f)(np.ones(4))
    except ast_ad.UnsupportedSyntaxError as error:
        assert "view" in str(error)
    else:
        raise AssertionError("expected an UnsupportedSyntaxError")


# -- slogdet: the sign carries no derivative ---------------------------------------------


def test_slogdet_gradient_is_the_inverse_transpose():
    def f(a):
        sign, logdet = np.linalg.slogdet(a)
        return logdet

    a = np.array([[2.0, 1.0], [0.5, -3.0]])  # negative determinant
    np.testing.assert_allclose(ast_ad.grad(f)(a), np.linalg.inv(a).T)


def test_slogdet_sign_contributes_nothing():
    def with_sign(a):
        sign, logdet = np.linalg.slogdet(a)
        return sign * 10.0 + logdet

    def without_sign(a):
        return np.linalg.slogdet(a)[1]

    a = -(np.eye(3) * 2.0 + 0.1 * normal(3, 3))
    np.testing.assert_allclose(ast_ad.grad(with_sign)(a), ast_ad.grad(without_sign)(a))


def test_slogdet_fields_and_batches():
    def f(a):
        r = np.linalg.slogdet(a)
        return np.sum(r.logabsdet * r.sign)

    a = normal(2, 3, 3) + 3 * np.eye(3)
    a[1] *= -1.0  # odd size: a negative determinant
    check_gradient(f, a)


def test_det_and_slogdet_agree():
    def via_det(a):
        return np.log(np.abs(np.linalg.det(a)))

    def via_slogdet(a):
        return np.linalg.slogdet(a)[1]

    a = normal(4, 4) + 4 * np.eye(4)
    np.testing.assert_allclose(ast_ad.grad(via_det)(a), ast_ad.grad(via_slogdet)(a))
