"""Error rates, thresholds and the evaluation protocol (iqa_liveness.metrics)."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
from conftest import shared_path
from hypothesis import given, settings
from hypothesis import strategies as st

from iqa_liveness import metrics as M
from iqa_liveness.errors import (
    ConfigurationError,
    EmptyScoresError,
    IQALivenessError,
    LabelError,
    NonFiniteScoreError,
    ScoreError,
)

# --------------------------------------------------------------------------- oracle


@pytest.fixture(scope="module")
def oracle():
    d = json.loads(shared_path("oracles", "pad_metrics.json").read_text())
    assert d["scores"] == {
        "neg": "numpy.linspace(-2, 1, 200)",
        "pos": "numpy.linspace(-0.5, 3, 300)",
    }
    return d, np.linspace(-2, 1, 200), np.linspace(-0.5, 3, 300)


def test_oracle_thresholds_exact(oracle):
    d, neg, pos = oracle
    assert M.eer_threshold(neg, pos) == d["eer_threshold"]
    assert M.min_hter_threshold(neg, pos) == d["min_hter_threshold"]
    assert (
        M.min_weighted_error_rate_threshold(neg, pos, 0.3)
        == d["min_weighted_error_rate_threshold_cost_0.3"]
    )
    for x in ("0.1", "0.01", "0.05"):
        assert M.far_threshold(neg, pos, float(x)) == d[f"far_threshold_{x}"]
    for x in ("0.1", "0.05"):
        assert M.frr_threshold(neg, pos, float(x)) == d[f"frr_threshold_{x}"]


def test_oracle_rates(oracle):
    d, neg, pos = oracle
    assert M.farfrr(neg, pos, d["eer_threshold"]) == tuple(d["farfrr_at_eer_threshold"])
    assert M.farfrr(neg, pos, d["min_hter_threshold"]) == tuple(d["farfrr_at_min_hter_threshold"])
    for t in ("0.0", "0.25", "0.5"):
        assert M.farfrr(neg, pos, float(t)) == tuple(d[f"farfrr_at_{t}"])
    assert M.farfrr(neg, pos, d["far_threshold_0.05"]) == tuple(d["farfrr_at_far_threshold_0.05"])
    assert M.farfrr(neg, pos, d["frr_threshold_0.05"]) == tuple(d["farfrr_at_frr_threshold_0.05"])
    far, frr = d["farfrr_at_eer_threshold"]
    assert M.eer(neg, pos) == (far + frr) / 2
    assert M.hter(neg, pos, 0.25) == pytest.approx(sum(d["farfrr_at_0.25"]) / 2, abs=1e-15)


def test_oracle_auc(oracle):
    d, neg, pos = oracle
    assert M.roc_auc(neg, pos) == pytest.approx(d["roc_auc"], abs=1e-12)
    # the exact Mann-Whitney area differs from bob's sampled one (documented)
    exact = M.roc_auc(neg, pos, method="exact")
    assert exact == pytest.approx(53512 / 60000, abs=1e-15)
    assert abs(exact - d["roc_auc"]) > 1e-5


def test_oracle_iso_30107_3(oracle):
    d, neg, pos = oracle
    iso = d["iso_30107_3"]
    assert iso["pai_split"] == "negA = neg[:100], negB = neg[100:]"
    species = {"A": neg[:100], "B": neg[100:]}
    t = M.apcer_threshold(species, 0.05)
    assert t == iso["bpcer20_threshold"]
    res = M.bpcer_at_apcer(pos, species, 0.05)
    assert res == (iso["bpcer_at_bpcer20"], iso["bpcer20_threshold"])
    assert list(M.apcer_per_species(species, t).values()) == iso["apcer_pai_at_bpcer20"]
    assert M.apcer(species, t) == iso["apcer_at_bpcer20"]
    assert M.bpcer(pos, t) == iso["bpcer_at_bpcer20"]
    assert M.acer(pos, species, t) == pytest.approx(iso["acer_at_bpcer20"], abs=1e-12)

    g = iso["at_global_eer_threshold"]
    te = d["eer_threshold"]
    assert list(M.apcer_per_species(species, te).values()) == g["apcer_pai"]
    assert M.apcer(species, te) == g["apcer"]
    assert M.bpcer(pos, te) == g["bpcer"]
    assert M.acer(pos, species, te) == pytest.approx(g["acer"], abs=1e-12)
    # the pooled FAR is a different, smaller number than the ISO APCER
    assert M.farfrr(neg, pos, te)[0] == 0.23 < g["apcer"]


def test_oracle_protocol_reproduces_the_numbers(oracle):
    d, neg, pos = oracle
    scores = np.concatenate([neg, pos])
    labels = ["attack"] * 200 + ["bona_fide"] * 300
    types = ["A"] * 100 + ["B"] * 100 + [None] * 300
    r = M.evaluate_protocol(
        scores, labels, scores, labels, dev_attack_types=types, test_attack_types=types
    )
    assert r.threshold == d["eer_threshold"]
    assert (r.far, r.frr) == tuple(d["farfrr_at_eer_threshold"])
    assert r.apcer_per_species == dict(
        zip("AB", d["iso_30107_3"]["at_global_eer_threshold"]["apcer_pai"])
    )
    assert r.auc == pytest.approx(d["roc_auc"], abs=1e-12)
    r20 = M.evaluate_protocol(
        scores,
        labels,
        scores,
        labels,
        dev_attack_types=types,
        test_attack_types=types,
        criterion="apcer",
        target=0.05,
    )
    assert r20.threshold == d["iso_30107_3"]["bpcer20_threshold"]
    assert r20.bpcer == d["iso_30107_3"]["bpcer_at_bpcer20"]
    assert r20.apcer == d["iso_30107_3"]["apcer_at_bpcer20"]


# --------------------------------------------------------------------------- brute force


def _reference_threshold(neg, pos, crit):
    """bob.measure's sweep, candidate by candidate, in exact rational arithmetic."""
    neg, pos = sorted(neg), sorted(pos)
    n, p = len(neg), len(pos)
    u = sorted(set(neg) | set(pos))
    states = [(u[0], n, 0)]
    for i, v in enumerate(u):
        fa = sum(x > v for x in neg)
        fr = sum(x <= v for x in pos)
        t = (v + u[i + 1]) / 2 if i + 1 < len(u) else float(np.nextafter(v, np.inf))
        states.append((t, fa, fr))
    m = next(i for i, (_, fa, fr) in enumerate(states) if fa == 0 or fr == p)
    val = [crit(Fraction(fa, n), Fraction(fr, p)) for _, fa, fr in states]
    best = 0
    for i in range(m):
        if val[i] <= val[best]:
            best = i
    if val[m] < val[best]:
        best = m
    if m < len(states) - 1 and val[-1] < val[best]:
        best = len(states) - 1
    return states[best][0]


_score = st.integers(-6, 6).map(lambda i: i / 4)  # coarse grid: many ties
_scores = st.lists(_score, min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(_scores, _scores, st.sampled_from([0.0, 0.25, 0.3, 0.5, 0.7, 1.0]))
def test_sweep_matches_candidate_by_candidate_reference(neg, pos, cost):
    assert M.eer_threshold(neg, pos) == _reference_threshold(neg, pos, lambda a, b: abs(a - b))
    c = Fraction(cost)
    ref = _reference_threshold(neg, pos, lambda a, b: c * a + (1 - c) * b)
    assert M.min_weighted_error_rate_threshold(neg, pos, cost) == ref


@settings(max_examples=200, deadline=None)
@given(_scores, _scores, st.sampled_from([0.0, 0.05, 0.1, 0.25, 0.5, 0.99]))
def test_far_frr_threshold_rules(neg, pos, x):
    t = M.far_threshold(neg, [], x)
    far = M.farfrr(neg, pos, t)[0]
    assert far <= x
    ok = [v for v in neg if sum(s >= v for s in neg) / len(neg) <= x]
    assert t == (min(ok) if ok else np.nextafter(max(neg), np.inf))
    t = M.frr_threshold([], pos, x)
    assert M.farfrr(neg, pos, t)[1] <= x
    assert t == max(v for v in pos if sum(s < v for s in pos) / len(pos) <= x)


@settings(max_examples=200, deadline=None)
@given(_scores, _scores)
def test_curves_and_exact_auc(neg, pos):
    c = M.roc_curve(neg, pos)
    assert c.far[0] == 1.0 and c.frr[0] == 0.0 and c.far[-1] == 0.0 and c.frr[-1] == 1.0
    assert np.all(np.diff(c.far) <= 0) and np.all(np.diff(c.frr) >= 0)
    for t, a, r in zip(c.thresholds, c.far, c.frr):
        assert (a, r) == M.farfrr(neg, pos, t)
    pairs = [(1.0 if b > a else 0.5 if b == a else 0.0) for a in neg for b in pos]
    auc = M.roc_auc(neg, pos, method="exact")
    assert auc == pytest.approx(sum(pairs) / len(pairs), abs=1e-12)
    # the exact AUC is the trapezoidal area of the full curve
    tpr = 1 - c.frr
    assert auc == pytest.approx(-np.sum(np.diff(c.far) * (tpr[1:] + tpr[:-1]) / 2), abs=1e-12)
    d = M.det_curve(neg, pos)
    np.testing.assert_array_equal(d.thresholds, c.thresholds)
    assert np.all(np.isfinite(d.x)) and np.all(np.diff(d.x) <= 0) and np.all(np.diff(d.y) >= 0)


def test_probit_values():
    np.testing.assert_allclose(M.probit([0.5, 0.975, 0.025]), [0.0, 1.959964, -1.959964], atol=1e-6)
    assert M.probit([0.0])[0] == pytest.approx(-8.1258, abs=1e-4)
    assert M.probit([1.0])[0] == pytest.approx(8.1258, abs=1e-4)


# --------------------------------------------------------------------------- degenerate


def test_all_scores_equal():
    neg, pos = [0.5] * 4, [0.5] * 3
    assert M.eer_threshold(neg, pos) == 0.5
    assert M.farfrr(neg, pos, 0.5) == (1.0, 0.0)
    assert M.eer(neg, pos) == 0.5
    assert M.roc_auc(neg, pos, method="exact") == 0.5
    # min HTER: accept-all and reject-all tie at 0.5; accept-all (first) is kept
    assert M.min_hter_threshold(neg, pos) == 0.5
    # cost > 0.5 favours rejecting everything: the threshold just above the score
    t = M.min_weighted_error_rate_threshold(neg, pos, 0.9)
    assert t == np.nextafter(0.5, 1) and M.farfrr(neg, pos, t) == (0.0, 1.0)


def test_perfectly_separated_classes_pick_the_middle_of_the_gap():
    neg, pos = [0.0, 0.1, 0.2], [0.8, 0.9]
    assert M.eer_threshold(neg, pos) == 0.5
    assert M.min_hter_threshold(neg, pos) == 0.5
    assert M.eer(neg, pos) == 0.0
    assert M.roc_auc(neg, pos) == 1.0 == M.roc_auc(neg, pos, method="exact")
    # reversed classes: |FAR - FRR| is smallest (0) where both are 100 %: EER 1, AUC 0
    assert M.eer_threshold(pos, neg) == 0.5
    assert M.farfrr(pos, neg, 0.5) == (1.0, 1.0) and M.eer(pos, neg) == 1.0
    assert M.roc_auc(pos, neg, method="exact") == 0.0
    assert str(M.roc_auc(pos, neg)) == "0.0"


def test_far_frr_threshold_extremes():
    neg = [0.1, 0.2, 0.2, 0.4]
    assert M.far_threshold(neg, [], 0.0) == np.nextafter(0.4, 1)
    assert M.far_threshold(neg, [], 0.25) == 0.4
    assert M.far_threshold(neg, [], 0.5) == 0.4  # 0.2 would give 3/4
    assert M.far_threshold(neg, [], 0.75) == 0.2
    assert M.far_threshold(neg, [], 1.0) == np.nextafter(0.1, 0)
    pos = [0.1, 0.3, 0.3, 0.5]
    assert M.frr_threshold([], pos, 0.0) == 0.1
    assert M.frr_threshold([], pos, 0.25) == 0.3  # FRR(0.3) = 1/4 (ties follow the rule)
    assert M.frr_threshold([], pos, 0.5) == 0.3
    assert M.frr_threshold([], pos, 1.0) == np.nextafter(0.5, 1)


@pytest.mark.parametrize(
    "call",
    [
        lambda a, b: M.farfrr(a, b, 0.0),
        lambda a, b: M.eer_threshold(a, b),
        lambda a, b: M.min_hter_threshold(a, b),
        lambda a, b: M.roc_auc(a, b),
        lambda a, b: M.roc_curve(a, b),
    ],
)
def test_empty_and_non_finite_scores(call):
    with pytest.raises(EmptyScoresError):
        call([], [1.0])
    with pytest.raises(EmptyScoresError):
        call([1.0], [])
    with pytest.raises(NonFiniteScoreError):
        call([1.0, np.nan], [1.0])
    with pytest.raises(NonFiniteScoreError):
        call([1.0], [np.inf])
    with pytest.raises(ScoreError):
        call([[1.0]], [1.0])
    with pytest.raises(ScoreError):
        call(["a"], [1.0])


def test_bad_parameters():
    with pytest.raises(ConfigurationError):
        M.farfrr([1.0], [1.0], float("nan"))
    for bad in (-0.1, 1.1, float("nan")):
        with pytest.raises(ConfigurationError):
            M.far_threshold([1.0], [], bad)
        with pytest.raises(ConfigurationError):
            M.frr_threshold([], [1.0], bad)
        with pytest.raises(ConfigurationError):
            M.min_weighted_error_rate_threshold([1.0], [2.0], bad)
    with pytest.raises(ConfigurationError):
        M.roc_auc([1.0], [2.0], method="sklearn")
    with pytest.raises(EmptyScoresError):
        M.apcer({}, 0.5)
    with pytest.raises(EmptyScoresError, match="replay"):
        M.apcer({"print": [0.1], "replay": []}, 0.5)
    assert issubclass(ScoreError, IQALivenessError) and issubclass(ScoreError, ValueError)


def test_plain_array_is_one_species_and_pooled_apcer_differs():
    attacks = {"print": [0.1, 0.2, 0.3, 0.4], "replay": [0.6, 0.7]}
    assert M.apcer_per_species(attacks, 0.5) == {"print": 0.0, "replay": 1.0}
    assert M.apcer(attacks, 0.5) == 1.0
    pooled = np.concatenate(list(attacks.values()))
    assert M.apcer(pooled, 0.5) == pytest.approx(2 / 6)
    assert M.apcer_per_species(pooled, 0.5) == {"attack": pytest.approx(2 / 6)}


def test_large_inputs_are_fast_enough_to_be_n_log_n():
    rng = np.random.default_rng(0)
    neg = rng.normal(0, 1, 200_000)
    pos = rng.normal(2, 1, 300_000)
    t = M.eer_threshold(neg, pos)
    far, frr = M.farfrr(neg, pos, t)
    assert abs(far - frr) < 1e-3 and far == pytest.approx(0.1587, abs=3e-3)
    assert M.roc_auc(neg, pos, method="exact") == pytest.approx(0.9214, abs=2e-3)


# --------------------------------------------------------------------------- protocol


def test_split_scores():
    s = M.split_scores(
        [0.9, 0.1, 0.3, 0.8, 0.2],
        ["bona_fide", "attack", "attack", "bona_fide", "attack"],
        ["", "print", "replay", None, "print"],
    )
    assert s.bona_fide.tolist() == [0.9, 0.8]
    assert s.attacks.tolist() == [0.1, 0.3, 0.2]
    assert {k: v.tolist() for k, v in s.attacks_by_species.items()} == {
        "print": [0.1, 0.2],
        "replay": [0.3],
    }
    s = M.split_scores([0.9, 0.1], np.array([1, 0]))
    assert list(s.attacks_by_species) == ["attack"]
    s = M.split_scores([0.9, 0.1], [True, False])
    assert s.bona_fide.tolist() == [0.9]
    with pytest.raises(LabelError, match="unknown label"):
        M.split_scores([0.9, 0.1], ["live", "attack"])
    with pytest.raises(LabelError, match="unknown label"):
        M.split_scores([0.9, 0.1], [2, 0])
    with pytest.raises(LabelError, match="2 labels for 3"):
        M.split_scores([0.9, 0.1, 0.2], [1, 0])
    with pytest.raises(LabelError, match="without an attack type"):
        M.split_scores([0.9, 0.1], [1, 0], ["x", None])
    with pytest.raises(LabelError):
        M.split_scores([0.9, 0.1], [1, 0], ["x"])


def _synthetic(seed, n_bf=300, n_print=200, n_replay=100):
    rng = np.random.default_rng(seed)
    scores = np.concatenate(
        [rng.normal(2, 1, n_bf), rng.normal(0, 1, n_print), rng.normal(1, 1, n_replay)]
    )
    labels = ["bona_fide"] * n_bf + ["attack"] * (n_print + n_replay)
    types = [None] * n_bf + ["print"] * n_print + ["replay"] * n_replay
    return scores, labels, types


def test_protocol_threshold_comes_from_dev_only():
    dev_s, dev_l, dev_t = _synthetic(1)
    test_s, test_l, test_t = _synthetic(2)
    r = M.evaluate_protocol(
        dev_s, dev_l, test_s, test_l, dev_attack_types=dev_t, test_attack_types=test_t
    )
    s_dev = M.split_scores(dev_s, dev_l)
    s_test = M.split_scores(test_s, test_l, test_t)
    assert r.threshold == M.eer_threshold(s_dev.attacks, s_dev.bona_fide)
    assert r.dev_eer == M.eer(s_dev.attacks, s_dev.bona_fide)
    assert (r.far, r.frr) == M.farfrr(s_test.attacks, s_test.bona_fide, r.threshold)
    assert r.hter == (r.far + r.frr) / 2 and r.bpcer == r.frr
    assert r.apcer == max(r.apcer_per_species.values()) == r.apcer_per_species["replay"]
    assert r.apcer > r.far  # ISO APCER (max over species) vs pooled FAR
    assert r.acer == (r.apcer + r.bpcer) / 2
    assert (r.n_bona_fide, r.n_attack) == (300, 300)
    assert r.n_attack_per_species == {"print": 200, "replay": 100}
    assert (r.dev_n_bona_fide, r.dev_n_attack) == (300, 300)
    # changing the test set never changes the threshold
    r2 = M.evaluate_protocol(dev_s, dev_l, test_s[::-1], test_l[::-1])
    assert r2.threshold == r.threshold
    d = r.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["apcer_per_species"]["print"] == r.apcer_per_species["print"]
    assert "APCER[replay]" in r.summary()


def test_protocol_criteria():
    dev_s, dev_l, dev_t = _synthetic(3)
    test_s, test_l, test_t = _synthetic(4)
    s = M.split_scores(dev_s, dev_l, dev_t)
    kw = dict(dev_attack_types=dev_t, test_attack_types=test_t)
    r = M.evaluate_protocol(dev_s, dev_l, test_s, test_l, criterion="far", target=0.1, **kw)
    assert r.threshold == M.far_threshold(s.attacks, s.bona_fide, 0.1) and r.target == 0.1
    r = M.evaluate_protocol(dev_s, dev_l, test_s, test_l, criterion="apcer", target=0.05, **kw)
    assert r.threshold == M.apcer_threshold(s.attacks_by_species, 0.05)
    r = M.evaluate_protocol(dev_s, dev_l, test_s, test_l, criterion="min-hter", **kw)
    assert r.threshold == M.min_hter_threshold(s.attacks, s.bona_fide)
    r = M.evaluate_protocol(None, None, test_s, test_l, threshold=1.0, **kw)
    assert r.criterion == "fixed" and r.threshold == 1.0 and r.dev_eer is None
    for bad in (
        dict(criterion="far"),
        dict(criterion="apcer", target=2.0),
        dict(criterion="roc"),
    ):
        with pytest.raises(ConfigurationError):
            M.evaluate_protocol(dev_s, dev_l, test_s, test_l, **bad)
    with pytest.raises(ConfigurationError):
        M.evaluate_protocol(None, None, test_s, test_l)
    with pytest.raises(ConfigurationError):
        M.evaluate_protocol(dev_s, None, test_s, test_l)
    with pytest.raises(EmptyScoresError, match="test set: no attack"):
        M.evaluate_protocol(dev_s, dev_l, [0.1, 0.2], ["bona_fide"] * 2)
    with pytest.raises(EmptyScoresError, match="dev set: no bona fide"):
        M.evaluate_protocol([0.1, 0.2], [0, 0], test_s, test_l)
