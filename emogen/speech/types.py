"""Values returned by the speech core: phone segments and synthesis results."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from emogen.emotion import EmotionTrack
from emogen.speech.plan import SpeechPlan

__all__ = ["PhoneSegment", "SpeechResult"]


@dataclass(frozen=True)
class PhoneSegment:
    """One phone and its time span in seconds.

    Args:
        phone: the phone symbol: an espeak-ng mnemonic (``"'oU"``, ``"tS"``, ``"_:"`` for a pause) from espeak-ng,
            or an ARPAbet symbol (``"OW"``, ``"CH"``, ``"SIL"``) from hibari or forced alignment.
        start: onset in seconds.
        end: offset in seconds (``>= start``).
    """

    phone: str
    start: float
    end: float

    def __post_init__(self) -> None:
        if not isinstance(self.phone, str) or not self.phone:
            raise ValueError(f"phone must be a non-empty string, got {self.phone!r}.")
        start, end = float(self.start), float(self.end)
        if not (math.isfinite(start) and math.isfinite(end)) or start < 0 or end < start:
            raise ValueError(f"A phone needs 0 <= start <= end, got start={self.start!r}, end={self.end!r}.")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def is_pause(self) -> bool:
        """True for a pause: espeak-ng's ``_`` mnemonics, ARPAbet ``SIL`` / ``SP`` / ``<sil>``."""
        return self.phone.startswith("_") or self.phone.upper() in ("SIL", "SP", "<SIL>", "<S>", "</S>")

    def shifted(self, offset: float) -> PhoneSegment:
        """The same phone ``offset`` seconds later."""
        return PhoneSegment(self.phone, self.start + offset, self.end + offset)

    def to_dict(self) -> dict:
        return {"phone": self.phone, "start": round(self.start, 4), "end": round(self.end, 4)}


@dataclass(frozen=True)
class SpeechResult:
    """Synthesised speech with its phone timings and the plan it was spoken with.

    Args:
        waveform (`np.ndarray` of shape `(N,)`, float32 in [-1, 1]): mono audio.
        sample_rate: samples per second (espeak-ng: 22050, hibari: 24000).
        phones: phone segments in order, covering the waveform (pauses included as ``"_"`` phones).
        plan: the plan, with ``spans`` filled in.
        offset: where ``waveform[0]`` lies in a longer utterance, in seconds (set by
            :func:`~emogen.speech.synthesize_stream`; phones and spans stay relative to this waveform).
        emotion_track: the emotion actually spoken, per frame (set by :func:`~emogen.speech.speak`).
    """

    waveform: np.ndarray
    sample_rate: int
    phones: tuple[PhoneSegment, ...]
    plan: SpeechPlan
    offset: float = 0.0
    emotion_track: EmotionTrack | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.waveform, np.ndarray) or self.waveform.ndim != 1:
            raise ValueError("waveform must be a 1-D numpy array.")
        object.__setattr__(self, "phones", tuple(self.phones))

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.waveform) / self.sample_rate

    def timings(self) -> dict:
        """JSON-ready dict: sample rate, duration, phones and the plan per segment."""
        return {
            "sample_rate": self.sample_rate,
            "duration": round(self.duration, 4),
            "phones": [p.to_dict() for p in self.phones],
            "plan": self.plan.to_dict(),
        }
