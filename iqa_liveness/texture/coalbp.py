"""Co-occurrence of adjacent LBPs (CoALBP, Nosaka, Ohkawa & Fukui 2011), as ``CoALBP.m``.

Boulkenafet et al. (IEEE TIFS 2016) use it next to LBP and LPQ. Each pixel of the interior
``(H - 2s) x (W - 2s)`` region gets a 4-bit "+"-shaped LBP code with scale s:
bit 0 = right ``(0, +s)``, bit 1 = up ``(-s, 0)``, bit 2 = left ``(0, -s)``, bit 3 = down
``(+s, 0)``, each set when the neighbour is strictly greater than the centre. Pairs of codes at
the displacements (row, col) ``d1 = (0, +r)``, ``d2 = (-r, +r)``, ``d3 = (-r, 0)``,
``d4 = (-r, -r)`` are counted over the interior of the code map (``r`` from each side) as
``16 code(p) + code(p + d)``; the four 256-bin histograms are concatenated (d1, d2, d3, d4)
and normalised together: 1024 values summing to 1.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..errors import ConfigurationError
from ._checks import as_channel, check_tolerance, tie_threshold

__all__ = ["coalbp_codes", "coalbp_histogram"]


def _check_scale_radius(scale: int, radius: int) -> tuple[int, int]:
    for name, v in (("scale", scale), ("radius", radius)):
        if int(v) != v or v < 1:
            raise ConfigurationError(f"CoALBP {name} must be an integer >= 1, got {v!r}")
    return int(scale), int(radius)


def coalbp_codes(
    channel: NDArray[np.generic], scale: int = 1, *, tolerance: float = 1e-9
) -> NDArray[np.int64]:
    """4-bit "+" LBP codes (0..15) of the interior ``(H - 2s) x (W - 2s)`` of one channel.

    A neighbour sets its bit when it exceeds the centre by more than
    ``t = tolerance * (max - min) + 64 eps max|x|`` (``CoALBP.m`` is ``tolerance=0``).

    Examples
    --------
    >>> import numpy as np
    >>> ch = np.array([[0, 9, 0], [1, 5, 7], [0, 5, 0]])
    >>> coalbp_codes(ch).tolist()  # right 7 > 5 (bit 0), up 9 > 5 (bit 1)
    [[3]]
    """
    scale, _ = _check_scale_radius(scale, 1)
    tol = check_tolerance(tolerance)
    arr = as_channel(channel, 2 * scale + 1, "CoALBP")
    img = arr.astype(np.float64)
    h, w = img.shape
    s = scale
    centre = img[s : h - s, s : w - s]
    thr = tie_threshold(img, tol)
    neighbours = (
        img[s : h - s, 2 * s :],  # right
        img[: h - 2 * s, s : w - s],  # up
        img[s : h - s, : w - 2 * s],  # left
        img[2 * s :, s : w - s],  # down
    )
    codes = np.zeros(centre.shape, dtype=np.int64)
    for bit, n in enumerate(neighbours):
        codes |= ((n - centre) > thr).astype(np.int64) << bit
    return codes


def coalbp_histogram(
    channel: NDArray[np.generic], scale: int = 1, radius: int = 2, *, tolerance: float = 1e-9
) -> NDArray[np.float64]:
    """Normalised CoALBP histogram (1024 values) of one channel.

    Parameters
    ----------
    channel : ndarray, shape (H, W)
        Integer or float channel, at least ``2 (s + r) + 1`` on each side.
    scale : int
        LBP scale s (1, 2, 4 in the paper's multi-scale version).
    radius : int
        Co-occurrence distance r (2, 4, 8).
    tolerance : float
        Tie tolerance of the code comparisons, see :func:`coalbp_codes`.

    Returns
    -------
    ndarray of float64, shape (1024,)
        ``[h_d1, h_d2, h_d3, h_d4] / (4 (H - 2s - 2r) (W - 2s - 2r))``.

    References
    ----------
    R. Nosaka, Y. Ohkawa and K. Fukui, "Feature extraction based on co-occurrence of adjacent
    local binary patterns", PSIVT 2011. Z. Boulkenafet, J. Komulainen and A. Hadid, "Face
    spoofing detection using colour texture analysis", IEEE TIFS 11(8), 2016.

    Examples
    --------
    >>> import numpy as np
    >>> h = coalbp_histogram(np.random.default_rng(0).integers(0, 256, (64, 64)))
    >>> h.shape, float(h.sum())
    ((1024,), 1.0)
    """
    scale, radius = _check_scale_radius(scale, radius)
    arr = as_channel(channel, 2 * (scale + radius) + 1, "CoALBP")
    codes = coalbp_codes(arr, scale, tolerance=tolerance)
    r = radius
    h, w = codes.shape
    centre = codes[r : h - r, r : w - r]
    hists = []
    for dy, dx in ((0, r), (-r, r), (-r, 0), (-r, -r)):
        other = codes[r + dy : h - r + dy, r + dx : w - r + dx]
        hists.append(np.bincount((16 * centre + other).ravel(), minlength=256))
    counts = np.concatenate(hists)
    return counts / counts.sum()
