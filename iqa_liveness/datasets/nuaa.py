"""NUAA Photograph Imposter Database (Tan et al., ECCV 2010).

Layout (from the database's ``readme.txt`` and the distributed archive)::

    <root>/                      raw scenes (default variant "raw")
        ClientRaw/<subject>/<file>.jpg       bona fide webcam captures
        ImposterRaw/<subject>/<file>.jpg     printed-photo attacks
        client_train_raw.txt  imposter_train_raw.txt      official training lists
        client_test_raw.txt   imposter_test_raw.txt       official test lists
    face-crop variants, same scheme:
        ClientFace/ ImposterFace/ client_{train,test}_face.txt ...            ("face")
        ClientNormalized/ ImposterNormalized/ client_{train,test}_normalized.txt ("normalized")

The variant's directories are looked for in ``root`` and in its immediate sub-directories (the
archive ships them as ``raw/``, ``Detectedface/`` and ``NormalizedFace/``). List rows are
``<subject>/<file>`` relative to the Client/Imposter directory, with ``/`` or ``\\``
separators and CRLF or LF line ends (both occur in copies of the database).

File names are ``ID_glasses_position_session_picture.jpg`` (``readme.txt``): subject
``0001``-``0016``, glasses ``00``/``01``, position/lighting ``01``-``08``, session
``01``-``03``. The official split is by session: training lists hold sessions 01-02, test lists
session 03. All attacks are hand-held printed photographs (``attack_type="print"``).

Protocol ``"official"``: splits ``train`` and ``test`` from the lists (no dev set; for model
selection use subject-disjoint folds of the training split).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError, DatasetError
from .base import ATTACK, BONA_FIDE, Dataset, Entry, read_list_file

__all__ = ["NUAA"]

_VARIANTS = {
    "raw": ("ClientRaw", "ImposterRaw", "raw"),
    "face": ("ClientFace", "ImposterFace", "face"),
    "normalized": ("ClientNormalized", "ImposterNormalized", "normalized"),
}


def parse_nuaa_name(name: str) -> dict[str, str] | None:
    """Fields of a NUAA file name ``ID_glasses_position_session_picture.jpg``.

    Examples
    --------
    >>> parse_nuaa_name("0010_01_05_03_115.jpg")["session"]
    '03'
    """
    parts = Path(name).stem.split("_")
    if len(parts) != 5 or not all(p.isdigit() for p in parts):
        return None
    keys = ("subject", "glasses", "position", "session", "picture")
    return dict(zip(keys, parts))


class NUAA(Dataset):
    """NUAA Photograph Imposter Database manager.

    Parameters
    ----------
    root : path
        Directory holding ``ClientRaw``/``ImposterRaw`` (or the face-crop directories), or a
        parent of such directories.
    variant : {"raw", "face", "normalized"}
        Raw 640x480 scenes, detected face crops, or the normalised 64x64 faces.
    **options
        Passed to :class:`~iqa_liveness.datasets.base.Dataset` (``missing``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "ClientRaw" / "0001").mkdir(parents=True)
    >>> (root / "ImposterRaw" / "0001").mkdir(parents=True)
    >>> _ = (root / "client_train_raw.txt").write_text("0001\\\\0001_00_00_01_0.jpg\\r\\n")
    >>> _ = (root / "imposter_train_raw.txt").write_text("")
    >>> _ = (root / "ClientRaw/0001/0001_00_00_01_0.jpg").write_bytes(b"")
    >>> [(s.sample_id, s.label, s.subject, s.session) for s in NUAA(root).samples("train")]
    [('ClientRaw/0001/0001_00_00_01_0.jpg', 'bona_fide', '0001', '01')]
    """

    name = "nuaa"
    protocols = ("official",)
    splits = ("train", "test")

    def __init__(self, root: str | os.PathLike[str], *, variant: str = "raw", **options: Any):
        super().__init__(root, **options)
        if variant not in _VARIANTS:
            raise ConfigurationError(f"nuaa: variant must be one of {sorted(_VARIANTS)}")
        self.variant = variant
        client, imposter, _ = _VARIANTS[variant]
        candidates = [self.root, *sorted(p for p in self.root.iterdir() if p.is_dir())]
        for base in candidates:
            if (base / client).is_dir() or (base / imposter).is_dir():
                self.base = base
                break
        else:
            raise DatasetError(
                f"nuaa: no {client}/ or {imposter}/ directory in {self.root} or its sub-directories"
            )

    def _list_path(self, kind: str, split: str) -> Path:
        return self.base / f"{kind}_{split}_{_VARIANTS[self.variant][2]}.txt"

    def available_splits(self) -> list[str]:
        """Splits whose two list files are present."""
        return [
            s
            for s in self.splits
            if self._list_path("client", s).is_file() and self._list_path("imposter", s).is_file()
        ]

    def _entries(self, protocol: str, split: str | None) -> Iterator[Entry]:
        available = self.available_splits()
        if split is not None and split not in available:
            raise DatasetError(
                f"nuaa: the {split} lists ({self._list_path('client', split).name}, "
                f"{self._list_path('imposter', split).name}) are not in {self.base}"
            )
        if not available:
            raise DatasetError(f"nuaa: no list files (client_train_*.txt ...) in {self.base}")
        client, imposter, _ = _VARIANTS[self.variant]
        for s in [split] if split is not None else available:
            kinds = (("client", client, BONA_FIDE), ("imposter", imposter, ATTACK))
            for kind, folder, label in kinds:
                for row in read_list_file(self._list_path(kind, s)):
                    path = self.base / folder / row
                    fields = parse_nuaa_name(row.rsplit("/", 1)[-1])
                    folder_subject = row.split("/")[0] if "/" in row else None
                    subject = fields["subject"] if fields else folder_subject
                    yield Entry(
                        path=path,
                        label=label,
                        attack_type=None if label == BONA_FIDE else "print",
                        subject=subject,
                        session=fields["session"] if fields else None,
                        split=s,
                    )
