"""iqa-liveness: face liveness detection (presentation attack detection) with classical
image analysis.

Public objects are imported lazily, so ``import iqa_liveness`` stays fast and a command that
needs only one family of features does not import the others.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it (imported on first access)
_LAZY: dict[str, str] = {
    "QualityFeatures": "iqa_liveness.quality",
    "load_image": "iqa_liveness.image",
    "to_grey": "iqa_liveness.image",
    "IQALivenessError": "iqa_liveness.errors",
    "InvalidImageError": "iqa_liveness.errors",
    "ImageTooSmallError": "iqa_liveness.errors",
    "ImageReadError": "iqa_liveness.errors",
    "get_dataset": "iqa_liveness.datasets",
    "list_datasets": "iqa_liveness.datasets",
    "FeatureSet": "iqa_liveness.store",
    "read_features": "iqa_liveness.store",
    "extract_to_store": "iqa_liveness.extract",
    "ShrinkageLDA": "iqa_liveness.classifiers",
    "LibSVMClassifier": "iqa_liveness.classifiers",
    "out_of_fold_scores": "iqa_liveness.classifiers",
    "ScoreFusion": "iqa_liveness.fusion",
    "ScoreTable": "iqa_liveness.fusion",
    "read_score_csv": "iqa_liveness.fusion",
    "join_scores": "iqa_liveness.fusion",
    "LivenessModel": "iqa_liveness.modelio",
    "save_model": "iqa_liveness.modelio",
    "load_model": "iqa_liveness.modelio",
    "DeepFeatures": "iqa_liveness.deep",
    "OnnxLivenessTest": "iqa_liveness.deep",
    "adapt": "iqa_liveness.adapt",
    "adapt_features": "iqa_liveness.adapt",
    "evaluate_protocol": "iqa_liveness.metrics",
    "ColourTextureFeatures": "iqa_liveness.colour_texture",
    "describe_face": "iqa_liveness.colour_texture",
    "FaceDetector": "iqa_liveness.faces",
    "Face": "iqa_liveness.faces",
    "FaceRecord": "iqa_liveness.faces",
    "YuNetDetector": "iqa_liveness.faces",
    "HaarDetector": "iqa_liveness.faces",
    "GivenDetector": "iqa_liveness.faces",
    "get_face_detector": "iqa_liveness.faces",
    "extract_face": "iqa_liveness.faces",
    "NoFaceError": "iqa_liveness.errors",
    "fit_niqe_model": "iqa_liveness.quality.niqe",
    "NIQEModel": "iqa_liveness.quality.niqe",
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'iqa_liveness' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
