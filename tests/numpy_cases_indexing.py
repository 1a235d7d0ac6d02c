"""Rows for indexing: subscripts (basic, integer-array, boolean), np.take, np.take_along_axis."""

import numpy as np
from numpy_case import Case, normal

# -- basic indexing: ints, slices, negative steps, Ellipsis, None --------------------


def index_ints(x):
    return x[0, 1] * x[-1, -2] + x[1][2] ** 2


def index_slices(x, w):
    return np.sum(x[1:3] * w[:2]) + np.sum(x[:, ::2] ** 2) + np.sum(x[::-1, 1:] * w[:, 1:]) \
        + np.sum(x[-2:, ::-2] ** 3)


def index_ellipsis_newaxis(x, w):
    return np.sum(x[..., 1] * w) + np.sum(x[None, :, 0] ** 2) + np.sum(x[:, np.newaxis, 1:] ** 3) \
        + np.sum(x[0, ..., None] * 2.0)


def index_variables(x, i, j):
    return x[i, j] * x[i + 1, :].sum() + np.sum(x[i:j] ** 2)


def index_vector_scalar(v):
    return v[0] * v[2] + v[-1] ** 2


# -- integer-array and boolean indexing (repeated indices accumulate) --------------


def index_int_array(x, w):
    idx = np.array([0, 2, 2, 1, 0, 0])
    return np.sum(x[idx] * w)


def index_int_array_axis(x, w):
    cols = np.array([3, 0, 3])
    return np.sum(x[:, cols] * w) + np.sum(x[1, cols] ** 2)


def index_int_list(x):
    return np.sum(x[[0, 0, 1]] ** 2)


def index_two_arrays(x):
    rows = np.array([0, 1, 1, 0])
    cols = np.array([2, 0, 0, 2])
    return np.sum(x[rows, cols] ** 2)


def index_mask(x):
    return np.sum(x[x > 0] ** 2) + np.sum(x[x < 0.5] * 3.0)


def index_mask_rows(x, keep):
    return np.sum(x[keep] ** 2)


# -- np.take and np.take_along_axis ------------------------------------------------


def take_flat(x, w):
    return np.sum(np.take(x, np.array([5, 0, 5, 1])) * w)


def take_axis(x, w):
    idx = np.array([[0, 2], [2, 2]])
    return np.sum(np.take(x, idx, axis=1) * w) + np.sum(x.take(np.array([1, 1]), axis=0) ** 2) \
        + np.sum(np.take(x, np.array([0, -1]), axis=-1) ** 3)


def take_scalar_index(x):
    return np.take(x, 4) ** 2 + np.sum(np.take(x, 1, axis=0) ** 2)


def take_modes(x):
    return np.sum(np.take(x, np.array([4, -5, 1]), mode="wrap") ** 2) \
        + np.sum(np.take(x, np.array([7, -1]), axis=1, mode="clip") ** 3)


def take_along_axis_forms(x, w):
    order = np.argsort(x, axis=1)
    top = np.take_along_axis(x, order[:, -2:], axis=1)
    return np.sum(top * w) + np.sum(np.take_along_axis(x, np.array([[0], [0], [1]]), 1) ** 2) \
        + np.sum(np.take_along_axis(x, np.array([[2, 2, 0, 1]]), axis=0) ** 3)


def take_along_axis_flat(x):
    return np.sum(np.take_along_axis(x, np.array([0, 3, 3]), axis=None) ** 2)


CASES = [
    Case(index_ints, lambda r: (normal(r, (3, 4)),)),
    Case(index_slices, lambda r: (normal(r, (4, 3)), normal(r, (4, 3)))),
    Case(index_ellipsis_newaxis, lambda r: (normal(r, (2, 3, 4)), normal(r, (2, 3)))),
    Case(index_variables, lambda r: (normal(r, (4, 3)), 1, 2)),
    Case(index_vector_scalar, lambda r: (normal(r, 4),)),
    Case(index_int_array, lambda r: (normal(r, (3, 2)), normal(r, (6, 2)))),
    Case(index_int_array_axis, lambda r: (normal(r, (2, 4)), normal(r, (2, 3)))),
    Case(index_int_list, lambda r: (normal(r, (2, 3)),)),
    Case(index_two_arrays, lambda r: (normal(r, (2, 3)),)),
    Case(index_mask, lambda r: (normal(r, (3, 4)),)),
    Case(index_mask_rows, lambda r: (normal(r, (3, 2)), np.array([True, False, True]))),
    Case(take_flat, lambda r: (normal(r, (2, 3)), normal(r, 4))),
    Case(take_axis, lambda r: (normal(r, (2, 3)), normal(r, (2, 2, 2)))),
    Case(take_scalar_index, lambda r: (normal(r, (2, 3)),)),
    Case(take_modes, lambda r: (normal(r, (2, 3)),)),
    Case(take_along_axis_forms, lambda r: (normal(r, (3, 4)), normal(r, (3, 2)))),
    Case(take_along_axis_flat, lambda r: (normal(r, (2, 2)),)),
]
