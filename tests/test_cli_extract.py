"""``iqa-liveness extract`` end to end on a tiny simulated tree."""

from __future__ import annotations

import io

import numpy as np
import pytest

from iqa_liveness.cli import main
from iqa_liveness.commands._common import Progress, bring_to_resolution, parse_features
from iqa_liveness.simulate import build_standin_dataset
from iqa_liveness.store import read_features

FAST = ["--measures", "MSE,PSNR,SC,NXC"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("standin")
    build_standin_dataset(root, per_subject=2, size=(64, 48), seed=1)
    return root


def test_extract_split_writes_store(tree, tmp_path, capsys):
    out = tmp_path / "train.h5"
    args = ["extract", "--dataset", "folder", "--root", str(tree), "--split", "train"]
    rc = main([*args, "--features", "quality", "--output", str(out), *FAST])
    assert rc == 0
    fs = read_features(out)
    assert fs.X.shape == (12, 4)  # 2 subjects x (2 bona fide + 2 print + 2 replay)
    assert set(fs.metadata["split"]) == {"train"}
    assert int(fs.y.sum()) == 4
    assert fs.feature_names == ["quality__MSE", "quality__PSNR", "quality__SC", "quality__NXC"]
    assert (fs.attrs["image_width"], fs.attrs["image_height"]) == (64, 48)
    err = capsys.readouterr().err
    assert "12 extracted" in err and "0 failed" in err
    # a second run resumes: everything is already there
    rc = main([*args, "--features", "quality", "--output", str(out), *FAST])
    assert rc == 0 and "0 extracted, 12 already" in capsys.readouterr().err
    assert len(read_features(out)) == 12


def test_bad_file_is_reported_and_the_rest_completes(tree, tmp_path, capsys):
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(tree, root)
    bad = root / "live" / "astronaut" / "s3" / "broken.png"
    bad.write_bytes(b"not an image")
    out = tmp_path / "test.h5"
    rc = main(
        [
            "extract",
            "--dataset",
            "folder",
            "--root",
            str(root),
            "--features",
            "quality",
            "--output",
            str(out),
            "--quiet",
            *FAST,
        ]
    )
    assert rc == 4
    fs = read_features(out)
    assert len(fs) == 36
    assert list(fs.failed["sample_id"]) == ["live/astronaut/s3/broken.png"]
    assert capsys.readouterr().err == ""  # --quiet


def test_usage_and_data_errors(tree, tmp_path, capsys):
    base = ["extract", "--dataset", "folder", "--output", str(tmp_path / "x.h5")]
    assert main([*base, "--root", str(tree), "--features", "nonsense"]) == 2
    assert "unknown feature family" in capsys.readouterr().err
    assert main([*base, "--root", str(tmp_path / "absent")]) == 3
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "error" in err
    assert main([*base, "--root", str(tree), "--jobs", "0"]) == 2
    with pytest.raises(SystemExit) as e:
        main(["extract", "--dataset", "folder"])  # argparse: missing --root/--output
    assert e.value.code == 2


def test_progress_bar_only_on_terminals():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    pipe, tty = io.StringIO(), Tty()
    for stream in (pipe, tty):
        p = Progress(4, "x", stream=stream)
        p.update(2)
        p.update(2)
        p.close()
    assert pipe.getvalue() == ""
    assert "4/4" in tty.getvalue() and tty.getvalue().endswith("\n")
    quiet = Tty()
    Progress(4, "x", enabled=False, stream=quiet).close()
    assert quiet.getvalue() == ""


def test_parse_features_and_resolution_rule():
    assert parse_features("quality, color-texture") == ["quality", "colour-texture"]
    img = np.zeros((720, 1280, 3), np.uint8)
    out, s = bring_to_resolution(img, (640, 480))
    assert out.shape == (480, 853, 3) and s == pytest.approx(2 / 3)
    same, s1 = bring_to_resolution(np.zeros((480, 640), np.uint8), (640, 480))
    assert same.shape == (480, 640) and s1 == 1.0
    up, s2 = bring_to_resolution(np.zeros((120, 160, 3), np.float64), (640, 480))
    assert up.shape == (480, 640, 3) and s2 == 4.0


def test_ctrl_c_stops_cleanly_and_the_run_resumes(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    root = tmp_path / "data"
    build_standin_dataset(root, per_subject=4, size=(64, 48), seed=3)  # 72 images
    out = tmp_path / "f.h5"
    cmd = [
        sys.executable,
        "-m",
        "iqa_liveness",
        "extract",
        "--dataset",
        "folder",
        "--root",
        str(root),
        "--features",
        "quality",
        "--output",
        str(out),
        "--batch-size",
        "2",
    ]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    parts = tmp_path / "f.h5.parts"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if parts.is_dir() and len(list(parts.glob("*.h5"))) >= 2:
            break
        time.sleep(0.05)
    if proc.poll() is not None:
        pytest.skip("extraction finished before it could be interrupted")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and err.strip().count("\n") == 0
    done = len(read_features(out))
    assert 0 < done < 72
    rc = subprocess.run(cmd + ["--quiet"], capture_output=True, text=True, timeout=300)
    assert rc.returncode == 0, rc.stderr
    fs = read_features(out)
    assert len(fs) == 72 and len(set(fs.sample_id)) == 72


def test_colour_texture_family_uses_the_texture_preset():
    from iqa_liveness.commands.extract import make_extractors

    default = make_extractors(["colour-texture"])["colour-texture"].get_params()
    assert list(default["descriptors"]) == ["HSV_LPQ", "YCbCr_LPQ"] and default["power"] == 0.5
    paper = make_extractors(["colour-texture"], texture_preset="paper")["colour-texture"]
    assert paper.fit().n_features_out_ == 945 and paper.get_params()["power"] == 1.0


def test_extract_an_onnx_deep_test_with_quality(tree, tmp_path, capsys, monkeypatch):
    """--features quality,onnx=SIDECAR.json: one store, the deep scores stored as onnx-<name>,
    equal to DeepFeatures on the same images (faces found once, by YuNet, for both)."""
    import json

    pytest.importorskip("onnx")
    from test_deep import sidecar, tiny_model

    from iqa_liveness.datasets import get_dataset
    from iqa_liveness.deep import DeepFeatures

    tiny_model(tmp_path / "tiny.onnx")
    (tmp_path / "tiny.json").write_text(json.dumps(sidecar()))
    monkeypatch.chdir(tmp_path)  # a relative sidecar path is stored absolute
    out = tmp_path / "deep.h5"
    args = ["extract", "--dataset", "folder", "--root", str(tree), "--split", "train",
            "--features", "quality,onnx=tiny.json", "--output", str(out), *FAST]
    rc = main(args)
    fs = read_features(out)
    assert [i.name for i in fs.extractors] == ["quality", "onnx-tiny"]
    assert fs.feature_names[4:] == ["onnx-tiny__tiny_0", "onnx-tiny__tiny"]
    assert json.loads(fs.extractors[1].config)["onnx"] == str(tmp_path / "tiny.json")
    assert fs.attrs["features"] == "quality,onnx-tiny"
    failed = set(fs.failed["sample_id"])
    # YuNet finds the astronaut's face, not the camera man's: his 6 samples fail (exit 4)
    assert len(fs) == 6 and len(failed) == 6 and rc == 4
    assert all(sid.split("/")[-1].startswith("camera_") for sid in failed)
    assert set(fs.failed["error"]) == {"NoFaceError"}
    assert set(fs.failed["extractor"]) == {"onnx-tiny"}
    samples = {s.sample_id: s for s in get_dataset("folder", tree).samples(split="train")}
    deep = DeepFeatures(onnx=str(tmp_path / "tiny.json"), detector="yunet")
    for sid, row in zip(fs.sample_id, fs.X):
        np.testing.assert_array_equal(row[4:], deep.transform([samples[sid].load()])[0])
    assert np.all((fs.X[:, 4:] > 0) & (fs.X[:, 4:] < 1))
    # resumable like any store; a bad deep test is a usage error
    capsys.readouterr()
    assert main(args) == rc and "0 extracted" in capsys.readouterr().err
    bad = ["extract", "--dataset", "folder", "--root", str(tree), "--output",
           str(tmp_path / "x.h5"), "--features", "quality,onnx=nosuch@models"]
    assert main(bad) == 2 and "unknown preset 'nosuch'" in capsys.readouterr().err
    from iqa_liveness.commands._common import UsageError

    with pytest.raises(UsageError, match="unknown feature family"):
        parse_features("onnx=tiny.json")  # only extract takes deep tests
