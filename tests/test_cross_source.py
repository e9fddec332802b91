"""benchmarks/cross_source.py: interface, JSON keys, group-wise calibration draws."""

import importlib.util
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnx")

ROOT = Path(__file__).resolve().parents[1]


def load_benchmark():
    spec = importlib.util.spec_from_file_location("cross_source", ROOT / "benchmarks" /
                                                  "cross_source.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_draw_calibration_is_group_wise_per_class():
    cs = load_benchmark()
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(40, int), np.zeros(60, int)]
    g = np.r_[np.repeat(np.arange(8), 5), np.repeat(np.arange(8, 20), 5)].astype(str)
    for _ in range(20):
        cal = cs.draw_calibration(y, g, 0.2, rng)
        for c in (0, 1):
            in_cal = cal & (y == c)
            assert in_cal.sum() >= 0.2 * (y == c).sum()
            assert in_cal.sum() < 0.2 * (y == c).sum() + 5  # stops at the first group past it
        for gname in np.unique(g):  # whole groups only
            assert len(set(cal[g == gname])) == 1


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    from iqa_liveness.simulate import build_standin_dataset

    base = tmp_path_factory.mktemp("cross")
    build_standin_dataset(base / "source", per_subject=4, size=(160, 120), seed=0)
    build_standin_dataset(base / "target", per_subject=4, size=(160, 120), seed=1)
    rows = ["path,group"]
    for line in (base / "target" / "subjects.csv").read_text().splitlines()[1:]:
        file, subject, session, _ = line.split(",")
        rows.append(f"{file},{subject}-{session}")
    (base / "groups.csv").write_text("\n".join(rows) + "\n")
    from test_deep import sidecar, tiny_model

    tiny_model(base / "tiny.onnx")
    data = sidecar()
    data["models"][0]["crop_scale"] = 1.2
    (base / "tiny.json").write_text(json.dumps(data))
    return base


def test_cross_source_json(sets, capsys, monkeypatch):
    cs = load_benchmark()
    out = sets / "out.json"
    argv = [
        "--source-dataset", "folder", "--source-root", str(sets / "source"),
        "--target-dataset", "folder", "--target-root", str(sets / "target"),
        "--target-groups", str(sets / "groups.csv"),
        "--tests", f"quality-lda,onnx={sets / 'tiny.json'}",
        "--quality-measures", "MSE,PSNR,SSIM,JQI",
        "--mode", "fusion", "--calibration-fraction", "0.4", "--repeats", "3", "--seed", "0",
        "--json", str(out), "--markdown", str(sets / "out.md"), "--cache", str(sets / "cache"),
    ]
    assert cs.main(argv) == 0
    res = json.loads(out.read_text())
    assert {"tests", "n_target", "mode", "calibration_fraction", "repeats"} <= set(res)
    deep = f"onnx={sets / 'tiny.json'}"
    assert set(res["tests"]) == {"quality-lda", deep, "fused"}
    for d in res["tests"].values():
        assert set(d) == {"hter_mean", "hter_std", "auc_mean", "uncalibrated_hter"}
        assert 0 <= d["hter_mean"] <= 1 and 0 <= d["auc_mean"] <= 1
    assert res["n_target"] + res["n_target_failed"] == 72
    assert res["mode"] == "fusion" and res["repeats"] == 3
    assert res["calibration_fraction"] == 0.4
    assert "| quality-lda |" in (sets / "out.md").read_text()
    # features are extracted once: a second run reads them from the cache
    capsys.readouterr()
    argv[argv.index("--mode") + 1] = "retrain"
    assert cs.main(argv) == 0
    err = capsys.readouterr().err
    assert "0 extracted now" in err and err.count("0 extracted now") == 2
    assert json.loads(out.read_text())["mode"] == "retrain"
    # without --cache the features live in a temporary directory removed at the end
    tmp = sets / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    i = argv.index("--cache")
    del argv[i : i + 2]
    argv[argv.index("--repeats") + 1] = "1"
    assert cs.main(argv) == 0
    assert json.loads(out.read_text())["repeats"] == 1 and list(tmp.iterdir()) == []
