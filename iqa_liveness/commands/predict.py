"""``iqa-liveness predict``: liveness score and decision for images and videos.

For each input the command prints the score, the decision (``bona_fide`` when
``score >= threshold``, else ``attack``) and the threshold (the model's, or ``--threshold``).

Resolution: quality measures depend on the pixel scale (a model trained on 640x480 frames
called every 1280x720 frame bona fide in the design this project grew from), so every image
and frame is first brought to the model's *working resolution*, the median resolution of its
training images: scaled, aspect ratio kept, until its shorter side equals the working
resolution's shorter side (area averaging when shrinking, bicubic when enlarging; nothing is
cropped). The scale factor is reported. Models without a recorded resolution leave inputs as
they are.

Videos (``.avi``, ``.mp4``, ``.mov``, ...): frames are selected with ``--every`` and
``--max-frames`` and each is scored. **Aggregate rule**: the video's score is the mean (or,
with ``--aggregate median``, the median) of the scores of the frames that gave features, and
the decision compares that score with the threshold. Frames that fail (e.g. no face found)
are counted and left out; a video none of whose frames gives features fails.

Exit codes: 0 every input scored; 4 some inputs failed (the others are reported); 3 every
input failed; 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ._common import (
    Progress,
    UsageError,
    add_common_flags,
    add_frame_flags,
    bring_to_resolution,
    guarded,
)

HELP = "score images or videos with a model: score, decision and threshold per input"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="model file written by train or fuse")
    parser.add_argument("inputs", nargs="+", metavar="IMAGE_OR_VIDEO")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--threshold", type=float, help="use this threshold instead of the model's")
    add_frame_flags(parser)
    parser.add_argument(
        "--aggregate",
        choices=("mean", "median"),
        default="mean",
        help="how frame scores make a video's score (default: mean)",
    )
    parser.add_argument(
        "--native-resolution",
        action="store_true",
        help="do not bring inputs to the model's working resolution (not recommended)",
    )
    add_common_flags(parser)


class Scorer:
    """Features of every family a (fused) model needs, then its score, for one image."""

    def __init__(self, model: Any, native: bool = False) -> None:
        from ._common import build_extractor
        from ._model import all_families

        self.model = model
        self.native = native
        self.families = all_families(model)
        self.extractors = {
            f["name"]: build_extractor(f["name"], f["config"]) for f in self.families
        }
        for f in self.families:
            names = [str(n) for n in self.extractors[f["name"]].get_feature_names_out()]
            if names != list(f["feature_names"]):
                raise UsageError(
                    f"the model's {f['name']!r} features differ from this installation's "
                    f"({len(f['feature_names'])} vs {len(names)}); retrain the model"
                )

    def __call__(self, image: Any) -> tuple[float, float]:
        from ..image import load_image
        from ._model import score_features

        img = load_image(image)
        scale = 1.0
        if not self.native:
            img, scale = bring_to_resolution(img, self.model.working_resolution)
        columns = {
            name: np.asarray(ex.transform([img]), dtype=np.float64)
            for name, ex in self.extractors.items()
        }
        for name, block in columns.items():
            if not np.all(np.isfinite(block)):
                from ..errors import InvalidImageError

                raise InvalidImageError(f"{name} features are not finite")
        return float(score_features(self.model, columns)[0]), scale


def _decision(score: float, threshold: float) -> str:
    return "bona_fide" if score >= threshold else "attack"


def predict_one(
    path: str, scorer: Scorer, threshold: float, args: argparse.Namespace
) -> dict[str, Any]:
    from ..datasets.base import (
        VIDEO_EXTENSIONS,
        iter_video_frames,
        select_frames,
        video_frame_count,
    )
    from ..errors import IQALivenessError

    is_video = Path(path).suffix.lower() in VIDEO_EXTENSIONS
    out: dict[str, Any] = {
        "input": path,
        "kind": "video" if is_video else "image",
        "threshold": threshold,
    }
    try:
        if is_video:
            n = video_frame_count(path)
            frames = select_frames(n, every=args.every, max_frames=args.max_frames)
            rows: list[dict[str, Any]] = []
            failed: list[dict[str, Any]] = []
            scale = 1.0
            for index, frame in iter_video_frames(path, frames):
                try:
                    s, scale = scorer(frame)
                except IQALivenessError as exc:
                    failed.append({"frame": index, "error": type(exc).__name__, "reason": str(exc)})
                    continue
                rows.append({"frame": index, "score": s, "decision": _decision(s, threshold)})
            out.update(
                frames=rows,
                n_frames=len(rows),
                n_frames_failed=len(failed),
                failed_frames=failed,
                aggregate=args.aggregate,
                scale=scale,
            )
            if not rows:
                reason = failed[0]["reason"] if failed else "no frame selected"
                raise _AllFramesFailed(f"no frame of {path} gave features ({reason})")
            values = np.array([r["score"] for r in rows])
            score = float(values.mean() if args.aggregate == "mean" else np.median(values))
        else:
            score, scale = scorer(path)
            out.update(scale=scale)
        out.update(score=score, decision=_decision(score, threshold))
    except (IQALivenessError, _AllFramesFailed) as exc:
        out.update(score=None, decision=None, error=type(exc).__name__, reason=str(exc))
    return out


class _AllFramesFailed(Exception):
    pass


@guarded
def run(args: argparse.Namespace) -> int:
    from ._model import all_families, load_cli_model

    model = load_cli_model(args.model)
    if not all_families(model):
        tests = ", ".join(model.provenance.get("external_tests") or [])
        raise UsageError(
            f"{args.model} fuses external scores ({tests}) that predict cannot compute; "
            "evaluate it on CSV score files"
        )
    scorer = Scorer(model, args.native_resolution)
    threshold = model.threshold if args.threshold is None else float(args.threshold)
    bar = Progress(len(args.inputs), "predict", enabled=not args.quiet and not args.json)
    results = []
    try:
        for path in args.inputs:
            results.append(predict_one(path, scorer, threshold, args))
            bar.update()
    finally:
        bar.close()
    n_bad = sum(1 for r in results if r.get("error"))
    res = model.working_resolution
    if args.json:
        print(
            json.dumps(
                {
                    "threshold": threshold,
                    "threshold_source": "--threshold" if args.threshold is not None else "model",
                    "working_resolution": None
                    if res is None or args.native_resolution
                    else list(res),
                    "aggregate_rule": f"{args.aggregate} of per-frame scores vs threshold",
                    "results": results,
                    "n_failed": n_bad,
                },
                indent=1,
            )
        )
    else:
        print(
            f"# threshold {threshold:.6g}; inputs brought to "
            + (
                "their native resolution"
                if res is None or args.native_resolution
                else f"the working resolution {res[0]}x{res[1]} (shorter side)"
            )
        )
        for r in results:
            if r.get("error"):
                continue
            extra = ""
            if r["kind"] == "video":
                extra = (
                    f"  ({r['aggregate']} of {r['n_frames']} frames"
                    + (f", {r['n_frames_failed']} failed" if r["n_frames_failed"] else "")
                    + ")"
                )
            print(f"{r['input']}\t{r['score']:.6g}\t{r['decision']}\t{threshold:.6g}{extra}")
            if r["kind"] == "video" and not args.quiet:
                for fr in r["frames"]:
                    print(f"  frame {fr['frame']}\t{fr['score']:.6g}\t{fr['decision']}")
    for r in results:
        if r.get("error"):
            print(f"iqa-liveness predict: error: {r['input']}: {r['reason']}", file=sys.stderr)
    if n_bad == len(results):
        return 3
    return 4 if n_bad else 0
