"""Spectral measures (SME, SPE, HLFI): oracle values, full-spectrum re-computations with
numpy.fft.fft2, Parseval and phase invariants, bob's band, degenerate cases."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import shared_path
from hypothesis import given, settings
from hypothesis import strategies as st

from iqa_liveness.errors import InvalidImageError
from iqa_liveness.quality import compute_measures
from iqa_liveness.quality import spectral as sp
from iqa_liveness.quality._context import QualityContext, smooth
from iqa_liveness.quality.edges import bob_smooth

NAMES = ("SME", "SPE", "HLFI")
CTX_FUNCS = {"SME": sp.ctx_sme, "SPE": sp.ctx_spe, "HLFI": sp.ctx_hlfi}
CONVENTIONS = ("standard", "bob")
SHAPES = [(16, 16), (15, 21), (20, 9), (9, 8), (31, 32)]


@pytest.fixture(scope="module")
def oracle():
    return json.loads(shared_path("oracles", "iqm_astronaut.json").read_text())


@pytest.fixture(scope="module")
def astronaut_ctx(astronaut_grey_u8):
    return {conv: QualityContext(astronaut_grey_u8, convention=conv) for conv in CONVENTIONS}


def _img(seed, shape):
    return np.random.default_rng(seed).uniform(0, 255, shape)


# -- oracle ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_bob_oracle(oracle, astronaut_ctx, name):
    ref = oracle["bob_ip_qualitymeasure_1_1_8"][name]["value"]
    assert CTX_FUNCS[name](astronaut_ctx["bob"]) == pytest.approx(ref, rel=1e-5)


def test_standard_sme_full_spectrum_value(oracle, astronaut_ctx):
    # the oracle's note on bob's SME: "full fft2 mean gives 2224556.59"
    assert "2224556.59" in oracle["bob_ip_qualitymeasure_1_1_8"]["SME"]["quirk"]
    assert sp.ctx_sme(astronaut_ctx["standard"]) == pytest.approx(2224556.59, rel=1e-8)


def test_bob_hlfi_band_on_shifted_spectrum(oracle, astronaut_grey_u8):
    """The oracle: bob's band on an fftshift-ed spectrum gives 0.00126."""
    assert "0.00126" in oracle["bob_ip_qualitymeasure_1_1_8"]["HLFI"]["quirk"]
    a = np.fft.fftshift(np.abs(np.fft.fft2(astronaut_grey_u8.astype(np.float64))))
    lo, hi = sp._bob_band(a.shape[1])
    low = a[:, lo:hi].sum()
    assert abs(low - (a.sum() - low)) / a.sum() == pytest.approx(0.00126, abs=5e-6)


def test_compute_measures_in_registry(astronaut_grey_u8):
    img = astronaut_grey_u8[:64, :90]
    for conv in CONVENTIONS:
        got = compute_measures(img, NAMES, convention=conv)
        ctx = QualityContext(img, convention=conv)
        assert list(got) == list(NAMES)
        for name in NAMES:
            assert got[name] == CTX_FUNCS[name](ctx)


@pytest.mark.parametrize("conv", CONVENTIONS)
def test_pure_equals_context(astronaut_grey_u8, conv):
    img = astronaut_grey_u8[50:120, 200:281].astype(np.float64)
    ctx = QualityContext(img, convention=conv)
    dis = bob_smooth(img) if conv == "bob" else smooth(img)
    assert sp.spectral_magnitude_error(img, dis, conv) == sp.ctx_sme(ctx)
    assert sp.spectral_phase_error(img, dis, conv) == sp.ctx_spe(ctx)
    assert sp.high_low_frequency_index(img, conv) == sp.ctx_hlfi(ctx)


# -- independent full-spectrum re-computations ------------------------------------------------
@pytest.mark.parametrize(
    "shape",
    [(8, 8), (9, 8), (8, 9), (9, 9), (2, 2), (3, 5), (16, 3), (12, 10), (7, 11), (480, 640)],
)
def test_half_spectrum_is_rfft2(shape):
    """OpenCV's packed (CCS) real DFT, unpacked, for sizes of factors 2, 3, 5; scipy else."""
    x = _img(8, shape)
    got = sp.half_spectrum(x)
    ref = np.fft.rfft2(x)
    assert got.shape == ref.shape and got.dtype == np.complex128
    assert np.abs(got - ref).max() <= 1e-14 * np.abs(ref).max()


@pytest.mark.parametrize("shape", SHAPES)
def test_half_spectrum_equals_full_fft2(shape):
    a, b = _img(1, shape), smooth(_img(2, shape))
    fa, fb = np.fft.fft2(a), np.fft.fft2(b)
    n = a.size
    # the standard convention rounds the (double) coefficients to float32: rel ~1e-8
    sme = np.sum((np.abs(fa) - np.abs(fb)) ** 2) / n
    assert sp.spectral_magnitude_error(a, b) == pytest.approx(sme, rel=1e-6)
    spe = np.sum(np.angle(fa * np.conj(fb)) ** 2) / n
    assert sp.spectral_phase_error(a, b) == pytest.approx(spe, rel=2e-6)
    # bob: the rfft2 half, no weights, unwrapped phases
    ha, hb = np.fft.rfft2(a), np.fft.rfft2(b)
    bob_sme = np.sum((np.abs(ha) - np.abs(hb)) ** 2) / n
    bob_spe = np.sum((np.angle(ha) - np.angle(hb)) ** 2) / n
    assert sp.spectral_magnitude_error(a, b, "bob") == pytest.approx(bob_sme, rel=1e-10)
    assert sp.spectral_phase_error(a, b, "bob") == pytest.approx(bob_spe, rel=1e-10)


@pytest.mark.parametrize("shape", SHAPES)
def test_hlfi_against_full_spectrum_masks(shape):
    x = _img(3, shape)
    a = np.abs(np.fft.fft2(x))
    n, m = shape
    ku = np.abs(np.fft.fftfreq(n) * n)[:, None]  # |signed frequency index|
    kv = np.abs(np.fft.fftfreq(m) * m)[None, :]
    low = a[(ku < 0.15 * n) & (kv < 0.15 * m)].sum()
    high = a[(ku >= 0.35 * n) & (kv >= 0.35 * m)].sum()
    expected = abs(low - high) / a.sum()
    assert sp.high_low_frequency_index(x) == pytest.approx(expected, rel=1e-6)  # float32 |F|
    # bob: columns [round(m/2) - b, round(m/2) + b) of the unshifted fft2, b by Python rounding
    centre, b = int(round(m / 2)), int(round(round(0.15 * m) / 2.0))
    band = a[:, centre - b : centre + b].sum()
    expected = abs(band - (a.sum() - band)) / a.sum()
    assert sp.high_low_frequency_index(x, "bob") == pytest.approx(expected, rel=1e-10)


def test_bob_band_rounding():
    assert sp._bob_band(512) == (218, 294)  # round(76.8) = 77, round(38.5) = 38
    assert sp._bob_band(8) == (4, 4)  # round(1.2) = 1, round(0.5) = 0: an empty band
    assert sp._bob_band(5) == (2, 2)  # round(2.5) = 2 (half to even), round(0.75)=1, 0.5 -> 0
    assert sp._bob_band(30) == (13, 17)  # round(4.5) = 4, band half-width 2


# -- invariants -------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
def test_parseval_and_scaling(shape):
    x = _img(4, shape)
    energy = float(np.sum(x**2))
    # standard: float32 magnitudes, sums in double
    assert sp.spectral_magnitude_error(x, np.zeros(shape)) == pytest.approx(energy, rel=1e-6)
    assert sp.spectral_magnitude_error(x, 0.25 * x) == pytest.approx(0.5625 * energy, rel=1e-6)
    bob_energy = np.sum(np.abs(np.fft.rfft2(x)) ** 2) / x.size
    assert sp.spectral_magnitude_error(x, np.zeros(shape), "bob") == pytest.approx(
        bob_energy, rel=1e-12
    )
    assert sp.spectral_phase_error(x, 0.25 * x) == pytest.approx(0.0, abs=1e-20)
    assert sp.spectral_phase_error(x, -x) == pytest.approx(np.pi**2, rel=1e-6)


def test_spe_of_a_circular_shift():
    x = _img(5, (12, 16))
    y = np.roll(x, 1, axis=1)  # phase of column frequency v turns by -2 pi v / 16
    v = np.fft.fftfreq(16) * 16
    turn = np.angle(np.exp(-2j * np.pi * v / 16))
    expected = np.mean(np.broadcast_to(turn**2, (12, 16)))
    assert sp.spectral_phase_error(x, y) == pytest.approx(expected, rel=1e-6)


def test_hlfi_sharpness_ordering():
    # a sharper image has more high-frequency energy, so less low-high imbalance
    x = _img(6, (32, 32))
    assert sp.high_low_frequency_index(smooth(smooth(x))) > sp.high_low_frequency_index(x)


# -- degenerate cases -------------------------------------------------------------------------
@pytest.mark.parametrize("conv", CONVENTIONS)
@pytest.mark.parametrize("shape", [(8, 8), (8, 11), (21, 16)])
@pytest.mark.parametrize("value", [0.0, 1.0, 77.0, 255.0])
def test_flat_images(conv, shape, value):
    ctx = QualityContext(np.full(shape, value), convention=conv)
    assert sp.ctx_sme(ctx) == pytest.approx(0.0, abs=1e-12)
    assert sp.ctx_spe(ctx) == 0.0
    assert sp.ctx_hlfi(ctx) == 1.0  # all energy at frequency 0; black: the same value


@pytest.mark.parametrize("conv", CONVENTIONS)
def test_identical_images(conv):
    x = _img(7, (13, 18))
    assert sp.spectral_magnitude_error(x, x.copy(), conv) == 0.0
    assert sp.spectral_phase_error(x, x.copy(), conv) == 0.0


def test_checkerboard_hlfi():
    checker = np.indices((8, 8)).sum(axis=0) % 2 * 255.0
    assert sp.high_low_frequency_index(checker) == 0.0  # DC and Nyquist carry equal energy


def test_bad_input():
    with pytest.raises(InvalidImageError):
        sp.spectral_magnitude_error(np.zeros((8, 8)), np.zeros((9, 8)))
    with pytest.raises(InvalidImageError):
        sp.high_low_frequency_index(np.zeros((8, 8, 3)))
    with pytest.raises(InvalidImageError):
        sp.spectral_phase_error(np.full((8, 8), np.inf), np.zeros((8, 8)))
    with pytest.raises(ValueError):
        sp.high_low_frequency_index(np.zeros((8, 8)), convention="shifted")


@settings(max_examples=25, deadline=None)
@given(
    h=st.integers(8, 40),
    w=st.integers(8, 40),
    seed=st.integers(0, 2**16),
    scale=st.sampled_from([0.0, 1e-9, 1.0, 255.0]),
    conv=st.sampled_from(CONVENTIONS),
)
def test_property_finite_and_bounded(h, w, seed, scale, conv):
    x = np.random.default_rng(seed).uniform(0, 1, (h, w)) * scale
    ctx = QualityContext(x, convention=conv)
    v = {name: CTX_FUNCS[name](ctx) for name in NAMES}
    assert all(np.isfinite(val) and val >= 0.0 for val in v.values()), v
    assert v["HLFI"] <= 1.0 + 1e-12
    if conv == "standard":
        assert v["SPE"] <= np.pi**2 * (1 + 1e-6)


# -- the spectrum of I' derived from that of I ------------------------------------------------
@pytest.mark.parametrize(
    "shape", [(3, 3), (8, 8), (9, 8), (8, 9), (15, 21), (3, 40), (40, 3), (2, 5), (64, 48)]
)
@pytest.mark.parametrize("offset", [0.0, -128.0])
def test_smoothed_half_spectrum_is_rfft2_of_smooth(shape, offset):
    """H F plus the rank-4 border correction equals the DFT of smooth(I) up to rounding."""
    x = _img(9, shape) + offset
    ref = np.fft.rfft2(smooth(x))
    got = sp.smoothed_half_spectrum(x)
    assert got.shape == ref.shape and got.dtype == np.complex128
    assert np.abs(got - ref).max() <= 1e-14 * np.abs(ref).max()
    assert np.array_equal(sp.smoothed_half_spectrum(x, sp.half_spectrum(x)), got)


def test_negative_image_pure_equals_context():
    x = _img(10, (24, 30)) - 200.0  # I < 0: the phase tolerance comes from sum |I'|
    ctx = QualityContext(x)
    assert sp.spectral_magnitude_error(x, smooth(x)) == sp.ctx_sme(ctx)
    assert sp.spectral_phase_error(x, smooth(x)) == sp.ctx_spe(ctx)
    fa, fb = np.fft.fft2(x), np.fft.fft2(smooth(x))
    spe = np.sum(np.angle(fa * np.conj(fb)) ** 2) / x.size
    assert sp.ctx_spe(ctx) == pytest.approx(spe, rel=2e-6)


def test_values_do_not_depend_on_rred_running_first(astronaut_grey_u8):
    """RRED may fill the shared spectrum of I' by its own DFT; ours is always the derived one."""
    from iqa_liveness.quality.rred import ctx_rred

    img = astronaut_grey_u8[100:196, 150:278]
    first = QualityContext(img)
    ctx_rred(first)
    alone = QualityContext(img)
    for name, func in CTX_FUNCS.items():
        assert func(first) == func(alone), name
