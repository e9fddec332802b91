"""What every dataset manager gives: :class:`Sample` records, frame selection, video decoding.

A manager reads a database in its original layout, read-only. It turns the database's lists and
protocol files into *entries* (one per image or video file) and the base class expands each
video entry into one :class:`Sample` per selected frame.

Conventions
-----------
* ``label`` is the string ``"bona_fide"`` or ``"attack"`` (a contract).
* ``attack_type`` is ``None`` for bona fide samples, else the presentation-attack-instrument
  species in lower case: ``"print"``, ``"replay"``, ``"mask"``, ... (a manager may refine it,
  e.g. ``"replay"`` with ``device`` telling the replay device).
* ``sample_id`` is the source path relative to the database root, with ``/`` separators, plus
  ``#<frame>`` for video frames: stable across protocols, machines and runs, and unique.
* ``box`` is ``(x, y, width, height)`` and ``eyes`` is ``(x1, y1, x2, y2)``, the eye centres
  with the one on the image's left first (``x1 <= x2``; the subject's right eye in an
  unmirrored image), in pixels of the decoded frame, when the database gives them.
"""

from __future__ import annotations

import os
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import ClassVar, Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from ..errors import ConfigurationError, DatasetError, ImageReadError, VideoReadError
from ..image import read_image
from ..metrics import ATTACK, BONA_FIDE  # the label contract

__all__ = [
    "BONA_FIDE",
    "ATTACK",
    "VIDEO_EXTENSIONS",
    "Box",
    "Eyes",
    "Sample",
    "Entry",
    "Dataset",
    "DatasetWarning",
    "select_frames",
    "video_frame_count",
    "iter_video_frames",
    "read_video_frame",
    "load_sample",
    "iter_sample_images",
]

#: File name extensions treated as videos (lower case).
VIDEO_EXTENSIONS = frozenset({".avi", ".mov", ".mp4", ".m4v", ".mkv", ".webm", ".wmv", ".mpg"})
#: File name extensions treated as HDF5 containers of frames (3DMAD).
HDF5_EXTENSIONS = frozenset({".h5", ".hdf5"})

Box = tuple[int, int, int, int]
Eyes = tuple[float, float, float, float]
Missing = Literal["report", "raise", "skip"]


class DatasetWarning(UserWarning):
    """A database has a problem that does not stop enumeration (missing file, bad video)."""


@dataclass(frozen=True)
class Sample:
    """One image or one video frame of a database, with its ground truth.

    Attributes
    ----------
    sample_id : str
        Stable, unique id: path relative to the database root (``/`` separators), plus
        ``#<frame>`` for a video frame.
    source : str
        Absolute path of the image, video or HDF5 file.
    label : {"bona_fide", "attack"}
    attack_type : str or None
        ``None`` for bona fide; ``"print"``, ``"replay"``, ``"mask"``, ... for attacks.
    subject, session, device : str or None
        As the database gives them.
    split : str or None
        ``"train"``, ``"dev"``, ``"test"``, or ``None`` outside any protocol.
    frame_index : int or None
        0-based frame of a video or HDF5 stream; ``None`` for an image file.
    box : (x, y, width, height) or None
        Face box given by the database, in pixels of the decoded frame.
    eyes : (x1, y1, x2, y2) or None
        Eye centres given by the database, the one on the image's left first.
    stream : str or None
        Dataset inside an HDF5 container (3DMAD: ``"Color_Data"`` or ``"Depth_Data"``).
    rotation : int
        Clockwise rotation in degrees (0, 90, 180, 270) applied after decoding.
    """

    sample_id: str
    source: str
    label: str
    attack_type: str | None = None
    subject: str | None = None
    session: str | None = None
    device: str | None = None
    split: str | None = None
    frame_index: int | None = None
    box: Box | None = None
    eyes: Eyes | None = None
    stream: str | None = None
    rotation: int = 0

    @property
    def is_bona_fide(self) -> bool:
        """``True`` for a bona fide presentation."""
        return self.label == BONA_FIDE

    def load(self) -> NDArray[np.generic]:
        """Decode the image or frame: grey ``(H, W)`` or RGB ``(H, W, 3)``."""
        return load_sample(self)


@dataclass(frozen=True)
class Entry:
    """One file of a database, before frame expansion (what a manager's ``_entries`` yields).

    ``annotations``, when given, is called once and returns ``(boxes, eyes)``: mappings from
    frame index (``0`` for an image) to the box and the eye positions of that frame.
    """

    path: Path
    label: str
    attack_type: str | None = None
    subject: str | None = None
    session: str | None = None
    device: str | None = None
    split: str | None = None
    stream: str | None = None
    rotation: int = 0
    n_frames: int | None = None
    annotations: Callable[[], tuple[Mapping[int, Box], Mapping[int, Eyes]]] | None = field(
        default=None, compare=False
    )

    @property
    def is_video(self) -> bool:
        suffix = self.path.suffix.lower()
        return suffix in VIDEO_EXTENSIONS or suffix in HDF5_EXTENSIONS


#: Fields a :class:`Sample` takes over from its :class:`Entry` (label, subject, ...).
_INHERITED = tuple(f.name for f in fields(Entry) if f.name in Sample.__dataclass_fields__)


def select_frames(
    n_frames: int,
    *,
    every: int = 1,
    max_frames: int | None = None,
    indices: Sequence[int] | None = None,
) -> list[int]:
    """Indices of the frames to use from a video of ``n_frames`` frames.

    Parameters
    ----------
    n_frames : int
        Number of frames of the video.
    every : int
        Take every ``every``-th frame, starting at frame 0.
    max_frames : int, optional
        Keep at most this many of them (the first ones).
    indices : sequence of int, optional
        Explicit 0-based frame indices (negative ones count from the end); overrides ``every``.
        Indices past the end are dropped.

    Examples
    --------
    >>> select_frames(10, every=3)
    [0, 3, 6, 9]
    >>> select_frames(10, every=2, max_frames=3)
    [0, 2, 4]
    >>> select_frames(10, indices=[0, -1, 42])
    [0, 9]
    """
    if every < 1:
        raise ConfigurationError(f"every must be >= 1, got {every}")
    if max_frames is not None and max_frames < 1:
        raise ConfigurationError(f"max_frames must be >= 1, got {max_frames}")
    if indices is not None:
        chosen = sorted({i + n_frames if i < 0 else i for i in indices})
        chosen = [i for i in chosen if 0 <= i < n_frames]
    else:
        chosen = list(range(0, n_frames, every))
    if max_frames is not None:
        chosen = chosen[:max_frames]
    return chosen


def _open_video(path: str | os.PathLike[str]) -> cv2.VideoCapture:
    p = Path(path)
    if not p.is_file():
        raise VideoReadError(f"video file not found: {p}")
    cap = cv2.VideoCapture(str(p))
    if not cap.isOpened():
        cap.release()
        raise VideoReadError(f"cannot open video file: {p}")
    return cap


def video_frame_count(path: str | os.PathLike[str]) -> int:
    """Number of frames of a video (from its header; counted by decoding when absent).

    Raises
    ------
    VideoReadError
        If the file is missing, cannot be opened, or holds no decodable frame.
    """
    p = Path(path)
    if p.suffix.lower() in HDF5_EXTENSIONS:
        raise ConfigurationError(f"{p} is an HDF5 container; its manager gives the frame count")
    cap = _open_video(p)
    try:
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        if n <= 0:
            n = 0
            while cap.grab():
                n += 1
    finally:
        cap.release()
    if n <= 0:
        raise VideoReadError(f"video holds no decodable frame: {p}")
    return n


def _rotate(image: NDArray[np.generic], rotation: int) -> NDArray[np.generic]:
    codes = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
    if rotation % 360 == 0:
        return image
    if rotation % 360 not in codes:
        raise ConfigurationError(f"rotation must be a multiple of 90 degrees, got {rotation}")
    return np.ascontiguousarray(cv2.rotate(image, codes[rotation % 360]))  # type: ignore[arg-type]


def _bgr_to_rgb(frame: NDArray[np.generic]) -> NDArray[np.generic]:
    if frame.ndim == 3 and frame.shape[2] == 3:
        return np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))  # type: ignore[arg-type]
    if frame.ndim == 3 and frame.shape[2] == 1:
        return np.ascontiguousarray(frame[:, :, 0])
    return frame


def iter_video_frames(
    path: str | os.PathLike[str], indices: Iterable[int], *, rotation: int = 0
) -> Iterator[tuple[int, NDArray[np.generic]]]:
    """Decode the listed frames of a video in one sequential pass; yield ``(index, rgb)``.

    Frames are decoded in order (``grab`` for skipped frames, ``retrieve`` for wanted ones),
    which is exact for every codec, unlike seeking.

    Raises
    ------
    VideoReadError
        If the video cannot be opened, or ends before a wanted frame (the message names the
        path and the frame).
    """
    wanted = sorted(set(int(i) for i in indices))
    if not wanted:
        return
    if wanted[0] < 0:
        raise ConfigurationError(f"frame indices must be >= 0, got {wanted[0]}")
    cap = _open_video(path)
    try:
        position = 0
        for index in wanted:
            while position < index:
                if not cap.grab():
                    raise VideoReadError(f"video {path} ends before frame {index} ({position})")
                position += 1
            ok, frame = cap.read()
            position += 1
            if not ok or frame is None:
                raise VideoReadError(f"cannot decode frame {index} of video {path}")
            yield index, _rotate(_bgr_to_rgb(frame), rotation)
    finally:
        cap.release()


def read_video_frame(
    path: str | os.PathLike[str], index: int, *, rotation: int = 0
) -> NDArray[np.generic]:
    """Decode one frame of a video as RGB (see :func:`iter_video_frames`)."""
    for _, frame in iter_video_frames(path, [index], rotation=rotation):
        return frame
    raise VideoReadError(f"cannot decode frame {index} of video {path}")  # pragma: no cover


def _read_hdf5_frames(
    path: str, stream: str | None, indices: Sequence[int]
) -> Iterator[tuple[int, NDArray[np.generic]]]:
    import h5py

    if not Path(path).is_file():
        raise ImageReadError(f"HDF5 file not found: {path}")
    try:
        with h5py.File(path, "r") as f:
            name = stream or "Color_Data"
            if name not in f:
                raise ImageReadError(f"{path} has no dataset {name!r}")
            data = f[name]
            for index in sorted(set(indices)):
                if not 0 <= index < data.shape[0]:
                    raise ImageReadError(f"{path}:{name} has no frame {index}")
                yield index, _hdf5_frame_to_image(np.asarray(data[index]))
    except OSError as exc:
        raise ImageReadError(f"cannot read HDF5 file {path}: {exc}") from exc


def _hdf5_frame_to_image(frame: NDArray[np.generic]) -> NDArray[np.generic]:
    # 3DMAD stores colour frames planar, (3, H, W) RGB, and depth as (H, W) uint16/float.
    if frame.ndim == 3 and frame.shape[0] == 3 and frame.shape[2] != 3:
        frame = np.transpose(frame, (1, 2, 0))
    if frame.dtype not in (np.uint8, np.uint16):
        # depth maps in millimetres (integer or float): uint16, the package's 16-bit input
        if not np.issubdtype(frame.dtype, np.floating) or float(np.nanmax(frame)) > 1.0:
            frame = np.clip(np.nan_to_num(frame), 0, 65535).round().astype(np.uint16)
    return np.ascontiguousarray(frame)


def load_sample(sample: Sample) -> NDArray[np.generic]:
    """Decode the image or frame of ``sample``: grey ``(H, W)`` or RGB ``(H, W, 3)``.

    Raises
    ------
    ImageReadError
        (or its subclass :class:`VideoReadError`) naming the path when decoding fails.
    """
    for _, image in iter_sample_images([sample]):
        return image
    raise ImageReadError(f"cannot read {sample.source}")  # pragma: no cover


def group_by_source(samples: Iterable[Sample]) -> list[list[Sample]]:
    """Samples grouped by source file and stream, the groups in order of first appearance and
    each in input order: the units :func:`iter_sample_images` decodes (a video in one pass)."""
    groups: dict[tuple[str, str | None], list[Sample]] = {}
    for s in samples:
        groups.setdefault((s.source, s.stream), []).append(s)
    return list(groups.values())


def iter_sample_images(
    samples: Sequence[Sample],
) -> Iterator[tuple[Sample, NDArray[np.generic]]]:
    """Decode the images of samples that share one ``source`` (in one pass for videos).

    Yields ``(sample, image)`` in order of frame index. All samples must come from the same
    source file and stream. Errors are raised, naming the path.
    """
    if not samples:
        return
    first = samples[0]
    if any(s.source != first.source or s.stream != first.stream for s in samples):
        raise ConfigurationError("iter_sample_images needs samples of one source")
    suffix = Path(first.source).suffix.lower()
    if first.frame_index is None:
        for s in samples:
            yield s, _rotate(read_image(s.source), s.rotation)
        return
    by_index: dict[int, list[Sample]] = {}
    for s in samples:
        by_index.setdefault(int(s.frame_index or 0), []).append(s)
    frames: Iterator[tuple[int, NDArray[np.generic]]]
    if suffix in HDF5_EXTENSIONS:
        frames = (
            (i, _rotate(img, first.rotation))
            for i, img in _read_hdf5_frames(first.source, first.stream, list(by_index))
        )
    else:
        frames = iter_video_frames(first.source, by_index, rotation=first.rotation)
    for index, image in frames:
        for s in by_index[index]:
            yield s, image


class Dataset(ABC):
    """A face PAD database in its original layout.

    Parameters
    ----------
    root : path
        Directory of the database as distributed.
    every, max_frames, frame_indices
        Frame selection for videos (see :func:`select_frames`): every ``every``-th frame, at
        most ``max_frames`` frames, or the listed 0-based ``frame_indices``.
    missing : {"report", "raise", "skip"}
        What to do with a listed file that does not exist or a video that cannot be decoded.
        ``"report"`` (default) warns with :class:`DatasetWarning`, naming the paths, and still
        yields the sample, so that a feature extraction records it as failed with the reason;
        ``"skip"`` warns and leaves it out; ``"raise"`` raises :class:`DatasetError`. Every
        problem is also kept in :attr:`problems` as ``(path, reason)``.
    """

    #: Registry name (``get_dataset(name, ...)``).
    name: ClassVar[str] = ""
    #: Protocol names, the first is the default.
    protocols: ClassVar[tuple[str, ...]] = ("default",)
    #: Split names the protocols use.
    splits: ClassVar[tuple[str, ...]] = ("train", "dev", "test")

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        every: int = 1,
        max_frames: int | None = None,
        frame_indices: Sequence[int] | None = None,
        missing: Missing = "report",
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"{type(self).__name__}: dataset root is not a directory: {root}")
        if missing not in ("report", "raise", "skip"):
            raise ConfigurationError(f"missing must be report, raise or skip, got {missing!r}")
        select_frames(1, every=every, max_frames=max_frames)  # validates the parameters
        self.every = every
        self.max_frames = max_frames
        self.frame_indices = None if frame_indices is None else tuple(frame_indices)
        self.missing = missing
        self.problems: list[tuple[str, str]] = []
        self._frame_counts: dict[Path, int] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.root)!r})"

    def available_protocols(self) -> tuple[str, ...]:
        """Protocol names of this copy of the database, the default first."""
        return self.protocols

    @property
    def default_protocol(self) -> str:
        return self.available_protocols()[0]

    def check_protocol(self, protocol: str | None) -> str:
        """The protocol name to use (the default for ``None``); raise for an unknown one."""
        if protocol is None:
            return self.default_protocol
        known = self.available_protocols()
        if protocol not in known:
            raise ConfigurationError(
                f"{self.name}: unknown protocol {protocol!r}; known: {', '.join(known)}"
            )
        return protocol

    def check_split(self, split: str | None) -> str | None:
        if split is not None and split not in self.splits:
            raise ConfigurationError(
                f"{self.name}: unknown split {split!r}; known: {', '.join(self.splits)}"
            )
        return split

    @abstractmethod
    def _entries(self, protocol: str, split: str | None) -> Iterable[Entry]:
        """Files of ``split`` (all splits for ``None``) under ``protocol``."""

    def samples(self, split: str | None = None, protocol: str | None = None) -> Iterator[Sample]:
        """Samples of ``split`` (every split of the protocol for ``None``) under ``protocol``.

        Raises
        ------
        ConfigurationError
            For an unknown protocol or split.
        DatasetError
            When the database's lists are missing or malformed, or (``missing="raise"``) a
            listed file is missing or a video cannot be decoded.
        """
        protocol = self.check_protocol(protocol)
        split = self.check_split(split)
        problems: list[tuple[str, str]] = []
        for entry in self._entries(protocol, split):
            yield from self._expand(entry, problems)
        if problems:
            self.problems.extend(problems)
            shown = "; ".join(f"{p}: {r}" for p, r in problems[:5])
            more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
            action = "left out" if self.missing == "skip" else "kept, they will fail to load"
            warnings.warn(
                f"{self.name}: {len(problems)} listed file(s) unusable, {action}: {shown}{more}",
                DatasetWarning,
                stacklevel=2,
            )

    def summary(self, protocol: str | None = None) -> dict[str, dict[str, int]]:
        """Sample counts of ``protocol`` per split: bona fide, attack, and per attack type.

        Returns ``{split: {"bona_fide": n, "attack": n, "attack:<type>": n, "subjects": n}}``.
        Enumerates every sample (and opens every video for its frame count).
        """
        out: dict[str, dict[str, int]] = {}
        subjects: dict[str, set[str]] = {}
        for s in self.samples(protocol=protocol):
            split = s.split or ""
            counts = out.setdefault(split, {"bona_fide": 0, "attack": 0})
            counts[s.label] = counts.get(s.label, 0) + 1
            if s.label == ATTACK:
                key = f"attack:{s.attack_type or 'unknown'}"
                counts[key] = counts.get(key, 0) + 1
            if s.subject is not None:
                subjects.setdefault(split, set()).add(s.subject)
        for split, counts in out.items():
            counts["subjects"] = len(subjects.get(split, ()))
        return out

    def _problem(self, problems: list[tuple[str, str]], path: Path, reason: str) -> bool:
        """Record a problem; return whether the sample should still be yielded."""
        if self.missing == "raise":
            raise DatasetError(f"{self.name}: {path}: {reason}")
        problems.append((str(path), reason))
        return self.missing == "report"

    def relative_id(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def frame_count(self, entry: Entry) -> int:
        if entry.n_frames is not None:
            return entry.n_frames
        if entry.path not in self._frame_counts:
            self._frame_counts[entry.path] = video_frame_count(entry.path)
        return self._frame_counts[entry.path]

    def _expand(self, entry: Entry, problems: list[tuple[str, str]]) -> Iterator[Sample]:
        rel = self.relative_id(entry.path)
        boxes: Mapping[int, Box] = {}
        eyes: Mapping[int, Eyes] = {}
        if entry.annotations is not None:
            boxes, eyes = entry.annotations()
        common = {"source": str(entry.path), **{k: getattr(entry, k) for k in _INHERITED}}
        if not entry.is_video:
            if not entry.path.is_file() and not self._problem(problems, entry.path, "missing"):
                return
            yield Sample(sample_id=rel, frame_index=None, box=boxes.get(0), eyes=eyes.get(0),
                         **common)
            return
        try:
            if not entry.path.is_file():
                raise VideoReadError("missing")
            n = self.frame_count(entry)
            frames = select_frames(
                n, every=self.every, max_frames=self.max_frames, indices=self.frame_indices
            )
        except VideoReadError as exc:
            if not self._problem(problems, entry.path, str(exc)):
                return
            frames = [self.frame_indices[0] if self.frame_indices else 0]
        suffix = f"#{entry.stream}" if entry.stream else ""
        for i in frames:
            yield Sample(
                sample_id=f"{rel}{suffix}#{i}",
                frame_index=i,
                box=boxes.get(i),
                eyes=eyes.get(i),
                **common,
            )


def read_list_file(path: Path) -> list[str]:
    """Non-empty lines of a list file, stripped, with ``\\`` turned into ``/`` (CRLF or LF)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"cannot read list file {path}: {exc}") from exc
    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    return [line.strip().replace("\\", "/") for line in text.splitlines() if line.strip()]


def read_face_locations(path: Path, *, corners: bool = False) -> dict[int, Box]:
    """Per-frame face boxes from a ``.face`` file: rows ``frame x y w h`` (space or comma).

    With ``corners=True`` the rows are ``frame x1 y1 x2 y2`` (MSU-MFSD) and are turned into
    width and height. Rows whose box is empty (all zeros, width or height <= 0) are left out:
    the database found no face there. A missing file gives no boxes.
    """
    if not path.is_file():
        return {}
    boxes: dict[int, Box] = {}
    for line in read_list_file(path):
        parts = line.replace(",", " ").split()
        if len(parts) < 5:
            continue
        try:
            frame, a, b, c, d = (int(round(float(v))) for v in parts[:5])
        except ValueError:
            continue  # a header row
        w, h = (c - a, d - b) if corners else (c, d)
        if w > 0 and h > 0:
            boxes[frame] = (a, b, w, h)
    return boxes


def face_location_annotations(
    path: Path, *, corners: bool = False
) -> tuple[dict[int, Box], dict[int, Eyes]]:
    """:attr:`Entry.annotations` of a ``.face`` file: its boxes (:func:`read_face_locations`)
    and no eyes."""
    return read_face_locations(path, corners=corners), {}


def eye_annotations(
    rows: Iterable[tuple[int, Sequence[float]]],
) -> tuple[dict[int, Box], dict[int, Eyes]]:
    """:attr:`Entry.annotations` from ``(frame, (x1, y1, x2, y2))`` eye rows: no boxes and
    ``{frame: eyes}`` (:func:`ordered_eyes`; an all-zero row, no eyes found, is left out)."""
    eyes: dict[int, Eyes] = {}
    for frame, xy in rows:
        e = ordered_eyes(*(float(v) for v in xy[:4]))
        if e is not None:
            eyes[frame] = e
    return {}, eyes


def ordered_eyes(x1: float, y1: float, x2: float, y2: float) -> Eyes | None:
    """Two eye centres with the one on the image's left first; ``None`` when all are 0."""
    if x1 == y1 == x2 == y2 == 0:
        return None
    if x2 < x1:
        x1, y1, x2, y2 = x2, y2, x1, y1
    return (float(x1), float(y1), float(x2), float(y2))
