"""JQI: no-reference JPEG quality index of Wang, Sheikh & Bovik (ICIP 2002).

JPEG compresses 8x8 blocks independently, which leaves *blockiness* (jumps across block
boundaries) and removes *activity* (detail inside blocks). On the grey image ``x`` the index
measures, along rows (horizontal, ``d_h(i, j) = x(i, j+1) - x(i, j)``) and columns (vertical):

* ``B``: mean ``|d|`` across the 8-pixel block boundaries (``d_h(:, 8k)``, 1-based,
  ``k = 1 .. floor(N/8) - 1``);
* ``A = (8 mean|d| - B) / 7``: mean ``|d|`` inside blocks;
* ``Z``: rate of sign changes of ``d`` between neighbours (zero crossings);

each the average of its horizontal and vertical values, and

.. math::

    S = \\alpha + \\beta\\, B^{\\gamma_1/10^4} A^{\\gamma_2/10^4} Z^{\\gamma_3/10^4}

with the constants of the paper, fitted to subjective scores of the LIVE JPEG images
(``alpha = -245.8909, beta = 261.9373, gamma = (-239.8886, 160.1664, 64.2859)``); higher is
better (about 1 to 10 on JPEG images). This is the authors' ``jpeg_quality_score.m``.

Documented choices:

* Images with a side below 16 pixels (no interior block boundary on that axis) get the
  original's value :data:`JQI_TOO_SMALL` (-2).
* ``B``, ``A`` and ``Z`` are floored at :data:`FEATURE_FLOOR` (1e-6) before the power law:
  on a flat image (all three 0) or one without any jump at the block boundaries (``B = 0``)
  the formula is ``0 * inf``, and ``A`` is slightly *negative* on an image of flat 8x8
  blocks (``mean|d|`` runs over ``N - 1`` differences), where the original returns NaN.
  With the floor a flat image scores 21.69 (finite, documented).

References
----------
Z. Wang, H. R. Sheikh and A. C. Bovik, "No-reference perceptual quality assessment of JPEG
compressed images", Proc. IEEE ICIP 2002, vol. 1, pp. 477-480.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from ._context import QualityContext

__all__ = [
    "JQI_CONSTANTS",
    "JQI_TOO_SMALL",
    "FEATURE_FLOOR",
    "jqi",
    "jqi_features",
    "jqi_from_features",
    "ctx_jqi",
]

#: ``(alpha, beta, gamma1, gamma2, gamma3)`` of Wang, Sheikh & Bovik 2002 (gammas x 10^4).
JQI_CONSTANTS: tuple[float, float, float, float, float] = (
    -245.8909,
    261.9373,
    -239.8886,
    160.1664,
    64.2859,
)
#: Value for images with a side below 16 pixels (the original code's).
JQI_TOO_SMALL = -2.0
#: Lower bound applied to B, A and Z (a feature equal to 0 makes the power law undefined).
FEATURE_FLOOR = 1e-6


def _horizontal_differences(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """``x[:, 1:] - x[:, :-1]`` plus a last column of zeros, shape ``(H, W)``.

    Computed on the flattened image (one contiguous, vectorised subtraction); the difference
    across a row end lands in the last column and is set to zero.
    """
    h, w = x.shape
    flat = np.ascontiguousarray(x).ravel()
    d = np.empty((h, w))
    np.subtract(flat[1:], flat[:-1], out=d.ravel()[:-1])
    d[:, -1] = 0.0
    return d


def _axis_features(d: NDArray[np.float64], axis: int, n: int) -> tuple[float, float, float]:
    """B, A, Z of the differences along ``axis`` of an image ``n`` long on that axis.

    ``d`` (C-contiguous): for ``axis=1`` the output of :func:`_horizontal_differences` (its
    zero column changes neither the sums nor the zero crossings, also across row ends when
    flattened), for ``axis=0`` ``x[1:] - x[:-1]``.

    A zero crossing is a pair of neighbouring differences of strictly opposite signs (the
    original's ``sign(d1) sign(d2) < 0``), counted on boolean sign masks; the sums of
    ``|d|`` are OpenCV L1 norms (one pass, no ``|d|`` array).
    """
    cut = slice(7, 8 * (n // 8) - 1, 8)  # 1-based columns 8, 16, ..., 8 (floor(n/8) - 1)
    edge = np.ascontiguousarray(d[:, cut] if axis == 1 else d[cut])
    b = cv2.norm(edge, cv2.NORM_L1) / edge.size if edge.size else float("nan")
    rows, cols = (d.shape[0], d.shape[1] - 1) if axis == 1 else d.shape
    a = (8.0 * cv2.norm(d, cv2.NORM_L1) / (rows * cols) - b) / 7.0
    neg, pos = d < 0, d > 0
    if axis == 1:  # neighbours along the flattened rows
        neg, pos = neg.ravel(), pos.ravel()
    crossings = np.count_nonzero(neg[:-1] & pos[1:]) + np.count_nonzero(pos[:-1] & neg[1:])
    n_pairs = rows * (cols - 1) if axis == 1 else (rows - 1) * cols
    return b, a, float(crossings) / n_pairs


def _vertical_features(x: NDArray[np.float64]) -> tuple[float, float, float]:
    """:func:`_axis_features` along axis 0 without a difference image: whole rows are
    contiguous, so the L1 norms and the sign masks compare ``x[1:]`` with ``x[:-1]``
    directly (one pass less than forming ``x[1:] - x[:-1]``)."""
    h, w = x.shape
    lo, hi = x[:-1], x[1:]
    top = 8 * (h // 8)
    b = cv2.norm(x[8 : top - 1 : 8], x[7 : top - 1 : 8], cv2.NORM_L1) / ((h // 8 - 1) * w)
    a = (8.0 * cv2.norm(hi, lo, cv2.NORM_L1) / ((h - 1) * w) - b) / 7.0
    neg, pos = hi < lo, hi > lo
    crossings = np.count_nonzero(neg[:-1] & pos[1:]) + np.count_nonzero(pos[:-1] & neg[1:])
    return b, a, float(crossings) / ((h - 2) * w)


def jqi_features(grey: NDArray[np.floating]) -> tuple[float, float, float]:
    """Blockiness ``B``, activity ``A`` and zero-crossing rate ``Z`` (horizontal/vertical mean).

    Parameters
    ----------
    grey : ndarray, shape (H, W)
        Grey image in 0..255, both sides at least 16.

    Returns
    -------
    B, A, Z : float

    Examples
    --------
    >>> import numpy as np
    >>> img = np.kron(np.arange(16.0).reshape(4, 4), np.ones((8, 8)))  # 8x8 flat blocks
    >>> [round(v, 4) for v in jqi_features(img)]  # A < 0: mean |d| runs over N - 1 differences
    [2.5, -0.0806, 0.0]
    """
    x = np.ascontiguousarray(grey, dtype=np.float64)
    if x.ndim != 2 or min(x.shape) < 16:
        raise ValueError(f"jqi_features needs a 2-D image of at least 16x16, got {x.shape}")
    bh, ah, zh = _axis_features(_horizontal_differences(x), 1, x.shape[1])
    bv, av, zv = _vertical_features(x)
    return (bh + bv) / 2.0, (ah + av) / 2.0, (zh + zv) / 2.0


def jqi_from_features(
    b: float,
    a: float,
    z: float,
    constants: tuple[float, float, float, float, float] = JQI_CONSTANTS,
) -> float:
    """The power-law score ``alpha + beta B^(g1/1e4) A^(g2/1e4) Z^(g3/1e4)`` (features floored).

    Examples
    --------
    >>> round(jqi_from_features(6.60812, 6.44112, 0.294351), 4)
    10.0072
    """
    alpha, beta, g1, g2, g3 = constants
    b, a, z = (max(float(v), FEATURE_FLOOR) for v in (b, a, z))
    return float(alpha + beta * b ** (g1 / 1e4) * a ** (g2 / 1e4) * z ** (g3 / 1e4))


def jqi(
    grey: NDArray[np.floating],
    constants: tuple[float, float, float, float, float] = JQI_CONSTANTS,
) -> float:
    """JPEG quality index of Wang, Sheikh & Bovik 2002 (higher is better).

    Parameters
    ----------
    grey : ndarray, shape (H, W)
        Grey image in 0..255.
    constants : tuple of 5 floats
        ``(alpha, beta, gamma1, gamma2, gamma3)``; default the paper's. BIQI uses its own
        (:data:`iqa_liveness.quality.biqi.BIQI_JQI_CONSTANTS`).

    Returns
    -------
    float
        :data:`JQI_TOO_SMALL` (-2) when a side is below 16 pixels.

    Examples
    --------
    >>> from skimage import data
    >>> round(jqi(data.camera().astype(float)), 3)
    10.2
    >>> import numpy as np
    >>> jqi(np.zeros((15, 40)))
    -2.0
    """
    x = np.asarray(grey, dtype=np.float64)
    if min(x.shape) < 16:
        return JQI_TOO_SMALL
    return jqi_from_features(*jqi_features(x), constants=constants)


def _features_of(ctx: QualityContext) -> tuple[float, float, float] | None:
    return None if min(ctx.I.shape) < 16 else jqi_features(ctx.I)


def ctx_jqi(ctx: QualityContext) -> float:
    """JQI of ``ctx.I`` (features cached as ``"jpeg.features"`` for BIQI)."""
    f = ctx.cached("jpeg.features", _features_of)
    return JQI_TOO_SMALL if f is None else jqi_from_features(*f)
