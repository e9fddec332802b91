"""Face detectors, face selection and the eye-based crop."""

from __future__ import annotations

import json
import pickle
from functools import lru_cache

import numpy as np
import pytest
from conftest import shared_path
from skimage import data

from iqa_liveness.errors import ConfigurationError, InvalidImageError, NoFaceError
from iqa_liveness.faces import (
    YUNET_MODEL_PATH,
    Face,
    FaceDetector,
    FaceRecord,
    GivenDetector,
    HaarDetector,
    YuNetDetector,
    available_face_detectors,
    crop_face,
    extract_face,
    face_crop_box,
    get_face_detector,
    select_face,
)


@lru_cache(maxsize=1)
def _astronaut() -> np.ndarray:
    return data.astronaut()


def _iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    return inter / (aw * ah + bw * bh - inter)


def test_vendored_model_and_licence_are_present():
    assert YUNET_MODEL_PATH.is_file() and YUNET_MODEL_PATH.stat().st_size == 232589
    licence = YUNET_MODEL_PATH.parent / "LICENSE-YuNet.txt"
    assert "MIT License" in licence.read_text()


def test_yunet_finds_the_astronaut_with_landmarks():
    faces = YuNetDetector().detect(_astronaut())
    assert len(faces) == 1
    f = faces[0]
    assert f.confidence > 0.8
    # the face of the astronaut: about x 175..270, y 60..180 in the 512x512 image
    assert _iou(f.box, (178, 63, 90, 113)) > 0.7
    assert f.landmarks.shape == (5, 2)
    (rx, ry), (lx, ly) = f.eyes
    assert rx < lx  # the subject's right eye is on the image's left
    assert 190 < rx < 215 and 235 < lx < 260 and 90 < ry < 115 and 90 < ly < 115
    nose, mouth_r, mouth_l = f.landmarks[2:]
    assert ry < nose[1] < mouth_r[1] and mouth_r[0] < mouth_l[0]


def test_yunet_downscaling_maps_back_to_input_pixels():
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[:, :] = 90
    frame[0:480, 100:612] = _astronaut()[16:496]
    small = YuNetDetector(max_width=320).detect(frame)
    full = YuNetDetector(max_width=None).detect(frame)
    assert len(small) == len(full) == 1
    assert _iou(small[0].box, full[0].box) > 0.8
    assert np.abs(small[0].eyes - full[0].eyes).max() < 6
    # the face sits at the astronaut's position shifted by (100, -16)
    assert _iou(full[0].box, (278, 47, 90, 113)) > 0.7


def test_yunet_accepts_grey_float_and_paths(tmp_path):
    import cv2

    rgb = _astronaut()
    grey = (0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]) / 255.0
    assert len(YuNetDetector().detect(grey)) == 1
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), rgb[:, :, ::-1])
    a = YuNetDetector().detect(str(path))[0]
    b = YuNetDetector().detect(rgb)[0]
    assert a.box == b.box


def test_no_face_in_a_flat_image():
    flat = np.full((240, 320, 3), 128, np.uint8)
    assert YuNetDetector().detect(flat) == []
    assert HaarDetector().detect(flat) == []


def test_detectors_pickle_after_use():
    det = YuNetDetector()
    det.detect(_astronaut())
    clone = pickle.loads(pickle.dumps(det))
    assert clone.detect(_astronaut())[0].box == det.detect(_astronaut())[0].box
    haar = HaarDetector()
    haar.detect(_astronaut())
    assert len(pickle.loads(pickle.dumps(haar)).detect(_astronaut())) >= 1


def test_haar_overlaps_yunet():
    yunet = YuNetDetector().detect(_astronaut())[0]
    haar = select_face(HaarDetector().detect(_astronaut()))
    assert haar.landmarks is None
    assert _iou(haar.box, yunet.box) > 0.4


def test_haar_eyes_when_found_are_ordered_and_inside_the_box():
    faces = HaarDetector(find_eyes=True).detect(_astronaut())
    for f in faces:
        if f.eyes is not None:
            x, y, w, h = f.box
            assert f.eyes[0, 0] < f.eyes[1, 0]
            assert (f.eyes[:, 0] >= x).all() and (f.eyes[:, 0] <= x + w).all()
            assert (f.eyes[:, 1] >= y).all() and (f.eyes[:, 1] <= y + h / 2).all()


def test_factory():
    assert set(available_face_detectors()) >= {"yunet", "haar", "haar+eyes"}
    assert isinstance(get_face_detector("YuNet"), YuNetDetector)
    assert get_face_detector("haar+eyes").find_eyes
    det = GivenDetector(box=(1, 2, 3, 4))
    assert get_face_detector(det) is det
    with pytest.raises(ConfigurationError):
        get_face_detector("mtcnn")
    with pytest.raises(ConfigurationError):
        YuNetDetector(score_threshold=2)


def test_eye_crop_geometry():
    # eyes 20 px apart at y = 50: columns c_x +- d, rows c_y - d/2 .. c_y + 3d/2
    face = Face(box=(0, 0, 10, 10), eyes=np.array([[40, 50], [60, 50]]))
    assert face_crop_box(face) == ((30, 40, 40), None)
    # tilted eyes: d is the Euclidean distance, no rotation
    tilted = Face(box=(0, 0, 10, 10), eyes=np.array([[40, 50], [52, 66]]))
    (left, top, side), _ = face_crop_box(tilted)
    assert side == 40 and left == round(46 - 20) and top == round(58 - 10)


def test_box_fallback_is_a_square_on_the_box_centre():
    (left, top, side), fallback = face_crop_box(Face(box=(10, 20, 30, 50)))
    assert fallback == "box" and side == 50
    assert left + side / 2 == 25 and top + side / 2 == 45


def test_crop_shift_and_pad():
    img = np.arange(10 * 12).reshape(10, 12)
    out, shifted, padded = crop_face(img, (9, 8, 5))
    assert out.shape == (5, 5) and shifted and not padded
    assert np.array_equal(out, img[5:10, 7:12])
    out, shifted, padded = crop_face(img, (1, 1, 4))
    assert np.array_equal(out, img[1:5, 1:5]) and not shifted and not padded
    out, shifted, padded = crop_face(img, (0, 0, 11))  # taller than the image
    assert out.shape == (11, 11) and padded
    assert np.array_equal(out[0], out[1]) or np.array_equal(out[-1], out[-2])
    rgb = np.zeros((6, 6, 3))
    assert crop_face(rgb, (-3, -3, 8))[0].shape == (8, 8, 3)


def test_select_face():
    small = Face(box=(0, 0, 10, 10), confidence=0.99)
    big = Face(box=(0, 0, 50, 40), confidence=0.7)
    assert select_face([small, big]) is big
    assert select_face([small, big], "most_confident") is small
    with pytest.raises(NoFaceError):
        select_face([])
    with pytest.raises(ConfigurationError):
        select_face([small], "first")


def test_face_validation():
    with pytest.raises(InvalidImageError):
        Face(box=(0, 0, 0, 10))
    with pytest.raises(InvalidImageError):
        Face(box=(0, 0, 5, 10), eyes=np.array([[np.nan, 1], [2, 3]]))
    # coincident eyes: the box fallback
    assert face_crop_box(Face(box=(0, 0, 5, 5), eyes=np.array([[3, 3], [3, 3]])))[1] == "box"
    with pytest.raises(InvalidImageError):
        GivenDetector(eyes=(3, 3, 3, 3)).detect(np.zeros((9, 9)))


def test_given_detector():
    img = np.zeros((100, 100, 3), np.uint8)
    assert GivenDetector().detect(img) == []
    f = GivenDetector(box=(10, 10, 40, 50)).detect(img)[0]
    assert f.eyes is None and f.confidence == 1.0
    g = GivenDetector(eyes=(40, 30, 60, 30)).detect(img)[0]
    assert np.array_equal(g.eyes, [[40, 30], [60, 30]])
    assert g.box == (30.0, 20.0, 40.0, 40.0)  # the eye-based square
    assert isinstance(g, Face) and isinstance(GivenDetector(), FaceDetector)


def test_extract_face_record_and_crop():
    crop, record = extract_face(_astronaut())
    assert record.ok and record.fallback is None and record.detector == "yunet"
    left, top, side = record.crop
    assert crop.shape == (side, side, 3)
    assert np.array_equal(crop, _astronaut()[top : top + side, left : left + side])
    stored = json.loads(json.dumps(record.to_dict()))  # storable as JSON, and back
    assert FaceRecord.from_dict(stored) == record
    with pytest.raises(ConfigurationError):
        FaceRecord.from_dict({**stored, "colour": 1})
    # a known face skips detection
    face = Face(box=(150, 50, 150, 150))
    crop2, rec2 = extract_face(_astronaut(), face=face)
    assert rec2.detector == "given" and rec2.fallback == "box" and crop2.shape == (150, 150, 3)
    assert HaarDetector().detect(_astronaut())[0].source == "haar"
    assert GivenDetector(box=(1, 2, 3, 4)).face().source == "given"


def test_on_no_face():
    flat = np.full((100, 120, 3), 50, np.uint8)
    with pytest.raises(NoFaceError):
        extract_face(flat)
    crop, record = extract_face(flat, on_no_face="skip")
    assert crop is None and not record.ok and record.n_faces == 0
    crop, record = extract_face(flat, on_no_face="whole")
    assert crop.shape == flat.shape and record.fallback == "whole" and record.ok
    with pytest.raises(ConfigurationError):
        extract_face(flat, on_no_face="ignore")


@pytest.mark.parametrize(
    "folder, listing",
    [("ClientRaw", "client_train_raw.txt"), ("ImposterRaw", "imposter_train_raw.txt")],
)
def test_yunet_finds_faces_in_nuaa_scenes(folder, listing):
    root = shared_path("data", "nuaa")
    lines = [ln.strip() for ln in (root / listing).read_text().splitlines() if ln.strip()]
    det = YuNetDetector()
    for line in lines[:: max(1, len(lines) // 6)][:6]:
        _, record = extract_face(root / folder / line.replace("\\", "/"), det)
        assert record.ok and record.fallback is None
        assert record.crop[2] > 40  # NUAA faces are large in the 640x480 scenes
