"""``iqa-liveness demo`` end to end with tiny settings (the real demo is larger)."""

from __future__ import annotations

import json

from iqa_liveness.cli import main


def test_demo_writes_report_saying_attacks_are_simulated(tmp_path, capsys):
    out = tmp_path / "demo"
    argv = [
        "demo",
        "--output",
        str(out),
        "--per-subject",
        "2",
        "--size",
        "64x48",
        "--features",
        "quality",
        "--measures",
        "MSE,PSNR,SC,NXC,MAS",
        "--no-svm",
        "-q",
    ]
    assert main(argv) == 0
    for page in ("report.html", "report.md"):
        text = (out / page).read_text()
        assert text.count("SIMULATED") >= 2  # at the top and at the bottom
    assert (out / "report.html").read_text().count("<svg") == 1
    assert (out / "det.svg").read_text().startswith("<svg")
    res = json.loads((out / "results.json").read_text())
    r = res["results"]["W-IQA + LDA"]
    assert (r["n_bona_fide"], r["n_attack"], r["n_failed"]) == (4, 8, 0)
    assert set(r["apcer_per_species"]) == {"print", "replay"}
    assert res["counts"]["test"] == {"live": 4, "print": 4, "replay": 4}
    assert "SIMULATED" in res["notice"]
    # a second run reuses the data and the stores (resume) and gives the same numbers
    assert main(argv) == 0
    again = json.loads((out / "results.json").read_text())["results"]["W-IQA + LDA"]
    assert again == r
    assert main(["demo", "--output", str(out), "--size", "10"]) == 2
    assert "--size" in capsys.readouterr().err
