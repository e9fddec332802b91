"""RRED: the Fourier-domain steerable pyramid, GSM entropies, oracle image, degenerate input."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest
from conftest import shared_path

from iqa_liveness.quality import rred as R
from iqa_liveness.quality._context import QualityContext


def _reference_pyramid_level(img: np.ndarray, level: int, k: int) -> np.ndarray:
    """Straightforward buildSFpyr recursion (full fft2, fftshift, crop per level)."""
    m, n = img.shape
    cm, cn = math.ceil((m + 0.5) / 2) - 1, math.ceil((n + 0.5) / 2) - 1
    yv = (np.arange(m) - cm) * 2.0 / m
    xv = (np.arange(n) - cn) * 2.0 / n
    xx, yy = np.meshgrid(xv, yv)
    rad = np.hypot(xx, yy)
    rad[cm, cn] = rad[cm, cn - 1]
    log_rad, angle = np.log2(rad), np.arctan2(yy, xx)

    def rcos(x, pos):  # sqrt of raised cosine 0 -> 1 on [pos - 0.5, pos + 0.5]
        t = np.clip(x - pos, -0.5, 0.5)
        return np.sqrt(np.cos(np.pi / 2 * t - np.pi / 4) ** 2)

    def irc(x, pos):
        return np.sqrt(1 - rcos(x, pos) ** 2)

    dft = np.fft.fftshift(np.fft.fft2(img)) * irc(log_rad, -0.5)
    order = k - 1
    const = 2 ** (2 * order) * math.factorial(order) ** 2 / (k * math.factorial(2 * order))
    for lev in range(1, level + 1):
        pos = -0.5 - lev
        if lev == level:
            out = []
            for b in range(k):
                am = math.sqrt(const) * np.cos(angle - np.pi * b / k) ** order
                band = (-1j) ** order * dft * am * rcos(log_rad, pos)
                out.append(np.fft.ifft2(np.fft.ifftshift(band)).real)
            return np.array(out)
        d = np.array(dft.shape)
        lostart = (np.ceil((d + 0.5) / 2) - np.ceil((np.ceil((d - 0.5) / 2) + 0.5) / 2)).astype(int)
        loend = lostart + np.ceil((d - 0.5) / 2).astype(int)
        sl = (slice(lostart[0], loend[0]), slice(lostart[1], loend[1]))
        log_rad, angle, dft = log_rad[sl], angle[sl], dft[sl]
        dft = dft * irc(log_rad, pos)
    raise AssertionError


@pytest.mark.parametrize("shape", [(64, 64), (57, 90), (40, 33)])
@pytest.mark.parametrize("level", [1, 2, 3])
def test_pyramid_matches_buildsfpyr_recursion(shape, level):
    img = np.random.default_rng(sum(shape)).uniform(0, 255, shape)
    ref = _reference_pyramid_level(img, level, 6)
    got = R.steerable_subbands(img, level, 6)
    assert got.shape == ref.shape
    # our bands are normalised as full-resolution filter responses
    scale = got.shape[1] * got.shape[2] / (shape[0] * shape[1])
    np.testing.assert_allclose(got, ref * scale, atol=1e-9 * np.abs(ref).max())


def test_orientation_selectivity():
    x = np.arange(128.0)
    stripes = np.tile(100 + 50 * np.cos(2 * np.pi * x / 16), (128, 1))  # varies along columns
    bands = R.steerable_subbands(stripes, 3, 6)
    energy = (bands**2).sum(axis=(1, 2))
    assert energy.argmax() == 0 and energy[3] < 1e-20 * energy[0]
    assert R.steerable_subbands(stripes.T, 3, 6)[3].std() > 1  # rows: orientation 3 (pi/2)


def test_gsm_entropies_by_hand():
    rng = np.random.default_rng(0)
    band = rng.normal(0, 2.0, (30, 30))
    s2, h = R.gsm_entropies(band)
    assert s2.shape == (10, 10)
    # white Gaussian subband: K_U ~ 4 I, so s^2 ~ 1 on average and h ~ 9/2 log2(2 pi e (4 s2 + 0.1))
    assert s2.mean() == pytest.approx(1.0, rel=0.1)
    y = band[:3, :3].ravel()
    patches = np.lib.stride_tricks.sliding_window_view(band, (3, 3)).reshape(-1, 9)
    k = np.cov(patches.T, bias=True)
    lam = np.linalg.eigvalsh(k)
    s2_00 = y @ np.linalg.solve(k, y) / 9
    assert s2[0, 0] == pytest.approx(s2_00, rel=1e-9)
    assert h[0, 0] == pytest.approx(0.5 * np.log2(2 * np.pi * np.e * (s2_00 * lam + 0.1)).sum())


def test_astronaut_value_and_relation_to_proxy(astronaut_grey_u8):
    oracle = json.loads(shared_path("oracles", "iqm_astronaut.json").read_text())
    proxy = oracle["cross_checks_unvalidated"]["RRED_proxy"]["value"]  # 0.130553
    x = astronaut_grey_u8.astype(np.float64)
    ctx = QualityContext(x)
    got = R.ctx_rred(ctx)
    assert got == pytest.approx(R.rred(x, ctx.smoothed), rel=1e-12)
    assert got == pytest.approx(0.0754049, rel=1e-5)
    # the proxy's conventions on our pyramid (one orientation, entropy without the 1/2 and
    # with a natural-log constant: sum_i [log2(s2 l_i + 0.1) + ln(2 pi e)]) land near it
    rb = R.steerable_subbands(x)[3]
    db = R.steerable_subbands(ctx.smoothed)[3]

    def skvideo_style(band):
        s2, _ = R.gsm_entropies(band)
        p = np.lib.stride_tricks.sliding_window_view(band[:63, :63], (3, 3)).reshape(-1, 9)
        lam = np.linalg.eigvalsh(np.cov(p.T, bias=True))
        q = sum(np.log2(s2 * v + 0.1) + np.log(2 * np.pi * np.e) for v in lam if v > 0)
        return q * np.log2(1 + s2)

    value = float(np.mean(np.abs(skvideo_style(rb) - skvideo_style(db))))
    assert value == pytest.approx(proxy, rel=0.1)


def test_monotone_and_degenerate():
    from skimage import data

    img = data.camera().astype(np.float64)[::2, ::2]
    values = [R.rred(img, cv2.GaussianBlur(img, (0, 0), s)) for s in (0.5, 1.0, 2.0)]
    assert 0 < values[0] < values[1] < values[2]
    assert R.rred(img, img) == 0.0
    flat = np.full((64, 64), 50.0)
    assert R.rred(flat, flat) == 0.0
    assert R.ctx_rred(QualityContext(flat)) == 0.0
    rng = np.random.default_rng(2)
    for shape in [(8, 8), (9, 13), (20, 200)]:  # scale 4 does not fit: a finer scale is used
        a = rng.uniform(0, 255, shape)
        assert np.isfinite(R.ctx_rred(QualityContext(a)))
    with pytest.raises(Exception, match="one shape"):
        R.rred(img, img[1:])


@pytest.mark.parametrize("k, shape", [(3, (30, 27)), (3, (3, 6)), (2, (8, 5)), (4, (12, 16))])
def test_patch_moments_equal_direct_sums(k, shape):
    rng = np.random.default_rng(k)
    y = rng.normal(0, 3, (2, *shape)) + np.array([0.0, 5.0])[:, None, None]
    mean, second = R._patch_moments(y, k)
    for b in range(2):
        p = np.lib.stride_tricks.sliding_window_view(y[b], (k, k)).reshape(-1, k * k)
        np.testing.assert_allclose(mean[b], p.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(second[b], p.T @ p / len(p), rtol=1e-12)
        np.testing.assert_array_equal(second[b], second[b].T)  # exactly symmetric


def test_same_value_whether_or_not_the_spectral_measures_ran_first():
    from iqa_liveness.quality import get_measure

    x = np.random.default_rng(5).uniform(0, 255, (72, 96))
    alone = R.ctx_rred(QualityContext(x))
    ctx = QualityContext(x)
    get_measure("SME").resolve()(ctx)  # leaves the spectra of I and I' in the context
    assert R.ctx_rred(ctx) == alone == R.rred(x, ctx.smoothed)


def test_a_band_that_is_zero_in_one_image_and_rounding_noise_in_the_other():
    # a ramp has no vertical detail: one orientation is exactly 0 for I and rounding noise
    # for I' (whose spectrum is derived from I's); s^2 does not depend on a band's scale, so
    # noise must not count as detail. RRED of I vs I' is then as small as the true border
    # difference, the same for the transposed ramp, and moves little under a 1e-9 change.
    from iqa_liveness.quality import compute_measures
    from iqa_liveness.quality._context import smooth

    ramp = np.tile(np.arange(64.0) * 4, (48, 1))
    value = compute_measures(ramp / 255.0, ["RRED"])["RRED"]
    assert value < 1e-3
    assert value == pytest.approx(R.rred(ramp, smooth(ramp)), rel=1e-6)
    assert compute_measures(ramp.T / 255.0, ["RRED"])["RRED"] == pytest.approx(value, rel=1e-6)
    noisy = ramp + 1e-7 * np.random.default_rng(0).standard_normal(ramp.shape)
    assert compute_measures(np.clip(noisy / 255.0, 0, 1), ["RRED"])["RRED"] < 1e-3
