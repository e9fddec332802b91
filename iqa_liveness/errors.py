"""Exceptions raised by iqa-liveness.

Every error the package raises on purpose is a subclass of :class:`IQALivenessError`, so a
batch job can catch that one class, record the failure and go on.
"""

from __future__ import annotations

__all__ = [
    "IQALivenessError",
    "InvalidImageError",
    "ImageTooSmallError",
    "ImageReadError",
    "VideoReadError",
    "NoFaceError",
    "ModelFileError",
    "DatasetError",
    "FeatureStoreError",
    "ConfigurationError",
    "SidecarError",
    "ScoreError",
    "EmptyScoresError",
    "NonFiniteScoreError",
    "LabelError",
    "InvalidDataError",
    "MissingScoresError",
    "ModelVersionError",
    "ModelPartMissingError",
    "ModelShapeError",
    "ModelCorruptError",
    "MeasureError",
]


class IQALivenessError(Exception):
    """Base class of every error raised on purpose by iqa-liveness."""


class InvalidImageError(IQALivenessError, ValueError):
    """An image is empty, has the wrong shape or dtype, or holds non-finite values."""


class ImageTooSmallError(InvalidImageError):
    """An image is smaller than the documented minimum side length."""


class ImageReadError(InvalidImageError, OSError):
    """An image file does not exist or cannot be decoded."""


class VideoReadError(ImageReadError):
    """A video file does not exist, cannot be opened, or a wanted frame cannot be decoded."""


class NoFaceError(IQALivenessError):
    """No face was found in an image where one was required."""


class ModelFileError(IQALivenessError):
    """A model file is malformed, truncated, of an unknown version or inconsistent."""


class DatasetError(IQALivenessError):
    """A dataset root, list or protocol file is missing or malformed."""


class FeatureStoreError(IQALivenessError):
    """An HDF5 feature store is missing, malformed or inconsistent with a request."""


class ConfigurationError(IQALivenessError, ValueError):
    """A parameter or configuration file is invalid."""


class SidecarError(ConfigurationError):
    """A deep-test sidecar (JSON description of an ONNX model) is missing or invalid."""


class ScoreError(IQALivenessError, ValueError):
    """A score array given to a metric is malformed (wrong shape, empty, non-finite)."""


class EmptyScoresError(ScoreError):
    """A score array that a metric needs (attacks, bona fide, one attack species) is empty."""


class NonFiniteScoreError(ScoreError):
    """A score array holds NaN or infinite values."""


class LabelError(ScoreError):
    """Labels or attack types do not match the scores or hold unknown values."""


class InvalidDataError(IQALivenessError, ValueError):
    """A feature matrix or its labels are unfit for a classifier (shape, NaN/inf, one class)."""


class MissingScoresError(ScoreError):
    """Sample ids lack a score of some test when score files are joined.

    ``missing`` maps each test (or score file) to the tuple of ids it lacks.
    """

    def __init__(self, message: str, missing: dict[str, tuple[str, ...]] | None = None):
        super().__init__(message)
        self.missing: dict[str, tuple[str, ...]] = dict(missing or {})


class ModelVersionError(ModelFileError):
    """A model file is of another format or of a format version this package cannot read."""


class ModelPartMissingError(ModelFileError):
    """A part (manifest entry, array, LIBSVM model) of a model file is missing."""


class ModelShapeError(ModelFileError):
    """Arrays of a model file do not match its feature names or each other."""


class ModelCorruptError(ModelFileError):
    """A model file is truncated, not a valid container, fails its checksums or holds unsafe
    content (pickled objects)."""


class MeasureError(IQALivenessError, ArithmeticError):
    """A feature extractor computed a non-finite value (a bug): it is raised, never returned."""
