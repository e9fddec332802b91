"""Liveness classifiers: scikit-learn compliance, labels, calibration, LIBSVM specifics."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.utils.estimator_checks import check_estimator

from iqa_liveness.classifiers import (
    LibSVMClassifier,
    ShrinkageLDA,
    calibrate_threshold,
    make_splits,
    out_of_fold_scores,
)
from iqa_liveness.errors import ConfigurationError, InvalidDataError, IQALivenessError
from iqa_liveness.metrics import eer_threshold, far_threshold, farfrr, frr_threshold

CLASS_WEIGHT_XFAIL = {
    "check_class_weight_classifiers": (
        "predict uses the threshold calibrated on out-of-fold scores (EER), so class weights "
        "shape the SVM but do not move the operating point as this check expects"
    )
}


@pytest.mark.parametrize(
    "estimator, xfail",
    [
        (ShrinkageLDA(), None),
        (LibSVMClassifier(C=1.0, gamma=0.5), CLASS_WEIGHT_XFAIL),
        (LibSVMClassifier(kernel="linear", C=(0.5, 2.0)), CLASS_WEIGHT_XFAIL),
    ],
    ids=["lda", "svm-rbf-fixed", "svm-linear-grid"],
)
def test_check_estimator(estimator, xfail):
    check_estimator(estimator, expected_failed_checks=xfail)


def _blobs(n_attack=60, n_bona=30, d=4, shift=1.2, seed=0):
    rng = np.random.default_rng(seed)
    X = np.r_[rng.normal(0, 1, (n_attack, d)), rng.normal(shift, 1, (n_bona, d))]
    y = np.r_[np.zeros(n_attack, int), np.ones(n_bona, int)]
    groups = np.arange(X.shape[0]) % 6  # six "subjects", each with both classes
    return X, y, groups


ESTIMATORS = [
    ShrinkageLDA(),
    LibSVMClassifier(C=1.0, gamma=0.25),
    LibSVMClassifier(kernel="linear", C=1.0),
]


@pytest.mark.parametrize("est", ESTIMATORS, ids=["lda", "rbf", "linear"])
def test_labels_strings_and_explicit_bona_fide_label(est):
    X, y, g = _blobs()
    s01 = clone(est).fit(X, y).score_samples(X)
    names = np.where(y == 1, "bona_fide", "attack")
    a = clone(est).fit(X, names)
    assert a.bona_fide_label_ == "bona_fide"
    np.testing.assert_array_equal(a.score_samples(X), s01)
    assert set(a.predict(X)) <= {"bona_fide", "attack"}
    # "bona_fide" is recognised even when it is the smaller label
    b = clone(est).fit(X, np.where(y == 1, "bona_fide", "zz_print"))
    assert b.bona_fide_label_ == "bona_fide" and b.classes_[0] == "bona_fide"
    np.testing.assert_array_equal(b.score_samples(X), s01)
    # an explicit label turns the convention around: class 0 is now "bona fide"
    c = clone(est).set_params(bona_fide_label=0).fit(X, y)
    sc = c.score_samples(X)
    assert sc[y == 0].mean() > sc[y == 1].mean()
    with pytest.raises(ConfigurationError, match="bona_fide_label"):
        clone(est).set_params(bona_fide_label="live").fit(X, y)


@pytest.mark.parametrize("est", ESTIMATORS, ids=["lda", "rbf", "linear"])
def test_predict_is_threshold_on_score(est):
    X, y, g = _blobs()
    m = clone(est).fit(X, y, groups=g)
    s = m.score_samples(X)
    np.testing.assert_array_equal(m.decision_function(X), s - m.threshold_)
    np.testing.assert_array_equal(m.predict(X), np.where(s >= m.threshold_, 1, 0))
    # the classes are separable enough that the scores rank bona fide higher
    assert s[y == 1].mean() > s[y == 0].mean()


@pytest.mark.parametrize("est", ESTIMATORS, ids=["lda", "rbf", "linear"])
def test_threshold_without_dev_is_eer_of_out_of_fold_scores(est):
    X, y, g = _blobs()
    m = clone(est).fit(X, y, groups=g)
    oof = out_of_fold_scores(est, X, y, groups=g)
    assert m.threshold_ == eer_threshold(oof[y == 0], oof[y == 1])
    assert m.threshold_source_ == "out-of-fold training scores (subject-wise 5-fold)"
    far, frr = farfrr(oof[y == 0], oof[y == 1], m.threshold_)
    assert m.calibration_eer_ == pytest.approx((far + frr) / 2)
    assert m.calibration_counts_ == {"bona_fide": 30, "attack": 60}


def test_threshold_from_dev_set_and_recalibration():
    X, y, _ = _blobs(seed=1)
    Xd, yd, _ = _blobs(seed=2)
    m = ShrinkageLDA().fit(X, y, X_dev=Xd, y_dev=yd)
    sd = m.score_samples(Xd)
    assert m.threshold_ == eer_threshold(sd[yd == 0], sd[yd == 1])
    assert m.threshold_source_ == "development set"
    m.calibrate(Xd, yd, criterion="far", target=0.05)
    assert m.threshold_ == far_threshold(sd[yd == 0], sd[yd == 1], 0.05)
    far, _ = farfrr(sd[yd == 0], sd[yd == 1], m.threshold_)
    assert far <= 0.05
    # the model itself did not change
    np.testing.assert_array_equal(m.score_samples(Xd), sd)
    with pytest.raises(ConfigurationError):
        m.calibrate(Xd, yd, criterion="far")  # no target
    f = ShrinkageLDA(threshold_criterion="frr", threshold_target=0.1).fit(X, y, X_dev=Xd, y_dev=yd)
    assert f.threshold_ == frr_threshold(sd[yd == 0], sd[yd == 1], 0.1)


def test_lda_score_is_equal_prior_discriminant_of_standardised_features():
    X, y, _ = _blobs(n_attack=80, n_bona=20)
    m = ShrinkageLDA().fit(X, y)
    Z = (X - X.mean(0)) / X.std(0)
    ref = LinearDiscriminantAnalysis(solver="eigen", shrinkage="auto", priors=[0.5, 0.5])
    ref.fit(Z, y)
    np.testing.assert_allclose(m.score_samples(X), ref.decision_function(Z), rtol=1e-12, atol=1e-12)
    p = m.predict_proba(X)
    np.testing.assert_allclose(p[:, 1], 1 / (1 + np.exp(-m.decision_function(X))), rtol=1e-12)
    np.testing.assert_allclose(p.sum(1), 1.0)


def test_lda_constant_features_do_not_break_it():
    X, y, _ = _blobs()
    X = np.c_[X, np.full(len(X), 7.0)]
    m = ShrinkageLDA().fit(X, y)
    assert m.scale_[-1] == 1.0 and np.all(np.isfinite(m.score_samples(X)))
    flat = ShrinkageLDA().fit(np.ones((20, 3)), y[:20] * 0 + np.arange(20) % 2)
    assert np.all(flat.coef_ == 0) and flat.intercept_ == 0.0
    np.testing.assert_array_equal(flat.score_samples(np.ones((2, 3))), [0.0, 0.0])


def test_svm_balanced_weights_and_options():
    X, y, _ = _blobs(n_attack=30, n_bona=10)
    m = LibSVMClassifier(kernel="linear", C=1.0).fit(X, y)
    assert m._weights(y) == (40 / 60, 40 / 20)  # (attack, bona fide) = n / (2 n_c)
    assert LibSVMClassifier(class_weight=None).fit(X, y)._weights(y) is None
    lines = m.model_text_.splitlines()
    assert lines[0] == "svm_type c_svc" and lines[1] == "kernel_type linear"
    assert m.gamma_ == 0.0 and m.selection_ == "fixed C and gamma"


def _flip_label_order(text):
    """The same LIBSVM model written with the label order -1, 1 (coefficients negated)."""
    lines = text.splitlines()
    head = {ln.split()[0]: k for k, ln in enumerate(lines[: lines.index("SV")])}
    n1, n2 = (int(v) for v in lines[head["nr_sv"]].split()[1:])
    rho = float(lines[head["rho"]].split()[1])
    lines[head["rho"]] = f"rho {-rho!r}"
    lines[head["label"]] = "label -1 1"
    lines[head["nr_sv"]] = f"nr_sv {n2} {n1}"
    sv = lines[lines.index("SV") + 1 :]
    neg = []
    for ln in sv[n1:] + sv[:n1]:
        coef, rest = ln.split(" ", 1)
        neg.append(f"{-float(coef)!r} {rest}")
    return "\n".join(lines[: lines.index("SV") + 1] + neg) + "\n"


def test_svm_sign_does_not_depend_on_libsvm_label_order():
    X, y, _ = _blobs()
    order = np.r_[np.flatnonzero(y == 1), np.flatnonzero(y == 0)]  # bona fide first
    a = LibSVMClassifier(C=1.0, gamma=0.25).fit(X, y)
    b = LibSVMClassifier(C=1.0, gamma=0.25).fit(X[order], y[order])
    np.testing.assert_allclose(a.score_samples(X), b.score_samples(X), atol=1e-3)
    s = a.score_samples(X)
    assert s[y == 1].mean() > s[y == 0].mean()
    # a model whose first LIBSVM label is the attack class (-1) scores the same
    c = pickle.loads(pickle.dumps(a))
    c.model_text_ = _flip_label_order(a.model_text_)
    c._restore_core()
    assert a._svm.sign == 1.0 and c._svm.sign == -1.0
    np.testing.assert_allclose(c.score_samples(X), s, rtol=1e-12, atol=1e-12)


def test_svm_grid_search_picks_the_lowest_eer():
    X, y, g = _blobs(seed=3)
    Xd, yd, _ = _blobs(seed=4)
    cs, gs = (0.25, 4.0), (0.05, 0.5)
    m = LibSVMClassifier(C=cs, gamma=gs).fit(X, y, X_dev=Xd, y_dev=yd)
    assert m.grid_eer_.shape == (2, 2)
    i, j = cs.index(m.C_), gs.index(m.gamma_)
    assert m.grid_eer_[i, j] == m.grid_eer_.min()
    # each grid EER is that of a model trained with those values, scored on dev
    for a, c in enumerate(cs):
        for b, gam in enumerate(gs):
            s = LibSVMClassifier(C=c, gamma=gam).fit(X, y).score_samples(Xd)
            _, eer = calibrate_threshold(s, yd)
            assert m.grid_eer_[a, b] == pytest.approx(eer)
    cv = LibSVMClassifier(kernel="linear", C=cs).fit(X, y, groups=g)
    assert cv.selection_ == "grid search: EER of out-of-fold scores (subject-wise 5-fold)"
    assert cv.threshold_source_.startswith("out-of-fold")


def test_svm_deterministic_quiet_and_picklable(capfd):
    X, y, g = _blobs()
    a = LibSVMClassifier(C=(0.5, 2.0), gamma=(0.1, 0.5)).fit(X, y, groups=g)
    b = LibSVMClassifier(C=(0.5, 2.0), gamma=(0.1, 0.5)).fit(X, y, groups=g)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert a.model_text_ == b.model_text_ and a.threshold_ == b.threshold_
    assert a.score_samples(X).tobytes() == b.score_samples(X).tobytes()
    c = pickle.loads(pickle.dumps(a))
    assert c.score_samples(X).tobytes() == a.score_samples(X).tobytes()
    assert a.n_support_vectors_ == sum(
        int(v) for v in a.model_text_.splitlines()[7].split()[1:]
    )


def test_make_splits_is_subject_disjoint():
    y = np.array([0, 1] * 12)
    groups = np.repeat(np.arange(6), 4)
    folds = make_splits(y, groups, n_splits=3)
    assert len(folds) == 3
    for tr, te in folds:
        assert not set(groups[tr]) & set(groups[te])
    assert sorted(np.concatenate([te for _, te in folds]).tolist()) == list(range(24))
    assert make_splits(np.array([0, 1]), None, 5) is None


@pytest.mark.parametrize("est", ESTIMATORS, ids=["lda", "rbf", "linear"])
def test_bad_input_gives_specific_errors(est):
    X, y, _ = _blobs()
    with pytest.raises(InvalidDataError, match="Only binary"):
        clone(est).fit(X, y + (np.arange(len(y)) % 3 == 0))
    with pytest.raises(InvalidDataError, match="1 class"):
        clone(est).fit(X, np.zeros(len(y), int))
    Xn = X.copy()
    Xn[3, 1] = np.nan
    with pytest.raises(InvalidDataError, match="NaN"):
        clone(est).fit(Xn, y)
    m = clone(est).fit(X, y)
    with pytest.raises(InvalidDataError, match="features"):
        m.predict(X[:, :2])
    with pytest.raises(InvalidDataError, match="not among"):
        m.calibrate(X, np.where(y == 1, 5, 0))
    with pytest.raises(IQALivenessError):
        clone(est).fit(X, y, X_dev=X)  # y_dev missing


def test_bad_svm_parameters():
    X, y, _ = _blobs()
    with pytest.raises(ConfigurationError, match="kernel"):
        LibSVMClassifier(kernel="poly").fit(X, y)
    with pytest.raises(ConfigurationError, match="positive"):
        LibSVMClassifier(C=-1.0).fit(X, y)
    with pytest.raises(ConfigurationError, match="feature_range"):
        LibSVMClassifier(feature_range=(1.0, -1.0)).fit(X, y)


@pytest.mark.parametrize("kernel", ["rbf", "linear"])
def test_svm_matches_an_independent_libsvm_build(kernel):
    """scikit-learn's SVC wraps its own copy of LIBSVM: same scaling, C, gamma and class
    weights must give the same decision values (up to the solver tolerance and the 8-digit
    support vectors of the text model)."""
    from sklearn.svm import SVC

    X, y, _ = _blobs(n_attack=70, n_bona=25, seed=5)
    m = LibSVMClassifier(kernel=kernel, C=2.0, gamma=0.3, tol=1e-9).fit(X, y)
    Z = -1 + (X - X.min(0)) * (2 / (X.max(0) - X.min(0)))
    np.testing.assert_allclose(m.data_min_, X.min(0))
    w_attack, w_bona = 95 / (2 * 70), 95 / (2 * 25)
    ref = SVC(kernel=kernel, C=2.0, gamma=0.3, class_weight={0: w_attack, 1: w_bona}, tol=1e-9)
    ref.fit(Z, y)
    np.testing.assert_allclose(m.score_samples(X), ref.decision_function(Z), atol=1e-6)
    assert m.n_support_vectors_ == ref.n_support_.sum()


@pytest.mark.parametrize("kernel", ["rbf", "linear"])
@pytest.mark.parametrize("with_dev", [False, True])
def test_svm_precomputed_grid_search_equals_libsvm_kernel(kernel, with_dev, monkeypatch):
    import iqa_liveness.classifiers as clf_mod

    rng = np.random.default_rng(7)
    n, d = 150, 20
    y = (rng.random(n) < 0.3).astype(int)
    X = rng.normal(0, 1, (n, d)) + y[:, None] * np.linspace(0.0, 0.8, d)
    X[:, 2] = 5.0  # a constant feature (scaled to the lower bound)
    g = np.arange(n) % 7
    Xd = rng.normal(0, 1, (40, d)) + (np.arange(40) % 3 == 0)[:, None] * 0.5
    yd = (np.arange(40) % 3 == 0).astype(int)
    dev = {"X_dev": Xd, "y_dev": yd} if with_dev else {}
    fast = LibSVMClassifier(kernel=kernel).fit(X, y, groups=g, **dev)
    monkeypatch.setattr(clf_mod, "_PRECOMPUTED_MAX_ROWS", 0)  # LIBSVM's own kernel
    slow = LibSVMClassifier(kernel=kernel).fit(X, y, groups=g, **dev)
    assert (fast.C_, fast.gamma_) == (slow.C_, slow.gamma_)
    assert fast.grid_eer_.shape == (6, 5 if kernel == "rbf" else 1)
    np.testing.assert_allclose(fast.grid_eer_, slow.grid_eer_, rtol=0, atol=1e-9)
    assert fast.grid_eer_.min() < fast.grid_eer_.max()  # the grid points differ
    assert fast.model_text_ == slow.model_text_  # the final model is fitted the same way
    assert fast.threshold_ == pytest.approx(slow.threshold_, abs=1e-9)
    # the held-out scores of the grid points agree too: most to rounding; a few only to the
    # solver's tolerance (-e 1e-3), when last-bit kernel differences change the path of
    # LIBSVM's working-set selection at near-ties
    folds = make_splits(y, g, 5)
    cs, gs = fast._check_params(d)
    a = fast._grid_scores(X, y, folds, cs, gs, precomputed=True)
    b = fast._grid_scores(X, y, folds, cs, gs, precomputed=False)
    assert a.keys() == b.keys()
    diffs = np.array([np.max(np.abs(a[k] - b[k])) for k in a])
    assert np.median(diffs) < 1e-9
    assert diffs.max() < 5e-3


def test_numpy_nodes_give_svm_predict_values_bit_for_bit():
    from libsvm import svmutil
    from scipy import sparse

    from iqa_liveness._libsvm import decision_values, node_rows

    rng = np.random.default_rng(5)
    X = rng.normal(size=(120, 30))
    X[rng.uniform(size=X.shape) < 0.3] = 0.0  # LIBSVM leaves zeros out of a row
    X[7] = 0.0  # an all-zero row: the terminator alone
    y = np.where(rng.uniform(size=120) < 0.5, 1.0, -1.0)
    model = svmutil.svm_train(y, sparse.csr_matrix(X), "-s 0 -t 2 -c 1 -g 0.05 -q")
    _, _, vals = svmutil.svm_predict([], X, model, "-q")
    np.testing.assert_array_equal(decision_values(model, X), np.asarray(vals).ravel())
    nodes, starts = node_rows(X)
    assert len(nodes) == np.count_nonzero(X) + len(X) and starts[8] - starts[7] == 1


def test_lda_shrinkage_parameter(tmp_path):
    from iqa_liveness.errors import ConfigurationError
    from iqa_liveness.modelio import LivenessModel, load_model, save_model

    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 4))
    X[:, 1] = X[:, 0] + 0.1 * rng.normal(size=80)  # correlated features
    y = np.array(["attack", "bona_fide"] * 40)
    X[y == "bona_fide", 0] += 1.0
    z = (X - X.mean(0)) / X.std(0)
    # shrinkage 1: the covariance is the identity, the direction is the class-mean difference
    full = ShrinkageLDA(shrinkage=1.0).fit(X, y)
    diff = z[y == "bona_fide"].mean(0) - z[y == "attack"].mean(0)
    np.testing.assert_allclose(full.coef_ / np.linalg.norm(full.coef_), diff / np.linalg.norm(diff))
    # shrinkage 0: plain LDA on the standardised features (pooled within-class covariance)
    plain = ShrinkageLDA(shrinkage=0.0).fit(X, y)
    pooled = np.cov(np.r_[z[y == "bona_fide"] - z[y == "bona_fide"].mean(0),
                          z[y == "attack"] - z[y == "attack"].mean(0)].T, bias=True)
    want = np.linalg.solve(pooled, diff)
    np.testing.assert_allclose(plain.coef_, want, rtol=1e-8)
    # "auto" is Ledoit-Wolf, between the two for these data; the default
    assert ShrinkageLDA().get_params()["shrinkage"] == "auto"
    auto = ShrinkageLDA().fit(X, y)
    assert not np.allclose(auto.coef_, plain.coef_) and not np.allclose(auto.coef_, full.coef_)
    for bad in (-0.1, 1.5, "lw", True):
        with pytest.raises(ConfigurationError, match="shrinkage"):
            ShrinkageLDA(shrinkage=bad).fit(X, y)
    # kept by the model file
    path = tmp_path / "m.iqa"
    save_model(LivenessModel.single(ShrinkageLDA(shrinkage=0.1).fit(X, y), list("abcd")), path)
    assert load_model(path).members[0].estimator.shrinkage == 0.1
