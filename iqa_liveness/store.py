"""HDF5 feature store: extracted features with their per-sample metadata.

One store per extraction. Its format (``docs/feature_store.md`` has the full description) is
plain HDF5, readable with h5py, ``h5dump`` or any HDF5 library::

    /                       attrs: format="iqa-liveness-features", format_version=1,
                                   package_version, dataset, protocol, ... (user metadata)
    /samples/<column>       1-D, one row per stored sample: sample_id, label, attack_type,
                            subject, session, device, split, source (UTF-8 strings; "" for
                            none), frame_index (int64, -1 for an image), y (int8, 1 = bona fide)
    /features               attrs: order (the extractors' names in the extraction's order)
    /features/<extractor>   2-D float64 (n_samples, n_features), chunked, gzip + shuffle;
                            attrs: feature_names, config (JSON), extractor (class path),
                            package_version
    /failed/<column>        samples that could not be extracted: sample_id, source,
                            frame_index, label, extractor, error (exception class), reason

Crash safety: the store file is never modified in place. A new store is created whole and
empty by the same atomic write (:func:`create_store`), before any shard. Writers put each
finished batch into
a *shard* (a small store of the same format) in the directory ``<path>.parts/``: written to a
``.tmp`` name, flushed, fsync'ed, then renamed with :func:`os.replace`, which is atomic. A
merge step (:func:`merge_shards`) copies the store and its shards into a new temporary file and
atomically replaces the store, then deletes the shards. A process killed at any moment leaves
the old store (or none at all), whole shards and perhaps ``.tmp`` files that are ignored and
deleted by the next merge: the logical store (the file plus its shards, which
:func:`read_features` reads together) holds only whole samples. Rows of a shard already in the
store (a merge killed after the replace) are skipped by id, and a sample stored by one source is
not reported failed by another (a retry killed before its merge).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from numpy.typing import NDArray

from . import __version__
from .errors import ConfigurationError, FeatureStoreError
from .metrics import ATTACK, BONA_FIDE

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "SAMPLE_COLUMNS",
    "FAILED_COLUMNS",
    "FeatureSet",
    "ExtractorInfo",
    "read_features",
    "read_failed",
    "stored_ids",
    "write_shard",
    "merge_shards",
    "create_store",
    "shard_dir",
]

FORMAT = "iqa-liveness-features"
FORMAT_VERSION = 1
#: String metadata columns of ``/samples`` (then ``frame_index`` int64 and ``y`` int8).
STRING_COLUMNS = (
    "sample_id",
    "label",
    "attack_type",
    "subject",
    "session",
    "device",
    "split",
    "source",
)
SAMPLE_COLUMNS = (*STRING_COLUMNS, "frame_index", "y")
FAILED_COLUMNS = ("sample_id", "source", "frame_index", "label", "extractor", "error", "reason")
_FAILED_STRINGS = tuple(c for c in FAILED_COLUMNS if c != "frame_index")
_STR = h5py.string_dtype("utf-8")
_COPY_ROWS = 4096  # rows copied at a time by the merge


@dataclass(frozen=True)
class ExtractorInfo:
    """Name, feature names and configuration of one extractor in a store."""

    name: str
    feature_names: tuple[str, ...]
    config: str = "{}"
    extractor: str = ""


def same_features(a: Sequence[ExtractorInfo], b: Sequence[ExtractorInfo]) -> bool:
    """Whether two stores (or shards) hold the same extractors with the same feature names:
    the condition for their rows to be merged or an extraction resumed. The extractors' order
    does not matter (a store keeps the order of the extraction that created it)."""
    return sorted((i.name, i.feature_names) for i in a) == sorted(
        (i.name, i.feature_names) for i in b
    )


def shard_dir(path: str | os.PathLike[str]) -> Path:
    """Directory of the shards of the store ``path``: ``<path>.parts``."""
    p = Path(path)
    return p.with_name(p.name + ".parts")


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_hdf5(final: Path) -> Iterator[h5py.File]:
    """An HDF5 file written as ``<final>.tmp`` that replaces ``final`` only when the block ends
    without error (fsync, atomic :func:`os.replace`, fsync of the directory); on an error the
    ``.tmp`` is removed and ``final`` is left as it was."""
    tmp = final.with_name(final.name + ".tmp")
    try:
        with h5py.File(tmp, "w") as f:
            yield f
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        _fsync_dir(final.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


def _str_array(values: Iterable[Any]) -> NDArray[np.object_]:
    return np.array(["" if v is None else str(v) for v in values], dtype=object)


def _write_root_attrs(f: h5py.File, attrs: Mapping[str, Any]) -> None:
    """The store's root attributes: ``attrs`` (numbers as numbers, the rest as text), then
    the format, its version and the package version (which no ``attrs`` key overrides)."""
    for key, value in attrs.items():
        f.attrs[key] = value if isinstance(value, (int, float, np.number)) else str(value)
    f.attrs["format"] = FORMAT
    f.attrs["format_version"] = FORMAT_VERSION
    f.attrs["package_version"] = __version__


def _create_layout(
    f: h5py.File,
    extractors: Sequence[ExtractorInfo],
    attrs: Mapping[str, Any],
    compression: int = 4,
) -> None:
    _write_root_attrs(f, attrs)
    g = f.create_group("samples")
    for c in STRING_COLUMNS:
        g.create_dataset(c, (0,), dtype=_STR, maxshape=(None,), chunks=(1024,))
    g.create_dataset("frame_index", (0,), dtype=np.int64, maxshape=(None,), chunks=(1024,))
    g.create_dataset("y", (0,), dtype=np.int8, maxshape=(None,), chunks=(1024,))
    feats = f.create_group("features")
    feats.attrs["order"] = np.array([i.name for i in extractors], dtype=_STR)
    for info in extractors:
        d = max(1, len(info.feature_names))
        rows = int(max(1, min(1024, (1 << 20) // (8 * d))))  # chunks of about 1 MiB
        ds = feats.create_dataset(
            info.name,
            (0, len(info.feature_names)),
            dtype=np.float64,
            maxshape=(None, len(info.feature_names)),
            chunks=(rows, d),
            compression="gzip",
            compression_opts=compression,
            shuffle=True,
        )
        ds.attrs["feature_names"] = np.array(info.feature_names, dtype=_STR)
        ds.attrs["config"] = info.config
        ds.attrs["extractor"] = info.extractor
        ds.attrs["package_version"] = __version__
    fg = f.create_group("failed")
    for c in _FAILED_STRINGS:
        fg.create_dataset(c, (0,), dtype=_STR, maxshape=(None,), chunks=(256,))
    fg.create_dataset("frame_index", (0,), dtype=np.int64, maxshape=(None,), chunks=(256,))


def _append(ds: h5py.Dataset, values: NDArray[Any]) -> None:
    if len(values) == 0:
        return
    n = ds.shape[0]
    ds.resize(n + len(values), axis=0)
    ds[n:] = values


def _read(path: Path) -> h5py.File:
    """``path`` opened read-only; a file that is not HDF5 is a :class:`FeatureStoreError`."""
    try:
        return h5py.File(path, "r")
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise FeatureStoreError(f"{path} is not an HDF5 feature store ({exc})") from exc


def _check_format(f: h5py.File, path: Path) -> None:
    if f.attrs.get("format") != FORMAT:
        raise FeatureStoreError(f"{path} is not an iqa-liveness feature store")
    version = int(f.attrs.get("format_version", -1))
    if version != FORMAT_VERSION:
        raise FeatureStoreError(
            f"{path} has format version {version}; this package reads {FORMAT_VERSION}"
        )


def _extractor_order(features: h5py.Group) -> list[str]:
    """Extractor names in the extraction's order (the ``order`` attribute); name order (as
    HDF5 lists groups) for a store written without it."""
    names = list(features)
    order = [v.decode() if isinstance(v, bytes) else str(v)
             for v in features.attrs.get("order", [])]
    return order if sorted(order) == sorted(names) else names


def _extractor_infos(f: h5py.File) -> list[ExtractorInfo]:
    infos = []
    for name in _extractor_order(f["features"]):
        ds = f["features"][name]
        infos.append(
            ExtractorInfo(
                name=name,
                feature_names=tuple(
                    v.decode() if isinstance(v, bytes) else str(v)
                    for v in ds.attrs["feature_names"]
                ),
                config=str(ds.attrs.get("config", "{}")),
                extractor=str(ds.attrs.get("extractor", "")),
            )
        )
    return infos


def write_shard(
    directory: str | os.PathLike[str],
    name: str,
    *,
    samples: Mapping[str, Sequence[Any]],
    features: Mapping[str, NDArray[np.floating]],
    extractors: Sequence[ExtractorInfo],
    failed: Mapping[str, Sequence[Any]] | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> Path:
    """Write one whole shard atomically (``.tmp`` then :func:`os.replace`); return its path.

    ``samples`` maps each of :data:`SAMPLE_COLUMNS` except ``y`` to one value per row (``y``
    is derived from ``label``); ``features`` maps each extractor name to an ``(n, d)`` array;
    ``failed`` maps :data:`FAILED_COLUMNS` to one value per failed sample.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ConfigurationError(f"bad shard name {name!r}")
    final = directory / f"{name}.h5"
    n = len(samples["sample_id"])
    with atomic_hdf5(final) as f:
        _create_layout(f, extractors, attrs or {}, compression=1)
        g = f["samples"]
        for c in STRING_COLUMNS:
            _append(g[c], _str_array(samples.get(c, [None] * n)))
        frames = [-1 if v is None else int(v) for v in samples.get("frame_index", [None] * n)]
        _append(g["frame_index"], np.asarray(frames, dtype=np.int64))
        labels = list(samples["label"])
        if any(v not in (BONA_FIDE, ATTACK) for v in labels):
            raise ConfigurationError(f"labels must be {BONA_FIDE!r} or {ATTACK!r}")
        _append(g["y"], np.asarray([v == BONA_FIDE for v in labels], dtype=np.int8))
        for info in extractors:
            x = np.asarray(features[info.name], dtype=np.float64).reshape(
                n, len(info.feature_names)
            )
            _append(f["features"][info.name], x)
        if failed:
            m = len(failed["sample_id"])
            for c in _FAILED_STRINGS:
                _append(f["failed"][c], _str_array(failed.get(c, [None] * m)))
            fi = [-1 if v is None else int(v) for v in failed.get("frame_index", [None] * m)]
            _append(f["failed"]["frame_index"], np.asarray(fi, dtype=np.int64))
    return final


def create_store(
    path: str | os.PathLike[str],
    extractors: Sequence[ExtractorInfo],
    attrs: Mapping[str, Any] | None = None,
) -> Path:
    """Create the empty store ``path`` atomically (``<path>.tmp``, then :func:`os.replace`).

    A process killed during the creation leaves no store (perhaps a ``.tmp`` file, ignored
    and later deleted), never a half-written one, and no shard directory.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_hdf5(path) as f:
        _create_layout(f, extractors, attrs or {})
    return path


def _shards(path: Path) -> list[Path]:
    d = shard_dir(path)
    return sorted(d.glob("*.h5")) if d.is_dir() else []


def _read_strings(ds: h5py.Dataset, start: int = 0, stop: int | None = None) -> NDArray[np.object_]:
    return np.asarray(ds.asstr()[start:stop], dtype=object)


def _ids(f: h5py.File, group: str) -> NDArray[np.object_]:
    return _read_strings(f[group]["sample_id"])


def merge_shards(path: str | os.PathLike[str], attrs: Mapping[str, Any] | None = None) -> int:
    """Fold the shards of ``<path>.parts/`` into the store ``path``; return rows added.

    Creates the store when absent. The new store is written to ``<path>.tmp`` and atomically
    replaces ``path``; the merged shards are deleted afterwards. Rows (stored or failed) whose
    ``sample_id`` is already in the store are skipped. Copies at most 4096 rows at a time.

    Raises
    ------
    FeatureStoreError
        If a shard's extractors or feature names differ from the store's.
    """
    path = Path(path)
    shards = _shards(path)
    parts = shard_dir(path)
    # left by a killed writer or merge: never part of the store
    for stale in [*(parts.glob("*.tmp") if parts.is_dir() else []),
                  path.with_name(path.name + ".tmp")]:
        stale.unlink(missing_ok=True)
    if not shards and path.exists():
        if parts.is_dir() and not any(parts.iterdir()):
            parts.rmdir()  # a merge killed after deleting its shards
        return 0
    sources: list[Path] = ([path] if path.exists() else []) + shards
    infos: list[ExtractorInfo] | None = None
    root_attrs: dict[str, Any] = {}
    for src in sources:
        with _read(src) as f:
            _check_format(f, src)
            these = _extractor_infos(f)
            if infos is None:
                infos = these
                root_attrs = {
                    k: v for k, v in f.attrs.items()
                    if k not in ("format", "format_version", "package_version")
                }
            elif not same_features(these, infos):
                raise FeatureStoreError(
                    f"{src} holds other extractors or feature names than {sources[0]}"
                )
    root_attrs.update(attrs or {})
    added = 0
    with atomic_hdf5(path) as out:
        if path.exists():
            # the store as it is: raw copy of its datasets (chunks are not recompressed)
            with _read(path) as main:
                for group in ("samples", "features", "failed"):
                    main.copy(main[group], out, name=group)
                seen = set(_ids(main, "samples"))
                old_failed = _ids(main, "failed")
            _write_root_attrs(out, root_attrs)
        else:
            _create_layout(out, infos or [], root_attrs)
            seen = set()
            old_failed = np.zeros(0, dtype=object)
        n_before = len(seen)
        for shard in shards:
            with _read(shard) as f:
                added += _copy_rows(f, out, seen, "samples", infos or [])
        # a sample that succeeded on a retry is no longer failed
        if any(i in seen for i in old_failed):
            _drop_failed(out, seen)
        seen_failed = set(seen) | set(old_failed)
        for shard in shards:
            with _read(shard) as f:
                _copy_rows(f, out, seen_failed, "failed", [])
        assert len(seen) == n_before + added
    for shard in shards:
        shard.unlink()
    if parts.is_dir() and not any(parts.iterdir()):
        parts.rmdir()
    return added


def _drop_failed(out: h5py.File, ids: set[str]) -> None:
    """Rewrite the (small) ``/failed`` group of ``out`` without the rows of ``ids``."""
    g = out["failed"]
    keep = np.array([i not in ids for i in _read_strings(g["sample_id"])], dtype=bool)
    columns = {
        name: (_read_strings(ds) if ds.dtype.kind == "O" else ds[...])[keep]
        for name, ds in g.items()
    }
    for name, values in columns.items():
        ds = g[name]
        ds.resize(len(values), axis=0)
        if len(values):
            ds[...] = values


def _block_rows(width: int) -> int:
    """Rows per block when copying: at most 4096 and about 4 MiB of float64."""
    return int(max(1, min(_COPY_ROWS, (4 << 20) // (8 * max(1, width)))))


def _copy_rows(
    f: h5py.File, out: h5py.File, seen: set[str], group: str, infos: Sequence[ExtractorInfo]
) -> int:
    src = f[group]
    n = src["sample_id"].shape[0]
    copied = 0
    step = _block_rows(sum(len(i.feature_names) for i in infos))
    for start in range(0, n, step):
        stop = min(n, start + step)
        ids = _read_strings(src["sample_id"], start, stop)
        keep = np.array([i not in seen for i in ids], dtype=bool)
        # a sample listed twice inside one chunk keeps its first row
        for pos, i in enumerate(ids):
            if keep[pos]:
                if i in seen:
                    keep[pos] = False
                seen.add(i)
        if not keep.any():
            continue
        for name, ds in src.items():
            values = _read_strings(ds, start, stop) if ds.dtype.kind == "O" else ds[start:stop]
            _append(out[group][name], values[keep])
        for info in infos:
            _append(out["features"][info.name], f["features"][info.name][start:stop][keep])
        copied += int(keep.sum())
    return copied


def stored_ids(path: str | os.PathLike[str], *, include_failed: bool = True) -> set[str]:
    """Sample ids in the logical store (file plus shards), optionally with the failed ones."""
    path = Path(path)
    ids: set[str] = set()
    for src in ([path] if path.exists() else []) + _shards(path):
        with _read(src) as f:
            _check_format(f, src)
            ids.update(_ids(f, "samples"))
            if include_failed:
                ids.update(_ids(f, "failed"))
    return ids


@dataclass
class FeatureSet:
    """Features of a store with their metadata (numpy only).

    Attributes
    ----------
    X : ndarray, shape (n_samples, n_features)
        The features of the chosen extractors side by side (float64 unless asked otherwise).
    y : ndarray of int8, shape (n_samples,)
        1 for bona fide, 0 for attack.
    metadata : dict of str to ndarray
        One array per column of :data:`SAMPLE_COLUMNS` (strings as object arrays, ``""`` for
        none; ``frame_index`` -1 for an image).
    feature_names : list of str
        ``"<extractor>__<feature>"`` for each column of ``X``.
    extractors : list of ExtractorInfo
        In column order.
    failed : dict of str to ndarray
        The failed samples (columns :data:`FAILED_COLUMNS`).
    attrs : dict
        The store's root attributes (dataset, protocol, package version, ...).
    """

    X: NDArray[np.floating]
    y: NDArray[np.int8]
    metadata: dict[str, NDArray[Any]]
    feature_names: list[str]
    extractors: list[ExtractorInfo] = field(default_factory=list)
    failed: dict[str, NDArray[Any]] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.X.shape[0])

    @property
    def sample_id(self) -> NDArray[np.object_]:
        return self.metadata["sample_id"]

    def columns(self, extractor: str) -> slice:
        """Columns of ``X`` that hold the features of ``extractor``."""
        start = 0
        for info in self.extractors:
            stop = start + len(info.feature_names)
            if info.name == extractor:
                return slice(start, stop)
            start = stop
        raise ConfigurationError(
            f"no extractor {extractor!r}; this set has {[i.name for i in self.extractors]}"
        )

    def subset(
        self,
        mask: NDArray[np.bool_] | Sequence[int] | None = None,
        *,
        extractors: Sequence[str] | None = None,
        **columns: str | Sequence[str],
    ) -> FeatureSet:
        """Rows and extractors to keep.

        Parameters
        ----------
        mask : boolean array or index sequence, optional
        extractors : sequence of str, optional
            Keep only these extractors' columns, in this order.
        **columns
            ``column=value`` or ``column=[values]`` filters on metadata columns, e.g.
            ``split="train"``, ``label="attack"``, ``subject=["0001", "0002"]``.

        Examples
        --------
        >>> import numpy as np
        >>> split = np.array(["train", "test", "train"], object)
        >>> fs = FeatureSet(np.eye(3), np.array([1, 0, 0], np.int8), {"split": split},
        ...                 ["a", "b", "c"])
        >>> fs.subset(split="train").X.tolist()
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
        """
        keep = np.ones(len(self), dtype=bool)
        if mask is not None:
            m = np.asarray(mask)
            if m.dtype == bool:
                if m.shape != keep.shape:
                    raise ConfigurationError(f"mask has shape {m.shape}, expected {keep.shape}")
                keep &= m
            else:
                sel = np.zeros(len(self), dtype=bool)
                sel[m.astype(np.intp)] = True
                keep &= sel
        for column, wanted in columns.items():
            if column == "y":
                values = self.y
            elif column in self.metadata:
                values = self.metadata[column]
            else:
                raise ConfigurationError(f"no metadata column {column!r}")
            wanted_list = [wanted] if isinstance(wanted, (str, int)) else list(wanted)
            keep &= np.isin(values.astype(str), [str(w) for w in wanted_list])
        idx = np.flatnonzero(keep)
        infos = self.extractors
        cols: NDArray[np.intp] | slice = slice(None)
        names = self.feature_names
        if extractors is not None:
            infos = [next(i for i in self.extractors if i.name == e) for e in extractors
                     if any(i.name == e for i in self.extractors)]
            if len(infos) != len(extractors):
                raise ConfigurationError(f"unknown extractor in {list(extractors)}")
            cols = np.concatenate(
                [np.arange(self.columns(i.name).start, self.columns(i.name).stop) for i in infos]
            ).astype(np.intp)
            names = [self.feature_names[c] for c in cols]
        X = self.X[idx] if isinstance(cols, slice) else self.X[np.ix_(idx, cols)]
        return FeatureSet(
            X=X,
            y=self.y[idx],
            metadata={k: v[idx] for k, v in self.metadata.items()},
            feature_names=list(names),
            extractors=list(infos),
            failed=self.failed,
            attrs=self.attrs,
        )


def read_failed(path: str | os.PathLike[str]) -> dict[str, NDArray[Any]]:
    """The failed samples of a store (file plus shards), column by column.

    A sample stored by any source (a retry that succeeded, not yet merged) is not failed.
    """
    path = Path(path)
    out: dict[str, list[NDArray[Any]]] = {c: [] for c in FAILED_COLUMNS}
    seen = stored_ids(path, include_failed=False)
    for src in ([path] if path.exists() else []) + _shards(path):
        with _read(src) as f:
            _check_format(f, src)
            g = f["failed"]
            ids = _read_strings(g["sample_id"])
            keep = np.array([i not in seen for i in ids], dtype=bool)
            seen.update(ids)
            for c in FAILED_COLUMNS:
                values = g[c][...] if c == "frame_index" else _read_strings(g[c])
                out[c].append(values[keep])
    return {
        c: (np.concatenate(v) if v else np.zeros(0, np.int64 if c == "frame_index" else object))
        for c, v in out.items()
    }


def read_features(
    path: str | os.PathLike[str],
    extractors: Sequence[str] | None = None,
    *,
    dtype: type[np.floating] | np.dtype[Any] = np.float64,
) -> FeatureSet:
    """Read a store (the file and any unmerged shards) into a :class:`FeatureSet`.

    Memory: ``X`` is allocated once at its final size and filled chunk by chunk, so reading
    needs about the size of ``X`` plus the metadata (``dtype=np.float32`` halves it).

    Parameters
    ----------
    path : path
        The store file.
    extractors : sequence of str, optional
        Extractors to read, in this column order (default: all, in stored order).
    dtype : float dtype
        dtype of ``X``.

    Raises
    ------
    FeatureStoreError
        If the store is missing or malformed.
    """
    path = Path(path)
    sources = ([path] if path.exists() else []) + _shards(path)
    if not sources:
        raise FeatureStoreError(f"no feature store at {path}")
    with _read(sources[0]) as f:
        _check_format(f, sources[0])
        all_infos = _extractor_infos(f)
        attrs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in f.attrs.items()}
    if extractors is None:
        infos = all_infos
    else:
        known = {i.name: i for i in all_infos}
        missing = [e for e in extractors if e not in known]
        if missing:
            raise FeatureStoreError(f"{path} has no extractor {missing}; it has {list(known)}")
        infos = [known[e] for e in extractors]
    widths = [len(i.feature_names) for i in infos]
    # first pass: which rows of each source to keep (dedupe by sample id)
    seen: set[str] = set()
    keeps: list[NDArray[np.bool_]] = []
    for src in sources:
        with _read(src) as f:
            _check_format(f, src)
            ids = _ids(f, "samples")
            keep = np.ones(len(ids), dtype=bool)
            for pos, i in enumerate(ids):
                if i in seen:
                    keep[pos] = False
                seen.add(i)
            keeps.append(keep)
    n = int(sum(int(k.sum()) for k in keeps))
    X = np.empty((n, sum(widths)), dtype=dtype)
    meta: dict[str, list[NDArray[Any]]] = {c: [] for c in SAMPLE_COLUMNS}
    row = 0
    for src, keep in zip(sources, keeps):
        with _read(src) as f:
            absent = [i.name for i in infos if i.name not in f["features"]]
            if absent:
                raise FeatureStoreError(f"{src} has no features {absent} (another extraction?)")
            g = f["samples"]
            for c in SAMPLE_COLUMNS:
                values = _read_strings(g[c]) if c in STRING_COLUMNS else g[c][...]
                meta[c].append(values[keep])
            m = len(keep)
            step = _block_rows(sum(widths))
            for start in range(0, m, step):
                stop = min(m, start + step)
                k = keep[start:stop]
                count = int(k.sum())
                if not count:
                    continue
                col = 0
                for info, w in zip(infos, widths):
                    ds = f["features"][info.name]
                    if k.all():  # straight into X, no intermediate block
                        dest = np.s_[row : row + count, col : col + w]
                        ds.read_direct(X, np.s_[start:stop], dest)
                    else:
                        X[row : row + count, col : col + w] = ds[start:stop][k]
                    col += w
                row += count
    metadata = {c: np.concatenate(v) for c, v in meta.items()}
    y = metadata.pop("y").astype(np.int8)
    metadata["y"] = y
    names = [f"{i.name}__{fn}" for i in infos for fn in i.feature_names]
    return FeatureSet(
        X=X,
        y=y,
        metadata=metadata,
        feature_names=names,
        extractors=list(infos),
        failed=read_failed(path),
        attrs=attrs,
    )


def _config_json(extractor: Any) -> str:
    params = extractor.get_params(deep=False) if hasattr(extractor, "get_params") else {}
    return json.dumps(params, sort_keys=True, default=repr)


def extractor_info(name: str, extractor: Any) -> ExtractorInfo:
    """:class:`ExtractorInfo` of a fitted or stateless scikit-learn transformer."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ConfigurationError(f"extractor name {name!r}: use letters, digits, _ . -")
    try:
        names = tuple(str(v) for v in extractor.get_feature_names_out())
    except Exception as exc:  # an extractor must name its features up front
        raise ConfigurationError(
            f"extractor {name!r} ({type(extractor).__name__}) cannot give "
            f"get_feature_names_out(): {exc}"
        ) from exc
    cls = type(extractor)
    path = f"{cls.__module__}.{cls.__qualname__}"
    return ExtractorInfo(name, names, _config_json(extractor), path)


def new_shard_name() -> str:
    """A shard name unique across processes and time."""
    return f"shard-{time.time_ns():020d}-{os.getpid()}"


def store_extractors(path: str | os.PathLike[str]) -> list[ExtractorInfo] | None:
    """Extractors of the logical store at ``path``, or ``None`` when there is no store."""
    path = Path(path)
    sources = ([path] if path.exists() else []) + _shards(path)
    if not sources:
        return None
    with _read(sources[0]) as f:
        _check_format(f, sources[0])
        return _extractor_infos(f)
