"""JQI (Wang, Sheikh & Bovik 2002): cross-check values, block geometry, degenerate inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import shared_path

from iqa_liveness.quality import jpeg as J
from iqa_liveness.quality._context import QualityContext


def test_cross_check_astronaut(astronaut_grey_u8):
    oracle = json.loads(shared_path("oracles", "iqm_astronaut.json").read_text())
    ref = oracle["cross_checks_unvalidated"]["JQI"]
    x = astronaut_grey_u8.astype(np.float64)
    b, a, z = J.jqi_features(x)
    # B=6.60812, A=6.44112, Z=0.294351 in the cross-check's detail
    assert (b, a, z) == pytest.approx((6.60812, 6.44112, 0.294351), abs=1e-5)
    assert J.jqi(x) == pytest.approx(ref["value"], rel=1e-7)
    assert J.ctx_jqi(QualityContext(x)) == J.jqi(x)


def test_features_by_hand():
    # 8x8 constant blocks with values 0..15: no activity, no zero crossing; horizontal jumps
    # of 1 at the 3 interior boundaries (columns), vertical of 4
    img = np.kron(np.arange(16.0).reshape(4, 4), np.ones((8, 8)))
    b, a, z = J.jqi_features(img)
    assert b == pytest.approx((1 + 4) / 2)
    assert z == 0
    # A = (8 mean|d| - B) / 7 with mean|d| over the 31 differences: slightly negative here,
    # where the original's power law gives NaN; the floor keeps the score finite
    assert a == pytest.approx(((8 * 3 / 31 - 1) / 7 + (8 * 12 / 31 - 4) / 7) / 2)
    assert a < 0 and np.isfinite(J.jqi(img))
    # only boundary columns 8, 16, ..., 8*(floor(N/8)-1) (1-based) count: a jump at column
    # 40 of a 41-wide image is not a block boundary of the original
    x = np.zeros((16, 41))
    x[:, 40:] = 10.0
    bh = J._axis_features(J._horizontal_differences(x), 1, 41)[0]
    assert bh == 0
    x[:, 32:] = 10.0
    assert J._axis_features(J._horizontal_differences(x), 1, 41)[0] == pytest.approx(10 / 4)
    # the zero column keeps row ends apart: rows alternately rising and falling, so the
    # last difference of a row (+1) and the first of the next (-1) are no crossing
    ramp = np.arange(16.0)
    y = np.array([ramp if r % 2 == 0 else ramp[::-1] for r in range(16)])
    assert J._axis_features(J._horizontal_differences(y), 1, 16)[2] == 0


def test_zero_crossings():
    x = np.tile([0.0, 1.0], (16, 8))  # alternating columns: every horizontal pair crosses
    _, _, z = J.jqi_features(x)
    assert z == pytest.approx(0.5)  # horizontal 1, vertical 0 (no vertical change)


def test_score_formula_and_blockiness_direction():
    rng = np.random.default_rng(0)
    smooth = rng.normal(128, 20, (64, 64))
    blocky = np.kron(smooth[::8, ::8], np.ones((8, 8))) + rng.normal(0, 1, (64, 64))
    assert J.jqi(blocky) < J.jqi(smooth)
    b, a, z = J.jqi_features(smooth)
    expected = -245.8909 + 261.9373 * b**-0.02398886 * a**0.01601664 * z**0.00642859
    assert J.jqi(smooth) == pytest.approx(expected)


def test_degenerate_values():
    assert J.jqi(np.full((32, 32), 77.0)) == pytest.approx(
        -245.8909 + 261.9373 * 1e-6 ** ((-239.8886 + 160.1664 + 64.2859) / 1e4)
    )
    assert J.jqi(np.full((32, 32), 77.0)) == pytest.approx(21.6925, abs=1e-4)
    assert J.jqi(np.zeros((15, 100))) == J.JQI_TOO_SMALL == -2.0
    assert J.ctx_jqi(QualityContext(np.zeros((100, 8)))) == -2.0
    with pytest.raises(ValueError):
        J.jqi_features(np.zeros((8, 100)))
    rng = np.random.default_rng(1)
    for shape in [(16, 16), (17, 300), (33, 19)]:
        assert np.isfinite(J.jqi(rng.uniform(0, 255, shape)))


def test_zero_crossing_rate_equals_sign_definition():
    rng = np.random.default_rng(7)
    x = np.round(rng.uniform(0, 255, (40, 56)) / 40) * 40  # many equal neighbours (d = 0)
    d = np.diff(x, axis=1)
    s = np.sign(d)
    z_h = np.mean((s[:, :-1] * s[:, 1:]) < 0)
    d = np.diff(x, axis=0)
    s = np.sign(d)
    z_v = np.mean((s[:-1] * s[1:]) < 0)
    assert J.jqi_features(x)[2] == pytest.approx((z_h + z_v) / 2, rel=1e-15)


@pytest.mark.parametrize("shape", [(16, 20), (41, 17), (480, 640), (63, 64)])
def test_vertical_features_equal_the_difference_definition(shape):
    # the vertical B, A, Z from row comparisons equal _axis_features of x[1:] - x[:-1]
    rng = np.random.default_rng(shape[0])
    x = np.round(rng.uniform(0, 255, shape) / 30) * 30  # ties: zero differences
    got = J._vertical_features(x)
    ref = J._axis_features(x[1:] - x[:-1], 0, shape[0])
    assert got == pytest.approx(ref, rel=1e-13, abs=1e-13)
