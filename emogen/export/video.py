"""Video writing: mp4 (H.264, yuv420p) with an optional audio track, written atomically.

Uses the static ffmpeg shipped in the ``imageio-ffmpeg`` wheel.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

logger = logging.getLogger(__name__)

__all__ = ["write_video"]


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

    Odd frame sizes are padded by one pixel (edge colour) because yuv420p needs even sizes.

    Args:
        path: output file (``.mp4``).
        frames: uint8 ``(T, H, W, 3)`` array or tensor (floats in [0, 1] accepted), or a list of frames.
        fps: frames per second.
        audio (`(samples,)` or `(samples, channels)`, *optional*): waveform in [-1, 1].
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
    t, h, w, _ = frames.shape
    ph, pw = h % 2, w % 2
    if ph or pw:
        frames = np.pad(frames, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="edge")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = tempfile.mkdtemp(prefix=".emogen-video-", dir=path.parent)
    tmp_video = Path(tmp_dir) / ("video" + path.suffix)
    tmp_audio = None
    try:
        kwargs = {}
        if audio is not None:
            import soundfile as sf

            if sample_rate is None or int(sample_rate) <= 0:
                raise ValueError("sample_rate (Hz) is required when audio is given.")
            wav = audio.detach().cpu().numpy() if isinstance(audio, torch.Tensor) else np.asarray(audio)
            if wav.ndim not in (1, 2) or wav.size == 0:
                raise ValueError(f"audio must have shape (samples,) or (samples, channels), got {wav.shape}.")
            wav = np.clip(wav.astype(np.float32), -1.0, 1.0)
            tmp_audio = Path(tmp_dir) / "audio.wav"
            sf.write(tmp_audio, wav, int(sample_rate))
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
            + (["-shortest"] if audio is not None else []),
            ffmpeg_log_level="error",
            **kwargs,
        )
        writer.send(None)
        for frame in frames:
            writer.send(np.ascontiguousarray(frame))
        writer.close()
        os.replace(tmp_video, path)
    finally:
        for p in (tmp_video, tmp_audio):
            if p is not None and p.exists():
                p.unlink()
        os.rmdir(tmp_dir)
    logger.info("wrote %s (%d frames, %.1f fps%s)", path, t, fps, ", with audio" if audio is not None else "")
    return path
