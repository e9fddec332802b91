"""Face detection rate per class on the NUAA training split; prints JSON.

    python benchmarks/faces_nuaa.py [--root ../shared/data/nuaa] [--detector yunet]
                                    [--max-width 320] [--limit N]

Bona fide = ClientRaw (client_train_raw.txt), attack = ImposterRaw (imposter_train_raw.txt).
A scene counts as detected when the detector returns at least one face; the JSON also gives
how many of those have eye landmarks, how many scenes have more than one face, and the median
detection time per frame (single OpenCV thread, decoding excluded). Nothing is written.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import cv2
import numpy as np

from iqa_liveness.faces import YuNetDetector, get_face_detector
from iqa_liveness.image import load_image

CLASSES = {
    "bona_fide": ("ClientRaw", "client_train_raw.txt"),
    "attack": ("ImposterRaw", "imposter_train_raw.txt"),
}


def _list(root: Path, folder: str, listing: str) -> list[Path]:
    lines = (root / listing).read_text().splitlines()
    return [root / folder / ln.strip().replace("\\", "/") for ln in lines if ln.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_root = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nuaa"
    parser.add_argument("--root", type=Path, default=default_root)
    parser.add_argument("--detector", default="yunet")
    parser.add_argument("--max-width", type=int, default=320, help="YuNet only; 0 = full size")
    parser.add_argument("--limit", type=int, default=0, help="first N images per class")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    if args.detector == "yunet":
        detector = YuNetDetector(max_width=args.max_width or None)
    else:
        detector = get_face_detector(args.detector)
    result: dict[str, object] = {
        "detector": repr(detector),
        "root": str(args.root),
        "opencv": cv2.__version__,
    }
    times: list[float] = []
    for label, (folder, listing) in CLASSES.items():
        files = _list(args.root, folder, listing)
        if args.limit:
            files = files[: args.limit]
        found = with_eyes = several = 0
        missed: list[str] = []
        for path in files:
            image = load_image(path)
            t0 = time.perf_counter()
            faces = detector.detect(image)
            times.append(time.perf_counter() - t0)
            if faces:
                found += 1
                with_eyes += any(f.eyes is not None for f in faces)
                several += len(faces) > 1
            else:
                missed.append(str(path.relative_to(args.root)))
        result[label] = {
            "images": len(files),
            "detected": found,
            "rate": round(found / max(1, len(files)), 4),
            "with_eyes": with_eyes,
            "more_than_one_face": several,
            "missed_examples": missed[:10],
        }
    result["detect_ms_median"] = round(1e3 * float(np.median(times)), 3)
    result["detect_ms_p95"] = round(1e3 * float(np.percentile(times, 95)), 3)
    result["load_average_1min"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
