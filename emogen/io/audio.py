"""Audio input: every entry point reads audio the same way (files of any common format, arrays, tensors).

:func:`load_audio` reads any file ``soundfile`` can read (wav, flac, ogg, mp3, …), falling back to the static ffmpeg
in ``imageio-ffmpeg`` for containers (mp4, m4a, webm, …), mixes to mono and resamples with ``librosa``.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import torch

from ..audio import SAMPLE_RATE

logger = logging.getLogger(__name__)

__all__ = ["AudioInput", "load_audio"]

#: Anything :func:`load_audio` accepts.
AudioInput = str | os.PathLike | np.ndarray | torch.Tensor

_CLIP_LEVEL = 0.999  # |x| at or above this counts as a clipped sample
_CLIP_FRACTION = 1e-3  # warn when more than this fraction of samples is clipped
_SILENCE_DBFS = -60.0  # warn when the RMS level is below this


def _read_with_ffmpeg(path: Path, sample_rate: int) -> np.ndarray:
    """Decode any container ffmpeg understands to mono float32 at ``sample_rate``."""
    try:
        import imageio_ffmpeg

        exe = imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # pragma: no cover - imageio-ffmpeg is a hard dependency
        exe = shutil.which("ffmpeg")
        if exe is None:
            raise
    cmd = [exe, "-v", "error", "-nostdin", "-i", str(path), "-vn", "-ac", "1", "-ar", str(sample_rate)]
    cmd += ["-f", "f32le", "-acodec", "pcm_f32le", "-"]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or "ffmpeg failed")
    return np.frombuffer(proc.stdout, dtype=np.float32).copy()


def _to_float(x: np.ndarray, what: str) -> np.ndarray:
    if x.dtype.kind == "i":
        x = x.astype(np.float32) / float(np.iinfo(x.dtype).max + 1)
    elif x.dtype.kind == "u":
        info = np.iinfo(x.dtype)
        mid = (int(info.max) + 1) / 2.0
        x = (x.astype(np.float32) - mid) / mid
    elif x.dtype.kind == "f":
        x = x.astype(np.float32, copy=False)
    elif x.dtype.kind == "b":
        raise TypeError(f"{what} must hold numbers, got a boolean array.")
    else:
        raise TypeError(f"{what} must be a numeric array, got dtype {x.dtype}.")
    return x


def _mix_to_mono(x: np.ndarray, what: str) -> np.ndarray:
    if x.ndim == 1:
        return x
    if x.ndim != 2:
        raise ValueError(
            f"{what} must have shape (samples,) or (samples, channels) / (channels, samples), got {x.shape}."
        )
    # The channel axis is the short one (soundfile gives (samples, channels); torchaudio gives (channels, samples)).
    channel_axis = 1 if x.shape[1] <= x.shape[0] else 0
    if x.shape[channel_axis] > 32:
        raise ValueError(f"{what} has shape {x.shape}: neither axis looks like channels (at most 32).")
    if x.shape[channel_axis] > 1:
        logger.info("Mixing %d channels to mono.", x.shape[channel_axis])
    return x.mean(axis=channel_axis)


def load_audio(
    source: AudioInput,
    sample_rate: int = SAMPLE_RATE,
    *,
    source_rate: int | None = None,
    min_duration: float = 0.1,
) -> tuple[np.ndarray, int]:
    """Load audio as a mono float32 waveform at ``sample_rate``.

    Args:
        source: a path to an audio (or video) file, or samples: a numpy array / tensor of shape ``(samples,)``,
            ``(samples, channels)`` or ``(channels, samples)``; integer PCM is scaled to [-1, 1).
        sample_rate: the rate to return (resampled with ``librosa.resample`` when the source differs).
        source_rate: rate of ``source`` when it is an array (default: already ``sample_rate``); ignored for files.
        min_duration: shortest accepted audio in seconds.

    Returns:
        ``(waveform, sample_rate)``: `np.ndarray` of shape `(samples,)`, float32, and the rate.

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: not an audio file, no samples, shorter than ``min_duration``, NaN/inf samples, bad shape.
        TypeError: an unsupported source type.

    Clipped samples (|x| ≥ 0.999 in more than 0.1 % of the samples) and near-silence (RMS below -60 dBFS) are
    logged as warnings; the audio is returned unchanged.
    """
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate < 1000:
        raise ValueError(f"sample_rate must be an integer number of Hz >= 1000, got {sample_rate!r}.")
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        what = f"Audio file {str(path)!r}"
        if not path.exists():
            raise FileNotFoundError(f"{what} does not exist.")
        if path.is_dir():
            raise ValueError(f"{what} is a directory, not an audio file.")
        if path.stat().st_size == 0:
            raise ValueError(f"{what} is empty (0 bytes).")
        import soundfile as sf

        try:
            x, rate = sf.read(str(path), dtype="float32", always_2d=False)
        except Exception as sf_error:  # libsndfile could not read it: try ffmpeg (mp4, m4a, webm, …)
            try:
                x, rate = _read_with_ffmpeg(path, sample_rate), sample_rate
            except Exception as ff_error:
                raise ValueError(
                    f"{what} is not a readable audio file (soundfile: {sf_error}; ffmpeg: {ff_error}). "
                    "Accepted: wav, flac, ogg, mp3 and anything ffmpeg decodes (mp4, m4a, webm, …)."
                ) from None
    elif isinstance(source, (np.ndarray, torch.Tensor)):
        what = "Audio array"
        x = source.detach().cpu().numpy() if isinstance(source, torch.Tensor) else np.asarray(source)
        x = _to_float(x, what)
        rate = sample_rate if source_rate is None else source_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) or rate < 1000:
            raise ValueError(f"source_rate must be an integer number of Hz >= 1000, got {source_rate!r}.")
    else:
        raise TypeError(f"Audio source must be a path, a numpy array or a torch tensor, got {type(source).__name__}.")

    x = _mix_to_mono(np.asarray(x), what)
    if x.size == 0:
        raise ValueError(f"{what} holds no samples.")
    if not np.isfinite(x).all():
        raise ValueError(f"{what} contains NaN or infinite samples.")
    duration = x.size / rate
    if duration < min_duration:
        raise ValueError(f"{what} is {duration * 1000:.1f} ms long; at least {min_duration * 1000:.0f} ms is needed.")

    clipped = float(np.mean(np.abs(x) >= _CLIP_LEVEL))
    if clipped > _CLIP_FRACTION:
        logger.warning("%s looks clipped: %.2f%% of the samples are at full scale.", what, 100 * clipped)
    rms_db = 10.0 * math.log10(float(np.mean(x.astype(np.float64) ** 2)) + 1e-20)
    if rms_db < _SILENCE_DBFS:
        logger.warning("%s is (nearly) silent: RMS level %.1f dBFS.", what, rms_db)

    if rate != sample_rate:
        import librosa

        x = librosa.resample(x, orig_sr=int(rate), target_sr=sample_rate, res_type="soxr_hq")
    return np.ascontiguousarray(x, dtype=np.float32), sample_rate
