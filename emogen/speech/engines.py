"""TTS engines: the voices emogen speaks with, behind one small interface (no diffusers needed).

An engine has a ``sample_rate``, knows its ``voices()``, validates a voice name (``check_voice``) and speaks
``[(text, SpeechPlanSegment), …]`` into a :class:`~emogen.speech.SpeechResult` with phone timings
(``synthesize``). :func:`~emogen.speech.speak` and both speech-using pipelines drive engines through this interface;
the pipelines register them as components through the thin ``ModelMixin`` wrappers in :mod:`emogen.speech.engine`.

* :class:`~emogen.speech.hibari.HibariEngine` — hibari-tts's bundled neural voice ``"heart"`` (American English,
  female; Apache-2.0, 7.9 MB ONNX, offline), prosody rendered inside the model and its vocoder, ARPAbet phones from
  the model's durations. The default.
* :class:`EspeakEngine` — espeak-ng (``espeakng-loader`` wheel, GPL-3, loaded at run time) + WORLD prosody: many
  languages and voice variants, phone events from the synthesiser itself. The multi-voice, multilingual fallback.
* :class:`VoiceRouter` — several engines behind one voice namespace: the voice name picks the engine.
  :func:`default_engine` is a router over hibari (default voice ``"heart"``) and espeak-ng (every espeak voice
  name, e.g. ``"en-us+f3"``), or espeak-ng alone where hibari-tts is not installed.

Each engine carries a :class:`~emogen.speech.calibration.ProsodyCalibration` (``calibration``): the plan rules are
one set for all engines, the calibration maps them to what each engine must render (identity for espeak-ng, on
which the rules were set).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from .calibration import ProsodyCalibration
from .plan import SpeechPlanSegment
from .text import MAX_CHARS, check_length
from .types import SpeechResult

__all__ = ["EspeakEngine", "TTSEngine", "VoiceRouter", "default_engine"]


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
    #: The reference engine of the plan rules: rendered as planned.
    calibration = ProsodyCalibration.identity("espeak-ng")

    def __init__(self, default_voice: str = "en-us", max_chars: int = MAX_CHARS) -> None:
        if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1:
            raise ValueError(f"max_chars must be a positive integer, got {max_chars!r}.")
        self.default_voice = default_voice
        self.max_chars = max_chars

    def __repr__(self) -> str:
        return f"EspeakEngine(default_voice={self.default_voice!r})"

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


class VoiceRouter:
    """Several engines behind one voice namespace: each call goes to the engine that accepts its voice.

    The engines are asked in order (``check_voice``); the first that accepts a name speaks it. ``voices()`` lists
    every engine's voices, the default engine's first.

    Args:
        engines: the engines, most preferred first (at least one).
        default_voice: voice used when a call names none (default: the first engine's default voice).

    Example:
        >>> router = VoiceRouter([HibariEngine(), EspeakEngine()])
        >>> router.engine_for(None).name, router.engine_for("en-us+f3").name
        ('hibari', 'espeak-ng')
    """

    def __init__(self, engines: Sequence[TTSEngine], default_voice: str | None = None) -> None:
        engines = list(engines)
        if not engines:
            raise ValueError("VoiceRouter needs at least one engine.")
        self.engines = engines
        self.default_voice = engines[0].default_voice if default_voice is None else default_voice
        self.max_chars = min(e.max_chars for e in engines)

    def __repr__(self) -> str:
        return f"VoiceRouter({self.engines!r}, default_voice={self.default_voice!r})"

    @property
    def name(self) -> str:
        """The default voice's engine name (``"hibari"``, ``"espeak-ng"``)."""
        return self.engine_for(None).name

    @property
    def sample_rate(self) -> int:
        """The default voice's sample rate (each result carries its own)."""
        return self.engine_for(None).sample_rate

    @property
    def calibration(self) -> ProsodyCalibration:
        return self.engine_for(None).calibration

    def voices(self) -> dict[str, str]:
        """Every engine's voices, name → description (the default voice's engine first)."""
        first = self.engine_for(None)
        out: dict[str, str] = {}
        for engine in [first, *(e for e in self.engines if e is not first)]:
            for name, desc in engine.voices().items():
                out.setdefault(name, desc)
        return out

    def engine_for(self, voice: str | None) -> TTSEngine:
        """The engine that speaks ``voice`` (``None``: the default voice).

        Raises:
            ValueError: no engine accepts the voice; the message carries each engine's reason.
        """
        return self._route(voice)[0]

    def check_voice(self, voice: str | None) -> str:
        """The voice to use (``default_voice`` if ``None``), validated by the engine that speaks it."""
        return self._route(voice)[1]

    def _route(self, voice: str | None) -> tuple[TTSEngine, str]:
        voice = self.default_voice if voice is None else voice
        reasons = []
        for engine in self.engines:
            try:
                return engine, engine.check_voice(voice)
            except ValueError as e:
                reasons.append(f"{engine.name}: {e}")
        raise ValueError(f"Unknown voice {voice!r}. " + " ".join(reasons))

    def synthesize(
        self, segments: Sequence[tuple[str, SpeechPlanSegment]], voice: str | None = None, speed: float = 1.0
    ) -> SpeechResult:
        """Speak with the engine that owns ``voice`` (see :meth:`engine_for`)."""
        engine, voice = self._route(voice)
        return engine.synthesize(segments, voice=voice, speed=speed)


def default_engine() -> TTSEngine:
    """The engine used when none is given.

    hibari's neural voice ``"heart"`` by default, with every espeak-ng voice (``"en-us"``, ``"en-us+f3"``, other
    languages) routed to espeak-ng; espeak-ng alone if hibari-tts (or onnx / onnxruntime) is not installed. Cheap:
    no model is loaded until something is spoken.
    """
    from .hibari.model import hibari_installed

    if not hibari_installed():
        return EspeakEngine()
    from .hibari import HibariEngine

    return VoiceRouter([HibariEngine(), EspeakEngine()])
