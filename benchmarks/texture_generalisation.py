"""Colour texture + SVM across capture sessions and sources: what survives a new session/camera.

Proxy for the withheld NUAA test session (issue 7): the shared NUAA *training* split holds two
capture sessions (01, 02) of subjects 0001-0009. ``S01->S02``: train on every (sub-sampled)
image of session 01, threshold = EER threshold of the subject-wise out-of-fold scores of the
training data (what ``iqa-liveness train`` does without ``--dev``), evaluate on session 02;
``S02->S01`` the other way. Cross-source proxy (``sim``): the S01-trained model (threshold as
above) on a target made from session-02 client images: half stay bona fide, the others become
simulated prints / screen replays (:mod:`iqa_liveness.simulate`), and *every* target image then
goes through one "new camera" (gain 0.85, white balance (1.06, 1.0, 0.9), sensor noise, JPEG 80)
so that neither the camera nor the file format is a cue.

Faces are detected once (YuNet, cached), then each crop variant and descriptor block is computed
once and cached in ``--work`` (outside the repository: NUAA is research-only). Variants:

* crop: ``eye`` (product: 2d x 2d square around the eyes), ``box`` (the straightforward square
  of side max(w, h) on the detector box), ``eyeK`` (side K*d, same centre), ``boxK`` (side K *
  max(w, h)); resize side (``@N``, default 64);
* blocks: HSV/YCbCr x LBP(8,1) u2 / LPQ(7) / CoALBP(1,2), LBP(8,2) (multi-scale);
* transform of the histograms: none, ``sqrt`` (Hellinger), ``chi2`` (explicit additive-chi2
  feature map, sklearn ``AdditiveChi2Sampler``);
* SVM: LIBSVM RBF / linear with the product's grids and balanced class weights, or fixed C,
  or no class weights;
* threshold: calibrated on out-of-fold training scores (the product's EER rule; also FAR 1 %
  and 5 % targets on the same scores), 0 (the SVM's own boundary), and the test set's own EER
  (an oracle: separability without the shift);
* ``--subject-disjoint``: also train on the odd (even) subjects of one session and test on the
  other subjects of the other session.

Usage (the numbers of ``docs/colour_texture.md``, "Generalisation across sessions")::

    python benchmarks/texture_generalisation.py --root ../shared/data/nuaa \\
        --work /tmp/h13-texture --every 3 --subject-disjoint --output /tmp/texture_generalisation \\
        --configs "eye@64|HSV_LPQ+YCbCr_LPQ|sqrt|rbf;eye@64|HSV_LBP+YCbCr_LPQ|none|rbf"

prints one line per config (HTER %, FAR / FRR, the test set's EER) and writes ``<output>.json``
(every rule, AUC, median scores, chosen C and gamma).
``--every K`` keeps every K-th image of each (class, subject, session) group.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from session_holdout import load_samples  # noqa: E402

from iqa_liveness.colour_texture import ColourTextureFeatures  # noqa: E402
from iqa_liveness.faces import (  # noqa: E402
    Face,
    crop_face,
    face_crop_box,
    get_face_detector,
    select_face,
)
from iqa_liveness.image import load_image  # noqa: E402

ODD = ("0001", "0003", "0005", "0007", "0009")  # as session_holdout.py
BLOCKS = ("HSV_LBP", "YCbCr_LBP", "HSV_LPQ", "YCbCr_LPQ", "HSV_CoALBP", "YCbCr_CoALBP")


# --------------------------------------------------------------------------- images and crops
def new_camera(img: np.ndarray, seed: int) -> np.ndarray:
    """One fixed 'other camera': gain, white balance, shot-like noise, JPEG 80 (uint8 RGB)."""
    f = img.astype(np.float64) / 255.0 * 0.85 * np.array([1.06, 1.0, 0.9])
    noise = np.random.default_rng(seed).standard_normal(f.shape)
    f = f + 0.01 * np.sqrt(2 * np.clip(f, 0, 1)) * noise
    u8 = np.round(np.clip(f, 0, 1) * 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", u8[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 80])
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1])


def sim_images(samples: list[Any], meta: dict[str, np.ndarray], seed: int = 0):
    """Cross-source target: (images, labels, subjects) from session-02 client images."""
    from iqa_liveness.simulate import simulate_print, simulate_replay

    idx = [i for i in range(len(samples))
           if meta["label"][i] == "bona_fide" and meta["session"][i] == "02"]
    imgs, labels, subjects = [], [], []
    for k, i in enumerate(idx):
        img = load_image(samples[i].source)
        rng = np.random.default_rng(np.random.SeedSequence([seed, k]))
        if k % 2 == 0:
            lab = "bona_fide"
        else:
            lab = "attack"
            img = (simulate_print if (k // 2) % 2 == 0 else simulate_replay)(img, rng)
        imgs.append(new_camera(img, seed * 100003 + k))
        labels.append(lab)
        subjects.append(meta["subject"][i])
    return imgs, np.array(labels, dtype=object), np.array(subjects, dtype=object)


def detect(images: list[Any]) -> list[Face | None]:
    det = get_face_detector("yunet")
    out: list[Face | None] = []
    for img in images:
        found = det.detect(load_image(img))
        out.append(select_face(found, "largest") if found else None)
    return out


def crop_box(face: Face, variant: str) -> tuple[int, int, int]:
    """(left, top, side) of a crop variant: eye[K] or box[K] ("eye": the product's crop)."""
    if variant == "eye" or (variant == "box" and face.eyes is None):
        return face_crop_box(face)[0]
    if variant.startswith("eye") and face.eyes is not None:
        k = float(variant[3:] or 2.0)
        (rx, ry), (lx, ly) = face.eyes
        d = float(np.hypot(lx - rx, ly - ry))
        cx, cy = (rx + lx) / 2.0, (ry + ly) / 2.0 + d / 2.0  # the product's crop centre
        side = max(1, int(round(k * d)))
        return int(round(cx - side / 2.0)), int(round(cy - side / 2.0)), side
    k = float(variant[3:] or 1.0) if variant.startswith("box") else 1.0
    x, y, w, h = face.box
    side = max(1, int(round(k * max(w, h))))
    return int(round(x + w / 2.0 - side / 2.0)), int(round(y + h / 2.0 - side / 2.0)), side


def block_features(images: list[Any], faces: list[Face | None], variant: str, size: int,
                   blocks: tuple[str, ...], **params: Any) -> dict[str, np.ndarray]:
    ext = ColourTextureFeatures(descriptors=list(blocks), detector="none", size=size, **params)
    names = ext.get_feature_names_out()
    rows = []
    for img, f in zip(images, faces):
        if f is None:
            rows.append(np.full(len(names), np.nan))
            continue
        crop, _, _ = crop_face(load_image(img), crop_box(f, variant))
        rows.append(ext.transform([crop])[0])
    X = np.vstack(rows)
    out = {}
    for b in blocks:
        sp, de = b.split("_")
        cols = np.array([n.startswith(sp + "_") and f"_{de}_" in n for n in names])
        out[b] = X[:, cols]
    return out


def cached(path: Path, fn: Any) -> Any:
    if path.exists():
        with open(path, "rb") as fh:
            return pickle.load(fh)
    t = time.perf_counter()
    val = fn()
    with open(path, "wb") as fh:
        pickle.dump(val, fh)
    print(f"[cache] {path.name}: {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return val


# --------------------------------------------------------------------------- transforms
def transform(X: np.ndarray, how: str, fit_on: np.ndarray) -> np.ndarray:
    if how == "none":
        return X
    if how == "sqrt":
        return np.sqrt(np.maximum(X, 0))
    if how == "chi2":
        from sklearn.kernel_approximation import AdditiveChi2Sampler

        return AdditiveChi2Sampler(sample_steps=2).fit(fit_on).transform(np.maximum(X, 0))
    raise ValueError(how)


# --------------------------------------------------------------------------- one run
C_GRID = tuple(2.0**k for k in range(-3, 8, 2))  # the product's grids (classifiers.py)
GAMMA_FACTORS = tuple(2.0**k for k in range(-5, 4, 2))


class FastSVM:
    """The product's LIBSVM protocol (min-max scaling to [-1, 1] on the training rows, balanced
    class weights, C / gamma grid chosen by the EER of subject-wise 5-fold out-of-fold scores,
    threshold = EER threshold of those scores) with precomputed kernels (sklearn's SVC, LIBSVM
    inside): the same model, about 20x faster on 1000-dimensional histograms. One scaling for
    all folds (the product rescales per fold): exploration only; the adopted settings are
    re-run with :class:`~iqa_liveness.classifiers.LibSVMClassifier` (``--product``)."""

    def __init__(self, kernel: str = "rbf", C: float | None = None, gamma: float | None = None,
                 weights: str = "balanced") -> None:
        self.kernel, self.C, self.gamma, self.weights = kernel, C, gamma, weights

    def _kernel(self, A: np.ndarray, B: np.ndarray, g: float) -> np.ndarray:
        K = A @ B.T
        if self.kernel == "linear":
            return K
        d2 = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2 * K
        return np.exp(-g * np.maximum(d2, 0))

    def _svc(self, C: float, y01: np.ndarray) -> Any:
        from sklearn.svm import SVC

        cw = None
        if self.weights == "balanced":
            n, n1 = y01.size, int(y01.sum())
            cw = {0: n / (2.0 * (n - n1)), 1: n / (2.0 * n1)}
        return SVC(kernel="precomputed", C=C, class_weight=cw, tol=1e-3)

    def fit(self, X: np.ndarray, y: np.ndarray, groups: np.ndarray) -> FastSVM:
        from iqa_liveness.classifiers import calibrate_threshold, make_splits
        from iqa_liveness.metrics import roc_auc

        self.lo_ = X.min(0)
        span = X.max(0) - self.lo_
        self.f_ = np.where(span > 0, 2.0 / np.where(span > 0, span, 1), 0.0)
        Z = self._scale(X)
        y01 = (y == "bona_fide").astype(int)
        cs = [self.C] if self.C else list(C_GRID)
        gs = [0.0] if self.kernel == "linear" else (
            [self.gamma] if self.gamma else [f / X.shape[1] for f in GAMMA_FACTORS])
        folds = make_splits(y01, groups, 5)
        keys = []
        for g in gs:
            K = self._kernel(Z, Z, g)
            for c in cs:
                s = np.empty(len(y01))
                for tr, te in folds:
                    m = self._svc(c, y01[tr]).fit(K[np.ix_(tr, tr)], y01[tr])
                    s[te] = m.decision_function(K[np.ix_(te, tr)])
                t, eer = calibrate_threshold(s, y01)
                auc = float(roc_auc(s[y01 == 0], s[y01 == 1], method="exact"))
                keys.append((eer, -auc, c, g, t, len(keys), s))
        best = min(keys, key=lambda k: k[:6])
        self.calibration_eer_, _, self.C_, self.gamma_, self.threshold_ = best[:5]
        self.oof_, self.y01_ = best[6], y01
        self.Z_ = Z
        self.svc_ = self._svc(self.C_, y01).fit(self._kernel(Z, Z, self.gamma_), y01)
        return self

    def _scale(self, X: np.ndarray) -> np.ndarray:
        return -1.0 + (X - self.lo_) * self.f_

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        return self.svc_.decision_function(self._kernel(self._scale(X), self.Z_, self.gamma_))


def make_classifier(spec: str, product: bool) -> Any:
    """``rbf``, ``linear``, with options ``,C=1``, ``,gamma=0.01``, ``,weights=none``."""
    from iqa_liveness.classifiers import LibSVMClassifier

    parts = spec.split(",")
    kw: dict[str, Any] = {"kernel": parts[0]}
    for p in parts[1:]:
        k, v = p.split("=")
        kw[k] = v if k == "weights" else float(v)
    if product:
        w = kw.pop("weights", "balanced")
        return LibSVMClassifier(**kw, class_weight=None if w == "none" else "balanced")
    return FastSVM(**kw)


def run(Xtr: np.ndarray, ytr: np.ndarray, gtr: np.ndarray, tests: dict[str, tuple[Any, Any]],
        clf_spec: str, product: bool) -> dict[str, Any]:
    from iqa_liveness.metrics import eer_threshold, far_threshold, farfrr, roc_auc

    clf = make_classifier(clf_spec, product).fit(Xtr, ytr, groups=gtr)
    out: dict[str, Any] = {"C": clf.C_, "gamma": clf.gamma_, "oof_eer": clf.calibration_eer_,
                           "threshold": clf.threshold_}
    rules = [("oof", clf.threshold_), ("zero", 0.0)]
    if hasattr(clf, "oof_"):  # FastSVM keeps its out-of-fold scores: FAR-target thresholds
        o, yo = clf.oof_, clf.y01_
        rules += [(f"oof_far{k}", float(far_threshold(o[yo == 0], o[yo == 1], k / 100)))
                  for k in (1, 5)]
    for name, (X, y) in tests.items():
        s = clf.score_samples(X)
        neg, pos = s[y == "attack"], s[y == "bona_fide"]
        row: dict[str, Any] = {}
        for rule, t in rules + [("oracle", float(eer_threshold(neg, pos)))]:
            far, frr = farfrr(neg, pos, t)
            row[rule] = {"far": float(far), "frr": float(frr), "hter": (far + frr) / 2}
        row["auc"] = float(roc_auc(neg, pos))
        row["median_bona"], row["median_attack"] = float(np.median(pos)), float(np.median(neg))
        out[name] = row
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--every", type=int, default=3)
    ap.add_argument("--output")
    ap.add_argument("--configs", help="';'-separated configs crop@size|blocks|transform|svm")
    ap.add_argument("--no-sim", action="store_true")
    ap.add_argument("--subject-disjoint", action="store_true",
                    help="also train on one half of the subjects (odd / even ids) in one session "
                    "and test on the other half in the other session (mean of the 2 runs)")
    ap.add_argument("--product", action="store_true",
                    help="classify with the product's LibSVMClassifier (slow) instead of FastSVM")
    ap.add_argument("--cache-only", action="store_true", help="only build the feature caches")
    args = ap.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    samples, meta = load_samples(args.root, args.every)
    paths = [s.source for s in samples]
    faces = cached(work / f"faces_e{args.every}.pkl", lambda: detect(paths))
    y, g, ses = meta["label"].astype(str), meta["subject"].astype(str), meta["session"]
    sim = None
    if not args.no_sim:
        sim = cached(work / f"sim_e{args.every}.pkl", lambda: sim_images(samples, meta))
        sim_faces = cached(work / f"sim_faces_e{args.every}.pkl", lambda: detect(sim[0]))

    def feats(crop: str, size: int, which: str = "nuaa") -> dict[str, np.ndarray]:
        key = f"{which}_{crop}@{size}_e{args.every}.pkl"

        def build() -> dict[str, np.ndarray]:
            imgs, fcs = (paths, faces) if which == "nuaa" else (sim[0], sim_faces)
            out = block_features(imgs, fcs, crop, size, BLOCKS)
            ms = block_features(imgs, fcs, crop, size, ("HSV_LBP", "YCbCr_LBP"), lbp_radius=2)
            out["HSV_LBP2"], out["YCbCr_LBP2"] = ms["HSV_LBP"], ms["YCbCr_LBP"]
            return out

        return cached(work / key, build)

    configs = args.configs.split(";") if args.configs else [
        "box@64|HSV_LBP+YCbCr_LPQ|none|rbf",
        "eye@64|HSV_LBP+YCbCr_LPQ|none|rbf",
    ]
    results: dict[str, Any] = {"every": args.every, "n_samples": len(samples),
                               "classifier": "product" if args.product else "FastSVM",
                               "runs": {}}
    for cfg in configs:
        crop_size, blocks, how, svm = cfg.split("|")
        crop, size = crop_size.split("@")
        F = feats(crop, int(size))
        X = np.hstack([F[b] for b in blocks.split("+")])
        ok = np.isfinite(X).all(axis=1)
        Fs = Xs = None
        if sim is not None:
            Fs = feats(crop, int(size), "sim")
            Xs = np.hstack([Fs[b] for b in blocks.split("+")])
            oks = np.isfinite(Xs).all(axis=1)
        if args.cache_only:
            continue
        t0 = time.perf_counter()
        res: dict[str, Any] = {}
        for a, b in (("01", "02"), ("02", "01")):
            tr, te = ok & (ses == a), ok & (ses == b)
            tests = {f"S{b}": (transform(X[te], how, X[tr]), y[te])}
            if Xs is not None and a == "01":
                tests["sim"] = (transform(Xs[oks], how, X[tr]), sim[1][oks])
            Xtr = transform(X[tr], how, X[tr])
            res[f"S{a}->S{b}"] = run(Xtr, y[tr], g[tr], tests, svm, args.product)
        if args.subject_disjoint:
            odd = np.isin(g, ODD)
            for a, b in (("01", "02"), ("02", "01")):
                rows = []
                for half in (odd, ~odd):
                    tr, te = ok & (ses == a) & half, ok & (ses == b) & ~half
                    tests = {"test": (transform(X[te], how, X[tr]), y[te])}
                    r = run(transform(X[tr], how, X[tr]), y[tr], g[tr], tests, svm, args.product)
                    rows.append(r["test"])
                res[f"S{a}->S{b} subject-disjoint"] = {
                    "hter": float(np.mean([r["oof"]["hter"] for r in rows])),
                    **{f"hter_{k}": float(np.mean([r[k]["hter"] for r in rows]))
                       for k in ("zero", "oof_far1", "oof_far5") if k in rows[0]},
                    "oracle_hter": float(np.mean([r["oracle"]["hter"] for r in rows])),
                    "runs": rows,
                }
        res["seconds"] = round(time.perf_counter() - t0, 1)
        r1, r2 = res["S01->S02"], res["S02->S01"]
        line = (f"{cfg}: S01->S02 HTER {100 * r1['S02']['oof']['hter']:.1f} "
                f"(FAR {100 * r1['S02']['oof']['far']:.1f} FRR {100 * r1['S02']['oof']['frr']:.1f}"
                f" oracle {100 * r1['S02']['oracle']['hter']:.1f}) | S02->S01 HTER "
                f"{100 * r2['S01']['oof']['hter']:.1f} (FAR {100 * r2['S01']['oof']['far']:.1f} "
                f"FRR {100 * r2['S01']['oof']['frr']:.1f} oracle "
                f"{100 * r2['S01']['oracle']['hter']:.1f})")
        if "sim" in r1:
            line += (f" | sim HTER {100 * r1['sim']['oof']['hter']:.1f} (FAR "
                     f"{100 * r1['sim']['oof']['far']:.1f} FRR {100 * r1['sim']['oof']['frr']:.1f}"
                     f" AUC {r1['sim']['auc']:.2f})")
        if args.subject_disjoint:
            d1, d2 = res["S01->S02 subject-disjoint"], res["S02->S01 subject-disjoint"]
            line += (f" | subject-disjoint HTER {100 * d1['hter']:.1f} / {100 * d2['hter']:.1f}"
                     f" (oracle {100 * d1['oracle_hter']:.1f} / {100 * d2['oracle_hter']:.1f})")
        line += f" [{res['seconds']} s, C {r1['C']:g}/{r2['C']:g}]"
        print(line, flush=True)
        results["runs"][cfg] = res
        if args.output:
            Path(f"{args.output}.json").write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
