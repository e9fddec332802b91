"""CASIA Face Anti-Spoofing Database (Zhang et al., ICB 2012).

Layout (the distributed archive; file naming as in ``bob.db.casia_fasd``)::

    <root>/train_release/<subject 1..20>/{1,2,3,4,5,6,7,8,HR_1,HR_2,HR_3,HR_4}.avi
    <root>/test_release/<subject 1..30>/{...same names...}.avi

Per subject directory: ``1``, ``2``, ``HR_1`` are bona fide (low, normal, high quality);
``3``, ``4``, ``HR_2`` warped printed photographs; ``5``, ``6``, ``HR_3`` cut printed
photographs (eye holes); ``7``, ``8``, ``HR_4`` video replays. Odd numbers are low quality,
even numbers normal quality, ``HR_*`` high quality. ``attack_type`` is ``"print"`` (warped),
``"print_cut"`` or ``"replay"``; ``device`` is the quality (``low``, ``normal``, ``high``).

Protocols (Zhang et al. 2012, Table 2): ``"1"`` low quality, ``"2"`` normal quality, ``"3"``
high quality (all samples of that quality); ``"4"`` warped photo, ``"5"`` cut photo, ``"6"``
video attack (all bona fide samples plus that attack); ``"7"`` overall (everything). Train is
``train_release`` (20 subjects), test is ``test_release`` (30 subjects).

The database has no development set. ``dev_fold=k`` (1..5) gives one: the 20 training subjects,
sorted by number, form 5 folds of 4 consecutive subjects, and fold ``k`` becomes split ``"dev"``
while the other 16 stay in ``"train"``. This is this package's convention (``bob.db.casia_fasd``
similarly cut the training subjects into folds), not part of the database.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError, DatasetError
from .base import ATTACK, BONA_FIDE, Dataset, Entry

__all__ = ["CasiaFASD", "CASIA_FILES"]

#: file stem -> (label, attack type, quality)
CASIA_FILES: dict[str, tuple[str, str | None, str]] = {
    "1": (BONA_FIDE, None, "low"),
    "2": (BONA_FIDE, None, "normal"),
    "HR_1": (BONA_FIDE, None, "high"),
    "3": (ATTACK, "print", "low"),
    "4": (ATTACK, "print", "normal"),
    "HR_2": (ATTACK, "print", "high"),
    "5": (ATTACK, "print_cut", "low"),
    "6": (ATTACK, "print_cut", "normal"),
    "HR_3": (ATTACK, "print_cut", "high"),
    "7": (ATTACK, "replay", "low"),
    "8": (ATTACK, "replay", "normal"),
    "HR_4": (ATTACK, "replay", "high"),
}
_QUALITY = {"1": "low", "2": "normal", "3": "high"}
_ATTACK = {"4": "print", "5": "print_cut", "6": "replay"}


class CasiaFASD(Dataset):
    """CASIA-FASD manager (see the module docstring for layout and protocols).

    Parameters
    ----------
    root : path
        The directory holding ``train_release/`` and ``test_release/``.
    dev_fold : int, optional
        1..5: hold out this subject-wise fold of the training subjects as split ``"dev"``.
    **options
        Frame selection and ``missing`` (:class:`~iqa_liveness.datasets.base.Dataset`).
    """

    name = "casia_fasd"
    protocols = ("7", "1", "2", "3", "4", "5", "6")
    splits = ("train", "dev", "test")

    def __init__(
        self, root: str | os.PathLike[str], *, dev_fold: int | None = None, **options: Any
    ) -> None:
        super().__init__(root, **options)
        if dev_fold is not None and dev_fold not in range(1, 6):
            raise ConfigurationError(f"casia_fasd: dev_fold must be 1..5, got {dev_fold}")
        self.dev_fold = dev_fold
        if not (self.root / "train_release").is_dir() and not (self.root / "test_release").is_dir():
            raise DatasetError(f"casia_fasd: no train_release/ or test_release/ in {self.root}")

    def _subjects(self, release: str) -> list[Path]:
        d = self.root / release
        if not d.is_dir():
            return []
        dirs = [p for p in d.iterdir() if p.is_dir()]
        return sorted(dirs, key=lambda p: (int(p.name) if p.name.isdigit() else 10**9, p.name))

    def dev_subjects(self) -> set[str]:
        """Subjects of the held-out fold (empty without ``dev_fold``)."""
        if self.dev_fold is None:
            return set()
        names = [p.name for p in self._subjects("train_release")]
        k = self.dev_fold - 1
        return set(names[4 * k : 4 * k + 4])

    def _entries(self, protocol: str, split: str | None) -> Iterator[Entry]:
        if split == "dev" and self.dev_fold is None:
            raise DatasetError(
                "casia_fasd has no development set; pass dev_fold=1..5 for a subject-wise fold"
            )
        dev = self.dev_subjects()
        for release, base_split in (("train_release", "train"), ("test_release", "test")):
            for subject_dir in self._subjects(release):
                s = base_split
                if release == "train_release" and subject_dir.name in dev:
                    s = "dev"
                if split is not None and s != split:
                    continue
                for stem, (label, attack_type, quality) in CASIA_FILES.items():
                    if protocol in _QUALITY and quality != _QUALITY[protocol]:
                        continue
                    if protocol in _ATTACK and label == ATTACK and attack_type != _ATTACK[protocol]:
                        continue
                    yield Entry(
                        path=subject_dir / f"{stem}.avi",
                        label=label,
                        attack_type=attack_type,
                        subject=f"{release.split('_')[0]}/{subject_dir.name}",
                        device=quality,
                        split=s,
                    )
