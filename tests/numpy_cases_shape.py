"""Rows for the shape rules: reshapes, transposes, joining and splitting, repeating, padding."""

import numpy as np
from numpy_case import Case, normal

# -- reshapes ----------------------------------------------------------------


def reshape_forms(x, w):
    return np.sum(np.reshape(x, (3, 4)) * w) + np.sum(np.reshape(x, (-1, 3)) ** 2) \
        + np.sum(np.reshape(x, 12) * w.ravel())


def reshape_methods(x, w):
    return np.sum(x.reshape(3, 4) * w) + np.sum(x.reshape((2, -1)) ** 3) \
        + np.sum(x.reshape(-1) * w.ravel())


def reshape_fortran(x, w):
    return np.sum(np.reshape(x, (3, 4), order="F") * w) + np.sum(x.reshape(4, 3, order="F") * w.T)


def ravel_forms(x, w):
    return np.sum(np.ravel(x) * w) + np.sum(x.ravel() ** 2) + np.sum(x.flatten() * w) \
        + np.sum(np.ravel(x, order="F") * w) + np.sum(x.flatten("F") ** 3)


def squeeze_forms(x, w):
    return np.sum(np.squeeze(x) * w) + np.sum(np.squeeze(x, axis=0) ** 2) \
        + np.sum(x.squeeze(-1) * w)


def expand_dims_forms(x, w):
    return np.sum(np.expand_dims(x, 0) * w) + np.sum(np.expand_dims(x, -1) ** 2) \
        + np.sum(np.expand_dims(x, (0, 2)) * w[..., None])


def broadcast_to_forms(x, w):
    return np.sum(np.broadcast_to(x, (2, 3, 4)) * w) + np.sum(np.broadcast_to(x, (5, 3, 4)) ** 2)


def broadcast_to_scalar(s, w):
    return np.sum(np.broadcast_to(s, (2, 3)) * w)


# -- transposes --------------------------------------------------------------


def transpose_forms(x, w):
    return np.sum(np.transpose(x) * w) + np.sum(x.T ** 2) + np.sum(x.transpose() * w)


def transpose_axes(x, w):
    return np.sum(np.transpose(x, (1, 2, 0)) * w) + np.sum(x.transpose(2, 0, 1) ** 2) \
        + np.sum(np.transpose(x, axes=(-1, 0, -2)) ** 3) + np.sum(x.transpose((1, 0, 2)) ** 2)


def swapaxes_forms(x, w):
    return np.sum(np.swapaxes(x, 0, 2) * w) + np.sum(x.swapaxes(-1, 1) ** 2)


def moveaxis_forms(x, w):
    return np.sum(np.moveaxis(x, 0, -1) * w) + np.sum(np.moveaxis(x, [0, 1], [2, 0]) ** 2)


# -- joining and splitting ---------------------------------------------------


def concatenate_forms(x, y, w):
    return np.sum(np.concatenate([x, y * 2.0]) * w) + np.sum(np.concatenate((x, y), axis=0) ** 2) \
        + np.sum(np.concatenate([x.T, x.T, y.T], axis=-1) ** 3)


def concatenate_flat(x, y):
    return np.sum(np.concatenate([x, y], axis=None) ** 2)


def concatenate_of_array(x, w):
    return np.sum(np.concatenate(x, axis=1) * w)


def concatenate_list_built(x):
    parts = []
    for i in range(3):
        parts.append(x * (i + 1.0))
    return np.sum(np.concatenate(parts) ** 2)


def stack_forms(x, y, w):
    return np.sum(np.stack([x, y], axis=-1) * w) + np.sum(np.stack((x, y * y)) ** 2)


def stack_of_array(x, w):
    return np.sum(np.stack(x, axis=1) * w)


def hstack_forms(x, y, u, v):
    return np.sum(np.hstack([x, y]) ** 2) + np.sum(np.hstack((u, v, u)) ** 2)


def vstack_forms(x, y, u, v):
    return np.sum(np.vstack([x, y]) ** 2) + np.sum(np.vstack((u, v)) ** 3)


def split_unpacked(x, w):
    a, b, c = np.split(x, 3)
    return np.sum(a * w) + np.sum(b ** 2) * np.sum(c)


def split_indices(x, w):
    parts = np.split(x, [1, 3], axis=1)
    return np.sum(parts[0] ** 2) + np.sum(parts[2] * w)  # parts[1] unused


def array_split_uneven(x):
    a, b, c = np.array_split(x, 3, axis=-1)
    return np.sum(a ** 2) + np.sum(b * 3.0) + np.sum(c ** 3)


# -- repeating, flipping, rolling, padding --------------------------------------


def repeat_forms(x, w):
    return np.sum(np.repeat(x, 2, axis=0) * w) + np.sum(np.repeat(x, 3) ** 2) \
        + np.sum(x.repeat(2, axis=-1) ** 3)


def repeat_counts(x):
    return np.sum(np.repeat(x, [1, 0, 3], axis=1) ** 2) + np.sum(np.repeat(x, np.array([2, 1]),
                                                                           axis=0) ** 3)


def tile_forms(x, w):
    return np.sum(np.tile(x, 2) * w[:2, :6]) + np.sum(np.tile(x, (2, 1, 2)) ** 2) \
        + np.sum(np.tile(x, (2, 2)) * w)


def flip_forms(x, w):
    return np.sum(np.flip(x) * w) + np.sum(np.flip(x, 0) * w ** 2) \
        + np.sum(np.flip(x, axis=(0, 1)) * w) + np.sum(np.fliplr(x) * w) \
        + np.sum(np.flipud(x) * w ** 3)


def roll_forms(x, w):
    return np.sum(np.roll(x, 2) * w) + np.sum(np.roll(x, -1, axis=1) * w) \
        + np.sum(np.roll(x, (1, 2), axis=(0, 1)) * w ** 2)


def roll_variable(x, w, k):
    return np.sum(np.roll(x, k, axis=0) * w)


def pad_forms(x, w):
    return np.sum(np.pad(x, 1) * w) + np.sum(np.pad(x, ((0, 1), (2, 0))) ** 2) \
        + np.sum(np.pad(x, (1, 2), "constant") ** 3)


def pad_value(x, c, w):
    return np.sum(np.pad(x, 1, mode="constant", constant_values=c) * w)


CASES = [
    # reshapes
    Case(reshape_forms, lambda r: (normal(r, 12), normal(r, (3, 4)))),
    Case(reshape_methods, lambda r: (normal(r, (2, 6)), normal(r, (3, 4)))),
    Case(reshape_fortran, lambda r: (normal(r, (2, 6)), normal(r, (3, 4)))),
    Case(ravel_forms, lambda r: (normal(r, (2, 3)), normal(r, 6))),
    Case(squeeze_forms, lambda r: (normal(r, (1, 3, 1)), normal(r, 3))),
    Case(expand_dims_forms, lambda r: (normal(r, (2, 3)), normal(r, (1, 2, 3)))),
    Case(broadcast_to_forms, lambda r: (normal(r, (3, 1)), normal(r, (2, 3, 4)))),
    Case(broadcast_to_scalar, lambda r: (1.5, normal(r, (2, 3)))),
    # transposes
    Case(transpose_forms, lambda r: (normal(r, (2, 3)), normal(r, (3, 2)))),
    Case(transpose_axes, lambda r: (normal(r, (2, 3, 4)), normal(r, (3, 4, 2)))),
    Case(swapaxes_forms, lambda r: (normal(r, (2, 3, 4)), normal(r, (4, 3, 2)))),
    Case(moveaxis_forms, lambda r: (normal(r, (2, 3, 4)), normal(r, (3, 4, 2)))),
    # joining and splitting
    Case(concatenate_forms, lambda r: (normal(r, (2, 3)), normal(r, (1, 3)), normal(r, (3, 3))),
         argnums=(0, 1)),
    Case(concatenate_flat, lambda r: (normal(r, (2, 3)), normal(r, 4)), argnums=(0, 1)),
    Case(concatenate_of_array, lambda r: (normal(r, (3, 2, 4)), normal(r, (2, 12)))),
    Case(concatenate_list_built, lambda r: (normal(r, (2, 3)),)),
    Case(stack_forms, lambda r: (normal(r, 3), normal(r, 3), normal(r, (3, 2))), argnums=(0, 1)),
    Case(stack_of_array, lambda r: (normal(r, (3, 2, 4)), normal(r, (2, 3, 4)))),
    Case(hstack_forms, lambda r: (normal(r, 2), normal(r, 3), normal(r, (2, 2)), normal(r, (2, 1))),
         argnums=(0, 1, 2, 3)),
    Case(vstack_forms, lambda r: (normal(r, 3), normal(r, 3), normal(r, (2, 2)), normal(r, (1, 2))),
         argnums=(0, 1, 2, 3)),
    Case(split_unpacked, lambda r: (normal(r, (6, 2)), normal(r, (2, 2)))),
    Case(split_indices, lambda r: (normal(r, (2, 5)), normal(r, (2, 2)))),
    Case(array_split_uneven, lambda r: (normal(r, (2, 7)),)),
    # repeating, flipping, rolling, padding
    Case(repeat_forms, lambda r: (normal(r, (2, 3)), normal(r, (4, 3)))),
    Case(repeat_counts, lambda r: (normal(r, (2, 3)),)),
    Case(tile_forms, lambda r: (normal(r, (2, 3)), normal(r, (4, 6)))),
    Case(flip_forms, lambda r: (normal(r, (3, 4)), normal(r, (3, 4)))),
    Case(roll_forms, lambda r: (normal(r, (3, 4)), normal(r, (3, 4)))),
    Case(roll_variable, lambda r: (normal(r, (3, 4)), normal(r, (3, 4)), 2)),
    Case(pad_forms, lambda r: (normal(r, (2, 3)), normal(r, (4, 5)))),
    Case(pad_value, lambda r: (normal(r, (2, 3)), 0.5, normal(r, (4, 5))), argnums=(0, 1)),
]
