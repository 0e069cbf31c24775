"""Forced alignment with pocketsphinx recovers the TTS's own phone onsets."""

from __future__ import annotations

import difflib

import numpy as np
import pytest
import soundfile as sf

from emogen.speech import plan_segment, synthesize
from emogen.speech.align import align, load_audio_16k
from emogen.speech.visemes import phone_to_arpabet, phones_to_arkit

TEXT = "Please call Stella and ask her to bring these things with her from the store."


def onset_errors(reference, aligned) -> list[float]:
    """|onset difference| of the phones matched between the espeak and pocketsphinx sequences."""
    ref = [(phone_to_arpabet(p.phone, "espeak"), p.start) for p in reference]
    ref = [r for r in ref if r[0] != "SIL"]
    hyp = [(p.phone, p.start) for p in aligned if p.phone != "SIL"]
    sm = difflib.SequenceMatcher(a=[r[0] for r in ref], b=[h[0] for h in hyp], autojunk=False)
    return [abs(ref[a + k][1] - hyp[b + k][1]) for a, b, n in sm.get_matching_blocks() for k in range(n)]


@pytest.mark.parametrize(("voice", "emotion"), [("en-us", "neutral"), ("en-us+f3", "sad")])
def test_alignment_recovers_espeak_onsets(voice, emotion):
    out = synthesize([(TEXT, plan_segment(emotion))], voice=voice)
    phones = align(out.waveform, TEXT, sample_rate=out.sample_rate)
    assert phones[-1].end == pytest.approx(out.duration, abs=0.05)
    errors = onset_errors(out.phones, phones)
    speech = [p for p in out.phones if phone_to_arpabet(p.phone) != "SIL"]
    assert len(errors) > 0.8 * len(speech)  # most phones are matched by name
    assert np.median(errors) < 0.05  # measured: ~13 ms median over 3 voices × 3 emotions × 3 sentences
    # the aligned ARPAbet phones drive visemes directly
    assert phones_to_arkit(phones, fps=25.0).shape[0] == round(phones[-1].end * 25.0)


def test_audio_files_are_downmixed_and_resampled(tmp_path):
    out = synthesize("Good morning.")
    stereo = np.stack([out.waveform, out.waveform], axis=1)
    path = tmp_path / "stereo.wav"
    sf.write(path, stereo, out.sample_rate)
    audio = load_audio_16k(path)
    assert audio.ndim == 1 and len(audio) == pytest.approx(out.duration * 16000, abs=5)
    phones = align(path, "good morning")
    assert [p.phone for p in phones if p.phone != "SIL"][:3] == ["G", "UH", "D"]


def test_words_missing_from_the_dictionary_use_espeak():
    text = "Zorblax is here."
    out = synthesize(text)
    phones = align(out.waveform, text, sample_rate=out.sample_rate)
    assert [p.phone for p in phones if p.phone != "SIL"][0] == "Z"


def test_bad_inputs(tmp_path):
    out = synthesize("Hello.")
    with pytest.raises(ValueError, match="no words"):
        align(out.waveform, " ... ", sample_rate=out.sample_rate)
    with pytest.raises(ValueError, match="sample_rate"):
        align(out.waveform, "hello")
    with pytest.raises(ValueError, match="does not exist"):
        align(tmp_path / "missing.wav", "hello")
    with pytest.raises(ValueError, match="empty"):
        align(np.zeros(0, dtype=np.float32), "hello", sample_rate=16000)
