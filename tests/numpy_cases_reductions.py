"""Rows for the reduction rules (ast_ad/rules/reductions.py): prod, max/min, var/std, cumsum,
cumprod, average, np.linalg.norm, builtin sum, their array methods, and logsumexp by hand.

Reductions are swept over axes (None, int, negative, tuple) and keepdims, with the
axis passed as an argument (code for any axis) and written literally (code
specialised to the shapes). Inputs have no ties among maxima: the tie convention
has its own tests in test_numpy_more.py.
"""

import numpy as np
from numpy_case import Case, normal, uniform

AXES = [(None, False), (None, True), (0, False), (1, True), (-1, False), ((0, 2), False),
        ((0, 2), True), ((-1, 0), False)]


def _label(axis, keepdims):
    return f"[axis={axis}{',keepdims' if keepdims else ''}]"


def swept(reduce, low=-2.0, high=2.0, **options):
    """np.sum(reduce(x, axis, keepdims) * w) for x of shape (2, 3, 4), over AXES."""
    rows = []
    for axis, keepdims in AXES:
        def args(r, axis=axis, keepdims=keepdims):
            x = uniform(r, low, high, (2, 3, 4))
            w = normal(r, np.shape(np.sum(x, axis=axis, keepdims=keepdims)))
            return x, w, axis, keepdims

        rows.append(Case(reduce, args, name=reduce.__name__ + _label(axis, keepdims), **options))
    return rows


def reduce_prod(x, w, axis, keepdims):
    return np.sum(np.prod(x, axis=axis, keepdims=keepdims) * w)


def reduce_max(x, w, axis, keepdims):
    return np.sum(np.max(x, axis=axis, keepdims=keepdims) * w)


def reduce_min(x, w, axis, keepdims):
    return np.sum(np.min(x, axis=axis, keepdims=keepdims) * w)


def reduce_amax_amin(x, w, axis, keepdims):
    return np.sum((np.amax(x, axis=axis, keepdims=keepdims)
                   - 2.0 * np.amin(x, axis=axis, keepdims=keepdims)) * w)


def reduce_var(x, w, axis, keepdims):
    return np.sum(np.var(x, axis=axis, keepdims=keepdims) * w)


def reduce_std(x, w, axis, keepdims):
    return np.sum(np.std(x, axis=axis, ddof=1, keepdims=keepdims) * w)


def reduce_average(x, w, axis, keepdims):
    return np.sum(np.average(x, axis=axis, keepdims=keepdims) * w)


def reduce_mean_sum(x, w, axis, keepdims):
    return np.sum((np.mean(x, axis=axis, keepdims=keepdims)
                   + np.sum(x, axis=axis, keepdims=keepdims)) * w)


SWEPT = (swept(reduce_prod, 0.5, 1.5) + swept(reduce_max) + swept(reduce_min)
         + swept(reduce_amax_amin) + swept(reduce_var) + swept(reduce_std)
         + swept(reduce_average) + swept(reduce_mean_sum))


# -- literal axes: code specialised to the shapes ----------------------------------------


def literal_axes(x, w):
    a = np.prod(x, axis=-1) * w[:, :, 0]
    b = np.max(x, axis=1, keepdims=True) - np.min(x, axis=(0, 2), keepdims=True)
    c = np.var(x, axis=0) + np.std(x, axis=-1, keepdims=True, ddof=1)
    return np.sum(a) + np.sum(b * w) + np.sum(c * w) + np.prod(x[0]) + np.max(x)


def on_scalars(x, y):
    return np.sum(x) * np.max(y) + np.prod(x) + np.min(x * y) + np.mean(y) + np.var(x) \
        + np.amax(x) - np.amin(y)


def methods(x, w):
    return (x.max() + x.min(axis=0).sum() + np.sum(x.prod(axis=1) * w[:, 0]) + x.var(ddof=1)
            + x.std(axis=0, keepdims=True).sum() + np.sum(x.cumsum(axis=1) * w)
            + np.sum(x.cumprod() * w.ravel()) + x.clip(0.7, 1.3).sum())


def logsumexp(x):
    m = np.max(x, axis=1, keepdims=True)
    return np.sum(m + np.log(np.sum(np.exp(x - m), axis=1, keepdims=True)))


# -- builtin sum ----------------------------------------------------------------------------


def builtin_sum_of_list(x, y):
    return np.sum(sum([x, y, x * y]) ** 2) + sum([y, 2.0 * y], 1.0)


def builtin_sum_of_rows(x, w):
    return np.sum(sum(x) * w) + sum(x[0], 3.0) * 0.5


# -- cumulative ---------------------------------------------------------------------------


def cumulative(x, w, axis):
    flat = axis is None
    shape = (x.size,) if flat else x.shape
    return np.sum(np.cumsum(x, axis=axis) * w.reshape(shape)) \
        + np.sum(np.cumprod(x, axis=axis) * w.reshape(shape) ** 2)


def cumulative_literal(x, w):
    return np.sum(np.cumsum(x, axis=-1) * w) + np.sum(np.cumprod(x, 0) * w) \
        + np.sum(np.cumsum(x) * w.ravel()) + np.sum(np.cumprod(x) * w.ravel())


def cumulative_scalar(x):
    return np.sum(np.cumsum(x) * 2.0) + np.sum(np.cumprod(x) ** 2)


def cumprod_with_zeros(x, w):
    return np.sum(np.cumprod(x, axis=1) * w) + np.sum(np.prod(x, axis=1) * w[:, 0]) \
        + np.prod(x)


def with_zeros(r):
    x = uniform(r, 0.5, 1.5, (3, 4))
    x[0, 1] = 0.0  # one zero in a row
    x[1, 0] = x[1, 2] = 0.0  # two zeros in a row
    return x, normal(r, (3, 4))


# -- np.average with weights ----------------------------------------------------------------


def average_weights(x, v, w, axis, keepdims):
    return np.sum(np.average(x, axis=axis, weights=v, keepdims=keepdims) * w)


def average_args(axis, keepdims, weights_shape):
    def args(r):
        x = normal(r, (3, 4))
        w = normal(r, np.shape(np.sum(x, axis=axis, keepdims=keepdims)))
        return x, uniform(r, 0.5, 2.0, weights_shape), w, axis, keepdims

    return args


def average_literal(x, v):
    return np.average(x, weights=v) + np.sum(np.average(x, 1, v[0]) ** 2) \
        + np.sum(np.average(x, axis=0, weights=v, keepdims=True))


AVERAGE = [
    Case(average_weights, average_args(axis, keepdims, shape), argnums=(0, 1),
         name=f"average_weights[axis={axis},keepdims={keepdims},weights={shape}]")
    for axis, keepdims, shape in [(None, False, (3, 4)), (0, False, (3, 4)), (1, True, (4,)),
                                  (-1, False, (4,)), (0, True, (3,)), ((0, 1), False, (3, 4)),
                                  ((1, 0), True, (4, 3))]
] + [Case(average_literal, lambda r: (normal(r, (3, 4)), uniform(r, 0.5, 2.0, (3, 4))),
          argnums=(0, 1))]


# -- np.linalg.norm --------------------------------------------------------------------------


def norm(x, w, ord, axis, keepdims):
    return np.sum(np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims) * w)


def norm_case(shape, ord, axis=None, keepdims=False):
    def args(r):
        x = normal(r, shape)
        w = normal(r, np.shape(np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)))
        return x, w, ord, axis, keepdims

    return Case(norm, args, name=f"norm{shape}[ord={ord},axis={axis},keepdims={keepdims}]")


VECTOR_ORDS = [None, 2, 1, np.inf, -np.inf, 3, 0.5, -1, 0]
MATRIX_ORDS = [None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]

NORMS = [norm_case((5,), ord) for ord in VECTOR_ORDS] + [
    norm_case((3, 4), ord, axis) for ord in VECTOR_ORDS for axis in (1, -2)
] + [
    norm_case((3, 4), ord) for ord in MATRIX_ORDS
] + [
    norm_case((2, 3, 4), ord, axis, keepdims) for ord in MATRIX_ORDS
    for axis, keepdims in [((1, 2), False), ((2, 0), True)]
] + [
    norm_case((2, 3, 4), None), norm_case((2, 3, 4), None, None, True),
    norm_case((3, 4), 2, 0, True), norm_case((4, 3), "nuc", None, True),
]


def norm_literal(x):
    return np.linalg.norm(x) + np.linalg.norm(x, 1) + np.linalg.norm(x, np.inf) \
        + np.sum(np.linalg.norm(x, axis=1)) + np.sum(np.linalg.norm(x, -np.inf, axis=0)) \
        + np.linalg.norm(x, "nuc") + np.linalg.norm(x, ord=2) + np.linalg.norm(x[0], 2)


def norm_scalar(x, y):
    return np.linalg.norm(x) * np.linalg.norm(np.array([x, y]), 1)


CASES = SWEPT + AVERAGE + NORMS + [
    Case(literal_axes, lambda r: (uniform(r, 0.5, 1.5, (2, 3, 4)), normal(r, (2, 3, 4)))),
    Case(on_scalars, lambda r: (float(r.uniform(0.5, 1.5)), float(r.uniform(0.5, 1.5))),
         argnums=(0, 1)),
    Case(methods, lambda r: (uniform(r, 0.5, 1.5, (3, 4)), normal(r, (3, 4)))),
    Case(logsumexp, lambda r: (normal(r, (3, 5)) * 3.0,)),
    Case(cumulative_literal, lambda r: (uniform(r, 0.5, 1.5, (3, 4)), normal(r, (3, 4)))),
    Case(builtin_sum_of_list, lambda r: (normal(r, (3, 4)), float(r.normal())), argnums=(0, 1)),
    Case(builtin_sum_of_rows, lambda r: (normal(r, (3, 4)), normal(r, 4))),
    Case(cumulative_scalar, lambda r: (float(r.uniform(0.5, 1.5)),)),
    Case(cumprod_with_zeros, with_zeros),
    Case(norm_literal, lambda r: (normal(r, (3, 4)),)),
    Case(norm_scalar, lambda r: (float(r.uniform(0.5, 1.5)), float(r.uniform(-1.5, -0.5))),
         argnums=(0, 1)),
] + [
    Case(cumulative, lambda r, axis=axis: (uniform(r, 0.5, 1.5, (3, 4)), normal(r, (3, 4)), axis),
         name=f"cumulative[axis={axis}]")
    for axis in (None, 0, 1, -1)
]
