"""Adaptation to a deployer's captures: modes, out-of-fold rule, report, command line."""

import json
import warnings
from dataclasses import replace

import numpy as np
import pytest

from iqa_liveness.adapt import (
    AdaptationWarning,
    adapt,
    adapt_features,
    bootstrap_rates,
    cv_threshold_rates,
    external_columns,
    read_groups_csv,
    train_fused_model,
)
from iqa_liveness.classifiers import (
    LibSVMClassifier,
    ShrinkageLDA,
    calibrate_threshold,
    make_splits,
)
from iqa_liveness.errors import ConfigurationError, InvalidDataError
from iqa_liveness.modelio import LivenessModel, load_model, save_model

NAMES = [f"a__{i}" for i in range(3)] + [f"b__{i}" for i in range(3)] + ["onnx-x__x_0", "onnx-x__x"]


def make_set(n_groups=12, per=10, shift=0.0, seed=0):
    """Groups of one class each (bona fide for even groups); tests a and b informative, the
    deep score (last column) too; ``shift`` moves the classical features (another source)."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), per).astype(str)
    y = (np.repeat(np.arange(n_groups), per) % 2 == 0).astype(int)
    a = y[:, None] * 1.5 + rng.normal(0, 1, (y.size, 3)) + shift
    b = y[:, None] * 1.0 + rng.normal(0, 1, (y.size, 3)) + shift
    deep = 1 / (1 + np.exp(-(2 * y - 1) * 1.2 + rng.normal(0, 1, y.size)))
    return np.c_[a, b, deep, deep], y, g


@pytest.fixture(scope="module")
def source_model():
    X, y, g = make_set(seed=1)
    tests = {"a-lda": (ShrinkageLDA(), "a__"), "b-lda": (ShrinkageLDA(), "b__"), "x": "onnx-x__x"}
    return train_fused_model(X, y, NAMES, tests, groups=g)


def quiet_adapt(*args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AdaptationWarning)
        return adapt(*args, **kw)


def test_train_fused_model(source_model):
    m = source_model
    assert [mm.name for mm in m.members] == ["a-lda", "b-lda"]
    assert m.fusion.test_names_ == ("a-lda", "b-lda", "x")
    assert m.external_tests == ("x",)
    assert m.feature_config["external_tests"] == {"x": {"column": "onnx-x__x"}}
    assert external_columns(m, NAMES) == {"x": 7}
    # without the recorded column, the unique '__x' suffix is found
    bare = LivenessModel(feature_config={}, feature_names=m.feature_names, members=m.members,
                         fusion=m.fusion)
    assert external_columns(bare, NAMES) == {"x": 7}
    with pytest.raises(ConfigurationError, match="no unique feature column"):
        external_columns(bare, NAMES[:6])


def test_threshold_mode_refits_only_thresholds(source_model):
    X, y, g = make_set(shift=1.0, seed=2)
    new, rep = quiet_adapt(source_model, X, y, g, "threshold", feature_names=NAMES)
    for old_m, new_m in zip(source_model.members, new.members):
        np.testing.assert_array_equal(old_m.estimator.coef_, new_m.estimator.coef_)
        s = old_m.estimator.score_samples(X[:, [NAMES.index(f) for f in old_m.features]])
        assert new_m.estimator.threshold_ == calibrate_threshold(s, y)[0]
    np.testing.assert_array_equal(new.fusion.coef_, source_model.fusion.coef_)
    fused = source_model.score_samples(X[:, :6], {"x": X[:, 7]})
    assert new.threshold == calibrate_threshold(fused, y)[0]
    assert new.threshold != source_model.threshold
    assert new.training_data["adaptation"]["mode"] == "threshold"


def test_fusion_mode_refits_weights_on_out_of_fold_scores(source_model):
    X, y, g = make_set(shift=1.0, seed=3)
    new, rep = quiet_adapt(source_model, X, y, g, "fusion", feature_names=NAMES)
    for old_m, new_m in zip(source_model.members, new.members):
        np.testing.assert_array_equal(old_m.estimator.coef_, new_m.estimator.coef_)
    S = source_model.test_scores(X[:, :6], {"x": X[:, 7]}).scores
    ref = ShrinkageLDA()._fit_uncalibrated(S, y, g)
    np.testing.assert_allclose(new.fusion.coef_, ref.coef_)
    # the threshold is the EER threshold of the fusion's group-wise out-of-fold scores
    oof = np.empty(y.size)
    for tr, te in make_splits(y, g, 5):
        oof[te] = ShrinkageLDA()._fit_uncalibrated(S[tr], y[tr], g[tr]).score_samples(S[te])
    np.testing.assert_allclose(new.threshold, calibrate_threshold(oof, y)[0])
    assert set(rep.weights) == {"a-lda", "b-lda", "x"}


def test_retrain_mode_retrains_classical_tests_only(source_model, tmp_path):
    X, y, g = make_set(shift=2.0, seed=4)
    new, rep = quiet_adapt(source_model, X, y, g, "retrain", feature_names=NAMES)
    ref = ShrinkageLDA()._fit_uncalibrated(X[:, :3], y, g)
    np.testing.assert_allclose(new.members[0].estimator.coef_, ref.coef_)
    assert new.external_tests == ("x",)  # the deep test is a score, never retrained
    # retraining fixes the shift: much better than the source model at its own threshold
    src_pred = source_model.predict(X[:, :6], {"x": X[:, 7]})
    src_hter = (np.mean(src_pred[y == 0] == 1) + np.mean(src_pred[y == 1] == 0)) / 2
    assert rep.rates["hter"] < src_hter - 0.1
    assert rep.rates["tests"]["a-lda"]["hter"] < 0.2
    # a saved and reloaded adapted model scores the same
    save_model(new, tmp_path / "m.zip")
    again = load_model(tmp_path / "m.zip")
    np.testing.assert_array_equal(again.score_samples(X[:, :6], {"x": X[:, 7]}),
                                  new.score_samples(X[:, :6], {"x": X[:, 7]}))
    assert again.threshold == new.threshold


def test_no_score_that_saw_its_label_reaches_the_threshold():
    """Pure-noise features: resubstitution would look perfect, out-of-fold scores do not."""
    rng = np.random.default_rng(5)
    n, d = 64, 80
    X = rng.normal(size=(n, d))
    y = np.r_[np.zeros(n // 2, int), np.ones(n // 2, int)]
    g = np.arange(n) % 16
    names = [f"f__{i}" for i in range(d)]
    svm = LibSVMClassifier(kernel="linear", C=100.0)
    m = LivenessModel.single(svm.fit(X, y), names)
    resub = calibrate_threshold(svm.score_samples(X), y)[1]
    assert resub == 0.0  # the trap the out-of-fold rule avoids
    new, rep = quiet_adapt(m, X, y, g, "retrain")
    assert rep.rates["hter"] > 0.3
    assert new.members[0].estimator.calibration_eer_ > 0.3  # threshold on out-of-fold scores


def test_folds_are_group_disjoint():
    """Labels constant within groups, each group its own feature signature: memorising groups
    works only when a group falls in several folds."""
    rng = np.random.default_rng(6)
    n_groups, per, d = 16, 8, 10
    centres = rng.normal(0, 3, (n_groups, d))
    g = np.repeat(np.arange(n_groups), per)
    y = (g % 2 == 0).astype(int)
    X = centres[g] + rng.normal(0, 0.3, (g.size, d))
    names = [f"f__{i}" for i in range(d)]
    m = LivenessModel.single(
        LibSVMClassifier(kernel="rbf", C=100.0, gamma=0.05).fit(X, y), names
    )
    _, grouped = quiet_adapt(m, X, y, g, "retrain")
    _, samplewise = quiet_adapt(m, X, y, None, "retrain")
    assert grouped.rates["hter"] > 0.25
    assert samplewise.rates["hter"] < 0.1


def test_report_counts_warnings_and_intervals(source_model):
    X, y, g = make_set(n_groups=6, per=6, shift=0.5, seed=7)
    with pytest.warns(AdaptationWarning) as caught:
        _, rep = adapt(source_model, X, y, g, "fusion", feature_names=NAMES, n_boot=300)
    messages = [str(w.message) for w in caught]
    assert any("minimum 50" in m for m in messages)
    assert sum("capture groups with" in m and "(minimum 5)" in m for m in messages) == 2
    assert rep.counts == {"bona_fide": 18, "attack": 18}
    assert rep.groups == {"bona_fide": 3, "attack": 3, "total": 6}
    assert rep.samples_per_group["0"] == {"bona_fide": 6, "attack": 0}
    assert any("capture groups" in w for w in rep.warnings)
    for k in ("far", "frr", "hter"):
        lo, hi = rep.intervals[k]
        assert lo <= rep.rates[k] <= hi
    text = rep.summary()
    assert "18 bona fide and 18 attack samples in 6 capture groups" in text
    assert "WARNING" in text
    assert "samples per group (bona fide/attack): 0 6/0, 1 0/6," in text
    json.loads(json.dumps(rep.to_dict()))
    # enough data: no warning
    X, y, g = make_set(n_groups=12, per=10, seed=8)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AdaptationWarning)
        _, rep = adapt(source_model, X, y, g, "threshold", feature_names=NAMES, n_boot=50)
    assert rep.warnings == []


def test_cv_threshold_and_bootstrap():
    s = np.array([0.1, 0.9, 0.2, 0.8, 0.6, 0.4])
    y = np.array([0, 1, 0, 1, 0, 1])
    folds = [(np.array([2, 3, 4, 5]), np.array([0, 1])), (np.array([0, 1]), np.array([2, 3, 4, 5]))]
    accept, r = cv_threshold_rates(s, y, folds)
    # fold 1: threshold from [0.2, 0.8, 0.6, 0.4] -> (0.4, 0.6]: 0.1 rejected, 0.9 accepted
    assert accept[:2].tolist() == [False, True]
    assert r["hter"] == pytest.approx((np.mean(accept[y == 0]) + np.mean(~accept[y == 1])) / 2)
    ci = bootstrap_rates(np.array([False, True] * 4), np.array([0, 1] * 4), np.arange(8) // 2)
    assert ci == {"far": (0.0, 0.0), "frr": (0.0, 0.0), "hter": (0.0, 0.0)}
    ci = bootstrap_rates(np.array([True, True, False, False]), np.array([0, 1, 0, 1]),
                         [0, 0, 1, 1], n_boot=400, seed=1)
    assert ci["far"] == (0.0, 1.0) and ci["hter"] == (0.5, 0.5)


def test_source_data_in_retrain(source_model):
    Xs, ys, _ = make_set(seed=9)
    X, y, g = make_set(shift=1.0, seed=10)
    plain, _ = quiet_adapt(source_model, X, y, g, "retrain", feature_names=NAMES)
    zero, _ = quiet_adapt(source_model, X, y, g, "retrain", feature_names=NAMES,
                          source=(Xs, ys), source_weight=0.0)
    mixed, rep = quiet_adapt(source_model, X, y, g, "retrain", feature_names=NAMES,
                             source=(Xs, ys), source_weight=1.0)
    np.testing.assert_array_equal(plain.members[0].estimator.coef_,
                                  zero.members[0].estimator.coef_)
    assert not np.allclose(plain.members[0].estimator.coef_, mixed.members[0].estimator.coef_)
    assert rep.source_weight == 1.0


def test_bad_inputs(source_model):
    X, y, g = make_set()
    with pytest.raises(ConfigurationError, match="mode"):
        adapt(source_model, X, y, g, "everything", feature_names=NAMES)
    with pytest.raises(InvalidDataError, match="both"):
        quiet_adapt(source_model, X[y == 1], y[y == 1], g[y == 1], feature_names=NAMES)
    with pytest.raises(ConfigurationError, match="lack"):
        quiet_adapt(source_model, X[:, 3:], y, g, feature_names=NAMES[3:])
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(InvalidDataError, match="NaN"):
        quiet_adapt(source_model, bad, y, g, feature_names=NAMES)


def test_read_groups_csv(tmp_path):
    p = tmp_path / "groups.csv"
    p.write_text("path,group\nlive/a.png,s1\n./spoof/b.png,s2\nvideo.avi,s3\n")
    g = read_groups_csv(p, ["live/a.png", "spoof/b.png", "video.avi#3", "video.avi#10"])
    assert g.tolist() == ["s1", "s2", "s3", "s3"]
    with pytest.raises(ConfigurationError, match="1 samples have no group"):
        read_groups_csv(p, ["live/a.png", "other.png"])
    (tmp_path / "bad.csv").write_text("file,subject\na,b\n")
    with pytest.raises(ConfigurationError, match="'path' and 'group'"):
        read_groups_csv(tmp_path / "bad.csv", ["a"])


def write_store(path, X, y, g, attrs=None, failed=None):
    from iqa_liveness.store import ExtractorInfo, merge_shards, shard_dir, write_shard

    n = y.size
    ids = [f"{'live' if v else 'spoof'}/{i}.png" for i, v in enumerate(y)]
    samples = {
        "sample_id": ids, "label": ["bona_fide" if v else "attack" for v in y],
        "attack_type": [None if v else "print" for v in y], "subject": list(g),
        "session": [None] * n, "device": [None] * n, "split": [None] * n,
        "source": ids, "frame_index": [None] * n,
    }
    infos, feats = [], {}
    for ex, cols in (("a", slice(0, 3)), ("b", slice(3, 6)), ("onnx-x", slice(6, 8))):
        names = [nm.split("__")[1] for nm in NAMES[cols]]
        infos.append(ExtractorInfo(ex, tuple(names)))
        feats[ex] = X[:, cols]
    write_shard(shard_dir(path), "s0", samples=samples, features=feats, extractors=infos,
                attrs=attrs, failed=failed)
    merge_shards(path)
    return ids


def test_adapt_command(source_model, tmp_path):
    from iqa_liveness.cli import main

    X, y, g = make_set(shift=1.5, seed=11)
    store = tmp_path / "own.h5"
    ids = write_store(store, X, y, g)
    groups = tmp_path / "groups.csv"
    groups.write_text("path,group\n" + "".join(f"{i},{k}\n" for i, k in zip(ids, g)))
    model = tmp_path / "model.zip"
    save_model(source_model, model)
    out, report = tmp_path / "adapted.zip", tmp_path / "report.json"
    code = main(["adapt", "--model", str(model), "--features", str(store), "--groups",
                 str(groups), "--mode", "retrain", "--output", str(out), "--report",
                 str(report), "--bootstrap", "200", "-q"])
    assert code == 0
    adapted = load_model(out)
    rep = json.loads(report.read_text())
    assert rep["counts"] == {"bona_fide": 60, "attack": 60} and rep["groups"]["total"] == 12
    # same as the Python API on the same store
    same, rep2 = quiet_adapt(source_model, X, y, g, "retrain", feature_names=NAMES, n_boot=200)
    np.testing.assert_allclose(adapted.threshold, same.threshold)
    assert rep["rates"]["hter"] == pytest.approx(rep2.rates["hter"])
    # the store's subjects are the default groups: same result without --groups
    new, rep4 = adapt_features(source_model, store, None, "retrain", n_boot=200)
    assert rep4.groups["total"] == 12 and rep4.rates["hter"] == rep2.rates["hter"]
    assert main(["adapt", "--model", str(model), "--features", str(store), "--output",
                 str(out), "--source-weight", "1", "-q"]) == 2


def test_adapted_model_works_at_the_captures_resolution(source_model, tmp_path):
    """Everything adapt fits sees the captures' features at their resolution (1280x720 here):
    predict must bring inputs to it, not to the source's 640x480."""
    X, y, g = make_set(shift=1.5, seed=11)
    store = tmp_path / "own.h5"
    write_store(store, X, y, g, attrs={"image_width": 1280, "image_height": 720})
    src = replace(source_model, working_size=(480, 640))
    for mode in ("threshold", "fusion", "retrain"):
        new, _ = adapt_features(src, store, None, mode, n_boot=20)
        assert new.working_size == (720, 1280)
    unsized = tmp_path / "unsized.h5"
    write_store(unsized, X, y, g)
    assert adapt_features(src, unsized, None, "threshold", n_boot=20)[0].working_size == (480, 640)


def test_failed_captures_are_counted_not_used(source_model, tmp_path, capsys):
    from iqa_liveness.cli import main

    X, y, g = make_set(shift=1.5, seed=11)
    bad = ["live/dark.png", "spoof/blur.png", "live/cut.png"]
    failed = {"sample_id": bad, "source": bad, "frame_index": [None] * 3,
              "label": ["bona_fide", "attack", "bona_fide"], "extractor": ["a"] * 3,
              "error": ["NoFaceError"] * 3, "reason": ["no face found"] * 3}
    store = tmp_path / "own.h5"
    write_store(store, X, y, g, failed=failed)
    new, rep = adapt_features(source_model, store, None, "threshold", n_boot=20)
    clean = tmp_path / "clean.h5"
    write_store(clean, X, y, g)
    same, rep0 = adapt_features(source_model, clean, None, "threshold", n_boot=20)
    assert (rep.n_failed, rep0.n_failed) == (3, 0)
    assert rep.counts == rep0.counts == {"bona_fide": 60, "attack": 60}
    assert new.threshold == same.threshold
    assert "3 captures failed extraction" in rep.summary()
    assert "failed extraction" not in rep0.summary()
    model, out, report = tmp_path / "m.zip", tmp_path / "a.zip", tmp_path / "r.json"
    save_model(source_model, model)
    assert main(["adapt", "--model", str(model), "--features", str(store), "--output", str(out),
                 "--report", str(report), "--bootstrap", "20"]) == 0
    assert json.loads(report.read_text())["n_failed"] == 3
    assert "3 captures failed extraction" in capsys.readouterr().err


def test_fusion_weights_are_non_negative(source_model):
    """A test anti-correlated with liveness on the captures gets weight 0, not a negative one."""
    X, y, g = make_set(seed=12)
    X[:, 3:6] = -X[:, 3:6] + 1.0  # test b now scores attacks higher
    new, rep = quiet_adapt(source_model, X, y, g, "fusion", feature_names=NAMES)
    assert rep.weights["b-lda"] == 0.0 and rep.weights["a-lda"] > 0 and rep.weights["x"] > 0
    S = source_model.test_scores(X[:, :6], {"x": X[:, 7]}).scores
    sub = ShrinkageLDA()._fit_uncalibrated(S[:, [0, 2]], y, g)
    np.testing.assert_allclose(new.fusion.score_samples(S), sub.score_samples(S[:, [0, 2]]))


def test_svm_grid_search_with_few_groups_per_class():
    """Two capture groups per class: the SVM's inner grid search cannot use group folds
    holding both classes and falls back to stratified folds instead of failing."""
    rng = np.random.default_rng(13)
    g = np.repeat(np.arange(4), 10)
    y = (g % 2 == 0).astype(int)
    X = y[:, None] * 2.0 + rng.normal(0, 1, (40, 3))
    names = ["f__0", "f__1", "f__2"]
    m = LivenessModel.single(LibSVMClassifier(kernel="linear", C=(0.5, 2.0)).fit(X, y), names)
    new, rep = quiet_adapt(m, X, y, g, "retrain")
    assert new.members[0].estimator.C_ in (0.5, 2.0)
    assert rep.n_splits == 4 and rep.rates["hter"] < 0.2
