"""numpy.fft's shifts of real arrays. The transforms themselves (fft, rfft, ...) make complex
numbers, which ast-ad rejects: it differentiates real-valued code only."""

# ruff: noqa: F821

import numpy as np

from . import static
from .registry import adjoint, tangent


@adjoint(np.fft.fftshift, result_kind="array", shape=static.same_as("x"),
         note="axes None, an int or a tuple")
def fftshift(y, x, axes=None):
    b[x] = np.fft.ifftshift(b[y], axes)


@tangent(np.fft.fftshift)
def fftshift_tangent(y, x, axes=None):
    d[y] = np.fft.fftshift(d[x], axes)


@adjoint(np.fft.ifftshift, result_kind="array", shape=static.same_as("x"),
         note="axes None, an int or a tuple")
def ifftshift(y, x, axes=None):
    b[x] = np.fft.fftshift(b[y], axes)


@tangent(np.fft.ifftshift)
def ifftshift_tangent(y, x, axes=None):
    d[y] = np.fft.ifftshift(d[x], axes)
