"""SSIM and VIF: oracle values, scikit-image, a VIFp transcription, degenerate cases."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import shared_path
from scipy.signal import convolve2d
from skimage import data, transform
from skimage.metrics import structural_similarity

from iqa_liveness.quality import compute_measures
from iqa_liveness.quality import structural as st
from iqa_liveness.quality._context import QualityContext


@pytest.fixture(scope="module")
def oracle():
    return json.loads(shared_path("oracles", "iqm_astronaut.json").read_text())


@pytest.mark.parametrize(
    "conv, key", [("standard", "standard"), ("bob", "bob_ip_qualitymeasure_1_1_8")]
)
def test_oracle(oracle, astronaut_grey_u8, conv, key):
    out = compute_measures(astronaut_grey_u8, ["SSIM", "VIF"], convention=conv)
    assert out["SSIM"] == pytest.approx(oracle[key]["SSIM"]["value"], rel=1e-5)
    assert out["VIF"] == pytest.approx(oracle[key]["VIF"]["value"], rel=1e-5)


def _skimage_ssim(a, b):
    return structural_similarity(
        a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
    )


def _vifp_reference(ref, dist, sigma_n2=2.0):
    """Straight transcription of Sheikh & Bovik's vifp (4 scales, 'valid' filtering), float64."""

    def window(n):
        x = np.arange(n) - (n - 1) / 2
        g = np.exp(-(x**2) / (2 * (n / 5) ** 2))
        k = np.outer(g, g)
        return k / k.sum()

    def valid(img, k):
        return convolve2d(img, k, mode="valid")

    num = den = 0.0
    for scale in range(1, 5):
        n = 2 ** (4 - scale + 1) + 1
        k = window(n)
        if scale > 1:
            ref, dist = valid(ref, k)[::2, ::2], valid(dist, k)[::2, ::2]
        mu1, mu2 = valid(ref, k), valid(dist, k)
        s1 = valid(ref * ref, k) - mu1**2
        s2 = valid(dist * dist, k) - mu2**2
        s12 = valid(ref * dist, k) - mu1 * mu2
        s1[s1 < 0], s2[s2 < 0] = 0, 0
        g = s12 / (s1 + 1e-10)
        sv = s2 - g * s12
        m = s1 < 1e-10
        g[m], sv[m], s1[m] = 0, s2[m], 0
        m = s2 < 1e-10
        g[m], sv[m] = 0, 0
        m = g < 0
        sv[m], g[m] = s2[m], 0
        sv[sv <= 1e-10] = 1e-10
        num += np.log10(1 + g**2 * s1 / (sv + sigma_n2)).sum()
        den += np.log10(1 + s1 / sigma_n2).sum()
    return num / den


def _images():
    rng = np.random.default_rng(7)
    out = []
    for img in (data.camera(), data.coins(), data.moon()):
        out.append(transform.resize(img.astype(float), (72, 88), preserve_range=True))
    face = transform.resize(data.astronaut()[30:230, 150:330, 0].astype(float), (70, 64),
                            preserve_range=True)  # fmt: skip
    out.append(np.pad(face, 12, constant_values=255.0))  # flat saturated border
    out.append(np.clip(rng.normal(120, 40, (66, 70)), 0, 255))
    return out


@pytest.mark.parametrize("k", range(5))
def test_ssim_matches_scikit_image(k):
    ref = _images()[k]
    rng = np.random.default_rng(k)
    dis = np.clip(ref + rng.normal(0, 12, ref.shape), 0, 255)
    assert st.ssim(ref, dis) == pytest.approx(_skimage_ssim(ref, dis), rel=1e-10)
    ctx = QualityContext(ref)  # float32 path on (I, I')
    assert st.ctx_ssim(ctx) == pytest.approx(_skimage_ssim(ref, ctx.smoothed), rel=1e-6)


@pytest.mark.parametrize("k", range(5))
def test_vif_matches_reference_transcription(k):
    ref = _images()[k]
    rng = np.random.default_rng(k)
    dis = np.clip(ref + rng.normal(0, 12, ref.shape), 0, 255)
    assert st.vif(ref, dis) == pytest.approx(_vifp_reference(ref, dis), rel=1e-7)
    ctx = QualityContext(ref)  # float32 path on (I, I')
    assert st.ctx_vif(ctx) == pytest.approx(_vifp_reference(ref, ctx.smoothed), rel=1e-5)


def test_bob_ssim_bug():
    ref = _images()[0]
    ctx = QualityContext(ref, "bob")
    dis = ctx.smoothed
    mu = [st._blur(a, 11, 1.5) for a in (ref, dis)]
    s11 = st._blur(ref * ref, 11, 1.5) - mu[0] ** 2
    s22_bug = st._blur(dis * dis, 11, 1.5) - mu[0] ** 2
    s12 = st._blur(ref * dis, 11, 1.5) - mu[0] * mu[1]
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    m = ((2 * mu[0] * mu[1] + c1) * (2 * s12 + c2)) / (
        (mu[0] ** 2 + mu[1] ** 2 + c1) * (s11 + s22_bug + c2)
    )
    assert st.ctx_ssim(ctx) == pytest.approx(m[5:-5, 5:-5].mean(), rel=1e-12)
    assert st.ssim_bob(ref, dis) == st.ctx_ssim(ctx)


@pytest.mark.parametrize("conv", ["standard", "bob"])
@pytest.mark.parametrize("shape", [(8, 8), (12, 30), (64, 48)])
@pytest.mark.parametrize("level", [0, 77, 255])
def test_flat_images(conv, shape, level):
    out = compute_measures(np.full(shape, level, np.uint8), ["SSIM", "VIF"], convention=conv)
    assert out == {"SSIM": 1.0, "VIF": 1.0}


def test_identical_pairs():
    a = _images()[4]
    assert st.ssim(a, a) == 1.0 and st.vif(a, a) == 1.0 and st.ssim_bob(a, a) == 1.0


def test_tiny_images():
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (8, 8)).astype(float)
    ctx = QualityContext(img)
    # no 11x11 window inside: SSIM averages the whole map (symmetric border)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    dis = ctx.smoothed
    mu1, mu2 = st._blur(img, 11, 1.5), st._blur(dis, 11, 1.5)
    s11 = st._blur(img * img, 11, 1.5) - mu1**2
    s22 = st._blur(dis * dis, 11, 1.5) - mu2**2
    s12 = st._blur(img * dis, 11, 1.5) - mu1 * mu2
    m = ((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1**2 + mu2**2 + c1) * (s11 + s22 + c2))
    assert st.ctx_ssim(ctx) == pytest.approx(m.mean(), rel=1e-6)
    # no 17x17 window fits: no scale, VIF 1 by definition
    assert st.ctx_vif(ctx) == 1.0
    # 20x20: scale 1 only (scale 2's 9x9 window does not fit the 6x6 downsampled image)
    img = rng.integers(0, 256, (20, 20)).astype(float)
    dis = np.clip(img + rng.normal(0, 10, img.shape), 0, 255)
    num, den = st._vif_scale(st._planes(img, img - dis), 17, 3.4, False)
    assert st.vif(img, dis) == pytest.approx(num / den, rel=1e-12)
    assert np.isfinite(st.vif(img, dis))


def test_shape_mismatch():
    with pytest.raises(ValueError):
        st.ssim(np.zeros((8, 8)), np.zeros((8, 9)))
