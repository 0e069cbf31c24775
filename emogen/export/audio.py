"""Audio files: WAV, written atomically (never a half-written file)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..io.atomic import atomic_output

__all__ = ["write_wav"]


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
    with atomic_output(path, suffix=".wav") as tmp:
        sf.write(str(tmp), np.clip(waveform, -1.0, 1.0), int(sample_rate), subtype="PCM_16", format="WAV")
    return Path(path)
