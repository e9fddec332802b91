"""NIQE: oracle value, MATLAB imresize, model fit / save / load, degenerate inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import shared_path

from iqa_liveness._imresize import contributions, resize_axis, resize_matrix
from iqa_liveness.errors import ConfigurationError, ModelFileError
from iqa_liveness.quality import niqe as N
from iqa_liveness.quality._context import QualityContext


@pytest.fixture(scope="module")
def oracle():
    return json.loads(shared_path("oracles", "iqm_astronaut.json").read_text())


def test_niqe_oracle_astronaut(astronaut_grey_u8, oracle):
    ref = oracle["standard"]["NIQE"]["value"]
    got = N.niqe(astronaut_grey_u8.astype(np.float64))
    assert got == pytest.approx(ref, rel=1e-3)
    # the context function computes it on I, not I'
    ctx = QualityContext(astronaut_grey_u8.astype(np.float64))
    assert N.ctx_niqe(ctx) == got


def test_shipped_model_is_the_official_one():
    m = N.default_niqe_model()
    assert m.block_size == 96
    assert m.mu.shape == (36,) and m.cov.shape == (36, 36)
    # first values of the LIVE modelparameters.mat mu_prisparam
    assert m.mu[:3] == pytest.approx([2.60131368, 0.90570272, 0.81204778], abs=1e-8)
    np.testing.assert_allclose(m.cov, m.cov.T)
    off = shared_path("data", "niqe", "niqe_pris_params.npz")
    with np.load(off, allow_pickle=False) as z:
        np.testing.assert_array_equal(m.mu, z["mu_pris_param"][0])
        np.testing.assert_array_equal(m.cov, z["cov_pris_param"])
        g = N._gaussian_1d()
        np.testing.assert_allclose(np.outer(g, g), z["gaussian_window"], atol=1e-15)


def test_imresize_matlab_half_weights():
    # MATLAB imresize(x, 0.5) bicubic kernel at scale 0.5: these 8 weights (sum 1)
    w, _, _ = contributions(16, 8, 0.5)
    expected = [-0.01171875, -0.03515625, 0.11328125, 0.43359375]
    np.testing.assert_allclose(w[3], expected + expected[::-1], atol=1e-15)
    # impulse response of an interior sample, and symmetric (edge repeated) border
    x = np.zeros((16, 1))
    x[8] = 1.0
    col = N.imresize(np.hstack([x, x]), 0.5)[:, 0]
    np.testing.assert_allclose(col[2:6], [-0.01171875, 0.11328125, 0.43359375, -0.03515625])
    ramp = np.arange(12.0)[:, None] * np.ones((1, 4))
    out = N.imresize(ramp, 0.5)
    assert out.shape == (6, 2)
    # interior of a linear ramp: exact midpoints 0.5, 2.5, ...
    np.testing.assert_allclose(out[2:4, 0], [4.5, 6.5], atol=1e-12)


def test_imresize_polyphase_path_agrees_with_the_weighted_sum():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 255, (40, 30))
    fast = N.imresize(x, 0.5)
    w, _, src = contributions(40, 20, 0.5)
    rows = sum(w[:, k, None] * x[src[:, k]] for k in range(w.shape[1]))
    w, _, src = contributions(30, 15, 0.5)
    ref = sum(w[None, :, k] * rows[:, src[:, k]] for k in range(w.shape[1]))
    np.testing.assert_allclose(fast, ref, atol=1e-12)
    assert N.imresize(x, 0.3).shape == (12, 9)
    # the dense matrix of the colour-texture resize is the same operator
    np.testing.assert_allclose(
        resize_matrix(40, 20) @ x @ resize_matrix(30, 15).T, fast, atol=1e-12
    )


def test_aggd_recovers_gaussian_shape():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 200_000))
    m = np.minimum(x, 0)
    sums = (
        np.array([(x < 0).sum()], float),
        np.array([(x > 0).sum()], float),
        np.array([(m * m).sum()]),
        np.array([(np.maximum(x, 0) ** 2).sum()]),
        np.array([np.abs(x).sum()]),
    )
    pos, bl, br, valid = N._aggd_fit(x.shape[1], *sums)
    assert valid[0]
    assert N._GAM_GRID[pos[0]] == pytest.approx(2.0, abs=0.03)
    # beta = sigma * sqrt(Gamma(1/2)/Gamma(3/2)) = sqrt(2) for a unit Gaussian
    assert bl[0] == pytest.approx(np.sqrt(2), rel=0.02)
    assert br[0] == pytest.approx(np.sqrt(2), rel=0.02)


def test_features_shape_and_crop():
    rng = np.random.default_rng(0)
    f = N.niqe_features(rng.uniform(0, 255, (200, 300)))
    assert f.shape == (2 * 3, 36)
    assert np.all(np.isfinite(f))


def test_flat_and_tiny_images_are_finite_and_documented():
    m = N.default_niqe_model()
    assert N.niqe(np.full((120, 130), 77.0)) == m.degenerate_value()
    assert m.degenerate_value() == pytest.approx(40.4379, abs=1e-3)
    rng = np.random.default_rng(3)
    for shape in [(8, 8), (9, 13), (50, 200), (95, 97)]:
        v = N.niqe(rng.uniform(0, 255, shape))
        assert np.isfinite(v) and v >= 0
    # a small image is one block of its even-rounded size
    assert N.niqe_features(rng.uniform(0, 255, (51, 200))).shape == (2, 36)


def test_constant_blocks_are_left_out():
    rng = np.random.default_rng(5)
    img = np.full((96, 288), 10.0)
    img[:, :96] = rng.uniform(0, 255, (96, 96))  # only the first block is textured
    feats = N.niqe_features(img)
    assert np.isfinite(feats[0]).all() and np.isnan(feats[2]).all()
    assert np.isnan(feats[1]).any()  # the middle block is constant at the second scale
    # one usable block: its features are the mean, the image covariance is zero
    m = N.default_niqe_model()
    assert N.niqe(img) == pytest.approx(m.distance(feats[0], np.zeros((36, 36))))


def test_fit_save_load_roundtrip(tmp_path):
    from skimage import data

    images = [data.camera(), data.moon(), data.brick()]
    model = N.fit_niqe_model(images, description="skimage test images")
    assert model.n_blocks >= 10
    # the fitted mean is the mean of the sharpest blocks' features
    feats = [N._features_and_sharpness(im.astype(float), 96) for im in images]
    rows = np.vstack([f[s >= 0.75 * s.max()] for f, s in feats])
    np.testing.assert_allclose(model.mu, rows.mean(axis=0))
    np.testing.assert_allclose(model.cov, np.cov(rows, rowvar=False))
    path = tmp_path / "camera_niqe.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as z:  # no pickle inside
        assert str(z["format"]) == "iqa-liveness-niqe-model"
    back = N.NIQEModel.load(path)
    np.testing.assert_array_equal(back.mu, model.mu)
    np.testing.assert_array_equal(back.cov, model.cov)
    assert back.n_blocks == model.n_blocks and back.description == "skimage test images"
    img = data.camera().astype(float)
    # the model is used: a camera-fitted model finds the camera image closer than LIVE's
    assert N.niqe(img, back) == N.niqe(img, str(path))
    assert N.niqe(img, back) != N.niqe(img)


def test_quality_features_takes_a_model(tmp_path):
    from skimage import data

    from iqa_liveness.quality.features import QualityFeatures

    model = N.fit_niqe_model([data.camera(), data.brick()])
    img = data.camera()
    default = QualityFeatures(measures=["NIQE"]).fit_transform([img])[0, 0]
    own = QualityFeatures(measures=["NIQE"], niqe_model=model).fit_transform([img])[0, 0]
    assert default == pytest.approx(N.niqe(img.astype(float)))
    assert own == pytest.approx(N.niqe(img.astype(float), model))


def test_bad_models_and_parameters(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, mu=np.zeros(3))
    with pytest.raises(ModelFileError):
        N.NIQEModel.load(bad)
    with pytest.raises(ModelFileError):
        N.NIQEModel.load(tmp_path / "missing.npz")
    with pytest.raises(ModelFileError):
        N.NIQEModel(mu=np.zeros(36), cov=np.full((36, 36), np.nan))
    with pytest.raises(ConfigurationError):
        N.niqe(np.zeros((100, 100)), model=3)
    with pytest.raises(ConfigurationError):
        N.fit_niqe_model([np.full((100, 100), 5, np.uint8)])
    with pytest.raises(ConfigurationError):
        N.niqe_features(np.zeros((100, 100)), block_size=95)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 11])
def test_imresize_tiny_inputs_follow_matlab_mirror(n):
    rng = np.random.default_rng(n)
    x = rng.uniform(0, 1, (n, 3))
    out_len = -(-n // 2)
    w, raw, _ = contributions(n, out_len, 0.5)
    aux = np.concatenate([np.arange(n), np.arange(n - 1, -1, -1)])  # MATLAB's index mirror
    idx = aux[np.mod(raw, aux.size)]
    ref = sum(w[:, k, None] * x[idx[:, k]] for k in range(w.shape[1]))
    np.testing.assert_allclose(resize_axis(x, out_len, 0.5, 0), ref, atol=1e-14)
    np.testing.assert_allclose(
        resize_axis(np.ascontiguousarray(x.T), out_len, 0.5, 1), ref.T, atol=1e-14
    )


def _loop_features(coef: np.ndarray, b: int) -> np.ndarray:
    """Plain transcription of computefeature.m / estimateaggdparam.m, one block at a time."""
    from scipy.special import gamma

    gam = 0.2 + 0.001 * np.arange(9801)
    r_gam = gamma(2 / gam) ** 2 / (gamma(1 / gam) * gamma(3 / gam))

    def aggd(v):
        left = np.sqrt(np.mean(v[v < 0] ** 2))
        right = np.sqrt(np.mean(v[v > 0] ** 2))
        g = left / right
        rhat = np.mean(np.abs(v)) ** 2 / np.mean(v**2)
        rn = rhat * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
        alpha = gam[np.argmin((r_gam - rn) ** 2)]
        k = np.sqrt(gamma(1 / alpha) / gamma(3 / alpha))
        return alpha, left * k, right * k

    rows = []
    for i in range(coef.shape[0] // b):
        for j in range(coef.shape[1] // b):
            blk = coef[i * b : (i + 1) * b, j * b : (j + 1) * b]
            a, bl, br = aggd(blk.ravel())
            f = [a, (bl + br) / 2]
            for sh in ((0, 1), (1, 0), (1, 1), (1, -1)):
                a, bl, br = aggd((blk * np.roll(blk, sh, axis=(0, 1))).ravel())
                f += [a, (br - bl) * gamma(2 / a) / gamma(1 / a), bl, br]
            rows.append(f)
    return np.array(rows)


def test_vectorised_features_equal_the_block_loop():
    from skimage import data

    img = data.camera().astype(np.float64)[:192, 100:388]  # 2 x 3 blocks
    coef, _ = N.mscn(img)
    ref1 = _loop_features(coef, 96)
    coef2, _ = N.mscn(N.imresize(img, 0.5))
    ref2 = _loop_features(coef2, 48)
    got = N.niqe_features(img)
    np.testing.assert_allclose(got, np.hstack([ref1, ref2]), rtol=1e-10, atol=1e-12)


def _pair_product(c, bh, bw, dr, dc):
    """The definition: ``block .* circshift(block, [dr dc])`` for every bh x bw block."""
    out = np.empty_like(c)
    for i in range(0, c.shape[0], bh):
        for j in range(0, c.shape[1], bw):
            blk = c[i : i + bh, j : j + bw]
            out[i : i + bh, j : j + bw] = blk * np.roll(blk, (dr, dc), axis=(0, 1))
    return out


@pytest.mark.parametrize("bh, bw", [(1, 1), (1, 3), (3, 1), (2, 2), (4, 6), (5, 7)])
def test_block_stats_equal_the_product_images(bh, bw):
    # the sums of the AGGD fit from dot products of |c|, c^2, c|c|, sign(c) agree with the
    # product images of the in-block circular shifts, also with exact zeros and one-element
    # blocks
    rng = np.random.default_rng(bh * 10 + bw)
    c = rng.normal(size=(3 * bh, 2 * bw))
    c[rng.uniform(size=c.shape) < 0.2] = 0.0
    arrays = [c] + [_pair_product(c, bh, bw, dr, dc) for dr, dc in N._SHIFTS]
    blocks = [p.reshape(3, bh, 2, bw).transpose(0, 2, 1, 3).reshape(6, bh * bw) for p in arrays]
    ref = [
        np.concatenate([(b < 0).sum(axis=1) for b in blocks]),
        np.concatenate([(b > 0).sum(axis=1) for b in blocks]),
        np.concatenate([(np.minimum(b, 0) ** 2).sum(axis=1) for b in blocks]),
        np.concatenate([(np.maximum(b, 0) ** 2).sum(axis=1) for b in blocks]),
        np.concatenate([np.abs(b).sum(axis=1) for b in blocks]),
    ]
    got = N._block_stats(c, bh, bw)
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1], ref[1])
    for g, r in zip(got[2:], ref[2:]):
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "shape", [(480, 576), (96, 200), (20, 30), (26, 22), (10, 14), (8, 8), (6, 10), (9, 12)]
)
def test_halve_equals_imresize(shape):
    # the matrix-product halving of the second scale is imresize(., 0.5) up to rounding,
    # also with a last group of fewer rows, on a strided view, and for the fallback sizes
    x = np.random.default_rng(sum(shape)).uniform(0, 255, (shape[0], shape[1] + 3))[:, 3:]
    np.testing.assert_allclose(N._halve(x), N.imresize(x, 0.5), rtol=0, atol=1e-12)
    flat = np.full(shape, 255.0)
    np.testing.assert_array_equal(N._halve(flat), N.imresize(flat, 0.5))


def test_distance_is_the_pinv_quadratic_form():
    # well-conditioned model (linear solve) and a rank-deficient one (eigendecomposition
    # with pinv's cut-off) both give sqrt(d' pinv((S_model + S) / 2) d)
    rng = np.random.default_rng(4)
    m = N.default_niqe_model()
    feats = rng.normal(size=(40, 36))
    mu, cov = feats.mean(axis=0), np.cov(feats, rowvar=False)
    for model in (m, N.NIQEModel(mu=m.mu, cov=np.outer(m.mu, m.mu))):
        d = model.mu - mu
        ref = np.sqrt(d @ np.linalg.pinv((model.cov + cov) / 2) @ d)
        assert model.distance(mu, cov) == pytest.approx(ref, rel=1e-9)
    singular = N.NIQEModel(mu=m.mu, cov=np.outer(m.mu, m.mu))
    d = singular.mu - mu
    ref = np.sqrt(d @ np.linalg.pinv(singular.cov / 2) @ d)
    assert singular.distance(mu, np.zeros((36, 36))) == pytest.approx(ref, rel=1e-9)
