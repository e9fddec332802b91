import os
import subprocess
import sys

import pytest

import iqa_liveness
from iqa_liveness.cli import main


def test_version(capsys):
    try:
        main(["--version"])
    except SystemExit as e:
        assert e.code == 0
    assert capsys.readouterr().out.strip() == f"iqa-liveness {iqa_liveness.__version__}"


def test_help_lists_commands():
    out = subprocess.run(
        [sys.executable, "-m", "iqa_liveness", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "iqa-liveness" in out and "measures" in out


def test_no_command_is_usage_error(capsys):
    assert main([]) == 2


def test_stdout_closed_by_its_reader_ends_quietly():
    """`iqa-liveness ... | head`: no message and no traceback once the reader is gone."""
    r, w = os.pipe()
    os.close(r)
    try:
        p = subprocess.run(
            [sys.executable, "-m", "iqa_liveness", "measures", "--json"],
            stdout=w,
            stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        os.close(w)
    assert p.returncode == 141 and p.stderr == ""


def test_warnings_are_one_line(tmp_path):
    """A package warning on the command line is one line, like an error (no file:line and
    source line as Python prints them)."""
    import cv2
    import numpy as np

    (tmp_path / "real").mkdir()
    (tmp_path / "spoof").mkdir()
    rng = np.random.default_rng(0)
    for d in ("real", "spoof"):
        cv2.imwrite(str(tmp_path / d / "a.png"), rng.integers(0, 255, (24, 32, 3), np.uint8))
    (tmp_path / "real" / "bad.mp4").write_bytes(b"not a video")
    p = subprocess.run(
        [sys.executable, "-m", "iqa_liveness", "extract", "--dataset", "folder", "--root",
         str(tmp_path), "--measures", "MSE", "--output", str(tmp_path / "f.h5")],
        capture_output=True, text=True,
    )
    assert p.returncode == 4
    lines = [ln for ln in p.stderr.splitlines() if "Warning" in ln or ": warning: " in ln]
    assert len(lines) == 1 and lines[0].startswith("iqa-liveness extract: warning: folder: 1 ")
    assert ".py:" not in p.stderr
    # the failure is reported once, without FFmpeg's own "moov atom not found" lines
    assert "moov" not in p.stderr and "cannot open video file" in p.stderr


@pytest.mark.parametrize("command", ["extract", "predict"])
@pytest.mark.parametrize("flag", ["--every", "--max-frames"])
@pytest.mark.parametrize("value", ["0", "-2", "x"])
def test_frame_flags_must_be_positive_integers(command, flag, value, capsys):
    required = {
        "extract": ["--dataset", "folder", "--root", ".", "--output", "x.h5"],
        "predict": ["--model", "m.iqa", "a.png"],
    }[command]
    with pytest.raises(SystemExit) as exc:
        main([command, *required, flag, value])
    assert exc.value.code == 2
    assert flag in capsys.readouterr().err
