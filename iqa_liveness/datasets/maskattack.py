"""3D Mask Attack Database, 3DMAD (Erdogmus & Marcel, BTAS 2013).

Layout (``bob.db.maskattack`` / ``xbob.db.maskattack`` ``create.py`` and ``models.File.load``)::

    <root>/**/<client>_<session>_<shot>.hdf5     e.g. session01/Data/01_01_01.hdf5
        Color_Data   (frames, 3, 480, 640) uint8, RGB planes
        Depth_Data   (frames, 480, 640) depth map
        Eye_Pos      (frames, 4) eye centres in the colour frame

Clients 01-17, sessions 1 and 2 bona fide, session 3 the client wearing a 3D mask of himself
(``attack_type="mask"``), shots 1-5 of 10 s (300 frames) each. Protocol ``"classification"``
(``create.py``): clients 1-7 train ("world"), 8-12 dev, 13-17 test.

``modality="color"`` (default) reads ``Color_Data`` with eye positions; ``"depth"`` reads
``Depth_Data`` (uint16 grey frames, no eye positions: the two cameras are not registered).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError, DatasetError
from .base import ATTACK, BONA_FIDE, Dataset, Entry, Eyes, eye_annotations

__all__ = ["MaskAttack3DMAD"]

_NAME = re.compile(r"^(\d{2})_(\d{2})_(\d{2})$")
_STREAMS = {"color": "Color_Data", "depth": "Depth_Data"}


def _split_of(client: int) -> str:
    return "train" if client <= 7 else "dev" if client <= 12 else "test"


def read_hdf5_eyes(path: Path) -> tuple[dict[int, Any], dict[int, Eyes]]:
    """Eye positions of a 3DMAD file: ``{frame: (x1, y1, x2, y2)}`` (image-left eye first)."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            if "Eye_Pos" not in f:
                return {}, {}
            data = f["Eye_Pos"][...]
    except OSError:
        return {}, {}
    rows = data.reshape(len(data), -1)
    return eye_annotations((i, row) for i, row in enumerate(rows) if row.size >= 4)


class MaskAttack3DMAD(Dataset):
    """3DMAD manager (see the module docstring for layout and protocol).

    Parameters
    ----------
    root : path
        A directory with the database's ``.hdf5`` files anywhere below it.
    modality : {"color", "depth"}
    **options
        Frame selection and ``missing`` (:class:`~iqa_liveness.datasets.base.Dataset`).
    """

    name = "3dmad"
    protocols = ("classification",)
    splits = ("train", "dev", "test")

    def __init__(
        self, root: str | os.PathLike[str], *, modality: str = "color", **options: Any
    ) -> None:
        super().__init__(root, **options)
        if modality not in _STREAMS:
            raise ConfigurationError(f"3dmad: modality must be color or depth, got {modality!r}")
        self.modality = modality
        self.files = sorted(
            p for p in self.root.rglob("*.hdf5") if p.is_file() and _NAME.match(p.stem)
        )
        if not self.files:
            raise DatasetError(f"3dmad: no <client>_<session>_<shot>.hdf5 file in {self.root}")

    def _n_frames(self, path: Path) -> int | None:
        import h5py

        try:
            with h5py.File(path, "r") as f:
                return int(f[_STREAMS[self.modality]].shape[0])
        except (OSError, KeyError):
            return None  # reported when the frame is read

    def _entries(self, protocol: str, split: str | None) -> Iterator[Entry]:
        for path in self.files:
            m = _NAME.match(path.stem)
            assert m is not None
            client, session, _shot = (int(g) for g in m.groups())
            s = _split_of(client)
            if split is not None and s != split:
                continue
            n = self._n_frames(path)
            yield Entry(
                path=path,
                label=ATTACK if session == 3 else BONA_FIDE,
                attack_type="mask" if session == 3 else None,
                subject=f"{client:02d}",
                session=f"{session:02d}",
                device="kinect",
                split=s,
                stream=_STREAMS[self.modality],
                n_frames=n if n is not None else 1,
                annotations=partial(read_hdf5_eyes, path) if self.modality == "color" else None,
            )
