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
once per image and shared by the three measures.

Conventions
-----------
``"standard"``
    Table I over the full spectrum; SPE takes the phase difference as an angle wrapped to
    :math:`(-\\pi, \\pi]`; HLFI uses the paper's bands (0.15 and 0.35 of each axis) on the
    absolute frequency.
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

import numpy as np
import scipy.fft
from numpy.typing import ArrayLike, NDArray

from ._context import QualityContext, check_convention
from .edges import _image, _pair, distorted_image, wrapped_phase_difference

__all__ = [
    "HLFI_HIGH",
    "HLFI_LOW",
    "BOB_HLFI_BAND",
    "half_spectrum",
    "spectral_magnitude_error",
    "spectral_phase_error",
    "high_low_frequency_index",
    "ctx_sme",
    "ctx_spe",
    "ctx_hlfi",
]

_F = NDArray[np.float64]
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
    """
    return scipy.fft.rfft2(_image(image))


def _column_weights(m: int) -> _F:
    """How many columns of the full spectrum each ``rfft2`` column stands for (1 or 2)."""
    w = np.full(m // 2 + 1, 2.0)
    w[0] = 1.0
    if m % 2 == 0:
        w[-1] = 1.0
    return w


_STRIP_BYTES = 1 << 18  # the passes over the spectra run on strips of ~256 KiB per array


def _strip_rows(n: int, half: int) -> int:
    return max(1, min(n, _STRIP_BYTES // (8 * half)))


def _hlfi_rows(n: int) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Rows of the HLFI low and high bands: ``|u| < 0.15 N`` and ``|u| >= 0.35 N``."""
    k = np.arange(n)
    k_row = np.minimum(k, n - k)  # |signed row frequency index|
    return k_row < HLFI_LOW * n, k_row >= HLFI_HIGH * n


def _phase_tolerance(image: _F) -> float:
    """``1e-12 * sum|I|``: ``sum|I|`` bounds every ``|F|`` (and is ``|F(0,0)|`` for I >= 0)."""
    total = float(image.sum()) if float(image.min()) >= 0.0 else float(np.abs(image).sum())
    return _PHASE_TOL * total


def _add_magnitude_sums(sums: _F, a: _F, low: NDArray[np.bool_], high: NDArray[np.bool_]) -> None:
    sums[0] += a.sum(axis=0)
    if low.any():
        sums[1] += a[low].sum(axis=0)
    if high.any():
        sums[2] += a[high].sum(axis=0)


def _magnitude_sums(f: _C) -> _F:
    """Column sums of ``|F|`` over all rows, the HLFI low rows and the HLFI high rows."""
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


def _spectral_errors(
    f_ref: _C, f_dis: _C, tol_ref: float, tol_dis: float, m: int, conv: str
) -> tuple[float, float, _F]:
    """SME, SPE and the magnitude sums of ``F_ref`` (for HLFI) in one pass over strips.

    Coefficients at or below ``tol`` are zero up to rounding and have phase 0 (in both
    conventions: bob's value there would be the phase of rounding noise).
    """
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
        z_ref = a_ref <= tol_ref
        z_dis = a_dis <= tol_dis
        if conv == "bob":  # unwrapped: numpy.angle differences
            np.arctan2(fr.imag, fr.real, out=t1)
            t1[z_ref] = 0.0
            np.arctan2(fd.imag, fd.real, out=t2)
            t2[z_dis] = 0.0
            t1 -= t2
            t1 *= t1
            spe_cols += t1.sum(axis=0)
        else:
            phi = wrapped_phase_difference(fr.real, fr.imag, fd.real, fd.imag, z_ref, z_dis)
            phi *= phi
            spe_cols += phi.sum(axis=0, dtype=np.float64)
    size = n * m
    if conv == "bob":  # the rfft2 half, unweighted
        return float(sme_cols.sum()) / size, float(spe_cols.sum()) / size, sums
    w = _column_weights(m)
    return float(sme_cols @ w) / size, float(spe_cols @ w) / size, sums


def _errors_of(reference: ArrayLike, distorted: ArrayLike, conv: str) -> tuple[float, float]:
    ref, dis = _pair(reference, distorted)
    sme, spe, _ = _spectral_errors(
        half_spectrum(ref),
        half_spectrum(dis),
        _phase_tolerance(ref),
        _phase_tolerance(dis),
        ref.shape[1],
        conv,
    )
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
    >>> round(spectral_magnitude_error(x, 0.5 * x), 6) == round(0.25 * float((x**2).sum()), 6)
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

    ``"bob"``: over the ``rfft2`` half, unwrapped (``numpy.angle`` differences). The rule
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


def _hlfi_standard(sums: _F, n: int, m: int) -> float:
    w = _column_weights(m)
    total = float(sums[0] @ w)
    if total <= 0.0:
        return 1.0
    k_col = np.arange(sums.shape[1])  # |column frequency index| of the rfft2 half
    low_c, high_c = k_col < HLFI_LOW * m, k_col >= HLFI_HIGH * m
    low = float(sums[1][low_c] @ w[low_c])
    high = float(sums[2][high_c] @ w[high_c])
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
    return _hlfi(_magnitude_sums(half_spectrum(x)), x.shape, conv)


def _hlfi(sums: _F, shape: tuple[int, int], conv: str) -> float:
    if conv == "bob":
        return _hlfi_bob(sums, shape[1])
    return _hlfi_standard(sums, shape[0], shape[1])


# --------------------------------------------------------------------------------------------
# context adaptors (shared spectra)
# --------------------------------------------------------------------------------------------
def _spectrum_of_I(ctx: QualityContext) -> _C:
    return ctx.cached("spectral.rfft2:I", lambda c: half_spectrum(c.I))


def _errors(ctx: QualityContext) -> tuple[float, float]:
    def compute(c: QualityContext) -> tuple[float, float]:
        dis = distorted_image(c)
        f_dis = c.cached("spectral.rfft2:I'", lambda _: half_spectrum(dis))
        tol_ref = c.cached("spectral.phase_tolerance:I", lambda _: _phase_tolerance(c.I))
        sme, spe, sums = _spectral_errors(
            _spectrum_of_I(c), f_dis, tol_ref, _phase_tolerance(dis), c.shape[1], c.convention
        )
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
    sums = ctx.cached("spectral.magnitude_sums:I", lambda c: _magnitude_sums(_spectrum_of_I(c)))
    return _hlfi(sums, ctx.shape, ctx.convention)
