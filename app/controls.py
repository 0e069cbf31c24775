"""The emotion widgets' values → a control-layer spec (what every tab that takes an emotion shares)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EMOTION_MODES", "EmotionControls"]

#: How a tab takes its emotion.
EMOTION_MODES: tuple[str, ...] = ("Label", "VAD", "Timeline", "From the text", "From the voice")


@dataclass(frozen=True)
class EmotionControls:
    """The values of the emotion widgets; :meth:`spec` turns them into a control-layer spec (or ``None``)."""

    mode: str
    label: str = "happy"
    intensity: float = 1.0
    valence: float = 0.0
    arousal: float = 0.0
    dominance: float = 0.0
    timeline: str = ""

    def spec(self, text: str | None) -> str | None:
        if self.mode == "Label":
            return f"{self.label}:{self.intensity:g}"
        if self.mode == "VAD":
            return f"vad:{self.valence:g},{self.arousal:g},{self.dominance:g}"
        if self.mode == "Timeline":
            return self.timeline
        if self.mode == "From the text":
            if not text or not text.strip():
                raise ValueError("'From the text' needs text to speak.")
            return f"text:{text.strip()}"
        if self.mode == "From the voice":
            return None  # the pipeline diarizes the audio and follows its emotion
        raise ValueError(f"Unknown emotion mode {self.mode!r}; accepted: {', '.join(EMOTION_MODES)}.")
