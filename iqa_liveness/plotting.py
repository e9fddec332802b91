"""Evaluation plots: DET curves with operating points, score histograms per class and species.

Needs the optional matplotlib extra (``pip install iqa-liveness[plot]``); the rest of the package
does not import matplotlib. Figures are built with :class:`matplotlib.figure.Figure` directly
(no ``pyplot``, no global backend switch; saving uses the Agg renderer), so they work in scripts,
servers and notebooks alike. Every function returns the figure and writes it when ``path`` is
given (format from the file extension; PNG metadata carries no software version, so the same
input gives the same bytes).

Conventions follow :mod:`iqa_liveness.metrics`: higher score = more bona fide, accept when
``score >= threshold``; on the DET plot x = APCER (FAR) and y = BPCER (FRR), both on a probit
(normal deviate) scale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from . import metrics
from .errors import ConfigurationError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["plot_det", "plot_score_histograms", "DET_TICKS"]

DET_TICKS = (0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6)
"""Rates at which the DET axes are labelled (shown when inside the limits)."""

_INSTALL_HINT = "plotting needs matplotlib: pip install iqa-liveness[plot]"


def _figure(figsize: tuple[float, float]) -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - exercised only without matplotlib
        raise ImportError(_INSTALL_HINT) from exc
    return Figure(figsize=figsize, dpi=100, layout="constrained")


def _save(fig: Figure, path: str | Path | None) -> None:
    if path is not None:
        p = Path(path)
        meta: dict[str, Any] = {"Software": None} if p.suffix.lower() == ".png" else {}
        fig.savefig(p, metadata=meta)


def _tick_label(rate: float) -> str:
    pct = 100 * rate
    return f"{pct:g}"


def plot_det(
    curves: Mapping[str, tuple[npt.ArrayLike, npt.ArrayLike]],
    operating_points: str | Mapping[str, float] | None = "eer",
    path: str | Path | None = None,
    *,
    title: str | None = None,
    limits: tuple[float, float] | None = None,
    xlabel: str = "APCER (%)",
    ylabel: str = "BPCER (%)",
    figsize: tuple[float, float] = (5.0, 5.0),
) -> Figure:
    """Detection error trade-off curves on probit axes, with operating points marked.

    Parameters
    ----------
    curves : mapping of name to (negatives, positives)
        Attack and bona fide scores of each system; one curve each.
    operating_points : "eer", mapping of name to threshold, or None
        ``"eer"`` marks each curve's :func:`~iqa_liveness.metrics.eer_threshold` point; a
        mapping marks the given thresholds (e.g. the one fixed on a development set, drawn on
        the test curve); None marks nothing. The legend gives FAR/FRR at each mark.
    path : str or Path, optional
        Where to write the figure.
    title : str, optional
    limits : (low, high), optional
        Rate range of both axes (default: from half the smallest non-zero rate, at least
        0.01 %, up to 60 %).
    xlabel, ylabel : str
        Axis labels (PAD names by default).
    figsize : (width, height) in inches

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not curves:
        raise ConfigurationError("plot_det: no curves given")
    fig = _figure(figsize)
    ax = fig.add_subplot()
    smallest = 1.0
    for name, (neg, pos) in curves.items():
        d = metrics.det_curve(neg, pos)
        (line,) = ax.plot(d.x, d.y, label=str(name), lw=1.5)
        n_neg, n_pos = np.size(neg), np.size(pos)
        smallest = min(smallest, 1.0 / n_neg, 1.0 / n_pos)
        thr: float | None = None
        kind = ""
        if isinstance(operating_points, str):
            if operating_points != "eer":
                raise ConfigurationError(
                    f"operating_points must be 'eer', a mapping or None, got {operating_points!r}"
                )
            thr, kind = metrics.eer_threshold(neg, pos), "EER"
        elif operating_points is not None and name in operating_points:
            thr, kind = float(operating_points[name]), "t"
        if thr is not None:
            far, frr = metrics.farfrr(neg, pos, thr)
            ax.plot(
                metrics.probit([far])[0],
                metrics.probit([frr])[0],
                marker="o",
                ms=7,
                mfc="none",
                mew=1.8,
                color=line.get_color(),
                linestyle="none",
                label=f"{kind} {thr:.3g}: {100 * far:.1f} % / {100 * frr:.1f} %",
            )
    lo, hi = limits if limits is not None else (max(smallest / 2, 1e-4), 0.6)
    if not (0.0 < lo < hi < 1.0):
        raise ConfigurationError(f"limits must satisfy 0 < low < high < 1, got {(lo, hi)}")
    ticks = [t for t in DET_TICKS if lo <= t <= hi]
    pt = metrics.probit(ticks)
    plo, phi = metrics.probit([lo, hi])
    ax.plot([plo, phi], [plo, phi], color="0.6", lw=0.8, ls="--", zorder=0)
    ax.set_xlim(plo, phi)
    ax.set_ylim(plo, phi)
    ax.set_xticks(pt, [_tick_label(t) for t in ticks])
    ax.set_yticks(pt, [_tick_label(t) for t in ticks])
    ax.set_aspect("equal")
    ax.grid(True, color="0.85", lw=0.6)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small", loc="lower left")
    _save(fig, path)
    return fig


def plot_score_histograms(
    scores: npt.ArrayLike,
    labels: npt.ArrayLike,
    attack_types: Sequence[Any] | None = None,
    *,
    threshold: float | None = None,
    bins: int = 40,
    path: str | Path | None = None,
    title: str | None = None,
    figsize: tuple[float, float] = (6.0, 3.6),
) -> Figure:
    """Score histograms of bona fide samples and of each attack species.

    Each class is normalised to unit area (``density=True``) so classes of different sizes
    compare; the legend gives the counts. All histograms share the same bin edges.

    Parameters
    ----------
    scores, labels : array_like
        Scores and labels (1/0 or ``"bona_fide"``/``"attack"``), as
        :func:`~iqa_liveness.metrics.split_scores`.
    attack_types : sequence, optional
        Attack species of each sample: one histogram per species (else one for all attacks).
    threshold : float, optional
        Drawn as a vertical line (accept when score >= threshold).
    bins : int
    path : str or Path, optional
    title : str, optional
    figsize : (width, height) in inches

    Returns
    -------
    matplotlib.figure.Figure
    """
    split = metrics.split_scores(scores, labels, attack_types)
    all_scores = np.concatenate([split.bona_fide, split.attacks])
    lo, hi = float(all_scores.min()), float(all_scores.max())
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, int(bins) + 1).tolist()
    fig = _figure(figsize)
    ax = fig.add_subplot()
    groups: list[tuple[str, np.ndarray]] = []
    if split.bona_fide.size:
        groups.append(("bona fide", split.bona_fide))
    for name, s in split.attacks_by_species.items():
        groups.append((name if attack_types is not None else "attack", s))
    for i, (name, s) in enumerate(groups):
        colour = f"C{i}"
        ax.hist(s, bins=edges, density=True, histtype="stepfilled", alpha=0.3, color=colour)
        ax.hist(
            s,
            bins=edges,
            density=True,
            histtype="step",
            lw=1.3,
            color=colour,
            label=f"{name} ({s.size})",
        )
    if threshold is not None:
        t = float(threshold)
        ax.axvline(t, color="k", lw=1.2, ls="--", label=f"threshold {t:.3g}")
    ax.set_xlabel("score (higher = more bona fide)")
    ax.set_ylabel("density")
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small")
    _save(fig, path)
    return fig
