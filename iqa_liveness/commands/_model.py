"""The command line's view of a model: feature families + classifier + threshold + provenance.

:class:`CliModel` is what ``train`` and ``fuse`` write and ``evaluate`` / ``predict`` read. It
is stored as an :mod:`iqa_liveness.modelio` model file (a zip of JSON, ``.npy`` arrays and
LIBSVM text; no pickle), so a model trained on the command line loads with
``iqa_liveness.modelio.load_model`` and the other way round. The feature families (extractor
name, parameters and feature names) are kept in the model's ``feature_config`` as
``{"extractors": [{"name", "params", "feature_names"}, ...]}``; columns are named
``<family>__<feature>``.

A fusion of *external* scores only (``fuse`` on CSV files, no model of this package among its
tests) is a modelio model without tests: its ``ScoreFusion`` takes the external scores.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import ModelFileError

__all__ = ["CliModel", "save_cli_model", "load_cli_model"]


@dataclass
class CliModel:
    """A trained liveness model as the command line uses it.

    Attributes
    ----------
    families : list of dict
        ``{"name": "quality", "config": {...}, "feature_names": [...]}`` per feature family,
        in column order.
    classifier : estimator
        Fitted, with ``score_samples`` and ``threshold_``.
    working_resolution : (width, height) or None
        Median resolution of the training images; ``predict`` brings inputs to it.
    provenance : dict
        Package version, date, training data description, threshold source, dev EER.
    """

    families: list[dict[str, Any]]
    classifier: Any
    working_resolution: tuple[int, int] | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    members: list[CliModel] = field(default_factory=list)
    #: Columns of the family-stacked features the classifier reads (``None``: all, in order).
    columns: list[int] | None = None

    @property
    def threshold(self) -> float:
        return float(self.classifier.threshold_)

    @property
    def feature_names(self) -> list[str]:
        return [f"{f['name']}__{n}" for f in self.families for n in f["feature_names"]]

    def scores(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        if self.columns is not None and not self.members:
            X = X[:, self.columns]
        return np.asarray(self.classifier.score_samples(X), dtype=np.float64)


def _encode(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    return value


def _external_only(model: CliModel) -> bool:
    return bool(model.provenance.get("external_tests")) and not model.members


def to_liveness_model(model: CliModel) -> Any:
    """The :class:`iqa_liveness.modelio.LivenessModel` of a command-line model."""
    from ..modelio import LivenessModel, Member

    fams = all_families(model)
    config = {
        "extractors": [
            {"name": f["name"], "params": f["config"], "feature_names": list(f["feature_names"])}
            for f in fams
        ]
    }
    names = [f"{f['name']}__{n}" for f in fams for n in f["feature_names"]]
    res = model.working_resolution
    size = None if res is None else (int(res[1]), int(res[0]))
    prov = json.loads(json.dumps(_encode(model.provenance), default=str))
    members: tuple[Any, ...]
    fusion: Any
    if _external_only(model):
        members, fusion = (), model.classifier
    elif not model.members:
        cols = model.columns if model.columns is not None else range(len(names))
        members = (Member("classifier", model.classifier, tuple(names[c] for c in cols)),)
        fusion = None
    else:
        tests = [str(t) for t in model.classifier.test_names_]
        members = tuple(
            Member(t, m.classifier, tuple(_member_names(m))) for t, m in zip(tests, model.members)
        )
        fusion = model.classifier
    return LivenessModel(
        feature_config=config,
        feature_names=tuple(names),
        members=members,
        fusion=fusion,
        working_size=size,
        training_data=prov,
    )


def _member_names(m: CliModel) -> list[str]:
    names = m.feature_names
    return names if m.columns is None else [names[c] for c in m.columns]


def _families_from(lm: Any) -> list[dict[str, Any]]:
    ex = (lm.feature_config or {}).get("extractors")
    if ex:
        return [
            {
                "name": e["name"],
                "config": dict(e.get("params") or {}),
                "feature_names": list(e["feature_names"]),
            }
            for e in ex
        ]
    # a model built in Python without the CLI's configuration: families from the names
    fams: dict[str, list[str]] = {}
    for n in lm.feature_names:
        fam, _, feat = n.partition("__")
        if not feat:
            raise ModelFileError(
                f"feature {n!r} does not say its family ('<family>__<feature>'); this model "
                "was not made for the command line"
            )
        fams.setdefault(fam, []).append(feat)
    return [{"name": k, "config": {}, "feature_names": v} for k, v in fams.items()]


def from_liveness_model(lm: Any) -> CliModel:
    """The command-line view of a :class:`iqa_liveness.modelio.LivenessModel`."""
    fams = _families_from(lm)
    res = None if lm.working_size is None else (int(lm.working_size[1]), int(lm.working_size[0]))
    prov = dict(lm.training_data or {})
    lp = lm.provenance
    prov["threshold_source"] = lp["threshold_source"]
    prov["calibration_eer"] = lp["calibration_eer"]
    prov.setdefault("package_version", lp["package_version"])
    prov.setdefault("created", lp["created"])

    def view(member: Any, provenance: dict[str, Any]) -> CliModel:
        used = [f for f in fams if any(n.startswith(f["name"] + "__") for n in member.features)]
        stacked = [f"{f['name']}__{n}" for f in used for n in f["feature_names"]]
        index = {n: i for i, n in enumerate(stacked)}
        cols = [index[n] for n in member.features]
        return CliModel(
            used,
            member.estimator,
            res,
            provenance,
            columns=None if cols == list(range(len(stacked))) else cols,
        )

    if lm.fusion is None:
        return view(lm.members[0], prov)
    if lm.external_tests:
        prov["external_tests"] = list(lm.external_tests)
    by_name = {m.name: m for m in lm.members}
    order = [n for n in lm.fusion.test_names_ if n in by_name]
    members = [view(by_name[n], {"name": n}) for n in order]
    if order:
        prov["members"] = order
    return CliModel([], lm.fusion, res, prov, members)


def save_cli_model(model: CliModel, path: str | os.PathLike[str]) -> None:
    """Write ``model`` as a :mod:`iqa_liveness.modelio` model file."""
    from ..modelio import save_model

    save_model(to_liveness_model(model), path)


def load_cli_model(path: str | os.PathLike[str]) -> CliModel:
    """Read a model written by :func:`save_cli_model` (or by ``modelio.save_model``).

    Raises
    ------
    ModelFileError
        For a missing, truncated or foreign file, another format version or missing parts.
    """
    from ..modelio import load_model

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    return from_liveness_model(load_model(path))


def all_families(model: CliModel) -> list[dict[str, Any]]:
    """Feature families a model needs (a fused model: the union of its members'), in order."""
    if not model.members:
        return list(model.families)
    out: list[dict[str, Any]] = []
    for m in model.members:
        for f in all_families(m):
            same = [g for g in out if g["name"] == f["name"]]
            if same and same[0] != f:
                raise ModelFileError(
                    f"fused members use family {f['name']!r} with different configurations"
                )
            if not same:
                out.append(f)
    return out


def score_features(model: CliModel, columns: dict[str, NDArray[np.float64]]) -> NDArray[np.float64]:
    """Scores from per-family feature blocks ``{family name: (n, d) array}``."""
    if columns and next(iter(columns.values())).shape[0] == 0:
        return np.zeros(0)  # no sample with features: nothing to score
    if not model.members:
        X = np.hstack([columns[f["name"]] for f in model.families])
        return model.scores(X)
    S = np.column_stack([score_features(m, columns) for m in model.members])
    return model.scores(S)


@dataclass
class ScoredSet:
    """Samples scored by a model: what ``evaluate`` needs (FeatureSet-like attributes)."""

    sample_id: NDArray[np.object_]
    y: NDArray[np.int8]
    metadata: dict[str, NDArray[Any]]
    failed: dict[str, NDArray[Any]]


def member_scores(
    model: CliModel, paths: str | os.PathLike[str] | list[Any]
) -> tuple[ScoredSet, NDArray[np.float64]]:
    """Score the samples of one or more stores (joined by sample id) with a (fused) model.

    Each feature family the model needs is read from the first store that holds it. Samples
    are those present in every store used, in the order of the first; a sample recorded as
    failed in any store used counts as failed.
    """
    from ..store import read_features, store_extractors
    from ._common import UsageError

    plist = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    fams = all_families(model)
    if not fams:
        raise UsageError("this model fuses external scores (CSV); evaluate it on a CSV score file")
    by_store: dict[int, list[str]] = {}
    for f in fams:
        for k, p in enumerate(plist):
            infos = store_extractors(p)
            if infos is None:
                raise UsageError(f"no feature store at {p}")
            if any(i.name == f["name"] for i in infos):
                by_store.setdefault(k, []).append(f["name"])
                break
        else:
            raise UsageError(f"no store among {[str(p) for p in plist]} holds {f['name']!r}")
    sets = {k: read_features(plist[k], names) for k, names in by_store.items()}
    first = sets[min(sets)]
    common = set(first.sample_id.tolist())
    for fs in sets.values():
        common &= set(fs.sample_id.tolist())
    keep = np.array([sid in common for sid in first.sample_id], dtype=bool)
    order = first.sample_id[keep]
    columns: dict[str, NDArray[np.float64]] = {}
    failed_rows: dict[str, list[Any]] = {}
    for fs in sets.values():
        index = {sid: i for i, sid in enumerate(fs.sample_id)}
        rows = np.array([index[sid] for sid in order], dtype=np.intp)
        for info in fs.extractors:
            f = next(g for g in fams if g["name"] == info.name)
            if list(info.feature_names) != list(f["feature_names"]):
                raise UsageError(
                    f"family {info.name!r} of the store holds other features than the model's"
                )
            sl = fs.columns(info.name)
            columns[info.name] = np.asarray(fs.X[rows, sl], dtype=np.float64)
        for c, values in fs.failed.items():
            failed_rows.setdefault(c, []).extend(np.asarray(values).tolist())
    # a failed sample once, whichever store recorded it
    seen: set[str] = set()
    pick = []
    for i, sid in enumerate(failed_rows.get("sample_id", [])):
        if sid not in seen:
            seen.add(sid)
            pick.append(i)
    failed = {c: np.asarray([v[i] for i in pick], dtype=object) for c, v in failed_rows.items()}
    scored = ScoredSet(
        sample_id=order,
        y=first.y[keep],
        metadata={k: v[keep] for k, v in first.metadata.items()},
        failed=failed,
    )
    return scored, score_features(model, columns)
