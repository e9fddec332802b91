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
_GAM_GRID: NDArray[np.float64] = 0.2 + 0.001 * np.arange(9801.0)  # MATLAB 0.2:0.001:10


@lru_cache(maxsize=1)
def _ggd_table() -> NDArray[np.float64]:
    g = _GAM_GRID
    r: NDArray[np.float64] = _gamma(1.0 / g) * _gamma(3.0 / g) / _gamma(2.0 / g) ** 2
    if not np.all(np.diff(r) < 0):  # pragma: no cover - property of the Gamma function
        raise AssertionError("GGD ratio table is not decreasing")
    return r


def _ggd_shape(rho: float) -> float:
    """Grid value minimising ``|rho - r(g)|`` (first on ties; 0.2 for NaN, as MATLAB)."""
    if not np.isfinite(rho):
        return float(_GAM_GRID[0])
    r = _ggd_table()[::-1]  # increasing
    n = r.size
    j = int(np.clip(np.searchsorted(r, rho), 1, n - 1))
    # candidates in original (decreasing) order: index n-1-j (smaller r) and n-j (larger)
    lo, hi = abs(rho - r[j - 1]), abs(rho - r[j])
    i_lo, i_hi = n - j, n - 1 - j  # original indices of r[j-1], r[j]
    if hi < lo or (hi == lo and i_hi < i_lo):
        return float(_GAM_GRID[i_hi])
    return float(_GAM_GRID[i_lo])


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


def _windows(a: NDArray[np.float64], axis: int, count: int) -> NDArray[np.float64]:
    """``count`` windows of ``K`` samples along ``axis``, from sample 1 in steps of ``2b``.

    A read-only strided view: (count, rows, K) for axis 1, (count, K, columns) for axis 0.
    """
    k = 2 * _BLOCK + _TAPS - 2
    s0, s1 = a.strides
    if axis == 1:
        shape, strides = (count, a.shape[0], k), (2 * _BLOCK * s1, s0, s1)
        start = a[:, 1:]
    else:
        shape, strides = (count, k, a.shape[1]), (2 * _BLOCK * s0, s0, s1)
        start = a[1:]
    return np.lib.stride_tricks.as_strided(start, shape, strides, writeable=False)


def _dwt2(x: NDArray[np.float64]) -> tuple[NDArray[np.float64], list[NDArray[np.float64]]]:
    """One level of ``pywt.dwt2(x, 'db9', mode='symmetric')``: approximation and
    (horizontal, vertical, diagonal) details, equal to PyWavelets' up to rounding.

    The filtering and decimation of an axis is a banded matrix product, computed by blocks
    of ``b`` outputs as dense products (:func:`_analysis_matrices`; 24 multiply-adds per
    output instead of 18, at about three times the rate of a float64 correlation). Rows:
    the column windows of the padded image times ``M`` give, per block, ``b`` lowpass and
    ``b`` highpass columns; one ``cv2.transpose`` of ``b``-double elements orders them as
    ``[lo | hi]``. Columns: the row windows of ``[lo | hi]`` times the low and the high
    matrix give ``[ll | hl]`` and ``[lh | hh]``; the subbands are views of these.
    """
    if min(x.shape) < _TAPS:  # the extension reflects more than once: PyWavelets' own rule
        a, details = pywt.dwt2(x, _WAVELET, mode="symmetric")
        return a, list(details)
    b, e = _BLOCK, _TAPS - 1  # symmetric extension (edge repeated) = cv2's BORDER_REFLECT
    m_rows, m_lo, m_hi = _analysis_matrices()
    o0, o1 = ((n + e) // 2 for n in x.shape)  # output sizes
    nb0, nb1 = -(-o0 // b), -(-o1 // b)  # blocks; the outputs of a last partial one dropped
    # samples the windows read: 1 + 2b nb + 16 (up to 2b - 2 beyond the extension: garbage
    # that only reaches the dropped outputs)
    x0, x1 = (max(0, 2 * b * nb + e - (n + 2 * e)) for nb, n in zip((nb0, nb1), x.shape))
    p = np.asarray(cv2.copyMakeBorder(x, e, e + x0, e, e + x1, cv2.BORDER_REFLECT), np.float64)
    rows = p.shape[0]
    blocks = np.matmul(_windows(p, 1, nb1), m_rows)  # (nb1, rows, 2b): [lo_b | hi_b]
    lohi = np.asarray(cv2.transpose(blocks.reshape(nb1, 2 * rows, b))).reshape(rows, -1)
    win = _windows(lohi, 0, nb0)
    out = np.empty((2, nb0 * b, lohi.shape[1]))
    np.matmul(m_lo, win, out=out[0].reshape(nb0, b, -1))
    np.matmul(m_hi, win, out=out[1].reshape(nb0, b, -1))
    h = nb1 * b  # first highpass column
    ll, hl = out[0, :o0, :o1], out[0, :o0, h : h + o1]
    lh, hh = out[1, :o0, :o1], out[1, :o0, h : h + o1]
    return ll, [lh, hl, hh]


def _wavedec2(img: NDArray[np.float64], levels: int) -> list[list[NDArray[np.float64]]]:
    """Detail subbands of a ``levels``-level db9 decomposition, finest level first."""
    out = []
    a = img
    for _ in range(levels):
        a, details = _dwt2(a)
        out.append(details)
    return out


def _subband_stats(band: NDArray[np.float64]) -> tuple[float, float]:
    x = band.ravel()
    mu = x.mean()
    c = x - mu
    var = float(np.dot(c, c)) / x.size
    e = float(np.abs(c).sum()) / x.size
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


def _svm_scale(
    values: NDArray[np.float64], scaling: tuple[float, float, dict[int, tuple[float, float]]]
) -> dict[int, float]:
    """``svm-scale -r``: linear map to [lower, upper], printed with ``%g`` (6 digits)."""
    lower, upper, ranges = scaling
    out: dict[int, float] = {}
    for k, v in enumerate(values, start=1):
        if k not in ranges:
            continue
        lo, hi = ranges[k]
        if hi == lo:  # single-valued attribute: svm-scale drops it
            continue
        if v == lo:
            s = lower
        elif v == hi:
            s = upper
        else:
            s = lower + (upper - lower) * (v - lo) / (hi - lo)
        s = float(f"{s:g}")
        if s != 0:
            out[k] = s
    return out


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
        dim = max((max(v) for v in svs if v), default=0)
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

    def predict(self, x: dict[int, float]) -> float:
        """Regression value ``sum_i coef_i K(x, sv_i) - rho`` (LIBSVM's, in numpy)."""
        if self.svm_type not in (3, 4):  # EPSILON_SVR, NU_SVR
            raise ModelFileError(f"{self.path} is not a LIBSVM regression model")
        dim = max([self.sv.shape[1], *x.keys()]) if x else self.sv.shape[1]
        v = np.zeros(dim)
        for k, val in x.items():
            v[k - 1] = val
        sv = np.zeros((self.sv.shape[0], dim))
        sv[:, : self.sv.shape[1]] = self.sv
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

    def probabilities(self, x: dict[int, float]) -> dict[int, float]:
        from libsvm.svm import c_double, gen_svm_nodearray, libsvm

        if not self.model.is_probability_model():
            raise ModelFileError(f"{self.path} is not a probability model (train with -b 1)")
        nodes, _ = gen_svm_nodearray(x)
        est = (c_double * len(self.labels))()
        libsvm.svm_predict_probability(self.model, nodes, est)
        return {lab: float(est[i]) for i, lab in enumerate(self.labels)}


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

    def __repr__(self) -> str:
        return f"BIQIModels({str(self.directory)!r})"


@lru_cache(maxsize=8)
def _models_at(directory: str) -> BIQIModels:
    return BIQIModels(directory)


def default_biqi_models() -> BIQIModels:
    """The BIQI models shipped with the package (see ``docs/biqi_models.md``).

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
    printed = np.array([float(f"{v:f}") for v in feats])  # biqi.m writes them with %f
    probs_by_label = m.classifier.probabilities(_svm_scale(printed, m.class_range))
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
            scores[name] = m.regressors[name].predict(_svm_scale(printed, m.ranges[name]))
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
