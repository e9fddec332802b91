"""Local binary patterns (Ojala, Pietikainen & Maenpaa 2002), as the colour-texture toolbox.

Geometry, bit order and bin order are those of the ``lbp.m`` / ``getmapping.m`` code of the
University of Oulu used by Boulkenafet et al.:

* sample ``i = 0..P-1`` sits at (row, col) offset ``(-R sin(2 pi i / P), R cos(2 pi i / P))``
  (bit 0 right, then counter-clockwise on screen) and has weight ``2**i``;
* only pixels whose whole neighbourhood lies inside the channel are coded (for R = 1, the
  ``(H-2) x (W-2)`` valid region; no border codes);
* samples on the pixel grid are compared directly, the others bilinearly interpolated; bit set
  when the sample is ``>=`` the centre;
* the ``u2`` mapping numbers the codes with at most two circular 0/1 transitions 0, 1, ... in
  increasing code value and sends every other code to the last bin (59 bins for P = 8).

Floating-point ties. ``lbp.m`` rounds the bilinear weights to 6 decimals and the interpolated
values to 4 decimals before comparing. That reproduces the toolbox's codes exactly
(``matlab_rounding=True``), but it is a quantisation tied to the absolute scale of the data
(4 decimals of an HSV value in [0, 1] is not 4 decimals of an 8-bit value), so it breaks the
invariance of LBP to scaling. By default (``matlab_rounding=False``) the sign of the
interpolated difference ``sum_k w_k (x_k - c)`` is used, and a neighbour within
``t = tolerance * (max - min) + 64 eps max|x|`` of the centre counts as equal (max, min over the
channel; the second term is the round-off level of the values): the result does not
depend on floating-point round-off (values that are mathematically equal, such as the hues of
two pixels computed through different arithmetic, compare equal) and it is invariant to any
increasing affine change of the channel.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from ..errors import ConfigurationError
from ._checks import as_channel, check_tolerance, tie_threshold
from .colour import round_half_away

__all__ = ["lbp_mapping", "lbp_codes", "lbp_histogram", "LBPMapping"]

LBPMapping = Literal["u2", "riu2", "none"]
_MAX_POINTS = 16


def _check_points_radius(points: int, radius: float) -> tuple[int, float]:
    if int(points) != points or not 1 <= points <= _MAX_POINTS:
        raise ConfigurationError(f"points must be an integer in 1..{_MAX_POINTS}, got {points!r}")
    if not (np.isfinite(radius) and radius > 0):
        raise ConfigurationError(f"radius must be > 0, got {radius!r}")
    return int(points), float(radius)


@lru_cache(maxsize=32)
def _mapping_table(points: int, kind: str) -> NDArray[np.intp]:
    codes = np.arange(2**points, dtype=np.int64)
    rotated = ((codes << 1) | (codes >> (points - 1))) & (2**points - 1)
    transitions = np.array([bin(int(v)).count("1") for v in codes ^ rotated])
    uniform = transitions <= 2
    if kind == "u2":
        table = np.full(codes.shape, int(uniform.sum()), dtype=np.intp)
        table[uniform] = np.arange(int(uniform.sum()))
    elif kind == "riu2":
        ones = np.array([bin(int(v)).count("1") for v in codes])
        table = np.where(uniform, ones, points + 1).astype(np.intp)
    elif kind == "none":
        table = codes.astype(np.intp)
    else:
        raise ConfigurationError(f"mapping must be 'u2', 'riu2' or 'none', got {kind!r}")
    table.setflags(write=False)
    return table


def lbp_mapping(points: int = 8, mapping: LBPMapping = "u2") -> NDArray[np.intp]:
    """Table code -> histogram bin of an LBP mapping, as ``getmapping.m``.

    ``u2``: uniform codes (at most two circular 0/1 transitions) get bins 0, 1, ... in
    increasing code value, all others the last bin: ``P (P - 1) + 3`` bins (59 for P = 8).
    ``riu2``: rotation-invariant uniform, bin = number of ones for uniform codes, ``P + 1``
    otherwise (``P + 2`` bins). ``none``: the code itself (``2**P`` bins).

    Parameters
    ----------
    points : int
        Number of samples P, 1..16.
    mapping : {"u2", "riu2", "none"}

    Returns
    -------
    ndarray of intp, shape (2**P,)

    Examples
    --------
    >>> table = lbp_mapping(8, "u2")
    >>> int(table.max()) + 1, int(table[0]), int(table[255]), int(table[5])
    (59, 0, 57, 58)
    """
    points, _ = _check_points_radius(points, 1.0)
    return _mapping_table(points, mapping)


@lru_cache(maxsize=32)
def _geometry(points: int, radius: float) -> tuple[tuple[int, int], tuple[int, int], list[tuple]]:
    """Border (rows, cols) consumed, origin of the centre block and, per sample, how to read
    it (lbp.m geometry, 0-based)."""
    angle = 2 * np.pi / points
    i = np.arange(points)
    sy = -radius * np.sin(i * angle)
    sx = radius * np.cos(i * angle)
    bsize_y = int(np.ceil(max(sy.max(), 0)) - np.floor(min(sy.min(), 0)) + 1)
    bsize_x = int(np.ceil(max(sx.max(), 0)) - np.floor(min(sx.min(), 0)) + 1)
    orig_y = -np.floor(min(sy.min(), 0))
    orig_x = -np.floor(min(sx.min(), 0))
    samples: list[tuple] = []
    for k in range(points):
        y = sy[k] + orig_y
        x = sx[k] + orig_x
        ry, rx = round(y), round(x)
        if abs(x - rx) < 1e-6 and abs(y - ry) < 1e-6:
            samples.append(("grid", int(ry), int(rx)))
            continue
        fy, fx = int(np.floor(y)), int(np.floor(x))
        cy, cx = int(np.ceil(y)), int(np.ceil(x))
        ty, tx = y - fy, x - fx
        w = ((1 - tx) * (1 - ty), tx * (1 - ty), (1 - tx) * ty, tx * ty)
        samples.append(("interp", (fy, fx), (fy, cx), (cy, fx), (cy, cx), w))
    return (bsize_y - 1, bsize_x - 1), (int(orig_y), int(orig_x)), samples


def _roundn(x: NDArray[np.float64] | float, decimals: int) -> NDArray[np.float64]:
    """MATLAB ``roundn(x, -decimals)``: ``round(x * 10**d) / 10**d``, halves away from zero."""
    p = 10.0**decimals
    return round_half_away(np.asarray(x, dtype=np.float64) * p) / p


def lbp_codes(
    channel: NDArray[np.generic],
    points: int = 8,
    radius: float = 1,
    *,
    matlab_rounding: bool = False,
    tolerance: float = 1e-9,
) -> NDArray[np.int64]:
    """Raw LBP codes (0 .. 2**P - 1) of the valid region of one channel.

    ``code = sum_i s(x_i - c) 2**i`` with ``s(d) = 1`` for ``d >= -tol``, x_i the sample at
    angle ``2 pi i / P`` counter-clockwise from the right, c the centre (see the module doc).

    Parameters
    ----------
    channel : ndarray, shape (H, W)
        Integer or float channel, at least ``2 ceil(R) + 1`` on each side.
    points, radius : int, float
        Number of samples P (1..16) and radius R in pixels.
    matlab_rounding : bool
        Reproduce ``lbp.m`` exactly: bilinear weights rounded to 6 decimals, interpolated
        values to 4 decimals, compared ``>=`` with the centre. Use with ``tolerance=0``.
    tolerance : float
        Relative tie tolerance: a neighbour at most
        ``t = tolerance * (max - min) + 64 eps max|x|`` below the centre counts as equal.
        0 compares exactly.

    Returns
    -------
    ndarray of int64, shape (H - 2 ceil(R), W - 2 ceil(R)) for the usual geometries

    Examples
    --------
    >>> import numpy as np
    >>> ch = np.array([[5, 9, 1], [3, 4, 4], [0, 7, 8]], np.uint8)
    >>> lbp_codes(ch).tolist()  # bits: right, up, up-left (5.33), down, down-right
    [[205]]
    """
    points, radius = _check_points_radius(points, radius)
    tol = check_tolerance(tolerance)
    (by, bx), (oy, ox), samples = _geometry(points, float(radius))
    arr = as_channel(channel, max(by, bx) + 1, "LBP")
    h, w = arr.shape
    dy, dx = h - by, w - bx  # >= 1: as_channel checked the size
    img = arr.astype(np.float64)
    centre = img[oy : oy + dy, ox : ox + dx]
    thr = -tie_threshold(img, tol)
    codes = np.zeros((dy, dx), dtype=np.int64)
    for bit, sample in enumerate(samples):
        if sample[0] == "grid":
            _, ry, rx = sample
            diff = img[ry : ry + dy, rx : rx + dx] - centre
            on = diff >= thr
        else:
            _, p1, p2, p3, p4, weights = sample
            blocks = [img[py : py + dy, px : px + dx] for py, px in (p1, p2, p3, p4)]
            if matlab_rounding:
                w1, w2, w3 = (float(_roundn(v, 6)) for v in weights[:3])
                w4 = float(_roundn(1 - w1 - w2 - w3, 6))
                value = w1 * blocks[0] + w2 * blocks[1] + w3 * blocks[2] + w4 * blocks[3]
                diff = _roundn(value, 4) - centre
            else:
                diff = sum(wk * (b - centre) for wk, b in zip(weights, blocks))
            on = diff >= thr
        codes |= on.astype(np.int64) << bit
    return codes


def lbp_histogram(
    channel: NDArray[np.generic],
    points: int = 8,
    radius: float = 1,
    mapping: LBPMapping = "u2",
    *,
    matlab_rounding: bool = False,
    tolerance: float = 1e-9,
) -> NDArray[np.float64]:
    """Normalised histogram of mapped LBP codes over the valid region of one channel.

    ``h[b] = #{pixels with mapping[code] = b} / #{valid pixels}``: 59 values summing to 1 for
    the default uniform LBP(8, 1). A constant channel gives every code ``2**P - 1`` (all
    neighbours equal the centre), i.e. all mass in one bin (bin 57 for u2, P = 8).

    Parameters
    ----------
    channel : ndarray, shape (H, W)
        Integer or float channel (for example H, S or V of :func:`rgb_to_hsv`).
    points, radius : int, float
        Number of samples P (1..16) and radius R.
    mapping : {"u2", "riu2", "none"}
        Bin mapping, see :func:`lbp_mapping`.
    matlab_rounding, tolerance
        See :func:`lbp_codes`; ``matlab_rounding=True, tolerance=0`` reproduces ``lbp.m``
        bit for bit.

    Returns
    -------
    ndarray of float64, shape (n_bins,)

    References
    ----------
    T. Ojala, M. Pietikainen and T. Maenpaa, "Multiresolution gray-scale and rotation
    invariant texture classification with local binary patterns", IEEE TPAMI 24(7), 2002.
    Z. Boulkenafet, J. Komulainen and A. Hadid, "Face anti-spoofing based on color texture
    analysis", ICIP 2015.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> h = lbp_histogram(rng.integers(0, 256, (64, 64)).astype(np.uint8))
    >>> h.shape, float(h.sum())
    ((59,), 1.0)
    """
    table = lbp_mapping(points, mapping)
    codes = lbp_codes(channel, points, radius, matlab_rounding=matlab_rounding, tolerance=tolerance)
    n_bins = int(table.max()) + 1
    counts = np.bincount(table[codes].ravel(), minlength=n_bins)
    return counts / codes.size
