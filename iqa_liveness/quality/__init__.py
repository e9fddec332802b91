"""Image-quality measures of Galbally, Marcel & Fierrez (IEEE TIP 2014)."""

from __future__ import annotations

from ._registry import PAPER_ORDER, available_measures, get_measure

__all__ = ["PAPER_ORDER", "available_measures", "get_measure"]
