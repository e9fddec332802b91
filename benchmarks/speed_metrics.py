"""Speed of the metric sweeps on large synthetic score sets (prints JSON).

    python benchmarks/speed_metrics.py [--n 1000000]

Half the scores are attacks N(0, 1), half bona fide N(2, 1); times are the best of 3 runs.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from iqa_liveness import metrics as M


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000, help="total number of scores")
    n = ap.parse_args().n
    rng = np.random.default_rng(0)
    neg = rng.normal(0, 1, n // 2)
    pos = rng.normal(2, 1, n - n // 2)
    species = {"a": neg[: n // 4], "b": neg[n // 4 :]}
    res = {
        "n_scores": n,
        "eer_threshold_s": best_of(lambda: M.eer_threshold(neg, pos)),
        "min_hter_threshold_s": best_of(lambda: M.min_hter_threshold(neg, pos)),
        "far_threshold_s": best_of(lambda: M.far_threshold(neg, pos, 0.01)),
        "roc_auc_bob_s": best_of(lambda: M.roc_auc(neg, pos)),
        "roc_auc_exact_s": best_of(lambda: M.roc_auc(neg, pos, method="exact")),
        "roc_curve_s": best_of(lambda: M.roc_curve(neg, pos)),
        "bpcer_at_apcer_s": best_of(lambda: M.bpcer_at_apcer(pos, species, 0.05)),
    }
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in res.items()}))


if __name__ == "__main__":
    main()
