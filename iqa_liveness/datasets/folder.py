"""A generic folder of bona fide and attack images or videos.

Layout::

    <root>/<live|real|bona_fide|genuine>/**/<file>          bona fide
    <root>/<spoof|attack|fake|imposter>/<type>/**/<file>     attacks of species <type>
    <root>/<spoof|attack|fake|imposter>/<file>               attacks of unknown species
    <root>/subjects.csv                                      optional

Directory names are matched case-insensitively. Images are the files OpenCV reads (by
extension); videos (``.avi``, ``.mov``, ``.mp4``, ...) are expanded into frames.
``subjects.csv`` has a header row with a ``file`` column (path relative to ``root``, or a bare
file name) and any of ``subject``, ``session``, ``device``, ``split``; with a ``split`` column
``samples(split=...)`` selects on it.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import DatasetError
from .base import ATTACK, BONA_FIDE, VIDEO_EXTENSIONS, Dataset, Entry

__all__ = ["FolderDataset", "BONA_FIDE_DIRS", "ATTACK_DIRS", "IMAGE_EXTENSIONS"]

BONA_FIDE_DIRS = ("live", "real", "bona_fide", "genuine")
ATTACK_DIRS = ("spoof", "attack", "fake", "imposter")
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".jp2"}
)
UNKNOWN_ATTACK = "unknown"


class FolderDataset(Dataset):
    """Images or videos sorted into a bona fide and an attack directory.

    Parameters
    ----------
    root : path
    **options
        Frame selection and ``missing`` (see :class:`~iqa_liveness.datasets.base.Dataset`).

    Attacks directly in the attack directory get ``attack_type="unknown"``.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, cv2
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for d in ("real", "spoof/print"):
    ...     (root / d).mkdir(parents=True)
    ...     _ = cv2.imwrite(str(root / d / "a.png"), np.zeros((8, 8), np.uint8))
    >>> [(s.sample_id, s.label, s.attack_type) for s in FolderDataset(root).samples()]
    [('real/a.png', 'bona_fide', None), ('spoof/print/a.png', 'attack', 'print')]
    """

    name = "folder"
    protocols = ("all",)
    splits = ("train", "dev", "test")

    def __init__(self, root: str | os.PathLike[str], **options: Any) -> None:
        super().__init__(root, **options)
        self.bona_fide_dirs: list[Path] = []
        self.attack_dirs: list[Path] = []
        for child in sorted(self.root.iterdir()):
            if child.is_dir() and child.name.lower() in BONA_FIDE_DIRS:
                self.bona_fide_dirs.append(child)
            elif child.is_dir() and child.name.lower() in ATTACK_DIRS:
                self.attack_dirs.append(child)
        if not self.bona_fide_dirs and not self.attack_dirs:
            raise DatasetError(
                f"folder: {self.root} has neither a bona fide directory"
                f" ({', '.join(BONA_FIDE_DIRS)}) nor an attack directory ({', '.join(ATTACK_DIRS)})"
            )
        self.metadata = self._read_subjects(self.root / "subjects.csv")

    @staticmethod
    def _read_subjects(path: Path) -> dict[str, dict[str, str]]:
        if not path.is_file():
            return {}
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None or "file" not in reader.fieldnames:
                raise DatasetError(f"folder: {path} needs a header row with a 'file' column")
            table: dict[str, dict[str, str]] = {}
            for row in reader:
                key = (row.get("file") or "").strip().replace("\\", "/")
                if key:
                    table[key] = {k: (v or "").strip() for k, v in row.items() if k != "file"}
        return table

    def _files(self, directory: Path) -> list[Path]:
        return sorted(
            p
            for p in directory.rglob("*")
            if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS | VIDEO_EXTENSIONS
        )

    def _entries(self, protocol: str, split: str | None) -> Iterator[Entry]:
        has_split = any("split" in row for row in self.metadata.values())
        if split is not None and not has_split:
            raise DatasetError(
                f"folder: split {split!r} asked but {self.root}/subjects.csv has no 'split' column"
            )
        for label, dirs in ((BONA_FIDE, self.bona_fide_dirs), (ATTACK, self.attack_dirs)):
            for directory in dirs:
                for path in self._files(directory):
                    rel = path.relative_to(self.root).as_posix()
                    meta = self.metadata.get(rel) or self.metadata.get(path.name) or {}
                    if split is not None and meta.get("split") != split:
                        continue
                    attack_type = None
                    if label == ATTACK:
                        inner = path.relative_to(directory).parts
                        attack_type = inner[0].lower() if len(inner) > 1 else UNKNOWN_ATTACK
                    yield Entry(
                        path=path,
                        label=label,
                        attack_type=attack_type,
                        subject=meta.get("subject") or None,
                        session=meta.get("session") or None,
                        device=meta.get("device") or None,
                        split=meta.get("split") or None,
                    )
