"""Audio input: every entry point reads audio the same way (files of any common format, arrays, tensors).

:func:`load_audio` reads any file ``soundfile`` can read (wav, flac, ogg, mp3, …), falling back to the static ffmpeg
in ``imageio-ffmpeg`` for containers (mp4, m4a, webm, …); by default it mixes to mono and resamples with
``librosa``, and with ``sample_rate=None, mono=False`` it returns the audio as recorded (its own rate and channels,
what outputs keep). Every decoder failure is an :class:`~emogen.io.errors.UnreadableInputError` naming the file, and
the length is checked against :data:`~emogen.io.limits.MAX_DURATION` before anything long is decoded.
"""

from __future__ import annotations

import logging
import math
import os
import subprocess
from pathlib import Path

import numpy as np
import torch

from ..audio import SAMPLE_RATE
from .errors import UnreadableInputError, decoder_reason
from .limits import MAX_DURATION, WorkLimitError
from .media import ffmpeg_exe, probe

logger = logging.getLogger(__name__)

__all__ = ["AUDIO_FORMATS", "AudioInput", "audio_duration", "load_audio"]

#: Anything :func:`load_audio` accepts.
AudioInput = str | os.PathLike | np.ndarray | torch.Tensor

#: Audio files accepted (anything libsndfile or ffmpeg decodes; these are the common ones).
AUDIO_FORMATS = "wav, flac, ogg, mp3 and anything ffmpeg decodes (mp4, m4a, webm, …)"

_CLIP_LEVEL = 0.999  # |x| at or above this counts as a clipped sample
_CLIP_FRACTION = 1e-3  # warn when more than this fraction of samples is clipped
_SILENCE_DBFS = -60.0  # warn when the RMS level is below this


def _read_with_ffmpeg(path: Path, what: str, max_duration: float | None) -> tuple[np.ndarray, int]:
    """Decode the first audio stream of any container ffmpeg understands: float32 ``(samples, channels)``."""
    try:
        info = probe(path)
    except UnreadableInputError as err:
        raise UnreadableInputError(
            f"{what} is not a readable audio file ({err.reason or 'unknown format'}); accepted: {AUDIO_FORMATS}.",
            err.reason,
        ) from None
    if not info.audio:
        kind = "an image" if info.is_still_image else "a video without sound" if info.video else "not an audio file"
        raise UnreadableInputError(f"{what} is {kind} (it has no audio stream); accepted: {AUDIO_FORMATS}.")
    if max_duration is not None and info.duration is not None and info.duration > max_duration:
        raise WorkLimitError(f"{what} lasts {info.duration:.1f} s; the longest accepted is {max_duration:g} s.")
    _, rate, channels = info.audio[0]
    cmd = [ffmpeg_exe(), "-v", "error", "-nostdin", "-i", str(path), "-vn", "-map", "0:a:0"]
    if max_duration is not None:
        cmd += ["-t", f"{max_duration + 1.0:g}"]  # bounded work even when the header gives no duration
    cmd += ["-f", "f32le", "-acodec", "pcm_f32le", "-"]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    if proc.returncode != 0:
        raise UnreadableInputError(
            f"{what} could not be decoded ({decoder_reason(proc.stderr.decode(errors='replace'))}); "
            f"accepted: {AUDIO_FORMATS}."
        )
    x = np.frombuffer(proc.stdout, dtype=np.float32)
    x = x[: len(x) - len(x) % channels].reshape(-1, channels)
    return x.copy(), rate


def audio_duration(path: str | os.PathLike) -> float | None:
    """Seconds of audio in a file, from its header (nothing decoded); ``None`` when the header does not say.

    Raises:
        FileNotFoundError: no such file.
        UnreadableInputError: neither libsndfile nor ffmpeg reads it, or it holds no audio.
    """
    import soundfile as sf

    path = Path(path)
    what = f"Audio file {str(path)!r}"
    if not path.is_file():
        raise FileNotFoundError(f"{what} does not exist.")
    try:
        info = sf.info(str(path))
        return info.frames / info.samplerate if info.samplerate > 0 else None
    except Exception:  # not for libsndfile: ask ffmpeg
        media = probe(path, what)
        if not media.audio:
            raise UnreadableInputError(f"{what} has no audio stream; accepted: {AUDIO_FORMATS}.") from None
        return media.duration


def _read_file(path: Path, what: str, max_duration: float | None) -> tuple[np.ndarray, int]:
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception:  # libsndfile does not know it: try ffmpeg (mp4, m4a, webm, …)
        return _read_with_ffmpeg(path, what, max_duration)
    if max_duration is not None and info.samplerate > 0 and info.frames / info.samplerate > max_duration:
        seconds = info.frames / info.samplerate
        raise WorkLimitError(f"{what} lasts {seconds:.1f} s; the longest accepted is {max_duration:g} s.")
    try:
        return sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as err:
        raise UnreadableInputError(
            f"{what} could not be decoded ({decoder_reason(err)}): the file looks truncated or corrupt; "
            f"accepted: {AUDIO_FORMATS}."
        ) from None


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


def _channels_last(x: np.ndarray, what: str) -> np.ndarray:
    """``(samples,)``, ``(samples, channels)`` or ``(channels, samples)`` → ``(samples, channels)``."""
    if x.ndim == 1:
        return x[:, None]
    if x.ndim != 2:
        raise ValueError(
            f"{what} must have shape (samples,) or (samples, channels) / (channels, samples), got {x.shape}."
        )
    # The channel axis is the short one (soundfile gives (samples, channels); torchaudio gives (channels, samples)).
    channel_axis = 1 if x.shape[1] <= x.shape[0] else 0
    if x.shape[channel_axis] > 32:
        raise ValueError(f"{what} has shape {x.shape}: neither axis looks like channels (at most 32).")
    return x if channel_axis == 1 else x.T


def _check_rate(rate, name: str) -> int:
    if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) or not 1000 <= rate <= 768_000:
        raise ValueError(f"{name} must be an integer number of Hz in [1000, 768000], got {rate!r}.")
    return int(rate)


def load_audio(
    source: AudioInput,
    sample_rate: int | None = SAMPLE_RATE,
    *,
    source_rate: int | None = None,
    mono: bool = True,
    min_duration: float = 0.1,
    max_duration: float | None = MAX_DURATION,
    rate_name: str = "source_rate",
) -> tuple[np.ndarray, int]:
    """Load audio as a float32 waveform at ``sample_rate``.

    Args:
        source: a path to an audio (or video) file, or samples: a numpy array / tensor of shape ``(samples,)``,
            ``(samples, channels)`` or ``(channels, samples)``; integer PCM is scaled to [-1, 1).
        sample_rate: the rate to return (resampled with ``librosa.resample`` when the source differs); ``None``
            keeps the source's own rate.
        source_rate: rate of ``source`` when it is an array (default: already ``sample_rate``, or 16 kHz when that
            is ``None``); ignored for files.
        mono: mix the channels to one (default); ``False`` keeps them.
        min_duration: shortest accepted audio in seconds.
        max_duration: longest accepted audio in seconds (checked before a file is decoded); ``None``: no bound.
        rate_name: what the caller calls ``source_rate``, for error messages.

    Returns:
        ``(waveform, rate)``: float32 `np.ndarray` of shape `(samples,)` (mono, or a single channel) or
        `(samples, channels)`, and its rate.

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: not an audio file or not decodable (:class:`~emogen.io.errors.UnreadableInputError`), no
            samples, shorter than ``min_duration``, longer than ``max_duration``
            (:class:`~emogen.io.limits.WorkLimitError`), NaN/inf samples, bad shape.
        TypeError: an unsupported source type.

    Clipped samples (|x| ≥ 0.999 in more than 0.1 % of the samples) and near-silence (RMS below -60 dBFS) are
    logged as warnings; the audio is returned unchanged.
    """
    if sample_rate is not None:
        _check_rate(sample_rate, "sample_rate")
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        what = f"Audio file {str(path)!r}"
        if not path.exists():
            raise FileNotFoundError(f"{what} does not exist.")
        if path.is_dir():
            raise UnreadableInputError(f"{what} is a directory, not an audio file.")
        if path.stat().st_size == 0:
            raise UnreadableInputError(f"{what} is empty (0 bytes).")
        x, rate = _read_file(path, what, max_duration)
    elif isinstance(source, (np.ndarray, torch.Tensor)):
        what = "Audio array"
        x = source.detach().cpu().numpy() if isinstance(source, torch.Tensor) else np.asarray(source)
        x = _to_float(x, what)
        rate = _check_rate(source_rate if source_rate is not None else sample_rate or SAMPLE_RATE, rate_name)
    else:
        raise TypeError(f"Audio source must be a path, a numpy array or a torch tensor, got {type(source).__name__}.")

    x = _channels_last(np.asarray(x), what)
    if x.size == 0:
        raise ValueError(f"{what} holds no samples.")
    if not np.isfinite(x).all():
        raise ValueError(f"{what} contains NaN or infinite samples.")
    duration = x.shape[0] / rate
    if duration < min_duration:
        raise ValueError(f"{what} is {duration * 1000:.1f} ms long; at least {min_duration * 1000:.0f} ms is needed.")
    if max_duration is not None and duration > max_duration:
        raise WorkLimitError(f"{what} lasts {duration:.1f} s; the longest accepted is {max_duration:g} s.")

    mix = x.mean(axis=1)
    if x.shape[1] > 1 and mono:
        logger.info("%s: mixing %d channels to mono.", what, x.shape[1])
    clipped = float(np.mean(np.abs(mix) >= _CLIP_LEVEL))
    if clipped > _CLIP_FRACTION:
        logger.warning("%s looks clipped: %.2f%% of the samples are at full scale.", what, 100 * clipped)
    rms_db = 10.0 * math.log10(float(np.mean(mix.astype(np.float64) ** 2)) + 1e-20)
    if rms_db < _SILENCE_DBFS:
        logger.warning("%s is (nearly) silent: RMS level %.1f dBFS.", what, rms_db)

    x = mix if mono or x.shape[1] == 1 else x
    target = rate if sample_rate is None else sample_rate
    if rate != target:
        import librosa

        x = librosa.resample(x, orig_sr=int(rate), target_sr=target, res_type="soxr_hq", axis=0)
    return np.ascontiguousarray(x, dtype=np.float32), int(target)
