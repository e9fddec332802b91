"""Structure and information measures of Galbally et al. (2014), Table I: SSIM (19), VIF (20).

Both compare the grey image ``I`` (reference) with its smoothed copy ``I'`` (distorted).

Fast and exact: the local statistics of the distorted image are derived from those of the
difference ``D = I - I'`` (``mu' = mu - mu_D``, ``cov(I, I') = var(I) - cov(I, D)``,
``var(I') = var(I) - 2 cov(I, D) + var(D)``), algebraically the same quantities as the direct
formulas but without their cancellation. The pure functions (:func:`ssim`, :func:`vif`) work
in float64; the feature extractor (``ctx_ssim``, ``ctx_vif``) filters float32 planes of
``I - mean(I)`` and ``D``, shared by both measures, and agrees with float64 reference code to
~3e-8 (SSIM) and ~1e-6 (VIF) relative (see ``docs/measures.md``).

References
----------
.. [1] Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality assessment: from
   error visibility to structural similarity", IEEE Trans. Image Processing 13(4):600-612,
   2004.
.. [2] H. R. Sheikh, A. C. Bovik, "Image information and visual quality", IEEE Trans. Image
   Processing 15(2):430-444, 2006.
.. [3] J. Galbally, S. Marcel, J. Fierrez, "Image Quality Assessment for Fake Biometric
   Detection", IEEE Trans. Image Processing 23(2):710-724, 2014.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._context import SMOOTHING_SIGMA, QualityContext

__all__ = [
    "SSIM_SIGMA",
    "SSIM_WIN",
    "SSIM_K",
    "VIF_SCALES",
    "VIF_SIGMA_N2",
    "ssim",
    "ssim_bob",
    "vif",
    "ctx_ssim",
    "ctx_vif",
]

#: SSIM Gaussian window: 11 x 11, sigma 1.5 (Wang et al. 2004).
SSIM_WIN = 11
SSIM_SIGMA = 1.5
#: SSIM stabilising constants K1, K2 (C = (K L)^2, L = 255).
SSIM_K = (0.01, 0.03)
#: VIF: number of scales and the variance of the visual noise.
VIF_SCALES = 4
VIF_SIGMA_N2 = 2.0
_VIF_EPS = 1e-10
# float32 local variances carry rounding noise up to ~7e-7 * max(x^2) (measured on NUAA
# frames); below this bound VIF checks windows for exact constancy
_FLAT_TOL = 1e-5
_L = 255.0

_F = NDArray[np.float64]


def _pair(reference: ArrayLike, distorted: ArrayLike) -> tuple[_F, _F]:
    ref = np.ascontiguousarray(reference, dtype=np.float64)
    dis = np.ascontiguousarray(distorted, dtype=np.float64)
    if ref.shape != dis.shape or ref.ndim != 2:
        raise ValueError(f"need two 2-D images of the same shape, got {ref.shape}, {dis.shape}")
    return ref, dis


def _blur(x: NDArray[np.floating], ksize: int, sigma: float) -> NDArray[np.floating]:
    out = cv2.GaussianBlur(x, (ksize, ksize), sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)
    return np.asarray(out)


# --------------------------------------------------------------------------------------------
# SSIM
# --------------------------------------------------------------------------------------------
class _Planes(NamedTuple):
    """``x = I - offset``, ``d = D`` and their products, in one float dtype."""

    offset: float
    x: NDArray[Any]
    d: NDArray[Any]
    xx: NDArray[Any]
    xd: NDArray[Any]
    dd: NDArray[Any]


def _planes(ref: _F, diff: _F, dtype: type[np.floating] = np.float64) -> _Planes:
    offset = float(ref.mean())  # variances of I - mean(I): smaller squares, same values
    x = np.empty(ref.shape, dtype)
    np.subtract(ref, offset, out=x, casting="unsafe")  # in double, rounded once
    d = diff.astype(dtype, copy=False)
    return _Planes(offset, x, d, x * x, x * d, d * d)


def _ctx_planes(ctx: QualityContext) -> _Planes:
    """float32 planes of ``I`` and ``D``, shared by SSIM and VIF."""
    return ctx.cached("structural.planes32", lambda c: _planes(c.I, c.diff, np.float32))


def _ssim_map(p: _Planes, smoothed: bool = False) -> NDArray[Any]:
    """SSIM map in the difference form (dtype of the planes), on the inner rows.

    With ``mu2 = mu1 - mu_D``, ``sigma12 = s11 - c`` and ``sigma2^2 = s11 - 2c + v``
    (``s11 = var(I)``, ``c = cov(I, D)``, ``v = var(D)``), each denominator is its numerator
    plus a small non-negative term: ``mu1^2 + mu2^2 + C1 = (2 mu1 mu2 + C1) + mu_D^2`` and
    ``sigma1^2 + sigma2^2 + C2 = (2 sigma12 + C2) + v``. Nothing cancels, which keeps float32
    exact to ~1e-8 when ``D`` is small.

    Returns the rows whose windows fit in the image, all columns (contiguous); the columns
    whose windows reach outside are dropped by the caller. ``smoothed``: the distorted image
    is ``I' = smooth(I)``, which allows a shortcut for ``mu_D`` (below).
    """
    w, s = SSIM_WIN, SSIM_SIGMA
    c1, c2 = (SSIM_K[0] * _L) ** 2, (SSIM_K[1] * _L) ** 2
    # mu_D = G * (x - G3 * x) = mu_x - G3 * mu_x on the inner windows (I' = G3 * I with the
    # same symmetric border): one 3x3 filter instead of an 11x11 one. Its rounding error
    # (~1e-5 absolute in float32) moves SSIM by ~1e-8 relative (mu_D enters squared).
    commute = smoothed and min(p.x.shape) >= w
    mu_x, mu_d, s11, c, v = _local_moments(p, w, s, _inner_rows(p.x.shape[0]), commute)
    mu1 = mu_x
    mu1 += p.offset
    mu2 = mu1 - mu_d
    num = np.asarray(cv2.multiply(mu1, mu2, scale=2.0))
    num += c1  # 2 mu1 mu2 + C1
    np.multiply(mu_d, mu_d, out=mu_d)
    den = np.add(num, mu_d, out=mu_d)  # mu1^2 + mu2^2 + C1
    num2 = np.asarray(cv2.addWeighted(s11, 2.0, c, -2.0, c2))  # 2 sigma12 + C2
    v += num2  # sigma1^2 + sigma2^2 + C2
    num *= num2
    den *= v
    num /= den
    return num


def _inner_rows(h: int) -> slice:
    """Rows whose SSIM window lies inside the image (all rows if none does)."""
    pad = (SSIM_WIN - 1) // 2
    return slice(pad, h - pad) if h > 2 * pad else slice(0, h)


def _inner_mean(m: NDArray[Any], width: int) -> float:
    """Mean of the inner columns of a map of inner rows (all columns if none is inside)."""
    pad = (SSIM_WIN - 1) // 2
    if width > 2 * pad:
        m = m[:, pad : width - pad]
    return float(cv2.sumElems(np.ascontiguousarray(m))[0]) / m.size  # float64 accumulation


def _ssim_map_bob(ref: _F, dis: _F) -> _F:
    """bob.ip.qualitymeasure 1.1.8's SSIM map: ``sigma2^2 = E[I'^2] - mu1^2`` (a bug).

    Its denominator crosses zero, so single pixels reach |SSIM| ~ 1e4 and the mean is very
    sensitive to rounding: computed directly in float64, like bob.
    """
    w, s = SSIM_WIN, SSIM_SIGMA
    c1, c2 = (SSIM_K[0] * _L) ** 2, (SSIM_K[1] * _L) ** 2
    mu1 = _blur(ref, w, s)
    mu2 = _blur(dis, w, s)
    s11 = _blur(ref * ref, w, s) - mu1 * mu1
    s22 = _blur(dis * dis, w, s) - mu1 * mu1
    s12 = _blur(ref * dis, w, s) - mu1 * mu2
    num = (2.0 * mu1 * mu2 + c1) * (2.0 * s12 + c2)
    den = (mu1 * mu1 + mu2 * mu2 + c1) * (s11 + s22 + c2)
    with np.errstate(divide="ignore", invalid="ignore"):
        m = num / den
    return np.where(np.isfinite(m), m, 0.0)[_inner_rows(m.shape[0])]


def ssim(reference: ArrayLike, distorted: ArrayLike) -> float:
    r"""Mean structural similarity index (Wang et al. 2004).

    .. math:: \mathrm{SSIM} = \frac{1}{|W|}\sum_{w\in W}
              \frac{(2\mu_1\mu_2 + C_1)(2\sigma_{12} + C_2)}
                   {(\mu_1^2 + \mu_2^2 + C_1)(\sigma_1^2 + \sigma_2^2 + C_2)}

    with Gaussian-weighted local statistics (11 x 11 window, sigma 1.5, weights normalised,
    population covariance), :math:`C_1 = (0.01 \cdot 255)^2`, :math:`C_2 = (0.03 \cdot 255)^2`
    (inputs in 0..255), averaged over the windows that lie inside the image (the ``valid``
    area, 5 pixels cropped on each side). This is scikit-image's
    ``structural_similarity(..., gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=255)``.

    Computed in the difference form (see the module notes) in float64. The feature extractor
    (``ctx_ssim``) filters in float32, which is exact to about 1e-7 relative when the distorted
    image is close to the reference, as ``I'`` is to ``I``. An image smaller than 11 pixels on
    a side has no inner window: the map is then averaged over all pixels (symmetric border).
    Identical images give exactly 1.

    References
    ----------
    Wang, Bovik, Sheikh & Simoncelli 2004; Galbally et al. 2014, Table I (measure 19).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.tile(np.arange(32.0) * 8, (32, 1))
    >>> ssim(a, a)
    1.0
    >>> round(ssim(a, a[:, ::-1]), 4)
    -0.4893
    """
    ref, dis = _pair(reference, distorted)
    return _ssim_value(ref, ref - dis)


def _ssim_value(ref: _F, diff: _F, planes: _Planes | None = None) -> float:
    """SSIM of ``ref`` and ``ref - diff``; ``planes``: the float32 planes of a context, whose
    distorted image is ``I' = smooth(I)`` and whose caller has ruled out ``D = 0``."""
    if planes is not None:
        return _inner_mean(_ssim_map(planes, smoothed=True), ref.shape[1])
    if not diff.any():
        return 1.0  # identical images (exactly 1 whatever the rounding of the filters)
    return _inner_mean(_ssim_map(_planes(ref, diff)), ref.shape[1])


def ssim_bob(reference: ArrayLike, distorted: ArrayLike) -> float:
    r"""SSIM as bob.ip.qualitymeasure 1.1.8 computes it (not Wang et al.'s definition).

    As :func:`ssim` but with :math:`\sigma_2^2 = E[\hat I^2] - \mu_1^2` (instead of
    :math:`\mu_2^2`), which can exceed 1. Windows whose denominator is exactly 0 count 0.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.tile(np.arange(32.0) * 8, (32, 1))
    >>> ssim_bob(a, a)
    1.0
    >>> round(ssim_bob(a, a + 10), 4)
    0.1355
    """
    ref, dis = _pair(reference, distorted)
    return _inner_mean(_ssim_map_bob(ref, dis), ref.shape[1])


# --------------------------------------------------------------------------------------------
# VIF
# --------------------------------------------------------------------------------------------
def _vif_window(scale: int) -> tuple[int, float]:
    n = 2 ** (VIF_SCALES - scale + 1) + 1
    return n, n / 5.0


def _crop(x: NDArray[Any], r: int) -> NDArray[Any]:
    h, w = x.shape
    return x[r : h - r, r : w - r]


def _sum_log10_1p(x: NDArray[Any], r: int) -> float:
    """``sum(log10(1 + x[:, r:-r]))`` for ``x >= 0`` (float32 logarithms, float64 sum).

    Overwrites ``x`` (float32) to work on whole contiguous rows: the ``r`` columns at each
    side are set to 0, whose terms are ``log10(1) = 0``.
    """
    x[:, :r] = 0.0
    x[:, x.shape[1] - r :] = 0.0
    t = np.add(x, 1.0, out=x) if x.dtype == np.float32 else np.add(x, 1.0, dtype=np.float32)
    np.log10(t, out=t)
    return float(cv2.sumElems(t)[0])  # float64 accumulation, 4x faster than numpy's


def _vif_scale(p: _Planes, n: int, sigma: float, exact_flat: bool) -> tuple[float, float]:
    """Numerator and denominator of one scale of Sheikh & Bovik's vifp, difference form.

    With ``s11 = var(I)``, ``c = cov(I, D)``, ``v = var(D)``: ``sigma12 = s11 - c``,
    ``sigma2^2 = s11 - 2c + v`` and the residual variance
    ``sigma_v^2 = sigma2^2 - g sigma12 = (v s11 - c^2 + eps sigma2^2) / (s11 + eps)`` with
    ``g = sigma12 / (s11 + eps)``, free of the cancellation of the direct formula. With
    ``exact_flat``, windows where ``x`` is exactly constant get ``s11 = 0`` exactly (in
    float32 the variance of a constant window is rounding noise), as in float64.

    Works on whole rows (contiguous arrays: 2.5x faster than on column-cropped views), in
    place, and drops the windows that reach outside the image at the sums.
    """
    r = (n - 1) // 2
    h, w = p.x.shape
    rows = slice(r, h - r)
    s11, c, v = _local_moments(p, n, sigma, rows)[2:]
    eps = _VIF_EPS
    s12 = s11 - c
    s2 = s12 - c
    s2 += v
    s2 = _positive(s2)  # max(sigma2^2, 0)
    if exact_flat:
        _zero_flat_windows(s11, p.x, n)
    s1 = _positive(s11, eps)  # negative or below 1e-10: no reference variance, terms 0
    den_g = s1 + eps
    g = _positive(np.divide(s12, den_g, out=s12))  # negative gain: 0
    np.copyto(g, 0.0, where=s2 < eps)  # no distorted variance: gain 0
    sv = np.multiply(v, s1, out=v)
    sv -= np.multiply(c, c, out=c)
    s2 *= eps
    sv += s2
    sv /= den_g
    np.maximum(sv, eps, out=sv)
    sv += VIF_SIGMA_N2
    g *= g
    g *= s1
    g /= sv
    s1 *= 1.0 / VIF_SIGMA_N2
    return _sum_log10_1p(g, r), _sum_log10_1p(s1, r)


def _local_moments(
    p: _Planes, n: int, sigma: float, rows: slice, commute: bool = False
) -> tuple[Any, ...]:
    """``mean(x)``, ``mean(d)``, ``var(x)``, ``cov(x, d)``, ``var(d)`` in n x n Gaussian
    windows (symmetric border), on ``rows``."""
    full = _blur(p.x, n, sigma)
    mu_x = full[rows]
    if commute:  # mu_d = mu_x - G3 * mu_x on the windows inside the image
        mu_d = (full - _blur(full, 3, SMOOTHING_SIGMA))[rows]
    else:
        mu_d = _blur(p.d, n, sigma)[rows]
    t = mu_x * mu_x
    s11 = _blur(p.xx, n, sigma)[rows]
    s11 -= t
    c = _blur(p.xd, n, sigma)[rows]
    c -= np.multiply(mu_x, mu_d, out=t)
    v = _blur(p.dd, n, sigma)[rows]
    v -= np.multiply(mu_d, mu_d, out=t)
    return mu_x, mu_d, s11, c, v


def _zero_flat_windows(s11: NDArray[Any], x: NDArray[Any], n: int) -> None:
    """Set ``s11`` to 0 where the n x n window of ``x`` is exactly constant.

    Looked for only if some ``s11`` is within float32 rounding of 0. A window is constant
    when every 2 x 2 block inside it is: a uint8 mask of the non-constant blocks, dilated over
    (n - 1) x (n - 1) blocks, is 0 exactly there (4x cheaper than a float max - min filter).
    """
    lo, hi = cv2.minMaxLoc(x)[:2]
    if cv2.minMaxLoc(s11)[0] >= _FLAT_TOL * max(-lo, hi) ** 2:
        return
    a, b = x[:-1], x[1:]
    step = cv2.compare(a, b, cv2.CMP_NE)  # block rows differ vertically
    step = step[:, :-1]  # (h - 1, w - 1): block (i, j) is not constant
    for rows in (a, b):
        cv2.bitwise_or(step, cv2.compare(rows[:, :-1], rows[:, 1:], cv2.CMP_NE), dst=step)
    kernel = np.ones((n - 1, n - 1), np.uint8)
    busy = cv2.dilate(step, kernel, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT, borderValue=0)
    # window (i, j) is constant iff blocks (i..i+n-2, j..j+n-2) are: busy[i, j] == 0
    h, w = x.shape
    flat = busy[: h - n + 1, : w - n + 1] == 0
    r = (n - 1) // 2
    np.copyto(s11[:, r : w - r], 0.0, where=flat)


def _positive(x: NDArray[Any], floor: float = 0.0) -> NDArray[Any]:
    """``x`` where ``x > floor``, else 0 (OpenCV's threshold: 3x faster than np.maximum)."""
    if x.dtype == np.float64:  # the pure float64 path: the reference's test, x >= floor
        return np.where(x >= floor, x, 0.0)
    return np.asarray(cv2.threshold(x, floor, 0.0, cv2.THRESH_TOZERO)[1])


def _downsample(x: NDArray[Any], n: int, sigma: float) -> NDArray[Any]:
    """Filter with the n x n window ('valid') and keep every other row and column."""
    r = (n - 1) // 2
    return np.ascontiguousarray(_crop(_blur(x, n, sigma), r)[::2, ::2])


def _vif_value(ref: _F, diff: _F, planes: _Planes | None = None) -> float:
    """VIF of ``ref`` and ``ref - diff``; ``planes``: the float32 planes of a context, whose
    caller has ruled out ``D = 0``."""
    if planes is None and not diff.any():
        return 1.0
    p = _planes(ref, diff) if planes is None else planes
    exact_flat = p.x.dtype != np.float64
    num = den = 0.0
    for scale in range(1, VIF_SCALES + 1):
        n, sigma = _vif_window(scale)
        if scale > 1:
            if min(p.x.shape) < n:
                break
            x, d = _downsample(p.x, n, sigma), _downsample(p.d, n, sigma)
            p = _Planes(p.offset, x, d, x * x, x * d, d * d)
        if min(p.x.shape) < n:
            break
        sn, sd = _vif_scale(p, n, sigma, exact_flat)
        num += sn
        den += sd
    return num / den if den > 0.0 else 1.0


def vif(reference: ArrayLike, distorted: ArrayLike) -> float:
    r"""Visual information fidelity, pixel domain (VIFp, Sheikh & Bovik 2006).

    .. math:: \mathrm{VIF} = \frac{\sum_{s=1}^{4}\sum_{j}
              \log_{10}\left(1 + \frac{g_j^2 \sigma_{1,j}^2}{\sigma_{v,j}^2 + \sigma_n^2}\right)}
              {\sum_{s=1}^{4}\sum_j \log_{10}\left(1 + \frac{\sigma_{1,j}^2}{\sigma_n^2}\right)}

    with, at each scale s, Gaussian windows of size :math:`N = 2^{5-s} + 1` and sigma
    :math:`N/5` (``valid`` filtering), local gain :math:`g = \sigma_{12}/\sigma_1^2`, residual
    variance :math:`\sigma_v^2 = \sigma_2^2 - g\sigma_{12}` (with the usual clamps of the
    reference ``vifvec``/``vifp_mscale`` code for negative gains and flat windows),
    :math:`\sigma_n^2 = 2`, and between scales filtering with the next scale's window and
    keeping every other row and column.

    Degenerate cases: identical images give 1; scales whose window no longer fits the image are
    skipped; if no scale has reference variance (flat or too small images) VIF is 1.

    References
    ----------
    Sheikh & Bovik 2006; Galbally et al. 2014, Table I (measure 20).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.uniform(0, 255, (64, 64))
    >>> vif(a, a)
    1.0
    >>> round(vif(a, a + rng.normal(0, 10, a.shape)), 3)
    0.53
    """
    ref, dis = _pair(reference, distorted)
    return _vif_value(ref, ref - dis)


# --------------------------------------------------------------------------------------------
# context adaptors
# --------------------------------------------------------------------------------------------
def ctx_ssim(ctx: QualityContext) -> float:
    """SSIM of ``I`` and ``I'``; ``"bob"`` reproduces bob's ``sigma2^2`` bug."""
    if ctx.convention == "bob":
        return _inner_mean(_ssim_map_bob(ctx.I, ctx.smoothed), ctx.shape[1])
    # I' is close to I: float32 is exact to ~1e-8 in the difference form (see _ssim_map)
    if ctx.sum_sq_diff == 0.0:  # identical images (shared with MSE)
        return 1.0
    return _ssim_value(ctx.I, ctx.diff, _ctx_planes(ctx))


def ctx_vif(ctx: QualityContext) -> float:
    """VIF of ``I`` and ``I'`` (both conventions), local statistics in float32."""
    if ctx.sum_sq_diff == 0.0:  # identical images (shared with MSE)
        return 1.0
    return _vif_value(ctx.I, ctx.diff, _ctx_planes(ctx))
