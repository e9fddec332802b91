"""Liveness classifiers with calibrated thresholds: shrinkage LDA and LIBSVM.

Both estimators are scikit-learn compatible and follow the PAD score convention of
:mod:`iqa_liveness.metrics` (bob.measure, ISO/IEC 30107-3): **higher score = more bona fide**,
a sample is accepted as bona fide when ``score >= threshold``.

Labels
------
Bona fide presentations are the *positive* class. ``y`` may hold ``1``/``0``,
``"bona_fide"``/``"attack"`` or any two labels. The bona fide label is, in this order:
the ``bona_fide_label`` parameter when given; the string ``"bona_fide"`` when it is one of the
two classes; otherwise the greater label (``classes_[1]``, scikit-learn's positive class, which
is also ``1`` for 0/1 or -1/1 labels and ``"bona_fide"`` for ``"attack"``/``"bona_fide"``).

Scores and threshold
--------------------
``score_samples(X)`` is the raw liveness score (LDA: log-likelihood ratio of the shared-
covariance Gaussian model; SVM: LIBSVM decision value, sign-corrected). ``threshold_`` is a
threshold on that score, calibrated on development data (``X_dev``/``y_dev`` at fit or
:meth:`calibrate`), or, without development data, on *out-of-fold* scores of the training data
(subject-wise when ``groups`` is given, see :func:`out_of_fold_scores`); ``threshold_source_``
says which. ``decision_function(X) = score_samples(X) - threshold_``, so
``predict(X)`` is bona fide exactly when ``decision_function(X) >= 0`` (scikit-learn's sign
convention for the positive class, with the operating point of the calibrated threshold).

Class imbalance
---------------
PAD data usually hold several times more attacks than bona fide samples. LDA uses equal class
priors (its score is then a likelihood ratio, independent of the class frequencies of the
training set); the SVM weights the penalty ``C`` of each class inversely to its frequency
(LIBSVM ``-wi``, ``w_c = n / (2 n_c)``, like scikit-learn's ``class_weight="balanced"``).
The EER threshold itself is insensitive to the class proportions of the calibration data.
"""

from __future__ import annotations

import functools
import os
import tempfile
import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .errors import ConfigurationError, InvalidDataError
from .metrics import ATTACK, BONA_FIDE  # the string labels recognised for the two classes

__all__ = [
    "ShrinkageLDA",
    "LibSVMClassifier",
    "out_of_fold_scores",
    "make_splits",
    "calibrate_threshold",
    "liveness_scores",
    "BONA_FIDE",
    "ATTACK",
]

Criterion = Literal["eer", "far", "frr"]
_CRITERIA = ("eer", "far", "frr")


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _wrap_value_error(func: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a scikit-learn validator and turn its ValueError into :class:`InvalidDataError`."""
    try:
        return func(*args, **kwargs)
    except InvalidDataError:
        raise
    except ValueError as exc:
        raise InvalidDataError(str(exc)) from exc


def _binary_targets(y: ArrayLike, bona_fide_label: Any) -> tuple[NDArray[Any], int]:
    """Return ``classes_`` (sorted) and the index of the bona fide class in it."""
    y = np.asarray(y)
    _wrap_value_error(check_classification_targets, y)
    y_type = type_of_target(y, input_name="y", raise_unknown=True)
    if y_type not in ("binary",):
        raise InvalidDataError(
            "Only binary classification is supported (bona fide vs attack). The type of the "
            f"target is {y_type}."
        )
    classes = np.unique(y)
    if classes.size != 2:
        raise InvalidDataError(
            f"a liveness classifier needs both classes (bona fide and attack) in y; got "
            f"{classes.size} class: {classes.tolist()!r}"
        )
    if bona_fide_label is not None:
        hits = [i for i, c in enumerate(classes.tolist()) if c == bona_fide_label]
        if not hits:
            raise ConfigurationError(
                f"bona_fide_label={bona_fide_label!r} is not one of the classes "
                f"{classes.tolist()!r}"
            )
        return classes, hits[0]
    for i, c in enumerate(classes.tolist()):
        if isinstance(c, str) and c == BONA_FIDE:
            return classes, i
    return classes, 1


def _to01(y: ArrayLike, classes: NDArray[Any], pos: int) -> NDArray[np.int64]:
    """1 for bona fide, 0 for attack; labels outside ``classes`` are an error."""
    ya = np.asarray(y)
    if ya.ndim != 1:
        ya = ya.ravel()
    known = np.isin(ya, classes)
    if not np.all(known):
        bad = np.unique(ya[~known]).tolist()
        raise InvalidDataError(f"labels {bad!r} are not among the fitted classes {classes!r}")
    return (ya == classes[pos]).astype(np.int64)


def make_splits(
    y01: ArrayLike, groups: ArrayLike | None = None, n_splits: int = 5
) -> list[tuple[NDArray[np.intp], NDArray[np.intp]]] | None:
    """Deterministic cross-validation folds for out-of-fold scores and grid search.

    With ``groups`` (subject ids) the folds are subject-disjoint
    (``StratifiedGroupKFold``, no shuffling); without, ``StratifiedKFold`` without
    shuffling (not subject-disjoint: optimistic when one subject has several samples).
    The number of folds is reduced to what the data allow (samples of the rarer class,
    number of subjects); ``None`` when fewer than two folds are possible.

    Raises
    ------
    InvalidDataError
        If a fold's training part holds only one class (too few subjects of one class).

    Examples
    --------
    >>> folds = make_splits([0, 0, 1, 1, 0, 1], groups=[1, 1, 2, 2, 3, 3], n_splits=3)
    >>> [sorted(test.tolist()) for _, test in folds]
    [[0, 1], [2, 3], [4, 5]]
    """
    y01 = np.asarray(y01)
    counts = np.bincount(y01, minlength=2)
    if groups is None:
        k = int(min(n_splits, counts.min()))
        if k < 2:
            return None
        splitter: Any = StratifiedKFold(n_splits=k)
        folds = list(splitter.split(np.zeros(len(y01)), y01))
    else:
        g = np.asarray(groups)
        if g.shape[0] != y01.shape[0]:
            raise InvalidDataError(f"groups has {g.shape[0]} entries, y has {y01.shape[0]}")
        k = int(min(n_splits, np.unique(g).size))
        if k < 2:
            return None
        with warnings.catch_warnings():
            # "The least populated class in y has only n members" is expected with subjects
            warnings.simplefilter("ignore", UserWarning)
            splitter = StratifiedGroupKFold(n_splits=k)
            folds = list(splitter.split(np.zeros(len(y01)), y01, g))
    folds = [(tr, te) for tr, te in folds if te.size > 0]
    for i, (tr, _) in enumerate(folds):
        if np.unique(y01[tr]).size < 2:
            raise InvalidDataError(
                f"cross-validation fold {i}: its training part holds one class only; use "
                "fewer splits or more subjects of each class"
            )
    return folds


def _cv_kind(y01: NDArray[Any], groups: NDArray[Any] | None, n_splits: int) -> str:
    k = len(make_splits(y01, groups, n_splits) or [])
    if groups is None:
        return f"{k}-fold by sample, no subject groups given"
    return f"subject-wise {k}-fold"


def calibrate_threshold(
    scores: ArrayLike,
    y01: ArrayLike,
    criterion: Criterion = "eer",
    target: float | None = None,
) -> tuple[float, float]:
    """Threshold on liveness scores and the EER of those scores.

    ``criterion="eer"``: the equal-error-rate threshold; ``"far"``: the threshold with
    FAR (attacks accepted) at most ``target``; ``"frr"``: FRR (bona fide rejected) at most
    ``target``. Threshold rules are those of :mod:`iqa_liveness.metrics`.

    Returns
    -------
    threshold, eer : float
        ``eer = (FAR + FRR) / 2`` at the EER threshold of the same scores.

    Examples
    --------
    >>> t, eer = calibrate_threshold([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])
    >>> 0.2 < t <= 0.8, eer
    (True, 0.0)
    """
    from .metrics import eer_threshold, far_threshold, farfrr, frr_threshold

    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(y01)
    neg, pos = s[y == 0], s[y == 1]
    if neg.size == 0 or pos.size == 0:
        raise InvalidDataError("calibration needs scores of both bona fide and attack samples")
    if not np.all(np.isfinite(s)):
        raise InvalidDataError("calibration scores contain NaN or inf")
    t_eer = float(eer_threshold(neg, pos))
    far, frr = farfrr(neg, pos, t_eer)
    eer = (float(far) + float(frr)) / 2.0
    if criterion == "eer":
        return t_eer, eer
    if target is None or not 0.0 <= float(target) <= 1.0:
        raise ConfigurationError(f"criterion {criterion!r} needs a target rate in [0, 1]")
    if criterion == "far":
        return float(far_threshold(neg, pos, float(target))), eer
    if criterion == "frr":
        return float(frr_threshold(neg, pos, float(target))), eer
    raise ConfigurationError(f"unknown criterion {criterion!r}; use one of {_CRITERIA}")


def liveness_scores(estimator: Any, X: Any) -> NDArray[np.float64]:
    """Raw liveness scores of a fitted estimator (higher = more bona fide).

    Estimators of this package give ``score_samples``; any other scikit-learn classifier gives
    ``decision_function`` (or the probability of ``classes_[1]``), i.e. it must have been
    trained with bona fide as its greater label.
    """
    if isinstance(estimator, _LivenessClassifier):
        return estimator.score_samples(X)
    if hasattr(estimator, "decision_function"):
        return np.asarray(estimator.decision_function(X), dtype=np.float64).ravel()
    if hasattr(estimator, "predict_proba"):
        return np.asarray(estimator.predict_proba(X), dtype=np.float64)[:, 1]
    raise ConfigurationError(
        f"{type(estimator).__name__} has neither score_samples, decision_function nor "
        "predict_proba"
    )


def out_of_fold_scores(
    estimator: Any,
    X: ArrayLike,
    y: ArrayLike,
    groups: ArrayLike | None = None,
    n_splits: int = 5,
) -> NDArray[np.float64]:
    """Liveness score of every training sample from a model that did not see it.

    The data are split into ``n_splits`` folds (subject-disjoint when ``groups`` is given,
    see :func:`make_splits`); for each fold a clone of ``estimator`` is fitted on the other
    folds and scores the held-out one. Estimators of this package are fitted *without*
    threshold calibration (only the scores are needed) and give :meth:`score_samples`; other
    estimators give ``decision_function``. These are the scores to train a
    :class:`~iqa_liveness.fusion.ScoreFusion` on, or to calibrate a threshold on when there is
    no development set.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (20, 2)), rng.normal(2, 1, (20, 2))]
    >>> y = np.r_[np.zeros(20, int), np.ones(20, int)]
    >>> s = out_of_fold_scores(ShrinkageLDA(), X, y, n_splits=4)
    >>> s.shape, bool(s[y == 1].mean() > s[y == 0].mean())
    ((40,), True)
    """
    Xa: NDArray[np.float64] = _wrap_value_error(check_array, X, dtype=np.float64)
    ya = np.asarray(y)
    if ya.shape[0] != Xa.shape[0]:
        raise InvalidDataError(f"X has {Xa.shape[0]} samples, y has {ya.shape[0]}")
    bona = getattr(estimator, "bona_fide_label", None)
    classes, pos = _binary_targets(ya, bona)
    y01 = _to01(ya, classes, pos)
    folds = make_splits(y01, groups, n_splits)
    if folds is None:
        raise InvalidDataError("too few samples or subjects for out-of-fold scores")
    ga = None if groups is None else np.asarray(groups)
    out = np.full(Xa.shape[0], np.nan)
    for tr, te in folds:
        est = clone(estimator)
        if isinstance(est, _LivenessClassifier):
            est._fit_uncalibrated(Xa[tr], ya[tr], None if ga is None else ga[tr])
            out[te] = est.score_samples(Xa[te])
        else:
            est.fit(Xa[tr], ya[tr])
            out[te] = liveness_scores(est, Xa[te])
    return out


# --------------------------------------------------------------------------------------------
# base class
# --------------------------------------------------------------------------------------------
class _LivenessClassifier(ClassifierMixin, BaseEstimator):
    """Shared machinery: labels, threshold calibration, predict / decision_function.

    Its ``__init__`` takes the parameters every liveness classifier has (see
    :class:`ShrinkageLDA`); a subclass with more parameters lists them all in its own
    signature (scikit-learn reads the parameters from it) and passes these four on.
    """

    def __init__(
        self,
        bona_fide_label: Any = None,
        threshold_criterion: Criterion = "eer",
        threshold_target: float | None = None,
        n_splits: int = 5,
    ) -> None:
        self.bona_fide_label = bona_fide_label
        self.threshold_criterion = threshold_criterion
        self.threshold_target = threshold_target
        self.n_splits = n_splits

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    # -- subclass hooks -------------------------------------------------------------------
    def _fit_scores(
        self,
        X: NDArray[np.float64],
        y01: NDArray[np.int64],
        groups: NDArray[Any] | None,
        X_dev: NDArray[np.float64] | None,
        y01_dev: NDArray[np.int64] | None,
    ) -> NDArray[np.float64] | None:
        """Fit the model; return out-of-fold training scores if computed on the way."""
        raise NotImplementedError

    def _raw_scores(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        raise NotImplementedError

    # -- fitting --------------------------------------------------------------------------
    def _prepare(self, X: Any, y: Any, groups: Any) -> tuple[Any, Any, Any]:
        if y is None:
            # let scikit-learn raise its standard "requires y" error
            _wrap_value_error(validate_data, self, X, y)
        X, y = _wrap_value_error(validate_data, self, X, y, dtype=np.float64)
        self.classes_, pos = _binary_targets(y, self.bona_fide_label)
        self.bona_fide_label_ = self.classes_[pos]
        self._pos = pos
        y01 = _to01(y, self.classes_, pos)
        g = None
        if groups is not None:
            g = np.asarray(groups)
            if g.shape[0] != X.shape[0]:
                raise InvalidDataError(f"groups has {g.shape[0]} entries, X has {X.shape[0]}")
        return X, y01, g

    def _check_dev(self, X_dev: Any, y_dev: Any) -> tuple[Any, Any]:
        if X_dev is None and y_dev is None:
            return None, None
        if X_dev is None or y_dev is None:
            raise ConfigurationError("give both X_dev and y_dev, or neither")
        Xd = _wrap_value_error(validate_data, self, X_dev, reset=False, dtype=np.float64)
        yd = _to01(y_dev, self.classes_, self._pos)
        if yd.shape[0] != Xd.shape[0]:
            raise InvalidDataError(f"X_dev has {Xd.shape[0]} samples, y_dev has {yd.shape[0]}")
        if np.unique(yd).size < 2:
            raise InvalidDataError("the development set needs both bona fide and attack samples")
        return Xd, yd

    def _fit_uncalibrated(self, X: Any, y: Any, groups: Any = None) -> _LivenessClassifier:
        """Fit the scoring model only (no threshold): for out-of-fold scores."""
        Xv, y01, g = self._prepare(X, y, groups)
        self._fit_scores(Xv, y01, g, None, None)
        return self

    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        X_dev: ArrayLike | None = None,
        y_dev: ArrayLike | None = None,
        groups: ArrayLike | None = None,
    ) -> _LivenessClassifier:
        """Fit on training data and calibrate the threshold.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        y : array of shape (n_samples,)
            Two labels; see the module docstring for which one is bona fide.
        X_dev, y_dev : arrays, optional
            Development data (disjoint subjects): the threshold (and the SVM's ``C`` and
            ``gamma``) are chosen on them.
        groups : array of shape (n_samples,), optional
            Subject id of each training sample: without development data, the out-of-fold
            scores used for the threshold (and SVM grid search) are then subject-disjoint.

        Returns
        -------
        self
        """
        Xv, y01, g = self._prepare(X, y, groups)
        Xd, yd = self._check_dev(X_dev, y_dev)
        oof = self._fit_scores(Xv, y01, g, Xd, yd)
        if Xd is not None:
            self._set_threshold(self._raw_scores(Xd), yd, "development set")
            return self
        folds = make_splits(y01, g, self.n_splits) if oof is None else None
        if oof is None and folds is not None:
            oof = np.empty(Xv.shape[0])
            for tr, te in folds:
                est = clone(self).set_params(bona_fide_label=None)
                est._fit_uncalibrated(Xv[tr], y01[tr], None if g is None else g[tr])
                oof[te] = est._raw_scores(Xv[te])
        if oof is not None:
            self._set_threshold(
                oof, y01, f"out-of-fold training scores ({_cv_kind(y01, g, self.n_splits)})"
            )
        else:
            self._set_threshold(
                self._raw_scores(Xv), y01, "training scores (resubstitution: too few samples "
                "for cross-validation)"
            )
        return self

    def _set_threshold(
        self,
        scores: NDArray[np.float64],
        y01: NDArray[Any],
        source: str,
        criterion: Criterion | None = None,
        target: float | None = None,
    ) -> None:
        """Calibrate the threshold on ``scores`` (criterion and target: the parameters'
        unless given) and record where it comes from."""
        crit = self.threshold_criterion if criterion is None else criterion
        tgt = self.threshold_target if target is None else target
        t, eer = calibrate_threshold(scores, y01, crit, tgt)
        self.threshold_ = t
        self.threshold_source_ = source
        self.calibration_eer_ = eer
        self.calibration_counts_ = {
            "bona_fide": int(np.sum(y01 == 1)),
            "attack": int(np.sum(y01 == 0)),
        }

    def calibrate(
        self,
        X_dev: ArrayLike,
        y_dev: ArrayLike,
        criterion: Criterion | None = None,
        target: float | None = None,
    ) -> _LivenessClassifier:
        """Re-calibrate the threshold of a fitted model on development data.

        ``criterion`` (default: the ``threshold_criterion`` parameter) is ``"eer"``,
        ``"far"`` (FAR <= ``target``) or ``"frr"`` (FRR <= ``target``). The model itself
        is unchanged. Returns self.
        """
        check_is_fitted(self, "threshold_")
        Xd, yd = self._check_dev(X_dev, y_dev)
        crit = self.threshold_criterion if criterion is None else criterion
        self._set_threshold(self._raw_scores(Xd), yd, f"development set ({crit})", crit, target)
        return self

    # -- prediction -----------------------------------------------------------------------
    def _validate_X(self, X: Any) -> NDArray[np.float64]:
        check_is_fitted(self, "classes_")
        out: NDArray[np.float64] = _wrap_value_error(
            validate_data, self, X, reset=False, dtype=np.float64
        )
        return out

    def score_samples(self, X: ArrayLike) -> NDArray[np.float64]:
        """Raw liveness score of each sample (higher = more bona fide)."""
        return self._raw_scores(self._validate_X(X))

    def decision_function(self, X: ArrayLike) -> NDArray[np.float64]:
        """Liveness score relative to the threshold: ``score_samples(X) - threshold_``.

        ``>= 0`` means accepted as bona fide.
        """
        check_is_fitted(self, "threshold_")
        return self.score_samples(X) - self.threshold_

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """The bona fide label where ``decision_function(X) >= 0``, else the attack label."""
        accept = self.decision_function(X) >= 0
        return np.where(accept, self.classes_[self._pos], self.classes_[1 - self._pos])


# --------------------------------------------------------------------------------------------
# shrinkage LDA
# --------------------------------------------------------------------------------------------
class ShrinkageLDA(_LivenessClassifier):
    """Standardisation then shrinkage linear discriminant analysis, with a calibrated threshold.

    The classifier of Galbally, Marcel & Fierrez (2014): features are standardised
    (``z = (x - mean) / std`` on training data; constant features get ``std = 1``), then
    ``LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")`` (Ledoit-Wolf shrinkage
    of the pooled covariance) with equal class priors. The score is the discriminant

    .. math:: s(x) = w^\\top z + b = \\log p(z \\mid \\text{bona fide}) - \\log p(z \\mid
              \\text{attack}),

    the log-likelihood ratio under Gaussian classes with a shared covariance. When the
    training features hold no variation at all (the covariance is singular even after
    shrinkage), ``coef_`` and ``intercept_`` are 0: every score is 0.
    ``predict_proba`` gives ``sigmoid(s(x) - threshold_)`` for the bona fide class: the
    posterior probability under the class prior for which the calibrated threshold is the
    Bayes decision.

    Parameters
    ----------
    bona_fide_label : label, optional
        Which of the two labels is bona fide (default: ``"bona_fide"`` if present, else the
        greater label).
    threshold_criterion : {"eer", "far", "frr"}, default "eer"
        Operating point of the calibrated threshold.
    threshold_target : float, optional
        Target FAR or FRR for ``"far"`` / ``"frr"``.
    n_splits : int, default 5
        Folds of the out-of-fold calibration when no development set is given.
    shrinkage : "auto" or float in [0, 1], default "auto"
        Weight of the identity in the shrunk covariance of the standardised features:
        ``"auto"`` is Ledoit and Wolf's estimate (about 0.01 for the 25 quality measures of
        900 NUAA face crops); a fixed value such as 0.1 leans less on correlations that a new
        capture session changes (see ``docs/classifiers.md``, "Shrinkage across sessions").

    Attributes
    ----------
    classes_, bona_fide_label_ : the two labels and the bona fide one.
    mean_, scale_ : ndarray of shape (n_features,), the standardisation.
    coef_ : ndarray of shape (n_features,) and intercept_ : float, the discriminant.
    threshold_ : float, threshold on :meth:`score_samples`.
    threshold_source_ : str, where the threshold comes from.
    calibration_eer_ : float, EER of the scores the threshold was calibrated on.

    References
    ----------
    J. Galbally, S. Marcel, J. Fierrez, "Image quality assessment for fake biometric
    detection: application to iris, fingerprint, and face recognition", IEEE TIP 23(2), 2014.
    O. Ledoit, M. Wolf, "A well-conditioned estimator for large-dimensional covariance
    matrices", J. Multivariate Analysis 88(2), 2004.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (30, 3)), rng.normal(1.5, 1, (30, 3))]
    >>> y = np.array(["attack"] * 30 + ["bona_fide"] * 30)
    >>> clf = ShrinkageLDA().fit(X, y)
    >>> clf.predict([[2.0, 2.0, 2.0], [-1.0, -1.0, -1.0]]).tolist()
    ['bona_fide', 'attack']
    """

    def __init__(
        self,
        bona_fide_label: Any = None,
        threshold_criterion: Criterion = "eer",
        threshold_target: float | None = None,
        n_splits: int = 5,
        shrinkage: str | float = "auto",
    ) -> None:
        super().__init__(bona_fide_label, threshold_criterion, threshold_target, n_splits)
        self.shrinkage = shrinkage

    def _checked_shrinkage(self) -> str | float:
        value = self.shrinkage
        if isinstance(value, str) and value == "auto":
            return "auto"
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
            raise ConfigurationError(f"shrinkage must be 'auto' or a number in [0, 1]: {value!r}")
        if not 0.0 <= float(value) <= 1.0:
            raise ConfigurationError(f"shrinkage must lie in [0, 1], got {value}")
        return float(value)

    def _fit_scores(self, X, y01, groups, X_dev, y01_dev):
        mean = X.mean(axis=0)
        scale = X.std(axis=0)
        scale[~(scale > np.finfo(np.float64).eps * np.maximum(1.0, np.abs(mean)))] = 1.0
        Z = (X - mean) / scale
        lda = LinearDiscriminantAnalysis(
            solver="lsqr", shrinkage=self._checked_shrinkage(), priors=[0.5, 0.5]
        )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "Variables are collinear"
                lda.fit(Z, y01)
            coef = np.asarray(lda.coef_, dtype=np.float64).ravel().copy()
            intercept = float(np.asarray(lda.intercept_).ravel()[0])
        except np.linalg.LinAlgError:  # singular covariance: every feature constant
            coef, intercept = np.full(X.shape[1], np.nan), np.nan
        if not (np.all(np.isfinite(coef)) and np.isfinite(intercept)):
            # degenerate data (e.g. every feature constant): no discrimination
            coef = np.zeros_like(coef)
            intercept = 0.0
        self.mean_, self.scale_, self.coef_, self.intercept_ = mean, scale, coef, intercept
        return None

    def _raw_scores(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        # C order whatever the input layout: the same values give the same bits
        Z = np.ascontiguousarray((X - self.mean_) / self.scale_)
        out: NDArray[np.float64] = Z @ self.coef_ + self.intercept_
        return out

    def predict_proba(self, X: ArrayLike) -> NDArray[np.float64]:
        """Columns in ``classes_`` order; bona fide column ``sigmoid(decision_function(X))``."""
        d = self.decision_function(X)
        out = np.empty((d.shape[0], 2))
        out[:, self._pos] = expit(d)
        out[:, 1 - self._pos] = expit(-d)
        return out


# --------------------------------------------------------------------------------------------
# LIBSVM
# --------------------------------------------------------------------------------------------
#: Default C grid: 2^-3, 2^-1, ..., 2^7.
DEFAULT_C_GRID: tuple[float, ...] = tuple(2.0**k for k in range(-3, 8, 2))
#: Default gamma grid, as multiples of 1 / n_features: 2^-5, 2^-3, ..., 2^3.
DEFAULT_GAMMA_FACTORS: tuple[float, ...] = tuple(2.0**k for k in range(-5, 4, 2))
_KERNEL_CODE = {"linear": 0, "rbf": 2}


def _grid(value: float | Sequence[float] | None, default: Sequence[float]) -> list[float]:
    if value is None:
        return [float(v) for v in default]
    if np.ndim(value) == 0:
        return [float(value)]  # type: ignore[arg-type]
    out = [float(v) for v in value]  # type: ignore[union-attr]
    if not out:
        raise ConfigurationError("an empty hyper-parameter grid")
    return out


def _libsvm_text_to_model(text: str) -> Any:
    """Load a LIBSVM model from its text (through a temporary file: LIBSVM reads files)."""
    from libsvm import svmutil

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.txt")
        with open(path, "w", encoding="ascii", newline="\n") as f:
            f.write(text)
        model = svmutil.svm_load_model(path)
    if model is None:
        raise InvalidDataError("LIBSVM could not read the model text")
    return model


def _libsvm_model_to_text(model: Any) -> str:
    from libsvm import svmutil

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.txt")
        svmutil.svm_save_model(path, model)
        with open(path, encoding="ascii") as f:
            return f.read()


@functools.lru_cache(maxsize=1)
def _openmp_controller() -> Any:
    from libsvm import svmutil  # noqa: F401  (loads LIBSVM's OpenMP runtime first)
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _one_thread() -> Any:
    """LIBSVM (libsvm-official's wheel) is built with OpenMP; on a busy machine its spinning
    threads make small problems hundreds of times slower. One thread is also deterministic."""
    return _openmp_controller().limit(limits=1, user_api="openmp")


#: The grid search computes kernel matrices with numpy up to this many rows (training plus
#: held-out samples); beyond, LIBSVM computes the kernel itself (memory: about
#: ``40 n^2`` bytes at the peak, 490 MB for 3,500 samples).
_PRECOMPUTED_MAX_ROWS = 6000


def _precomputed_problem(y01: NDArray[Any], K: NDArray[np.float64]) -> Any:
    """A LIBSVM problem with a precomputed kernel (``-t 4``): row i is
    ``0:i+1 1:K[i,0] ... l:K[i,l-1]``, every entry stored (LIBSVM indexes kernel rows by
    position, so no zero may be left out)."""
    from libsvm.svm import svm_problem
    from scipy import sparse

    m = K.shape[0]
    dense = np.empty((m, m + 1))
    dense[:, 0] = np.arange(1, m + 1)
    dense[:, 1:] = K
    indptr = np.arange(0, m * (m + 1) + 1, m + 1, dtype=np.int64)
    indices = np.tile(np.arange(m + 1, dtype=np.int32), m)
    csr = sparse.csr_matrix((dense.ravel(), indices, indptr), shape=(m, m + 1))
    return svm_problem(np.where(y01 == 1, 1.0, -1.0), csr, isKernel=True)


def _precomputed_scores(
    prob: Any, K_test: NDArray[np.float64], C: float,
    weights: tuple[float, float] | None, tol: float,
) -> NDArray[np.float64]:
    """Train a C-SVC on a precomputed-kernel problem; liveness scores of the test rows
    (``K_test[t, i] = k(x_t, x_i)`` over the training rows): ``sum_i alpha_i y_i k - rho``,
    sign-corrected as :class:`_SVMCore`."""
    from libsvm import svmutil
    from libsvm.svm import svm_parameter

    opts = f"-s 0 -t 4 -c {C!r} -e {tol!r} -q"
    if weights is not None:
        opts += f" -w1 {weights[1]!r} -w-1 {weights[0]!r}"
    with _one_thread():
        model = svmutil.svm_train(prob, svm_parameter(opts))
    sv = np.asarray(model.get_sv_indices(), dtype=np.intp) - 1
    coef = np.asarray([c[0] for c in model.get_sv_coef()], dtype=np.float64)
    sign = 1.0 if int(model.get_labels()[0]) == 1 else -1.0
    vals: NDArray[np.float64] = sign * (K_test[:, sv] @ coef - float(model.rho[0]))
    return vals


class _SVMCore:
    """One LIBSVM model with its min-max scaling: the unit the grid search trains."""

    def __init__(self, lo: float, hi: float) -> None:
        self.lo, self.hi = lo, hi

    def fit(
        self, X: NDArray[np.float64], y01: NDArray[Any], kernel: str, C: float, gamma: float,
        weights: tuple[float, float] | None, tol: float, canonical: bool = True,
    ) -> _SVMCore:
        from libsvm import svmutil
        from scipy import sparse

        self.fit_scaling(X)
        Z = self.transform(X)
        yl = np.where(y01 == 1, 1.0, -1.0)
        opts = f"-s 0 -t {_KERNEL_CODE[kernel]} -c {C!r} -e {tol!r} -q"
        if kernel == "rbf":
            opts += f" -g {gamma!r}"
        if weights is not None:
            opts += f" -w1 {weights[1]!r} -w-1 {weights[0]!r}"
        with _one_thread():
            # CSR input: the same nodes as a dense array (zeros left out), converted by numpy
            # instead of a Python loop over every value
            trained = svmutil.svm_train(yl, sparse.csr_matrix(Z), opts)
        self.text = ""
        self.model = trained
        if canonical:
            # the model as LIBSVM writes and reads it (support vectors rounded to 8 digits),
            # so that a saved and reloaded model gives the same scores to the last bit
            self.text = _libsvm_model_to_text(trained)
            self.model = _libsvm_text_to_model(self.text)
        self.sign = 1.0 if int(self.model.get_labels()[0]) == 1 else -1.0
        return self

    def fit_scaling(self, X: NDArray[np.float64]) -> None:
        """Min-max scaling of ``X``'s columns to [lo, hi]; constant columns map to lo."""
        dmin = X.min(axis=0)
        span = X.max(axis=0) - dmin
        factor = np.zeros_like(span)
        ok = span > 0
        factor[ok] = (self.hi - self.lo) / span[ok]
        self.data_min, self.factor = dmin, factor

    def transform(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        out: NDArray[np.float64] = self.lo + (X - self.data_min) * self.factor
        return out

    def scores(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        from ._libsvm import decision_values

        with _one_thread():  # svm_predict's values, nodes built by numpy (see _libsvm)
            vals = decision_values(self.model, self.transform(X))
        return self.sign * vals


class LibSVMClassifier(_LivenessClassifier):
    """Support vector machine through LIBSVM (``libsvm-official``), with a calibrated threshold.

    Features are scaled to ``feature_range`` (default [-1, 1]) by the minimum and maximum of
    the training data (as LIBSVM's ``svm-scale``; constant features are mapped to the lower
    bound, values outside the training range are not clipped). A C-SVC with a linear or RBF
    kernel ``exp(-gamma |u - v|^2)`` is trained with class weights ``w_c = n / (2 n_c)``
    (``class_weight="balanced"``, LIBSVM ``-w1`` / ``-w-1``). ``C`` (and ``gamma``) are chosen
    on a grid by the EER on the development set when given, else by the EER of pooled
    out-of-fold scores of (subject-wise when ``groups`` is given) cross-validation; ties go to
    the higher ROC AUC, then to the smaller ``C`` and ``gamma``. The score is the LIBSVM
    decision value, sign-corrected so that higher = more bona fide whatever LIBSVM's
    internal label order. Training is deterministic (no ``-b``, no ``-v``) and quiet.

    Parameters
    ----------
    kernel : {"rbf", "linear"}, default "rbf"
    C : float or sequence of float, optional
        A fixed value or a grid (default :data:`DEFAULT_C_GRID`: 2^-3, 2^-1, ..., 2^7).
    gamma : float or sequence of float, optional
        A fixed value or a grid (default ``2^k / n_features`` for k = -5, -3, ..., 3).
        Ignored by the linear kernel.
    class_weight : "balanced", None or dict, default "balanced"
        Per-class multipliers of ``C``; a dict maps labels to weights (missing: 1).
        They shape the SVM, not the operating point (the calibrated threshold).
    feature_range : (float, float), default (-1.0, 1.0)
    tol : float, default 1e-3
        Stopping tolerance of LIBSVM's solver (``-e``).
    bona_fide_label, threshold_criterion, threshold_target, n_splits
        As :class:`ShrinkageLDA` (``n_splits`` also sets the folds of the grid search).

    Attributes
    ----------
    C_, gamma_ : the chosen hyper-parameters (``gamma_`` is 0 for the linear kernel).
    grid_eer_ : ndarray of shape (n_C, n_gamma), the EER of each grid point.
    selection_ : str, how the grid point was chosen.
    data_min_, scale_factor_ : ndarray, the scaling ``z = lo + (x - data_min_) * scale_factor_``.
    model_text_ : str, the LIBSVM model in LIBSVM's own text format.
    threshold_, threshold_source_, calibration_eer_ : as :class:`ShrinkageLDA`.

    References
    ----------
    C.-C. Chang, C.-J. Lin, "LIBSVM: a library for support vector machines", ACM TIST 2(3),
    2011. C.-W. Hsu, C.-C. Chang, C.-J. Lin, "A practical guide to support vector
    classification", 2003.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (30, 2)), rng.normal(2, 1, (30, 2))]
    >>> y = np.r_[np.zeros(30, int), np.ones(30, int)]
    >>> clf = LibSVMClassifier(kernel="linear", C=(0.1, 1.0)).fit(X, y)
    >>> clf.predict([[3.0, 3.0], [-1.0, -1.0]]).tolist()
    [1, 0]
    """

    def __init__(
        self,
        kernel: Literal["rbf", "linear"] = "rbf",
        C: float | Sequence[float] | None = None,
        gamma: float | Sequence[float] | None = None,
        class_weight: Literal["balanced"] | dict[Any, float] | None = "balanced",
        feature_range: tuple[float, float] = (-1.0, 1.0),
        tol: float = 1e-3,
        bona_fide_label: Any = None,
        threshold_criterion: Criterion = "eer",
        threshold_target: float | None = None,
        n_splits: int = 5,
    ) -> None:
        super().__init__(bona_fide_label, threshold_criterion, threshold_target, n_splits)
        self.kernel = kernel
        self.C = C
        self.gamma = gamma
        self.class_weight = class_weight
        self.feature_range = feature_range
        self.tol = tol

    def _check_params(self, n_features: int) -> tuple[list[float], list[float]]:
        if self.kernel not in _KERNEL_CODE:
            raise ConfigurationError(f"kernel must be 'rbf' or 'linear', not {self.kernel!r}")
        if not (self.class_weight in ("balanced", None) or isinstance(self.class_weight, dict)):
            raise ConfigurationError("class_weight must be 'balanced', None or a dict")
        lo, hi = (float(v) for v in self.feature_range)
        if not lo < hi:
            raise ConfigurationError(f"feature_range {self.feature_range!r} is empty")
        cs = _grid(self.C, DEFAULT_C_GRID)
        if self.kernel == "linear":
            gs = [0.0]
        elif self.gamma is None:
            gs = [f / n_features for f in DEFAULT_GAMMA_FACTORS]
        else:
            gs = _grid(self.gamma, ())
        if not float(self.tol) > 0:
            raise ConfigurationError("tol must be positive")
        if min(cs) <= 0 or (self.kernel == "rbf" and min(gs) <= 0):
            raise ConfigurationError("C and gamma must be positive")
        return cs, gs

    def _core(
        self, X: Any, y01: Any, C: float, gamma: float, canonical: bool = False
    ) -> _SVMCore:
        lo, hi = (float(v) for v in self.feature_range)
        return _SVMCore(lo, hi).fit(
            X, y01, self.kernel, C, gamma, self._weights(y01), float(self.tol), canonical
        )

    def _weights(self, y01: NDArray[Any]) -> tuple[float, float] | None:
        """(attack, bona fide) penalty weights of LIBSVM's -w-1 / -w1 options."""
        if self.class_weight is None:
            return None
        if self.class_weight == "balanced":
            n, n1 = y01.size, int(np.sum(y01 == 1))
            return n / (2.0 * (n - n1)), n / (2.0 * n1)
        cw = dict(self.class_weight)
        bona, attack = self.classes_[self._pos], self.classes_[1 - self._pos]
        return float(cw.get(attack, 1.0)), float(cw.get(bona, 1.0))

    def _fit_scores(self, X, y01, groups, X_dev, y01_dev):
        from .metrics import roc_auc

        cs, gs = self._check_params(X.shape[1])
        oof_best = None
        grid = np.full((len(cs), len(gs)), np.nan)
        if len(cs) * len(gs) == 1:
            best = (0, 0)
            self.selection_ = "fixed C and gamma"
        else:
            folds = None if X_dev is not None else make_splits(y01, groups, self.n_splits)
            if X_dev is None and folds is None:
                raise InvalidDataError(
                    "too few samples for a cross-validated grid search; give a development "
                    "set or fixed C and gamma"
                )
            tasks: list[tuple[NDArray[np.intp], NDArray[np.intp] | None]]
            if X_dev is not None:
                tasks = [(np.arange(X.shape[0]), None)]
                Xall, yall = np.concatenate([X, X_dev]), np.concatenate([y01, y01_dev])
            else:
                tasks = [(tr, te) for tr, te in folds or []]
                Xall, yall = X, y01
            scores = self._grid_scores(Xall, yall, tasks, cs, gs)
            ys = y01_dev if X_dev is not None else y01
            keys = []
            for (i, j), s in scores.items():
                c, g = cs[i], gs[j]
                _, eer = calibrate_threshold(s, ys)
                auc = float(roc_auc(s[ys == 0], s[ys == 1], method="exact"))
                grid[i, j] = eer
                keys.append((eer, -auc, c, g, (i, j)))
            best = min(keys)[4]
            if X_dev is not None:
                self.selection_ = "grid search: EER on the development set"
            else:
                kind = _cv_kind(y01, groups, self.n_splits)
                self.selection_ = f"grid search: EER of out-of-fold scores ({kind})"
                oof_best = scores[best]
        self.C_, self.gamma_ = cs[best[0]], gs[best[1]]
        self.grid_eer_ = grid
        self._set_core(self._core(X, y01, self.C_, self.gamma_, canonical=True))
        return oof_best

    def _grid_scores(
        self,
        X: NDArray[np.float64],
        y01: NDArray[Any],
        tasks: list[tuple[NDArray[np.intp], NDArray[np.intp] | None]],
        cs: list[float],
        gs: list[float],
        precomputed: bool | None = None,
    ) -> dict[tuple[int, int], NDArray[np.float64]]:
        """Held-out scores of every grid point, concatenated over ``tasks``.

        Each task is ``(train, test)`` row indices into ``X``; ``test=None`` means every row
        not in ``train``, in order (the development set appended to the training data). A
        model is trained on ``X[train]`` (scaled by ``X[train]``'s range, as the final model)
        for every (C, gamma). With ``precomputed`` (default: when ``X`` has at most
        :data:`_PRECOMPUTED_MAX_ROWS` rows) the kernel matrix of each task is computed once
        per gamma with numpy and LIBSVM trains on it (``-t 4``): the same optimisation
        problem, without LIBSVM recomputing kernel rows and without Python converting the
        features of every fit. Otherwise LIBSVM trains with its own kernel.
        """
        if precomputed is None:
            precomputed = X.shape[0] <= _PRECOMPUTED_MAX_ROWS
        n = X.shape[0]
        out = {(i, j): np.full(n, np.nan) for i in range(len(cs)) for j in range(len(gs))}
        tested = np.zeros(n, dtype=bool)
        for tr, te in tasks:
            if te is None:
                te = np.setdiff1d(np.arange(n), tr)
            tested[te] = True
            if not precomputed:
                for i, c in enumerate(cs):
                    for j, g in enumerate(gs):
                        out[i, j][te] = self._core(X[tr], y01[tr], c, g).scores(X[te])
                continue
            lo, hi = (float(v) for v in self.feature_range)
            scaler = _SVMCore(lo, hi)
            scaler.fit_scaling(X[tr])
            Ztr = np.ascontiguousarray(scaler.transform(X[tr]))
            Zte = np.ascontiguousarray(scaler.transform(X[te]))
            gram_tr, gram_te = Ztr @ Ztr.T, Zte @ Ztr.T
            if self.kernel == "rbf":
                sq_tr, sq_te = np.einsum("ij,ij->i", Ztr, Ztr), np.einsum("ij,ij->i", Zte, Zte)
                d2_tr = np.maximum(sq_tr[:, None] + sq_tr[None, :] - 2.0 * gram_tr, 0.0)
                d2_te = np.maximum(sq_te[:, None] + sq_tr[None, :] - 2.0 * gram_te, 0.0)
                del gram_tr
            weights = self._weights(y01[tr])
            for j, g in enumerate(gs):
                if self.kernel == "rbf":
                    k_tr, k_te = np.exp(-g * d2_tr), np.exp(-g * d2_te)
                else:
                    k_tr, k_te = gram_tr, gram_te
                prob = _precomputed_problem(y01[tr], k_tr)
                for i, c in enumerate(cs):
                    out[i, j][te] = _precomputed_scores(prob, k_te, c, weights, float(self.tol))
        return {key: v[tested] for key, v in out.items()}

    def _set_core(self, core: _SVMCore) -> None:
        self._svm = core
        self.data_min_ = core.data_min
        self.scale_factor_ = core.factor
        self.model_text_ = core.text

    def _raw_scores(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        return self._svm.scores(X)

    @property
    def n_support_vectors_(self) -> int:
        """Number of support vectors of the fitted model."""
        check_is_fitted(self, "model_text_")
        return int(self._svm.model.get_nr_sv())

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        state.pop("_svm", None)  # a ctypes object: rebuilt from model_text_
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        if "model_text_" in state:
            self._restore_core()

    def _restore_core(self) -> None:
        lo, hi = (float(v) for v in self.feature_range)
        core = _SVMCore(lo, hi)
        core.data_min = np.asarray(self.data_min_, dtype=np.float64)
        core.factor = np.asarray(self.scale_factor_, dtype=np.float64)
        core.text = self.model_text_
        core.model = _libsvm_text_to_model(self.model_text_)
        core.sign = 1.0 if int(core.model.get_labels()[0]) == 1 else -1.0
        self._svm = core
