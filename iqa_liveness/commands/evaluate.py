"""``iqa-liveness evaluate``: error rates of a model on a feature store.

The threshold is the one stored in the model (calibrated on development data, or on
out-of-fold training scores); it is never re-fitted on the evaluated data. ``--threshold``
overrides it explicitly. Samples of the store without features (failures to acquire, e.g. no
face found) are counted in ``n_failed`` and reported apart, as ISO/IEC 30107-3 does; they are
not part of the error rates.

JSON keys (``--json``): ``threshold``, ``threshold_source``, ``far``, ``frr``, ``hter``,
``eer``, ``apcer``, ``apcer_per_species``, ``bpcer``, ``acer``, ``auc``, ``n_bona_fide``,
``n_attack``, ``n_attack_per_species``, ``n_failed``, ``failed_by_error``, ``calibration_eer``
(EER of the scores the threshold was calibrated on), ``threshold_calibrated_on``,
``features``, ``model``. Rates are fractions in [0, 1]; ``eer`` is the equal error rate of the
evaluated scores themselves (an a-posteriori figure, for comparison only).
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ._common import UsageError, add_common_flags, guarded

HELP = "error rates (FAR/FRR/HTER, APCER/BPCER/ACER, EER, AUC) of a model on a feature store"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="model file written by train or fuse")
    parser.add_argument(
        "--features",
        required=True,
        nargs="+",
        help="feature store(s) to evaluate (.h5; several are joined by sample id, e.g. one per "
        "family for a fused model), or a CSV score file for a model fusing external scores",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--plot", metavar="DET.png", help="write a DET plot (.png or .svg)")
    parser.add_argument("--threshold", type=float, help="use this threshold instead of the model's")
    parser.add_argument(
        "--scores",
        metavar="CSV",
        help="also write per-sample scores to a CSV (score column named after the model file; "
        "input for fuse --dev)",
    )
    add_common_flags(parser)


def score_store(model: Any, path: Any) -> tuple[Any, np.ndarray]:
    """Read the store columns the model needs (all members' for a fused model), score them.

    A model fusing external tests reads CSV score files instead (see ``fuse``); samples
    lacking a score of some test are reported as failed unless the fusion imputes them."""
    from ._model import ScoredSet, member_scores

    paths = [path] if isinstance(path, (str, Path)) else list(path)
    names = model.provenance.get("external_tests")
    if not names:
        if any(str(p).lower().endswith(".csv") for p in paths):
            raise UsageError("CSV score files are for models that fuse external scores")
        return member_scores(model, paths)
    from .fuse import csv_matrix

    S, labels, ids, types, _ = csv_matrix([str(p) for p in paths], list(names))
    ok = np.all(np.isfinite(S), axis=1) | (model.classifier.impute is not None)
    idarr = np.asarray(ids, dtype=object)
    scored = ScoredSet(
        sample_id=idarr[ok],
        y=(labels[ok] == "bona_fide").astype(np.int8),
        metadata={"attack_type": np.asarray(types, dtype=object)[ok]},
        failed={
            "sample_id": idarr[~ok],
            "error": np.asarray(["MissingScore"] * int((~ok).sum()), dtype=object),
        },
    )
    return scored, model.scores(S[ok])


def write_plot(path: str, curves: list[dict[str, Any]], title: str) -> None:
    from ._report import det_png, det_svg

    if path.lower().endswith(".svg"):
        Path(path).write_text(det_svg(curves, title=title), encoding="utf-8")
    else:
        det_png(curves, path, title=title)


def evaluate(model: Any, fs: Any, scores: np.ndarray, threshold: float | None) -> dict[str, Any]:
    from ..metrics import eer, evaluate_protocol

    labels = np.where(fs.y == 1, "bona_fide", "attack")
    types = [str(t) if y == 0 else None for t, y in zip(fs.metadata["attack_type"], fs.y)]
    types = [t if (t is None or t) else "attack" for t in types]
    thr = model.threshold if threshold is None else float(threshold)
    r = evaluate_protocol(None, None, scores, labels, test_attack_types=types, threshold=thr)
    failed = fs.failed.get("error", np.zeros(0, dtype=object))
    neg, pos = scores[fs.y == 0], scores[fs.y == 1]
    return {
        "threshold": thr,
        "threshold_source": "--threshold" if threshold is not None else "model",
        "far": r.far,
        "frr": r.frr,
        "hter": r.hter,
        "eer": float(eer(neg, pos)),
        "apcer": r.apcer,
        "apcer_per_species": r.apcer_per_species,
        "bpcer": r.bpcer,
        "acer": r.acer,
        "auc": r.auc,
        "n_bona_fide": r.n_bona_fide,
        "n_attack": r.n_attack,
        "n_attack_per_species": r.n_attack_per_species,
        "n_failed": int(len(failed)),
        "failed_by_error": dict(collections.Counter(str(e) for e in failed)),
        "calibration_eer": model.provenance.get("calibration_eer"),
        "threshold_calibrated_on": model.provenance.get("threshold_source"),
    }


def resolution_mismatch(model: Any, paths: list[Any]) -> str | None:
    """A note when a store's images (median resolution, recorded by ``extract``) are at
    another scale than the model's working resolution, to which ``predict`` brings inputs."""
    import h5py

    res = model.working_resolution
    for p in paths if res is not None else []:
        try:
            with h5py.File(p, "r") as f:
                w, h = f.attrs.get("image_width"), f.attrs.get("image_height")
        except OSError:  # a CSV score file
            continue
        if w and h and min(int(w), int(h)) != min(res):
            return (
                f"{p} holds {int(w)}x{int(h)} images but the model works at {res[0]}x{res[1]}: "
                "the store's features were measured at the images' own scale, whereas predict "
                "brings inputs to the model's (these rates may not hold for predict)"
            )
    return None


@guarded
def run(args: argparse.Namespace) -> int:
    from ._model import load_cli_model

    model = load_cli_model(args.model)
    fs, scores = score_store(model, args.features)
    if len(scores) == 0:
        errors = collections.Counter(str(e) for e in fs.failed.get("error", []))
        why = ", ".join(f"{k} {v}" for k, v in errors.items())
        raise UsageError(
            f"{', '.join(str(p) for p in args.features)} holds no sample with features"
            + (f" ({sum(errors.values())} failed: {why})" if errors else "")
        )
    note = resolution_mismatch(model, args.features)
    if note:
        print(f"iqa-liveness evaluate: warning: {note}", file=sys.stderr)
    res = evaluate(model, fs, scores, args.threshold)
    res["features"] = [str(p) for p in args.features]
    res["model"] = str(args.model)
    if args.scores:
        import csv

        from .fuse import META_COLUMNS

        # the score column is named after the model, so that the files of several models
        # (and the dev and test files of one model) go to `fuse` and `evaluate` as they are
        test = Path(args.model).stem
        if not test or test in META_COLUMNS:
            test = "score"
        subjects = fs.metadata.get("subject")
        if subjects is None:
            subjects = [""] * len(scores)
        with open(args.scores, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["sample_id", "label", "attack_type", "subject", test])
            for sid, y, t, subj, s in zip(
                fs.sample_id, fs.y, fs.metadata["attack_type"], subjects, scores
            ):
                w.writerow([sid, "bona_fide" if y == 1 else "attack", t, subj, repr(float(s))])
    if args.plot:
        write_plot(
            args.plot,
            [
                {
                    "label": Path(args.model).name,
                    "negatives": scores[fs.y == 0],
                    "positives": scores[fs.y == 1],
                    "threshold": res["threshold"],
                }
            ],
            f"DET: {Path(args.features[0]).name}",
        )
    if args.json:
        print(json.dumps(res, indent=1, sort_keys=True))
    else:
        pct = lambda v: f"{100 * v:6.2f} %"  # noqa: E731
        print(
            f"threshold {res['threshold']:.6g} ({res['threshold_source']}; calibrated on "
            f"{res['threshold_calibrated_on']})"
        )
        print(f"FAR   {pct(res['far'])}   FRR   {pct(res['frr'])}   HTER {pct(res['hter'])}")
        print(f"APCER {pct(res['apcer'])}   BPCER {pct(res['bpcer'])}   ACER {pct(res['acer'])}")
        for k, v in res["apcer_per_species"].items():
            print(f"  APCER[{k}] {pct(v)} ({res['n_attack_per_species'].get(k, 0)} attacks)")
        print(f"EER of these scores {pct(res['eer'])} (a posteriori)   AUC {res['auc']:.4f}")
        print(
            f"samples: {res['n_bona_fide']} bona fide, {res['n_attack']} attacks, "
            f"{res['n_failed']} failed (not scored)"
        )
    if res["n_failed"]:
        print(
            f"iqa-liveness evaluate: {res['n_failed']} samples of {args.features} have no "
            "features (failures to acquire), reported as n_failed",
            file=sys.stderr,
        )
    return 0
