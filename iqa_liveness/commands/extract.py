"""``iqa-liveness extract``: features of a database's samples into an HDF5 feature store.

Resumable: run the same command again after Ctrl-C or a crash and it continues where it
stopped (samples already in the store are skipped). Samples that fail (unreadable file, no
face) are recorded in the store with the reason; the run completes and exits with code 4.
"""

from __future__ import annotations

import argparse
import collections
from typing import Any

from ._common import (
    Progress,
    UsageError,
    add_common_flags,
    add_frame_flags,
    build_extractor,
    check_output_path,
    guarded,
    info,
    median_resolution,
    onnx_family,
    parse_features,
)

HELP = "extract features of a database's samples into an HDF5 feature store (resumable)"

#: Samples decoded to measure the data's typical resolution (recorded in the store).
RESOLUTION_PROBES = 16


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dataset", required=True, help="database manager name (e.g. nuaa, folder)"
    )
    parser.add_argument("--root", required=True, help="directory of the database as distributed")
    parser.add_argument("--protocol", help="protocol of the database (default: its first)")
    parser.add_argument("--split", help="split to extract: train, dev or test (default: all)")
    parser.add_argument(
        "--features",
        default="quality",
        help="comma-separated feature families: quality, colour-texture, and deep tests "
        "onnx=PRESET@DIR or onnx=SIDECAR.json (stored as onnx-<name>; faces found once for "
        "all; a sample without a face fails) (default: quality)",
    )
    parser.add_argument("--output", required=True, help="feature store to create or resume (.h5)")
    add_frame_flags(parser)
    parser.add_argument(
        "--convention",
        choices=("standard", "bob"),
        default="standard",
        help="quality-measure convention (default: standard)",
    )
    parser.add_argument(
        "--measures", help="comma-separated quality measures (default: every available one)"
    )
    parser.add_argument(
        "--quality-region",
        choices=("face", "image"),
        default="face",
        help="quality measures of the eye-based face crop (default; an image without a "
        "detected face is measured whole) or of the whole image, as in the paper",
    )
    parser.add_argument(
        "--texture-preset",
        choices=("generalising", "paper"),
        default="generalising",
        help="colour-texture parameters: LPQ on HSV and YCbCr, square-root histograms "
        "(default; holds across capture sessions) or the papers' HSV LBP + YCbCr LPQ",
    )
    parser.add_argument(
        "--dataset-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra option of the dataset manager (repeatable), e.g. variant=face",
    )
    parser.add_argument(
        "--retry-failed", action="store_true", help="extract again the samples recorded as failed"
    )
    parser.add_argument(
        "--batch-size", type=int, default=32, help="samples per shard (work lost on a kill)"
    )
    parser.add_argument(
        "--given-faces",
        action="store_true",
        help="use the database's face boxes / eye positions instead of detecting faces",
    )
    add_common_flags(parser, jobs=True)


def _options(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise UsageError(f"--dataset-option needs KEY=VALUE, got {pair!r}")
        k, v = pair.split("=", 1)
        value: Any = v
        if v.isdigit():
            value = int(v)
        elif v.lower() in ("true", "false"):
            value = v.lower() == "true"
        out[k.strip().replace("-", "_")] = value
    return out


def make_extractors(
    names: list[str],
    convention: str = "standard",
    measures: str | None = None,
    quality_region: str = "face",
    texture_preset: str = "generalising",
) -> dict[str, Any]:
    """``--features`` names -> configured transformers (the store's extractor names).

    ``quality_region="face"``: the quality measures of the YuNet eye-based face crop (the
    whole image when no face is found), which hold across capture sessions far better than
    those of the whole scene (``docs/evaluation.md``, "Validation across capture sessions").
    ``texture_preset``: a :data:`iqa_liveness.colour_texture.PRESETS` name
    (``docs/colour_texture.md``, "Generalisation across sessions"). ``onnx=...`` names give
    :class:`~iqa_liveness.deep.DeepFeatures` stored as ``onnx-<test name>``.
    """
    out: dict[str, Any] = {}
    for name in names:
        if name.startswith("onnx="):
            key, extractor = onnx_family(name)
            out[key] = extractor
            continue
        config: dict[str, Any] = {}
        if name == "quality":
            config["convention"] = convention
            if measures:
                config["measures"] = [m.strip() for m in measures.split(",") if m.strip()]
            if quality_region == "face":
                config["detector"], config["on_no_face"] = "yunet", "whole"
        elif name == "colour-texture":
            from ..colour_texture import PRESETS

            config.update(PRESETS[texture_preset])
        out[name] = build_extractor(name, config)
    return out


def probe_resolution(samples: list[Any]) -> tuple[int, int] | None:
    """Median (width, height) of up to :data:`RESOLUTION_PROBES` evenly spaced samples."""
    from ..errors import IQALivenessError

    if not samples:
        return None
    step = max(1, len(samples) // RESOLUTION_PROBES)
    sizes = []
    for s in samples[::step][:RESOLUTION_PROBES]:
        try:
            img = s.load()
        except IQALivenessError:
            continue
        sizes.append((int(img.shape[1]), int(img.shape[0])))
    return median_resolution(sizes)


@guarded
def run(args: argparse.Namespace) -> int:
    from ..datasets import get_dataset
    from ..extract import extract_to_store
    from ..store import read_failed

    if args.jobs == 0 or args.jobs < -1:
        raise UsageError(f"--jobs must be a positive number or -1, got {args.jobs}")
    check_output_path(args.output)
    names = parse_features(args.features, onnx=True)
    extractors = make_extractors(
        names, args.convention, args.measures, args.quality_region, args.texture_preset
    )
    options = _options(args.dataset_option)
    dataset = get_dataset(
        args.dataset, args.root, every=args.every, max_frames=args.max_frames, **options
    )
    samples = list(dataset.samples(split=args.split, protocol=args.protocol))
    if not samples:
        raise UsageError(
            f"{args.dataset} at {args.root}: no samples for split={args.split} "
            f"protocol={args.protocol}"
        )
    attrs: dict[str, Any] = {
        "dataset": args.dataset,
        "protocol": dataset.check_protocol(args.protocol),
        "split": args.split or "",
        "features": ",".join(extractors),
    }
    res = probe_resolution(samples)
    if res is not None:
        attrs["image_width"], attrs["image_height"] = res
    n_jobs = int(args.jobs)
    # the store is written in chunks so that the bar moves; each chunk is itself resumable
    chunk = max(256, args.batch_size * max(n_jobs, 2) * 4)
    bar = Progress(len(samples), "extract", enabled=not args.quiet)
    n_skipped = n_extracted = n_failed = 0
    try:
        for start in range(0, len(samples), chunk):
            part = samples[start : start + chunk]
            rep = extract_to_store(
                part,
                extractors,
                args.output,
                n_jobs=n_jobs,
                progress=False,
                batch_size=args.batch_size,
                attrs=attrs,
                retry_failed=args.retry_failed,
                given_faces=args.given_faces,
            )
            n_skipped += rep.n_skipped
            n_extracted += rep.n_extracted
            n_failed += rep.n_failed
            bar.update(len(part))
    finally:
        bar.close()
    wanted = {s.sample_id for s in samples}
    failed = read_failed(args.output)
    bad = [
        (sid, err, reason)
        for sid, err, reason in zip(failed["sample_id"], failed["error"], failed["reason"])
        if sid in wanted
    ]
    info(
        args,
        f"extract: {len(samples)} samples of {args.dataset} "
        f"(split={args.split or 'all'}): {n_extracted} extracted, {n_skipped} already in "
        f"{args.output}, {len(bad)} failed"
        + (f" (of which {n_failed} in this run)" if bad else ""),
    )
    if bad:
        by_error = collections.Counter(err for _, err, _ in bad)
        info(
            args, "failed samples by reason: " + ", ".join(f"{k} {v}" for k, v in by_error.items())
        )
        for sid, err, reason in bad[:5]:
            info(args, f"  {sid}: {err}: {reason}")
        if len(bad) > 5:
            info(args, f"  ... and {len(bad) - 5} more (all listed in the store's /failed table)")
        return 4
    return 0
