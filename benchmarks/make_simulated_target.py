"""Build a simulated-attack target set from NUAA bona fide images (a cross-source proxy).

Bona fide: NUAA client images of one session; attacks: other client images of that session
turned into simulated prints and screen replays (:mod:`iqa_liveness.simulate`). Every image,
bona fide or attack, is written as JPEG quality 90 so the file format is no cue. Layout of the
generic ``folder`` manager, and a ``GROUPS.csv`` (``path,group``; group = subject)::

    python benchmarks/make_simulated_target.py --nuaa-root ../shared/data/nuaa --session 02 \
        --every 2 --output /tmp/simtarget

The output is derived from NUAA (research-only): keep it outside the repository.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import cv2
import numpy as np

from iqa_liveness.datasets import get_dataset
from iqa_liveness.image import load_image
from iqa_liveness.simulate import simulate_print, simulate_replay


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--nuaa-root", required=True)
    p.add_argument("--session", default="02")
    p.add_argument("--every", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", required=True)
    args = p.parse_args()
    out = Path(args.output)
    samples = [
        s for s in get_dataset("nuaa", args.nuaa_root).samples("train")
        if s.label == "bona_fide" and s.session == args.session
    ][:: args.every]
    rows = []
    for i, s in enumerate(samples):
        img = load_image(s.source)
        rng = np.random.default_rng(np.random.SeedSequence([args.seed, i]))
        if i % 2 == 0:
            folder, arr = "live", img
        elif (i // 2) % 2 == 0:
            folder, arr = "spoof/print", simulate_print(img, rng)
        else:
            folder, arr = "spoof/replay", simulate_replay(img, rng)
        rel = f"{folder}/{s.subject}/{Path(s.source).stem}.jpg"
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(out / rel), np.ascontiguousarray(arr[:, :, ::-1]),
                    [cv2.IMWRITE_JPEG_QUALITY, 90])
        rows.append((rel, s.subject))
    with open(out / "GROUPS.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["path", "group"])
        w.writerows(rows)
    print(f"{len(rows)} images written to {out}")


if __name__ == "__main__":
    main()
