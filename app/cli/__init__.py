"""The ``emogen`` console script: ``emogen <command> --help`` for each command.

Each module named in :data:`COMMANDS` exposes ``register(subparsers)``, which adds its parser and sets ``func=run``
(``run(args) -> int``). A command imports what it needs inside ``run``, so ``emogen --help`` and the light commands
start without loading torch models or diffusers.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys

from emogen import __version__

__all__ = ["COMMANDS", "main", "build_parser"]

#: Subcommand modules of this package, in ``--help`` order.
COMMANDS: tuple[str, ...] = (
    "talk",
    "animate",
    "avatar",
    "video",
    "speak",
    "diarize",
    "emotion",
    "check",
    "augment",
    "batch",
    "app",
)


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors on one line (``emogen animate: error: …``), like every other emogen error."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="emogen",
        description="Emotion-controllable generation: talking heads from a portrait and emotional speech, offline.",
    )
    parser.add_argument("--version", action="version", version=f"emogen {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (-v info, -vv debug and error tracebacks)"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def _setup_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if verbosity < 2:
        # Third-party libraries are chatty at INFO.
        for name in ("httpx", "urllib3", "matplotlib", "PIL", "numba", "sentence_transformers", "filelock"):
            logging.getLogger(name).setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # emogen never reaches a model hub on its own
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ start-up chatter (shown with -vv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or a usage error argparse already printed
        return int(exit_.code or 0) if not isinstance(exit_.code, str) else 2
    if args.verbose >= 2 and os.environ.get("GLOG_minloglevel") == "2":
        os.environ["GLOG_minloglevel"] = "0"
    _setup_logging(args.verbose)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    previous = _terminate_cleanly()
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as err:
        # User errors: one clear line naming the value, no traceback (-vv logs it).
        logging.getLogger("emogen").debug("Traceback", exc_info=True)
        print(f"emogen {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `emogen emotion ... | head`
        sys.stderr.close()
        return 0
    except OSError as err:  # the system refused (disk full, I/O error): not the user's input, still one line
        logging.getLogger("emogen").debug("Traceback", exc_info=True)
        print(f"emogen {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except _Terminated:
        print("terminated", file=sys.stderr)
        return 143
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


class _Terminated(BaseException):
    """SIGTERM, raised so that every ``finally`` runs: temporary files are removed, outputs stay whole."""


def _terminate_cleanly():
    """Turn SIGTERM into :class:`_Terminated` (main thread only); returns the handler it replaced, or ``None``."""

    def handler(signum, frame):
        raise _Terminated()

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. main() called from a worker thread)
        return None


def _one_line(err: BaseException) -> str:
    """An exception's message on one line (a decoder's multi-line text is joined)."""
    text = " ".join(line.strip() for line in str(err).splitlines() if line.strip())
    return text or type(err).__name__


if __name__ == "__main__":
    sys.exit(main())
