"""Shared scikit-learn plumbing of the feature extractors."""

from __future__ import annotations

from typing import Any

from sklearn.base import TransformerMixin

__all__ = ["ImageTransformerMixin"]


class ImageTransformerMixin(TransformerMixin):
    """A stateless, deterministic transformer whose ``X`` is a sequence of images.

    Its scikit-learn tags say so: no fit needed, input is a stack of images (3-D arrays) or
    paths (strings), not a 2-D feature matrix, and the output is float64 whatever the input.
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.non_deterministic = False
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = []
        return tags
