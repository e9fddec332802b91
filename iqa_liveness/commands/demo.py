"""``iqa-liveness demo``: the main job on data that ships with installed packages."""

from __future__ import annotations

import argparse

from . import measures

HELP = "run the main job on shipped example data (for now: quality measures of an example image)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", help="directory for the report (unused for now)")


def run(args: argparse.Namespace) -> int:
    return measures.run(argparse.Namespace(images=[], convention="standard", json=False))
