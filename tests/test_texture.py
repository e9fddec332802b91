"""Texture descriptors and colour conversions against the Octave oracle of the authors' toolbox.

The oracle (``../shared/oracles/colour_texture``, see its README) holds the histograms and the
per-pixel code maps that the original MATLAB code of Boulkenafet et al. produced in GNU Octave,
with the exact channels that went in. Descriptor tests feed those saved channels.
"""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np
import pytest
from conftest import shared_path
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.signal import convolve2d

from iqa_liveness.errors import (
    ConfigurationError,
    ImageTooSmallError,
    InvalidImageError,
)
from iqa_liveness.texture import (
    coalbp_codes,
    coalbp_histogram,
    imresize,
    lbp_codes,
    lbp_histogram,
    lbp_mapping,
    lpq_codes,
    lpq_decorrelation,
    lpq_histogram,
    rgb_to_hsv,
    rgb_to_ycbcr,
    round_half_away,
)

IMAGES = ["astronaut_face64", "random_rgb64", "ramp_sine_gray64", "astronaut_crop200x180"]
SPACES = {"HSV": ("H", "S", "V"), "YCbCr": ("Y", "Cb", "Cr")}
CASES = [(i, s, c) for i in IMAGES for s, chans in SPACES.items() for c in chans]


@lru_cache(maxsize=1)
def _oracle() -> tuple[dict, dict]:
    root = shared_path("oracles", "colour_texture")
    vectors = json.loads((root / "vectors.json").read_text())
    with np.load(root / "code_images.npz") as z:
        codes = {k: z[k] for k in z.files}
    return vectors, codes


def _channel(image: str, space: str, name: str) -> np.ndarray:
    root = shared_path("oracles", "colour_texture")
    chans = np.load(root / f"{image}_{space}_octave.npy")
    return chans[..., SPACES[space].index(name)]


def _rgb(image: str) -> np.ndarray:
    rgb = np.load(shared_path("oracles", "colour_texture", f"{image}.npy"))
    return np.repeat(rgb[..., None], 3, axis=2) if rgb.ndim == 2 else rgb


def _entry(image: str, space: str, name: str) -> dict:
    return _oracle()[0]["images"][image][space]["channels"][name]


def _degenerate(image: str, space: str, name: str) -> bool:
    return "degenerate" in _entry(image, space, name)


# --------------------------------------------------------------------------- colour


@pytest.mark.parametrize("image", IMAGES[:3])
def test_rgb_to_hsv_bit_identical_to_octave(image):
    ref = np.load(shared_path("oracles", "colour_texture", f"{image}_HSV_octave.npy"))
    out = rgb_to_hsv(_rgb(image))
    assert out.dtype == np.float64
    assert np.array_equal(out, ref)


@pytest.mark.parametrize("image", IMAGES[:3])
@pytest.mark.parametrize(
    "coefficients, suffix", [("exact", "YCbCr"), ("matlab", "YCbCr_matlab_doc_coeffs")]
)
def test_rgb_to_ycbcr_equals_octave(image, coefficients, suffix):
    ref = np.load(shared_path("oracles", "colour_texture", f"{image}_{suffix}_octave.npy"))
    out = rgb_to_ycbcr(_rgb(image), coefficients=coefficients)
    assert out.dtype == np.uint8
    assert np.array_equal(out, ref)


def test_ycbcr_studio_swing_ranges_and_order():
    rgb = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 0, 255]]], np.uint8)
    out = rgb_to_ycbcr(rgb).astype(int)
    assert out[0, 0].tolist() == [16, 128, 128]
    assert out[0, 1].tolist() == [235, 128, 128]
    assert out[0, 2, 2] == 240  # red: Cr (third channel) at its maximum
    assert out[0, 3, 1] == 240  # blue: Cb (second channel) at its maximum
    # float input in [0, 1] gives the same as uint8 / 255
    assert np.array_equal(rgb_to_ycbcr(rgb / 255.0), rgb_to_ycbcr(rgb))


def test_hsv_of_grey_and_primaries():
    rgb = np.array([[[0, 255, 0], [0, 0, 255], [255, 0, 255], [7, 7, 7]]], np.uint8)
    hsv = rgb_to_hsv(rgb)
    np.testing.assert_allclose(hsv[0, :, 0], [1 / 3, 2 / 3, 5 / 6, 0.0], atol=1e-15)
    np.testing.assert_allclose(hsv[0, :, 1], [1, 1, 1, 0])
    np.testing.assert_allclose(hsv[0, :, 2], [1, 1, 1, 7 / 255])


def test_round_half_away():
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49999999999999994, 2.4999999])
    assert round_half_away(x).tolist() == [-3, -2, -1, 1, 2, 3, 0, 2]


def test_imresize_identity_constant_and_linear():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (20, 30, 3)).astype(np.uint8)
    assert np.array_equal(imresize(img, (20, 30)), img)
    assert np.array_equal(imresize(np.full((50, 40), 9, np.uint8), (16, 16)), np.full((16, 16), 9))
    # bicubic (a = -0.5) reproduces a linear ramp away from the mirrored border when enlarging
    ramp = np.tile(np.arange(10, dtype=float), (4, 1))
    up = imresize(ramp, (4, 20))
    x = np.arange(1, 21) / 2 + 0.5 * (1 - 1 / 2) - 1  # 0-based source positions
    np.testing.assert_allclose(up[0, 4:16], x[4:16], atol=1e-12)


def test_imresize_close_to_octave_on_the_extra_input():
    # Octave image 2.14's imresize is only meant to be MATLAB-compatible (the oracle README
    # marks this input lower-confidence); we implement MATLAB's documented algorithm and check
    # the two agree to the last grey level.
    root = shared_path("oracles", "colour_texture")
    rgb = np.load(root / "astronaut_crop200x180.npy")
    hsv = imresize(rgb_to_hsv(rgb), (64, 64))
    assert np.abs(hsv - np.load(root / "astronaut_crop200x180_HSV_octave.npy")).max() < 2e-3
    ycc = imresize(rgb_to_ycbcr(rgb), (64, 64)).astype(int)
    ref = np.load(root / "astronaut_crop200x180_YCbCr_octave.npy").astype(int)
    assert np.abs(ycc - ref).max() <= 1


# --------------------------------------------------------------------------- LBP


def test_u2_mapping_is_the_toolbox_table():
    table = _oracle()[0]["lbp_u2_mapping_table_code_to_bin"]
    assert lbp_mapping(8, "u2").tolist() == table


def test_mapping_sizes():
    assert int(lbp_mapping(8, "riu2").max()) + 1 == 10
    assert int(lbp_mapping(8, "none").max()) + 1 == 256
    assert int(lbp_mapping(16, "u2").max()) + 1 == 16 * 15 + 3


@pytest.mark.parametrize("image, space, name", CASES)
def test_lbp_matlab_rounding_reproduces_the_toolbox(image, space, name):
    ch = _channel(image, space, name)
    ref_codes = _oracle()[1][f"{image}__{space}__{name}__lbp_u2"]
    codes = lbp_mapping(8)[lbp_codes(ch, matlab_rounding=True, tolerance=0)]
    assert np.array_equal(codes, ref_codes)
    hist = lbp_histogram(ch, matlab_rounding=True, tolerance=0)
    ref = _entry(image, space, name)["lbp_u2_R1_P8"]
    assert np.array_equal(np.round(hist * 3844).astype(int), ref["counts"])
    assert hist.tolist() == ref["nh"]  # bit-identical


@pytest.mark.parametrize("image, space, name", [c for c in CASES if c[1] == "YCbCr"])
def test_lbp_default_equals_toolbox_on_8bit_channels(image, space, name):
    ref_codes = _oracle()[1][f"{image}__{space}__{name}__lbp_u2"]
    assert np.array_equal(lbp_mapping(8)[lbp_codes(_channel(image, space, name))], ref_codes)


def test_lbp_raw_grey_oracle():
    vectors, codes = _oracle()
    g = np.load(shared_path("oracles", "colour_texture", "ramp_sine_gray64.npy"))
    assert np.array_equal(lbp_mapping(8)[lbp_codes(g)], codes["ramp_sine_gray64__gray__lbp_u2"])
    assert (
        np.round(lbp_histogram(g) * 3844).astype(int).tolist()
        == (vectors["gray_c_raw"]["lbp_u2_R1_P8"]["counts"])
    )


def test_lbp_tie_tolerance_matters_on_8bit_flat_neighbourhoods():
    # unrounded interpolation compared exactly decides flat-neighbourhood ties by round-off
    ch = _channel("astronaut_face64", "YCbCr", "Y")
    ref = _oracle()[1]["astronaut_face64__YCbCr__Y__lbp_u2"]
    exact = lbp_mapping(8)[lbp_codes(ch, tolerance=0)]
    assert (exact != ref).sum() > 10


def test_lbp_rounding_changes_hsv_codes_only():
    ch = _channel("astronaut_face64", "HSV", "V")
    clean = lbp_codes(ch)
    matlab = lbp_codes(ch, matlab_rounding=True, tolerance=0)
    differ = int((clean != matlab).sum())
    assert 0 < differ < 0.05 * clean.size


def test_lbp_default_is_independent_of_the_hsv_implementation():
    from skimage.color import rgb2hsv

    rgb = _rgb("astronaut_face64")
    ours, theirs = rgb_to_hsv(rgb), rgb2hsv(rgb)
    assert not np.array_equal(ours, theirs)  # they differ in the last bit of many pixels
    for c in range(3):
        assert np.array_equal(lbp_codes(ours[..., c]), lbp_codes(theirs[..., c]))
        np.testing.assert_array_equal(
            coalbp_histogram(ours[..., c]), coalbp_histogram(theirs[..., c])
        )
    # compared exactly, the hue codes depend on the arithmetic
    assert not np.array_equal(
        lbp_codes(ours[..., 0], tolerance=0), lbp_codes(theirs[..., 0], tolerance=0)
    )


def test_lbp_bit_order_and_geometry():
    ch = np.zeros((3, 3))
    ch[1, 1] = 5
    for (r, c), bit in (((1, 2), 0), ((0, 1), 2), ((1, 0), 4), ((2, 1), 6)):
        x = ch.copy()
        x[r, c] = 9
        assert lbp_codes(x).tolist() == [[1 << bit]]
    # radius 2, 8 points: valid region loses 2 pixels on every side
    assert lbp_codes(np.zeros((64, 64)), 8, 2).shape == (60, 60)
    assert lbp_histogram(np.random.default_rng(0).random((64, 64)), 16, 2).shape == (243,)


def test_lbp_flat_channel_documented_value():
    h = lbp_histogram(np.full((16, 16), 0.3))
    assert h[57] == 1.0 and h.sum() == 1.0


# --------------------------------------------------------------------------- LPQ


@pytest.mark.parametrize("image, space, name", CASES)
def test_lpq_matches_the_toolbox(image, space, name):
    ch = _channel(image, space, name)
    codes = lpq_codes(ch)
    if _degenerate(image, space, name) and space == "YCbCr":
        # constant 128: the toolbox's codes are round-off noise; ours are documented zeros
        assert not codes.any()
        return
    assert np.array_equal(codes, _oracle()[1][f"{image}__{space}__{name}__lpq_w7"])
    ref = _entry(image, space, name)["lpq_w7_decorr1_freqestim1"]
    hist = lpq_histogram(ch)
    assert np.round(hist * 3364).astype(int).tolist() == ref["counts"]
    assert hist.tolist() == ref["nh"]


@pytest.mark.parametrize("window, key", [(3, "lpq_w3"), (7, "lpq_w7")])
def test_lpq_raw_grey_oracle(window, key):
    vectors, codes = _oracle()
    g = np.load(shared_path("oracles", "colour_texture", "ramp_sine_gray64.npy"))
    assert np.array_equal(lpq_codes(g, window), codes[f"ramp_sine_gray64__gray__{key}"])
    ref = vectors["gray_c_raw"][f"{key}_decorr1_freqestim1"]["counts"]
    assert (
        np.round(lpq_histogram(g, window) * lpq_codes(g, window).size).astype(int).tolist() == ref
    )


def _reference_lpq(
    img,
    window=7,
    rho=0.9,
    *,
    convolve=True,
    sign_fix=True,
    svd_scale=True,
    valid=True,
    decorrelate=True,
):
    """Plain re-derivation of lpq.m with switches, to show each detail matters."""
    img = np.asarray(img, float)
    r = (window - 1) // 2
    x = np.arange(-r, r + 1)
    w0 = np.ones(window, complex)
    w1 = np.exp(-2j * np.pi * x / window)
    w2 = np.conj(w1)

    def op(a, k, mode):  # correlation without conjugation = convolution with the flipped kernel
        return convolve2d(a, k if convolve else k[::-1, ::-1], mode=mode)

    mode = "valid" if valid else "same"
    f = []
    for col, row in ((w0, w1), (w1, w0), (w1, w1), (w1, w2)):
        resp = op(op(img, col[:, None], mode=mode), row[None, :], mode=mode)
        f += [resp.real, resp.imag]
    f = np.stack(f, -1)
    if decorrelate:
        yy, xx = np.mgrid[0:window, 0:window]
        pos = np.stack([xx.ravel(order="F"), yy.ravel(order="F")], 1)
        cov = rho ** np.hypot(*(pos[:, None] - pos[None]).transpose(2, 0, 1))
        rows = []
        for col, row in ((w0, w1), (w1, w0), (w1, w1), (w1, w2)):
            q = np.outer(col, row).ravel(order="F")
            rows += [q.real, q.imag]
        m = np.array(rows)
        d = m @ cov @ m.T
        a = np.diag([1.000007, 1.000006, 1.000005, 1.000004, 1.000003, 1.000002, 1.000001, 1])
        if not svd_scale:
            a = np.eye(8)
        v = np.linalg.svd(a @ d @ a)[2].T
        if sign_fix:
            big = v[np.abs(v).argmax(0), np.arange(8)]
            v = v * np.where(big < -np.finfo(float).eps, -1, 1)
        else:
            v = v * np.where(v[0] < 0, -1, 1)  # some other sign convention
        f = f @ v
    return ((f > 0) * (1 << np.arange(8))).sum(-1)


def test_lpq_reference_rederivation_agrees():
    ch = _channel("astronaut_face64", "YCbCr", "Cr")
    ref = _oracle()[1]["astronaut_face64__YCbCr__Cr__lpq_w7"]
    assert np.array_equal(_reference_lpq(ch), ref)
    assert np.array_equal(lpq_codes(ch), ref)


@pytest.mark.parametrize(
    "detail",
    [
        "correlation instead of convolution",
        "other singular-vector signs",
        "no svd scaling",
        "no decorrelation",
    ],
)
def test_each_lpq_detail_changes_the_codes(detail):
    ch = _channel("astronaut_face64", "YCbCr", "Cr")
    ref = _oracle()[1]["astronaut_face64__YCbCr__Cr__lpq_w7"]
    kwargs = {
        "correlation instead of convolution": {"convolve": False},
        "other singular-vector signs": {"sign_fix": False},
        "no svd scaling": {"svd_scale": False},
        "no decorrelation": {"decorrelate": False},
    }[detail]
    wrong = _reference_lpq(ch, **kwargs)
    # (without A, the repeated singular values of D leave the basis to the SVD routine)
    assert (wrong != ref).mean() > 0.5
    if detail == "no decorrelation":
        # raw coefficients have exact zeros, decided by round-off in the plain re-derivation
        assert (lpq_codes(ch, decorrelate=False) != wrong).mean() < 0.02


def test_lpq_valid_region_only():
    ch = _channel("astronaut_face64", "YCbCr", "Y")
    assert lpq_codes(ch).shape == (58, 58)
    assert lpq_codes(ch, 3).shape == (62, 62)
    same = _reference_lpq(ch, valid=False)  # zero-padded borders
    assert not np.array_equal(same[3:-3, 3:-3], same[:58, :58])
    assert np.array_equal(same[3:-3, 3:-3], lpq_codes(ch))


def test_lpq_decorrelation_matrix_is_orthogonal_and_sign_fixed():
    v = lpq_decorrelation(7, 0.9)
    np.testing.assert_allclose(v.T @ v, np.eye(8), atol=1e-12)
    big = v[np.abs(v).argmax(0), np.arange(8)]
    assert (big > 0).all()


def test_lpq_strict_sign_and_flat_channel():
    assert lpq_histogram(np.full((10, 12), 200, np.uint8))[0] == 1.0
    assert lpq_histogram(np.full((10, 12), 200, np.uint8)).sum() == 1.0


# --------------------------------------------------------------------------- CoALBP


@pytest.mark.parametrize("image, space, name", CASES)
@pytest.mark.parametrize("scale, radius", [(1, 2), (2, 4), (4, 8)])
def test_coalbp_matches_the_toolbox(image, space, name, scale, radius):
    ch = _channel(image, space, name)
    ref = _entry(image, space, name)[f"coalbp_s{scale}_r{radius}_plus"]
    hist = coalbp_histogram(ch, scale, radius, tolerance=0)
    total = 4 * (64 - 2 * scale - 2 * radius) ** 2
    assert np.round(hist * total).astype(int).tolist() == ref["counts"]
    assert hist.tolist() == ref["nh"]


def test_coalbp_raw_grey_oracle():
    vectors, _ = _oracle()
    g = np.load(shared_path("oracles", "colour_texture", "ramp_sine_gray64.npy"))
    ref = vectors["gray_c_raw"]["coalbp_s1_r2_plus"]["counts"]
    assert np.round(coalbp_histogram(g) * 13456).astype(int).tolist() == ref


def test_coalbp_bits_and_pairs():
    ch = np.zeros((3, 3))
    for (r, c), bit in (((1, 2), 0), ((0, 1), 1), ((1, 0), 2), ((2, 1), 3)):
        x = ch.copy()
        x[r, c] = 1
        assert coalbp_codes(x).tolist() == [[1 << bit]]
    assert coalbp_codes(np.ones((3, 3))).tolist() == [[0]]  # strict >
    flat = coalbp_histogram(np.full((20, 20), 3.0))  # documented value of a constant channel
    assert flat[[0, 256, 512, 768]].tolist() == [0.25] * 4 and flat.sum() == 1.0
    # 7x7 with scale 1, radius 2: code map 5x5, one centre pair per direction
    rng = np.random.default_rng(3)
    img = rng.integers(0, 9, (7, 7))
    codes = coalbp_codes(img)
    h = coalbp_histogram(img, 1, 2) * 4
    expected = [
        16 * codes[2, 2] + codes[2 + dy, 2 + dx] for dy, dx in ((0, 2), (-2, 2), (-2, 0), (-2, -2))
    ]
    for k, idx in enumerate(expected):
        assert h[256 * k + idx] == 1.0


# --------------------------------------------------------------------------- properties

channels_u8 = arrays(np.uint8, (64, 64), elements=st.integers(0, 255))


@settings(max_examples=25, deadline=None)
@given(channels_u8, st.sampled_from([np.uint8, np.float64]))
def test_histograms_sum_to_one_with_the_right_length(ch, dtype):
    x = ch.astype(dtype) / (255.0 if dtype == np.float64 else 1)
    for hist, n in (
        (lbp_histogram(x), 59),
        (lpq_histogram(x), 256),
        (coalbp_histogram(x), 1024),
    ):
        assert hist.shape == (n,)
        assert np.isfinite(hist).all() and (hist >= 0).all()
        assert abs(hist.sum() - 1.0) < 1e-12


@settings(max_examples=20, deadline=None)
@given(st.integers(17, 70), st.integers(17, 70), st.integers(0, 2**32 - 1))
def test_rectangular_channels_give_valid_histograms(h, w, seed):
    x = np.random.default_rng(seed).random((h, w))
    assert lbp_codes(x).shape == (h - 2, w - 2)
    assert lpq_codes(x).shape == (h - 6, w - 6)
    for hist in (lbp_histogram(x, 8, 2), lpq_histogram(x), coalbp_histogram(x, 2, 4)):
        assert np.isfinite(hist).all() and abs(hist.sum() - 1.0) < 1e-12


@settings(max_examples=25, deadline=None)
@given(
    channels_u8,
    st.floats(0.01, 100.0),
    st.floats(-1000.0, 1000.0),
)
def test_increasing_affine_change_leaves_codes_unchanged(ch, a, b):
    x = ch.astype(np.float64)
    y = a * x + b
    assert np.array_equal(lbp_codes(x), lbp_codes(y))
    assert np.array_equal(lpq_codes(x), lpq_codes(y))
    assert np.array_equal(coalbp_codes(x), coalbp_codes(y))


@settings(max_examples=10, deadline=None)
@given(arrays(np.uint8, (12, 12), elements=st.integers(0, 3)))
def test_affine_invariance_holds_on_tie_heavy_channels(ch):
    # few grey levels: many exact ties in the interpolated samples
    x = ch.astype(np.float64)
    assert np.array_equal(lbp_codes(x), lbp_codes(0.37 * x + 12.3))


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "call, exc",
    [
        (lambda: lbp_histogram(np.zeros((8, 8, 3))), InvalidImageError),
        (lambda: lbp_histogram(np.full((8, 8), np.nan)), InvalidImageError),
        (lambda: lbp_histogram(np.zeros((2, 8))), ImageTooSmallError),
        (lambda: lpq_histogram(np.zeros((5, 20))), ImageTooSmallError),
        (lambda: coalbp_histogram(np.zeros((6, 6))), ImageTooSmallError),
        (lambda: lbp_histogram(np.zeros((8, 8)), points=20), ConfigurationError),
        (lambda: lbp_histogram(np.zeros((8, 8)), mapping="ri"), ConfigurationError),
        (lambda: lpq_histogram(np.zeros((8, 8)), window=4), ConfigurationError),
        (lambda: lpq_histogram(np.zeros((8, 8)), rho=1.0), ConfigurationError),
        (lambda: coalbp_histogram(np.zeros((8, 8)), radius=0), ConfigurationError),
        (lambda: lbp_histogram(np.zeros((8, 8)), tolerance=-1), ConfigurationError),
        (lambda: lbp_histogram(np.zeros((8, 8), bool)), InvalidImageError),
        (lambda: rgb_to_hsv(np.zeros((8, 8))), InvalidImageError),
        (lambda: rgb_to_ycbcr(np.zeros((8, 8, 3)), coefficients="bt709"), InvalidImageError),
    ],
)
def test_bad_input_raises_specific_errors(call, exc):
    with pytest.raises(exc):
        call()
