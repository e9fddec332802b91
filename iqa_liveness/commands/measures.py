"""``iqa-liveness measures``: print the quality measures of images as a table."""

from __future__ import annotations

import argparse
import json

import numpy as np

HELP = "compute the image-quality measures of images (or of a built-in example) and print them"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="*", help="image files (default: scikit-image's astronaut)")
    parser.add_argument("--convention", choices=("standard", "bob"), default="standard")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def example_image() -> tuple[str, np.ndarray]:
    """The example image that ships inside scikit-image (public domain, NASA)."""
    from skimage import data

    return "skimage.data.astronaut()", data.astronaut()


def run(args: argparse.Namespace) -> int:
    from ..quality import QualityFeatures

    if args.images:
        names, images = list(args.images), list(args.images)
    else:
        name, img = example_image()
        names, images = [name], [img]
    qf = QualityFeatures(convention=args.convention)
    values = qf.transform(images)
    cols = list(qf.get_feature_names_out())
    if args.json:
        rows = [dict(zip(cols, map(float, row))) for row in values]
        print(json.dumps({"images": names, "measures": rows}, indent=1))
        return 0
    for name, row in zip(names, values):
        print(f"# {name} ({args.convention} convention)")
        print(f"{'measure':<8} {'value':>16}")
        for col, v in zip(cols, row):
            print(f"{col:<8} {v:>16.8g}")
    return 0
