"""BIQI: Blind Image Quality Index (Moorthy & Bovik 2010), a two-step framework.

1. **Features.** A 3-level ``db9`` wavelet decomposition of the grey image (PyWavelets'
   filters and ``symmetric`` extension = MATLAB's default ``sym``; computed as block matrix
   products, equal to ``pywt.wavedec2`` up to rounding, six times as fast); for each
   level ``p = 1..3`` (finest first) and orientation (horizontal, vertical, diagonal) the
   variance ``sigma^2`` of the subband and the shape ``gamma`` of a generalised Gaussian
   fitted by moment matching: ``rho = sigma^2 / E|x - mu|^2`` matched on the grid
   ``0.2:0.001:10`` to ``Gamma(1/g) Gamma(3/g) / Gamma(2/g)^2``. 18 features, in the order
   ``[var_h(1..3), var_v(1..3), var_d(1..3), gamma_h(1..3), gamma_v(1..3), gamma_d(1..3)]``.
2. **Distortion identification.** The features, scaled with a LIBSVM ``svm-scale`` range
   file, go to a 5-class C-SVC (RBF) with probability outputs ``p_k`` for JPEG2000, JPEG,
   white noise, Gaussian blur and fast fading.
3. **Distortion-specific quality.** A LIBSVM regressor per distortion (own range file) gives
   ``q_k``, except JPEG, scored by the JPEG index of Wang et al. with BIQI's constants
   (:data:`BIQI_JQI_CONSTANTS`).
4. ``BIQI = sum_k p_k q_k`` (DMOS-like scale: about 0 best to 100 worst).

Reproduces the LIVE release's ``biqi.m`` including its file round trips: the features are
written with ``%f`` (6 decimals) and ``svm-scale`` writes the scaled values with ``%g``
(6 significant digits); both roundings are applied here so that the LIVE models see the
same numbers as in the original.

Models: a *BIQI model directory* holds ``model_89`` (classifier), ``model_89_jp2k``,
``model_89_wn``, ``model_89_blur``, ``model_89_ff`` (regressors) and the range files
``range2``, ``range2_jp2k``, ... (LIVE's names; a ``.model`` / ``.txt`` suffix is also
accepted). The package ships its own, trained by ``datasets/biqi/make_biqi_models.py`` on
distorted versions of permissively licensed images (see ``docs/biqi_models.md``); the LIVE
release's models can be used with ``biqi(..., models="path/to/biqi_release")`` or
``QualityFeatures(biqi_models=...)``.

Degenerate inputs (documented, finite): a subband with no spread (mean absolute deviation
below 1e-9 grey levels, i.e. flat up to rounding) has ``rho`` undefined; as in the original
(MATLAB's ``min`` over NaN returns the first element) its shape is 0.2. Images below 16
pixels on a side get the JPEG score -2 of the original JPEG index. Wavelet levels larger
than the image allows are computed anyway (PyWavelets' boundary extension), as MATLAB does.

References
----------
A. K. Moorthy and A. C. Bovik, "A two-step framework for constructing blind image quality
indices", IEEE Signal Processing Letters 17(5):513-516, 2010.
"""

from __future__ import annotations

import atexit
import bisect
import ctypes
import math
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import pywt
from numpy.typing import NDArray
from scipy.special import gamma as _gamma

from .._libsvm import node_rows
from ..errors import ConfigurationError, ModelFileError
from .jpeg import JQI_TOO_SMALL, jqi_features, jqi_from_features

if TYPE_CHECKING:
    from ._context import QualityContext

__all__ = [
    "BIQI_JQI_CONSTANTS",
    "DISTORTIONS",
    "BIQIModels",
    "biqi",
    "biqi_details",
    "biqi_features",
    "default_biqi_models",
    "ctx_biqi",
]

#: Distortion classes, in the order of the classifier's labels 1..5.
DISTORTIONS: tuple[str, ...] = ("jp2k", "jpeg", "wn", "blur", "ff")
#: ``(alpha, beta, gamma1, gamma2, gamma3)`` of BIQI's ``jpeg_quality_score.m``.
BIQI_JQI_CONSTANTS: tuple[float, float, float, float, float] = (
    -927.4240,
    850.8986,
    235.4451,
    128.7548,
    -341.4790,
)
#: A subband whose mean absolute deviation is below this (grey levels) is flat up to rounding.
_FLAT = 1e-9
_WAVELET = "db9"
_LEVELS = 3
_N_FEATURES = 18
_GAM_GRID: NDArray[np.float64] = 0.2 + 0.001 * np.arange(9801.0)  # MATLAB 0.2:0.001:10


@lru_cache(maxsize=1)
def _ggd_table() -> NDArray[np.float64]:
    g = _GAM_GRID
    r: NDArray[np.float64] = _gamma(1.0 / g) * _gamma(3.0 / g) / _gamma(2.0 / g) ** 2
    if not np.all(np.diff(r) < 0):  # pragma: no cover - property of the Gamma function
        raise AssertionError("GGD ratio table is not decreasing")
    return r


@lru_cache(maxsize=1)
def _ggd_lookup() -> tuple[list[float], list[float]]:
    """The ratio table in increasing order and the matching shapes, as Python lists
    (``bisect`` on a list: a lookup in a microsecond, nine per image)."""
    return _ggd_table()[::-1].tolist(), _GAM_GRID[::-1].tolist()


def _ggd_shape(rho: float) -> float:
    """Grid value minimising ``|rho - r(g)|`` (first on ties; 0.2 for NaN, as MATLAB)."""
    if not math.isfinite(rho):
        return float(_GAM_GRID[0])
    r, g = _ggd_lookup()  # r increasing, g decreasing
    j = min(max(bisect.bisect_left(r, rho), 1), len(r) - 1)
    # the nearer of r[j - 1] and r[j]; on a tie r[j], whose shape comes first on the grid
    return g[j] if abs(rho - r[j]) <= abs(rho - r[j - 1]) else g[j - 1]


#: Outputs per block of the matrix form of the analysis (4 doubles: 32 bytes, the largest
#: element ``cv2.transpose`` moves as one).
_BLOCK = 4
_TAPS = 18  # db9


@lru_cache(maxsize=1)
def _analysis_matrices() -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """The db9 analysis of ``b = _BLOCK`` consecutive outputs as a matrix.

    PyWavelets computes ``y[i] = sum_s h[s] x[2i + 1 + s]`` on the extended signal, ``h`` the
    reversed decomposition filter (18 taps). The outputs ``i = jb .. jb + b - 1`` read the
    window ``x[2jb + 1 : 2jb + 2b + 17]`` of ``K = 2b + 16`` samples, and
    ``[lo | hi] = window @ M`` with ``M[2r + s, r] = lo[s]``, ``M[2r + s, b + r] = hi[s]``.
    Returns ``M`` (K, 2b) and its low and high halves transposed, (b, K) each.
    """
    w = pywt.Wavelet(_WAVELET)
    lo, hi = np.array(w.dec_lo[::-1]), np.array(w.dec_hi[::-1])
    b = _BLOCK
    m = np.zeros((2 * b + _TAPS - 2, 2 * b))
    for r in range(b):
        m[2 * r : 2 * r + _TAPS, r] = lo
        m[2 * r : 2 * r + _TAPS, b + r] = hi
    return m, np.ascontiguousarray(m[:, :b].T), np.ascontiguousarray(m[:, b:].T)


def _windows(a: NDArray[np.float64], axis: int, count: int, start: int) -> NDArray[np.float64]:
    """``count`` windows of ``K`` samples along ``axis``, from ``start`` in steps of ``2b``.

    A read-only strided view: (count, rows, K) for axis 1, (count, K, columns) for axis 0.
    """
    k = 2 * _BLOCK + _TAPS - 2
    s0, s1 = a.strides
    if axis == 1:
        shape, strides = (count, a.shape[0], k), (2 * _BLOCK * s1, s0, s1)
        first = a[:, start:]
    else:
        shape, strides = (count, k, a.shape[1]), (2 * _BLOCK * s0, s0, s1)
        first = a[start:]
    return np.lib.stride_tricks.as_strided(first, shape, strides, writeable=False)


def _row_blocks(x: NDArray[np.float64], nb: int) -> NDArray[np.float64]:
    """Analysis of the rows of ``x`` (symmetric extension): ``nb`` blocks ``[lo_b | hi_b]``,
    shape (nb, rows, 2b).

    Block ``j`` reads the columns ``2bj - 16 .. 2bj + 7`` of ``x``: the blocks inside the
    image read ``x`` itself; only those at the ends read a few extended columns.
    """
    m, n = x.shape
    b, d = _BLOCK, _TAPS - 2
    step, k = 2 * b, 2 * b + _TAPS - 2
    mat = _analysis_matrices()[0]
    jl = -(-d // step)  # first block inside x
    jr = min(nb, (n + d - k) // step)  # the last one inside and those after: right strip
    out = np.empty((nb, m, step))
    if jr <= jl:  # narrow image: everything from the extended rows
        ext = step * nb - n
        p = np.asarray(cv2.copyMakeBorder(x, 0, 0, d, max(ext, 0), cv2.BORDER_REFLECT))
        return np.matmul(_windows(p.astype(np.float64, copy=False), 1, nb, 0), mat, out=out)
    left = np.asarray(cv2.copyMakeBorder(x[:, : step * jl], 0, 0, d, 0, cv2.BORDER_REFLECT))
    np.matmul(_windows(left.astype(np.float64, copy=False), 1, jl, 0), mat, out=out[:jl])
    np.matmul(_windows(x, 1, jr - jl, step * jl - d), mat, out=out[jl:jr])
    s = step * jr - d  # (at least 24 columns to the end: one reflection of 17 is right)
    ext = max(step * nb - n, 0)  # (beyond 17: garbage reaching only dropped outputs)
    right = np.asarray(cv2.copyMakeBorder(x[:, s:], 0, 0, 0, ext, cv2.BORDER_REFLECT))
    np.matmul(_windows(right.astype(np.float64, copy=False), 1, nb - jr, 0), mat, out=out[jr:])
    return out


def _dwt2(x: NDArray[np.float64]) -> tuple[NDArray[np.float64], list[NDArray[np.float64]]]:
    """One level of ``pywt.dwt2(x, 'db9', mode='symmetric')``: approximation and
    (horizontal, vertical, diagonal) details, equal to PyWavelets' up to rounding.

    The filtering and decimation of an axis is a banded matrix product, computed by blocks
    of ``b`` outputs as dense products (:func:`_analysis_matrices`; 24 multiply-adds per
    output instead of 18, at about three times the rate of a float64 correlation). Rows
    (:func:`_row_blocks`): per block of columns, ``b`` lowpass and ``b`` highpass columns;
    one ``cv2.transpose`` of ``b``-double elements orders them as ``[lo | hi]``, written
    between the 17 rows above and below that the symmetric extension adds (the analysis of
    a reflected row is the reflected analysis). Columns: the row windows of ``lo`` and of
    ``hi`` times the low and the high matrix give the four subbands, each contiguous.
    """
    if min(x.shape) < _TAPS:  # the extension reflects more than once: PyWavelets' own rule
        a, details = pywt.dwt2(x, _WAVELET, mode="symmetric")
        return a, list(details)
    b, e = _BLOCK, _TAPS - 1  # symmetric extension (edge repeated) = cv2's BORDER_REFLECT
    _, m_lo, m_hi = _analysis_matrices()
    m = x.shape[0]
    o0, o1 = ((n + e) // 2 for n in x.shape)  # output sizes
    nb0, nb1 = -(-o0 // b), -(-o1 // b)  # blocks; the outputs of a last partial one dropped
    blocks = _row_blocks(x, nb1)
    # rows the column windows read: 2b nb0 + 17, up to 2b - 2 beyond the extension (zeros,
    # reaching only dropped outputs)
    lohi = np.empty((max(2 * b * nb0 + e, m + 2 * e), 2 * nb1 * b))
    cv2.transpose(blocks.reshape(nb1, 2 * m, b), dst=lohi[e : e + m].reshape(2 * m, nb1, b))
    lohi[:e] = lohi[e : 2 * e][::-1]
    lohi[e + m : 2 * e + m] = lohi[m : e + m][::-1]
    lohi[2 * e + m :] = 0.0
    h = nb1 * b  # first highpass column
    bands = np.empty((4, nb0 * b, o1))  # ll, lh, hl, hh
    for i, half in enumerate((lohi[:, :o1], lohi[:, h : h + o1])):
        win = _windows(half, 0, nb0, 1)
        np.matmul(m_lo, win, out=bands[2 * i].reshape(nb0, b, o1))
        np.matmul(m_hi, win, out=bands[2 * i + 1].reshape(nb0, b, o1))
    return bands[0, :o0], [bands[1, :o0], bands[2, :o0], bands[3, :o0]]


def _wavedec2(img: NDArray[np.float64], levels: int) -> list[list[NDArray[np.float64]]]:
    """Detail subbands of a ``levels``-level db9 decomposition, finest level first."""
    out = []
    a = img
    for _ in range(levels):
        a, details = _dwt2(a)
        out.append(details)
    return out


def _subband_stats(band: NDArray[np.float64]) -> tuple[float, float]:
    """Variance and GGD shape of a subband (a 1-D or 2-D array or view, not copied)."""
    n = band.size
    c = np.subtract(band, cv2.mean(band)[0])
    var = cv2.norm(c, cv2.NORM_L2SQR) / n
    e = cv2.norm(c, cv2.NORM_L1) / n
    rho = var / (e * e) if e > _FLAT else float("nan")
    return var, _ggd_shape(rho)


def biqi_features(grey: NDArray[np.floating]) -> NDArray[np.float64]:
    """The 18 wavelet/GGD features of BIQI (before the ``%f`` rounding).

    Parameters
    ----------
    grey : ndarray, shape (H, W)
        Grey image in 0..255.

    Returns
    -------
    ndarray, shape (18,)
        ``[var_h(1..3), var_v(1..3), var_d(1..3), gamma_h(1..3), gamma_v(1..3),
        gamma_d(1..3)]``, level 1 the finest.

    Examples
    --------
    >>> import numpy as np
    >>> f = biqi_features(np.random.default_rng(0).normal(128, 10, (64, 64)))
    >>> f.shape, bool(abs(f[0] - 100) < 10), bool(abs(f[9] - 2) < 0.2)
    ((18,), True, True)
    """
    img = np.asarray(grey, dtype=np.float64)
    coeffs = _wavedec2(img, _LEVELS)
    var = np.empty((3, _LEVELS))
    shape = np.empty((3, _LEVELS))
    for p in range(1, _LEVELS + 1):
        for o, band in enumerate(coeffs[p - 1]):  # (horizontal, vertical, diagonal)
            var[o, p - 1], shape[o, p - 1] = _subband_stats(band)
    return np.concatenate([var.ravel(), shape.ravel()])


# --------------------------------------------------------------------------------------------
# LIBSVM models


def _read_range(path: Path) -> tuple[float, float, dict[int, tuple[float, float]]]:
    """Parse an ``svm-scale`` range file (its ``x`` section)."""
    try:
        lines = path.read_text().split("\n")
    except OSError as exc:
        raise ModelFileError(f"cannot read BIQI range file {path}: {exc}") from exc
    try:
        i = 0
        while lines[i].strip() != "x":
            if lines[i].strip() == "y":  # target scaling: 3 lines, not used for prediction
                i += 3
                continue
            i += 1
        lower, upper = (float(v) for v in lines[i + 1].split())
        ranges: dict[int, tuple[float, float]] = {}
        for line in lines[i + 2 :]:
            if not line.strip():
                continue
            k, lo, hi = line.split()
            ranges[int(k)] = (float(lo), float(hi))
    except (IndexError, ValueError) as exc:
        raise ModelFileError(f"malformed svm-scale range file {path}") from exc
    if not ranges:
        raise ModelFileError(f"range file {path} has no feature ranges")
    return lower, upper, ranges


_Range = tuple[float, float, dict[int, tuple[float, float]]]
#: Range files as arrays over ``n`` features: lower, upper (r, 1), lo, hi (r, n), kept (r, n).
_RangeArrays = tuple[
    NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64],
    NDArray[np.bool_],
]  # fmt: skip


def _range_arrays(scalings: list[_Range], n: int) -> _RangeArrays:
    """``r`` range files as arrays over features ``1..n`` (a feature absent from a file or
    single-valued in it is dropped by ``svm-scale``: ``kept`` False)."""
    lower = np.array([[sc[0]] for sc in scalings])
    upper = np.array([[sc[1]] for sc in scalings])
    lo, hi = np.zeros((len(scalings), n)), np.ones((len(scalings), n))
    kept = np.zeros((len(scalings), n), dtype=bool)
    for i, (_, _, ranges) in enumerate(scalings):
        for k, (a, b) in ranges.items():
            if 1 <= k <= n and a != b:
                lo[i, k - 1], hi[i, k - 1], kept[i, k - 1] = a, b, True
    return lower, upper, lo, hi, kept


def _svm_scale_dense(values: NDArray[np.float64], arrays: _RangeArrays) -> NDArray[np.float64]:
    """``svm-scale -r`` of one feature vector with ``r`` range files at once: (r, n), dense
    (a dropped feature is 0, as its absence in LIBSVM's sparse input).

    Linear map to [lower, upper] (a value equal to the range's end is mapped to the bound
    itself, no clipping), printed with ``%g`` (6 significant digits) as ``svm-scale``
    writes it: one formatting of all ``r n`` values and one parse.
    """
    lower, upper, lo, hi, kept = arrays
    s = lower + (upper - lower) * (values - lo) / (hi - lo)
    s = np.where(values == lo, lower, np.where(values == hi, upper, s))
    s = np.where(kept, s, 0.0)
    text = ("%g " * s.size) % tuple(s.ravel().tolist())
    return np.array(text.split(), dtype=np.float64).reshape(s.shape)


def _svm_scale(values: NDArray[np.float64], scaling: _Range) -> dict[int, float]:
    """``svm-scale -r`` as LIBSVM's sparse input: ``{feature: value}`` without zeros."""
    row = _svm_scale_dense(
        np.asarray(values, dtype=np.float64), _range_arrays([scaling], len(values))
    )
    return {k + 1: float(v) for k, v in enumerate(row[0]) if v != 0}


_SVM_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Svm:
    """A LIBSVM model; regression is evaluated in numpy from its support vectors.

    LIBSVM sums the kernel expansion of a regressor in an OpenMP reduction whose order
    depends on the threads, so its last bits vary from call to call; the numpy sum below is
    the same expansion, evaluated deterministically (same input, same bytes out).
    """

    path: str
    model: Any
    svm_type: int
    labels: tuple[int, ...]
    sv: NDArray[np.float64]
    coef: NDArray[np.float64]
    rho: float
    kernel: tuple[int, float, int, float]  # kernel_type, gamma, degree, coef0

    @classmethod
    def load(cls, path: Path) -> _Svm:
        from libsvm import svmutil

        if not path.is_file():
            raise ModelFileError(f"BIQI model file not found: {path}")
        with _SVM_LOCK:
            model = svmutil.svm_load_model(str(path))
        if model is None or not model.l:
            raise ModelFileError(f"LIBSVM cannot read model file {path}")
        svs = model.get_SV()
        dim = max(max((max(v) for v in svs if v), default=0), _N_FEATURES)
        sv = np.zeros((len(svs), dim))
        for i, v in enumerate(svs):
            for k, val in v.items():
                if k >= 1:
                    sv[i, k - 1] = val
        coef = np.array([c[0] for c in model.get_sv_coef()], dtype=np.float64)
        p = model.param
        kernel = (int(p.kernel_type), float(p.gamma), int(p.degree), float(p.coef0))
        return cls(
            str(path),
            model,
            model.get_svm_type(),
            tuple(model.get_labels() or ()),
            sv,
            coef,
            float(model.rho[0]),
            kernel,
        )

    def predict(self, v: NDArray[np.float64]) -> float:
        """Regression value ``sum_i coef_i K(v, sv_i) - rho`` (LIBSVM's, in numpy) of a dense
        input (feature ``k`` at ``v[k - 1]``)."""
        if self.svm_type not in (3, 4):  # EPSILON_SVR, NU_SVR
            raise ModelFileError(f"{self.path} is not a LIBSVM regression model")
        sv = self.sv
        if v.size < sv.shape[1]:
            v = np.concatenate([v, np.zeros(sv.shape[1] - v.size)])
        elif v.size > sv.shape[1]:
            sv = np.concatenate([sv, np.zeros((sv.shape[0], v.size - sv.shape[1]))], axis=1)
        kind, gamma, degree, coef0 = self.kernel
        if kind == 0:  # linear
            kv = sv @ v
        elif kind == 1:  # polynomial
            kv = (gamma * (sv @ v) + coef0) ** degree
        elif kind == 2:  # RBF
            d = sv - v
            kv = np.exp(-gamma * np.einsum("ij,ij->i", d, d))
        elif kind == 3:  # sigmoid
            kv = np.tanh(gamma * (sv @ v) + coef0)
        else:
            raise ModelFileError(f"{self.path}: unsupported LIBSVM kernel type {kind}")
        return float(self.coef @ kv - self.rho)

    def probabilities(self, v: NDArray[np.float64]) -> dict[int, float]:
        """LIBSVM's class probabilities (pairwise coupling) of a dense input."""
        from libsvm.svm import libsvm, svm_node

        if not self.model.is_probability_model():
            raise ModelFileError(f"{self.path} is not a probability model (train with -b 1)")
        nodes = node_rows(v[None, :])[0]  # LIBSVM's sparse input
        est = np.zeros(len(self.labels))
        libsvm.svm_predict_probability(
            self.model,
            nodes.ctypes.data_as(ctypes.POINTER(svm_node)),
            est.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
        )
        return {lab: float(p) for lab, p in zip(self.labels, est.tolist(), strict=True)}


def _stack_rbf(regressors: list[_Svm]) -> tuple[NDArray[np.float64], ...] | None:
    """Support vectors, owner (regressor index) and gamma of RBF regressors, stacked (None
    if one is not an RBF regressor): one kernel evaluation for all of them."""
    if any(r.svm_type not in (3, 4) or r.kernel[0] != 2 for r in regressors):
        return None
    dim = max(r.sv.shape[1] for r in regressors)
    sv = np.zeros((sum(r.sv.shape[0] for r in regressors), dim))
    sv[:] = np.concatenate([np.pad(r.sv, ((0, 0), (0, dim - r.sv.shape[1]))) for r in regressors])
    owner = np.concatenate([np.full(r.sv.shape[0], i) for i, r in enumerate(regressors)])
    gamma = np.concatenate([np.full(r.sv.shape[0], r.kernel[1]) for r in regressors])
    return sv, owner, gamma


def _find(directory: Path, name: str, suffix: str) -> Path:
    for cand in (directory / name, directory / f"{name}{suffix}"):
        if cand.is_file():
            return cand
    raise ModelFileError(f"BIQI model directory {directory} has no {name} (or {name}{suffix})")


class BIQIModels:
    """The classifier, the four regressors and their scaling files of one BIQI model set.

    Parameters
    ----------
    directory : str or path
        Directory with LIVE's file names (``model_89``, ``model_89_jp2k``, ...,
        ``range2``, ``range2_jp2k``, ...), optionally suffixed ``.model`` / ``.txt``.

    Raises
    ------
    ModelFileError
        If a file is missing or unreadable, or the classifier is not a 5-class probability
        model with labels 1..5.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        d = Path(directory)
        if not d.is_dir():
            raise ModelFileError(f"BIQI model directory not found: {d}")
        self.directory = d
        self.classifier = _Svm.load(_find(d, "model_89", ".model"))
        self.class_range = _read_range(_find(d, "range2", ".txt"))
        if sorted(self.classifier.labels) != [1, 2, 3, 4, 5]:
            raise ModelFileError(
                f"BIQI classifier {self.classifier.path} must have labels 1..5, "
                f"got {self.classifier.labels}"
            )
        if not self.classifier.model.is_probability_model():
            raise ModelFileError(f"BIQI classifier {self.classifier.path} has no probabilities")
        self.regressors: dict[str, _Svm] = {}
        self.ranges: dict[str, tuple[float, float, dict[int, tuple[float, float]]]] = {}
        for name in ("jp2k", "wn", "blur", "ff"):
            self.regressors[name] = _Svm.load(_find(d, f"model_89_{name}", ".model"))
            self.ranges[name] = _read_range(_find(d, f"range2_{name}", ".txt"))
        #: the classifier's and the regressors' range files, in that order, as arrays
        self.scaling = _range_arrays(
            [self.class_range, *(self.ranges[n] for n in self.regressors)], _N_FEATURES
        )
        self._stacked = _stack_rbf(list(self.regressors.values()))

    def _regress(self, scaled: NDArray[np.float64]) -> dict[str, float]:
        """The regressors' values for their scaled inputs (rows of ``scaled``, in order):
        :meth:`_Svm.predict` of each, with one kernel evaluation if all are RBF."""
        regs = list(self.regressors.values())
        if self._stacked is None:
            return {n: r.predict(v) for (n, r), v in zip(self.regressors.items(), scaled)}
        sv, owner, gamma = self._stacked
        if scaled.shape[1] < sv.shape[1]:
            scaled = np.pad(scaled, ((0, 0), (0, sv.shape[1] - scaled.shape[1])))
        d = sv - scaled[owner.astype(np.intp)]
        kv = np.exp(-gamma * np.einsum("ij,ij->i", d, d))
        out, start = {}, 0
        for name, r in zip(self.regressors, regs, strict=True):
            stop = start + r.sv.shape[0]
            out[name] = float(r.coef @ kv[start:stop] - r.rho)
            start = stop
        return out

    def __repr__(self) -> str:
        return f"BIQIModels({str(self.directory)!r})"


@lru_cache(maxsize=8)
def _models_at(directory: str) -> BIQIModels:
    return BIQIModels(directory)


@atexit.register
def _release_models() -> None:
    """Free the cached LIBSVM models while LIBSVM is still loaded (at interpreter exit its
    module may be torn down first, and each model's destructor then raises)."""
    default_biqi_models.cache_clear()
    _models_at.cache_clear()


@lru_cache(maxsize=1)
def default_biqi_models() -> BIQIModels:
    """The BIQI models shipped with the package (see ``docs/biqi_models.md``), loaded once.

    Examples
    --------
    >>> default_biqi_models().classifier.labels
    (1, 2, 3, 4, 5)
    """
    ref = resources.files("iqa_liveness.quality") / "data" / "biqi"
    with resources.as_file(ref) as p:
        return _models_at(str(p))


def _resolve(models: BIQIModels | str | os.PathLike[str] | None) -> BIQIModels:
    if models is None:
        return default_biqi_models()
    if isinstance(models, BIQIModels):
        return models
    if isinstance(models, (str, os.PathLike)):
        return _models_at(str(Path(models).resolve()))
    raise ConfigurationError(
        f"biqi_models must be a BIQIModels, a directory or None, got {type(models).__name__}"
    )


def _details(
    feats: NDArray[np.float64], jpeg_feats: tuple[float, float, float] | None, m: BIQIModels
) -> dict[str, Any]:
    # biqi.m writes the features with %f and svm-scale reads them
    printed = np.array(("%f " * feats.size % tuple(feats.tolist())).split(), dtype=np.float64)
    scaled = _svm_scale_dense(printed, m.scaling)
    probs_by_label = m.classifier.probabilities(scaled[0])
    regressed = m._regress(scaled[1:])
    probs = {name: probs_by_label[k + 1] for k, name in enumerate(DISTORTIONS)}
    scores: dict[str, float] = {}
    for name in DISTORTIONS:
        if name == "jpeg":
            scores[name] = (
                JQI_TOO_SMALL
                if jpeg_feats is None
                else jqi_from_features(*jpeg_feats, constants=BIQI_JQI_CONSTANTS)
            )
        else:
            scores[name] = regressed[name]
    quality = float(sum(probs[n] * scores[n] for n in DISTORTIONS))
    return {"quality": quality, "probabilities": probs, "scores": scores, "features": feats}


def _jpeg_feats(grey: NDArray[np.float64]) -> tuple[float, float, float] | None:
    return None if min(grey.shape) < 16 else jqi_features(grey)


def biqi_details(
    grey: NDArray[np.floating], models: BIQIModels | str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """BIQI with its parts: ``quality``, ``probabilities`` and ``scores`` per distortion
    (dicts keyed by :data:`DISTORTIONS`) and the 18 ``features``.

    Examples
    --------
    >>> from skimage import data
    >>> d = biqi_details(data.camera().astype(float))
    >>> sorted(d["probabilities"]) == sorted(DISTORTIONS)
    True
    >>> round(sum(d["probabilities"].values()), 6)
    1.0
    """
    img = np.asarray(grey, dtype=np.float64)
    return _details(biqi_features(img), _jpeg_feats(img), _resolve(models))


def biqi(
    grey: NDArray[np.floating], models: BIQIModels | str | os.PathLike[str] | None = None
) -> float:
    """BIQI of a grey image (DMOS-like: lower is better).

    Parameters
    ----------
    grey : ndarray, shape (H, W)
        Grey image in 0..255.
    models : BIQIModels, directory or None
        Model set; ``None`` is the package's own (:func:`default_biqi_models`).

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from skimage import data
    >>> img = data.camera().astype(float)
    >>> noisy = np.clip(img + np.random.default_rng(0).normal(0, 25, img.shape), 0, 255)
    >>> bool(biqi(noisy) > biqi(img))
    True
    """
    return float(biqi_details(grey, models)["quality"])


def ctx_biqi(ctx: QualityContext) -> float:
    """BIQI of ``ctx.I`` with ``ctx.options['biqi_models']`` (default: the package's)."""
    m = _resolve(ctx.options.get("biqi_models"))
    feats = ctx.cached("biqi.features", lambda c: biqi_features(c.I))
    jf = ctx.cached("jpeg.features", lambda c: _jpeg_feats(c.I))
    return float(_details(feats, jf, m)["quality"])
