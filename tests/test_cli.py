import os
import subprocess
import sys

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
