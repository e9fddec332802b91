"""An HDF5 cache of decoded frames, for repeated experiments on video databases.

Decoding a video database takes longer than most feature extractors; :func:`build_frame_cache`
decodes the frames of a sample list once and stores them, and :class:`FrameCache` serves them
back by ``sample_id`` (``extract_to_store(..., frame_cache=path)`` reads from it).

Layout (plain HDF5)::

    /                        attrs: format="iqa-liveness-frames", format_version=1,
                                    package_version
    /frames/<dtype>_<H>x<W>[x<C>]   (n, H, W[, C]) uint8 or uint16 frames of that shape,
                                    chunked one frame per chunk, gzip level 1
    /index/sample_id         (m,) strings
    /index/dataset           (m,) name of the frames dataset of each sample
    /index/position          (m,) int64 row in that dataset
    /failed/sample_id, /failed/reason   samples that could not be decoded

Frames are stored as decoded and rotated (what :meth:`Sample.load` returns). The file is
written under a temporary name and renamed when complete, so a killed build leaves either the
previous cache or none; a new build replaces the cache.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from numpy.typing import NDArray

from ..errors import FeatureStoreError, ImageReadError, IQALivenessError
from ..store import atomic_hdf5
from .base import Sample, group_by_source, iter_sample_images

__all__ = ["FrameCache", "CacheReport", "build_frame_cache"]

FORMAT = "iqa-liveness-frames"
_STR = h5py.string_dtype("utf-8")


@dataclass(frozen=True)
class CacheReport:
    """Result of :func:`build_frame_cache`: counts and the failed ``(sample_id, reason)``."""

    path: str
    n_cached: int
    failed: tuple[tuple[str, str], ...]


def _dataset_name(frame: NDArray[Any]) -> str:
    return f"{frame.dtype.name}_{'x'.join(str(v) for v in frame.shape)}"


def build_frame_cache(
    samples: Iterable[Sample], path: str | os.PathLike[str], *, progress: bool = False
) -> CacheReport:
    """Decode every sample once and store its frame in the cache ``path`` (replaced).

    Samples that cannot be decoded are recorded in ``/failed`` and left out.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, cv2
    >>> from iqa_liveness.datasets import get_dataset
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "real").mkdir()
    >>> _ = cv2.imwrite(str(root / "real" / "a.png"), np.full((8, 9), 7, np.uint8))
    >>> samples = list(get_dataset("folder", root).samples())
    >>> build_frame_cache(samples, root / "frames.h5").n_cached
    1
    >>> FrameCache(root / "frames.h5").load(samples[0]).shape
    (8, 9)
    """
    from .. import __version__

    path = Path(path)
    samples = list(samples)
    ids: list[str] = []
    names: list[str] = []
    positions: list[int] = []
    failed: list[tuple[str, str]] = []
    try:
        with atomic_hdf5(path) as f:
            f.attrs["format"] = FORMAT
            f.attrs["format_version"] = 1
            f.attrs["package_version"] = __version__
            frames = f.create_group("frames")
            done = 0
            for group in group_by_source(samples):
                pending = {s.sample_id: s for s in group}
                try:
                    for s, image in iter_sample_images(group):
                        pending.pop(s.sample_id, None)
                        name = _dataset_name(image)
                        if name not in frames:
                            frames.create_dataset(
                                name, (0, *image.shape), dtype=image.dtype,
                                maxshape=(None, *image.shape), chunks=(1, *image.shape),
                                compression="gzip", compression_opts=1,
                            )
                        ds = frames[name]
                        ds.resize(ds.shape[0] + 1, axis=0)
                        ds[-1] = image
                        ids.append(s.sample_id)
                        names.append(name)
                        positions.append(ds.shape[0] - 1)
                except IQALivenessError as exc:
                    failed.extend((sid, f"{type(exc).__name__}: {exc}") for sid in pending)
                done += len(group)
                if progress:
                    print(f"\rcache: {done}/{len(samples)} samples", end="", file=sys.stderr)
            idx = f.create_group("index")
            idx.create_dataset("sample_id", data=np.array(ids, dtype=object), dtype=_STR)
            idx.create_dataset("dataset", data=np.array(names, dtype=object), dtype=_STR)
            idx.create_dataset("position", data=np.array(positions, dtype=np.int64))
            fg = f.create_group("failed")
            fg.create_dataset("sample_id", data=np.array([a for a, _ in failed], object),
                              dtype=_STR)
            fg.create_dataset("reason", data=np.array([b for _, b in failed], object),
                              dtype=_STR)
    finally:
        if progress:
            print(file=sys.stderr)
    return CacheReport(str(path), len(ids), tuple(failed))


class FrameCache:
    """Read access to a frame cache written by :func:`build_frame_cache`.

    Parameters
    ----------
    path : path
        The cache file.

    Raises
    ------
    FeatureStoreError
        If the file is missing or not a frame cache.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FeatureStoreError(f"no frame cache at {self.path}")
        with h5py.File(self.path, "r") as f:
            if f.attrs.get("format") != FORMAT:
                raise FeatureStoreError(f"{self.path} is not an iqa-liveness frame cache")
            ids = f["index/sample_id"].asstr()[...]
            names = f["index/dataset"].asstr()[...]
            positions = f["index/position"][...]
        self._index = {
            str(i): (str(n), int(p)) for i, n, p in zip(ids, names, positions)
        }
        self._file: h5py.File | None = None

    def __contains__(self, sample_id: object) -> bool:
        return sample_id in self._index

    def __len__(self) -> int:
        return len(self._index)

    def load(self, sample: Sample | str) -> NDArray[Any]:
        """The cached frame of a sample (or sample id).

        Raises
        ------
        ImageReadError
            If the sample is not in the cache.
        """
        sid = sample if isinstance(sample, str) else sample.sample_id
        if sid not in self._index:
            raise ImageReadError(f"{sid} is not in the frame cache {self.path}")
        name, position = self._index[sid]
        if self._file is None:
            self._file = h5py.File(self.path, "r")
        return np.asarray(self._file["frames"][name][position])

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __getstate__(self) -> dict[str, Any]:  # an open h5py file does not pickle
        state = self.__dict__.copy()
        state["_file"] = None
        return state
