"""Speed of the colour-texture pipeline on one core; prints JSON (milliseconds, medians).

    python benchmarks/speed_texture.py [--repeats 200] [--frames DIR]

* ``descriptors_ms``: LBP(8,1) u2 on H, S, V + LPQ(7) on Y, Cb, Cr of one 64x64 face (the
  default 945-value vector, channels given).
* ``convert_resize_ms``: HSV and YCbCr conversion of a 130x130 face crop + MATLAB-style resize
  to 64x64.
* ``features_per_crop_ms``: ``ColourTextureFeatures(detector="none").transform`` on that crop.
* ``detect_*_ms``: face detection on a 640x480 frame (the astronaut of scikit-image on a grey
  background, or the first 50 JPEGs of ``--frames``): YuNet at 320 wide (default), YuNet at
  full size, Haar.
* ``features_per_frame_ms``: the default ``ColourTextureFeatures`` (YuNet + crop + features).

OpenCV and BLAS are limited to one thread. The 1-minute load average is printed: on a shared
machine other processes inflate the times.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from skimage import data
from threadpoolctl import threadpool_limits

from iqa_liveness.colour_texture import ColourTextureFeatures
from iqa_liveness.faces import HaarDetector, YuNetDetector
from iqa_liveness.image import load_image
from iqa_liveness.texture import imresize, lbp_histogram, lpq_histogram, rgb_to_hsv, rgb_to_ycbcr


def _median_ms(fn: Callable[[], Any], repeats: int, inputs: list[Any] | None = None) -> float:
    items = inputs or [None]
    for item in items[:3]:
        fn() if item is None else fn(item)  # type: ignore[call-arg]
    times = []
    for k in range(repeats):
        item = items[k % len(items)]
        t0 = time.perf_counter()
        fn() if item is None else fn(item)  # type: ignore[call-arg]
        times.append(time.perf_counter() - t0)
    return round(1e3 * float(np.median(times)), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--frames", type=Path, default=None, help="folder of 640x480 JPEGs")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    rgb = data.astronaut()
    crop = np.ascontiguousarray(rgb[60:190, 160:290])
    hsv = imresize(rgb_to_hsv(crop), (64, 64))
    ycc = imresize(rgb_to_ycbcr(crop), (64, 64))
    if args.frames:
        files = sorted(args.frames.rglob("*.jpg"))[:50]
        frames = [load_image(f) for f in files]
    else:
        frame = np.full((480, 640, 3), 90, np.uint8)
        frame[:, 64:576] = rgb[16:496]
        frames = [frame]

    def descriptors() -> None:
        for c in range(3):
            lbp_histogram(hsv[:, :, c])
        for c in range(3):
            lpq_histogram(ycc[:, :, c])

    def convert() -> None:
        imresize(rgb_to_hsv(crop), (64, 64))
        imresize(rgb_to_ycbcr(crop), (64, 64))

    no_detect = ColourTextureFeatures(detector="none")
    default = ColourTextureFeatures()
    yunet, yunet_full, haar = YuNetDetector(), YuNetDetector(max_width=None), HaarDetector()
    n = args.repeats
    with threadpool_limits(limits=1):
        result = {
            "descriptors_ms": _median_ms(descriptors, n),
            "convert_resize_ms": _median_ms(convert, n),
            "features_per_crop_ms": _median_ms(lambda: no_detect.transform([crop]), n),
            "detect_yunet320_ms": _median_ms(yunet.detect, n // 2, frames),
            "detect_yunet_full_ms": _median_ms(yunet_full.detect, n // 4, frames),
            "detect_haar_ms": _median_ms(haar.detect, n // 4, frames),
            "features_per_frame_ms": _median_ms(lambda f: default.transform([f]), n // 2, frames),
        }
    result.update(
        {
            "frames": str(args.frames) if args.frames else "astronaut on a 640x480 grey frame",
            "n_frames": len(frames),
            "repeats": n,
            "threads": 1,
            "opencv": cv2.__version__,
            "numpy": np.__version__,
            "cpu": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2),
        }
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
