"""RRED: reduced-reference entropic differencing (Soundararajan & Bovik 2012).

The wavelet coefficients of a natural image are modelled, block by block, as a Gaussian
scale mixture (GSM): a block vector ``c = s u`` with ``u ~ N(0, K_U)`` and a random scalar
``s``. Seen through a channel with additive Gaussian noise of variance ``sigma_W^2`` (the
"neural noise"), the conditional entropy of a block given its scale ``s`` is

.. math::

    h = \\frac{1}{2} \\sum_{i=1}^{N} \\log_2(2 \\pi e (s^2 \\lambda_i + \\sigma_W^2))

with ``lambda_i`` the eigenvalues of ``K_U`` and ``N`` the block size. Each entropy is
weighted by ``gamma = log2(1 + s^2)`` and the index averages the absolute differences
between reference and distorted image over the ``L`` blocks of a subband:

.. math::

    \\mathrm{RRED} = \\frac{1}{L} \\sum_{l=1}^{L} \\left| \\gamma_{r,l}\\, h_{r,l}
    - \\gamma_{d,l}\\, h_{d,l} \\right|

(the paper's ``RRED_k^{L_k}``, the version that keeps all the information, averaged over the
orientations of the chosen scale). 0 for identical images; larger is worse.

Choices of this implementation (documented in ``docs/measures.md``):

* Pyramid: the steerable pyramid of Simoncelli & Freeman built in the Fourier domain
  (Portilla & Simoncelli's ``buildSFpyr``: raised-cosine radial masks of one octave,
  angular masks ``cos^(K-1)``), **6 orientations**, written with numpy here. Only the
  subbands used are synthesised, from the central crop of the spectrum.
* Subband: **scale 4** (1/8 of the image size, the scale scikit-video's ST-RRED uses), all
  six orientations, the result averaged over them. A small image whose scale-4 subband is
  smaller than a block uses the finest scale where a block fits (scale 1 at worst).
* Blocks: non-overlapping **3x3** (N = 9); ``K_U`` is the covariance of all overlapping 3x3
  patches of the subband (eigenvalues clipped at 0); ``s^2 = c^T K_U^+ c / N`` per block.
* ``sigma_W^2 = 0.1``, entropies in bits.
* Degenerate inputs: a flat subband has ``K_U = 0``, hence ``s^2 = 0``, ``gamma = 0``: a
  flat image against itself gives 0. Always finite.

References
----------
R. Soundararajan and A. C. Bovik, "RRED indices: reduced reference entropic differencing for
image quality assessment", IEEE Transactions on Image Processing 21(2):517-526, 2012.
E. P. Simoncelli and W. T. Freeman, "The steerable pyramid: a flexible architecture for
multi-scale derivative computation", Proc. IEEE ICIP 1995.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

import cv2
import numpy as np
import scipy.fft
from numpy.typing import NDArray

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from ._context import QualityContext

__all__ = [
    "ORIENTATIONS",
    "SCALE",
    "BLOCK",
    "SIGMA_W2",
    "steerable_subbands",
    "gsm_entropies",
    "rred",
    "ctx_rred",
]

#: Number of orientations of the steerable pyramid.
ORIENTATIONS = 6
#: Pyramid scale (1 = finest bandpass level, each next level half the size) used by RRED.
SCALE = 4
#: Block side (blocks of BLOCK x BLOCK coefficients).
BLOCK = 3
#: Variance of the additive "neural noise".
SIGMA_W2 = 0.1

_F = NDArray[np.float64]
_C = NDArray[np.complex128]


def _crop_start_len(d: int) -> tuple[int, int]:
    """Start (0-based) and length of the lowpass crop of a centred spectrum of length ``d``."""
    length = math.ceil((d - 0.5) / 2)
    start = math.ceil((d + 0.5) / 2) - math.ceil((length + 0.5) / 2)
    return start, length


def _level_region(m: int, n: int, scale: int) -> tuple[int, int, int, int]:
    """Row/column start and size, in the full centred spectrum, of the level-``scale`` grid."""
    r0 = c0 = 0
    h, w = m, n
    for _ in range(scale - 1):
        sr, h2 = _crop_start_len(h)
        sc, w2 = _crop_start_len(w)
        r0, c0, h, w = r0 + sr, c0 + sc, h2, w2
    return r0, c0, h, w


def _raised_cosine(x: _F, position: float) -> _F:
    """``sqrt`` of the raised cosine going 0 -> 1 over ``[position - 0.5, position + 0.5]``."""
    t = np.clip(x - position, -0.5, 0.5)
    return np.abs(np.sin(np.pi / 2 * (t + 0.5)))


@lru_cache(maxsize=16)
def _masks(m: int, n: int, scale: int, orientations: int) -> tuple[_C, tuple[int, int, int, int]]:
    """Frequency masks (orientations, h, w) of the level-``scale`` bands, and their region.

    The product of the first-stage lowpass, the lowpass masks of the coarser crops, the
    level's highpass and the angular masks of ``buildSFpyr``, times ``(-i)^(K-1)``.
    """
    r0, c0, h, w = _level_region(m, n, scale)
    cm, cn = m // 2, n // 2  # DC of the full centred grid (MATLAB ceil((d+0.5)/2) - 1)
    yv = (np.arange(r0, r0 + h) - cm) * (2.0 / m)
    xv = (np.arange(c0, c0 + w) - cn) * (2.0 / n)
    xx, yy = np.meshgrid(xv, yv)
    rad = np.sqrt(xx * xx + yy * yy)
    if cm - r0 in range(h) and cn - c0 in range(w):  # DC: the value of its left neighbour
        rad[cm - r0, cn - c0] = rad[cm - r0, cn - c0 - 1] if cn - c0 > 0 else 2.0 / n
    log_rad = np.log2(rad)
    angle = np.arctan2(yy, xx)
    # radial: raised cosine in log2(radius), transition [-1, 0] for the first split,
    # shifted down one octave per level
    low = np.sqrt(np.clip(1.0 - _raised_cosine(log_rad, -0.5) ** 2, 0.0, 1.0))  # lo0mask
    for level in range(1, scale):
        low = low * np.sqrt(np.clip(1.0 - _raised_cosine(log_rad, -0.5 - level) ** 2, 0.0, 1.0))
    radial = low * _raised_cosine(log_rad, -0.5 - scale)
    order = orientations - 1
    const = (
        (2.0 ** (2 * order))
        * math.factorial(order) ** 2
        / (orientations * math.factorial(2 * order))
    )
    out = np.empty((orientations, h, w), dtype=np.complex128)
    for b in range(orientations):
        ang = math.sqrt(const) * np.cos(angle - np.pi * b / orientations) ** order
        out[b] = ((-1j) ** order) * radial * ang
    out.flags.writeable = False
    return out, (r0, c0, h, w)


_Gather = tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.bool_]]


def _half_index(m: int, ky: NDArray[np.intp], kx: NDArray[np.intp]) -> _Gather:
    """Where the full-spectrum value at frequencies ``(ky, kx)`` is in an ``rfft2`` half
    spectrum: row, column, and whether it is the conjugate of that entry (``kx < 0``)."""
    neg = kx < 0
    rows = np.where(neg, -ky, ky) % m
    return rows, np.abs(kx), neg


class _Plan(NamedTuple):
    """What :func:`_subbands_from_half` needs besides the spectrum (see :func:`_plan`)."""

    rows: NDArray[np.intp]  # half-spectrum row of each crop row (columns 0 .. w // 2)
    both: _C  # A + B, (orientations, h, w // 2 + 1)
    where: NDArray[np.intp]  # flat positions where F(k) and conj(F(-k)) are not one entry
    direct: _Gather  # F(k) there
    mirror: _Gather  # F(-k) there
    a: _C  # A there, (orientations, positions)
    b: _C  # B there
    h: int
    w: int


@lru_cache(maxsize=16)
def _plan(m: int, n: int, scale: int, orientations: int) -> _Plan:
    """Everything but the image for the level-``scale`` bands of an ``m x n`` image.

    ``real(ifft2(P))`` of a band's spectrum ``P`` (the centred crop times the masks, in FFT
    order) is ``irfft2`` of its Hermitian part ``H(k) = (P(k) + conj(P(-k))) / 2`` (``-k``
    modulo the crop), which needs ``H`` on half the grid only:
    ``H = F(k) A + conj(F(-k)) B`` with ``A = mask(k) / 2``, ``B = conj(mask(-k)) / 2``
    (both times the normalisation ``h w / (m n)``). Where ``-k`` is the true opposite
    frequency, ``conj(F(-k))`` is the same half-spectrum entry as ``F(k)`` and
    ``H = F(k) (A + B)``; elsewhere (column 0, and the Nyquist row and column of an even
    crop, whose opposite was cropped away) the two terms are kept.
    """
    masks, (r0, c0, h, w) = _masks(m, n, scale, orientations)
    t = np.arange(h)[:, None]
    u = np.arange(w // 2 + 1)[None, :]
    # FFT-ordered index t of the crop is its centred index (t + h // 2) mod h
    cu, cv = (t + h // 2) % h, (u + w // 2) % w
    mu, mv = (-t + h // 2) % h, (-u + w // 2) % w  # the same for -k
    ky0, kx0 = r0 - m // 2, c0 - n // 2  # frequency of the crop's first row / column
    shape = (h, w // 2 + 1)
    rd, cd, nd = _half_index(m, np.broadcast_to(ky0 + cu, shape), np.broadcast_to(kx0 + cv, shape))
    rm, cm, nm = _half_index(m, np.broadcast_to(ky0 + mu, shape), np.broadcast_to(kx0 + mv, shape))
    rows = rd[:, 0]
    plain = (rm == rd) & (cm == cd) & (nm != nd) & (rd == rows[:, None]) & (cd == u) & ~nd
    where = np.flatnonzero(~plain)
    norm = h * w / (m * n) / 2.0
    a = masks[:, cu, cv] * norm
    b: _C = np.asarray(np.conj(masks[:, mu, mv]) * norm, dtype=np.complex128)

    def at(g: _Gather) -> _Gather:
        return g[0].ravel()[where], g[1].ravel()[where], g[2].ravel()[where]

    plan = _Plan(
        rows,
        a + b,
        where,
        at((rd, cd, nd)),
        at((rm, cm, nm)),
        a.reshape(orientations, -1)[:, where],
        b.reshape(orientations, -1)[:, where],
        h,
        w,
    )
    for arr in (plan.both, plan.a, plan.b):
        arr.flags.writeable = False
    return plan


def _subbands_from_half(
    half: _C, shape: tuple[int, int], scale: int, orientations: int
) -> NDArray[np.float64]:
    """The bands from an ``rfft2`` half spectrum: ``irfft2`` of the Hermitian part of the
    masked crop (:func:`_plan`), equal to ``real(ifft2(...))`` of the crop up to rounding.

    The crop's ``ifft2`` normalises by ``1/(h w)``; the result is rescaled to ``1/(m n)``:
    the band is then the full-resolution filter response sampled on the coarse grid.
    """
    p = _plan(shape[0], shape[1], scale, orientations)
    spec = p.both * half[p.rows, : p.w // 2 + 1]
    (rd, cd, nd), (rm, cm, nm) = p.direct, p.mirror
    f = half[rd, cd]
    np.conjugate(f, out=f, where=nd)  # F(k)
    g = half[rm, cm]
    np.conjugate(g, out=g, where=~nm)  # conj(F(-k))
    spec.reshape(orientations, -1)[:, p.where] = p.a * f + p.b * g
    bands: NDArray[np.float64] = scipy.fft.irfft2(spec, s=(p.h, p.w), axes=(1, 2))
    return bands


def steerable_subbands(
    image: NDArray[np.floating], scale: int = SCALE, orientations: int = ORIENTATIONS
) -> NDArray[np.float64]:
    """Oriented bands of one scale of the Fourier-domain steerable pyramid.

    Same subbands as ``buildSFpyr`` of matlabPyrTools (and pyrtools'
    ``SteerablePyramidFreq``) at level ``scale``: the image spectrum cropped ``scale - 1``
    times to its central half, times the pyramid's radial and angular masks.

    Parameters
    ----------
    image : ndarray, shape (H, W)
    scale : int
        1 = finest bandpass level (full size); level ``k`` has about ``H / 2^(k-1)`` rows.
    orientations : int
        Number of orientations ``K`` (angular masks ``cos^(K-1)``).

    Returns
    -------
    ndarray, shape (orientations, h, w)

    Examples
    --------
    >>> import numpy as np
    >>> steerable_subbands(np.zeros((64, 48))).shape
    (6, 8, 6)
    """
    img = np.asarray(image, dtype=np.float64)
    if img.ndim != 2:
        raise ConfigurationError(f"a 2-D image is needed, got shape {img.shape}")
    if scale < 1 or orientations < 1:
        raise ConfigurationError("scale and orientations must be >= 1")
    return _subbands_from_half(scipy.fft.rfft2(img), img.shape, scale, orientations)


@lru_cache(maxsize=16)
def _window_plan(
    k: int, hh: int, ww: int
) -> tuple[list[tuple[int, int]], _F, _F, NDArray[np.intp]]:
    """Constants of :func:`_patch_moments` for ``k x k`` patches of ``hh x ww`` bands.

    Displacements ``d = (dr, dc)`` with ``dr > 0`` or ``dr = 0, dc >= 0`` (one of ``d`` and
    ``-d``); 0/1 matrices of the ``k`` patch windows along each axis (window ``i`` covers
    ``[i, i + size - k + 1)``; the row one with the ``k - 1`` zero rows after each band);
    and for each entry ``(a, b)`` of the ``k^2 x k^2`` moment matrix, where to read it:
    displacement index and window (of ``a`` if ``b - a`` is listed, else of ``b``).
    """
    e = k - 1
    disp = [(dr, dc) for dr in range(k) for dc in range(-e, k) if dr > 0 or dc >= 0]
    rows, cols = np.zeros((k, hh + e)), np.zeros((k, ww))
    for i in range(k):
        rows[i, i : i + hh - e] = 1.0
        cols[i, i : i + ww - e] = 1.0
    where = np.empty((k * k, k * k, 3), dtype=np.intp)
    for a in range(k * k):
        for b in range(k * k):
            (i1, j1), (i2, j2) = divmod(a, k), divmod(b, k)
            d = (i2 - i1, j2 - j1)
            if d in disp:
                where[a, b] = disp.index(d), i1, j1
            else:
                where[a, b] = disp.index((-d[0], -d[1])), i2, j2
    return disp, rows, np.ascontiguousarray(cols.T), where.reshape(-1, 3)


def _patch_moments(y: _F, k: int) -> tuple[_F, _F]:
    """Mean ``(B, n)`` and mean outer product ``(B, n, n)`` (``n = k^2``) of all overlapping
    ``k x k`` patches of each band of ``y`` ``(B, hh, ww)``, without forming the patches.

    The sum over patch positions ``p`` of ``y[p + a] y[p + a + d]`` is the sum of the product
    image ``y * shift(y, d)`` over the window of ``a`` (``hh - k + 1`` rows from ``a``'s row,
    ``ww - k + 1`` columns from its column). So one product per displacement
    (``2k^2 - 2k + 1``: 13 for 3x3, instead of 81 products of patch rows) and its window sums
    (two small matrix products) give every entry. The bands lie one below the other with
    ``k - 1`` zero rows after each and ``k - 1`` zero columns on each side, so that a shifted
    band reads zeros outside itself. The same numbers are added as over the patches, in
    another order.
    """
    nb, hh, ww = y.shape
    e = k - 1
    disp, win_rows, win_cols, where = _window_plan(k, hh, ww)
    rows = hh + e
    tall = np.zeros((nb, rows, ww + 2 * e))
    tall[:, :hh, e : e + ww] = y
    tall = tall.reshape(nb * rows, ww + 2 * e)
    z = np.empty((nb * rows, ww))
    sums = np.empty((len(disp) + 1, nb, k, ww))  # window sums along the rows
    np.matmul(win_rows, tall[:, e : e + ww].reshape(nb, rows, ww), out=sums[-1])  # y itself
    for i, (dr, dc) in enumerate(disp):
        cv2.multiply(
            tall[: nb * rows - dr, e : e + ww], tall[dr:, e + dc : e + dc + ww], z[: nb * rows - dr]
        )
        z[nb * rows - dr :] = 0.0
        np.matmul(win_rows, z.reshape(nb, rows, ww), out=sums[i])
    win = sums @ win_cols  # (D + 1, B, k, k): rows by columns windows
    count = (hh - e) * (ww - e)
    mean = win[-1].reshape(nb, k * k) / count
    second = win[where[:, 0], :, where[:, 1], where[:, 2]].T.reshape(nb, k * k, k * k) / count
    return mean, second


#: Eigenvalues of ``K_U`` below this fraction of the largest one of all the bands of a batch
#: (both images, every orientation) count as 0. A band that is exactly 0 in one image (a
#: ramp has no vertical detail) can be rounding noise in the other (1e-22 against band
#: energies of 1e3 here); ``s^2 = c^T K_U^+ c / N`` does not depend on the band's scale, so
#: without this floor noise got ``s^2`` of order 1 and moved RRED of a 48x64 ramp by 0.57.
#: Real detail 1e-10 times weaker in amplitude than the strongest band is not seen by it.
_NOISE_FLOOR = 1e-20


def _gsm_batch(bands: NDArray[np.float64], block: int, sigma_w2: float) -> tuple[_F, _F]:
    """``s^2`` and ``h`` of every block of a stack of subbands ``(B, h, w)``: ``(B, L)``."""
    nb, hh, ww = bands.shape
    nr, nc = hh // block, ww // block
    if nr == 0 or nc == 0:
        raise ConfigurationError(f"subband {(hh, ww)} is smaller than one {block}x{block} block")
    n = block * block
    y = bands[:, : nr * block, : nc * block]  # whole blocks (a view)
    mean, cov = _patch_moments(y, block)
    cov -= mean[:, :, None] * mean[:, None, :]
    lam, vec = np.linalg.eigh(cov)  # exactly symmetric (see _patch_moments)
    lam = np.maximum(lam, 0.0)
    blocks = y.reshape(nb, nr, block, nc, block).transpose(0, 1, 3, 2, 4).reshape(nb, -1, n)
    proj = np.matmul(blocks, vec)  # coordinates in the eigenbasis
    lmax = lam.max(axis=1, keepdims=True)
    floor = float(lam.max()) * _NOISE_FLOOR if lam.size else 0.0
    keep = (lam > lmax * n * np.finfo(np.float64).eps) & (lam > floor) & (lmax > 0)
    inv = np.where(keep, 1.0 / np.where(keep, lam, 1.0), 0.0)
    s2 = np.matmul(proj * proj, inv[:, :, None])[:, :, 0] / n
    # sum_i log2(s2 lam_i + sW2) as the log2 of the product (one logarithm per block; each
    # factor is >= sW2 > 0 and the product of n factors stays far from overflow)
    prod = s2 * lam[:, :1] + sigma_w2
    for i in range(1, n):
        prod *= s2 * lam[:, i : i + 1] + sigma_w2
    ent = 0.5 * (n * np.log2(2.0 * np.pi * np.e) + np.log2(prod))
    return s2, ent


def gsm_entropies(band: _F, block: int = BLOCK, sigma_w2: float = SIGMA_W2) -> tuple[_F, _F]:
    """Per-block scale ``s^2`` and entropy ``h`` (bits) of a subband under the GSM model.

    ``K_U`` is the covariance of all overlapping ``block x block`` patches (eigenvalues
    clipped at 0), ``s^2 = c^T K_U^+ c / N`` for each non-overlapping block ``c`` and
    ``h = 1/2 sum_i log2(2 pi e (s^2 lambda_i + sigma_w2))``.

    Parameters
    ----------
    band : ndarray, shape (h, w)
        One subband; it is cropped to a whole number of ``block x block`` blocks.
    block : int
        Block side.
    sigma_w2 : float
        Noise variance.

    Returns
    -------
    s2, h : ndarray, shape (h // block, w // block)

    Examples
    --------
    >>> import numpy as np
    >>> s2, h = gsm_entropies(np.zeros((6, 9)))
    >>> s2.shape, float(s2.max())
    ((2, 3), 0.0)
    """
    b = np.asarray(band, dtype=np.float64)
    s2, ent = _gsm_batch(b[None], block, sigma_w2)
    shape = (b.shape[0] // block, b.shape[1] // block)
    return s2[0].reshape(shape), ent[0].reshape(shape)


def _usable_scale(shape: tuple[int, int], scale: int, block: int) -> int:
    for k in range(scale, 0, -1):
        _, _, h, w = _level_region(shape[0], shape[1], k)
        if h >= block and w >= block:
            return k
    raise ConfigurationError(f"image {shape} is smaller than one {block}x{block} block")


def _rred_from_bands(ref: _F, dis: _F, block: int, sigma_w2: float) -> float:
    k = ref.shape[0]
    s2, ent = _gsm_batch(np.concatenate([ref, dis]), block, sigma_w2)
    weighted = np.log2(1.0 + s2) * ent
    return float(np.mean(np.abs(weighted[:k] - weighted[k:])))


def rred(
    reference: NDArray[np.floating],
    distorted: NDArray[np.floating],
    *,
    scale: int = SCALE,
    orientations: int = ORIENTATIONS,
    block: int = BLOCK,
    sigma_w2: float = SIGMA_W2,
) -> float:
    """RRED between a reference and a distorted grey image (0 when identical).

    Parameters
    ----------
    reference, distorted : ndarray, shape (H, W)
        Grey images in 0..255 of the same shape.
    scale, orientations, block, sigma_w2
        See the module notes (defaults 4, 6, 3, 0.1).

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from skimage import data
    >>> img = data.camera().astype(float)
    >>> rred(img, img)
    0.0
    >>> noisy = img + np.random.default_rng(0).normal(0, 10, img.shape)
    >>> bool(rred(img, noisy) > rred(img, img + 1.0))
    True
    """
    r = np.asarray(reference, dtype=np.float64)
    d = np.asarray(distorted, dtype=np.float64)
    if r.shape != d.shape or r.ndim != 2:
        raise ConfigurationError(f"images must be 2-D of one shape, got {r.shape}, {d.shape}")
    from ._context import smooth
    from .spectral import half_spectrum, smoothed_half_spectrum

    k = _usable_scale(r.shape, scale, block)
    f_r = half_spectrum(r)
    # I' = smooth(I) (the context's I'): its spectrum as the context derives it, so that
    # this equals ctx_rred to the last bit
    same = np.array_equal(d, smooth(r))
    f_d = smoothed_half_spectrum(r, f_r) if same else half_spectrum(d)
    rb = _subbands_from_half(f_r, r.shape, k, orientations)
    db = _subbands_from_half(f_d, r.shape, k, orientations)
    return _rred_from_bands(rb, db, block, sigma_w2)


def ctx_rred(ctx: QualityContext) -> float:
    """RRED between ``I`` and ``I'`` (spectra shared with the spectral measures).

    The spectrum of ``I' = smooth(I)`` is derived from that of ``I``
    (:func:`~iqa_liveness.quality.spectral.smoothed_half_spectrum`, the one SME/SPE leave in
    the context): the same numbers whether or not they ran first, without a second 2-D DFT.
    """
    from .edges import distorted_image
    from .spectral import half_spectrum, smoothed_half_spectrum

    shape = ctx.shape
    k = _usable_scale(shape, SCALE, BLOCK)
    f_ref = ctx.cached("spectral.rfft2:I", lambda c: half_spectrum(c.I))
    if ctx.convention == "bob":  # bob's I' is not smooth(I)
        f_dis = ctx.cached("spectral.rfft2:I'", lambda c: half_spectrum(distorted_image(c)))
    else:
        f_dis = ctx.cached("spectral.rfft2:I'", lambda c: smoothed_half_spectrum(c.I, f_ref))
    rb = _subbands_from_half(f_ref, shape, k, ORIENTATIONS)
    db = _subbands_from_half(f_dis, shape, k, ORIENTATIONS)
    return _rred_from_bands(rb, db, BLOCK, SIGMA_W2)
