"""The consolidation layer: fusion of the scores of several liveness tests.

Each liveness test (a classifier of this package on some features, a CNN, a vendor API) gives
one score per sample, higher = more bona fide. :class:`ScoreFusion` learns a shrinkage LDA on
the score matrix (n_samples x n_tests, columns named by test) and calibrates its threshold,
as the 2019 thesis fused its tests with an LDA.

Training data for the fusion must be scores the tests produced **without having seen those
samples' labels**: out-of-fold scores (:func:`out_of_fold_score_table`) for tests trained on
the same training set, or scores of tests trained elsewhere. Scores of a test on its own
training data are over-confident and would make the fusion trust it too much.

Tests from outside the package join through CSV score files (:func:`read_score_csv`,
:func:`join_scores`): a header line, one sample-id column, one column per test.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import clone
from sklearn.utils.validation import check_array, check_is_fitted

from .classifiers import (
    Criterion,
    ShrinkageLDA,
    _to01,
    _wrap_value_error,
    liveness_scores,
    out_of_fold_scores,
)
from .errors import ConfigurationError, MissingScoresError, NonFiniteScoreError, ScoreError

__all__ = [
    "ScoreTable",
    "ScoreFusion",
    "FusionReport",
    "read_score_csv",
    "join_scores",
    "out_of_fold_score_table",
    "score_table",
    "fit_tests",
]


# --------------------------------------------------------------------------------------------
# score tables and CSV files
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScoreTable:
    """Scores of named tests for identified samples.

    Attributes
    ----------
    ids : tuple of str
        Sample ids, one per row.
    names : tuple of str
        Test names, one per column.
    scores : ndarray of shape (n_samples, n_tests), float64
        NaN marks a missing score.
    missing : dict
        Test name -> ids that lacked a score when the table was joined (see
        :func:`join_scores`); empty for a table read or built directly.
    """

    ids: tuple[str, ...]
    names: tuple[str, ...]
    scores: NDArray[np.float64]
    missing: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        s = np.array(self.scores, dtype=np.float64)
        if s.ndim != 2 or s.shape != (len(self.ids), len(self.names)):
            raise ScoreError(
                f"scores of shape {s.shape} do not match {len(self.ids)} ids x "
                f"{len(self.names)} tests"
            )
        for what, seq in (("sample id", self.ids), ("test name", self.names)):
            if len(set(seq)) != len(seq):
                dup = sorted({v for v in seq if list(seq).count(v) > 1})
                raise ScoreError(f"duplicate {what}s: {dup[:5]!r}")
        s.setflags(write=False)
        object.__setattr__(self, "scores", s)

    @classmethod
    def from_columns(
        cls, columns: Mapping[str, ArrayLike], ids: Sequence[Any] | None = None
    ) -> ScoreTable:
        """Build a table from ``{test name: scores}`` (ids default to "0", "1", ...).

        Examples
        --------
        >>> t = ScoreTable.from_columns({"a": [0.1, 0.9], "b": [1.0, 2.0]}, ids=["x", "y"])
        >>> t.names, t.column("b").tolist()
        (('a', 'b'), [1.0, 2.0])
        """
        names = tuple(str(k) for k in columns)
        cols = [np.asarray(v, dtype=np.float64).ravel() for v in columns.values()]
        n = cols[0].size if cols else 0
        if any(c.size != n for c in cols):
            raise ScoreError("score columns of different lengths")
        idt = tuple(str(i) for i in (range(n) if ids is None else ids))
        return cls(idt, names, np.column_stack(cols) if cols else np.empty((n, 0)))

    def __len__(self) -> int:
        return len(self.ids)

    def column(self, name: str) -> NDArray[np.float64]:
        """The scores of one test."""
        try:
            return self.scores[:, self.names.index(name)]
        except ValueError:
            raise ScoreError(f"no test {name!r}; tests: {list(self.names)!r}") from None

    def select(self, ids: Iterable[Any]) -> ScoreTable:
        """Rows for ``ids`` in that order (every id must be present)."""
        want = [str(i) for i in ids]
        index = {k: i for i, k in enumerate(self.ids)}
        absent = [i for i in want if i not in index]
        if absent:
            raise MissingScoresError(
                f"{len(absent)} ids are not in the table: {absent[:5]!r}",
                {n: tuple(absent) for n in self.names},
            )
        rows = [index[i] for i in want]
        return ScoreTable(tuple(want), self.names, self.scores[rows])

    def to_csv(self, path: str | os.PathLike[str], id_column: str = "sample_id") -> None:
        """Write the table as a score CSV (floats in shortest round-trip form, NaN empty)."""
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow([id_column, *self.names])
            for i, row in zip(self.ids, self.scores):
                w.writerow([i, *("" if math.isnan(v) else repr(float(v)) for v in row)])


_MISSING_TOKENS = {"", "nan", "na", "n/a", "null", "none"}


def read_score_csv(path: str | os.PathLike[str], id_column: str | None = None) -> ScoreTable:
    """Read a score file: a header line, a sample-id column and one column per test.

    The id column is ``id_column`` or, by default, the first column. Every other column is a
    test, named by its header. Cells are decimal numbers; an empty cell or ``nan``/``NA``
    marks a missing score (NaN). Delimiter: comma (``;`` and tab are detected).

    Raises
    ------
    ScoreError
        Missing header or id column, duplicate ids or test names, a non-numeric cell
        (with its line and column), rows of the wrong length.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "cnn.csv"
    >>> _ = p.write_text("sample_id,cnn\\nimg1,0.93\\nimg2,\\n")
    >>> t = read_score_csv(p)
    >>> t.ids, t.names, t.scores[:, 0].tolist()
    (('img1', 'img2'), ('cnn',), [0.93, nan])
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            text = f.read()
    except FileNotFoundError as exc:
        raise ScoreError(f"score file {path} does not exist") from exc
    except OSError as exc:
        raise ScoreError(f"cannot read score file {path}: {exc.strerror or exc}") from exc
    first = text.split("\n", 1)[0]
    delim = max([",", ";", "\t"], key=first.count)
    rows = [r for r in csv.reader(text.splitlines(), delimiter=delim) if r and any(r)]
    if not rows:
        raise ScoreError(f"{path}: empty score file (a header line is required)")
    header = [h.strip() for h in rows[0]]
    col = 0 if id_column is None else (header.index(id_column) if id_column in header else -1)
    if col < 0:
        raise ScoreError(f"{path}: no id column {id_column!r} in header {header!r}")
    names = [h for k, h in enumerate(header) if k != col]
    if not names:
        raise ScoreError(f"{path}: no score column besides the id column")
    ids: list[str] = []
    values = np.empty((len(rows) - 1, len(names)))
    for r, row in enumerate(rows[1:]):
        line = r + 2
        if len(row) != len(header):
            raise ScoreError(f"{path}:{line}: {len(row)} cells, the header has {len(header)}")
        ids.append(row[col].strip())
        cells = [c for k, c in enumerate(row) if k != col]
        for k, c in enumerate(cells):
            c = c.strip()
            if c.lower() in _MISSING_TOKENS:
                values[r, k] = np.nan
                continue
            try:
                values[r, k] = float(c)
            except ValueError:
                raise ScoreError(
                    f"{path}:{line}: column {names[k]!r}: {c!r} is not a number"
                ) from None
    try:
        return ScoreTable(tuple(ids), tuple(names), values)
    except ScoreError as exc:
        raise ScoreError(f"{path}: {exc}") from None


def join_scores(
    *tables: ScoreTable,
    ids: Sequence[Any] | None = None,
    on_missing: Literal["raise", "drop", "keep"] = "raise",
) -> ScoreTable:
    """Join score tables on their sample ids.

    Parameters
    ----------
    *tables : ScoreTable
        Tables of disjoint test names (e.g. package tests and external CSV files).
    ids : sequence, optional
        The samples wanted, in order (e.g. a protocol's list). Default: every id of any
        table, in order of first appearance. Ids of a table not in ``ids`` are ignored.
    on_missing : {"raise", "drop", "keep"}
        What to do when a sample lacks a score of some test (absent from a table, or a
        missing/non-finite cell): ``"raise"`` a :class:`MissingScoresError` listing them
        (its ``missing`` attribute maps test -> ids); ``"drop"`` those samples; ``"keep"``
        them with NaN (for :class:`ScoreFusion` with ``impute``). The result's ``missing``
        records the ids either way.

    Examples
    --------
    >>> a = ScoreTable.from_columns({"iqa": [0.1, 0.8, 0.5]}, ids=["s1", "s2", "s3"])
    >>> b = ScoreTable.from_columns({"cnn": [2.0, -1.0]}, ids=["s2", "s1"])
    >>> t = join_scores(a, b, on_missing="drop")
    >>> t.ids, t.scores.tolist(), dict(t.missing)
    (('s1', 's2'), [[0.1, -1.0], [0.8, 2.0]], {'cnn': ('s3',)})
    """
    if on_missing not in ("raise", "drop", "keep"):
        raise ConfigurationError(
            f"on_missing must be 'raise', 'drop' or 'keep', not {on_missing!r}"
        )
    if not tables:
        raise ScoreError("join_scores needs at least one table")
    names = [n for t in tables for n in t.names]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ScoreError(f"the same test name in several tables: {dup!r}")
    if ids is None:
        seen: dict[str, None] = {}
        for t in tables:
            seen.update(dict.fromkeys(t.ids))
        want = list(seen)
    else:
        want = [str(i) for i in ids]
        if len(set(want)) != len(want):
            raise ScoreError("duplicate ids in the wanted id list")
    out = np.full((len(want), len(names)), np.nan)
    c = 0
    for t in tables:
        index = {k: i for i, k in enumerate(t.ids)}
        rows = np.array([index.get(i, -1) for i in want], dtype=np.intp)
        found = rows >= 0
        out[found, c : c + len(t.names)] = t.scores[rows[found]]
        c += len(t.names)
    bad = ~np.isfinite(out)
    missing = {
        n: tuple(want[i] for i in np.flatnonzero(bad[:, k])) for k, n in enumerate(names)
    }
    missing = {k: v for k, v in missing.items() if v}
    if missing and on_missing == "raise":
        parts = [f"{k}: {len(v)} (e.g. {', '.join(v[:3])})" for k, v in missing.items()]
        raise MissingScoresError("samples without a score: " + "; ".join(parts), missing)
    keep = np.ones(len(want), bool) if on_missing == "keep" else ~bad.any(axis=1)
    return ScoreTable(
        tuple(i for i, k in zip(want, keep) if k), tuple(names), out[keep], missing
    )


# --------------------------------------------------------------------------------------------
# scores of package tests
# --------------------------------------------------------------------------------------------
def _per_test(X: Any, name: str) -> Any:
    if isinstance(X, Mapping):
        if name not in X:
            raise ConfigurationError(f"no features given for test {name!r}")
        return X[name]
    return X


def out_of_fold_score_table(
    estimators: Mapping[str, Any],
    X: ArrayLike | Mapping[str, ArrayLike],
    y: ArrayLike,
    groups: ArrayLike | None = None,
    n_splits: int = 5,
    ids: Sequence[Any] | None = None,
) -> ScoreTable:
    """Out-of-fold training scores of several tests: the training data of a fusion.

    ``X`` is one feature matrix shared by every test or ``{test name: matrix}`` (tests on
    different features). Each test's scores come from :func:`out_of_fold_scores` with the
    same (subject-wise, when ``groups`` is given) folds.
    """
    cols = {
        name: out_of_fold_scores(est, _per_test(X, name), y, groups, n_splits)
        for name, est in estimators.items()
    }
    return ScoreTable.from_columns(cols, ids)


def fit_tests(
    estimators: Mapping[str, Any],
    X: ArrayLike | Mapping[str, ArrayLike],
    y: ArrayLike,
    groups: ArrayLike | None = None,
    **fit_params: Any,
) -> dict[str, Any]:
    """Fit a clone of each test on the whole training set (``groups`` go to this package's
    estimators); returns ``{test name: fitted estimator}``."""
    out = {}
    for name, est in estimators.items():
        e = clone(est)
        if hasattr(e, "threshold_criterion"):  # an estimator of this package
            e.fit(_per_test(X, name), y, groups=groups, **fit_params)
        else:
            e.fit(_per_test(X, name), y, **fit_params)
        out[name] = e
    return out


def score_table(
    fitted: Mapping[str, Any],
    X: ArrayLike | Mapping[str, ArrayLike],
    ids: Sequence[Any] | None = None,
) -> ScoreTable:
    """Liveness scores (:func:`~iqa_liveness.classifiers.liveness_scores`) of fitted tests."""
    cols = {name: liveness_scores(est, _per_test(X, name)) for name, est in fitted.items()}
    return ScoreTable.from_columns(cols, ids)


# --------------------------------------------------------------------------------------------
# the fusion
# --------------------------------------------------------------------------------------------
class ScoreFusion(ShrinkageLDA):
    """Shrinkage-LDA fusion of the scores of several liveness tests, with a calibrated threshold.

    The fused score is :class:`~iqa_liveness.classifiers.ShrinkageLDA`'s discriminant on the
    score vector ``(s_1, ..., s_k)`` of the tests: ``f = sum_i w_i (s_i - m_i) / d_i + b``
    (standardisation by training mean and standard deviation, equal class priors).
    Everything else (labels, ``threshold_``, ``predict``, ``calibrate``) is as in
    ``ShrinkageLDA``.

    Input is a :class:`ScoreTable` (columns matched **by test name** to the names seen at
    fit) or an array of shape (n_samples, n_tests) in the order of ``test_names``.

    Parameters
    ----------
    test_names : sequence of str, optional
        Column names of array input (default: a table's names, else "test0", "test1", ...).
    impute : {None, "mean", "median"}, default None
        A missing (NaN) or infinite score is an error by default
        (:class:`~iqa_liveness.errors.NonFiniteScoreError`). With ``"mean"``/``"median"``
        it is replaced by that statistic of the test's finite *training* scores
        (``impute_values_``), at fit and at prediction; the fused score then leans on the
        other tests for that sample.
    bona_fide_label, threshold_criterion, threshold_target, n_splits
        As ``ShrinkageLDA``.

    Attributes
    ----------
    test_names_ : tuple of str
    impute_values_ : ndarray of shape (n_tests,) (NaN when ``impute`` is None)
    weights_ : ndarray, the weight of each test's raw score in the fused score.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> y = np.r_[np.zeros(40, int), np.ones(40, int)]
    >>> S = np.c_[y + rng.normal(0, 0.8, 80), 2 * y + rng.normal(0, 2.0, 80)]
    >>> fusion = ScoreFusion(test_names=("iqa", "texture")).fit(S, y)
    >>> fusion.test_names_, fusion.predict([[1.5, 3.0], [-0.5, -1.0]]).tolist()
    (('iqa', 'texture'), [1, 0])
    """

    test_names_: tuple[str, ...]
    impute_values_: NDArray[np.float64]

    def __init__(
        self,
        test_names: Sequence[str] | None = None,
        impute: Literal["mean", "median"] | None = None,
        bona_fide_label: Any = None,
        threshold_criterion: Criterion = "eer",
        threshold_target: float | None = None,
        n_splits: int = 5,
    ) -> None:
        super().__init__(bona_fide_label, threshold_criterion, threshold_target, n_splits)
        self.test_names = test_names
        self.impute = impute

    # -- score matrix preparation ---------------------------------------------------------
    def _matrix(self, S: Any, fitting: bool) -> NDArray[np.float64]:
        if isinstance(S, ScoreTable):
            if fitting:
                if self.test_names is not None and tuple(self.test_names) != S.names:
                    raise ConfigurationError(
                        f"test_names {tuple(self.test_names)!r} differ from the table's "
                        f"{S.names!r}"
                    )
                names: tuple[str, ...] = S.names
                A = np.array(S.scores)
            else:
                check_is_fitted(self, "test_names_")
                absent = [n for n in self.test_names_ if n not in S.names]
                if absent:
                    raise MissingScoresError(
                        f"the score table lacks tests {absent!r} of the fusion",
                        {n: tuple(S.ids) for n in absent},
                    )
                A = np.column_stack([S.column(n) for n in self.test_names_])
            ids: tuple[str, ...] | None = S.ids
        else:
            A = _wrap_value_error(check_array, S, dtype=np.float64, ensure_all_finite=False)
            ids = None
            if fitting:
                names = (
                    tuple(str(n) for n in self.test_names)
                    if self.test_names is not None
                    else tuple(f"test{i}" for i in range(A.shape[1]))
                )
                if len(names) != A.shape[1]:
                    raise ConfigurationError(
                        f"{len(names)} test names for {A.shape[1]} score columns"
                    )
        if self.impute not in (None, "mean", "median"):
            raise ConfigurationError(
                f"impute must be None, 'mean' or 'median', not {self.impute!r}"
            )
        if fitting:
            self.test_names_ = names
            if self.impute is None:
                self.impute_values_ = np.full(A.shape[1], np.nan)
            else:
                stat = np.nanmean if self.impute == "mean" else np.nanmedian
                vals = np.full(A.shape[1], np.nan)
                for k in range(A.shape[1]):
                    col = A[:, k][np.isfinite(A[:, k])]
                    if col.size == 0:
                        raise NonFiniteScoreError(
                            f"test {names[k]!r} has no finite training score to impute from"
                        )
                    vals[k] = stat(col)
                self.impute_values_ = vals
        bad = ~np.isfinite(A)
        if bad.any():
            if self.impute is None or A.shape[1] != self.impute_values_.size:
                k = int(np.flatnonzero(bad.any(axis=0))[0])
                rows = np.flatnonzero(bad[:, k])
                where = [ids[r] for r in rows[:5]] if ids is not None else rows[:5].tolist()
                name = self.test_names_[k] if k < len(self.test_names_) else f"column {k}"
                raise NonFiniteScoreError(
                    f"scores contain NaN or inf: test {name!r}, {rows.size} samples "
                    f"(e.g. {where!r}); pass impute='mean' or 'median' to fill them"
                )
            A = np.where(bad, self.impute_values_[None, :], A)
        return A

    def fit(
        self,
        S: ScoreTable | ArrayLike,
        y: ArrayLike,
        S_dev: ScoreTable | ArrayLike | None = None,
        y_dev: ArrayLike | None = None,
        groups: ArrayLike | None = None,
    ) -> ScoreFusion:
        """Fit on (out-of-fold) training scores; calibrate on ``S_dev``/``y_dev`` if given.

        ``S_dev`` are the scores of the tests trained on the whole training set on the
        development samples. See :meth:`ShrinkageLDA.fit`.
        """
        A = self._matrix(S, fitting=True)
        Ad = None if S_dev is None else self._matrix(S_dev, fitting=False)
        super().fit(A, y, Ad, y_dev, groups)
        return self

    def _fit_uncalibrated(self, X: Any, y: Any, groups: Any = None) -> ScoreFusion:
        super()._fit_uncalibrated(self._matrix(X, fitting=True), y, groups)
        return self

    def _validate_X(self, X: Any) -> NDArray[np.float64]:
        check_is_fitted(self, "classes_")
        return super()._validate_X(self._matrix(X, fitting=False))

    def score_samples(self, X: ScoreTable | ArrayLike) -> NDArray[np.float64]:
        """Fused liveness score (higher = more bona fide) of a score table or matrix."""
        return super().score_samples(X)  # type: ignore[arg-type]

    def calibrate(
        self,
        S_dev: ScoreTable | ArrayLike,
        y_dev: ArrayLike,
        criterion: Criterion | None = None,
        target: float | None = None,
    ) -> ScoreFusion:
        """Re-calibrate the threshold on development scores (see ShrinkageLDA.calibrate)."""
        check_is_fitted(self, "threshold_")
        super().calibrate(self._matrix(S_dev, fitting=False), y_dev, criterion, target)
        return self

    @property
    def weights_(self) -> NDArray[np.float64]:
        """Weight of each test's raw score in the fused score (``coef_ / scale_``)."""
        check_is_fitted(self, "coef_")
        out: NDArray[np.float64] = self.coef_ / self.scale_
        return out

    # -- report ---------------------------------------------------------------------------
    def report(
        self,
        S_dev: ScoreTable | ArrayLike,
        y_dev: ArrayLike,
        S_test: ScoreTable | ArrayLike,
        y_test: ArrayLike,
        *,
        dev_attack_types: Sequence[Any] | None = None,
        test_attack_types: Sequence[Any] | None = None,
        criterion: str = "eer",
        target: float | None = None,
    ) -> FusionReport:
        """Each test alone and the fusion under the standard protocol.

        For every test and for the fused score: threshold on the development scores
        (``criterion``, EER by default), then FAR, FRR, HTER (and APCER/BPCER/ACER) on the test
        scores with it (:func:`iqa_liveness.metrics.evaluate_protocol`). Shows the gain, or the
        loss, of the fusion.
        """
        from .metrics import evaluate_protocol

        check_is_fitted(self, "threshold_")
        Ad, At = self._matrix(S_dev, fitting=False), self._matrix(S_test, fitting=False)
        yd = _to01(y_dev, self.classes_, self._pos)
        yt = _to01(y_test, self.classes_, self._pos)
        columns = {n: (Ad[:, k], At[:, k]) for k, n in enumerate(self.test_names_)}
        columns["fusion"] = (self._raw_scores(Ad), self._raw_scores(At))
        results = {
            name: evaluate_protocol(
                d, yd, t, yt,
                dev_attack_types=dev_attack_types, test_attack_types=test_attack_types,
                criterion=criterion, target=target,
            )
            for name, (d, t) in columns.items()
        }
        return FusionReport(results)


@dataclass(frozen=True)
class FusionReport:
    """Per-test and fused results of :meth:`ScoreFusion.report` (the key ``"fusion"`` is the
    fused score); values are :class:`iqa_liveness.metrics.ProtocolResult`."""

    results: Mapping[str, Any]

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """JSON-safe ``{name: ProtocolResult.to_dict()}``."""
        return {k: v.to_dict() for k, v in self.results.items()}

    def summary(self) -> str:
        """A text table: dev EER, threshold, test FAR, FRR and HTER per test and fused."""
        w = max(len("test"), *(len(k) for k in self.results))
        lines = [
            f"{'test':<{w}}  dev EER %   threshold  test FAR %  test FRR %  test HTER %",
        ]
        for k, r in self.results.items():
            eer = float("nan") if r.dev_eer is None else 100 * r.dev_eer
            lines.append(
                f"{k:<{w}}  {eer:9.2f}  {r.threshold:10.4g}  {100 * r.far:10.2f}  "
                f"{100 * r.frr:10.2f}  {100 * r.hter:11.2f}"
            )
        return "\n".join(lines)
