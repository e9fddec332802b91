"""Accuracy benchmark: a database's protocol end to end, for every method of the package.

For each protocol the script extracts features (resumable HDF5 stores in ``--work``), trains on
the training subjects, fixes every threshold on the development subjects (EER), and reports on
the test subjects with that threshold: EER on dev; FAR, FRR, HTER, APCER, BPCER, ACER and AUC
on test. Methods:

* ``W-IQA + LDA``: the quality measures of Galbally et al. 2014, shrinkage LDA;
* ``W-IQA + SVM``: the same features, LIBSVM RBF (C, gamma chosen by subject-wise CV);
* ``W-IQA face crop + LDA``: the measures of the eye-based face crop (YuNet; the whole image
  when no face is found) and the LDA shrinkage 0.1, the command line's defaults (``extract
  --quality-region face``, ``train --lda-shrinkage 0.1``); ``..., Ledoit-Wolf``: the same
  with the Python class's default shrinkage;
* ``colour texture + SVM``: Boulkenafet et al.'s HSV LBP + YCbCr LPQ (preset ``paper``), and
  ``colour texture generalising + SVM`` (preset ``generalising``, the command line's default);
* ``fusion (...)``: ScoreFusion (shrinkage LDA) of the papers' pair (whole-scene W-IQA + LDA,
  colour texture + SVM) and of the command line's defaults, trained on subject-wise
  out-of-fold training scores (the SVM's C and gamma fixed to those chosen on dev), threshold
  on dev;
* ``baseline: RMS contrast``: one global statistic (standard deviation of the grey image) with
  a 1-D LDA, so that nobody mistakes an easy data set for a good method.

NUAA (``--dataset nuaa``): only the official *training* split is available here (subjects
0001-0009, capture sessions 01-02), so two protocols are built inside it and named as such in
every output:

* ``nuaa-train/subject-disjoint``: subjects split into train / dev / test (3 each);
* ``nuaa-train/session-held-out``: train and dev from session 01 (subject-disjoint), test on
  session 02 (all subjects): a capture session the model has not seen.

Usage::

    python benchmarks/accuracy.py --root ../shared/data/nuaa --work /tmp/iqa-bench \\
        --jobs 2 --every 3 --output benchmarks/results/accuracy_nuaa

Writes ``<output>.json``, ``<output>.md`` and ``<output>_det.svg`` (and ``_det.png`` with
matplotlib). Features and models stay in ``--work`` (never in the repository: NUAA is
research-only).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from iqa_liveness.commands._report import det_svg, table_markdown  # noqa: E402
from iqa_liveness.image import load_grey  # noqa: E402


class GlobalContrast:
    """The trivial baseline: RMS contrast (standard deviation of the BT.601 grey image)."""

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        return {}

    def fit(self, X: Any = None, y: Any = None) -> GlobalContrast:
        return self

    def transform(self, X: Any) -> np.ndarray:
        return np.array([[float(load_grey(img).std())] for img in X], dtype=np.float64)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(["rms_contrast"], dtype=object)


NUAA_DEV = ("0002", "0005", "0008")
NUAA_TEST = ("0003", "0006", "0009")


def nuaa_protocols(meta: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """Boolean masks of train / dev / test rows for the two NUAA-train protocols."""
    subj = meta["subject"].astype(str)
    sess = meta["session"].astype(str)
    dev = np.isin(subj, NUAA_DEV)
    test = np.isin(subj, NUAA_TEST)
    s1 = sess == "01"
    return {
        "nuaa-train/subject-disjoint": {"train": ~dev & ~test, "dev": dev, "test": test},
        "nuaa-train/session-held-out": {"train": s1 & ~dev, "dev": s1 & dev, "test": ~s1},
    }


def subsample(samples: list[Any], every: int) -> list[Any]:
    """Every ``every``-th sample within each (label, subject, session) group, in list order."""
    if every <= 1:
        return samples
    seen: dict[tuple[Any, ...], int] = {}
    out = []
    for s in samples:
        key = (s.label, s.subject, s.session)
        k = seen.get(key, 0)
        seen[key] = k + 1
        if k % every == 0:
            out.append(s)
    return out


def extract_family(samples: list[Any], name: str, extractor: Any, work: Path, jobs: int) -> Any:
    from iqa_liveness.extract import extract_to_store
    from iqa_liveness.store import read_features

    path = work / f"{name}.h5"
    t = time.perf_counter()
    rep = extract_to_store(samples, {name: extractor}, path, n_jobs=jobs, progress=False)
    dt = time.perf_counter() - t
    print(
        f"[{name}] {rep.n_extracted} extracted in {dt:.0f} s, {rep.n_skipped} reused, "
        f"{rep.n_failed} failed",
        file=sys.stderr,
    )
    return read_features(path)


def align(fs: Any, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``fs`` for ``ids`` (NaN rows where the sample failed) and a found mask."""
    index = {sid: i for i, sid in enumerate(fs.sample_id)}
    X = np.full((len(ids), fs.X.shape[1]), np.nan)
    found = np.zeros(len(ids), dtype=bool)
    for k, sid in enumerate(ids):
        i = index.get(sid)
        if i is not None:
            X[k] = fs.X[i]
            found[k] = True
    return X, found


def _evaluate(
    s_dev: np.ndarray,
    s_test: np.ndarray,
    y: np.ndarray,
    dv: np.ndarray,
    te: np.ndarray,
    types: np.ndarray,
) -> Any:
    """Threshold on the dev scores, rates on the test scores (with attack species)."""
    from iqa_liveness.metrics import evaluate_protocol

    return evaluate_protocol(
        s_dev,
        y[dv],
        s_test,
        y[te],
        dev_attack_types=list(types[dv]),
        test_attack_types=list(types[te]),
    )


def _fuse(
    fused: list[str],
    scores: dict[str, dict[str, np.ndarray]],
    results: dict[str, Any],
    y: np.ndarray,
    tr: np.ndarray,
    dv: np.ndarray,
    te: np.ndarray,
    types: np.ndarray,
    name: str,
) -> None:
    """ScoreFusion of the methods ``fused`` (trained on their out-of-fold training scores,
    threshold on dev); adds its result and scores under ``fusion (a, b)``."""
    from iqa_liveness.fusion import ScoreFusion

    if not all(m in scores for m in fused):
        return
    S = {k: np.column_stack([scores[m][k] for m in fused]) for k in ("train_oof", "dev", "test")}
    fusion = ScoreFusion(test_names=tuple(fused)).fit(S["train_oof"], y[tr], S["dev"], y[dv])
    s_dev, s_test = fusion.score_samples(S["dev"]), fusion.score_samples(S["test"])
    r = _evaluate(s_dev, s_test, y, dv, te, types)
    label = "fusion (" + ", ".join(fused) + ")"
    results[label] = r.to_dict()
    scores[label] = {"dev": s_dev, "test": s_test}
    print(
        f"  {name} | fusion: dev EER {100 * r.dev_eer:.2f} %, test HTER {100 * r.hter:.2f} %",
        file=sys.stderr,
    )


def run_protocol(
    name: str,
    masks: dict[str, np.ndarray],
    features: dict[str, np.ndarray],
    found: dict[str, np.ndarray],
    meta: dict[str, np.ndarray],
    methods: list[tuple[str, str, Any]],
) -> dict[str, Any]:
    from sklearn.base import clone

    from iqa_liveness.classifiers import out_of_fold_scores

    y = meta["label"].astype(str)
    groups = meta["subject"].astype(str)
    types = np.where(y == "attack", meta["attack_type"].astype(str), "")
    results: dict[str, Any] = {}
    scores: dict[str, dict[str, np.ndarray]] = {}
    ok_all = np.ones(len(y), dtype=bool)
    for _, family, _ in methods:
        ok_all &= found[family]
    n_failed = {s: int((masks[s] & ~ok_all).sum()) for s in masks}
    tr, dv, te = (masks[s] & ok_all for s in ("train", "dev", "test"))
    for label, family, estimator in methods:
        X = features[family]
        t = time.perf_counter()
        clf = clone(estimator).fit(X[tr], y[tr], X[dv], y[dv], groups=groups[tr])
        # out-of-fold training scores (for the fusion) with the hyper-parameters chosen on
        # dev: a fresh grid search inside every fold would cost ~30x more for the same purpose
        fixed = clone(estimator)
        if hasattr(clf, "C_"):
            fixed.set_params(C=float(clf.C_), gamma=float(clf.gamma_) or None)
        oof = out_of_fold_scores(fixed, X[tr], y[tr], groups=groups[tr])
        s_dev, s_test = clf.score_samples(X[dv]), clf.score_samples(X[te])
        r = _evaluate(s_dev, s_test, y, dv, te, types)
        results[label] = {**r.to_dict(), "seconds": round(time.perf_counter() - t, 2)}
        scores[label] = {"train_oof": oof, "dev": s_dev, "test": s_test}
        print(
            f"  {name} | {label}: dev EER {100 * r.dev_eer:.2f} %, test HTER {100 * r.hter:.2f} %",
            file=sys.stderr,
        )
    # fusion of the real methods (not the baseline) on out-of-fold training scores
    # fusions of the two families' methods: the papers' (whole-scene W-IQA + LDA, colour
    # texture + SVM) and the command line's defaults (face-crop W-IQA, generalising texture)
    pairs = [
        ("W-IQA + LDA", "colour texture + SVM"),
        ("W-IQA face crop + LDA", "colour texture generalising + SVM"),
        ("W-IQA face crop + LDA, Ledoit-Wolf", "colour texture generalising + SVM"),
    ]
    for pair in pairs:
        _fuse(list(pair), scores, results, y, tr, dv, te, types, name)
    counts = {
        s: {
            "bona_fide": int(((y == "bona_fide") & m).sum()),
            "attack": int(((y == "attack") & m).sum()),
            "subjects": sorted(set(groups[m].tolist())),
        }
        for s, m in (("train", tr), ("dev", dv), ("test", te))
    }
    return {
        "protocol": name,
        "counts": counts,
        "n_failed": n_failed,
        "methods": results,
        "_scores": {k: v for k, v in scores.items()},
        "_labels": {"dev": y[dv], "test": y[te]},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="nuaa")
    ap.add_argument("--root", required=True)
    ap.add_argument("--work", required=True, help="directory for feature stores (outside the repo)")
    ap.add_argument("--output", required=True, help="prefix of the .json / .md / _det.svg outputs")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument(
        "--every", type=int, default=1, help="keep every k-th sample per subject/session"
    )
    ap.add_argument("--no-colour-texture", action="store_true")
    ap.add_argument("--no-svm", action="store_true", help="skip the SVMs (fast runs)")
    args = ap.parse_args(argv)

    from iqa_liveness.classifiers import LibSVMClassifier, ShrinkageLDA
    from iqa_liveness.commands.train import DEFAULT_LDA_SHRINKAGE as CLI_SHRINKAGE
    from iqa_liveness.datasets import get_dataset
    from iqa_liveness.quality import QualityFeatures

    if args.dataset != "nuaa":
        print("only the NUAA-train protocols are defined here so far", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    ds = get_dataset(args.dataset, args.root)
    samples = subsample(list(ds.samples(split="train")), args.every)
    ids = np.array([s.sample_id for s in samples], dtype=object)
    meta = {
        "label": np.array([s.label for s in samples], dtype=object),
        "attack_type": np.array([s.attack_type or "" for s in samples], dtype=object),
        "subject": np.array([s.subject for s in samples], dtype=object),
        "session": np.array([s.session for s in samples], dtype=object),
    }
    families: dict[str, Any] = {
        "quality": QualityFeatures(),
        "quality-face": QualityFeatures(detector="yunet", on_no_face="whole"),
        "contrast": GlobalContrast(),
    }
    notes = []
    if not args.no_colour_texture:
        try:
            from iqa_liveness.colour_texture import PRESETS, ColourTextureFeatures

            families["colour-texture"] = ColourTextureFeatures(**PRESETS["paper"])
            families["colour-texture-gen"] = ColourTextureFeatures(**PRESETS["generalising"])
        except ImportError:
            notes.append("colour texture not installed in this checkout: not run")
    features, found, timing = {}, {}, {}
    for fam, ex in families.items():
        t = time.perf_counter()
        fs = extract_family(samples, fam, ex, work, args.jobs)
        timing[fam] = round(time.perf_counter() - t, 1)
        features[fam], found[fam] = align(fs, ids)
    methods: list[tuple[str, str, Any]] = [
        ("W-IQA + LDA", "quality", ShrinkageLDA()),
        ("W-IQA face crop + LDA", "quality-face", ShrinkageLDA(shrinkage=CLI_SHRINKAGE)),
        ("W-IQA face crop + LDA, Ledoit-Wolf", "quality-face", ShrinkageLDA()),
    ]
    if not args.no_svm:
        methods.append(("W-IQA + SVM", "quality", LibSVMClassifier()))
        if "colour-texture" in families:
            methods.append(("colour texture + SVM", "colour-texture", LibSVMClassifier()))
            methods.append(
                ("colour texture generalising + SVM", "colour-texture-gen", LibSVMClassifier())
            )
    methods.append(("baseline: RMS contrast", "contrast", ShrinkageLDA()))
    protocols = nuaa_protocols(meta)
    out: dict[str, Any] = {
        "dataset": "NUAA Photograph Imposter, official TRAINING split only (subjects 0001-0009, "
        "sessions 01-02); protocols built inside it, not the official test protocol",
        "every": args.every,
        "n_samples": len(samples),
        "measures": list(QualityFeatures().get_feature_names_out()),
        "extraction_seconds": timing,
        "jobs": args.jobs,
        "notes": notes,
        "protocols": {},
    }
    if args.every > 1:
        notes.append(f"subsampled: every {args.every}-th image of each subject/session/class")
    curves = []
    for name, masks in protocols.items():
        res = run_protocol(name, masks, features, found, meta, methods)
        sc, lab = res.pop("_scores"), res.pop("_labels")
        out["protocols"][name] = res
        for m, s in sc.items():
            test_y = lab["test"]
            curves.append(
                {
                    "label": f"{name.split('/')[1]}: {m}",
                    "negatives": s["test"][test_y == "attack"],
                    "positives": s["test"][test_y == "bona_fide"],
                    "threshold": res["methods"][m]["threshold"],
                }
            )
    out["total_seconds"] = round(time.perf_counter() - t0, 1)
    prefix = Path(args.output)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{prefix}.json").write_text(json.dumps(out, indent=1) + "\n")
    Path(f"{prefix}.md").write_text(markdown(out) + "\n")
    Path(f"{prefix}_det.svg").write_text(
        det_svg(curves, title="NUAA-train protocols, test sets", width=640, height=560)
    )
    print(markdown(out))
    return 0


def _pct(v: Any) -> str:
    return "-" if v is None else f"{100 * float(v):.2f}"


def markdown(out: dict[str, Any]) -> str:
    lines = [
        "# Accuracy benchmark",
        "",
        f"Data: {out['dataset']}. {out['n_samples']} images"
        + (f" (every {out['every']}-th)" if out["every"] > 1 else "")
        + f"; quality measures: {len(out['measures'])} ({', '.join(out['measures'])}).",
        "Thresholds: EER on the dev subjects, applied unchanged to the test subjects.",
        "",
    ]
    for note in out["notes"]:
        lines.append(f"- {note}")
    for name, res in out["protocols"].items():
        c = res["counts"]
        lines += [
            "",
            f"## {name}",
            "",
            "; ".join(
                f"{s}: {c[s]['bona_fide']} bona fide + {c[s]['attack']} attacks, subjects "
                f"{','.join(c[s]['subjects'])}"
                for s in ("train", "dev", "test")
            ),
            "",
        ]
        rows = [
            [
                m,
                _pct(r["dev_eer"]),
                _pct(r["far"]),
                _pct(r["frr"]),
                _pct(r["hter"]),
                _pct(r["apcer"]),
                _pct(r["bpcer"]),
                _pct(r["acer"]),
                f"{r['auc']:.3f}",
            ]
            for m, r in res["methods"].items()
        ]
        lines.append(
            table_markdown(
                [
                    "method",
                    "dev EER %",
                    "FAR %",
                    "FRR %",
                    "HTER %",
                    "APCER %",
                    "BPCER %",
                    "ACER %",
                    "AUC",
                ],
                rows,
            )
        )
    lines += [
        "",
        f"Total time {out['total_seconds']} s (jobs={out['jobs']}); extraction "
        f"seconds per family: {out['extraction_seconds']}.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
