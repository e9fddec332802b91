"""Measure the box mapping of the MiniFASNet preset: project (YuNet) boxes -> RetinaFace boxes.

The MiniFASNet pair was trained on crops around RetinaFace boxes. This script runs the
project's default detector on the images listed in ``retinaface_boxes_nuaa_train.csv`` (the
RetinaFace boxes of the shared NUAA training split), fits the affine box mapping of the sidecar
(``dx, dy, sw, sh``: medians of the per-image ratios, robust to a few misplaced boxes), and
reports the IoU with the RetinaFace boxes before and after the mapping, and the change in the
pair's scores (and their HTER at the EER threshold) compared with scoring on the RetinaFace
boxes. Prints JSON. Nothing derived from NUAA is written to the repository.

Usage::

    python benchmarks/minifasnet_box_mapping.py --models ../shared/models/minifasnet \
        --nuaa ../shared/data/nuaa [--every 1] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from iqa_liveness.deep import BoxMapping, OnnxLivenessTest
from iqa_liveness.faces import get_face_detector, select_face
from iqa_liveness.metrics import eer_threshold, farfrr, roc_auc


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of (n, 4) boxes (x, y, w, h)."""
    x1 = np.maximum(a[:, 0], b[:, 0])
    y1 = np.maximum(a[:, 1], b[:, 1])
    x2 = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2])
    y2 = np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
    return inter / union


def fit_mapping(det: np.ndarray, ref: np.ndarray) -> BoxMapping:
    """Medians of the per-image centre offsets (in detector box units) and size ratios."""
    dcx = det[:, 0] + det[:, 2] / 2
    dcy = det[:, 1] + det[:, 3] / 2
    rcx = ref[:, 0] + ref[:, 2] / 2
    rcy = ref[:, 1] + ref[:, 3] / 2
    return BoxMapping(
        dx=round(float(np.median((rcx - dcx) / det[:, 2])), 4),
        dy=round(float(np.median((rcy - dcy) / det[:, 3])), 4),
        sw=round(float(np.median(ref[:, 2] / det[:, 2])), 4),
        sh=round(float(np.median(ref[:, 3] / det[:, 3])), 4),
    )


def hter_at_eer(scores: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    neg, pos = scores[labels == 0], scores[labels == 1]
    t = eer_threshold(neg, pos)
    far, frr = farfrr(neg, pos, t)
    return {"threshold": float(t), "hter": (far + frr) / 2, "auc": float(roc_auc(neg, pos))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", required=True, help="folder with the two MiniFASNet .onnx files")
    ap.add_argument("--nuaa", required=True, help="NUAA root (ClientRaw/, ImposterRaw/)")
    ap.add_argument("--every", type=int, default=1, help="use every k-th listed image")
    ap.add_argument("--json", help="write the JSON here too")
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)

    rows = list(csv.DictReader(open(Path(args.models) / "retinaface_boxes_nuaa_train.csv")))
    rows = rows[:: args.every]
    detector = get_face_detector("yunet")
    test = OnnxLivenessTest(f"minifasnet@{args.models}")
    ref_boxes, det_boxes, labels, images = [], [], [], []
    missed = 0
    for r in rows:
        bgr = cv2.imread(str(Path(args.nuaa) / r["path"]))
        if bgr is None:
            print(f"unreadable: {r['path']}", file=sys.stderr)
            continue
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        faces = detector.detect(rgb)
        if not faces:
            missed += 1
            continue
        det_boxes.append(select_face(faces).box)
        ref_boxes.append([float(r[k]) for k in ("x", "y", "w", "h")])
        labels.append(int(r["label"]))
        images.append(rgb)
    det = np.array(det_boxes)
    ref = np.array(ref_boxes)
    y = np.array(labels)
    mapping = fit_mapping(det, ref)
    mapped = np.array([mapping.apply(b) for b in det])

    def scores(boxes: np.ndarray) -> np.ndarray:
        return np.array(
            [test.score_face(img, b, map_box=False)[-1] for img, b in zip(images, boxes)]
        )

    s_ref, s_raw, s_map = scores(ref), scores(det), scores(mapped)
    out = {
        "n_images": len(rows),
        "n_detected": len(y),
        "n_missed_by_detector": missed,
        "mapping": {"dx": mapping.dx, "dy": mapping.dy, "sw": mapping.sw, "sh": mapping.sh},
        "iou_before": {
            "mean": float(iou(det, ref).mean()),
            "median": float(np.median(iou(det, ref))),
        },
        "iou_after": {
            "mean": float(iou(mapped, ref).mean()),
            "median": float(np.median(iou(mapped, ref))),
        },
        "score_abs_change_vs_retinaface": {
            "before_mapping": {
                "mean": float(np.abs(s_raw - s_ref).mean()),
                "p95": float(np.percentile(np.abs(s_raw - s_ref), 95)),
            },
            "after_mapping": {
                "mean": float(np.abs(s_map - s_ref).mean()),
                "p95": float(np.percentile(np.abs(s_map - s_ref), 95)),
            },
        },
        "hter_at_own_eer_threshold": {
            "retinaface_boxes": hter_at_eer(s_ref, y),
            "yunet_boxes": hter_at_eer(s_raw, y),
            "yunet_boxes_mapped": hter_at_eer(s_map, y),
        },
    }
    text = json.dumps(out, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
