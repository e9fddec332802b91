"""Spectral measures of Galbally, Marcel & Fierrez (2014), Table I: SME, SPE and HLFI.

SME (spectral magnitude error) and SPE (spectral phase error) compare the 2-D discrete
Fourier transforms of the grey image ``I`` (reference) and its smoothed copy ``I'``
(distorted); HLFI (high-low frequency index) is a no-reference sharpness index of ``I``.

:math:`F = \\mathcal{F}(I)` is the unnormalised DFT (numpy's convention,
:math:`F(u,v) = \\sum_{i,j} I_{ij} e^{-2\\pi \\mathrm{i} (ui/N + vj/M)}`). All three measures
are sums over the spectrum that do not depend on its layout (``fftshift`` or not); the
standard convention sums over the *full* spectrum. Since the spectrum of a real image is
Hermitian, we compute one half (``rfft2``) and weight the columns that stand for two, which
gives the full-spectrum value at half the cost. The spectra of ``I`` and ``I'`` are computed
once per image, in double precision, and shared by the three measures and RRED (cache keys
``"spectral.rfft2:I"`` and ``"spectral.rfft2:I'"``): that of ``I`` by :func:`half_spectrum`,
that of ``I'`` derived from it (:func:`smoothed_half_spectrum`: the smoothing multiplies the
spectrum by the kernel's, plus a correction for the symmetric border of rank four), which
equals the DFT of ``I'`` up to rounding at a fraction of the cost of a second DFT.

Conventions
-----------
``"standard"``
    Table I over the full spectrum; SPE takes the phase difference as an angle wrapped to
    :math:`(-\\pi, \\pi]`; HLFI uses the paper's bands (0.15 and 0.35 of each axis) on the
    absolute frequency. The double-precision coefficients are rounded to float32 for the
    magnitudes, phase differences and their squares (sums accumulated in double): the
    values are within about 1e-7 relative of a double-precision computation.
``"bob"``
    bob.ip.qualitymeasure 1.1.8: SME and SPE sum over the ``rfft2`` half only (still divided
    by ``N*M``), SPE does not wrap; HLFI compares a band of columns around ``M/2`` of the
    *unshifted* ``fft2`` (the index of the highest horizontal frequencies) with the rest.

Degenerate inputs never give NaN or inf: identical images give SME = SPE = 0; a Fourier
coefficient of magnitude zero (up to rounding) has phase 0; an image without energy (black)
has HLFI = 1, the value of every flat image.

References
----------
.. [1] J. Galbally, S. Marcel, J. Fierrez, "Image Quality Assessment for Fake Biometric
   Detection: Application to Iris, Fingerprint, and Face Recognition", IEEE Trans. Image
   Processing 23(2):710-724, 2014.
.. [2] I. Avcibas, B. Sankur, K. Sayood, "Statistical evaluation of image quality measures",
   Journal of Electronic Imaging 11(2):206-223, 2002.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, cast

import cv2
import numpy as np
import scipy.fft
from numpy.typing import ArrayLike, NDArray

from ._context import SMOOTHING_SIGMA, QualityContext, check_convention, smooth, strip_rows
from .edges import _image, _pair, _wrapped_angle_into, distorted_image

__all__ = [
    "HLFI_HIGH",
    "HLFI_LOW",
    "BOB_HLFI_BAND",
    "half_spectrum",
    "smoothed_half_spectrum",
    "spectral_magnitude_error",
    "spectral_phase_error",
    "high_low_frequency_index",
    "ctx_sme",
    "ctx_spe",
    "ctx_hlfi",
]

_F = NDArray[np.float64]
_F32 = NDArray[np.float32]
_C = NDArray[np.complex128]

#: HLFI low band: absolute frequency index below this fraction of the axis length.
HLFI_LOW = 0.15
#: HLFI high band: absolute frequency index at or above this fraction of the axis length.
HLFI_HIGH = 0.35
#: bob's HLFI: width of its column band, as a fraction of the number of columns.
BOB_HLFI_BAND = 0.15
# A Fourier coefficient smaller than this fraction of sum|I| (which bounds every |F|) is zero
# up to rounding (the FFT's absolute error is about 1e-16 * sqrt(log NM) * ||I||_2): its
# phase is taken as 0.
_PHASE_TOL = 1e-12


def half_spectrum(image: ArrayLike) -> _C:
    """Half of the 2-D DFT of a real image: columns ``0 .. M//2`` (``rfft2``).

    Computed by OpenCV's real DFT (``cv2.dft``, its packed CCS layout unpacked) when both
    sides are products of 2, 3 and 5, the sizes it transforms fastest (640x480: 0.8 ms
    against 1.2 ms for ``scipy.fft.rfft2``), else by ``scipy.fft.rfft2``. The two agree to
    about 1e-16 of the largest coefficient.

    Parameters
    ----------
    image : array_like, shape (H, W)
        Grey image, float in 0..255.

    Examples
    --------
    >>> import numpy as np
    >>> half_spectrum(np.ones((4, 6))).shape
    (4, 4)
    >>> complex(half_spectrum(np.ones((4, 6)))[0, 0])
    (24+0j)
    >>> x = np.random.default_rng(0).uniform(0, 255, (9, 10))
    >>> bool(np.allclose(half_spectrum(x), np.fft.rfft2(x), rtol=0, atol=1e-10))
    True
    """
    return _half_spectrum(_image(image))


def _half_spectrum(x: _F) -> _C:
    """:func:`half_spectrum` of a checked float64 image (the context's ``I``: checked when
    the image was read, and the measures' values are checked on the way out)."""
    n, m = x.shape
    if n > 1 and m > 1 and cv2.getOptimalDFTSize(n) == n and cv2.getOptimalDFTSize(m) == m:
        return _dft_half(x)
    return cast(_C, scipy.fft.rfft2(x))


def _ccs_column(v: _F) -> _C:
    """A column of the CCS layout (the real DFT of a column, packed) as its full DFT."""
    n = v.shape[0]
    out = np.empty(n, np.complex128)
    out[0] = v[0]
    h = (n - 1) // 2  # frequencies 1..h are stored as (Re, Im) pairs
    out.real[1 : h + 1] = v[1 : 2 * h : 2]
    out.imag[1 : h + 1] = v[2 : 2 * h + 1 : 2]
    if n % 2 == 0:
        out[n // 2] = v[n - 1]  # the real Nyquist coefficient
    out[n - h :] = np.conj(out[1 : h + 1][::-1])  # Hermitian symmetry
    return out


def _dft_half(x: _F) -> _C:
    """``rfft2`` of ``x`` (both sides >= 2) by ``cv2.dft``, unpacked from its CCS layout.

    In the CCS layout columns ``1..(M-1)//2`` are complete complex columns stored as
    (Re, Im) pairs from float column 1 on; column 0 and, for even ``M``, column ``M/2`` are
    real DFTs of real columns, packed like a 1-D CCS. Written one float to the right into
    the complex result, the pairs land in place; only the two packed columns are unpacked.
    """
    n, m = x.shape
    out = np.empty((n, m // 2 + 1), np.complex128)
    flat = out.view(np.float64)
    ccs = flat[:, 1 : m + 1]
    got = cv2.dft(x, dst=ccs)
    if not np.shares_memory(got, out):  # (OpenCV wrote elsewhere)
        ccs[...] = got
    dc = ccs[:, 0].copy()
    nyquist = ccs[:, m - 1].copy() if m % 2 == 0 else None
    out[:, 0] = _ccs_column(dc)
    if nyquist is not None:
        out[:, m // 2] = _ccs_column(nyquist)
    return out


_TAPS = cv2.getGaussianKernel(3, SMOOTHING_SIGMA, ktype=cv2.CV_64F).ravel()
"""The three taps of :func:`~iqa_liveness.quality._context.smooth`'s separable kernel, as
``cv2.GaussianBlur`` builds them for a float64 image (they sum to 1 exactly)."""


def _circular_gain(length: int, count: int) -> _F:
    """``h_L(k) = g_0 + 2 g_1 cos(2 pi k / L)``, ``k < count``: the DFT of the 3 taps placed
    circularly (real: the kernel is symmetric)."""
    return _TAPS[1] + (_TAPS[0] + _TAPS[2]) * np.cos(2.0 * np.pi * np.arange(count) / length)


@lru_cache(maxsize=4)
def _smoothing_gain(n: int, m: int) -> _F:
    """``H(u, v) = h_N(u) h_M(v)`` on the ``rfft2`` half, each value twice (the float view of
    a complex array): the DFT of the 3x3 kernel placed circularly."""
    out = np.outer(_circular_gain(n, n), np.repeat(_circular_gain(m, m // 2 + 1), 2))
    out.flags.writeable = False
    return out


def _extension(length: int, reflect: bool) -> NDArray[np.intp]:
    """Indices ``-1 .. length`` of an axis extended by one sample, symmetric or periodic."""
    ends = (0, length - 1) if reflect else (length - 1, 0)
    return np.concatenate(([ends[0]], np.arange(length), [ends[1]]))


@lru_cache(maxsize=4)
def _frame_layout(n: int, m: int) -> tuple[NDArray[np.intp], NDArray[np.intp], _F, _F]:
    """What :func:`_frame_factors` needs for one shape: flat indices of the symmetric and
    periodic extensions of the three rows around rows 0 and ``N-1`` (``2 x 3 x (M+2)``)
    and of the three columns around columns 0 and ``M-1`` (``2 x 3 x (N+2)``), and the
    constant parts of the factors ``A`` and ``B``."""
    half = m // 2 + 1
    idx = []
    for reflect in (True, False):
        rows = _extension(n, reflect)[[0, 1, 2, n - 1, n, n + 1]]  # rows -1, 0, 1, N-2, N-1, N
        cols = _extension(m, reflect)[[0, 1, 2, m - 1, m, m + 1]]
        by_rows = rows[:, None] * m + _extension(m, reflect)[None, :]
        by_cols = _extension(n, reflect)[None, :] * m + cols[:, None]
        idx.append(np.concatenate((by_rows.ravel(), by_cols.ravel())))
    a = np.zeros((n, 8))
    b = np.zeros((8, half, 2))
    phase_u = np.exp(2j * np.pi * np.arange(n) / n)  # row N-1: exp(-2 pi i u (N-1)/N)
    phase_v = np.exp(2j * np.pi * np.arange(half) / m)  # column M-1
    a[:, 0] = 1.0
    a[:, 1], a[:, 5] = phase_u.real, phase_u.imag
    b[2, :, 0] = 1.0  # Re C_0 x 1
    b[6, :, 1] = 1.0  # Im C_0 x 1
    b[3, :, 0], b[3, :, 1] = phase_v.real, phase_v.imag
    b[7, :, 0], b[7, :, 1] = -phase_v.imag, phase_v.real
    for arr in (*idx, a, b):
        arr.flags.writeable = False
    return idx[0], idx[1], a, b.reshape(8, 2 * half)


def _frame_factors(x: _F) -> tuple[_F, _F]:
    """The DFT of the border correction ``E = smooth(x) - G * x`` (rfft2 half) as a real
    product ``A @ B`` (``G * x``: the same filter with a periodic border).

    ``E`` is the filter applied to the difference of the symmetric and periodic extensions
    of ``x``, which vanishes inside the image: ``E`` is non-zero on the one-pixel frame
    only. Its rows 0 and ``N-1`` and its columns 0 and ``M-1`` (rows 1..N-2) give four
    rank-one terms, ``1 x R_0(v)``, ``exp(2 pi i u/N) x R_{N-1}(v)``, ``C_0(u) x 1`` and
    ``C_{M-1}(u) x exp(2 pi i v/M)`` (``R``, ``C``: 1-D DFTs of those rows and columns).
    ``A`` (N x 8) holds the real and imaginary parts of the four column factors, ``B``
    (8 x 2 (M//2+1)) the row factors, arranged so that ``A @ B`` is the float view (Re, Im
    interleaved) of the complex sum.
    """
    n, m = x.shape
    idx_reflect, idx_wrap, a_const, b_const = _frame_layout(n, m)
    flat = x.ravel()
    d = np.take(flat, idx_reflect)
    d -= np.take(flat, idx_wrap)
    g = _TAPS
    split = 6 * (m + 2)
    frame = []
    for part, length in ((d[:split], m), (d[split:], n)):
        v = g @ part.reshape(2, 3, length + 2)  # across the frame
        frame.append(g[0] * v[:, :-2] + g[1] * v[:, 1:-1] + g[2] * v[:, 2:])  # along it
    rows, cols = frame
    cols[:, 0] = cols[:, -1] = 0.0  # the corners belong to the rows
    r = np.fft.rfft(rows, axis=1)
    c = np.fft.fft(cols, axis=1)
    a = a_const.copy()
    a[:, 2:4], a[:, 6:8] = c.real.T, c.imag.T
    b = b_const.copy()
    bv = b.reshape(8, -1, 2)
    bv[0:2, :, 0], bv[0:2, :, 1] = r.real, r.imag  # Re a_k x (Re, Im) b_k
    bv[4:6, :, 0], bv[4:6, :, 1] = -r.imag, r.real  # Im a_k x (-Im, Re) b_k
    return a, b


def smoothed_half_spectrum(image: ArrayLike, spectrum: ArrayLike | None = None) -> _C:
    r""":func:`half_spectrum` of ``I' = smooth(I)``, derived from the spectrum of ``I``.

    ``smooth`` is a 3x3 filter with a symmetric border. With a periodic border it would be a
    circular convolution, whose DFT is ``H(u, v) F(u, v)`` (``H`` the DFT of the kernel placed
    circularly); the two borders differ on the one-pixel frame only, by an image ``E`` whose
    DFT is a sum of four rank-one terms of 1-D DFTs of its border rows and columns. So

    .. math:: \mathcal{F}(I') = H \cdot F + \mathcal{F}(E)

    exactly, up to rounding (both sides agree to about 1e-16 of the largest coefficient),
    at the cost of a few passes over the half spectrum instead of a second 2-D DFT.

    Parameters
    ----------
    image : array_like, shape (H, W)
        Grey image ``I``, float in 0..255; both sides at least 3 (else ``I'`` is transformed
        directly).
    spectrum : array_like, optional
        ``half_spectrum(image)``, if already computed.

    Examples
    --------
    >>> import numpy as np
    >>> from iqa_liveness.quality._context import smooth
    >>> x = np.random.default_rng(0).uniform(0, 255, (12, 10))
    >>> ref = np.fft.rfft2(smooth(x))
    >>> bool(np.abs(smoothed_half_spectrum(x) - ref).max() < 1e-13 * np.abs(ref).max())
    True
    """
    x = _image(image)
    f = half_spectrum(x) if spectrum is None else np.ascontiguousarray(spectrum, np.complex128)
    return _smoothed_half_spectrum(x, f)


def _smoothed_half_spectrum(x: _F, f: _C) -> _C:
    """:func:`smoothed_half_spectrum` of a checked image and its spectrum."""
    n, m = x.shape
    if n < 3 or m < 3:
        return half_spectrum(smooth(x))
    smoothed = _SmoothedSpectrum(x, f)
    rows = _strip_rows(n, m // 2 + 1, 4)
    for r0 in range(0, n, rows):
        smoothed.fill(r0, min(r0 + rows, n))
    return smoothed.out


# OpenBLAS runs a product on one thread when m n k is below 65536 * 4 (its
# GEMM_MULTITHREAD_THRESHOLD): the correction's products stay below this
_ONE_THREAD_GEMM = 1 << 18


class _SmoothedSpectrum:
    """The half spectrum of ``smooth(x)`` (``out``), computed from ``f = half_spectrum(x)``
    strip of rows by strip (:meth:`fill`) so that a pass over the spectra can use each
    strip while it is in cache; ``x`` has both sides >= 3."""

    def __init__(self, x: _F, f: _C) -> None:
        n, m = x.shape
        self.a, self.b = _frame_factors(x)
        self.gain = _smoothing_gain(n, m)
        self.src = f.view(np.float64)
        self.out: _C = np.empty((n, m // 2 + 1), np.complex128)
        self.flat = self.out.view(np.float64)
        self.chunk = max(1, _ONE_THREAD_GEMM // self.b.size)

    def fill(self, r0: int, r1: int) -> None:
        """Rows ``r0:r1`` of ``out``: ``F(E)`` (:func:`_frame_factors`) plus ``H F``.

        The product ``A @ B`` is taken in chunks of rows small enough for OpenBLAS to run
        each on one thread: for the whole 480 x 642 product it may start a thread per core,
        and on a busy machine threads waiting for a core made it 10x slower (measured).
        """
        for c0 in range(r0, r1, self.chunk):
            c1 = min(c0 + self.chunk, r1)
            np.matmul(self.a[c0:c1], self.b, out=self.flat[c0:c1])
        cv2.accumulateProduct(self.src[r0:r1], self.gain[r0:r1], self.flat[r0:r1])


_STRIP_BYTES = 1 << 21  # the passes over the spectra run on strips of <= 2 MiB per array


def _strip_rows(n: int, half: int, itemsize: int = 8) -> int:
    return strip_rows(n, itemsize * half, _STRIP_BYTES)


def _hlfi_rows(n: int) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Rows of the HLFI low and high bands: ``|u| < 0.15 N`` and ``|u| >= 0.35 N``."""
    k = np.arange(n)
    k_row = np.minimum(k, n - k)  # |signed row frequency index|
    return k_row < HLFI_LOW * n, k_row >= HLFI_HIGH * n


def _runs(mask: NDArray[np.bool_]) -> list[tuple[int, int]]:
    """The runs ``[start, stop)`` of True in a 1-D mask."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.view(np.int8), [0]))))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _phase_tolerance(image: _F, f: _C, non_negative: bool | None = None) -> float:
    """``1e-12 * sum|I|``: ``sum|I|`` bounds every ``|F|``; for ``I >= 0`` it is ``F(0,0)``,
    read from the spectrum ``f`` (no pass over the image once ``non_negative`` is known)."""
    if non_negative is None:
        non_negative = float(image.min()) >= 0.0
    total = abs(float(f[0, 0].real)) if non_negative else float(np.abs(image).sum())
    return _PHASE_TOL * total


def _add_magnitude_sums(sums: _F, a: _F, low: NDArray[np.bool_], high: NDArray[np.bool_]) -> None:
    sums[0] += a.sum(axis=0)
    if low.any():
        sums[1] += a[low].sum(axis=0)
    if high.any():
        sums[2] += a[high].sum(axis=0)


def _magnitude_sums(f: _C) -> _F:
    """Column sums of ``|F|`` over all rows, the HLFI low rows and the HLFI high rows
    (double precision: bob's HLFI)."""
    n, half = f.shape
    low, high = _hlfi_rows(n)
    rows = _strip_rows(n, half)
    sums = np.zeros((3, half))
    buf = np.empty((rows, half))
    for r0 in range(0, n, rows):
        r1 = min(r0 + rows, n)
        a = buf[: r1 - r0]
        np.abs(f[r0:r1], out=a)
        _add_magnitude_sums(sums, a, low[r0:r1], high[r0:r1])
    return sums


@lru_cache(maxsize=8)
def _hlfi_layout(
    n: int, m: int
) -> tuple[int, int, tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]]:
    """The HLFI bands on the ``rfft2`` half: the low band's columns ``0 .. low_cols - 1``,
    the high band's columns ``high_from ..``, and the runs of rows of the two bands."""
    k = np.arange(m // 2 + 1)  # |column frequency index| of the rfft2 half
    low, high = _hlfi_rows(n)
    return (
        int(np.count_nonzero(k < HLFI_LOW * m)),
        int(np.count_nonzero(k < HLFI_HIGH * m)),
        (tuple(_runs(low)), tuple(_runs(high))),
    )


class _HLFIBands:
    """Sums of a float32 ``|F|`` over the full spectrum and the two HLFI bands, from the
    ``rfft2`` half strip by strip (in double): the full-spectrum sum of a block of columns
    is twice its plain sum less its columns of weight 1 (column 0, and Nyquist for even
    ``M``). The low band takes columns ``0 .. low_cols - 1`` of the low rows, the high band
    columns ``high_from ..`` of the high rows."""

    def __init__(self, n: int, m: int) -> None:
        self.low_cols, self.high_from, self.runs = _hlfi_layout(n, m)
        self.nyquist = m % 2 == 0
        self.plain = np.zeros(3)
        self.single = np.zeros(3)

    def add(self, a: _F32, r0: int) -> None:
        """Add a strip ``a`` of ``|F|`` holding rows ``r0 ..``."""
        r1 = r0 + a.shape[0]
        self._add(0, a, True, self.nyquist)
        for band, runs in enumerate(self.runs, start=1):
            for start, stop in runs:
                lo, hi = max(start, r0), min(stop, r1)
                if hi > lo:
                    rows = a[lo - r0 : hi - r0]
                    if band == 1:
                        self._add(1, rows[:, : self.low_cols], True, False)
                    else:
                        self._add(2, rows[:, self.high_from :], False, self.nyquist)

    def _add(self, band: int, block: _F32, first: bool, last: bool) -> None:
        if block.size == 0:
            return
        self.plain[band] += cv2.sumElems(block)[0]
        if first:
            self.single[band] += float(block[:, 0].sum(dtype=np.float64))
        if last:
            self.single[band] += float(block[:, -1].sum(dtype=np.float64))

    def values(self) -> _F:
        """Full-spectrum sums: all, low band, high band."""
        return cast(_F, 2.0 * self.plain - self.single)


def _magnitude_into(f: _C, z: NDArray[np.complex64], out: _F32) -> None:
    """The coefficients ``f`` rounded to float32 (``z``) and their magnitudes (``out``)."""
    np.copyto(z, f, casting="same_kind")
    np.abs(z, out=out)


def _planes(z: NDArray[np.complex64]) -> _F32:
    """The memory of a contiguous complex64 array as two float32 arrays of its shape."""
    return z.view(np.float32).reshape(2, *z.shape)


def _phase_difference_into(
    x: NDArray[np.complex64], y: NDArray[np.complex64], re_x: _F32, im_x: _F32
) -> _F32:
    """``arg(x conj(y))`` wrapped to ``(-pi, pi]``: the gradients' ``atan2(cross, dot)`` in
    float32 (:func:`~iqa_liveness.quality.edges._wrapped_angle_into`; numpy's complex
    product would fuse multiply-adds). ``re_x`` and ``im_x`` are scratch, as are ``x`` and
    ``y``, whose memory holds the result.
    """
    cv2.split(x.view(np.float32).reshape(*x.shape, 2), [re_x, im_x])
    re_y, im_y = _planes(x)  # (x is free)
    cv2.split(y.view(np.float32).reshape(*y.shape, 2), [re_y, im_y])
    return _wrapped_angle_into(re_x, im_x, re_y, im_y, out=_planes(y)[0])  # (y is free)


def _magnitude_bands32(f: _C, m: int) -> _F:
    """:class:`_HLFIBands` of ``|F|`` (standard HLFI), as :func:`_spectral_errors_standard`
    computes them (same strips and operations)."""
    n, half = f.shape
    rows = _strip_rows(n, half)
    z = np.empty((rows, half), np.complex64)
    mag = np.empty((rows, half), np.float32)
    bands = _HLFIBands(n, m)
    for r0 in range(0, n, rows):
        r1 = min(r0 + rows, n)
        _magnitude_into(f[r0:r1], z[: r1 - r0], mag[: r1 - r0])
        bands.add(mag[: r1 - r0], r0)
    return bands.values()


def _single_columns(m: int) -> NDArray[np.intp]:
    """Columns of the ``rfft2`` half that stand for one column of the full spectrum."""
    half = m // 2 + 1
    return np.array([0, half - 1] if m % 2 == 0 and half > 1 else [0])


def _weighted_sq_sum(full_sq: float, single: NDArray[Any]) -> float:
    """``sum_v w_v sum_u x^2`` from the plain sum of squares over the ``rfft2`` half and the
    values ``single`` of the columns of weight 1 (the others stand for two columns)."""
    d = single.astype(np.float64).ravel()
    return 2.0 * full_sq - float(np.dot(d, d))


def _spectral_errors_standard(
    f_ref: _C,
    f_dis: _C,
    tol_ref: float,
    tol_dis: float | None,
    m: int,
    fill: Callable[[int, int], None] | None = None,
) -> tuple[float, float, _F]:
    """Standard SME, SPE and the HLFI sums of ``|F_ref|``, over strips in float32.

    The coefficients (double-precision spectra) are rounded to float32, their magnitudes,
    their product ``x conj(y)`` (cross and dot products) and phase differences computed in
    float32, the sums accumulated in double. A coefficient at or below ``tol`` is zero: it
    is made ``(2**30 tol + re, im)``, whose phase is within 1e-9 rad of 0 (exactly 0 for an
    exact zero). ``fill(r0, r1)``, if given, computes rows ``r0:r1`` of ``f_dis`` just before
    they are used; ``tol_dis`` None: ``1e-12 |F_dis(0, 0)|`` (an image >= 0).
    """
    n, half = f_ref.shape
    rows = _strip_rows(n, half)
    single = _single_columns(m)
    pairs = np.empty((2, rows, half), np.complex64)
    mags = np.empty((2, rows, half), np.float32)
    bands = _HLFIBands(n, m)
    sme = spe = 0.0
    for r0 in range(0, n, rows):
        r1 = min(r0 + rows, n)
        if fill is not None:
            fill(r0, r1)
        if tol_dis is None:
            tol_dis = _PHASE_TOL * abs(float(f_dis[0, 0].real))
        x, y = pairs[:, : r1 - r0]
        a_x, a_y = mags[:, : r1 - r0]
        _magnitude_into(f_ref[r0:r1], x, a_x)
        _magnitude_into(f_dis[r0:r1], y, a_y)
        bands.add(a_x, r0)
        d_single = a_x[:, single].astype(np.float64) - a_y[:, single]
        sme += _weighted_sq_sum(float(cv2.norm(a_x, a_y, cv2.NORM_L2SQR)), d_single)
        for z, a, tol in ((x, a_x, tol_ref), (y, a_y, tol_dis)):
            if cv2.minMaxLoc(a)[0] <= tol:
                cv2.threshold(a, tol, 2.0**30 * tol, cv2.THRESH_BINARY_INV, dst=a)
                np.add(z.real, a, out=z.real)
        phi = _phase_difference_into(x, y, a_x, a_y)
        spe += _weighted_sq_sum(float(cv2.norm(phi, cv2.NORM_L2SQR)), phi[:, single])
    size = n * m
    return sme / size, spe / size, bands.values()


def _standard_errors_of_smoothed(
    x: _F, f_ref: _C, tol_ref: float, tol_dis: float | None
) -> tuple[float, float, _F, _C]:
    """:func:`_spectral_errors_standard` between ``x`` and ``smooth(x)``, the spectrum of
    ``smooth(x)`` computed strip by strip within the pass (returned last)."""
    n, m = x.shape
    if n < 3 or m < 3:
        f_dis = half_spectrum(smooth(x))
        return (*_spectral_errors_standard(f_ref, f_dis, tol_ref, tol_dis, m), f_dis)
    smoothed = _SmoothedSpectrum(x, f_ref)
    errors = _spectral_errors_standard(f_ref, smoothed.out, tol_ref, tol_dis, m, smoothed.fill)
    return (*errors, smoothed.out)


def _spectral_errors(
    f_ref: _C, f_dis: _C, tol_ref: float, tol_dis: float, m: int, conv: str
) -> tuple[float, float, _F]:
    """SME, SPE and the magnitude sums of ``F_ref`` (for HLFI) in one pass over strips.

    Coefficients at or below ``tol`` are zero up to rounding and have phase 0 (in both
    conventions: bob's value there would be the phase of rounding noise). The standard
    convention: :func:`_spectral_errors_standard`; bob's in double precision.
    """
    if conv != "bob":
        return _spectral_errors_standard(f_ref, f_dis, tol_ref, tol_dis, m)
    n, half = f_ref.shape
    low, high = _hlfi_rows(n)
    rows = _strip_rows(n, half)
    sme_cols = np.zeros(half)
    spe_cols = np.zeros(half)
    sums = np.zeros((3, half))
    buf = np.empty((4, rows, half))
    for r0 in range(0, n, rows):
        r1 = min(r0 + rows, n)
        fr, fd = f_ref[r0:r1], f_dis[r0:r1]
        a_ref, a_dis, t1, t2 = buf[:, : r1 - r0]
        np.abs(fr, out=a_ref)
        np.abs(fd, out=a_dis)
        _add_magnitude_sums(sums, a_ref, low[r0:r1], high[r0:r1])
        np.subtract(a_ref, a_dis, out=t1)
        t1 *= t1
        sme_cols += t1.sum(axis=0)
        # unwrapped: numpy.angle differences
        np.arctan2(fr.imag, fr.real, out=t1)
        t1[a_ref <= tol_ref] = 0.0
        np.arctan2(fd.imag, fd.real, out=t2)
        t2[a_dis <= tol_dis] = 0.0
        t1 -= t2
        t1 *= t1
        spe_cols += t1.sum(axis=0)
    size = n * m
    # the rfft2 half, unweighted
    return float(sme_cols.sum()) / size, float(spe_cols.sum()) / size, sums


def _spectrum(image: _F, conv: str) -> _C:
    """:func:`half_spectrum` (standard), or ``numpy.fft.rfft2`` as bob computes it: bob's
    unwrapped SPE depends on the FFT's rounding (one NUAA frame moves by 5e-4 between the
    two, whose results differ by 1e-16)."""
    return cast(_C, np.fft.rfft2(image)) if conv == "bob" else half_spectrum(image)


def _errors_of(reference: ArrayLike, distorted: ArrayLike, conv: str) -> tuple[float, float]:
    ref, dis = _pair(reference, distorted)
    f_ref = _spectrum(ref, conv)
    tol_ref = _phase_tolerance(ref, f_ref)
    if conv != "bob" and np.array_equal(dis, smooth(ref)):  # I' itself: as the context does
        tol_dis = None if float(dis.min()) >= 0.0 else _phase_tolerance(dis, f_ref, False)
        sme, spe, _, _ = _standard_errors_of_smoothed(ref, f_ref, tol_ref, tol_dis)
        return sme, spe
    f_dis = _spectrum(dis, conv)
    tol_dis = _phase_tolerance(dis, f_dis)
    sme, spe, _ = _spectral_errors(f_ref, f_dis, tol_ref, tol_dis, ref.shape[1], conv)
    return sme, spe


def spectral_magnitude_error(
    reference: ArrayLike, distorted: ArrayLike, convention: str = "standard"
) -> float:
    r"""Spectral magnitude error (SME).

    .. math:: \mathrm{SME} = \frac{1}{NM}\sum_{u,v} \big(|F(u,v)| - |\hat F(u,v)|\big)^2

    over the full spectrum (standard). ``"bob"``: the sum runs over the ``rfft2`` half only
    (columns ``0..M//2``), still divided by :math:`NM`, which roughly halves the value.

    Parameters
    ----------
    reference, distorted : array_like, shape (H, W)
        Grey images of the same shape, float in 0..255 (``I`` and ``I'``).
    convention : {"standard", "bob"}
        The paper's definition, or bob.ip.qualitymeasure 1.1.8's values.

    Returns
    -------
    float
        0 for identical images. By Parseval, ``SME(x, 0) = sum x**2``.

    References
    ----------
    Galbally et al. 2014, Table I (measure 15); Avcibas et al. 2002.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(64.0).reshape(8, 8)
    >>> sme = spectral_magnitude_error(x, 0.5 * x)  # float32 coefficients: rel ~1e-8
    >>> bool(np.isclose(sme, 0.25 * float((x**2).sum()), rtol=1e-6, atol=0))
    True
    >>> spectral_magnitude_error(x, x)
    0.0
    """
    return _errors_of(reference, distorted, check_convention(convention))[0]


def spectral_phase_error(
    reference: ArrayLike, distorted: ArrayLike, convention: str = "standard"
) -> float:
    r"""Spectral phase error (SPE).

    .. math:: \mathrm{SPE} = \frac{1}{NM}\sum_{u,v} \big|\arg F(u,v) - \arg\hat F(u,v)\big|^2

    ``"standard"``: over the full spectrum, with the difference taken as an angle wrapped to
    :math:`(-\pi, \pi]`, so that two coefficients of the same phase have no error whether
    their phases read :math:`+\pi` or :math:`-\pi` (read literally, a real negative
    coefficient whose imaginary part is :math:`\pm 10^{-12}` after rounding would add
    :math:`4\pi^2`). A coefficient below ``1e-12 * sum|I|`` (which bounds every
    :math:`|F|`; zero up to the FFT's rounding) has phase 0.

    Standard values are computed from float32-rounded coefficients (within about 1e-7
    relative of double precision; see the module notes).

    ``"bob"``: over the ``rfft2`` half, unwrapped (``numpy.angle`` differences, on
    ``numpy.fft.rfft2`` spectra as bob computes them, in double precision). The rule
    for zero coefficients applies here too: bob's value would be the phase of rounding noise
    (a flat image gives an arbitrary value instead of 0).

    Parameters
    ----------
    reference, distorted : array_like, shape (H, W)
        Grey images of the same shape, float in 0..255 (``I`` and ``I'``).
    convention : {"standard", "bob"}
        The paper's definition, or bob.ip.qualitymeasure 1.1.8's values.

    Returns
    -------
    float
        In :math:`[0, \pi^2]` (standard); 0 for identical images and for ``x`` against
        ``c * x`` with ``c > 0``.

    References
    ----------
    Galbally et al. 2014, Table I (measure 16); Avcibas et al. 2002.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(64.0).reshape(8, 8)
    >>> spectral_phase_error(x, 3.0 * x)
    0.0
    >>> z = np.random.default_rng(0).uniform(1.0, 255.0, (8, 8))
    >>> bool(np.isclose(spectral_phase_error(z, -z), np.pi**2))  # every phase turned by pi
    True
    """
    return _errors_of(reference, distorted, check_convention(convention))[1]


def _hlfi_standard(bands: _F) -> float:
    total, low, high = (float(v) for v in bands)
    if total <= 0.0:
        return 1.0
    return abs(low - high) / total


def _bob_band(m: int) -> tuple[int, int]:
    """bob's column band ``[lo, hi)`` of the unshifted ``fft2`` (Python's rounding)."""
    centre = int(round(m / 2))
    half = int(round(round(BOB_HLFI_BAND * m) / 2.0))
    return centre - half, centre + half


def _hlfi_bob(sums: _F, m: int) -> float:
    half_cols = sums[0]
    c = np.arange(m)
    full_cols = half_cols[np.minimum(c, m - c)]  # column c and M - c have equal sums
    total = float(full_cols.sum())
    if total <= 0.0:
        return 1.0
    lo, hi = _bob_band(m)
    low = float(full_cols[lo:hi].sum())
    return abs(low - (total - low)) / total


def high_low_frequency_index(image: ArrayLike, convention: str = "standard") -> float:
    r"""High-low frequency index (HLFI), a no-reference sharpness index.

    .. math::
        \mathrm{HLFI} = \frac{\Big|\sum_{|u| < i_l}\sum_{|v| < j_l} |F(u,v)|
        - \sum_{|u| \ge i_h}\sum_{|v| \ge j_h} |F(u,v)|\Big|}{\sum_{u,v} |F(u,v)|}

    with :math:`i_l = 0.15N`, :math:`i_h = 0.35N`, :math:`j_l = 0.15M`,
    :math:`j_h = 0.35M` (Table I), :math:`u \in (-N/2, N/2]` and :math:`v \in (-M/2, M/2]`
    the signed frequency indices. Table I writes the sums over index ranges
    ``1..il`` and ``ih+1..N`` of a spectrum whose layout it does not give; we read them as
    bands of *absolute* frequency, low below 0.15 and high from 0.35 of each axis (0.5 is
    Nyquist), which is what "low" and "high" mean whatever the layout, and includes the
    negative frequencies symmetrically.

    ``"bob"``: the low band is the columns ``[M/2 - b, M/2 + b)`` of the unshifted ``fft2``,
    all rows, with ``b = round(round(0.15 M) / 2)`` (Python rounding) -- on an unshifted
    spectrum these are the *highest* horizontal frequencies -- and the high part is
    everything else. On an fftshift-ed spectrum the same band gives a value near 0.

    Parameters
    ----------
    image : array_like, shape (H, W)
        Grey image, float in 0..255.
    convention : {"standard", "bob"}
        The paper's definition, or bob.ip.qualitymeasure 1.1.8's values.

    Returns
    -------
    float
        In [0, 1]. A flat image (all energy at frequency 0) gives 1 in both conventions; a
        black image, which has no energy, gets that value too.

    References
    ----------
    Galbally et al. 2014, Table I (measure 23).

    Examples
    --------
    >>> import numpy as np
    >>> high_low_frequency_index(np.full((8, 8), 5.0))
    1.0
    >>> checker = np.indices((8, 8)).sum(axis=0) % 2 * 255.0  # energy at DC and Nyquist
    >>> high_low_frequency_index(checker)
    0.0
    """
    conv = check_convention(convention)
    x = _image(image)
    return _hlfi(_sums_of(_spectrum(x, conv), conv, x.shape[1]), x.shape, conv)


def _sums_of(f: _C, conv: str, m: int) -> _F:
    return _magnitude_sums(f) if conv == "bob" else _magnitude_bands32(f, m)


def _hlfi(sums: _F, shape: tuple[int, int], conv: str) -> float:
    if conv == "bob":
        return _hlfi_bob(sums, shape[1])
    return _hlfi_standard(sums)


# --------------------------------------------------------------------------------------------
# context adaptors (shared spectra)
# --------------------------------------------------------------------------------------------
def _key(ctx: QualityContext, image: str) -> str:
    """Cache key of a spectrum: ``"spectral.rfft2:I"`` and ``"spectral.rfft2:I'"`` hold
    :func:`half_spectrum` (shared with RRED); the bob convention has its own numpy ones."""
    return f"spectral.rfft2{'_numpy' if ctx.convention == 'bob' else ''}:{image}"


def _spectrum_of_I(ctx: QualityContext) -> _C:
    if ctx.convention == "bob":
        return ctx.cached(_key(ctx, "I"), lambda c: _spectrum(c.I, "bob"))
    return ctx.cached(_key(ctx, "I"), lambda c: _half_spectrum(c.I))


def _errors(ctx: QualityContext) -> tuple[float, float]:
    def compute(c: QualityContext) -> tuple[float, float]:
        f_ref = _spectrum_of_I(c)
        # I >= 0 makes I' >= 0 (a convex combination of pixels)
        non_negative = c.min_I >= 0.0
        tol_ref = _phase_tolerance(c.I, f_ref, non_negative)
        if c.convention == "bob":
            dis = distorted_image(c)
            f_dis = c.cached(_key(c, "I'"), lambda _: _spectrum(dis, "bob"))
            tol_dis = _phase_tolerance(dis, f_dis, True if non_negative else None)
            sme, spe, sums = _spectral_errors(f_ref, f_dis, tol_ref, tol_dis, c.shape[1], "bob")
        else:
            # the spectrum of I' is derived from that of I within the pass, and offered to
            # RRED (which comes later in the registry's order) unless RRED made its own; ours
            # is always the derived one, so our values do not depend on what ran before
            # (I' itself is not needed, unless I < 0 somewhere: then sum |I'| gives the tolerance)
            tol_smooth = None if non_negative else _phase_tolerance(c.smoothed, f_ref, False)
            sme, spe, sums, f_smooth = _standard_errors_of_smoothed(c.I, f_ref, tol_ref, tol_smooth)
            c.cached(_key(c, "I'"), lambda _: f_smooth)
        c.cached("spectral.magnitude_sums:I", lambda _: sums)
        return sme, spe

    return ctx.cached("spectral.sme_spe", compute)


def ctx_sme(ctx: QualityContext) -> float:
    """SME between ``I`` and ``I'`` of a context (see :func:`spectral_magnitude_error`).

    SME and SPE are computed together in one pass (the first one asked for pays for both).
    """
    return _errors(ctx)[0]


def ctx_spe(ctx: QualityContext) -> float:
    """SPE between ``I`` and ``I'`` of a context (see :func:`spectral_phase_error`)."""
    return _errors(ctx)[1]


def ctx_hlfi(ctx: QualityContext) -> float:
    """HLFI of ``I`` of a context (see :func:`high_low_frequency_index`)."""
    sums = ctx.cached(
        "spectral.magnitude_sums:I", lambda c: _sums_of(_spectrum_of_I(c), c.convention, c.shape[1])
    )
    return _hlfi(sums, ctx.shape, ctx.convention)
