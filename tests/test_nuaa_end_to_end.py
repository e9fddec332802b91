"""End to end on the real NUAA training split: quality features -> LDA, SVM, fusion -> model file.

Subject-disjoint split of the NUAA *training* list: train = subjects 1-5, dev = subjects 6-9,
both sessions in each. A fixed random subsample (per class: 90 images for training, 60 for dev,
half from each session) at a 160x120 working size keeps the test within about a minute.
Nothing derived from NUAA is written outside pytest's temporary directory.

(Session-disjoint variants are much harder and asymmetric: see docs/classifiers.md.)
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from conftest import shared_path

from iqa_liveness.classifiers import LibSVMClassifier, ShrinkageLDA
from iqa_liveness.fusion import ScoreFusion, fit_tests, out_of_fold_score_table, score_table
from iqa_liveness.image import load_image
from iqa_liveness.metrics import eer, farfrr, roc_auc
from iqa_liveness.modelio import (
    LivenessModel,
    Member,
    describe_training_data,
    load_model,
    save_model,
)
from iqa_liveness.quality import PAPER_ORDER, QualityFeatures, available_measures

WORKING_SIZE = (120, 160)  # (height, width)
# RRED (slow, multi-scale) and BIQI (trained models) are left out to keep the test short
MEASURES = tuple(m for m in PAPER_ORDER if m in available_measures() and m not in ("RRED", "BIQI"))


def _pick(root, subjects, session, per_class, rng):
    items = []
    for folder, listing, label in (
        ("ClientRaw", "client_train_raw.txt", 1),
        ("ImposterRaw", "imposter_train_raw.txt", 0),
    ):
        names = (root / listing).read_text().split()
        pool = [
            n for n in names if int(n[:4]) in subjects and n.split("/")[-1].split("_")[3] == session
        ]
        chosen = rng.choice(len(pool), size=per_class, replace=False)
        items += [(root / folder / pool[i], label, int(pool[i][:4])) for i in sorted(chosen)]
    return items


def _features(items):
    h, w = WORKING_SIZE
    imgs = [
        cv2.resize(load_image(str(p)), (w, h), interpolation=cv2.INTER_AREA) for p, _, _ in items
    ]
    X = QualityFeatures(measures=MEASURES).fit_transform(imgs)
    y = np.array([lab for _, lab, _ in items])
    g = np.array([s for _, _, s in items])
    return X, y, g


@pytest.fixture(scope="module")
def nuaa():
    root = shared_path("data", "nuaa")
    rng = np.random.default_rng(2024)
    train = _pick(root, {1, 2, 3, 4, 5}, "01", 45, rng) + _pick(
        root, {1, 2, 3, 4, 5}, "02", 45, rng
    )
    dev = _pick(root, {6, 7, 8, 9}, "01", 30, rng) + _pick(root, {6, 7, 8, 9}, "02", 30, rng)
    return _features(train), _features(dev)


def _rates(scores, y, threshold):
    far, frr = farfrr(scores[y == 0], scores[y == 1], threshold)
    return {
        "dev_eer": eer(scores[y == 0], scores[y == 1]),
        "dev_hter_at_train_threshold": (far + frr) / 2,
        "dev_auc": roc_auc(scores[y == 0], scores[y == 1], method="exact"),
    }


def test_lda_svm_fusion_on_nuaa(nuaa, tmp_path):
    (X, y, g), (Xd, yd, _) = nuaa
    assert X.shape == (180, len(MEASURES)) and Xd.shape == (120, len(MEASURES))
    assert np.all(np.isfinite(X)) and np.all(np.isfinite(Xd))
    tests = {"lda": ShrinkageLDA(), "svm": LibSVMClassifier(kernel="rbf")}
    fitted = fit_tests(tests, X, y, groups=g)
    results = {}
    for name, est in fitted.items():
        assert est.threshold_source_.startswith("out-of-fold") and "subject-wise" in (
            est.threshold_source_
        )
        results[name] = _rates(est.score_samples(Xd), yd, est.threshold_)
    # the consolidation layer, trained on subject-wise out-of-fold scores of the two tests (the
    # SVM's C and gamma fixed to the values its grid search chose, to avoid a nested search)
    svm = fitted["svm"]
    tests["svm"] = LibSVMClassifier(kernel="rbf", C=svm.C_, gamma=svm.gamma_)
    oof = out_of_fold_score_table(tests, X, y, groups=g)
    fusion = ScoreFusion().fit(oof, y, groups=g)
    dev_table = score_table(fitted, Xd)
    results["fusion"] = _rates(fusion.score_samples(dev_table), yd, fusion.threshold_)
    print(
        json.dumps(
            {"measures": len(MEASURES), "svm_C_gamma": [svm.C_, svm.gamma_], **results},
            indent=1,
        )
    )
    for name, r in results.items():
        assert r["dev_eer"] < 0.3, name
        assert r["dev_auc"] > 0.75, name
        assert r["dev_hter_at_train_threshold"] < 0.35, name
    # the fused model as a file (in pytest's temporary directory only): exact round trip
    model = LivenessModel(
        feature_config={
            "extractors": [{"name": "quality", "params": {"measures": list(MEASURES)}}]
        },
        feature_names=MEASURES,
        members=tuple(Member(k, fitted[k], MEASURES) for k in tests),
        fusion=fusion,
        working_size=WORKING_SIZE,
        training_data=describe_training_data(
            y, dataset="NUAA", split="train list, subjects 1-5, session 01, 90 per class"
        ),
    )
    path = tmp_path / "nuaa.ilm"
    save_model(model, path)
    back = load_model(path)
    assert back.score_samples(Xd).tobytes() == model.score_samples(Xd).tobytes()
    np.testing.assert_array_equal(back.score_samples(Xd), fusion.score_samples(dev_table))
