"""NIQE: the Natural Image Quality Evaluator (Mittal, Soundararajan & Bovik 2013).

NIQE fits a multivariate Gaussian (MVG) to 36 natural-scene statistics of an image's
96x96 blocks and measures its distance to the MVG of pristine natural images:

.. math::

    \\mathrm{NIQE} = \\sqrt{(\\nu_1 - \\nu_2)^T \\left(\\frac{\\Sigma_1 + \\Sigma_2}{2}\\right)^{+}
    (\\nu_1 - \\nu_2)}

where :math:`\\nu_1, \\Sigma_1` is the pristine model, :math:`\\nu_2, \\Sigma_2` the mean and
covariance of the test image's block features and ``+`` the pseudo-inverse. Lower is more
natural. This module follows the authors' MATLAB release (``computequality.m``) exactly:

* grey image in 0..255, cropped to a whole number of 96x96 blocks;
* two scales: the second is MATLAB ``imresize(im, 0.5)`` (bicubic, antialiased) of the
  cropped image, with 48x48 blocks;
* MSCN coefficients ``(I - mu) / (sigma + 1)`` with a 7x7 Gaussian window (sigma 7/6,
  normalised) and replicated borders, ``sigma = sqrt(|E[I^2] - mu^2|)``;
* per block and scale 18 features: the asymmetric generalised Gaussian (AGGD) fit of the
  MSCN coefficients (shape, mean of the two scales) and of the products of horizontally,
  vertically and diagonally adjacent coefficients (circular shifts inside the block; shape,
  mean, left and right scales), the shape found by a grid search over 0.2:0.001:10;
* no block selection at test time (the sharpness selection is used only when fitting a
  pristine model, see :func:`fit_niqe_model`).

Degenerate inputs (documented, never NaN):

* A block with an undefined AGGD fit (a constant block: no negative or no positive
  coefficient) is left out. The original keeps its finite features (nanmean) and drops it
  only from the covariance (nancov); the results are identical for images without constant
  blocks.
* With fewer than two usable blocks the image covariance is taken as zero; with none at all
  (a flat image) the image mean is the zero vector, giving the constant
  :meth:`NIQEModel.degenerate_value` (40.44 with the default model).
* Images smaller than a block: the block side on that axis shrinks to the largest even
  number not above the image side (so an 80x120 image is one 80x96 block). These values are
  an extension of the method and are not comparable with 96x96-block values.

The default pristine model is the official one of the LIVE release (see ``NOTICE.md``).
:func:`fit_niqe_model` fits a model from a user's own bona fide captures.

References
----------
A. Mittal, R. Soundararajan and A. C. Bovik, "Making a 'completely blind' image quality
analyzer", IEEE Signal Processing Letters 20(3):209-212, 2013.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from numpy.lib.stride_tricks import as_strided
from numpy.typing import NDArray
from scipy.special import gamma as _gamma

from .._imresize import contributions, resize_axis
from ..errors import ConfigurationError, ModelFileError
from ..image import ImageInput, load_grey

if TYPE_CHECKING:
    from ._context import QualityContext

__all__ = [
    "NIQEModel",
    "default_niqe_model",
    "fit_niqe_model",
    "imresize",
    "mscn",
    "niqe",
    "niqe_features",
    "ctx_niqe",
]

#: Block side of the original (pixels at the first scale).
BLOCK_SIZE = 96
#: Sharpness threshold of the original model fit (fraction of the image's sharpest block).
SHARPNESS_THRESHOLD = 0.75
_N_FEATURES = 36
_MODEL_FORMAT = "iqa-liveness-niqe-model"
_MODEL_VERSION = 1

# --------------------------------------------------------------------------------------------
# MATLAB imresize (bicubic, antialiased)


def imresize(image: NDArray[np.floating], scale: float) -> NDArray[np.float64]:
    """Resize a 2-D float image like MATLAB's ``imresize(image, scale)`` (bicubic, antialiased).

    Keys' cubic kernel (a = -0.5), stretched by ``1/scale`` when shrinking (antialiasing),
    ``ceil(kernel width) + 2`` taps, weights normalised per output sample, symmetric borders,
    rows first. The output size is ``ceil(scale * size)``; no rounding or clipping. The
    implementation is :mod:`iqa_liveness._imresize`, shared with the colour-texture resize.

    Parameters
    ----------
    image : ndarray, shape (H, W)
        Float image (any range).
    scale : float
        Positive scale factor (``0.5`` halves each side).

    Returns
    -------
    ndarray of float64, shape ``(ceil(scale*H), ceil(scale*W))``

    Examples
    --------
    >>> import numpy as np
    >>> imresize(np.full((6, 4), 3.0), 0.5)
    array([[3., 3.],
           [3., 3.],
           [3., 3.]])
    """
    if not scale > 0:
        raise ConfigurationError(f"scale must be positive, got {scale}")
    img = np.asarray(image, dtype=np.float64)
    if img.ndim != 2:
        raise ConfigurationError(f"imresize expects a 2-D image, got shape {img.shape}")
    out_h = math.ceil(scale * img.shape[0])
    out_w = math.ceil(scale * img.shape[1])
    tmp = resize_axis(img, out_h, float(scale), 0)
    return np.ascontiguousarray(resize_axis(tmp, out_w, float(scale), 1))


#: Output rows per matrix product of :func:`_halve_rows`.
_HALVE_CHUNK = 4


@lru_cache(maxsize=1)
def _halve_matrix() -> NDArray[np.float64]:
    """``(m, 2m + 6)`` weights of :func:`_halve_rows`: row ``i`` holds MATLAB's 8 bicubic
    antialiasing weights of a halving at columns ``2i .. 2i + 7``."""
    w, raw, _ = contributions(64, 32, 0.5)
    if not (w.shape[1] == 8 and np.all(w == w[0]) and np.all(raw[:, 0] == 2 * np.arange(32) - 3)):
        raise AssertionError("unexpected MATLAB halving weights")  # pragma: no cover
    m = _HALVE_CHUNK
    out = np.zeros((m, 2 * m + 6))
    for i in range(m):
        out[i, 2 * i : 2 * i + 8] = w[0]
    out.flags.writeable = False
    return out


def _halve_groups(padded: NDArray[Any], out: NDArray[np.float64]) -> None:
    """Output rows ``out[i] = sum_k w_k padded[2i + k]`` (``k = 0..7``), in groups of ``m``
    rows: one batched matrix product over an overlapping (strided) view of ``padded``."""
    mat = _halve_matrix()
    m = mat.shape[0]
    groups, rest = divmod(out.shape[0], m)
    rs, cs = padded.strides
    if groups:
        shape = (groups, 2 * m + 6, out.shape[1])
        view = as_strided(padded, shape, (2 * m * rs, rs, cs), writeable=False)
        np.matmul(mat, view, out=out[: groups * m].reshape(groups, m, -1))
    if rest:
        top = 2 * m * groups
        out[groups * m :] = mat[:rest, : 2 * rest + 6] @ padded[top : top + 2 * rest + 6]


def _halve_rows(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """``imresize`` by 0.5 along axis 0 of a float64 image with an even number ``H >= 8``
    of rows.

    Output row ``i`` is ``sum_k w_k x[2i - 3 + k]`` (``k = 0..7``, symmetric mirror at the
    ends), computed by :func:`_halve_groups`: the rows whose taps stay inside the image
    straight from ``x``, the first group and the last rows from mirrored copies of the
    few rows they read.
    """
    h_in = x.shape[0]
    h = h_in // 2
    m = _halve_matrix().shape[0]
    out = np.empty((h, x.shape[1]))
    inner = (h_in - 3) // (2 * m)  # groups 1 .. inner - 1 read rows 2m - 3 .. h_in - 1
    if inner < 2:
        _halve_groups(cv2.copyMakeBorder(x, 3, 4, 0, 0, cv2.BORDER_REFLECT), out)
        return out
    head = cv2.copyMakeBorder(x[: 2 * m + 4], 3, 0, 0, 0, cv2.BORDER_REFLECT)
    _halve_groups(head, out[:m])
    _halve_groups(x[2 * m - 3 :], out[m : inner * m])
    lo = 2 * inner * m - 3
    tail = cv2.copyMakeBorder(x[lo:], 0, 4, 0, 0, cv2.BORDER_REFLECT)
    _halve_groups(tail, out[inner * m :])
    return out


def _halve(img: NDArray[np.float64]) -> NDArray[np.float64]:
    """:func:`imresize` ``(img, 0.5)`` of an image with even sides (NIQE's second scale).

    The same weights and mirror as :mod:`iqa_liveness._imresize`, computed as matrix
    products (:func:`_halve_rows`) for rows, then for columns through a transposition; equal
    to :func:`imresize` up to rounding (float64, about 1e-16 relative). Sides below 8
    (a mirror reaching past the image) go through :func:`imresize`.
    """
    if min(img.shape) < 8 or img.shape[0] % 2 or img.shape[1] % 2:
        return imresize(img, 0.5)
    rows = _halve_rows(np.asarray(img, dtype=np.float64))
    cols = _halve_rows(np.asarray(cv2.transpose(rows), dtype=np.float64))
    return np.asarray(cv2.transpose(cols), dtype=np.float64)


# --------------------------------------------------------------------------------------------
# MSCN and AGGD


@lru_cache(maxsize=1)
def _gaussian_1d() -> NDArray[np.float64]:
    """1-D factor of MATLAB ``fspecial('gaussian', 7, 7/6)`` (the window is its outer product)."""
    x = np.arange(-3, 4, dtype=np.float64)
    g = np.exp(-(x * x) / (2.0 * (7.0 / 6.0) ** 2))
    return g / g.sum()


def mscn(grey: NDArray[np.floating]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Mean-subtracted contrast-normalised coefficients of NIQE's original code.

    ``mu = w * I``, ``sigma = sqrt(|w * I^2 - mu^2|)``, ``MSCN = (I - mu) / (sigma + 1)``
    with ``w`` the 7x7 Gaussian window (sigma 7/6, sum 1) and replicated borders.

    Parameters
    ----------
    grey : ndarray, shape (H, W)
        Grey image in 0..255.

    Returns
    -------
    mscn, sigma : ndarray of float64, shape (H, W)

    Examples
    --------
    >>> import numpy as np
    >>> c, s = mscn(np.full((9, 9), 7.0))
    >>> float(abs(c).max()), float(s.max())
    (0.0, 0.0)
    """
    img = np.ascontiguousarray(grey, dtype=np.float64)
    g = _gaussian_1d()
    # cv2's float64 arithmetic is IEEE like numpy's (same bytes); three buffers reused in
    # place keep the working set small
    sq = cv2.multiply(img, img)
    mu2 = cv2.sepFilter2D(sq, cv2.CV_64F, g, g, borderType=cv2.BORDER_REPLICATE)
    mu = cv2.sepFilter2D(img, cv2.CV_64F, g, g, borderType=cv2.BORDER_REPLICATE)
    cv2.multiply(mu, mu, dst=sq)
    sigma = cv2.sqrt(cv2.absdiff(mu2, sq, dst=sq), dst=sq)
    np.add(sigma, 1.0, out=mu2)
    coef = cv2.divide(cv2.subtract(img, mu, dst=mu), mu2, dst=mu)
    return np.asarray(coef, dtype=np.float64), np.asarray(sigma, dtype=np.float64)


_GAM_GRID: NDArray[np.float64] = 0.2 + 0.001 * np.arange(9801.0)  # MATLAB 0.2:0.001:10


@lru_cache(maxsize=1)
def _gam_tables() -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """On the shape grid: the AGGD ratio ``G(2/a)^2 / (G(1/a) G(3/a))`` the grid search
    matches, ``sqrt(G(1/a) / G(3/a))`` (beta from a standard deviation) and
    ``G(2/a) / G(1/a)`` (the mean), so that a fit costs no Gamma evaluation."""
    g1, g2, g3 = (_gamma(k / _GAM_GRID) for k in (1.0, 2.0, 3.0))
    r = g2**2 / (g1 * g3)
    if not np.all(np.diff(r) > 0):  # pragma: no cover - property of the Gamma function
        raise AssertionError("AGGD ratio table is not increasing")
    out = (r, np.sqrt(g1 / g3), g2 / g1)
    for t in out:
        t.flags.writeable = False
    return out


def _grid_index(rhat: NDArray[np.float64]) -> NDArray[np.intp]:
    """Grid index of the shape minimising ``(r(gam) - rhat)^2`` (first minimum on ties).

    The ratio is increasing on the grid, so a binary search and a comparison of the two
    neighbours gives the same answer as MATLAB's exhaustive ``min``.
    """
    r = _gam_tables()[0]
    j = np.clip(np.searchsorted(r, rhat), 1, r.size - 1)
    d_lo = r[j - 1] - rhat
    d_hi = r[j] - rhat
    out: NDArray[np.intp] = j - (d_hi * d_hi >= d_lo * d_lo)
    return out


def _aggd_fit(
    n: float | NDArray[np.float64],
    n_left: NDArray[np.float64],
    n_right: NDArray[np.float64],
    s_left: NDArray[np.float64],
    s_right: NDArray[np.float64],
    s_abs: NDArray[np.float64],
) -> tuple[NDArray[np.intp], NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """AGGD fit of ``estimateaggdparam.m`` from per-block sums.

    ``n`` is the number of values of a block (a number, or an array: one per block),
    ``n_left``/``n_right`` count the negative/positive values, ``s_left`` sums the squares of
    the negative ones, ``s_right`` of the positive ones, ``s_abs`` sums the absolute values.
    Returns the index of the shape alpha on the grid ``_GAM_GRID``, beta_left, beta_right and
    ``valid`` (False where there is no negative or no positive value, or a zero spread on one
    side: the fit is undefined, index and betas are 0).
    """
    valid = (n_left > 0) & (n_right > 0) & (s_left > 0) & (s_right > 0)
    left_std = np.sqrt(s_left / np.maximum(n_left, 1))
    right_std = np.sqrt(s_right / np.maximum(n_right, 1))
    g = np.where(valid, left_std / np.where(valid, right_std, 1.0), 1.0)
    mean_abs = s_abs / n
    rhat = mean_abs * mean_abs / np.where(valid, (s_left + s_right) / n, 1.0)
    g2 = g * g
    rhatnorm = rhat * (g2 * g + 1.0) * (g + 1.0) / ((g2 + 1.0) * (g2 + 1.0))
    pos = np.where(valid, _grid_index(rhatnorm), 0)
    ratio = _gam_tables()[1][pos]
    beta_l = np.where(valid, left_std * ratio, 0.0)
    beta_r = np.where(valid, right_std * ratio, 0.0)
    return pos, beta_l, beta_r, valid


#: Working-set size of the block statistics' per-group arrays (see :func:`_block_stats`).
_GROUP_BYTES = 2 << 20
#: In-block circular shifts ``[dr dc]`` of the paired products (``circshift`` arguments).
_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))


def _shift_sums(x: NDArray[Any], bh: int, bw: int) -> NDArray[np.float64]:
    """``sum(block .* circshift(block, [dr dc]))`` for the four :data:`_SHIFTS`.

    ``x`` has shape ``(k, n_blocks, bh * bw)``: ``k`` arrays, blocks flattened row-major,
    one per row. Returns shape ``(k, 4, n_blocks)``. Shifting a flattened block by
    ``dr * bw + dc`` pairs every element with its in-block partner except in the first row
    (``dr = 1``) and in the first or last column (``dc = +-1``), where the circular shift
    wraps around; the sums are one dot product of the flattened blocks with their shifted
    selves (BLAS, batched over blocks) plus the corrections of those wrapped rows and
    columns (:func:`_wrap_corrections`).
    """
    n = bh * bw
    out = np.empty((x.shape[0], 4, x.shape[1]))
    for k, (dr, dc) in enumerate(_SHIFTS):
        o = min(dr * bw + dc, n)
        out[:, k, :] = (x[:, :, None, o:] @ x[:, :, : n - o, None])[..., 0, 0]
    return out


def _edges(x: NDArray[Any], bh: int, bw: int) -> list[NDArray[np.float64]]:
    """First and last column, first and last row of the flattened blocks of ``x`` (shape
    ``(k, n_blocks, bh * bw)``), as float64 copies."""
    x4 = x.reshape(*x.shape[:-1], bh, bw)
    parts = (x4[..., 0], x4[..., bw - 1], x4[..., 0, :], x4[..., bh - 1, :])
    return [np.asarray(p, dtype=np.float64) for p in parts]


def _wrap_corrections(
    first: NDArray[np.float64],
    last: NDArray[np.float64],
    top: NDArray[np.float64],
    bottom: NDArray[np.float64],
) -> NDArray[np.float64]:
    """What :func:`_shift_sums` adds to the flat dot products, shape ``(k, 4, n_blocks)``,
    from the :func:`_edges` of the blocks.

    With ``F``/``L`` the first/last column and ``T``/``B`` the first/last row of a block:
    ``[0 1]`` pairs ``F[r]`` with ``L[r]`` instead of ``L[r-1]``; ``[1 0]`` adds the row-0
    pairs ``T.B``; ``[1 1]`` pairs ``F[r]`` with ``L[r-1]`` instead of ``L[r-2]`` and adds
    ``T`` with ``B`` rolled by one; ``[1 -1]`` pairs ``L[r]`` with ``F[r-1]`` instead of
    ``F[r]`` and adds ``T`` with ``B`` rolled back by one.
    """

    def dot(u: NDArray[np.float64], v: NDArray[np.float64]) -> NDArray[np.float64]:
        out: NDArray[np.float64] = np.einsum("...i,...i->...", u, v)
        return out

    p0 = dot(first, last)
    p1 = dot(first[..., 1:], last[..., :-1])
    p2 = dot(first[..., 2:], last[..., :-2])
    p1m = dot(last[..., 1:], first[..., :-1])
    v = dot(top, bottom)
    # top with bottom rolled by +-1: the shifted overlap plus the wrapped element
    dp = dot(top[..., 1:], bottom[..., :-1]) + top[..., 0] * bottom[..., -1]
    dm = dot(top[..., :-1], bottom[..., 1:]) + top[..., -1] * bottom[..., 0]
    return np.stack([p0 - p1, v, p1 - p2 + dp, p1m - p0 + dm], axis=1)


@lru_cache(maxsize=16)
def _partners(bh: int, bw: int) -> NDArray[np.intp]:
    """Flat in-block index of each element's partner under each shift, shape ``(4, bh*bw)``."""
    r, c = np.divmod(np.arange(bh * bw), bw)
    out = np.stack([((r - dr) % bh) * bw + (c - dc) % bw for dr, dc in _SHIFTS])
    out.flags.writeable = False
    return out


def _block_stats(coef: NDArray[np.float64], bh: int, bw: int) -> tuple[NDArray[np.float64], ...]:
    """The sums of the AGGD fit (see :func:`_aggd_fit`) for the ``bh x bw`` blocks of
    ``coef`` and of its four paired products, shape ``(5 * n_blocks,)`` each (coefficients
    first, then the products in :data:`_SHIFTS` order; blocks row-major).

    With ``a = |c|``, ``q = c^2``, ``s = c |c|`` and ``g = sign(c)`` of each coefficient, a
    product ``p = c_i c_j`` has ``|p| = a_i a_j``, ``p^2 = q_i q_j``, ``p |p| = s_i s_j`` and
    ``sign(p) = g_i g_j``: every block sum of a product is a sum of products of two such
    arrays (:func:`_shift_sums`), so no product image is formed. The one-sided sums of
    squares are ``(sum p^2 -+ sum p|p|) / 2``; the counts of negative and positive values
    are ``(n_nonzero -+ sum sign) / 2``, the non-zero count corrected for the (rare) exact
    zeros from a sparse list.
    """
    nr, nc = coef.shape[0] // bh, coef.shape[1] // bw
    n, nb = bh * bw, nr * nc
    cb = np.empty((nb, n))  # blocks flattened, one per row
    cb.reshape(nr, nc, bh, bw)[...] = (
        coef[: nr * bh, : nc * bw].reshape(nr, bh, nc, bw).transpose(0, 2, 1, 3)
    )
    pos, neg = cb > 0, cb < 0
    # signs in float32: their dot products are integers below 2^24, exact (float64 beyond)
    sign_type = np.float32 if n < 1 << 24 else np.float64
    g = np.subtract(pos.view(np.int8), neg.view(np.int8)).astype(sign_type)
    sums = np.empty((4, 5, nb))
    sums[3, 0] = g @ np.ones(n, dtype=sign_type)
    sums[3:, 1:] = _shift_sums(g[None], bh, bw)
    # |c|, c^2, c|c| for a group of blocks at a time (about 2 MB: the dot products read
    # them from cache), with their edges kept for the wrap-around corrections
    edges = [np.empty((4, nb, m)) for m in (bh, bh, bw, bw)]
    for e, v in zip(edges, _edges(g[None], bh, bw)):
        e[3:] = v
    ones = np.ones(n)
    group = max(1, _GROUP_BYTES // (24 * n))
    x_buf = np.empty((3, min(group, nb), n))
    for lo in range(0, nb, group):
        hi = min(nb, lo + group)
        x = x_buf[:, : hi - lo]
        c = cb[lo:hi]
        np.abs(c, out=x[0])
        np.multiply(c, c, out=x[1])
        np.multiply(c, x[0], out=x[2])
        sums[:3, 0, lo:hi] = x @ ones
        sums[:3, 1:, lo:hi] = _shift_sums(x, bh, bw)
        for e, v in zip(edges, _edges(x, bh, bw)):
            e[:3, lo:hi] = v
    sums[:, 1:] += _wrap_corrections(*edges)
    s_abs, s_sq, s_sgn, gf = sums.reshape(4, 5 * nb)
    # non-zero values per block and per block of each product: a product is zero where
    # either factor is, n_zero + n_zero - (pairs of two zeros), from the zeros' positions
    n_nonzero = np.empty((5, nb))
    n_nonzero[0] = (g[:, None, :] @ g[:, :, None])[:, 0, 0]
    n_zero = n - n_nonzero[0]
    n_nonzero[1:] = n - 2.0 * n_zero
    with_zeros = np.flatnonzero(n_zero)
    if with_zeros.size:
        zero = cb[with_zeros] == 0
        blk, idx = np.divmod(np.flatnonzero(zero), n)
        both = zero[blk, _partners(bh, bw)[:, idx]]  # (4, number of zeros)
        for k in range(4):
            n_nonzero[1 + k, with_zeros] += np.bincount(blk[both[k]], minlength=with_zeros.size)
    n_nonzero = n_nonzero.ravel()
    n_left = (n_nonzero - gf) * 0.5
    n_right = (n_nonzero + gf) * 0.5
    s_left = np.maximum((s_sq - s_sgn) * 0.5, 0.0)
    s_right = np.maximum((s_sq + s_sgn) * 0.5, 0.0)
    return n_left, n_right, s_left, s_right, s_abs


def _features_from_stats(
    stats: list[tuple[NDArray[np.float64], ...]], sizes: list[int]
) -> NDArray[np.float64]:
    """18 features per block and scale (row-major block order, scales side by side) from
    :func:`_block_stats` of each scale (``sizes``: values per block; every scale has the
    same blocks), NaN where a block's fit at that scale is undefined; one AGGD fit for the
    blocks of all arrays and scales."""
    n_scales, nb = len(stats), stats[0][0].size // 5
    n = np.repeat(np.asarray(sizes, dtype=np.float64), 5 * nb)
    pos, bl, br, valid = _aggd_fit(n, *(np.concatenate(k) for k in zip(*stats)))
    alpha = np.where(valid, _GAM_GRID[pos], 0.0)
    mean = (br - bl) * _gam_tables()[2][pos]
    # (scale, array, block) -> (block, scale, feature)
    a, m, b_l, b_r = (v.reshape(n_scales, 5, nb) for v in (alpha, mean, bl, br))
    feats = np.empty((nb, n_scales, 18))
    feats[:, :, 0] = a[:, 0].T
    feats[:, :, 1] = ((b_l[:, 0] + b_r[:, 0]) / 2.0).T
    pairs = np.stack([a[:, 1:], m[:, 1:], b_l[:, 1:], b_r[:, 1:]], axis=3)  # (s, shift, b, p)
    feats[:, :, 2:] = pairs.transpose(2, 0, 1, 3).reshape(nb, n_scales, 16)
    feats[~valid.reshape(n_scales, 5, nb).all(axis=1).T] = np.nan
    return feats.reshape(nb, 18 * n_scales)


def _block_shape(shape: tuple[int, ...], block_size: int) -> tuple[int, int]:
    if block_size < 2 or block_size % 2:
        raise ConfigurationError(f"NIQE block_size must be an even integer >= 2, got {block_size}")
    bh = min(block_size, shape[0] - shape[0] % 2)
    bw = min(block_size, shape[1] - shape[1] % 2)
    if bh < 2 or bw < 2:
        raise ConfigurationError(f"image of shape {shape} is too small for NIQE (2x2 minimum)")
    return bh, bw


def _features_and_sharpness(
    grey: NDArray[np.floating], block_size: int, sharpness: bool = True
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Block features of both scales and, if ``sharpness``, each block's mean ``sigma``
    (first scale; only the model fit needs it, an empty array otherwise)."""
    img = np.asarray(grey, dtype=np.float64)
    bh, bw = _block_shape(img.shape, block_size)
    nr, nc = img.shape[0] // bh, img.shape[1] // bw
    img = img[: nr * bh, : nc * bw]
    coef, sigma = mscn(img)
    stats = [_block_stats(coef, bh, bw)]
    sharp = sigma.reshape(nr, bh, nc, bw).mean(axis=(1, 3)).ravel() if sharpness else np.empty(0)
    coef2, _ = mscn(_halve(img))
    stats.append(_block_stats(coef2, bh // 2, bw // 2))
    return _features_from_stats(stats, [bh * bw, bh * bw // 4]), sharp


def niqe_features(grey: NDArray[np.floating], block_size: int = BLOCK_SIZE) -> NDArray[np.float64]:
    """The 36 NIQE features of every block of an image (18 per scale).

    Parameters
    ----------
    grey : ndarray, shape (H, W)
        Grey image in 0..255 (``I`` of the quality measures).
    block_size : int
        Block side at the first scale (even); 96 in the original. Shrinks to the image side
        (made even) on an axis where the image is smaller.

    Returns
    -------
    ndarray of float64, shape (n_blocks, 36)
        Blocks in row-major order; a row is NaN where a block's AGGD fit is undefined
        (constant block).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> niqe_features(rng.uniform(0, 255, (192, 200))).shape
    (4, 36)
    """
    return _features_and_sharpness(grey, block_size, sharpness=False)[0]


# --------------------------------------------------------------------------------------------
# Model


@dataclass(frozen=True, eq=False)
class NIQEModel:
    """A NIQE pristine model: mean and covariance of the 36 block features.

    Parameters
    ----------
    mu : ndarray, shape (36,)
    cov : ndarray, shape (36, 36)
    block_size : int
        Block side the model was fitted with (and that :func:`niqe` uses with it).
    n_blocks : int
        Number of blocks it was fitted on (0 when unknown).
    description : str
        Free text (provenance).
    """

    mu: NDArray[np.float64]
    cov: NDArray[np.float64]
    block_size: int = BLOCK_SIZE
    n_blocks: int = 0
    description: str = ""
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        mu = np.asarray(self.mu, dtype=np.float64).reshape(-1)
        cov = np.asarray(self.cov, dtype=np.float64)
        if mu.shape != (_N_FEATURES,) or cov.shape != (_N_FEATURES, _N_FEATURES):
            raise ModelFileError(
                f"NIQE model needs mu (36,) and cov (36, 36), got {mu.shape} and {cov.shape}"
            )
        if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(cov))):
            raise ModelFileError("NIQE model holds NaN or infinite values")
        object.__setattr__(self, "mu", mu)
        object.__setattr__(self, "cov", cov)
        object.__setattr__(self, "block_size", int(self.block_size))
        _block_shape((self.block_size, self.block_size), self.block_size)

    def distance(self, mu: NDArray[np.float64], cov: NDArray[np.float64]) -> float:
        """NIQE distance between this model and an image's MVG ``(mu, cov)``.

        ``d' pinv(S) d`` with ``S = (cov_model + cov) / 2`` and numpy's ``pinv`` cut-off
        (eigenvalues within 1e-15 of the largest in magnitude are dropped). When no
        eigenvalue can come near the cut-off (``cov`` positive semi-definite, so the
        smallest eigenvalue of ``S`` is at least half the model's and the largest at most
        half the model's plus the trace of ``cov``, with a margin of 1000), ``pinv(S)`` is
        the inverse and a linear solve gives the value; otherwise an eigendecomposition.
        """
        d = self.mu - mu
        s = (self.cov + cov) / 2.0
        lo, hi = self._eigen_range()
        if lo > 1e-12 * (hi + float(np.trace(cov))):
            q = float(d @ np.linalg.solve(s, d))
        else:
            w, v = np.linalg.eigh(s)
            keep = np.abs(w) > 1e-15 * np.abs(w).max()
            proj = d @ v[:, keep]
            q = float(proj @ (proj / w[keep]))
        return math.sqrt(max(q, 0.0))

    def _eigen_range(self) -> tuple[float, float]:
        """Smallest and largest eigenvalue of the model covariance (cached)."""
        if "eigen_range" not in self._cache:
            w = np.linalg.eigvalsh(self.cov)
            self._cache["eigen_range"] = (float(w[0]), float(w[-1]))
        lo, hi = self._cache["eigen_range"]
        return lo, hi

    def degenerate_value(self) -> float:
        """NIQE of an image without a usable block (zero mean, zero covariance)."""
        if "degenerate" not in self._cache:
            z = np.zeros(_N_FEATURES)
            self._cache["degenerate"] = self.distance(z, np.zeros((_N_FEATURES, _N_FEATURES)))
        return float(self._cache["degenerate"])

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model as a ``.npz`` file of plain arrays (no pickle)."""
        with open(path, "wb") as fh:
            np.savez(
                fh,
                format=np.array(_MODEL_FORMAT),
                version=np.array(_MODEL_VERSION),
                mu=self.mu,
                cov=self.cov,
                block_size=np.array(self.block_size),
                n_blocks=np.array(self.n_blocks),
                description=np.array(self.description),
            )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> NIQEModel:
        """Read a model written by :meth:`save` (``allow_pickle=False``).

        Raises
        ------
        ModelFileError
            If the file is missing, not such a model, of another version or inconsistent.
        """
        try:
            with np.load(path, allow_pickle=False) as z:
                if str(z["format"]) != _MODEL_FORMAT:
                    raise ModelFileError(f"{path} is not an iqa-liveness NIQE model")
                if int(z["version"]) != _MODEL_VERSION:
                    raise ModelFileError(
                        f"{path}: NIQE model version {int(z['version'])} is not supported"
                    )
                return cls(
                    mu=z["mu"],
                    cov=z["cov"],
                    block_size=int(z["block_size"]),
                    n_blocks=int(z["n_blocks"]),
                    description=str(z["description"]),
                )
        except ModelFileError:
            raise
        except (OSError, ValueError, KeyError) as exc:
            raise ModelFileError(f"cannot read NIQE model {path}: {exc}") from exc


@lru_cache(maxsize=1)
def default_niqe_model() -> NIQEModel:
    """The official pristine model of the LIVE NIQE release (``modelparameters.mat``).

    Examples
    --------
    >>> m = default_niqe_model()
    >>> m.mu.shape, m.block_size
    ((36,), 96)
    """
    ref = resources.files("iqa_liveness.quality") / "data" / "niqe_pristine.npz"
    with resources.as_file(ref) as p:
        return NIQEModel.load(p)


@lru_cache(maxsize=8)
def _load_cached(path: str) -> NIQEModel:
    return NIQEModel.load(path)


def _resolve_model(model: NIQEModel | str | os.PathLike[str] | None) -> NIQEModel:
    if model is None:
        return default_niqe_model()
    if isinstance(model, NIQEModel):
        return model
    if isinstance(model, (str, os.PathLike)):
        return _load_cached(str(Path(model).resolve()))
    raise ConfigurationError(
        f"niqe_model must be a NIQEModel, a path or None, got {type(model).__name__}"
    )


def _mvg(feats: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64], int]:
    """Mean and covariance (N-1) of the complete rows; zeros when there are too few."""
    rows = feats[np.isfinite(feats).all(axis=1)]
    n = rows.shape[0]
    mu = rows.mean(axis=0) if n else np.zeros(_N_FEATURES)
    if n < 2:
        return mu, np.zeros((_N_FEATURES, _N_FEATURES)), n
    d = rows - mu
    cov = (d.T @ d) * (1.0 / (n - 1))  # np.cov(rows, rowvar=False)
    return mu, cov, n


def niqe(
    grey: NDArray[np.floating],
    model: NIQEModel | str | os.PathLike[str] | None = None,
) -> float:
    """NIQE of a grey image (lower is more natural).

    Parameters
    ----------
    grey : ndarray, shape (H, W)
        Grey image in 0..255 (``I`` of the quality measures, e.g. from
        :func:`~iqa_liveness.image.load_grey`).
    model : NIQEModel, path or None
        Pristine model; ``None`` is the official LIVE model (:func:`default_niqe_model`).
        Its ``block_size`` is used.

    Returns
    -------
    float
        Finite, >= 0. See the module notes for flat and small images.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage import data
    >>> round(niqe(data.camera().astype(float)), 2)
    3.1
    >>> niqe(np.full((100, 100), 9.0)) == default_niqe_model().degenerate_value()
    True
    """
    m = _resolve_model(model)
    feats, _ = _features_and_sharpness(grey, m.block_size, sharpness=False)
    mu, cov, n = _mvg(feats)
    if n == 0:
        return m.degenerate_value()
    return m.distance(mu, cov)


def fit_niqe_model(
    images: Iterable[ImageInput],
    *,
    block_size: int = BLOCK_SIZE,
    sharpness_threshold: float = SHARPNESS_THRESHOLD,
    description: str = "",
) -> NIQEModel:
    """Fit a NIQE pristine model from a set of images (e.g. a camera's bona fide captures).

    As the original ``estimatemodelparam.m``: per image, the blocks whose mean local
    deviation ``sigma`` (first scale) is at least ``sharpness_threshold`` times that of the
    image's sharpest block are kept; the features of all kept blocks are pooled, and the
    model is their mean and covariance (blocks with an undefined fit are left out).

    Parameters
    ----------
    images : iterable of path or ndarray
        Anything :func:`~iqa_liveness.image.load_grey` accepts (RGB / grey arrays, paths).
    block_size : int
        Even block side (96 in the original).
    sharpness_threshold : float
        In [0, 1]; 0.75 in the original.
    description : str
        Stored in the model (provenance).

    Returns
    -------
    NIQEModel

    Raises
    ------
    ConfigurationError
        If fewer than 2 usable blocks were found (the covariance needs at least 2), or a
        parameter is invalid.

    Examples
    --------
    >>> from skimage import data
    >>> m = fit_niqe_model([data.camera(), data.brick()], block_size=96)
    >>> m.n_blocks > 10, m.mu.shape
    (True, (36,))
    """
    if not 0.0 <= sharpness_threshold <= 1.0:
        raise ConfigurationError(
            f"sharpness_threshold must lie in [0, 1], got {sharpness_threshold}"
        )
    kept = []
    for image in images:
        grey = load_grey(image)
        feats, sharp = _features_and_sharpness(grey, block_size)
        sel = sharp >= sharpness_threshold * sharp.max() if sharp.max() > 0 else sharp > 0
        kept.append(feats[sel])
    pooled = np.vstack(kept) if kept else np.zeros((0, _N_FEATURES))
    mu, cov, n = _mvg(pooled)
    if n < 2:
        raise ConfigurationError(
            f"fit_niqe_model found {n} usable block(s); at least 2 are needed "
            f"(give more or larger images, or lower sharpness_threshold)"
        )
    return NIQEModel(mu=mu, cov=cov, block_size=block_size, n_blocks=n, description=description)


def ctx_niqe(ctx: QualityContext) -> float:
    """NIQE of ``ctx.I`` with the model of ``ctx.options['niqe_model']`` (default: LIVE's)."""
    model = _resolve_model(ctx.options.get("niqe_model"))
    return niqe(ctx.I, model)
