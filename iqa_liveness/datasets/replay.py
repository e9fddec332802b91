"""Replay-Attack (Chingovska et al., BIOSIG 2012) and Replay-Mobile (Costa-Pazo et al., BIOSIG
2016), Idiap Research Institute.

Replay-Attack layout (file-name fields from ``bob.db.replay`` ``create.py``; face-location
file format from ``bob.db.replay`` ``models.File.bbx``)::

    <root>/{train,devel,test}/real/client001_session01_webcam_authenticate_adverse_1.mov
    <root>/{train,devel,test}/attack/{fixed,hand}/
        attack_highdef_client001_session01_highdef_photo_adverse.mov
    <root>/enroll/...                         (face recognition enrolment, not used for PAD)
    <root>/face-locations/<same path>.face    rows "frame x y width height", optional

Real names: ``client<id>_session<n>_webcam_<purpose>_<light>[_<take>]``; attack names:
``attack_<attack device>_client<id>_session<n>_<sample device>_<sample type>_<light>``, the
attack device being ``print``, ``mobile`` or ``highdef``, the sample type ``photo`` or
``video``, and the support (``fixed`` or ``hand``) the parent directory.

Protocols (``bob.db.replay``'s ``attack-<protocol>-allsupports-<group>.txt`` lists):
``grandtest`` (all attacks), ``print``, ``mobile``, ``highdef`` (by attack device), ``photo``
(printed and displayed photographs), ``video`` (displayed videos). Every protocol keeps all the
real accesses of its split. ``support="fixed"`` or ``"hand"`` keeps one support only.
``devel`` is reported as split ``"dev"``.

Replay-Mobile layout (``bob.db.replaymobile`` ``create.py`` and ``models.py``)::

    <root>/{train,devel,test}/real/client001_session01_authenticate_mobile_lightoff.mov
    <root>/{train,devel,test}/attack/
        attack_client001_session01_mattescreen_fixed_mobile_photo_lightoff.mov
    <root>/faceloc/rect/<same path>.face     rows "frame x y width height", optional

Real names ``client<id>_session<n>_<purpose>_<device>_<light>``; attack names
``attack_client<id>_session<n>_<attack device>_<support>_<sample device>_<sample type>_<light>``
with attack device ``print`` or ``mattescreen`` and capture device ``mobile`` or ``tablet``.
Protocols: ``grandtest``, ``print``, ``mattescreen``; ``device="mobile"``/``"tablet"`` keeps
one capture device. ``bob.db.replaymobile`` transposes and flips frames on loading because its
decoder ignores the rotation metadata; OpenCV applies that metadata itself, so no rotation is
applied here (pass ``rotation=`` to force one).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError, DatasetError
from .base import ATTACK, BONA_FIDE, VIDEO_EXTENSIONS, Dataset, Entry, face_location_annotations

__all__ = ["ReplayAttack", "ReplayMobile"]

_SPLIT_DIRS = {"train": "train", "dev": "devel", "test": "test"}


def _videos(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(
        p for p in directory.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS
    )


def _client(token: str) -> str:
    return token.replace("client", "")


class _IdiapReplay(Dataset):
    splits = ("train", "dev", "test")
    _face_dir: tuple[str, ...] = ()
    rotation: int = 0

    def __init__(self, root: str | os.PathLike[str], **options: Any) -> None:
        super().__init__(root, **options)
        missing = [d for d in _SPLIT_DIRS.values() if not (self.root / d).is_dir()]
        if len(missing) == 3:
            raise DatasetError(f"{self.name}: no train/, devel/ or test/ directory in {self.root}")

    def _annotations(self, path: Path) -> Any:
        face = self.root.joinpath(*self._face_dir, path.relative_to(self.root)).with_suffix(
            ".face"
        )
        return partial(face_location_annotations, face)

    def _entry(
        self,
        path: Path,
        split: str,
        client: str,
        session: str,
        device: str,
        attack_device: str | None = None,
    ) -> Entry:
        """The entry of one video: bona fide without ``attack_device``, else an attack (print
        for a printed photograph, replay for any display)."""
        attack = attack_device is not None
        return Entry(
            path=path,
            label=ATTACK if attack else BONA_FIDE,
            attack_type=("print" if attack_device == "print" else "replay") if attack else None,
            subject=_client(client),
            session=session,
            device=device,
            split=split,
            rotation=self.rotation,
            annotations=self._annotations(path),
        )

    def _split_files(self, split: str | None) -> Iterator[tuple[str, str, Path]]:
        for name, folder in _SPLIT_DIRS.items():
            if split is not None and name != split:
                continue
            for kind in ("real", "attack"):
                for path in _videos(self.root / folder / kind):
                    yield name, kind, path


class ReplayAttack(_IdiapReplay):
    """Replay-Attack manager (see the module docstring for the layout).

    Parameters
    ----------
    root : path
        The ``replayattack`` directory holding ``train/``, ``devel/`` and ``test/``.
    support : {"fixed", "hand"}, optional
        Keep the attacks of one support only.
    **options
        Frame selection and ``missing`` (:class:`~iqa_liveness.datasets.base.Dataset`).
    """

    name = "replay_attack"
    protocols = ("grandtest", "print", "mobile", "highdef", "photo", "video")
    _face_dir = ("face-locations",)

    def __init__(
        self, root: str | os.PathLike[str], *, support: str | None = None, **options: Any
    ) -> None:
        super().__init__(root, **options)
        if support not in (None, "fixed", "hand"):
            raise ConfigurationError(f"replay_attack: support must be fixed or hand: {support!r}")
        self.support = support

    def _entries(self, protocol: str, split: str | None) -> Iterator[Entry]:
        for name, kind, path in self._split_files(split):
            v = path.stem.split("_")
            if kind == "real":
                if len(v) < 5 or v[3] != "authenticate":
                    continue  # enrolment videos are not PAD samples
                yield self._entry(path, name, v[0], v[1], v[2])
                continue
            if len(v) < 7:
                raise DatasetError(f"replay_attack: unexpected attack file name {path}")
            attack_device, sample_type = v[1], v[5]
            support = path.parent.name
            if self.support is not None and support != self.support:
                continue
            keep = {
                "grandtest": True,
                "print": attack_device == "print",
                "mobile": attack_device == "mobile",
                "highdef": attack_device == "highdef",
                "photo": sample_type == "photo",
                "video": sample_type == "video",
            }[protocol]
            if keep:
                yield self._entry(path, name, v[2], v[3], attack_device, attack_device)


class ReplayMobile(_IdiapReplay):
    """Replay-Mobile manager (see the module docstring for the layout).

    Parameters
    ----------
    root : path
        The directory holding ``train/``, ``devel/`` and ``test/``.
    device : {"mobile", "tablet"}, optional
        Keep the videos of one capture device only.
    rotation : int
        Clockwise rotation (degrees) applied to every frame after decoding.
    **options
        Frame selection and ``missing`` (:class:`~iqa_liveness.datasets.base.Dataset`).
    """

    name = "replay_mobile"
    protocols = ("grandtest", "print", "mattescreen")
    _face_dir = ("faceloc", "rect")

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        device: str | None = None,
        rotation: int = 0,
        **options: Any,
    ) -> None:
        super().__init__(root, **options)
        if device not in (None, "mobile", "tablet"):
            raise ConfigurationError(f"replay_mobile: device must be mobile or tablet: {device!r}")
        self.device = device
        self.rotation = rotation

    def _entries(self, protocol: str, split: str | None) -> Iterator[Entry]:
        for name, kind, path in self._split_files(split):
            v = path.stem.split("_")
            if kind == "real":
                if len(v) < 5 or v[2] != "authenticate":
                    continue
                entry = self._entry(path, name, v[0], v[1], v[3])
            else:
                if len(v) < 8:
                    raise DatasetError(f"replay_mobile: unexpected attack file name {path}")
                attack_device, device = v[3], v[5]
                if protocol != "grandtest" and attack_device != protocol:
                    continue
                entry = self._entry(path, name, v[1], v[2], device, attack_device)
            if self.device is None or entry.device == self.device:
                yield entry
