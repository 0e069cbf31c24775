"""The espeak-ng core (``emogen.speech.synthesize``, WORLD reshaping, streaming) and the plan rules.

What every engine must do (emotions measured with Praat, timings, errors) is in test_engines.py, run on espeak-ng
and hibari."""

from __future__ import annotations

import json

import numpy as np
import parselmouth
import pytest
import torch

from emogen.emotion import LABELS, VAD, EmotionLabel, EmotionTrack
from emogen.speech import (
    SpeechPlan,
    SpeechPlanSegment,
    concatenate,
    list_voices,
    plan_from_track,
    plan_segment,
    synthesize,
    synthesize_stream,
)
from emogen.speech.prosody import reshape_voice

SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank."


def f0_values(wave: np.ndarray, sr: int) -> np.ndarray:
    pitch = parselmouth.Sound(wave.astype(np.float64), sr).to_pitch(time_step=0.01, pitch_floor=50, pitch_ceiling=700)
    f = pitch.selected_array["frequency"]
    return f[f > 0]


def measure(wave: np.ndarray, sr: int) -> tuple[float, float, float]:
    """(median F0 in Hz, duration in s, RMS level in dB)."""
    return float(np.median(f0_values(wave, sr))), len(wave) / sr, float(20 * np.log10(np.sqrt(np.mean(wave**2))))


def semitones(a: float, b: float) -> float:
    return 12 * np.log2(a / b)


def _wave(emotion: str, voice: str):
    out = synthesize([(SENTENCE, plan_segment(emotion))], voice=voice)
    return out.waveform, out.sample_rate


def test_voices_female_is_higher_and_list_has_variants():
    voices = list_voices()
    assert {"en-us", "en", "en-us+f3", "en-us+m3"} <= set(voices)
    f_m = measure(*_wave("neutral", "en-us"))[0]
    f_f = measure(*_wave("neutral", "en-us+f3"))[0]
    assert semitones(f_f, f_m) > 7.0


def test_core_synthesize_is_espeak_and_checks_its_voices():
    """The core ``synthesize`` speaks with espeak-ng (engine-independent checks: test_engines.py)."""
    out = synthesize("Hello there.")
    assert out.sample_rate == 22050 and out.plan.voice == "en-us" and out.phones[0].phone.startswith("_")
    with pytest.raises(ValueError, match="voice"):
        synthesize("Hello.", voice="klingon")
    with pytest.raises(ValueError, match="variant"):
        synthesize("Hello.", voice="en-us+nosuch")
    with pytest.raises(TypeError, match="SpeechPlanSegment"):
        synthesize([("Hello.", "happy")])
    with pytest.raises(ValueError, match="Nothing to speak"):
        synthesize("")


def test_stream_yields_sentences_with_offsets():
    text = "One. Two is here. Three comes last."
    chunks = list(synthesize_stream([(text, plan_segment("happy"))]))
    assert [c.plan.texts[0] for c in chunks] == ["One.", "Two is here.", "Three comes last."]
    offsets = [c.offset for c in chunks]
    assert offsets[0] == 0.0
    assert offsets[2] == pytest.approx(chunks[0].duration + chunks[1].duration)
    joined = concatenate(chunks)
    assert joined.duration == pytest.approx(sum(c.duration for c in chunks))
    assert joined.plan.spans[2][0] == pytest.approx(offsets[2], abs=1e-6)


# ---------------------------------------------------------------------------------------------------- the plan rules
def test_plan_rules_follow_the_literature():
    n, h, a, s = (plan_segment(e) for e in ("neutral", "happy", "angry", "sad"))
    assert n.is_neutral and n.voice_quality == "modal"
    assert h.pitch_shift > 0 and a.pitch_shift > 0 and s.pitch_shift < 0
    assert h.pitch_range > 1 and a.pitch_range > 1 and s.pitch_range < 1
    assert h.rate > 1 and a.rate > 1 and s.rate < 1
    assert h.loudness > 0 and a.loudness > h.loudness and s.loudness < 0
    assert h.contour > 0 > s.contour  # valence → rising vs falling contour
    assert a.voice_quality == "tense" and s.voice_quality == "breathy"
    assert plan_segment("fearful").jitter > 0 and plan_segment("disgusted").rate < s.rate
    # dominance lowers pitch and raises loudness (Schröder 2001)
    low, high = plan_segment(VAD(0.0, 0.3, -0.8)), plan_segment(VAD(0.0, 0.3, 0.8))
    assert high.pitch_shift < low.pitch_shift and high.loudness > low.loudness
    # arousal raises rate, pitch and loudness
    calm, excited = plan_segment(VAD(0.0, -0.8)), plan_segment(VAD(0.0, 0.8))
    assert excited.rate > calm.rate and excited.pitch_shift > calm.pitch_shift and excited.loudness > calm.loudness
    # synonyms, EmotionLabel and mixtures
    assert plan_segment("furious") == plan_segment(EmotionLabel("angry"))
    mix = plan_segment([EmotionLabel("happy", 0.5), EmotionLabel("sad", 0.5)])
    assert s.pitch_shift < mix.pitch_shift < h.pitch_shift


def test_plan_segment_validation():
    with pytest.raises(ValueError, match="hapy"):
        plan_segment("hapy")
    with pytest.raises(ValueError, match="rate"):
        SpeechPlanSegment(rate=0.0)
    with pytest.raises(ValueError, match="pitch_shift"):
        SpeechPlanSegment(pitch_shift=float("nan"))
    with pytest.raises(ValueError, match="one text per segment"):
        SpeechPlan(texts=("a", "b"), segments=(SpeechPlanSegment(),))
    json.dumps(plan_segment("sad", 0.3).to_dict())


def test_plan_from_track_samples_the_time():
    fps, n = 10.0, 40
    vad = torch.zeros(n, 3)
    vad[20:] = torch.tensor([0.81, 0.51, 0.46])
    probs = torch.zeros(n, len(LABELS))
    probs[:20, 0] = 1.0
    probs[20:, LABELS.index("happy")] = 1.0
    intensity = torch.cat([torch.zeros(20), torch.ones(20)])
    track = EmotionTrack(vad=vad, probs=probs, intensity=intensity, fps=fps)
    early, late = plan_from_track(track, 0.0, 1.5), plan_from_track(track, 2.5, 3.5)
    assert early.is_neutral and late.label == "happy" and late.pitch_shift > 2.0
    past = plan_from_track(track, 10.0, 11.0)  # past the end holds the last frame
    assert past.label == "happy" and past.pitch_shift == pytest.approx(late.pitch_shift, abs=1e-4)


def test_world_reshape_keeps_length_and_moves_f0():
    out = synthesize(SENTENCE)
    x, sr = out.waveform, out.sample_rate
    up = reshape_voice(x, sr, pitch_shift=4.0)
    assert len(up) == len(x)
    assert semitones(np.median(f0_values(up, sr)), np.median(f0_values(x, sr))) == pytest.approx(4.0, abs=0.7)
    rising = reshape_voice(x, sr, contour=6.0)
    falling = reshape_voice(x, sr, contour=-6.0)

    def slope(w):
        p = parselmouth.Sound(w.astype(np.float64), sr).to_pitch(time_step=0.01, pitch_floor=50, pitch_ceiling=700)
        f = p.selected_array["frequency"]
        t = p.xs()
        keep = f > 0
        return np.polyfit(t[keep], 12 * np.log2(f[keep]), 1)[0]

    assert slope(rising) - slope(falling) > 2.0
    np.testing.assert_array_equal(reshape_voice(x, sr), x)  # no edit → unchanged
