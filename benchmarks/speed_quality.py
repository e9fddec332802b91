"""Speed of the quality measures per 640x480 frame, single process, one thread.

Prints JSON: milliseconds per measure and in total (medians over frames x repeats), for every
measure available in this installation.

* Frames: ``../shared/data/nuaa`` (real face frames) when present, else scikit-image's
  astronaut resized to 640x480. Frames of another size are resized to 640x480.
* One thread: BLAS/OpenMP thread counts are fixed before numpy is imported and
  ``cv2.setNumThreads(1)``.
* ``context_ms``: building the shared :class:`QualityContext` (``I'`` and the difference image
  ``D`` that the pixel measures share).
* ``sequential_ms``: each measure timed in registry order on one fresh context per frame, so
  an intermediate shared by several measures is charged to the first one that needs it;
  ``context_ms`` plus these add up to ``total_ms``.
* ``isolated_ms``: each measure alone on a fresh context whose ``I'``/``D`` are already built
  (what it costs when asked for alone).
* ``total_ms``: the whole computation per frame from the grey image (context + measures),
  timed as one block, for the 21 measures of issue 2 and for all available ones.
* Everything twice: ``wall`` (``time.perf_counter``) and ``cpu`` (``time.thread_time``, the
  CPU time of the thread: on a shared machine it excludes the time spent waiting for a core,
  though not the slowdown from caches shared with other processes).

Usage::

    python benchmarks/speed_quality.py [--frames 20] [--repeats 5] [--convention standard]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from iqa_liveness.image import load_grey  # noqa: E402
from iqa_liveness.quality import available_measures, get_measure  # noqa: E402
from iqa_liveness.quality._context import QualityContext, tune_allocator  # noqa: E402

ISSUE2 = (
    "MSE", "PSNR", "SNR", "SC", "MD", "AD", "NAE", "RAMD", "LMSE", "NXC", "MAS", "MAMS",
    "TED", "TCD", "SME", "SPE", "GME", "GPE", "SSIM", "VIF", "HLFI",
)  # fmt: skip
SIZE = (640, 480)  # width, height
SHARED = Path(os.environ.get("IQA_LIVENESS_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def frames(n: int) -> tuple[str, list[np.ndarray]]:
    nuaa = SHARED / "data" / "nuaa"
    files = sorted(p for p in nuaa.rglob("*") if p.suffix.lower() in (".jpg", ".png", ".bmp"))
    if files:
        step = max(1, len(files) // n)
        chosen = files[::step][:n]
        source = f"{nuaa} ({len(chosen)} of {len(files)} frames, evenly spaced)"
        images = [load_grey(p) for p in chosen]
    else:
        from skimage import data

        source = "skimage.data.astronaut() resized (../shared/data/nuaa absent)"
        images = [load_grey(data.astronaut())]
    out = []
    for g in images:
        if g.shape != (SIZE[1], SIZE[0]):
            g = np.asarray(cv2.resize(g, SIZE, interpolation=cv2.INTER_AREA), dtype=np.float64)
        out.append(np.ascontiguousarray(g))
    return source, out


def _prepared(grey: np.ndarray, convention: str) -> QualityContext:
    ctx = QualityContext(grey, convention)
    _ = ctx.diff, ctx.abs_diff
    return ctx


class _Clock:
    """Wall-clock and thread CPU time of a block (CPU time excludes waiting for a core)."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __enter__(self) -> _Clock:
        self._w, self._c = time.perf_counter(), time.thread_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cpu.append(time.thread_time() - self._c)
        self.wall.append(time.perf_counter() - self._w)


def _ms(v: list[float]) -> float:
    return round(float(np.median(v)) * 1e3, 3)


def bench(images: list[np.ndarray], repeats: int, convention: str) -> dict[str, object]:
    names = available_measures()
    fns = {n: get_measure(n).resolve() for n in names}
    issue2 = [n for n in names if n in ISSUE2]
    ctx_t = _Clock()
    seq = {n: _Clock() for n in names}
    iso = {n: _Clock() for n in names}
    tot = {"issue2": _Clock(), "all": _Clock()}
    for _ in range(repeats):
        for g in images:
            with ctx_t:
                ctx = _prepared(g, convention)
            for n in names:
                with seq[n]:
                    fns[n](ctx)  # type: ignore[misc]
            for n in names:
                ctx = _prepared(g, convention)
                with iso[n]:
                    fns[n](ctx)  # type: ignore[misc]
            for key, subset in (("issue2", issue2), ("all", names)):
                with tot[key]:
                    ctx = QualityContext(g, convention)
                    for n in subset:
                        fns[n](ctx)  # type: ignore[misc]
    out: dict[str, object] = {}
    for kind in ("wall", "cpu"):
        sfx = "ms" if kind == "wall" else "cpu_ms"
        seq_ms = {n: _ms(getattr(seq[n], kind)) for n in names}
        out[kind] = {
            f"context_{sfx}": _ms(getattr(ctx_t, kind)),
            f"sequential_{sfx}": seq_ms,
            f"isolated_{sfx}": {n: _ms(getattr(iso[n], kind)) for n in names},
            f"total_{sfx}": {
                f"issue2 ({len(issue2)} of 21 available)": _ms(getattr(tot["issue2"], kind)),
                f"all available ({len(names)})": _ms(getattr(tot["all"], kind)),
            },
            f"context_plus_sequential_{sfx}": round(
                _ms(getattr(ctx_t, kind)) + sum(seq_ms.values()), 3
            ),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20, help="number of frames (default 20)")
    parser.add_argument("--repeats", type=int, default=5, help="passes over the frames")
    parser.add_argument("--convention", choices=("standard", "bob"), default="standard")
    parser.add_argument(
        "--no-tune-allocator",
        action="store_true",
        help="keep glibc's default allocator settings (QualityFeatures tunes them)",
    )
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    tuned = False if args.no_tune_allocator else tune_allocator()
    source, images = frames(args.frames)
    load_before = os.getloadavg()
    # warm-up (imports, FFT plans, caches)
    for n in available_measures():
        get_measure(n).resolve()(QualityContext(images[0], args.convention))  # type: ignore[misc]
    result = bench(images, args.repeats, args.convention)
    report = {
        "frame": f"{SIZE[0]}x{SIZE[1]} grey float64",
        "source": source,
        "runs_per_measure": len(images) * args.repeats,
        "convention": args.convention,
        "threads": {"cv2": cv2.getNumThreads(), "OMP/BLAS": 1},
        "allocator_tuned": tuned,
        "machine": {
            "cpu_count": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "opencv": cv2.__version__,
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        },
        **result,
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
