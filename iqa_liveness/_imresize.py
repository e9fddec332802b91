"""MATLAB's ``imresize`` (bicubic, antialiased): the one implementation of the package.

Used by NIQE's second scale (:func:`iqa_liveness.quality.niqe.imresize`, a scale factor) and
by the colour-texture resizing (:func:`iqa_liveness.texture.colour.imresize`, an output
shape). The algorithm of MATLAB's ``imresize.m``:

* Keys' cubic kernel with ``a = -0.5``; when shrinking by ``scale < 1`` it is stretched by
  ``1 / scale`` (antialiasing) and scaled by ``scale``;
* output sample ``i`` (1-based) is centred on input position ``u = i / scale + (1 - 1 / scale)
  / 2``, with ``ceil(kernel width) + 2`` taps starting at ``floor(u - kernel width / 2)``;
* the weights of each output sample are normalised to sum 1; taps that are zero for every
  output sample are dropped;
* out-of-range indices are mirrored with the edge repeated, periodically for inputs shorter
  than the kernel (MATLAB's ``aux`` index vector);
* separable: one axis after the other, rows (axis 0) first.

With ``scale = n_out / n_in`` (an output shape) and with a scale factor the two uses agree
whenever ``ceil(scale * n_in) / n_in == scale`` (e.g. NIQE's halving of even sides).
"""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np
from numpy.typing import NDArray

__all__ = ["contributions", "resize_axis", "resize_matrix"]


def _cubic(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's ``cubic``)."""
    ax = np.abs(x)
    ax2 = ax * ax
    ax3 = ax2 * ax
    near = (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
    far = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2))
    return near + far


@lru_cache(maxsize=256)
def contributions(
    in_len: int, out_len: int, scale: float
) -> tuple[NDArray[np.float64], NDArray[np.intp], NDArray[np.intp]]:
    """MATLAB's resampling weights along one axis, shape ``(out_len, taps)``.

    Returns
    -------
    weights : ndarray of float64, shape (out_len, taps)
    raw : ndarray of intp, shape (out_len, taps)
        0-based source indices before mirroring (may fall outside ``0 .. in_len - 1``).
    src : ndarray of intp, shape (out_len, taps)
        The same indices mirrored into the input (MATLAB's edge-repeating mirror).
    """
    kernel_width = 4.0 / scale if scale < 1 else 4.0
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - kernel_width / 2.0)
    taps = math.ceil(kernel_width) + 2
    idx = left[:, None] + np.arange(taps, dtype=np.float64)[None, :]
    dist = u[:, None] - idx
    weights = scale * _cubic(scale * dist) if scale < 1 else _cubic(dist)
    weights = weights / weights.sum(axis=1, keepdims=True)
    keep = np.any(weights != 0, axis=0)
    raw = idx[:, keep].astype(np.intp) - 1
    aux = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])
    src = aux[np.mod(raw, aux.size)]
    out = (np.ascontiguousarray(weights[:, keep]), np.ascontiguousarray(raw), src)
    for a in out:
        a.flags.writeable = False
    return out


@lru_cache(maxsize=256)
def resize_matrix(in_len: int, out_len: int) -> NDArray[np.float64]:
    """Dense ``(out_len, in_len)`` matrix of the resizing to ``out_len`` samples along one
    axis (``scale = out_len / in_len``); ``matrix @ x`` resizes the rows of ``x``.

    Examples
    --------
    >>> m = resize_matrix(8, 4)
    >>> m.shape, bool(np.allclose(m.sum(axis=1), 1.0))
    ((4, 8), True)
    """
    w, _, src = contributions(in_len, out_len, out_len / in_len)
    m = np.zeros((out_len, in_len))
    np.add.at(m, (np.repeat(np.arange(out_len), w.shape[1]), src.ravel()), w.ravel())
    m.setflags(write=False)
    return m


def _uniform_stride(
    w: NDArray[np.float64], raw: NDArray[np.intp], in_len: int
) -> tuple[int, int, int] | None:
    """``(step, pad_before, pad_after)`` when every output sample applies the same weights
    with its window advancing by a constant integer step and the window leaves the input by
    at most its length on each side (one mirror, = cv2's ``BORDER_REFLECT``); else None."""
    if raw.shape[0] < 2:
        return None
    step = int(raw[1, 0] - raw[0, 0])
    if step < 1 or not (np.all(np.diff(raw, axis=0) == step) and np.all(w == w[0])):
        return None
    before = max(0, -int(raw.min()))
    after = max(0, int(raw.max()) - (in_len - 1))
    if before > in_len or after > in_len:
        return None
    return step, before, after


def resize_axis(
    img: NDArray[np.float64], out_len: int, scale: float, axis: int
) -> NDArray[np.float64]:
    """Resize a 2-D float64 image to ``out_len`` samples along ``axis`` (0 or 1) with
    MATLAB's weights for ``scale``.

    An integer shrink (NIQE's 0.5) is computed in polyphase form with cv2's float64
    correlation: the ``step`` phases of the mirrored signal, each with every ``step``-th
    weight, so that only the kept outputs are computed. Otherwise a weighted sum of gathered
    rows or columns.

    Examples
    --------
    >>> x = np.arange(24.0).reshape(4, 6)
    >>> bool(np.allclose(resize_axis(x, 2, 0.5, 0), resize_matrix(4, 2) @ x))
    True
    >>> bool(np.allclose(resize_axis(x, 3, 0.5, 1), x @ resize_matrix(6, 3).T))
    True
    """
    w, raw, src = contributions(img.shape[axis], out_len, scale)
    uni = _uniform_stride(w, raw, img.shape[axis])
    if uni is None:
        shape = (out_len, img.shape[1]) if axis == 0 else (img.shape[0], out_len)
        out = np.zeros(shape)
        for k in range(w.shape[1]):
            if axis == 0:
                out += w[:, k, None] * img[src[:, k]]
            else:
                out += w[None, :, k] * img[:, src[:, k]]
        return out
    step, before, after = uni
    if axis == 0:
        padded = cv2.copyMakeBorder(img, before, after, 0, 0, cv2.BORDER_REFLECT)
    else:
        padded = cv2.copyMakeBorder(img, 0, 0, before, after, cv2.BORDER_REFLECT)
    first = int(raw[0, 0]) + before
    cut: tuple[slice, ...] = (slice(out_len),) if axis == 0 else (slice(None), slice(out_len))
    acc = np.zeros((out_len, img.shape[1]) if axis == 0 else (img.shape[0], out_len))
    for r in range(min(step, w.shape[1])):
        taps = np.ascontiguousarray(w[0, r::step])
        if axis == 0:
            phase, kern = padded[first + r :: step], taps[:, None]
        else:
            phase, kern = np.ascontiguousarray(padded[:, first + r :: step]), taps[None, :]
        part = cv2.filter2D(phase, cv2.CV_64F, kern, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)
        acc += part[cut]
    return np.asarray(acc, dtype=np.float64)
