"""CelebA-Spoof (Zhang et al., ECCV 2020).

Layout (the dataset's README, "Annotation in Json File", and its public loaders)::

    <root>/Data/{train,test}/<subject>/{live,spoof}/<image>.{jpg,png}
    <root>/Data/{train,test}/<subject>/{live,spoof}/<image>_BB.txt   "x y w h score"
    <root>/metas/intra_test/{train,test}_label.json
    <root>/metas/protocol1/{train,test}_label.json
    <root>/metas/protocol2/<test_on_...>/{train,test}_label.json

A label JSON maps ``"Data/train/4980/spoof/000001.jpg"`` to a list of 44 integers: ``[0:40]``
the CelebA face attributes, ``[40]`` spoof type (0 live, 1 photo, 2 poster, 3 A4, 4 face mask,
5 upper-body mask, 6 region mask, 7 PC, 8 pad, 9 phone, 10 3D mask), ``[41]`` illumination,
``[42]`` environment, ``[43]`` live (0) or spoof (1).

The ``_BB.txt`` box is given in the coordinates of the image resized to 224x224; it is scaled
here to the image's own size (``x * width / 224``, ``y * height / 224``, which needs the image
size, read from the file header with Pillow at enumeration). ``attack_type`` is ``"print"``
(1-3), ``"paper_mask"`` (4-6), ``"replay"`` (7-9) or ``"mask"`` (10); ``device`` holds the
instrument (``photo``, ``poster``, ``a4``, ..., ``phone``, ``3d_mask``).

Protocols are the directories of ``metas/`` that hold ``train_label.json``/``test_label.json``
(``"intra_test"`` first when present); splits ``train`` and ``test``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from ..errors import DatasetError
from .base import ATTACK, BONA_FIDE, Box, Dataset, Entry, read_list_file

__all__ = ["CelebASpoof", "SPOOF_TYPES"]

#: spoof-type code -> (attack type, instrument)
SPOOF_TYPES: dict[int, tuple[str | None, str | None]] = {
    0: (None, None),
    1: ("print", "photo"),
    2: ("print", "poster"),
    3: ("print", "a4"),
    4: ("paper_mask", "face_mask"),
    5: ("paper_mask", "upper_body_mask"),
    6: ("paper_mask", "region_mask"),
    7: ("replay", "pc"),
    8: ("replay", "pad"),
    9: ("replay", "phone"),
    10: ("mask", "3d_mask"),
}
BOX_SIZE = 224


def read_box(image: Path) -> tuple[dict[int, Box], dict[int, Any]]:
    """The face box of a CelebA-Spoof image, scaled from 224x224 to the image size."""
    bb = image.with_name(f"{image.stem}_BB.txt")
    if not bb.is_file():
        return {}, {}
    rows = read_list_file(bb)
    if not rows:
        return {}, {}
    try:
        x, y, w, h = (float(v) for v in rows[0].split()[:4])
    except ValueError:
        return {}, {}
    size = _image_size(image)
    if size is None or w <= 0 or h <= 0:
        return {}, {}
    width, height = size
    sx, sy = width / BOX_SIZE, height / BOX_SIZE
    return {0: (round(x * sx), round(y * sy), round(w * sx), round(h * sy))}, {}


def _image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from the image header (Pillow reads no pixel data)."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            return int(img.size[0]), int(img.size[1])
    except (OSError, ValueError):
        return None


class CelebASpoof(Dataset):
    """CelebA-Spoof manager (see the module docstring for layout and protocols).

    Parameters
    ----------
    root : path
        The ``CelebA_Spoof`` directory holding ``Data/`` and ``metas/``.
    **options
        ``missing`` (:class:`~iqa_liveness.datasets.base.Dataset`).
    """

    name = "celeba_spoof"
    protocols = ("intra_test",)
    splits = ("train", "test")

    def __init__(self, root: str | os.PathLike[str], **options: Any) -> None:
        super().__init__(root, **options)
        metas = self.root / "metas"
        if not metas.is_dir():
            raise DatasetError(f"celeba_spoof: no metas/ directory in {self.root}")
        found = sorted(
            p.parent.relative_to(metas).as_posix()
            for p in metas.rglob("*_label.json")
            if p.name in ("train_label.json", "test_label.json")
        )
        names = list(dict.fromkeys(found))
        if not names:
            raise DatasetError(f"celeba_spoof: no */train_label.json under {metas}")
        if "intra_test" in names:
            names.remove("intra_test")
            names.insert(0, "intra_test")
        self._protocols = tuple(names)

    def available_protocols(self) -> tuple[str, ...]:
        """The ``metas/`` sub-directories with label files, ``"intra_test"`` first."""
        return self._protocols

    def _entries(self, protocol: str, split: str | None) -> Iterator[Entry]:
        for s in [split] if split is not None else list(self.splits):
            path = self.root / "metas" / protocol / f"{s}_label.json"
            if not path.is_file():
                raise DatasetError(f"celeba_spoof: {path} not found")
            try:
                labels = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise DatasetError(f"celeba_spoof: cannot read {path}: {exc}") from exc
            for rel in sorted(labels):
                values = labels[rel]
                if not isinstance(values, list) or len(values) < 44:
                    raise DatasetError(f"celeba_spoof: {path}: {rel} has no 44 labels")
                spoof_type, is_spoof = int(values[40]), int(values[43])
                attack_type, instrument = SPOOF_TYPES.get(spoof_type, ("unknown", None))
                image = self.root / rel.replace("\\", "/")
                parts = Path(rel).parts
                yield Entry(
                    path=image,
                    label=ATTACK if is_spoof else BONA_FIDE,
                    attack_type=attack_type if is_spoof else None,
                    subject=parts[2] if len(parts) > 3 else None,
                    device=instrument if is_spoof else None,
                    split=s,
                    annotations=partial(read_box, image),
                )
