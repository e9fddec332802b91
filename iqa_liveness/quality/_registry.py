"""The one registry of quality measures: it fixes their names and the feature-vector order.

The order is the paper's (Galbally, Marcel & Fierrez, IEEE TIP 2014, Table I). Each entry
names the family module and the *context function* that computes the measure from a shared
:class:`~iqa_liveness.quality._context.QualityContext` (so I', spectra, gradients... are
computed once per image). A measure whose function does not exist yet is simply not
*available*; :data:`PAPER_ORDER` never changes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._context import QualityContext

__all__ = ["PAPER_ORDER", "Measure", "available_measures", "get_measure"]


@dataclass(frozen=True)
class Measure:
    """One quality measure of the registry."""

    name: str
    module: str  # family module inside iqa_liveness.quality
    function: str  # context function: (QualityContext) -> float
    full_reference: bool

    def resolve(self) -> Callable[[QualityContext], float] | None:
        """The context function, or ``None`` if its module or function does not exist."""
        full = f"iqa_liveness.quality.{self.module}"
        try:
            mod = importlib.import_module(full)
        except ModuleNotFoundError as exc:
            if exc.name == full:  # the family module itself is absent: not implemented yet
                return None
            raise
        return getattr(mod, self.function, None)


# name, family module, context function, full reference?
_TABLE: tuple[tuple[str, str, str, bool], ...] = (
    ("MSE", "pixel", "ctx_mse", True),
    ("PSNR", "pixel", "ctx_psnr", True),
    ("SNR", "pixel", "ctx_snr", True),
    ("SC", "pixel", "ctx_sc", True),
    ("MD", "pixel", "ctx_md", True),
    ("AD", "pixel", "ctx_ad", True),
    ("NAE", "pixel", "ctx_nae", True),
    ("RAMD", "pixel", "ctx_ramd", True),
    ("LMSE", "pixel", "ctx_lmse", True),
    ("NXC", "pixel", "ctx_nxc", True),
    ("MAS", "pixel", "ctx_mas", True),
    ("MAMS", "pixel", "ctx_mams", True),
    ("TED", "edges", "ctx_ted", True),
    ("TCD", "edges", "ctx_tcd", True),
    ("SME", "spectral", "ctx_sme", True),
    ("SPE", "spectral", "ctx_spe", True),
    ("GME", "edges", "ctx_gme", True),
    ("GPE", "edges", "ctx_gpe", True),
    ("SSIM", "structural", "ctx_ssim", True),
    ("VIF", "structural", "ctx_vif", True),
    ("RRED", "rred", "ctx_rred", True),
    ("JQI", "jpeg", "ctx_jqi", False),
    ("HLFI", "spectral", "ctx_hlfi", False),
    ("BIQI", "biqi", "ctx_biqi", False),
    ("NIQE", "niqe", "ctx_niqe", False),
)

#: All 25 measure names in the paper's order.
PAPER_ORDER: tuple[str, ...] = tuple(row[0] for row in _TABLE)
_MEASURES = {row[0]: Measure(*row) for row in _TABLE}


def get_measure(name: str) -> Measure:
    """Return the registry entry of one measure (``KeyError`` with the known names if absent)."""
    try:
        return _MEASURES[name]
    except KeyError:
        known = ", ".join(PAPER_ORDER)
        raise KeyError(f"unknown quality measure {name!r}; known: {known}") from None


def available_measures() -> tuple[str, ...]:
    """Names of the measures implemented in this installation, in the paper's order.

    A measure is available when its family module exists and defines its context function.
    Only a *missing module* hides a measure: an ``ImportError`` raised inside an existing
    module (a broken dependency, a bug) propagates, so it is never silently dropped.

    Examples
    --------
    >>> set(available_measures()) <= set(PAPER_ORDER)
    True
    """
    return tuple(name for name in PAPER_ORDER if _MEASURES[name].resolve() is not None)
