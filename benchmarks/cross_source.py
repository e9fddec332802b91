"""Cross-source benchmark: train on a source database, adapt to a target, report HTER.

Interface (the contract of issue 9)::

    python benchmarks/cross_source.py --source-dataset nuaa --source-root DIR --source-split train
        --target-dataset folder --target-root DIR [--target-groups GROUPS.csv]
        --tests quality-lda,colour-texture-svm,onnx=minifasnet@DIR
        --mode threshold|fusion|retrain --calibration-fraction 0.2 --repeats 20 --seed 0
        --json OUT.json [--markdown OUT.md] [--jobs N]

Extra options (not in the contract): ``--source-filter``/``--target-filter KEY=VALUE`` (keep
samples whose metadata column KEY is VALUE, e.g. ``session=01``), ``--target-split``,
``--every K`` (every K-th sample of each set, in the managers' order; ``--target-every``
for the target alone), ``--cache DIR`` (the
feature stores, reused across runs: features are extracted once; named by samples and feature
names, so delete it when a code change alters feature values), ``--quality-measures``,
``--source-weight W`` (``adapt`` retrain: source data joining the training folds).

Protocol. Features of both sets are extracted once (one face detection per image shared by the
face-based extractors). Each test is trained on the whole source set (subject-wise out-of-fold
thresholds), and fused with an LDA fitted on their subject-wise out-of-fold scores (the deep
test's score enters as it is). Each repeat draws a calibration part of the target, group-wise
per class (for each class, whole capture groups in random order until ``fraction`` of that
class's samples), adapts the source model on it with :func:`iqa_liveness.adapt.adapt` (``mode``),
and measures on the rest of the target: HTER at the adapted thresholds, AUC, and the HTER of
the un-adapted source model at its source thresholds (``uncalibrated_hter``).

Tests: ``quality-lda``, ``quality-svm``, ``colour-texture-svm`` (linear SVM),
``colour-texture-lda``, ``onnx=PRESET@DIR`` or ``onnx=SIDECAR.json`` (never retrained; its
threshold is recalibrated like any other).

Output JSON::

    {"tests": {NAME: {"hter_mean", "hter_std", "auc_mean", "uncalibrated_hter"}, ...,
               "fused": {...}},
     "n_target", "mode", "calibration_fraction", "repeats", ...}
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from iqa_liveness.adapt import AdaptationWarning, adapt, read_groups_csv, train_fused_model
from iqa_liveness.classifiers import LibSVMClassifier, ShrinkageLDA, calibrate_threshold
from iqa_liveness.datasets import get_dataset
from iqa_liveness.errors import InvalidDataError
from iqa_liveness.extract import extract_to_store
from iqa_liveness.metrics import roc_auc
from iqa_liveness.store import read_features

FAMILIES = {"quality": "quality", "colour-texture": "colour-texture"}
CLASSIFIERS = {"lda", "svm"}


def parse_tests(text: str) -> list[dict[str, Any]]:
    """``"quality-lda,colour-texture-svm,onnx=minifasnet@DIR"`` -> test definitions."""
    out = []
    for raw in [t.strip() for t in text.split(",") if t.strip()]:
        if raw.startswith("onnx="):
            from iqa_liveness.deep import resolve_onnx_test

            spec = resolve_onnx_test(raw)
            out.append({"name": raw, "kind": "onnx", "family": f"onnx-{spec.name}",
                        "column": f"onnx-{spec.name}__{spec.name}", "onnx": raw[5:]})
            continue
        family, _, clf = raw.rpartition("-")
        if family not in FAMILIES or clf not in CLASSIFIERS:
            raise SystemExit(f"unknown test {raw!r}: use quality-lda, quality-svm, "
                             "colour-texture-svm, colour-texture-lda or onnx=...")
        out.append({"name": raw, "kind": clf, "family": family})
    if not out:
        raise SystemExit("--tests is empty")
    return out


def build_extractors(tests: list[dict[str, Any]], quality_measures: str | None) -> dict[str, Any]:
    ex: dict[str, Any] = {}
    for t in tests:
        if t["family"] in ex:
            continue
        if t["family"] == "quality":
            from iqa_liveness.quality import QualityFeatures

            measures = quality_measures.split(",") if quality_measures else None
            ex["quality"] = QualityFeatures(measures=measures)
        elif t["family"] == "colour-texture":
            from iqa_liveness.colour_texture import ColourTextureFeatures

            ex["colour-texture"] = ColourTextureFeatures()
        else:
            from iqa_liveness.deep import DeepFeatures

            ex[t["family"]] = DeepFeatures(onnx=t["onnx"])
    return ex


def estimator(kind: str) -> Any:
    """LDA, or a linear SVM with LIBSVM's default C = 1 (no grid search: the nested grid search
    over 6 values of C made each repeat about 30 times slower)."""
    if kind == "lda":
        return ShrinkageLDA()
    return LibSVMClassifier(kernel="linear", C=1.0)


def select_samples(
    dataset: str, root: str, split: str | None, filters: list[str], every: int
) -> list[Any]:
    samples = list(get_dataset(dataset, root).samples(split))
    for f in filters:
        key, _, value = f.partition("=")
        samples = [s for s in samples if str(getattr(s, key)) == value]
    return samples[::every]


def features(samples: list[Any], extractors: dict[str, Any], cache: Path, tag: str,
             jobs: int) -> Any:
    # the store is named by its samples and the extractors' classes and feature names (not
    # their parameters, which grow with the package); delete the cache after a code change
    # that alters feature values
    key = json.dumps(
        [tag, sorted(s.sample_id for s in samples),
         {k: [type(v).__name__, [str(n) for n in v.get_feature_names_out()]]
          for k, v in extractors.items()}],
    )
    path = cache / f"{tag}-{hashlib.sha256(key.encode()).hexdigest()[:12]}.h5"
    t0 = time.time()
    rep = extract_to_store(samples, extractors, path, n_jobs=jobs, progress=sys.stderr.isatty())
    print(f"{tag}: {rep.n_samples} samples, {rep.n_extracted} extracted now, "
          f"{rep.n_failed} failed now, store {path} ({time.time() - t0:.0f} s)", file=sys.stderr)
    return read_features(path, list(extractors))


def draw_calibration(
    y: np.ndarray, groups: np.ndarray, fraction: float, rng: np.random.Generator
) -> np.ndarray:
    """Boolean mask of the calibration part: per class, whole groups in random order until
    ``fraction`` of that class's samples."""
    cal = np.zeros(y.size, dtype=bool)
    for c in (0, 1):
        idx = np.flatnonzero(y == c)
        gs = np.unique(groups[idx])
        rng.shuffle(gs)
        need = fraction * idx.size
        got = 0
        for gname in gs:
            members = idx[groups[idx] == gname]
            cal[members] = True
            got += members.size
            if got >= need:
                break
    return cal


def hter_at(scores: np.ndarray, y: np.ndarray, t: float) -> float:
    far = float(np.mean(scores[y == 0] >= t))
    frr = float(np.mean(scores[y == 1] < t))
    return (far + frr) / 2


def run(args: argparse.Namespace) -> dict[str, Any]:
    tests = parse_tests(args.tests)
    extractors = build_extractors(tests, args.quality_measures)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    src_samples = select_samples(args.source_dataset, args.source_root, args.source_split,
                                 args.source_filter, args.every)
    tgt_samples = select_samples(args.target_dataset, args.target_root, args.target_split,
                                 args.target_filter,
                                 args.every if args.target_every is None else args.target_every)
    src = features(src_samples, extractors, cache, f"source-{args.source_dataset}", args.jobs)
    tgt = features(tgt_samples, extractors, cache, f"target-{args.target_dataset}", args.jobs)
    if list(src.feature_names) != list(tgt.feature_names):
        raise SystemExit("source and target stores hold different features")
    names = list(src.feature_names)
    y_src, y_tgt = src.y.astype(int), tgt.y.astype(int)
    src_groups = src.metadata["subject"].astype(str)
    if args.target_groups:
        g_tgt = read_groups_csv(args.target_groups, tgt.sample_id.tolist()).astype(str)
    else:
        subj = tgt.metadata["subject"].astype(str)
        g_tgt = np.where(subj == "", tgt.sample_id.astype(str), subj)

    # -- the source model
    spec: dict[str, Any] = {}
    for t in tests:
        spec[t["name"]] = t["column"] if t["kind"] == "onnx" else (
            estimator(t["kind"]), f"{t['family']}__")
    t0 = time.time()
    model = train_fused_model(src.X, y_src, names, spec, groups=src_groups)
    print(f"source model trained in {time.time() - t0:.0f} s", file=sys.stderr)
    col = {n: i for i, n in enumerate(names)}
    X_model = tgt.X[:, [col[f] for f in model.feature_names]]
    ext = {t["name"]: tgt.X[:, col[t["column"]]] for t in tests if t["kind"] == "onnx"}
    src_ext_thr = {
        t["name"]: calibrate_threshold(src.X[:, col[t["column"]]], y_src)[0]
        for t in tests if t["kind"] == "onnx"
    }
    src_scores = model.test_scores(X_model, ext)
    fused_src = model.score_samples(X_model, ext) if model.fusion is not None else None

    rng = np.random.default_rng(args.seed)
    per: dict[str, dict[str, list[float]]] = {}
    unc: dict[str, list[float]] = {}
    done = redraws = 0
    source = (src.X, y_src) if args.source_weight > 0 else None
    while done < args.repeats:
        cal = draw_calibration(y_tgt, g_tgt, args.calibration_fraction, rng)
        test = ~cal
        if len(set(y_tgt[test])) < 2 or len(set(y_tgt[cal])) < 2:
            redraws += 1
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", AdaptationWarning)
                adapted, _ = adapt(
                    model, tgt.X[cal], y_tgt[cal], g_tgt[cal], args.mode, feature_names=names,
                    source=source, source_weight=args.source_weight, n_boot=0,
                    seed=int(rng.integers(1 << 31)),
                )
        except InvalidDataError:
            redraws += 1
            if redraws > 10 * args.repeats:
                raise
            continue
        yt = y_tgt[test]
        Xt = X_model[test]
        ext_t = {k: v[test] for k, v in ext.items()}
        results: dict[str, tuple[np.ndarray, float, np.ndarray, float]] = {}
        adapted_scores = adapted.test_scores(Xt, ext_t)
        for t in tests:
            n = t["name"]
            s = adapted_scores.column(n)
            if t["kind"] == "onnx":
                thr = calibrate_threshold(ext[n][cal], y_tgt[cal])[0]
                s0, thr0 = ext[n][test], src_ext_thr[n]
            else:
                m = next(m for m in adapted.members if m.name == n)
                m0 = next(m for m in model.members if m.name == n)
                thr = float(m.estimator.threshold_)
                s0, thr0 = src_scores.column(n)[test], float(m0.estimator.threshold_)
            results[n] = (s, thr, s0, thr0)
        if adapted.fusion is not None and fused_src is not None and model.fusion is not None:
            results["fused"] = (adapted.score_samples(Xt, ext_t), adapted.threshold,
                                fused_src[test], model.threshold)
        for n, (s, thr, s0, thr0) in results.items():
            d = per.setdefault(n, {"hter": [], "auc": []})
            d["hter"].append(hter_at(s, yt, thr))
            d["auc"].append(float(roc_auc(s[yt == 0], s[yt == 1])))
            unc.setdefault(n, []).append(hter_at(s0, yt, thr0))
        done += 1
        print(f"repeat {done}/{args.repeats}: " + ", ".join(
            f"{n} {100 * per[n]['hter'][-1]:.1f}%" for n in per), file=sys.stderr)
    out_tests = {
        n: {
            "hter_mean": float(np.mean(d["hter"])),
            "hter_std": float(np.std(d["hter"], ddof=1)) if len(d["hter"]) > 1 else 0.0,
            "auc_mean": float(np.mean(d["auc"])),
            "uncalibrated_hter": float(np.mean(unc[n])),
        }
        for n, d in per.items()
    }
    return {
        "tests": out_tests,
        "n_target": int(y_tgt.size),
        "n_target_bona_fide": int(y_tgt.sum()),
        "n_target_groups": int(np.unique(g_tgt).size),
        "n_source": int(y_src.size),
        "n_source_failed": int(len(src.failed.get("sample_id", []))),
        "n_target_failed": int(len(tgt.failed.get("sample_id", []))),
        "mode": args.mode,
        "calibration_fraction": args.calibration_fraction,
        "repeats": args.repeats,
        "redraws": redraws,
        "seed": args.seed,
        "source_weight": args.source_weight,
        "fusion_weights_source": (
            {n: float(w) for n, w in zip(model.fusion.test_names_, model.fusion.weights_)}
            if model.fusion is not None else {}
        ),
        "command": " ".join(sys.argv),
    }


def markdown(res: dict[str, Any]) -> str:
    lines = [
        f"Mode `{res['mode']}`, calibration fraction {res['calibration_fraction']}, "
        f"{res['repeats']} repeats, {res['n_target']} target samples.",
        "",
        "| test | HTER % (mean ± sd) | AUC | HTER % without adaptation |",
        "|---|---|---|---|",
    ]
    for n, d in res["tests"].items():
        lines.append(f"| {n} | {100 * d['hter_mean']:.1f} ± {100 * d['hter_std']:.1f} | "
                     f"{d['auc_mean']:.3f} | {100 * d['uncalibrated_hter']:.1f} |")
    return "\n".join(lines) + "\n"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--source-dataset", required=True)
    p.add_argument("--source-root", required=True)
    p.add_argument("--source-split")
    p.add_argument("--source-filter", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--target-dataset", required=True)
    p.add_argument("--target-root", required=True)
    p.add_argument("--target-split")
    p.add_argument("--target-filter", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--target-groups")
    p.add_argument("--tests", required=True)
    p.add_argument("--mode", choices=("threshold", "fusion", "retrain"), default="retrain")
    p.add_argument("--calibration-fraction", type=float, default=0.2)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", required=True)
    p.add_argument("--markdown")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--every", type=int, default=1, help="every K-th sample of each set")
    p.add_argument("--target-every", type=int, help="every K-th target sample (default --every)")
    p.add_argument("--cache")
    p.add_argument("--quality-measures")
    p.add_argument("--source-weight", type=float, default=0.0)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not 0 < args.calibration_fraction < 1:
        raise SystemExit("--calibration-fraction must lie in (0, 1)")
    if args.cache:
        res = run(args)
    else:  # features for this run only: nothing left behind
        with tempfile.TemporaryDirectory(prefix="cross_source-") as tmp:
            args.cache = tmp
            res = run(args)
            args.cache = None
    Path(args.json).write_text(json.dumps(res, indent=1) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(markdown(res))
    print(markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
