"""Argument combinations the linear-algebra, shape and indexing rules do not support fail
with a NoRuleError naming the function and the call's line, never a wrong gradient."""

import numpy as np
import pytest

import ast_ad


def pad_maximum(x):
    return np.sum(np.pad(x, 1, mode="maximum"))


def pad_per_axis_values(x):
    return np.sum(np.pad(x, 1, constant_values=((1.0, 2.0), (3.0, 4.0))))


def einsum_six_operands(x):
    return np.einsum("i,i,i,i,i,i->", x, x, x, x, x, x)


def einsum_wrong_count(x):
    return np.sum(np.einsum("ij,jk->ik", x))


def reshape_order_a(x):
    return np.sum(np.reshape(x, (3, 2), order="A"))


def ravel_order_k(x):
    return np.sum(np.ravel(x, order="K"))


def concatenate_out(x):
    out = np.zeros(6)
    return np.sum(np.concatenate([x, x], out=out))


def take_out(x):
    out = np.zeros(2)
    return np.sum(np.take(x, np.array([0, 1]), out=out))


CASES = [
    (pad_maximum, (np.ones((2, 3)),), "numpy.pad"),
    (einsum_six_operands, (np.ones(3),), "numpy.einsum"),
    (pad_per_axis_values, (np.ones((2, 3)),), "numpy.pad"),
    (einsum_wrong_count, (np.ones((2, 3)),), "numpy.einsum"),
    (reshape_order_a, (np.ones((2, 3)),), "numpy.reshape"),
    (ravel_order_k, (np.ones((2, 3)),), "numpy.ravel"),
    (concatenate_out, (np.ones(3),), "numpy.concatenate"),
    (take_out, (np.ones(3),), "numpy.take"),
]


@pytest.mark.parametrize("fn, args, what", CASES, ids=[c[0].__name__ for c in CASES])
def test_unsupported_arguments_raise_no_rule_error(fn, args, what):
    with pytest.raises(ast_ad.NoRuleError) as info:
        ast_ad.grad(fn)(*args)
    message = str(info.value)
    assert what in message and "test_numpy_unsupported.py" in message, message
    assert "(None)" not in message and "supported: " in message, message


def test_the_message_says_what_is_supported():
    with pytest.raises(ast_ad.NoRuleError, match="supported: mode 'constant'"):
        ast_ad.grad(pad_maximum)(np.ones((2, 3)))
