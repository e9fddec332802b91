"""OULU-NPU (Boulkenafet et al., IEEE FG 2017).

Layout (the distributed archives; protocol-file format and eye-position files as read by
public loaders, e.g. ``bob.db.oulunpu`` lists and its users)::

    <root>/Train_files/<video>.avi  <video>.txt
    <root>/Dev_files/...            <root>/Test_files/...
    <root>/Protocols/Protocol_1/{Train,Dev,Test}.txt
    <root>/Protocols/Protocol_2/{Train,Dev,Test}.txt
    <root>/Protocols/Protocol_3/{Train,Dev,Test}_<1..6>.txt
    <root>/Protocols/Protocol_4/{Train,Dev,Test}_<1..6>.txt

Video names are ``<phone>_<session>_<user>_<file>``: phone 1-6, session 1-3, user 01-55 (1-20
train, 21-35 dev, 36-55 test), file 1 bona fide, 2-3 print attacks (printers 1 and 2), 4-5
video replays (displays 1 and 2). Protocol rows are ``<label>,<video>`` with ``+1`` for bona
fide and a negative label for attacks (``-1``; test lists use ``-1`` print and ``-2`` replay).
The ``.txt`` next to each video has one row per frame, ``frame,x1,y1,x2,y2``: the two eye
centres (all zeros when no face was found).

Protocol names: ``"1"``, ``"2"``, ``"3_1"`` .. ``"3_6"``, ``"4_1"`` .. ``"4_6"``. The split of a
row is its list (Train/Dev/Test); the video is looked for in the matching ``*_files`` folder.
``device`` is the phone (``"1"``..``"6"``), ``session`` the session; the attack instrument is
``print`` or ``replay``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from ..errors import DatasetError
from .base import ATTACK, BONA_FIDE, Dataset, Entry, Eyes, eye_annotations, read_list_file

__all__ = ["OuluNPU"]

_SPLITS = {"train": "Train", "dev": "Dev", "test": "Test"}
PROTOCOLS = ("1", "2", *(f"3_{k}" for k in range(1, 7)), *(f"4_{k}" for k in range(1, 7)))


def read_eye_positions(path: Path) -> tuple[dict[int, Any], dict[int, Eyes]]:
    """Eye positions of an OULU-NPU ``.txt``: ``{frame: (x1, y1, x2, y2)}``, image-left first."""
    if not path.is_file():
        return {}, {}

    def rows() -> Iterator[tuple[int, list[float]]]:
        for row in read_list_file(path):
            parts = row.replace(" ", "").split(",")
            if len(parts) < 5:
                continue
            try:
                yield int(float(parts[0])), [float(p) for p in parts[1:5]]
            except ValueError:
                continue  # a header or malformed row

    return eye_annotations(rows())


class OuluNPU(Dataset):
    """OULU-NPU manager (see the module docstring for layout and protocols).

    Parameters
    ----------
    root : path
        The directory holding ``Train_files/``, ``Dev_files/``, ``Test_files/`` and
        ``Protocols/``.
    **options
        Frame selection and ``missing`` (:class:`~iqa_liveness.datasets.base.Dataset`).
    """

    name = "oulu_npu"
    protocols = PROTOCOLS
    splits = ("train", "dev", "test")

    def __init__(self, root: str | os.PathLike[str], **options: Any) -> None:
        super().__init__(root, **options)
        if not (self.root / "Protocols").is_dir():
            raise DatasetError(f"oulu_npu: no Protocols/ directory in {self.root}")

    def protocol_file(self, protocol: str, split: str) -> Path:
        major, _, fold = protocol.partition("_")
        suffix = f"_{fold}" if fold else ""
        return self.root / "Protocols" / f"Protocol_{major}" / f"{_SPLITS[split]}{suffix}.txt"

    def _entries(self, protocol: str, split: str | None) -> Iterator[Entry]:
        for s in [split] if split is not None else list(_SPLITS):
            lst = self.protocol_file(protocol, s)
            if not lst.is_file():
                raise DatasetError(f"oulu_npu: protocol file {lst} not found")
            for row in read_list_file(lst):
                label_text, _, video = row.partition(",")
                video = video.strip()
                fields = video.split("_")
                if len(fields) != 4 or not all(f.isdigit() for f in fields):
                    raise DatasetError(f"oulu_npu: bad row {row!r} in {lst}")
                try:
                    label_value = int(label_text)
                except ValueError as exc:
                    raise DatasetError(f"oulu_npu: bad label in row {row!r} of {lst}") from exc
                phone, session, user, access = fields
                is_real = label_value > 0
                if is_real != (access == "1"):
                    raise DatasetError(f"oulu_npu: label {label_text} contradicts {video}")
                path = self.root / f"{_SPLITS[s]}_files" / f"{video}.avi"
                yield Entry(
                    path=path,
                    label=BONA_FIDE if is_real else ATTACK,
                    attack_type=None if is_real else ("print" if access in "23" else "replay"),
                    subject=user,
                    session=session,
                    device=phone,
                    split=s,
                    annotations=partial(read_eye_positions, path.with_suffix(".txt")),
                )
