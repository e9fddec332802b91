"""``iqa-liveness adapt``: adapt a trained model to the deployer's own labelled captures.

Modes: ``threshold`` (refit the threshold only), ``fusion`` (the fusion weights and the
threshold), ``retrain`` (also retrain the classical tests; deep tests are never retrained).
Everything fitted on the captures uses out-of-fold scores grouped by capture group (``--groups``
``path,group`` CSV, paths relative to the captures' root; default group: the subject recorded
in the store). The command prints samples per class and group, cross-validated error rates
with group-wise bootstrap confidence intervals, and warns below the documented minimum
(:mod:`iqa_liveness.adapt`).
"""

from __future__ import annotations

import argparse
import sys
import warnings

from ._common import UsageError, add_common_flags, check_output_path, guarded, info

HELP = "adapt a model to your own labelled captures (threshold, fusion or retrain)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="model file to adapt")
    parser.add_argument(
        "--features", required=True, help="feature store of your labelled captures (.h5)"
    )
    parser.add_argument(
        "--groups",
        help="CSV with columns path,group (path relative to the captures' root); default: "
        "the subject of each sample in the store",
    )
    parser.add_argument(
        "--mode", choices=("threshold", "fusion", "retrain"), default="threshold",
        help="what to refit (default threshold)",
    )
    parser.add_argument("--output", required=True, help="adapted model file to write")
    parser.add_argument(
        "--source-features",
        help="retrain: feature store of the source training data, joining the training folds "
        "with --source-weight",
    )
    parser.add_argument(
        "--source-weight", type=float, default=0.0,
        help="retrain: source samples per target training sample (default 0: target only)",
    )
    parser.add_argument("--folds", type=int, default=5, help="capture-group folds (default 5)")
    parser.add_argument(
        "--confidence", type=float, default=0.95, help="confidence of the intervals (0.95)"
    )
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (1000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (0)")
    parser.add_argument("--report", help="write the adaptation report as JSON to this file")
    add_common_flags(parser)


@guarded
def run(args: argparse.Namespace) -> int:
    from ..adapt import AdaptationWarning, adapt_features, report_json
    from ..modelio import load_model, save_model

    check_output_path(args.output)
    if args.report:
        check_output_path(args.report)
    if args.source_weight < 0:
        raise UsageError("--source-weight must be >= 0")
    if args.source_weight > 0 and not args.source_features:
        raise UsageError("--source-weight needs --source-features")
    if args.mode != "retrain" and args.source_features:
        raise UsageError("--source-features is used by --mode retrain only")
    if args.folds < 2:
        raise UsageError("--folds must be >= 2")
    if not 0 < args.confidence < 1:
        raise UsageError("--confidence must lie in (0, 1)")
    model = load_model(args.model)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always", AdaptationWarning)
        new, report = adapt_features(
            model,
            args.features,
            args.groups,
            args.mode,
            source_features=args.source_features,
            source_weight=args.source_weight,
            n_splits=args.folds,
            n_boot=args.bootstrap,
            confidence=args.confidence,
            seed=args.seed,
        )
    save_model(new, args.output)
    if args.report:
        with open(args.report, "w", encoding="utf-8") as f:
            f.write(report_json(report) + "\n")
    info(args, report.summary())
    info(args, f"adapt: model written to {args.output}")
    if report.warnings and args.quiet:  # warnings are shown even with --quiet
        for w in report.warnings:
            print(f"iqa-liveness adapt: warning: {w}", file=sys.stderr)
    return 0
