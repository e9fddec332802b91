"""Managers of the public PAD databases on tiny trees in each database's exact layout."""

from __future__ import annotations

import collections
import warnings

import numpy as np
import pytest
from dataset_fixtures import (
    frame_level,
    make_3dmad,
    make_casia,
    make_celeba_spoof,
    make_lcc,
    make_msu,
    make_oulu,
    make_replay_attack,
    make_replay_mobile,
)

from iqa_liveness.datasets import get_dataset, list_datasets
from iqa_liveness.datasets.base import DatasetWarning
from iqa_liveness.errors import ConfigurationError, DatasetError, VideoReadError


def test_every_manager_is_registered(tmp_path):
    assert set(list_datasets()) == {
        "nuaa", "folder", "replay_attack", "replay_mobile", "casia_fasd", "msu_mfsd",
        "oulu_npu", "3dmad", "celeba_spoof", "lcc_fasd",
    }
    make_lcc(tmp_path)
    assert type(get_dataset("LCC-FASD", tmp_path)).__name__ == "LccFASD"
    for name in list_datasets():
        if name != "lcc_fasd":
            with pytest.raises(DatasetError):
                get_dataset(name, tmp_path)  # a root without that database


@pytest.fixture(scope="module")
def replay_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("replay")
    make_replay_attack(root)
    return root


def test_replay_attack(replay_root):
    root = replay_root
    ds = get_dataset("replay_attack", root)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        grand = list(ds.samples())
    assert len(grand) == 3 * 4 * 3  # 3 splits x (1 real + 3 attacks) x 3 frames
    assert {s.split for s in grand} == {"train", "dev", "test"}
    assert not any("enroll" in s.sample_id for s in grand)
    train_real = [s for s in grand if s.split == "train" and s.label == "bona_fide"]
    assert train_real[0].subject == "001" and train_real[0].session == "session01"
    # face-locations: frame 1 had no face (zeros), frames 0 and 2 have boxes
    assert [s.box for s in train_real] == [(5, 6, 10, 12), None, (7, 8, 11, 13)]
    frame = train_real[2].load()
    assert frame.shape == (24, 32, 3) and abs(float(frame.mean()) - frame_level(2)) < 5
    counts = {p: collections.Counter((s.label, s.attack_type) for s in ds.samples("test", p)
                                     if s.frame_index == 0)
              for p in ds.protocols}
    assert counts["grandtest"] == {("bona_fide", None): 1, ("attack", "print"): 1,
                                   ("attack", "replay"): 2}
    assert counts["print"] == {("bona_fide", None): 1, ("attack", "print"): 1}
    assert counts["photo"] == {("bona_fide", None): 1, ("attack", "print"): 1,
                               ("attack", "replay"): 1}
    assert counts["video"] == counts["highdef"] == {("bona_fide", None): 1,
                                                     ("attack", "replay"): 1}
    hand = list(get_dataset("replay_attack", root, support="hand").samples("train"))
    assert {s.device for s in hand if s.label == "attack"} == {"highdef"}
    assert len(list(get_dataset("replay_attack", root, max_frames=1).samples())) == 12
    with pytest.raises(ConfigurationError):
        get_dataset("replay_attack", root, support="tripod")


def test_replay_mobile(tmp_path):
    facts = make_replay_mobile(tmp_path)
    ds = get_dataset("replay_mobile", tmp_path, frame_indices=[0])
    grand = list(ds.samples())
    assert len(grand) == 3 * 2 * 3  # splits x devices x (real + 2 attacks); enrolment left out
    assert collections.Counter(s.attack_type for s in grand) == {None: 6, "print": 6, "replay": 6}
    assert {s.device for s in grand} == {"mobile", "tablet"}
    boxed = [s.sample_id for s in grand if s.box is not None]
    assert boxed == [facts["names"][0] + "#0"]
    assert next(s for s in grand if s.box is not None).box == (1, 2, 3, 4)
    dev_print = [s.attack_type for s in ds.samples("dev", "print") if s.label == "attack"]
    assert dev_print == ["print"] * 2
    tablet = list(get_dataset("replay_mobile", tmp_path, device="tablet").samples("test"))
    assert {s.device for s in tablet} == {"tablet"}
    rot = get_dataset("replay_mobile", tmp_path, rotation=90, frame_indices=[0])
    assert next(iter(rot.samples("train"))).load().shape == (32, 24, 3)


def test_casia_fasd(tmp_path):
    facts = make_casia(tmp_path)
    ds = get_dataset("casia_fasd", tmp_path, max_frames=1)
    with pytest.warns(DatasetWarning, match="HR_4"):
        overall = list(ds.samples())
    assert len(overall) == (20 + 2) * 12  # the missing file is reported and kept
    assert any(s.sample_id.startswith(facts["missing"]) for s in overall)
    test = [s for s in overall if s.split == "test"]
    assert {s.subject for s in test} == {"test/1", "test/2"}
    p1 = list(ds.samples("train", "1"))
    assert {s.device for s in p1} == {"low"} and len(p1) == 20 * 4
    p4 = list(ds.samples("train", "4"))
    assert collections.Counter(s.attack_type for s in p4) == {None: 60, "print": 60}
    p6 = list(ds.samples("train", "6"))
    assert collections.Counter(s.attack_type for s in p6) == {None: 60, "replay": 60}
    with pytest.raises(DatasetError, match="dev_fold"):
        list(ds.samples("dev"))
    folded = get_dataset("casia_fasd", tmp_path, dev_fold=2, max_frames=1)
    assert folded.dev_subjects() == {"5", "6", "7", "8"}
    dev = list(folded.samples("dev"))
    train = list(folded.samples("train"))
    assert {s.subject for s in dev} == {f"train/{i}" for i in (5, 6, 7, 8)}
    assert len(train) == 16 * 12 and not {s.subject for s in dev} & {s.subject for s in train}


def test_msu_mfsd(tmp_path):
    make_msu(tmp_path)
    ds = get_dataset("msu_mfsd", tmp_path, frame_indices=[0])
    train, test = list(ds.samples("train")), list(ds.samples("test"))
    assert {s.subject for s in train} == {"001", "003"} and {s.subject for s in test} == {"002"}
    assert len(train) == 10 and len(test) == 5
    assert collections.Counter(s.attack_type for s in test) == {None: 2, "replay": 2, "print": 1}
    rotated = [s for s in train if s.rotation == 180]
    assert [s.sample_id for s in rotated] == [
        "scene01/real/real_client003_android_SD_scene01.mp4#0"]
    laptop = next(s for s in train if s.sample_id.startswith("scene01/real/real_client001_laptop"))
    assert laptop.box == (2, 3, 10, 12) and laptop.device == "laptop"
    (tmp_path / "test_sub_list.txt").unlink()
    with pytest.raises(DatasetError, match="test_sub_list"):
        get_dataset("msu_mfsd", tmp_path)


def test_oulu_npu(tmp_path):
    facts = make_oulu(tmp_path)
    ds = get_dataset("oulu_npu", tmp_path)
    assert len(ds.protocols) == 14
    p1 = list(ds.samples("train", "1"))
    # Train: users 1, phones 1-2, session 1 only (protocol 1), 5 accesses, 3 frames
    assert len(p1) == 2 * 5 * 3 and {s.session for s in p1} == {"1"}
    first = p1[0]
    assert first.label == "bona_fide" and first.device == "1" and first.subject == "01"
    assert first.eyes == (3.0, 6.0, 10.0, 5.0)  # image-left eye first
    assert p1[1].eyes is None  # zeros in the eye file: no face on that frame
    assert collections.Counter(s.attack_type for s in p1 if s.frame_index == 0) == {
        None: 2, "print": 4, "replay": 4}
    p2_test = list(ds.samples("test", "2"))
    assert {s.sample_id.split("_")[-1][0] for s in p2_test if s.label == "attack"} == {"3", "5"}
    p3 = list(ds.samples("test", "3_2"))
    assert {s.device for s in p3} == {"2"}
    p3_train = list(ds.samples("train", "3_2"))
    assert {s.device for s in p3_train} == {"1"}
    n = sum(len(v) for k, v in facts["rows"].items() if k[0] == 4 and k[1] == 1)
    assert len(list(ds.samples(protocol="4_1", split=None))) == 3 * n
    bad = tmp_path / "Protocols" / "Protocol_1" / "Dev.txt"
    bad.write_text("+1,1_1_21_2\n")
    with pytest.raises(DatasetError, match="contradicts"):
        list(ds.samples("dev", "1"))


def test_3dmad(tmp_path):
    make_3dmad(tmp_path)
    ds = get_dataset("3dmad", tmp_path)
    samples = list(ds.samples())
    assert len(samples) == 3 * 3 * 3
    assert {s.split for s in samples if s.subject == "08"} == {"dev"}
    assert collections.Counter((s.label, s.attack_type) for s in samples) == {
        ("bona_fide", None): 18, ("attack", "mask"): 9}
    s2 = next(s for s in samples if s.frame_index == 2)
    img = s2.load()
    assert img.shape == (12, 16, 3) and img.dtype == np.uint8
    assert int(img[0, 0, 0]) == 200 and int(img[0, 0, 2]) == 20  # RGB planes, frame 2
    assert s2.eyes == (5.0, 4.0, 9.0, 4.0)
    assert next(s for s in samples if s.frame_index == 1).eyes is None
    depth = list(get_dataset("3dmad", tmp_path, modality="depth").samples("test"))
    d = depth[0].load()
    assert d.shape == (12, 16) and d.dtype == np.uint16 and int(d[0, 0]) == 1013
    assert depth[0].eyes is None and depth[0].sample_id.endswith("#Depth_Data#0")
    with pytest.raises(ConfigurationError):
        list(ds.samples(protocol="verification"))


def test_celeba_spoof(tmp_path):
    make_celeba_spoof(tmp_path)
    ds = get_dataset("celeba_spoof", tmp_path)
    assert ds.available_protocols() == ("intra_test", "protocol1")
    train = list(ds.samples("train"))
    assert [(s.label, s.attack_type, s.device, s.subject) for s in train] == [
        ("bona_fide", None, None, "4980"), ("attack", "print", "a4", "4980"),
        ("attack", "replay", "phone", "4981")]
    # box "56 112 28 56" in 224x224 coordinates -> image 448 wide, 112 high
    assert train[0].box == (112, 56, 56, 28)
    assert train[0].load().shape == (112, 448, 3)
    test = list(ds.samples("test", "protocol1"))
    assert [s.attack_type for s in test] == [None, "mask"]
    with pytest.raises(ConfigurationError, match="protocol2"):
        list(ds.samples(protocol="protocol2"))


def test_lcc_fasd(tmp_path):
    make_lcc(tmp_path)
    ds = get_dataset("lcc_fasd", tmp_path)
    counts = collections.Counter((s.split, s.label) for s in ds.samples())
    assert counts == {("train", "bona_fide"): 2, ("train", "attack"): 3, ("dev", "bona_fide"): 1,
                      ("dev", "attack"): 1, ("test", "bona_fide"): 1, ("test", "attack"): 2}
    real = next(iter(ds.samples("train")))
    assert real.subject == "YOUTUBE_id1" and real.frame_index is None
    assert {s.attack_type for s in ds.samples("test") if s.label == "attack"} == {"unknown"}


def test_broken_video_in_a_database_is_reported(tmp_path):
    make_casia(tmp_path, n_train=1, n_test=1)
    bad = tmp_path / "train_release" / "1" / "7.avi"
    bad.write_bytes(b"garbage")
    ds = get_dataset("casia_fasd", tmp_path, max_frames=1)
    with pytest.warns(DatasetWarning, match="7.avi"):
        samples = list(ds.samples("train"))
    broken = next(s for s in samples if s.source == str(bad))
    with pytest.raises(VideoReadError, match="7.avi"):
        broken.load()


def test_3dmad_float_depth_in_millimetres(tmp_path):
    import h5py

    path = tmp_path / "Data" / "14_01_02.hdf5"
    path.parent.mkdir()
    with h5py.File(path, "w") as f:
        f["Color_Data"] = np.zeros((1, 3, 8, 8), np.uint8)
        f["Depth_Data"] = np.full((1, 8, 8), 1234.4, np.float64)
    d = next(iter(get_dataset("3dmad", tmp_path, modality="depth").samples())).load()
    assert d.dtype == np.uint16 and int(d[0, 0]) == 1234


@pytest.mark.parametrize(
    "name, maker",
    [("replay_attack", make_replay_attack), ("replay_mobile", make_replay_mobile),
     ("casia_fasd", lambda root: make_casia(root, n_train=5, n_test=1)),
     ("msu_mfsd", make_msu), ("oulu_npu", make_oulu), ("3dmad", make_3dmad),
     ("celeba_spoof", make_celeba_spoof), ("lcc_fasd", make_lcc)],
)
def test_record_contract(tmp_path, name, maker):
    """Every manager: labels are the two contract strings, ids unique, fields consistent."""
    maker(tmp_path)
    ds = get_dataset(name, tmp_path, max_frames=2, missing="skip")
    for protocol in ds.available_protocols():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DatasetWarning)
            samples = list(ds.samples(protocol=protocol))
            test = list(ds.samples(split="test", protocol=protocol))
        assert samples, protocol
        assert {s.split for s in test} <= {"test"}
        assert len({s.sample_id for s in samples}) == len(samples)
        for s in samples:
            assert s.label in ("bona_fide", "attack")
            assert (s.attack_type is None) == (s.label == "bona_fide")
            assert s.split in ds.splits
            assert s.source.startswith(str(tmp_path))
            if s.frame_index is None:
                assert "#" not in s.sample_id
            else:
                assert s.frame_index >= 0 and s.sample_id.endswith(f"#{s.frame_index}")
