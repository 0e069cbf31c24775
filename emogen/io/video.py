"""Reading video files (frames and frame rate) with the static ffmpeg in ``imageio-ffmpeg``."""

from __future__ import annotations

import os

import numpy as np

__all__ = ["read_video_frames"]


def read_video_frames(path: str | os.PathLike) -> tuple[np.ndarray, float]:
    """All frames of a video as uint8 ``(T, H, W, 3)`` and its frame rate (imageio-ffmpeg)."""
    import imageio_ffmpeg

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Video {path!r} does not exist.")
    reader = imageio_ffmpeg.read_frames(path, pix_fmt="rgb24")
    meta = next(reader)
    w, h = meta["size"]
    frames = [np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in reader]
    if not frames:
        raise ValueError(f"Video {path!r} has no frames.")
    return np.stack(frames), float(meta["fps"])
