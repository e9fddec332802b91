"""Shared pieces of the sub-commands: progress bar, errors, feature families, resolution.

Not a public API: the command line is (``docs/cli.md``).
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO

import cv2
import numpy as np
from numpy.typing import NDArray

from ..errors import ConfigurationError, IQALivenessError

__all__ = [
    "Progress",
    "UsageError",
    "FEATURE_FAMILIES",
    "parse_features",
    "onnx_family",
    "build_extractor",
    "add_common_flags",
    "bring_to_resolution",
    "median_resolution",
    "format_percent",
]


class UsageError(IQALivenessError):
    """Bad command-line arguments found after parsing (exit code 2)."""


EXIT_USAGE = 2


def guarded(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Wrap a command's ``run``: :class:`UsageError` and bad parameter values become one
    line on stderr and exit code 2; an unwritable or missing file becomes exit code 3 (other
    package errors are turned into code 3 by :func:`iqa_liveness.cli.main`)."""

    @functools.wraps(run)
    def wrapper(args: argparse.Namespace) -> int:
        name = getattr(args, "command", None) or run.__module__.rsplit(".", 1)[-1]
        try:
            return run(args)
        except UsageError as exc:
            print(f"iqa-liveness {name}: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except BrokenPipeError:
            raise  # stdout closed by its reader: iqa_liveness.cli.main ends quietly
        except OSError as exc:
            if isinstance(exc, IQALivenessError):
                raise
            print(f"iqa-liveness {name}: error: {exc}", file=sys.stderr)
            return 3

    return wrapper


def add_common_flags(parser: argparse.ArgumentParser, jobs: bool = False) -> None:
    """``--quiet`` (and ``--jobs``) with the same meaning in every command."""
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar and no summary on stderr"
    )
    if jobs:
        parser.add_argument(
            "-j",
            "--jobs",
            type=int,
            default=1,
            metavar="N",
            help="worker processes for feature extraction (joblib; -1: every core; default 1)",
        )


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (a bad value is a usage error, exit code 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def add_frame_flags(parser: argparse.ArgumentParser) -> None:
    """``--every`` and ``--max-frames``: which frames of a video are used (extract, predict)."""
    parser.add_argument(
        "--every", type=positive_int, default=1, metavar="K", help="every K-th video frame"
    )
    parser.add_argument(
        "--max-frames",
        type=positive_int,
        default=None,
        metavar="N",
        help="at most N frames per video",
    )


def info(args: argparse.Namespace, message: str) -> None:
    """A progress or summary line on stderr, unless ``--quiet``."""
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr, flush=True)


class Progress:
    """A tiny progress bar on stderr, drawn only when stderr is a terminal.

    ``Progress(total, "extract")`` then ``update(k)``; ``close()`` ends the line. Disabled
    (silent) in pipes, files and with ``enabled=False`` (``--quiet``), so logs stay clean.
    """

    def __init__(
        self, total: int, label: str, *, enabled: bool = True, stream: TextIO | None = None
    ) -> None:
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", lambda: False)
        self.enabled = bool(enabled and total > 0 and isatty())
        self.total = max(int(total), 0)
        self.label = label
        self.done = 0
        self.start = time.monotonic()
        self._last = 0.0
        if self.enabled:
            self._draw(force=True)

    def update(self, n: int = 1) -> None:
        self.done = min(self.total, self.done + n)
        if self.enabled:
            self._draw()

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < 0.1 and self.done < self.total:
            return
        self._last = now
        frac = self.done / self.total if self.total else 1.0
        width = 28
        filled = int(round(width * frac))
        elapsed = now - self.start
        eta = ""
        if 0 < self.done < self.total:
            eta = f" eta {elapsed * (self.total - self.done) / self.done:5.0f}s"
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(
            f"\r{self.label} [{bar}] {self.done}/{self.total} {elapsed:5.0f}s{eta}   "
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw(force=True)
            self.stream.write("\n")
            self.stream.flush()
            self.enabled = False


# --------------------------------------------------------------------------- feature families
#: ``--features`` name -> (module, class). The store and the model use the same names.
FEATURE_FAMILIES: dict[str, tuple[str, str]] = {
    "quality": ("iqa_liveness.quality", "QualityFeatures"),
    "colour-texture": ("iqa_liveness.colour_texture", "ColourTextureFeatures"),
}
_ALIASES = {
    "iqa": "quality",
    "w-iqa": "quality",
    "color-texture": "colour-texture",
    "texture": "colour-texture",
}


def parse_features(text: str, *, onnx: bool = False) -> list[str]:
    """``"quality,colour-texture"`` -> ``["quality", "colour-texture"]`` (validated).

    With ``onnx=True``, deep tests ``onnx=PRESET@DIR`` or ``onnx=PATH.json`` are accepted too
    and kept as given (:func:`onnx_family` builds them).
    """
    names = []
    for raw in text.split(","):
        name = raw.strip().lower()
        if not name:
            continue
        if onnx and name.startswith("onnx="):
            token = "onnx=" + raw.strip()[len("onnx=") :]
            if token not in names:
                names.append(token)
            continue
        name = _ALIASES.get(name, name)
        if name not in FEATURE_FAMILIES:
            raise UsageError(
                f"unknown feature family {raw.strip()!r}; known: {', '.join(FEATURE_FAMILIES)}"
            )
        if name not in names:
            names.append(name)
    if not names:
        raise UsageError("--features is empty; give e.g. quality or quality,colour-texture")
    return names


def onnx_family(token: str) -> tuple[str, Any]:
    """``"onnx=PRESET@DIR"`` or ``"onnx=PATH.json"`` -> ``("onnx-<test name>", DeepFeatures)``.

    The sidecar is read and validated now (a bad one is a usage error); paths are made
    absolute, so that the configuration stored with the features stays valid.
    """
    from ..deep import DeepFeatures, resolve_onnx_test

    text = token[len("onnx=") :] if token.startswith("onnx=") else token
    if "@" in text and not text.endswith(".json"):
        preset, _, folder = text.partition("@")
        text = f"{preset}@{os.path.abspath(folder)}"
    else:
        text = os.path.abspath(text)
    try:
        spec = resolve_onnx_test(text)
    except IQALivenessError as exc:
        raise UsageError(f"--features {token}: {exc}") from exc
    return f"onnx-{spec.name}", DeepFeatures(onnx=text)


def build_extractor(name: str, config: dict[str, Any] | None = None) -> Any:
    """The transformer of a feature family, with parameters ``config`` (as stored); a deep
    test's family ``onnx-<name>`` gives :class:`~iqa_liveness.deep.DeepFeatures`."""
    if name.startswith("onnx-") and config and "onnx" in config:
        from ..deep import DeepFeatures

        valid = set(DeepFeatures().get_params(deep=False))
        return DeepFeatures(**{k: v for k, v in config.items() if k in valid})
    if name not in FEATURE_FAMILIES:
        raise ConfigurationError(f"unknown feature family {name!r}")
    module, cls = FEATURE_FAMILIES[name]
    try:
        klass = getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(
            f"feature family {name!r} ({module}.{cls}) is not available in this installation"
        ) from exc
    params = dict(config or {})
    params.pop("n_jobs", None)  # parallelism is the command's business, not the model's
    valid = set(klass().get_params(deep=False)) if hasattr(klass, "get_params") else set()
    kwargs = {k: v for k, v in params.items() if k in valid and _jsonable(v)}
    return klass(**kwargs)


def _jsonable(v: Any) -> bool:
    try:
        json.dumps(v)
    except (TypeError, ValueError):
        return False
    return True


# --------------------------------------------------------------------------- resolution
def median_resolution(sizes: Iterable[tuple[int, int]]) -> tuple[int, int] | None:
    """Median width and median height of ``(width, height)`` pairs (``None`` if empty)."""
    arr = np.asarray(list(sizes), dtype=np.float64)
    if arr.size == 0:
        return None
    w, h = np.median(arr, axis=0)
    return int(round(w)), int(round(h))


def bring_to_resolution(
    image: NDArray[Any], working: Sequence[int] | None
) -> tuple[NDArray[Any], float]:
    """Resize ``image`` to the model's working resolution; return it and the scale factor.

    Rule (``docs/cli.md``): the image is scaled, keeping its aspect ratio, so that its
    **shorter side equals the shorter side of the working resolution** ``(width, height)``;
    area averaging when shrinking, bicubic when enlarging; nothing is cropped. A camera's
    16:9 mode usually shares the vertical field of view of its 4:3 mode, so this keeps the
    pixel scale of faces and of blur and noise close to the training captures. ``working=None``
    (unknown) leaves the image as it is.

    Examples
    --------
    >>> import numpy as np
    >>> out, s = bring_to_resolution(np.zeros((720, 1280, 3), np.uint8), (640, 480))
    >>> out.shape, round(s, 4)
    ((480, 853, 3), 0.6667)
    """
    if working is None:
        return image, 1.0
    h, w = image.shape[:2]
    target = float(min(working))
    s = target / float(min(h, w))
    if abs(s - 1.0) < 1e-9:
        return image, 1.0
    new_w, new_h = max(1, int(round(w * s))), max(1, int(round(h * s)))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    out = cv2.resize(image, (new_w, new_h), interpolation=interp)
    if image.dtype != np.uint8 and np.issubdtype(image.dtype, np.floating):
        out = np.clip(out, 0.0, 1.0)
    return out, s


def format_percent(x: float | None) -> str:
    return "n/a" if x is None else f"{100.0 * x:.2f} %"


def check_output_path(path: str | os.PathLike[str]) -> None:
    """Fail early (exit 2) when the directory of an output file does not exist."""
    d = os.path.dirname(os.path.abspath(os.fspath(path)))
    if not os.path.isdir(d):
        raise UsageError(f"output directory does not exist: {d}")
