"""Pixel-difference measures of Galbally, Marcel & Fierrez (2014), Table I, measures 1-12.

Each measure is a small pure function of a *reference* and a *distorted* image (same shape,
float), plus a ``ctx_<name>(ctx)`` adaptor that applies it to the grey image ``I`` (reference)
and its smoothed copy ``I'`` (distorted) of a
:class:`~iqa_liveness.quality._context.QualityContext`, in the context's convention
(``"standard"``: the papers; ``"bob"``: bob.ip.qualitymeasure 1.1.8).

Degenerate inputs never give NaN or inf: a ratio ``0/0`` takes the value of two identical
images, a ratio ``x/0`` is computed as ``x / 1e-10`` (it cannot occur between ``I`` and ``I'``,
since ``I'`` is zero only where ``I`` is), and decibel values are clipped to
``[-PSNR_CAP, PSNR_CAP]``.

References
----------
.. [1] J. Galbally, S. Marcel, J. Fierrez, "Image Quality Assessment for Fake Biometric
   Detection: Application to Iris, Fingerprint, and Face Recognition", IEEE Trans. Image
   Processing 23(2):710-724, 2014.
.. [2] I. Avcibas, B. Sankur, K. Sayood, "Statistical evaluation of image quality measures",
   Journal of Electronic Imaging 11(2):206-223, 2002.
.. [3] A. M. Eskicioglu, P. S. Fisher, "Image quality measures and their performance",
   IEEE Trans. Communications 43(12):2959-2965, 1995.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._context import QualityContext

__all__ = [
    "PSNR_CAP",
    "RAMD_R",
    "mse",
    "psnr",
    "snr",
    "structural_content",
    "maximum_difference",
    "average_difference",
    "normalized_absolute_error",
    "ramd",
    "laplacian",
    "lmse",
    "normalized_cross_correlation",
    "mean_angle_similarity",
    "mean_angle_magnitude_similarity",
    "ramd_bob",
    "mas_bob",
    "mams_bob",
]

#: Decibel values (PSNR, SNR) are clipped to [-PSNR_CAP, PSNR_CAP]; identical images give it.
PSNR_CAP = 100.0
#: Number of largest differences averaged by RAMD.
RAMD_R = 10
_TINY = 1e-10  # denominator used for x / 0 with x != 0 (never happens between I and I')

_F = NDArray[np.float64]


def _pair(reference: ArrayLike, distorted: ArrayLike) -> tuple[_F, _F]:
    ref = np.asarray(reference, dtype=np.float64)
    dis = np.asarray(distorted, dtype=np.float64)
    if ref.shape != dis.shape:
        raise ValueError(f"images differ in shape: {ref.shape} and {dis.shape}")
    if ref.size == 0:
        raise ValueError("empty images")
    return ref, dis


def _ratio(num: float, den: float, both_zero: float) -> float:
    """``num / den``; ``both_zero`` for 0/0, ``num / 1e-10`` for x/0."""
    if den == 0.0:
        return both_zero if num == 0.0 else num / _TINY
    return num / den


def _decibel(num: float, den: float) -> float:
    """``10 log10(num / den)`` clipped to [-PSNR_CAP, PSNR_CAP] (0/0 gives PSNR_CAP)."""
    if den <= 0.0:
        return PSNR_CAP
    if num <= 0.0:
        return -PSNR_CAP
    return float(np.clip(10.0 * np.log10(num / den), -PSNR_CAP, PSNR_CAP))


# --------------------------------------------------------------------------------------------
# pure functions
# --------------------------------------------------------------------------------------------
def mse(reference: ArrayLike, distorted: ArrayLike) -> float:
    r"""Mean squared error.

    .. math:: \mathrm{MSE} = \frac{1}{NM}\sum_{i,j} (I_{ij} - \hat I_{ij})^2

    References
    ----------
    Avcibas et al. 2002; Galbally et al. 2014, Table I (measure 1).

    Examples
    --------
    >>> mse([[0.0, 2.0]], [[1.0, 4.0]])
    2.5
    """
    ref, dis = _pair(reference, distorted)
    d = ref - dis
    return float(np.vdot(d, d) / d.size)


def psnr(reference: ArrayLike, distorted: ArrayLike, peak: float | None = None) -> float:
    r"""Peak signal-to-noise ratio in dB.

    .. math:: \mathrm{PSNR} = 10\log_{10}\frac{\mathrm{peak}^2}{\mathrm{MSE}}

    Parameters
    ----------
    peak : float, optional
        Peak signal value. Default: the reference's own maximum, ``max(I^2)`` in Galbally et
        al.'s Table I (scikit-image's ``data_range`` and bob use 255).

    Returns
    -------
    float
        Clipped to ``[-PSNR_CAP, PSNR_CAP]``; identical images give ``PSNR_CAP`` (100 dB).

    References
    ----------
    Avcibas et al. 2002; Galbally et al. 2014, Table I (measure 2).

    Examples
    --------
    >>> round(psnr([[0.0, 200.0]], [[0.0, 190.0]]), 4)
    29.0309
    >>> psnr([[5.0, 6.0]], [[5.0, 6.0]])
    100.0
    """
    ref, dis = _pair(reference, distorted)
    p2 = float(np.max(ref * ref)) if peak is None else float(peak) ** 2
    return _decibel(p2, mse(ref, dis))


def snr(reference: ArrayLike, distorted: ArrayLike) -> float:
    r"""Signal-to-noise ratio in dB.

    .. math:: \mathrm{SNR} = 10\log_{10}\frac{\sum I^2}{\sum (I - \hat I)^2}

    Clipped to ``[-PSNR_CAP, PSNR_CAP]``; identical images give ``PSNR_CAP``.

    References
    ----------
    Avcibas et al. 2002; Galbally et al. 2014, Table I (measure 3).

    Examples
    --------
    >>> snr([[10.0, 10.0]], [[9.0, 11.0]])
    20.0
    """
    ref, dis = _pair(reference, distorted)
    d = ref - dis
    return _decibel(float(np.vdot(ref, ref)), float(np.vdot(d, d)))


def structural_content(reference: ArrayLike, distorted: ArrayLike) -> float:
    r"""Structural content.

    .. math:: \mathrm{SC} = \frac{\sum I^2}{\sum \hat I^2}

    Two all-zero images give 1.

    References
    ----------
    Eskicioglu & Fisher 1995; Galbally et al. 2014, Table I (measure 4).

    Examples
    --------
    >>> structural_content([[2.0, 2.0]], [[1.0, 1.0]])
    4.0
    """
    ref, dis = _pair(reference, distorted)
    return _ratio(float(np.vdot(ref, ref)), float(np.vdot(dis, dis)), 1.0)


def maximum_difference(reference: ArrayLike, distorted: ArrayLike) -> float:
    r"""Maximum (absolute) difference.

    .. math:: \mathrm{MD} = \max_{i,j} |I_{ij} - \hat I_{ij}|

    References
    ----------
    Avcibas et al. 2002; Galbally et al. 2014, Table I (measure 5).

    Examples
    --------
    >>> maximum_difference([[0.0, 5.0]], [[3.0, 4.0]])
    3.0
    """
    ref, dis = _pair(reference, distorted)
    return float(np.max(np.abs(ref - dis)))


def average_difference(reference: ArrayLike, distorted: ArrayLike) -> float:
    r"""Average (signed) difference.

    .. math:: \mathrm{AD} = \frac{1}{NM}\sum_{i,j} (I_{ij} - \hat I_{ij})

    A value within rounding of 0, ``abs(AD) <= 16 eps (max abs(I, I') + mean abs(I - I'))``,
    is returned as 0 exactly. With the package's ``I'`` (a normalised symmetric kernel and a
    symmetric border: every pixel's weights add up to 1) the true AD is 0 for every image, and
    the computed mean of ``I - I'`` is rounding noise of about 1e-15 whose value depends on the
    order of the summation; as a feature, standardised to unit variance, that noise would
    reach the classifiers.

    References
    ----------
    Avcibas et al. 2002; Galbally et al. 2014, Table I (measure 6).

    Examples
    --------
    >>> average_difference([[0.0, 5.0]], [[3.0, 4.0]])
    -1.0
    """
    ref, dis = _pair(reference, distorted)
    d = ref - dis
    scale = max(float(np.abs(ref).max()), float(np.abs(dis).max())) if ref.size else 0.0
    return _snap_mean(float(d.sum()), float(np.abs(d).sum()), scale, d.size)


def _snap_mean(total: float, total_abs: float, scale: float, n: int) -> float:
    """``total / n``, or 0 when it is within the rounding of ``I'`` and of the sum (see
    :func:`average_difference`)."""
    mean = total / n
    bound = 16.0 * np.finfo(np.float64).eps * (scale + total_abs / n)
    return 0.0 if abs(mean) <= bound else mean


def normalized_absolute_error(reference: ArrayLike, distorted: ArrayLike) -> float:
    r"""Normalised absolute error.

    .. math:: \mathrm{NAE} = \frac{\sum |I - \hat I|}{\sum |I|}

    Two all-zero images give 0.

    References
    ----------
    Eskicioglu & Fisher 1995; Galbally et al. 2014, Table I (measure 7).

    Examples
    --------
    >>> normalized_absolute_error([[4.0, 6.0]], [[3.0, 7.0]])
    0.2
    """
    ref, dis = _pair(reference, distorted)
    return _ratio(float(np.abs(ref - dis).sum()), float(np.abs(ref).sum()), 0.0)


def _top_r(values: _F, r: int, row_max: _F | None = None) -> _F:
    """The ``r`` largest entries of a 2-D array (all of them if there are fewer), any order.

    The ``r``-th largest row maximum is a lower bound of the ``r`` largest values (``r`` rows
    reach it), so only the entries above it, in the rows whose maximum reaches it (usually
    ``r`` rows), are partitioned. ``row_max``: the row maxima, if already known.
    """
    flat = values.ravel()
    if flat.size <= r:
        return flat
    rows = np.atleast_2d(values)
    if rows.shape[0] > r:
        if row_max is None:
            row_max = rows.max(axis=1)
        bound = np.partition(row_max, row_max.size - r)[row_max.size - r]
        flat = rows[np.flatnonzero(row_max >= bound)].ravel()
        flat = flat[flat >= bound]
    return np.partition(flat, flat.size - r)[flat.size - r :]


def ramd(reference: ArrayLike, distorted: ArrayLike, r: int = RAMD_R) -> float:
    r"""R-averaged maximum difference.

    .. math:: \mathrm{RAMD} = \frac{1}{R}\sum_{k=1}^{R} \max_k |I_{ij} - \hat I_{ij}|

    where :math:`\max_k` is the k-th largest absolute difference (R = 10).

    References
    ----------
    Avcibas et al. 2002; Galbally et al. 2014, Table I (measure 8).

    Examples
    --------
    >>> ramd([[0.0, 1.0, 2.0, 3.0]], [[0.0, 0.0, 0.0, 0.0]], r=2)
    2.5
    """
    ref, dis = _pair(reference, distorted)
    return float(_top_r(np.abs(ref - dis), int(r)).mean())


def ramd_bob(reference: ArrayLike, distorted: ArrayLike, r: int = RAMD_R) -> float:
    r"""RAMD as bob.ip.qualitymeasure 1.1.8 computes it (not the paper's definition).

    .. math:: \sqrt{\max\left(0, \tfrac{1}{R}\sum_{k=1}^{R} \max_k (I_{ij} - \hat I_{ij})\right)}

    the *signed* differences, and a square root; a negative sum (which makes bob return NaN)
    gives 0 here.

    Examples
    --------
    >>> ramd_bob([[0.0, 1.0, 2.0, 9.0]], [[0.0, 0.0, 0.0, 0.0]], r=2)
    2.345207879911715
    """
    ref, dis = _pair(reference, distorted)
    return float(np.sqrt(max(0.0, float(_top_r(ref - dis, int(r)).mean()))))


def laplacian(image: ArrayLike) -> _F:
    r"""4-neighbour Laplacian with symmetric border.

    .. math:: h(I)_{ij} = I_{i+1,j} + I_{i-1,j} + I_{i,j+1} + I_{i,j-1} - 4 I_{ij}

    Examples
    --------
    >>> laplacian([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])[1, 1]
    np.float64(-4.0)
    """
    img = np.asarray(image, dtype=np.float64)
    out = cv2.Laplacian(img, cv2.CV_64F, ksize=1, borderType=cv2.BORDER_REFLECT)
    return np.asarray(out, dtype=np.float64)


def _lmse32(diff: _F, image32: NDArray[np.float32]) -> float:
    """LMSE from ``D`` (float64) and ``I`` (float32): ``sum h(D)^2 / sum h(I)^2`` with
    :func:`laplacian` in single precision, the sums of squares accumulated in double. One
    float32 buffer: ``D`` rounded, its Laplacian (in place), then that of ``I``."""
    buf = diff.astype(np.float32)
    border = cv2.BORDER_REFLECT
    cv2.Laplacian(buf, cv2.CV_32F, dst=buf, ksize=1, borderType=border)
    num = float(cv2.norm(buf, cv2.NORM_L2SQR))
    cv2.Laplacian(image32, cv2.CV_32F, dst=buf, ksize=1, borderType=border)
    return _ratio(num, float(cv2.norm(buf, cv2.NORM_L2SQR)), 0.0)


def lmse(reference: ArrayLike, distorted: ArrayLike) -> float:
    r"""Laplacian mean squared error.

    .. math:: \mathrm{LMSE} = \frac{\sum (h(I) - h(\hat I))^2}{\sum h(I)^2}

    with :func:`laplacian` ``h``. If ``h(I)`` is zero everywhere (a flat image) and so is the
    difference, LMSE is 0.

    The numerator is computed as :math:`\sum h(I - \hat I)^2` (``h`` is linear), and both
    Laplacians in single precision (images rounded to float32, sums of squares in double):
    between ``I`` and ``I'``, at most 2.1e-8 relative from the double-precision value on 40
    NUAA frames and the astronaut (4.4e-8 on a 40x48 image of flat blocks).

    References
    ----------
    Eskicioglu & Fisher 1995; Galbally et al. 2014, Table I (measure 9).

    Examples
    --------
    >>> img = [[0.0, 0.0, 0.0], [0.0, 8.0, 0.0], [0.0, 0.0, 0.0]]
    >>> lmse(img, img)
    0.0
    """
    ref, dis = _pair(reference, distorted)
    return _lmse32(ref - dis, ref.astype(np.float32))


def normalized_cross_correlation(reference: ArrayLike, distorted: ArrayLike) -> float:
    r"""Normalised cross-correlation.

    .. math:: \mathrm{NXC} = \frac{\sum I \hat I}{\sum I^2}

    Two all-zero images give 1.

    References
    ----------
    Eskicioglu & Fisher 1995; Galbally et al. 2014, Table I (measure 10).

    Examples
    --------
    >>> normalized_cross_correlation([[2.0, 2.0]], [[1.0, 3.0]])
    1.0
    """
    ref, dis = _pair(reference, distorted)
    return _ratio(float(np.vdot(ref, dis)), float(np.vdot(ref, ref)), 1.0)


def _pixel_angles(ref: _F, dis: _F) -> _F:
    """Normalised angle ``(2/pi) acos(<a,b>/(|a||b|))`` between one-component pixel vectors.

    For scalars it is 0 for equal signs, 2 for opposite signs, and 0 when either is zero (the
    angle is undefined; zero vectors count as no angular difference).
    """
    return np.where(ref * dis < 0.0, 2.0, 0.0)


def mean_angle_similarity(reference: ArrayLike, distorted: ArrayLike) -> float:
    r"""Mean angle similarity.

    .. math:: \mathrm{MAS} = 1 - \frac{1}{NM}\sum_{i,j}\alpha_{ij},\quad
              \alpha_{ij} = \frac{2}{\pi}\cos^{-1}
              \frac{\langle I_{ij}, \hat I_{ij}\rangle}{\|I_{ij}\|\,\|\hat I_{ij}\|}

    Avcibas et al. define :math:`\alpha_{ij}` between the colour (multispectral) vectors of
    pixel (i, j). On a grey image each pixel vector has one component, so the angle is 0
    between values of the same sign (and, by convention, when either is 0): MAS of two
    non-negative grey images is exactly 1. It is kept as defined; ``convention="bob"`` offers
    bob's row-vector variant (:func:`mas_bob`), which varies.

    References
    ----------
    Avcibas et al. 2002; Galbally et al. 2014, Table I (measure 11).

    Examples
    --------
    >>> mean_angle_similarity([[1.0, 2.0]], [[3.0, -1.0]])
    0.0
    """
    ref, dis = _pair(reference, distorted)
    return float(1.0 - _pixel_angles(ref, dis).mean())


def mean_angle_magnitude_similarity(reference: ArrayLike, distorted: ArrayLike) -> float:
    r"""Mean angle-magnitude similarity.

    .. math:: \mathrm{MAMS} = \frac{1}{NM}\sum_{i,j}\left(1 - [1 - \alpha_{ij}]
              \left[1 - \frac{\|I_{ij} - \hat I_{ij}\|}{255}\right]\right)

    with the pixel angles of :func:`mean_angle_similarity`. For non-negative grey images it
    equals ``mean |I - I'| / 255``.

    References
    ----------
    Avcibas et al. 2002; Galbally et al. 2014, Table I (measure 12).

    Examples
    --------
    >>> mean_angle_magnitude_similarity([[0.0, 255.0]], [[0.0, 0.0]])
    0.5
    """
    ref, dis = _pair(reference, distorted)
    alpha = _pixel_angles(ref, dis)
    return float(np.mean(1.0 - (1.0 - alpha) * (1.0 - np.abs(ref - dis) / 255.0)))


def _row_angles(ref: _F, dis: _F) -> _F:
    """Normalised angle between each row of ``ref`` and the same row of ``dis``.

    Computed as ``(4/pi) atan2(|u - v|, |u + v|)`` on the unit row vectors ``u``, ``v``: the
    same angle as ``(2/pi) acos(<a,b>/(|a||b|))`` but exact for (nearly) equal rows, where
    ``acos`` of a rounded cosine gives ~1e-8 instead of 0. A row that is zero in one image
    only gets angle 1 (orthogonal); zero in both, 0.
    """
    nr = np.sqrt(np.einsum("ij,ij->i", ref, ref))[:, None]
    nd = np.sqrt(np.einsum("ij,ij->i", dis, dis))[:, None]
    u = ref / np.where(nr > 0.0, nr, 1.0)
    v = dis / np.where(nd > 0.0, nd, 1.0)
    diff = u - v
    summ = u + v
    alpha = (4.0 / np.pi) * np.arctan2(
        np.sqrt(np.einsum("ij,ij->i", diff, diff)), np.sqrt(np.einsum("ij,ij->i", summ, summ))
    )
    zero_r, zero_d = nr[:, 0] == 0.0, nd[:, 0] == 0.0
    return np.where(zero_r & zero_d, 0.0, np.where(zero_r | zero_d, 1.0, alpha))


def mas_bob(reference: ArrayLike, distorted: ArrayLike) -> float:
    r"""MAS as bob.ip.qualitymeasure 1.1.8 computes it: angles between *row* vectors.

    .. math:: 1 - \frac{1}{NM}\sum_{i=1}^{N} \alpha_i,\quad \alpha_i = \frac{2}{\pi}
              \cos^{-1}\frac{\langle I_{i\cdot}, \hat I_{i\cdot}\rangle}
              {\|I_{i\cdot}\|\,\|\hat I_{i\cdot}\|}

    (the sum runs over the N rows but is divided by the number of pixels). A row that is zero
    in both images has angle 0 (bob returns NaN).

    Examples
    --------
    >>> mas_bob([[1.0, 0.0], [1.0, 1.0]], [[0.0, 1.0], [1.0, 1.0]])
    0.75
    """
    ref, dis = _pair(np.atleast_2d(reference), np.atleast_2d(distorted))
    return float(1.0 - _row_angles(ref, dis).sum() / ref.size)


def mams_bob(reference: ArrayLike, distorted: ArrayLike) -> float:
    r"""MAMS as bob.ip.qualitymeasure 1.1.8 computes it: per *row* vector.

    .. math:: \frac{1}{NM}\sum_{i=1}^{N}\left(1 - [1 - \alpha_i]
              \left[1 - \frac{\|I_{i\cdot} - \hat I_{i\cdot}\|}{255}\right]\right)

    with the row angles of :func:`mas_bob`.

    Examples
    --------
    >>> mams_bob([[0.0, 0.0], [3.0, 4.0]], [[0.0, 0.0], [0.0, 0.0]])
    0.25
    """
    ref, dis = _pair(np.atleast_2d(reference), np.atleast_2d(distorted))
    alpha = _row_angles(ref, dis)
    d = ref - dis
    norm_d = np.sqrt(np.einsum("ij,ij->i", d, d))
    return float(np.sum(1.0 - (1.0 - alpha) * (1.0 - norm_d / 255.0)) / ref.size)


# --------------------------------------------------------------------------------------------
# context adaptors (I = reference, I' = distorted)
# --------------------------------------------------------------------------------------------
def _mse_ctx(ctx: QualityContext) -> float:
    return ctx.sum_sq_diff / ctx.n_pixels


def _sum_id(ctx: QualityContext) -> float:
    """``sum I D`` (cache key ``"pixel.sum_ID"``), from which ``sum I'^2`` and
    ``sum I I'`` follow without another pass over ``I'``."""
    return ctx.cached("pixel.sum_ID", lambda c: float(np.vdot(c.I, c.diff)))


def _sum_sq_smoothed(ctx: QualityContext) -> float:
    """``sum I'^2 = sum I^2 - 2 sum I D + sum D^2``."""
    return ctx.sum_sq - 2.0 * _sum_id(ctx) + ctx.sum_sq_diff


def _row_max_abs_diff(ctx: QualityContext) -> _F:
    """Row maxima of ``|D|`` (cache key ``"pixel.row_max|D|"``): MD is their maximum, and
    they bound RAMD's search."""

    def row_max(c: QualityContext) -> _F:
        return np.asarray(cv2.reduce(c.abs_diff, 1, cv2.REDUCE_MAX), dtype=np.float64).ravel()

    return ctx.cached("pixel.row_max|D|", row_max)


def _sum_abs_diff(ctx: QualityContext) -> float:
    """``sum |D|`` (cache key ``"pixel.sum|D|"``; ``cv2.norm``, one pass over ``D``)."""
    return ctx.cached("pixel.sum|D|", lambda c: float(cv2.norm(c.diff, cv2.NORM_L1)))


def _sum(x: _F) -> float:
    """Sum of a 2-D float64 array: column sums of the rows (``cv2.reduce``), then numpy."""
    return float(cv2.reduce(x, 0, cv2.REDUCE_SUM, dtype=cv2.CV_64F).sum())


def ctx_mse(ctx: QualityContext) -> float:
    """MSE of ``I`` and ``I'`` (both conventions)."""
    return _mse_ctx(ctx)


def ctx_psnr(ctx: QualityContext) -> float:
    """PSNR: peak ``max(I)`` (standard) or 255 (bob)."""
    p2 = ctx.max_I**2 if ctx.convention == "standard" else 255.0**2
    return _decibel(p2, _mse_ctx(ctx))


def ctx_snr(ctx: QualityContext) -> float:
    """SNR of ``I`` and ``I'`` (both conventions)."""
    return _decibel(ctx.sum_sq, ctx.sum_sq_diff)


def ctx_sc(ctx: QualityContext) -> float:
    """SC of ``I`` and ``I'`` (both conventions)."""
    return _ratio(ctx.sum_sq, _sum_sq_smoothed(ctx), 1.0)


def ctx_md(ctx: QualityContext) -> float:
    """MD: float64 (standard) or rounded to float32 like bob."""
    value = float(_row_max_abs_diff(ctx).max())
    return value if ctx.convention == "standard" else float(np.float32(value))


def ctx_ad(ctx: QualityContext) -> float:
    """AD of ``I`` and ``I'`` (both conventions): 0 within rounding, see
    :func:`average_difference` (``max abs(I')`` is at most ``max abs(I)`` in both)."""
    scale = max(abs(ctx.max_I), abs(ctx.min_I))
    return _snap_mean(_sum(ctx.diff), _sum_abs_diff(ctx), scale, ctx.n_pixels)


def ctx_nae(ctx: QualityContext) -> float:
    """NAE of ``I`` and ``I'`` (both conventions)."""
    total = _sum(ctx.I) if ctx.min_I >= 0.0 else float(cv2.norm(ctx.I, cv2.NORM_L1))
    return _ratio(_sum_abs_diff(ctx), total, 0.0)


def ctx_ramd(ctx: QualityContext) -> float:
    """RAMD, R = 10: mean of the largest |D| (standard) or bob's signed square-root form."""
    if ctx.convention == "standard":
        return float(_top_r(ctx.abs_diff, RAMD_R, _row_max_abs_diff(ctx)).mean())
    return float(np.sqrt(max(0.0, float(_top_r(ctx.diff, RAMD_R).mean()))))


def ctx_lmse(ctx: QualityContext) -> float:
    """LMSE of ``I`` and ``I'`` (both conventions; see :func:`lmse`)."""
    i32 = ctx.cached("edges.float32:I", lambda c: c.I.astype(np.float32))  # shared with edges
    return _lmse32(ctx.diff, i32)


def ctx_nxc(ctx: QualityContext) -> float:
    """NXC of ``I`` and ``I'`` (both conventions): ``sum I I' = sum I^2 - sum I D``."""
    return _ratio(ctx.sum_sq - _sum_id(ctx), ctx.sum_sq, 1.0)


def ctx_mas(ctx: QualityContext) -> float:
    """MAS: per-pixel angles (standard) or bob's per-row angles."""
    if ctx.convention == "bob":
        return mas_bob(ctx.I, ctx.smoothed)
    if ctx.min_I >= 0.0:  # I and I' >= 0: every pixel angle is 0
        return 1.0
    return mean_angle_similarity(ctx.I, ctx.smoothed)


def ctx_mams(ctx: QualityContext) -> float:
    """MAMS: per pixel (standard) or bob's per row."""
    if ctx.convention == "bob":
        return mams_bob(ctx.I, ctx.smoothed)
    if ctx.min_I >= 0.0:  # every pixel angle is 0: mean |D| / 255
        return _sum_abs_diff(ctx) / (255.0 * ctx.n_pixels)
    return mean_angle_magnitude_similarity(ctx.I, ctx.smoothed)
