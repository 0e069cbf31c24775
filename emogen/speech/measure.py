"""Measured prosody (Praat via parselmouth): what an engine actually renders, and the calibration fitted from it.

:func:`prosody_stats` measures one waveform: median F0 (Praat autocorrelation pitch, 10 ms, 75–700 Hz), F0 spread
(standard deviation of the voiced frames in semitones re the median, and their 5–95 % range; frames more than
11 st from the median, octave errors of the tracker, left out), contour (median of
the last third of the voiced frames minus the first third, semitones), RMS level (dBFS over the active 10 ms frames,
within 35 dB of the loudest) and the active duration (first to last active frame). :func:`effects` compares it with
the same sentence spoken neutral: Δpitch (st), spread ratio, rate (neutral duration / duration), Δloudness (dB),
Δcontour (st).

Command line (each prints Markdown; ``--json`` writes the numbers)::

    python -m emogen.speech.measure calibrate   # fit hibari's ProsodyCalibration against espeak-ng
    python -m emogen.speech.measure emotions    # the per-emotion table of both engines

The calibration (:mod:`emogen.speech.calibration`) is fitted one feature at a time: the reference engine's mean
effect over :data:`SENTENCES` for each plan value (espeak-ng, mean of ``en-us`` and ``en-us+f3``) is inverted
through the engine's own measured response curve (rendered with the identity calibration).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from .calibration import CALIBRATED_FEATURES, ProsodyCalibration
from .plan import SpeechPlanSegment, plan_segment

__all__ = ["SENTENCES", "EMOTIONS", "prosody_stats", "effects", "mean_effects", "fit_calibration", "emotion_table"]

#: Neutral read sentences (statements, a question) used for every prosody measurement.
SENTENCES: tuple[str, ...] = (
    "The train to the city leaves at nine every morning.",
    "We walked along the river and talked about the summer.",
    "I never expected to see you here today.",
    "She opened the letter and read it twice before dinner.",
    "Our neighbours are moving to a small town in the mountains.",
    "Can you tell me where the library is?",
)
EMOTIONS: tuple[str, ...] = ("neutral", "happy", "angry", "surprised", "fearful", "sad", "disgusted", "contempt")
#: One-feature sweeps: plan values for the reference engine, and a wider, denser grid for the engine calibrated.
REFERENCE_GRID: dict[str, tuple[float, ...]] = {
    "pitch_shift": (-6.0, -3.0, 3.0, 6.0),
    "pitch_range": (0.5, 0.7, 1.4, 2.0, 2.8),
    "rate": (0.6, 0.8, 1.25, 1.6),
    "loudness": (-6.0, 6.0),
    "contour": (-4.0, 4.0),
    "word_gap": (0.01, 0.02, 0.05),
}
ENGINE_GRID: dict[str, tuple[float, ...]] = {
    "pitch_shift": (-8.0, -4.0, 4.0, 8.0),
    "pitch_range": (0.3, 0.5, 0.7, 0.85, 1.2, 1.4, 1.7, 2.0, 2.5),
    "rate": (0.5, 0.6, 0.7, 0.8, 0.9, 1.1, 1.25, 1.4, 1.6, 1.8, 2.0),
    "loudness": (-6.0, 6.0),
    "contour": (-8.0, -4.0, -2.0, 2.0, 4.0, 8.0),
    "word_gap": (0.01, 0.02, 0.03, 0.05, 0.08),
}
#: The effect each feature is matched on (a key of :func:`effects`).
RESPONSE = {
    "pitch_shift": "pitch",
    "pitch_range": "spread",
    "rate": "rate",
    "loudness": "loudness",
    "contour": "contour",
    "word_gap": "rate",
}


def prosody_stats(wave: np.ndarray, sample_rate: int) -> dict[str, float]:
    """Median F0 (Hz), F0 spread (std and 5–95 % range, st), contour (st), RMS (dBFS) and active duration (s)."""
    import parselmouth

    x = np.asarray(wave, np.float64)
    pitch = parselmouth.Sound(x, sampling_frequency=sample_rate).to_pitch_ac(
        time_step=0.01, pitch_floor=75.0, pitch_ceiling=700.0
    )
    f = pitch.selected_array["frequency"]
    fv = f[f > 0]
    med = float(np.median(fv)) if len(fv) else float("nan")
    st = 12 * np.log2(fv / med) if len(fv) else np.zeros(0)
    core = st[np.abs(st) < 11.0]  # octave errors of the pitch tracker (breathy or creaky frames) left out
    third = max(1, len(st) // 3)
    frame = int(0.01 * sample_rate)
    e = (x[: len(x) // frame * frame].reshape(-1, frame) ** 2).mean(1)
    edb = 10 * np.log10(e + 1e-12)
    active = np.flatnonzero(edb > edb.max(initial=-120.0) - 35)
    return {
        "median_f0": med,
        "spread_st": float(core.std()) if len(core) else float("nan"),
        "range_st": float(np.percentile(core, 95) - np.percentile(core, 5)) if len(core) else float("nan"),
        "contour_st": float(np.median(st[-third:]) - np.median(st[:third])) if len(st) >= 3 else float("nan"),
        "rms_db": float(10 * np.log10(e[active].mean() + 1e-12)) if len(active) else float("-inf"),
        "active_s": float((active[-1] - active[0] + 1) * 0.01) if len(active) else 0.0,
    }


def effects(stats: dict[str, float], neutral: dict[str, float]) -> dict[str, float]:
    """``stats`` relative to the neutral rendition of the same sentence.

    Returns:
        ``pitch`` (Δ median F0, st), ``spread`` (F0 std ratio), ``rate`` (neutral active duration / active duration),
        ``loudness`` (Δ RMS, dB), ``contour`` (Δ contour, st).
    """
    return {
        "pitch": 12 * math.log2(stats["median_f0"] / neutral["median_f0"]),
        "spread": stats["spread_st"] / neutral["spread_st"],
        "rate": neutral["active_s"] / stats["active_s"],
        "loudness": stats["rms_db"] - neutral["rms_db"],
        "contour": stats["contour_st"] - neutral["contour_st"],
    }


def _stats(engine, voice: str | None, text: str, seg: SpeechPlanSegment) -> dict[str, float]:
    out = engine.synthesize([(text, seg)], voice=voice)
    return prosody_stats(out.waveform, out.sample_rate)


def mean_effects(
    engine, voice: str | None, plans: dict[str, SpeechPlanSegment], sentences: Sequence[str] = SENTENCES
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """Mean effect of each plan over ``sentences`` (vs each sentence's neutral), and the mean raw stats.

    Returns:
        ``(effects, stats)``: ``{plan name: {effect: mean}}`` (the mean of the per-sentence effects; the spread ratio
        and rate as geometric means) and ``{plan name: {stat: mean}}`` (``"neutral"`` included).
    """
    neutral = [_stats(engine, voice, s, SpeechPlanSegment()) for s in sentences]
    eff: dict[str, dict[str, float]] = {}
    raw: dict[str, dict[str, float]] = {"neutral": {k: float(np.mean([n[k] for n in neutral])) for k in neutral[0]}}
    for name, seg in plans.items():
        pairs = zip(sentences, neutral, strict=True)
        rows = [n if seg.is_neutral else _stats(engine, voice, s, seg) for s, n in pairs]
        per = [effects(r, n) for r, n in zip(rows, neutral, strict=True)]
        eff[name] = {k: _mean([p[k] for p in per], geometric=k in ("spread", "rate")) for k in per[0]}
        raw[name] = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    return eff, raw


def _mean(values: list[float], geometric: bool) -> float:
    return float(np.exp(np.mean(np.log(values)))) if geometric else float(np.mean(values))


def _sweep(engine, voice, feature: str, values: Sequence[float], sentences) -> dict[float, dict[str, float]]:
    plans = {str(v): replace(SpeechPlanSegment(), **{feature: v}) for v in values}
    eff, _ = mean_effects(engine, voice, plans, sentences)
    return {v: eff[str(v)] for v in values}


def fit_calibration(
    engine, reference: Sequence[tuple[object, str | None]], sentences: Sequence[str] = SENTENCES, name: str = ""
) -> tuple[ProsodyCalibration, dict]:
    """Fit ``engine``'s calibration so that its measured effects match the reference engine(s).

    Args:
        engine: the engine to calibrate; it must render the plan literally (identity calibration) while measured.
        reference: ``[(engine, voice), …]`` whose mean effect per plan value is the target.
        sentences: the measured sentences.
        name: the calibration's ``engine`` label.

    Returns:
        The calibration and the raw sweeps (``{"reference": …, "engine": …}``, per feature, per value).
    """
    ref_sweeps: dict[str, dict[float, dict[str, float]]] = {}
    eng_sweeps: dict[str, dict[float, dict[str, float]]] = {}
    identity = {"pitch": 0.0, "spread": 1.0, "rate": 1.0, "loudness": 0.0, "contour": 0.0}
    tables: dict[str, tuple] = {}
    for feature, log in CALIBRATED_FEATURES.items():
        key, neutral_value = RESPONSE[feature], getattr(SpeechPlanSegment(), feature)
        per_ref = [_sweep(e, v, feature, REFERENCE_GRID[feature], sentences) for e, v in reference]
        ref = {x: {k: float(np.mean([r[x][k] for r in per_ref])) for k in identity} for x in REFERENCE_GRID[feature]}
        ref[neutral_value] = dict(identity)
        eng = _sweep(engine, None, feature, ENGINE_GRID[feature], sentences)
        eng[neutral_value] = dict(identity)
        ref_sweeps[feature], eng_sweeps[feature] = dict(sorted(ref.items())), dict(sorted(eng.items()))
        # invert the engine's response curve (made monotonic) at the reference's effects
        us = np.array(sorted(eng), np.float64)
        resp = np.array([eng[u][key] for u in us], np.float64)
        axis = np.log2 if key in ("spread", "rate") else (lambda a: a)
        sign = 1.0 if axis(resp)[-1] >= axis(resp)[0] else -1.0  # word gaps slow the rate down
        r = np.maximum.accumulate(sign * axis(resp))
        r = r + np.arange(len(r)) * 1e-6  # strictly increasing for interpolation
        u_axis = np.log2(us) if log else us
        points = []
        for v in sorted(ref):
            target = sign * axis(np.array(ref[v][key]))
            u = float(np.interp(target, r, u_axis))
            points.append((float(v), round(float(2**u) if log else u, 4)))
        tables[feature] = tuple(points)
    # the engine's own F0 reaction to rate, at the calibrated rates, minus the reference's
    rate_tab = dict(tables["rate"])
    eng_rate = eng_sweeps["rate"]
    us = np.array(sorted(eng_rate), np.float64)
    comp = []
    for v, effect in ref_sweeps["rate"].items():
        own = float(np.interp(math.log2(rate_tab[v]), np.log2(us), [eng_rate[u]["pitch"] for u in us]))
        comp.append((float(v), round(effect["pitch"] - own, 3)))
    against = ", ".join(f"{getattr(e, 'name', e)} {v}" for e, v in reference)
    src = f"fitted by emogen.speech.measure on {len(sentences)} sentences against {against}"
    label = name or getattr(engine, "name", "engine")
    cal = ProsodyCalibration(engine=label, source=src, rate_pitch=tuple(comp), **tables)
    return cal, {"reference": ref_sweeps, "engine": eng_sweeps}


def emotion_table(engine, voice: str | None, sentences: Sequence[str] = SENTENCES) -> dict[str, dict[str, float]]:
    """Per emotion (full intensity): mean effects vs neutral plus the absolute F0 spread and level."""
    plans = {e: plan_segment(None if e == "neutral" else e) for e in EMOTIONS}
    eff, raw = mean_effects(engine, voice, plans, sentences)
    return {e: {**eff[e], "spread_st": raw[e]["spread_st"], "median_f0": raw[e]["median_f0"]} for e in EMOTIONS}


def _markdown_emotions(tables: dict[str, dict[str, dict[str, float]]]) -> str:
    lines = [
        "| emotion | " + " | ".join(f"{n}: Δpitch st / F0 spread st / rate % / Δloudness dB" for n in tables) + " |",
        "|---|" + "---|" * len(tables),
    ]
    for e in EMOTIONS:
        cells = []
        for t in tables.values():
            r = t[e]
            cells.append(
                f"{r['pitch']:+.1f} / {r['spread_st']:.2f} / {100 * (r['rate'] - 1):+.0f} / {r['loudness']:+.1f}"
            )
        lines.append(f"| {e} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emogen.speech.measure", description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("calibrate", "emotions"))
    parser.add_argument("--sentences", type=int, default=len(SENTENCES), help="how many of SENTENCES to use")
    parser.add_argument("--json", help="also write the numbers to this JSON file")
    parser.add_argument(
        "--uncalibrated",
        action="store_true",
        help="emotions: also hibari rendering the plans literally (no calibration)",
    )
    args = parser.parse_args(argv)
    from .engines import EspeakEngine
    from .hibari import HibariEngine

    sentences = SENTENCES[: args.sentences]
    espeak = EspeakEngine()
    if args.what == "calibrate":
        raw = HibariEngine(calibration=ProsodyCalibration.identity("hibari"))
        cal, sweeps = fit_calibration(raw, [(espeak, "en-us"), (espeak, "en-us+f3")], sentences, "hibari heart")
        print(json.dumps(cal.to_dict(), indent=1))
        tables = {k: {f: {str(x): e for x, e in s.items()} for f, s in v.items()} for k, v in sweeps.items()}
        data = {"calibration": cal.to_dict(), "sweeps": tables}
    else:
        tables = {
            "espeak-ng en-us": emotion_table(espeak, "en-us", sentences),
            "espeak-ng en-us+f3": emotion_table(espeak, "en-us+f3", sentences),
            "hibari heart": emotion_table(HibariEngine(), None, sentences),
        }
        if args.uncalibrated:
            literal = HibariEngine(calibration=ProsodyCalibration.identity("hibari"))
            tables["hibari heart, uncalibrated"] = emotion_table(literal, None, sentences)
        print(_markdown_emotions(tables))
        data = tables
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
