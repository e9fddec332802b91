"""Adaptation of a trained liveness model to a deployer's own captures.

No liveness test generalises from one source of captures to another; the classical tests'
strength is that a few hundred labelled captures of the deployment teach them the deployment.
:func:`adapt` refits a :class:`~iqa_liveness.modelio.LivenessModel` on such captures, in one of
three modes:

``"threshold"``
    Only the threshold of the model's final score (the fusion, or its single test) is refitted.
``"fusion"``
    The fusion weights and the threshold are refitted; the tests are kept as trained.
``"retrain"``
    The classical tests (LDA, SVM) are retrained on the deployer's captures, then the fusion
    and the threshold. Deep tests (external scores, e.g. an ONNX network) are never retrained.

Fusion weights
--------------
Fusion weights are kept non-negative: every test's score is oriented "higher = more bona
fide", so a negative weight can only come from over-fitting a few capture groups (measured on
the NUAA session proxy: with two subjects per class in the captures, a negative weight on the
texture test flipped its retrained scores and sent the fused HTER to 50 %). A test that gets a
negative weight is left out of the fusion (weight 0) and the fusion refitted on the others.

The out-of-fold rule
--------------------
Everything fitted on the deployer's captures is fitted on *out-of-fold* scores, with folds
drawn by capture group (:func:`~iqa_liveness.classifiers.make_splits` with the groups): the
score a sample gives to the fusion or to the threshold comes from a model that did not see that
sample's group. No score that saw its own label reaches the fusion or the threshold.

Error rates and their uncertainty
---------------------------------
The reported rates are cross-validated: the out-of-fold final scores of each fold are judged
with the threshold calibrated (EER) on the other folds' out-of-fold scores, so neither the
model nor the threshold saw the samples they are judged on. Their confidence intervals come
from a group-wise bootstrap (groups resampled with replacement, ``n_boot`` times, percentile
interval): with a few hundred captures from a few dozen groups the interval, not the point
estimate, is the message.

Minimum sample size
-------------------
:data:`MIN_SAMPLES_PER_CLASS` samples and :data:`MIN_GROUPS_PER_CLASS` capture groups per class
(50 and 5): below either, the report carries a warning (and :func:`adapt` emits a
:class:`AdaptationWarning`). With 50 samples of a class the 95 % interval of an error rate of
5 % is about 1 % to 14 % even for independent samples; with fewer groups than folds the
out-of-fold scores cannot be group-disjoint.

Source data
-----------
``retrain`` may keep the source (original training) data in the training set with
``source_weight``: a stratified random subsample of the source data of ``source_weight`` times
the number of target training samples joins every training fold (it is never scored, so never
reaches the fusion or the threshold). The default, 0 (target captures only), is the measured
choice: see ``docs/deep_tests.md`` (mixing all of NUAA naively made the cross-source error
worse).
"""

from __future__ import annotations

import csv
import json
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import clone

from .classifiers import calibrate_threshold, make_splits
from .errors import ConfigurationError, InvalidDataError
from .modelio import LivenessModel, Member

__all__ = [
    "MODES",
    "MIN_SAMPLES_PER_CLASS",
    "MIN_GROUPS_PER_CLASS",
    "AdaptationWarning",
    "AdaptationReport",
    "adapt",
    "adapt_features",
    "read_groups_csv",
    "external_columns",
    "cv_threshold_rates",
    "bootstrap_rates",
    "train_fused_model",
]

Mode = Literal["threshold", "fusion", "retrain"]
MODES: tuple[str, ...] = ("threshold", "fusion", "retrain")
#: Fewer samples of a class than this in the deployer's captures: a warning.
MIN_SAMPLES_PER_CLASS = 50
#: Fewer capture groups of a class than this: a warning.
MIN_GROUPS_PER_CLASS = 5


class AdaptationWarning(UserWarning):
    """The deployer's captures are too few for trustworthy adaptation (see module doc)."""


# --------------------------------------------------------------------------------------------
# error rates: cross-validated threshold, group-wise bootstrap
# --------------------------------------------------------------------------------------------
def _rates(accept: NDArray[np.bool_], y01: NDArray[Any]) -> tuple[float, float, float]:
    neg, pos = y01 == 0, y01 == 1
    far = float(accept[neg].mean()) if neg.any() else math.nan
    frr = float((~accept[pos]).mean()) if pos.any() else math.nan
    return far, frr, (far + frr) / 2.0


def cv_threshold_rates(
    scores: ArrayLike,
    y01: ArrayLike,
    folds: Sequence[tuple[NDArray[np.intp], NDArray[np.intp]]],
) -> tuple[NDArray[np.bool_], dict[str, float]]:
    """Decisions and FAR/FRR/HTER with a cross-validated EER threshold.

    Each fold's samples are accepted when their score reaches the EER threshold of the other
    folds' scores. Returns the decisions (True = accepted as bona fide) and the rates.

    Examples
    --------
    >>> s = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9, 0.15, 0.85])
    >>> y = np.array([0, 0, 0, 1, 1, 1, 0, 1])
    >>> folds = [(np.arange(4, 8), np.arange(0, 4)), (np.arange(0, 4), np.arange(4, 8))]
    >>> cv_threshold_rates(s, y, folds)[1]
    {'far': 0.0, 'frr': 0.0, 'hter': 0.0}
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(y01)
    accept = np.zeros(s.size, dtype=bool)
    for tr, te in folds:
        t, _ = calibrate_threshold(s[tr], y[tr])
        accept[te] = s[te] >= t
    far, frr, hter = _rates(accept, y)
    return accept, {"far": far, "frr": frr, "hter": hter}


def bootstrap_rates(
    accept: ArrayLike,
    y01: ArrayLike,
    groups: ArrayLike,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, tuple[float, float]]:
    """Group-wise bootstrap percentile intervals of FAR, FRR and HTER of fixed decisions.

    Groups are drawn with replacement (as many as there are); all samples of a drawn group
    enter. Resamples lacking a class are redrawn (at most ``10 n_boot`` draws in all).

    Examples
    --------
    >>> acc = np.array([True, False, True, True, False, False])
    >>> y = np.array([1, 1, 1, 0, 0, 0])
    >>> ci = bootstrap_rates(acc, y, groups=[1, 2, 3, 1, 2, 3], n_boot=200)
    >>> ci["frr"][0] <= 1 / 3 <= ci["frr"][1]
    True
    """
    acc = np.asarray(accept, dtype=bool)
    y = np.asarray(y01)
    g = np.asarray(groups)
    if not 0 < confidence < 1:
        raise ConfigurationError(f"confidence must lie in (0, 1), got {confidence}")
    uniq, inv = np.unique(g, return_inverse=True)
    k = uniq.size
    # per group: attacks accepted, attacks, bona fide rejected, bona fide
    fa = np.bincount(inv, weights=(acc & (y == 0)), minlength=k)
    na = np.bincount(inv, weights=(y == 0), minlength=k)
    fr = np.bincount(inv, weights=(~acc & (y == 1)), minlength=k)
    nb = np.bincount(inv, weights=(y == 1), minlength=k)
    rng = np.random.default_rng(seed)
    out: dict[str, list[float]] = {"far": [], "frr": [], "hter": []}
    tries = 0
    while len(out["far"]) < n_boot and tries < 10 * n_boot:
        tries += 1
        c = np.bincount(rng.integers(0, k, k), minlength=k)
        a, b = float(c @ na), float(c @ nb)
        if a == 0 or b == 0:
            continue
        far, frr = float(c @ fa) / a, float(c @ fr) / b
        out["far"].append(far)
        out["frr"].append(frr)
        out["hter"].append((far + frr) / 2)
    if not out["far"]:
        return {key: (math.nan, math.nan) for key in out}
    lo, hi = 100 * (1 - confidence) / 2, 100 * (1 + confidence) / 2
    return {
        key: (float(np.percentile(v, lo)), float(np.percentile(v, hi))) for key, v in out.items()
    }


# --------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------
@dataclass
class AdaptationReport:
    """What :func:`adapt` did and how sure its numbers are.

    Attributes
    ----------
    mode : str
    counts : dict
        Samples per class (``bona_fide``, ``attack``).
    groups : dict
        Capture groups per class, and ``total``.
    samples_per_group : dict
        ``{group: {"bona_fide": n, "attack": n}}``.
    rates : dict
        Cross-validated ``far``, ``frr``, ``hter`` of the adapted model on the deployer's
        captures (see the module doc), and per test under ``tests``.
    intervals : dict
        ``{rate: (low, high)}``: group-wise bootstrap percentile interval at ``confidence``.
    threshold : float
        The adapted model's threshold.
    weights : dict
        Fusion weight of each test (fused models).
    warnings : list of str
        Sample-size warnings.
    n_failed : int
        Samples of the feature store that could not be extracted (no face, unreadable...):
        not used; set by :func:`adapt_features`.
    """

    mode: str
    counts: dict[str, int]
    groups: dict[str, int]
    samples_per_group: dict[str, dict[str, int]]
    rates: dict[str, Any]
    intervals: dict[str, tuple[float, float]]
    threshold: float
    confidence: float = 0.95
    n_boot: int = 1000
    n_splits: int = 5
    source_weight: float = 0.0
    weights: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    n_failed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["intervals"] = {k: list(v) for k, v in self.intervals.items()}
        return d

    def summary(self) -> str:
        """Human-readable lines for the command line."""
        pct = 100 * self.confidence

        def r(name: str) -> str:
            lo, hi = self.intervals.get(name, (math.nan, math.nan))
            return f"{100 * self.rates[name]:.2f} % ({pct:.0f} % CI {100 * lo:.2f}-{100 * hi:.2f})"

        lines = [
            f"adapt ({self.mode}): {self.counts['bona_fide']} bona fide and "
            f"{self.counts['attack']} attack samples in {self.groups['total']} capture groups "
            f"({self.groups['bona_fide']} with bona fide, {self.groups['attack']} with attacks)",
            f"cross-validated on the captures ({self.n_splits} group folds): "
            f"FAR {r('far')}, FRR {r('frr')}, HTER {r('hter')}",
            f"threshold {self.threshold:.6g}",
        ]
        if self.n_failed:
            lines.insert(
                1, f"{self.n_failed} captures failed extraction and were not used (see the store)"
            )
        per = self.samples_per_group
        if len(per) <= 30:
            items = ", ".join(f"{g} {c['bona_fide']}/{c['attack']}" for g, c in per.items())
            lines.append(f"samples per group (bona fide/attack): {items}")
        else:
            sizes = np.array([c["bona_fide"] + c["attack"] for c in per.values()])
            lines.append(
                f"samples per group: min {sizes.min()}, median {np.median(sizes):g}, "
                f"max {sizes.max()} ({len(per)} groups; all in the JSON report)"
            )
        for name, t in self.rates.get("tests", {}).items():
            lines.append(f"  test {name}: HTER {100 * t['hter']:.2f} %")
        if self.weights:
            w = ", ".join(f"{k} {v:.4g}" for k, v in self.weights.items())
            lines.append(f"fusion weights: {w}")
        lines += [f"WARNING: {w}" for w in self.warnings]
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------------
def read_groups_csv(
    path: str | os.PathLike[str], sample_ids: Sequence[str]
) -> NDArray[np.object_]:
    """Capture group of each sample from a ``path,group`` CSV file.

    ``path`` is relative to the target root, as the sample ids of the dataset managers; a video
    frame (id ``path#i`` or ``path<suffix>#i``) takes the group of its file. Every sample must
    have a group.

    Raises
    ------
    ConfigurationError
        Missing columns, duplicate paths or samples without a group.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None or not {"path", "group"} <= set(reader.fieldnames):
                raise ConfigurationError(f"{path}: needs a header with 'path' and 'group'")
            table: dict[str, str] = {}
            for row in reader:
                key = (row["path"] or "").strip().replace("\\", "/").lstrip("./")
                if key in table:
                    raise ConfigurationError(f"{path}: path {key!r} given twice")
                if key:
                    table[key] = (row["group"] or "").strip()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the groups file {path}: {exc}") from exc
    out = []
    missing = []
    for sid in sample_ids:
        sid = str(sid)
        base = sid.split("#", 1)[0]
        hit = table.get(sid, table.get(base))
        if hit is None:
            hit = next((g for p, g in table.items() if base.startswith(p)), None)
        if hit is None or hit == "":
            missing.append(sid)
        out.append(hit)
    if missing:
        raise ConfigurationError(
            f"{path}: {len(missing)} samples have no group (e.g. {missing[:3]!r})"
        )
    return np.asarray(out, dtype=object)


def external_columns(model: LivenessModel, feature_names: Sequence[str]) -> dict[str, int]:
    """Column index in ``feature_names`` of each external test of the model's fusion.

    An external test named ``N`` reads the column given in ``feature_config["external_tests"]
    [N]["column"]``, else the column named ``N``, else the one column ending in ``__N`` (the
    combined score of a deep test stored by :class:`~iqa_liveness.deep.DeepFeatures`).
    """
    names = [str(n) for n in feature_names]
    index = {n: i for i, n in enumerate(names)}
    given = dict(model.feature_config.get("external_tests", {}) or {})
    out = {}
    for test in model.external_tests:
        col = (given.get(test) or {}).get("column")
        if col in index:
            out[test] = index[col]
            continue
        if test in index:
            out[test] = index[test]
            continue
        hits = [i for i, n in enumerate(names) if n.endswith(f"__{test}")]
        if len(hits) != 1:
            raise ConfigurationError(
                f"no unique feature column for external test {test!r} "
                f"({len(hits)} columns end in '__{test}')"
            )
        out[test] = hits[0]
    return out


def _columns(names: Sequence[str], wanted: Sequence[str]) -> NDArray[np.intp]:
    index = {str(n): i for i, n in enumerate(names)}
    absent = [w for w in wanted if w not in index]
    if absent:
        raise ConfigurationError(
            f"the features lack {len(absent)} columns the model reads (e.g. {absent[:3]!r})"
        )
    return np.array([index[w] for w in wanted], dtype=np.intp)


# --------------------------------------------------------------------------------------------
# adaptation
# --------------------------------------------------------------------------------------------
def _labels(est: Any, y01: NDArray[Any]) -> NDArray[Any]:
    """0/1 labels in the label set the fitted estimator ``est`` was trained with."""
    classes, pos = est.classes_, est._pos
    return np.where(y01 == 1, classes[pos], classes[1 - pos])


def _fit_member(est: Any, X: NDArray[np.float64], y01: NDArray[Any], g: Any) -> Any:
    """A clone of the fitted ``est`` fitted (scores only, no threshold) on ``X``."""
    e = clone(est)
    try:
        e._fit_uncalibrated(X, _labels(est, y01), g)
    except InvalidDataError:
        # an SVM's inner grid search needs group folds holding both classes; with few
        # groups of a class there are none, and the grid search falls back to stratified folds
        e = clone(est)
        e._fit_uncalibrated(X, _labels(est, y01), None)
    return e


def _fit_fusion_nonneg(proto: Any, S: NDArray[np.float64], labels: NDArray[Any], g: Any) -> Any:
    """Fit (without threshold) a clone of the fusion ``proto`` with non-negative weights.

    Every test's score is oriented "higher = more bona fide", so a negative fusion weight can
    only come from over-fitting a few capture groups; a test that gets one is left out (weight
    0: the most negative first) and the fusion refitted on the others.
    """
    names = tuple(proto.test_names)
    keep = np.ones(S.shape[1], dtype=bool)
    while True:
        sub = clone(proto).set_params(test_names=tuple(n for n, k in zip(names, keep) if k))
        sub._fit_uncalibrated(S[:, keep], labels, g)
        if np.all(sub.coef_ >= 0) or keep.sum() == 1:
            break
        keep[np.flatnonzero(keep)[int(np.argmin(sub.coef_))]] = False
    full = clone(proto)
    full._fit_uncalibrated(S, labels, g)  # bookkeeping (classes, impute values, names)
    if not keep.all():
        mean, scale, coef = np.zeros(S.shape[1]), np.ones(S.shape[1]), np.zeros(S.shape[1])
        mean[keep], scale[keep], coef[keep] = sub.mean_, sub.scale_, sub.coef_
        full.mean_, full.scale_, full.coef_, full.intercept_ = mean, scale, coef, sub.intercept_
    return full


def _source_subsample(
    y_src: NDArray[Any], n_target: int, weight: float, rng: np.random.Generator
) -> NDArray[np.intp]:
    """Stratified random subsample of ``round(weight * n_target)`` source rows (all if more)."""
    n = int(round(weight * n_target))
    if n <= 0:
        return np.zeros(0, dtype=np.intp)
    if n >= y_src.size:
        return np.arange(y_src.size)
    picks = []
    for c in np.unique(y_src):
        idx = np.flatnonzero(y_src == c)
        k = int(round(n * idx.size / y_src.size))
        picks.append(rng.choice(idx, size=min(k, idx.size), replace=False))
    return np.sort(np.concatenate(picks)).astype(np.intp)


def train_fused_model(
    X: ArrayLike,
    y: ArrayLike,
    feature_names: Sequence[str],
    tests: Mapping[str, Any],
    groups: ArrayLike | None = None,
    n_splits: int = 5,
    feature_config: Mapping[str, Any] | None = None,
    training_data: Mapping[str, Any] | None = None,
) -> LivenessModel:
    """Train tests and their fusion on one training set (e.g. the source data).

    Parameters
    ----------
    X, y, feature_names
        Features (columns named ``feature_names``, e.g. a whole feature store) and labels.
    tests : mapping
        Test name to either ``(estimator, columns)`` for a classical test (an unfitted
        :class:`~iqa_liveness.classifiers.ShrinkageLDA` or
        :class:`~iqa_liveness.classifiers.LibSVMClassifier`; ``columns`` a list of feature
        names or a prefix such as ``"quality__"``), or a column name (str) for an external
        test whose score is a stored feature (a deep test: never trained here).
    groups : array, optional
        Subject (capture group) of each sample: subject-wise out-of-fold scores.

    Each classical test is fitted on all of ``X`` with its threshold from its out-of-fold
    scores; with several tests, a :class:`~iqa_liveness.fusion.ScoreFusion` is fitted on the
    tests' out-of-fold scores (and the external tests' scores), its threshold calibrated on
    its own out-of-fold scores.

    Examples
    --------
    >>> from iqa_liveness.classifiers import ShrinkageLDA
    >>> rng = np.random.default_rng(0)
    >>> y = np.r_[np.zeros(40, int), np.ones(40, int)]
    >>> X = np.c_[y + rng.normal(0, 1, 80), y + rng.normal(0, 1, 80), 2 * y + rng.normal(0, 1, 80)]
    >>> m = train_fused_model(X, y, ["a__1", "a__2", "cnn__cnn"],
    ...                       {"a-lda": (ShrinkageLDA(), "a__"), "cnn": "cnn__cnn"})
    >>> m.fusion.test_names_, m.external_tests
    (('a-lda', 'cnn'), ('cnn',))
    """
    from .classifiers import out_of_fold_scores
    from .fusion import ScoreFusion

    Xa = np.asarray(X, dtype=np.float64)
    ya = np.asarray(y)
    names = [str(n) for n in feature_names]
    members, cols, external = [], {}, {}
    for name, spec in tests.items():
        if isinstance(spec, str):
            idx = _columns(names, [spec])
            external[name] = {"column": spec}
            cols[name] = Xa[:, idx[0]]
            continue
        est, which = spec
        feats = [n for n in names if n.startswith(which)] if isinstance(which, str) else list(which)
        if not feats:
            raise ConfigurationError(f"test {name!r}: no feature column matches {which!r}")
        block = Xa[:, _columns(names, feats)]
        fitted = clone(est).fit(block, ya, groups=groups)
        members.append(Member(name, fitted, tuple(feats)))
        if len(tests) > 1:
            cols[name] = out_of_fold_scores(est, block, ya, groups, n_splits)
    if not members:
        raise ConfigurationError("a model needs at least one classical test")
    fusion = None
    if len(tests) > 1:
        order = tuple(tests)
        S = np.column_stack([cols[n] for n in order])
        fusion = ScoreFusion(test_names=order, n_splits=n_splits).fit(S, ya, groups=groups)
        if np.any(fusion.coef_ < 0):  # non-negative weights, as in adapt
            y01 = np.where(ya == fusion.classes_[fusion._pos], 1, 0)
            oof = np.full(ya.size, np.nan)
            g = None if groups is None else np.asarray(groups)
            fitted = _fit_fusion_nonneg(fusion, S, ya, g)
            folds = make_splits(y01, g, n_splits)
            if folds is None:  # too few groups: resubstitution, as ScoreFusion.fit does
                oof = fitted.score_samples(S)
            for tr, te in folds or []:
                f = _fit_fusion_nonneg(fusion, S[tr], ya[tr], None if g is None else g[tr])
                oof[te] = f.score_samples(S[te])
            fitted._set_threshold(oof, y01, "out-of-fold training scores (non-negative "
                                  "weights)")
            fusion = fitted
    config = dict(feature_config or {})
    if external:
        config["external_tests"] = external
    used = sorted({f for m in members for f in m.features}, key=names.index)
    return LivenessModel(
        feature_config=config,
        feature_names=tuple(used),
        members=tuple(members),
        fusion=fusion,
        training_data=dict(training_data or {}),
    )


def adapt(
    model: LivenessModel,
    X: ArrayLike,
    y: ArrayLike,
    groups: ArrayLike | None = None,
    mode: Mode = "threshold",
    *,
    feature_names: Sequence[str] | None = None,
    source: tuple[ArrayLike, ArrayLike] | None = None,
    source_weight: float = 0.0,
    n_splits: int = 5,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[LivenessModel, AdaptationReport]:
    """Adapt ``model`` to the deployer's labelled captures ``X``, ``y``.

    Parameters
    ----------
    model : LivenessModel
        The model to adapt (unchanged; a new model is returned).
    X : array of shape (n_samples, n_columns)
        Features of the captures. Columns are the model's ``feature_names`` in order, or are
        named by ``feature_names`` (e.g. a whole feature store, deep-test scores included).
    y : array
        1 (or ``"bona_fide"``) for bona fide, 0 (or ``"attack"``) for attacks.
    groups : array, optional
        Capture group of each sample (subject, session, device: whatever makes captures
        alike). Default: each sample its own group (then the folds are not group-disjoint:
        a warning).
    mode : {"threshold", "fusion", "retrain"}
        See the module doc.
    feature_names : sequence of str, optional
        Names of the columns of ``X`` (required when the model has external tests).
    source : (X_source, y_source), optional
        Source training data (columns as ``X``) for ``retrain`` with ``source_weight`` > 0.
    source_weight : float
        Size of the source subsample joining each training fold, relative to the target
        training samples (0: target only, the default).
    n_splits : int
        Group folds of the out-of-fold scores.
    n_boot, confidence, seed
        Group-wise bootstrap of the reported rates.

    Returns
    -------
    model : LivenessModel
        The adapted model (deep tests unchanged).
    report : AdaptationReport

    Examples
    --------
    >>> from iqa_liveness.classifiers import ShrinkageLDA
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (60, 2)), rng.normal(2, 1, (60, 2))]
    >>> y = np.r_[np.zeros(60, int), np.ones(60, int)]
    >>> m = LivenessModel.single(ShrinkageLDA().fit(X, y), ["f1", "f2"])
    >>> new, report = adapt(m, X + 1.0, y, groups=np.arange(120) % 12, mode="retrain")
    >>> report.counts, report.groups["total"], bool(report.rates["hter"] < 0.25)
    ({'bona_fide': 60, 'attack': 60}, 12, True)
    """
    if mode not in MODES:
        raise ConfigurationError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if not source_weight >= 0:
        raise ConfigurationError(f"source_weight must be >= 0, got {source_weight}")
    Xa = np.asarray(X, dtype=np.float64)
    if Xa.ndim != 2:
        raise InvalidDataError(f"X must be 2-D, got shape {Xa.shape}")
    names = list(model.feature_names) if feature_names is None else [str(n) for n in feature_names]
    if len(names) != Xa.shape[1]:
        raise ConfigurationError(f"{len(names)} feature names for {Xa.shape[1]} columns")
    ya = np.asarray(y)
    y01 = np.array([v == 1 or v == "bona_fide" for v in ya.tolist()], dtype=np.int64)
    if ya.shape[0] != Xa.shape[0]:
        raise InvalidDataError(f"X has {Xa.shape[0]} rows, y has {ya.shape[0]}")
    if not np.all(np.isfinite(Xa)):
        raise InvalidDataError("the features contain NaN or inf")
    no_groups = groups is None
    g = np.arange(Xa.shape[0]).astype(str) if no_groups else np.asarray(groups).astype(str)
    if g.shape[0] != Xa.shape[0]:
        raise InvalidDataError(f"groups has {g.shape[0]} entries for {Xa.shape[0]} samples")
    counts = {"bona_fide": int(y01.sum()), "attack": int((y01 == 0).sum())}
    if min(counts.values()) == 0:
        raise InvalidDataError("adaptation needs captures of both bona fide and attacks")
    ngroups = {
        "bona_fide": int(np.unique(g[y01 == 1]).size),
        "attack": int(np.unique(g[y01 == 0]).size),
        "total": int(np.unique(g).size),
    }
    per_group: dict[str, dict[str, int]] = {}
    for gi, yi in zip(g.tolist(), y01.tolist()):
        d = per_group.setdefault(gi, {"bona_fide": 0, "attack": 0})
        d["bona_fide" if yi else "attack"] += 1
    notes = []
    for cls in ("bona_fide", "attack"):
        if counts[cls] < MIN_SAMPLES_PER_CLASS:
            notes.append(
                f"only {counts[cls]} {cls} samples (minimum {MIN_SAMPLES_PER_CLASS}): the error "
                "rates are very uncertain"
            )
        if ngroups[cls] < MIN_GROUPS_PER_CLASS:
            notes.append(
                f"only {ngroups[cls]} capture groups with {cls} samples (minimum "
                f"{MIN_GROUPS_PER_CLASS}): out-of-fold scores cannot be group-disjoint enough"
            )
    if no_groups:
        notes.append(
            "no capture groups given: each sample is its own group, so captures of one "
            "subject or session fall in several folds and the rates are optimistic"
        )
    for n in notes:
        warnings.warn(n, AdaptationWarning, stacklevel=2)
    folds = make_splits(y01, g, n_splits)
    if folds is None:
        raise InvalidDataError("too few capture groups for out-of-fold scores (need >= 2)")
    rng = np.random.default_rng(seed)

    # -- scores of every test for every sample, out of fold when the test is (re)fitted here
    ext = external_columns(model, names) if model.fusion is not None else {}
    blocks = {m.name: Xa[:, _columns(names, m.features)] for m in model.members}
    if mode == "retrain":
        if source is not None and source_weight > 0:
            Xs = np.asarray(source[0], dtype=np.float64)
            ys_raw = np.asarray(source[1])
            ys = np.array([v == 1 or v == "bona_fide" for v in ys_raw.tolist()], np.int64)
            if Xs.shape[1] != Xa.shape[1]:
                raise ConfigurationError("source features have other columns than X")
            src_blocks = {m.name: Xs[:, _columns(names, m.features)] for m in model.members}
        else:
            ys = np.zeros(0, np.int64)
            src_blocks = {m.name: np.zeros((0, len(m.features))) for m in model.members}
        oof = {}
        for m in model.members:
            s = np.full(Xa.shape[0], np.nan)
            for tr, te in folds:
                pick = _source_subsample(ys, tr.size, source_weight, rng)
                Xt = np.vstack([blocks[m.name][tr], src_blocks[m.name][pick]])
                yt = np.r_[y01[tr], ys[pick]]
                gt = np.r_[g[tr], np.array([f"source:{i}" for i in pick], dtype=object)]
                est = _fit_member(m.estimator, Xt, yt, gt)
                s[te] = est.score_samples(blocks[m.name][te])
            oof[m.name] = s
        test_scores = oof
    else:
        test_scores = {m.name: m.estimator.score_samples(blocks[m.name]) for m in model.members}
    for name, col in ext.items():
        test_scores[name] = Xa[:, col]

    # -- the final score, out of fold when the fusion is fitted here
    fusion_names = model.fusion.test_names_ if model.fusion is not None else None
    if model.fusion is not None and mode in ("fusion", "retrain"):
        assert fusion_names is not None
        S = np.column_stack([test_scores[n] for n in fusion_names])
        final = np.full(Xa.shape[0], np.nan)
        proto = clone(model.fusion).set_params(test_names=tuple(fusion_names))
        proto.classes_, proto._pos = model.fusion.classes_, model.fusion._pos  # for _labels
        for tr, te in folds:
            f = _fit_fusion_nonneg(proto, S[tr], _labels(proto, y01[tr]), g[tr])
            final[te] = f.score_samples(S[te])
    elif model.fusion is not None:
        assert fusion_names is not None
        S = np.column_stack([test_scores[n] for n in fusion_names])
        final = model.fusion.score_samples(S)
    else:
        final = test_scores[model.members[0].name]

    # -- reported rates: cross-validated threshold, group bootstrap
    accept, final_rates = cv_threshold_rates(final, y01, folds)
    intervals = bootstrap_rates(accept, y01, g, n_boot, confidence, seed)
    rates: dict[str, Any] = dict(final_rates)
    per_test = {}
    for name, s in test_scores.items():
        _, r = cv_threshold_rates(s, y01, folds)
        per_test[name] = r
    rates["tests"] = per_test

    # -- the adapted model
    members = list(model.members)
    if mode == "retrain":
        new_members = []
        for m in model.members:
            pick = _source_subsample(ys, Xa.shape[0], source_weight, rng)
            Xt = np.vstack([blocks[m.name], src_blocks[m.name][pick]])
            yt = np.r_[y01, ys[pick]]
            gt = np.r_[g, np.array([f"source:{i}" for i in pick], dtype=object)]
            est = _fit_member(m.estimator, Xt, yt, gt)
            est._set_threshold(oof[m.name], y01, _SRC)
            new_members.append(Member(m.name, est, m.features))
        members = new_members
    fusion = model.fusion
    if fusion is not None and mode in ("fusion", "retrain"):
        assert fusion_names is not None
        fusion = _fit_fusion_nonneg(proto, S, _labels(proto, y01), g)
        fusion._set_threshold(final, y01, _SRC)
    elif fusion is not None:
        fusion = _recalibrated(fusion, final, y01)
    if mode != "retrain":  # each test's own threshold, on its (never fitted here) scores
        members = [
            Member(m.name, _recalibrated(m.estimator, test_scores[m.name], y01), m.features)
            for m in members
        ]
    training = dict(model.training_data)
    training["adaptation"] = {
        "mode": mode,
        "counts": counts,
        "groups": ngroups,
        "source_weight": float(source_weight),
        "cv_hter": rates["hter"],
        "cv_hter_interval": list(intervals["hter"]),
    }
    new = replace(model, members=tuple(members), fusion=fusion, training_data=training,
                  created="")
    weights = {}
    if fusion is not None:
        weights = {n: float(w) for n, w in zip(fusion.test_names_, fusion.weights_)}
    report = AdaptationReport(
        mode=mode,
        counts=counts,
        groups=ngroups,
        samples_per_group=per_group,
        rates=rates,
        intervals=intervals,
        threshold=new.threshold,
        confidence=confidence,
        n_boot=n_boot,
        n_splits=len(folds),
        source_weight=float(source_weight),
        weights=weights,
        warnings=notes,
    )
    return new, report


_SRC = "adapt: out-of-fold scores of the deployer's captures (capture-group k-fold)"


def _recalibrated(est: Any, scores: NDArray[np.float64], y01: NDArray[Any]) -> Any:
    """A copy of a fitted estimator with its threshold refitted on ``scores``."""
    import copy

    e = copy.deepcopy(est)
    e._set_threshold(scores, y01, _SRC)
    return e


def adapt_features(
    model: LivenessModel,
    features: str | os.PathLike[str] | Any,
    groups: str | os.PathLike[str] | ArrayLike | None = None,
    mode: Mode = "threshold",
    *,
    source_features: str | os.PathLike[str] | Any | None = None,
    **kwargs: Any,
) -> tuple[LivenessModel, AdaptationReport]:
    """:func:`adapt` on a feature store (path or :class:`~iqa_liveness.store.FeatureSet`).

    ``groups`` is a ``path,group`` CSV file (:func:`read_groups_csv`), an array, or None: the
    samples' ``subject`` metadata then (each sample its own group when it has none).
    The adapted model's ``working_size`` is the store's resolution (root attributes
    ``image_width``, ``image_height``, written by ``extract``) when it records one: everything
    adapted was fitted on features at that scale.
    """
    from .store import FeatureSet, read_features

    fs = features if isinstance(features, FeatureSet) else read_features(features)
    if groups is None:
        subj = fs.metadata["subject"].astype(str)
        g: Any = None if np.any(subj == "") else subj
    elif isinstance(groups, (str, os.PathLike)):
        g = read_groups_csv(groups, fs.sample_id.tolist())
    else:
        g = np.asarray(groups)
    source = None
    if source_features is not None:
        sfs = (
            source_features
            if isinstance(source_features, FeatureSet)
            else read_features(source_features)
        )
        cols = _columns(sfs.feature_names, fs.feature_names)
        source = (sfs.X[:, cols], sfs.y)
    new, report = adapt(model, fs.X, fs.y, g, mode, feature_names=fs.feature_names,
                        source=source, **kwargs)
    # thresholds, weights and classifiers were all fitted on the captures' features at their
    # own resolution: predict must bring inputs to that one, not to the source's
    w, h = fs.attrs.get("image_width"), fs.attrs.get("image_height")
    if w and h:
        new = replace(new, working_size=(int(h), int(w)))
    report.n_failed = len(fs.failed.get("sample_id", ()))
    return new, report


def report_json(report: AdaptationReport) -> str:
    """The report as JSON text."""
    return json.dumps(report.to_dict(), indent=1, sort_keys=True, allow_nan=True)
