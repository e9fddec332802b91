"""Feature extraction from dataset samples into an HDF5 feature store.

:func:`extract_to_store` is the batch job behind ``iqa-liveness extract``: it decodes each
sample's image or video frame, runs every extractor, and writes whole batches as shards of the
store (see :mod:`iqa_liveness.store`), so that it can be killed at any moment and resumed.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .datasets.base import Sample, group_by_source, iter_sample_images
from .datasets.cache import FrameCache
from .errors import ConfigurationError, FeatureStoreError, IQALivenessError, ModelFileError
from .faces import Face, FaceDetector, GivenDetector, get_face_detector, select_face
from .store import (
    ExtractorInfo,
    create_store,
    extractor_info,
    merge_shards,
    new_shard_name,
    same_features,
    shard_dir,
    store_extractors,
    stored_ids,
    write_shard,
)

__all__ = ["ExtractionReport", "extract_to_store", "extract_batch", "shared_faces"]

#: Errors about the set-up, not the sample: they stop the run instead of failing every sample.
FATAL_ERRORS = (ConfigurationError, ModelFileError, FeatureStoreError)


@dataclass(frozen=True)
class ExtractionReport:
    """What one call of :func:`extract_to_store` did.

    Attributes
    ----------
    path : str
        The store.
    n_samples : int
        Samples asked for.
    n_skipped : int
        Samples already in the store (stored or failed) and not extracted again.
    n_extracted : int
        Samples extracted and stored by this call.
    n_failed : int
        Samples that failed in this call (recorded in the store's ``/failed`` table).
    """

    path: str
    n_samples: int
    n_skipped: int
    n_extracted: int
    n_failed: int


def _batches(samples: Sequence[Sample], batch_size: int) -> Iterator[list[Sample]]:
    """Batches in which the frames of one video stay together and in frame order."""
    batch: list[Sample] = []
    for group in group_by_source(samples):
        group.sort(key=lambda s: -1 if s.frame_index is None else s.frame_index)
        for s in group:
            batch.append(s)
            if len(batch) >= batch_size:
                yield batch
                batch = []
    if batch:
        yield batch


_DETECTORS: dict[str, FaceDetector] = {}


def _face_key(extractor: Any) -> tuple[str | int, str] | None:
    """``(detector, face selection)`` of an extractor that detects faces and accepts
    ``transform(images, faces=...)``; None for the others."""
    det = getattr(extractor, "detector", None)
    if det is None or (isinstance(det, str) and det.lower() == "none"):
        return None
    if not isinstance(det, (str, FaceDetector)):
        return None
    try:
        if "faces" not in inspect.signature(extractor.transform).parameters:
            return None
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return None
    key = det.lower() if isinstance(det, str) else id(det)  # detector dataclasses: unhashable
    return key, str(getattr(extractor, "face", "largest"))


def shared_faces(
    image: Any, extractors: Mapping[str, Any], names: Sequence[str], given: Face | None = None
) -> dict[str, list[Face | None] | None]:
    """One face detection per image, shared by every extractor using the same detector.

    Extractors with a ``detector`` parameter whose ``transform`` accepts ``faces`` (colour
    texture, deep tests) get ``faces=[face]`` from a single detection of ``image`` by that
    detector, with their ``face`` selection rule. When no face is found they get None and
    apply their own ``on_no_face`` rule. ``given`` (the face a database gives for this image)
    replaces the detection for all of them. Returns ``{extractor name: faces argument}``.
    """
    found: dict[tuple[str | int, str], list[Face | None] | None] = {}
    out: dict[str, list[Face | None] | None] = {}
    for name in names:
        key = _face_key(extractors[name])
        if key is None:
            continue
        if given is not None:
            out[name] = [given]
            continue
        if key not in found:
            det_spec, how = key
            if isinstance(det_spec, str):
                if det_spec not in _DETECTORS:
                    _DETECTORS[det_spec] = get_face_detector(det_spec)
                det = _DETECTORS[det_spec]
            else:
                det = extractors[name].detector
            faces = det.detect(image)
            found[key] = [select_face(faces, how)] if faces else None  # type: ignore[arg-type]
        out[name] = found[key]
    return out


def _describe(exc: BaseException) -> tuple[str, str]:
    return type(exc).__name__, str(exc) or type(exc).__name__


def _given_face(sample: Sample) -> Face | None:
    """The face the database gives for ``sample`` (its box and/or eyes), or None."""
    if sample.box is None and sample.eyes is None:
        return None
    return GivenDetector(box=sample.box, eyes=sample.eyes).face()


_CACHES: dict[str, FrameCache] = {}


def _images(
    group: Sequence[Sample], frame_cache: str | None
) -> Iterator[tuple[Sample, NDArray[Any]]]:
    """Images of one source: from the frame cache when it holds them all, else decoded."""
    if frame_cache is not None:
        key = f"{frame_cache}:{os.stat(frame_cache).st_mtime_ns}"  # a rebuilt cache reopens
        if key not in _CACHES:
            _CACHES[key] = FrameCache(frame_cache)
        cache = _CACHES[key]
        if all(s.sample_id in cache for s in group):
            for s in group:
                yield s, cache.load(s)
            return
    yield from iter_sample_images(group)


def extract_batch(
    samples: Sequence[Sample],
    extractors: Mapping[str, Any],
    infos: Sequence[ExtractorInfo],
    given_faces: bool = False,
    frame_cache: str | None = None,
) -> tuple[list[Sample], dict[str, NDArray[np.float64]], dict[str, list[Any]]]:
    """Extract one batch in memory: ``(stored samples, features by extractor, failed table)``.

    A sample fails, with the reason recorded, when its image cannot be decoded, when an
    extractor raises an :class:`~iqa_liveness.errors.IQALivenessError` (e.g. ``NoFaceError``),
    or when an extractor returns a row of the wrong length or with non-finite values.
    :data:`FATAL_ERRORS` (a missing model file, a bad parameter) concern the set-up, not the
    sample, and propagate, as do other exceptions (bugs).
    """
    ok: list[Sample] = []
    rows: dict[str, list[NDArray[np.float64]]] = {i.name: [] for i in infos}
    failed: dict[str, list[Any]] = {
        c: [] for c in ("sample_id", "source", "frame_index", "label", "extractor", "error",
                        "reason")
    }

    def fail(s: Sample, extractor: str, error: str, reason: str) -> None:
        for key, value in (("sample_id", s.sample_id), ("source", s.source),
                           ("frame_index", s.frame_index), ("label", s.label),
                           ("extractor", extractor), ("error", error), ("reason", reason)):
            failed[key].append(value)

    for group in group_by_source(samples):
        pending = {s.sample_id: s for s in group}
        try:
            for s, image in _images(group, frame_cache):
                pending.pop(s.sample_id, None)
                row: dict[str, NDArray[np.float64]] = {}
                extractor = ""
                try:
                    given = _given_face(s) if given_faces else None
                    shared = shared_faces(image, extractors, [i.name for i in infos], given)
                    for info in infos:
                        extractor = info.name
                        ex = extractors[info.name]
                        faces = shared.get(info.name)
                        values = np.asarray(
                            ex.transform([image]) if faces is None
                            else ex.transform([image], faces=faces),
                            np.float64,
                        )
                        if values.shape != (1, len(info.feature_names)):
                            raise _BadRow(
                                f"returned shape {values.shape}, expected "
                                f"(1, {len(info.feature_names)})"
                            )
                        if not np.all(np.isfinite(values)):
                            raise _BadRow("returned non-finite values")
                        row[info.name] = values[0]
                except FATAL_ERRORS:
                    raise
                except (IQALivenessError, _BadRow) as exc:
                    fail(s, extractor, *_describe(exc))
                    continue
                ok.append(s)
                for name, values in row.items():
                    rows[name].append(values)
        except FATAL_ERRORS:
            raise
        except IQALivenessError as exc:  # decoding failed: the rest of this source fails
            for s in pending.values():
                fail(s, "", *_describe(exc))
    features = {
        i.name: (np.vstack(rows[i.name]) if rows[i.name]
                 else np.zeros((0, len(i.feature_names))))
        for i in infos
    }
    return ok, features, failed


class _BadRow(Exception):
    """An extractor returned a row that cannot be stored."""


def _sample_columns(samples: Sequence[Sample]) -> dict[str, list[Any]]:
    cols = ("sample_id", "label", "attack_type", "subject", "session", "device", "split",
            "source", "frame_index")
    return {c: [getattr(s, c) for s in samples] for c in cols}


def _run_batch(
    batch: Sequence[Sample],
    extractors: Mapping[str, Any],
    infos: Sequence[ExtractorInfo],
    parts: str,
    attrs: Mapping[str, Any],
    given_faces: bool = False,
    frame_cache: str | None = None,
) -> tuple[int, int]:
    ok, features, failed = extract_batch(batch, extractors, infos, given_faces, frame_cache)
    write_shard(parts, new_shard_name(), samples=_sample_columns(ok), features=features,
                extractors=infos, failed=failed, attrs=attrs)
    return len(ok), len(failed["sample_id"])


def extract_to_store(
    samples: Iterable[Sample],
    extractors: Mapping[str, Any],
    path: str | os.PathLike[str],
    n_jobs: int = 1,
    progress: bool | Callable[[int, int, int], None] = False,
    batch_size: int = 32,
    *,
    attrs: Mapping[str, Any] | None = None,
    retry_failed: bool = False,
    given_faces: bool = False,
    frame_cache: str | os.PathLike[str] | None = None,
) -> ExtractionReport:
    """Extract features of ``samples`` with each extractor into the store ``path``.

    Resumable: samples already in the store (stored, or failed unless ``retry_failed``) are
    skipped. Each batch is written as a whole shard (atomic rename); at the end, and when
    interrupted with Ctrl-C, the shards are merged into ``path``. A process killed at any
    moment leaves a store that opens and holds whole samples only; run the same call again to
    continue.

    Parameters
    ----------
    samples : iterable of Sample
        E.g. ``get_dataset("nuaa", root).samples("train")``. Sample ids must be unique.
    extractors : mapping of str to transformer
        Name (letters, digits, ``_ . -``) to a scikit-learn transformer with
        ``transform([image])`` and ``get_feature_names_out()``, already fitted if it needs it,
        e.g. ``{"iqm": QualityFeatures()}``.
    path : path
        The store file (HDF5); created when absent.
    n_jobs : int
        Worker processes (joblib); each writes its own shards, no rows go through one writer.
        ``-1`` uses every core.
    progress : bool or callable
        ``True`` prints progress to stderr; a callable is called after every batch with
        ``(samples done, samples to do, failed so far)`` of this call.
    batch_size : int
        Samples per shard: the work lost when the process is killed.
    attrs : mapping, optional
        Root attributes of the store, e.g. ``{"dataset": "nuaa", "protocol": "official"}``.
    retry_failed : bool
        Extract again the samples recorded as failed.
    given_faces : bool
        Use the face box and eyes the database gives (``Sample.box``, ``Sample.eyes``) for the
        extractors that take faces (colour texture, deep tests) instead of detecting one;
        samples without them are detected as usual.
    frame_cache : path, optional
        A cache written by :func:`iqa_liveness.datasets.cache.build_frame_cache`: the frames
        of the samples it holds are read from it instead of being decoded.

    Returns
    -------
    ExtractionReport

    Raises
    ------
    FeatureStoreError
        If the store holds other extractors or feature names.
    ConfigurationError
        For duplicate sample ids, a bad extractor name or a bad parameter.
    """
    if batch_size < 1:
        raise ConfigurationError(f"batch_size must be >= 1, got {batch_size}")
    if not extractors:
        raise ConfigurationError("extract_to_store needs at least one extractor")
    path = Path(path)
    samples = list(samples)
    ids = [s.sample_id for s in samples]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise ConfigurationError(f"duplicate sample id {dup!r}")
    infos = [extractor_info(name, ex) for name, ex in extractors.items()]
    attrs = dict(attrs or {})
    existing = store_extractors(path)
    if existing is not None:
        if not same_features(existing, infos):
            raise FeatureStoreError(
                f"{path} holds extractors {[i.name for i in existing]} with other features; "
                "use a new store file for other extractors"
            )
        merge_shards(path, attrs)  # what a killed run left
    else:
        create_store(path, infos, attrs)  # atomic: a kill leaves no store or an empty one
    done = stored_ids(path, include_failed=not retry_failed)
    todo = [s for s in samples if s.sample_id not in done]
    n_ok = n_failed = 0
    parts = str(shard_dir(path))
    cache = None if frame_cache is None else str(FrameCache(frame_cache).path)  # validates it

    def report(n: int, f: int) -> None:
        nonlocal n_ok, n_failed
        n_ok += n
        n_failed += f
        if callable(progress):
            progress(n_ok + n_failed, len(todo), n_failed)
        elif progress:
            print(f"\rextract: {n_ok + n_failed}/{len(todo)} samples, {n_failed} failed",
                  end="", file=sys.stderr, flush=True)

    try:
        if n_jobs == 1:
            for batch in _batches(todo, batch_size):
                report(*_run_batch(batch, extractors, infos, parts, attrs, given_faces, cache))
        else:
            from joblib import Parallel, delayed

            parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
            results = parallel(
                delayed(_run_batch)(batch, extractors, infos, parts, attrs, given_faces, cache)
                for batch in _batches(todo, batch_size)
            )
            for result in results:
                report(*result)
    finally:
        if progress and not callable(progress):
            print(file=sys.stderr)
        merge_shards(path, attrs)
    return ExtractionReport(str(path), len(samples), len(samples) - len(todo), n_ok, n_failed)
