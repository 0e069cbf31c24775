"""Where emogen's shipped weights live (the ``weights/`` folder, installed as the package ``emogen.weights``)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["shipped_weights_dir"]


def shipped_weights_dir(name: str) -> Path:
    """Folder of the shipped weights ``name`` (e.g. ``"text_emotion"``, ``"diarizer"``, ``"face_rig"``).

    Works for editable installs and wheels alike; does not check that the folder exists (callers say what they
    need from it).
    """
    return Path(str(files("emogen.weights") / name))
