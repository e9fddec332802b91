"""LCC-FASD, Large Crowd-Collected Face Anti-Spoofing Dataset (Timoshenko et al., VISAPP 2019).

Layout (the distributed archive, as its users load it)::

    <root>/LCC_FASD_training/{real,spoof}/<image>.png
    <root>/LCC_FASD_development/{real,spoof}/<image>.png
    <root>/LCC_FASD_evaluation/{real,spoof}/<image>.png

``root`` may also be the ``LCC_FASD`` directory's parent. Splits: ``train``, ``dev``,
``test`` (protocol ``"official"``). The attacks mix printed photos and screen replays without
a per-image label, so ``attack_type`` is ``"unknown"``. Bona fide names such as
``YOUTUBE_id99_s2_15.png`` give the source video (``subject="YOUTUBE_id99"``) when they follow
that pattern.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import DatasetError
from .base import ATTACK, BONA_FIDE, Dataset, Entry
from .folder import IMAGE_EXTENSIONS

__all__ = ["LccFASD"]

_DIRS = {"train": "LCC_FASD_training", "dev": "LCC_FASD_development", "test": "LCC_FASD_evaluation"}
_SUBJECT = re.compile(r"^([A-Za-z]+_id\d+)_")


class LccFASD(Dataset):
    """LCC-FASD manager (see the module docstring for the layout).

    Parameters
    ----------
    root : path
    **options
        ``missing`` (:class:`~iqa_liveness.datasets.base.Dataset`).
    """

    name = "lcc_fasd"
    protocols = ("official",)
    splits = ("train", "dev", "test")

    def __init__(self, root: str | os.PathLike[str], **options: Any) -> None:
        super().__init__(root, **options)
        for base in (self.root, self.root / "LCC_FASD"):
            if any((base / d).is_dir() for d in _DIRS.values()):
                self.base = base
                break
        else:
            raise DatasetError(f"lcc_fasd: no LCC_FASD_training/ (or dev/eval) in {self.root}")

    def _entries(self, protocol: str, split: str | None) -> Iterator[Entry]:
        for s, folder in _DIRS.items():
            if split is not None and s != split:
                continue
            d = self.base / folder
            if not d.is_dir():
                if split is not None:
                    raise DatasetError(f"lcc_fasd: {d} not found")
                continue
            for kind, label in (("real", BONA_FIDE), ("spoof", ATTACK)):
                files: list[Path] = sorted(
                    p for p in (d / kind).rglob("*")
                    if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
                ) if (d / kind).is_dir() else []
                for path in files:
                    m = _SUBJECT.match(path.name)
                    yield Entry(
                        path=path,
                        label=label,
                        attack_type="unknown" if label == ATTACK else None,
                        subject=m.group(1) if m and label == BONA_FIDE else None,
                        split=s,
                    )
