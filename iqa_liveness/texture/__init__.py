"""Texture descriptors of the colour-texture method (Boulkenafet, Komulainen & Hadid).

LBP, LPQ and CoALBP histograms of single channels, and the colour conversions and resize of
the authors' MATLAB pipeline. Conventions (bit order, bin order, valid regions, rounding) are
those of the authors' toolbox; see ``docs/colour_texture.md``.
"""

from __future__ import annotations

from .coalbp import coalbp_codes, coalbp_histogram
from .colour import imresize, rgb_to_hsv, rgb_to_ycbcr, round_half_away
from .lbp import lbp_codes, lbp_histogram, lbp_mapping
from .lpq import lpq_codes, lpq_decorrelation, lpq_histogram

__all__ = [
    "coalbp_codes",
    "coalbp_histogram",
    "imresize",
    "lbp_codes",
    "lbp_histogram",
    "lbp_mapping",
    "lpq_codes",
    "lpq_decorrelation",
    "lpq_histogram",
    "rgb_to_hsv",
    "rgb_to_ycbcr",
    "round_half_away",
]
