"""Deep tests through cv2.dnn: sidecar validation, crop rule, pre-processing, scores."""

import json
import pickle

import cv2
import numpy as np
import pytest
from conftest import shared_path

from iqa_liveness.deep import (
    BoxMapping,
    DeepFeatures,
    OnnxLivenessTest,
    crop_box,
    list_presets,
    load_sidecar,
    parse_sidecar,
    resolve_onnx_test,
)
from iqa_liveness.errors import ConfigurationError, NoFaceError, SidecarError
from iqa_liveness.faces import Face, FaceDetector

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

W = np.array([[0.5, -1.0, 0.25], [-0.5, 1.0, 2.0]], np.float32)  # (2 outputs, 3 channels)
B = np.array([0.1, -0.2], np.float32)


def tiny_model(path, size=8):
    """GlobalAveragePool -> Flatten -> Gemm: logits = W @ mean_per_channel + B."""
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])
    nodes = [
        helper.make_node("GlobalAveragePool", ["input"], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "W", "B"], ["logits"], transB=1),
    ]
    graph = helper.make_graph(
        nodes, "tiny", [x], [y], [numpy_helper.from_array(W, "W"), numpy_helper.from_array(B, "B")]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))


def sidecar(**over):
    data = {
        "format": "iqa-liveness/onnx-test",
        "version": 1,
        "name": "tiny",
        "models": [{"file": "tiny.onnx", "crop_scale": 1.5}],
        "input": {
            "width": 8,
            "height": 8,
            "layout": "NCHW",
            "channel_order": "RGB",
            "value_scale": 1 / 255,
            "mean": [0.5, 0.5, 0.5],
            "std": [0.25, 0.5, 1.0],
        },
        "output": {"softmax": True, "bona_fide_indices": [1]},
    }
    data.update(over)
    return data


@pytest.fixture
def tiny_dir(tmp_path):
    tiny_model(tmp_path / "tiny.onnx")
    (tmp_path / "tiny.json").write_text(json.dumps(sidecar()))
    return tmp_path


def test_tiny_model_scores_match_numpy(tiny_dir):
    test = OnnxLivenessTest(str(tiny_dir / "tiny.json"))
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    box = (20, 10, 16, 16)
    (patch,) = test.patches(img, box)
    left, top, right, bottom = crop_box(img.shape, box, 1.5)
    expect_patch = cv2.resize(img[top : bottom + 1, left : right + 1], (8, 8))
    np.testing.assert_array_equal(patch, expect_patch)
    x = (patch.astype(np.float64) / 255 - 0.5) / np.array([0.25, 0.5, 1.0])
    z = W.astype(np.float64) @ x.reshape(-1, 3).mean(0) + B
    p = np.exp(z) / np.exp(z).sum()
    scores = test.score_face(img, box)
    np.testing.assert_allclose(scores, [p[1], p[1]], rtol=1e-5)
    assert test.feature_names() == ["tiny_0", "tiny"]
    # pickles without its cv2 networks and reloads them on use
    again = pickle.loads(pickle.dumps(test))
    np.testing.assert_array_equal(again.score_face(img, box), scores)


def test_channel_order_and_no_softmax(tiny_dir):
    spec = parse_sidecar(sidecar(output={"softmax": False, "bona_fide_indices": [0]}), tiny_dir)
    rgb_test = OnnxLivenessTest(spec)
    bgr = parse_sidecar(
        sidecar(
            output={"softmax": False, "bona_fide_indices": [0]},
            input={**sidecar()["input"], "channel_order": "BGR"},
        ),
        tiny_dir,
    )
    img = np.zeros((20, 20, 3), np.uint8)
    img[..., 0] = 255  # pure red
    s_rgb = rgb_test.score_face(img, (2, 2, 16, 16))[-1]
    s_bgr = OnnxLivenessTest(bgr).score_face(img, (2, 2, 16, 16))[-1]
    # red in channel 0 (RGB) vs channel 2 (BGR): logit 0 = W[0] @ x + B[0], no softmax
    x_rgb = (np.array([1.0, 0, 0]) - 0.5) / np.array([0.25, 0.5, 1.0])
    x_bgr = (np.array([0, 0, 1.0]) - 0.5) / np.array([0.25, 0.5, 1.0])
    assert s_rgb == pytest.approx(W[0] @ x_rgb + B[0], rel=1e-5)
    assert s_bgr == pytest.approx(W[0] @ x_bgr + B[0], rel=1e-5)


def test_crop_box_shifts_back_inside():
    # centre crop fits
    assert crop_box((100, 100), (40, 40, 20, 20), 2.0) == (30, 30, 70, 70)
    # leaves left/top: shifted right/down
    assert crop_box((100, 100), (0, 0, 20, 20), 2.0) == (0, 0, 40, 40)
    # leaves right/bottom: shifted left/up to end at W-1/H-1
    assert crop_box((100, 100), (85, 85, 14, 14), 2.0) == (71, 71, 99, 99)
    # scale capped by the image: s = min(4, 99/50)
    left, top, right, bottom = crop_box((100, 100), (25, 25, 50, 50), 4.0)
    assert (left, top, right, bottom) == (0, 0, 99, 99)


def test_box_mapping_identity_and_shift():
    assert BoxMapping().apply((1, 2, 3, 4)) == (1.0, 2.0, 3.0, 4.0)
    assert BoxMapping(dx=0.5, dy=-0.25).apply((0, 0, 10, 20)) == (5.0, -5.0, 10.0, 20.0)


@pytest.mark.parametrize(
    "over, message",
    [
        ({"format": "other"}, "format"),
        ({"version": 2}, "version"),
        ({"name": ""}, "name"),
        ({"models": []}, "models"),
        ({"models": [{"crop_scale": 1.0}]}, "models\\[0\\]: missing field 'file'"),
        ({"models": [{"file": "tiny.onnx", "crop_scale": -1}]}, "crop_scale"),
        ({"models": [{"file": "missing.onnx", "crop_scale": 1}]}, "not found"),
        ({"input": {"width": 0, "height": 8}}, "input.width"),
        ({"input": {"width": 8, "height": 8, "layout": "CHW"}}, "input.layout"),
        ({"input": {"width": 8, "height": 8, "std": [1, 0, 1]}}, "input.std"),
        ({"input": {"width": 8, "height": 8, "mean": [1, 2]}}, "input.mean"),
        ({"output": {"softmax": "yes", "bona_fide_indices": [1]}}, "softmax"),
        ({"output": {"softmax": True, "bona_fide_indices": []}}, "bona_fide_indices"),
        ({"output": {"softmax": True}}, "bona_fide_indices"),
        ({"combine": "median"}, "combine"),
        ({"box_mapping": {"sw": 0}}, "box_mapping.sw"),
    ],
)
def test_sidecar_validation(tiny_dir, over, message):
    with pytest.raises(SidecarError, match=message) as info:
        parse_sidecar(sidecar(**over), tiny_dir)
    assert isinstance(info.value, ConfigurationError)


def test_sidecar_file_errors(tmp_path):
    with pytest.raises(SidecarError, match="not found"):
        load_sidecar(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(SidecarError, match="not valid JSON"):
        load_sidecar(tmp_path / "bad.json")


def test_index_out_of_range_is_reported(tiny_dir):
    test = OnnxLivenessTest(
        parse_sidecar(sidecar(output={"softmax": True, "bona_fide_indices": [5]}), tiny_dir)
    )
    with pytest.raises(SidecarError, match="out of range"):
        test.score_face(np.zeros((20, 20, 3), np.uint8), (2, 2, 10, 10))


def test_presets(tmp_path):
    assert "minifasnet" in list_presets()
    with pytest.raises(SidecarError, match="not found"):
        resolve_onnx_test(f"onnx=minifasnet@{tmp_path}")
    with pytest.raises(SidecarError, match="unknown preset"):
        resolve_onnx_test(f"nosuch@{tmp_path}")


# ---- MiniFASNet reference (needs ../shared) ------------------------------------------------


@pytest.fixture(scope="module")
def minifasnet():
    folder = shared_path("models", "minifasnet")
    return folder, np.load(folder / "reference.npz")


def test_minifasnet_logits_from_reference_patches(minifasnet):
    folder, ref = minifasnet
    test = OnnxLivenessTest(f"minifasnet@{folder}")
    for i in range(len(ref["path"])):
        patches = [ref["s2.7_patch"][i], ref["s4_patch"][i]]  # BGR, as the sidecar says
        logits = test.logits(patches)
        np.testing.assert_allclose(logits[0], ref["s2.7_logits"][i], atol=1e-4)
        np.testing.assert_allclose(logits[1], ref["s4_logits"][i], atol=1e-4)
        scores = test.scores_from_logits(logits)
        expect = (ref["s2.7_prob"][i][1] + ref["s4_prob"][i][1]) / 2
        assert scores[-1] == pytest.approx(expect, abs=1e-5)


def test_minifasnet_crop_rule_reproduces_reference_patches(minifasnet):
    folder, ref = minifasnet
    nuaa = shared_path("data", "nuaa")
    test = OnnxLivenessTest(f"minifasnet@{folder}")
    for i, rel in enumerate(ref["path"]):
        rgb = cv2.cvtColor(cv2.imread(str(nuaa / rel)), cv2.COLOR_BGR2RGB)
        p27, p4 = test.patches(rgb, ref["box"][i], map_box=False)  # RetinaFace boxes
        np.testing.assert_array_equal(p27, ref["s2.7_patch"][i])
        np.testing.assert_array_equal(p4, ref["s4_patch"][i])


# ---- DeepFeatures and the shared face detection ---------------------------------------------


class CountingDetector(FaceDetector):
    """A fixed face box; counts how often it is asked."""

    name = "counting"

    def __init__(self, box=(20, 10, 16, 16)):
        self.box = box
        self.calls = 0

    def detect(self, image):
        self.calls += 1
        return [Face(box=self.box, confidence=0.9)]


def test_deep_features_transformer(tiny_dir):
    rng = np.random.default_rng(1)
    imgs = [rng.integers(0, 256, (40, 60, 3), dtype=np.uint8) for _ in range(3)]
    det = CountingDetector()
    est = DeepFeatures(onnx=str(tiny_dir / "tiny.json"), detector=det).fit()
    assert est.get_feature_names_out().tolist() == ["tiny_0", "tiny"]
    X = est.transform(imgs)
    assert X.shape == (3, 2) and det.calls == 3
    test = OnnxLivenessTest(str(tiny_dir / "tiny.json"))
    for img, row in zip(imgs, X):
        np.testing.assert_array_equal(row, test.score_face(img, det.box))
    # given faces: no detection, the given box is used
    other = Face(box=(5, 5, 20, 20))
    X2 = est.transform(imgs[:1], faces=[other])
    assert det.calls == 3
    np.testing.assert_array_equal(X2[0], test.score_face(imgs[0], other.box))
    # float and grey images are accepted (converted to uint8 RGB)
    grey = imgs[0][..., 0]
    np.testing.assert_array_equal(
        est.transform([grey])[0], test.score_face(np.repeat(grey[..., None], 3, 2), det.box)
    )
    with pytest.raises(ConfigurationError, match="faces has 1 entries"):
        est.transform(imgs, faces=[other])


def test_deep_features_no_face(tiny_dir):
    class Blind(CountingDetector):
        def detect(self, image):
            return []

    img = np.full((30, 40, 3), 128, np.uint8)
    est = DeepFeatures(onnx=str(tiny_dir / "tiny.json"), detector=Blind())
    with pytest.raises(NoFaceError, match="image 0"):
        est.transform([img])
    X, records, ok = est.transform_with_records([img, img])
    assert X.shape == (0, 2) and not ok.any() and records[0].error_type == "NoFaceError"
    whole = DeepFeatures(onnx=str(tiny_dir / "tiny.json"), detector=Blind(), on_no_face="whole")
    row = whole.transform([img])[0]
    test = OnnxLivenessTest(str(tiny_dir / "tiny.json"))
    np.testing.assert_array_equal(row, test.score_face(img, (0, 0, 40, 30)))
    assert whole.face_records_[0].fallback == "whole"
    with pytest.raises(ConfigurationError, match="on_no_face"):
        DeepFeatures(onnx=str(tiny_dir / "tiny.json"), on_no_face="skip").fit()


def test_one_detection_per_image_shared_by_extractors(tiny_dir, tmp_path):
    """extract_batch detects once per image for every face-based extractor."""
    from iqa_liveness.datasets import get_dataset
    from iqa_liveness.extract import extract_batch
    from iqa_liveness.store import extractor_info

    root = tmp_path / "set"
    rng = np.random.default_rng(2)
    for d in ("live", "spoof/print"):
        (root / d).mkdir(parents=True)
        for k in range(2):
            img = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
            cv2.imwrite(str(root / d / f"{k}.png"), img)
    samples = list(get_dataset("folder", root).samples())
    det = CountingDetector()
    extractors = {
        "deep_a": DeepFeatures(onnx=str(tiny_dir / "tiny.json"), detector=det),
        "deep_b": DeepFeatures(onnx=str(tiny_dir / "tiny.json"), detector=det),
    }
    ct = pytest.importorskip("iqa_liveness.colour_texture")
    extractors["texture"] = ct.ColourTextureFeatures(detector=det, size=16)
    infos = [extractor_info(n, e) for n, e in extractors.items()]
    ok, features, failed = extract_batch(samples, extractors, infos)
    assert len(ok) == 4 and not failed["sample_id"]
    assert det.calls == 4  # one detection per image, not one per extractor
    np.testing.assert_array_equal(features["deep_a"], features["deep_b"])
    # the record names the detector that found the shared face
    rec = extractors["deep_a"].transform_with_records(
        [np.zeros((40, 60, 3), np.uint8)], faces=[Face(box=(1, 1, 9, 9), source="yunet")]
    )[1][0]
    assert rec.detector == "yunet" and rec.box == (1.0, 1.0, 9.0, 9.0)
    # the shared face gives what each extractor finds on its own
    alone = DeepFeatures(onnx=str(tiny_dir / "tiny.json"), detector=CountingDetector())
    images = [cv2.cvtColor(cv2.imread(s.source), cv2.COLOR_BGR2RGB) for s in ok]
    np.testing.assert_array_equal(features["deep_a"], alone.transform(images))
    np.testing.assert_array_equal(
        features["texture"],
        ct.ColourTextureFeatures(detector=CountingDetector(), size=16).transform(images),
    )


def test_shared_faces_with_a_dataclass_detector(tiny_dir):
    from skimage import data

    from iqa_liveness.extract import shared_faces
    from iqa_liveness.faces import YuNetDetector

    det = YuNetDetector()  # a dataclass: unhashable, shared by identity
    ex = {
        "a": DeepFeatures(onnx=str(tiny_dir / "tiny.json"), detector=det),
        "b": DeepFeatures(onnx=str(tiny_dir / "tiny.json"), detector="yunet"),
        "c": DeepFeatures(onnx=str(tiny_dir / "tiny.json"), detector="YuNet"),
    }
    out = shared_faces(data.astronaut(), ex, ["a", "b", "c"])
    assert out["b"] is out["c"] and out["a"] is not out["b"]
    assert out["a"][0].box == out["b"][0].box
