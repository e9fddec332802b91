"""Input validation shared by the texture descriptors."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..errors import ConfigurationError, ImageTooSmallError, InvalidImageError


def as_channel(channel: NDArray[np.generic], min_side: int, what: str) -> NDArray[np.generic]:
    """Validate a 2-D channel (integer or finite float) at least ``min_side`` on each side."""
    arr = np.asarray(channel)
    if arr.ndim != 2:
        raise InvalidImageError(f"{what} needs one 2-D channel, got shape {arr.shape}")
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise InvalidImageError(f"{what}: channel dtype must be integer or float, got {arr.dtype}")
    if np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr)):
        raise InvalidImageError(f"{what}: channel holds NaN or infinite values")
    if min(arr.shape) < min_side:
        raise ImageTooSmallError(
            f"{what} needs a channel of at least {min_side}x{min_side} pixels, got "
            f"{arr.shape[0]}x{arr.shape[1]}"
        )
    return arr


def check_tolerance(tolerance: float) -> float:
    tol = float(tolerance)
    if not (np.isfinite(tol) and tol >= 0):
        raise ConfigurationError(f"tolerance must be a finite number >= 0, got {tolerance!r}")
    return tol


def tie_threshold(arr: NDArray[np.generic], tolerance: float, terms: int = 1) -> float:
    """Differences at most this large count as ties (0 when ``tolerance`` is 0).

    ``tolerance * (max - min)`` (scales with the data, so an increasing affine change of the
    channel does not change any decision) plus ``64 terms eps max|x|``, the floating-point
    round-off level of a sum of ``terms`` values (so a channel that is constant up to round-off,
    such as a resized flat patch, is treated as constant).
    """
    if tolerance == 0:
        return 0.0
    lo, hi = float(np.min(arr)), float(np.max(arr))
    eps = float(np.finfo(np.float64).eps)
    return tolerance * (hi - lo) + 64 * terms * eps * max(abs(lo), abs(hi))
