"""Atomic file output: write to a temporary file beside the target, rename over it only on success."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import OutputPathError
from .output import clean_stale_temporaries, temp_prefix

__all__ = ["atomic_output"]


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


@contextmanager
def atomic_output(path: str | os.PathLike, *, make_parents: bool = True, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``, on error it is removed.

    No reader ever sees a half-written file, and a failed write leaves any previous file untouched; temporaries left
    by an earlier process that was killed mid-write are removed (:mod:`emogen.io.output`). The finished file gets
    the permissions of the file it replaces, or those a plain ``open(path, "w")`` would give (``0o666`` less the
    umask), not the owner-only mode of a temporary file.

    Args:
        path: the final file.
        make_parents: create missing parent folders; if False, a missing folder is a ``FileNotFoundError``.
        suffix: suffix of the temporary file (default: ``path``'s, so format-sniffing writers still work).

    Raises:
        ValueError: ``path`` is a directory, or its folder cannot be created or written
            (:class:`~emogen.io.errors.OutputPathError`).
        FileNotFoundError: the parent folder is missing and ``make_parents`` is False.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputPathError(f"Output path {str(path)!r} is a directory; give a file name.")
    if not make_parents and not path.parent.is_dir():
        raise FileNotFoundError(f"Output folder {str(path.parent)!r} does not exist.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=suffix if suffix is not None else path.suffix,
                                   dir=path.parent)  # fmt: skip
    except OSError as err:
        raise OutputPathError(
            f"Cannot write {str(path)!r}: the folder {str(path.parent)!r} cannot be created or written "
            f"({err.strerror or err})."
        ) from None
    os.close(fd)
    clean_stale_temporaries(path.parent)
    tmp = Path(tmp)
    try:
        yield tmp
        if tmp.exists():
            tmp.chmod(path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
