"""Audio files: WAV (and FLAC, Ogg Vorbis, MP3 by suffix), written atomically (never a half-written file).

The format is the file's suffix, checked before anything is written: a name that does not match the bytes (WAV data
in ``x.mp3``) is never produced.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..io.atomic import atomic_output
from ..io.output import check_output_path

__all__ = ["AUDIO_OUTPUT_FORMATS", "write_audio", "write_wav"]

#: Suffix → (libsndfile format, subtype) of the audio files emogen writes.
AUDIO_OUTPUT_FORMATS: dict[str, tuple[str, str]] = {
    ".wav": ("WAV", "PCM_16"),
    ".flac": ("FLAC", "PCM_16"),
    ".ogg": ("OGG", "VORBIS"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
}


def _samples(waveform) -> np.ndarray:
    waveform = np.asarray(waveform, dtype=np.float32)
    if waveform.ndim not in (1, 2) or waveform.size == 0:
        raise ValueError(f"waveform must have shape (samples,) or (samples, channels), got {waveform.shape}.")
    if not np.isfinite(waveform).all():
        raise ValueError("waveform contains NaN or infinite samples.")
    return np.clip(waveform, -1.0, 1.0)


def _rate(sample_rate) -> int:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate < 1000:
        raise ValueError(f"sample_rate must be an integer number of Hz >= 1000, got {sample_rate!r}.")
    return int(sample_rate)


def write_audio(path: str | os.PathLike, waveform: np.ndarray, sample_rate: int) -> Path:
    """Write float audio in the format its suffix names (``.wav``, ``.flac``, ``.ogg``, ``.mp3``), atomically.

    Args:
        path: destination; its suffix chooses the format (see :data:`AUDIO_OUTPUT_FORMATS`).
        waveform (`np.ndarray` of shape `(samples,)` or `(samples, channels)`): float audio in [-1, 1].
        sample_rate: samples per second.

    Returns:
        The path written.

    Raises:
        ValueError: an unknown suffix, an unwritable folder, bad samples or rate (checked before writing).
    """
    import soundfile as sf

    path = Path(path)
    check_output_path(path, tuple(AUDIO_OUTPUT_FORMATS), "path")
    fmt, subtype = AUDIO_OUTPUT_FORMATS[path.suffix.lower()]
    samples, rate = _samples(waveform), _rate(sample_rate)
    with atomic_output(path) as tmp:
        sf.write(str(tmp), samples, rate, subtype=subtype, format=fmt)
    return path


def write_wav(path: str | os.PathLike, waveform: np.ndarray, sample_rate: int) -> Path:
    """Write float audio as 16-bit PCM WAV, atomically.

    Args:
        path: destination; must end in ``.wav`` (use :func:`write_audio` for other formats).
        waveform (`np.ndarray` of shape `(samples,)` or `(samples, channels)`): float audio in [-1, 1].
        sample_rate: samples per second.

    Returns:
        The path written.
    """
    check_output_path(path, (".wav",), "path")
    return write_audio(path, waveform, sample_rate)
