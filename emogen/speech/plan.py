"""Emotion → explicit vocal features: the :class:`SpeechPlan`.

A plan is a list of segments (a sentence, or a span the user marked), each with the vocal features it is spoken
with: pitch level and range, rate, loudness, pauses, an F0 contour slope and voice quality (breathiness, tension,
jitter). Features are *explicit* and inspectable (in the spirit of BatonVoice: plan the prosody as numbers, then
render it), so a plan can be printed, edited and saved next to the audio.

The rules have two parts, both applied relative to the voice's neutral delivery:

1. **Dimensional** (continuous VAD). The acoustic correlates of the emotion dimensions summarised by Schröder
   (2001), "Emotional speech synthesis: a review", Eurospeech, and measured by Schröder et al. (2001), "Acoustic
   correlates of emotion dimensions in view of speech synthesis", Eurospeech: *arousal/activation* raises F0 level
   and range, speech rate and loudness; *valence/evaluation* shapes the contour (rising, smooth inflections when
   positive; falling when negative) and widens the range a little; *dominance/power* makes speech louder and its
   F0 level lower.
2. **Categorical** corrections for each label, weighted by its probability × intensity, from the table of vocal
   effects of Murray & Arnott (1993), "Toward the simulation of emotion in synthetic speech: a review of the
   literature on human vocal emotion", JASA 93(2), Table 1 (anger, happiness, sadness, fear, disgust; "slightly",
   "much", "very much" read as small, medium, large steps), with voice quality following Gobl & Ní Chasaide
   (2003), "The role of voice quality in communicating emotion, mood and attitude", Speech Communication 40
   (breathy/lax for sadness and intimacy, tense for anger). Surprise and contempt are not in Murray & Arnott's
   table: surprise takes the high-arousal pattern of joy/fear with a rising contour, contempt a weak form of disgust.

The numbers were then set by listening to espeak-ng renditions and by measuring median F0, duration and RMS level
with Praat (parselmouth): see ``tests/emogen/speech/test_synth.py`` for the orderings the waveform must show. The
rules are one set for every engine: an engine that renders a feature differently from espeak-ng carries a measured
:class:`~emogen.speech.calibration.ProsodyCalibration` (plan → what it renders for the same measured effect), and
``python -m emogen.speech.measure emotions`` prints what each engine makes of each emotion.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace

import torch

from emogen.emotion import LABEL_VAD, LABELS, VAD, EmotionLabel, EmotionTrack, canonical_label

__all__ = [
    "SpeechPlanSegment",
    "SpeechPlan",
    "DIMENSIONAL_RULES",
    "LABEL_RULES",
    "plan_segment",
    "plan_from_state",
    "plan_from_track",
]


@dataclass(frozen=True)
class SpeechPlanSegment:
    """The vocal features one segment is spoken with, relative to the voice's neutral delivery.

    Args:
        pitch_shift: F0 level change in semitones (+ higher).
        pitch_range: factor on F0 excursions around the level (1 = the voice's own, 0.5 = half as lively).
        rate: speaking-rate factor (1 = the voice's default ~175 words per minute; > 1 faster).
        loudness: level change in dB.
        pause: silence before the segment, in seconds.
        word_gap: extra silence between words, in seconds.
        contour: F0 slope over the segment in semitones, end minus start (+ rising, − falling).
        breathiness: 0 (modal) … 1 (very breathy): aspiration noise added to the voiced spectrum.
        tension: 0 (modal) … 1 (tense/pressed): flatter spectral tilt, less aspiration.
        jitter: 0 … 1: irregular F0 (cycle-to-cycle perturbation up to ~4 %, trembling voice).
        label: the dominant emotion label (for the record; the features above are what is rendered).
        intensity: intensity of that emotion in [0, 1].
        vad: the (valence, arousal, dominance) the features were derived from.
    """

    pitch_shift: float = 0.0
    pitch_range: float = 1.0
    rate: float = 1.0
    loudness: float = 0.0
    pause: float = 0.0
    word_gap: float = 0.0
    contour: float = 0.0
    breathiness: float = 0.0
    tension: float = 0.0
    jitter: float = 0.0
    label: str = "neutral"
    intensity: float = 0.0
    vad: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name in ("label", "vad"):
                continue
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"SpeechPlanSegment.{f.name} must be a finite number, got {value!r}.")
            object.__setattr__(self, f.name, float(value))
        for name, lo, hi in (
            ("pitch_range", 0.0, 4.0),
            ("rate", 0.25, 4.0),
            ("pause", 0.0, 10.0),
            ("word_gap", 0.0, 2.0),
            ("breathiness", 0.0, 1.0),
            ("tension", 0.0, 1.0),
            ("jitter", 0.0, 1.0),
            ("intensity", 0.0, 1.0),
        ):
            if not lo <= getattr(self, name) <= hi:
                raise ValueError(f"SpeechPlanSegment.{name} must be in [{lo}, {hi}], got {getattr(self, name)!r}.")
        if not -24.0 <= self.pitch_shift <= 24.0:
            raise ValueError(f"SpeechPlanSegment.pitch_shift must be within ±24 semitones, got {self.pitch_shift!r}.")
        if not -40.0 <= self.loudness <= 20.0:
            raise ValueError(f"SpeechPlanSegment.loudness must be in [-40, 20] dB, got {self.loudness!r}.")
        object.__setattr__(self, "vad", tuple(float(v) for v in self.vad))

    @property
    def voice_quality(self) -> str:
        """A one-word description: ``modal``, ``breathy``, ``tense`` or ``tremulous`` (the strongest above 0.2)."""
        scores = {"breathy": self.breathiness, "tense": self.tension, "tremulous": self.jitter}
        name, value = max(scores.items(), key=lambda kv: kv[1])
        return name if value >= 0.2 else "modal"

    @property
    def is_neutral(self) -> bool:
        """True if rendering this segment needs no change to the voice's own delivery."""
        return self.without_record() == SpeechPlanSegment()

    def without_record(self) -> SpeechPlanSegment:
        """The same features with label/intensity/vad reset (for comparing what is rendered)."""
        return replace(self, label="neutral", intensity=0.0, vad=(0.0, 0.0, 0.0))

    def to_dict(self) -> dict:
        """JSON-ready dict of the features (rounded to 4 decimals) plus ``voice_quality``."""
        out = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}
        out["vad"] = [round(v, 4) for v in self.vad]
        out["voice_quality"] = self.voice_quality
        return out


@dataclass(frozen=True)
class SpeechPlan:
    """What an utterance is spoken with: its segments' texts and vocal features, and (after synthesis) their spans.

    Args:
        texts: the text of each segment.
        segments: the features of each segment (same length as ``texts``).
        spans: ``(start, end)`` in seconds of each segment in the waveform; empty before synthesis.
        voice: the engine's voice (``"heart"``; espeak-ng: ``"en-us"``, ``"en-us+f3"`` …).
        speed: global rate factor applied on top of each segment's ``rate``.
    """

    texts: tuple[str, ...]
    segments: tuple[SpeechPlanSegment, ...]
    spans: tuple[tuple[float, float], ...] = ()
    voice: str = "en-us"
    speed: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "texts", tuple(self.texts))
        object.__setattr__(self, "segments", tuple(self.segments))
        object.__setattr__(self, "spans", tuple((float(a), float(b)) for a, b in self.spans))
        if len(self.texts) != len(self.segments):
            raise ValueError(
                f"A SpeechPlan needs one text per segment, got {len(self.texts)} and {len(self.segments)}."
            )
        if self.spans and len(self.spans) != len(self.segments):
            raise ValueError(
                f"spans must be empty or one per segment, got {len(self.spans)} for {len(self.segments)}."
            )
        if not all(isinstance(s, SpeechPlanSegment) for s in self.segments):
            raise TypeError("SpeechPlan.segments must hold SpeechPlanSegment values.")
        if not (isinstance(self.speed, (int, float)) and 0.25 <= self.speed <= 4.0):
            raise ValueError(f"speed must be a number in [0.25, 4], got {self.speed!r}.")

    def __len__(self) -> int:
        return len(self.segments)

    def items(self) -> list[tuple[str, SpeechPlanSegment]]:
        """``[(text, features), …]``, the form :func:`emogen.speech.synthesize` takes."""
        return list(zip(self.texts, self.segments, strict=True))

    def to_dict(self) -> dict:
        """JSON-ready dict: voice, speed and one entry per segment (text, span, features)."""
        segs = []
        for i, (text, seg) in enumerate(zip(self.texts, self.segments, strict=True)):
            entry = {"text": text, **seg.to_dict()}
            if self.spans:
                entry["start"], entry["end"] = round(self.spans[i][0], 4), round(self.spans[i][1], 4)
            segs.append(entry)
        return {"voice": self.voice, "speed": self.speed, "segments": segs}


# --------------------------------------------------------------------------------------------------------- rules
#: Per unit of (valence, arousal, dominance): feature change (Schröder 2001; Schröder et al. 2001; see module doc).
#: ``pitch_range`` and ``rate`` are log2 factors; ``pitch_shift`` and ``contour`` semitones; ``loudness`` dB.
DIMENSIONAL_RULES: dict[str, tuple[float, float, float]] = {
    "pitch_shift": (1.0, 4.0, -1.0),
    "pitch_range": (0.25, 0.6, 0.0),
    "rate": (0.0, 0.35, 0.05),
    "loudness": (0.0, 6.0, 2.0),
    "contour": (2.0, 0.0, 0.0),
}

#: Per-label corrections at full intensity (Murray & Arnott 1993, Table 1; voice quality after Gobl & Ní Chasaide
#: 2003). Units as in :data:`DIMENSIONAL_RULES`; ``pause``/``word_gap`` in seconds; voice quality in [0, 1].
#: The comment on each line quotes Murray & Arnott's words for the feature.
LABEL_RULES: dict[str, dict[str, float]] = {
    "neutral": {},
    # faster or slower; pitch much higher; range much wider; intensity higher; breathy, blaring;
    # smooth, upward inflections
    "happy": {
        "pitch_shift": 1.5,
        "pitch_range": 0.35,
        "rate": 0.05,
        "loudness": 1.5,
        "contour": 1.5,
        "breathiness": 0.15,
    },
    # slightly faster; pitch very much higher; range much wider; intensity higher; breathy chest tone;
    # abrupt on stressed syllables; tense articulation
    "angry": {"pitch_shift": 2.5, "pitch_range": 0.4, "rate": 0.08, "loudness": 3.0, "contour": -1.0, "tension": 0.7},
    # slightly slower; pitch slightly lower; range slightly narrower; intensity lower; resonant (lax, breathy:
    # Gobl & Ní Chasaide); downward inflections; slurring (longer pauses)
    "sad": {
        "pitch_shift": -1.5,
        "pitch_range": -0.45,
        "rate": -0.15,
        "loudness": -3.0,
        "contour": -2.0,
        "breathiness": 0.35,
        "pause": 0.15,
        "word_gap": 0.01,
    },
    # much faster; pitch very much higher; range much wider; intensity normal; irregular voicing; precise
    "fearful": {"pitch_shift": 3.0, "pitch_range": 0.35, "rate": 0.3, "contour": 0.5, "jitter": 0.5, "tension": 0.2},
    # very much slower; pitch very much lower; range slightly wider; intensity lower; grumbled chest tone;
    # wide, downward terminal inflections. (Level and loudness offset most of disgust's moderate arousal, 0.35,
    # which alone raises F0 by 1.4 st and the level by 2 dB: measured on both engines it ends lower than contempt
    # and no louder than neutral. Stronger offsets make the prosodic diarizer, calibrated on arousal 0.35, read
    # disgust as calm: `python -m emogen.speech.measure emotions`, tests/emogen/diarize.)
    "disgusted": {
        "pitch_shift": -3.5,
        "pitch_range": 0.1,
        "rate": -0.5,
        "loudness": -2.0,
        "contour": -2.5,
        "tension": 0.3,
        "pause": 0.1,
        "word_gap": 0.01,
    },
    # not in Murray & Arnott: the high-arousal pattern of joy/fear with a strongly rising contour
    "surprised": {"pitch_shift": 2.5, "pitch_range": 0.5, "rate": 0.05, "loudness": 2.0, "contour": 3.0},
    # not in Murray & Arnott: a weak disgust (lower, slower, falling), without its loudness drop
    "contempt": {"pitch_shift": -1.0, "pitch_range": -0.1, "rate": -0.05, "contour": -1.5, "tension": 0.2},
}

_FEATURE_LIMITS = {
    "pitch_shift": (-12.0, 12.0),
    "pitch_range": (0.2, 3.0),
    "rate": (0.5, 2.0),
    "loudness": (-20.0, 12.0),
    "pause": (0.0, 2.0),
    "word_gap": (0.0, 0.5),
    "contour": (-8.0, 8.0),
    "breathiness": (0.0, 1.0),
    "tension": (0.0, 1.0),
    "jitter": (0.0, 1.0),
}


def plan_from_state(
    vad: Sequence[float] | torch.Tensor, probs: Sequence[float] | torch.Tensor, intensity: float
) -> SpeechPlanSegment:
    """Vocal features for one emotional state (the rule of this module).

    Args:
        vad (`torch.Tensor` of shape `(3,)` or 3 floats): valence, arousal, dominance in [-1, 1] (already scaled
            by intensity, as in :class:`~emogen.emotion.EmotionTrack`).
        probs (`torch.Tensor` of shape `(K,)` or K floats): distribution over :data:`~emogen.emotion.LABELS`.
        intensity: in [0, 1]; scales the categorical corrections.

    Returns:
        A :class:`SpeechPlanSegment` (features clipped to safe ranges).
    """
    v = [float(x) for x in (vad.tolist() if isinstance(vad, torch.Tensor) else vad)]
    p = [float(x) for x in (probs.tolist() if isinstance(probs, torch.Tensor) else probs)]
    if len(v) != 3:
        raise ValueError(f"vad must hold 3 values (valence, arousal, dominance), got {len(v)}.")
    if len(p) != len(LABELS):
        raise ValueError(f"probs must hold {len(LABELS)} values (one per label in LABELS), got {len(p)}.")
    intensity = float(intensity)
    if not (math.isfinite(intensity) and 0.0 <= intensity <= 1.0):
        raise ValueError(f"intensity must be in [0, 1], got {intensity!r}.")
    acc = dict.fromkeys(_FEATURE_LIMITS, 0.0)
    for name, weights in DIMENSIONAL_RULES.items():
        acc[name] += sum(w * x for w, x in zip(weights, v, strict=True))
    valence, arousal, _ = v
    acc["breathiness"] += 0.3 * max(0.0, -arousal)  # low activation → lax voice (Gobl & Ní Chasaide 2003)
    acc["word_gap"] += 0.03 * max(0.0, -arousal)  # low activation → slower, more pauses (Schröder 2001)
    for label, prob in zip(LABELS, p, strict=True):
        for name, delta in LABEL_RULES[label].items():
            acc[name] += prob * intensity * delta
    acc["pitch_range"] = 2.0 ** acc["pitch_range"]
    acc["rate"] = 2.0 ** acc["rate"]
    for name, (lo, hi) in _FEATURE_LIMITS.items():
        acc[name] = min(hi, max(lo, acc[name]))
    top = max(range(len(LABELS)), key=lambda k: p[k]) if intensity > 0 else 0
    return SpeechPlanSegment(**acc, label=LABELS[top], intensity=intensity, vad=tuple(v))


def plan_segment(
    emotion: str | VAD | EmotionLabel | Sequence[EmotionLabel] | None = None, intensity: float | None = None
) -> SpeechPlanSegment:
    """Vocal features for one emotion given as a label, a VAD point or a label mixture.

    A convenience for core callers (the control layer resolves richer specs into an
    :class:`~emogen.emotion.EmotionTrack`, then uses :func:`plan_from_track`).

    Args:
        emotion: ``None`` (neutral), a label name or synonym (``"happy"``, ``"furious"``), a :class:`VAD`, an
            :class:`EmotionLabel` or a sequence of them (a mixture, weights = intensities).
        intensity: overrides the intensity of a label (default 1) or scales a VAD point.

    Examples:
        >>> plan_segment("sad", 0.7).rate < 1.0
        True
    """
    if intensity is not None and not (isinstance(intensity, (int, float)) and 0.0 <= intensity <= 1.0):
        raise ValueError(f"intensity must be a number in [0, 1], got {intensity!r}.")
    if emotion is None:
        emotion = EmotionLabel("neutral", 0.0)
    if isinstance(emotion, str):
        emotion = EmotionLabel(canonical_label(emotion), 1.0 if intensity is None else intensity)
    elif isinstance(emotion, EmotionLabel) and intensity is not None:
        emotion = EmotionLabel(emotion.name, intensity)
    if isinstance(emotion, VAD):
        scale = 1.0 if intensity is None else float(intensity)
        vad = emotion.as_tensor() * scale
        track = EmotionTrack.from_vad(vad.unsqueeze(0), fps=1.0)
        return plan_from_state(vad, track.probs[0], float(track.intensity[0]))
    labels = [emotion] if isinstance(emotion, EmotionLabel) else list(emotion)
    if not labels or not all(isinstance(e, EmotionLabel) for e in labels):
        raise TypeError(
            "emotion must be None, a label string, a VAD, an EmotionLabel or a sequence of EmotionLabel, "
            f"got {emotion!r}."
        )
    weights = torch.tensor([e.intensity for e in labels], dtype=torch.float32)
    total = float(weights.sum())
    probs = torch.zeros(len(LABELS))
    for e in labels:
        probs[LABELS.index(e.name)] += e.intensity / total if total > 0 else 1.0 / len(labels)
    level = min(1.0, total)
    centroid = probs @ torch.tensor([LABEL_VAD[n] for n in LABELS])
    if total == 0:
        probs = torch.zeros(len(LABELS))
        probs[0] = 1.0
    return plan_from_state((centroid * level).clamp(-1, 1), probs, level)


def plan_from_track(track: EmotionTrack, start: float = 0.0, end: float | None = None) -> SpeechPlanSegment:
    """Vocal features for the part ``[start, end)`` (seconds) of an emotion track: its frames are averaged.

    Times past the end of the track hold its last frame, so a short track can steer a longer utterance.

    Args:
        track: the emotion over time.
        start: segment start in seconds.
        end: segment end in seconds (default: one frame after ``start``).
    """
    if not isinstance(track, EmotionTrack):
        raise TypeError(f"track must be an EmotionTrack, got {type(track).__name__}.")
    if end is None or end <= start:
        end = start + 1.0 / track.fps
    i0 = min(track.num_frames - 1, max(0, int(math.floor(start * track.fps))))
    i1 = min(track.num_frames, max(i0 + 1, int(math.ceil(end * track.fps))))
    vad = track.vad[i0:i1].float().mean(0).cpu()
    probs = track.probs[i0:i1].float().mean(0).cpu()
    if track.labels != LABELS:
        raise ValueError(f"track.labels must be emogen's LABELS {LABELS}, got {track.labels}.")
    intensity = float(track.intensity[i0:i1].float().mean().clamp(0, 1))
    return plan_from_state(vad, probs, intensity)
