"""Make the evaluation figures of docs/evaluation.md from synthetic scores.

    python benchmarks/make_doc_figures.py [--out docs/img]

Writes ``det_synthetic.png`` and ``hist_synthetic.png`` and prints, as JSON, the protocol
result the figures illustrate. Scores are Gaussian (fixed seed), not from any dataset:
bona fide N(2, 1), "print" attacks N(0, 1), "replay" attacks N(1, 0.8).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from iqa_liveness import metrics
from iqa_liveness.plotting import plot_det, plot_score_histograms


def synthetic(rng: np.random.Generator, n_bf: int, n_print: int, n_replay: int):
    scores = np.concatenate(
        [rng.normal(2.0, 1.0, n_bf), rng.normal(0.0, 1.0, n_print), rng.normal(1.0, 0.8, n_replay)]
    )
    labels = ["bona_fide"] * n_bf + ["attack"] * (n_print + n_replay)
    types = [None] * n_bf + ["print"] * n_print + ["replay"] * n_replay
    return scores, labels, types


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "docs" / "img"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(20140101)
    dev = synthetic(rng, 400, 300, 200)
    test = synthetic(rng, 400, 300, 200)
    result = metrics.evaluate_protocol(
        dev[0], dev[1], test[0], test[1], dev_attack_types=dev[2], test_attack_types=test[2]
    )
    s = metrics.split_scores(*test)
    curves = {
        "test, all attacks": (s.attacks, s.bona_fide),
        "test, print": (s.attacks_by_species["print"], s.bona_fide),
        "test, replay": (s.attacks_by_species["replay"], s.bona_fide),
    }
    thr = result.threshold
    plot_det(
        curves,
        operating_points={name: thr for name in curves},
        path=out / "det_synthetic.png",
        title="DET on test, threshold = dev EER",
        limits=(0.002, 0.6),
    )
    plot_score_histograms(
        *test,
        threshold=thr,
        path=out / "hist_synthetic.png",
        title="Test scores per class and attack species",
    )
    print(json.dumps(result.to_dict(), indent=1))


if __name__ == "__main__":
    main()
