"""Bounds on the work one call may ask for, and the error raised past them.

Every reader, the control layer and every entry point check these same numbers, whichever way the work is given: a
clip's duration may come from an audio file, from the speech of a text, from a timeline's last keyframe or from an
explicit ``duration``; each path is checked against :data:`MAX_DURATION` before the work starts.
:class:`emogen.pipelines.defaults.Limits` exposes them to the command line and the app.
"""

from __future__ import annotations

__all__ = [
    "MAX_BATCH",
    "MAX_DURATION",
    "MAX_FRAMES",
    "MAX_IMAGE_PIXELS",
    "MAX_TEXT_BATCH",
    "MAX_TEXT_CHARS",
    "MAX_UPLOAD_BYTES",
    "MAX_VIDEO_PIXELS",
    "WorkLimitError",
    "check_duration_limit",
]

#: Longest clip in seconds (10 minutes), however the duration is given.
MAX_DURATION = 600.0
#: Most output frames of one clip (10 minutes at 30 fps).
MAX_FRAMES = 18_000
#: Most pixels rendered by one call: frames x height x width x clips (600 s at 25 fps at 512 x 512 fits).
MAX_VIDEO_PIXELS = 4_000_000_000
#: Most pixels of an input image (Pillow's own decompression-bomb limit is twice this).
MAX_IMAGE_PIXELS = 89_478_485
#: Longest text in characters, whether it is spoken, read by the text model or an emotion spec (about 25 minutes
#: of speech).
MAX_TEXT_CHARS = 20_000
#: Most clips in one call (emotions x videos per emotion).
MAX_BATCH = 64
#: Most texts per batch of the text model.
MAX_TEXT_BATCH = 1024
#: Largest uploaded file the app accepts, in bytes.
MAX_UPLOAD_BYTES = 200 * 1024 * 1024


class WorkLimitError(ValueError):
    """A request asks for more work than the limits allow (the message names the value and the limit)."""


def check_duration_limit(seconds: float, what: str) -> float:
    """``seconds`` if it is at most :data:`MAX_DURATION`, else a :class:`WorkLimitError` naming ``what``."""
    if not seconds <= MAX_DURATION:  # also catches NaN
        raise WorkLimitError(f"{what} lasts {seconds:.6g} s; the longest clip is {MAX_DURATION:g} s.")
    return seconds
