"""Pixel-difference measures (MSE ... MAMS): oracle values, scikit-image, degenerate cases."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import shared_path

from iqa_liveness.quality import compute_measures
from iqa_liveness.quality import pixel as px
from iqa_liveness.quality._context import QualityContext

PIXEL = ("MSE", "PSNR", "SNR", "SC", "MD", "AD", "NAE", "RAMD", "LMSE", "NXC", "MAS", "MAMS")
FLOAT32 = {"MD"}  # bob rounds these to float32


@pytest.fixture(scope="module")
def oracle():
    return json.loads(shared_path("oracles", "iqm_astronaut.json").read_text())


@pytest.fixture(scope="module")
def astronaut_values(astronaut_grey_u8):
    return {
        conv: compute_measures(astronaut_grey_u8, PIXEL, convention=conv)
        for conv in ("standard", "bob")
    }


@pytest.mark.parametrize(
    "conv, key", [("standard", "standard"), ("bob", "bob_ip_qualitymeasure_1_1_8")]
)
def test_oracle(oracle, astronaut_values, conv, key):
    checked = 0
    for name, value in astronaut_values[conv].items():
        if name not in oracle[key]:
            continue
        ref = oracle[key][name]["value"]
        if name == "AD":  # reference value is rounding noise around 0
            assert abs(value) < 1e-12 and abs(ref) < 1e-12
        else:
            rel = 1e-4 if name in FLOAT32 else 1e-5
            assert value == pytest.approx(ref, rel=rel), name
        checked += 1
    assert checked == (8 if conv == "standard" else 12)


def test_oracle_ramd_standard(oracle, astronaut_values):
    ref = oracle["standard"]["RAMD_mean_top10_abs"]["value"]
    assert astronaut_values["standard"]["RAMD"] == pytest.approx(ref, rel=1e-5)


def test_bob_md_is_float32(astronaut_values):
    v = astronaut_values["bob"]["MD"]
    assert float(np.float32(v)) == v
    assert astronaut_values["standard"]["MD"] == pytest.approx(v, rel=1e-7)


def test_standard_mas_mams_on_grey(astronaut_grey_u8, astronaut_values):
    s = astronaut_values["standard"]
    assert s["MAS"] == 1.0
    ctx = QualityContext(astronaut_grey_u8)
    assert s["MAMS"] == pytest.approx(ctx.abs_diff.mean() / 255, rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_against_scikit_image(seed):
    from skimage import data, transform
    from skimage.metrics import mean_squared_error, peak_signal_noise_ratio

    base = [data.camera(), data.coins(), data.moon()][seed].astype(np.float64)
    ref = transform.resize(base, (64, 80), preserve_range=True, anti_aliasing=True)
    rng = np.random.default_rng(seed)
    dis = np.clip(ref + rng.normal(0, 5, ref.shape), 0, 255)
    assert px.mse(ref, dis) == pytest.approx(mean_squared_error(ref, dis), rel=1e-12)
    assert px.psnr(ref, dis, peak=255) == pytest.approx(
        peak_signal_noise_ratio(ref, dis, data_range=255), rel=1e-12
    )
    assert px.psnr(ref, dis) == pytest.approx(
        peak_signal_noise_ratio(ref, dis, data_range=ref.max()), rel=1e-12
    )


def test_pure_functions_match_context():
    img = np.random.default_rng(5).uniform(0, 255, (13, 17))
    ctx = QualityContext(img)
    ref, dis = ctx.I, ctx.smoothed
    expected = {
        "MSE": px.mse(ref, dis),
        "PSNR": px.psnr(ref, dis),
        "SNR": px.snr(ref, dis),
        "SC": px.structural_content(ref, dis),
        "MD": px.maximum_difference(ref, dis),
        "AD": px.average_difference(ref, dis),
        "NAE": px.normalized_absolute_error(ref, dis),
        "RAMD": px.ramd(ref, dis),
        "LMSE": px.lmse(ref, dis),
        "NXC": px.normalized_cross_correlation(ref, dis),
        "MAS": px.mean_angle_similarity(ref, dis),
        "MAMS": px.mean_angle_magnitude_similarity(ref, dis),
    }
    for name, value in expected.items():
        fn = getattr(px, f"ctx_{name.lower()}")
        assert fn(ctx) == pytest.approx(value, rel=1e-12, abs=1e-12), name
    bob = QualityContext(img, "bob")
    assert px.ctx_ramd(bob) == pytest.approx(px.ramd_bob(ref, dis), rel=1e-12)
    assert px.ctx_mas(bob) == pytest.approx(px.mas_bob(ref, dis), rel=1e-12)
    assert px.ctx_mams(bob) == pytest.approx(px.mams_bob(ref, dis), rel=1e-12)
    assert px.ctx_psnr(bob) == pytest.approx(px.psnr(ref, dis, peak=255), rel=1e-12)


def test_lmse_laplacian_is_4_neighbour_symmetric():
    img = np.arange(12.0).reshape(3, 4) ** 2
    pad = np.pad(img, 1, mode="symmetric")
    h = pad[:-2, 1:-1] + pad[2:, 1:-1] + pad[1:-1, :-2] + pad[1:-1, 2:] - 4 * img
    np.testing.assert_allclose(px.laplacian(img), h, atol=1e-12)


IDENTICAL = {
    "MSE": 0.0, "PSNR": 100.0, "SNR": 100.0, "SC": 1.0, "MD": 0.0, "AD": 0.0, "NAE": 0.0,
    "RAMD": 0.0, "LMSE": 0.0, "NXC": 1.0, "MAS": 1.0, "MAMS": 0.0,
}  # fmt: skip


@pytest.mark.parametrize("level", [0, 1, 128, 255])
@pytest.mark.parametrize("conv", ["standard", "bob"])
def test_flat_images_give_identical_values(level, conv):
    """A flat image equals its smoothed copy: every measure takes its documented value."""
    out = compute_measures(np.full((8, 8), level, np.uint8), PIXEL, convention=conv)
    expected = dict(IDENTICAL)
    if level == 0 and conv == "bob":
        expected["MAS"] = 1.0  # zero rows: angle 0 by convention (bob: NaN)
    assert out == pytest.approx(expected, abs=1e-12)


def test_identical_pairs_and_zero_denominators():
    a = np.random.default_rng(0).uniform(0, 255, (8, 9))
    assert px.mse(a, a) == 0.0 and px.psnr(a, a) == 100.0 and px.snr(a, a) == 100.0
    z = np.zeros((8, 8))
    assert px.structural_content(z, z) == 1.0 and px.normalized_cross_correlation(z, z) == 1.0
    assert px.normalized_absolute_error(z, z) == 0.0 and px.lmse(z, z) == 0.0
    assert px.psnr(z, z + 1.0) == -100.0  # peak 0: clipped
    assert np.isfinite(px.structural_content(z + 1.0, z))  # x/0 -> x/1e-10, finite
    assert px.mas_bob(z, z) == 1.0 and px.mams_bob(z, z) == 0.0
    assert px.ramd_bob(z, z + 1.0) == 0.0  # negative signed sum: 0 (bob: NaN)


def test_tiny_image_values_are_finite():
    img = np.random.default_rng(9).integers(0, 256, (8, 8), dtype=np.uint8)
    for conv in ("standard", "bob"):
        out = compute_measures(img, PIXEL, convention=conv)
        assert all(np.isfinite(v) for v in out.values())
    with pytest.raises(ValueError):
        px.mse(np.zeros((8, 8)), np.zeros((8, 9)))


@pytest.mark.parametrize("shape", [(480, 64), (8, 8), (3, 50), (50, 3), (20, 20)])
def test_top_r_matches_sorting(shape):
    rng = np.random.default_rng(sum(shape))
    for a in (rng.normal(size=shape), np.round(rng.normal(size=shape)), np.ones(shape)):
        for r in (1, 10):
            np.testing.assert_array_equal(np.sort(px._top_r(a, r)), np.sort(a.ravel())[-r:])


def test_context_with_negative_values_uses_the_general_formulas():
    img = np.random.default_rng(4).normal(0, 50, (12, 14))  # e.g. a zero-mean input
    ctx = QualityContext(img)
    ref, dis = ctx.I, ctx.smoothed
    assert px.ctx_mas(ctx) == px.mean_angle_similarity(ref, dis) < 1.0
    assert px.ctx_mams(ctx) == px.mean_angle_magnitude_similarity(ref, dis)
    assert px.ctx_nae(ctx) == pytest.approx(px.normalized_absolute_error(ref, dis), rel=1e-12)


def test_shared_sums_equal_direct_computation(astronaut_grey_u8):
    """SC and NXC from sum I D, MD and RAMD from the row maxima of |D|, LMSE in float32."""
    ctx = QualityContext(astronaut_grey_u8)
    i, s = ctx.I, ctx.smoothed
    assert px.ctx_sc(ctx) == pytest.approx(np.vdot(i, i) / np.vdot(s, s), rel=1e-13)
    assert px.ctx_nxc(ctx) == pytest.approx(np.vdot(i, s) / np.vdot(i, i), rel=1e-13)
    a = np.sort(np.abs(i - s).ravel())
    assert px.ctx_md(ctx) == a[-1]
    assert px.ctx_ramd(ctx) == pytest.approx(a[-10:].mean(), rel=1e-15)
    h_i, h_d = px.laplacian(i), px.laplacian(i - s)
    assert px.ctx_lmse(ctx) == pytest.approx(np.vdot(h_d, h_d) / np.vdot(h_i, h_i), rel=1e-7)


@pytest.mark.parametrize("seed", range(4))
def test_ramd_top_values_with_ties(seed):
    rng = np.random.default_rng(seed)
    ref = rng.integers(0, 4, (30, 7)).astype(np.float64)  # many equal differences
    dis = np.zeros_like(ref)
    expected = np.sort(ref.ravel())[-px.RAMD_R :].mean()
    assert px.ramd(ref, dis) == expected
    ctx = QualityContext(ref)
    d = np.sort(np.abs(ctx.diff).ravel())
    assert px.ctx_ramd(ctx) == pytest.approx(d[-px.RAMD_R :].mean(), rel=1e-15)


def test_ad_is_exactly_zero_with_the_symmetric_border():
    # every pixel's weights in I' add up to 1 (normalised symmetric kernel, symmetric
    # border): sum I' = sum I, so AD is 0 and the computed mean of D is rounding noise
    from skimage import data

    from iqa_liveness.quality._context import smooth

    rng = np.random.default_rng(4)
    images = [data.astronaut(), data.camera(), rng.integers(0, 256, (37, 53)).astype(np.uint8)]
    for img in images:
        for conv in ("standard", "bob"):
            assert compute_measures(img, ["AD"], convention=conv)["AD"] == 0.0
    g = rng.uniform(0, 255, (40, 60))
    assert abs(float(np.mean(g - smooth(g)))) < 1e-12  # what is snapped: noise
    assert px.average_difference(g, smooth(g)) == 0.0
    # real differences are kept, down to small ones
    assert px.average_difference(g, g + 1e-6) == pytest.approx(-1e-6, rel=1e-6)
    assert px.average_difference(g, g - 2.0) == pytest.approx(2.0)
