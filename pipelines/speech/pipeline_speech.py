"""``EmoSpeechPipeline``: text + emotion (per sentence or per tagged segment, or over time) → speech.

The emotion can change inside one utterance (tags ``"[happy] We won! [sad:0.7] But Sam got hurt."``, a timeline
``"0s neutral, 2s angry"``, ``"auto"`` to read each sentence's own emotion, or a precomputed ``emotion_track``); see
:func:`emogen.controls.speech_pieces`. Speaking is :func:`emogen.speech.speak` with the registered ``tts`` engine:
``emogen speak`` and the talking-head pipeline speak through the same two functions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
from diffusers import DiffusionPipeline
from diffusers.utils import BaseOutput

from emogen.controls import speech_pieces
from emogen.controls.parse import EmotionSpec
from emogen.emotion import EmotionTrack
from emogen.speech import PhoneSegment, SpeechPlan, speak
from emogen.speech.engine import TTSComponent, default_tts

from ..pipeline_utils import progress_enabled

__all__ = ["EmoSpeechPipeline", "SpeechOutput"]


@dataclass(frozen=True)
class SpeechOutput(BaseOutput):
    """Output of :class:`EmoSpeechPipeline`.

    Args:
        waveform (`np.ndarray` of shape `(N,)`, float32): mono speech in [-1, 1].
        sample_rate: samples per second.
        phones: phone segments in seconds.
        plan: the per-segment vocal features, with each segment's span.
        emotion_track: the emotion actually spoken, per frame (25 fps) over the whole waveform.
    """

    waveform: np.ndarray
    sample_rate: int
    phones: list[PhoneSegment]
    plan: SpeechPlan
    emotion_track: EmotionTrack


class EmoSpeechPipeline(DiffusionPipeline):
    """Emotional text-to-speech with phone timings and an explicit :class:`~emogen.speech.SpeechPlan`.

    The TTS engine is registered as a config-only component (its model comes from its own package), so
    ``save_pretrained`` / ``from_pretrained`` keep its settings.

    Args:
        tts: the engine component (default :func:`~emogen.speech.engine.default_tts`: hibari's neural voice
            ``"heart"``, with every espeak-ng voice name routed to espeak-ng).

    Example:
        >>> pipe = EmoSpeechPipeline()
        >>> out = pipe("[happy] We won the match! [sad:0.7] But Sam got hurt.", voice="en-us+f3")
        >>> out.waveform.shape, out.sample_rate, out.plan.to_dict()["segments"][1]["label"]
    """

    model_cpu_offload_seq = ""
    _optional_components = ["tts"]

    def __init__(self, tts: TTSComponent | None = None) -> None:
        super().__init__()
        self.register_modules(tts=tts if tts is not None else default_tts())

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike | None = None, **kwargs):
        """Load a saved pipeline folder (diffusers format); with no path, the default voice, offline (the same as
        ``EmoSpeechPipeline()``)."""
        if pretrained_model_name_or_path is None:
            return cls(**kwargs)
        return super().from_pretrained(os.fspath(pretrained_model_name_or_path), **kwargs)

    @torch.no_grad()
    def __call__(
        self,
        text: str,
        emotion: EmotionSpec | None = None,
        emotion_track: EmotionTrack | None = None,
        voice: str | None = None,
        speed: float = 1.0,
        return_dict: bool = True,
    ) -> SpeechOutput | tuple:
        """Speak ``text`` with the given emotion(s).

        Args:
            text: what to say; may hold emotion tags ``[happy]``, ``[sad:0.7]`` ….
            emotion: emotion of the untagged text: a label, ``label:intensity``, mixture, ``vad:…``, free text,
                a timeline string, a typed value, or ``"auto"`` (read from each sentence). Default neutral.
            emotion_track: precomputed twin of ``emotion`` (time in seconds of the output).
            voice: the engine's voice, e.g. ``"heart"`` (neural), ``"en-us"``, ``"en-us+f3"`` (espeak-ng); ``None``:
                the engine's default.
            speed: global rate factor in [0.25, 4].
            return_dict: return a :class:`SpeechOutput` (else a tuple in its field order).

        Raises:
            ValueError: empty or unspeakable text, text longer than the engine's ``max_chars`` (use
                :func:`emogen.speech.synthesize_stream` for books), unknown voice or emotion, both ``emotion``
                and ``emotion_track``, a speed out of range.
        """
        # 1. Sentences and their emotions (tags, spec, timeline or "auto")
        pieces, track = speech_pieces(text, emotion, emotion_track)
        # 2. Speak each sentence with its prosody
        speech = speak(pieces, self.tts, track=track, voice=voice, speed=speed, progress=progress_enabled(self))
        # 3. Return
        output = SpeechOutput(
            waveform=speech.waveform,
            sample_rate=speech.sample_rate,
            phones=list(speech.phones),
            plan=speech.plan,
            emotion_track=speech.emotion_track,
        )
        if not return_dict:
            return (output.waveform, output.sample_rate, output.phones, output.plan, output.emotion_track)
        return output
