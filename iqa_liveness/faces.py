"""Face detection and the eye-based face crop of the colour-texture method.

Detectors (all return a list of :class:`Face`, most confident first):

* :class:`YuNetDetector` (default): OpenCV's YuNet CNN (``cv2.FaceDetectorYN``) with its five
  landmarks. The ONNX model ships with the package (``iqa_liveness/models``, MIT licence, see
  ``NOTICE.md``); nothing is downloaded. Frames wider than ``max_width`` (320) are shrunk
  (area interpolation) before detection and the results mapped back.
* :class:`HaarDetector`: Viola-Jones cascades from ``cv2.data``; no landmarks, eyes optionally
  from the eye cascade.
* :class:`GivenDetector`: a box and/or eye positions supplied by a database.

The crop (:func:`face_crop_box`, :func:`crop_face`, :func:`extract_face`) is the one of the
authors' code: with ``d`` the distance between the eyes and ``c`` their midpoint, columns
``[c_x - d, c_x + d]`` and rows ``[c_y - d/2, c_y + 3d/2]``: a ``2d x 2d`` square, no rotation.
Without eyes, a square of side ``max(w, h)`` centred on the detection box (recorded as the
``"box"`` fallback). See ``docs/colour_texture.md``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from .errors import ConfigurationError, InvalidImageError, ModelFileError, NoFaceError
from .image import ImageInput, load_image, to_uint8_rgb

__all__ = [
    "Face",
    "FaceRecord",
    "FaceDetector",
    "YuNetDetector",
    "HaarDetector",
    "GivenDetector",
    "get_face_detector",
    "available_face_detectors",
    "select_face",
    "face_crop_box",
    "crop_face",
    "extract_face",
    "YUNET_MODEL_PATH",
]

#: The vendored YuNet model (OpenCV model zoo, 2023mar, MIT licence).
YUNET_MODEL_PATH = Path(__file__).resolve().parent / "models" / "face_detection_yunet_2023mar.onnx"

FaceSelection = Literal["largest", "most_confident"]
OnNoFace = Literal["error", "skip", "whole"]


@dataclass(frozen=True, eq=False)
class Face:
    """One detected (or given) face.

    Attributes
    ----------
    box : (x, y, w, h)
        Box in pixels of the image given to the detector (x, y = top-left corner).
    confidence : float
        Detector score (YuNet: 0..1; Haar: number of merged neighbour detections; given: 1).
    landmarks : ndarray, shape (5, 2), or None
        (x, y) of the right eye, left eye, nose tip, right and left mouth corners (the
        subject's right and left: the right eye is usually on the image's left).
    eyes : ndarray, shape (2, 2), or None
        (x, y) of the right and left eye: the first two landmarks when there are landmarks.
    source : str
        Who found the face (``"yunet"``, ``"haar"``, ``"given"``...): recorded in the
        :class:`FaceRecord` of a crop made from it, also when the face was detected once and
        shared between extractors.
    """

    box: tuple[float, float, float, float]
    confidence: float = 1.0
    landmarks: NDArray[np.float64] | None = None
    eyes: NDArray[np.float64] | None = None
    source: str = "given"

    def __post_init__(self) -> None:
        box = tuple(float(v) for v in self.box)
        if len(box) != 4 or not all(np.isfinite(box)) or box[2] <= 0 or box[3] <= 0:
            raise InvalidImageError(f"a face box must be finite (x, y, w, h), w, h > 0: {box}")
        object.__setattr__(self, "box", box)
        object.__setattr__(self, "confidence", float(self.confidence))
        if self.landmarks is not None:
            lm = np.array(self.landmarks, dtype=np.float64).reshape(5, 2)
            lm.setflags(write=False)
            object.__setattr__(self, "landmarks", lm)
            if self.eyes is None:
                object.__setattr__(self, "eyes", lm[:2])
        if self.eyes is not None:
            eyes = np.array(self.eyes, dtype=np.float64).reshape(2, 2)
            if not np.all(np.isfinite(eyes)):
                raise InvalidImageError("eye positions must be finite")
            eyes.setflags(write=False)
            object.__setattr__(self, "eyes", eyes)

    @property
    def area(self) -> float:
        return self.box[2] * self.box[3]


@dataclass(frozen=True)
class FaceRecord:
    """How the face crop of one image was obtained (kept per sample by the extractors).

    Attributes
    ----------
    detector : str
        Name of the detector (``"yunet"``, ``"haar"``, ``"given"``, ...).
    n_faces : int
        Number of faces the detector returned.
    box, landmarks, eyes, confidence
        Of the selected face (None when no face was used).
    crop : (left, top, side) or None
        The square crop asked for, in image pixels, before any shift (None: whole image).
    fallback : {None, "box", "whole"}
        None: eye-based crop; ``"box"``: square box crop (no eyes); ``"whole"``: no face found,
        the whole image used (``on_no_face="whole"``).
    shifted, padded : bool
        The crop was shifted back inside the image; the crop was larger than the image and
        its missing part filled by replicating the border.
    error, error_type : str or None
        Why no crop was made (``on_no_face="skip"``, or a failure recorded by a batch job),
        and the name of the exception class.
    """

    detector: str
    n_faces: int
    box: tuple[float, float, float, float] | None = None
    landmarks: tuple[tuple[float, float], ...] | None = None
    eyes: tuple[tuple[float, float], ...] | None = None
    confidence: float | None = None
    crop: tuple[int, int, int] | None = None
    fallback: str | None = None
    shifted: bool = False
    padded: bool = False
    error: str | None = None
    error_type: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dictionary (lists for tuples)."""

        def conv(v: Any) -> Any:
            if isinstance(v, tuple):
                return [conv(x) for x in v]
            return v

        return {k: conv(getattr(self, k)) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaceRecord:
        """Inverse of :meth:`to_dict` (unknown keys are an error).

        Examples
        --------
        >>> rec = FaceRecord("yunet", 1, box=(1.0, 2.0, 3.0, 4.0), crop=(0, 1, 5))
        >>> FaceRecord.from_dict(rec.to_dict()) == rec
        True
        """
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigurationError(f"unknown FaceRecord fields: {sorted(unknown)}")

        def conv(v: Any) -> Any:
            if isinstance(v, list):
                return tuple(conv(x) for x in v)
            return v

        return cls(**{k: conv(v) for k, v in data.items()})


class FaceDetector(ABC):
    """Interface of a face detector: ``detect(image) -> list[Face]``, most confident first."""

    #: short name recorded in :class:`FaceRecord`
    name: str = "detector"

    @abstractmethod
    def detect(self, image: ImageInput) -> list[Face]:
        """Faces in an image (RGB or grey array, or a path), most confident first."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


@dataclass
class YuNetDetector(FaceDetector):
    """OpenCV YuNet face detector (``cv2.FaceDetectorYN``) with five landmarks.

    Parameters
    ----------
    score_threshold : float
        Minimum face score (0..1).
    nms_threshold : float
        Non-maximum suppression IoU threshold.
    max_width : int or None
        Frames wider than this are shrunk to it (area interpolation) before detection; boxes
        and landmarks are mapped back to the input's pixels. At 320, YuNet found the face in
        all 3491 NUAA training scenes (640x480) about three times faster than at full size;
        small faces may be missed. None detects at full resolution.
    model_path : str or path, optional
        Another YuNet ONNX file (default: the vendored 2023mar model).

    Notes
    -----
    The OpenCV network object is created on first use and is not shared between threads;
    the detector pickles without it (for joblib workers).

    Examples
    --------
    >>> from skimage import data
    >>> faces = YuNetDetector().detect(data.astronaut())
    >>> len(faces), faces[0].landmarks.shape
    (1, (5, 2))
    """

    score_threshold: float = 0.6
    nms_threshold: float = 0.3
    max_width: int | None = 320
    model_path: str | None = None
    name: str = field(default="yunet", init=False)
    _net: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.score_threshold <= 1 or not 0 <= self.nms_threshold <= 1:
            raise ConfigurationError("score_threshold and nms_threshold must lie in [0, 1]")
        if self.max_width is not None and int(self.max_width) < 16:
            raise ConfigurationError(f"max_width must be >= 16 or None, got {self.max_width!r}")

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_net"] = None
        return state

    def _network(self, size: tuple[int, int]) -> Any:
        if self._net is None:
            path = Path(self.model_path) if self.model_path else YUNET_MODEL_PATH
            if not path.is_file():
                raise ModelFileError(f"YuNet model file not found: {path}")
            try:
                self._net = cv2.FaceDetectorYN.create(
                    str(path), "", size, self.score_threshold, self.nms_threshold, 5000
                )
            except cv2.error as exc:
                raise ModelFileError(f"cannot load the YuNet model {path}: {exc}") from exc
        self._net.setInputSize(size)
        return self._net

    def detect(self, image: ImageInput) -> list[Face]:
        bgr = _bgr(image)
        h, w = bgr.shape[:2]
        scale = 1.0
        if self.max_width is not None and w > self.max_width:
            scale = self.max_width / w
            nw, nh = int(self.max_width), max(1, int(round(h * scale)))
            bgr = cv2.resize(bgr, (nw, nh), interpolation=cv2.INTER_AREA)
            scale = w / nw  # exact back-mapping of the columns
        net = self._network((bgr.shape[1], bgr.shape[0]))
        _, out = net.detect(bgr)
        if out is None:
            return []
        sy = h / bgr.shape[0]
        faces = []
        for row in np.asarray(out, dtype=np.float64):
            x, y, bw, bh = row[:4]
            lm = row[4:14].reshape(5, 2) * np.array([scale, sy])
            box = (x * scale, y * sy, bw * scale, bh * sy)
            if box[2] <= 0 or box[3] <= 0 or not np.all(np.isfinite(row)):
                continue
            faces.append(Face(box=box, confidence=float(row[14]), landmarks=lm, source=self.name))
        faces.sort(key=lambda f: -f.confidence)
        return faces


@dataclass
class HaarDetector(FaceDetector):
    """Viola-Jones face detector with the cascades of ``cv2.data``; no landmarks.

    Parameters
    ----------
    find_eyes : bool
        Look for the eyes with ``haarcascade_eye.xml`` in the upper half of each face; when
        exactly two are found, their centres become the face's ``eyes`` (the one on the
        image's left is the subject's right eye).
    scale_factor, min_neighbors : float, int
        ``detectMultiScale`` parameters.
    min_size : int
        Smallest face side in pixels.

    Examples
    --------
    >>> from skimage import data
    >>> faces = HaarDetector().detect(data.astronaut())
    >>> len(faces) >= 1 and faces[0].landmarks is None
    True
    """

    find_eyes: bool = False
    scale_factor: float = 1.1
    min_neighbors: int = 5
    min_size: int = 30
    name: str = field(default="haar", init=False)
    _cascades: Any = field(default=None, init=False, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_cascades"] = None
        return state

    def _load(self) -> tuple[Any, Any]:
        if self._cascades is None:
            root = Path(cv2.data.haarcascades)  # type: ignore[attr-defined]
            face = cv2.CascadeClassifier(str(root / "haarcascade_frontalface_default.xml"))
            eye = cv2.CascadeClassifier(str(root / "haarcascade_eye.xml"))
            if face.empty() or eye.empty():
                raise ModelFileError(f"cannot load the Haar cascades from {root}")
            self._cascades = (face, eye)
        return self._cascades

    def detect(self, image: ImageInput) -> list[Face]:
        face_cc, eye_cc = self._load()
        grey = cv2.cvtColor(_bgr(image), cv2.COLOR_BGR2GRAY)
        grey = cv2.equalizeHist(grey)
        rects, neighbours = face_cc.detectMultiScale2(
            grey,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(self.min_size, self.min_size),
        )
        faces = []
        for (x, y, w, h), n in zip(np.asarray(rects).reshape(-1, 4), np.ravel(neighbours)):
            eyes = self._eyes(eye_cc, grey, x, y, w, h) if self.find_eyes else None
            faces.append(Face(box=(x, y, w, h), confidence=float(n), eyes=eyes, source=self.name))
        faces.sort(key=lambda f: -f.confidence)
        return faces

    @staticmethod
    def _eyes(cascade: Any, grey: NDArray[Any], x: int, y: int, w: int, h: int) -> Any:
        roi = grey[y : y + h // 2, x : x + w]
        found = cascade.detectMultiScale(
            roi, scaleFactor=1.1, minNeighbors=5, minSize=(max(5, w // 10), max(5, w // 10))
        )
        found = np.asarray(found).reshape(-1, 4)
        if len(found) != 2:
            return None
        centres = found[:, :2] + found[:, 2:] / 2.0 + np.array([x, y])
        return centres[np.argsort(centres[:, 0])]


class GivenDetector(FaceDetector):
    """A face given by a database: a box ``(x, y, w, h)`` and/or eyes ``(rx, ry, lx, ly)``.

    The eyes are the subject's right and left eye (as Replay-Attack, OULU-NPU and 3DMAD give
    them). With eyes only, the box is the eye-based crop square. ``detect`` ignores the image
    content and returns that one face (no face when both are None).

    Examples
    --------
    >>> import numpy as np
    >>> face = GivenDetector(box=(10, 20, 100, 120)).detect(np.zeros((200, 200, 3), np.uint8))[0]
    >>> face.box, face.eyes is None
    ((10.0, 20.0, 100.0, 120.0), True)
    """

    name = "given"

    def __init__(
        self,
        box: tuple[float, float, float, float] | None = None,
        eyes: tuple[float, float, float, float] | None = None,
    ) -> None:
        self.box = box
        self.eyes = eyes

    def face(self) -> Face | None:
        """The given face, or None."""
        if self.box is None and self.eyes is None:
            return None
        eyes = None if self.eyes is None else np.asarray(self.eyes, np.float64).reshape(2, 2)
        box = self.box
        if box is None:
            assert eyes is not None
            left, top, side = _eye_square(eyes)
            box = (left, top, side, side)
        return Face(box=box, confidence=1.0, eyes=eyes)

    def detect(self, image: ImageInput) -> list[Face]:
        face = self.face()
        return [] if face is None else [face]

    def __repr__(self) -> str:
        return f"GivenDetector(box={self.box!r}, eyes={self.eyes!r})"


_DETECTORS: dict[str, Any] = {
    "yunet": YuNetDetector,
    "haar": HaarDetector,
    "haar+eyes": lambda: HaarDetector(find_eyes=True),
}


def _bgr(image: ImageInput) -> NDArray[Any]:
    """Contiguous uint8 BGR, as OpenCV's detectors take it."""
    return np.ascontiguousarray(to_uint8_rgb(image)[:, :, ::-1])


def available_face_detectors() -> tuple[str, ...]:
    """Names accepted by :func:`get_face_detector`."""
    return tuple(_DETECTORS)


def get_face_detector(name: str | FaceDetector = "yunet") -> FaceDetector:
    """A detector by name (``"yunet"``, ``"haar"``, ``"haar+eyes"``); instances pass through.

    Examples
    --------
    >>> get_face_detector("haar").name
    'haar'
    """
    if isinstance(name, FaceDetector):
        return name
    if not isinstance(name, str) or name.lower() not in _DETECTORS:
        known = ", ".join(_DETECTORS)
        raise ConfigurationError(f"unknown face detector {name!r}; known: {known}")
    return _DETECTORS[name.lower()]()


def select_face(faces: list[Face], how: FaceSelection = "largest") -> Face:
    """Pick one face: ``"largest"`` box area (ties: most confident) or ``"most_confident"``."""
    if not faces:
        raise NoFaceError("no face to select from")
    if how == "largest":
        return max(faces, key=lambda f: (f.area, f.confidence))
    if how == "most_confident":
        return max(faces, key=lambda f: (f.confidence, f.area))
    raise ConfigurationError(f"face must be 'largest' or 'most_confident', got {how!r}")


def _eye_distance(eyes: NDArray[np.float64]) -> float:
    (rx, ry), (lx, ly) = eyes
    return float(np.hypot(lx - rx, ly - ry))


def _eye_square(eyes: NDArray[np.float64]) -> tuple[int, int, int]:
    (rx, ry), (lx, ly) = eyes
    d = _eye_distance(eyes)
    if not d >= 1.0:
        raise InvalidImageError(f"the eyes are {d:.2f} pixels apart: no usable eye-based crop")
    cx, cy = (rx + lx) / 2.0, (ry + ly) / 2.0
    side = max(1, int(round(2.0 * d)))
    return int(round(cx - d)), int(round(cy - d / 2.0)), side


def face_crop_box(face: Face) -> tuple[tuple[int, int, int], str | None]:
    """Square crop ``(left, top, side)`` of a face and the fallback used (None or ``"box"``).

    With eyes: ``d = |left eye - right eye|``, ``c`` their midpoint, columns from
    ``round(c_x - d)`` and rows from ``round(c_y - d / 2)``, side ``round(2 d)`` (so rows
    ``[c_y - d/2, c_y + 3d/2]``). Without eyes (or with eyes less than a pixel apart): side
    ``round(max(w, h))`` centred on the box.

    Examples
    --------
    >>> import numpy as np
    >>> face_crop_box(Face(box=(0, 0, 10, 10), eyes=np.array([[40, 50], [60, 50]])))
    ((30, 40, 40), None)
    >>> face_crop_box(Face(box=(10, 20, 30, 40)))
    ((5, 20, 40), 'box')
    """
    if face.eyes is not None and _eye_distance(face.eyes) >= 1.0:
        return _eye_square(face.eyes), None
    x, y, w, h = face.box
    side = max(1, int(round(max(w, h))))
    cx, cy = x + w / 2.0, y + h / 2.0
    return (int(round(cx - side / 2.0)), int(round(cy - side / 2.0)), side), "box"


def crop_face(image: NDArray[Any], crop: tuple[int, int, int]) -> tuple[NDArray[Any], bool, bool]:
    """Cut the square ``crop = (left, top, side)`` out of an image; ``(crop, shifted, padded)``.

    A crop leaving the image is shifted back inside (real pixels rather than invented ones);
    a crop larger than the image along an axis is padded there by replicating the border.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.arange(100).reshape(10, 10)
    >>> out, shifted, padded = crop_face(img, (-2, 3, 4))
    >>> out[0].tolist(), shifted, padded
    ([30, 31, 32, 33], True, False)
    """
    left, top, side = (int(v) for v in crop)
    h, w = image.shape[:2]
    shifted = padded = False
    starts = []
    for start, n in ((top, h), (left, w)):
        if side <= n:
            new = min(max(start, 0), n - side)
            shifted |= new != start
            starts.append((new, 0, 0))
        else:  # larger than the image: centre it, replicate the border
            padded = True
            before = (side - n) // 2
            starts.append((0, before, side - n - before))
    (t, pt, pb), (lft, pl, pr) = starts
    out = image[t : t + min(side, h), lft : lft + min(side, w)]
    if padded:
        pad = [(pt, pb), (pl, pr)] + [(0, 0)] * (image.ndim - 2)
        out = np.pad(out, pad, mode="edge")
    return np.ascontiguousarray(out), shifted, padded


def _record(detector: str, faces: list[Face], face: Face | None, **kw: Any) -> FaceRecord:
    def tup(a: NDArray[np.float64] | None) -> tuple[tuple[float, float], ...] | None:
        return None if a is None else tuple((float(p[0]), float(p[1])) for p in a)

    return FaceRecord(
        detector=detector,
        n_faces=len(faces),
        box=None if face is None else face.box,
        landmarks=None if face is None else tup(face.landmarks),
        eyes=None if face is None else tup(face.eyes),
        confidence=None if face is None else face.confidence,
        **kw,
    )


def extract_face(
    image: ImageInput,
    detector: str | FaceDetector = "yunet",
    *,
    face: FaceSelection | Face = "largest",
    on_no_face: OnNoFace = "error",
) -> tuple[NDArray[Any] | None, FaceRecord]:
    """Detect, select and crop the face of one image: ``(crop, record)``.

    The crop is at the image's own resolution and dtype (RGB or grey, as
    :func:`~iqa_liveness.image.load_image` returns it); callers resize it (the colour-texture
    features convert the colour space first, then resize to 64x64).

    Parameters
    ----------
    image : array or path
        The image (arrays are RGB).
    detector : str or FaceDetector
        See :func:`get_face_detector`.
    face : {"largest", "most_confident"} or Face
        Which face when there are several; or a :class:`Face` known beforehand (for example
        from a database or from a detection shared between extractors): no detection then.
    on_no_face : {"error", "skip", "whole"}
        No face: raise :class:`~iqa_liveness.errors.NoFaceError`, return ``(None, record)``
        with ``record.error`` set, or use the whole image (``record.fallback == "whole"``).

    Examples
    --------
    >>> from skimage import data
    >>> crop, record = extract_face(data.astronaut())
    >>> crop.shape[0] == crop.shape[1], record.fallback, record.n_faces
    (True, None, 1)
    """
    arr = load_image(image)
    if on_no_face not in ("error", "skip", "whole"):
        raise ConfigurationError(f"on_no_face must be error, skip or whole, got {on_no_face!r}")
    if isinstance(face, Face):
        det_name = face.source
        faces = [face]
        chosen: Face | None = face
    else:
        det = get_face_detector(detector)
        det_name = det.name
        faces = det.detect(arr)
        chosen = select_face(faces, face) if faces else None
    if chosen is None:
        if on_no_face == "error":
            raise NoFaceError(f"no face found by the {det_name} detector")
        if on_no_face == "skip":
            message = f"no face found by the {det_name} detector"
            return None, _record(det_name, faces, None, error=message, error_type="NoFaceError")
        return arr, _record(det_name, faces, None, fallback="whole")
    crop_box, fallback = face_crop_box(chosen)
    out, shifted, padded = crop_face(arr, crop_box)
    record = _record(
        det_name, faces, chosen, crop=crop_box, fallback=fallback, shifted=shifted, padded=padded
    )
    return out, record
