"""A deep (ONNX) test fused with a classical model on the command line: extract, train, fuse,
evaluate, predict (tiny ONNX model of tests/test_deep.py; simulated stand-in images)."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest

from iqa_liveness.cli import main
from iqa_liveness.commands._model import load_cli_model, score_features
from iqa_liveness.simulate import build_standin_dataset
from iqa_liveness.store import read_features

pytest.importorskip("onnx")
from test_deep import sidecar, tiny_model  # noqa: E402

FAST = ["--measures", "MSE,PSNR,SC,NXC"]


def test_deep_test_fused_with_a_classical_model(tmp_path, capsys):
    root = tmp_path / "tree"
    build_standin_dataset(root, per_subject=4, size=(64, 48), seed=2)
    # YuNet finds the astronaut only: split her samples into two pseudo-subjects, so that the
    # fusion's subject-wise out-of-fold threshold has folds (grouping labels, nothing more)
    lines = (root / "subjects.csv").read_text().splitlines()
    rows = [lines[0]]
    for line in lines[1:]:
        path, subject, session, split = line.split(",")
        i = int(re.search(r"_(\d+)\.png$", path).group(1))
        rows.append(",".join([path, f"{subject}-{i % 2}", session, split]))
    (root / "subjects.csv").write_text("\n".join(rows) + "\n")
    tiny_model(tmp_path / "tiny.onnx")
    (tmp_path / "tiny.json").write_text(json.dumps(sidecar()))
    for split in ("train", "dev", "test"):
        rc = main(["extract", "--dataset", "folder", "--root", str(root), "--split", split,
                   "--features", f"quality,onnx={tmp_path / 'tiny.json'}",
                   "--output", str(tmp_path / f"{split}.h5"), *FAST, "-q"])
        assert rc == 4  # the camera man's samples: no face
    q, d, f = (str(tmp_path / n) for n in ("q.iqa", "d.iqa", "f.iqa"))
    common = ["--features", str(tmp_path / "train.h5"), "--dev", str(tmp_path / "dev.h5"), "-q"]
    assert main(["train", *common, "--families", "quality", "--output", q]) == 0
    assert main(["train", *common, "--families", "onnx-tiny", "--output", d]) == 0
    deep = load_cli_model(d)
    assert [fam["name"] for fam in deep.families] == ["onnx-tiny"]
    assert deep.families[0]["config"]["onnx"] == str(tmp_path / "tiny.json")
    assert main(["fuse", "--models", q, d, "--dev", str(tmp_path / "dev.h5"), "--output", f,
                 "-q"]) == 0
    fused = load_cli_model(f)
    assert len(fused.members) == 2
    capsys.readouterr()
    scores = tmp_path / "test.csv"
    assert main(["evaluate", "--model", f, "--features", str(tmp_path / "test.h5"), "--json",
                 "--scores", str(scores)]) == 0
    report = json.loads(capsys.readouterr().out)
    test = read_features(tmp_path / "test.h5")
    assert report["n_bona_fide"] + report["n_attack"] == len(test) == 8
    assert report["n_failed"] == 16
    with open(scores, newline="") as fh:
        by_id = {r["sample_id"]: float(r["f"]) for r in csv.DictReader(fh)}
    blocks = {name: test.X[:, test.columns(name)] for name in ("quality", "onnx-tiny")}
    np.testing.assert_allclose([by_id[s] for s in test.sample_id],
                               score_features(fused, blocks), rtol=1e-12)
    # predict recomputes both families from the image (its own face detection): same score
    sid = next(s for s in test.sample_id if s.startswith("live/"))
    capsys.readouterr()
    assert main(["predict", "--model", f, str(root / sid), "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert result["score"] == pytest.approx(by_id[sid], rel=1e-9)
