"""JSON and text files, written atomically (never a half-written file)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..io.atomic import atomic_output

__all__ = ["write_json", "write_text"]


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (missing folders are created). Returns the path written."""
    with atomic_output(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    return Path(path)


def write_json(path: str | os.PathLike, data, *, indent: int | None = 2) -> Path:
    """Write ``data`` as UTF-8 JSON (indented by default; ``indent=None`` for one compact line), atomically."""
    if indent is None:
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    else:
        text = json.dumps(data, indent=indent, ensure_ascii=False)
    return write_text(path, text + "\n")
