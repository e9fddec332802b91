"""The ``iqa-liveness`` command line.

Each sub-command lives in its own module of :mod:`iqa_liveness.commands` with ``HELP`` (one
line), ``add_arguments(parser)`` and ``run(args) -> int``. Exit codes (documented in
``docs/cli.md``):

======  ==========================================================
code    meaning
======  ==========================================================
0       success
1       unexpected internal error (a bug: please report it)
2       bad command-line arguments
3       bad input data (unreadable file, malformed store or model)
4       partial failure: the batch completed, some samples failed
130     interrupted (Ctrl-C); work done so far is kept
======  ==========================================================
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
import warnings
from collections.abc import Sequence

from . import __version__
from .errors import IQALivenessError

__all__ = ["main", "build_parser", "EXIT_OK", "EXIT_USAGE", "EXIT_DATA", "EXIT_PARTIAL"]

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_DATA = 3
EXIT_PARTIAL = 4
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: stdout closed by its reader

#: Sub-commands in the order ``--help`` lists them (a module that is absent is skipped).
COMMANDS = (
    "extract",
    "train",
    "evaluate",
    "predict",
    "fuse",
    "adapt",
    "demo",
    "measures",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iqa-liveness",
        description="Face liveness detection (presentation attack detection) with classical "
        "image analysis.",
    )
    parser.add_argument("--version", action="version", version=f"iqa-liveness {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"iqa_liveness.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"iqa_liveness.commands.{name}":
                continue
            raise
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(func=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if threading.current_thread() is threading.main_thread():
        # a process started in the background by a non-interactive shell inherits SIGINT
        # ignored; Ctrl-C must always stop a run cleanly (exit code 130, work kept)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    # FFmpeg's own messages about a broken video ("moov atom not found") are noise next to
    # the failure the command reports; silenced unless the user sets the level
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return EXIT_USAGE
    def one_line(message: Warning | str, category: type[Warning], *_: object, **__: object) -> None:
        # a warning is one line on stderr, like an error (not Python's file:line + source)
        kind = "" if category is UserWarning or category.__module__.startswith(
            "iqa_liveness") else f"{category.__name__}: "
        print(f"iqa-liveness {args.command}: warning: {kind}{message}", file=sys.stderr)

    shown = warnings.showwarning
    warnings.showwarning = one_line
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("iqa-liveness: interrupted; work done so far is kept", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader of stdout stopped (e.g. `| head`): no message, like a shell tool that
        # gets SIGPIPE; stdout goes to /dev/null so that the flush at exit does not fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_BROKEN_PIPE
    except IQALivenessError as exc:
        print(f"iqa-liveness {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_DATA
    finally:
        warnings.showwarning = shown


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
