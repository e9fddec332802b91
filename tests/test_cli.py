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
