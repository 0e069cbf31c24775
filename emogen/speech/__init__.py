"""Emotional speech: text + emotion → waveform with phone timings, visemes, forced alignment.

Core entry point (stable signature)::

    from emogen.speech import synthesize, plan_segment

    out = synthesize(
        [("We won the match!", plan_segment("happy")), ("But Sam got hurt.", plan_segment("sad", 0.7))],
        voice="en-us",  # or "en", "en-us+f3" (female), … — see list_voices()
        speed=1.0,
    )
    out.waveform      # np.float32 (N,), mono, in [-1, 1]
    out.sample_rate   # 22050
    out.phones        # tuple[PhoneSegment(phone, start, end)] in seconds (espeak mnemonics, "_" = pause)
    out.plan          # SpeechPlan: texts, per-segment SpeechPlanSegment features, spans (start, end) in seconds

``synthesize(segments, voice=None, speed=None) -> SpeechResult`` takes a list of ``(text, SpeechPlanSegment)``,
a :class:`SpeechPlan`, or a plain string (spoken neutral). Features come from

- ``plan_segment(emotion, intensity=None)``: a label/synonym ("angry"), a ``VAD``, an ``EmotionLabel`` or a
  mixture of them;
- ``plan_from_track(track, start, end)``: the average state of an ``EmotionTrack`` over ``[start, end)`` seconds;
- ``plan_from_state(vad, probs, intensity)``: the rule itself;
- or written by hand: ``SpeechPlanSegment(pitch_shift=3.0, rate=1.2, loudness=4.0, …)``.

Long texts (over ``MAX_CHARS`` = 20 000 characters) are refused by ``synthesize``; ``synthesize_stream`` yields
one sentence at a time in bounded memory. Unsupported characters (emoji, control characters, other scripts) are
removed with a logged warning; text with nothing speakable raises ``ValueError``. ``synthesize`` speaks with
espeak-ng from the ``espeakng-loader`` wheel (GPL-3, loaded at run time), thread-safe behind one lock.

Visemes: ``phones_to_arkit(phones, fps=25.0, duration=None) -> torch.Tensor (T, 52)`` (ARKit jaw/mouth weights
with Cohen & Massaro coarticulation), ``phone_to_viseme(phone)``. Forced alignment of user audio:
``align(audio, transcript, sample_rate=None) -> list[PhoneSegment]`` (pocketsphinx, ARPAbet phones).

Emotion specs, tags "[happy] … [sad:0.7] …" and timelines: ``emogen.controls.speech_pieces(text, emotion)`` turns
them into :class:`SpeechPiece` values and :func:`speak` speaks them (``emogen speak``; the pipeline form is
``emogen.pipelines.EmoSpeechPipeline``) with an engine (:mod:`emogen.speech.engines`): by default
:func:`default_engine`, hibari-tts's neural voice ``"heart"`` (:class:`~emogen.speech.hibari.HibariEngine`, 24 kHz,
ARPAbet phones) with every espeak-ng voice name (``"en-us+f3"`` …) routed to espeak-ng (:class:`EspeakEngine`).
Each engine renders the same plan rules through its measured :class:`~emogen.speech.calibration.ProsodyCalibration`
(``python -m emogen.speech.measure emotions`` prints the effects per engine).
"""

from emogen.speech.calibration import ProsodyCalibration
from emogen.speech.engines import EspeakEngine, TTSEngine, VoiceRouter, default_engine
from emogen.speech.espeak import list_voices
from emogen.speech.plan import SpeechPlan, SpeechPlanSegment, plan_from_state, plan_from_track, plan_segment
from emogen.speech.speak import SpeechPiece, speak
from emogen.speech.synth import concatenate, synthesize, synthesize_stream
from emogen.speech.text import MAX_CHARS, clean_text, split_sentences
from emogen.speech.types import PhoneSegment, SpeechResult

__all__ = [
    "MAX_CHARS",
    "EspeakEngine",
    "ProsodyCalibration",
    "SpeechPiece",
    "TTSEngine",
    "VoiceRouter",
    "default_engine",
    "speak",
    "PhoneSegment",
    "SpeechPlan",
    "SpeechPlanSegment",
    "SpeechResult",
    "clean_text",
    "concatenate",
    "list_voices",
    "plan_from_state",
    "plan_from_track",
    "plan_segment",
    "split_sentences",
    "synthesize",
    "synthesize_stream",
]
