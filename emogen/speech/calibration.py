"""Per-engine calibration: the plan's features → what one engine must render for the same measured effect.

emogen's plan rules (:mod:`emogen.speech.plan`) were set by listening to espeak-ng and measuring it with Praat, so
a plan's numbers mean "what espeak-ng does with these settings". Engines differ in how literally they render a
setting: espeak-ng compresses the F0 range (its range parameter at ×1.8 widens the measured F0 spread by only ×1.2)
and stretches rate changes over its own pauses, while a neural voice whose F0 and durations are edited directly
renders them literally (and its prosody predictor raises F0 by itself when it speaks faster).

A :class:`ProsodyCalibration` keeps one rule set for every engine. For each feature it holds a measured transfer
table, plan value → the value the engine is given, such that the engine's *measured* change (median F0 shift,
F0 spread, speaking rate, level, contour) equals what the reference engine (espeak-ng) measures for the same plan
value (word gaps are matched on the speaking rate they cause); ``rate_pitch`` compensates a pitch change the engine
makes by itself at a given rate. The tables are data, produced by ``python -m emogen.speech.measure calibrate`` (one
feature at a time, several sentences, Praat via parselmouth) and printed there; voice quality and the pause before a
segment are passed through unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from .plan import SpeechPlanSegment

__all__ = ["CALIBRATED_FEATURES", "ProsodyCalibration"]

#: Features a calibration maps, and whether their table is read on a log2 axis (factors) or linearly.
CALIBRATED_FEATURES: dict[str, bool] = {
    "pitch_shift": False,
    "pitch_range": True,
    "rate": True,
    "loudness": False,
    "contour": False,
    "word_gap": False,
}
# The SpeechPlanSegment limits the mapped values are kept within.
_LIMITS = {
    "pitch_shift": (-24.0, 24.0),
    "pitch_range": (0.0, 4.0),
    "rate": (0.25, 4.0),
    "loudness": (-40.0, 20.0),
    "contour": (-24.0, 24.0),
    "word_gap": (0.0, 2.0),
}

Table = tuple[tuple[float, float], ...]


def _check_table(name: str, table: Sequence[Sequence[float]], log: bool) -> Table:
    rows = tuple((float(a), float(b)) for a, b in table)
    if len(rows) == 1 or any(not (math.isfinite(a) and math.isfinite(b)) for a, b in rows):
        raise ValueError(f"{name} must hold no points or at least two finite (plan, render) points, got {table!r}.")
    if log and any(a <= 0 or b <= 0 for a, b in rows):
        raise ValueError(f"{name} maps factors: every point must be positive, got {table!r}.")
    xs = [a for a, _ in rows]
    if xs != sorted(xs) or len(set(xs)) != len(xs):
        raise ValueError(f"{name} points must have strictly increasing plan values, got {xs}.")
    return rows


def _interp(x: float, table: Table, log: bool) -> float:
    """Piecewise-linear through ``table`` (on log2 axes for factors), extended linearly past its ends."""
    if not table:
        return x
    xs = np.array([a for a, _ in table], np.float64)
    ys = np.array([b for _, b in table], np.float64)
    if log:
        x, xs, ys = math.log2(x) if x > 0 else -10.0, np.log2(xs), np.log2(ys)
    if x < xs[0]:
        y = ys[0] + (x - xs[0]) * (ys[1] - ys[0]) / (xs[1] - xs[0])
    elif x > xs[-1]:
        y = ys[-1] + (x - xs[-1]) * (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
    else:
        y = float(np.interp(x, xs, ys))
    return float(2.0**y) if log else float(y)


@dataclass(frozen=True)
class ProsodyCalibration:
    """How one engine renders a plan: per-feature transfer tables (plan value → render value).

    An empty table is the identity. Factors (``pitch_range``, ``rate``) are interpolated on log2 axes, the others
    linearly; past the measured points the end segments are extended. Mapped values are kept within the limits of
    :class:`~emogen.speech.SpeechPlanSegment`.

    Args:
        engine: the engine (and voice) the tables were measured on.
        reference: the engine whose measured effects are matched.
        pitch_shift: plan semitones → render semitones.
        pitch_range: plan factor → render factor.
        rate: plan factor → render factor.
        loudness: plan dB → render dB.
        contour: plan semitones → render semitones.
        word_gap: plan seconds → render seconds.
        rate_pitch: plan rate → semitones added to the rendered pitch shift (the engine's own F0 reaction to a
            rate change, compensated).
        source: how the tables were measured (for the record).

    Example:
        >>> cal = ProsodyCalibration("x", pitch_range=((0.5, 0.8), (1.0, 1.0), (2.0, 1.25)))
        >>> round(cal.apply(SpeechPlanSegment(pitch_range=1.5)).pitch_range, 3)
        1.136
    """

    engine: str
    reference: str = "espeak-ng"
    pitch_shift: Table = ()
    pitch_range: Table = ()
    rate: Table = ()
    loudness: Table = ()
    contour: Table = ()
    word_gap: Table = ()
    rate_pitch: Table = ()
    source: str = ""

    def __post_init__(self) -> None:
        for name, log in CALIBRATED_FEATURES.items():
            object.__setattr__(self, name, _check_table(name, getattr(self, name), log))
        rows = _check_table("rate_pitch", self.rate_pitch, False)
        if any(a <= 0 for a, _ in rows):
            raise ValueError(f"rate_pitch maps plan rates (> 0), got {self.rate_pitch!r}.")
        object.__setattr__(self, "rate_pitch", rows)

    @classmethod
    def identity(cls, engine: str) -> ProsodyCalibration:
        """No mapping: the engine renders the plan's numbers as they are (the reference engine itself)."""
        return cls(engine=engine, reference=engine, source="identity")

    @property
    def is_identity(self) -> bool:
        return not any(getattr(self, n) for n in (*CALIBRATED_FEATURES, "rate_pitch"))

    def apply(self, seg: SpeechPlanSegment) -> SpeechPlanSegment:
        """The features this engine renders for ``seg`` (label, intensity and VAD are kept for the record)."""
        if not isinstance(seg, SpeechPlanSegment):
            raise TypeError(f"apply() needs a SpeechPlanSegment, got {type(seg).__name__}.")
        if self.is_identity:
            return seg
        out = {}
        for name, log in CALIBRATED_FEATURES.items():
            out[name] = _interp(getattr(seg, name), getattr(self, name), log)
        if self.rate_pitch:
            by_octave = tuple((math.log2(a), b) for a, b in self.rate_pitch)
            out["pitch_shift"] += _interp(math.log2(seg.rate), by_octave, False)
        for name, (lo, hi) in _LIMITS.items():
            out[name] = min(hi, max(lo, out[name]))
        return replace(seg, **out)

    def to_dict(self) -> dict:
        """JSON-ready dict of the tables."""
        return {
            "engine": self.engine,
            "reference": self.reference,
            **{n: [list(p) for p in getattr(self, n)] for n in (*CALIBRATED_FEATURES, "rate_pitch")},
            "source": self.source,
        }
