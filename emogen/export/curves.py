"""ARKit curve export: CSV in Live Link Face column order and JSON.

The CSV reproduces the header Epic's Live Link Face app writes (:data:`emogen.arkit.LIVE_LINK_FACE_COLUMNS`):
``Timecode, BlendShapeCount``, the 52 blendshapes (CamelCase), then head yaw/pitch/roll and the eyes'
yaw/pitch/roll. Head and eye angles are written in radians with emogen's signs (:mod:`emogen.motion`); the eyes
both take the MotionTrack gaze, roll 0.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import torch

from ..arkit import ARKIT_INDEX, LIVE_LINK_FACE_COLUMNS
from ..motion import MotionTrack
from .data import write_text

__all__ = ["CURVE_FORMATS", "live_link_face_rows", "write_live_link_csv", "write_curves_json", "write_curves"]


def _timecode(frame: int, fps: float) -> str:
    """Live Link Face timecode ``HH:MM:SS:FF.mmm``."""
    seconds = frame / fps
    whole = int(seconds)
    ff = int(round((seconds - whole) * fps))
    if ff >= round(fps):
        whole, ff = whole + 1, 0
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}:{ff:02d}.000"


def live_link_face_rows(motion: MotionTrack) -> list[list]:
    """Rows (header first) of the Live Link Face CSV for ``motion``."""
    if not isinstance(motion, MotionTrack):
        raise TypeError(f"motion must be a MotionTrack, got {type(motion).__name__}.")
    m = motion.to("cpu", torch.float64)
    names = LIVE_LINK_FACE_COLUMNS[2:54]
    cols = [ARKIT_INDEX[n[0].lower() + n[1:]] for n in names]
    rows: list[list] = [list(LIVE_LINK_FACE_COLUMNS)]
    b, rot, gaze = m.blendshapes[:, cols], m.head_rotation, m.gaze
    for i in range(m.num_frames):
        pitch, yaw, roll = rot[i].tolist()
        gy, gp = gaze[i].tolist()
        values = b[i].tolist() + [yaw, pitch, roll, gy, gp, 0.0, gy, gp, 0.0]
        rows.append([_timecode(i, m.fps), len(names)] + [round(v, 6) for v in values])
    return rows


def write_live_link_csv(path: str | os.PathLike, motion: MotionTrack) -> Path:
    """Write ``motion`` as a Live Link Face CSV (atomic)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(live_link_face_rows(motion))
    return write_text(Path(path), buf.getvalue())


def write_curves_json(path: str | os.PathLike, motion: MotionTrack) -> Path:
    """Write ``motion`` as JSON (``MotionTrack.to_dict()``: fps, names, per-frame lists; atomic)."""
    if not isinstance(motion, MotionTrack):
        raise TypeError(f"motion must be a MotionTrack, got {type(motion).__name__}.")
    data = {"format": "emogen.motion", "version": 1, **motion.to_dict()}
    return write_text(Path(path), json.dumps(data, separators=(",", ":")) + "\n")


CURVE_FORMATS: tuple[str, ...] = (".csv", ".json")


def write_curves(path: str | os.PathLike, motion: MotionTrack) -> Path:
    """Write ``motion`` as a Live Link Face CSV (``.csv``) or emogen JSON (``.json``), chosen by the suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in CURVE_FORMATS:
        raise ValueError(f"Curve file {str(path)!r} must end in .csv (Live Link Face) or .json.")
    return (write_live_link_csv if suffix == ".csv" else write_curves_json)(path, motion)
