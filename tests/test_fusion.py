"""Score fusion, score tables and CSV score files."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils.estimator_checks import check_estimator

from iqa_liveness.classifiers import LibSVMClassifier, ShrinkageLDA, out_of_fold_scores
from iqa_liveness.errors import (
    ConfigurationError,
    MissingScoresError,
    NonFiniteScoreError,
    ScoreError,
)
from iqa_liveness.fusion import (
    ScoreFusion,
    ScoreTable,
    fit_tests,
    join_scores,
    out_of_fold_score_table,
    read_score_csv,
    score_table,
)
from iqa_liveness.metrics import evaluate_protocol


def test_check_estimator():
    check_estimator(ScoreFusion())


def _scores(n=200, seed=0):
    """Two tests with independent noise: each alone is mediocre, together better."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(n, int), np.ones(n // 2, int)]
    S = np.c_[y + rng.normal(0, 0.9, y.size), 3 * y + rng.normal(0, 3.0, y.size) + 10]
    return S, y


def test_csv_read_write_round_trip(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("id,cnn,vendor\nb,0.1,\na,-2.5e-3,7\nc,nan,1e300\n")
    t = read_score_csv(p)
    assert t.ids == ("b", "a", "c") and t.names == ("cnn", "vendor")
    np.testing.assert_array_equal(t.scores, [[0.1, np.nan], [-2.5e-3, 7.0], [np.nan, 1e300]])
    t2 = ScoreTable.from_columns({"x": [0.1 + 0.2, 1 / 3, np.nan]}, ids=["u", "v", "w"])
    t2.to_csv(tmp_path / "o.csv")
    back = read_score_csv(tmp_path / "o.csv")
    assert back.ids == t2.ids and back.names == t2.names
    assert back.scores.tobytes() == t2.scores.tobytes()  # exact to the last bit
    (tmp_path / "semi.csv").write_text("s;sample\n1.5;s1\n")
    t3 = read_score_csv(tmp_path / "semi.csv", id_column="sample")
    assert t3.ids == ("s1",) and t3.names == ("s",) and t3.scores.tolist() == [[1.5]]


@pytest.mark.parametrize(
    "text, match",
    [
        ("id,cnn\na,0.5\nb,high\n", r"s\.csv:3: column 'cnn': 'high' is not a number"),
        ("id,cnn\na,0.5\na,0.7\n", "duplicate sample ids"),
        ("id,cnn\na,0.5,1\n", r"s\.csv:2: 3 cells, the header has 2"),
        ("id\na\n", "no score column"),
        ("", "empty score file"),
        ("id,cnn,cnn\na,1,2\n", "duplicate test names"),
    ],
)
def test_csv_errors(tmp_path, text, match):
    p = tmp_path / "s.csv"
    p.write_text(text)
    with pytest.raises(ScoreError, match=match):
        read_score_csv(p)


def test_csv_missing_id_column(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("id,cnn\na,1\n")
    with pytest.raises(ScoreError, match="no id column 'sample'"):
        read_score_csv(p, id_column="sample")
    with pytest.raises(ScoreError, match=r"absent\.csv does not exist$"):
        read_score_csv(tmp_path / "absent.csv")
    with pytest.raises(ScoreError, match="cannot read score file .*: Is a directory$"):
        read_score_csv(tmp_path)


def test_join_scores_matches_ids_and_reports_missing():
    a = ScoreTable.from_columns({"iqa": [1.0, 2.0, 3.0]}, ids=["s1", "s2", "s3"])
    b = ScoreTable.from_columns({"cnn": [20.0, 10.0, 40.0]}, ids=["s2", "s1", "s4"])
    with pytest.raises(MissingScoresError) as err:
        join_scores(a, b)
    assert err.value.missing == {"iqa": ("s4",), "cnn": ("s3",)}
    t = join_scores(a, b, on_missing="drop")
    assert t.ids == ("s1", "s2") and t.names == ("iqa", "cnn")
    np.testing.assert_array_equal(t.scores, [[1.0, 10.0], [2.0, 20.0]])
    assert dict(t.missing) == {"iqa": ("s4",), "cnn": ("s3",)}
    k = join_scores(a, b, ids=["s3", "s1"], on_missing="keep")
    np.testing.assert_array_equal(k.scores, [[3.0, np.nan], [1.0, 10.0]])
    assert dict(k.missing) == {"cnn": ("s3",)}
    with pytest.raises(ScoreError, match="same test name"):
        join_scores(a, a)
    with pytest.raises(ConfigurationError):
        join_scores(a, b, on_missing="ignore")


def test_fusion_matches_columns_by_name():
    S, y = _scores()
    t = ScoreTable.from_columns({"iqa": S[:, 0], "tex": S[:, 1]})
    f = ScoreFusion().fit(t, y)
    assert f.test_names_ == ("iqa", "tex")
    swapped = ScoreTable.from_columns({"tex": S[:, 1], "iqa": S[:, 0], "extra": S[:, 0]})
    np.testing.assert_array_equal(f.score_samples(swapped), f.score_samples(S))
    with pytest.raises(MissingScoresError, match="lacks tests"):
        f.score_samples(ScoreTable.from_columns({"iqa": S[:, 0]}))
    with pytest.raises(ConfigurationError, match="test names"):
        ScoreFusion(test_names=("a",)).fit(S, y)
    # the fused score is linear in the raw scores with weights_
    fused = f.score_samples(S)
    np.testing.assert_allclose(fused - S @ f.weights_, (fused - S @ f.weights_)[0], atol=1e-9)


def test_non_finite_scores_error_or_imputation():
    S, y = _scores()
    Sn = S.copy()
    Sn[[3, 250], 1] = [np.nan, np.inf]
    with pytest.raises(NonFiniteScoreError, match="test 'test1', 2 samples"):
        ScoreFusion().fit(Sn, y)
    f = ScoreFusion().fit(S, y)
    with pytest.raises(NonFiniteScoreError, match="NaN or inf"):
        f.predict(Sn)
    for how, stat in (("mean", np.mean), ("median", np.median)):
        g = ScoreFusion(impute=how).fit(Sn, y)
        finite = Sn[np.isfinite(Sn[:, 1]), 1]
        assert g.impute_values_[1] == stat(finite)
        assert g.impute_values_[0] == stat(Sn[:, 0])
        filled = np.where(np.isfinite(Sn), Sn, g.impute_values_)
        np.testing.assert_array_equal(g.score_samples(Sn), g.score_samples(filled))
    with pytest.raises(NonFiniteScoreError, match="no finite training score"):
        ScoreFusion(impute="mean").fit(np.c_[S[:, 0], np.full(len(y), np.nan)], y)


def test_fusion_of_independent_tests_beats_each_test_and_report_matches_protocol():
    S, y = _scores(seed=1)
    Sd, yd = _scores(seed=2)
    St, yt = _scores(seed=3)
    f = ScoreFusion(test_names=("a", "b")).fit(S, y, Sd, yd)
    rep = f.report(Sd, yd, St, yt)
    assert list(rep.results) == ["a", "b", "fusion"]
    for k, name in enumerate("ab"):
        ref = evaluate_protocol(Sd[:, k], yd, St[:, k], yt)
        assert rep.results[name] == ref
    ref = evaluate_protocol(f.score_samples(Sd), yd, f.score_samples(St), yt)
    assert rep.results["fusion"] == ref
    assert rep.results["fusion"].threshold == f.threshold_  # dev EER threshold in both
    hters = {k: r.hter for k, r in rep.results.items()}
    assert hters["fusion"] < min(hters["a"], hters["b"])
    assert rep.results["fusion"].dev_eer < min(rep.results["a"].dev_eer, rep.results["b"].dev_eer)
    species = np.where(yt == 1, None, np.where(np.arange(yt.size) % 2 == 0, "print", "replay"))
    rep2 = f.report(Sd, yd, St, yt, test_attack_types=list(species))
    assert set(rep2.results["fusion"].apcer_per_species) == {"print", "replay"}
    assert rep2.results["fusion"].apcer == max(rep2.results["fusion"].apcer_per_species.values())
    text = rep.summary()
    assert "fusion" in text and f"{100 * hters['fusion']:.2f}" in text
    assert set(rep.to_dict()["fusion"]) >= {"dev_eer", "hter", "threshold"}


def test_pipeline_out_of_fold_training_and_external_csv(tmp_path):
    rng = np.random.default_rng(5)
    n = 120
    y = np.r_[np.zeros(n, int), np.ones(n, int)]
    groups = np.arange(2 * n) % 8
    X_iqa = y[:, None] * 0.8 + rng.normal(0, 1, (2 * n, 3))
    X_tex = y[:, None] * 0.6 + rng.normal(0, 1, (2 * n, 5))
    tests = {"iqa": ShrinkageLDA(), "tex": LibSVMClassifier(kernel="linear", C=1.0)}
    X = {"iqa": X_iqa, "tex": X_tex}
    ids = [f"s{i}" for i in range(2 * n)]
    oof = out_of_fold_score_table(tests, X, y, groups=groups, ids=ids)
    np.testing.assert_array_equal(
        oof.column("iqa"), out_of_fold_scores(ShrinkageLDA(), X_iqa, y, groups)
    )
    # an external test, as a CSV from elsewhere (rows shuffled, one extra sample)
    ext = y + rng.normal(0, 0.7, 2 * n)
    order = rng.permutation(2 * n)
    lines = ["sample_id,cnn"] + [f"{ids[i]},{float(ext[i])!r}" for i in order] + ["zz,0.0"]
    (tmp_path / "cnn.csv").write_text("\n".join(lines) + "\n")
    train = join_scores(oof, read_score_csv(tmp_path / "cnn.csv"), ids=ids)
    assert train.names == ("iqa", "tex", "cnn")
    np.testing.assert_array_equal(train.column("cnn"), ext)
    fusion = ScoreFusion().fit(train, y, groups=groups)
    assert fusion.threshold_source_.startswith("out-of-fold")
    fitted = fit_tests(tests, X, y, groups=groups)
    scores = score_table(fitted, X, ids=ids)
    np.testing.assert_array_equal(scores.column("iqa"), fitted["iqa"].score_samples(X_iqa))
    full = join_scores(scores, read_score_csv(tmp_path / "cnn.csv"), ids=ids)
    s = fusion.score_samples(full)
    assert s[y == 1].mean() > s[y == 0].mean()
