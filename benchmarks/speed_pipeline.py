"""Speed of the whole pipeline: face detection, colour texture, quality measures, classification.

For each resolution, frames per second of each stage on one core (``fps_per_core``: from the
process CPU time, so that other jobs on a shared machine do not distort it; wall-clock times
are reported beside), and of the whole ``predict`` path (all stages, features of both
families, LDA and SVM scores) with ``--jobs`` worker processes over a batch of frames
(wall-clock ``fps`` and ``speed_up``: meaningful on a quiet machine only). Frames are the
stand-in set's bona fide captures (``iqa_liveness.simulate``) rendered at each resolution, so
the script needs no data. Prints one JSON object (and one line per resolution on stderr).

    python benchmarks/speed_pipeline.py --resolutions 320x240,640x480,1280x720 --jobs 1,2

Stage times are medians of ``--repeat`` passes; the load average at start and end is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from iqa_liveness.simulate import STANDIN_SOURCES, CaptureParams, _load_source, capture  # noqa: E402


def frames(size: tuple[int, int], n: int, seed: int = 0) -> list[np.ndarray]:
    src = STANDIN_SOURCES[0]
    scene = _load_source(src)
    rng = np.random.default_rng(seed)
    return [capture(scene, src.face, CaptureParams.draw(rng), size) for _ in range(n)]


def timed(fn: Any, items: list[Any], repeat: int) -> tuple[float, float]:
    """Median wall-clock and process-CPU seconds per item of ``fn(item)`` over ``repeat``
    passes. CPU time counts every thread of this process, so ``1 / cpu`` is the throughput of
    one core whatever the other jobs of the machine do."""
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        for it in items:
            fn(it)
        wall.append((time.perf_counter() - t) / len(items))
        cpu.append((time.process_time() - c) / len(items))
    return statistics.median(wall), statistics.median(cpu)


def _pipeline(img: np.ndarray, q: Any, ct: Any, clf_q: Any, clf_ct: Any) -> tuple[float, float]:
    a = clf_q.score_samples(q.transform([img]))[0]
    b = clf_ct.score_samples(ct.transform([img]))[0]
    return float(a), float(b)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--resolutions", default="320x240,640x480,1280x720")
    ap.add_argument("--jobs", default="1,2")
    ap.add_argument("--frames", type=int, default=8, help="frames per stage measurement")
    ap.add_argument("--batch", type=int, default=16, help="frames of the --jobs measurement")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)

    from joblib import Parallel, delayed

    from iqa_liveness.classifiers import LibSVMClassifier, ShrinkageLDA
    from iqa_liveness.colour_texture import ColourTextureFeatures
    from iqa_liveness.faces import get_face_detector
    from iqa_liveness.quality import QualityFeatures

    sizes = [tuple(int(v) for v in r.split("x")) for r in args.resolutions.split(",")]
    jobs = [int(j) for j in args.jobs.split(",")]
    q, ct = QualityFeatures(), ColourTextureFeatures()
    det = get_face_detector("yunet")
    # classifiers trained on random features of the right width (speed only)
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(40, int), np.ones(40, int)]
    nq = len(q.get_feature_names_out())
    nct = len(ct.get_feature_names_out())
    clf_q = ShrinkageLDA().fit(rng.normal(size=(80, nq)) + y[:, None], y)
    clf_ct = LibSVMClassifier(C=1.0, gamma=1.0 / nct).fit(
        rng.normal(size=(80, nct)) + y[:, None], y
    )
    out: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
        },
        "load_average_at_start": os.getloadavg(),
        "n_quality_measures": nq,
        "n_colour_texture_features": nct,
        "results": [],
    }
    for size in sizes:
        imgs = frames(size, args.frames)
        Xq = q.transform(imgs)
        Xct = ct.transform(imgs)
        stage = {
            "face_detection": timed(det.detect, imgs, args.repeat),
            "colour_texture_features": timed(lambda im: ct.transform([im]), imgs, args.repeat),
            "quality_features": timed(lambda im: q.transform([im]), imgs, args.repeat),
            "classification_lda": timed(
                lambda x: clf_q.score_samples(x[None]), list(Xq), args.repeat
            ),
            "classification_svm": timed(
                lambda x: clf_ct.score_samples(x[None]), list(Xct), args.repeat
            ),
        }
        row: dict[str, Any] = {
            "resolution": f"{size[0]}x{size[1]}",
            "fps_per_core": {k: round(1.0 / max(v[1], 1e-9), 2) for k, v in stage.items()},
            "cpu_ms_per_frame": {k: round(1000 * v[1], 3) for k, v in stage.items()},
            "wall_ms_per_frame": {k: round(1000 * v[0], 3) for k, v in stage.items()},
            "pipeline": [],
        }
        batch = frames(size, args.batch, seed=1)
        base = None
        for j in jobs:
            t = time.perf_counter()
            if j == 1:
                for im in batch:
                    _pipeline(im, q, ct, clf_q, clf_ct)
            else:
                Parallel(n_jobs=j)(delayed(_pipeline)(im, q, ct, clf_q, clf_ct) for im in batch)
            fps = len(batch) / (time.perf_counter() - t)
            base = base or fps
            row["pipeline"].append(
                {"jobs": j, "fps": round(fps, 2), "speed_up": round(fps / base, 2)}
            )
        out["results"].append(row)
        print(json.dumps(row), file=sys.stderr)
    out["load_average_at_end"] = os.getloadavg()
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
