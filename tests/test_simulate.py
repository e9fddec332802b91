"""Simulated attacks: determinism, value ranges, and that each effect does what it says."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np
import pytest
from skimage import data

from iqa_liveness import simulate as sim
from iqa_liveness.errors import ConfigurationError


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    return data.astronaut()[40:200, 150:310]


@pytest.fixture(scope="module")
def face_f(face) -> np.ndarray:
    return face.astype(np.float64) / 255.0


def _hf_energy(img: np.ndarray) -> float:
    """Energy of the Laplacian of the mean channel (high-frequency content)."""
    g = img.mean(axis=2)
    lap = 4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]
    return float(np.mean(lap**2))


def _chroma(img: np.ndarray) -> float:
    return float(np.mean(img.max(axis=2) - img.min(axis=2)))


@pytest.mark.parametrize("fn", [sim.simulate_print, sim.simulate_replay])
def test_deterministic_and_seed_dependent(face, fn):
    a = fn(face, np.random.default_rng(7))
    b = fn(face, np.random.default_rng(7))
    c = fn(face, np.random.default_rng(8))
    assert a.dtype == np.uint8 and a.shape == face.shape
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a, face)


@pytest.mark.parametrize("fn", [sim.simulate_print, sim.simulate_replay])
def test_float_input_gives_float_in_range(face_f, fn):
    out = fn(face_f, np.random.default_rng(1))
    assert out.dtype == np.float64
    assert out.min() >= 0.0 and out.max() <= 1.0 and np.isfinite(out).all()


def test_grey_and_path_inputs(tmp_path, face):
    grey = data.camera()[100:164, 200:264]
    assert sim.simulate_print(grey, np.random.default_rng(0)).shape == (64, 64, 3)
    import cv2

    p = tmp_path / "f.png"
    cv2.imwrite(str(p), face[:, :, ::-1])
    from_path = sim.simulate_replay(p, np.random.default_rng(3))
    from_array = sim.simulate_replay(face, np.random.default_rng(3))
    assert np.array_equal(from_path, from_array)


def test_halftone_reduces_levels(face_f):
    out = sim.halftone(face_f, period=4)
    for c in range(3):
        assert len(np.unique(face_f[:, :, c])) > 100
        assert set(np.unique(out[:, :, c]).tolist()) <= {0.0, 1.0}
    # coverage follows the tone: darker input -> more ink (lower mean)
    dark = sim.halftone(np.full((64, 64, 3), 0.2), 4).mean()
    light = sim.halftone(np.full((64, 64, 3), 0.8), 4).mean()
    assert dark < 0.4 < 0.6 < light


def test_gamut_compress_shrinks_range_and_chroma(face_f):
    out = sim.gamut_compress(face_f, saturation=0.6, black=0.1, white=0.9)
    assert out.min() >= 0.1 - 1e-12 and out.max() <= 0.9 + 1e-12
    assert _chroma(out) < 0.6 * _chroma(face_f) + 1e-9
    with pytest.raises(ConfigurationError):
        sim.gamut_compress(face_f, black=0.9, white=0.1)


def test_blur_lowers_high_frequency_energy(face_f):
    assert _hf_energy(sim.recapture_blur(face_f, 1.5)) < 0.3 * _hf_energy(face_f)
    assert np.array_equal(sim.recapture_blur(face_f, 0), face_f)


def test_paper_texture_adds_fibre_noise_and_keeps_mean():
    flat = np.full((96, 96, 3), 0.5)
    out = sim.paper_texture(flat, strength=0.06, scale=1.5, seed=3)
    assert abs(out.mean() - 0.5) < 0.01
    assert 0.02 < out.std() < 0.04  # 0.5 * 0.06 = 0.03
    # the same field on every channel (the paper carries it, not the ink)
    assert np.allclose(out[:, :, 0], out[:, :, 2])


def test_perspective_moves_corners():
    img = np.zeros((101, 101, 3))
    img[45:56, 45:56] = 1.0  # a square in the middle
    offsets = np.array([[0.1, 0.0], [0.1, 0.0], [0.1, 0.0], [0.1, 0.0]])  # pure shift right
    out = sim.perspective(img, offsets)
    cols = np.nonzero(out[50, :, 0] > 0.5)[0]
    assert cols.min() == 55 and cols.max() == 65  # moved by 0.1 * 100 pixels


def test_gamma_maps_mid_grey():
    out = sim.gamma(np.full((2, 2, 3), 0.5), 2.0)
    assert np.allclose(out, 0.25)
    with pytest.raises(ConfigurationError):
        sim.gamma(np.zeros((2, 2, 3)), 0)


@pytest.mark.parametrize("pitch", [1.1, 1.25, 1.6])
def test_moire_fringes_at_aliased_frequency(pitch):
    w = 256
    out = sim.pixel_grid_moire(np.full((4, w, 3), 0.5), pitch=pitch, angle=0.0, strength=0.2)
    spec = np.abs(np.fft.rfft(out[0, :, 1] - out[0, :, 1].mean()))
    peak = int(np.argmax(spec)) / w
    assert abs(peak - sim.aliased_frequency(pitch)) <= 1.0 / w + 1e-12
    assert sim.aliased_frequency(pitch) < 0.5  # a beat below Nyquist, i.e. a visible fringe


def test_refresh_banding_is_horizontal():
    out = sim.refresh_banding(np.full((120, 50, 3), 0.6), period=30, strength=0.1)
    assert np.allclose(out.std(axis=1), 0.0)  # constant along each row
    rows = out[:, 0, 0]
    assert rows.max() == pytest.approx(0.6, abs=1e-3) and rows.min() == pytest.approx(
        0.54, abs=1e-3
    )
    spec = np.abs(np.fft.rfft(rows - rows.mean()))
    assert int(np.argmax(spec)) == 120 // 30


def test_glare_brightens_around_centre(face_f):
    out = sim.glare(face_f, center=(0.25, 0.75), radius=0.1, strength=0.6)
    h, w = face_f.shape[:2]
    y, x = int(0.75 * (h - 1)), int(0.25 * (w - 1))
    # exactly at the centre: (1 - strength) * img + strength
    assert np.allclose(out[y, x], 0.4 * face_f[y, x] + 0.6, atol=1e-3)
    assert np.allclose(out[0, -1], face_f[0, -1], atol=1e-6)  # far corner untouched
    assert out.max() <= 1.0


def test_print_and_replay_change_the_expected_cues(face):
    rng = np.random.default_rng(11)
    f = face.astype(np.float64) / 255.0
    printed = sim.apply_print(f, sim.PrintParams.draw(rng))
    assert _chroma(printed) < _chroma(f)  # gamut compression
    assert printed.max() <= 0.97 + 0.02  # paper is never perfectly white


def test_standin_dataset_layout_and_determinism(tmp_path):
    a = sim.build_standin_dataset(tmp_path / "a", per_subject=2, size=(64, 48), seed=5)
    sim.build_standin_dataset(tmp_path / "b", per_subject=2, size=(64, 48), seed=5)
    assert a["counts"] == {"bona_fide": 12, "print": 12, "replay": 12}
    assert a["subjects"] == ["astronaut", "camera"]

    def digest(root: Path) -> dict[str, str]:
        return {
            p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*.png"))
        }

    da, db = digest(tmp_path / "a"), digest(tmp_path / "b")
    assert da == db and len(da) == 36
    with open(tmp_path / "a" / "subjects.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["file"] for r in rows} == set(da)
    assert {r["split"] for r in rows} == {"train", "dev", "test"}
    assert all(
        (r["session"], r["split"]) in {("s1", "train"), ("s2", "dev"), ("s3", "test")} for r in rows
    )
    assert "SIMULATED" in (tmp_path / "a" / "README.txt").read_text()
    import cv2

    img = cv2.imread(str(tmp_path / "a" / next(iter(da))))
    assert img.shape == (48, 64, 3)


def test_standin_read_by_folder_manager(tmp_path):
    datasets = pytest.importorskip("iqa_liveness.datasets")
    sim.build_standin_dataset(tmp_path, per_subject=1, size=(32, 24), seed=0)
    ds = datasets.get_dataset("folder", tmp_path)
    samples = list(ds.samples())
    assert len(samples) == 18
    labels = sorted({(s.label, s.attack_type) for s in samples}, key=str)
    assert labels == sorted(
        {("bona_fide", None), ("attack", "print"), ("attack", "replay")}, key=str
    )
    assert {s.subject for s in samples} == {"astronaut", "camera"}
    assert len(list(ds.samples(split="test"))) == 6


def test_bad_arguments(face_f):
    with pytest.raises(ConfigurationError):
        sim.halftone(face_f, period=1)
    with pytest.raises(ConfigurationError):
        sim.perspective(face_f, np.zeros((3, 2)))
    with pytest.raises(ConfigurationError):
        sim.build_standin_dataset("/nonexistent-never", per_subject=0)
