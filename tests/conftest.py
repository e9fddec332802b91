"""Shared test fixtures.

``shared_dir`` points at the research data and oracles in ``../shared`` next to the clone
(override with the ``IQA_LIVENESS_SHARED`` environment variable). Tests that need it skip with
a clear reason when it is absent: a user's clone has no ``../shared``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("IQA_LIVENESS_SHARED", REPO.parent / "shared"))


def shared_path(*parts: str) -> Path:
    """Path inside ../shared, or skip the calling test when it is absent."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"{p} is absent (../shared holds research data and oracles; CI has it)")
    return p


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return shared_path()


@pytest.fixture(scope="session")
def astronaut_grey_u8():
    """The oracle input: img_as_ubyte(rgb2gray(astronaut())), 512x512 uint8."""
    from skimage import color, data, util

    return util.img_as_ubyte(color.rgb2gray(data.astronaut()))
