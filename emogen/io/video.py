"""Reading video files (frames and frame rate) with the static ffmpeg in ``imageio-ffmpeg``.

The file's header is read first (:func:`emogen.io.media.probe`): a still image, an audio file, a text file or a
truncated video is an :class:`~emogen.io.errors.UnreadableInputError` naming the file, never an ffmpeg banner.
"""

from __future__ import annotations

import os

import numpy as np

from .errors import UnreadableInputError, decoder_reason
from .limits import MAX_DURATION, MAX_FRAMES, MAX_VIDEO_PIXELS, WorkLimitError
from .media import probe

__all__ = ["read_video_frames"]

_ACCEPTED = "accepted: videos ffmpeg decodes (mp4, mov, webm, mkv, avi, gif)"


def read_video_frames(path: str | os.PathLike, *, name: str = "Video") -> tuple[np.ndarray, float]:
    """All frames of a video as uint8 ``(T, H, W, 3)`` and its frame rate (imageio-ffmpeg).

    Raises:
        FileNotFoundError: no such file.
        UnreadableInputError: a folder, an empty file, a still image, a file without a video stream, or one ffmpeg
            cannot decode.
        WorkLimitError: longer than :data:`~emogen.io.limits.MAX_DURATION` or more frames or pixels than the limits.
    """
    import imageio_ffmpeg

    path = os.fspath(path)
    what = f"{name} {path!r}"
    if not os.path.exists(path):
        raise FileNotFoundError(f"{what} does not exist.")
    if os.path.isdir(path):
        raise UnreadableInputError(f"{what} is a folder; give a video file ({_ACCEPTED}).")
    if os.path.getsize(path) == 0:
        raise UnreadableInputError(f"{what} is empty (0 bytes); {_ACCEPTED}.")
    info = probe(path, name)
    if not info.video:
        kind = "an audio file" if info.audio else "not a video"
        raise UnreadableInputError(f"{what} is {kind} (it has no video stream); {_ACCEPTED}.")
    if info.is_still_image:
        raise UnreadableInputError(f"{what} is a still image, not a video; {_ACCEPTED}.")
    _, width, height, fps = info.video[0]
    if info.duration is not None:
        if info.duration > MAX_DURATION:
            raise WorkLimitError(f"{what} lasts {info.duration:.1f} s; the longest accepted is {MAX_DURATION:g} s.")
        expected = info.duration * (fps or 25.0)
        if expected > MAX_FRAMES or expected * width * height > MAX_VIDEO_PIXELS:
            raise WorkLimitError(
                f"{what} has about {expected:.0f} frames of {width}x{height}; the limits are {MAX_FRAMES} frames and "
                f"{MAX_VIDEO_PIXELS / 1e9:g} G pixels."
            )
    try:
        reader = imageio_ffmpeg.read_frames(path, pix_fmt="rgb24")
        meta = next(reader)
        w, h = meta["size"]
        frames = []
        for f in reader:
            frames.append(np.frombuffer(f, np.uint8).reshape(h, w, 3))
            if len(frames) > MAX_FRAMES:
                raise WorkLimitError(f"{what} has more than {MAX_FRAMES} frames, the most accepted.")
    except WorkLimitError:
        raise
    except Exception as err:
        raise UnreadableInputError(f"{what} could not be decoded ({decoder_reason(err)}); {_ACCEPTED}.") from None
    if not frames:
        raise UnreadableInputError(f"{what} has no frames (truncated?); {_ACCEPTED}.")
    return np.stack(frames), float(meta["fps"])
