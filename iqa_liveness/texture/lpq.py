"""Local phase quantisation (Ojansivu & Heikkila 2008), as the 2010 reference ``lpq.m``.

For each pixel, the short-term Fourier transform over a ``w x w`` neighbourhood (uniform
window) is taken at the four lowest non-zero frequencies ``u1 = (a, 0)``, ``u2 = (0, a)``,
``u3 = (a, a)``, ``u4 = (a, -a)`` with ``a = 1 / w``. The real and imaginary parts of the four
responses form ``f`` (8 values); under a first-order Markov model of the pixels (correlation
``rho ** distance``) the covariance of ``f`` is ``D = M C M^T``; ``f`` is whitened as
``g = V^T f`` with V the right singular vectors of D; each ``g_k > 0`` gives bit k of an 8-bit
code. The histogram of the 256 codes over the valid region is the descriptor.

Details that each change nearly every code when done differently (all as ``lpq.m``):

* the four separable responses are true convolutions (``conv2``, kernel flipped), 'valid'
  region only: column filter first, then row filter; F1 = (col w0, row w1),
  F2 = (col w1, row w0), F3 = (col w1, row w1), F4 = (col w1, row conj(w1)) with
  ``w0 = 1`` and ``w1(x) = exp(-2 pi i a x)``, ``x = -r..r``, ``r = (w - 1) / 2``;
* ``f = [Re F1, Im F1, Re F2, Im F2, Re F3, Im F3, Re F4, Im F4]``;
* V comes from the SVD of ``A D A`` with ``A = diag(1.000007, 1.000006, ..., 1)`` (which
  separates equal singular values), and each column of V is negated when its entry of
  largest magnitude is negative (sign fixing);
* bit k is ``g_k > 0`` (strict), weight ``2**k``.

Round-off. The channel minimum is subtracted first (the four filters have zero mean, so the
result is mathematically unchanged) and a coefficient counts as positive only above
``tolerance * (max - min) + 64 w**2 eps max|x|``: a channel constant up to round-off then
gives code 0 everywhere (``lpq.m`` gives codes from round-off noise there) and the codes do
not depend on the floating-point evaluation order.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from ..errors import ConfigurationError
from ._checks import as_channel, check_tolerance, tie_threshold

__all__ = ["lpq_decorrelation", "lpq_codes", "lpq_histogram"]

# lpq.m's tie-breaking scale of the 8 coefficients before the SVD
_SVD_SCALE = np.array([1.000007, 1.000006, 1.000005, 1.000004, 1.000003, 1.000002, 1.000001, 1])


def _check_window(window: int) -> int:
    if int(window) != window or window < 3 or window % 2 == 0:
        raise ConfigurationError(f"LPQ window must be an odd integer >= 3, got {window!r}")
    return int(window)


def _filters(window: int) -> tuple[NDArray[np.float64], NDArray[np.complex128]]:
    r = (window - 1) // 2
    x = np.arange(-r, r + 1, dtype=np.float64)
    w0 = np.ones(window)
    w1 = np.exp(-2j * np.pi * x / window)
    return w0, w1


@lru_cache(maxsize=32)
def _decorrelation(window: int, rho: float) -> NDArray[np.float64]:
    w0, w1 = _filters(window)
    w2 = np.conj(w1)
    yy, xx = np.mgrid[0:window, 0:window]
    pos = np.stack([xx.ravel(), yy.ravel()], axis=1).astype(np.float64)
    dist = np.sqrt(((pos[:, None, :] - pos[None, :, :]) ** 2).sum(axis=-1))
    cov = rho**dist
    rows = []
    for col, row in ((w0, w1), (w1, w0), (w1, w1), (w1, w2)):
        q = np.outer(col, row).ravel()
        rows += [q.real, q.imag]
    m = np.array(rows)
    d = m @ cov @ m.T
    a = np.diag(_SVD_SCALE)
    _, _, vh = np.linalg.svd(a @ d @ a)
    v = vh.T.copy()
    eps = np.finfo(np.float64).eps
    largest = v[np.argmax(np.abs(v), axis=0), np.arange(v.shape[1])]
    v[:, largest < -eps] *= -1
    v.setflags(write=False)
    return v


def lpq_decorrelation(window: int = 7, rho: float = 0.9) -> NDArray[np.float64]:
    """The 8 x 8 whitening matrix V of LPQ (columns = sign-fixed right singular vectors).

    Parameters
    ----------
    window : int
        Odd STFT window size w.
    rho : float
        Correlation coefficient of adjacent pixels, 0 < rho < 1.

    Returns
    -------
    ndarray, shape (8, 8)
        ``g = V.T @ f`` whitens the coefficient vector f.

    Examples
    --------
    >>> v = lpq_decorrelation(7, 0.9)
    >>> bool(np.allclose(v.T @ v, np.eye(8)))
    True
    """
    window = _check_window(window)
    if not 0 < rho < 1:
        raise ConfigurationError(f"rho must lie in (0, 1), got {rho!r}")
    return _decorrelation(window, float(rho))


def lpq_codes(
    channel: NDArray[np.generic],
    window: int = 7,
    rho: float = 0.9,
    *,
    decorrelate: bool = True,
    tolerance: float = 1e-9,
) -> NDArray[np.int64]:
    """LPQ codes (0..255) of the valid region ``(H - w + 1) x (W - w + 1)`` of one channel.

    Parameters
    ----------
    channel : ndarray, shape (H, W)
        Integer or float channel, at least ``w`` on each side.
    window : int
        Odd window size w (7 in the colour-texture papers).
    rho : float
        Correlation coefficient of the decorrelation model (0.9 in ``lpq.m``).
    decorrelate : bool
        Whiten the coefficients (``lpq.m`` with ``decorr=1``); False quantises f directly.
    tolerance : float
        A coefficient counts as positive when above
        ``tolerance * (max - min) + 64 w**2 eps max|x|``; 0 is ``lpq.m``'s strict ``> 0``.

    Returns
    -------
    ndarray of int64

    Examples
    --------
    >>> import numpy as np
    >>> lpq_codes(np.full((9, 9), 3.0)).tolist()  # constant channel: code 0
    [[0, 0, 0], [0, 0, 0], [0, 0, 0]]
    """
    window = _check_window(window)
    tol = check_tolerance(tolerance)
    arr = as_channel(channel, window, "LPQ")
    img = arr.astype(np.float64)
    # coefficients are sums of window**2 weighted pixels: their round-off grows alike
    thr = tie_threshold(img, tol, terms=window**2)
    img = img - img.min()
    _, w1 = _filters(window)
    # convolution = correlation with the reversed kernel (reversed w1 = conj(w1))
    k1 = w1[::-1]
    kr, ki = k1.real, k1.imag
    h, w = img.shape[0] - window + 1, img.shape[1] - window + 1
    # column pass: w0 (sum), Re and Im of w1, as shifted-slice sums
    cols = np.zeros((3, h, img.shape[1]))
    for k in range(window):
        s = img[k : k + h]
        cols[0] += s
        cols[1] += kr[k] * s
        cols[2] += ki[k] * s
    # row pass of the three column responses with w0, Re w1 and Im w1
    r0, rr, ri = np.zeros((3, 3, h, w))
    for k in range(window):
        s = cols[:, :, k : k + w]
        r0 += s
        rr += kr[k] * s
        ri += ki[k] * s
    # F1 = (col w0, row w1); F2 = (col w1, row w0); F3 = (col w1, row w1);
    # F4 = (col w1, row conj(w1)); the column response of w1 is cols[1] + i cols[2]
    f = np.stack(
        [
            rr[0],
            ri[0],
            r0[1],
            r0[2],
            rr[1] - ri[2],
            ri[1] + rr[2],
            rr[1] + ri[2],
            rr[2] - ri[1],
        ],
        axis=-1,
    )
    if decorrelate:
        f = f @ lpq_decorrelation(window, rho)
    bits = (f > thr).astype(np.int64)
    return bits @ (1 << np.arange(8, dtype=np.int64))


def lpq_histogram(
    channel: NDArray[np.generic],
    window: int = 7,
    rho: float = 0.9,
    *,
    decorrelate: bool = True,
    tolerance: float = 1e-9,
) -> NDArray[np.float64]:
    """Normalised 256-bin histogram of the LPQ codes of one channel.

    Parameters
    ----------
    channel : ndarray, shape (H, W)
        Integer or float channel (for example Y, Cb or Cr of :func:`rgb_to_ycbcr`).
    window, rho, decorrelate, tolerance
        See :func:`lpq_codes`.

    Returns
    -------
    ndarray of float64, shape (256,)
        Sums to 1. A constant channel gives ``[1, 0, ..., 0]``.

    References
    ----------
    V. Ojansivu and J. Heikkila, "Blur insensitive texture classification using local phase
    quantization", ICISP 2008. Z. Boulkenafet, J. Komulainen and A. Hadid, "Face spoofing
    detection using colour texture analysis", IEEE TIFS 11(8), 2016.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> h = lpq_histogram(rng.integers(0, 256, (64, 64)).astype(np.uint8))
    >>> h.shape, float(h.sum())
    ((256,), 1.0)
    """
    codes = lpq_codes(channel, window, rho, decorrelate=decorrelate, tolerance=tolerance)
    return np.bincount(codes.ravel(), minlength=256) / codes.size
