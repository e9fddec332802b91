"""``train``, ``evaluate``, ``predict`` and ``fuse`` end to end on a tiny simulated tree."""

from __future__ import annotations

import csv
import json

import cv2
import numpy as np
import pytest

from iqa_liveness.cli import main
from iqa_liveness.commands._model import load_cli_model
from iqa_liveness.errors import ModelFileError
from iqa_liveness.simulate import build_standin_dataset
from iqa_liveness.store import read_features

MEASURES = "MSE,PSNR,SC,MD,NAE,LMSE,NXC,MAS"
KEYS = {
    "threshold",
    "far",
    "frr",
    "hter",
    "eer",
    "apcer",
    "apcer_per_species",
    "bpcer",
    "acer",
    "auc",
    "n_bona_fide",
    "n_attack",
    "n_failed",
}


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    d = tmp_path_factory.mktemp("pipeline")
    root = d / "data"
    build_standin_dataset(root, per_subject=3, size=(64, 48), seed=2)
    for split in ("train", "dev", "test"):
        rc = main(
            [
                "extract",
                "--dataset",
                "folder",
                "--root",
                str(root),
                "--split",
                split,
                "--features",
                "quality",
                "--measures",
                MEASURES,
                "--output",
                str(d / f"{split}.h5"),
                "-q",
            ]
        )
        assert rc == 0
    return d


def lda_model(work):
    """The LDA model trained on the pipeline's stores (trained once, by whichever test is first)."""
    model = work / "lda.iqa"
    if not model.exists():
        args = ["train", "--features", str(work / "train.h5"), "--dev", str(work / "dev.h5")]
        assert main([*args, "--output", str(model), "-q"]) == 0
    return model


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_train_with_dev_and_evaluate_json(work, capsys):
    model = work / "lda.iqa"
    assert (
        main(
            [
                "train",
                "--features",
                str(work / "train.h5"),
                "--dev",
                str(work / "dev.h5"),
                "--output",
                str(model),
            ]
        )
        == 0
    )
    assert "development set" in capsys.readouterr().err
    m = load_cli_model(model)
    assert m.working_resolution == (64, 48)
    # the file is an iqa_liveness.modelio model: the Python API reads it too
    from iqa_liveness.modelio import load_model

    lm = load_model(model)
    assert lm.working_size == (48, 64) and lm.threshold == m.threshold
    assert lm.feature_names[0] == "quality__MSE"
    assert m.provenance["train"]["n_bona_fide"] == 6 and m.provenance["dev"]["n_attack"] == 12
    assert (
        main(["evaluate", "--model", str(model), "--features", str(work / "test.h5"), "--json"])
        == 0
    )
    r = _json(capsys)
    assert KEYS <= set(r)
    assert (r["n_bona_fide"], r["n_attack"], r["n_failed"]) == (6, 12, 0)
    assert set(r["apcer_per_species"]) == {"print", "replay"}
    assert r["threshold"] == pytest.approx(m.threshold) and r["threshold_source"] == "model"
    # consistency of the reported rates with the definitions
    assert r["hter"] == pytest.approx((r["far"] + r["frr"]) / 2)
    assert r["apcer"] == pytest.approx(max(r["apcer_per_species"].values()))
    assert r["bpcer"] == r["frr"] and r["acer"] == pytest.approx((r["apcer"] + r["bpcer"]) / 2)
    # recompute FAR/FRR from the model's own scores at its threshold
    fs = read_features(work / "test.h5")
    s = m.scores(fs.X)
    assert r["far"] == pytest.approx(np.mean(s[fs.y == 0] >= m.threshold))
    assert r["frr"] == pytest.approx(np.mean(s[fs.y == 1] < m.threshold))


def test_threshold_override_and_plot(work, tmp_path, capsys):
    model = lda_model(work)
    svg = tmp_path / "det.svg"
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(model),
                "--features",
                str(work / "test.h5"),
                "--json",
                "--threshold",
                "1e9",
                "--plot",
                str(svg),
            ]
        )
        == 0
    )
    r = _json(capsys)
    assert r["threshold"] == 1e9 and r["threshold_source"] == "--threshold"
    assert (r["far"], r["frr"]) == (0.0, 1.0)  # nothing accepted
    assert svg.read_text().startswith("<svg")


def test_train_without_dev_says_out_of_fold(work, tmp_path, capsys):
    model = tmp_path / "svm.iqa"
    assert (
        main(
            [
                "train",
                "--features",
                str(work / "train.h5"),
                "--classifier",
                "svm",
                "--output",
                str(model),
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "no --dev given" in err and "subject-wise" in err and "out-of-fold" in err
    assert "out-of-fold" in load_cli_model(model).provenance["threshold_source"]


def test_predict_images_video_and_bad_file(work, tmp_path, capsys):
    model = lda_model(work)
    live = sorted((work / "data" / "live").rglob("*.png"))[0]
    attack = sorted((work / "data" / "spoof" / "print").rglob("*.png"))[0]
    big = tmp_path / "big.png"  # twice the working resolution: brought back to 64x48
    cv2.imwrite(str(big), cv2.resize(cv2.imread(str(live)), (128, 96)))
    video = tmp_path / "v.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 5, (64, 48))
    for _ in range(4):
        writer.write(cv2.imread(str(live)))
    writer.release()
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"junk")
    args = ["predict", "--model", str(model), str(live), str(attack), str(big), str(video)]
    assert main([*args, "--json"]) == 0
    r = _json(capsys)
    m = load_cli_model(model)
    res = {x["input"]: x for x in r["results"]}
    assert r["working_resolution"] == [64, 48]
    for x in r["results"]:
        assert x["decision"] == ("bona_fide" if x["score"] >= m.threshold else "attack")
    assert res[str(big)]["scale"] == pytest.approx(0.5)
    v = res[str(video)]
    assert v["kind"] == "video" and v["n_frames"] == 4
    assert v["score"] == pytest.approx(np.mean([f["score"] for f in v["frames"]]))
    # the same image scored from a file and through the CLI equals the model on its features
    fs = read_features(work / "train.h5")
    i = list(fs.sample_id).index(live.relative_to(work / "data").as_posix())
    assert res[str(live)]["score"] == pytest.approx(float(m.scores(fs.X[i : i + 1])[0]))
    # a batch with one bad file completes, reports it, exits 4
    assert main(["predict", "--model", str(model), str(live), str(bad)]) == 4
    out = capsys.readouterr()
    assert str(live) in out.out and "bad.png" in out.err
    assert main(["predict", "--model", str(model), str(bad), "-q", "--json"]) == 3
    (failed,) = _json(capsys)["results"]
    assert failed["kind"] == "image" and failed["score"] is None
    assert failed["error"] == "ImageReadError"


def test_fuse_models_and_csv(work, tmp_path, capsys):
    lda, svm = tmp_path / "a.iqa", tmp_path / "b.iqa"
    for path, clf in ((lda, "lda"), (svm, "svm")):
        assert (
            main(
                [
                    "train",
                    "--features",
                    str(work / "train.h5"),
                    "--dev",
                    str(work / "dev.h5"),
                    "--classifier",
                    clf,
                    "--output",
                    str(path),
                    "-q",
                ]
            )
            == 0
        )
    fused = tmp_path / "f.iqa"
    assert (
        main(
            [
                "fuse",
                "--models",
                str(lda),
                str(svm),
                "--dev",
                str(work / "dev.h5"),
                "--output",
                str(fused),
                "-q",
            ]
        )
        == 0
    )
    fm = load_cli_model(fused)
    assert len(fm.members) == 2 and fm.provenance["members"] == ["a", "b"]
    assert "warning" not in capsys.readouterr().err
    # fusing on the members' own training store: their scores there are in-sample, say so
    again = ["fuse", "--models", str(lda), str(svm), "--dev", str(work / "train.h5")]
    assert main([*again, "--output", str(tmp_path / "g.iqa"), "-q"]) == 0
    err = capsys.readouterr().err
    assert "warning: a was trained on the development store" in err
    assert "warning: b was trained on the development store" in err
    assert (
        main(["evaluate", "--model", str(fused), "--features", str(work / "test.h5"), "--json"])
        == 0
    )
    r = _json(capsys)
    assert KEYS <= set(r) and r["n_bona_fide"] + r["n_attack"] == 18
    # predict with the fused model: the fusion of the members' scores of the same image
    live = sorted((work / "data" / "live").rglob("*.png"))[0]
    assert main(["predict", "--model", str(fused), str(live), "--json"]) == 0
    p = _json(capsys)["results"][0]
    ma, mb = load_cli_model(lda), load_cli_model(svm)
    fs = read_features(work / "train.h5")
    i = list(fs.sample_id).index(live.relative_to(work / "data").as_posix())
    pair = np.array([[ma.scores(fs.X[i : i + 1])[0], mb.scores(fs.X[i : i + 1])[0]]])
    assert p["score"] == pytest.approx(float(fm.classifier.score_samples(pair)[0]))
    # CSV scores of the two models on dev and test, fused as external tests
    for split in ("dev", "test"):
        for path in (lda, svm):
            main(
                [
                    "evaluate",
                    "--model",
                    str(path),
                    "--features",
                    str(work / f"{split}.h5"),
                    "--scores",
                    str(tmp_path / f"{split}_{path.stem}.csv"),
                    "--json",
                ]
            )
        capsys.readouterr()
        rows = {}
        for path in (lda, svm):
            with open(tmp_path / f"{split}_{path.stem}.csv", newline="") as fh:
                for row in csv.DictReader(fh):
                    rows.setdefault(row["sample_id"], dict(row))[path.stem] = row[path.stem]
        with open(tmp_path / f"{split}.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["sample_id", "label", "attack_type", "a", "b"])
            for sid, row in rows.items():
                w.writerow([sid, row["label"], row["attack_type"], row["a"], row["b"]])
    ext = tmp_path / "ext.iqa"
    assert main(["fuse", "--dev", str(tmp_path / "dev.csv"), "--output", str(ext), "-q"]) == 0
    # a fusion of external scores is a modelio file too: no test, every fusion input external
    from iqa_liveness.modelio import load_model

    ext_lm = load_model(ext)
    assert ext_lm.members == () and ext_lm.external_tests == ("a", "b")
    assert (
        main(["evaluate", "--model", str(ext), "--features", str(tmp_path / "test.csv"), "--json"])
        == 0
    )
    r2 = _json(capsys)
    # same scores, same fusion method: the CSV route gives the model route's numbers
    assert r2["hter"] == pytest.approx(r["hter"]) and r2["auc"] == pytest.approx(r["auc"])
    # the --scores files of the two models go to fuse and evaluate as they are (one score
    # column per file, named after its model)
    direct = tmp_path / "direct.iqa"
    dev_csv = [str(tmp_path / f"dev_{p.stem}.csv") for p in (lda, svm)]
    test_csv = [str(tmp_path / f"test_{p.stem}.csv") for p in (lda, svm)]
    assert main(["fuse", "--dev", *dev_csv, "--output", str(direct), "-q"]) == 0
    assert load_model(direct).external_tests == ("a", "b")
    assert main(["evaluate", "--model", str(direct), "--features", *test_csv, "--json"]) == 0
    r3 = _json(capsys)
    assert r3["hter"] == pytest.approx(r["hter"]) and r3["auc"] == pytest.approx(r["auc"])
    assert r3["n_bona_fide"] + r3["n_attack"] == 18


def test_model_file_errors(work, tmp_path, capsys):
    model = lda_model(work)
    truncated = tmp_path / "t.iqa"
    truncated.write_bytes(model.read_bytes()[:300])
    with pytest.raises(ModelFileError):
        load_cli_model(truncated)
    assert main(["evaluate", "--model", str(truncated), "--features", str(work / "test.h5")]) == 3
    assert capsys.readouterr().err.count("\n") == 1
    # a model file naming another class than the allow-listed estimators is refused
    import zipfile

    crafted = tmp_path / "c.iqa"
    with zipfile.ZipFile(model) as src, zipfile.ZipFile(crafted, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "manifest.json":
                manifest = json.loads(data)
                manifest["members"][0]["type"] = "os.system"
                data = json.dumps(manifest).encode()
            dst.writestr(item, data)
    with pytest.raises(ModelFileError):
        load_cli_model(crafted)
    assert main(["evaluate", "--model", str(crafted), "--features", str(work / "test.h5")]) == 3
    capsys.readouterr()
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(tmp_path / "absent.iqa"),
                "--features",
                str(work / "test.h5"),
            ]
        )
        == 3
    )


def test_store_without_features_and_external_fusion_in_predict(work, tmp_path, capsys):
    model = tmp_path / "m.iqa"
    argv = ["train", "--features", str(work / "train.h5"), "--dev", str(work / "dev.h5")]
    assert main([*argv, "--output", str(model), "-q"]) == 0
    # a store whose every sample failed: one line saying so, not the classifier's complaint
    bad = tmp_path / "bad"
    for d in ("live", "spoof"):
        (bad / d).mkdir(parents=True)
        (bad / d / "x.png").write_bytes(b"not an image")
    store = tmp_path / "bad.h5"
    ex = ["extract", "--dataset", "folder", "--root", str(bad), "--measures", MEASURES]
    assert main([*ex, "--output", str(store), "-q"]) == 4
    capsys.readouterr()
    assert main(["evaluate", "--model", str(model), "--features", str(store), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "holds no sample with features (2 failed: ImageReadError 2)" in err
    # a fusion of external (CSV) scores cannot score an image: a clear error, no traceback
    rng = np.random.default_rng(0)
    dev = tmp_path / "dev.csv"
    with open(dev, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sample_id", "label", "subject", "cnn", "vendor"])
        for i in range(40):
            y = i % 2
            w.writerow(
                [
                    f"s{i}",
                    "bona_fide" if y else "attack",
                    f"p{i % 8}",
                    y + rng.normal(),
                    y + rng.normal(),
                ]
            )
    ext = tmp_path / "ext.iqa"
    assert main(["fuse", "--dev", str(dev), "--output", str(ext), "-q"]) == 0
    live = sorted((work / "data" / "live").rglob("*.png"))[0]
    assert main(["predict", "--model", str(ext), str(live)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "fuses external scores (cnn, vendor)" in err


def test_evaluate_warns_about_a_store_at_another_resolution(work, tmp_path, capsys):
    import shutil

    import h5py

    model = tmp_path / "m.iqa"
    argv = ["train", "--features", str(work / "train.h5"), "--dev", str(work / "dev.h5")]
    assert main([*argv, "--output", str(model), "-q"]) == 0
    assert main(["evaluate", "--model", str(model), "--features", str(work / "test.h5")]) == 0
    assert "warning" not in capsys.readouterr().err
    big = tmp_path / "big.h5"
    shutil.copy(work / "test.h5", big)
    with h5py.File(big, "r+") as f:
        f.attrs["image_width"], f.attrs["image_height"] = 1280, 720
    assert main(["evaluate", "--model", str(model), "--features", str(big), "--json"]) == 0
    captured = capsys.readouterr()
    json.loads(captured.out)
    w, h = load_cli_model(model).working_resolution
    assert f"holds 1280x720 images but the model works at {w}x{h}" in captured.err


def test_png_plot_without_matplotlib(work, tmp_path, capsys, monkeypatch):
    """`evaluate --plot DET.png` in a plain install (no matplotlib): the SVG plot rasterised
    with OpenCV, and the results still printed."""
    import sys

    model = tmp_path / "m.iqa"
    argv = ["train", "--features", str(work / "train.h5"), "--dev", str(work / "dev.h5")]
    assert main([*argv, "--output", str(model), "-q"]) == 0
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    png = tmp_path / "det.png"
    argv = ["evaluate", "--model", str(model), "--features", str(work / "test.h5")]
    assert main([*argv, "--json", "--plot", str(png)]) == 0
    assert KEYS <= set(_json(capsys))
    img = cv2.imread(str(png))
    assert img is not None and img.shape == (840, 920, 3)
    # white page, a dark frame and coloured curves (the first curve's colour #1f77b4)
    assert (img == 255).all(axis=2).mean() > 0.5
    blue = (np.abs(img.astype(int) - [180, 119, 31]).sum(axis=2) < 60).sum()
    assert blue > 200


def test_train_lda_shrinkage_flag(work, tmp_path, capsys):
    base = ["train", "--features", str(work / "train.h5"), "--dev", str(work / "dev.h5"), "-q"]
    default, auto, half = (tmp_path / f"{k}.iqa" for k in ("default", "auto", "half"))
    assert main([*base, "--output", str(default)]) == 0
    assert main([*base, "--output", str(auto), "--lda-shrinkage", "auto"]) == 0
    assert main([*base, "--output", str(half), "--lda-shrinkage", "0.5"]) == 0
    got = [load_cli_model(p).classifier for p in (default, auto, half)]
    assert [c.shrinkage for c in got] == [0.1, "auto", 0.5]
    assert not np.allclose(got[0].coef_, got[1].coef_)
    for bad in ("-1", "2", "lw"):
        with pytest.raises(SystemExit) as exc:
            main([*base, "--output", str(tmp_path / "x.iqa"), "--lda-shrinkage", bad])
        assert exc.value.code == 2
    assert "--lda-shrinkage" in capsys.readouterr().err
