"""Image-quality measures of Galbally, Marcel & Fierrez (IEEE TIP 2014).

>>> from iqa_liveness.quality import QualityFeatures, compute_measures

See ``docs/measures.md`` for the formulas, sources, conventions and degenerate values.
"""

from __future__ import annotations

from ._context import QualityContext
from ._registry import PAPER_ORDER, available_measures, get_measure
from .features import QualityFeatures, compute_measures

__all__ = [
    "PAPER_ORDER",
    "QualityContext",
    "QualityFeatures",
    "available_measures",
    "compute_measures",
    "get_measure",
]
