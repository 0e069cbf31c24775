"""Helpers every emogen pipeline shares: input checks with one wording, the bound on total work, emotion batches,
progress settings."""

from __future__ import annotations

import math

from emogen.emotion import Keyframe
from emogen.io.limits import WorkLimitError

from .defaults import DEFAULTS, LIMITS

__all__ = ["check_int", "check_number", "check_work", "fit_long_side", "is_batch_spec", "progress_enabled"]


def check_number(value, name: str, lo: float, hi: float, *, lo_open: bool = False) -> float:
    """``value`` as a float if it is a finite number in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``), else a
    ``ValueError`` naming ``name``, the value and the accepted range."""
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
    if not ok or value > hi or value < lo or (lo_open and value == lo):
        bracket = "(" if lo_open else "["
        raise ValueError(f"{name} must be a number in {bracket}{lo:g}, {hi:g}], got {value!r}.")
    return float(value)


def check_int(value, name: str, lo: int, hi: int | None = None) -> int:
    """``value`` if it is an integer in ``[lo, hi]``, else a ``ValueError`` naming it and the accepted range."""
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
        accepted = f"an integer in [{lo}, {hi}]" if hi is not None else f"an integer >= {lo}"
        raise ValueError(f"{name} must be {accepted}, got {value!r}.")
    return value


def is_batch_spec(emotion) -> bool:
    """A list of emotion specs (one clip each); a list of :class:`Keyframe` is one timeline, tuples are mixtures."""
    return isinstance(emotion, list) and not (emotion and all(isinstance(k, Keyframe) for k in emotion))


def progress_enabled(pipe) -> bool:
    """Whether ``pipe.set_progress_bar_config(disable=True)`` was not called."""
    return not getattr(pipe, "_progress_bar_config", {}).get("disable", False)


def fit_long_side(shape: tuple[int, ...], size: int) -> tuple[int | None, int | None]:
    """``(height, width)`` to pass a pipeline so that the long side of an image of ``shape`` becomes ``size`` pixels
    and its aspect is kept (the other side follows)."""
    h, w = shape[:2]
    return (size, None) if h >= w else (None, size)


def check_work(
    duration: float,
    fps: float,
    *,
    height: int | None = None,
    width: int | None = None,
    clips: int = 1,
    what: str = "The clip",
) -> int:
    """The one bound on a render's total work, however its duration was given (audio, speech, a timeline, a
    ``duration``): seconds, output frames, clips, and pixels (frames x side² x clips, ``side`` the longer of
    ``height`` and ``width``, or the default size when neither is given: an upper bound whatever the photo's aspect).

    Returns:
        The number of output frames, ``max(1, round(duration * fps))``.

    Raises:
        WorkLimitError: naming the value and the limit (see :class:`~emogen.pipelines.defaults.Limits`).
    """
    if not duration <= LIMITS.duration:  # NaN too
        raise WorkLimitError(f"{what} lasts {duration:.6g} s; the longest clip is {LIMITS.duration:g} s.")
    frames = max(1, round(duration * fps))
    if frames > LIMITS.frames:
        raise WorkLimitError(
            f"{what} needs {frames} frames ({duration:.1f} s at {fps:g} fps); the most is {LIMITS.frames}. "
            "Lower the frame rate or shorten the clip."
        )
    if clips > LIMITS.batch:
        raise WorkLimitError(f"{clips} clips in one call; the most is {LIMITS.batch}. Split the batch.")
    side = max(height or 0, width or 0) or DEFAULTS.size
    pixels = frames * side * side * clips
    if pixels > LIMITS.video_pixels:
        raise WorkLimitError(
            f"{what}: {clips} clip(s) of {frames} frames at up to {side}x{side} is {pixels / 1e9:.1f} G pixels; "
            f"the most one call renders is {LIMITS.video_pixels / 1e9:g} G. Lower the "
            "size or the frame rate, or shorten the clip."
        )
    return frames
