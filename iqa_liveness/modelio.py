"""Liveness model files: one safe, versioned file per trained model (no pickle).

A :class:`LivenessModel` bundles what is needed to score new images: the feature configuration
(extractor names and parameters), the feature names (column order), one or more fitted liveness
tests (:class:`~iqa_liveness.classifiers.ShrinkageLDA` or
:class:`~iqa_liveness.classifiers.LibSVMClassifier`, each reading some of the features), the
:class:`~iqa_liveness.fusion.ScoreFusion` that consolidates several tests, the calibrated
threshold, the working resolution and the provenance.

File format (version 1)
-----------------------
A zip archive (any zip tool can list it) holding:

``manifest.json``
    UTF-8 JSON: ``format`` (``"iqa-liveness-model"``), ``format_version`` (1), package
    version, creation date, feature configuration and names, working size, training data
    description, provenance, one entry per test (``members``) and the ``fusion`` (or null),
    each with its estimator type, parameters, scalar state and the names of its parts, and
    ``parts``: the SHA-256 and size of every other file of the archive.
``*.npy``
    numpy arrays (float64, NPY format 1.0), read with ``allow_pickle=False``.
``*.libsvm``
    LIBSVM models in LIBSVM's own text format (checked line by line before LIBSVM reads them).

Loading never unpickles and never imports a class named by the file: estimator types are
looked up in a fixed allow-list. Every inconsistency gives a specific
:class:`~iqa_liveness.errors.ModelFileError`: :class:`~iqa_liveness.errors.ModelVersionError`
(not a model file, or a newer format), :class:`~iqa_liveness.errors.ModelPartMissingError`,
:class:`~iqa_liveness.errors.ModelShapeError` (arrays not matching the feature names) and
:class:`~iqa_liveness.errors.ModelCorruptError` (truncated, bad checksum, pickled or object
arrays, malformed LIBSVM text). Saved and reloaded models give the same scores to the last bit.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import math
import os
import re
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import __version__
from .classifiers import LibSVMClassifier, ShrinkageLDA
from .errors import (
    ConfigurationError,
    ModelCorruptError,
    ModelPartMissingError,
    ModelShapeError,
    ModelVersionError,
)
from .fusion import ScoreFusion, ScoreTable
from .metrics import ATTACK, BONA_FIDE

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "Member",
    "LivenessModel",
    "save_model",
    "load_model",
    "describe_training_data",
]

FORMAT_NAME = "iqa-liveness-model"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
#: Largest part accepted on load (bytes, uncompressed): guards against zip bombs.
MAX_PART_BYTES = 1 << 30

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so equal models give equal files


# --------------------------------------------------------------------------------------------
# the model
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Member:
    """One liveness test of a model: a fitted estimator and the features it reads."""

    name: str
    estimator: ShrinkageLDA | LibSVMClassifier
    features: tuple[str, ...]


@dataclass
class LivenessModel:
    """A trained liveness model: features, tests, fusion, threshold, provenance.

    Parameters
    ----------
    feature_config : dict
        JSON-able description of the feature extraction, e.g.
        ``{"extractors": [{"name": "quality", "params": {...}}]}``.
    feature_names : sequence of str
        Names of the columns of the feature matrix the model takes, in order.
    members : sequence of Member
        The liveness tests. One test: its score and threshold are the model's. Several:
        ``fusion`` is required. None: the fusion takes external scores only.
    fusion : ScoreFusion, optional
        Fitted on the tests' scores (its ``test_names_`` are the member names, plus any
        external tests whose scores are passed to :meth:`score_samples`).
    working_size : (height, width), optional
        Image size the features were computed at; inputs are to be resized to it.
    training_data : dict
        Description of the training data (:func:`describe_training_data`).
    created : str
        ISO 8601 UTC date (default: now).
    package_version : str
        Version of iqa-liveness that trained the model (default: this one).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (20, 2)), rng.normal(2, 1, (20, 2))]
    >>> y = np.r_[np.zeros(20, int), np.ones(20, int)]
    >>> m = LivenessModel.single(ShrinkageLDA().fit(X, y), ["f1", "f2"])
    >>> bool(m.predict([[3.0, 3.0]])[0] == 1)
    True
    """

    feature_config: dict[str, Any]
    feature_names: tuple[str, ...]
    members: tuple[Member, ...]
    fusion: ScoreFusion | None = None
    working_size: tuple[int, int] | None = None
    training_data: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    package_version: str = __version__

    def __post_init__(self) -> None:
        self.feature_names = tuple(str(n) for n in self.feature_names)
        self.members = tuple(self.members)
        if not self.created:
            self.created = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.working_size is not None:
            h, w = (int(v) for v in self.working_size)
            if h <= 0 or w <= 0:
                raise ConfigurationError(f"working_size {self.working_size!r} is not positive")
            self.working_size = (h, w)
        if len(set(self.feature_names)) != len(self.feature_names):
            raise ConfigurationError("duplicate feature names")
        if not self.members and self.fusion is None:
            raise ConfigurationError("a model needs at least one liveness test or a fusion")
        names = [m.name for m in self.members]
        if len(set(names)) != len(names):
            raise ConfigurationError(f"duplicate test names {names!r}")
        known = set(self.feature_names)
        for m in self.members:
            if not isinstance(m.estimator, (ShrinkageLDA, LibSVMClassifier)) or isinstance(
                m.estimator, ScoreFusion
            ):
                raise ConfigurationError(
                    f"test {m.name!r}: a ShrinkageLDA or LibSVMClassifier is required"
                )
            if not hasattr(m.estimator, "threshold_"):
                raise ConfigurationError(f"test {m.name!r}: the estimator is not fitted")
            absent = [f for f in m.features if f not in known]
            if absent:
                raise ConfigurationError(f"test {m.name!r} reads unknown features {absent[:5]!r}")
            if len(m.features) != m.estimator.n_features_in_:
                raise ConfigurationError(
                    f"test {m.name!r}: {len(m.features)} features named, the estimator takes "
                    f"{m.estimator.n_features_in_}"
                )
        if len(self.members) > 1 and self.fusion is None:
            raise ConfigurationError("several tests need a fusion")
        if self.fusion is not None:
            if not hasattr(self.fusion, "threshold_"):
                raise ConfigurationError("the fusion is not fitted")
            absent = [n for n in names if n not in self.fusion.test_names_]
            if absent:
                raise ConfigurationError(f"the fusion does not use the tests {absent!r}")

    @classmethod
    def single(
        cls,
        estimator: ShrinkageLDA | LibSVMClassifier,
        feature_names: Sequence[str],
        *,
        name: str = "classifier",
        **kwargs: Any,
    ) -> LivenessModel:
        """A model of one classifier reading every feature."""
        kwargs.setdefault("feature_config", {})
        return cls(
            feature_names=tuple(feature_names),
            members=(Member(name, estimator, tuple(feature_names)),),
            **kwargs,
        )

    # -- scoring --------------------------------------------------------------------------
    @property
    def final(self) -> ShrinkageLDA | LibSVMClassifier:
        """The estimator whose score and threshold are the model's (fusion or single test)."""
        return self.fusion if self.fusion is not None else self.members[0].estimator

    @property
    def threshold(self) -> float:
        """The calibrated threshold on :meth:`score_samples`."""
        return float(self.final.threshold_)

    @property
    def external_tests(self) -> tuple[str, ...]:
        """Fusion inputs that are not tests of the model (their scores come from outside)."""
        if self.fusion is None:
            return ()
        own = {m.name for m in self.members}
        return tuple(n for n in self.fusion.test_names_ if n not in own)

    def test_scores(
        self, X: ArrayLike | None, external: ScoreTable | Mapping[str, ArrayLike] | None = None
    ) -> ScoreTable:
        """Score of every test (and external scores) for feature matrix ``X``.

        ``X`` may be None for a model whose fusion takes external scores only.
        """
        cols: dict[str, Any] = {}
        if self.members:
            if X is None:
                raise ConfigurationError("the model's tests need a feature matrix X")
            Xa = np.asarray(X, dtype=np.float64)
            if Xa.ndim != 2 or Xa.shape[1] != len(self.feature_names):
                raise ConfigurationError(
                    f"X must have shape (n, {len(self.feature_names)}), not {Xa.shape}"
                )
            col = {n: i for i, n in enumerate(self.feature_names)}
            for m in self.members:
                cols[m.name] = m.estimator.score_samples(Xa[:, [col[f] for f in m.features]])
        for name in self.external_tests:
            if external is None:
                raise ConfigurationError(f"the model needs the scores of external test {name!r}")
            if isinstance(external, ScoreTable):
                cols[name] = external.column(name)
            else:
                if name not in external:
                    raise ConfigurationError(f"no scores given for external test {name!r}")
                cols[name] = external[name]
        return ScoreTable.from_columns(cols)

    def score_samples(
        self, X: ArrayLike | None, external: ScoreTable | Mapping[str, ArrayLike] | None = None
    ) -> NDArray[np.float64]:
        """Liveness score of each row of ``X`` (higher = more bona fide)."""
        if self.fusion is None:
            return self.test_scores(X).scores[:, 0].copy()
        return self.fusion.score_samples(self.test_scores(X, external))

    def decision_function(
        self, X: ArrayLike | None, external: ScoreTable | Mapping[str, ArrayLike] | None = None
    ) -> NDArray[np.float64]:
        """``score_samples(X) - threshold``: >= 0 is accepted as bona fide."""
        return self.score_samples(X, external) - self.threshold

    def predict(
        self, X: ArrayLike | None, external: ScoreTable | Mapping[str, ArrayLike] | None = None
    ) -> NDArray[Any]:
        """The bona fide label where the score reaches the threshold, else the attack label."""
        f = self.final
        accept = self.decision_function(X, external) >= 0
        return np.where(accept, f.classes_[f._pos], f.classes_[1 - f._pos])

    @property
    def provenance(self) -> dict[str, Any]:
        """Where the model comes from: versions, date, data, threshold and its source."""
        f = self.final
        src = str(f.threshold_source_)
        return {
            "package_version": self.package_version,
            "created": self.created,
            "feature_config": self.feature_config,
            "training_data": self.training_data,
            "threshold": float(f.threshold_),
            "threshold_criterion": str(f.threshold_criterion),
            "threshold_source": src,
            "calibration_eer": float(f.calibration_eer_),
            "dev_eer": float(f.calibration_eer_) if src.startswith("development") else None,
            "calibration_counts": dict(f.calibration_counts_),
            "tests": {
                m.name: {
                    "type": type(m.estimator).__name__,
                    "n_features": len(m.features),
                    "threshold_source": str(m.estimator.threshold_source_),
                    "calibration_eer": float(m.estimator.calibration_eer_),
                }
                for m in self.members
            },
        }


def describe_training_data(
    y: ArrayLike,
    *,
    dataset: str,
    split: str,
    attack_types: Sequence[Any] | None = None,
    bona_fide_label: Any = None,
    **extra: Any,
) -> dict[str, Any]:
    """Training data description for a model's provenance: counts per class and attack type.

    Bona fide samples are those labelled ``bona_fide_label`` (default: ``1`` or
    ``"bona_fide"``).

    Examples
    --------
    >>> describe_training_data([1, 0, 0, 1, 0], dataset="nuaa", split="train",
    ...                        attack_types=[None, "print", "print", None, "replay"])
    {'dataset': 'nuaa', 'split': 'train', 'counts': {'bona_fide': 2, 'attack': 3},
     'attack_types': {'print': 2, 'replay': 1}}
    """
    ya = np.asarray(y)
    if bona_fide_label is None:
        bona = np.array([v == 1 or (isinstance(v, str) and v == BONA_FIDE) for v in ya.tolist()])
    else:
        bona = np.array([v == bona_fide_label for v in ya.tolist()])
    out: dict[str, Any] = {
        "dataset": str(dataset),
        "split": str(split),
        "counts": {BONA_FIDE: int(bona.sum()), ATTACK: int((~bona).sum())},
    }
    if attack_types is not None:
        types = list(attack_types)
        if len(types) != ya.size:
            raise ConfigurationError("attack_types and y differ in length")
        counts: dict[str, int] = {}
        for t, b in zip(types, bona):
            if not b:
                key = "unknown" if t is None else str(t)
                counts[key] = counts.get(key, 0) + 1
        out["attack_types"] = dict(sorted(counts.items()))
    out.update(extra)
    return out


# --------------------------------------------------------------------------------------------
# estimator state <-> JSON + arrays + texts
# --------------------------------------------------------------------------------------------
_TYPES: dict[str, type[Any]] = {
    "ShrinkageLDA": ShrinkageLDA,
    "LibSVMClassifier": LibSVMClassifier,
    "ScoreFusion": ScoreFusion,
}
_COMMON_SCALARS = (
    "threshold_",
    "threshold_source_",
    "calibration_eer_",
    "calibration_counts_",
    "n_features_in_",
)
_SPEC: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    # type: (scalar attributes, array attributes, text attributes)
    "ShrinkageLDA": (("intercept_",), ("mean_", "scale_", "coef_"), ()),
    "ScoreFusion": (
        ("intercept_", "test_names_"),
        ("mean_", "scale_", "coef_", "impute_values_"),
        (),
    ),
    "LibSVMClassifier": (
        ("C_", "gamma_", "selection_"),
        ("data_min_", "scale_factor_", "grid_eer_"),
        ("model_text_",),
    ),
}
_TUPLE_PARAMS = {"C", "gamma", "feature_range", "test_names"}


def _plain(value: Any) -> Any:
    """JSON-able form of a parameter or attribute value (exact for floats)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigurationError(f"a non-finite value {value!r} cannot be saved")
    if isinstance(value, (tuple, list, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {"__pairs__": [[_plain(k), _plain(v)] for k, v in value.items()]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ConfigurationError(f"cannot save a value of type {type(value).__name__}")


def _unplain(value: Any, as_tuple: bool = False) -> Any:
    if isinstance(value, dict):
        pairs = value.get("__pairs__")
        if not isinstance(pairs, list):
            raise ModelCorruptError("malformed mapping in the manifest")
        return {_unplain(k): _unplain(v) for k, v in pairs}
    if isinstance(value, list):
        items = [_unplain(v) for v in value]
        return tuple(items) if as_tuple else items
    return value


def _estimator_state(
    est: Any, prefix: str
) -> tuple[dict[str, Any], dict[str, NDArray[np.float64]], dict[str, str]]:
    kind = type(est).__name__
    if kind not in _SPEC:
        raise ConfigurationError(f"cannot save an estimator of type {kind}")
    scalars, arrays, texts = _SPEC[kind]
    entry: dict[str, Any] = {
        "type": kind,
        "params": {k: _plain(v) for k, v in sorted(est.get_params(deep=False).items())},
        "classes": _plain(list(est.classes_)),
        "bona_fide_index": int(est._pos),
        "state": {k: _plain(getattr(est, k)) for k in (*_COMMON_SCALARS, *scalars)},
        "arrays": {},
        "texts": {},
    }
    out_arrays: dict[str, NDArray[np.float64]] = {}
    out_texts: dict[str, str] = {}
    for k in arrays:
        part = f"{prefix}/{k.rstrip('_')}.npy"
        entry["arrays"][k] = part
        out_arrays[part] = np.ascontiguousarray(getattr(est, k), dtype=np.float64)
    for k in texts:
        part = f"{prefix}/{k.rstrip('_')}.libsvm"
        entry["texts"][k] = part
        out_texts[part] = str(getattr(est, k))
    return entry, out_arrays, out_texts


def _estimator_from_state(
    entry: Any, arrays: Mapping[str, NDArray[np.float64]], texts: Mapping[str, str], what: str
) -> Any:
    if not isinstance(entry, dict):
        raise ModelCorruptError(f"{what}: malformed entry")
    kind = entry.get("type")
    if kind not in _TYPES:
        raise ModelVersionError(f"{what}: unknown estimator type {kind!r}")
    scalars, array_names, text_names = _SPEC[kind]
    try:
        raw_params = dict(entry["params"])
        params = {k: _unplain(v, k in _TUPLE_PARAMS) for k, v in raw_params.items()}
        est = _TYPES[kind](**params)
        classes = entry["classes"]
        pos = int(entry["bona_fide_index"])
        state = dict(entry["state"])
        for k in (*_COMMON_SCALARS, *scalars):
            v = state[k]
            setattr(est, k, _unplain(v, k == "test_names_"))
        for k in array_names:
            setattr(est, k, arrays[entry["arrays"][k]])
        for k in text_names:
            setattr(est, k, texts[entry["texts"][k]])
    except KeyError as exc:
        raise ModelPartMissingError(f"{what}: missing {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise ModelCorruptError(f"{what}: malformed state ({exc})") from None
    if not (
        isinstance(classes, list)
        and len(classes) == 2
        and all(isinstance(c, (str, int, float, bool)) for c in classes)
        and classes[0] != classes[1]
        and pos in (0, 1)
    ):
        raise ModelCorruptError(f"{what}: classes must be two labels and the index 0 or 1")
    for k in ("threshold_", "calibration_eer_", "intercept_", "C_", "gamma_"):
        v = getattr(est, k, 0.0)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ModelCorruptError(f"{what}: {k} must be a finite number, not {v!r}")
    for k in ("threshold_source_", "selection_"):
        if not isinstance(getattr(est, k, ""), str):
            raise ModelCorruptError(f"{what}: {k} must be a string")
    if not isinstance(est.calibration_counts_, dict):
        raise ModelCorruptError(f"{what}: calibration_counts_ must be a mapping")
    est.classes_ = np.asarray(classes)
    est._pos = pos
    est.bona_fide_label_ = est.classes_[pos]
    n = est.n_features_in_
    if not isinstance(n, int) or n < 1:
        raise ModelCorruptError(f"{what}: n_features_in_ {n!r} is not a positive integer")
    for k in array_names:
        a = getattr(est, k)
        if k == "grid_eer_":
            if a.ndim != 2:
                raise ModelShapeError(f"{what}: {k} must be 2-D, got shape {a.shape}")
        elif a.shape != (n,):
            raise ModelShapeError(f"{what}: {k} has shape {a.shape}, expected ({n},)")
    if kind == "ScoreFusion" and len(est.test_names_) != n:
        raise ModelShapeError(f"{what}: {len(est.test_names_)} test names for {n} inputs")
    if kind == "LibSVMClassifier":
        _check_libsvm_text(est.model_text_, n, what)
        try:
            est._restore_core()
        except (TypeError, ValueError) as exc:
            raise ModelCorruptError(f"{what}: LIBSVM could not read its model ({exc})") from None
    return est


_FLOAT = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_SV_LINE = re.compile(rf"^{_FLOAT}(?: \d+:{_FLOAT})* ?$")


def _check_libsvm_text(text: str, n_features: int, what: str) -> None:
    """Strict check of a LIBSVM model text before LIBSVM's C parser sees it."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    try:
        sv_at = lines.index("SV")
    except ValueError:
        raise ModelCorruptError(f"{what}: LIBSVM model without an SV section") from None
    head: dict[str, list[str]] = {}
    for ln in lines[:sv_at]:
        key, *vals = ln.split(" ")
        if key in head:
            raise ModelCorruptError(f"{what}: LIBSVM header {key!r} repeated")
        head[key] = vals
    expect = {"svm_type", "kernel_type", "nr_class", "total_sv", "rho", "label", "nr_sv"}
    kernel = head.get("kernel_type", [""])[0]
    if kernel == "rbf":
        expect.add("gamma")
    try:
        if set(head) != expect or head["svm_type"] != ["c_svc"] or kernel not in ("rbf", "linear"):
            raise ValueError("header")
        if head["nr_class"] != ["2"] or sorted(head["label"]) != ["-1", "1"]:
            raise ValueError("labels")
        total = int(head["total_sv"][0])
        n1, n2 = (int(v) for v in head["nr_sv"])
        float(head["rho"][0])
        if len(head["rho"]) != 1 or n1 < 0 or n2 < 0 or n1 + n2 != total:
            raise ValueError("counts")
        if kernel == "rbf" and not float(head["gamma"][0]) > 0:
            raise ValueError("gamma")
    except (ValueError, IndexError, KeyError):
        raise ModelCorruptError(f"{what}: malformed LIBSVM model header") from None
    sv = lines[sv_at + 1 :]
    if len(sv) != total:
        raise ModelCorruptError(f"{what}: LIBSVM model has {len(sv)} SV lines, total_sv {total}")
    for k, ln in enumerate(sv):
        if not _SV_LINE.match(ln):
            raise ModelCorruptError(f"{what}: malformed LIBSVM SV line {k + 1}")
        idx = [int(tok.split(":")[0]) for tok in ln.split()[1:]]
        if any(b <= a for a, b in zip(idx, idx[1:])) or (
            idx and (idx[0] < 1 or idx[-1] > n_features)
        ):
            raise ModelShapeError(
                f"{what}: LIBSVM SV line {k + 1} has feature indices outside 1..{n_features}"
            )


# --------------------------------------------------------------------------------------------
# save / load
# --------------------------------------------------------------------------------------------
def _npy_bytes(a: NDArray[np.float64]) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a, version=(1, 0), allow_pickle=False)
    return buf.getvalue()


def save_model(model: LivenessModel, path: str | os.PathLike[str]) -> None:
    """Write ``model`` to ``path`` (format version :data:`FORMAT_VERSION`, see module doc).

    The file is written to a temporary name next to ``path`` and renamed, so an interrupted
    save never leaves a half-written model under the final name.
    """
    members = []
    arrays: dict[str, NDArray[np.float64]] = {}
    texts: dict[str, str] = {}
    for i, m in enumerate(model.members):
        entry, a, t = _estimator_state(m.estimator, f"members/{i}")
        entry = {"name": m.name, "features": list(m.features), **entry}
        members.append(entry)
        arrays.update(a)
        texts.update(t)
    fusion = None
    if model.fusion is not None:
        fusion, a, t = _estimator_state(model.fusion, "fusion")
        arrays.update(a)
        texts.update(t)
    blobs: dict[str, bytes] = {k: _npy_bytes(v) for k, v in arrays.items()}
    blobs.update({k: v.encode("ascii") for k, v in texts.items()})
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "package_version": model.package_version,
        "created": model.created,
        "feature_config": model.feature_config,
        "feature_names": list(model.feature_names),
        "working_size": None if model.working_size is None else list(model.working_size),
        "training_data": model.training_data,
        "provenance": model.provenance,
        "members": members,
        "fusion": fusion,
        "parts": {
            k: {"sha256": hashlib.sha256(v).hexdigest(), "size": len(v)}
            for k, v in sorted(blobs.items())
        },
    }
    try:
        text = json.dumps(manifest, indent=1, sort_keys=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"the model holds a value JSON cannot store: {exc}") from exc
    target = Path(path)
    tmp = target.with_name(target.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in [(MANIFEST, text.encode("utf-8")), *sorted(blobs.items())]:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    os.replace(tmp, target)


def _read_part(zf: zipfile.ZipFile, name: str, expect: Mapping[str, Any] | None) -> bytes:
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise ModelPartMissingError(f"the model file lacks {name!r}") from None
    if info.file_size > MAX_PART_BYTES:
        raise ModelCorruptError(f"{name!r} is larger than {MAX_PART_BYTES} bytes")
    try:
        data = zf.read(info)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise ModelCorruptError(f"{name!r} cannot be read: {exc}") from None
    if expect is not None:
        if (
            not isinstance(expect, dict)
            or len(data) != expect.get("size")
            or (hashlib.sha256(data).hexdigest() != expect.get("sha256"))
        ):
            raise ModelCorruptError(f"{name!r} does not match its checksum in the manifest")
    return data


def _load_npy(data: bytes, name: str) -> NDArray[np.float64]:
    try:
        a = np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ModelCorruptError(f"{name!r} is not a plain numpy array: {exc}") from None
    if a.dtype != np.float64:
        raise ModelCorruptError(f"{name!r} has dtype {a.dtype}, float64 expected")
    a.setflags(write=False)
    return a


def load_model(path: str | os.PathLike[str]) -> LivenessModel:
    """Read a model written by :func:`save_model`, checking everything (see module doc).

    Raises
    ------
    ModelFileError
        Or its subclasses ``ModelVersionError``, ``ModelPartMissingError``,
        ``ModelShapeError``, ``ModelCorruptError``; ``FileNotFoundError`` if there is no file.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no model file {p}")
    try:
        zf = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
        raise ModelCorruptError(f"{p} is not a model file or is truncated: {exc}") from None
    with zf:
        try:
            manifest = json.loads(_read_part(zf, MANIFEST, None).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise ModelCorruptError(f"{p}: the manifest is not valid JSON: {exc}") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
            raise ModelVersionError(f"{p} is not an iqa-liveness model file")
        version = manifest.get("format_version")
        if version != FORMAT_VERSION:
            raise ModelVersionError(
                f"{p} has model format version {version!r}; this iqa-liveness "
                f"({__version__}) reads version {FORMAT_VERSION}"
            )
        try:
            parts = dict(manifest["parts"])
            feature_names = tuple(str(n) for n in manifest["feature_names"])
            member_entries = list(manifest["members"])
            fusion_entry = manifest["fusion"]
        except KeyError as exc:
            raise ModelPartMissingError(f"{p}: the manifest lacks {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise ModelCorruptError(f"{p}: malformed manifest ({exc})") from None
        extra = set(zf.namelist()) - set(parts) - {MANIFEST}
        if extra:
            raise ModelCorruptError(f"{p}: unexpected parts {sorted(extra)[:5]!r}")
        arrays: dict[str, NDArray[np.float64]] = {}
        texts: dict[str, str] = {}
        for name, expect in parts.items():
            data = _read_part(zf, name, expect)
            if name.endswith(".npy"):
                arrays[name] = _load_npy(data, name)
            elif name.endswith(".libsvm"):
                try:
                    texts[name] = data.decode("ascii")
                except UnicodeDecodeError:
                    raise ModelCorruptError(f"{name!r} is not ASCII text") from None
            else:
                raise ModelCorruptError(f"{p}: part {name!r} of unknown kind")
    members = []
    for i, entry in enumerate(member_entries):
        what = f"test {i}"
        if not isinstance(entry, dict) or "name" not in entry or "features" not in entry:
            raise ModelPartMissingError(f"{what}: name or features missing")
        est = _estimator_from_state(entry, arrays, texts, f"test {entry['name']!r}")
        if est.__class__ is ScoreFusion:
            raise ModelCorruptError(f"{what}: a fusion cannot be a test")
        feats = tuple(str(f) for f in entry["features"])
        if len(feats) != est.n_features_in_:
            raise ModelShapeError(
                f"test {entry['name']!r}: {len(feats)} feature names, arrays for "
                f"{est.n_features_in_} features"
            )
        members.append(Member(str(entry["name"]), est, feats))
    fusion = None
    if fusion_entry is not None:
        fusion = _estimator_from_state(fusion_entry, arrays, texts, "fusion")
        if fusion.__class__ is not ScoreFusion:
            raise ModelCorruptError("the fusion entry is not a ScoreFusion")
    ws = manifest.get("working_size")
    try:
        return LivenessModel(
            feature_config=dict(manifest.get("feature_config") or {}),
            feature_names=feature_names,
            members=tuple(members),
            fusion=fusion,
            working_size=None if ws is None else (int(ws[0]), int(ws[1])),
            training_data=dict(manifest.get("training_data") or {}),
            created=str(manifest.get("created", "")),
            package_version=str(manifest.get("package_version", "")),
        )
    except ConfigurationError as exc:
        raise ModelShapeError(f"{p}: inconsistent model: {exc}") from None
    except (TypeError, ValueError, IndexError) as exc:
        raise ModelCorruptError(f"{p}: malformed manifest ({exc})") from None
