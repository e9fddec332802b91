"""Validation across capture sessions: train on one NUAA session, test on the other.

The withheld official NUAA test split is a later capture session (new light, more subjects).
Its stand-in here is the shared NUAA *training* split, which holds two capture sessions (01 and
02, in the file names ``ID_glasses_position_session_picture.jpg``) of subjects 0001-0009:

* ``S01->S02`` / ``S02->S01``: train on every image of one session; the threshold is the EER
  threshold of the *subject-wise out-of-fold* scores of the training data (what
  ``iqa-liveness train`` does without ``--dev``); evaluate on every image of the other session;
* ``... subject-disjoint``: the same, but the subjects are split in two halves (odd / even
  ids): train on one half in one session, test on the other half in the other session (4 runs
  per direction pair, pooled figures are the mean of the runs).

Features are extracted once into ``--work`` (resumable HDF5 stores, outside the repository:
NUAA is research-only), then every variant is evaluated on them:

* methods marked ``[default]``: the defaults of the Python classes, i.e. W-IQA of the whole
  scene (``QualityFeatures()``) + shrinkage LDA, colour texture (``ColourTextureFeatures()``:
  the paper preset, eye-based YuNet crop, HSV LBP + YCbCr LPQ) + LIBSVM, their
  :class:`~iqa_liveness.fusion.ScoreFusion` (the CLI now extracts the quality measures of the
  face crop and the ``generalising`` colour-texture preset);
* what makes the numbers hold across sessions: quality measures on the face crop instead of
  the whole 640x480 scene, a log transform of the heavy-tailed measures, LDA vs SVM, the box
  crop vs the eye-based crop of colour texture, and the threshold rule.

Usage::

    python benchmarks/session_holdout.py --root ../shared/data/nuaa --work /tmp/iqa-session \\
        --every 2 --jobs 1 --output /tmp/session_holdout

prints Markdown, writes ``<output>.json`` and ``<output>.md``. ``--every K`` keeps every K-th
image of each (class, subject, session) group (the machine is shared; say so when quoting).
``--families`` limits the extracted families, ``--only`` the evaluated methods (labels
separated by ``;``), ``--protocols`` the protocols; ``--extract-only`` stops after extraction.
Each SVM grid search (subject-wise 5-fold CV) takes minutes on 945 colour-texture features.
Findings and the measured numbers: ``docs/evaluation.md``, "Validation across capture
sessions".
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from accuracy import GlobalContrast, align, extract_family, subsample  # noqa: E402

from iqa_liveness.colour_texture import ColourTextureFeatures  # noqa: E402
from iqa_liveness.faces import Face, extract_face, get_face_detector, select_face  # noqa: E402
from iqa_liveness.quality import QualityFeatures  # noqa: E402


# --------------------------------------------------------------------------------------------
# experimental extractors (shared face detection through extract_to_store's `faces=`)
# --------------------------------------------------------------------------------------------
def _faces_for(images: list[Any], faces: Sequence[Face | None] | None, detector: str) -> list[Any]:
    out = []
    det = None
    for i, img in enumerate(images):
        f = None if faces is None else faces[i]
        if f is None:
            det = det or get_face_detector(detector)
            found = det.detect(img)
            f = select_face(found, "largest") if found else None
        out.append(f)
    return out


class FaceQuality(TransformerMixin, BaseEstimator):
    """The quality measures of the eye-based face crop resized to ``size x size`` (area
    interpolation): the scale-normalised variant of ``QualityFeatures(detector="yunet")``,
    which measures the crop at its own resolution. No face: the whole image."""

    def __init__(self, detector: str = "yunet", face: str = "largest", size: int = 128):
        self.detector = detector
        self.face = face
        self.size = size

    def fit(self, X: Any = None, y: Any = None) -> FaceQuality:
        return self

    def transform(self, X: Any, faces: Sequence[Face | None] | None = None) -> np.ndarray:
        import cv2

        from iqa_liveness.image import load_image

        images = [load_image(x) for x in X]
        crops = []
        for img, f in zip(images, _faces_for(images, faces, self.detector)):
            crop = img if f is None else extract_face(img, face=f)[0]
            if self.size:
                crop = cv2.resize(crop, (self.size, self.size), interpolation=cv2.INTER_AREA)
            crops.append(crop)
        return QualityFeatures().transform(crops)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return QualityFeatures().get_feature_names_out()


class BoxCropColourTexture(ColourTextureFeatures):
    """Colour texture of the straightforward crop: a square of side max(w, h) on the detector's
    box (the eyes are ignored), for comparison with the eye-based crop of the product."""

    def transform(self, X: Any, faces: Sequence[Face | None] | None = None) -> np.ndarray:
        from iqa_liveness.image import load_image

        images = [load_image(x) for x in X]
        found = _faces_for(images, faces, str(self.detector))
        boxed = [
            None if f is None else dataclasses.replace(f, landmarks=None, eyes=None) for f in found
        ]
        return super().transform(images, faces=boxed)


FAMILIES: dict[str, Any] = {
    "quality": QualityFeatures,  # product default: the whole scene
    "colour-texture": ColourTextureFeatures,  # product default: eye-based crop
    "contrast": GlobalContrast,
    "quality-face": lambda: QualityFeatures(detector="yunet", on_no_face="whole"),
    "colour-texture-box": BoxCropColourTexture,
    "quality-face-128": lambda: FaceQuality(size=128),
}


def load_samples(root: str, every: int) -> tuple[list[Any], dict[str, np.ndarray]]:
    from iqa_liveness.datasets import get_dataset

    ds = get_dataset("nuaa", root)
    samples = subsample(list(ds.samples(split="train")), every)
    meta = {
        "id": np.array([s.sample_id for s in samples], dtype=object),
        "label": np.array([s.label for s in samples], dtype=object),
        "subject": np.array([s.subject for s in samples], dtype=object),
        "session": np.array([s.session for s in samples], dtype=object),
        "attack_type": np.array([s.attack_type or "" for s in samples], dtype=object),
    }
    return samples, meta


def extract_all(
    samples: list[Any], meta: dict[str, np.ndarray], names: list[str], work: Path, jobs: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, float]]:
    X, found, secs = {}, {}, {}
    for name in names:
        t = time.perf_counter()
        fs = extract_family(samples, name, FAMILIES[name](), work, jobs)
        secs[name] = round(time.perf_counter() - t, 1)
        X[name], found[name] = align(fs, meta["id"])
    return X, found, secs


# --------------------------------------------------------------------------------------------
# protocols
# --------------------------------------------------------------------------------------------
ODD = ("0001", "0003", "0005", "0007", "0009")


def protocols(meta: dict[str, np.ndarray]) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """name -> list of (train mask, test mask) runs."""
    ses = meta["session"].astype(str)
    odd = np.isin(meta["subject"].astype(str), ODD)
    out: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for a, b in (("01", "02"), ("02", "01")):
        out[f"S{a}->S{b}"] = [(ses == a, ses == b)]
        out[f"S{a}->S{b} subject-disjoint"] = [
            ((ses == a) & odd, (ses == b) & ~odd),
            ((ses == a) & ~odd, (ses == b) & odd),
        ]
    return out


# --------------------------------------------------------------------------------------------
# feature transforms (fitted on the training rows only)
# --------------------------------------------------------------------------------------------
class LogHeavyTailed:
    """``log(x + c)`` of the columns that are non-negative with max/min >= 10 on the training
    data (energies and errors spanning orders of magnitude), ``c`` = 1 % of the column's
    training median (so zero stays finite); other columns unchanged."""

    def fit(self, X: np.ndarray) -> LogHeavyTailed:
        lo, hi = X.min(axis=0), X.max(axis=0)
        med = np.median(X, axis=0)
        self.cols_ = (lo >= 0) & (hi >= 10 * np.maximum(lo, 1e-300)) & (med > 0)
        self.c_ = np.where(self.cols_, 0.01 * med, 0.0)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        Z = X.copy()
        Z[:, self.cols_] = np.log(np.maximum(X[:, self.cols_], 0) + self.c_[self.cols_])
        return Z


class Identity:
    def fit(self, X: np.ndarray) -> Identity:
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return X


# --------------------------------------------------------------------------------------------
# one run of one variant
# --------------------------------------------------------------------------------------------
def _svm_oof(clf: Any, X: np.ndarray, y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Out-of-fold scores of an SVM at its selected C and gamma (no nested grid search)."""
    from sklearn.base import clone

    from iqa_liveness.classifiers import out_of_fold_scores

    fixed = clone(clf).set_params(C=clf.C_, gamma=clf.gamma_ or None)
    return out_of_fold_scores(fixed, X, y, groups=groups)


def fit_score(
    estimator: Any,
    transform: Any,
    X: np.ndarray,
    meta: dict[str, np.ndarray],
    tr: np.ndarray,
    te: np.ndarray,
    want_oof: bool,
) -> dict[str, Any]:
    """Fit on ``tr`` (threshold: subject-wise out-of-fold EER), score ``te``."""
    from sklearn.base import clone

    from iqa_liveness.classifiers import LibSVMClassifier, out_of_fold_scores

    y, g = meta["label"].astype(str), meta["subject"].astype(str)
    tf = transform().fit(X[tr])
    Xtr, Xte = tf.transform(X[tr]), tf.transform(X[te])
    clf = clone(estimator).fit(Xtr, y[tr], groups=g[tr])
    out = {
        "threshold": float(clf.threshold_),
        "calibration_eer": float(clf.calibration_eer_),
        "test": clf.score_samples(Xte),
    }
    if want_oof:
        if isinstance(clf, LibSVMClassifier):
            out["oof"] = _svm_oof(clf, Xtr, y[tr], g[tr])
        else:
            out["oof"] = out_of_fold_scores(clone(estimator), Xtr, y[tr], groups=g[tr])
    if hasattr(clf, "C_"):
        out["C"], out["gamma"] = float(clf.C_), float(clf.gamma_)
    return out


def rates(scores: np.ndarray, y: np.ndarray, threshold: float) -> dict[str, float]:
    from iqa_liveness.metrics import eer_threshold, farfrr, roc_auc

    neg, pos = scores[y == "attack"], scores[y == "bona_fide"]
    far, frr = farfrr(neg, pos, threshold)
    t = eer_threshold(neg, pos)
    efar, efrr = farfrr(neg, pos, t)
    return {
        "far": float(far),
        "frr": float(frr),
        "hter": (float(far) + float(frr)) / 2,
        "test_eer": (float(efar) + float(efrr)) / 2,
        "auc": float(roc_auc(neg, pos)),
    }


def variants() -> tuple[list[tuple[str, str, Any, Any]], list[tuple[str, list[str]]]]:
    from iqa_liveness.classifiers import LibSVMClassifier, ShrinkageLDA

    single = [
        ("W-IQA scene + LDA [default]", "quality", Identity, ShrinkageLDA()),
        ("W-IQA scene, log + LDA", "quality", LogHeavyTailed, ShrinkageLDA()),
        ("W-IQA face crop + LDA", "quality-face", Identity, ShrinkageLDA()),
        ("W-IQA face crop, log + LDA", "quality-face", LogHeavyTailed, ShrinkageLDA()),
        (
            "W-IQA face crop + LDA, shrinkage 0.1",
            "quality-face",
            Identity,
            ShrinkageLDA(shrinkage=0.1),
        ),
        (
            "W-IQA scene + LDA, shrinkage 0.1",
            "quality",
            Identity,
            ShrinkageLDA(shrinkage=0.1),
        ),
        ("W-IQA face crop 128x128 + LDA", "quality-face-128", Identity, ShrinkageLDA()),
        (
            "W-IQA face crop + 128x128 crop + LDA",
            "quality-face+quality-face-128",
            Identity,
            ShrinkageLDA(),
        ),
        ("W-IQA scene + SVM", "quality", Identity, LibSVMClassifier()),
        ("W-IQA face crop + SVM", "quality-face", Identity, LibSVMClassifier()),
        (
            "colour texture, eye crop + SVM [default]",
            "colour-texture",
            Identity,
            LibSVMClassifier(),
        ),
        ("colour texture, box crop + SVM", "colour-texture-box", Identity, LibSVMClassifier()),
        ("baseline: RMS contrast + LDA", "contrast", Identity, ShrinkageLDA()),
    ]
    fusions = [
        (
            "fusion: W-IQA scene LDA + colour texture SVM [default]",
            ["W-IQA scene + LDA [default]", "colour texture, eye crop + SVM [default]"],
        ),
        (
            "fusion: W-IQA face crop, log LDA + colour texture SVM",
            ["W-IQA face crop, log + LDA", "colour texture, eye crop + SVM [default]"],
        ),
        (
            "fusion: W-IQA face crop LDA + colour texture SVM",
            ["W-IQA face crop + LDA", "colour texture, eye crop + SVM [default]"],
        ),
    ]
    return single, fusions


def _cached(
    cache: Path | None, key: list[Any], compute: Any, args: tuple[Any, ...]
) -> dict[str, Any]:
    """``compute(*args)``, or its result stored under ``cache`` by a hash of ``key`` (the method,
    protocol, run, estimator, transform, the feature matrix and the masks)."""
    if cache is None:
        return dict(compute(*args))
    import hashlib
    import pickle

    h = hashlib.sha256()
    for part in key:
        h.update(
            np.ascontiguousarray(part).tobytes()
            if isinstance(part, np.ndarray)
            else repr(part).encode()
        )
    path = cache / f"{h.hexdigest()[:24]}.pkl"
    if path.exists():
        with open(path, "rb") as fh:
            return dict(pickle.load(fh))
    out = dict(compute(*args))
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(out, fh)
    os.replace(tmp, path)
    return out


def run_all(
    X: dict[str, np.ndarray],
    found: dict[str, np.ndarray],
    meta: dict[str, np.ndarray],
    only: list[str] | None,
    wanted: list[str] | None = None,
    cache: Path | None = None,
) -> dict[str, Any]:
    from iqa_liveness.fusion import ScoreFusion

    y, g = meta["label"].astype(str), meta["subject"].astype(str)
    single, fusions = variants()
    for _, fam, _, _ in single:  # "a+b": the columns of both families side by side
        parts = fam.split("+")
        if len(parts) > 1 and all(p in X for p in parts):
            X[fam] = np.hstack([X[p] for p in parts])
            found[fam] = np.logical_and.reduce([found[p] for p in parts])
    single = [v for v in single if v[1] in X and (not only or v[0] in only)]
    fusions = [f for f in fusions if all(m in [v[0] for v in single] for m in f[1])]
    ok = np.ones(len(y), dtype=bool)
    for v in single:
        ok &= found[v[1]]
    results: dict[str, Any] = {}
    for pname, runs in protocols(meta).items():
        if wanted and pname not in wanted:
            continue
        per: dict[str, list[dict[str, Any]]] = {}
        for k, (tr, te) in enumerate(runs):
            tr, te = tr & ok, te & ok
            fitted = {}
            for label, fam, tf, est in single:
                t = time.perf_counter()
                r = _cached(
                    cache,
                    [label, pname, k, repr(est), tf.__name__, X[fam], tr, te],
                    fit_score,
                    (est, tf, X[fam], meta, tr, te, True),
                )
                fitted[label] = r
                row = rates(r["test"], y[te], r["threshold"])
                row["calibration_eer"] = r["calibration_eer"]
                if "C" in r:
                    row["C"], row["gamma"] = r["C"], r["gamma"]
                if type(est).__name__ == "ShrinkageLDA":  # log-likelihood ratio: Bayes threshold 0
                    row["hter_llr0"] = rates(r["test"], y[te], 0.0)["hter"]
                row["seconds"] = round(time.perf_counter() - t, 1)
                per.setdefault(label, []).append(row)
                print(
                    f"  {pname} run {k} | {label}: HTER {100 * row['hter']:.1f} % "
                    f"(FAR {100 * row['far']:.1f}, FRR {100 * row['frr']:.1f}), test EER "
                    f"{100 * row['test_eer']:.1f} %, {row['seconds']} s",
                    file=sys.stderr,
                )
            for label, members in fusions:
                S_oof = np.column_stack([fitted[m]["oof"] for m in members])
                S_te = np.column_stack([fitted[m]["test"] for m in members])
                fus = ScoreFusion().fit(S_oof, y[tr], groups=g[tr])
                row = rates(fus.score_samples(S_te), y[te], float(fus.threshold_))
                row["calibration_eer"] = float(fus.calibration_eer_)
                per.setdefault(label, []).append(row)
                print(
                    f"  {pname} run {k} | {label}: HTER {100 * row['hter']:.1f} % "
                    f"(FAR {100 * row['far']:.1f}, FRR {100 * row['frr']:.1f})",
                    file=sys.stderr,
                )
        counts = [
            {
                s: {c: int(((y == c) & m & ok).sum()) for c in ("bona_fide", "attack")}
                for s, m in (("train", tr), ("test", te))
            }
            for tr, te in runs
        ]
        results[pname] = {
            "runs": counts,
            "methods": {
                m: {
                    **{
                        k: float(np.mean([r[k] for r in rows]))
                        for k in rows[0]
                        if isinstance(rows[0][k], float)
                    },
                    "per_run": rows,
                }
                for m, rows in per.items()
            },
        }
    return results


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}"


def markdown(out: dict[str, Any]) -> str:
    prot = list(out["protocols"])
    lines = [
        "# Validation across capture sessions (NUAA training split)",
        "",
        f"{out['n_samples']} images (every {out['every']}-th of each class/subject/session); "
        "threshold: EER of subject-wise out-of-fold training scores; "
        "cells: HTER % on the held-out session (FAR / FRR), then the test-set EER % "
        "(the best any threshold could do).",
        "",
    ]
    head = ["method"] + prot + ["mean HTER"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    methods = list(out["protocols"][prot[0]]["methods"])
    for m in methods:
        cells, hs = [], []
        for p in prot:
            r = out["protocols"][p]["methods"][m]
            hs.append(r["hter"])
            cells.append(
                f"{_pct(r['hter'])} ({_pct(r['far'])} / {_pct(r['frr'])}); {_pct(r['test_eer'])}"
            )
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {_pct(float(np.mean(hs)))} |")
    lda = [m for m in methods if "hter_llr0" in out["protocols"][prot[0]]["methods"][m]]
    if lda:
        lines += [
            "",
            "LDA with the Bayes threshold 0 (equal priors) instead of the calibrated one: HTER %",
            "",
            "| method | " + " | ".join(prot) + " |",
            "|" + "---|" * (len(prot) + 1),
        ]
        for m in lda:
            lines.append(
                f"| {m} | "
                + " | ".join(_pct(out["protocols"][p]["methods"][m]["hter_llr0"]) for p in prot)
                + " |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", required=True)
    ap.add_argument("--work", required=True, help="feature stores (outside the repository)")
    ap.add_argument("--output", help="prefix of the .json / .md outputs")
    ap.add_argument("--every", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--extract-only", action="store_true")
    ap.add_argument(
        "--cache-scores",
        action="store_true",
        help="keep each method's scores in <work>/scores (keyed by its features, masks and "
        "settings) so that later runs (other fusions, tables) skip the slow SVMs",
    )
    ap.add_argument("--only", help="';'-separated method labels to evaluate (default: all)")
    ap.add_argument(
        "--protocols", help="';'-separated protocol names, e.g. 'S01->S02;S02->S01' (default: all)"
    )
    args = ap.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    samples, meta = load_samples(args.root, args.every)
    names = [n.strip() for n in args.families.split(",") if n.strip()]
    X, found, secs = extract_all(samples, meta, names, work, args.jobs)
    if args.extract_only:
        print(json.dumps(secs))
        return 0
    only = [o.strip() for o in args.only.split(";")] if args.only else None
    t0 = time.perf_counter()
    out = {
        "dataset": "NUAA Photograph Imposter, official TRAINING split (subjects 0001-0009, "
        "sessions 01-02): session-held-out protocols built inside it",
        "every": args.every,
        "n_samples": len(samples),
        "extraction_seconds": secs,
        "n_failed": {k: int((~v).sum()) for k, v in found.items()},
        "protocols": run_all(
            X,
            found,
            meta,
            only,
            args.protocols.split(";") if args.protocols else None,
            work / "scores" if args.cache_scores else None,
        ),
    }
    out["evaluation_seconds"] = round(time.perf_counter() - t0, 1)
    md = markdown(out)
    print(md)
    if args.output:
        Path(f"{args.output}.json").write_text(json.dumps(out, indent=1) + "\n")
        Path(f"{args.output}.md").write_text(md + "\n")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
