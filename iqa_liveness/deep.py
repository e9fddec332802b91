"""Deep liveness tests: any ONNX image classifier run through OpenCV's DNN module.

A deep test is described by a JSON *sidecar* (format ``iqa-liveness/onnx-test``, version 1)
that says everything needed to feed the network the way it was trained, so no deep-learning
framework is needed at run time::

    {
      "format": "iqa-liveness/onnx-test", "version": 1,
      "name": "minifasnet",
      "models": [{"file": "2.7_80x80_MiniFASNetV2.onnx", "crop_scale": 2.7, "weight": 1.0},
                 {"file": "4_0_0_80x80_MiniFASNetV1SE.onnx", "crop_scale": 4.0, "weight": 1.0}],
      "input": {"width": 80, "height": 80, "layout": "NCHW", "channel_order": "BGR",
                "value_scale": 1.0, "mean": [0, 0, 0], "std": [1, 1, 1]},
      "output": {"softmax": true, "bona_fide_indices": [1]},
      "combine": "weighted_mean",
      "box_mapping": {"dx": 0.0, "dy": 0.0, "sw": 1.0, "sh": 1.0}
    }

Pre-processing of one face, per model:

1. **Box mapping** (from the project's detector boxes to the boxes the model was trained on):
   with the detector box centre ``(cx, cy)`` and size ``(w, h)``, the mapped box has centre
   ``(cx + dx w, cy + dy h)`` and size ``(sw w, sh h)``.
2. **Crop** (:func:`crop_box`): ``s = min(crop_scale, (H-1)/h, (W-1)/w)``; a box ``s w`` by
   ``s h`` around the box centre; where it leaves the image it is shifted back inside (left and
   top first, then right and bottom); corners truncated to int; pixels
   ``[top..bottom] x [left..right]`` inclusive; resized to the input size with bilinear
   ``cv2.resize``.
3. **Tensor**: channels in ``channel_order`` (images inside the package are RGB), values
   ``(x * value_scale - mean) / std`` per channel, ``layout`` NCHW or NHWC, float32.
4. **Output**: softmax over the logits when ``softmax`` is true; the model's bona fide score
   is the sum of the entries at ``bona_fide_indices``.
5. **Combination** of several models: ``weighted_mean`` (weights from ``weight``), ``mean``,
   ``min`` or ``max`` of the per-model scores. Higher = more bona fide.

A sidecar is validated on load; every problem is a :class:`~iqa_liveness.errors.SidecarError`
naming the field.

:class:`OnnxLivenessTest` scores one face box; :class:`DeepFeatures` is the scikit-learn
transformer for feature stores and pipelines (per-model and combined scores, faces detected or
given, so one detection per image can be shared with the other extractors). Deep tests are
never retrained: :mod:`iqa_liveness.adapt` fuses their scores with the classical tests.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator

from ._estimators import ImageTransformerMixin
from .errors import (
    ConfigurationError,
    InvalidImageError,
    IQALivenessError,
    ModelFileError,
    NoFaceError,
    SidecarError,
)
from .faces import Face, FaceDetector, FaceRecord, get_face_detector, select_face
from .image import as_image_list, to_uint8_rgb

__all__ = [
    "SIDECAR_FORMAT",
    "SIDECAR_VERSION",
    "BoxMapping",
    "OnnxModelSpec",
    "OnnxTestSpec",
    "OnnxLivenessTest",
    "parse_sidecar",
    "load_sidecar",
    "resolve_onnx_test",
    "crop_box",
    "crop_patch",
    "list_presets",
    "DeepFeatures",
]

SIDECAR_FORMAT = "iqa-liveness/onnx-test"
SIDECAR_VERSION = 1
_COMBINE = ("weighted_mean", "mean", "min", "max")


@dataclass(frozen=True)
class BoxMapping:
    """Affine map of a detector box to the box a model was trained on (see module doc)."""

    dx: float = 0.0
    dy: float = 0.0
    sw: float = 1.0
    sh: float = 1.0

    def apply(self, box: Sequence[float]) -> tuple[float, float, float, float]:
        """Map ``(x, y, w, h)``.

        Examples
        --------
        >>> BoxMapping(dx=0.1, dy=0.0, sw=1.2, sh=1.0).apply((10, 10, 100, 50))
        (10.0, 10.0, 120.0, 50.0)
        """
        x, y, w, h = (float(v) for v in box)
        cx, cy = x + w / 2 + self.dx * w, y + h / 2 + self.dy * h
        nw, nh = self.sw * w, self.sh * h
        return (cx - nw / 2, cy - nh / 2, nw, nh)


@dataclass(frozen=True)
class OnnxModelSpec:
    """One network of a deep test."""

    path: Path
    crop_scale: float
    weight: float = 1.0


@dataclass(frozen=True)
class OnnxTestSpec:
    """A validated sidecar."""

    name: str
    models: tuple[OnnxModelSpec, ...]
    width: int
    height: int
    layout: str = "NCHW"
    channel_order: str = "BGR"
    value_scale: float = 1.0
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    softmax: bool = True
    bona_fide_indices: tuple[int, ...] = (1,)
    combine: str = "weighted_mean"
    box_mapping: BoxMapping = field(default_factory=BoxMapping)
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The sidecar as JSON-ready data (model paths as given)."""
        return {
            "format": SIDECAR_FORMAT,
            "version": SIDECAR_VERSION,
            "name": self.name,
            "models": [
                {"file": str(m.path), "crop_scale": m.crop_scale, "weight": m.weight}
                for m in self.models
            ],
            "input": {
                "width": self.width,
                "height": self.height,
                "layout": self.layout,
                "channel_order": self.channel_order,
                "value_scale": self.value_scale,
                "mean": list(self.mean),
                "std": list(self.std),
            },
            "output": {"softmax": self.softmax, "bona_fide_indices": list(self.bona_fide_indices)},
            "combine": self.combine,
            "box_mapping": {
                "dx": self.box_mapping.dx,
                "dy": self.box_mapping.dy,
                "sw": self.box_mapping.sw,
                "sh": self.box_mapping.sh,
            },
        }


def _need(obj: Mapping[str, Any], key: str, where: str) -> Any:
    if not isinstance(obj, Mapping):
        raise SidecarError(f"{where} must be a JSON object")
    if key not in obj:
        raise SidecarError(f"{where}: missing field {key!r}")
    return obj[key]


def _number(value: Any, where: str, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SidecarError(f"{where} must be a finite number, got {value!r}")
    if positive and value <= 0:
        raise SidecarError(f"{where} must be > 0, got {value!r}")
    return float(value)


def _triple(value: Any, where: str, *, positive: bool = False) -> tuple[float, float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise SidecarError(f"{where} must be a list of 3 numbers, got {value!r}")
    a, b, c = (_number(v, f"{where}[{i}]", positive=positive) for i, v in enumerate(value))
    return (a, b, c)


def _choice(value: Any, choices: Sequence[str], where: str) -> str:
    if value not in choices:
        raise SidecarError(f"{where} must be one of {', '.join(choices)}; got {value!r}")
    return str(value)


def parse_sidecar(
    data: Mapping[str, Any],
    base_dir: str | os.PathLike[str] | None = None,
    *,
    check_files: bool = True,
) -> OnnxTestSpec:
    """Validate sidecar data and return an :class:`OnnxTestSpec`.

    Model ``file`` entries are resolved against ``base_dir``. Every problem raises
    :class:`~iqa_liveness.errors.SidecarError` naming the field.

    Examples
    --------
    >>> spec = parse_sidecar({"format": "iqa-liveness/onnx-test", "version": 1, "name": "t",
    ...     "models": [{"file": "m.onnx", "crop_scale": 2.0}],
    ...     "input": {"width": 32, "height": 32},
    ...     "output": {"softmax": True, "bona_fide_indices": [1]}}, check_files=False)
    >>> spec.width, spec.models[0].crop_scale, spec.combine
    (32, 2.0, 'weighted_mean')
    """
    if not isinstance(data, Mapping):
        raise SidecarError("a sidecar must be a JSON object")
    if data.get("format") != SIDECAR_FORMAT:
        raise SidecarError(f"'format' must be {SIDECAR_FORMAT!r}, got {data.get('format')!r}")
    if data.get("version") != SIDECAR_VERSION:
        raise SidecarError(
            f"unsupported sidecar version {data.get('version')!r} (this package reads "
            f"version {SIDECAR_VERSION})"
        )
    name = _need(data, "name", "sidecar")
    if not isinstance(name, str) or not name:
        raise SidecarError("'name' must be a non-empty string")
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    raw_models = _need(data, "models", "sidecar")
    if not isinstance(raw_models, list) or not raw_models:
        raise SidecarError("'models' must be a non-empty list")
    models = []
    for i, m in enumerate(raw_models):
        where = f"models[{i}]"
        file = _need(m, "file", where)
        if not isinstance(file, str) or not file:
            raise SidecarError(f"{where}.file must be a non-empty string")
        path = Path(file) if Path(file).is_absolute() else base / file
        if check_files and not path.is_file():
            raise SidecarError(f"{where}.file: model file not found: {path}")
        scale = _number(_need(m, "crop_scale", where), f"{where}.crop_scale", positive=True)
        weight = _number(m.get("weight", 1.0), f"{where}.weight")
        if weight < 0:
            raise SidecarError(f"{where}.weight must be >= 0, got {weight}")
        models.append(OnnxModelSpec(path=path, crop_scale=scale, weight=weight))
    inp = _need(data, "input", "sidecar")
    width = _need(inp, "width", "input")
    height = _need(inp, "height", "input")
    for key, v in (("width", width), ("height", height)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise SidecarError(f"input.{key} must be a positive integer, got {v!r}")
    out = _need(data, "output", "sidecar")
    softmax = _need(out, "softmax", "output")
    if not isinstance(softmax, bool):
        raise SidecarError(f"output.softmax must be true or false, got {softmax!r}")
    idx = _need(out, "bona_fide_indices", "output")
    if (
        not isinstance(idx, list)
        or not idx
        or any(isinstance(i, bool) or not isinstance(i, int) or i < 0 for i in idx)
        or len(set(idx)) != len(idx)
    ):
        raise SidecarError(
            "output.bona_fide_indices must be a non-empty list of distinct indices >= 0, "
            f"got {idx!r}"
        )
    bm = data.get("box_mapping", {})
    mapping = BoxMapping(
        dx=_number(bm.get("dx", 0.0), "box_mapping.dx"),
        dy=_number(bm.get("dy", 0.0), "box_mapping.dy"),
        sw=_number(bm.get("sw", 1.0), "box_mapping.sw", positive=True),
        sh=_number(bm.get("sh", 1.0), "box_mapping.sh", positive=True),
    )
    return OnnxTestSpec(
        name=name,
        models=tuple(models),
        width=width,
        height=height,
        layout=_choice(inp.get("layout", "NCHW"), ("NCHW", "NHWC"), "input.layout"),
        channel_order=_choice(
            inp.get("channel_order", "RGB"), ("RGB", "BGR"), "input.channel_order"
        ),
        value_scale=_number(inp.get("value_scale", 1.0), "input.value_scale", positive=True),
        mean=_triple(inp.get("mean", [0, 0, 0]), "input.mean"),
        std=_triple(inp.get("std", [1, 1, 1]), "input.std", positive=True),
        softmax=softmax,
        bona_fide_indices=tuple(idx),
        combine=_choice(data.get("combine", "weighted_mean"), _COMBINE, "combine"),
        box_mapping=mapping,
        source=str(data.get("source", "")),
    )


def load_sidecar(
    path: str | os.PathLike[str], model_dir: str | os.PathLike[str] | None = None
) -> OnnxTestSpec:
    """Read and validate a sidecar file; model files are looked up in ``model_dir`` (default:
    the sidecar's folder)."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SidecarError(f"sidecar file not found: {p}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SidecarError(f"sidecar {p} is not valid JSON: {exc}") from None
    return parse_sidecar(data, model_dir if model_dir is not None else p.parent)


def list_presets() -> list[str]:
    """Names of the sidecars that ship with the package (weights not included)."""
    folder = resources.files("iqa_liveness") / "presets"
    return sorted(f.name[: -len(".json")] for f in folder.iterdir() if f.name.endswith(".json"))


def resolve_onnx_test(spec: str) -> OnnxTestSpec:
    """Resolve ``"PRESET@DIR"`` (a shipped sidecar, models in DIR) or ``"PATH.json"``.

    ``onnx=`` prefixes are accepted, as on the command line (``onnx=minifasnet@DIR``).
    """
    if spec.startswith("onnx="):
        spec = spec[len("onnx=") :]
    if "@" in spec and not spec.endswith(".json"):
        preset, _, model_dir = spec.partition("@")
        if preset not in list_presets():
            raise SidecarError(
                f"unknown preset {preset!r}; shipped presets: {', '.join(list_presets())}"
            )
        text = (resources.files("iqa_liveness") / "presets" / f"{preset}.json").read_text("utf-8")
        return parse_sidecar(json.loads(text), model_dir)
    return load_sidecar(spec)


def crop_box(
    image_shape: Sequence[int], box: Sequence[float], scale: float
) -> tuple[int, int, int, int]:
    """Enlarged crop box ``(left, top, right, bottom)``, inclusive, inside the image.

    ``s = min(scale, (H-1)/h, (W-1)/w)``; the ``s w`` by ``s h`` box around the centre of
    ``box = (x, y, w, h)`` is shifted back inside the image (left/top first, then
    right/bottom) and its corners truncated to int.

    Examples
    --------
    >>> crop_box((480, 640), (300, 10, 100, 100), 2.0)
    (250, 0, 450, 200)
    """
    H, W = int(image_shape[0]), int(image_shape[1])
    x, y, w, h = (float(v) for v in box)
    if w <= 0 or h <= 0:
        raise SidecarError(f"face box must have positive size, got {tuple(box)}")
    s = min(scale, (H - 1) / h, (W - 1) / w)
    nw, nh = w * s, h * s
    cx, cy = x + w / 2, y + h / 2
    left, top, right, bottom = cx - nw / 2, cy - nh / 2, cx + nw / 2, cy + nh / 2
    if left < 0:
        right -= left
        left = 0
    if top < 0:
        bottom -= top
        top = 0
    if right > W - 1:
        left -= right - W + 1
        right = W - 1
    if bottom > H - 1:
        top -= bottom - H + 1
        bottom = H - 1
    return int(left), int(top), int(right), int(bottom)


def crop_patch(
    image: NDArray[np.uint8], box: Sequence[float], scale: float, size: tuple[int, int]
) -> NDArray[np.uint8]:
    """The :func:`crop_box` region of ``image`` resized (bilinear) to ``size = (width, height)``."""
    left, top, right, bottom = crop_box(image.shape, box, scale)
    region = image[top : bottom + 1, left : right + 1]
    out = np.asarray(cv2.resize(region, size, interpolation=cv2.INTER_LINEAR), dtype=np.uint8)
    return out


def _softmax(z: NDArray[np.float64]) -> NDArray[np.float64]:
    e = np.exp(z - z.max())
    return e / e.sum()


class OnnxLivenessTest:
    """Run the networks of a sidecar on face boxes with ``cv2.dnn``.

    Parameters
    ----------
    spec : OnnxTestSpec or str
        A validated sidecar, or a string for :func:`resolve_onnx_test`
        (``"minifasnet@DIR"``, ``"path/to/sidecar.json"``).

    Notes
    -----
    OpenCV networks cannot be pickled; a pickled test reloads its networks on first use, so it
    works with joblib worker processes.
    """

    def __init__(self, spec: OnnxTestSpec | str) -> None:
        self.spec = resolve_onnx_test(spec) if isinstance(spec, str) else spec
        self._nets: list[Any] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"spec": self.spec, "_nets": None}

    @property
    def nets(self) -> list[Any]:
        if self._nets is None:
            nets = []
            for m in self.spec.models:
                try:
                    nets.append(cv2.dnn.readNetFromONNX(str(m.path)))
                except cv2.error as exc:
                    raise ModelFileError(f"OpenCV cannot load ONNX model {m.path}: {exc}") from None
            self._nets = nets
        return self._nets

    def feature_names(self) -> list[str]:
        """One per-model score then the combined score."""
        per = [f"{self.spec.name}_{i}" for i in range(len(self.spec.models))]
        return [*per, self.spec.name]

    def patches(
        self, image_rgb: NDArray[np.uint8], box: Sequence[float], *, map_box: bool = True
    ) -> list[NDArray[np.uint8]]:
        """The model-ready crops (in the sidecar's channel order) of one face, per model.

        ``map_box=False`` skips the sidecar's box mapping, for boxes that already come from the
        detector the model was trained with.
        """
        img = image_rgb if self.spec.channel_order == "RGB" else image_rgb[:, :, ::-1]
        mapped = self.spec.box_mapping.apply(box) if map_box else tuple(box)
        size = (self.spec.width, self.spec.height)
        return [crop_patch(img, mapped, m.crop_scale, size) for m in self.spec.models]

    def tensor(self, patch: NDArray[np.uint8]) -> NDArray[np.float32]:
        """Pre-process one patch (channels already in the sidecar's order) into a 1-batch tensor."""
        s = self.spec
        mean = np.asarray(s.mean, dtype=np.float32)
        std = np.asarray(s.std, dtype=np.float32)
        x = (patch.astype(np.float32) * np.float32(s.value_scale) - mean) / std
        x = x[None]
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2) if s.layout == "NCHW" else x)

    def logits(self, patches: Sequence[NDArray[np.uint8]]) -> list[NDArray[np.float64]]:
        """Raw network outputs for one patch per model."""
        out = []
        for net, patch in zip(self.nets, patches, strict=True):
            net.setInput(self.tensor(patch))
            out.append(np.asarray(net.forward(), dtype=np.float64).reshape(-1))
        return out

    def scores_from_logits(self, logits: Sequence[NDArray[np.float64]]) -> NDArray[np.float64]:
        """Per-model bona fide scores followed by the combined score."""
        per = []
        for z in logits:
            if max(self.spec.bona_fide_indices) >= z.size:
                raise SidecarError(
                    f"output.bona_fide_indices {self.spec.bona_fide_indices} out of range for "
                    f"a network with {z.size} outputs"
                )
            p = _softmax(z) if self.spec.softmax else z
            per.append(float(p[list(self.spec.bona_fide_indices)].sum()))
        w = np.array([m.weight for m in self.spec.models])
        v = np.array(per)
        if self.spec.combine == "weighted_mean":
            combined = float((w * v).sum() / w.sum()) if w.sum() > 0 else float(v.mean())
        elif self.spec.combine == "mean":
            combined = float(v.mean())
        elif self.spec.combine == "min":
            combined = float(v.min())
        else:
            combined = float(v.max())
        return np.array([*per, combined])

    def score_face(
        self, image_rgb: NDArray[np.uint8], box: Sequence[float], *, map_box: bool = True
    ) -> NDArray[np.float64]:
        """Per-model scores and the combined score of the face ``box = (x, y, w, h)``."""
        if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
            raise SidecarError("deep tests take (H, W, 3) uint8 RGB images")
        patches = self.patches(image_rgb, box, map_box=map_box)
        return self.scores_from_logits(self.logits(patches))


class DeepFeatures(ImageTransformerMixin, BaseEstimator):
    """Scores of a deep (ONNX) liveness test as features: a scikit-learn transformer.

    One row per image: the bona fide score of each network of the sidecar, then the combined
    score (names from :meth:`get_feature_names_out`, e.g. ``minifasnet_0, minifasnet_1,
    minifasnet``). Stateless: :meth:`fit` only validates. The face is found by ``detector``
    unless given: pass ``faces`` (one :class:`~iqa_liveness.faces.Face` or None per image) to
    share one detection between extractors (:func:`iqa_liveness.extract.extract_batch` does).

    Parameters
    ----------
    onnx : str or OnnxTestSpec
        ``"PRESET@DIR"`` (e.g. ``"minifasnet@/models/minifasnet"``), ``"path/sidecar.json"``
        (an ``onnx=`` prefix is accepted) or a validated spec.
    detector : str or FaceDetector
        ``"yunet"`` (default), ``"haar"``, ``"haar+eyes"`` or a detector instance.
    face : {"largest", "most_confident"}
        Which face when the detector finds several.
    on_no_face : {"error", "whole"}
        No face: raise :class:`~iqa_liveness.errors.NoFaceError` (a batch job records the
        sample as failed) or score the whole image as the face box.

    Examples
    --------
    >>> DeepFeatures(onnx="minifasnet@/weights").get_params()["detector"]
    'yunet'
    >>> DeepFeatures(onnx="nosuch@/weights").fit()
    Traceback (most recent call last):
    ...
    iqa_liveness.errors.SidecarError: unknown preset 'nosuch'; shipped presets: minifasnet
    """

    def __init__(
        self,
        onnx: str | OnnxTestSpec = "minifasnet@.",
        detector: str | FaceDetector = "yunet",
        face: str = "largest",
        on_no_face: str = "error",
    ) -> None:
        self.onnx = onnx
        self.detector = detector
        self.face = face
        self.on_no_face = on_no_face

    def _test(self) -> OnnxLivenessTest:
        cached = getattr(self, "_test_cache", None)
        if cached is None or cached[0] != self.onnx:
            cached = (self.onnx, OnnxLivenessTest(self.onnx))
            self._test_cache = cached
        test: OnnxLivenessTest = cached[1]
        return test

    def _detector(self) -> FaceDetector:
        if isinstance(self.detector, FaceDetector):
            return self.detector
        cached = getattr(self, "_detector_cache", None)
        if cached is None or cached[0] != self.detector:
            cached = (self.detector, get_face_detector(self.detector))
            self._detector_cache = cached
        det: FaceDetector = cached[1]
        return det

    def _check(self) -> None:
        if self.face not in ("largest", "most_confident"):
            raise ConfigurationError(f"face must be 'largest' or 'most_confident': {self.face!r}")
        if self.on_no_face not in ("error", "whole"):
            raise ConfigurationError(f"on_no_face must be 'error' or 'whole': {self.on_no_face!r}")

    def fit(self, X: Any = None, y: Any = None) -> DeepFeatures:
        """Validate the parameters and the sidecar; return ``self``."""
        self._check()
        self._test()
        self._detector()
        names = self._test().feature_names()
        self.feature_names_out_ = np.asarray(names, dtype=object)
        self.n_features_out_ = len(names)
        return self

    def get_feature_names_out(self, input_features: Any = None) -> NDArray[np.object_]:
        """Per-model score names ``<name>_<i>`` then the combined score ``<name>``."""
        return np.asarray(self._test().feature_names(), dtype=object)

    def transform_with_records(
        self, X: Any, faces: Sequence[Face | None] | None = None
    ) -> tuple[NDArray[np.float64], list[FaceRecord], NDArray[np.bool_]]:
        """Scores of the images that could be scored, with a face record for every image.

        Never raises for a problem of one image (unreadable, no face, non-finite output): that
        image gets ``ok_mask[i] = False`` and ``records[i].error`` says why.
        """
        self._check()
        test = self._test()
        images = as_image_list(X)
        given: list[Face | None] = [None] * len(images) if faces is None else list(faces)
        if len(given) != len(images):
            raise ConfigurationError(f"faces has {len(given)} entries for {len(images)} images")
        rows, records, ok = [], [], []
        for image, face in zip(images, given):
            if face is not None and not isinstance(face, Face):
                raise ConfigurationError(
                    f"faces entries must be Face or None, got {type(face).__name__}"
                )
            row, record = self._one(test, image, face)
            records.append(record)
            ok.append(row is not None)
            if row is not None:
                rows.append(row)
        n = len(test.feature_names())
        out = np.vstack(rows) if rows else np.zeros((0, n))
        self.face_records_ = records
        return out, records, np.asarray(ok, dtype=bool)

    def _one(
        self, test: OnnxLivenessTest, image: Any, face: Face | None
    ) -> tuple[NDArray[np.float64] | None, FaceRecord]:
        name = getattr(face, "source", "given") if face is not None else self._detector().name
        try:
            rgb = to_uint8_rgb(image)
            found: list[Face] = [face] if face is not None else self._detector().detect(rgb)
            if found:
                chosen: Face | None = select_face(found, self.face)  # type: ignore[arg-type]
                assert chosen is not None
                box = chosen.box
                fallback = None
            elif self.on_no_face == "whole":
                chosen, fallback = None, "whole"
                box = (0.0, 0.0, float(rgb.shape[1]), float(rgb.shape[0]))
            else:
                raise NoFaceError(f"no face found by the {name} detector")
            scores = test.score_face(rgb, box)
            if not np.all(np.isfinite(scores)):
                raise InvalidImageError(f"the {test.spec.name} networks gave non-finite scores")
            record = FaceRecord(
                detector=name,
                n_faces=len(found),
                box=tuple(float(v) for v in box),  # type: ignore[arg-type]
                confidence=None if chosen is None else chosen.confidence,
                fallback=fallback,
            )
            return scores, record
        except IQALivenessError as exc:
            if isinstance(exc, (SidecarError, ModelFileError)):
                raise  # a broken sidecar or model fails every image: not a per-image problem
            return None, FaceRecord(
                detector=name, n_faces=0, error=str(exc), error_type=type(exc).__name__
            )

    def transform(self, X: Any, faces: Sequence[Face | None] | None = None) -> NDArray[np.float64]:
        """Deep-test scores, one row per image (see the class doc).

        Raises
        ------
        NoFaceError, InvalidImageError, ImageReadError
            For the first image that cannot be scored, with its index.
        """
        out, records, ok = self.transform_with_records(X, faces)
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            kind = NoFaceError if records[i].error_type == "NoFaceError" else InvalidImageError
            raise kind(f"image {i}: {records[i].error}")
        return out

