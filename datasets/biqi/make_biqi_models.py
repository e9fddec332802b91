"""Train the BIQI models shipped with iqa-liveness (``iqa_liveness/quality/data/biqi``).

Re-runnable and deterministic: ``python datasets/biqi/make_biqi_models.py [--out DIR]``.

1. **Pristine images**: the natural photographs that ship inside scikit-image
   (``skimage.data``) under public-domain or CC0 terms (see ``PRISTINE`` below), turned to
   grey (ITU-R BT.601) at full size and at half size (area interpolation): 20 references.
2. **Distortions**, the five classes of BIQI, six strengths each (``LEVELS``):
   JPEG2000 (OpenCV/OpenJPEG ``.jp2`` at a compression setting), JPEG (OpenCV quality),
   white Gaussian noise (standard deviation in grey levels, clipped to 0..255), Gaussian
   blur (sigma in pixels) and fast fading, simulated as LIVE did it in spirit: a JPEG2000
   code stream at a moderate rate sent through a noisy channel, here 1 to 32 bit flips at
   uniformly random positions of the code-stream body (the main header is kept), decoded
   by OpenJPEG (a stream it cannot decode is redrawn with the next seed).
3. **Quality target**: a DMOS-like score ``t = a + b * (1 - SSIM)`` with SSIM of Wang et
   al. 2004 (Gaussian window sigma 1.5, L = 255) between reference and distorted image.
   ``a, b`` are fitted by least squares so that on the JPEG training images ``t`` agrees
   with BIQI's own JPEG index (``BIQI_JQI_CONSTANTS``, fitted by LIVE to DMOS), the one
   LIVE-calibrated part of BIQI that the package keeps: all five per-distortion scores are
   then on one scale, as the final probability-weighted sum needs.
4. **Training** with LIBSVM (libsvm-official): features = BIQI's 18 wavelet/GGD features,
   written with ``%f`` and scaled to [-1, 1] by ``svm-scale`` rules (range files written
   here); a 5-class C-SVC (RBF, gamma 1/18, probability outputs) and a nu-SVR (RBF,
   gamma 1/18, nu 0.5) per distortion except JPEG. ``C`` is chosen on a small grid by
   3-fold cross-validation with folds split by *reference image* (no content shared
   between training and validation folds).

Prints a JSON summary (counts, chosen C, cross-validated accuracy / RMSE, target fit).

``--evaluate [LIVE_DIR]`` instead scores the models in ``--out`` (and LIVE's, if given) on the
same distortions of two scikit-image pictures that are not in the training set (``coins``,
``immunohistochemistry``): Spearman correlation with ``1 - SSIM`` and distortion-class
accuracy.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np
from libsvm import svmutil
from skimage import data
from skimage.metrics import structural_similarity

from iqa_liveness.image import to_grey
from iqa_liveness.quality.biqi import (
    BIQI_JQI_CONSTANTS,
    DISTORTIONS,
    _svm_scale,
    biqi_features,
)
from iqa_liveness.quality.jpeg import jqi

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "iqa_liveness" / "quality" / "data" / "biqi"

#: skimage.data natural photographs with public-domain / CC0 terms (per their docstrings).
PRISTINE = {
    "astronaut": "public domain (NASA)",
    "camera": "CC0 (Lav Varshney)",
    "chelsea": "CC0 (Stefan van der Walt)",
    "coffee": "CC0 (Rachel Michetti)",
    "rocket": "public domain (SpaceX)",
    "hubble_deep_field": "public domain (NASA)",
    "brick": "CC0 (CC0Textures)",
    "grass": "CC0 (CC0Textures)",
    "gravel": "CC0 (CC0Textures)",
    "retina": "CC0 (Wikimedia)",
}
LEVELS = {
    "jp2k": [300, 120, 60, 30, 15, 8],  # IMWRITE_JPEG2000_COMPRESSION_X1000
    "jpeg": [75, 40, 25, 15, 10, 5],  # IMWRITE_JPEG_QUALITY
    "wn": [3.0, 6.0, 12.0, 25.0, 50.0, 90.0],  # noise sigma, grey levels
    "blur": [0.7, 1.2, 2.0, 3.5, 6.0, 10.0],  # Gaussian sigma, pixels
    "ff": [1, 2, 4, 8, 16, 32],  # bit flips in a JP2K code stream at x1000 = FF_RATE
}
FF_RATE = 100
GAMMA_GRID = [1.0 / 18.0, 0.25, 1.0]  # 1/18 is LIVE's value
C_GRID = [1.0, 4.0, 16.0, 64.0, 256.0]
N_FOLDS = 3


def pristine_images() -> list[tuple[str, np.ndarray]]:
    out = []
    for name in PRISTINE:
        grey = np.clip(np.round(to_grey(getattr(data, name)())), 0, 255).astype(np.uint8)
        out.append((name, grey))
        half = cv2.resize(grey, (grey.shape[1] // 2, grey.shape[0] // 2), cv2.INTER_AREA)
        out.append((f"{name}@0.5", half))
    return out


def _codec(img: np.ndarray, ext: str, params: list[int]) -> np.ndarray:
    ok, buf = cv2.imencode(ext, img, params)
    if not ok:
        raise RuntimeError(f"OpenCV cannot encode {ext}")
    dec = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    if dec is None:
        raise RuntimeError(f"OpenCV cannot decode its own {ext}")
    return dec


def _fast_fading(img: np.ndarray, flips: int, seed: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jp2", img, [cv2.IMWRITE_JPEG2000_COMPRESSION_X1000, FF_RATE])
    if not ok:
        raise RuntimeError("OpenCV cannot encode .jp2")
    stream = np.frombuffer(buf.tobytes(), dtype=np.uint8)
    body = int(np.flatnonzero((stream[:-1] == 0xFF) & (stream[1:] == 0x93))[0]) + 2  # SOD
    for attempt in range(50):
        rng = np.random.default_rng([seed, attempt])
        bits = np.unpackbits(stream.copy())
        pos = rng.choice(np.arange(body * 8, (stream.size - 2) * 8), size=flips, replace=False)
        bits[pos] ^= 1
        dec = cv2.imdecode(np.packbits(bits), cv2.IMREAD_GRAYSCALE)
        if dec is not None and dec.shape == img.shape:
            return dec
    raise RuntimeError("no decodable fast-fading stream in 50 draws")


def distort(img: np.ndarray, kind: str, level: float, seed: int) -> np.ndarray:
    if kind == "jp2k":
        return _codec(img, ".jp2", [cv2.IMWRITE_JPEG2000_COMPRESSION_X1000, int(level)])
    if kind == "jpeg":
        return _codec(img, ".jpg", [cv2.IMWRITE_JPEG_QUALITY, int(level)])
    if kind == "wn":
        rng = np.random.default_rng(seed)
        noisy = img.astype(np.float64) + rng.normal(0.0, level, img.shape)
        return np.clip(np.round(noisy), 0, 255).astype(np.uint8)
    if kind == "blur":
        return cv2.GaussianBlur(img, (0, 0), level, borderType=cv2.BORDER_REFLECT)
    if kind == "ff":
        return _fast_fading(img, int(level), seed)
    raise ValueError(kind)


def ssim(ref: np.ndarray, dist: np.ndarray) -> float:
    return float(
        structural_similarity(
            ref.astype(np.float64),
            dist.astype(np.float64),
            data_range=255.0,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        )
    )


def printed(feats: np.ndarray) -> np.ndarray:
    return np.array([float(f"{v:f}") for v in feats])


def make_range(x: np.ndarray) -> tuple[float, float, dict[int, tuple[float, float]]]:
    return -1.0, 1.0, {k + 1: (float(x[:, k].min()), float(x[:, k].max())) for k in range(18)}


def write_range(path: Path, scaling: tuple[float, float, dict[int, tuple[float, float]]]) -> None:
    lower, upper, ranges = scaling
    lines = ["x", f"{lower:.17g} {upper:.17g}"]
    lines += [f"{k} {lo:.17g} {hi:.17g}" for k, (lo, hi) in sorted(ranges.items())]
    path.write_text("\n".join(lines) + "\n")


def scaled(x: np.ndarray, scaling: tuple) -> list[dict[int, float]]:
    return [_svm_scale(row, scaling) for row in x]


def folds(groups: np.ndarray) -> np.ndarray:
    refs = sorted({g.split("@")[0] for g in groups})
    fold_of = {r: i % N_FOLDS for i, r in enumerate(refs)}
    return np.array([fold_of[g.split("@")[0]] for g in groups])


def cv_classifier(x: list, y: np.ndarray, fold: np.ndarray, c: float, g: float) -> float:
    correct = 0
    for f in range(N_FOLDS):
        tr, te = fold != f, fold == f
        m = svmutil.svm_train(
            list(y[tr]), [x[i] for i in np.flatnonzero(tr)], f"-s 0 -t 2 -g {g} -c {c} -q"
        )
        pred, _, _ = svmutil.svm_predict(list(y[te]), [x[i] for i in np.flatnonzero(te)], m, "-q")
        correct += int(np.sum(np.array(pred) == y[te]))
    return correct / len(y)


def cv_regressor(x: list, t: np.ndarray, fold: np.ndarray, c: float, g: float) -> float:
    err = []
    for f in range(N_FOLDS):
        tr, te = fold != f, fold == f
        m = svmutil.svm_train(
            list(t[tr]),
            [x[i] for i in np.flatnonzero(tr)],
            f"-s 4 -t 2 -g {g} -n 0.5 -c {c} -q",
        )
        pred, _, _ = svmutil.svm_predict(list(t[te]), [x[i] for i in np.flatnonzero(te)], m, "-q")
        err.extend(np.array(pred) - t[te])
    return float(np.sqrt(np.mean(np.square(err))))


HELD_OUT = ("coins", "immunohistochemistry")


def evaluate(models: Path, live: Path | None) -> dict:
    """Spearman with 1 - SSIM and class accuracy on distortions of held-out pictures."""
    from scipy.stats import spearmanr

    from iqa_liveness.quality.biqi import biqi_details

    sets = {"shipped": models} if live is None else {"shipped": models, "live": live}
    scores: dict[str, list[float]] = {k: [] for k in sets}
    hits: dict[str, list[bool]] = {k: [] for k in sets}
    dssim = []
    for name in HELD_OUT:
        ref = np.clip(np.round(to_grey(getattr(data, name)())), 0, 255).astype(np.uint8)
        for ki, kind in enumerate(DISTORTIONS):
            for li, level in enumerate(LEVELS[kind]):
                dist = distort(ref, kind, level, seed=77 + 10 * ki + li)
                dssim.append(1.0 - ssim(ref, dist))
                for key, path in sets.items():
                    d = biqi_details(dist.astype(np.float64), path)
                    scores[key].append(d["quality"])
                    hits[key].append(max(d["probabilities"], key=d["probabilities"].get) == kind)
    out: dict = {"images": len(dssim), "held_out": list(HELD_OUT)}
    for key in sets:
        out[key] = {
            "spearman_vs_1-ssim": float(spearmanr(scores[key], dssim)[0]),
            "class_accuracy": float(np.mean(hits[key])),
        }
    if live is not None:
        out["spearman_shipped_vs_live"] = float(spearmanr(scores["shipped"], scores["live"])[0])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=OUT, help="output model directory")
    ap.add_argument(
        "--evaluate",
        nargs="?",
        const="",
        metavar="LIVE_DIR",
        help="evaluate the models in --out (and LIVE's in LIVE_DIR) instead of training",
    )
    args = ap.parse_args(argv)
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # OpenJPEG on damaged streams
    if args.evaluate is not None:
        live = Path(args.evaluate) if args.evaluate else None
        json.dump(evaluate(args.out, live), sys.stdout, indent=1)
        print()
        return 0

    rows = []  # (group, kind, level, features, 1-SSIM, jqi_biqi)
    for gi, (name, ref) in enumerate(pristine_images()):
        for ki, kind in enumerate(DISTORTIONS):
            for li, level in enumerate(LEVELS[kind]):
                dist = distort(ref, kind, level, seed=1000 * gi + 10 * ki + li)
                feats = printed(biqi_features(dist.astype(np.float64)))
                q_jpeg = jqi(dist.astype(np.float64), BIQI_JQI_CONSTANTS)
                rows.append((name, kind, level, feats, 1.0 - ssim(ref, dist), q_jpeg))
    groups = np.array([r[0] for r in rows])
    kinds = np.array([r[1] for r in rows])
    x = np.array([r[3] for r in rows])
    dssim = np.array([r[4] for r in rows])
    jq = np.array([r[5] for r in rows])

    # target: t = a + b (1 - SSIM), matched to BIQI's JPEG index on the JPEG images
    sel = kinds == "jpeg"
    b, a = np.polyfit(dssim[sel], jq[sel], 1)
    target = a + b * dssim
    corr = float(np.corrcoef(dssim[sel], jq[sel])[0, 1])

    args.out.mkdir(parents=True, exist_ok=True)
    fold = folds(groups)
    summary: dict = {
        "images": len(rows),
        "references": len(set(groups)),
        "target": {"a": float(a), "b": float(b), "pearson_jpeg_1-ssim_vs_jqi": corr},
    }

    # classifier
    y = np.array([DISTORTIONS.index(k) + 1 for k in kinds], dtype=float)
    scaling = make_range(x)
    write_range(args.out / "range2.txt", scaling)
    xs = scaled(x, scaling)
    grid = [(c, g) for g in GAMMA_GRID for c in C_GRID]
    accs = {cg: cv_classifier(xs, y, fold, *cg) for cg in grid}
    c_best, g_best = max(grid, key=lambda cg: (accs[cg], -cg[0], -cg[1]))
    model = svmutil.svm_train(list(y), xs, f"-s 0 -t 2 -g {g_best} -c {c_best} -b 1 -q")
    svmutil.svm_save_model(str(args.out / "model_89.model"), model)
    summary["classifier"] = {
        "C": c_best,
        "gamma": g_best,
        "cv_accuracy": accs[(c_best, g_best)],
        "n_sv": model.l,
    }

    for kind in ("jp2k", "wn", "blur", "ff"):
        sel = kinds == kind
        scaling = make_range(x[sel])
        write_range(args.out / f"range2_{kind}.txt", scaling)
        xs = scaled(x[sel], scaling)
        rmse = {cg: cv_regressor(xs, target[sel], fold[sel], *cg) for cg in grid}
        c_best, g_best = min(grid, key=lambda cg: (rmse[cg], cg[0], cg[1]))
        model = svmutil.svm_train(
            list(target[sel]), xs, f"-s 4 -t 2 -g {g_best} -n 0.5 -c {c_best} -q"
        )
        svmutil.svm_save_model(str(args.out / f"model_89_{kind}.model"), model)
        summary[kind] = {
            "C": c_best,
            "gamma": g_best,
            "cv_rmse": rmse[(c_best, g_best)],
            "target_range": [float(target[sel].min()), float(target[sel].max())],
            "n_sv": model.l,
        }
    json.dump(summary, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
