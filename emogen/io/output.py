"""The output layer: check an output path before any work, and keep its folder free of temporary files.

Every emogen writer writes to a hidden temporary beside the target and renames it into place
(:func:`~emogen.io.atomic.atomic_output`, :func:`temporary_folder`); the temporaries carry the writing process's
id (``.emogen-tmp-<pid>-…``). They are removed on any error or interruption the process survives; after a hard
kill (``kill -9``, power loss) the next write into the same folder removes the ones whose process is gone
(:func:`clean_stale_temporaries`), so litter never accumulates.

:func:`check_output_path` is what entry points call *before* rendering: a wrong format, a folder, or a folder that
cannot be created or written is an :class:`~emogen.io.errors.OutputPathError` right away, not after minutes of work.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import OutputPathError

logger = logging.getLogger(__name__)

__all__ = ["TEMP_PREFIX", "check_output_path", "clean_stale_temporaries", "temp_prefix", "temporary_folder"]

#: Name prefix of every temporary file or folder emogen creates beside an output.
TEMP_PREFIX = ".emogen-tmp-"
_LEGACY_PREFIXES = (".emogen-video-",)  # temporary folders of earlier versions (no process id in the name)


def temp_prefix(path: str | os.PathLike) -> str:
    """The name prefix of this process's temporaries for the output ``path``."""
    return f"{TEMP_PREFIX}{os.getpid()}-{Path(path).name}."


def _boot_time() -> float | None:
    try:
        with open("/proc/stat", encoding="ascii") as f:
            for line in f:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except OSError:
        pass
    return None


def _process_start(pid: int) -> float | None:
    """Start time of process ``pid`` (seconds since the epoch), where ``/proc`` tells; else ``None``."""
    boot = _boot_time()
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return None if boot is None else boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


_THIS_PROCESS_START = _process_start(os.getpid()) or time.time()


def _is_stale(entry: Path) -> bool:
    name = entry.name
    try:
        mtime = entry.lstat().st_mtime
    except OSError:
        return False
    if name.startswith(TEMP_PREFIX):
        pid_text = name[len(TEMP_PREFIX) :].split("-", 1)[0]
        if not pid_text.isdigit():
            return mtime < _THIS_PROCESS_START
        pid = int(pid_text)
        if pid == os.getpid():
            return False  # ours, maybe being written right now
        if not _alive(pid):
            return True
        start = _process_start(pid)  # alive: stale only if that id now belongs to a newer process
        return start is not None and mtime < start - 1.0
    return name.startswith(_LEGACY_PREFIXES) and mtime < _THIS_PROCESS_START


def clean_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove the emogen temporaries in ``folder`` left by processes that are gone (a hard kill mid-write).

    Temporaries of running emogen processes (another render into the same folder) are left alone.

    Returns:
        The paths removed.
    """
    folder = Path(folder)
    removed = []
    try:
        entries = [e for e in folder.iterdir() if e.name.startswith((TEMP_PREFIX, *_LEGACY_PREFIXES))]
    except OSError:
        return removed
    for entry in entries:
        if not _is_stale(entry):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError as err:  # pragma: no cover - e.g. removed concurrently
            logger.debug("could not remove stale temporary %s: %s", entry, err)
            continue
        logger.info("removed %s, left by an interrupted write", entry)
        removed.append(entry)
    return removed


def check_output_path(
    path: str | os.PathLike, formats: tuple[str, ...] | None = None, option: str = "output", *, create: bool = True
) -> Path:
    """Check, before any work, that ``path`` can be written: its format, that it is not a folder, and that its
    folder is writable, or (with ``create``) that the missing folders can be made in the nearest existing one.
    Nothing is created: a failed render leaves no empty folder behind. Also clears stale temporaries there.

    Args:
        path: the output file.
        formats: accepted suffixes, lower case with the dot (``(".mp4",)``); ``None``: any.
        option: how the caller names the path in messages (``"--output"``, ``"path"``).
        create: missing parent folders are fine (the writers create them); else they are an error.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        OutputPathError: naming the path and what is wrong.
    """
    path = Path(path)
    if formats is not None and path.suffix.lower() not in formats:
        raise OutputPathError(f"{option} must end in {' or '.join(formats)}, got {str(path)!r}.")
    if path.is_dir():
        raise OutputPathError(f"{option} {str(path)!r} is a folder; give a file name.")
    parent = path.parent
    existing = parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputPathError(f"{option} {str(path)!r}: {str(existing)!r} is a file, not a folder.")
    if existing != parent and not create:
        raise OutputPathError(f"{option} {str(path)!r}: the folder {str(parent)!r} does not exist.")
    try:
        fd, probe = tempfile.mkstemp(prefix=temp_prefix(path), suffix=".probe", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise OutputPathError(
            f"{option} {str(path)!r} cannot be written: the folder {str(existing)!r} is not writable "
            f"({err.strerror or err})."
        ) from None
    clean_stale_temporaries(existing)
    return path


@contextlib.contextmanager
def temporary_folder(path: str | os.PathLike) -> Iterator[Path]:
    """A hidden temporary folder beside the output ``path`` (for multi-file writes), removed on exit, error or not.

    Raises:
        OutputPathError: the folder cannot be created there.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        clean_stale_temporaries(path.parent)
        folder = Path(tempfile.mkdtemp(prefix=temp_prefix(path), dir=path.parent))
    except OSError as err:
        raise OutputPathError(
            f"Cannot write {str(path)!r}: the folder {str(path.parent)!r} is not writable ({err.strerror or err})."
        ) from None
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
