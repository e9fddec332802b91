"""Dataset base machinery, registry, NUAA (synthetic and real) and the generic folder."""

from __future__ import annotations

import collections
import warnings

import numpy as np
import pytest
from conftest import shared_path
from dataset_fixtures import frame_level, make_folder, make_nuaa, write_image, write_video

from iqa_liveness.datasets import (
    Sample,
    get_dataset,
    iter_video_frames,
    list_datasets,
    select_frames,
    video_frame_count,
)
from iqa_liveness.datasets.base import DatasetWarning
from iqa_liveness.errors import (
    ConfigurationError,
    DatasetError,
    ImageReadError,
    IQALivenessError,
    VideoReadError,
)


def test_select_frames():
    assert select_frames(7) == list(range(7))
    assert select_frames(7, every=3) == [0, 3, 6]
    assert select_frames(7, every=3, max_frames=2) == [0, 3]
    assert select_frames(7, indices=[5, 1, 1, -1, 7]) == [1, 5, 6]
    with pytest.raises(ConfigurationError):
        select_frames(7, every=0)
    with pytest.raises(ConfigurationError):
        select_frames(7, max_frames=0)


def test_video_decoding(tmp_path):
    path = write_video(tmp_path / "v.avi", n_frames=6)
    assert video_frame_count(path) == 6
    got = dict(iter_video_frames(path, [4, 1]))
    assert sorted(got) == [1, 4]
    for i, frame in got.items():
        assert frame.shape == (24, 32, 3) and frame.dtype == np.uint8
        assert abs(float(frame.mean()) - frame_level(i)) < 3
    with pytest.raises(VideoReadError, match="ends before frame 9"):
        list(iter_video_frames(path, [9]))
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(VideoReadError, match="bad.avi"):
        video_frame_count(bad)
    with pytest.raises(VideoReadError, match="not found"):
        video_frame_count(tmp_path / "absent.avi")
    assert issubclass(VideoReadError, ImageReadError)


def test_registry():
    names = list_datasets()
    assert names == sorted(names) and {"nuaa", "folder"} <= set(names)
    with pytest.raises(ConfigurationError, match="unknown dataset"):
        get_dataset("no-such-db", ".")
    with pytest.raises(IQALivenessError):
        get_dataset("nuaa", "/definitely/not/here")


def test_sample_is_frozen():
    s = Sample(sample_id="a", source="/a", label="bona_fide")
    with pytest.raises(AttributeError):
        s.label = "attack"  # type: ignore[misc]
    assert s.is_bona_fide and s.frame_index is None


@pytest.mark.parametrize("variant", ["raw", "face", "normalized"])
def test_nuaa_synthetic(tmp_path, variant):
    facts = make_nuaa(tmp_path / "db" / "sub", variant=variant)
    ds = get_dataset("NUAA", tmp_path / "db", variant=variant)  # found in a sub-directory
    with pytest.warns(DatasetWarning, match="1 listed file"):
        train = list(ds.samples("train"))
    assert len(train) == facts["train"]
    assert ds.problems[0][0].endswith(facts["missing"].split("/")[-1])
    counts = collections.Counter(s.label for s in train)
    assert counts == {"bona_fide": 5, "attack": 4}
    assert {s.session for s in train} == {"01", "02"}
    assert all(s.attack_type == ("print" if s.label == "attack" else None) for s in train)
    assert all("\\" not in s.sample_id for s in train)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        test = list(ds.samples("test"))
    assert len(test) == facts["test"] and {s.session for s in test} == {"03"}
    assert {s.split for s in test} == {"test"}
    # the missing row is reported, and fails at load time with its path
    missing = [s for s in train if s.sample_id == "sub/" + facts["missing"]]
    assert len(missing) == 1
    with pytest.raises(ImageReadError, match="999"):
        missing[0].load()
    assert train[0].load().shape == (24, 32, 3)
    with pytest.warns(DatasetWarning):
        assert len(list(get_dataset("nuaa", tmp_path / "db", variant=variant,
                                    missing="skip").samples("train"))) == facts["train"] - 1
    with pytest.raises(DatasetError, match="999"):
        list(get_dataset("nuaa", tmp_path / "db", variant=variant,
                         missing="raise").samples("train"))
    with pytest.raises(ConfigurationError):
        list(ds.samples("dev"))
    with pytest.raises(ConfigurationError):
        list(ds.samples(protocol="grandtest"))


def test_nuaa_missing_test_lists(tmp_path):
    make_nuaa(tmp_path)
    (tmp_path / "client_test_raw.txt").unlink()
    ds = get_dataset("nuaa", tmp_path)
    assert ds.available_splits() == ["train"]
    with pytest.raises(DatasetError, match="test lists"):
        list(ds.samples("test"))


def test_nuaa_real_training_split():
    root = shared_path("data", "nuaa")
    ds = get_dataset("nuaa", root)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every listed file exists
        samples = list(ds.samples("train"))
    counts = collections.Counter(s.label for s in samples)
    assert counts == {"bona_fide": 1743, "attack": 1748}
    assert sorted({s.subject for s in samples}) == [f"{i:04d}" for i in range(1, 10)]
    assert {s.session for s in samples} == {"01", "02"}
    assert len({s.sample_id for s in samples}) == len(samples)
    assert {s.attack_type for s in samples if s.label == "attack"} == {"print"}
    assert samples[0].load().shape == (480, 640, 3)


def test_folder(tmp_path):
    facts = make_folder(tmp_path)
    ds = get_dataset("folder", tmp_path)
    samples = list(ds.samples())
    counts = collections.Counter(s.label for s in samples)
    assert counts == {"bona_fide": facts["bona_fide"], "attack": facts["attack"]}
    types = collections.Counter(s.attack_type for s in samples)
    assert types == {None: 2, "print": 1, "replay": 4, "unknown": 1}
    video = [s for s in samples if s.attack_type == "replay"]
    assert [s.frame_index for s in video] == [0, 1, 2, 3]
    assert video[2].sample_id == "Spoof/replay/d.avi#2"
    assert abs(float(video[2].load().mean()) - frame_level(2)) < 3
    by_id = {s.sample_id: s for s in samples}
    assert by_id["real/b.jpg"].subject == "s2"  # matched by bare file name
    assert by_id["real/s1/a.png"].split == "train"
    train = list(ds.samples("train"))
    assert {s.sample_id for s in train} == {"real/s1/a.png", "Spoof/print/c.png", "Spoof/e.png"}
    sel = list(get_dataset("folder", tmp_path, every=2).samples())
    assert [s.frame_index for s in sel if s.attack_type == "replay"] == [0, 2]
    sel = list(get_dataset("folder", tmp_path, frame_indices=[3]).samples())
    assert [s.frame_index for s in sel if s.attack_type == "replay"] == [3]


def test_folder_bad_video_reported(tmp_path):
    write_image(tmp_path / "live" / "a.png")
    (tmp_path / "attack").mkdir()
    (tmp_path / "attack" / "broken.mp4").write_bytes(b"\x00" * 100)
    ds = get_dataset("folder", tmp_path)
    with pytest.warns(DatasetWarning, match="broken.mp4"):
        samples = list(ds.samples())
    broken = [s for s in samples if s.sample_id.startswith("attack/broken.mp4")]
    assert len(broken) == 1
    with pytest.raises(VideoReadError, match="broken.mp4"):
        broken[0].load()
    with pytest.raises(DatasetError, match="neither"):
        get_dataset("folder", tmp_path / "attack")
    with pytest.raises(DatasetError, match="split"):
        list(ds.samples("train"))


def test_summary(tmp_path):
    make_nuaa(tmp_path)
    ds = get_dataset("nuaa", tmp_path, missing="skip")
    with pytest.warns(DatasetWarning):
        summary = ds.summary()
    assert summary == {
        "train": {"bona_fide": 4, "attack": 4, "attack:print": 4, "subjects": 2},
        "test": {"bona_fide": 2, "attack": 2, "attack:print": 2, "subjects": 2},
    }


def test_annotation_readers(tmp_path):
    from iqa_liveness.datasets.base import eye_annotations, face_location_annotations

    # eyes: image-left eye first, all-zero rows (no eyes found) left out, floats
    rows = [(0, (30, 20, 10, 21)), (1, (0, 0, 0, 0)), (2, np.array([5, 6, 7, 8, 99]))]
    assert eye_annotations(rows) == ({}, {0: (10.0, 21.0, 30.0, 20.0), 2: (5.0, 6.0, 7.0, 8.0)})
    # boxes: "frame x y w h", or corners "frame x1 y1 x2 y2"; empty boxes and headers left out
    face = tmp_path / "v.face"
    face.write_text("frame x y w h\n0 10 20 30 40\n1 0 0 0 0\n2,1.6,2,3,4\n")
    assert face_location_annotations(face) == ({0: (10, 20, 30, 40), 2: (2, 2, 3, 4)}, {})
    corners = {0: (10, 20, 20, 20), 2: (2, 2, 1, 2)}
    assert face_location_annotations(face, corners=True) == (corners, {})
    assert face_location_annotations(tmp_path / "absent.face") == ({}, {})
