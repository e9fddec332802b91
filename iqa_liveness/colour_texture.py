"""Colour-texture features (Boulkenafet, Komulainen & Hadid, ICIP 2015 / IEEE TIFS 2016).

Pipeline per image (as the authors' MATLAB code): detect the face, crop it around the eyes
(:func:`~iqa_liveness.faces.extract_face`), convert the full-resolution crop to each colour
space, resize to 64x64 with MATLAB's ``imresize`` (bicubic, antialiased), compute a histogram
per channel and concatenate. The default, LBP(8, 1) u2 on H, S, V and LPQ(7) on Y, Cb, Cr, gives
3 x 59 + 3 x 256 = 945 values. See ``docs/colour_texture.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator

from ._estimators import ImageTransformerMixin
from ._threads import in_single_blas_thread
from .errors import ConfigurationError, IQALivenessError
from .faces import (
    Face,
    FaceDetector,
    FaceRecord,
    extract_face,
    get_face_detector,
)
from .image import ImageInput, as_image_list, load_image, to_grey
from .texture import (
    coalbp_histogram,
    imresize,
    lbp_histogram,
    lbp_mapping,
    lpq_histogram,
    rgb_to_hsv,
    rgb_to_ycbcr,
)

__all__ = [
    "ColourTextureFeatures",
    "describe_face",
    "COLOUR_SPACES",
    "DESCRIPTORS",
    "PRESETS",
]

#: colour space -> channel names
COLOUR_SPACES: dict[str, tuple[str, ...]] = {
    "HSV": ("H", "S", "V"),
    "YCbCr": ("Y", "Cb", "Cr"),
    "RGB": ("R", "G", "B"),
    "Grey": ("Y",),
}
#: descriptor names
DESCRIPTORS: tuple[str, ...] = ("LBP", "LPQ", "CoALBP")
#: named parameter sets. ``"paper"``: the class defaults, ICIP 2015 / TIFS 2016 (HSV LBP +
#: YCbCr LPQ, 945 values). ``"generalising"``: LPQ on H, S, V, Y, Cb, Cr with square-root
#: (Hellinger) histograms, 1536 values: what held across NUAA capture sessions (the LBP blocks
#: did not; ``docs/colour_texture.md``, "Generalisation across sessions"); the command line's
#: ``colour-texture`` family uses it.
PRESETS: dict[str, dict[str, Any]] = {
    "paper": {"descriptors": ("HSV_LBP", "YCbCr_LPQ"), "power": 1.0},
    "generalising": {"descriptors": ("HSV_LPQ", "YCbCr_LPQ"), "power": 0.5},
}


@dataclass(frozen=True)
class _Settings:
    blocks: tuple[tuple[str, str], ...]  # (space, descriptor)
    size: int
    lbp_points: int
    lbp_radius: float
    lbp_mapping: str
    lbp_matlab_rounding: bool
    lpq_window: int
    lpq_rho: float
    coalbp_scales: tuple[tuple[int, int], ...]
    ycbcr_coefficients: str
    tolerance: float
    power: float

    def length(self, descriptor: str) -> int:
        if descriptor == "LBP":
            return int(lbp_mapping(self.lbp_points, self.lbp_mapping).max()) + 1  # type: ignore[arg-type]
        return 256 if descriptor == "LPQ" else 1024 * len(self.coalbp_scales)

    def names(self) -> list[str]:
        out = []
        for space, desc in self.blocks:
            n = self.length(desc)
            for ch in COLOUR_SPACES[space]:
                out += [f"{space}_{ch}_{desc}_{i}" for i in range(n)]
        return out

    def histogram(self, descriptor: str) -> Callable[[NDArray[Any]], NDArray[np.float64]]:
        if descriptor == "LBP":
            return lambda c: lbp_histogram(
                c,
                self.lbp_points,
                self.lbp_radius,
                self.lbp_mapping,  # type: ignore[arg-type]
                matlab_rounding=self.lbp_matlab_rounding,
                tolerance=self.tolerance,
            )
        if descriptor == "LPQ":
            return lambda c: lpq_histogram(
                c, self.lpq_window, self.lpq_rho, tolerance=self.tolerance
            )
        return lambda c: np.concatenate(
            [coalbp_histogram(c, s, r, tolerance=self.tolerance) for s, r in self.coalbp_scales]
        )


def _coalbp_pairs(scales: Any) -> tuple[tuple[int, int], ...]:
    try:
        pairs = tuple((int(s), int(r)) for s, r in scales)
    except (TypeError, ValueError):
        raise ConfigurationError(
            f"coalbp_scales must be (scale, radius) pairs such as [(1, 2)], got {scales!r}"
        ) from None
    if not pairs:
        raise ConfigurationError("coalbp_scales is empty")
    return pairs


def _parse_blocks(descriptors: Any) -> tuple[tuple[str, str], ...]:
    if isinstance(descriptors, str):
        descriptors = [d for d in descriptors.replace(";", ",").split(",") if d.strip()]
    spaces = {s.lower(): s for s in COLOUR_SPACES}
    spaces["gray"] = "Grey"
    descs = {d.lower(): d for d in DESCRIPTORS}
    blocks: list[tuple[str, str]] = []
    for item in descriptors or ():
        if isinstance(item, (tuple, list)) and len(item) == 2:
            space, desc = str(item[0]), str(item[1])
        elif isinstance(item, str) and "_" in item:
            space, desc = item.strip().rsplit("_", 1)
        else:
            raise ConfigurationError(
                f"descriptor {item!r}: expected 'SPACE_DESCRIPTOR' such as 'HSV_LBP'"
            )
        if space.lower() not in spaces or desc.lower() not in descs:
            raise ConfigurationError(
                f"descriptor {item!r}: colour space must be one of {', '.join(COLOUR_SPACES)} "
                f"and descriptor one of {', '.join(DESCRIPTORS)}"
            )
        block = (spaces[space.lower()], descs[desc.lower()])
        if block in blocks:
            raise ConfigurationError(f"descriptor {item!r} is given twice")
        blocks.append(block)
    if not blocks:
        raise ConfigurationError("descriptors is empty; give e.g. ['HSV_LBP', 'YCbCr_LPQ']")
    return tuple(blocks)


def _convert(crop: NDArray[Any], space: str, settings: _Settings) -> NDArray[Any]:
    """Colour conversion of the full-resolution crop, then resize to size x size."""
    rgb = crop if crop.ndim == 3 else np.repeat(crop[:, :, None], 3, axis=2)
    if space == "HSV":
        conv: NDArray[Any] = rgb_to_hsv(rgb)
    elif space == "YCbCr":
        conv = rgb_to_ycbcr(rgb, coefficients=settings.ycbcr_coefficients)  # type: ignore[arg-type]
    elif space == "RGB":
        conv = rgb
    else:
        conv = to_grey(rgb)[:, :, None]
    return imresize(conv, (settings.size, settings.size))


def _describe(crop: NDArray[Any], settings: _Settings) -> NDArray[np.float64]:
    converted: dict[str, NDArray[Any]] = {}
    parts = []
    for space, desc in settings.blocks:
        if space not in converted:
            out = _convert(crop, space, settings)
            converted[space] = out if out.ndim == 3 else out[:, :, None]
        hist = settings.histogram(desc)
        chans = converted[space]
        for c in range(chans.shape[2]):
            parts.append(hist(chans[:, :, c]))
    out = np.concatenate(parts)
    if settings.power != 1.0:
        out = out**settings.power
    return out


def describe_face(
    crop: ImageInput,
    descriptors: Sequence[str] | str = ("HSV_LBP", "YCbCr_LPQ"),
    **params: Any,
) -> NDArray[np.float64]:
    """Colour-texture vector of one face crop (no detection).

    Same as ``ColourTextureFeatures(descriptors=..., detector="none", **params)`` on one image:
    colour conversion of the crop as it is, resize to ``size`` x ``size``, histograms.

    Examples
    --------
    >>> import numpy as np
    >>> crop = np.random.default_rng(0).integers(0, 256, (80, 80, 3)).astype(np.uint8)
    >>> v = describe_face(crop)
    >>> v.shape, round(float(v.sum()), 6)
    ((945,), 6.0)
    >>> g = describe_face(crop, **PRESETS["generalising"])  # square-root LPQ histograms
    >>> g.shape, bool(np.allclose((g**2).reshape(6, 256).sum(axis=1), 1.0))
    ((1536,), True)
    """
    est = ColourTextureFeatures(descriptors=descriptors, detector="none", **params)
    return est.transform([crop])[0]


class ColourTextureFeatures(ImageTransformerMixin, BaseEstimator):
    """Colour-texture histograms of the face in each image, as a scikit-learn transformer.

    Stateless: :meth:`fit` only validates the parameters, and :meth:`transform` may be called
    without it. One row per image; columns named ``"<space>_<channel>_<descriptor>_<bin>"``
    (``"HSV_H_LBP_0"`` ... ``"YCbCr_Cr_LPQ_255"``) in the order of ``descriptors``, then
    channels, then bins. Each per-channel histogram sums to 1. After :meth:`transform`,
    ``face_records_`` holds one :class:`~iqa_liveness.faces.FaceRecord` per image (box,
    landmarks, crop, fallback used).

    Parameters
    ----------
    descriptors : sequence of str or str
        ``"SPACE_DESCRIPTOR"`` blocks, SPACE in HSV, YCbCr, RGB, Grey and DESCRIPTOR in LBP,
        LPQ, CoALBP (``"HSV_LBP,YCbCr_LPQ"`` also accepted). Default: the ICIP 2015 / TIFS
        2016 combination ``("HSV_LBP", "YCbCr_LPQ")``, 945 values.
    detector : str or FaceDetector
        ``"yunet"`` (default), ``"haar"``, ``"haar+eyes"``, a
        :class:`~iqa_liveness.faces.FaceDetector`, or ``"none"`` when the images already are
        face crops (no detection, the whole image is used).
    face : {"largest", "most_confident"}
        Which face when a detector finds several.
    on_no_face : {"error", "skip", "whole"}
        No face in an image: ``"error"`` raises :class:`~iqa_liveness.errors.NoFaceError`;
        ``"whole"`` describes the whole image (``fallback == "whole"`` in its record);
        ``"skip"`` leaves the image out, which only :meth:`transform_with_records` can do
        (:meth:`transform`, bound to one row per image, raises ``NoFaceError`` then too).
    size : int
        Side of the resized face (64 in the papers).
    lbp_points, lbp_radius, lbp_mapping, lbp_matlab_rounding
        LBP parameters (:func:`~iqa_liveness.texture.lbp_histogram`); ``lbp_matlab_rounding``
        reproduces the 6-/4-decimal rounding of the authors' ``lbp.m``.
    lpq_window, lpq_rho
        LPQ parameters (:func:`~iqa_liveness.texture.lpq_histogram`).
    coalbp_scales : sequence of (scale, radius)
        CoALBP settings (:func:`~iqa_liveness.texture.coalbp_histogram`); several pairs are
        concatenated, each normalised on its own: ``[(1, 2), (2, 4), (4, 8)]`` is the
        multi-scale CoALBP of the 2016 paper (3 x 1024 values per channel).
    ycbcr_coefficients : {"exact", "matlab"}
        BT.601 matrix (:func:`~iqa_liveness.texture.rgb_to_ycbcr`).
    tolerance : float
        Tie tolerance of the descriptors (relative to each channel's range).
    power : float
        Every histogram value ``h`` becomes ``h ** power``: 1 (default) keeps the histograms,
        0.5 gives square-root (Hellinger) histograms, whose Euclidean distances are Hellinger
        distances, so that an RBF or linear SVM compares the histograms as distributions and
        no single dominant bin (the flat-region codes) decides. Same layout and names.
    n_jobs : int, optional
        joblib workers over images (None: 1).

    Examples
    --------
    >>> from skimage import data
    >>> ctf = ColourTextureFeatures()
    >>> X = ctf.fit_transform([data.astronaut()])
    >>> X.shape, ctf.get_feature_names_out()[[0, 177]].tolist()
    ((1, 945), ['HSV_H_LBP_0', 'YCbCr_Y_LPQ_0'])
    >>> ctf.face_records_[0].fallback is None
    True
    """

    def __init__(
        self,
        descriptors: Sequence[str] | str = ("HSV_LBP", "YCbCr_LPQ"),
        detector: str | FaceDetector = "yunet",
        face: str = "largest",
        on_no_face: str = "error",
        size: int = 64,
        lbp_points: int = 8,
        lbp_radius: float = 1,
        lbp_mapping: str = "u2",
        lbp_matlab_rounding: bool = False,
        lpq_window: int = 7,
        lpq_rho: float = 0.9,
        coalbp_scales: Sequence[Sequence[int]] = ((1, 2),),
        ycbcr_coefficients: str = "exact",
        tolerance: float = 1e-9,
        power: float = 1.0,
        n_jobs: int | None = None,
    ) -> None:
        self.descriptors = descriptors
        self.detector = detector
        self.face = face
        self.on_no_face = on_no_face
        self.size = size
        self.lbp_points = lbp_points
        self.lbp_radius = lbp_radius
        self.lbp_mapping = lbp_mapping
        self.lbp_matlab_rounding = lbp_matlab_rounding
        self.lpq_window = lpq_window
        self.lpq_rho = lpq_rho
        self.coalbp_scales = coalbp_scales
        self.ycbcr_coefficients = ycbcr_coefficients
        self.tolerance = tolerance
        self.power = power
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ parameters
    def _settings(self) -> _Settings:
        if isinstance(self.size, bool) or not isinstance(self.size, (int, np.integer)):
            raise ConfigurationError(f"size must be an integer, got {self.size!r}")
        if self.size < 16:
            raise ConfigurationError(f"size must be >= 16, got {self.size}")
        if self.face not in ("largest", "most_confident"):
            raise ConfigurationError(f"face must be 'largest' or 'most_confident': {self.face!r}")
        if self.on_no_face not in ("error", "skip", "whole"):
            raise ConfigurationError(
                f"on_no_face must be error, skip or whole: {self.on_no_face!r}"
            )
        if self.ycbcr_coefficients not in ("exact", "matlab"):
            raise ConfigurationError(
                f"ycbcr_coefficients must be 'exact' or 'matlab': {self.ycbcr_coefficients!r}"
            )
        if self.n_jobs is not None and (
            isinstance(self.n_jobs, bool) or not isinstance(self.n_jobs, (int, np.integer))
        ):
            raise ConfigurationError(f"n_jobs must be an int or None, got {self.n_jobs!r}")
        try:
            power = float(self.power)
        except (TypeError, ValueError):
            raise ConfigurationError(f"power must be a number, got {self.power!r}") from None
        if not (np.isfinite(power) and power > 0):
            raise ConfigurationError(f"power must be finite and > 0, got {self.power!r}")
        settings = _Settings(
            blocks=_parse_blocks(self.descriptors),
            size=int(self.size),
            lbp_points=self.lbp_points,
            lbp_radius=float(self.lbp_radius),
            lbp_mapping=self.lbp_mapping,
            lbp_matlab_rounding=bool(self.lbp_matlab_rounding),
            lpq_window=self.lpq_window,
            lpq_rho=float(self.lpq_rho),
            coalbp_scales=_coalbp_pairs(self.coalbp_scales),
            ycbcr_coefficients=self.ycbcr_coefficients,
            tolerance=float(self.tolerance),
            power=power,
        )
        key = repr(settings)
        if getattr(self, "_checked_settings", None) != key:
            # run every descriptor once on a blank face: bad parameters fail here, early
            try:
                _describe(np.zeros((settings.size, settings.size, 3), np.uint8), settings)
            except IQALivenessError as exc:
                raise ConfigurationError(
                    f"the descriptor parameters do not fit a {settings.size}x{settings.size} "
                    f"face: {exc}"
                ) from exc
            self._checked_settings = key
        return settings

    def _detector(self) -> FaceDetector | None:
        if self.detector is None or (
            isinstance(self.detector, str) and self.detector.lower() == "none"
        ):
            return None
        if isinstance(self.detector, FaceDetector):
            return self.detector
        # a named detector is built once per transformer (loading a network takes ~0.1 s)
        cached = getattr(self, "_detector_cache", None)
        if cached is None or cached[0] != self.detector:
            cached = (self.detector, get_face_detector(self.detector))
            self._detector_cache = cached
        return cached[1]

    def fit(self, X: Any = None, y: Any = None) -> ColourTextureFeatures:
        """Validate the parameters; return ``self`` (nothing is learnt from ``X``)."""
        settings = self._settings()
        self._detector()
        names = settings.names()
        self.feature_names_out_ = np.asarray(names, dtype=object)
        self.n_features_out_ = len(names)
        return self

    def get_feature_names_out(self, input_features: Any = None) -> NDArray[np.object_]:
        """Names of the output columns, ``"<space>_<channel>_<descriptor>_<bin>"``."""
        return np.asarray(self._settings().names(), dtype=object)

    # ------------------------------------------------------------------ transform
    def transform_with_records(
        self, X: Any, faces: Sequence[Face | None] | None = None
    ) -> tuple[NDArray[np.float64], list[FaceRecord], NDArray[np.bool_]]:
        """Features of the images that could be described, with a record for every image.

        Never raises for a problem of one image (no face, unreadable file, image too small):
        that image gets ``ok_mask[i] = False`` and ``records[i].error`` says why, whatever
        ``on_no_face`` (``"whole"`` still describes the whole image).

        Parameters
        ----------
        X : sequence of images
            RGB or grey arrays or paths; also a stacked array ``(n, H, W[, 3])``.
        faces : sequence of Face or None, optional
            Faces known beforehand (from a database, or a detection shared between
            extractors), aligned with X; None entries are detected.

        Returns
        -------
        features : ndarray, shape (ok_mask.sum(), n_features)
            Rows of the images with ``ok_mask`` True, in order; never NaN.
        records : list of FaceRecord, one per image
        ok_mask : ndarray of bool, shape (n_images,)
        """
        settings = self._settings()
        detector = self._detector()
        images = as_image_list(X)
        given = _check_faces(faces, len(images))
        jobs = [(img, given[i]) for i, img in enumerate(images)]
        n_jobs = 1 if self.n_jobs is None else int(self.n_jobs)
        if n_jobs == 1 or len(jobs) <= 1:
            results = [_one(*job, detector, self.face, self.on_no_face, settings) for job in jobs]
        else:
            from joblib import Parallel, delayed

            results = Parallel(n_jobs=n_jobs)(
                delayed(_one)(*job, detector, self.face, self.on_no_face, settings) for job in jobs
            )
        n_features = len(settings.names())
        rows = [row for row, _ in results if row is not None]
        records = [rec for _, rec in results]
        ok = np.array([row is not None for row, _ in results], dtype=bool)
        out = np.vstack(rows) if rows else np.zeros((0, n_features))
        self.face_records_ = records
        return out, records, ok

    def transform(self, X: Any, faces: Sequence[Face | None] | None = None) -> NDArray[np.float64]:
        """Colour-texture features, one row per image.

        Parameters
        ----------
        X : sequence of images
            RGB or grey arrays (uint8, uint16 or float 0..1) or paths; also a stacked array
            ``(n, H, W)`` or ``(n, H, W, 3)``. Grey images are replicated to R = G = B.
        faces : sequence of Face or None, optional
            See :meth:`transform_with_records`.

        Returns
        -------
        ndarray, shape (n_images, n_features), float64

        Raises
        ------
        NoFaceError
            No face in an image (``on_no_face`` "error" or "skip"); the message starts with
            the image's index.
        InvalidImageError, ImageReadError, ImageTooSmallError
            For a bad image, with its index.
        """
        out, records, ok = self.transform_with_records(X, faces)
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            message = f"image {i}: {records[i].error}"
            exc_type = _ERRORS.get(records[i].error_type or "", IQALivenessError)
            raise exc_type(message)
        return out



def _error_types() -> dict[str, type[IQALivenessError]]:
    from . import errors

    return {
        name: obj
        for name, obj in vars(errors).items()
        if isinstance(obj, type) and issubclass(obj, IQALivenessError)
    }


_ERRORS = _error_types()


def _check_faces(faces: Sequence[Face | None] | None, n: int) -> list[Face | None]:
    if faces is None:
        return [None] * n
    out = list(faces)
    if len(out) != n:
        raise ConfigurationError(f"faces has {len(out)} entries for {n} images")
    for f in out:
        if f is not None and not isinstance(f, Face):
            raise ConfigurationError(f"faces entries must be Face or None, got {type(f).__name__}")
    return out


@in_single_blas_thread
def _one(
    image: Any,
    face: Face | None,
    detector: FaceDetector | None,
    select: str,
    on_no_face: str,
    settings: _Settings,
) -> tuple[NDArray[np.float64] | None, FaceRecord]:
    """Describe one image; per-image failures become a record with ``error`` set."""
    if face is not None:
        name = face.source
    else:
        name = "none" if detector is None else detector.name
    try:
        crop: NDArray[Any] | None
        if face is None and detector is None:
            crop = load_image(image)
            record = FaceRecord(detector="none", n_faces=0, fallback="whole")
        else:
            crop, record = extract_face(
                image,
                detector if detector is not None else "yunet",
                face=face if face is not None else select,  # type: ignore[arg-type]
                on_no_face="skip" if on_no_face == "error" else on_no_face,  # type: ignore[arg-type]
            )
        if crop is None:
            return None, record
        return _describe(crop, settings), record
    except ConfigurationError:
        raise
    except IQALivenessError as exc:
        failed = FaceRecord(detector=name, n_faces=0, error=str(exc), error_type=type(exc).__name__)
        return None, failed
