"""A lower bound on the time of the quality measures with NumPy and OpenCV, per 640x480 frame.

Times only the filters and transforms that the definitions of the measures require (as this
package defines them, see ``docs/measures.md``), each with the fastest NumPy/OpenCV routine
for it, in float32 where the package computes in float32, single thread, on one frame, and
adds them up. Everything else a measure does (products, divisions, clamps, logarithms,
comparisons, sums: tens of passes over image-sized arrays) comes on top, so the real time of
the measures cannot be below ``floor_ms``; ``what_is_left_ms`` is what a target leaves for all
of that.

* ``issue2``: the 21 measures MSE ... VIF, HLFI: ``I'`` (3x3 Gaussian, float64: the pixel
  measures need ``D = I - I'`` to double precision), ``D``, the Laplacians of ``I`` and ``D``
  (LMSE), Sobel derivatives of ``I`` and ``I'`` (TED), the Harris derivatives, their three
  products and three 5x5 Gaussian filters, a 3x3 maximum filter for each image (TCD), one real
  2-D DFT (SME, SPE, HLFI: the spectrum of ``I'`` follows from that of ``I``), central
  differences, magnitudes and phases of both gradients (GME, GPE), SSIM's three products and
  four 11x11 Gaussian filters (the fifth is a 3x3 filter, ``mu_D = mu_I - G3 * mu_I``), VIF's
  five 17x17 filters at full size, the two 9x9 filters that downsample ``I`` and ``D``, and the
  five filters of each coarser scale.
* ``issue3`` adds to them the primitives of RRED (one real DFT: the spectrum of ``I'`` follows
  from that of ``I``; the inverse DFTs of the six oriented subbands of both images at 1/8
  size), JQI (one pass of horizontal and one of vertical differences) and NIQE (a halving, here
  by bilinear ``cv2.resize``, cheaper than the bicubic one it needs, and the local mean and
  second moment by 7x7 Gaussian filters at both scales). BIQI's wavelet transform is not
  counted.

Usage::

    python benchmarks/speed_floor.py [--repeats 50]

Prints JSON.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from iqa_liveness.image import load_grey  # noqa: E402
from iqa_liveness.quality._context import tune_allocator  # noqa: E402

SHARED = Path(os.environ.get("IQA_LIVENESS_SHARED", Path(__file__).resolve().parents[2] / "shared"))
R = cv2.BORDER_REFLECT


def frame() -> tuple[str, np.ndarray]:
    files = sorted((SHARED / "data" / "nuaa").rglob("*.jpg"))
    if files:
        return str(files[len(files) // 2]), load_grey(files[len(files) // 2])
    from skimage import data

    g = load_grey(data.astronaut())
    return "skimage astronaut resized", np.asarray(cv2.resize(g, (640, 480)), np.float64)


def timed(fn: Callable[[], Any], repeats: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        t = time.thread_time()
        fn()
        best = min(best, time.thread_time() - t)
    return round(best * 1e3, 4)


def blur(x: np.ndarray, n: int, s: float) -> np.ndarray:
    return np.asarray(cv2.GaussianBlur(x, (n, n), s, sigmaY=s, borderType=R))


def primitives(g: np.ndarray) -> dict[str, dict[str, Callable[[], Any]]]:
    i64 = np.ascontiguousarray(g)
    s64 = blur(i64, 3, 0.5)
    i32, s32 = i64.astype(np.float32), s64.astype(np.float32)
    d32 = (i64 - s64).astype(np.float32)
    lap = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float32)
    cen = np.array([[-0.5, 0, 0.5]], np.float32)
    half = [
        np.ascontiguousarray(blur(a, 9, 1.8)[4:-4:2, 4:-4:2]) for a in (i32, d32)
    ]  # scale 2 of VIF
    quarter = [np.ascontiguousarray(blur(a, 5, 1.0)[2:-2:2, 2:-2:2]) for a in half]
    eighth = [np.ascontiguousarray(blur(a, 3, 0.6)[1:-1:2, 1:-1:2]) for a in quarter]
    spec = np.fft.rfft2(i64)
    re32, im32 = spec.real.astype(np.float32), spec.imag.astype(np.float32)
    gx, gy = cv2.filter2D(i32, -1, cen), cv2.filter2D(i32, -1, cen.T)

    def harris(x: np.ndarray) -> list[np.ndarray]:
        dx = cv2.filter2D(x, -1, cen * 2)
        dy = cv2.filter2D(x, -1, cen.T * 2)
        out = [blur(p, 5, 1.5) for p in (dx * dx, dy * dy, dx * dy)]
        return [*out, cv2.dilate(out[0], np.ones((3, 3), np.uint8))]

    def vif_scale(pair: list[np.ndarray], n: int, s: float) -> list[np.ndarray]:
        x, d = pair
        return [blur(p, n, s) for p in (x, d, x * x, x * d, d * d)]

    issue2: dict[str, Callable[[], Any]] = {
        "I' (3x3 Gaussian, float64)": lambda: blur(i64, 3, 0.5),
        "D = I - I' (float64)": lambda: i64 - s64,
        "pixel sums (sum D^2 and sum I I')": lambda: (cv2.norm(i64, s64), np.vdot(i64, s64)),
        "LMSE: Laplacians of I and D": lambda: (
            cv2.filter2D(i32, -1, lap, borderType=R),
            cv2.filter2D(d32, -1, lap, borderType=R),
        ),
        "TED: Sobel x, y of I and I'": lambda: [
            cv2.Sobel(a, -1, dx, 1 - dx, ksize=3) for a in (i32, s32) for dx in (0, 1)
        ],
        "TCD: Harris of I and I'": lambda: (harris(i32), harris(s32)),
        "SME/SPE/HLFI: one real 2-D DFT": lambda: cv2.dft(i64, flags=cv2.DFT_COMPLEX_OUTPUT),
        "SME/SPE: magnitude and phase of two spectra": lambda: [
            (cv2.magnitude(re32, im32), cv2.phase(re32, im32)) for _ in range(2)
        ],
        "GME/GPE: central differences, magnitude, phase of two gradients": lambda: [
            (
                cv2.filter2D(a, -1, cen),
                cv2.filter2D(a, -1, cen.T),
                cv2.magnitude(gx, gy),
                cv2.phase(gx, gy),
            )
            for a in (i32, s32)
        ],
        "SSIM: 3 products, 4 11x11 filters, one 3x3": lambda: (
            [blur(p, 11, 1.5) for p in (i32, i32 * i32, i32 * d32, d32 * d32)],
            blur(i32, 3, 0.5),
        ),
        "VIF scale 1: 3 products, 5 17x17 filters": lambda: vif_scale([i32, d32], 17, 3.4),
        "VIF: 9x9 filters of I and D (downsampling)": lambda: (
            blur(i32, 9, 1.8),
            blur(d32, 9, 1.8),
        ),
        "VIF scales 2-4 (incl. their downsampling)": lambda: (
            vif_scale(half, 9, 1.8),
            [blur(a, 5, 1.0) for a in half],
            vif_scale(quarter, 5, 1.0),
            [blur(a, 3, 0.6) for a in quarter],
            vif_scale(eighth, 3, 0.6),
        ),
    }

    def halve(x: np.ndarray) -> np.ndarray:
        return np.asarray(cv2.resize(x, (x.shape[1] // 2, x.shape[0] // 2)))

    g2_32 = halve(i32)
    small = np.ascontiguousarray(spec[:60, :80])

    issue3: dict[str, Callable[[], Any]] = {
        "RRED: one real DFT, 6 inverse DFTs per image at 1/8 size": lambda: (
            cv2.dft(i64, flags=cv2.DFT_COMPLEX_OUTPUT),
            [np.fft.ifft2(small) for _ in range(12)],
        ),
        "JQI: horizontal and vertical differences": lambda: (
            np.diff(i64, axis=1),
            np.diff(i64, axis=0),
        ),
        "NIQE: halving, local mean and second moment (7x7) at 2 scales": lambda: (
            halve(i32),
            [blur(a, 7, 7 / 6) for a in (i32, i32 * i32, g2_32, g2_32 * g2_32)],
        ),
    }
    return {"issue2": issue2, "issue3": issue3}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50, help="runs per primitive (min kept)")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    tune_allocator()  # as QualityFeatures: freed image-sized arrays are reused, not re-mapped
    source, g = frame()
    out: dict[str, Any] = {"frame": source, "shape": list(g.shape), "unit": "ms, min of runs"}
    total = 0.0
    for group, prims in primitives(g).items():
        ms = {name: timed(fn, args.repeats) for name, fn in prims.items()}
        total += sum(ms.values())
        out[group] = {"primitives_ms": ms, "floor_ms": round(total, 3)}
    out["issue2"]["what_is_left_ms"] = round(8.0 - out["issue2"]["floor_ms"], 3)
    out["issue3"]["what_is_left_ms"] = round(15.0 - out["issue3"]["floor_ms"], 3)
    out["loadavg"] = [round(v, 2) for v in os.getloadavg()]
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
