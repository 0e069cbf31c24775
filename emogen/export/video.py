"""Video writing: mp4 (H.264, yuv420p) with an optional audio track, written atomically.

Uses the static ffmpeg shipped in the ``imageio-ffmpeg`` wheel.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import torch

from ..io.output import check_output_path, temporary_folder

logger = logging.getLogger(__name__)

__all__ = ["write_video"]

#: Sample rates the AAC encoder takes; audio at another rate is resampled to the next one up (logged).
AAC_RATES = (7350, 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000)


def _frames_array(frames) -> np.ndarray:
    if isinstance(frames, torch.Tensor):
        frames = frames.detach().cpu().numpy()
    if isinstance(frames, (list, tuple)):
        frames = np.stack([np.asarray(f) for f in frames]) if len(frames) else np.zeros((0,))
    if not isinstance(frames, np.ndarray):
        raise TypeError(
            f"frames must be a uint8 array/tensor (T, H, W, 3) or a list of frames, got {type(frames).__name__}."
        )
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] < 1:
        raise ValueError(f"frames must have shape (frames >= 1, H, W, 3), got {frames.shape}.")
    if frames.dtype != np.uint8:
        if np.issubdtype(frames.dtype, np.floating) and frames.min() >= 0 and frames.max() <= 1:
            frames = np.clip(np.rint(frames * 255), 0, 255).astype(np.uint8)
        else:
            raise ValueError(f"frames must be uint8 (or float in [0, 1]), got {frames.dtype}.")
    return frames


def write_video(
    path: str | os.PathLike,
    frames,
    fps: float,
    audio: np.ndarray | torch.Tensor | None = None,
    sample_rate: int | None = None,
    quality: int = 18,
) -> Path:
    """Write frames (and audio) to an mp4 (H.264, yuv420p, AAC audio), atomically (temp file + rename).

    Odd frame sizes are padded by one pixel (edge colour) because yuv420p needs even sizes. The audio keeps its
    sample rate and channels. The path is checked (:func:`~emogen.io.output.check_output_path`) before anything is
    encoded; the temporary folder beside it is removed on any exit (and by the next write after a hard kill).

    Args:
        path: output file (``.mp4``).
        frames: uint8 ``(T, H, W, 3)`` array or tensor (floats in [0, 1] accepted), or a list of frames.
        fps: frames per second.
        audio (`(samples,)` or `(samples, channels)`, *optional*): waveform in [-1, 1] (clipped to it).
        sample_rate: audio sample rate in Hz (required with ``audio``).
        quality: x264 CRF (lower is better; 18 is visually lossless).

    Returns:
        The written path.
    """
    import imageio_ffmpeg

    path = Path(path)
    if path.suffix.lower() != ".mp4":
        raise ValueError(f"Only .mp4 output is supported, got {str(path)!r}.")
    if not (isinstance(fps, (int, float)) and np.isfinite(fps) and 0 < fps <= 240):
        raise ValueError(f"fps must be a number in (0, 240], got {fps!r}.")
    frames = _frames_array(frames)
    wav = None
    if audio is not None:
        if sample_rate is None or isinstance(sample_rate, bool) or int(sample_rate) <= 0:
            raise ValueError(f"sample_rate (Hz) is required when audio is given, got {sample_rate!r}.")
        wav = audio.detach().cpu().numpy() if isinstance(audio, torch.Tensor) else np.asarray(audio)
        if wav.ndim not in (1, 2) or wav.size == 0:
            raise ValueError(f"audio must have shape (samples,) or (samples, channels), got {wav.shape}.")
        if not np.isfinite(wav).all():
            raise ValueError("audio contains NaN or infinite samples.")
        sample_rate = int(sample_rate)
        if sample_rate not in AAC_RATES:
            target = next((r for r in AAC_RATES if r >= sample_rate), AAC_RATES[-1])
            logger.warning("AAC cannot store %d Hz audio: resampling it to %d Hz for %s.", sample_rate, target, path)
            import librosa

            wav = librosa.resample(wav.astype(np.float32), orig_sr=sample_rate, target_sr=target, axis=0)
            sample_rate = target
    check_output_path(path, (".mp4",), "path")
    t, h, w, _ = frames.shape
    ph, pw = h % 2, w % 2
    if ph or pw:
        frames = np.pad(frames, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="edge")
    with temporary_folder(path) as tmp_dir:
        tmp_video = tmp_dir / ("video" + path.suffix)
        kwargs = {}
        if wav is not None:
            import soundfile as sf

            tmp_audio = tmp_dir / "audio.wav"
            sf.write(tmp_audio, np.clip(wav.astype(np.float32), -1.0, 1.0), int(sample_rate), subtype="FLOAT")
            kwargs = {"audio_path": str(tmp_audio), "audio_codec": "aac"}
        writer = imageio_ffmpeg.write_frames(
            str(tmp_video),
            (frames.shape[2], frames.shape[1]),
            fps=float(fps),
            codec="libx264",
            pix_fmt_in="rgb24",
            pix_fmt_out="yuv420p",
            quality=None,
            macro_block_size=1,
            output_params=["-crf", str(int(quality)), "-preset", "veryfast", "-movflags", "+faststart"]
            + (["-shortest"] if wav is not None else []),
            ffmpeg_log_level="error",
            **kwargs,
        )
        try:
            writer.send(None)
            for frame in frames:
                writer.send(np.ascontiguousarray(frame))
        finally:
            writer.close()  # on error too: stops ffmpeg before its folder is removed
        os.replace(tmp_video, path)
    logger.info("wrote %s (%d frames, %.1f fps%s)", path, t, fps, ", with audio" if audio is not None else "")
    return path
