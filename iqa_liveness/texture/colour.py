"""Colour conversions and the resize used by the colour-texture pipeline.

The colour-texture descriptors of Boulkenafet et al. are computed on the channels of HSV and
YCbCr images produced by MATLAB's ``rgb2hsv`` and ``rgb2ycbcr`` and resized by ``imresize``.
This module gives the same conversions:

* :func:`rgb_to_hsv`: H, S, V as float64 in [0, 1], with the arithmetic of GNU Octave's
  ``rgb2hsv`` (bit-identical to it on the reference inputs).
* :func:`rgb_to_ycbcr`: ITU-R BT.601 studio swing (Y 16..235, Cb and Cr 16..240), channel order
  Y, Cb, Cr, uint8 rounded half away from zero, as MATLAB's ``rgb2ycbcr``. OpenCV's
  ``COLOR_RGB2YCrCb`` is a different space (full range, order Y, Cr, Cb).
* :func:`imresize`: MATLAB's default ``imresize`` (bicubic, a = -0.5, with antialiasing when
  shrinking, symmetric border; weights from :mod:`iqa_liveness._imresize`, shared with NIQE).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray

from .._imresize import resize_matrix as _resize_matrix
from ..errors import InvalidImageError

__all__ = ["rgb_to_hsv", "rgb_to_ycbcr", "imresize", "round_half_away"]

# BT.601 luma weights and the studio-swing ranges of Y and of the chroma channels
_KR, _KB = 0.299, 0.114
_KG = 1.0 - _KR - _KB
_EXACT_MATRIX = np.array(
    [
        [_KR, _KG, _KB],
        [-0.5 * _KR / (1 - _KB), -0.5 * _KG / (1 - _KB), 0.5],
        [0.5, -0.5 * _KG / (1 - _KR), -0.5 * _KB / (1 - _KR)],
    ]
)
# the rounded matrix printed in MATLAB's rgb2ycbcr documentation (for R, G, B in [0, 1])
_MATLAB_DOC_MATRIX = np.array(
    [
        [65.481, 128.553, 24.966],
        [-37.797, -74.203, 112.0],
        [112.0, -93.786, -18.214],
    ]
)


def round_half_away(x: NDArray[np.floating]) -> NDArray[np.float64]:
    """Round to the nearest integer, halves away from zero (MATLAB's ``round``).

    ``numpy.round`` rounds halves to even; this is the MATLAB convention, computed exactly
    (no ``floor(x + 0.5)`` double rounding).

    Examples
    --------
    >>> import numpy as np
    >>> round_half_away(np.array([0.5, 1.5, 2.5, -0.5, 0.49999999999999994]))
    array([ 1.,  2.,  3., -1.,  0.])
    """
    x = np.asarray(x, dtype=np.float64)
    a = np.abs(x)
    f = np.floor(a)
    r = f + (a - f >= 0.5)
    return np.copysign(r, x)


def _rgb01(rgb: NDArray[np.generic]) -> NDArray[np.float64]:
    if not (rgb.ndim == 3 and rgb.shape[2] == 3):
        raise InvalidImageError(f"an RGB image of shape (H, W, 3) is needed, got {rgb.shape}")
    if rgb.dtype == np.uint8:
        return rgb.astype(np.float64) / 255.0
    if rgb.dtype == np.uint16:
        return rgb.astype(np.float64) / 65535.0
    if np.issubdtype(rgb.dtype, np.floating):
        if not np.all(np.isfinite(rgb)):
            raise InvalidImageError("image holds NaN or infinite values")
        return np.clip(rgb.astype(np.float64), 0.0, 1.0)
    raise InvalidImageError(f"image dtype must be uint8, uint16 or float, got {rgb.dtype}")


def rgb_to_hsv(rgb: NDArray[np.generic]) -> NDArray[np.float64]:
    """Convert RGB to HSV, all three channels float64 in [0, 1].

    With ``m = min(R, G, B)``, ``V = max(R, G, B)`` and ``d = V - m`` (R, G, B in [0, 1]):
    ``H = 1/6 (G - B) / d`` when R is the maximum, ``1/3 + 1/6 (B - R) / d`` when G is,
    ``2/3 + 1/6 (R - G) / d`` when B is (precedence red > green > blue), plus 1 where negative,
    and ``H = 0`` for grey pixels (``d = 0``); ``S = 1 - m / V`` (0 for grey); ``V`` as is.
    The floating-point operations are those of GNU Octave 7.3 ``rgb2hsv``: on the reference
    inputs of the colour-texture oracle the output is bit-identical to Octave's (other
    formulations, such as scikit-image's, differ in the last bit of many hues, which moves a
    few LBP codes of the H channel).

    Parameters
    ----------
    rgb : ndarray, shape (H, W, 3)
        uint8 (0..255), uint16 (0..65535) or float (0..1) RGB image.

    Returns
    -------
    ndarray, shape (H, W, 3), float64
        H, S, V in [0, 1].

    References
    ----------
    A. R. Smith, "Color gamut transform pairs", SIGGRAPH 1978.

    Examples
    --------
    >>> import numpy as np
    >>> rgb_to_hsv(np.array([[[255, 0, 0], [0, 0, 255], [128, 128, 128]]], np.uint8)).round(4)
    array([[[0.    , 1.    , 1.    ],
            [0.6667, 1.    , 1.    ],
            [0.    , 0.    , 0.502 ]]])
    """
    x = _rgb01(rgb)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    lo = np.minimum(np.minimum(r, g), b)  # (much faster than a reduction over the last axis)
    v = np.maximum(np.maximum(r, g), b)
    chroma = v - lo
    notgrey = chroma != 0
    d = np.where(notgrey, chroma, 1.0)
    # Octave's operation order; red wins over green over blue when several are the maximum
    h = np.where(
        (v == r) & notgrey,
        1 / 6 * (g - b) / d,
        np.where(
            (v == g) & notgrey,
            1 / 3 + 1 / 6 * (b - r) / d,
            np.where(notgrey, 2 / 3 + 1 / 6 * (r - g) / d, 0.0),
        ),
    )
    h = np.where(h < 0, h + 1.0, h)
    s = np.where(notgrey, 1.0 - lo / np.where(notgrey, v, 1.0), 0.0)
    return np.stack([h, s, v], axis=-1)


def rgb_to_ycbcr(
    rgb: NDArray[np.generic], *, coefficients: Literal["exact", "matlab"] = "exact"
) -> NDArray[np.uint8]:
    """Convert RGB to ITU-R BT.601 studio-swing YCbCr, uint8, channel order Y, Cb, Cr.

    With R, G, B in [0, 1], ``Kr = 0.299`` and ``Kb = 0.114``:
    ``Y = 16 + 219 (Kr R + Kg G + Kb B)``, ``Cb = 128 + 224 (B - Y') / (2 (1 - Kb))``,
    ``Cr = 128 + 224 (R - Y') / (2 (1 - Kr))`` (``Y'`` the luma in [0, 1]), rounded half away
    from zero: Y in 16..235, Cb and Cr in 16..240. This is MATLAB's ``rgb2ycbcr`` (and Octave
    image's, bit-identical on the oracle inputs), *not* OpenCV's ``COLOR_RGB2YCrCb`` (full range,
    Y, Cr, Cb order).

    Parameters
    ----------
    rgb : ndarray, shape (H, W, 3)
        uint8, uint16 or float (0..1) RGB image.
    coefficients : {"exact", "matlab"}
        ``"exact"``: the matrix derived from Kr and Kb (Octave image 2.14). ``"matlab"``: the
        rounded matrix of MATLAB's documentation (65.481, 128.553, 24.966; -37.797, -74.203,
        112; 112, -93.786, -18.214), which moves a value by one on rare pixels.

    Returns
    -------
    ndarray, shape (H, W, 3), uint8

    References
    ----------
    ITU-R Recommendation BT.601-7, "Studio encoding parameters of digital television for
    standard 4:3 and wide-screen 16:9 aspect ratios", 2011.

    Examples
    --------
    >>> import numpy as np
    >>> rgb_to_ycbcr(np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0]]], np.uint8))
    array([[[ 16, 128, 128],
            [235, 128, 128],
            [ 81,  90, 240]]], dtype=uint8)
    """
    x = _rgb01(rgb)
    if coefficients == "exact":
        matrix, gain, offset = _EXACT_MATRIX, (219.0, 224.0, 224.0), (16.0, 128.0, 128.0)
    elif coefficients == "matlab":
        matrix, gain, offset = _MATLAB_DOC_MATRIX, (255.0,) * 3, (16.0, 128.0, 128.0)
    else:
        raise InvalidImageError(f"coefficients must be 'exact' or 'matlab', got {coefficients!r}")
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    y = np.empty(x.shape, dtype=np.float64)
    for k in range(3):
        m0, m1, m2 = matrix[k]
        value = m0 * r + m1 * g + m2 * b
        if coefficients == "exact":  # studio swing on [0, 1], then to 0..255 (Octave image)
            y[..., k] = (value * gain[k] / 255.0 + offset[k] / 255.0) * 255.0
        else:
            y[..., k] = value + offset[k]
    return np.clip(round_half_away(y), 0, 255).astype(np.uint8)


def imresize(image: NDArray[np.generic], shape: tuple[int, int]) -> NDArray[np.generic]:
    """Resize like MATLAB's default ``imresize(image, shape)``.

    Separable bicubic interpolation (Keys kernel, a = -0.5); when shrinking by a factor s < 1
    along an axis, the kernel is stretched by 1/s (antialiasing); output pixel ``i`` (1-based)
    samples the input at ``u = i / s + (1 - 1 / s) / 2``; borders are mirrored (symmetric
    padding); the weights of each output pixel are normalised to sum 1. uint8 input is computed
    in float64 and rounded half away from zero once at the end; float input stays float64.
    Resizing to the same size returns the input values unchanged.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        uint8 or float image.
    shape : (int, int)
        Output (rows, columns).

    Returns
    -------
    ndarray
        uint8 for uint8 input, float64 otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> imresize(np.full((10, 12), 7, np.uint8), (4, 4))
    array([[7, 7, 7, 7],
           [7, 7, 7, 7],
           [7, 7, 7, 7],
           [7, 7, 7, 7]], dtype=uint8)
    """
    rows, cols = int(shape[0]), int(shape[1])
    if rows < 1 or cols < 1:
        raise InvalidImageError(f"output shape must be positive, got {shape}")
    if image.ndim not in (2, 3):
        raise InvalidImageError(f"an image must be (H, W) or (H, W, C), got {image.shape}")
    x = image.astype(np.float64)
    if x.ndim == 3:  # channels first, so that each product is one contiguous matmul
        x = np.ascontiguousarray(x.transpose(2, 0, 1))
    if x.shape[-2] != rows:
        x = np.matmul(_resize_matrix(x.shape[-2], rows), x)
    if x.shape[-1] != cols:
        x = np.matmul(x, _resize_matrix(x.shape[-1], cols).T)
    if image.ndim == 3:
        x = x.transpose(1, 2, 0)
    if image.dtype == np.uint8:
        return np.clip(round_half_away(x), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(x)
