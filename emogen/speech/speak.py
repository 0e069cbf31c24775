"""Text + emotion → speech: the step every speaking pipeline shares.

The control layer turns text and emotion specs into :class:`SpeechPiece` values (one per sentence, each with its
resolved :class:`~emogen.emotion.EmotionState`, or following a time-varying track); :func:`speak` plans each piece's
prosody (:func:`~emogen.speech.plan_from_state`), synthesises it with a TTS engine and records the emotion actually
spoken per frame.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch
from tqdm.auto import tqdm

from ..emotion import LABELS, EmotionState, EmotionTrack
from .engines import TTSEngine, default_engine
from .plan import plan_from_state
from .synth import concatenate
from .text import check_length
from .types import SpeechResult

logger = logging.getLogger(__name__)

__all__ = ["SECONDS_PER_CHAR", "SpeechPiece", "speak"]

#: Rough speaking time per character at rate 1 (espeak-ng en-us at 175 wpm), used to place a sentence on a
#: time-varying emotion track before it is spoken.
SECONDS_PER_CHAR = 0.065


@dataclass(frozen=True)
class SpeechPiece:
    """One sentence to speak.

    Args:
        text: the sentence (cleaned, speakable).
        state: its emotion; ``None`` follows the ``track`` given to :func:`speak` at the sentence's time (neutral
            without a track).
    """

    text: str
    state: EmotionState | None = None


def speak(
    pieces: Sequence[SpeechPiece],
    engine: TTSEngine | None = None,
    *,
    track: EmotionTrack | None = None,
    voice: str | None = None,
    speed: float = 1.0,
    fps: float = 25.0,
    progress: bool = False,
) -> SpeechResult:
    """Speak ``pieces`` in order, each with its own emotional prosody.

    Args:
        pieces: sentences with their emotion (:func:`emogen.controls.speech_pieces` makes them from text and specs).
        engine: the TTS engine (default :func:`~emogen.speech.engines.default_engine`).
        track: the time-varying emotion pieces without a state follow (sampled at each sentence's time).
        voice: the engine's voice (``None``: its default).
        speed: global rate factor in [0.25, 4].
        fps: frame rate of the returned ``emotion_track``.
        progress: show a tqdm bar over the sentences.

    Returns:
        :class:`~emogen.speech.SpeechResult` whose ``emotion_track`` is the emotion actually spoken, per frame over
        the whole waveform.

    Raises:
        ValueError: no pieces, text over the engine's ``max_chars``, unknown voice, speed out of range.
    """
    if not pieces:
        raise ValueError("Nothing to speak: no sentences were given.")
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not 0.25 <= speed <= 4.0:
        raise ValueError(f"speed must be a number in [0.25, 4], got {speed!r}.")
    engine = engine if engine is not None else default_engine()
    voice = engine.check_voice(voice)
    check_length(sum(len(p.text) for p in pieces), engine.max_chars)
    neutral = EmotionState.neutral()

    # 1. Plan and speak each sentence in order (a track is sampled at the sentence's time)
    results, states = [], []
    t = 0.0
    for piece in tqdm(pieces, desc="speech", disable=not progress, leave=False):
        if piece.state is not None:
            state = piece.state
        elif track is not None:
            state = track.mean_state(t, t + len(piece.text) * SECONDS_PER_CHAR / speed)
        else:
            state = neutral
        plan = plan_from_state(state.vad, state.probs, float(state.intensity))
        result = engine.synthesize([(piece.text, plan)], voice=voice, speed=speed)
        results.append(result)
        states.append(state)
        t += result.duration
    speech = concatenate(results)

    # 2. The emotion actually spoken, per frame over the whole waveform
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
        if piece.state is not None or track is None:
            i0, i1 = round(start * fps), max(round(start * fps) + 1, round(end * fps))
            vad[i0:i1], probs[i0:i1], intensity[i0:i1] = state.vad, state.probs, state.intensity
        start = end
    spoken = EmotionTrack(vad=vad[:n], probs=probs[:n], intensity=intensity[:n], fps=fps)
    return replace(speech, emotion_track=spoken)
