"""Render a :class:`~emogen.speech.plan.SpeechPlan` with espeak-ng (+ WORLD) into a waveform with phone timings.

Each segment is spoken by espeak-ng with the rate, pitch level/range and word gap of its plan (espeak's own
prosody generator then places the accents), then re-rendered with WORLD (:mod:`emogen.speech.prosody`) for what
espeak cannot do itself: the F0 contour slope, voice quality (breathiness, tension, jitter) and any pitch level
beyond espeak's range. Loudness is a gain. Neither step changes the timing, so the phone onsets reported by
espeak's phoneme events stay exact.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

import numpy as np
from tqdm.auto import tqdm

from emogen.speech.espeak import get_engine, parse_voice
from emogen.speech.plan import SpeechPlan, SpeechPlanSegment
from emogen.speech.prosody import reshape_voice
from emogen.speech.segments import Segments, prepare_segments, soft_limit
from emogen.speech.text import check_length, split_sentences
from emogen.speech.types import PhoneSegment, SpeechResult

__all__ = ["synthesize", "synthesize_stream", "concatenate", "HEADROOM_DB", "ESPEAK_DEFAULT_RATE"]

logger = logging.getLogger(__name__)

#: Gain applied to every segment before its plan's loudness: leaves room for loud emotions without clipping.
HEADROOM_DB: float = -6.0
#: espeak-ng's default speaking rate (words per minute) = plan rate 1.0.
ESPEAK_DEFAULT_RATE: int = 175

# Measured on en-us and en-us+f3 with parselmouth (median F0 of a 13-word sentence): espeak's pitch parameter →
# semitones relative to pitch 50, and the median shift espeak's range parameter causes (it raises peaks more than
# it lowers valleys).
_PITCH_PARAM = np.array([0.0, 25.0, 50.0, 75.0, 100.0])
_PITCH_ST = np.array([-6.8, -3.55, 0.0, 4.2, 8.5])
_RANGE_PARAM = np.array([0.0, 25.0, 50.0, 100.0])
_RANGE_ST = np.array([-2.7, -1.3, 0.0, 2.3])


def _espeak_params(seg: SpeechPlanSegment, speed: float) -> tuple[dict, float]:
    """espeak parameters for a segment, and the pitch shift (semitones) left for WORLD."""
    range_param = float(np.clip(50.0 * seg.pitch_range, 0.0, 100.0))
    needed = seg.pitch_shift - float(np.interp(range_param, _RANGE_PARAM, _RANGE_ST))
    pitch_param = float(np.clip(np.interp(needed, _PITCH_ST, _PITCH_PARAM), 0.0, 100.0))
    pitch_param = round(pitch_param)
    residual = needed - float(np.interp(pitch_param, _PITCH_PARAM, _PITCH_ST))
    params = {
        "rate": round(ESPEAK_DEFAULT_RATE * seg.rate * speed),
        "pitch": pitch_param,
        "pitch_range": round(range_param),
        "word_gap": round(seg.word_gap * 100.0 / speed),
    }
    return params, residual if abs(residual) > 0.1 else 0.0


def _normalise(segments: Segments, voice: str | None, speed: float | None) -> tuple[list, str, float]:
    items, voice, speed = prepare_segments(segments, voice, speed)
    voice = "en-us" if voice is None else voice
    parse_voice(voice)  # validates
    return items, voice, speed


def _render(text: str, seg: SpeechPlanSegment, voice: str, speed: float, seed: int) -> tuple[np.ndarray, list, int]:
    """One segment: waveform (float32), phones relative to its start, sample rate."""
    engine = get_engine()
    params, residual = _espeak_params(seg, speed)
    samples, events = engine.synth(text, voice, **params)
    sr = engine.sample_rate
    x = samples.astype(np.float32) / 32768.0
    x = reshape_voice(
        x,
        sr,
        pitch_shift=residual,
        contour=seg.contour,
        jitter=seg.jitter,
        breathiness=seg.breathiness,
        tension=seg.tension,
        seed=seed,
    )
    x = x * np.float32(10.0 ** ((seg.loudness + HEADROOM_DB) / 20.0))
    phones = []
    if events and events[0].sample > 0:  # espeak starts with a few ms of silence before the first phone
        phones.append(PhoneSegment("_", 0.0, min(events[0].sample, len(x)) / sr))
    for i, ev in enumerate(events):
        end = events[i + 1].sample if i + 1 < len(events) else len(x)
        end = min(end, len(x))
        if end > ev.sample and ev.phone:
            phones.append(PhoneSegment(ev.phone, ev.sample / sr, end / sr))
    return x, phones, sr


def _pieces(items: list, max_chars: int | None) -> list[tuple[int, str, SpeechPlanSegment]]:
    out = []
    for k, (text, seg) in enumerate(items):
        if max_chars is None:
            out.append((k, text, seg))
        else:
            out.extend((k, s, seg) for s in split_sentences(text))
    return out


def synthesize(segments: Segments, voice: str | None = None, speed: float | None = None) -> SpeechResult:
    """Speak text segments, each with its own vocal features, into one waveform with phone timings.

    This is the core TTS entry point (no pipeline needed); its signature is kept stable.

    Args:
        segments: ``[(text, SpeechPlanSegment), …]`` (features from :func:`~emogen.speech.plan_segment` or
            :func:`~emogen.speech.plan_from_track`), a :class:`~emogen.speech.SpeechPlan`, or a plain string
            (spoken neutral).
        voice: espeak-ng voice, ``"en-us"`` (default), ``"en"``, ``"en-us+f3"`` … (see
            :func:`~emogen.speech.list_voices`); a SpeechPlan's own voice when ``None``.
        speed: global rate factor in [0.25, 4] on top of each segment's rate (default 1).

    Returns:
        :class:`~emogen.speech.SpeechResult`: float32 waveform ``(N,)`` at 22050 Hz, phones in seconds, and the
        plan with each segment's ``(start, end)`` span.

    Raises:
        ValueError: empty / unspeakable text, text over :data:`~emogen.speech.text.MAX_CHARS` characters (use
            :func:`synthesize_stream`), unknown voice, speed out of range.
        TypeError: segments of the wrong type.

    Example:
        >>> from emogen.speech import plan_segment, synthesize
        >>> out = synthesize([("We won!", plan_segment("happy")), ("But Sam got hurt.", plan_segment("sad", 0.7))])
        >>> out.waveform.shape, out.sample_rate, out.phones[0]
    """
    items, voice, speed = _normalise(segments, voice, speed)
    check_length(sum(len(t) for t, _ in items))
    chunks, phones, spans = [], [], []
    sr = get_engine().sample_rate
    t = 0.0
    for k, (text, seg) in enumerate(tqdm(items, desc="speech", disable=len(items) < 8, leave=False)):
        pause = int(round(seg.pause / speed * sr))
        if pause:
            chunks.append(np.zeros(pause, dtype=np.float32))
            phones.append(PhoneSegment("_", t, t + pause / sr))
            t += pause / sr
        x, ph, sr = _render(text, seg, voice, speed, seed=k)
        chunks.append(x)
        phones.extend(p.shifted(t) for p in ph)
        spans.append((t, t + len(x) / sr))
        t += len(x) / sr
    wave = soft_limit(np.concatenate(chunks).astype(np.float32))
    plan = SpeechPlan(
        texts=[s for s, _ in items], segments=[g for _, g in items], spans=spans, voice=voice, speed=speed
    )
    return SpeechResult(waveform=wave, sample_rate=sr, phones=phones, plan=plan)


def synthesize_stream(
    segments: Segments, voice: str | None = None, speed: float | None = None
) -> Iterator[SpeechResult]:
    """Like :func:`synthesize`, but one sentence at a time, for texts of any length in bounded memory.

    Each yielded :class:`~emogen.speech.SpeechResult` holds one sentence; its ``offset`` is where it starts in the
    whole utterance (its phones and span are relative to its own waveform). Write the chunks to a file as they come
    (e.g. ``soundfile.SoundFile`` in write mode).
    """
    items, voice, speed = _normalise(segments, voice, speed)
    offset = 0.0
    for i, (_, text, seg) in enumerate(_pieces(items, max_chars=1)):
        result = synthesize([(text, seg)], voice=voice, speed=speed)
        yield SpeechResult(result.waveform, result.sample_rate, result.phones, result.plan, offset=offset)
        offset += result.duration
        del result
        if i and i % 100 == 0:
            logger.info("Streamed %d sentences (%.0f s of speech).", i, offset)


def concatenate(results: Sequence[SpeechResult]) -> SpeechResult:
    """Join results end to end: waveforms, phones (shifted) and plans (spans shifted)."""
    if not results:
        raise ValueError("concatenate() needs at least one SpeechResult.")
    sr = results[0].sample_rate
    if any(r.sample_rate != sr for r in results):
        raise ValueError("All results must share one sample rate.")
    t, phones, texts, segs, spans = 0.0, [], [], [], []
    for r in results:
        phones.extend(p.shifted(t) for p in r.phones)
        texts.extend(r.plan.texts)
        segs.extend(r.plan.segments)
        spans.extend((a + t, b + t) for a, b in (r.plan.spans or [(0.0, r.duration)] * len(r.plan)))
        t += r.duration
    first = results[0].plan
    plan = SpeechPlan(texts=texts, segments=segs, spans=spans, voice=first.voice, speed=first.speed)
    wave = np.concatenate([r.waveform for r in results]).astype(np.float32)
    return SpeechResult(waveform=wave, sample_rate=sr, phones=phones, plan=plan)
