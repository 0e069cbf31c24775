"""TTS engines: the voices emogen speaks with, behind one small interface (no diffusers needed).

An engine has a ``sample_rate``, knows its ``voices()``, validates a voice name (``check_voice``) and speaks
``[(text, SpeechPlanSegment), …]`` into a :class:`~emogen.speech.SpeechResult` with phone timings
(``synthesize``). :func:`~emogen.speech.speak` and both speech-using pipelines drive engines through this interface;
the pipelines register them as components through the thin ``ModelMixin`` wrappers in :mod:`emogen.speech.engine`.

* :class:`EspeakEngine` — espeak-ng (``espeakng-loader`` wheel, GPL-3, loaded at run time) + WORLD prosody: many
  languages and voice variants, phone events from the synthesiser itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from .plan import SpeechPlanSegment
from .text import MAX_CHARS, check_length
from .types import SpeechResult

__all__ = ["EspeakEngine", "TTSEngine", "default_engine"]


class TTSEngine(Protocol):
    """What :func:`~emogen.speech.speak` needs from a voice."""

    name: str
    default_voice: str
    max_chars: int

    @property
    def sample_rate(self) -> int: ...

    def voices(self) -> dict[str, str]: ...

    def check_voice(self, voice: str | None) -> str: ...

    def synthesize(
        self, segments: Sequence[tuple[str, SpeechPlanSegment]], voice: str | None = None, speed: float = 1.0
    ) -> SpeechResult: ...


class EspeakEngine:
    """espeak-ng with WORLD prosody shaping (:func:`emogen.speech.synthesize`).

    Args:
        default_voice: voice used when a call names none (``"en-us"``, ``"en"``, ``"en-us+f3"`` …).
        max_chars: longest text one call accepts (longer texts: :func:`emogen.speech.synthesize_stream`).
    """

    name = "espeak-ng"

    def __init__(self, default_voice: str = "en-us", max_chars: int = MAX_CHARS) -> None:
        if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1:
            raise ValueError(f"max_chars must be a positive integer, got {max_chars!r}.")
        self.default_voice = default_voice
        self.max_chars = max_chars

    @property
    def sample_rate(self) -> int:
        from .espeak import get_engine

        return get_engine().sample_rate

    def voices(self) -> dict[str, str]:
        """Accepted voice names → descriptions."""
        from .espeak import list_voices

        return list_voices()

    def check_voice(self, voice: str | None) -> str:
        """The voice to use (``default_voice`` if ``None``), validated."""
        from .espeak import parse_voice

        voice = self.default_voice if voice is None else voice
        parse_voice(voice)
        return voice

    def synthesize(
        self, segments: Sequence[tuple[str, SpeechPlanSegment]], voice: str | None = None, speed: float = 1.0
    ) -> SpeechResult:
        """Speak the segments with this engine's default voice and length limit."""
        from .synth import synthesize

        if isinstance(segments, list):
            check_length(sum(len(t) for t, _ in segments), self.max_chars)
        return synthesize(segments, voice=self.check_voice(voice), speed=speed)


def default_engine() -> TTSEngine:
    """The engine used when none is given."""
    return EspeakEngine()
