"""What a media file holds, read from its header with the static ffmpeg in ``imageio-ffmpeg`` (nothing decoded).

:func:`probe` is what the audio and video readers ask before decoding, so that a still image passed as a video, a
video without sound passed as audio, or a file too long to process is refused with a clear message instead of an
ffmpeg banner.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UnreadableInputError

__all__ = ["MediaInfo", "ffmpeg_exe", "probe"]

#: ffmpeg input formats that hold a single still image.
_STILL_FORMATS = re.compile(r"^(image2|\w+_pipe)$")
_INPUT = re.compile(r"^Input #0, ([^,]+(?:,[^,]+)*?), from ", re.M)
_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_VIDEO = re.compile(r"Stream #0:\d+[^:]*: Video: (\w+)[^\n]*?, (\d+)x(\d+)(?:[^\n]*?, ([\d.]+)(k?) fps)?")
_AUDIO = re.compile(r"Stream #0:\d+[^:]*: Audio: (\w+)[^\n]*?, (\d+) Hz, ([^,\n]+)")
_LAYOUT_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "4.0": 4, "5.0": 5, "5.1": 6, "6.1": 7, "7.1": 8}


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary (the one inside the ``imageio-ffmpeg`` wheel, else one on ``PATH``)."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # pragma: no cover - imageio-ffmpeg is a hard dependency
        exe = shutil.which("ffmpeg")
        if exe is None:
            raise
        return exe


@dataclass(frozen=True)
class MediaInfo:
    """The streams of a media file, as ffmpeg reads its header.

    Args:
        format: ffmpeg's name(s) of the container, e.g. ``"mov,mp4,m4a,3gp,3g2,mj2"``, ``"wav"``, ``"png_pipe"``.
        duration: seconds, or ``None`` when the container does not say.
        video: ``(codec, width, height, fps)`` per video stream (``fps`` may be ``None``).
        audio: ``(codec, sample_rate, channels)`` per audio stream.
    """

    format: str
    duration: float | None
    video: list[tuple[str, int, int, float | None]] = field(default_factory=list)
    audio: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def is_still_image(self) -> bool:
        """A single picture (PNG, JPEG, …) rather than a video."""
        return bool(_STILL_FORMATS.match(self.format.split(",")[0]))


def _channels(layout: str) -> int:
    layout = layout.strip().split("(")[0].strip()
    if layout in _LAYOUT_CHANNELS:
        return _LAYOUT_CHANNELS[layout]
    match = re.match(r"(\d+) channels", layout)
    return int(match.group(1)) if match else 1


def probe(path: str | os.PathLike, what: str = "File") -> MediaInfo:
    """Read the header of ``path`` with ffmpeg.

    Raises:
        UnreadableInputError: ffmpeg does not recognise the file (the message names it and ffmpeg's reason).
    """
    path = Path(path)
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True, check=False, timeout=60
    )
    text = proc.stderr.decode(errors="replace")
    match = _INPUT.search(text)
    if match is None:
        lines = [line.strip() for line in text.splitlines() if line.strip() and "output file" not in line]
        reason = lines[-1].split(": ", 1)[-1] if lines else "unknown format"
        raise UnreadableInputError(f"{what} {str(path)!r} is not a media file ffmpeg can read ({reason}).", reason)
    if match.group(1).strip() == "tty":  # ffmpeg renders any text file as "ANSI art" video
        raise UnreadableInputError(f"{what} {str(path)!r} is a text file, not a media file.", "a text file")
    duration = None
    d = _DURATION.search(text)
    if d is not None:
        duration = int(d.group(1)) * 3600 + int(d.group(2)) * 60 + float(d.group(3))
    video = []
    for codec, w, h, fps, kilo in _VIDEO.findall(text):
        rate = float(fps) * (1000.0 if kilo else 1.0) if fps else None
        video.append((codec, int(w), int(h), rate))
    audio = [(codec, int(rate), _channels(layout)) for codec, rate, layout in _AUDIO.findall(text)]
    return MediaInfo(match.group(1).strip(), duration, video, audio)
