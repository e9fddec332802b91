"""Error rates, thresholds and the evaluation protocol of presentation attack detection.

Conventions (those of bob.measure and ISO/IEC 30107-3):

* a higher score means *more bona fide*;
* a sample is accepted as bona fide when ``score >= threshold``;
* ``negatives`` are attack scores, ``positives`` are bona fide scores;
* ``FAR(t) = #{negatives >= t} / N`` and ``FRR(t) = #{positives < t} / P``;
  ``HTER = (FAR + FRR) / 2``.

Threshold rules (identical to bob.measure 6.1.1; checked against its numbers in the tests):

* :func:`eer_threshold`, :func:`min_hter_threshold` and
  :func:`min_weighted_error_rate_threshold` sweep the candidate thresholds "lowest score", then the
  midpoint between each pair of consecutive *distinct* merged scores. Among candidates with the
  same criterion value the **last (highest)** one is kept. The sweep of bob.measure stops at the
  first candidate where one class has no score left above it; that candidate and the candidate
  "above every score" (FAR = 0, FRR = 1) only replace the best one when *strictly* better. The
  criterion is evaluated from exact integer counts (bob accumulates ``1/N`` steps in floating
  point; on ties that rounding could differ, exact counts cannot).
* :func:`far_threshold` returns the lowest *attack score* ``t`` with ``FAR(t) <= far_value``
  (the smallest double above the highest attack score when no score qualifies, i.e. FAR = 0).
* :func:`frr_threshold` returns the highest *bona fide score* ``t`` with ``FRR(t) <= frr_value``.

Every threshold function sorts once and uses ``numpy.searchsorted``: O(n log n) time.

ISO/IEC 30107-3 (as in bob.pad.base): the attack presentation classification error rate
``APCER_PAIS`` is the FAR over the attacks of *one* presentation-attack-instrument species (PAIS),
``APCER = max`` over species, ``BPCER = FRR`` and ``ACER = (APCER + BPCER) / 2``. "BPCER20" is
the BPCER at the threshold where *every* species has APCER <= 5 %.

.. warning::
   Many projects report an APCER *pooled* over all attacks (the FAR of all attack scores
   together). With more than one species that is a different, smaller-or-equal quantity than the
   ISO/IEC 30107-3 APCER computed here; do not compare the two.

Degenerate inputs: empty score arrays raise :class:`~iqa_liveness.errors.EmptyScoresError`,
NaN or infinite scores raise :class:`~iqa_liveness.errors.NonFiniteScoreError`, invalid
parameters raise :class:`~iqa_liveness.errors.ConfigurationError`. When every score is equal, the
EER threshold is that score (accept all: FAR = 1, FRR = 0, EER = 0.5). When the classes are
perfectly separated (every attack score below every bona fide score) the EER and min-HTER
thresholds are the midpoint between the highest attack score and the lowest bona fide score.

References
----------
.. [1] bob.measure 6.1.1, Idiap Research Institute (error.cpp / brute_force thresholds).
.. [2] ISO/IEC 30107-3:2017, Biometric presentation attack detection - Part 3: Testing and
   reporting.
.. [3] A. Martin et al., "The DET curve in assessment of detection task performance",
   Eurospeech 1997.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from .errors import (
    ConfigurationError,
    EmptyScoresError,
    LabelError,
    NonFiniteScoreError,
    ScoreError,
)

__all__ = [
    "farfrr",
    "hter",
    "eer_threshold",
    "eer",
    "min_hter_threshold",
    "min_weighted_error_rate_threshold",
    "far_threshold",
    "frr_threshold",
    "roc_auc",
    "roc_curve",
    "det_curve",
    "probit",
    "RocCurve",
    "DetCurve",
    "apcer_per_species",
    "apcer",
    "bpcer",
    "acer",
    "apcer_threshold",
    "bpcer_at_apcer",
    "BpcerAtApcer",
    "split_scores",
    "SplitScores",
    "evaluate_protocol",
    "ProtocolResult",
    "BONA_FIDE",
    "ATTACK",
]

BONA_FIDE = "bona_fide"
"""Label string of bona fide samples (the dataset contract)."""
ATTACK = "attack"
"""Label string of attack samples (the dataset contract)."""

ArrayLike = npt.ArrayLike
SpeciesScores = Mapping[str, ArrayLike] | ArrayLike
"""Attack scores by species, or one array (then treated as a single species named "attack")."""


# --------------------------------------------------------------------------- validation


def _scores(values: ArrayLike, name: str) -> np.ndarray:
    """A validated 1-D float64 copy of ``values``."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ScoreError(f"{name}: scores must be numbers ({exc})") from None
    if arr.ndim != 1:
        raise ScoreError(f"{name}: scores must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise EmptyScoresError(f"{name}: no scores given")
    if not np.isfinite(arr).all():
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise NonFiniteScoreError(f"{name}: {bad} of {arr.size} scores are NaN or infinite")
    return arr


def _sorted(values: ArrayLike, name: str) -> np.ndarray:
    return np.sort(_scores(values, name), kind="stable")


def _rate_value(value: float, name: str) -> float:
    v = float(value)
    if not (0.0 <= v <= 1.0):  # also rejects NaN
        raise ConfigurationError(f"{name} must be in [0, 1], got {value!r}")
    return v


def _threshold_value(threshold: float) -> float:
    t = float(threshold)
    if math.isnan(t):
        raise ConfigurationError("threshold is NaN")
    return t


def _species(attacks: SpeciesScores, name: str = "attacks") -> dict[str, np.ndarray]:
    """Validated ``{species: scores}``; a plain array becomes the single species "attack"."""
    if isinstance(attacks, Mapping):
        if not attacks:
            raise EmptyScoresError(f"{name}: no attack species given")
        return {str(k): _scores(v, f"{name}[{k!r}]") for k, v in attacks.items()}
    return {ATTACK: _scores(attacks, name)}


# --------------------------------------------------------------------------- counting


def _count_ge(sorted_scores: np.ndarray, t: Any) -> Any:
    """Number of scores >= t (vectorised over t)."""
    return sorted_scores.size - np.searchsorted(sorted_scores, t, side="left")


def _count_lt(sorted_scores: np.ndarray, t: Any) -> Any:
    """Number of scores < t (vectorised over t)."""
    return np.searchsorted(sorted_scores, t, side="left")


# --------------------------------------------------------------------------- single point


def farfrr(negatives: ArrayLike, positives: ArrayLike, threshold: float) -> tuple[float, float]:
    """False acceptance and false rejection rates at a threshold.

    ``FAR = #{negatives >= t} / N`` and ``FRR = #{positives < t} / P``: a score equal to the
    threshold is accepted (a false acceptance for an attack, a correct one for bona fide).

    Parameters
    ----------
    negatives : array_like, shape (N,)
        Attack scores.
    positives : array_like, shape (P,)
        Bona fide scores.
    threshold : float
        Decision threshold (any finite or infinite value, not NaN).

    Returns
    -------
    far, frr : float

    Examples
    --------
    >>> farfrr([0.1, 0.4, 0.6], [0.5, 0.7, 0.9, 0.3], 0.5)
    (0.3333333333333333, 0.25)
    """
    t = _threshold_value(threshold)
    neg = _scores(negatives, "negatives")
    pos = _scores(positives, "positives")
    far = np.count_nonzero(neg >= t) / neg.size
    frr = np.count_nonzero(pos < t) / pos.size
    return float(far), float(frr)


def hter(negatives: ArrayLike, positives: ArrayLike, threshold: float) -> float:
    """Half total error rate ``(FAR + FRR) / 2`` at a threshold.

    Examples
    --------
    >>> hter([0.1, 0.4, 0.6], [0.5, 0.7, 0.9, 0.3], 0.5)
    0.2916666666666667
    """
    far, frr = farfrr(negatives, positives, threshold)
    return (far + frr) / 2.0


# --------------------------------------------------------------------------- sweeps


def _minimizing_threshold(neg: np.ndarray, pos: np.ndarray, criterion: str, cost: float) -> float:
    """Threshold minimising a criterion over the bob.measure candidate sweep.

    ``neg`` and ``pos`` are sorted. State 0 is the lowest score (FAR = 1, FRR = 0); state
    ``k + 1`` is the midpoint after the k-th distinct merged score; the last state (all scores
    consumed: FAR = 0, FRR = 1) uses the smallest double above the highest score.
    """
    n, p = neg.size, pos.size
    u = np.unique(np.concatenate([neg, pos]))
    k = u.size
    thr = np.empty(k + 1)
    thr[0] = u[0]
    thr[1:k] = (u[:-1] + u[1:]) / 2.0
    thr[k] = np.nextafter(u[-1], np.inf)
    fa = np.empty(k + 1, dtype=np.int64)  # false accepts in each state
    fr = np.empty(k + 1, dtype=np.int64)  # false rejects in each state
    fa[0], fr[0] = n, 0
    fa[1:] = n - np.searchsorted(neg, u, side="right")
    fr[1:] = np.searchsorted(pos, u, side="right")

    # bob's loop runs while both classes have scores left: states 0 .. m-1 compete with "<="
    # (the last minimiser wins); state m (the first state where one class is exhausted) and the
    # state "above every score" (state k) only win when strictly better. States between m and
    # k are never evaluated.
    exhausted = (fa == 0) | (fr == p)
    m = int(np.argmax(exhausted))  # >= 1: state 0 has fa = n > 0 and fr = 0 < p
    ev = np.arange(m + 1) if m == k else np.append(np.arange(m + 1), k)
    fa_ev, fr_ev = fa[ev], fr[ev]
    if criterion == "eer":
        # |FAR - FRR| * N * P, exact in (64-bit) integers
        values = np.abs(fa_ev * p - fr_ev * n)
        cand = np.flatnonzero(values == values.min())
        exact = values[cand].tolist()
    else:
        # cost * FAR + (1 - cost) * FRR: floats to find the near-minimal states, then exact
        # rationals for those (cost = a / b exactly, b a power of two) so that ties are ties
        approx = cost * (fa_ev / n) + (1.0 - cost) * (fr_ev / p)
        lo = float(approx.min())
        cand = np.flatnonzero(approx <= lo + 1e-9 * max(1.0, abs(lo)))
        a, b = cost.as_integer_ratio()
        exact = [a * int(fa_ev[i]) * p + (b - a) * int(fr_ev[i]) * n for i in cand.tolist()]
    score = dict(zip(ev[cand].tolist(), exact))
    head = [(v, st) for st, v in score.items() if st < m]
    best, best_value = -1, None
    if head:
        best_value = min(v for v, _ in head)
        best = max(st for v, st in head if v == best_value)
    for st in (m, k):
        if st in score and (best_value is None or score[st] < best_value):
            best, best_value = st, score[st]
    return float(thr[best])


def eer_threshold(negatives: ArrayLike, positives: ArrayLike) -> float:
    """Threshold where FAR and FRR are closest (the equal error rate operating point).

    Minimises ``|FAR(t) - FRR(t)|`` over the candidate sweep described in the module
    docstring; among equal minimisers the highest candidate is kept (bob.measure rule).

    Parameters
    ----------
    negatives, positives : array_like
        Attack and bona fide scores.

    Returns
    -------
    float

    Examples
    --------
    >>> eer_threshold([0.0, 1.0, 2.0], [1.5, 2.5, 3.0])
    1.75
    >>> eer_threshold([0.0, 1.0], [2.0, 3.0])  # separated: midpoint of the gap
    1.5
    """
    neg = _sorted(negatives, "negatives")
    pos = _sorted(positives, "positives")
    return _minimizing_threshold(neg, pos, "eer", 0.5)


def eer(negatives: ArrayLike, positives: ArrayLike) -> float:
    """Equal error rate: ``(FAR + FRR) / 2`` at :func:`eer_threshold` (as bob.measure.eer).

    Examples
    --------
    >>> eer([0.0, 1.0, 2.0], [1.5, 2.5, 3.0])
    0.3333333333333333
    """
    t = eer_threshold(negatives, positives)
    return hter(negatives, positives, t)


def min_weighted_error_rate_threshold(
    negatives: ArrayLike, positives: ArrayLike, cost: float
) -> float:
    """Threshold minimising ``cost * FAR + (1 - cost) * FRR``.

    Parameters
    ----------
    negatives, positives : array_like
        Attack and bona fide scores.
    cost : float in [0, 1]
        Weight of false acceptances (bob.measure clips it; here a value outside raises
        :class:`~iqa_liveness.errors.ConfigurationError`).

    Examples
    --------
    >>> min_weighted_error_rate_threshold([0.0, 1.0, 2.0], [1.5, 2.5, 3.0], 0.5)
    1.25

    (1.25 and 2.25 both give 1/6; 2.25 is where the attack scores run out, which only wins
    when strictly better, as in bob.measure.)
    """
    c = _rate_value(cost, "cost")
    neg = _sorted(negatives, "negatives")
    pos = _sorted(positives, "positives")
    return _minimizing_threshold(neg, pos, "weighted", c)


def min_hter_threshold(negatives: ArrayLike, positives: ArrayLike) -> float:
    """Threshold minimising the HTER (weighted error rate with ``cost = 0.5``).

    Examples
    --------
    >>> min_hter_threshold([0.0, 1.0], [2.0, 3.0])
    1.5
    """
    return min_weighted_error_rate_threshold(negatives, positives, 0.5)


def _far_thresholds(neg: np.ndarray, far_values: np.ndarray) -> np.ndarray:
    """Vectorised :func:`far_threshold` on sorted negatives."""
    u = np.unique(neg)
    rate = _count_ge(neg, u) / neg.size  # FAR at each distinct negative, decreasing
    j = np.searchsorted(-rate, -far_values, side="left")  # first j with rate[j] <= value
    out = np.where(j < u.size, u[np.minimum(j, u.size - 1)], np.nextafter(u[-1], np.inf))
    # bob.measure special case: far_value == 1 gives a threshold below every attack score
    out = np.where(far_values >= 1.0 - np.finfo(float).eps, np.nextafter(u[0], -np.inf), out)
    return out


def _frr_thresholds(pos: np.ndarray, frr_values: np.ndarray) -> np.ndarray:
    """Vectorised :func:`frr_threshold` on sorted positives."""
    u = np.unique(pos)
    rate = _count_lt(pos, u) / pos.size  # FRR at each distinct positive, increasing from 0
    j = np.searchsorted(rate, frr_values, side="right") - 1  # last j with rate[j] <= value
    out = u[j]
    # bob.measure special case: frr_value == 1 gives a threshold above every bona fide score
    out = np.where(frr_values >= 1.0 - np.finfo(float).eps, np.nextafter(u[-1], np.inf), out)
    return out


def far_threshold(negatives: ArrayLike, positives: ArrayLike, far_value: float) -> float:
    """Lowest attack score ``t`` with ``FAR(t) <= far_value``.

    The threshold is a score value, not a midpoint. If even the highest attack score gives a
    FAR above ``far_value`` (e.g. ``far_value = 0``), the smallest double above it is returned
    (FAR = 0). ``far_value = 1`` returns the largest double below the lowest attack score.
    ``positives`` is accepted for symmetry and ignored (it may be empty).

    Parameters
    ----------
    negatives : array_like
        Attack scores.
    positives : array_like
        Ignored.
    far_value : float in [0, 1]

    Examples
    --------
    >>> far_threshold([0.1, 0.2, 0.3, 0.4], [], 0.5)
    0.3
    >>> far_threshold([0.1, 0.2, 0.3, 0.4], [], 0.2)  # one of four would be 0.25 > 0.2
    0.4000000000000001
    """
    v = _rate_value(far_value, "far_value")
    neg = _sorted(negatives, "negatives")
    return float(_far_thresholds(neg, np.array([v]))[0])


def frr_threshold(negatives: ArrayLike, positives: ArrayLike, frr_value: float) -> float:
    """Highest bona fide score ``t`` with ``FRR(t) <= frr_value``.

    The threshold is a score value. ``frr_value = 1`` returns the smallest double above the
    highest bona fide score (bob.measure's special case). ``negatives`` is ignored (may be
    empty). With tied bona fide scores this follows the stated rule exactly; bob.measure
    counts a tied group as if its members were distinct and can return a lower score.

    Examples
    --------
    >>> frr_threshold([], [0.1, 0.2, 0.3, 0.4], 0.5)
    0.3
    >>> frr_threshold([], [0.1, 0.2, 0.3, 0.4], 0.0)
    0.1
    """
    v = _rate_value(frr_value, "frr_value")
    pos = _sorted(positives, "positives")
    return float(_frr_thresholds(pos, np.array([v]))[0])


# --------------------------------------------------------------------------- curves


class RocCurve(NamedTuple):
    """Every operating point of a score set, by increasing threshold."""

    far: np.ndarray
    frr: np.ndarray
    thresholds: np.ndarray


class DetCurve(NamedTuple):
    """DET curve: probit of FAR (x axis) and FRR (y axis) by increasing threshold."""

    x: np.ndarray
    y: np.ndarray
    thresholds: np.ndarray


def roc_curve(negatives: ArrayLike, positives: ArrayLike) -> RocCurve:
    """All distinct operating points ``(FAR, FRR)`` of the scores.

    The thresholds are every distinct score (accept ``score >= t``) plus the smallest double
    above the highest score, so the curve runs from ``(1, 0)`` to ``(0, 1)`` with FAR
    non-increasing and FRR non-decreasing. O(n log n).

    Examples
    --------
    >>> c = roc_curve([0.0, 1.0], [1.0, 2.0])
    >>> c.far.tolist(), c.frr.tolist()
    ([1.0, 0.5, 0.0, 0.0], [0.0, 0.0, 0.5, 1.0])
    """
    neg = _sorted(negatives, "negatives")
    pos = _sorted(positives, "positives")
    u = np.unique(np.concatenate([neg, pos]))
    t = np.append(u, np.nextafter(u[-1], np.inf))
    far = _count_ge(neg, t) / neg.size
    frr = _count_lt(pos, t) / pos.size
    return RocCurve(far, frr, t)


def probit(p: ArrayLike) -> np.ndarray:
    """Normal deviate of a probability (the DET axis scale), rates clipped to [eps, 1 - eps].

    ``probit(0)`` is about -8.13 instead of minus infinity, so every point can be drawn.

    Examples
    --------
    >>> np.round(probit([0.001, 0.5, 0.9]), 3).tolist()
    [-3.09, 0.0, 1.282]
    """
    from scipy.special import ndtri

    eps = np.finfo(np.float64).eps
    q = np.clip(np.asarray(p, dtype=np.float64), eps, 1.0 - eps)
    return np.asarray(ndtri(q), dtype=np.float64)


def det_curve(negatives: ArrayLike, positives: ArrayLike) -> DetCurve:
    """Detection error trade-off curve: :func:`roc_curve` points on probit axes.

    ``x = probit(FAR)`` (APCER for PAD), ``y = probit(FRR)`` (BPCER).

    Examples
    --------
    >>> d = det_curve([0.0, 1.0], [1.0, 2.0])
    >>> np.round(d.x, 2).tolist()
    [8.13, 0.0, -8.13, -8.13]
    """
    c = roc_curve(negatives, positives)
    return DetCurve(probit(c.far), probit(c.frr), c.thresholds)


def _trapezoid(y: np.ndarray, x: np.ndarray) -> float:
    d = np.diff(x)
    return float((d * (y[1:] + y[:-1]) / 2.0).sum())


def roc_auc(
    negatives: ArrayLike,
    positives: ArrayLike,
    *,
    method: str = "bob",
    n_points: int = 2000,
    min_far: int = -8,
) -> float:
    """Area under the ROC curve (probability that a bona fide outscores an attack).

    Parameters
    ----------
    negatives, positives : array_like
        Attack and bona fide scores.
    method : {"bob", "exact"}
        ``"bob"`` (default) reproduces ``bob.measure.roc_auc_score`` 6.1.1: the trapezoidal
        area of the ROC sampled at ``n_points`` thresholds, half of them
        :func:`frr_threshold` and half :func:`far_threshold` at rates log-spaced between
        ``10**min_far`` and 1. ``"exact"`` is the Mann-Whitney statistic (ties count 1/2),
        equal to the trapezoidal area of the full :func:`roc_curve` (and to
        ``sklearn.metrics.roc_auc_score``). The two differ slightly (on the oracle scores
        0.891775 versus 0.8918667).
    n_points, min_far : int
        Sampling of the ``"bob"`` method.

    Examples
    --------
    >>> roc_auc([0.0, 1.0, 2.0], [1.5, 2.5, 3.0], method="exact")
    0.8888888888888888
    """
    neg = _sorted(negatives, "negatives")
    pos = _sorted(positives, "positives")
    if method == "exact":
        below = np.searchsorted(neg, pos, side="left").sum()
        tied = np.searchsorted(neg, pos, side="right").sum() - below
        return float((below + 0.5 * tied) / (neg.size * pos.size))
    if method != "bob":
        raise ConfigurationError(f"method must be 'bob' or 'exact', got {method!r}")
    if int(n_points) < 2 or int(min_far) >= 0:
        raise ConfigurationError("n_points must be >= 2 and min_far negative")
    n_points, min_far = int(n_points), int(min_far)
    half = n_points // 2

    def log_values(points: int) -> np.ndarray:
        return np.asarray(
            10.0 ** (np.arange(1 - points, 1) / int(points / (-min_far))), dtype=np.float64
        )

    t = np.sort(
        np.concatenate(
            [
                _frr_thresholds(pos, log_values(half)),
                _far_thresholds(neg, log_values(n_points - half)),
            ]
        )
    )
    far = _count_ge(neg, t) / neg.size
    frr = _count_lt(pos, t) / pos.size
    return 0.0 - _trapezoid(1.0 - frr, far)  # 0.0 - x: no negative zero


# --------------------------------------------------------------------------- ISO/IEC 30107-3


def apcer_per_species(
    attack_scores_by_species: SpeciesScores, threshold: float
) -> dict[str, float]:
    """APCER of each presentation-attack-instrument species: FAR over that species' attacks.

    Parameters
    ----------
    attack_scores_by_species : mapping of str to array_like, or array_like
        Attack scores of each species; a plain array is one species named ``"attack"``.
    threshold : float

    Returns
    -------
    dict
        ``{species: APCER}`` in the mapping's order.

    Examples
    --------
    >>> apcer_per_species({"print": [0.1, 0.6], "replay": [0.2, 0.3]}, 0.5)
    {'print': 0.5, 'replay': 0.0}
    """
    t = _threshold_value(threshold)
    species = _species(attack_scores_by_species)
    return {k: float(np.count_nonzero(v >= t) / v.size) for k, v in species.items()}


def apcer(attack_scores_by_species: SpeciesScores, threshold: float) -> float:
    """ISO/IEC 30107-3 APCER: the maximum of the per-species APCER.

    Not the FAR of all attacks pooled (that is the mean weighted by species sizes, which is
    never larger).

    Examples
    --------
    >>> apcer({"print": [0.1, 0.6], "replay": [0.2, 0.3]}, 0.5)
    0.5
    """
    return max(apcer_per_species(attack_scores_by_species, threshold).values())


def bpcer(bona_fide: ArrayLike, threshold: float) -> float:
    """Bona fide presentation classification error rate: ``#{bona fide < t} / P`` (= FRR).

    Examples
    --------
    >>> bpcer([0.2, 0.7, 0.9, 0.95], 0.5)
    0.25
    """
    t = _threshold_value(threshold)
    pos = _scores(bona_fide, "bona_fide")
    return float(np.count_nonzero(pos < t) / pos.size)


def acer(bona_fide: ArrayLike, attack_scores_by_species: SpeciesScores, threshold: float) -> float:
    """Average classification error rate ``(APCER + BPCER) / 2``.

    Examples
    --------
    >>> acer([0.2, 0.7, 0.9, 0.95], {"print": [0.1, 0.6], "replay": [0.2, 0.3]}, 0.5)
    0.375
    """
    return (apcer(attack_scores_by_species, threshold) + bpcer(bona_fide, threshold)) / 2.0


def apcer_threshold(attack_scores_by_species: SpeciesScores, apcer_value: float) -> float:
    """Lowest threshold at which every species has APCER <= ``apcer_value``.

    :func:`far_threshold` of each species, then the maximum (bob.pad.base convention).

    Examples
    --------
    >>> apcer_threshold({"print": [0.1, 0.6], "replay": [0.2, 0.3]}, 0.5)
    0.6
    """
    v = _rate_value(apcer_value, "apcer_value")
    species = _species(attack_scores_by_species)
    arr = np.array([v])
    return float(max(_far_thresholds(np.sort(s), arr)[0] for s in species.values()))


class BpcerAtApcer(NamedTuple):
    """BPCER at the threshold fixed by an APCER target (e.g. BPCER20 for 5 %)."""

    bpcer: float
    threshold: float


def bpcer_at_apcer(
    bona_fide: ArrayLike, attack_scores_by_species: SpeciesScores, apcer_value: float
) -> BpcerAtApcer:
    """BPCER at the threshold where every species' APCER is at most ``apcer_value``.

    ``bpcer_at_apcer(bf, attacks, 0.05)`` is "BPCER20", ``0.01`` is "BPCER100". On the data
    it is computed from, the target is met by construction; report it on a test set with
    :func:`evaluate_protocol` (``criterion="apcer"``).

    Returns
    -------
    BpcerAtApcer
        ``(bpcer, threshold)``.

    Examples
    --------
    >>> bpcer_at_apcer([0.2, 0.7, 0.9, 0.95], {"print": [0.1, 0.6], "replay": [0.2, 0.3]}, 0.5)
    BpcerAtApcer(bpcer=0.25, threshold=0.6)
    """
    t = apcer_threshold(attack_scores_by_species, apcer_value)
    return BpcerAtApcer(bpcer(bona_fide, t), t)


# --------------------------------------------------------------------------- protocol


class SplitScores(NamedTuple):
    """Scores split by class (and attack species)."""

    bona_fide: np.ndarray
    attacks: np.ndarray
    attacks_by_species: dict[str, np.ndarray]


def _labels(labels: ArrayLike, n: int, name: str) -> np.ndarray:
    """Boolean "is bona fide" from 1/0, True/False or "bona_fide"/"attack"."""
    arr = np.asarray(labels).ravel()
    if arr.size != n:
        raise LabelError(f"{name}: {arr.size} labels for {n} scores")
    hint = f"use {BONA_FIDE!r}/{ATTACK!r} or 1/0"
    if arr.dtype.kind in "biuf":
        ok = (arr == 0) | (arr == 1)
        if not ok.all():
            i = int(np.argmin(ok))
            raise LabelError(f"{name}[{i}]: unknown label {arr[i]!r} ({hint})")
        return np.asarray(arr == 1)
    out = np.empty(n, dtype=bool)
    for i, v in enumerate(arr.tolist()):
        if v == BONA_FIDE or (isinstance(v, (bool, int)) and v == 1):
            out[i] = True
        elif v == ATTACK or (isinstance(v, (bool, int)) and v == 0):
            out[i] = False
        else:
            raise LabelError(f"{name}[{i}]: unknown label {v!r} ({hint})")
    return out


def split_scores(
    scores: ArrayLike, labels: ArrayLike, attack_types: Sequence[Any] | None = None
) -> SplitScores:
    """Split a score vector into bona fide scores, attack scores and attacks per species.

    Parameters
    ----------
    scores : array_like, shape (n,)
    labels : array_like, shape (n,)
        1 / True / ``"bona_fide"`` for bona fide, 0 / False / ``"attack"`` for attacks.
    attack_types : sequence, shape (n,), optional
        Species of each sample (ignored on bona fide rows). Without it every attack belongs to
        the single species ``"attack"``.

    Returns
    -------
    SplitScores
        ``attacks_by_species`` is ordered by species name.

    Examples
    --------
    >>> s = split_scores([0.9, 0.1, 0.3], ["bona_fide", "attack", "attack"],
    ...                  [None, "print", "replay"])
    >>> s.bona_fide.tolist(), sorted(s.attacks_by_species)
    ([0.9], ['print', 'replay'])
    """
    sc = _scores(scores, "scores")
    is_bf = _labels(labels, sc.size, "labels")
    attacks = sc[~is_bf]
    if attack_types is None:
        by_species = {ATTACK: attacks} if attacks.size else {}
    else:
        types = list(attack_types)
        if len(types) != sc.size:
            raise LabelError(f"attack_types: {len(types)} entries for {sc.size} scores")
        names = []
        for i in np.flatnonzero(~is_bf).tolist():
            t = types[i]
            if t is None or (isinstance(t, float) and math.isnan(t)) or str(t) == "":
                raise LabelError(f"attack_types[{i}]: attack sample without an attack type")
            names.append(str(t))
        name_arr = np.array(names, dtype=object)
        by_species = {k: attacks[name_arr == k] for k in sorted(set(names))}
    return SplitScores(sc[is_bf], attacks, by_species)


@dataclass(frozen=True)
class ProtocolResult:
    """Outcome of :func:`evaluate_protocol`: threshold from dev, error rates on test.

    Rates are fractions in [0, 1]. ``far`` is the FAR of all test attacks pooled; ``apcer``
    is the ISO/IEC 30107-3 maximum over species (equal to ``far`` with one species);
    ``bpcer`` equals ``frr``.
    """

    criterion: str
    target: float | None
    threshold: float
    dev_eer: float | None
    far: float
    frr: float
    hter: float
    apcer: float
    apcer_per_species: dict[str, float]
    bpcer: float
    acer: float
    auc: float
    n_bona_fide: int
    n_attack: int
    n_attack_per_species: dict[str, int] = field(default_factory=dict)
    dev_n_bona_fide: int | None = None
    dev_n_attack: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (plain floats, ints, strings and None)."""
        d = asdict(self)
        return json.loads(json.dumps(d))

    def summary(self) -> str:
        """Human-readable multi-line report (percentages)."""
        lines = [
            f"threshold {self.threshold:.6g} ({self.criterion}"
            + (f", target {self.target:g}" if self.target is not None else "")
            + ", fixed on dev)",
        ]
        if self.dev_eer is not None:
            lines.append(f"dev  EER   {100 * self.dev_eer:6.2f} %")
        lines += [
            f"test FAR   {100 * self.far:6.2f} %   FRR {100 * self.frr:6.2f} %   "
            f"HTER {100 * self.hter:6.2f} %",
            f"test APCER {100 * self.apcer:6.2f} %   BPCER {100 * self.bpcer:6.2f} %   "
            f"ACER {100 * self.acer:6.2f} %   AUC {self.auc:.4f}",
        ]
        for k, v in self.apcer_per_species.items():
            lines.append(f"  APCER[{k}] {100 * v:6.2f} % ({self.n_attack_per_species.get(k, 0)})")
        lines.append(f"test samples: {self.n_bona_fide} bona fide, {self.n_attack} attacks")
        return "\n".join(lines)


_CRITERIA = ("eer", "far", "apcer", "min-hter")


def evaluate_protocol(
    dev_scores: ArrayLike | None,
    dev_labels: ArrayLike | None,
    test_scores: ArrayLike,
    test_labels: ArrayLike,
    *,
    dev_attack_types: Sequence[Any] | None = None,
    test_attack_types: Sequence[Any] | None = None,
    criterion: str = "eer",
    target: float | None = None,
    threshold: float | None = None,
) -> ProtocolResult:
    """The standard PAD protocol in one call: threshold on dev, error rates on test.

    The threshold is chosen on the development scores only, then FAR, FRR, HTER, APCER, BPCER
    and ACER are measured on the test scores with it. An HTER computed on the set the
    threshold came from is optimistically biased; this function makes that impossible.

    Parameters
    ----------
    dev_scores, dev_labels : array_like or None
        Development scores and labels (1/0 or ``"bona_fide"``/``"attack"``). May be None only
        when ``threshold`` is given.
    test_scores, test_labels : array_like
        Test scores and labels.
    dev_attack_types, test_attack_types : sequence, optional
        Attack species of each sample, for the per-species APCER.
    criterion : {"eer", "far", "apcer", "min-hter"}
        ``"eer"``: :func:`eer_threshold` on dev. ``"far"``: :func:`far_threshold` of the
        pooled dev attacks at ``target``. ``"apcer"``: :func:`apcer_threshold` on dev (every
        dev species at most ``target``; e.g. 0.05 gives the BPCER20 operating point).
        ``"min-hter"``: :func:`min_hter_threshold` on dev.
    target : float, optional
        The FAR/APCER target of ``"far"``/``"apcer"``.
    threshold : float, optional
        A threshold fixed beforehand; overrides ``criterion`` (reported as ``"fixed"``).

    Returns
    -------
    ProtocolResult

    Examples
    --------
    >>> r = evaluate_protocol([0.1, 0.4, 0.6, 0.9], [0, 0, 1, 1],
    ...                       [0.2, 0.55, 0.5, 0.8], ["attack", "attack", "bona_fide", "bona_fide"])
    >>> r.threshold, r.far, r.frr, r.hter
    (0.5, 0.5, 0.0, 0.25)
    """
    dev_split: SplitScores | None = None
    if dev_scores is not None or dev_labels is not None:
        if dev_scores is None or dev_labels is None:
            raise ConfigurationError("give both dev_scores and dev_labels, or neither")
        dev_split = split_scores(dev_scores, dev_labels, dev_attack_types)
        if dev_split.bona_fide.size == 0:
            raise EmptyScoresError("dev set: no bona fide scores")
        if dev_split.attacks.size == 0:
            raise EmptyScoresError("dev set: no attack scores")
    test = split_scores(test_scores, test_labels, test_attack_types)
    if test.bona_fide.size == 0:
        raise EmptyScoresError("test set: no bona fide scores")
    if test.attacks.size == 0:
        raise EmptyScoresError("test set: no attack scores")

    if threshold is not None:
        thr = _threshold_value(threshold)
        crit, tgt = "fixed", None
    else:
        if dev_split is None:
            raise ConfigurationError("no dev set: give dev scores and labels, or a threshold")
        if criterion not in _CRITERIA:
            raise ConfigurationError(f"criterion must be one of {_CRITERIA}, got {criterion!r}")
        crit, tgt = criterion, None
        if criterion in ("far", "apcer"):
            if target is None:
                raise ConfigurationError(f"criterion {criterion!r} needs a target rate")
            tgt = _rate_value(target, "target")
        if criterion == "eer":
            thr = eer_threshold(dev_split.attacks, dev_split.bona_fide)
        elif criterion == "min-hter":
            thr = min_hter_threshold(dev_split.attacks, dev_split.bona_fide)
        elif criterion == "far":
            assert tgt is not None
            thr = far_threshold(dev_split.attacks, dev_split.bona_fide, tgt)
        else:
            assert tgt is not None
            thr = apcer_threshold(dev_split.attacks_by_species, tgt)

    dev_eer = None
    if dev_split is not None:
        dev_eer = eer(dev_split.attacks, dev_split.bona_fide)
    far, frr = farfrr(test.attacks, test.bona_fide, thr)
    per_species = apcer_per_species(test.attacks_by_species, thr)
    ap = max(per_species.values())
    return ProtocolResult(
        criterion=crit,
        target=tgt,
        threshold=thr,
        dev_eer=dev_eer,
        far=far,
        frr=frr,
        hter=(far + frr) / 2.0,
        apcer=ap,
        apcer_per_species=per_species,
        bpcer=frr,
        acer=(ap + frr) / 2.0,
        auc=roc_auc(test.attacks, test.bona_fide),
        n_bona_fide=int(test.bona_fide.size),
        n_attack=int(test.attacks.size),
        n_attack_per_species={k: int(v.size) for k, v in test.attacks_by_species.items()},
        dev_n_bona_fide=None if dev_split is None else int(dev_split.bona_fide.size),
        dev_n_attack=None if dev_split is None else int(dev_split.attacks.size),
    )
