"""Emotional TTS core: the waveform must move the way emotional speech does (measured with Praat)."""

from __future__ import annotations

import json
import logging
import threading

import numpy as np
import parselmouth
import pytest
import torch

from emogen.emotion import LABELS, VAD, EmotionLabel, EmotionTrack
from emogen.speech import (
    MAX_CHARS,
    PhoneSegment,
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


@pytest.fixture(scope="module", params=["en-us", "en-us+f3"])
def by_emotion(request):
    voice = request.param
    return voice, {e: measure(*_wave(e, voice)) for e in ("neutral", "happy", "angry", "sad")}


def _wave(emotion: str, voice: str):
    out = synthesize([(SENTENCE, plan_segment(emotion))], voice=voice)
    return out.waveform, out.sample_rate


def test_emotions_move_pitch_duration_loudness_like_emotional_speech(by_emotion):
    voice, m = by_emotion
    (f_n, d_n, l_n), (f_h, d_h, l_h), (f_a, d_a, l_a), (f_s, d_s, l_s) = (
        m[e] for e in ("neutral", "happy", "angry", "sad")
    )
    # Murray & Arnott 1993: happiness and anger much / very much higher pitched, sadness slightly lower
    assert semitones(f_h, f_n) > 2.0, (voice, m)
    assert semitones(f_a, f_n) > 2.0, (voice, m)
    assert semitones(f_s, f_n) < -1.5, (voice, m)
    # sadness slower, happiness and anger faster
    assert d_s > 1.15 * d_n and d_h < d_n and d_a < d_n, (voice, m)
    # sadness quieter, happiness and anger louder (intensity "higher")
    assert l_s < l_n - 3.0 and l_h > l_n + 3.0 and l_a > l_n + 3.0, (voice, m)


def test_intensity_scales_the_effect():
    f = {k: measure(*_wave_int(k))[0] for k in (0.0, 0.5, 1.0)}
    assert f[0.0] < f[0.5] < f[1.0]


def _wave_int(intensity: float):
    out = synthesize([(SENTENCE, plan_segment("happy", intensity))])
    return out.waveform, out.sample_rate


def test_per_segment_emotion_changes_at_the_boundary():
    first, second = "We won the match today, everyone!", "But Sam got hurt very badly."
    out = synthesize([(first, plan_segment("happy")), (second, plan_segment("sad"))], voice="en-us+f3")
    (a0, a1), (b0, b1) = out.plan.spans
    sr = out.sample_rate
    assert a1 <= b0 <= b1 <= out.duration + 1e-6
    fa, _, la = measure(out.waveform[int(a0 * sr) : int(a1 * sr)], sr)
    fb, _, lb = measure(out.waveform[int(b0 * sr) : int(b1 * sr)], sr)
    assert semitones(fa, fb) > 4.0
    assert la - lb > 5.0
    # and the reverse order flips it: it is the plan, not the position in the utterance
    rev = synthesize([(first, plan_segment("sad")), (second, plan_segment("happy"))], voice="en-us+f3")
    (a0, a1), (b0, b1) = rev.plan.spans
    fa2 = measure(rev.waveform[int(a0 * sr) : int(a1 * sr)], sr)[0]
    fb2 = measure(rev.waveform[int(b0 * sr) : int(b1 * sr)], sr)[0]
    assert semitones(fb2, fa2) > 4.0


def test_phone_timings_cover_the_waveform_and_follow_the_rate():
    slow = synthesize([(SENTENCE, SpeechPlanSegment(rate=0.7))])
    fast = synthesize([(SENTENCE, SpeechPlanSegment(rate=1.4))])
    for out in (slow, fast):
        starts = [p.start for p in out.phones]
        assert starts == sorted(starts)
        assert all(p.end <= out.duration + 1e-6 for p in out.phones)
        assert out.phones[-1].end == pytest.approx(out.duration, abs=0.02)
        assert sum(p.duration for p in out.phones) == pytest.approx(out.duration, abs=0.05)
    speech = [p for p in slow.phones if not p.phone.startswith("_")]
    assert [p.phone for p in speech] == [p.phone for p in fast.phones if not p.phone.startswith("_")]
    assert slow.duration > 1.6 * fast.duration
    # the word "fox" ends later in the slow version, in proportion
    i = [p.phone for p in speech].index("f")
    j = [p.phone for p in fast.phones].index("f")
    assert speech[i].start / fast.phones[j].start == pytest.approx(slow.duration / fast.duration, rel=0.2)


def test_phone_onsets_match_energy_after_pauses():
    out = synthesize([("Stop.", SpeechPlanSegment()), ("Papa.", SpeechPlanSegment(pause=0.5))])
    sr = out.sample_rate
    p = next(p for p in out.phones if p.phone == "p" and p.start > out.plan.spans[1][0] - 1e-6)
    assert p.start >= out.plan.spans[0][1] + 0.5 - 1e-6
    # silence before the onset of the second segment, sound within 150 ms after it
    gap = out.waveform[int((p.start - 0.3) * sr) : int((p.start - 0.05) * sr)]
    after = out.waveform[int(p.start * sr) : int((p.start + 0.15) * sr)]
    assert np.abs(gap).max() < 0.01 < np.abs(after).max()


def test_voices_female_is_higher_and_list_has_variants():
    voices = list_voices()
    assert {"en-us", "en", "en-us+f3", "en-us+m3"} <= set(voices)
    f_m = measure(*_wave("neutral", "en-us"))[0]
    f_f = measure(*_wave("neutral", "en-us+f3"))[0]
    assert semitones(f_f, f_m) > 7.0


def test_result_types_and_json():
    out = synthesize("Hello there.")
    assert out.waveform.dtype == np.float32 and out.waveform.ndim == 1 and out.sample_rate == 22050
    assert np.abs(out.waveform).max() <= 1.0
    assert all(isinstance(p, PhoneSegment) for p in out.phones)
    assert isinstance(out.plan, SpeechPlan) and out.plan.texts == ("Hello there.",)
    data = json.loads(json.dumps(out.timings()))
    assert data["phones"][0]["phone"] and data["plan"]["segments"][0]["label"] == "neutral"
    # a plan can be replayed (espeak-ng's output length varies by up to ~10 ms from call to call)
    again = synthesize(out.plan)
    assert [p.phone for p in again.phones] == [p.phone for p in out.phones]
    assert again.duration == pytest.approx(out.duration, abs=0.02)


def test_bad_inputs_are_clear(caplog):
    with pytest.raises(ValueError, match="Nothing to speak"):
        synthesize("")
    with pytest.raises(ValueError, match="Nothing to speak"):
        synthesize("😀 🎉 \x07")
    with pytest.raises(ValueError, match=str(MAX_CHARS)):
        synthesize("word " * (MAX_CHARS // 4))
    with pytest.raises(ValueError, match="voice"):
        synthesize("Hello.", voice="klingon")
    with pytest.raises(ValueError, match="variant"):
        synthesize("Hello.", voice="en-us+nosuch")
    with pytest.raises(TypeError, match="SpeechPlanSegment"):
        synthesize([("Hello.", "happy")])
    with pytest.raises(ValueError, match="speed"):
        synthesize("Hello.", speed=0)
    with caplog.at_level(logging.WARNING, logger="emogen.speech.text"):
        out = synthesize("Hello 😀 wörld \x00 Привет!")
    assert "unspeakable" in caplog.text and "😀" in caplog.text
    assert out.plan.texts == ("Hello wörld !",)


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


def test_threads_get_their_own_audio():
    texts = ["First thread speaks here.", "Second one says something else entirely."]
    expected = [synthesize(t) for t in texts]
    results: dict[int, list] = {0: [], 1: []}

    def work(i: int) -> None:
        for _ in range(3):
            results[i].append(synthesize(texts[i]))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(2):
        assert len(results[i]) == 3
        for got in results[i]:
            assert [p.phone for p in got.phones] == [p.phone for p in expected[i].phones]
            assert got.duration == pytest.approx(expected[i].duration, abs=0.02)  # espeak varies by ~10 ms


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
