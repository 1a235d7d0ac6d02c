"""scipy.stats distributions, loaded where SciPy is installed, when the compiler first meets a
function of scipy.stats (importing it takes seconds): norm (pdf, cdf, sf, logpdf,
logcdf, logsf in x, loc and scale), t (pdf, logpdf; cdf, logcdf in x, loc and scale), chi2
(pdf, cdf, logpdf in x), gamma and beta (pdf, logpdf; cdf in x), multivariate_normal (logpdf in
x, mean and cov). Parameters a rule does not differentiate must carry no derivative."""

# ruff: noqa: F821

import numpy as np
import scipy.special as sp
import scipy.stats

from ..runtime import unbroadcast
from ..runtime_extra import (
    mvn_adjoint_cov,
    mvn_adjoint_mean,
    mvn_adjoint_x,
    mvn_tangent_cov,
    mvn_tangent_location,
    mvn_whitened,
    no_derivative,
    no_derivative_along,
)
from .registry import adjoint, tangent

norm = scipy.stats.norm
LOG_SQRT_2PI = float(0.5 * np.log(2 * np.pi))
NORM = "in x, loc and scale (broadcast)"

# -- the normal distribution: z = (x - loc) / scale ------------------------------------------


@adjoint(norm.pdf, note=NORM)
def norm_pdf(y, x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    g = b[y] * y / scale
    b[x] = unbroadcast(-g * z, x)
    b[loc] = unbroadcast(g * z, loc)
    b[scale] = unbroadcast(g * (z * z - 1.0), scale)


@tangent(norm.pdf)
def norm_pdf_tangent(y, x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    d[y] = y / scale * ((d[loc] - d[x]) * z + d[scale] * (z * z - 1.0))


@adjoint(norm.logpdf, note=NORM)
def norm_logpdf(y, x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    b[x] = unbroadcast(-b[y] * z / scale, x)
    b[loc] = unbroadcast(b[y] * z / scale, loc)
    b[scale] = unbroadcast(b[y] * (z * z - 1.0) / scale, scale)


@tangent(norm.logpdf)
def norm_logpdf_tangent(y, x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    d[y] = ((d[loc] - d[x]) * z + d[scale] * (z * z - 1.0)) / scale


@adjoint(norm.cdf, note=NORM)
def norm_cdf(y, x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    g = b[y] * np.exp(-0.5 * z * z - LOG_SQRT_2PI) / scale
    b[x] = unbroadcast(g, x)
    b[loc] = unbroadcast(-g, loc)
    b[scale] = unbroadcast(-g * z, scale)


@tangent(norm.cdf)
def norm_cdf_tangent(y, x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    d[y] = np.exp(-0.5 * z * z - LOG_SQRT_2PI) / scale * (d[x] - d[loc] - d[scale] * z)


@adjoint(norm.sf, note=NORM)
def norm_sf(y, x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    g = b[y] * np.exp(-0.5 * z * z - LOG_SQRT_2PI) / scale
    b[x] = unbroadcast(-g, x)
    b[loc] = unbroadcast(g, loc)
    b[scale] = unbroadcast(g * z, scale)


@tangent(norm.sf)
def norm_sf_tangent(y, x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    d[y] = np.exp(-0.5 * z * z - LOG_SQRT_2PI) / scale * (d[loc] + d[scale] * z - d[x])


@adjoint(norm.logcdf, note=NORM)
def norm_logcdf(y, x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    g = b[y] * np.exp(-0.5 * z * z - LOG_SQRT_2PI - y) / scale
    b[x] = unbroadcast(g, x)
    b[loc] = unbroadcast(-g, loc)
    b[scale] = unbroadcast(-g * z, scale)


@tangent(norm.logcdf)
def norm_logcdf_tangent(y, x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    d[y] = np.exp(-0.5 * z * z - LOG_SQRT_2PI - y) / scale * (d[x] - d[loc] - d[scale] * z)


@adjoint(norm.logsf, note=NORM)
def norm_logsf(y, x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    g = b[y] * np.exp(-0.5 * z * z - LOG_SQRT_2PI - y) / scale
    b[x] = unbroadcast(-g, x)
    b[loc] = unbroadcast(g, loc)
    b[scale] = unbroadcast(g * z, scale)


@tangent(norm.logsf)
def norm_logsf_tangent(y, x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    d[y] = np.exp(-0.5 * z * z - LOG_SQRT_2PI - y) / scale * (d[loc] + d[scale] * z - d[x])


# -- Student's t: z = (x - loc) / scale, df degrees of freedom ---------------------------------

T = "in x, df, loc and scale (broadcast)"


@adjoint(scipy.stats.t.logpdf, note=T)
def t_logpdf(y, x, df, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    w = (df + 1.0) / (df + z * z)  # -d/dz of the log-density is w z
    b[x] = unbroadcast(-b[y] * w * z / scale, x)
    b[loc] = unbroadcast(b[y] * w * z / scale, loc)
    b[scale] = unbroadcast(b[y] * (w * z * z - 1.0) / scale, scale)
    b[df] = unbroadcast(b[y] * 0.5 * (sp.digamma(0.5 * (df + 1.0)) - sp.digamma(0.5 * df)
                                      - 1.0 / df - np.log1p(z * z / df) + w * z * z / df), df)


@tangent(scipy.stats.t.logpdf)
def t_logpdf_tangent(y, x, df, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    w = (df + 1.0) / (df + z * z)
    d[y] = ((d[loc] - d[x]) * w * z + d[scale] * (w * z * z - 1.0)) / scale \
        + d[df] * 0.5 * (sp.digamma(0.5 * (df + 1.0)) - sp.digamma(0.5 * df) - 1.0 / df
                         - np.log1p(z * z / df) + w * z * z / df)


@adjoint(scipy.stats.t.pdf, note=T)
def t_pdf(y, x, df, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    w = (df + 1.0) / (df + z * z)
    g = b[y] * y
    b[x] = unbroadcast(-g * w * z / scale, x)
    b[loc] = unbroadcast(g * w * z / scale, loc)
    b[scale] = unbroadcast(g * (w * z * z - 1.0) / scale, scale)
    b[df] = unbroadcast(g * 0.5 * (sp.digamma(0.5 * (df + 1.0)) - sp.digamma(0.5 * df)
                                   - 1.0 / df - np.log1p(z * z / df) + w * z * z / df), df)


@tangent(scipy.stats.t.pdf)
def t_pdf_tangent(y, x, df, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    w = (df + 1.0) / (df + z * z)
    d[y] = y * (((d[loc] - d[x]) * w * z + d[scale] * (w * z * z - 1.0)) / scale
                + d[df] * 0.5 * (sp.digamma(0.5 * (df + 1.0)) - sp.digamma(0.5 * df) - 1.0 / df
                                 - np.log1p(z * z / df) + w * z * z / df))


TCDF = "in x, loc and scale (broadcast); no derivative in df"


@adjoint(scipy.stats.t.cdf, note=TCDF)
def t_cdf(y, x, df, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    g = b[y] * scipy.stats.t.pdf(z, df) / scale
    b[x] = unbroadcast(g, x)
    b[loc] = unbroadcast(-g, loc)
    b[scale] = unbroadcast(-g * z, scale)
    b[df] = no_derivative("scipy.stats.t.cdf", "df")


@tangent(scipy.stats.t.cdf)
def t_cdf_tangent(y, x, df, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    d[y] = scipy.stats.t.pdf(z, df) / scale * (d[x] - d[loc] - d[scale] * z) \
        + d[df] * no_derivative_along(d[df], "scipy.stats.t.cdf", "df")


@adjoint(scipy.stats.t.logcdf, note=TCDF)
def t_logcdf(y, x, df, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    g = b[y] * np.exp(scipy.stats.t.logpdf(z, df) - y) / scale
    b[x] = unbroadcast(g, x)
    b[loc] = unbroadcast(-g, loc)
    b[scale] = unbroadcast(-g * z, scale)
    b[df] = no_derivative("scipy.stats.t.logcdf", "df")


@tangent(scipy.stats.t.logcdf)
def t_logcdf_tangent(y, x, df, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    d[y] = np.exp(scipy.stats.t.logpdf(z, df) - y) / scale * (d[x] - d[loc] - d[scale] * z) \
        + d[df] * no_derivative_along(d[df], "scipy.stats.t.logcdf", "df")


# -- chi2 in x (df: no derivative) ----------------------------------------------------------

CHI2 = "in x (not loc, scale); no derivative in df"


@adjoint(scipy.stats.chi2.logpdf, note=CHI2)
def chi2_logpdf(y, x, df):
    b[x] = unbroadcast(b[y] * ((0.5 * df - 1.0) / x - 0.5), x)
    b[df] = no_derivative("scipy.stats.chi2.logpdf", "df")


@tangent(scipy.stats.chi2.logpdf)
def chi2_logpdf_tangent(y, x, df):
    d[y] = d[x] * ((0.5 * df - 1.0) / x - 0.5) \
        + d[df] * no_derivative_along(d[df], "scipy.stats.chi2.logpdf", "df")


@adjoint(scipy.stats.chi2.pdf, note=CHI2)
def chi2_pdf(y, x, df):
    b[x] = unbroadcast(b[y] * y * ((0.5 * df - 1.0) / x - 0.5), x)
    b[df] = no_derivative("scipy.stats.chi2.pdf", "df")


@tangent(scipy.stats.chi2.pdf)
def chi2_pdf_tangent(y, x, df):
    d[y] = d[x] * y * ((0.5 * df - 1.0) / x - 0.5) \
        + d[df] * no_derivative_along(d[df], "scipy.stats.chi2.pdf", "df")


@adjoint(scipy.stats.chi2.cdf, note=CHI2)
def chi2_cdf(y, x, df):
    b[x] = unbroadcast(b[y] * scipy.stats.chi2.pdf(x, df), x)
    b[df] = no_derivative("scipy.stats.chi2.cdf", "df")


@tangent(scipy.stats.chi2.cdf)
def chi2_cdf_tangent(y, x, df):
    d[y] = d[x] * scipy.stats.chi2.pdf(x, df) \
        + d[df] * no_derivative_along(d[df], "scipy.stats.chi2.cdf", "df")


# -- gamma(x, a) and beta(x, a, b): pdf and logpdf in every argument ------------------------

GAMMA = "in x and a (not loc, scale)"


@adjoint(scipy.stats.gamma.logpdf, note=GAMMA)
def gamma_logpdf(y, x, a):
    b[x] = unbroadcast(b[y] * ((a - 1.0) / x - 1.0), x)
    b[a] = unbroadcast(b[y] * (np.log(x) - sp.digamma(a)), a)


@tangent(scipy.stats.gamma.logpdf)
def gamma_logpdf_tangent(y, x, a):
    d[y] = d[x] * ((a - 1.0) / x - 1.0) + d[a] * (np.log(x) - sp.digamma(a))


@adjoint(scipy.stats.gamma.pdf, note=GAMMA)
def gamma_pdf(y, x, a):
    b[x] = unbroadcast(b[y] * y * ((a - 1.0) / x - 1.0), x)
    b[a] = unbroadcast(b[y] * y * (np.log(x) - sp.digamma(a)), a)


@tangent(scipy.stats.gamma.pdf)
def gamma_pdf_tangent(y, x, a):
    d[y] = y * (d[x] * ((a - 1.0) / x - 1.0) + d[a] * (np.log(x) - sp.digamma(a)))


GAMMA_CDF = "in x (not loc, scale); no derivative in a"


@adjoint(scipy.stats.gamma.cdf, note=GAMMA_CDF)
def gamma_cdf(y, x, a):
    b[x] = unbroadcast(b[y] * scipy.stats.gamma.pdf(x, a), x)
    b[a] = no_derivative("scipy.stats.gamma.cdf", "a")


@tangent(scipy.stats.gamma.cdf)
def gamma_cdf_tangent(y, x, a):
    d[y] = d[x] * scipy.stats.gamma.pdf(x, a) \
        + d[a] * no_derivative_along(d[a], "scipy.stats.gamma.cdf", "a")


BETA = "in x, a and b (not loc, scale)"


@adjoint(scipy.stats.beta.logpdf, note=BETA)
def beta_logpdf(y, x, a, b_):
    both = sp.digamma(a + b_)
    b[x] = unbroadcast(b[y] * ((a - 1.0) / x - (b_ - 1.0) / (1.0 - x)), x)
    b[a] = unbroadcast(b[y] * (np.log(x) - sp.digamma(a) + both), a)
    b[b_] = unbroadcast(b[y] * (np.log1p(-x) - sp.digamma(b_) + both), b_)


@tangent(scipy.stats.beta.logpdf)
def beta_logpdf_tangent(y, x, a, b_):
    both = sp.digamma(a + b_)
    d[y] = d[x] * ((a - 1.0) / x - (b_ - 1.0) / (1.0 - x)) \
        + d[a] * (np.log(x) - sp.digamma(a) + both) + d[b_] * (np.log1p(-x) - sp.digamma(b_) + both)


@adjoint(scipy.stats.beta.pdf, note=BETA)
def beta_pdf(y, x, a, b_):
    both = sp.digamma(a + b_)
    b[x] = unbroadcast(b[y] * y * ((a - 1.0) / x - (b_ - 1.0) / (1.0 - x)), x)
    b[a] = unbroadcast(b[y] * y * (np.log(x) - sp.digamma(a) + both), a)
    b[b_] = unbroadcast(b[y] * y * (np.log1p(-x) - sp.digamma(b_) + both), b_)


@tangent(scipy.stats.beta.pdf)
def beta_pdf_tangent(y, x, a, b_):
    both = sp.digamma(a + b_)
    d[y] = y * (d[x] * ((a - 1.0) / x - (b_ - 1.0) / (1.0 - x))
                + d[a] * (np.log(x) - sp.digamma(a) + both)
                + d[b_] * (np.log1p(-x) - sp.digamma(b_) + both))


BETA_CDF = "in x (not loc, scale); no derivative in a and b"


@adjoint(scipy.stats.beta.cdf, note=BETA_CDF)
def beta_cdf(y, x, a, b_):
    b[x] = unbroadcast(b[y] * scipy.stats.beta.pdf(x, a, b_), x)
    b[a] = no_derivative("scipy.stats.beta.cdf", "a")
    b[b_] = no_derivative("scipy.stats.beta.cdf", "b")


@tangent(scipy.stats.beta.cdf)
def beta_cdf_tangent(y, x, a, b_):
    d[y] = d[x] * scipy.stats.beta.pdf(x, a, b_) \
        + d[a] * no_derivative_along(d[a], "scipy.stats.beta.cdf", "a") \
        + d[b_] * no_derivative_along(d[b_], "scipy.stats.beta.cdf", "b")


# -- the multivariate normal: logpdf(x, mean, cov), x one point (k,) or rows (n, k) -----------

MVN_NOTE = ("logpdf(x, mean, cov) with mean and cov given, x of shape (k,) or (n, k), mean "
            "(k,), cov (k, k), k >= 2 (cov read by its lower triangle, as SciPy reads it)")


def _mvn_shapes(args) -> bool:
    """The shapes the rule covers (k >= 2: with k = 1, SciPy reads a 1-D x as n points)."""
    x, mean, cov = args["x"].shape, args["mean"].shape, args["cov"].shape
    return x is not None and mean is not None and cov is not None and len(mean) == 1 \
        and mean[0] >= 2 and cov == (mean[0], mean[0]) and len(x) in (1, 2) \
        and x[-1] == mean[0]


@adjoint(scipy.stats.multivariate_normal.logpdf, when=_mvn_shapes, note=MVN_NOTE)
def mvn_logpdf(y, x, mean, cov):
    s = mvn_whitened(x, mean, cov)
    b[x] = mvn_adjoint_x(b[y], s, x)
    b[mean] = mvn_adjoint_mean(b[y], s)
    b[cov] = mvn_adjoint_cov(b[y], s, cov)


@tangent(scipy.stats.multivariate_normal.logpdf, when=_mvn_shapes)
def mvn_logpdf_tangent(y, x, mean, cov):
    s = mvn_whitened(x, mean, cov)
    d[y] = mvn_tangent_location(d[x] - d[mean], s, x) + mvn_tangent_cov(d[cov], s, cov, x)
