"""BIQI: Blind Image Quality Index (Moorthy & Bovik 2010), a two-step framework.

1. **Features.** A 3-level ``db9`` wavelet decomposition of the grey image (PyWavelets'
   filters and ``symmetric`` extension = MATLAB's default ``sym``; computed in polyphase
   form with OpenCV, equal to ``pywt.wavedec2`` up to rounding, twice as fast); for each
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


@lru_cache(maxsize=1)
def _filters() -> tuple[NDArray[np.float64], ...]:
    """Even and odd taps of the reversed db9 analysis filters (lowpass, highpass)."""
    w = pywt.Wavelet(_WAVELET)
    lo, hi = np.array(w.dec_lo[::-1]), np.array(w.dec_hi[::-1])
    return lo[0::2], lo[1::2], hi[0::2], hi[1::2]


def _analysis(p: NDArray[np.float64], axis: int, n_out: int) -> list[NDArray[np.float64]]:
    """Lowpass and highpass outputs, decimated by 2 along ``axis``, of a padded signal.

    PyWavelets' ``y[i] = sum_j h[j] x[2i + 1 - j]`` on the extended signal, computed in
    polyphase form: the odd and even samples are correlated with the even and odd taps of
    the reversed filter (two half-length filters on half-length signals, cv2's vectorised
    float64 correlation, no output computed only to be dropped).
    """
    lo_e, lo_o, hi_e, hi_o = _filters()
    if axis == 1:
        odd, even = np.ascontiguousarray(p[:, 1::2]), np.ascontiguousarray(p[:, 2::2])
    else:
        odd, even = p[1::2], p[2::2]
    out: list[NDArray[np.float64]] = []
    for k_e, k_o in ((lo_e, lo_o), (hi_e, hi_o)):
        ke, ko = (k_e[None, :], k_o[None, :]) if axis == 1 else (k_e[:, None], k_o[:, None])
        r = cv2.filter2D(odd, cv2.CV_64F, ke, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)
        r2 = cv2.filter2D(even, cv2.CV_64F, ko, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)
        cut = (slice(None), slice(n_out)) if axis == 1 else (slice(n_out),)
        out.append(np.asarray(r[cut] + r2[cut], dtype=np.float64))
    return out


def _dwt2(x: NDArray[np.float64]) -> tuple[NDArray[np.float64], list[NDArray[np.float64]]]:
    """One level of ``pywt.dwt2(x, 'db9', mode='symmetric')``: approximation and
    (horizontal, vertical, diagonal) details, equal to PyWavelets' up to rounding."""
    taps = 2 * _filters()[0].size
    if min(x.shape) < taps:  # the extension reflects more than once: PyWavelets' own rule
        a, details = pywt.dwt2(x, _WAVELET, mode="symmetric")
        return a, list(details)
    o0, o1 = ((n + taps - 1) // 2 for n in x.shape)
    e = taps - 1  # symmetric extension (edge repeated) = cv2's BORDER_REFLECT
    p = np.asarray(cv2.copyMakeBorder(x, e, e, e, e, cv2.BORDER_REFLECT), dtype=np.float64)
    lo, hi = _analysis(p, 1, o1)
    ll, lh = _analysis(lo, 0, o0)
    hl, hh = _analysis(hi, 0, o0)
    return ll, [lh, hl, hh]


def _wavedec2(img: NDArray[np.float64], levels: int) -> list[list[NDArray[np.float64]]]:
    """Detail subbands of a ``levels``-level db9 decomposition, finest level first."""
    out = []
    a = img
    for _ in range(levels):
        a, details = _dwt2(np.ascontiguousarray(a))
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
