"""QualityFeatures / compute_measures: registry order, validation, scikit-learn behaviour."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from iqa_liveness.errors import ConfigurationError, ImageTooSmallError, InvalidImageError
from iqa_liveness.quality import (
    PAPER_ORDER,
    QualityFeatures,
    available_measures,
    compute_measures,
)
from iqa_liveness.quality._context import QualityContext
from iqa_liveness.quality._registry import get_measure

PIXEL = ("MSE", "PSNR", "SNR", "SC", "MD", "AD", "NAE", "RAMD", "LMSE", "NXC", "MAS", "MAMS")


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(1)
    out = [rng.integers(0, 256, (24, 31, 3), dtype=np.uint8) for _ in range(3)]
    out.append(rng.random((20, 20)))  # float grey 0..1
    return out


def test_pixel_measures_available():
    assert set(PIXEL) <= set(available_measures())
    assert list(available_measures()) == [n for n in PAPER_ORDER if n in available_measures()]


def test_transform_shape_order_dtype(images):
    qf = QualityFeatures(measures=["PSNR", "MSE", "MAS"])
    out = qf.fit(images).transform(images)
    assert out.shape == (4, 3) and out.dtype == np.float64
    assert list(qf.get_feature_names_out()) == ["MSE", "PSNR", "MAS"]
    for row, img in zip(out, images):
        d = compute_measures(img, ["MSE", "PSNR", "MAS"])
        assert row.tolist() == [d["MSE"], d["PSNR"], d["MAS"]]


def test_default_is_all_available(images):
    qf = QualityFeatures(measures=list(PIXEL))
    assert QualityFeatures().get_feature_names_out().tolist() == list(available_measures())
    assert qf.transform(images[:1]).shape == (1, len(PIXEL))


def test_stacked_array_and_paths(tmp_path, images):
    import cv2

    stack = np.stack(images[:3])
    qf = QualityFeatures(measures=list(PIXEL))
    np.testing.assert_array_equal(qf.transform(stack), qf.transform(list(stack)))
    p = tmp_path / "a.png"
    cv2.imwrite(str(p), images[0][:, :, ::-1])  # RGB array -> BGR file
    np.testing.assert_array_equal(qf.transform([str(p)]), qf.transform(images[:1]))


def test_context_uses_the_same_smoothing_as_the_oracle():
    import cv2

    img = np.random.default_rng(3).uniform(0, 255, (17, 23))
    ctx = QualityContext(img)
    ref = cv2.GaussianBlur(img, (3, 3), 0.5, borderType=cv2.BORDER_REFLECT)
    np.testing.assert_allclose(ctx.smoothed, ref, rtol=0, atol=1e-12)
    calls = []
    assert ctx.cached("t.x", lambda c: calls.append(1) or 7) == 7
    assert ctx.cached("t.x", lambda c: calls.append(1) or 8) == 7
    assert calls == [1]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"measures": ["NOPE"]},
        {"measures": []},
        {"measures": ["MSE", "MSE"]},
        {"convention": "matlab"},
        {"n_jobs": "two"},
    ],
)
def test_bad_parameters(kwargs, images):
    qf = QualityFeatures(**kwargs)
    with pytest.raises(ConfigurationError):
        qf.fit(images)
    with pytest.raises(ConfigurationError):
        qf.transform(images)


def test_bad_convention_in_context():
    with pytest.raises(ConfigurationError):
        QualityContext(np.zeros((8, 8)), convention="Bob")


def test_bad_images_are_named_by_index(images):
    qf = QualityFeatures(measures=["MSE"])
    with pytest.raises(ImageTooSmallError, match="image 1"):
        qf.transform([images[0], np.zeros((4, 40), np.uint8)])
    with pytest.raises(InvalidImageError):
        qf.transform(np.zeros((10, 10)))  # one 2-D array is not a sequence of images
    with pytest.raises(InvalidImageError):
        qf.transform("face.png")


def test_sklearn_behaviour(images):
    qf = QualityFeatures(measures=["SSIM", "MSE"] if "SSIM" in available_measures() else ["MSE"])
    c = clone(qf)
    assert c.get_params() == qf.get_params()
    c.set_params(convention="bob", n_jobs=2)
    assert c.convention == "bob" and qf.convention == "standard"
    out = qf.fit_transform(images)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(qf)).transform(images), out)
    np.testing.assert_array_equal(c.set_params(convention="standard").transform(images), out)
    pipe = make_pipeline(QualityFeatures(measures=list(PIXEL)), StandardScaler())
    z = pipe.fit_transform(images)
    assert z.shape == (4, len(PIXEL)) and np.all(np.isfinite(z))
    assert list(pipe.get_feature_names_out()) == list(PIXEL)


def test_registry_hides_only_missing_modules(monkeypatch):
    import importlib

    real = importlib.import_module

    def fake(name, *a, **k):
        if name == "iqa_liveness.quality.pixel":
            raise ModuleNotFoundError("No module named 'somedep'", name="somedep")
        return real(name, *a, **k)

    monkeypatch.setattr(importlib, "import_module", fake)
    with pytest.raises(ModuleNotFoundError):
        get_measure("MSE").resolve()

    def fake_missing(name, *a, **k):
        if name == "iqa_liveness.quality.pixel":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real(name, *a, **k)

    monkeypatch.setattr(importlib, "import_module", fake_missing)
    assert get_measure("MSE").resolve() is None


# --------------------------------------------------------------------------------------------
# every available measure (H2's and H3's included as they land): finite on any image
# --------------------------------------------------------------------------------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def random_images(draw):
    h = draw(st.integers(8, 40))
    w = draw(st.integers(8, 40))
    kind = draw(st.sampled_from(["noise", "flat", "ramp", "sparse", "binary", "float"]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if kind == "noise":
        return rng.integers(0, 256, (h, w), dtype=np.uint8)
    if kind == "flat":
        return np.full((h, w), draw(st.integers(0, 255)), np.uint8)
    if kind == "ramp":
        return np.add.outer(np.arange(h), np.arange(w)).astype(np.uint16) * 257
    if kind == "sparse":
        img = np.zeros((h, w, 3), np.uint8)
        img[rng.integers(0, h), rng.integers(0, w)] = 255
        return img
    if kind == "binary":
        return (rng.random((h, w)) > 0.5).astype(np.uint8) * 255
    return rng.random((h, w, 3))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(img=random_images(), conv=st.sampled_from(["standard", "bob"]))
def test_every_available_measure_is_finite(img, conv):
    qf = QualityFeatures(convention=conv)
    out = qf.transform([img])
    assert out.shape == (1, len(available_measures()))
    bad = [n for n, v in zip(qf.get_feature_names_out(), out[0]) if not np.isfinite(v)]
    assert not bad, f"non-finite {bad} for a {img.shape} {img.dtype} image ({conv})"


def test_same_input_same_bytes(images):
    qf = QualityFeatures()  # every available measure, BIQI included (its SVRs run in numpy)
    a, b = qf.transform(images), qf.transform(images)
    c = QualityFeatures(n_jobs=2).transform(images)  # worker processes too
    assert a.tobytes() == b.tobytes() == c.tobytes()


# --------------------------------------------------------------------------------------------
# scikit-learn estimator checks that apply to an image-input, stateless transformer
# (the others, and why they cannot apply: docs/measures.md, "scikit-learn conformance")
# --------------------------------------------------------------------------------------------
APPLICABLE_CHECKS = [
    "check_estimator_cloneable",
    "check_estimator_repr",
    "check_estimator_tags_renamed",
    "check_valid_tag_types",
    "check_no_attributes_set_in_init",
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
    "check_estimators_overwrite_params",
    "check_estimators_fit_returns_self",
    "check_estimators_unfitted",
    "check_fit_check_is_fitted",
    "check_mixin_order",
    "check_requires_y_none",
    "check_n_features_in_after_fitting",
    "check_transformer_n_iter",
]


@pytest.mark.parametrize("check", APPLICABLE_CHECKS)
def test_sklearn_estimator_check(check):
    import warnings

    from sklearn.utils import estimator_checks

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        getattr(estimator_checks, check)("QualityFeatures", QualityFeatures(measures=["MSE"]))


def test_image_versions_of_the_data_checks(images):
    """Idempotent fit, subset and order invariance, dtypes, pickling: on images."""
    qf = QualityFeatures(measures=list(PIXEL))
    full = qf.fit(images).transform(images)
    np.testing.assert_array_equal(qf.fit(images[:1]).transform(images), full)  # idempotent
    np.testing.assert_array_equal(qf.transform(images[1:3]), full[1:3])  # subset
    np.testing.assert_array_equal(qf.transform(images[::-1]), full[::-1])  # order
    np.testing.assert_array_equal(qf.transform(tuple(images)), full)  # any sequence
    u8 = images[0]
    variants = [u8, u8.astype(np.uint16) * 257, u8.astype(np.float32) / 255, u8 / 255.0]
    rows = qf.transform(variants)
    np.testing.assert_allclose(rows, np.repeat(rows[:1], 4, axis=0), rtol=1e-5, atol=1e-9)
    assert qf.transform([]).shape == (0, len(PIXEL))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(qf)).transform(images), full)


def test_measures_command_json(capsys):
    import json

    from skimage import data

    from iqa_liveness.cli import main

    assert main(["measures", "--json", "--convention", "bob"]) == 0
    out = json.loads(capsys.readouterr().out)
    row = out["measures"][0]
    assert list(row) == list(available_measures())
    expected = compute_measures(data.astronaut(), convention="bob")
    assert row == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_a_non_finite_value_is_raised_not_returned(monkeypatch, images):
    from iqa_liveness.errors import IQALivenessError, MeasureError
    from iqa_liveness.quality import pixel

    monkeypatch.setattr(pixel, "ctx_mse", lambda ctx: float("nan"))
    with pytest.raises(MeasureError, match="MSE") as info:
        QualityFeatures(measures=["MSE", "PSNR"]).transform(images[:1])
    assert isinstance(info.value, IQALivenessError)  # a batch job can record it and go on


def test_face_region_measures_the_eye_based_crop():
    """detector=...: the measures of extract_face's crop (detected, or of a given Face)."""
    from skimage import data

    from iqa_liveness.errors import NoFaceError
    from iqa_liveness.faces import Face, crop_face, extract_face

    img = data.astronaut()
    names = ["MSE", "PSNR", "MAMS"]
    crop, record = extract_face(img, "yunet")
    assert record.fallback is None and crop.shape[0] < img.shape[0]
    qf = QualityFeatures(measures=names, detector="yunet")
    got = qf.transform([img])
    np.testing.assert_array_equal(got[0], list(compute_measures(crop, names).values()))
    assert not np.allclose(got, QualityFeatures(measures=names).transform([img]))
    # a face known beforehand (shared detection, database eyes) replaces the detection
    given = Face(box=(150, 60, 120, 140), eyes=np.array([[180.0, 120.0], [240.0, 120.0]]))
    square = crop_face(img, (150, 90, 120))[0]
    for det in (None, "yunet"):
        row = QualityFeatures(measures=names, detector=det).transform([img], faces=[given])
        np.testing.assert_array_equal(row[0], list(compute_measures(square, names).values()))
    # no face: an error naming the image, or the whole image on request
    flat = np.full((48, 64, 3), 90, np.uint8)
    flat[10:30, 10:40] = 200
    with pytest.raises(NoFaceError, match="image 1"):
        qf.transform([img, flat])
    np.testing.assert_array_equal(
        QualityFeatures(measures=names, detector="yunet", on_no_face="whole").transform([flat]),
        QualityFeatures(measures=names).transform([flat]),
    )
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(qf)).transform([img]), got)
    for bad in ({"face": "first"}, {"on_no_face": "skip"}):
        with pytest.raises(ConfigurationError):
            QualityFeatures(detector="yunet", **bad).transform([img])
