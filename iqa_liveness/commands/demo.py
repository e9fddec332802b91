"""``iqa-liveness demo``: the main job, end to end, on data that ships with the installed packages.

No public presentation-attack database may be redistributed, so the demo builds the stand-in
set of :func:`iqa_liveness.simulate.build_standin_dataset`: bona fide captures rendered from
public-domain / CC0 face photographs of scikit-image, and **simulated** print and replay
attacks. It then runs the same code path as on a real database:

1. ``extract`` the train, dev and test splits (sessions s1, s2, s3) into feature stores;
2. ``train`` W-IQA + shrinkage LDA on train, threshold at the EER of dev (and, when the colour
   texture features are installed, colour texture + SVM and the LDA fusion of the two);
3. ``evaluate`` on test with the stored threshold;
4. write ``report.html`` and ``report.md`` (tables, DET plot, example images), every page
   saying that the attacks are simulated, plus ``results.json``.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from ._common import UsageError, add_common_flags, guarded, info

HELP = "run the whole pipeline on shipped stand-in data (simulated attacks) and write a report"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output", default="demo_output", help="directory for data, models and the report"
    )
    parser.add_argument(
        "--per-subject",
        type=int,
        default=10,
        help="bona fide captures per subject and session (as many of each attack; default 10)",
    )
    parser.add_argument("--size", default="320x240", help="capture size WxH (default 320x240)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulated set")
    parser.add_argument(
        "--features",
        default="auto",
        help="quality, or quality,colour-texture; auto: both when colour texture is installed",
    )
    parser.add_argument(
        "--measures", help="comma-separated quality measures (default: every available one)"
    )
    parser.add_argument(
        "--no-svm", action="store_true", help="skip the SVMs (faster; used by the tests)"
    )
    add_common_flags(parser, jobs=True)
    parser.set_defaults(jobs=min(2, os.cpu_count() or 1))


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size must be WIDTHxHEIGHT, got {text!r}") from None
    if min(w, h) < 32:
        raise UsageError(f"--size {text}: both sides must be at least 32 pixels")
    return w, h


def _families(text: str) -> list[str]:
    from ._common import FEATURE_FAMILIES, parse_features

    if text != "auto":
        return parse_features(text)
    names = ["quality"]
    try:
        module, cls = FEATURE_FAMILIES["colour-texture"]
        getattr(__import__(module, fromlist=[cls]), cls)
        names.append("colour-texture")
    except (ImportError, AttributeError):
        pass
    return names


def _call(argv: list[str]) -> int:
    from ..cli import main

    rc = main(argv)
    if rc not in (0, 4):
        raise UsageError(f"step failed with exit code {rc}: iqa-liveness {' '.join(argv)}")
    return rc


@guarded
def run(args: argparse.Namespace) -> int:
    from ..simulate import STANDIN_SOURCES, build_standin_dataset
    from ._model import load_cli_model
    from ._report import SIMULATED_NOTICE, det_svg
    from .evaluate import evaluate, score_store

    t0 = time.perf_counter()
    size = _size(args.size)
    if args.per_subject < 2:
        raise UsageError("--per-subject must be at least 2")
    families = _families(args.features)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    data, feats, models = out / "data", out / "features", out / "models"
    quiet = ["--quiet"] if args.quiet else []

    # 1. the stand-in data set (rebuilt only when its parameters changed)
    stamp = {"per_subject": args.per_subject, "size": list(size), "seed": args.seed}
    stamp_file = data / "build.json"
    if not (stamp_file.is_file() and json.loads(stamp_file.read_text()) == stamp):
        if data.exists():
            shutil.rmtree(data)
        for d in (feats, models):
            if d.exists():
                shutil.rmtree(d)
        info(args, f"demo: building the stand-in set in {data} (simulated attacks)")
        summary = build_standin_dataset(
            data, per_subject=args.per_subject, size=size, seed=args.seed
        )
        stamp_file.write_text(json.dumps(stamp))
    else:
        summary = None
    feats.mkdir(exist_ok=True)
    models.mkdir(exist_ok=True)

    # 2. extract every split with every family (one store per split and family)
    extract_rc = 0
    for split in ("train", "dev", "test"):
        for fam in families:
            argv = [
                "extract",
                "--dataset",
                "folder",
                "--root",
                str(data),
                "--split",
                split,
                "--features",
                fam,
                "--output",
                str(feats / f"{split}_{fam}.h5"),
                "--jobs",
                str(args.jobs),
                *quiet,
            ]
            if fam == "quality" and args.measures:
                argv += ["--measures", args.measures]
            extract_rc = max(extract_rc, _call(argv))
    t_extract = time.perf_counter() - t0

    # 3. train (threshold on dev) and evaluate on test
    plan = [("W-IQA + LDA", "quality", "lda")]
    if not args.no_svm:
        plan.append(("W-IQA + SVM", "quality", "svm"))
        if "colour-texture" in families:
            plan.append(("colour texture + SVM", "colour-texture", "svm"))
    results: dict[str, Any] = {}
    curves = []
    trained: dict[str, Path] = {}
    for label, fam, clf in plan:
        path = models / f"{fam}_{clf}.iqa"
        _call(
            [
                "train",
                "--features",
                str(feats / f"train_{fam}.h5"),
                "--dev",
                str(feats / f"dev_{fam}.h5"),
                "--classifier",
                clf,
                "--output",
                str(path),
                *quiet,
            ]
        )
        trained[label] = path
    if "colour-texture" in families and not args.no_svm:
        fused = models / "fusion.iqa"
        _fuse_in_process([trained["W-IQA + LDA"], trained["colour texture + SVM"]], feats, fused)
        trained["fusion (W-IQA LDA + colour texture SVM)"] = fused
    for label, path in trained.items():
        model = load_cli_model(path)
        store = _test_store(model, feats)
        fs, scores = score_store(model, store)
        r = evaluate(model, fs, scores, None)
        results[label] = r
        curves.append(
            {
                "label": label,
                "negatives": scores[fs.y == 0],
                "positives": scores[fs.y == 1],
                "threshold": r["threshold"],
            }
        )
    elapsed = time.perf_counter() - t0

    # 4. the report
    svg = det_svg(curves, title="DET on the test session (SIMULATED attacks)")
    (out / "det.svg").write_text(svg, encoding="utf-8")
    png = None
    try:
        from ._report import det_png

        det_png(curves, str(out / "det.png"), title="DET on the test session (SIMULATED attacks)")
        png = "det.png"
    except Exception:  # noqa: BLE001 - the PNG is optional (matplotlib extra)
        png = None
    counts = _counts(data)
    payload = {
        "notice": SIMULATED_NOTICE,
        "data": str(data),
        "sources": [
            {"name": s.name, "licence": s.licence, "origin": s.origin} for s in STANDIN_SOURCES
        ],
        "counts": counts,
        "families": families,
        "seconds": {"total": round(elapsed, 1), "extract": round(t_extract, 1)},
        "jobs": args.jobs,
        "results": results,
    }
    (out / "results.json").write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    (out / "report.md").write_text(_markdown(payload, png), encoding="utf-8")
    (out / "report.html").write_text(_html(payload, svg, data, out), encoding="utf-8")
    info(args, f"demo: done in {elapsed:.1f} s; report: {out / 'report.html'} (and report.md)")
    info(args, "demo: NOTE: the attacks are SIMULATED; see the report")
    if not args.quiet:
        main = results["W-IQA + LDA"]
        print(
            f"W-IQA + LDA on the test session (simulated attacks): HTER "
            f"{100 * main['hter']:.2f} %, APCER {100 * main['apcer']:.2f} %, BPCER "
            f"{100 * main['bpcer']:.2f} %; report {out / 'report.html'}"
        )
    _ = summary
    return extract_rc


def _test_store(model: Any, feats: Path) -> list[Path]:
    from ._model import all_families

    return [feats / f"test_{f['name']}.h5" for f in all_families(model)]


def _fuse_in_process(members: list[Path], feats: Path, output: Path) -> None:
    """LDA fusion of member models, as ``iqa-liveness fuse --models ... --dev ...`` does."""
    from ._model import load_cli_model, save_cli_model
    from .fuse import fuse_models

    dev = [feats / "dev_quality.h5", feats / "dev_colour-texture.h5"]
    fused = fuse_models(
        [load_cli_model(p) for p in members], dev, ["W-IQA LDA", "colour texture SVM"]
    )
    save_cli_model(fused, output)


def _counts(data: Path) -> dict[str, dict[str, int]]:
    import csv

    out: dict[str, dict[str, int]] = {}
    with open(data / "subjects.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            kind = row["file"].split("/")[0]
            if kind == "spoof":
                kind = row["file"].split("/")[1]
            split = out.setdefault(row["split"], {})
            split[kind] = split.get(kind, 0) + 1
    return out


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.2f}"


def _rows(payload: dict[str, Any]) -> list[list[str]]:
    return [
        [
            label,
            _pct(r["calibration_eer"]),
            _pct(r["far"]),
            _pct(r["frr"]),
            _pct(r["hter"]),
            _pct(r["apcer_per_species"].get("print")),
            _pct(r["apcer_per_species"].get("replay")),
            _pct(r["apcer"]),
            _pct(r["bpcer"]),
            _pct(r["acer"]),
            f"{r['auc']:.3f}",
            str(r["n_failed"]),
        ]
        for label, r in payload["results"].items()
    ]


_HEADER = [
    "method",
    "dev EER %",
    "FAR %",
    "FRR %",
    "HTER %",
    "APCER print %",
    "APCER replay %",
    "APCER %",
    "BPCER %",
    "ACER %",
    "AUC",
    "failed",
]


def _intro(payload: dict[str, Any]) -> list[str]:
    c = payload["counts"]
    split_text = "; ".join(
        f"{s}: {v.get('live', 0)} bona fide, {v.get('print', 0)} print, {v.get('replay', 0)} replay"
        for s, v in c.items()
    )
    return [
        "Bona fide captures: camera-model renderings (framing, light, sensor noise, JPEG) of "
        "public-domain / CC0 photographs that ship with scikit-image: "
        + "; ".join(f"{s['name']} ({s['licence']})" for s in payload["sources"])
        + ".",
        "Attacks: the same camera capturing simulated prints (gamut compression, halftone, "
        "paper texture, perspective, blur) and screen replays (gamma, pixel-grid moire, "
        "refresh banding, glare, perspective, blur) of those photographs.",
        f"Splits by capture session: {split_text}. Two subjects only: far too few for any "
        "claim about faces in general.",
        "Protocol: train on session s1, threshold at the EER of session s2 (dev), error rates "
        "on session s3 (test) with that threshold.",
    ]


def _markdown(payload: dict[str, Any], png: str | None) -> str:
    from ._report import table_markdown

    lines = [
        "# iqa-liveness demo report",
        "",
        f"> **{payload['notice']}**",
        "",
        *[f"- {t}" for t in _intro(payload)],
        "",
        "## Results on the test session",
        "",
        table_markdown(_HEADER, _rows(payload)),
        "",
        "![DET plot](det.svg)" if png is None else "![DET plot](det.png)",
        "",
        f"Run time {payload['seconds']['total']} s (feature extraction "
        f"{payload['seconds']['extract']} s, jobs={payload['jobs']}).",
        "",
        f"> **{payload['notice']}**",
        "",
    ]
    return "\n".join(lines)


def _html(payload: dict[str, Any], svg: str, data: Path, out: Path) -> str:
    from ._report import html_page, table_html

    examples = []
    for kind, folder in (
        ("bona fide", "live"),
        ("print (simulated)", "spoof/print"),
        ("replay (simulated)", "spoof/replay"),
    ):
        files = sorted((data / folder).rglob("*.png"))
        for f in files[:: max(1, len(files) // 3)][:3]:
            rel = os.path.relpath(f, out).replace(os.sep, "/")
            examples.append(
                f'<figure style="display:inline-block;margin:4px"><img src="{html.escape(rel)}" '
                f'width="160"><figcaption>{html.escape(kind)}</figcaption></figure>'
            )
    body = (
        "<ul>" + "".join(f"<li>{html.escape(t)}</li>" for t in _intro(payload)) + "</ul>"
        "<h2>Results on the test session</h2>"
        + table_html(_HEADER, _rows(payload))
        + f"<h2>DET plot</h2>{svg}"
        + "<h2>Examples</h2>"
        + "".join(examples)
        + f"<p>Run time {payload['seconds']['total']} s (feature extraction "
        f"{payload['seconds']['extract']} s, jobs={payload['jobs']}). Details: "
        "<code>results.json</code>.</p>"
    )
    return html_page("iqa-liveness demo report (simulated attacks)", body)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run(argparse.Namespace()))
