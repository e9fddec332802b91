"""Per-image context shared by all quality measures.

Galbally, Marcel & Fierrez (IEEE TIP 2014) compute every full-reference measure between the
grey input image ``I`` and its smoothed copy ``I'``. A :class:`QualityContext` holds both and
caches the intermediates several measures use (the difference image, its absolute value, sums
of squares, spectra, gradients...), so that each is computed once per image whatever the set
of measures asked for.

Family modules read the common intermediates from the properties below and share their own
through :meth:`QualityContext.cached`::

    def _spectrum(ctx):
        return np.fft.fft2(ctx.I)

    def ctx_sme(ctx):
        f = ctx.cached("spectral.fft2_I", _spectrum)
        ...

Cache keys are plain strings; prefix them with the module name to avoid collisions.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any, Literal, TypeVar

import cv2
import numpy as np
from numpy.typing import NDArray

from ..errors import ConfigurationError, InvalidImageError

__all__ = [
    "CONVENTIONS",
    "Convention",
    "QualityContext",
    "smooth",
    "strip_rows",
    "tune_allocator",
]

T = TypeVar("T")
Convention = Literal["standard", "bob"]
#: Accepted values of ``convention``.
CONVENTIONS: tuple[str, ...] = ("standard", "bob")

#: Standard deviation of the 3x3 Gaussian that makes the smoothed copy ``I'``.
SMOOTHING_SIGMA = 0.5


def smooth(image: NDArray[np.float64]) -> NDArray[np.float64]:
    """Smoothed copy ``I'``: 3x3 Gaussian, sigma 0.5, kernel normalised, symmetric border.

    The border is the *symmetric* (half-sample, ``dcb|abcd|dcb`` is ``cba|abcd|dcb``) extension
    of MATLAB's ``imfilter(..., 'symmetric')``, i.e. OpenCV's ``BORDER_REFLECT`` and SciPy's
    ``mode="reflect"``.

    Examples
    --------
    >>> import numpy as np
    >>> smooth(np.full((8, 8), 7.0))[0, 0]
    np.float64(7.0)
    """
    out = cv2.GaussianBlur(
        image, (3, 3), SMOOTHING_SIGMA, sigmaY=SMOOTHING_SIGMA, borderType=cv2.BORDER_REFLECT
    )
    return np.asarray(out, dtype=np.float64)


def strip_rows(n_rows: int, row_bytes: int, budget: int) -> int:
    """How many rows of ``row_bytes`` each fit in ``budget`` bytes (at least 1, at most all).

    The measures that make many passes over image-sized arrays run them on strips of rows
    small enough to stay in the core's cache.

    Examples
    --------
    >>> strip_rows(480, 640 * 4, 1 << 19), strip_rows(480, 640 * 4, 16), strip_rows(4, 8, 1 << 20)
    (204, 1, 4)
    """
    return max(1, min(n_rows, budget // max(row_bytes, 1)))


_ALLOCATOR_TUNED: bool | None = None
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters


def tune_allocator() -> bool:
    """Let glibc keep freed image-sized arrays for reuse instead of returning them to the OS.

    The measures allocate tens of image-sized temporaries per image. With glibc's defaults,
    each is a fresh ``mmap`` (or the heap top is trimmed after each image), so every image
    pays page faults for all of them, which costs more than the arithmetic (e.g. 22 ms instead
    of 6 ms for SSIM on a 640x480 frame on the 2-core test machine). This raises glibc's
    ``M_MMAP_THRESHOLD`` to 64 MiB and ``M_TRIM_THRESHOLD`` to 512 MiB (``mallopt``) so that
    memory freed after one image serves the next; the process keeps its peak heap (about
    100 MB for 640x480 frames) instead of returning it.

    Called once by :class:`QualityFeatures` and :func:`compute_measures`. Process-wide; no
    effect outside glibc (Linux), or if the environment variable
    ``IQA_LIVENESS_NO_MALLOPT`` is set. Returns whether the setting was applied.
    """
    global _ALLOCATOR_TUNED
    if _ALLOCATOR_TUNED is None:
        _ALLOCATOR_TUNED = False
        if sys.platform.startswith("linux") and not os.environ.get("IQA_LIVENESS_NO_MALLOPT"):
            try:
                libc = ctypes.CDLL("libc.so.6")
                _ALLOCATOR_TUNED = bool(
                    libc.mallopt(_M_MMAP_THRESHOLD, 64 << 20)
                    and libc.mallopt(_M_TRIM_THRESHOLD, 512 << 20)
                )
            except (OSError, AttributeError):
                _ALLOCATOR_TUNED = False
    return _ALLOCATOR_TUNED


def check_convention(convention: object) -> Convention:
    """Return ``convention`` if it is ``"standard"`` or ``"bob"``, else raise."""
    if not isinstance(convention, str) or convention not in CONVENTIONS:
        raise ConfigurationError(
            f"convention must be one of {', '.join(map(repr, CONVENTIONS))}, got {convention!r}"
        )
    return convention  # type: ignore[return-value]


class QualityContext:
    """The grey image, its smoothed copy and the cached intermediates of one image.

    Parameters
    ----------
    grey : ndarray, shape (H, W)
        Grey image as float in 0..255 (e.g. from :func:`iqa_liveness.image.load_grey`). It is
        converted to a C-contiguous float64 array (no copy if it already is one).
    convention : {"standard", "bob"}
        ``"standard"``: the definitions of the papers; ``"bob"``: the values of
        bob.ip.qualitymeasure 1.1.8 (see ``docs/measures.md``).
    options : mapping, optional
        Extra settings read by some measures (``QualityFeatures`` passes ``niqe_model`` and
        ``biqi_models``). Copied into a plain dict.

    Attributes
    ----------
    I : ndarray
        The grey image, float64 in 0..255.
    convention : str
    options : dict

    Examples
    --------
    >>> import numpy as np
    >>> ctx = QualityContext(np.arange(64.0).reshape(8, 8))
    >>> ctx.shape, ctx.n_pixels
    ((8, 8), 64)
    >>> ctx.cached("demo.total", lambda c: float(c.I.sum()))
    2016.0
    """

    def __init__(
        self,
        grey: NDArray[np.floating[Any]] | NDArray[np.integer[Any]],
        convention: str = "standard",
        options: Mapping[str, Any] | None = None,
    ) -> None:
        arr = np.ascontiguousarray(grey, dtype=np.float64)
        if arr.ndim != 2 or arr.size == 0:
            raise InvalidImageError(f"a grey image of shape (H, W) is needed, got {arr.shape}")
        self.I: NDArray[np.float64] = arr
        self.convention: Convention = check_convention(convention)
        self.options: dict[str, Any] = dict(options) if options is not None else {}
        self._cache: dict[str, Any] = {}

    # -- geometry --------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` of the image."""
        h, w = self.I.shape
        return int(h), int(w)

    @property
    def n_pixels(self) -> int:
        """Number of pixels ``N * M``."""
        return int(self.I.size)

    # -- shared intermediates --------------------------------------------------------------
    @cached_property
    def smoothed(self) -> NDArray[np.float64]:
        """``I'``: see :func:`smooth`."""
        return smooth(self.I)

    @cached_property
    def diff(self) -> NDArray[np.float64]:
        """Difference image ``I - I'``."""
        return self.I - self.smoothed

    @cached_property
    def abs_diff(self) -> NDArray[np.float64]:
        """``|I - I'|``."""
        return np.abs(self.diff)

    @cached_property
    def sum_sq(self) -> float:
        """``sum I**2``."""
        return float(np.vdot(self.I, self.I))

    @cached_property
    def sum_sq_smoothed(self) -> float:
        """``sum I'**2``."""
        return float(np.vdot(self.smoothed, self.smoothed))

    @cached_property
    def sum_sq_diff(self) -> float:
        """``sum (I - I')**2``."""
        return float(np.vdot(self.diff, self.diff))

    @cached_property
    def max_I(self) -> float:
        """``max I``."""
        return float(self.I.max())

    @cached_property
    def min_I(self) -> float:
        """``min I`` (``>= 0`` for images from :func:`~iqa_liveness.image.load_grey`)."""
        return float(self.I.min())

    @cached_property
    def sum_abs_diff(self) -> float:
        """``sum |I - I'|``."""
        return float(self.abs_diff.sum())

    # -- generic memo ----------------------------------------------------------------------
    def cached(self, key: str, factory: Callable[[QualityContext], T]) -> T:
        """Return the intermediate stored under ``key``, computing ``factory(self)`` once.

        Parameters
        ----------
        key : str
            Cache key; prefix it with the family module (``"spectral.fft2_I"``).
        factory : callable
            Called with this context the first time ``key`` is asked for.
        """
        try:
            value: T = self._cache[key]
            return value
        except KeyError:
            value = factory(self)
            self._cache[key] = value
            return value

    def __repr__(self) -> str:
        h, w = self.shape
        return f"QualityContext({h}x{w}, convention={self.convention!r})"
