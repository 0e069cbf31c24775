"""Atomic writers for speech outputs: never a half-written file (write to a temp file, then rename)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["write_wav", "write_json"]


def _atomic(path: str | os.PathLike, suffix: str):
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"Output path {str(path)!r} is a directory; give a file name.")
    if not path.parent.exists():
        raise ValueError(f"Output folder {str(path.parent)!r} does not exist.")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    return path, Path(tmp)


def write_wav(path: str | os.PathLike, waveform: np.ndarray, sample_rate: int) -> Path:
    """Write mono float audio as 16-bit PCM WAV, atomically.

    Args:
        path: destination (``.wav``).
        waveform (`np.ndarray` of shape `(N,)`): float audio in [-1, 1].
        sample_rate: samples per second.

    Returns:
        The path written.
    """
    import soundfile as sf

    waveform = np.asarray(waveform, dtype=np.float32)
    if waveform.ndim != 1:
        raise ValueError(f"waveform must be 1-D, got shape {waveform.shape}.")
    path, tmp = _atomic(path, ".wav")
    try:
        sf.write(str(tmp), np.clip(waveform, -1.0, 1.0), int(sample_rate), subtype="PCM_16", format="WAV")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_json(path: str | os.PathLike, data: dict) -> Path:
    """Write ``data`` as indented UTF-8 JSON, atomically. Returns the path written."""
    path, tmp = _atomic(path, ".json")
    try:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
