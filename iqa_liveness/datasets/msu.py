"""MSU Mobile Face Spoofing Database (Wen, Han & Jain, IEEE TIFS 2015).

Layout (the distributed archive; name fields and rotated videos from ``bob.db.msu_mfsd_mod``
``create.py`` and ``rotated_videos/rotated_videos.txt``)::

    <root>/scene01/real/real_client<id>_<laptop|android>_SD_scene01.<mov|mp4>
    <root>/scene01/attack/attack_client<id>_<laptop|android>_SD_<ipad|iphone|printed>_
                          <video|photo>_scene01.<mov|mp4>
    <root>/train_sub_list.txt   15 training subject numbers, one per line
    <root>/test_sub_list.txt    20 test subject numbers
    <root>/face-locations/<real|attack>/<stem>.face   optional, rows "frame,x1,y1,x2,y2"

Videos are searched under ``real/`` and ``attack/`` directories anywhere below ``root`` (some
copies drop ``scene01/``). Laptop videos are ``.mov``, Android ones ``.mp4``. Attack
instruments: ``ipad`` (high-definition video replay), ``iphone`` (mobile video replay),
``printed`` (printed photo): ``attack_type`` ``"replay"`` or ``"print"``, ``device`` the
capture device (``laptop`` or ``android``).

Six Android bona fide videos were recorded upside down (``bob.db.msu_mfsd_mod``,
``rotated_videos.txt``, "recorded rotated by 180 degrees"): clients 3, 5, 6, 7, 8 and 9; their
frames get ``rotation=180``.

Protocol ``"official"``: subjects of ``train_sub_list.txt`` form ``"train"``, those of
``test_sub_list.txt`` form ``"test"``; no development set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import partial
from typing import Any

from ..errors import DatasetError
from .base import (
    ATTACK,
    BONA_FIDE,
    VIDEO_EXTENSIONS,
    Dataset,
    Entry,
    face_location_annotations,
    read_list_file,
)

__all__ = ["MsuMFSD", "ROTATED_VIDEOS"]

#: Stems of the bona fide videos recorded upside down (bob.db.msu_mfsd_mod).
ROTATED_VIDEOS = frozenset(
    f"real_client{c:03d}_android_SD_scene01" for c in (3, 5, 6, 7, 8, 9)
)
_INSTRUMENT = {"ipad": "replay", "iphone": "replay", "printed": "print"}


class MsuMFSD(Dataset):
    """MSU-MFSD manager (see the module docstring for layout and protocol).

    Parameters
    ----------
    root : path
        The database directory holding the subject lists.
    **options
        Frame selection and ``missing`` (:class:`~iqa_liveness.datasets.base.Dataset`).
    """

    name = "msu_mfsd"
    protocols = ("official",)
    splits = ("train", "test")

    def __init__(self, root: str | os.PathLike[str], **options: Any) -> None:
        super().__init__(root, **options)
        self.subject_split: dict[str, str] = {}
        for split in self.splits:
            lst = self.root / f"{split}_sub_list.txt"
            if not lst.is_file():
                raise DatasetError(f"msu_mfsd: subject list {lst.name} not found in {self.root}")
            for row in read_list_file(lst):
                self.subject_split[f"{int(row):03d}"] = split

    def _entries(self, protocol: str, split: str | None) -> Iterator[Entry]:
        videos = sorted(
            p
            for p in self.root.rglob("*")
            if p.is_file()
            and p.suffix.lower() in VIDEO_EXTENSIONS
            and p.parent.name in ("real", "attack")
        )
        if not videos:
            raise DatasetError(f"msu_mfsd: no video under real/ or attack/ in {self.root}")
        for path in videos:
            v = path.stem.split("_")
            if len(v) < 4 or v[0] not in ("real", "attack") or not v[1].startswith("client"):
                raise DatasetError(f"msu_mfsd: unexpected file name {path}")
            subject = v[1][-3:]
            s = self.subject_split.get(subject)
            if s is None:
                continue  # in neither list
            if split is not None and s != split:
                continue
            attack_type = None
            if v[0] == "attack":
                if len(v) < 5 or v[4] not in _INSTRUMENT:
                    raise DatasetError(f"msu_mfsd: unknown attack instrument in {path}")
                attack_type = _INSTRUMENT[v[4]]
            face = self.root / "face-locations" / path.parent.name / f"{path.stem}.face"
            yield Entry(
                path=path,
                label=BONA_FIDE if v[0] == "real" else ATTACK,
                attack_type=attack_type,
                subject=subject,
                device=v[2],
                split=s,
                rotation=180 if path.stem in ROTATED_VIDEOS else 0,
                annotations=partial(face_location_annotations, face, corners=True),
            )
