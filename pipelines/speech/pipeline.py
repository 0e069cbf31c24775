"""``EmoSpeechPipeline``: text + emotion (per sentence or per tagged segment, or over time) → speech.

The emotion can change inside one utterance, three ways (combinable):

- tags in the text: ``"[happy] We won the match! [sad:0.7] But Sam got hurt."`` (:mod:`emogen.controls.segments`);
- ``emotion``: any spec :func:`~emogen.controls.resolve_emotion` accepts, including a timeline
  ``"0s neutral, 2s angry"`` (each sentence takes the emotion at its time), or ``"auto"`` (each sentence's emotion
  is read from its own words by the control layer's text model);
- ``emotion_track``: a precomputed :class:`~emogen.emotion.EmotionTrack` (the twin of ``emotion``).

Tagged segments use their tag; the rest use ``emotion`` / ``emotion_track``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from diffusers import DiffusionPipeline
from diffusers.utils import BaseOutput

from emogen.controls import resolve_emotion
from emogen.controls.segments import parse_tagged_text
from emogen.emotion import LABELS, EmotionTrack
from emogen.speech import PhoneSegment, SpeechPlan, concatenate, plan_from_state, split_sentences
from emogen.speech.engine import EspeakTTS
from emogen.speech.text import check_length, clean_text, has_speakable

__all__ = ["EmoSpeechPipeline", "SpeechOutput"]

# Rough speaking time per character at rate 1 (espeak-ng en-us at 175 wpm), used to place a sentence on a
# time-varying emotion track before it is spoken.
_SECONDS_PER_CHAR = 0.065


@dataclass(frozen=True)
class SpeechOutput(BaseOutput):
    """Output of :class:`EmoSpeechPipeline`.

    Args:
        waveform (`np.ndarray` of shape `(N,)`, float32): mono speech in [-1, 1].
        sample_rate: samples per second.
        phones: phone segments (espeak-ng mnemonics) in seconds.
        plan: the per-segment vocal features, with each segment's span.
        emotion_track: the emotion actually spoken, per frame (25 fps) over the whole waveform.
    """

    waveform: np.ndarray
    sample_rate: int
    phones: list[PhoneSegment]
    plan: SpeechPlan
    emotion_track: EmotionTrack


@dataclass(frozen=True)
class _Piece:
    text: str
    spec: object  # emotion spec of a tag, or None
    track: bool  # steered by the time-varying track


class EmoSpeechPipeline(DiffusionPipeline):
    """Emotional text-to-speech with phone timings and an explicit :class:`~emogen.speech.SpeechPlan`.

    There are no neural components: the TTS engine (:class:`~emogen.speech.engine.EspeakTTS`) is registered as a
    config-only component, so ``save_pretrained`` / ``from_pretrained`` keep its settings.

    Args:
        tts: the engine (default: espeak-ng, voice ``"en-us"``).

    Example:
        >>> pipe = EmoSpeechPipeline()
        >>> out = pipe("[happy] We won the match! [sad:0.7] But Sam got hurt.", voice="en-us+f3")
        >>> out.waveform.shape, out.sample_rate, out.plan.to_dict()["segments"][1]["label"]
    """

    model_cpu_offload_seq = ""
    _optional_components = ["tts"]

    def __init__(self, tts: EspeakTTS | None = None) -> None:
        super().__init__()
        self.register_modules(tts=tts if tts is not None else EspeakTTS())

    # ------------------------------------------------------------------------------------------------ helpers
    @staticmethod
    def _state(track: EmotionTrack, start: float, end: float) -> tuple[torch.Tensor, torch.Tensor, float]:
        i0 = min(track.num_frames - 1, max(0, int(math.floor(start * track.fps))))
        i1 = min(track.num_frames, max(i0 + 1, int(math.ceil(end * track.fps))))
        return (
            track.vad[i0:i1].float().mean(0).cpu(),
            track.probs[i0:i1].float().mean(0).cpu(),
            float(track.intensity[i0:i1].float().mean().clamp(0, 1)),
        )

    def check_inputs(self, text, emotion, emotion_track, speed) -> None:
        if not isinstance(text, str):
            raise TypeError(f"text must be a string, got {type(text).__name__}.")
        if not text.strip():
            raise ValueError("text is empty; give the words to speak, e.g. pipe('Hello there!', emotion='happy').")
        if emotion is not None and emotion_track is not None:
            raise ValueError("Pass either `emotion` or `emotion_track` (its precomputed twin), not both.")
        if emotion_track is not None and not isinstance(emotion_track, EmotionTrack):
            raise TypeError(f"emotion_track must be an EmotionTrack, got {type(emotion_track).__name__}.")
        if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not 0.25 <= speed <= 4.0:
            raise ValueError(f"speed must be a number in [0.25, 4], got {speed!r}.")

    @torch.no_grad()
    def __call__(
        self,
        text: str,
        emotion=None,
        emotion_track: EmotionTrack | None = None,
        voice: str | None = None,
        speed: float = 1.0,
        return_dict: bool = True,
    ) -> SpeechOutput | tuple:
        """Speak ``text`` with the given emotion(s).

        Args:
            text: what to say; may hold emotion tags ``[happy]``, ``[sad:0.7]`` … (see module doc).
            emotion: emotion of the untagged text: a label, ``label:intensity``, mixture, ``vad:…``, free text,
                a timeline string, a typed value, or ``"auto"`` (read from each sentence). Default neutral.
            emotion_track: precomputed twin of ``emotion`` (time in seconds of the output).
            voice: espeak-ng voice, ``"en-us"``, ``"en"``, ``"en-us+f3"`` … (``None``: the engine's default).
            speed: global rate factor in [0.25, 4].
            return_dict: return a :class:`SpeechOutput` (else a tuple in its field order).

        Returns:
            :class:`SpeechOutput`.

        Raises:
            ValueError: empty or unspeakable text, text longer than the engine's ``max_chars`` (use
                :func:`emogen.speech.synthesize_stream` for books), unknown voice or emotion, both ``emotion``
                and ``emotion_track``.
        """
        # 1. Check inputs
        self.check_inputs(text, emotion, emotion_track, speed)
        voice = self.tts.check_voice(voice)
        check_length(len(text), self.tts.config.max_chars)

        # 2. Split into tagged segments, then sentences (each sentence gets its own plan)
        auto = isinstance(emotion, str) and emotion.strip().lower() == "auto"
        track: EmotionTrack | None = emotion_track
        default_state = None
        if emotion is not None and not auto:
            resolved = resolve_emotion(emotion, fps=25.0)
            if resolved.num_frames > 1:
                track = resolved  # a timeline: time-varying
            else:
                default_state = self._state(resolved, 0.0, 0.0)
        pieces: list[_Piece] = []
        for seg in parse_tagged_text(text):
            for sentence in split_sentences(seg.text):
                sentence = clean_text(sentence)
                if has_speakable(sentence):
                    pieces.append(_Piece(sentence, seg.emotion, seg.emotion is None and track is not None))
        if not pieces:
            raise ValueError(
                "Nothing to speak: after removing tags and unsupported characters (emoji, control characters, "
                f"non-Latin scripts) no words remain in {text[:80]!r}."
            )

        # 3. Plan and speak each sentence in order (a track is sampled at the sentence's time)
        neutral = (torch.zeros(3), torch.nn.functional.one_hot(torch.tensor(0), len(LABELS)).float(), 0.0)
        tag_states: dict[str, tuple] = {}
        results, states = [], []
        t = 0.0
        for piece in self.progress_bar(pieces):
            if piece.spec is not None:
                if piece.spec not in tag_states:
                    tag_states[piece.spec] = self._state(resolve_emotion(piece.spec, fps=25.0), 0.0, 0.0)
                state = tag_states[piece.spec]
            elif piece.track:
                estimate = len(piece.text) * _SECONDS_PER_CHAR / speed
                state = self._state(track, t, t + estimate)
            elif auto:
                state = self._state(resolve_emotion(f"text:{piece.text}", fps=25.0), 0.0, 0.0)
            else:
                state = default_state or neutral
            plan = plan_from_state(*state)
            result = self.tts.synthesize([(piece.text, plan)], voice=voice, speed=speed)
            results.append(result)
            states.append(state)
            t += result.duration
        speech = concatenate(results)

        # 4. The emotion actually spoken, per frame over the whole waveform
        fps = 25.0
        n = max(1, round(speech.duration * fps))
        if track is not None:
            used = track.resample(fps=fps, num_frames=n)  # times past the track's end hold its last frame
            vad, probs, intensity = used.vad.float().cpu(), used.probs.float().cpu(), used.intensity.float().cpu()
        else:
            vad, probs, intensity = torch.zeros(n, 3), torch.zeros(n, len(LABELS)), torch.zeros(n)
            probs[:, 0] = 1.0
        start = 0.0
        for piece, state, span in zip(pieces, states, speech.plan.spans, strict=True):
            end = span[1]
            if not piece.track:
                i0, i1 = round(start * fps), max(round(start * fps) + 1, round(end * fps))
                vad[i0:i1], probs[i0:i1], intensity[i0:i1] = state[0], state[1], state[2]
            start = end
        used_track = EmotionTrack(vad=vad[:n], probs=probs[:n], intensity=intensity[:n], fps=fps)

        # 5. Return
        output = SpeechOutput(
            waveform=speech.waveform,
            sample_rate=speech.sample_rate,
            phones=list(speech.phones),
            plan=speech.plan,
            emotion_track=used_track,
        )
        if not return_dict:
            return (output.waveform, output.sample_rate, output.phones, output.plan, output.emotion_track)
        return output
