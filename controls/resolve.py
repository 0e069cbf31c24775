"""Resolve any emotion input into an :class:`~emogen.emotion.EmotionTrack`.

This is the one entry point pipelines call: whatever the user gave (a label, a mixture, VAD values, free text, a
keyframed timeline, typed objects, or a ready track), the result is a per-frame track at the requested frame rate.
"""

from __future__ import annotations

import functools
import itertools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from emogen.emotion import (
    LABELS,
    NUM_LABELS,
    VAD,
    EmotionLabel,
    EmotionState,
    EmotionTrack,
    Keyframe,
    probs_to_vad,
    vad_intensity,
    vad_to_probs,
)
from emogen.io.limits import MAX_DURATION, MAX_FRAMES, MAX_TEXT_BATCH, WorkLimitError, check_duration_limit

from .dynamics import Dynamics, make_dynamics
from .parse import EmotionSpec, parse_emotion_spec
from .text_checks import check_model_texts

logger = logging.getLogger(__name__)

__all__ = [
    "EmotionState",
    "TextEmotion",
    "analyze_text",
    "emotion_state",
    "text_states",
    "resolve_emotion",
    "keyframes_to_track",
    "smooth_track",
    "mirror_emotion",
    "INTERPOLATIONS",
    "DEFAULT_HOLD",
]

INTERPOLATIONS: tuple[str, ...] = ("linear", "smooth", "step")

#: Seconds a timeline holds its last keyframe when no duration is given.
DEFAULT_HOLD = 1.0

# EmoBank ratings crowd the middle of their 1–5 scale (after mapping to [-1, 1], the 1st–99th percentiles span
# about ±0.5 valence, -0.25…0.4 arousal, ±0.27 dominance), while the label centroids come from ratings of emotion
# words that span the scale. Text VAD is therefore stretched per axis with a saturating map,
# vad = tanh(gain · raw), whose gains put EmoBank's 1st/99th percentiles near ±0.8 — so "I am furious" lands
# near "angry" while nothing is clipped.
TEXT_VAD_GAIN = (2.2, 2.8, 3.0)
# Everyday sentences are mostly neutral (most of EmoBank lies within ±0.3 of the scale's midpoint on every axis),
# so for text the soft assignment gives neutral this prior weight: a mundane sentence with a slightly negative
# valence reads as neutral rather than as contempt, whose centroid lies closest to the origin.
TEXT_NEUTRAL_PRIOR = 2.5
# Weight of one emotion word of the lexicon relative to the VAD-based assignment: with n words the lexicon gets
# n / (n + 1) of the label distribution.
_LEXICON_WEIGHT = 1.0


@dataclass(frozen=True)
class TextEmotion:
    """What the text model reads from one text."""

    text: str
    vad: VAD
    probs: dict[str, float]

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        return sorted(self.probs.items(), key=lambda kv: -kv[1])[:k]

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "vad": [round(x, 4) for x in self.vad],
            "labels": {k: round(v, 4) for k, v in self.probs.items()},
        }


@functools.lru_cache(maxsize=1)
def _default_text_model():
    from emogen.models.text_emotion import TextEmotionModel

    return TextEmotionModel.from_pretrained()


def _text_states(texts: Sequence[str], model=None, batch_size: int = 64, show_progress: bool = False):
    from emogen.models.text_lexicon import lexical_label_scores

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= MAX_TEXT_BATCH:
        raise ValueError(f"batch_size must be an integer in [1, {MAX_TEXT_BATCH}], got {batch_size!r}.")
    check_model_texts(texts)  # length bound; a warning for text that is not English
    model = model if model is not None else _default_text_model()
    raw = torch.from_numpy(
        np.asarray(model.predict_vad(list(texts), batch_size=batch_size, show_progress=show_progress))
    )
    vad = torch.tanh(raw.float() * torch.tensor(TEXT_VAD_GAIN))
    probs = vad_to_probs(vad, neutral_prior=TEXT_NEUTRAL_PRIOR)
    lex = torch.from_numpy(np.asarray(lexical_label_scores(list(texts)))).float()
    n = lex.sum(-1, keepdim=True)
    share = _LEXICON_WEIGHT * n / (_LEXICON_WEIGHT * n + 1.0)
    probs = (1.0 - share) * probs + share * lex / n.clamp(min=1e-8)
    intensity = vad_intensity(vad, probs)
    return vad, probs, intensity


def text_states(texts: Sequence[str], model=None, batch_size: int = 64) -> list[EmotionState]:
    """The emotional state the text model reads from each text (batched), as :class:`EmotionState` values."""
    texts = list(texts)
    if not texts:
        return []
    vad, probs, intensity = _text_states(texts, model=model, batch_size=batch_size)
    return [EmotionState(v, p, i) for v, p, i in zip(vad, probs, intensity, strict=True)]


def analyze_text(
    texts: str | Sequence[str], model=None, batch_size: int = 64, show_progress: bool = False
) -> list[TextEmotion]:
    """Read VAD and a label distribution from free text.

    VAD comes from the shipped text model (trained on EmoBank, see ``weights/text_emotion/README.md``), stretched
    per axis onto the label-centroid scale (see ``TEXT_VAD_GAIN``); labels are the soft assignment of that VAD,
    mixed with the evidence of emotion words (with negation handling) so that, e.g., fear and anger — close in
    VAD — separate. The model reads English: other languages log a warning (they tend to read neutral); texts
    longer than the model's window are read whole, in windows.

    Args:
        texts: one text or a list of texts (batched).
        model: a :class:`~emogen.models.TextEmotionModel`; the shipped one by default.
    """
    single = isinstance(texts, str)
    texts = [texts] if single else list(texts)
    if not texts:
        return []
    vad, probs, _ = _text_states(texts, model=model, batch_size=batch_size, show_progress=show_progress)
    return [
        TextEmotion(text=t, vad=VAD(*v.tolist()), probs=dict(zip(LABELS, p.tolist(), strict=True)))
        for t, v, p in zip(texts, vad, probs, strict=True)
    ]


def emotion_state(emotion: EmotionSpec, text_model=None) -> EmotionState:
    """Resolve one state (no timeline) to VAD, label distribution and intensity.

    * :class:`EmotionLabel` — ``probs`` one-hot, ``intensity`` as given, ``vad = intensity · centroid``.
    * a mixture (tuple of labels) — ``probs`` ∝ the parts' intensities, ``intensity = min(1, Σ intensities)``.
    * :class:`VAD` — ``probs`` by soft assignment, ``intensity`` = distance from neutral relative to the nearest
      label's centroid (capped at 1).
    * ``str`` — free text through :func:`analyze_text` (label strings are parsed first).
    """
    if isinstance(emotion, str):
        parsed = parse_emotion_spec(emotion)
        if isinstance(parsed, list):
            raise ValueError(f"{emotion!r} is a timeline; a single emotional state is expected here.")
        if not isinstance(parsed, str):
            return emotion_state(parsed)
        vad, probs, intensity = _text_states([parsed], model=text_model)
        return EmotionState(vad[0], probs[0], intensity[0])
    if isinstance(emotion, EmotionLabel):
        emotion = (emotion,)
    if isinstance(emotion, (tuple, list)) and emotion and all(isinstance(e, EmotionLabel) for e in emotion):
        weights = torch.zeros(NUM_LABELS)
        for label in emotion:
            weights[LABELS.index(label.name)] += label.intensity
        total = float(weights.sum())
        if total <= 0:
            probs = torch.zeros(NUM_LABELS)
            probs[0] = 1.0
            intensity = torch.tensor(0.0)
        else:
            probs = weights / total
            intensity = torch.tensor(min(1.0, total))
        return EmotionState(probs_to_vad(probs, intensity), probs, intensity)
    if isinstance(emotion, VAD):
        vad = emotion.as_tensor()
        probs = vad_to_probs(vad)
        return EmotionState(vad, probs, vad_intensity(vad, probs))
    raise TypeError(
        f"Cannot read an emotion from {type(emotion).__name__} {emotion!r}; accepted: a label string, "
        "'label:intensity', a mixture 'happy:0.6+surprised:0.4', 'vad:v,a,d', free text, VAD, EmotionLabel, "
        "a tuple of EmotionLabel."
    )


#: Most frames of one emotion track (the longest clip at the highest frame rate any writer takes).
MAX_TRACK_FRAMES = int(MAX_DURATION * 240)


def _num_frames(duration: float, fps: float) -> int:
    n = max(1, round(duration * fps))
    if n > MAX_TRACK_FRAMES:
        raise WorkLimitError(
            f"{duration:g} s at {fps:g} fps is {n} frames; an emotion track holds at most {MAX_TRACK_FRAMES} "
            f"({MAX_DURATION:g} s at 240 fps, and renders at most {MAX_FRAMES} frames)."
        )
    return n


def _check_duration(duration: float | None, what: str = "duration") -> None:
    number = not isinstance(duration, bool) and isinstance(duration, (int, float))
    if duration is not None and not (number and math.isfinite(duration) and duration > 0):
        raise ValueError(f"{what} must be a positive number of seconds, got {duration!r}.")
    if duration is not None:
        check_duration_limit(duration, what)


def _check_fps(fps) -> None:
    if isinstance(fps, bool) or not (isinstance(fps, (int, float)) and math.isfinite(fps) and 0 < fps <= 240):
        raise ValueError(f"fps must be a number in (0, 240], got {fps!r}.")


def _project(track_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    vad = track_values[:, :3].clamp(-1.0, 1.0)
    probs = track_values[:, 3 : 3 + NUM_LABELS].clamp(min=0.0)
    probs = probs / probs.sum(-1, keepdim=True).clamp(min=1e-8)
    intensity = track_values[:, -1].clamp(0.0, 1.0)
    return vad, probs, intensity


def _to_track(values: torch.Tensor, fps: float, dynamics: Dynamics | None) -> EmotionTrack:
    """Per-frame ``(vad, probs, intensity)`` values → :class:`EmotionTrack`, through ``dynamics`` if given."""
    velocity = acceleration = None
    if dynamics is not None:
        values, velocity, acceleration = dynamics.apply(values, fps)
        velocity, acceleration = velocity[:, :3], acceleration[:, :3]
    vad, probs, intensity = _project(values)
    return EmotionTrack(
        vad=vad, probs=probs, intensity=intensity, fps=fps, velocity=velocity, acceleration=acceleration
    )


def smooth_track(track: EmotionTrack, dynamics: str | Dynamics | None = "first-order") -> EmotionTrack:
    """Pass an :class:`EmotionTrack` through affect dynamics (e.g. a per-sentence track whose steps should become
    transitions). ``None``/"none" returns the track unchanged.

    Example::

        >>> smooth = smooth_track(spoken_track, FirstOrderDynamics(tau=0.35))
    """
    if not isinstance(track, EmotionTrack):
        raise TypeError(f"smooth_track expects an EmotionTrack, got {type(track).__name__}.")
    dynamics = make_dynamics(dynamics)
    if dynamics is None:
        return track
    values = torch.cat([track.vad.float(), track.probs.float(), track.intensity.float().unsqueeze(-1)], dim=-1)
    return _to_track(values, track.fps, dynamics)


def mirror_emotion(own: EmotionTrack, other: EmotionTrack, gain: float = 0.5) -> EmotionTrack:
    """Emotional mimicry: the listener's own track with a share ``gain`` of the other person's emotion on top
    (Hess & Fischer 2013, "Emotional mimicry as social regulation", PSPR 17: people take on part of the expression
    they watch). The other track is resampled to ``own``'s frames; VAD adds (clamped), labels mix by ``gain``
    weighted by the other's intensity, intensity is the stronger of the two."""
    if not isinstance(own, EmotionTrack) or not isinstance(other, EmotionTrack):
        raise TypeError("mirror_emotion expects two EmotionTrack values.")
    if not (isinstance(gain, (int, float)) and 0.0 <= gain <= 1.0):
        raise ValueError(f"gain must be a share in [0, 1], got {gain!r}.")
    o = other.resample(fps=own.fps, num_frames=own.num_frames)
    w = (gain * o.intensity.float()).unsqueeze(-1)  # how much of the other's label reaches the listener
    probs = own.probs.float() * (1.0 - w) + o.probs.float() * w
    return EmotionTrack(
        vad=(own.vad.float() + gain * o.vad.float()).clamp(-1.0, 1.0),
        probs=probs / probs.sum(-1, keepdim=True).clamp(min=1e-8),
        intensity=torch.maximum(own.intensity.float(), gain * o.intensity.float()),
        fps=own.fps,
    )


def keyframes_to_track(
    keyframes: Sequence[Keyframe],
    *,
    fps: float = 25.0,
    duration: float | None = None,
    interpolation: str | None = None,
    dynamics: str | Dynamics | None = None,
    text_model=None,
) -> EmotionTrack:
    """Turn keyframes into a per-frame track.

    Before the first keyframe the first state is held; after the last, the last. Between keyframes the state is
    interpolated (``"linear"``, ``"smooth"`` = smoothstep ease in/out, or ``"step"`` = hold until the next key).
    With ``dynamics`` the interpolated signal is the *target* the filtered state follows (default interpolation
    then becomes ``"step"``: keyframes are appraisals, the dynamics make the transition).

    Args:
        keyframes: strictly increasing times.
        fps: output frame rate.
        duration: seconds; by default the last keyframe's time plus :data:`DEFAULT_HOLD`.
        interpolation: one of :data:`INTERPOLATIONS`.
        dynamics: ``None``/"none", "first-order", "second-order", or a dynamics object.
    """
    if not keyframes:
        raise ValueError("A timeline needs at least one keyframe.")
    for k in keyframes:
        if not isinstance(k, Keyframe):
            raise TypeError(f"Timeline items must be Keyframe objects, got {type(k).__name__}: {k!r}.")
    times = [k.time for k in keyframes]
    if any(b <= a for a, b in itertools.pairwise(times)):
        raise ValueError(f"Keyframe times must be strictly increasing, got {times}.")
    _check_duration(duration)
    _check_fps(fps)
    dynamics = make_dynamics(dynamics)
    if interpolation is None:
        interpolation = "step" if dynamics is not None else "linear"
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"Unknown interpolation {interpolation!r}; accepted: {', '.join(INTERPOLATIONS)}.")

    if duration is None:  # the timeline's own length: bounded like any other duration
        duration = times[-1] + DEFAULT_HOLD
        check_duration_limit(duration, f"The timeline (last keyframe at {times[-1]:g} s + {DEFAULT_HOLD:g} s hold)")
    n = _num_frames(duration, fps)
    # Text keyframes are analysed in one batch.
    text_items = [i for i, k in enumerate(keyframes) if isinstance(k.emotion, str)]
    states: list[torch.Tensor | None] = [None] * len(keyframes)
    text_specs = {}
    for i in text_items:
        parsed = parse_emotion_spec(keyframes[i].emotion)
        if isinstance(parsed, list):
            raise ValueError(f"Keyframe at {keyframes[i].time:g}s holds a whole timeline {keyframes[i].emotion!r}.")
        if isinstance(parsed, str):
            text_specs[i] = parsed
        else:
            states[i] = emotion_state(parsed).stacked()
    if text_specs:
        vad, probs, intensity = _text_states(list(text_specs.values()), model=text_model)
        for j, i in enumerate(text_specs):
            states[i] = EmotionState(vad[j], probs[j], intensity[j]).stacked()
    for i, k in enumerate(keyframes):
        if states[i] is None:
            states[i] = emotion_state(k.emotion).stacked()
    key_values = torch.stack(states)  # (keys, 3 + K + 1)

    t = torch.arange(n, dtype=torch.float64) / fps
    key_t = torch.tensor(times, dtype=torch.float64)
    idx = torch.searchsorted(key_t, t, right=True) - 1  # last key at or before t; -1 before the first
    lo = idx.clamp(0, len(times) - 1)
    hi = (idx + 1).clamp(0, len(times) - 1)
    span = (key_t[hi] - key_t[lo]).clamp(min=1e-9)
    w = ((t - key_t[lo]) / span).clamp(0.0, 1.0)
    w[idx < 0] = 0.0
    w[hi == lo] = 0.0
    if interpolation == "step":
        w = torch.zeros_like(w)
    elif interpolation == "smooth":
        w = w * w * (3.0 - 2.0 * w)
    w = w.to(torch.float32).unsqueeze(-1)
    target = key_values[lo] * (1.0 - w) + key_values[hi] * w

    return _to_track(target, fps, dynamics)


def resolve_emotion(
    spec: EmotionSpec | Sequence[Keyframe] | EmotionTrack | None,
    *,
    duration: float | None = None,
    fps: float = 25.0,
    num_frames: int | None = None,
    dynamics: str | Dynamics | None = None,
    interpolation: str | None = None,
    text_model=None,
) -> EmotionTrack:
    """Turn any emotion input into an :class:`EmotionTrack` at ``fps``.

    Args:
        spec: a string (label, ``label:intensity``, mixture, ``vad:v,a,d``, free text, or a timeline such as
            ``"0s neutral, 1.2s happy:0.8, 3s sad:0.5"``), a :class:`VAD`, an :class:`EmotionLabel`, a tuple of
            labels, a list of :class:`Keyframe`, or an :class:`EmotionTrack` (resampled). ``None`` means neutral.
        duration: length in seconds. Constant emotions default to one frame; timelines to their last key + 1 s.
        fps: frames per second of the result.
        num_frames: exact frame count (overrides ``duration``).
        dynamics: affect dynamics for timelines ("first-order", "second-order").
        interpolation: for timelines, see :func:`keyframes_to_track`.

    Returns:
        :class:`EmotionTrack` with ``num_frames`` frames (or ``round(duration · fps)``).

    Raises:
        ValueError: a malformed spec (:class:`~emogen.controls.parse.EmotionSpecError`, naming the character), a
            bad number, or more work than the limits allow (:class:`~emogen.io.limits.WorkLimitError`): a
            ``duration``, a timeline or ``num_frames`` longer than :data:`~emogen.io.limits.MAX_DURATION`.
    """
    _check_duration(duration)
    _check_fps(fps)
    if num_frames is not None and (isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 1):
        raise ValueError(f"num_frames must be a positive integer, got {num_frames!r}.")
    if num_frames is not None:
        duration = num_frames / fps
        _check_duration(duration, f"num_frames={num_frames} at {fps:g} fps")
    if spec is None:
        spec = EmotionLabel("neutral")
    if isinstance(spec, EmotionTrack):
        if num_frames is None and duration is None:
            return spec.resample(fps=fps)
        return spec.resample(fps=fps, num_frames=num_frames or _num_frames(duration, fps))
    if isinstance(spec, str):
        parsed = parse_emotion_spec(spec)
        if isinstance(parsed, list):
            spec = parsed
    if isinstance(spec, (list, tuple)) and spec and all(isinstance(k, Keyframe) for k in spec):
        track = keyframes_to_track(
            spec, fps=fps, duration=duration, interpolation=interpolation, dynamics=dynamics, text_model=text_model
        )
        if num_frames is not None and track.num_frames != num_frames:
            track = track.resample(fps=fps, num_frames=num_frames)
        return track
    state = emotion_state(spec, text_model=text_model)
    n = num_frames or (_num_frames(duration, fps) if duration is not None else 1)
    return EmotionTrack.constant(state.vad, state.probs, state.intensity, n, fps)
