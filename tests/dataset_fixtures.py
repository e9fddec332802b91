"""Generators of tiny database trees in the exact layout of each public PAD database.

Each ``make_<database>(root)`` writes a few tiny images or videos (written with OpenCV) and the
list/protocol files the database distributes, and returns a dict of facts the tests check
(counts, expected fields). The layout rules are those cited in each manager's docstring.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

SIZE = (24, 32)  # (height, width) of fixture frames


def pixel_image(seed: int, size: tuple[int, int] = SIZE) -> np.ndarray:
    """A deterministic BGR uint8 image that encodes ``seed`` in its mean level."""
    rng = np.random.default_rng(seed)
    base = np.full((*size, 3), (seed * 37) % 200 + 20, np.uint8)
    noise = rng.integers(0, 8, size=(*size, 3), dtype=np.uint8)
    return base + noise


def write_image(path: Path, seed: int = 0, size: tuple[int, int] = SIZE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), pixel_image(seed, size))
    return path


def frame_level(index: int) -> int:
    """Grey level written into frame ``index`` of a fixture video (survives lossy coding)."""
    return (index * 20 + 10) % 250


def write_video(
    path: Path, n_frames: int = 5, size: tuple[int, int] = SIZE, fourcc: str = "MJPG"
) -> Path:
    """A tiny video whose frame ``i`` is flat at level :func:`frame_level`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 25.0, (w, h))
    assert writer.isOpened(), f"OpenCV cannot write {fourcc} to {path}"
    for i in range(n_frames):
        writer.write(np.full((h, w, 3), frame_level(i), np.uint8))
    writer.release()
    return path


def write_lines(path: Path, rows: list[str], newline: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes("".join(r + newline for r in rows).encode())
    return path


# --------------------------------------------------------------------------- NUAA
def make_nuaa(root: Path, variant: str = "raw", backslash: bool = True) -> dict:
    """NUAA: ClientRaw/ImposterRaw/<subject>/ID_glasses_pos_session_pic.jpg + CRLF lists.

    Train lists use ``\\`` separators and CRLF (Windows copies), test lists ``/`` and LF. One
    training row names a file that does not exist.
    """
    dirs = {"raw": ("ClientRaw", "ImposterRaw"), "face": ("ClientFace", "ImposterFace"),
            "normalized": ("ClientNormalized", "ImposterNormalized")}[variant]
    sep = "\\" if backslash else "/"
    lists: dict[str, list[str]] = {}
    seed = 0
    for kind, folder in zip(("client", "imposter"), dirs):
        for split, sessions in (("train", ("01", "02")), ("test", ("03",))):
            rows = []
            for subject in ("0001", "0002"):
                for session in sessions:
                    name = f"{subject}_00_01_{session}_{seed}.jpg"
                    write_image(root / folder / subject / name, seed)
                    seed += 1
                    rows.append(f"{subject}{sep if split == 'train' else '/'}{name}")
            lists[f"{kind}_{split}_{variant}.txt"] = rows
    lists[f"client_train_{variant}.txt"].append(f"0002{sep}0002_00_01_02_999.jpg")  # missing
    for name, rows in lists.items():
        write_lines(root / name, rows, "\r\n" if "train" in name else "\n")
    return {"train": 4 + 4 + 1, "test": 2 + 2, "missing": f"{dirs[0]}/0002/0002_00_01_02_999.jpg"}


# --------------------------------------------------------------------------- folder
def make_folder(root: Path) -> dict:
    """Generic folder: real/, spoof/print/, spoof/replay/ (a video), spoof/ (no type)."""
    write_image(root / "real" / "s1" / "a.png", 1)
    write_image(root / "real" / "b.jpg", 2)
    write_image(root / "Spoof" / "print" / "c.png", 3)
    write_video(root / "Spoof" / "replay" / "d.avi", n_frames=4)
    write_image(root / "Spoof" / "e.png", 5)
    (root / "real" / "notes.txt").write_text("not an image")
    (root / "subjects.csv").write_text(
        "file,subject,split\nreal/s1/a.png,s1,train\nb.jpg,s2,test\nSpoof/print/c.png,s1,train\n"
        "Spoof/replay/d.avi,s2,test\nSpoof/e.png,s3,train\n"
    )
    return {"bona_fide": 2, "attack": 2 + 4}


# --------------------------------------------------------------------------- extractors
class MeanStdFeatures:
    """A tiny deterministic extractor for store tests: mean, std, height and width.

    Raises ``NoFaceError`` for images darker than ``dark`` (to exercise failure records) and
    sleeps ``sleep`` seconds per image (to be killed mid-run).
    """

    def __init__(self, dark: float = -1.0, sleep: float = 0.0) -> None:
        self.dark = dark
        self.sleep = sleep

    def get_params(self, deep: bool = True) -> dict:
        return {"dark": self.dark, "sleep": self.sleep}

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.array(["mean", "std", "height", "width"], dtype=object)

    def transform(self, images) -> np.ndarray:
        import time

        from iqa_liveness.errors import NoFaceError

        rows = []
        for img in images:
            if self.sleep:
                time.sleep(self.sleep)
            a = np.asarray(img, dtype=np.float64)
            if a.mean() < self.dark:
                raise NoFaceError(f"too dark: {a.mean():.1f}")
            rows.append([a.mean(), a.std(), a.shape[0], a.shape[1]])
        return np.array(rows)


def make_image_folder(root: Path, n: int = 40) -> Path:
    """A generic-folder tree of ``n`` small images, alternating bona fide and attack."""
    for i in range(n):
        sub = "real" if i % 2 == 0 else "spoof/print"
        write_image(root / sub / f"img{i:03d}.png", i, size=(16, 16))
    return root
