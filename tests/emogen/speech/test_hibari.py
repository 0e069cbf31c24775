"""hibari's engine: the model from inside the wheel, the in-memory graph patch, literal prosody, ARPAbet phones."""

from __future__ import annotations

import math
import socket

import numpy as np
import parselmouth
import pytest

from emogen.motion.teacher import stressed_onsets
from emogen.speech import ProsodyCalibration, SpeechPlanSegment, plan_segment
from emogen.speech.hibari import (
    HIBARI_VERSION,
    MISAKI_TO_ARPABET,
    HibariEngine,
    locate_assets,
    misaki_to_phones,
)
from emogen.speech.hibari.model import HibariRuntime
from emogen.speech.hibari.phonemes import MAX_PHONEMES, MODIFIERS, PUNCT, STRESS, pack_tokens
from emogen.speech.hibari.vocoder import warp_f0
from emogen.speech.visemes import ARPABET_TO_VISEME, detect_alphabet, phones_to_arkit

TEXT = "We walked along the river and talked about the summer."


@pytest.fixture(scope="module")
def eng() -> HibariEngine:
    return HibariEngine()


@pytest.fixture(scope="module")
def literal() -> HibariEngine:
    """Renders the plan's numbers as they are (no calibration)."""
    return HibariEngine(calibration=ProsodyCalibration.identity("hibari"))


def median_f0(wave: np.ndarray, sr: int) -> float:
    f = (
        parselmouth.Sound(wave.astype(np.float64), sr)
        .to_pitch_ac(time_step=0.01, pitch_floor=75.0, pitch_ceiling=700.0)
        .selected_array["frequency"]
    )
    return float(np.median(f[f > 0]))


def test_assets_are_inside_the_wheel_with_their_licence(eng):
    a = locate_assets()
    assert a.version == HIBARI_VERSION and a.model.name == "hibari.onnx" and a.model.is_relative_to(a.package_dir)
    files = eng.license_files
    assert "Apache License" in files["LICENSE"].read_text()
    assert "Kokoro-82M" in files["NOTICE"].read_text()


def test_patched_graph_interface(eng):
    rt = eng.runtime
    assert {i.name for i in rt._full.get_inputs()} == {"ids", "speed", "f0_scale"}
    outs = {o.name for o in rt._full.get_outputs()}
    assert {"lh", "theta", "ln", "lr", "phi", "f0", "f0_pred", "durations", "raw_durations"} <= outs
    assert {o.name for o in rt._prosody.get_outputs()} == {"durations", "raw_durations", "f0_pred"}
    assert not any(p.suffix == ".onnx" and "emogen" in p.name for p in rt.assets.model.parent.iterdir())
    # per-phoneme speed: slowing one word changes exactly its durations
    ch = eng._chunks("She sat on the big soft chair.")[0]
    speed = np.ones(len(ch.ids), np.float32)
    d1 = rt.prosody(ch.ids, speed)[0]
    i = ch.symbols.index("b")
    speed[i : i + 4] = 0.5
    d2 = rt.prosody(ch.ids, speed)[0]
    changed = np.flatnonzero(d1 != d2)
    assert len(changed) and changed.min() >= i and changed.max() < i + 4


def test_neutral_is_hibari_itself(eng):
    from hibari import Hibari

    ref = Hibari()(TEXT, seed=0)
    ours = eng.synthesize(TEXT).waveform
    assert len(ref) == len(ours) and np.allclose(ref, ours, atol=1e-5)


def test_phones_are_arpabet_for_the_visemes(eng):
    out = eng.synthesize("The quick brown fox jumps over the lazy dog; she sells sea shells, and Ruth's birthday.")
    phones = [p.phone for p in out.phones]
    assert detect_alphabet(phones) == "arpabet"
    base = {p.rstrip("012") for p in phones}
    assert base <= set(ARPABET_TO_VISEME)
    assert {"DH", "AH", "K", "W", "IH", "B", "R", "AW", "N", "F", "AA", "S", "ER", "TH", "SIL"} <= base
    # vowels carry CMUdict stress digits: the teacher's brows and nods follow the primary stresses
    assert "AA1" in phones and "AH0" in phones and all(p[-1] in "012" for p in phones if p in ("AA1", "AH0"))
    assert stressed_onsets(out.phones)
    for sym in eng.runtime.vocab:
        if sym not in PUNCT and sym not in STRESS and sym not in MODIFIERS and sym != " ":
            assert MISAKI_TO_ARPABET[sym] in ARPABET_TO_VISEME, sym
    mouth = phones_to_arkit(list(out.phones), fps=25.0, duration=out.duration)
    assert mouth.shape[0] == round(out.duration * 25) and mouth.max() > 0.3


def test_misaki_grouping():
    # b ˈ ɜ ɹ d (bird): the stress mark joins the vowel, ɜɹ → ER1; pads and "." are silence
    out = misaki_to_phones(["", "b", "ˈ", "ɜ", "ɹ", "d", ".", ""], [3, 1, 2, 2, 1, 1, 4, 1])
    assert out == [("SIL", 0, 3), ("B", 3, 4), ("ER1", 4, 9), ("D", 9, 10), ("SIL", 10, 15)]
    # ə ɹ before a vowel stays AH R (around); a word space sounding between two words is shared by their phones
    symbols = ["", "ə", "ɹ", "ˈ", "W", "n", "d", " ", "t", ""]
    out = misaki_to_phones(symbols, [1, 1, 1, 1, 1, 1, 1, 2, 1, 1])
    assert [p for p, _, _ in out] == ["SIL", "AH0", "R", "AW1", "N", "D", "T", "SIL"]
    assert out[5] == ("D", 6, 8) and out[6] == ("T", 8, 10)
    # … and a silent one is a pause
    silent = [s == " " for s in symbols]
    out = misaki_to_phones(symbols, [1, 1, 1, 1, 1, 1, 1, 2, 1, 1], silent)
    assert [p for p, _, _ in out] == ["SIL", "AH0", "R", "AW1", "N", "D", "SIL", "T", "SIL"]
    with pytest.raises(ValueError, match="differ in length"):
        misaki_to_phones(["a"], [1, 2])


def test_word_spaces_are_pauses_only_where_the_audio_is_silent(eng):
    """The model renders the transition between words in most word spaces: labelling them pauses would close the
    talking head's mouth while the voice sounds."""
    out = eng.synthesize("We walked along the river, and then we talked about the summer for a while.")
    sr, x = out.sample_rate, out.waveform
    active = np.median([np.mean(x[i : i + 240] ** 2) for i in range(0, len(x) - 240, 240) if np.any(x[i : i + 240])])
    for p in out.phones[1:-1]:
        seg = x[int(p.start * sr) : int(p.end * sr)]
        if p.is_pause:
            assert 10 * np.log10(np.mean(seg**2) / active) < -15, p
        elif p.phone[:2] in ("AA", "AE", "AH", "EY", "IY", "OW", "AO", "ER") and p.duration >= 0.05:
            assert 10 * np.log10(np.mean(seg**2) / active) > -15, p


def test_timings_cover_the_audio_with_pauses_and_word_gaps(eng):
    plain = eng.synthesize([(TEXT, SpeechPlanSegment())])
    out = eng.synthesize([(TEXT, SpeechPlanSegment()), ("And then we went home.", SpeechPlanSegment(pause=0.3))])
    gapped = eng.synthesize([(TEXT, SpeechPlanSegment(word_gap=0.05))])
    for r in (plain, out, gapped):
        assert r.phones[0].start == 0 and r.phones[-1].end == pytest.approx(r.duration, abs=1e-9)
        assert all(a.end == pytest.approx(b.start, abs=1e-9) for a, b in zip(r.phones[:-1], r.phones[1:], strict=True))
        assert all(p.end > p.start for p in r.phones)
    assert out.plan.spans[1][0] - out.plan.spans[0][1] == pytest.approx(0.3, abs=1e-3)
    # word gaps are silence at each word onset: 9 words → 8 gaps (the calibration maps 0.05 s to ~0.068 s)
    extra = gapped.duration - plain.duration
    assert 8 * 0.05 < extra < 8 * 0.08
    assert sum(p.is_pause for p in gapped.phones) > sum(p.is_pause for p in plain.phones)


def test_literal_rendering_of_pitch_rate_and_loudness(literal):
    base = literal.synthesize(TEXT)
    sr = base.sample_rate
    up = literal.synthesize([(TEXT, SpeechPlanSegment(pitch_shift=12 * math.log2(1.25)))])
    assert median_f0(up.waveform, sr) / median_f0(base.waveform, sr) == pytest.approx(1.25, abs=0.03)
    fast = literal.synthesize([(TEXT, SpeechPlanSegment(rate=1.3))])
    assert base.duration / fast.duration == pytest.approx(1.3, rel=0.04)
    # rate is timing only: the F0 the voice predicts at its own pace, time-warped
    assert abs(12 * math.log2(median_f0(fast.waveform, sr) / median_f0(base.waveform, sr))) < 0.5
    quiet = literal.synthesize([(TEXT, SpeechPlanSegment(loudness=-6.0))])
    ratio = np.sqrt(np.mean(quiet.waveform**2)) / np.sqrt(np.mean(base.waveform**2))
    assert 20 * math.log10(ratio) == pytest.approx(-6.0, abs=0.05)


def test_calibration_tames_the_range_espeak_compresses(eng, literal):
    """emogen's happy plan asks for range ×1.8: literal on hibari it doubles the F0 spread, calibrated it widens it
    by about what espeak-ng measures (×1.2–1.3)."""
    from emogen.speech.measure import prosody_stats

    def spread(engine, seg):
        out = engine.synthesize([(TEXT, seg)])
        return prosody_stats(out.waveform, out.sample_rate)["spread_st"]

    plan = SpeechPlanSegment(pitch_range=plan_segment("happy").pitch_range)
    neutral = spread(eng, SpeechPlanSegment())
    assert spread(literal, plan) / neutral > 1.45
    assert 1.1 < spread(eng, plan) / neutral < 1.4


def test_warp_f0_stretches_each_symbol():
    f0 = np.array([100, 110, 120, 130, 0, 0], np.float32)  # symbols of 1, 1, 1 units (2 frames each)
    same = warp_f0(f0, np.array([1, 1, 1]), np.array([1, 1, 1]), f0 * 1.1)
    np.testing.assert_allclose(same, f0)
    slow = warp_f0(f0, np.array([1, 1, 1]), np.array([2, 1, 1]), np.full(8, 200, np.float32))
    assert len(slow) == 8 and slow[0] == 100 and slow[3] == 110 and np.all(np.diff(slow[:4]) >= 0)
    assert slow[6] == 200  # unvoiced at speed 1: the new prediction is kept


def test_long_text_is_cut_into_model_calls(eng):
    text = " ".join(["and then the little boat drifted further out to sea"] * 12) + "."
    chunks = eng._chunks(text)
    assert len(chunks) >= 2 and all(len(c.ids) - 2 <= MAX_PHONEMES for c in chunks)
    assert pack_tokens([], eng.runtime.vocab) == []


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="threads must be an integer in \\[1, 64\\], got 0"):
        HibariEngine(threads=0)
    with pytest.raises(ValueError, match="acoustic_lead_s .* got 0.5"):
        HibariEngine(acoustic_lead_s=0.5)
    with pytest.raises(ValueError, match="max_chars .* got -1"):
        HibariEngine(max_chars=-1)
    with pytest.raises(ValueError, match="'emma' .*model hub"):
        HibariEngine(default_voice="emma")
    with pytest.raises(ValueError, match="'en-us'.*'heart'"):
        HibariEngine().check_voice("en-us")


def test_loads_and_speaks_without_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    rt = HibariRuntime(threads=1)  # a fresh load, not the cached one
    assert rt.load_seconds < 30
    eng = HibariEngine()
    assert eng.synthesize([("Offline, still fine.", plan_segment("sad"))]).duration > 1
