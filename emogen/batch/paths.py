"""Path confinement for job files: every path a job names must stay inside the allowed roots.

A job file is data from somewhere else; the paths it names are read (inputs) and the outputs are written only
under ``OUT_ROOT`` with names derived from item ids. A path is accepted when

* it has no ``..`` component (rejected outright, wherever it would lead);
* relative paths are taken from the job file's folder; absolute paths are allowed only inside a root;
* after following every symbolic link, the file lies inside one of the roots (the input roots or ``OUT_ROOT``),
  so a link planted inside a root cannot point outside it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path, PurePath

__all__ = ["PathEscapeError", "confine_path", "is_inside"]


class PathEscapeError(ValueError):
    """A path in a job file points outside the allowed roots (a ``ValueError``)."""


def is_inside(path: str | os.PathLike, root: str | os.PathLike) -> bool:
    """Whether ``path`` is ``root`` or lies below it (both taken as given; resolve them first)."""
    try:
        Path(path).relative_to(root)
    except ValueError:
        return False
    return True


def confine_path(
    value: object, base: str | os.PathLike, roots: Sequence[str | os.PathLike], what: str = "path"
) -> Path:
    """Resolve a path named in a job file and check that it stays inside ``roots``.

    Args:
        value: the path as written in the job file.
        base: folder that relative paths are taken from (the job file's folder).
        roots: folders the path may lie in (symbolic links resolved on both sides).
        what: how to name the value in errors (e.g. ``"job 3: image"``).

    Returns:
        The resolved absolute path (symbolic links followed).

    Raises:
        PathEscapeError: ``..`` in the path, or the resolved path lies outside every root.
        ValueError: not a non-empty string.
    """
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value).strip():
        raise ValueError(f"{what} must be a non-empty path string, got {value!r}.")
    text = os.fspath(value)
    if "\x00" in text:
        raise ValueError(f"{what} must not contain a NUL character, got {text!r}.")
    pure = PurePath(text)
    if ".." in pure.parts:
        raise PathEscapeError(f"{what}: {text!r} contains '..'; paths in job files may not climb out of a folder.")
    candidate = pure if pure.is_absolute() else Path(base) / pure
    resolved = Path(os.path.realpath(candidate))
    real_roots = [Path(os.path.realpath(r)) for r in roots]
    if not any(is_inside(resolved, r) for r in real_roots):
        shown = ", ".join(repr(str(r)) for r in real_roots)
        raise PathEscapeError(
            f"{what}: {text!r} resolves to {str(resolved)!r}, outside the allowed folders ({shown}); put the file "
            "there or add its folder with --input-root."
        )
    return resolved
