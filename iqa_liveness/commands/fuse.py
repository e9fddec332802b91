"""``iqa-liveness fuse``: LDA fusion of several liveness tests into one model.

Two sources of scores:

* **Models** of this package: ``fuse --models A.iqa B.iqa --dev DEV.h5 [DEV2.h5] --output F``.
  Each member model scores the development samples (its feature families are read from the
  first ``--dev`` store that holds them; stores are joined by sample id). The fused model
  embeds the members, so ``evaluate`` and ``predict`` use it like any other model.
* **CSV score files** (tests from outside the project, e.g. a CNN or a vendor API):
  ``fuse --dev scores.csv [more.csv] --output F``. Each file has a ``sample_id`` column, a
  ``label`` column (``bona_fide``/``attack``; in at least one file), optionally
  ``attack_type`` and ``subject``, and one column per test (higher = more bona fide). Files
  are joined by sample id; missing ids are reported. Such a model is evaluated on CSV files
  of the same tests (``evaluate --features test_scores.csv``).

The fusion is :class:`iqa_liveness.fusion.ScoreFusion` (standardised scores, shrinkage LDA).
Its weights are learnt on the development scores, which the members never saw at training
time, and its threshold is calibrated on subject-wise out-of-fold fused scores of the same
development samples (so the threshold never comes from scores of a fusion that saw their
labels).
"""

from __future__ import annotations

import argparse
import csv
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ._common import UsageError, add_common_flags, check_output_path, guarded, info

HELP = "fuse the scores of several models (or CSV score files) with a shrinkage LDA"

META_COLUMNS = ("sample_id", "label", "attack_type", "subject", "session", "split")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dev",
        required=True,
        nargs="+",
        metavar="DEV_SCORES",
        help="development feature stores (with --models) or CSV score files",
    )
    parser.add_argument("--models", nargs="+", help="member models (written by train)")
    parser.add_argument("--output", required=True, help="fused model file to write")
    parser.add_argument(
        "--impute",
        choices=("mean", "median"),
        help="fill a missing score with the test's dev mean/median (default: error)",
    )
    add_common_flags(parser)


def _name(path: Any, taken: set[str]) -> str:
    base = Path(path).stem
    name, k = base, 2
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name)
    return name


def _warn_if_dev_is_training_data(members: list[Any], dev: Any, names: list[str]) -> None:
    """Warn when a member was trained on one of the ``dev`` stores: its scores there are
    in-sample (over-confident), so the fusion would over-weight it."""
    paths = [dev] if isinstance(dev, (str, os.PathLike)) else list(dev)
    dev_paths = {os.path.realpath(p) for p in paths}
    for name, m in zip(names, members):
        store = (m.provenance.get("train") or {}).get("store")
        if store and os.path.realpath(store) in dev_paths:
            warnings.warn(
                f"{name} was trained on the development store {store}: its scores there are "
                "in-sample and the fusion will over-weight it; fuse on a store of other subjects "
                "(a development split, or subjects held out from training)",
                UserWarning,
                stacklevel=2,
            )


def fuse_models(
    members: list[Any], dev: Any, names: list[str] | None = None, impute: Any = None
) -> Any:
    """A fused :class:`CliModel` of member models, fitted on their scores of ``dev`` store(s)."""
    from ..fusion import ScoreFusion
    from ._model import CliModel, member_scores

    names = names or [f"model{i}" for i in range(len(members))]
    _warn_if_dev_is_training_data(members, dev, names)
    columns, first = [], None
    ids: Any = None
    for m in members:
        scored, s = member_scores(m, dev)
        table = dict(zip(scored.sample_id.tolist(), s.tolist()))
        if first is None:
            first, ids = scored, scored.sample_id
        columns.append(table)
    assert first is not None
    common = [i for i in ids if all(i in c for c in columns)]
    keep = np.isin(first.sample_id, common)
    S = np.array([[c[i] for c in columns] for i in common], dtype=np.float64)
    y = np.where(first.y[keep] == 1, "bona_fide", "attack")
    subjects = first.metadata["subject"][keep].astype(str)
    groups = subjects if np.all(subjects != "") else None
    fusion = ScoreFusion(test_names=tuple(names), impute=impute).fit(S, y, groups=groups)
    prov = {
        "fusion": "ScoreFusion (shrinkage LDA on standardised member scores)",
        "members": names,
        "dev": {
            "n_bona_fide": int((y == "bona_fide").sum()),
            "n_attack": int((y == "attack").sum()),
        },
        "threshold_source": f"{fusion.threshold_source_} of the development scores",
        "calibration_eer": float(fusion.calibration_eer_),
        "weights": [float(w) for w in fusion.weights_],
    }
    res = members[0].working_resolution
    return CliModel([], fusion, res, prov, list(members))


def read_csv_scores(paths: list[str]) -> tuple[dict[str, dict[str, str]], list[str], dict]:
    """Join CSV score files by ``sample_id``: metadata per id, test names, scores per test."""
    meta: dict[str, dict[str, str]] = {}
    tests: dict[str, dict[str, float]] = {}
    order: list[str] = []
    for path in paths:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None or "sample_id" not in reader.fieldnames:
                raise UsageError(f"{path}: a header with a sample_id column is needed")
            cols = [c for c in reader.fieldnames if c not in META_COLUMNS]
            for c in cols:
                if c in tests:
                    raise UsageError(f"{path}: test column {c!r} appears in two files")
                tests[c] = {}
            for line, row in enumerate(reader, start=2):
                sid = row["sample_id"]
                if sid not in meta:
                    meta[sid] = {}
                    order.append(sid)
                for k in META_COLUMNS[1:]:
                    if row.get(k):
                        meta[sid][k] = row[k]
                for c in cols:
                    cell = (row.get(c) or "").strip()
                    try:
                        tests[c][sid] = float(cell) if cell else float("nan")
                    except ValueError:
                        raise UsageError(
                            f"{path} line {line}: {c}={cell!r} is not a number"
                        ) from None
    return {s: meta[s] for s in order}, list(tests), tests


def csv_matrix(
    paths: list[str], names: list[str]
) -> tuple[np.ndarray, np.ndarray, list[str], list[str], dict[str, list[str]]]:
    """Scores (n, k) of the tests ``names``, labels, ids, attack types, missing ids per test."""
    meta, found, tests = read_csv_scores(paths)
    absent = [n for n in names if n not in found]
    if absent:
        raise UsageError(f"the score files lack the tests {absent}")
    ids = [s for s in meta if "label" in meta[s]]
    if not ids:
        raise UsageError("no score file has a label column (bona_fide/attack)")
    missing = {n: [s for s in ids if s not in tests[n]] for n in names}
    S = np.array([[tests[n].get(s, float("nan")) for n in names] for s in ids], dtype=np.float64)
    labels = [meta[s]["label"] for s in ids]
    bad = sorted({v for v in labels if v not in ("bona_fide", "attack")})
    if bad:
        raise UsageError(f"labels must be bona_fide or attack, got {bad[:3]}")
    types = [meta[s].get("attack_type", "attack") for s in ids]
    return S, np.asarray(labels), ids, types, missing


@guarded
def run(args: argparse.Namespace) -> int:
    from ..fusion import ScoreFusion
    from ._model import CliModel, load_cli_model, save_cli_model

    check_output_path(args.output)
    if args.models:
        if len(args.models) < 2:
            raise UsageError("fusion needs at least two --models")
        taken: set[str] = set()
        names = [_name(p, taken) for p in args.models]
        members = [load_cli_model(p) for p in args.models]
        model = fuse_models(members, args.dev, names, args.impute)
    else:
        if not all(str(p).lower().endswith(".csv") for p in args.dev):
            raise UsageError("without --models, --dev takes CSV score files")
        meta, names, _ = read_csv_scores(args.dev)
        if len(names) < 2:
            raise UsageError(f"fusion needs at least two score columns, found {names}")
        S, y, ids, _, missing = csv_matrix(args.dev, names)
        for n, m in missing.items():
            if m:
                info(args, f"fuse: test {n!r} has no score for {len(m)} samples, e.g. {m[:3]}")
        subjects = np.array([meta[s].get("subject", "") for s in ids])
        groups = subjects if np.all(subjects != "") else None
        fusion = ScoreFusion(test_names=tuple(names), impute=args.impute).fit(S, y, groups=groups)
        prov = {
            "fusion": "ScoreFusion (shrinkage LDA on standardised external scores)",
            "external_tests": names,
            "threshold_source": f"{fusion.threshold_source_} of the development scores",
            "calibration_eer": float(fusion.calibration_eer_),
            "weights": [float(w) for w in fusion.weights_],
        }
        model = CliModel([], fusion, None, prov, [])
    save_cli_model(model, args.output)
    prov = model.provenance
    info(
        args,
        f"fuse: {len(prov.get('members') or prov.get('external_tests'))} tests "
        f"{prov.get('members') or prov.get('external_tests')}, weights "
        f"{[round(w, 4) for w in prov['weights']]}",
    )
    info(
        args,
        f"fuse: threshold {model.threshold:.6g} from {prov['threshold_source']} "
        f"(EER {100 * prov['calibration_eer']:.2f} %); model written to {args.output}",
    )
    return 0
