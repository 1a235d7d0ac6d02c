"""scipy.signal.convolve, loaded where SciPy is installed, when the compiler first meets a
function of scipy.signal (importing it takes seconds)."""

# ruff: noqa: F821

import numpy as np
import scipy.signal

from .registry import adjoint, tangent

# -- scipy.signal.convolve: bilinear; the adjoint of each input correlates the output's adjoint
# (placed in the full convolution) with the other input -----------------------------------


def convolve_adjoint(g, in1, in2, which, mode="full"):
    """The adjoint of in1 (which=0) or in2 (which=1) in scipy.signal.convolve(in1, in2, mode)."""
    n, m = np.shape(in1), np.shape(in2)
    full = tuple(a + b - 1 for a, b in zip(n, m))
    if mode == "full":
        g_full = np.asarray(g)
    else:
        g = np.asarray(g)
        start = [(f - s) // 2 for f, s in zip(full, np.shape(g))]
        g_full = np.zeros(full, dtype=np.result_type(g, in1, in2))
        g_full[tuple(slice(b, b + s) for b, s in zip(start, np.shape(g)))] = g
    other = in2 if which == 0 else in1
    return scipy.signal.correlate(g_full, other, mode="valid")


CONVOLVE = "N-D, modes 'full', 'valid' and 'same' (a literal or known when the code runs)"


@adjoint(scipy.signal.convolve, result_kind="array", note=CONVOLVE)
def convolve(y, in1, in2, mode="full", method="auto"):
    b[in1] = convolve_adjoint(b[y], in1, in2, 0, mode)
    b[in2] = convolve_adjoint(b[y], in1, in2, 1, mode)


@tangent(scipy.signal.convolve)
def convolve_tangent(y, in1, in2, mode="full", method="auto"):
    d[y] = scipy.signal.convolve(d[in1], in2, mode, method) \
        + scipy.signal.convolve(in1, d[in2], mode, method)
