"""Reading ARKit curve files written by :func:`emogen.export.write_curves_json`."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..motion import MotionTrack

__all__ = ["read_curves_json"]


def read_curves_json(path: str | os.PathLike) -> MotionTrack:
    """Read a file written by :func:`write_curves_json`."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"No such file: {str(path)!r}.")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{str(path)!r} is not valid JSON: {exc}.") from None
    if not isinstance(data, dict) or "blendshapes" not in data or "fps" not in data:
        raise ValueError(f"{str(path)!r} is not an emogen curves file (needs 'fps' and 'blendshapes').")
    return MotionTrack.from_dict(data)
