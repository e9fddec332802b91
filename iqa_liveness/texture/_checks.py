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


def peak_to_peak(arr: NDArray[np.generic]) -> float:
    """Range of a channel as a float (0 for a constant channel)."""
    return float(np.max(arr)) - float(np.min(arr))
