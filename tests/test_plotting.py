"""Evaluation plots (iqa_liveness.plotting): files are written and are valid PNG images."""

from __future__ import annotations

import builtins

import numpy as np
import pytest

from iqa_liveness.errors import ConfigurationError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _scores(seed=0):
    rng = np.random.default_rng(seed)
    bf = rng.normal(2.0, 1.0, 200)
    prints = rng.normal(0.0, 1.0, 150)
    replays = rng.normal(1.0, 0.8, 100)
    scores = np.concatenate([bf, prints, replays])
    labels = ["bona_fide"] * 200 + ["attack"] * 250
    types = [None] * 200 + ["print"] * 150 + ["replay"] * 100
    return scores, labels, types


def _check_png(path, min_size=(200, 200)):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    # IHDR chunk: width and height, big endian, right after the signature and chunk header
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    assert width >= min_size[0] and height >= min_size[1]
    assert data.endswith(b"IEND\xaeB`\x82")


def test_plot_det_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    from iqa_liveness import metrics
    from iqa_liveness.plotting import plot_det

    scores, labels, types = _scores()
    s = metrics.split_scores(scores, labels, types)
    curves = {
        "system A": (s.attacks, s.bona_fide),
        "print only": (s.attacks_by_species["print"], s.bona_fide),
    }
    out = tmp_path / "det.png"
    fig = plot_det(curves, path=out, title="DET")
    _check_png(out)
    ax = fig.axes[0]
    # the EER marker of the first curve sits where FAR == FRR on probit axes
    t = metrics.eer_threshold(s.attacks, s.bona_fide)
    far, frr = metrics.farfrr(s.attacks, s.bona_fide, t)
    marker = [ln for ln in ax.get_lines() if ln.get_marker() == "o"][0]
    np.testing.assert_allclose(marker.get_xdata(), metrics.probit([far]))
    np.testing.assert_allclose(marker.get_ydata(), metrics.probit([frr]))
    assert any("EER" in t.get_text() for t in ax.get_legend().get_texts())

    out2 = tmp_path / "det_fixed.png"
    plot_det(curves, operating_points={"system A": 1.0}, path=out2, limits=(0.001, 0.5))
    _check_png(out2)
    # same input, same bytes
    out3 = tmp_path / "det_fixed_again.png"
    plot_det(curves, operating_points={"system A": 1.0}, path=out3, limits=(0.001, 0.5))
    assert out3.read_bytes() == out2.read_bytes()


def test_plot_det_bad_arguments():
    pytest.importorskip("matplotlib")
    from iqa_liveness.plotting import plot_det

    with pytest.raises(ConfigurationError):
        plot_det({})
    with pytest.raises(ConfigurationError):
        plot_det({"a": ([0.0, 1.0], [1.0, 2.0])}, operating_points="min")
    with pytest.raises(ConfigurationError):
        plot_det({"a": ([0.0, 1.0], [1.0, 2.0])}, limits=(0.5, 0.1))


def test_plot_score_histograms_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    from iqa_liveness.plotting import plot_score_histograms

    scores, labels, types = _scores(1)
    out = tmp_path / "hist.png"
    fig = plot_score_histograms(scores, labels, types, threshold=1.0, path=out)
    _check_png(out)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert texts == ["bona fide (200)", "print (150)", "replay (100)", "threshold 1"]
    out2 = tmp_path / "hist_pooled.png"
    fig = plot_score_histograms(scores, np.array(labels) == "bona_fide", path=out2)
    _check_png(out2)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert texts == ["bona fide (200)", "attack (250)"]


def test_missing_matplotlib_gives_install_hint(monkeypatch):
    from iqa_liveness import plotting

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"pip install iqa-liveness\[plot\]"):
        plotting.plot_det({"a": ([0.0, 1.0], [1.0, 2.0])})
