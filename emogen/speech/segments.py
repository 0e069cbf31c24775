"""What every engine does with its input before speaking: check the segments, clean their text, check the speed."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from .plan import SpeechPlan, SpeechPlanSegment
from .text import clean_text, has_speakable

__all__ = ["Segments", "check_speed", "prepare_segments", "soft_limit"]

logger = logging.getLogger(__name__)

Segments = Sequence[tuple[str, SpeechPlanSegment]] | SpeechPlan | str


def check_speed(speed: object) -> float:
    """``speed`` as a float, or ``ValueError`` naming it unless it is a number in [0.25, 4]."""
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not 0.25 <= speed <= 4.0:
        raise ValueError(f"speed must be a number in [0.25, 4], got {speed!r}.")
    return float(speed)


def prepare_segments(
    segments: Segments, voice: str | None, speed: float | None
) -> tuple[list[tuple[str, SpeechPlanSegment]], str | None, float]:
    """Validate ``segments`` and clean their text (engine-independent part of every ``synthesize``).

    Args:
        segments: ``[(text, SpeechPlanSegment), …]``, a :class:`SpeechPlan` (its voice and speed are used when
            ``voice`` / ``speed`` are ``None``) or a plain string (spoken neutral).
        voice: the requested voice (returned as is, or the plan's own).
        speed: global rate factor in [0.25, 4] (default 1).

    Returns:
        ``(items, voice, speed)``: the segments with something to say (cleaned text; segments with nothing
        speakable are skipped with a warning), the voice (``None`` if neither given nor in a plan) and the speed.

    Raises:
        TypeError: segments of the wrong type.
        ValueError: nothing speakable at all, or a speed out of range.
    """
    if isinstance(segments, SpeechPlan):
        voice = segments.voice if voice is None else voice
        speed = segments.speed if speed is None else speed
        items = segments.items()
    elif isinstance(segments, str):
        items = [(segments, SpeechPlanSegment())]
    elif isinstance(segments, Sequence):
        items = list(segments)
        for i, item in enumerate(items):
            if not (
                isinstance(item, tuple)
                and len(item) == 2
                and isinstance(item[0], str)
                and isinstance(item[1], SpeechPlanSegment)
            ):
                raise TypeError(
                    f"segments[{i}] must be a (text, SpeechPlanSegment) tuple, got {item!r:.80}. "
                    "Build features with emogen.speech.plan_segment('happy')."
                )
    else:
        raise TypeError(
            "segments must be a string, a SpeechPlan or a list of (text, SpeechPlanSegment), "
            f"got {type(segments).__name__}."
        )
    speed = check_speed(1.0 if speed is None else speed)
    cleaned = []
    for text, seg in items:
        text = clean_text(text)
        if has_speakable(text):
            cleaned.append((text, seg))
        elif text:
            logger.warning("Skipping a segment with nothing speakable: %r", text[:80])
    if not cleaned:
        raise ValueError(
            "Nothing to speak: the text is empty or has no letters or digits after removing unsupported characters "
            "(emoji, control characters, non-Latin scripts)."
        )
    return cleaned, voice, speed


def soft_limit(x: np.ndarray, knee: float = 0.9) -> np.ndarray:
    """Soft limiter: identity below ``knee``, tanh knee above (keeps |x| < 1)."""
    a = np.abs(x)
    if a.max(initial=0.0) <= knee:
        return x
    over = knee + (1.0 - knee) * np.tanh((a - knee) / (1.0 - knee))
    return np.where(a > knee, np.sign(x) * over, x).astype(np.float32)
