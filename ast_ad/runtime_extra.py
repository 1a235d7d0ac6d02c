"""Runtime helpers of the rules for einsum's general forms, np.cross, np.gradient, np.pad's
other modes, np.partition and the matrix decompositions (svd, eigh, qr, pinv).

Each is plain NumPy and keeps the dtype of its inputs (float32 stays float32).
"""

from __future__ import annotations

import math
import string

import numpy as np

from .errors import NonDifferentiableError
from .runtime import einsum_adjoint, unbroadcast

# -- einsum: '...', the sublist form, any number of operands --------------------------------


def _letters(sublist) -> str:
    """A sublist ([0, 1, Ellipsis]) as subscripts ('ab...')."""
    return "".join("..." if s is Ellipsis else string.ascii_letters[int(s)] for s in sublist)


def einsum_spec(args) -> tuple[str, list]:
    """np.einsum's arguments (subscripts first, or the sublist form) as letters-only
    subscripts and the operands, broadcast against each other along the '...' axes."""
    if isinstance(args[0], str):
        spec, operands = args[0].replace(" ", ""), list(args[1:])
    else:
        pairs = list(args)
        output = _letters(pairs.pop()) if len(pairs) % 2 else None
        operands = pairs[0::2]
        spec = ",".join(_letters(s) for s in pairs[1::2])
        if output is not None:
            spec += "->" + output
    if "->" in spec:
        inputs, output = spec.split("->")
        inputs = inputs.split(",")
    else:
        inputs, output = spec.split(","), None
    free = [c for c in string.ascii_letters if c not in spec]
    counts = [np.ndim(x) - len(s.replace("...", "")) for s, x in zip(inputs, operands)]
    most = max([n for s, n in zip(inputs, counts) if "..." in s], default=0)
    dots = "".join(free[:most])
    sizes = [1] * most
    for s, n, x in zip(inputs, counts, operands):
        if "..." in s and n:
            start = s.index("...")
            for i, size in enumerate(np.shape(x)[start:start + n]):
                j = most - n + i
                sizes[j] = size if sizes[j] == 1 else sizes[j]
    spelled = []
    for s, n in zip(inputs, counts):
        if "..." in s:
            spelled.append(s.replace("...", dots[most - n:]))
        else:
            spelled.append(s)
    if output is None:
        joined = "".join(s.replace("...", "") for s in inputs)
        output = dots + "".join(sorted(c for c in set(joined) if joined.count(c) == 1))
    else:
        output = output.replace("...", dots)
    broadcast = []
    for s, x in zip(spelled, operands):
        full = tuple(sizes[dots.index(c)] if c in dots else n for c, n in zip(s, np.shape(x)))
        broadcast.append(x if full == np.shape(x) else np.broadcast_to(x, full))
    return ",".join(spelled) + "->" + output, broadcast


def einsum_any_adjoint(g, args, k):
    """The adjoint of argument k of `np.einsum(*args)`, any form einsum takes."""
    spec, operands = einsum_spec(args)
    position = k - 1 if isinstance(args[0], str) else k // 2
    return unbroadcast(einsum_adjoint(g, spec, operands, position), args[k])


# -- np.cross ------------------------------------------------------------------------------


def _vectors(x, axis):
    """x with its vector axis last, as 3-vectors (a 2-vector gets a zero z component)."""
    v = np.moveaxis(np.asarray(x), axis, -1)
    if v.shape[-1] == 2:
        v = np.concatenate([v, np.zeros(v.shape[:-1] + (1,), dtype=v.dtype)], -1)
    return v


def cross_adjoint(g, a, b, which, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """The adjoint of a (which=0) or b (which=1) in `np.cross(a, b, axisa, axisb, axisc,
    axis)`: <g, a x b> = <a, b x g> = <b, g x a>."""
    if axis is not None:
        axisa = axisb = axisc = axis
    va, vb = _vectors(a, axisa), _vectors(b, axisb)
    if np.shape(a)[axisa] == 2 and np.shape(b)[axisb] == 2:  # the z components only
        g = np.asarray(g)
        vg = np.stack([np.zeros_like(g), np.zeros_like(g), g], -1)
    else:
        vg = np.moveaxis(np.asarray(g), axisc, -1)
    x, axis_x = (a, axisa) if which == 0 else (b, axisb)
    r = np.cross(vb, vg) if which == 0 else np.cross(vg, va)
    r = r[..., :np.shape(x)[axis_x]]
    shape = np.shape(np.moveaxis(np.asarray(x), axis_x, -1))
    return np.moveaxis(unbroadcast(r, np.empty(shape, dtype=bool)), -1, axis_x)


# -- np.gradient (unit spacing) ----------------------------------------------------------


def _gradient_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        return tuple(int(a) % ndim for a in axis)
    return (int(axis) % ndim,)


def _gradient_transpose(g, axis, edge_order):
    """The transpose of np.gradient along one axis (unit spacing) applied to g."""
    g = np.moveaxis(g, axis, 0)
    out = np.zeros_like(g)
    out[2:] += 0.5 * g[1:-1]
    out[:-2] -= 0.5 * g[1:-1]
    if edge_order == 1:
        out[1] += g[0]
        out[0] -= g[0]
        out[-1] += g[-1]
        out[-2] -= g[-1]
    else:
        out[0] -= 1.5 * g[0]
        out[1] += 2.0 * g[0]
        out[2] -= 0.5 * g[0]
        out[-1] += 1.5 * g[-1]
        out[-2] -= 2.0 * g[-1]
        out[-3] += 0.5 * g[-1]
    return np.moveaxis(out, 0, axis)


def gradient_adjoint(g, f, axis=None, edge_order=1):
    """The adjoint of `np.gradient(f, axis=axis, edge_order=edge_order)` (unit spacing):
    g is one array, or a list of them (one per axis)."""
    axes = _gradient_axes(axis, np.ndim(f))
    parts = [g] if len(axes) == 1 else list(g)
    total = None
    for a, part in zip(axes, parts):
        part = np.broadcast_to(np.asarray(part), np.shape(f))
        r = _gradient_transpose(np.array(part, dtype=np.result_type(part, f, 1.0)), a,
                                edge_order)
        total = r if total is None else total + r
    return total


# -- np.pad: the modes that copy elements -------------------------------------------------


COPYING_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def _copying(mode):
    """np.pad's mode, known only when the code runs, must be one that copies elements."""
    if mode not in COPYING_MODES:
        raise NonDifferentiableError(
            f"np.pad with mode={mode!r}: ast-ad differentiates the modes that copy elements "
            f"({', '.join(COPYING_MODES)}) only",
            hint="pad with one of those modes, or compute the padding outside the "
                 "differentiated function")


def pad_adjoint(g, array, pad_width, mode="constant"):
    """The adjoint of `np.pad(array, pad_width, mode)` with respect to array, for the modes
    whose every output element is a copy of one input element (or the constant): each
    element's copies are summed back."""
    _copying(mode)
    n = np.size(array)
    # positions 1..n; 0 marks the constant (mode 'constant' fills with it)
    where = np.pad(np.arange(1, n + 1).reshape(np.shape(array)), pad_width, mode)
    g = np.asarray(g)
    total = np.bincount(np.ravel(where), weights=np.ravel(g), minlength=n + 1)[1:]
    return total.astype(np.result_type(g, array, 1.0), copy=False).reshape(np.shape(array))


# -- np.partition ---------------------------------------------------------------------------


def partition_order(a, y, axis=-1):
    """Where each element of y = np.partition(a, kth, axis) comes from in a (by rank, so it
    holds however np.partition arranged the elements; equal values share any order)."""
    ranks = np.argsort(np.argsort(y, axis, kind="stable"), axis, kind="stable")
    return np.take_along_axis(np.argsort(a, axis, kind="stable"), ranks, axis)


# -- matrix decompositions -------------------------------------------------------------------


def _t(x):
    return np.swapaxes(x, -1, -2)


def _filled(g, like):
    """An item of a tuple's adjoint as an array shaped like `like` (a zero adjoint may be
    the number 0.0)."""
    return np.broadcast_to(np.asarray(g, dtype=np.result_type(g, like)), np.shape(like))


def _as_read(g, lower):
    """The gradient of a symmetric-matrix function with respect to the triangle NumPy reads
    (np.linalg.eigh reads the lower one, UPLO='U' the upper): an off-diagonal element read
    there stands for both symmetric positions; the other triangle's gradient is 0."""
    both = g + _t(g)
    eye = np.eye(g.shape[-1], dtype=bool)
    half = np.where(eye, 0.5 * both, both)
    return np.tril(half) if lower else np.triu(half)


def _eigh_weights(w):
    diff = w[..., None, :] - w[..., :, None]  # w[j] - w[i]
    off = ~np.eye(w.shape[-1], dtype=bool)
    return np.divide(1.0, diff, out=np.zeros_like(diff), where=off)


def eigh_adjoint(gw, gv, w, v, UPLO="L"):
    """The adjoint of np.linalg.eigh(a, UPLO) = (w, V) from those of w and V: for a symmetric
    A = V diag(w) V^T it is V (diag(gw) + F * (V^T gV)) V^T with F[i, j] = 1 / (w[j] - w[i])
    off the diagonal (distinct eigenvalues), then taken to the triangle NumPy reads."""
    vt = _t(v)
    gw, gv = _filled(gw, w), _filled(gv, v)
    inner = gw[..., None, :] * np.eye(w.shape[-1], dtype=v.dtype) + _eigh_weights(w) * (vt @ gv)
    return _as_read(v @ inner @ vt, UPLO in ("L", "l"))


def eigh_tangent(da, w, v, UPLO="L"):
    """(dw, dV) of np.linalg.eigh along da, as NumPy reads it (one triangle, mirrored)."""
    if UPLO in ("L", "l"):
        da = np.tril(da) + _t(np.tril(da, -1))
    else:
        da = np.triu(da) + _t(np.triu(da, 1))
    m = _t(v) @ da @ v
    return np.diagonal(m, axis1=-2, axis2=-1), v @ (_eigh_weights(w) * m)


def svd_adjoint(gu, gs, gvt, u, s, vt):
    """The adjoint of A = U diag(s) V^T (reduced: full_matrices=False) from those of U, s
    and V^T; distinct nonzero singular values."""
    v = _t(vt)
    k = s.shape[-1]
    eye = np.eye(k, dtype=s.dtype)
    gu, gs, gv = _filled(gu, u), _filled(gs, s), _t(_filled(gvt, vt))
    s2 = s[..., None, :] ** 2 - s[..., :, None] ** 2
    off = ~np.eye(k, dtype=bool)
    f = np.divide(1.0, s2, out=np.zeros_like(s2), where=off)  # 1 / (s_j^2 - s_i^2)
    smat = s[..., None, :] * eye
    sinv = (1.0 / s)[..., None, :] * eye
    m, n = u.shape[-2], vt.shape[-1]
    ju = f * (_t(u) @ gu)
    jv = f * (vt @ gv)
    a = u @ (gs[..., None, :] * eye + (ju + _t(ju)) @ smat + smat @ (jv + _t(jv))) @ vt
    if m > k:
        a = a + (np.eye(m, dtype=u.dtype) - u @ _t(u)) @ gu @ sinv @ vt
    if n > k:
        a = a + u @ sinv @ _t(gv) @ (np.eye(n, dtype=u.dtype) - v @ vt)
    return a


def svd_tangent(da, u, s, vt):
    """(dU, ds, dV^T) of the reduced SVD along dA (distinct nonzero singular values)."""
    v = _t(vt)
    k = s.shape[-1]
    m, n = u.shape[-2], vt.shape[-1]
    p = _t(u) @ da @ v
    ds = np.diagonal(p, axis1=-2, axis2=-1)
    s2 = s[..., None, :] ** 2 - s[..., :, None] ** 2
    off = ~np.eye(k, dtype=bool)
    f = np.divide(1.0, s2, out=np.zeros_like(s2), where=off)
    sm = s[..., :, None]  # s_i down the rows
    sn = s[..., None, :]  # s_j along the columns
    pt = _t(p)
    du = u @ (f * (p * sn + sm * pt))
    dv = v @ (f * (sm * p + pt * sn))
    if m > k:
        du = du + (np.eye(m, dtype=u.dtype) - u @ _t(u)) @ da @ v / sn
    if n > k:
        dv = dv + (np.eye(n, dtype=u.dtype) - v @ vt) @ _t(da) @ u / sn
    return du, ds, _t(dv)


def qr_adjoint(gq, gr, q, r):
    """The adjoint of A = QR (reduced, A m x n with m >= n, R invertible) from those of Q, R."""
    gq, gr = _filled(gq, q), _filled(gr, r)
    m = r @ _t(gr) - _t(gq) @ q
    lower = np.tril(m, -1)
    copyltu = lower + _t(lower) + np.diagonal(m, axis1=-2, axis2=-1)[..., None, :] \
        * np.eye(m.shape[-1], dtype=m.dtype)
    b = gq + q @ copyltu
    return _t(np.linalg.solve(r, _t(b)))


def qr_tangent(da, q, r):
    """(dQ, dR) of the reduced QR along dA (m >= n, R invertible)."""
    x = _t(np.linalg.solve(_t(r), _t(_t(q) @ da)))  # Q^T dA R^-1
    lower = np.tril(x, -1)
    omega = lower - _t(lower)  # antisymmetric part that keeps R upper triangular
    dr = (_t(q) @ da) - omega @ r
    dq = da @ np.linalg.inv(r) - q @ dr @ np.linalg.inv(r)
    return dq, dr


def svd_values_adjoint(g, a):
    """The adjoint of np.linalg.svd(a, compute_uv=False): U diag(g) V^T."""
    u, _, vt = np.linalg.svd(a, full_matrices=False)
    return (u * np.asarray(g)[..., None, :]) @ vt


def svd_values_tangent_of(da, a):
    """The tangent of np.linalg.svd(a, compute_uv=False): diag(U^T dA V)."""
    u, _, vt = np.linalg.svd(a, full_matrices=False)
    return np.diagonal(_t(u) @ da @ _t(vt), axis1=-2, axis2=-1)


def pinv_adjoint(g, a, p):
    """The adjoint of P = np.linalg.pinv(A) (A of constant, full rank):
    -P^T G P^T + (I - A P) G^T P P^T + P^T P G^T (I - P A)."""
    pt, gt = _t(p), _t(g)
    m, n = np.shape(a)[-2], np.shape(a)[-1]
    return -(pt @ g @ pt) + (np.eye(m, dtype=p.dtype) - a @ p) @ gt @ p @ pt \
        + pt @ p @ gt @ (np.eye(n, dtype=p.dtype) - p @ a)


def pinv_tangent(da, a, p):
    """The tangent of P = np.linalg.pinv(A): -P dA P + P P^T dA^T (I - A P)
    + (I - P A) dA^T P^T P."""
    pt, dat = _t(p), _t(da)
    m, n = np.shape(a)[-2], np.shape(a)[-1]
    return -(p @ da @ p) + p @ pt @ dat @ (np.eye(m, dtype=p.dtype) - a @ p) \
        + (np.eye(n, dtype=p.dtype) - p @ a) @ dat @ pt @ p


# -- shapes: rollaxis, column_stack, differences ---------------------------------------------


def rollaxis_destination(ndim, axis, start=0):
    """Where np.rollaxis(a, axis, start) puts `axis` (it is np.moveaxis(a, axis, that))."""
    axis = int(axis) % ndim
    start = int(start) + ndim if start < 0 else int(start)
    return start - 1 if axis < start else start


def uncolumn_stack(g, tup):
    """The adjoint of np.column_stack(tup): 1-D pieces are columns, others join along axis 1."""
    widths = [1 if np.ndim(a) < 2 else np.shape(a)[1] for a in tup]
    pieces = np.split(g, np.cumsum(widths)[:-1], 1)
    return [np.reshape(p, np.shape(a)) for p, a in zip(pieces, tup)]


def undstack(g, tup):
    """The adjoint of np.dstack(tup): pieces of at least 3 dimensions joined along axis 2."""
    depths = [np.shape(np.atleast_3d(a))[2] for a in tup]
    pieces = np.split(g, np.cumsum(depths)[:-1], 2)
    return [np.reshape(p, np.shape(a)) for p, a in zip(pieces, tup)]


def diff_adjoint(g, n=1, axis=-1):
    """The adjoint of np.diff(a, n, axis): n times the transpose of a first difference."""
    g = np.asarray(g)
    for _ in range(n):
        shape = list(np.shape(g))
        shape[axis] = 1
        edge = np.zeros(shape, dtype=g.dtype)
        g = np.concatenate([edge, g], axis) - np.concatenate([g, edge], axis)
    return g


def pad_copies_tangent(da, pad_width, mode="constant"):
    """The tangent of np.pad(a, pad_width, mode) for the modes that copy elements."""
    _copying(mode)
    return np.pad(da, pad_width, mode)


def nan_count(a, axis=None, keepdims=False):
    """How many values of a are not NaN, along axis (for np.nanmean)."""
    return np.sum(~np.isnan(a), axis=axis, keepdims=keepdims)


# -- special functions ---------------------------------------------------------------------


def digamma(x):
    """The digamma function psi = Gamma'/Gamma of a float (for math.gamma and math.lgamma,
    without SciPy): the recurrence up to x >= 10, then the asymptotic series; the reflection
    formula below 0.5."""
    x = float(x)
    if x < 0.5:
        return digamma(1.0 - x) - math.pi / math.tan(math.pi * x)
    total = 0.0
    while x < 10.0:
        total -= 1.0 / x
        x += 1.0
    inv = 1.0 / (x * x)
    series = inv * (1 / 12 - inv * (1 / 120 - inv * (1 / 252 - inv * (1 / 240 - inv / 132))))
    return total + math.log(x) - 0.5 / x - series


def no_derivative_along(tangent, function: str, argument: str):
    """0 where the tangent of an argument a rule does not differentiate is 0 (jvp gives every
    argument a tangent), else no_derivative's error."""
    if np.any(np.asarray(tangent) != 0):
        no_derivative(function, argument)
    return 0.0


def no_derivative(function: str, argument: str):
    """Stands for the derivative of an argument a rule does not differentiate (the order of a
    Bessel function, the shape parameter of an incomplete gamma function): reached only when
    that argument carries a derivative, and then the derivative cannot be computed."""
    raise NonDifferentiableError(
        f"{function} has no derivative rule with respect to its argument {argument}, which "
        f"carries a derivative here",
        hint=f"compute {argument} outside the differentiated function, or wrap it in "
             f"ast_ad.stop_gradient")


# -- scipy.stats.multivariate_normal.logpdf(x, mean, cov): x of shape (k,) or (n, k) --------
# (cov is read as SciPy reads it: its lower triangle, mirrored)


def _lower_read(cov):
    return np.tril(cov) + np.tril(cov, -1).T


def mvn_whitened(x, mean, cov):
    """The rows of x - mean times cov's inverse, (n, k): what every derivative of
    `multivariate_normal.logpdf(x, mean, cov)` reads (one solve, shared)."""
    r = np.atleast_2d(np.asarray(x) - mean)
    return np.linalg.solve(_lower_read(cov), r.T).T


def _row_weights(g, s):
    """The adjoint of the log-density, one weight per row of s (g may be one number)."""
    return np.reshape(g, (-1, 1)) * np.ones((s.shape[0], 1))


def mvn_adjoint_x(g, s, x):
    """The adjoint of x in `y = multivariate_normal.logpdf(x, mean, cov)` (s: mvn_whitened)."""
    return np.reshape(-_row_weights(g, s) * s, np.shape(x))


def mvn_adjoint_mean(g, s):
    """The adjoint of mean (s: mvn_whitened)."""
    return np.sum(_row_weights(g, s) * s, axis=0)


def mvn_adjoint_cov(g, s, cov):
    """The adjoint of cov, in the triangle SciPy reads: (s s^T - inv(cov)) / 2 per row."""
    w = _row_weights(g, s)
    return _as_read(0.5 * ((s * w).T @ s - np.sum(w) * np.linalg.inv(_lower_read(cov))), True)


def mvn_tangent_location(d, s, x):
    """The change of the log-density along a change d of x - mean (s: mvn_whitened)."""
    out = -np.sum(s * d, axis=-1)
    return out if np.ndim(x) == 2 else out[0]


def mvn_tangent_cov(d, s, cov, x):
    """The change of the log-density along a change d of cov (its lower triangle)."""
    sym = _lower_read(d)
    out = 0.5 * (np.sum((s @ sym) * s, axis=-1) - np.trace(np.linalg.solve(_lower_read(cov), sym)))
    return out if np.ndim(x) == 2 else out[0]
