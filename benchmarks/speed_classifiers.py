"""Speed of the classifiers, the fusion and model files on synthetic feature matrices.

For each training-set size: seconds to fit ShrinkageLDA, LibSVMClassifier (linear and RBF,
default grids, subject-wise cross-validation for the grid and the threshold), ScoreFusion of
the two on out-of-fold scores, and to score 10,000 samples; model file size and save/load
seconds. Data: ``--features`` Gaussian features (default 25; 1536 is the size of the colour
texture features), 3 attacks per bona fide sample, 10 "subjects". CPU time of this process
(``process_time``), median of ``--repeat`` runs. Prints one JSON object.

    python benchmarks/speed_classifiers.py --sizes 300,1000,3000 --repeat 3
    python benchmarks/speed_classifiers.py --sizes 300,1000 --features 1536 --repeat 1
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from iqa_liveness.classifiers import LibSVMClassifier, ShrinkageLDA  # noqa: E402
from iqa_liveness.fusion import (  # noqa: E402
    ScoreFusion,
    fit_tests,
    out_of_fold_score_table,
    score_table,
)
from iqa_liveness.modelio import LivenessModel, Member, load_model, save_model  # noqa: E402


def _data(n: int, seed: int, d: int = 25) -> tuple[Any, Any, Any]:
    rng = np.random.default_rng(seed)
    n_bona = n // 4
    y = np.r_[np.zeros(n - n_bona, int), np.ones(n_bona, int)]
    shift = np.linspace(0.1, 0.6, d) * np.sqrt(25 / d)  # the same separability for every d
    X = rng.normal(0, 1, (n, d)) + y[:, None] * shift
    return X, y, np.arange(n) % 10


def _cpu(fn: Any, repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t = time.process_time()
        out = fn()
        times.append(time.process_time() - t)
    return statistics.median(times), out


def _one_size(n: int, repeat: int, Xs: Any) -> dict[str, Any]:
    X, y, g = _data(n, seed=n, d=Xs.shape[1])
    row: dict[str, Any] = {}
    models = {
        "lda": ShrinkageLDA(),
        "svm_linear": LibSVMClassifier(kernel="linear"),
        "svm_rbf": LibSVMClassifier(kernel="rbf"),
    }
    fitted = {}
    for name, est in models.items():
        row[f"fit_{name}_s"], fitted[name] = _cpu(lambda est=est: est.fit(X, y, groups=g), repeat)
        row[f"score_10k_{name}_s"], _ = _cpu(lambda m=fitted[name]: m.score_samples(Xs), repeat)
    tests = {
        "lda": ShrinkageLDA(),
        "svm": LibSVMClassifier(C=fitted["svm_rbf"].C_, gamma=fitted["svm_rbf"].gamma_),
    }

    def fusion_fit(tests: Any = tests) -> Any:
        oof = out_of_fold_score_table(tests, X, y, groups=g)
        return ScoreFusion().fit(oof, y, groups=g), fit_tests(tests, X, y, groups=g)

    row["fit_fusion_with_oof_s"], (fusion, members) = _cpu(fusion_fit, repeat)
    row["score_10k_fusion_s"], _ = _cpu(
        lambda: fusion.score_samples(score_table(members, Xs)), repeat
    )
    names = tuple(f"f{i}" for i in range(X.shape[1]))
    model = LivenessModel(
        {}, names, tuple(Member(k, e, names) for k, e in members.items()), fusion=fusion
    )
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.ilm"
        row["save_s"], _ = _cpu(lambda: save_model(model, path), repeat)
        row["load_s"], _ = _cpu(lambda: load_model(path), repeat)
        row["model_file_bytes"] = path.stat().st_size
    row["svm_rbf_support_vectors"] = fitted["svm_rbf"].n_support_vectors_
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="300,1000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--features", type=int, default=25)
    args = ap.parse_args()
    Xs, _, _ = _data(10_000, seed=99, d=args.features)
    result: dict[str, Any] = {
        "python": platform.python_version(), "features": args.features, "sizes": {}
    }
    for n in (int(v) for v in args.sizes.split(",")):
        result["sizes"][str(n)] = _one_size(n, args.repeat, Xs)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
