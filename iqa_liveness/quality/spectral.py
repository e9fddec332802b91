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

from typing import Any

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
# A Fourier coefficient smaller than this fraction of the largest one is zero up to rounding
# (the FFT's absolute error is about 1e-16 * sqrt(log NM) * ||I||_2): its phase is taken as 0.
_PHASE_TOL = 1e-12


def half_spectrum(image: ArrayLike) -> _C:
    """Half of the 2-D DFT of a real image: columns ``0 .. M//2`` (``rfft2``).

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


def _full_sum(values: NDArray[np.floating[Any]], m: int) -> float:
    """Sum over the full spectrum of a conjugation-symmetric quantity given on the half."""
    return float(values.sum(axis=0, dtype=np.float64) @ _column_weights(m))


def _sme(a_ref: _F, a_dis: _F, m: int, conv: str) -> float:
    d = a_ref - a_dis
    d *= d
    n = a_ref.shape[0] * m
    if conv == "bob":
        return float(d.sum() / n)
    return _full_sum(d, m) / n


def _spe(f_ref: _C, f_dis: _C, a_ref: _F, a_dis: _F, m: int, conv: str) -> float:
    n = f_ref.shape[0] * m
    # coefficients that are zero up to rounding have phase 0 (both conventions: bob's value
    # there would be the phase of rounding noise)
    z_ref = a_ref <= _PHASE_TOL * float(a_ref.max())
    z_dis = a_dis <= _PHASE_TOL * float(a_dis.max())
    if conv == "bob":
        d = np.angle(f_ref)
        d[z_ref] = 0.0
        e = np.angle(f_dis)
        e[z_dis] = 0.0
        d -= e
        d *= d
        return float(d.sum() / n)
    phi = wrapped_phase_difference(f_ref.real, f_ref.imag, f_dis.real, f_dis.imag, z_ref, z_dis)
    phi *= phi
    return _full_sum(phi, m) / n


def spectral_magnitude_error(
    reference: ArrayLike, distorted: ArrayLike, convention: str = "standard"
) -> float:
    r"""Spectral magnitude error (SME).

    .. math:: \mathrm{SME} = \frac{1}{NM}\sum_{u,v} \big(|F(u,v)| - |\hat F(u,v)|\big)^2

    over the full spectrum (standard). ``"bob"``: the sum runs over the ``rfft2`` half only
    (columns ``0..M//2``), still divided by :math:`NM`, which roughly halves the value.

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
    conv = check_convention(convention)
    ref, dis = _pair(reference, distorted)
    return _sme(np.abs(half_spectrum(ref)), np.abs(half_spectrum(dis)), ref.shape[1], conv)


def spectral_phase_error(
    reference: ArrayLike, distorted: ArrayLike, convention: str = "standard"
) -> float:
    r"""Spectral phase error (SPE).

    .. math:: \mathrm{SPE} = \frac{1}{NM}\sum_{u,v} \big|\arg F(u,v) - \arg\hat F(u,v)\big|^2

    ``"standard"``: over the full spectrum, with the difference taken as an angle wrapped to
    :math:`(-\pi, \pi]`, so that two coefficients of the same phase have no error whether
    their phases read :math:`+\pi` or :math:`-\pi` (read literally, a real negative
    coefficient whose imaginary part is :math:`\pm 10^{-12}` after rounding would add
    :math:`4\pi^2`). A coefficient below ``1e-12`` times the largest one (zero up to the
    FFT's rounding) has phase 0.

    ``"bob"``: over the ``rfft2`` half, unwrapped (``numpy.angle`` differences). The rule
    for zero coefficients applies here too: bob's value would be the phase of rounding noise
    (a flat image gives an arbitrary value instead of 0).

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
    conv = check_convention(convention)
    ref, dis = _pair(reference, distorted)
    f_ref, f_dis = half_spectrum(ref), half_spectrum(dis)
    return _spe(f_ref, f_dis, np.abs(f_ref), np.abs(f_dis), ref.shape[1], conv)


def _hlfi_standard(a: _F, m: int) -> float:
    n = a.shape[0]
    k_row = np.minimum(np.arange(n), n - np.arange(n))  # |row frequency index|
    k_col = np.arange(a.shape[1])  # |column frequency index| of the rfft2 half
    w = _column_weights(m)
    total = float(a.sum(axis=0) @ w)
    if total <= 0.0:
        return 1.0
    low_r, low_c = k_row < HLFI_LOW * n, k_col < HLFI_LOW * m
    high_r, high_c = k_row >= HLFI_HIGH * n, k_col >= HLFI_HIGH * m
    low = float(a[low_r][:, low_c].sum(axis=0) @ w[low_c])
    high = float(a[high_r][:, high_c].sum(axis=0) @ w[high_c])
    return abs(low - high) / total


def _bob_band(m: int) -> tuple[int, int]:
    """bob's column band ``[lo, hi)`` of the unshifted ``fft2`` (Python's rounding)."""
    centre = int(round(m / 2))
    half = int(round(round(BOB_HLFI_BAND * m) / 2.0))
    return centre - half, centre + half


def _hlfi_bob(a: _F, m: int) -> float:
    half_cols = a.sum(axis=0)
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
    a = np.abs(half_spectrum(x))
    if conv == "bob":
        return _hlfi_bob(a, x.shape[1])
    return _hlfi_standard(a, x.shape[1])


# --------------------------------------------------------------------------------------------
# context adaptors (shared spectra)
# --------------------------------------------------------------------------------------------
def _spectra(ctx: QualityContext) -> tuple[_C, _C, _F, _F]:
    f_ref = ctx.cached("spectral.rfft2:I", lambda c: half_spectrum(c.I))
    f_dis = ctx.cached("spectral.rfft2:I'", lambda c: half_spectrum(distorted_image(c)))
    a_ref = ctx.cached("spectral.abs:I", lambda c: np.abs(f_ref))
    a_dis = ctx.cached("spectral.abs:I'", lambda c: np.abs(f_dis))
    return f_ref, f_dis, a_ref, a_dis


def ctx_sme(ctx: QualityContext) -> float:
    """SME between ``I`` and ``I'`` of a context (see :func:`spectral_magnitude_error`)."""
    _, _, a_ref, a_dis = _spectra(ctx)
    return _sme(a_ref, a_dis, ctx.shape[1], ctx.convention)


def ctx_spe(ctx: QualityContext) -> float:
    """SPE between ``I`` and ``I'`` of a context (see :func:`spectral_phase_error`)."""
    return _spe(*_spectra(ctx), ctx.shape[1], ctx.convention)


def ctx_hlfi(ctx: QualityContext) -> float:
    """HLFI of ``I`` of a context (see :func:`high_low_frequency_index`)."""
    f_ref = ctx.cached("spectral.rfft2:I", lambda c: half_spectrum(c.I))
    a_ref = ctx.cached("spectral.abs:I", lambda c: np.abs(f_ref))
    if ctx.convention == "bob":
        return _hlfi_bob(a_ref, ctx.shape[1])
    return _hlfi_standard(a_ref, ctx.shape[1])
