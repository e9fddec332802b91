"""Edge, corner and gradient measures of Galbally, Marcel & Fierrez (2014), Table I.

TED (total edge difference), TCD (total corner difference), GME (gradient magnitude error)
and GPE (gradient phase error) compare the grey image ``I`` (reference) with its smoothed
copy ``I'`` (distorted).

Each measure is a small pure function of a *reference* and a *distorted* image (same shape,
float, 0..255) with a ``convention`` keyword, plus a ``ctx_<name>(ctx)`` adaptor that applies
it to a :class:`~iqa_liveness.quality._context.QualityContext`, sharing the intermediates
between measures: the float32 copies of ``I`` and ``I'`` (TED, TCD, GME, GPE; LMSE of
:mod:`~iqa_liveness.quality.pixel` uses that of ``I``), and GME with GPE, computed together.

Conventions
-----------
``"standard"``
    The definitions of Table I. Where the paper leaves a choice open we take the settings of
    the MATLAB functions its authors worked with (``edge(I, 'sobel')``, ``gradient``,
    ``cornermetric``/``corner``), and make the phase error a true angular distance; each
    function's docstring says what and why (summary in ``docs/measures.md``).
``"bob"``
    The values of bob.ip.qualitymeasure 1.1.8 (``galbally_iqm_features``), with its
    departures: TED compares edge-pixel *counts*, TCD uses a Harris sensitivity of 0.4, GME
    and GPE use ``numpy.gradient`` with spacing 5 and *absolute* (not squared) differences,
    phases are not wrapped. In this convention ``I'`` is :func:`bob_smooth`, the smoothing
    summed in the order that reproduces bob's rounding: bob's GPE depends on it (see there).

Degenerate inputs never give NaN or inf: no edges or no corners in either image give 0, a
zero gradient has phase 0 (``atan2(0, 0) = 0``, as in numpy and MATLAB), identical images
give 0 for all four measures.

References
----------
.. [1] J. Galbally, S. Marcel, J. Fierrez, "Image Quality Assessment for Fake Biometric
   Detection: Application to Iris, Fingerprint, and Face Recognition", IEEE Trans. Image
   Processing 23(2):710-724, 2014.
.. [2] I. Avcibas, B. Sankur, K. Sayood, "Statistical evaluation of image quality measures",
   Journal of Electronic Imaging 11(2):206-223, 2002.
.. [3] C. Harris, M. Stephens, "A combined corner and edge detector", Proc. 4th Alvey Vision
   Conference, 147-151, 1988.
.. [4] W. K. Pratt, *Digital Image Processing*, 4th ed., Wiley, 2007 (Sobel edge detection
   with automatic threshold, as in MATLAB ``edge``).
"""

from __future__ import annotations

from typing import Any, cast

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import InvalidImageError
from ._context import QualityContext, check_convention, strip_rows

__all__ = [
    "BOB_GRADIENT_SPACING",
    "BOB_HARRIS_K",
    "EDGE_THRESHOLD_SCALE",
    "HARRIS_K",
    "HARRIS_QUALITY_LEVEL",
    "bob_smooth",
    "central_gradient",
    "sobel_edge_map",
    "harris_response",
    "harris_corners",
    "total_edge_difference",
    "total_corner_difference",
    "gradient_magnitude_error",
    "gradient_phase_error",
    "wrapped_phase_difference",
    "ctx_ted",
    "ctx_tcd",
    "ctx_gme",
    "ctx_gpe",
]

_F = NDArray[np.float64]
_F32 = NDArray[np.float32]
_B = NDArray[np.bool_]

#: Edge threshold: ``scale * mean`` of the edge strength (MATLAB ``edge``; bob).
EDGE_THRESHOLD_SCALE = 4.0
#: Harris sensitivity ``k`` of the standard convention (Harris & Stephens; MATLAB default).
HARRIS_K = 0.04
#: Standard convention: corners are local maxima above this fraction of the largest response
#: (MATLAB ``corner``'s default ``QualityLevel``).
HARRIS_QUALITY_LEVEL = 0.01
#: Harris sensitivity of bob.ip.qualitymeasure 1.1.8.
BOB_HARRIS_K = 0.4
#: Sample spacing bob passes to ``numpy.gradient``.
BOB_GRADIENT_SPACING = 5.0
_HARRIS_SIGMA = 1.5  # 5x5 Gaussian window of the structure tensor (both conventions)
_PHASE_TOL = 1e-9  # gradients shorter than this (0..255 scale) are zero: their phase is 0
_BOB_EPS = 100.0 * np.finfo(np.float64).eps  # bob's tie tolerance in the edge thinning


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _image(image: ArrayLike) -> _F:
    arr = np.ascontiguousarray(image, dtype=np.float64)
    if arr.ndim != 2 or arr.size == 0:
        raise InvalidImageError(f"a grey image of shape (H, W) is needed, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise InvalidImageError("the image holds NaN or infinite values")
    return arr


def _pair(reference: ArrayLike, distorted: ArrayLike) -> tuple[_F, _F]:
    ref, dis = _image(reference), _image(distorted)
    if ref.shape != dis.shape:
        raise InvalidImageError(f"images differ in shape: {ref.shape} and {dis.shape}")
    return ref, dis


def _gaussian_1d(size: int, sigma: float) -> _F:
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


_G5 = _gaussian_1d(5, _HARRIS_SIGMA).reshape(-1, 1)


def bob_smooth(image: ArrayLike) -> _F:
    r"""Smoothed copy ``I'`` exactly as bob.ip.qualitymeasure 1.1.8 computes it.

    The same filter as :func:`iqa_liveness.quality._context.smooth` (3x3 Gaussian, sigma 0.5,
    kernel normalised, symmetric border; bob uses ``scipy.signal.convolve2d``), evaluated as
    a direct sum of the nine weighted neighbours, added in column-major order of the kernel
    index: of the summation orders we tried, the only one that reproduces bob's GPE on the
    oracle image (to 2e-8; cv2's and scipy 1.17's ``convolve2d`` are off by 3e-4).

    The results of different orders differ by about 1e-13, which matters for one measure
    only: GPE in the bob convention takes the *unwrapped* difference of gradient phases, and
    the sign of a gradient component that is zero up to rounding decides between a phase
    of +pi and -pi.

    Parameters
    ----------
    image : array_like, shape (H, W)
        Grey image, float in 0..255.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(64.0).reshape(8, 8)
    >>> from iqa_liveness.quality._context import smooth
    >>> bool(np.allclose(bob_smooth(x), smooth(x), rtol=0, atol=1e-12))
    True
    """
    x = _image(image)
    h, w = x.shape
    kernel = np.exp(-(np.add.outer(np.arange(-1, 2) ** 2, np.arange(-1, 2) ** 2)) / 0.5)
    kernel /= kernel.sum()
    p = np.pad(x, 1, mode="symmetric")
    out = np.zeros_like(x)
    term = np.empty_like(x)
    for kj in range(3):  # column-major over the (flipped) kernel index
        for ki in range(3):
            np.multiply(kernel[ki, kj], p[2 - ki : 2 - ki + h, 2 - kj : 2 - kj + w], out=term)
            out += term
    return out


def central_gradient(image: ArrayLike) -> tuple[_F, _F]:
    r"""Gradient by central differences, one-sided at the borders (spacing 1).

    The convention of MATLAB ``gradient`` and ``numpy.gradient``:
    :math:`G_r(i,j) = (I_{i+1,j} - I_{i-1,j})/2` inside, :math:`I_{1,j} - I_{0,j}` and
    :math:`I_{N-1,j} - I_{N-2,j}` on the first and last rows; :math:`G_c` likewise along
    rows. An axis of length 1 has a zero derivative.

    Parameters
    ----------
    image : array_like, shape (H, W)
        Grey image, float in 0..255.

    Returns
    -------
    g_row, g_col : ndarray
        Derivatives along rows (down) and along columns (right).

    Examples
    --------
    >>> g_row, g_col = central_gradient([[0.0, 1.0, 4.0], [2.0, 3.0, 6.0]])
    >>> g_col.tolist()
    [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]
    >>> g_row.tolist()
    [[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]
    """
    x = _image(image)
    g_row, g_col = np.empty_like(x), np.empty_like(x)
    _gradient_rows(x, 0, x.shape[0], g_row, g_col)
    return g_row, g_col


def _gradient_rows(x: _F, r0: int, r1: int, g_row: _F, g_col: _F, half: bool = True) -> None:
    """:func:`central_gradient` of rows ``r0..r1-1`` of ``x``, written into the buffers.

    With ``half=False`` the result is twice the gradient (central differences not halved,
    one-sided ones doubled), exactly, which saves two passes where only ratios matter.
    """
    n, m = x.shape
    if n < 2:
        g_row[...] = 0.0
    else:
        a, b = max(r0, 1), min(r1, n - 1)  # rows with a neighbour on each side
        if b > a:
            np.subtract(x[a + 1 : b + 1], x[a - 1 : b - 1], out=g_row[a - r0 : b - r0])
            if half:
                g_row[a - r0 : b - r0] *= 0.5
        if r0 == 0:
            np.subtract(x[1], x[0], out=g_row[0])
            if not half:
                g_row[0] *= 2.0
        if r1 == n:
            np.subtract(x[n - 1], x[n - 2], out=g_row[r1 - r0 - 1])
            if not half:
                g_row[r1 - r0 - 1] *= 2.0
    xs = x[r0:r1]
    if m < 2:
        g_col[...] = 0.0
        return
    if xs.flags.c_contiguous and g_col.flags.c_contiguous:
        # one contiguous pass over the flattened rows; the two border columns, which
        # this gets wrong (it pairs pixels of adjacent rows), are set below
        xf, gf = xs.reshape(-1), g_col.reshape(-1)
        np.subtract(xf[2:], xf[:-2], out=gf[1:-1])
        if half:
            gf *= 0.5
    else:
        np.subtract(xs[:, 2:], xs[:, :-2], out=g_col[:, 1:-1])
        if half:
            g_col[:, 1:-1] *= 0.5
    np.subtract(xs[:, 1], xs[:, 0], out=g_col[:, 0])
    np.subtract(xs[:, -1], xs[:, -2], out=g_col[:, -1])
    if not half:
        g_col[:, 0] *= 2.0
        g_col[:, -1] *= 2.0


# --------------------------------------------------------------------------------------------
# edges
# --------------------------------------------------------------------------------------------
def sobel_edge_map(image: ArrayLike, convention: str = "standard") -> _B:
    r"""Binary edge map: Sobel edge strength above ``4 x`` its mean, thinned.

    ``"standard"`` (MATLAB ``edge(I, 'sobel')`` with its automatic threshold [4]_):
    :math:`b_x = |S_x * I|`, :math:`b_y = |S_y * I|` (3x3 Sobel kernels, replicated border),
    :math:`b = b_x^2 + b_y^2`; a pixel is an edge if :math:`b > 4\,\overline{b}` and it is a
    maximum of :math:`b` along the dominant gradient axis: over its left and right
    neighbours if :math:`b_x \ge b_y`, over its upper and lower ones if :math:`b_y \ge b_x`.
    Neighbours outside the image count as lower. A tie with the left (upper) neighbour
    is accepted, a tie with the right (lower) one is not: an ideal step between two pixel
    columns gives a two-pixel plateau of :math:`b`, of which this keeps one line (strict
    tests on both sides, as in MATLAB's thinning, keep none).

    ``"bob"``: bob's port of the same rule, with its differences: the threshold applies to
    the magnitude :math:`\sqrt{b}` (``4 * mean|grad|``), the responses of
    ``bob.ip.base.sobel`` (true convolution, symmetric border) are compared *signed* with a
    tolerance of ``100 eps``, the neighbour tests are strict on both sides, and a pixel of
    the first column always passes the lower-neighbour test.

    The standard map is computed in single precision (float32; exact for integer images,
    whose Sobel responses and squared strengths are integers below 2**24), bob's in double.

    A flat image has no edges.

    Parameters
    ----------
    image : array_like, shape (H, W)
        Grey image, float in 0..255.
    convention : {"standard", "bob"}
        The paper's definition, or bob.ip.qualitymeasure 1.1.8's values.

    Examples
    --------
    >>> import numpy as np
    >>> step = np.zeros((16, 16)); step[:, 8:] = 255.0
    >>> np.flatnonzero(sobel_edge_map(step).sum(axis=0)).tolist()  # one line, 16 pixels
    [8]
    >>> int(sobel_edge_map(np.full((8, 8), 3.0)).sum())
    0
    """
    conv = check_convention(convention)
    x = _image(image)
    if conv == "bob":
        return _edges_bob(*_sobel_bob(x))
    h, w = x.shape
    return _edge_rows(x.astype(np.float32)).reshape(h, w + 2)[:, 1:-1].copy()


def _sobel_bob(x: _F) -> tuple[_F, _F]:
    # bob.ip.base.sobel convolves (flipped kernels) with a symmetric border, which for a
    # 3x3 kernel is the replicated one; plane 0 (used as "bx") is the vertical derivative.
    bx = cv2.Sobel(x, cv2.CV_64F, 0, 1, ksize=3, borderType=cv2.BORDER_REPLICATE)
    by = cv2.Sobel(x, cv2.CV_64F, 1, 0, ksize=3, borderType=cv2.BORDER_REPLICATE)
    np.negative(bx, out=bx)
    np.negative(by, out=by)
    return cast(_F, bx), cast(_F, by)


def _local_max_tests(b: _F, ties: bool) -> tuple[_B, _B, _B, _B]:
    """``b`` above its left, right, upper, lower neighbour (True outside the image).

    With ``ties`` the left and upper tests accept equality (``>=``), so that a two-pixel
    plateau keeps its right/lower pixel.
    """
    gt_left = np.ones(b.shape, dtype=bool)
    gt_right = np.ones(b.shape, dtype=bool)
    gt_up = np.ones(b.shape, dtype=bool)
    gt_down = np.ones(b.shape, dtype=bool)
    before = np.greater_equal if ties else np.greater
    before(b[:, 1:], b[:, :-1], out=gt_left[:, 1:])
    np.greater(b[:, :-1], b[:, 1:], out=gt_right[:, :-1])
    before(b[1:], b[:-1], out=gt_up[1:])
    np.greater(b[:-1], b[1:], out=gt_down[:-1])
    return gt_left, gt_right, gt_up, gt_down


def _edge_rows(x32: _F32) -> _B:
    """Standard edge map of a float32 image, flat, over the rows of the image padded by one
    column on each side (shape ``H * (W + 2)``; the padding columns are False).

    The Sobel responses are written inside padded buffers; their absolute values give the
    dominant axis, then their buffers take the strength ``b`` (``|b_x|``'s buffer) with a
    border of -1, lower than any ``b`` (a neighbour outside the image counts as lower):
    every neighbour test is one contiguous comparison of the flat buffer with itself shifted
    by 1 or ``W + 2``.
    """
    h, w = x32.shape
    step = w + 2
    bx_p, by_p = np.empty((2, h + 2, step), np.float32)
    for z in (bx_p, by_p):
        z[0] = z[-1] = 0.0
        z[:, 0] = z[:, -1] = 0.0
    bx, by = bx_p[1:-1, 1:-1], by_p[1:-1, 1:-1]
    cv2.Sobel(x32, cv2.CV_32F, 1, 0, dst=bx, ksize=3, borderType=cv2.BORDER_REPLICATE)
    cv2.Sobel(x32, cv2.CV_32F, 0, 1, dst=by, ksize=3, borderType=cv2.BORDER_REPLICATE)
    fx, fy = bx_p.ravel(), by_p.ravel()  # contiguous passes over the padded buffers
    n = fx.size - step  # the rows 1..H of the padded buffers: [step, n)
    ax, ay = np.abs(fx, out=fx)[step:n], np.abs(fy, out=fy)[step:n]
    edge, vertical, test = np.empty((3, n - step), dtype=bool)
    np.greater_equal(ax, ay, out=edge)  # |gx| >= |gy|: a maximum along rows is asked for
    np.greater_equal(ay, ax, out=vertical)  # |gy| >= |gx|: along columns
    f = np.multiply(fx, fx, out=fx)  # b = |gx|^2 + |gy|^2 = gx^2 + gy^2, in bx's buffer
    f += np.multiply(fy, fy, out=fy)
    thr = np.float32(EDGE_THRESHOLD_SCALE * float(cv2.sumElems(bx)[0]) / x32.size)
    bx_p[0] = bx_p[-1] = -1.0
    bx_p[:, 0] = bx_p[:, -1] = -1.0
    c = f[step:n]  # (the padding columns give False below: c = -1)
    # a maximum along rows (tie with the left neighbour accepted) ...
    edge &= np.greater_equal(c, f[step - 1 : n - 1], out=test)
    edge &= np.greater(c, f[step + 1 : n + 1], out=test)
    # ... or along columns (tie with the upper neighbour accepted)
    vertical &= np.greater_equal(c, f[: n - step], out=test)
    vertical &= np.greater(c, f[2 * step :], out=test)
    edge |= vertical
    edge &= np.greater(c, thr, out=test)
    return edge


def _edges_bob(bx: _F, by: _F) -> _B:
    b = np.sqrt(bx * bx + by * by)
    strong = b > EDGE_THRESHOLD_SCALE * float(b.mean())
    left, right, up, down = _local_max_tests(b, ties=False)
    down[:, 0] = True  # bob's lower-neighbour test is skipped on the first column
    horizontal = (bx >= by - _BOB_EPS) & left & right
    vertical = (by >= bx - _BOB_EPS) & up & down
    return strong & (horizontal | vertical)


def _ted_bob(e_ref: _B, e_dis: _B) -> float:
    return abs(int(np.count_nonzero(e_ref)) - int(np.count_nonzero(e_dis))) / e_ref.size


def _ted_standard(ref32: _F32, dis32: _F32) -> float:
    """Standard TED of two float32 images: pixels that are an edge in one image only."""
    return int(np.count_nonzero(_edge_rows(ref32) != _edge_rows(dis32))) / ref32.size


def total_edge_difference(
    reference: ArrayLike, distorted: ArrayLike, convention: str = "standard"
) -> float:
    r"""Total edge difference (TED).

    .. math:: \mathrm{TED} = \frac{1}{NM}\sum_{i,j} |I_E(i,j) - \hat I_E(i,j)|

    with :math:`I_E`, :math:`\hat I_E` the binary edge maps of :func:`sobel_edge_map`: the
    fraction of pixels that are an edge in one image and not in the other (standard). The
    paper does not fix the detector; we take the Sobel detector with MATLAB's automatic
    threshold, the one MATLAB's ``edge`` uses by default.

    ``"bob"``: :math:`|\#I_E - \#\hat I_E| / NM`, the difference of the edge-pixel *counts*
    (never larger than the standard value).

    Parameters
    ----------
    reference, distorted : array_like, shape (H, W)
        Grey images of the same shape, float in 0..255 (``I`` and ``I'``).
    convention : {"standard", "bob"}
        The paper's definition, or bob.ip.qualitymeasure 1.1.8's values.

    Returns
    -------
    float
        In [0, 1]; 0 for identical images and for two images without edges (flat).

    References
    ----------
    Galbally et al. 2014, Table I (measure 13); Pratt 2007 for the detector.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((16, 16)); a[:, 8:] = 255.0
    >>> b = np.zeros((16, 16)); b[:, 9:] = 255.0  # the same edge, one pixel to the right
    >>> total_edge_difference(a, b)
    0.125
    >>> total_edge_difference(a, b, convention="bob")
    0.0
    >>> total_edge_difference(a, a)
    0.0
    """
    conv = check_convention(convention)
    ref, dis = _pair(reference, distorted)
    if conv == "bob":
        return _ted_bob(sobel_edge_map(ref, conv), sobel_edge_map(dis, conv))
    return _ted_standard(ref.astype(np.float32), dis.astype(np.float32))


# --------------------------------------------------------------------------------------------
# corners
# --------------------------------------------------------------------------------------------
def harris_response(image: ArrayLike, convention: str = "standard") -> NDArray[np.floating[Any]]:
    r"""Harris corner response :math:`R = AB - C^2 - k (A + B)^2`.

    :math:`A = w * I_x^2`, :math:`B = w * I_y^2`, :math:`C = w * I_x I_y`, with derivatives
    by the kernel ``[-1 0 1]`` and ``w`` a 5x5 Gaussian window of sigma 1.5 (the settings of
    MATLAB ``cornermetric``) [3]_.

    ``"standard"``: :math:`k = 0.04` (Harris & Stephens' usual value, MATLAB's default),
    replicated border, output of the image's size, computed in single precision (float32:
    only the ranking of the response matters, and it halves the memory traffic).

    ``"bob"``: :math:`k = 0.4`, and bob's geometry: the derivatives are cropped by one pixel
    on the top/left and two on the bottom/right, then filtered without padding, so the
    response is ``(H - 7) x (W - 7)`` (empty below 8 pixels).

    Parameters
    ----------
    image : array_like, shape (H, W)
        Grey image, float in 0..255.
    convention : {"standard", "bob"}
        The paper's definition, or bob.ip.qualitymeasure 1.1.8's values.

    Examples
    --------
    >>> import numpy as np
    >>> square = np.zeros((16, 16)); square[4:12, 4:12] = 255.0
    >>> r = harris_response(square)
    >>> r.shape, bool(r[4, 4] > 0), bool(r[8, 8] == 0)
    ((16, 16), True, True)
    >>> harris_response(square, convention="bob").shape
    (9, 9)
    """
    conv = check_convention(convention)
    x = _image(image)
    if conv == "bob":
        return _harris_bob(x)
    return _harris_standard(x)


def _structure_response(
    ixx: NDArray[Any],
    iyy: NDArray[Any],
    ixy: NDArray[Any],
    k: float,
    out: NDArray[Any] | None = None,
    scratch: NDArray[Any] | None = None,
) -> NDArray[Any]:
    """Harris response from the derivative products (which are overwritten), into ``out``
    (default: ``ixx``); ``scratch``, an array like them, saves an allocation."""
    depth = cv2.CV_32F if ixx.dtype == np.float32 else cv2.CV_64F
    g = _G5.astype(ixx.dtype)

    def window(z: NDArray[Any]) -> NDArray[Any]:
        # in place: the filter reads each source row before it writes the output row
        return cast(
            NDArray[Any],
            cv2.sepFilter2D(z, depth, g, g, dst=z, borderType=cv2.BORDER_REPLICATE),
        )

    a = window(ixx)
    b = window(iyy)
    c = window(ixy)
    s = np.add(a, b, out=scratch)
    a *= b
    c *= c
    a -= c
    s *= s
    s *= ixx.dtype.type(k)
    if out is None:
        a -= s
        return a
    # cv2 rather than numpy to write into a strided view (the same IEEE subtraction)
    return cast(NDArray[Any], cv2.subtract(a, s, dst=out))


def _differences(x: _F32) -> tuple[_F32, _F32]:
    """``[-1 0 1]`` along columns and along rows with a replicated border (one-sided
    differences on the first and last column/row), by contiguous numpy passes (faster
    than ``cv2.filter2D`` here, and equal to it)."""
    h, w = x.shape
    # every entry is written below, except along an axis of length 1 (zero derivative)
    ix = np.empty_like(x) if w > 1 else np.zeros_like(x)
    iy = np.empty_like(x) if h > 1 else np.zeros_like(x)
    if w > 1:
        np.subtract(x.ravel()[2:], x.ravel()[:-2], out=ix.ravel()[1:-1])
        np.subtract(x[:, 1], x[:, 0], out=ix[:, 0])  # (also repairs the pairs across rows)
        np.subtract(x[:, -1], x[:, -2], out=ix[:, -1])
    if h > 1:
        np.subtract(x[2:], x[:-2], out=iy[1:-1])
        np.subtract(x[1], x[0], out=iy[0])
        np.subtract(x[-1], x[-2], out=iy[-1])
    return ix, iy


def _harris_standard(x: NDArray[np.floating[Any]]) -> _F32:
    padded = _harris_padded(np.ascontiguousarray(x, dtype=np.float32))
    return np.ascontiguousarray(padded[1:-1, 1:-1])


def _harris_padded(x32: _F32) -> _F32:
    """The standard Harris response of a float32 image inside a border of zeros one pixel
    wide (for :func:`_count_corners`)."""
    h, w = x32.shape
    ix, iy = _differences(x32)
    ixy, scratch = np.empty((2, h, w), np.float32)
    np.multiply(ix, iy, out=ixy)
    ixx = np.multiply(ix, ix, out=ix)  # the derivatives' buffers take their squares
    iyy = np.multiply(iy, iy, out=iy)
    out = np.empty((h + 2, w + 2), np.float32)
    out[0] = out[-1] = 0.0
    out[:, 0] = out[:, -1] = 0.0
    _structure_response(ixx, iyy, ixy, HARRIS_K, out=out[1:-1, 1:-1], scratch=scratch)
    return out


def _count_corners(padded: _F32) -> int:
    """Number of standard corners (:func:`harris_corners`) of a response in a zero border.

    Only the candidates above the quality level (1-3 % of a face frame) are tested against
    their neighbours, gathered by flat index, the survivors of each pair of neighbours
    going on to the next; the zero border never beats a candidate, which is positive, as
    the replicated border of the dense test never does.
    """
    top = float(padded.max())  # the border's 0 does not matter: top <= 0 means no corner
    if top <= 0.0:
        return 0
    flat = padded.ravel()
    idx = np.flatnonzero(flat > np.float32(HARRIS_QUALITY_LEVEL * top))
    w = padded.shape[1]
    for off in (1, w, w + 1, w - 1):
        c = flat[idx]
        idx = idx[(c >= flat[idx - off]) & (c >= flat[idx + off])]
    return int(idx.size)


def _harris_bob(x: _F) -> _F:
    h, w = x.shape
    if h < 8 or w < 8:
        return np.zeros((max(h - 7, 0), max(w - 7, 0)))
    # bob keeps rows 1..h-3 and columns 1..w-3 of the same-size derivative images; these
    # never reach the border, so no padding is needed.
    ix = x[1 : h - 2, 0 : w - 3] - x[1 : h - 2, 2 : w - 1]
    iy = x[0 : h - 3, 1 : w - 2] - x[2 : h - 1, 1 : w - 2]
    r = _structure_response(ix * ix, iy * iy, ix * iy, BOB_HARRIS_K)
    return cast(_F, r[2:-2, 2:-2])  # the 'valid' part of the 5x5 filtering


_K3 = np.ones((3, 3), np.uint8)


def harris_corners(image: ArrayLike, convention: str = "standard") -> _B:
    r"""Corner map: the local maxima of :func:`harris_response`.

    ``"standard"``: pixels where :math:`R` equals its 3x3 maximum and exceeds
    ``0.01 * max(R)`` and 0 (MATLAB ``corner``'s default quality level; no cap on the
    number of corners, since a cap such as MATLAB's 200 saturates on any textured face).

    ``"bob"``: bob's port of MATLAB ``imregionalmax`` with a 3x3 neighbourhood: pixels equal
    to their neighbourhood maximum and above its minimum (replicated border), then the
    marks spread to equal-valued neighbours in one raster scan (from the second row on),
    exactly as bob's loop does. The map is ``(H - 7) x (W - 7)``.

    A flat image has no corners.

    Parameters
    ----------
    image : array_like, shape (H, W)
        Grey image, float in 0..255.
    convention : {"standard", "bob"}
        The paper's definition, or bob.ip.qualitymeasure 1.1.8's values.

    Examples
    --------
    >>> import numpy as np
    >>> square = np.zeros((16, 16)); square[4:12, 4:12] = 255.0
    >>> int(harris_corners(square).sum())
    4
    >>> int(harris_corners(np.full((16, 16), 9.0)).sum())
    0
    """
    conv = check_convention(convention)
    x = _image(image)
    if conv == "bob":
        return _bob_regional_max(_harris_bob(x))
    return _corners_standard(_harris_standard(x))


def _corners_standard(r: NDArray[np.floating[Any]]) -> _B:
    if r.size == 0:
        return np.zeros(r.shape, dtype=bool)
    top = float(r.max())
    if top <= 0.0:
        return np.zeros(r.shape, dtype=bool)
    peak = r == cv2.dilate(r, _K3, borderType=cv2.BORDER_REPLICATE)
    return peak & (r > HARRIS_QUALITY_LEVEL * top)


def _row_bits(mask: _B) -> list[int]:
    """Each row of a boolean array as an integer (bit j = column j)."""
    packed = np.packbits(mask, axis=1, bitorder="little")
    return [int.from_bytes(row.tobytes(), "little") for row in packed]


def _bits_to_rows(rows: list[int], width: int) -> _B:
    """Inverse of :func:`_row_bits`."""
    n_bytes = (width + 7) // 8
    data = b"".join(r.to_bytes(n_bytes, "little") for r in rows)
    packed = np.frombuffer(data, dtype=np.uint8).reshape(len(rows), n_bytes)
    return np.unpackbits(packed, axis=1, count=width, bitorder="little").astype(bool)


def _bob_regional_max(c: _F) -> _B:
    """bob's ``regionalmax``: 3x3 maxima, then its raster-scan spread to equal neighbours.

    bob scans rows 1..H-1 in raster order; each marked pixel marks its equal-valued
    8-neighbours, and a pixel marked ahead of the scan spreads in turn. So the pixels that
    spread are the closure of the first-row-excluded seeds under the *forward* moves
    (right, down-left, down, down-right) between equal values; they also mark their equal
    *backward* neighbours (left, up-left, up, up-right), which do not spread further.
    """
    h, w = c.shape
    if c.size == 0:
        return np.zeros(c.shape, dtype=bool)
    mx = cv2.dilate(c, _K3, borderType=cv2.BORDER_REPLICATE)
    mn = cv2.erode(c, _K3, borderType=cv2.BORDER_REPLICATE)
    seeds = (c == mx) & (c > mn)
    if h < 2:
        return seeds
    eq_right = c[:, 1:] == c[:, :-1]  # (i, j) == (i, j+1)
    eq_down = c[1:] == c[:-1]  # (i, j) == (i+1, j)
    eq_dright = c[1:, 1:] == c[:-1, :-1]  # (i, j) == (i+1, j+1)
    eq_dleft = c[1:, :-1] == c[:-1, 1:]  # (i, j+1) == (i+1, j)
    # only seeds with an equal neighbour can spread; without any, nothing changes
    has_eq = np.zeros(c.shape, dtype=bool)
    has_eq[:, :-1] |= eq_right
    has_eq[:, 1:] |= eq_right
    has_eq[:-1] |= eq_down
    has_eq[1:] |= eq_down
    has_eq[:-1, :-1] |= eq_dright
    has_eq[1:, 1:] |= eq_dright
    has_eq[:-1, 1:] |= eq_dleft
    has_eq[1:, :-1] |= eq_dleft
    active_rows = np.flatnonzero((seeds[1:] & has_eq[1:]).any(axis=1)) + 1
    if active_rows.size == 0:
        return seeds

    # The scan is sequential over rows; each row is a Python integer bit mask (bit j =
    # column j), so that a row step is a handful of big-integer operations.
    i0 = int(active_rows[0])
    shifted = np.zeros((4, h, w), dtype=bool)
    shifted[0, :, 1:] = eq_right  # bit j: c[i, j] == c[i, j-1]
    shifted[1, 1:] = eq_down  # bit j: c[i, j] == c[i-1, j]
    shifted[2, 1:, :-1] = eq_dleft  # bit j: c[i, j] == c[i-1, j+1]
    shifted[3, 1:, 1:] = eq_dright  # bit j: c[i, j] == c[i-1, j-1]
    runs, from_up, from_upright, from_upleft = (_row_bits(m[i0:]) for m in shifted)
    seed_bits = _row_bits(seeds[i0:])
    rows_out = []
    prev = 0
    for k in range(h - i0):
        cur = seed_bits[k]
        if prev:
            cur |= (prev & from_up[k]) | ((prev >> 1) & from_upright[k])
            cur |= (prev << 1) & from_upleft[k]
        if cur:
            # spread to the right along runs of equal values: a carry through the run
            run = runs[k]
            step = (cur << 1) & run
            if step:
                cur |= step | (((run + step) ^ run) & run)
        rows_out.append(cur)
        prev = cur
    spread = np.zeros(c.shape, dtype=bool)  # pixels processed by bob's scan while marked
    spread[i0:] = _bits_to_rows(rows_out, w)
    out = seeds | spread
    # backward marks of the spreading pixels: left, up-left, up, up-right
    out[:, :-1] |= spread[:, 1:] & eq_right
    out[:-1] |= spread[1:] & eq_down
    out[:-1, :-1] |= spread[1:, 1:] & eq_dright
    out[:-1, 1:] |= spread[1:, :-1] & eq_dleft
    return out


def _tcd_from_counts(n_ref: int, n_dis: int) -> float:
    top = max(n_ref, n_dis)
    return 0.0 if top == 0 else abs(n_ref - n_dis) / top


def total_corner_difference(
    reference: ArrayLike, distorted: ArrayLike, convention: str = "standard"
) -> float:
    r"""Total corner difference (TCD).

    .. math:: \mathrm{TCD} = \frac{|N_{cr} - \hat N_{cr}|}{\max(N_{cr}, \hat N_{cr})}

    with :math:`N_{cr}`, :math:`\hat N_{cr}` the numbers of corners found by
    :func:`harris_corners` in each image (Harris detector; its settings are not given by the
    paper, see :func:`harris_response`).

    Parameters
    ----------
    reference, distorted : array_like, shape (H, W)
        Grey images of the same shape, float in 0..255 (``I`` and ``I'``).
    convention : {"standard", "bob"}
        The paper's definition, or bob.ip.qualitymeasure 1.1.8's values.

    Returns
    -------
    float
        In [0, 1]; 0 for identical images and when neither image has a corner (flat image;
        bob divides by zero there).

    References
    ----------
    Galbally et al. 2014, Table I (measure 14); Harris & Stephens 1988.

    Examples
    --------
    >>> import numpy as np
    >>> square = np.zeros((16, 16)); square[4:12, 4:12] = 255.0
    >>> total_corner_difference(square, np.zeros((16, 16)))
    1.0
    >>> total_corner_difference(np.zeros((16, 16)), np.zeros((16, 16)))
    0.0
    """
    conv = check_convention(convention)
    ref, dis = _pair(reference, distorted)
    if conv == "bob":
        return _tcd_from_counts(
            int(np.count_nonzero(harris_corners(ref, conv))),
            int(np.count_nonzero(harris_corners(dis, conv))),
        )
    return _tcd_from_counts(
        _count_corners(_harris_padded(ref.astype(np.float32))),
        _count_corners(_harris_padded(dis.astype(np.float32))),
    )


# --------------------------------------------------------------------------------------------
# gradients
# --------------------------------------------------------------------------------------------
def wrapped_phase_difference(
    re_x: NDArray[np.floating[Any]],
    im_x: NDArray[np.floating[Any]],
    re_y: NDArray[np.floating[Any]],
    im_y: NDArray[np.floating[Any]],
    zero_x: _B | None = None,
    zero_y: _B | None = None,
) -> _F32:
    r"""``arg x - arg y`` wrapped to :math:`(-\pi, \pi]`, for arrays of 2-D vectors.

    Computed as ``atan2(cross, dot)`` of the two vectors (the angle of :math:`x \bar y`),
    in real arithmetic so that equal vectors give exactly 0. Vectors flagged in ``zero_x`` /
    ``zero_y`` count as zero, whose phase is 0 (``atan2(0, 0)``): they are replaced by
    ``(1, 0)``. ``cross`` and ``dot`` are computed in the precision of the inputs, the final
    ``atan2`` in single precision (float32, angles to about 1e-7 rad).

    Parameters
    ----------
    re_x, im_x, re_y, im_y : ndarray
        Components of the vectors ``x`` and ``y`` (same shape), float32 or float64.
    zero_x, zero_y : ndarray of bool, optional
        Vectors to treat as zero (phase 0).

    Returns
    -------
    ndarray of float32
        The wrapped differences.

    Examples
    --------
    >>> import numpy as np
    >>> one = np.array([1.0]); zero = np.array([0.0])
    >>> float(wrapped_phase_difference(-one, 1e-17 * one, -one, -1e-17 * one)[0])  # pi vs -pi
    0.0
    >>> round(float(wrapped_phase_difference(zero, one, one, zero)[0]), 6)  # pi/2 - 0
    1.570796
    """
    if zero_x is not None and zero_x.any():
        re_x, im_x = np.where(zero_x, 1.0, re_x), np.where(zero_x, 0.0, im_x)
    if zero_y is not None and zero_y.any():
        re_y, im_y = np.where(zero_y, 1.0, re_y), np.where(zero_y, 0.0, im_y)
    return _wrapped_angle(re_x, im_x, re_y, im_y)


def _wrapped_angle(
    re_x: NDArray[Any], im_x: NDArray[Any], re_y: NDArray[Any], im_y: NDArray[Any]
) -> _F32:
    """``atan2(cross, dot)`` of ``x`` and ``y``: cross and dot in the inputs' precision
    (they cancel), the atan2 in float32."""
    t1 = im_x * re_y
    t2 = re_x * im_y
    cross = np.subtract(t1, t2, out=t1 if t1.dtype == np.float32 else None, dtype=np.float32)
    np.multiply(re_x, re_y, out=t2)
    t3 = im_x * im_y
    dot = np.add(t2, t3, out=t3 if t3.dtype == np.float32 else None, dtype=np.float32)
    return np.arctan2(cross, dot, out=cross)


_STRIP_BYTES = 1 << 19  # the gradient measures run over strips of rows of ~512 KiB per array


def _strip_rows(shape: tuple[int, int], itemsize: int) -> int:
    return strip_rows(shape[0], itemsize * shape[1], _STRIP_BYTES)


def _wrapped_angle_into(re_x: _F32, im_x: _F32, re_y: _F32, im_y: _F32, out: _F32) -> _F32:
    """:func:`_wrapped_angle` of float32 arrays into ``out``; ``re_x``, ``re_y`` and ``im_y``
    are overwritten (scratch). Separate products and sums, no fused multiply-add: ``x``
    against ``c x`` (``c > 0`` a power of 2) gives a cross product of exactly 0. Also the
    spectral phase error's."""
    np.multiply(im_x, re_y, out=out)
    np.multiply(re_x, re_y, out=re_y)
    np.multiply(re_x, im_y, out=re_x)
    np.multiply(im_x, im_y, out=im_y)
    np.subtract(out, re_x, out=out)  # cross
    np.add(re_y, im_y, out=re_y)  # dot
    return np.arctan2(out, re_y, out=out)


def _magnitude_into(
    re: NDArray[Any], im: NDArray[Any], out: NDArray[Any], tmp: NDArray[Any]
) -> None:
    """``out = sqrt(re**2 + im**2)``, with ``tmp`` as scratch.

    Not ``cv2.magnitude``, whose result (through IPP) depends on the arrays' memory
    alignment: equal vectors could get magnitudes one ulp apart. The square root is
    ``cv2.sqrt`` in single precision (correctly rounded, like ``numpy.sqrt``, and twice as
    fast), ``numpy.sqrt`` in double.
    """
    np.multiply(re, re, out=out)
    np.multiply(im, im, out=tmp)
    np.add(out, tmp, out=out)
    if out.dtype == np.float32:
        cv2.sqrt(out, dst=out)
    else:
        np.sqrt(out, out=out)


def _make_phase_ready(re: _F32, mag: _F32, scratch: _F32) -> None:
    """``re += 1`` where ``mag <= 2e-9``: a zero vector made ``(1, c)``, of phase 0
    (float32). The minimum decides whether there is any."""
    if float(mag.min()) <= 2.0 * _PHASE_TOL:
        cv2.threshold(mag, 2.0 * _PHASE_TOL, 1.0, cv2.THRESH_BINARY_INV, dst=scratch)
        np.add(re, scratch, out=re)


def _gradient_errors_standard(ref32: _F32, dis32: _F32) -> tuple[float, float]:
    """Standard GME and GPE of two float32 images, over strips of rows.

    Single precision (images rounded to float32; the squared sums accumulate in double,
    ``cv2.norm``). The buffers hold ``2 G`` (exact, cheaper): the squared magnitude
    differences are quartered at the end. Working on strips keeps the intermediates in the
    core's cache.
    """
    n, m = ref32.shape
    rows = _strip_rows(ref32.shape, 4)
    buf = np.empty((7, rows, m), np.float32)
    gme = gpe = 0.0
    for r0 in range(0, n, rows):
        r1 = min(r0 + rows, n)
        xr, xc, yr, yc, x_mag, y_mag, tmp = buf[:, : r1 - r0]
        _gradient_rows(ref32, r0, r1, xr, xc, half=False)  # type: ignore[arg-type]
        _gradient_rows(dis32, r0, r1, yr, yc, half=False)  # type: ignore[arg-type]
        _magnitude_into(xr, xc, x_mag, tmp)
        _magnitude_into(yr, yc, y_mag, tmp)
        gme += float(cv2.norm(x_mag, y_mag, cv2.NORM_L2SQR))
        # gradient as the vector (G_r, G_c), phase atan2(G_c, G_r); shorter than 1e-9: zero,
        # made (1, c) with |c| <= 2e-9 (phase 0 to 2e-9 rad, exactly 0 for a zero vector)
        _make_phase_ready(xr, x_mag, tmp)
        _make_phase_ready(yr, y_mag, tmp)
        phi = _wrapped_angle_into(xr, xc, yr, yc, out=x_mag)
        gpe += float(cv2.norm(phi, cv2.NORM_L2SQR))
    size = ref32.size
    return gme / 4.0 / size, gpe / size


def _gradient_errors(ref: _F, dis: _F, conv: str) -> tuple[float, float]:
    """GME and GPE together: :func:`_gradient_errors_standard` on float32 copies, or bob's
    in double precision over strips of rows (the intermediates stay in cache)."""
    if conv != "bob":
        return _gradient_errors_standard(ref.astype(np.float32), dis.astype(np.float32))
    n, m = ref.shape
    rows = _strip_rows(ref.shape, 8)
    buf = np.empty((7, rows, m))
    gme = gpe = 0.0
    for r0 in range(0, n, rows):
        r1 = min(r0 + rows, n)
        x_row, x_col, y_row, y_col, x_mag, y_mag, tmp = buf[:, : r1 - r0]
        _gradient_rows(ref, r0, r1, x_row, x_col, half=False)  # 2 G: exact, cheaper
        _gradient_rows(dis, r0, r1, y_row, y_col, half=False)
        _magnitude_into(x_row, x_col, x_mag, tmp)
        _magnitude_into(y_row, y_col, y_mag, tmp)
        np.subtract(x_mag, y_mag, out=tmp)
        np.abs(tmp, out=tmp)
        gme += float(tmp.sum())
        np.arctan2(x_col, x_row, out=x_mag)
        np.arctan2(y_col, y_row, out=y_mag)
        np.subtract(x_mag, y_mag, out=tmp)
        np.abs(tmp, out=tmp)
        gpe += float(tmp.sum())
    # the buffers held 2 G; numpy.gradient(x, 5) divides the gradient by 5
    gme /= 2.0 * BOB_GRADIENT_SPACING
    return gme / ref.size, gpe / ref.size


def gradient_magnitude_error(
    reference: ArrayLike, distorted: ArrayLike, convention: str = "standard"
) -> float:
    r"""Gradient magnitude error (GME).

    .. math:: \mathrm{GME} = \frac{1}{NM}\sum_{i,j} \big(|G(i,j)| - |\hat G(i,j)|\big)^2

    with :math:`G = (G_r, G_c)` the gradient of :func:`central_gradient` (central
    differences with unit spacing, as MATLAB's ``gradient``; the paper does not name the
    operator).

    ``"standard"`` is computed in single precision (both images rounded to float32, the sum
    accumulated in double): within about 1e-7 relative of the double-precision value (on the
    oracle image 7.54114468 against 7.54114478).

    ``"bob"``: ``numpy.gradient`` with spacing 5 (magnitudes divided by 5) and the mean
    *absolute* difference :math:`\frac{1}{NM}\sum ||G| - |\hat G||`, in double precision.

    Parameters
    ----------
    reference, distorted : array_like, shape (H, W)
        Grey images of the same shape, float in 0..255 (``I`` and ``I'``).
    convention : {"standard", "bob"}
        The paper's definition, or bob.ip.qualitymeasure 1.1.8's values.

    Returns
    -------
    float
        0 for identical images and for two flat images.

    References
    ----------
    Galbally et al. 2014, Table I (measure 17); Avcibas et al. 2002.

    Examples
    --------
    >>> import numpy as np
    >>> ramp = np.tile(np.arange(8.0) * 2.0, (8, 1))
    >>> gradient_magnitude_error(ramp, np.zeros((8, 8)))
    4.0
    >>> gradient_magnitude_error(ramp, np.zeros((8, 8)), convention="bob")
    0.4
    """
    conv = check_convention(convention)
    ref, dis = _pair(reference, distorted)
    return _gradient_errors(ref, dis, conv)[0]


def gradient_phase_error(
    reference: ArrayLike, distorted: ArrayLike, convention: str = "standard"
) -> float:
    r"""Gradient phase error (GPE).

    .. math:: \mathrm{GPE} = \frac{1}{NM}\sum_{i,j} \big|\arg G(i,j) - \arg\hat G(i,j)\big|^2

    with :math:`\arg G = \operatorname{atan2}(G_c, G_r)` of :func:`central_gradient`.

    ``"standard"`` takes the difference as an *angle*, wrapped to :math:`(-\pi, \pi]`: two
    gradients pointing the same way have no phase error whether their phases read
    :math:`+\pi` or :math:`-\pi`. Read literally (unwrapped), the formula jumps by
    :math:`4\pi^2/NM` per pixel when rounding noise of order 1e-15 flips the sign of a zero
    gradient component, which moves the value by 3e-4 between two correct implementations of
    ``I'``. A gradient shorter than 1e-9 counts as zero, with phase 0 (``atan2(0, 0)``;
    to 2e-9 rad for a vector that is not exactly zero). Computed in single precision like
    GME (images rounded to float32, angles to about 1e-7 rad, sum in double).

    ``"bob"``: the literal, unwrapped difference, and its mean *absolute* value
    :math:`\frac{1}{NM}\sum |\arg G - \arg\hat G|`.

    Parameters
    ----------
    reference, distorted : array_like, shape (H, W)
        Grey images of the same shape, float in 0..255 (``I`` and ``I'``).
    convention : {"standard", "bob"}
        The paper's definition, or bob.ip.qualitymeasure 1.1.8's values.

    Returns
    -------
    float
        In :math:`[0, \pi^2]` (standard); 0 for identical images and two flat images.

    References
    ----------
    Galbally et al. 2014, Table I (measure 18); Avcibas et al. 2002.

    Examples
    --------
    >>> import numpy as np
    >>> ramp = np.tile(np.arange(8.0), (8, 1))
    >>> round(gradient_phase_error(ramp, ramp.T), 6)  # every gradient turned by 90 degrees
    2.467401
    >>> gradient_phase_error(ramp, ramp)
    0.0
    """
    conv = check_convention(convention)
    ref, dis = _pair(reference, distorted)
    return _gradient_errors(ref, dis, conv)[1]


# --------------------------------------------------------------------------------------------
# context adaptors (shared intermediates)
# --------------------------------------------------------------------------------------------
def distorted_image(ctx: QualityContext) -> _F:
    """``I'`` of the context's convention: ``ctx.smoothed``, or :func:`bob_smooth` for bob."""
    if ctx.convention == "bob":
        return ctx.cached("edges.bob_smoothed", lambda c: bob_smooth(c.I))
    return ctx.smoothed


def _gradient_pair(ctx: QualityContext) -> tuple[float, float]:
    def compute(c: QualityContext) -> tuple[float, float]:
        if c.convention == "bob":
            return _gradient_errors(c.I, distorted_image(c), "bob")
        return _gradient_errors_standard(*_detector_inputs(c))

    return ctx.cached("edges.gme_gpe", compute)


def _detector_inputs(ctx: QualityContext) -> tuple[NDArray[Any], NDArray[Any]]:
    """``I`` and ``I'`` for the detectors and gradients: float32 copies (standard, shared by
    TED, TCD, GME and GPE, and with LMSE for ``I``; cache keys ``"edges.float32:I"`` and
    ``"edges.float32:I'"``) or the float64 images (bob)."""
    if ctx.convention == "bob":
        return ctx.I, distorted_image(ctx)
    ref = ctx.cached("edges.float32:I", lambda c: c.I.astype(np.float32))
    dis = ctx.cached("edges.float32:I'", lambda c: distorted_image(c).astype(np.float32))
    return ref, dis


def ctx_ted(ctx: QualityContext) -> float:
    """TED between ``I`` and ``I'`` of a context (see :func:`total_edge_difference`)."""
    ref, dis = _detector_inputs(ctx)
    if ctx.convention == "bob":
        return _ted_bob(_edges_bob(*_sobel_bob(ref)), _edges_bob(*_sobel_bob(dis)))
    return _ted_standard(ref, dis)


def ctx_tcd(ctx: QualityContext) -> float:
    """TCD between ``I`` and ``I'`` of a context (see :func:`total_corner_difference`)."""
    if ctx.convention == "bob":
        ref, dis = _detector_inputs(ctx)
        n_ref = np.count_nonzero(_bob_regional_max(_harris_bob(ref)))
        n_dis = np.count_nonzero(_bob_regional_max(_harris_bob(dis)))
        return _tcd_from_counts(int(n_ref), int(n_dis))
    ref, dis = _detector_inputs(ctx)
    return _tcd_from_counts(
        _count_corners(_harris_padded(ref)), _count_corners(_harris_padded(dis))
    )


def ctx_gme(ctx: QualityContext) -> float:
    """GME between ``I`` and ``I'`` of a context (see :func:`gradient_magnitude_error`).

    GME and GPE are computed together in one pass (the first one asked for pays for both).
    """
    return _gradient_pair(ctx)[0]


def ctx_gpe(ctx: QualityContext) -> float:
    """GPE between ``I`` and ``I'`` of a context (see :func:`gradient_phase_error`)."""
    return _gradient_pair(ctx)[1]
