"""Edge, corner and gradient measures (TED, TCD, GME, GPE): oracle values, independent
re-computations, bob's regional-maximum scan, degenerate cases and invariants."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import shared_path
from hypothesis import given, settings
from hypothesis import strategies as st

from iqa_liveness.errors import InvalidImageError
from iqa_liveness.quality import compute_measures
from iqa_liveness.quality import edges as ed
from iqa_liveness.quality._context import QualityContext, smooth

NAMES = ("TED", "TCD", "GME", "GPE")
CTX_FUNCS = {"TED": ed.ctx_ted, "TCD": ed.ctx_tcd, "GME": ed.ctx_gme, "GPE": ed.ctx_gpe}
PURE = {
    "TED": ed.total_edge_difference,
    "TCD": ed.total_corner_difference,
    "GME": ed.gradient_magnitude_error,
    "GPE": ed.gradient_phase_error,
}
CONVENTIONS = ("standard", "bob")


@pytest.fixture(scope="module")
def oracle():
    return json.loads(shared_path("oracles", "iqm_astronaut.json").read_text())


@pytest.fixture(scope="module")
def astronaut_ctx(astronaut_grey_u8):
    return {conv: QualityContext(astronaut_grey_u8, convention=conv) for conv in CONVENTIONS}


def _rng_image(seed, shape=(24, 31), smooth_it=True):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 255, shape)
    return smooth(x) if smooth_it else x


# -- oracle ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_bob_oracle(oracle, astronaut_ctx, name):
    ref = oracle["bob_ip_qualitymeasure_1_1_8"][name]["value"]
    assert CTX_FUNCS[name](astronaut_ctx["bob"]) == pytest.approx(ref, rel=1e-5)


def test_bob_ted_is_an_edge_pixel_count(astronaut_ctx):
    # 501 more edge pixels in I than in I' (of 512 x 512)
    assert ed.ctx_ted(astronaut_ctx["bob"]) * 512 * 512 == pytest.approx(501, abs=1e-9)


def test_standard_gme_oracle_cross_value(oracle, astronaut_ctx):
    # the oracle gives the standard (squared, spacing 1) GME in bob's quirk note: 7.5411
    note = oracle["bob_ip_qualitymeasure_1_1_8"]["GME"]["quirk"]
    assert "7.5411" in note
    assert ed.ctx_gme(astronaut_ctx["standard"]) == pytest.approx(7.5411, rel=2e-5)


def test_bob_gpe_needs_bobs_own_smoothing(oracle, astronaut_grey_u8):
    """bob's GPE is not wrapped: the rounding of I' decides +pi or -pi on zero components."""
    ref = oracle["bob_ip_qualitymeasure_1_1_8"]["GPE"]["value"]
    img = astronaut_grey_u8.astype(np.float64)
    bob_i = ed.bob_smooth(img)
    cv_i = smooth(img)
    assert np.abs(bob_i - cv_i).max() < 1e-12  # the same filter ...
    exact = ed.gradient_phase_error(img, bob_i, "bob")
    other = ed.gradient_phase_error(img, cv_i, "bob")
    assert exact == pytest.approx(ref, rel=1e-6)
    assert abs(other - ref) / ref > 1e-4  # ... yet another rounding moves bob's GPE
    # the standard (wrapped) GPE does not care which rounding I' has
    s1 = ed.gradient_phase_error(img, bob_i)
    s2 = ed.gradient_phase_error(img, cv_i)
    assert s1 == pytest.approx(s2, rel=1e-6)


def test_compute_measures_in_registry(astronaut_grey_u8, astronaut_ctx):
    for conv in CONVENTIONS:
        got = compute_measures(astronaut_grey_u8[:96, :128], NAMES, convention=conv)
        ctx = QualityContext(astronaut_grey_u8[:96, :128], convention=conv)
        assert list(got) == list(NAMES)
        for name in NAMES:
            assert got[name] == CTX_FUNCS[name](ctx)


# -- pure functions agree with the context adaptors ------------------------------------------
@pytest.mark.parametrize("conv", CONVENTIONS)
def test_pure_equals_context(astronaut_grey_u8, conv):
    img = astronaut_grey_u8[100:196, 180:300].astype(np.float64)
    ctx = QualityContext(img, convention=conv)
    dis = ed.bob_smooth(img) if conv == "bob" else smooth(img)
    for name in NAMES:
        assert PURE[name](img, dis, conv) == CTX_FUNCS[name](ctx), name


# -- gradients: independent re-computation with numpy.gradient -------------------------------
@pytest.mark.parametrize("shape", [(24, 31), (9, 8), (40, 17)])
def test_gradient_measures_against_numpy(shape):
    a = _rng_image(1, shape)
    b = _rng_image(2, shape)
    ga = np.gradient(a)
    gb = np.gradient(b)
    for i in range(2):
        assert np.allclose(ed.central_gradient(a)[i], ga[i], rtol=0, atol=1e-12)
    ma, mb = np.hypot(*ga), np.hypot(*gb)
    # the standard convention works in float32 (images rounded to float32, sums in double)
    gme = np.mean((ma - mb) ** 2)
    assert ed.gradient_magnitude_error(a, b) == pytest.approx(gme, rel=1e-6)
    pa = np.arctan2(ga[1], ga[0])
    pb = np.arctan2(gb[1], gb[0])
    wrapped = np.angle(np.exp(1j * (pa - pb)))
    assert ed.gradient_phase_error(a, b) == pytest.approx(np.mean(wrapped**2), rel=2e-6)
    # on the float32-rounded images, float64 numpy agrees to float32 arithmetic precision
    ga32 = np.gradient(a.astype(np.float32).astype(np.float64))
    gb32 = np.gradient(b.astype(np.float32).astype(np.float64))
    gme32 = np.mean((np.hypot(*ga32) - np.hypot(*gb32)) ** 2)
    assert ed.gradient_magnitude_error(a, b) == pytest.approx(gme32, rel=1e-7)
    # bob: numpy.gradient with spacing 5, mean absolute differences, no wrapping
    ga5, gb5 = np.gradient(a, 5.0), np.gradient(b, 5.0)
    bob_gme = np.mean(np.abs(np.hypot(*ga5) - np.hypot(*gb5)))
    bob_gpe = np.mean(np.abs(np.arctan2(ga5[1], ga5[0]) - np.arctan2(gb5[1], gb5[0])))
    assert ed.gradient_magnitude_error(a, b, "bob") == pytest.approx(bob_gme, rel=1e-12)
    assert ed.gradient_phase_error(a, b, "bob") == pytest.approx(bob_gpe, rel=1e-9)


def test_gpe_known_rotations():
    ramp = np.tile(np.arange(12.0), (12, 1))
    assert ed.gradient_phase_error(ramp, ramp.T) == pytest.approx((np.pi / 2) ** 2, rel=1e-6)
    assert ed.gradient_phase_error(ramp, -ramp) == pytest.approx(np.pi**2, rel=1e-6)
    assert ed.gradient_phase_error(ramp, 7.0 * ramp) == 0.0
    # a zero gradient has phase 0: a flat image against a ramp pointing at phase pi/2
    expected = (np.pi / 2) ** 2
    assert ed.gradient_phase_error(ramp, np.zeros_like(ramp)) == pytest.approx(expected, rel=1e-6)
    # GME of a ramp of slope s against flat: s^2 (standard), s/5 (bob)
    assert ed.gradient_magnitude_error(3.0 * ramp, np.zeros_like(ramp)) == pytest.approx(9.0)
    assert ed.gradient_magnitude_error(3.0 * ramp, 0 * ramp, "bob") == pytest.approx(0.6)


def test_gpe_wrapping_bounds():
    a, b = _rng_image(3, smooth_it=False), _rng_image(4, smooth_it=False)
    assert 0.0 < ed.gradient_phase_error(a, b) <= np.pi**2 * (1 + 1e-6)
    # unwrapped absolute differences can exceed pi
    assert ed.gradient_phase_error(a, b, "bob") <= 2 * np.pi


# -- edges ------------------------------------------------------------------------------------
def test_edge_map_step_both_axes():
    step = np.zeros((20, 20))
    step[:, 10:] = 200.0
    e = ed.sobel_edge_map(step)
    assert np.flatnonzero(e.any(axis=0)).tolist() == [10]
    assert int(e.sum()) == 20
    e_t = ed.sobel_edge_map(step.T)
    assert np.array_equal(e_t, e.T)
    # bob's strict thinning drops the two-pixel plateau of an ideal step
    assert int(ed.sobel_edge_map(step, "bob").sum()) == 0


def test_edge_map_threshold_is_four_times_mean():
    # a single bright pixel: its Sobel ring is strong, the rest is zero
    x = np.zeros((32, 32))
    x[16, 16] = 255.0
    e = ed.sobel_edge_map(x)
    assert 0 < int(e.sum()) <= 8
    assert not e[16, 16]  # the centre has a zero Sobel response


def _dense_standard_edges(x):
    """The standard rule written out densely with scipy (independent of the module's code)."""
    from scipy import ndimage

    x32 = x.astype(np.float32)
    sx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)
    gx = ndimage.correlate(x32, sx, mode="nearest")
    gy = ndimage.correlate(x32, sx.T, mode="nearest")
    b = gx * gx + gy * gy
    strong = b > np.float32(4.0 * b.astype(np.float64).mean())
    p = np.pad(b, 1, constant_values=-1.0)
    c = p[1:-1, 1:-1]
    hor = (np.abs(gx) >= np.abs(gy)) & (c >= p[1:-1, :-2]) & (c > p[1:-1, 2:])
    ver = (np.abs(gy) >= np.abs(gx)) & (c >= p[:-2, 1:-1]) & (c > p[2:, 1:-1])
    return strong & (hor | ver)


@pytest.mark.parametrize("shape", [(24, 31), (9, 8), (40, 17), (8, 64)])
def test_edge_map_equals_dense_rule(shape):
    rng = np.random.default_rng(11)
    # 4x4 blocks of 4 levels: step edges whose two-pixel plateaus of b test the tie rule
    cells = rng.integers(0, 4, (shape[0] // 4 + 1, shape[1] // 4 + 1))
    blocks = np.kron(cells, np.ones((4, 4)))[: shape[0], : shape[1]] * 60.0
    for x in (blocks, _rng_image(12, shape), smooth(blocks)):
        assert np.array_equal(ed.sobel_edge_map(x), _dense_standard_edges(x))


def test_ted_standard_is_xor_and_bob_is_count_difference():
    for seed in range(3):
        a = _rng_image(seed, (30, 30))
        b = smooth(a)
        ea, eb = ed.sobel_edge_map(a), ed.sobel_edge_map(b)
        assert ed.total_edge_difference(a, b) == np.mean(ea != eb)
        ba, bb = ed.sobel_edge_map(a, "bob"), ed.sobel_edge_map(b, "bob")
        assert ed.total_edge_difference(a, b, "bob") == abs(int(ba.sum()) - int(bb.sum())) / 900
        # symmetric, and the count difference never exceeds the XOR
        assert ed.total_edge_difference(b, a) == ed.total_edge_difference(a, b)
        assert abs(int(ea.sum()) - int(eb.sum())) / 900 <= ed.total_edge_difference(a, b)


def test_ted_shifted_edge():
    a = np.zeros((16, 16))
    a[:, 8:] = 255.0
    b = np.zeros((16, 16))
    b[:, 9:] = 255.0
    assert ed.total_edge_difference(a, b) == 0.125  # two lines of 16 pixels differ


# -- corners ----------------------------------------------------------------------------------
def test_harris_square_has_four_corners():
    sq = np.zeros((24, 24))
    sq[6:18, 6:18] = 255.0
    c = ed.harris_corners(sq)
    rows, cols = np.nonzero(c)
    assert len(rows) == 4
    for r, cc in zip(rows, cols, strict=True):
        assert min(abs(r - 6), abs(r - 17)) <= 1 and min(abs(cc - 6), abs(cc - 17)) <= 1
    r = ed.harris_response(sq)
    assert r[12, 12] == 0.0  # flat inside
    assert r[12, 6] < 0  # an edge: negative response


def test_harris_bob_geometry():
    x = _rng_image(5, (20, 23))
    assert ed.harris_response(x, "bob").shape == (13, 16)
    assert ed.harris_corners(np.zeros((7, 30)), "bob").shape == (0, 23)
    # bob's response: [-1 0 1] derivatives, crop 1/2, 5x5 Gaussian sigma 1.5 'valid', k = 0.4
    ix = np.zeros_like(x)
    iy = np.zeros_like(x)
    ix[:, 1:-1] = x[:, :-2] - x[:, 2:]
    iy[1:-1, :] = x[:-2, :] - x[2:, :]
    ix, iy = ix[1:-2, 1:-2], iy[1:-2, 1:-2]
    g = np.exp(-((np.arange(5) - 2.0) ** 2) / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()

    def valid(z):
        h, wd = z.shape
        return np.array(
            [[np.sum(z[i : i + 5, j : j + 5] * w) for j in range(wd - 4)] for i in range(h - 4)]
        )

    a, b, c = valid(ix * ix), valid(iy * iy), valid(ix * iy)
    expected = a * b - c * c - 0.4 * (a + b) ** 2
    assert np.allclose(ed.harris_response(x, "bob"), expected, rtol=1e-12, atol=1e-9)


def _bob_regional_max_loop(img):
    """bob's regionalmax as its documentation describes it, written as plain loops."""
    h, w = img.shape
    b = np.pad(img, 1, mode="edge")
    out = np.zeros((h, w), dtype=bool)
    for i in range(h):
        for j in range(w):
            win = b[i : i + 3, j : j + 3]
            out[i, j] = img[i, j] == win.max() and img[i, j] > win.min()
    for i in range(1, h):
        for j in range(w):
            if out[i, j]:
                for k in range(max(i - 1, 0), min(i + 2, h)):
                    for m in range(max(j - 1, 0), min(j + 2, w)):
                        if img[k, m] == img[i, j]:
                            out[k, m] = True
    return out


@pytest.mark.parametrize("seed", range(12))
def test_bob_regional_max_matches_raster_scan(seed):
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(2, 14)), int(rng.integers(1, 17)))
    levels = int(rng.integers(2, 5))  # few levels: many plateaus and ties
    img = rng.integers(0, levels, shape).astype(np.float64)
    assert np.array_equal(ed._bob_regional_max(img), _bob_regional_max_loop(img))


@pytest.mark.parametrize("shape", [(9, 150), (40, 70), (3, 65)])
def test_bob_regional_max_wide_rows(shape):
    # rows wider than a machine word (the scan works on rows as integer bit masks)
    img = np.random.default_rng(shape[1]).integers(0, 3, shape).astype(np.float64)
    img[2:, 10:40] = 1.0  # a wide plateau to spread over
    assert np.array_equal(ed._bob_regional_max(img), _bob_regional_max_loop(img))


def test_bob_regional_max_plateau_spread():
    img = np.array(
        [
            [0.0, 0.0, 0.0, 0.0, 0.0],
            [0.0, 2.0, 2.0, 2.0, 0.0],
            [0.0, 2.0, 1.0, 2.0, 0.0],
            [0.0, 2.0, 2.0, 2.0, 0.0],
            [0.0, 0.0, 0.0, 0.0, 0.0],
        ]
    )
    got = ed._bob_regional_max(img)
    assert np.array_equal(got, _bob_regional_max_loop(img))
    assert got.sum() == 8  # the ring of 2s


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (6, 1), (2, 2), (9, 8), (24, 31)])
def test_harris_differences_are_replicated_border_filter(shape):
    import cv2

    x = np.random.default_rng(5).uniform(0, 255, shape).astype(np.float32)
    kx = np.array([[-1.0, 0.0, 1.0]], np.float32)
    ix, iy = ed._differences(x)
    assert np.array_equal(ix, cv2.filter2D(x, -1, kx, borderType=cv2.BORDER_REPLICATE))
    assert np.array_equal(iy, cv2.filter2D(x, -1, kx.T, borderType=cv2.BORDER_REPLICATE))


def test_tcd_values():
    sq = np.zeros((24, 24))
    sq[6:18, 6:18] = 255.0
    two = sq.copy()
    two[2:5, 2:5] = 255.0  # a second, small square: more corners
    n1 = int(ed.harris_corners(sq).sum())
    n2 = int(ed.harris_corners(two).sum())
    assert n2 > n1
    assert ed.total_corner_difference(sq, two) == pytest.approx((n2 - n1) / n2)
    assert ed.total_corner_difference(two, sq) == ed.total_corner_difference(sq, two)


# -- degenerate cases -------------------------------------------------------------------------
@pytest.mark.parametrize("conv", CONVENTIONS)
@pytest.mark.parametrize("shape", [(8, 8), (8, 13), (33, 20)])
@pytest.mark.parametrize("value", [0.0, 77.0, 255.0])
def test_flat_images_give_zero(conv, shape, value):
    flat = np.full(shape, value)
    ctx = QualityContext(flat, convention=conv)
    for name in NAMES:
        assert CTX_FUNCS[name](ctx) == 0.0, name
    assert not ed.sobel_edge_map(flat, conv).any()
    assert not ed.harris_corners(flat, conv).any()


@pytest.mark.parametrize("conv", CONVENTIONS)
def test_identical_images_give_zero(conv):
    x = _rng_image(7, (19, 26), smooth_it=False)
    for name in NAMES:
        assert PURE[name](x, x.copy(), conv) == 0.0, name


@pytest.mark.parametrize("conv", CONVENTIONS)
def test_tiny_image(conv):
    x = _rng_image(8, (8, 8), smooth_it=False)
    ctx = QualityContext(x, convention=conv)
    values = {name: CTX_FUNCS[name](ctx) for name in NAMES}
    assert all(np.isfinite(v) for v in values.values())
    assert 0.0 <= values["TED"] <= 1.0 and 0.0 <= values["TCD"] <= 1.0
    if conv == "bob":  # the 1x1 Harris response has no regional maximum
        assert values["TCD"] == 0.0


def test_bad_input():
    with pytest.raises(InvalidImageError):
        ed.total_edge_difference(np.zeros((8, 8)), np.zeros((8, 9)))
    with pytest.raises(InvalidImageError):
        ed.gradient_phase_error(np.zeros((8, 8, 3)), np.zeros((8, 8, 3)))
    with pytest.raises(InvalidImageError):
        ed.sobel_edge_map(np.zeros((0, 5)))
    bad = np.zeros((8, 8))
    bad[3, 3] = np.nan
    with pytest.raises(InvalidImageError, match="NaN"):
        ed.gradient_magnitude_error(bad, np.zeros((8, 8)))
    with pytest.raises(ValueError):
        ed.harris_corners(np.zeros((8, 8)), convention="matlab")


@settings(max_examples=25, deadline=None)
@given(
    h=st.integers(8, 28),
    w=st.integers(8, 28),
    seed=st.integers(0, 2**16),
    scale=st.sampled_from([0.0, 1e-9, 1.0, 255.0]),
    conv=st.sampled_from(CONVENTIONS),
)
def test_property_finite_and_bounded(h, w, seed, scale, conv):
    x = np.random.default_rng(seed).uniform(0, 1, (h, w)) * scale
    ctx = QualityContext(x, convention=conv)
    v = {name: CTX_FUNCS[name](ctx) for name in NAMES}
    assert all(np.isfinite(val) and val >= 0.0 for val in v.values()), v
    assert v["TED"] <= 1.0 and v["TCD"] <= 1.0
    if conv == "standard":
        assert v["GPE"] <= np.pi**2 * (1 + 1e-6)


# -- fast paths equal the dense definitions ---------------------------------------------------
@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (6, 1), (2, 2), (9, 8), (24, 31), (40, 17)])
def test_harris_response_bitwise_and_corner_count(shape):
    import cv2

    rng = np.random.default_rng(shape[0] * 100 + shape[1])
    cells = rng.integers(0, 3, (shape[0] // 3 + 1, shape[1] // 3 + 1))
    blocks = np.kron(cells, np.ones((3, 3)))[: shape[0], : shape[1]] * 80.0
    kx = np.array([[-1.0, 0.0, 1.0]], np.float32)
    g = cv2.getGaussianKernel(5, 1.5).astype(np.float32)
    for x in (rng.uniform(0, 255, shape), blocks, smooth(blocks)):
        x32 = x.astype(np.float32)
        ix = cv2.filter2D(x32, -1, kx, borderType=cv2.BORDER_REPLICATE)
        iy = cv2.filter2D(x32, -1, kx.T, borderType=cv2.BORDER_REPLICATE)
        a, b, c = (
            cv2.sepFilter2D(z, cv2.CV_32F, g, g, borderType=cv2.BORDER_REPLICATE)
            for z in (ix * ix, iy * iy, ix * iy)
        )
        expected = (a * b - c * c) - ((a + b) * (a + b)) * np.float32(0.04)
        padded = ed._harris_padded(x32)
        assert np.array_equal(padded[1:-1, 1:-1], expected)
        assert np.array_equal(ed.harris_response(x), expected)
        assert not padded[0].any() and not padded[-1].any()
        assert not padded[:, 0].any() and not padded[:, -1].any()
        # the corner count by candidates equals the dense map (plateaus: ties accepted)
        assert ed._count_corners(padded) == int(ed.harris_corners(x).sum())


def test_corner_count_on_plateaus_and_borders():
    # equal maxima side by side are all corners (each equals its 3x3 maximum)
    r = np.zeros((8, 9), np.float32)
    r[3, 3] = r[3, 4] = 5.0  # a two-pixel plateau
    r[0, 0] = 4.0  # a corner on the border
    r[6, 7] = 0.04  # below 1 % of the maximum: not a corner
    padded = np.pad(r, 1)
    assert ed._count_corners(padded) == 3
    assert ed._count_corners(np.zeros((5, 5), np.float32)) == 0
    assert ed._count_corners(np.pad(-np.ones((3, 3), np.float32), 1)) == 0


@pytest.mark.parametrize("seed", range(6))
def test_corner_count_equals_dense_map_on_noise(seed):
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 12)), int(rng.integers(1, 12)))
    r = rng.integers(-2, 4, shape).astype(np.float32)  # ties and border maxima everywhere
    r[0, -1] = r[-1, 0] = 3.0  # border plateaus with the maximum
    assert ed._count_corners(np.pad(r, 1)) == int(ed._corners_standard(r).sum())
