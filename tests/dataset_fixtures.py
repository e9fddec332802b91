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


# --------------------------------------------------------------------------- Replay-Attack
def make_replay_attack(root: Path, n_frames: int = 3) -> dict:
    """Replay-Attack: {train,devel,test}/real, attack/{fixed,hand}, enroll, face-locations."""
    files = {}
    for split, client in (("train", "001"), ("devel", "003"), ("test", "005")):
        real = f"{split}/real/client{client}_session01_webcam_authenticate_adverse_1.mov"
        files[real] = ("bona_fide", None)
        for support, device, kind in (("fixed", "print", "photo"), ("hand", "highdef", "video"),
                                      ("fixed", "mobile", "photo")):
            name = (f"{split}/attack/{support}/attack_{device}_client{client}_session01_"
                    f"{'highdef' if device != 'mobile' else 'mobile'}_{kind}_controlled.mov")
            files[name] = ("attack", device)
    files["enroll/train/client001_session01_webcam_enroll_controlled.mov"] = ("enroll", None)
    for rel in files:
        write_video(root / rel, n_frames, fourcc="mp4v")
    face = root / "face-locations" / next(iter(files)).replace(".mov", ".face")
    write_lines(face, ["0 5 6 10 12", "1 0 0 0 0", "2 7 8 11 13"])
    return {"files": files, "face": next(iter(files))}


# --------------------------------------------------------------------------- Replay-Mobile
def make_replay_mobile(root: Path, n_frames: int = 2) -> dict:
    """Replay-Mobile: {train,devel,test}/{real,attack}, faceloc/rect/<path>.face."""
    names = []
    for split, client in (("train", "001"), ("devel", "004"), ("test", "007")):
        for device in ("mobile", "tablet"):
            names.append(f"{split}/real/client{client}_session02_authenticate_{device}_lightoff.mov")
            names.append(f"{split}/real/client{client}_session01_enroll_{device}_lighton.mov")
            for adev, support, kind in (("print", "fixed", "photo"),
                                        ("mattescreen", "hand", "video")):
                names.append(f"{split}/attack/attack_client{client}_session02_{adev}_{support}_"
                             f"{device}_{kind}_lighton.mov")
    for rel in names:
        write_video(root / rel, n_frames, fourcc="mp4v")
    write_lines(root / "faceloc" / "rect" / names[0].replace(".mov", ".face"), ["0 1 2 3 4"])
    return {"names": names}


# --------------------------------------------------------------------------- CASIA-FASD
def make_casia(root: Path, n_train: int = 20, n_test: int = 2, n_frames: int = 2) -> dict:
    """CASIA-FASD: {train,test}_release/<subject>/{1..8,HR_1..HR_4}.avi (one file left out)."""
    stems = [str(i) for i in range(1, 9)] + [f"HR_{i}" for i in range(1, 5)]
    for release, n in (("train_release", n_train), ("test_release", n_test)):
        for subject in range(1, n + 1):
            for stem in stems:
                if release == "test_release" and subject == n and stem == "HR_4":
                    continue  # missing from this copy
                write_video(root / release / str(subject) / f"{stem}.avi", n_frames, size=(8, 8))
    return {"stems": stems, "missing": f"test_release/{n_test}/HR_4.avi"}


# --------------------------------------------------------------------------- MSU-MFSD
def make_msu(root: Path, n_frames: int = 2) -> dict:
    """MSU-MFSD: scene01/{real,attack}/..., train/test subject lists, one rotated video."""
    names = []
    for client in (3, 1, 2):  # 3 is an upside-down Android video in bob.db.msu_mfsd_mod
        c = f"client{client:03d}"
        names += [f"scene01/real/real_{c}_laptop_SD_scene01.mov",
                  f"scene01/real/real_{c}_android_SD_scene01.mp4",
                  f"scene01/attack/attack_{c}_laptop_SD_ipad_video_scene01.mov",
                  f"scene01/attack/attack_{c}_android_SD_printed_photo_scene01.mp4",
                  f"scene01/attack/attack_{c}_laptop_SD_iphone_video_scene01.mov"]
    for rel in names:
        write_video(root / rel, n_frames, size=(24, 32), fourcc="mp4v")
    write_lines(root / "train_sub_list.txt", ["01", "03"], "\r\n")
    write_lines(root / "test_sub_list.txt", ["02"])
    write_lines(root / "face-locations" / "real" / "real_client001_laptop_SD_scene01.face",
                ["0,2,3,12,15", "1,0,0,0,0"])
    return {"names": names}


# --------------------------------------------------------------------------- OULU-NPU
def oulu_protocol_rows(protocol: int, fold: int | None, split: str, videos: list[str]) -> list[str]:
    """Rows of an OULU-NPU protocol file over ``videos`` (Boulkenafet et al. 2017, Table 2)."""
    rows = []
    for vid in videos:
        phone, session, user, access = (int(x) for x in vid.split("_"))
        if protocol in (1, 4) and (session == 3) != (split == "Test"):
            continue  # illumination: sessions 1-2 for train/dev, 3 for test
        if protocol in (2, 4) and access != 1 and (access in (3, 5)) != (split == "Test"):
            continue  # PAI: printer 1 / display 1 known, printer 2 / display 2 unseen
        if fold is not None and (phone == fold) != (split == "Test"):
            continue  # leave-one-phone-out
        label = "+1" if access == 1 else ("-2" if split == "Test" and access >= 4 else "-1")
        rows.append(f"{label},{vid}")
    return rows


def make_oulu(root: Path, n_frames: int = 3) -> dict:
    """OULU-NPU: {Train,Dev,Test}_files/<phone>_<session>_<user>_<file>.avi + .txt eyes."""
    users = {"Train": [1], "Dev": [21], "Test": [36]}
    all_rows = {}
    for split, us in users.items():
        videos = [f"{p}_{s}_{u:02d}_{a}" for p in (1, 2) for s in (1, 3) for u in us
                  for a in range(1, 6)]
        for vid in videos:
            write_video(root / f"{split}_files" / f"{vid}.avi", n_frames, size=(16, 16))
            write_lines(root / f"{split}_files" / f"{vid}.txt",
                        [f"{i},{10 + i},5,{3 + i},6" if i != 1 else f"{i},0,0,0,0"
                         for i in range(n_frames)], "\r\n")
        for protocol in (1, 2, 3, 4):
            for fold in ((None,) if protocol < 3 else range(1, 7)):
                rows = oulu_protocol_rows(protocol, fold, split, videos)
                name = f"{split}{'' if fold is None else f'_{fold}'}.txt"
                write_lines(root / "Protocols" / f"Protocol_{protocol}" / name, rows, "\r\n")
                all_rows[(protocol, fold, split)] = rows
    return {"rows": all_rows}


# --------------------------------------------------------------------------- 3DMAD
def make_3dmad(root: Path, n_frames: int = 3) -> dict:
    """3DMAD: session0X/Data/<client>_<session>_<shot>.hdf5 with Color_Data, Depth_Data, Eye_Pos."""
    import h5py

    names = []
    for client in (1, 8, 13):
        for session in (1, 2, 3):
            name = f"{client:02d}_{session:02d}_01.hdf5"
            path = root / f"session{session:02d}" / "Data" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            color = np.zeros((n_frames, 3, 12, 16), np.uint8)
            color[:, 0] = 200  # red plane
            color[:, 2] = np.arange(n_frames, dtype=np.uint8)[:, None, None] * 10
            depth = np.full((n_frames, 12, 16), 1000 + client, np.uint16)
            eyes = np.array([[9, 4, 5, 4]] * n_frames, np.float64)
            eyes[1] = 0
            with h5py.File(path, "w") as f:
                f["Color_Data"] = color
                f["Depth_Data"] = depth
                f["Eye_Pos"] = eyes
            names.append(name)
    return {"names": names}


# --------------------------------------------------------------------------- CelebA-Spoof
def make_celeba_spoof(root: Path) -> dict:
    """CelebA-Spoof: Data/{train,test}/<id>/{live,spoof}/*.jpg|png, *_BB.txt, metas/*.json."""
    import json

    labels: dict[str, dict[str, list[int]]] = {"train": {}, "test": {}}
    specs = [("train", "4980", "live", "000001.jpg", 0),
             ("train", "4980", "spoof", "000002.png", 3),
             ("train", "4981", "spoof", "000003.jpg", 9),
             ("test", "9001", "live", "000004.jpg", 0),
             ("test", "9001", "spoof", "000005.png", 10)]
    for i, (split, subject, kind, name, spoof_type) in enumerate(specs):
        rel = f"Data/{split}/{subject}/{kind}/{name}"
        write_image(root / rel, i, size=(112, 448))  # 448 wide, 112 high
        stem = name.rsplit(".", 1)[0]
        write_lines(root / f"Data/{split}/{subject}/{kind}/{stem}_BB.txt", ["56 112 28 56 0.99"])
        values = [0] * 40 + [spoof_type, 0 if spoof_type == 0 else 1, 0 if spoof_type == 0 else 2,
                             int(kind == "spoof")]
        labels[split][rel] = values
    for protocol in ("intra_test", "protocol1"):
        d = root / "metas" / protocol
        d.mkdir(parents=True, exist_ok=True)
        for split in ("train", "test"):
            (d / f"{split}_label.json").write_text(json.dumps(labels[split]))
    return {"labels": labels}


# --------------------------------------------------------------------------- LCC-FASD
def make_lcc(root: Path) -> dict:
    """LCC-FASD: LCC_FASD/LCC_FASD_{training,development,evaluation}/{real,spoof}/*.png."""
    base = root / "LCC_FASD"
    counts = {"LCC_FASD_training": (2, 3), "LCC_FASD_development": (1, 1),
              "LCC_FASD_evaluation": (1, 2)}
    for folder, (n_real, n_spoof) in counts.items():
        for i in range(n_real):
            write_image(base / folder / "real" / f"YOUTUBE_id{i + 1}_s2_15.png", i, size=(8, 8))
        for i in range(n_spoof):
            write_image(base / folder / "spoof" / f"spoof_{i}.png", 10 + i, size=(8, 8))
    return {"counts": counts}
