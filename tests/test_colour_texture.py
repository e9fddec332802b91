"""ColourTextureFeatures: the whole pipeline, end to end against the Octave oracle."""

from __future__ import annotations

import json
import pickle
from functools import lru_cache

import numpy as np
import pytest
from conftest import shared_path
from skimage import data
from sklearn.base import clone

from iqa_liveness.colour_texture import PRESETS, ColourTextureFeatures, describe_face
from iqa_liveness.errors import ConfigurationError, ImageReadError, NoFaceError
from iqa_liveness.faces import Face, YuNetDetector


@lru_cache(maxsize=1)
def _astronaut() -> np.ndarray:
    return data.astronaut()


def _oracle_vector(image: str) -> np.ndarray:
    root = shared_path("oracles", "colour_texture")
    v = json.loads((root / "vectors.json").read_text())["images"][image]
    lbp = [v["HSV"]["channels"][c]["lbp_u2_R1_P8"]["nh"] for c in "HSV"]
    lpq = [v["YCbCr"]["channels"][c]["lpq_w7_decorr1_freqestim1"]["nh"] for c in ("Y", "Cb", "Cr")]
    return np.concatenate(lbp + lpq)


def test_default_layout_and_names():
    ctf = ColourTextureFeatures().fit()
    names = ctf.get_feature_names_out()
    assert len(names) == ctf.n_features_out_ == 945
    assert names[0] == "HSV_H_LBP_0" and names[58] == "HSV_H_LBP_58"
    assert names[59] == "HSV_S_LBP_0" and names[177] == "YCbCr_Y_LPQ_0"
    assert names[-1] == "YCbCr_Cr_LPQ_255" and len(set(names)) == 945


@pytest.mark.parametrize("image", ["astronaut_face64", "random_rgb64"])
def test_toolbox_compatible_settings_reproduce_the_oracle_bit_for_bit(image):
    rgb = np.load(shared_path("oracles", "colour_texture", f"{image}.npy"))
    ctf = ColourTextureFeatures(detector="none", lbp_matlab_rounding=True, tolerance=0)
    row = ctf.transform([rgb])[0]
    assert row.tolist() == _oracle_vector(image).tolist()


def test_default_settings_against_the_oracle():
    rgb = np.load(shared_path("oracles", "colour_texture", "astronaut_face64.npy"))
    row = ColourTextureFeatures(detector="none").transform([rgb])[0]
    ref = _oracle_vector("astronaut_face64")
    assert row[177:].tolist() == ref[177:].tolist()  # LPQ on YCbCr: identical
    # LBP on HSV: only the codes decided by lbp.m's rounding differ (< 5% of the counts)
    moved = np.abs(row[:177] - ref[:177]).sum() * 3844 / 2
    assert 0 < moved < 0.05 * 3 * 3844


def test_detection_path_records_and_finite_rows():
    ctf = ColourTextureFeatures()
    X = ctf.transform([_astronaut()])
    assert X.shape == (1, 945) and np.isfinite(X).all()
    for k in range(6):
        start = 59 * k if k < 3 else 177 + 256 * (k - 3)
        n = 59 if k < 3 else 256
        assert abs(X[0, start : start + n].sum() - 1) < 1e-12
    rec = ctf.face_records_[0]
    assert rec.ok and rec.detector == "yunet" and rec.fallback is None and rec.n_faces == 1
    left, top, side = rec.crop
    assert 150 < left < 200 and 40 < top < 90 and 80 < side < 120
    json.dumps(rec.to_dict())


def test_precomputed_faces_skip_detection():
    face = YuNetDetector().detect(_astronaut())[0]
    ctf = ColourTextureFeatures()
    detected = ctf.transform([_astronaut()])
    given = ctf.transform([_astronaut()], faces=[face])
    assert np.array_equal(detected, given)
    assert ctf.face_records_[0].detector == "yunet"  # the face remembers its detector
    # a box-only face: square box crop, recorded as the fallback
    ctf.transform([_astronaut()], faces=[Face(box=(170, 60, 100, 120))])
    assert ctf.face_records_[0].fallback == "box"
    with pytest.raises(ConfigurationError):
        ctf.transform([_astronaut()], faces=[face, face])


def test_describe_face_equals_the_transformer_without_detector():
    crop = _astronaut()[60:190, 160:290]
    a = describe_face(crop)
    b = ColourTextureFeatures(detector="none").transform(np.stack([crop, crop]))
    assert np.array_equal(a, b[0]) and np.array_equal(b[0], b[1])


def test_no_face_policies():
    flat = np.full((120, 160, 3), 90, np.uint8)
    images = [_astronaut(), flat]
    with pytest.raises(NoFaceError, match="image 1"):
        ColourTextureFeatures().transform(images)
    skip = ColourTextureFeatures(on_no_face="skip")
    with pytest.raises(NoFaceError):
        skip.transform(images)
    X, records, ok = skip.transform_with_records(images)
    assert X.shape == (1, 945) and ok.tolist() == [True, False]
    assert records[1].error_type == "NoFaceError" and records[0].ok
    whole = ColourTextureFeatures(on_no_face="whole")
    X = whole.transform(images)
    assert whole.face_records_[1].fallback == "whole"
    # a flat image has documented histograms: LBP all in bin 57, LPQ all in bin 0
    for k in range(3):
        assert X[1, 59 * k + 57] == 1.0
        assert X[1, 177 + 256 * k] == 1.0


def test_bad_images_are_recorded_by_the_batch_method(tmp_path):
    missing = str(tmp_path / "missing.png")
    ctf = ColourTextureFeatures(detector="none")
    X, records, ok = ctf.transform_with_records([_astronaut()[:64, :64], missing])
    assert ok.tolist() == [True, False] and records[1].error_type == "ImageReadError"
    with pytest.raises(ImageReadError, match="image 1"):
        ctf.transform([_astronaut()[:64, :64], missing])


def test_configurable_descriptors():
    ctf = ColourTextureFeatures(descriptors=["YCbCr_CoALBP", "grey_lbp"], detector="none")
    X = ctf.fit_transform([_astronaut()[100:200, 150:250]])
    names = ctf.get_feature_names_out()
    assert X.shape == (1, 3 * 1024 + 59) == (1, len(names))
    assert names[1024] == "YCbCr_Cb_CoALBP_0" and names[-1] == "Grey_Y_LBP_58"
    same = ColourTextureFeatures(descriptors="HSV_LBP, YCbCr_LPQ").fit()
    assert same.n_features_out_ == 945
    riu2 = ColourTextureFeatures(descriptors=["RGB_LBP"], lbp_mapping="riu2").fit()
    assert riu2.n_features_out_ == 30


def test_power_maps_every_histogram_value_and_keeps_the_layout():
    crop = _astronaut()[100:200, 150:250]
    plain = ColourTextureFeatures(detector="none")
    root = ColourTextureFeatures(detector="none", power=0.5)
    assert root.fit().n_features_out_ == 945
    assert root.get_feature_names_out().tolist() == plain.get_feature_names_out().tolist()
    a, b = plain.transform([crop])[0], root.transform([crop])[0]
    assert np.array_equal(b, np.sqrt(a))
    assert np.allclose((b**2).reshape(-1)[:177].reshape(3, 59).sum(axis=1), 1.0)


def test_presets():
    assert ColourTextureFeatures(**PRESETS["paper"]).fit().n_features_out_ == 945
    assert ColourTextureFeatures(**PRESETS["paper"]).get_params() == (
        ColourTextureFeatures().get_params()
    )
    gen = ColourTextureFeatures(**PRESETS["generalising"]).fit()
    names = gen.get_feature_names_out()
    assert len(names) == 6 * 256 and names[0] == "HSV_H_LPQ_0" and names[-1] == "YCbCr_Cr_LPQ_255"


def test_multiscale_coalbp_matches_the_oracle():
    rgb = np.load(shared_path("oracles", "colour_texture", "random_rgb64.npy"))
    root = shared_path("oracles", "colour_texture")
    v = json.loads((root / "vectors.json").read_text())["images"]["random_rgb64"]["YCbCr"]
    ctf = ColourTextureFeatures(
        descriptors=["YCbCr_CoALBP"],
        detector="none",
        coalbp_scales=[[1, 2], [2, 4], [4, 8]],
        tolerance=0,
    )
    row = ctf.fit_transform([rgb])[0]
    assert row.shape == (3 * 3072,) and ctf.get_feature_names_out()[-1] == "YCbCr_Cr_CoALBP_3071"
    ref = [
        v["channels"][c][f"coalbp_s{s}_r{r}_plus"]["nh"]
        for c in ("Y", "Cb", "Cr")
        for s, r in ((1, 2), (2, 4), (4, 8))
    ]
    assert row.tolist() == np.concatenate(ref).tolist()


@pytest.mark.parametrize(
    "params",
    [
        {"descriptors": ["HSV_SIFT"]},
        {"descriptors": ["HSV_LBP", "hsv_lbp"]},
        {"descriptors": []},
        {"size": 8},
        {"on_no_face": "ignore"},
        {"face": "first"},
        {"detector": "mtcnn"},
        {"lpq_window": 4},
        {"ycbcr_coefficients": "bt709"},
        {"n_jobs": "2"},
        {"descriptors": ["HSV_CoALBP"], "coalbp_scales": [1, 2]},
        {"descriptors": ["HSV_CoALBP"], "coalbp_scales": [[40, 40]]},
        {"power": 0},
        {"power": float("nan")},
        {"power": "sqrt"},
    ],
)
def test_bad_parameters(params):
    with pytest.raises(ConfigurationError):
        ColourTextureFeatures(**params).fit()


def test_grey_input_determinism_clone_and_pickle():
    grey = (data.astronaut()[..., 1]).copy()
    ctf = ColourTextureFeatures()
    a = ctf.transform([grey])
    b = ctf.transform([grey])
    assert a.tobytes() == b.tobytes()
    assert a[0, 57] == 1.0  # H of a grey image is 0 everywhere: flat channel
    clone(ctf)
    again = pickle.loads(pickle.dumps(ctf))
    assert np.array_equal(again.transform([grey]), a)
    json.dumps(ColourTextureFeatures().get_params())


def test_parallel_equals_serial():
    crops = [_astronaut()[i : i + 70, 200:270] for i in (40, 80, 120)]
    serial = ColourTextureFeatures(detector="none").transform(crops)
    parallel = ColourTextureFeatures(detector="none", n_jobs=2).transform(crops)
    assert np.array_equal(serial, parallel)
