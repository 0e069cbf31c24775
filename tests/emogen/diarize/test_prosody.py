"""The shipped prosodic diarizer on speech from emogen's TTS, with voices and sentences it was NOT calibrated on.

Calibration voices/sentences are listed in training/diarizer/corpus.py (TRAIN_*); everything here uses TEST_*. The
neural voice has one voice only: its held-out speaker is the voice pitch-shifted by +3.5 semitones (a simulated
speaker; calibration used 0, -3 and +2).
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import soundfile as sf
import torch
from scipy.stats import spearmanr

from emogen.diarize import ProsodyEmotionBackend, SpeechEmotionDiarizer, diarize
from emogen.diarize.features import FEATURE_NAMES
from emogen.emotion import VAD

HELD_OUT_VOICES = ("en-us+m4", "en+f5", "en-gb-x-rp+f4")
HELD_OUT_NEURAL_SEMITONES = 3.5
HELD_OUT_SENTENCES = (
    "I can't believe you finished the whole project by yourself.",
    "The museum closes at six, so we only have an hour left.",
    "Someone left the lights on in the kitchen all night.",
    "We will meet again at the station on Friday afternoon.",
)
SR = 16000


def _speak(segments, voice):
    """(waveform at 16 kHz, spans) of emogen's TTS."""
    from emogen.io.audio import load_audio
    from emogen.speech import synthesize

    out = synthesize(segments, voice=voice)
    wave, _ = load_audio(out.waveform, SR, source_rate=out.sample_rate)
    return wave, out.plan.spans


def _speak_neural(segments, semitones=HELD_OUT_NEURAL_SEMITONES):
    """The neural voice (hibari "heart") at 16 kHz, pitch-shifted into a speaker it was not calibrated on."""
    import librosa

    from emogen.io.audio import load_audio
    from emogen.speech.engines import default_engine
    from emogen.speech.hibari.model import hibari_installed

    if not hibari_installed():
        pytest.skip("hibari-tts is not installed")
    out = default_engine().synthesize(segments, voice="heart")
    wave, _ = load_audio(out.waveform, SR, source_rate=out.sample_rate)
    return librosa.effects.pitch_shift(wave, sr=SR, n_steps=semitones)


def _recorded(wave, seed, gain_db):
    """``wave`` as a room microphone records it: reverberation (RT60 0.5 s), a 300-3400 Hz channel, a level, and
    white noise at 20 dB SNR."""
    from scipy.signal import butter, fftconvolve, sosfiltfilt

    rng = np.random.default_rng(seed)
    t = np.arange(SR // 2) / SR
    ir = rng.standard_normal(len(t)) * np.exp(-6.9 * t / 0.5)
    ir[0] = 0.0
    wet = fftconvolve(wave, ir / np.sqrt(np.sum(ir**2)))[: len(wave)]
    x = 0.6 * wave + 0.4 * wet * (np.std(wave) / np.std(wet))
    x = sosfiltfilt(butter(4, [300, 3400], btype="bandpass", fs=SR, output="sos"), x) * 10 ** (gain_db / 20)
    x = x + rng.standard_normal(len(x)) * np.sqrt(np.mean(x**2) / 100.0)
    return x.astype(np.float32)


def _plan(emotion, intensity=None):
    from emogen.speech import plan_segment

    return plan_segment(emotion, intensity)


@pytest.fixture(scope="module")
def diarizer():
    return SpeechEmotionDiarizer()


@pytest.fixture(scope="module")
def change_clip():
    """neutral → angry, two held-out sentences, a held-out voice; truth = middle of the pause between them."""
    wave, spans = _speak([(HELD_OUT_SENTENCES[0], _plan("neutral")), (HELD_OUT_SENTENCES[1], _plan("angry"))], "en+f5")
    return wave, 0.5 * (spans[0][1] + spans[1][0])


def _mean_arousal(result):
    return result.summary()["mean_vad"]["arousal"]


def test_shipped_weights_match_the_features():
    backend = ProsodyEmotionBackend.from_pretrained()
    assert list(backend.model.config.feature_names) == list(FEATURE_NAMES)
    assert backend.model.head.vad_weight.abs().sum() > 0
    assert backend.model.reference_head is not None


def test_save_and_load_round_trip(tmp_path, change_clip):
    backend = ProsodyEmotionBackend.from_pretrained()
    backend.save_pretrained(tmp_path / "copy")
    again = ProsodyEmotionBackend.from_pretrained(tmp_path / "copy")
    assert sorted(p.name for p in (tmp_path / "copy").iterdir()) == [
        "config.json",
        "diffusion_pytorch_model.safetensors",
    ]
    wave, _ = change_clip
    torch.testing.assert_close(backend(wave).vad, again(wave).vad)
    with pytest.raises(FileNotFoundError, match="No prosody diarizer weights"):
        ProsodyEmotionBackend.from_pretrained(tmp_path)


def test_orders_held_out_voice_by_arousal_fast(diarizer):
    """Five commanded arousal levels, two unseen voices, one unseen sentence each: Spearman >= 0.8 pooled."""
    commanded, predicted = [], []
    for voice, sentence in zip(HELD_OUT_VOICES[:2], HELD_OUT_SENTENCES[2:], strict=False):
        for a in (-0.8, -0.4, 0.0, 0.4, 0.8):
            wave, _ = _speak([(sentence, _plan(VAD(0.0, a, 0.0)))], voice)
            commanded.append(a)
            predicted.append(_mean_arousal(diarizer(wave)))
    rho = spearmanr(commanded, predicted)[0]
    assert rho >= 0.8, (rho, predicted)


def test_orders_the_neural_voice_by_arousal_fast(diarizer):
    """The default (neural) voice as an unseen simulated speaker, two unseen sentences: Spearman >= 0.9 pooled
    (measured 0.98)."""
    commanded, predicted = [], []
    for sentence in HELD_OUT_SENTENCES[2:]:
        for a in (-0.8, -0.4, 0.0, 0.4, 0.8):
            wave = _speak_neural([(sentence, _plan(VAD(0.0, a, 0.0)))])
            commanded.append(a)
            predicted.append(_mean_arousal(diarizer(wave)))
    rho = spearmanr(commanded, predicted)[0]
    assert rho >= 0.9, (rho, predicted)


@pytest.mark.parametrize("voice", ["en-us+m4", "heart"])
def test_orders_recorded_speech_by_arousal(diarizer, voice):
    """Unseen speakers through a reverberant, band-limited, noisy channel at a different level per clip (-10..+4 dB):
    Spearman >= 0.7 pooled over two sentences (measured 0.79 for en-us+m4 and for the neural voice; the
    previous weights, calibrated on clean espeak-ng speech only, scored 0.76 and 0.56)."""
    gains = (-8.0, 0.0, -4.0, 2.0, -10.0, -2.0, -6.0, 4.0, -9.0, 1.0)
    commanded, predicted = [], []
    for sentence in HELD_OUT_SENTENCES[2:]:
        for a in (-0.8, -0.4, 0.0, 0.4, 0.8):
            segments = [(sentence, _plan(VAD(0.0, a, 0.0)))]
            wave = _speak_neural(segments) if voice == "heart" else _speak(segments, voice)[0]
            wave = _recorded(wave, seed=len(predicted), gain_db=gains[len(predicted)])
            commanded.append(a)
            predicted.append(_mean_arousal(diarizer(wave)))
    rho = spearmanr(commanded, predicted)[0]
    assert rho >= 0.7, (rho, predicted)


def test_places_a_change_of_emotion_fast(diarizer, change_clip):
    wave, truth = change_clip
    result = diarizer(wave)
    boundaries = [s.start for s in result.segments[1:]]
    assert boundaries, [s.to_dict() for s in result.segments]
    assert min(abs(b - truth) for b in boundaries) <= 0.3, (boundaries, truth)

    def segment_at(t):
        return next(s for s in result.segments if s.start <= t < s.end)

    assert segment_at(truth - 0.6) is not segment_at(truth + 0.6)
    assert segment_at(truth - 0.6).vad[1] + 0.3 < segment_at(truth + 0.6).vad[1]  # angry is more aroused
    track = result.to_track(fps=25)
    assert track.num_frames == round(result.duration * 25)
    t = int(truth * 25)
    assert float(track.vad[t + 20 :, 1].mean()) > float(track.vad[: t - 20, 1].mean()) + 0.3


def test_any_rate_and_channel_layout_give_the_same_answer(tmp_path, diarizer, change_clip):
    import librosa

    wave, _ = change_clip
    base = _mean_arousal(diarizer(wave))
    for rate in (8000, 48000):
        sf.write(tmp_path / f"r{rate}.wav", librosa.resample(wave, orig_sr=SR, target_sr=rate), rate)
        assert abs(_mean_arousal(diarizer(tmp_path / f"r{rate}.wav")) - base) < 0.15
    # the same 16-bit samples as mono and as two identical channels: the downmix must give exactly the same answer
    # (against the float clip, 16-bit rounding alone moved the arousal by 1.6e-3 in one run: how much depends on
    # the clip, which espeak-ng renders slightly differently depending on what it spoke before in the process)
    sf.write(tmp_path / "mono.wav", wave, SR, subtype="PCM_16")
    sf.write(tmp_path / "stereo.wav", np.stack([wave, wave], 1), SR, subtype="PCM_16")
    mono = _mean_arousal(diarizer(tmp_path / "mono.wav"))
    assert abs(_mean_arousal(diarizer(tmp_path / "stereo.wav")) - mono) < 1e-6
    assert abs(mono - base) < 0.01
    # array input at another rate
    assert abs(_mean_arousal(diarizer(librosa.resample(wave, orig_sr=SR, target_sr=22050), 22050)) - base) < 0.15


def test_silent_and_clipped_audio(diarizer, change_clip, caplog):
    with caplog.at_level(logging.WARNING):
        silent = diarizer(np.zeros(2 * SR, np.float32))
    assert "silent" in caplog.text and "No voiced speech" in caplog.text
    assert [s.label for s in silent.segments] == ["neutral"] and not silent.speech.any()
    assert silent.segments[0].end == pytest.approx(2.0)
    caplog.clear()
    wave, _ = change_clip
    with caplog.at_level(logging.WARNING):
        clipped = diarizer(np.clip(wave * 8, -1, 1))
    assert "clipped" in caplog.text
    assert torch.isfinite(clipped.vad).all() and len(clipped.segments) >= 1


def test_bad_files_fail_clearly(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("hello\n" * 100)
    with pytest.raises(ValueError, match="empty"):
        diarize(tmp_path / "empty.wav")
    with pytest.raises(ValueError, match="not a readable audio file"):
        diarize(tmp_path / "notes.txt")
    with pytest.raises(ValueError, match="min_segment_s"):
        SpeechEmotionDiarizer(min_segment_s=-1)


def test_cli_table_json_rttm_plot(tmp_path, change_clip, capsys):
    from emogen.app.cli import main

    wave, _ = change_clip
    sf.write(tmp_path / "clip.wav", wave, SR)
    assert main(["diarize", str(tmp_path / "clip.wav")]) == 0
    table = capsys.readouterr().out
    assert "start" in table and "segment(s) over" in table
    rttm, png = tmp_path / "clip.rttm", tmp_path / "clip.png"
    assert main(["diarize", str(tmp_path / "clip.wav"), "--json", "--rttm", str(rttm), "--plot", str(png)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["num_segments"] == len(data["segments"]) >= 2
    assert data["segments"][-1]["end"] == pytest.approx(len(wave) / SR, abs=1e-3)
    assert rttm.read_text().startswith("SPEAKER clip 1 0.000 ") and png.stat().st_size > 10000
    (tmp_path / "bad.wav").write_text("not audio")
    assert main(["diarize", str(tmp_path / "bad.wav")]) == 2
    assert "not a readable audio file" in capsys.readouterr().err


@pytest.mark.slow
def test_held_out_voices_full():
    """All labels at two intensities on three unseen voices (Spearman for arousal >= 0.8, pooled over voices)
    and emotion changes between label pairs (>= 75 % within 0.3 s)."""
    from emogen.emotion import LABEL_VAD, LABELS

    diarizer = SpeechEmotionDiarizer()
    commanded, predicted = [], []
    for v, voice in enumerate(HELD_OUT_VOICES):
        for i, label in enumerate(LABELS):
            for intensity in (0.5, 1.0):
                sentence = HELD_OUT_SENTENCES[(i + v) % len(HELD_OUT_SENTENCES)]
                wave, _ = _speak([(sentence, _plan(label, intensity))], voice)
                commanded.append(np.array(LABEL_VAD[label]) * intensity)
                predicted.append(diarizer(wave).summary()["mean_vad"])
    commanded = np.array(commanded)
    rho = spearmanr(commanded[:, 1], [p["arousal"] for p in predicted])[0]
    assert rho >= 0.8, rho
    errors = []
    for voice in HELD_OUT_VOICES:
        for a, b in (("sad", "happy"), ("angry", "neutral"), ("neutral", "fearful"), ("happy", "sad")):
            wave, spans = _speak([(HELD_OUT_SENTENCES[0], _plan(a)), (HELD_OUT_SENTENCES[3], _plan(b))], voice)
            truth = 0.5 * (spans[0][1] + spans[1][0])
            bounds = [s.start for s in diarizer(wave).segments[1:]]
            errors.append(min((abs(x - truth) for x in bounds), default=np.inf))
    assert np.mean(np.array(errors) <= 0.3) >= 0.75, errors


def test_reference_makes_it_gain_invariant(diarizer, change_clip):
    """With a neutral reference of the same speaker (same recording chain), the gain no longer matters; without
    one, louder means more aroused (documented limitation of the reference-free head)."""
    wave, _ = change_clip
    ref_wave, _ = _speak([(HELD_OUT_SENTENCES[3], _plan("neutral"))], "en+f5")
    quiet = 10 ** (-9 / 20)
    with_ref = _mean_arousal(diarizer(wave, reference=ref_wave))
    with_ref_quiet = _mean_arousal(diarizer(wave * quiet, reference=ref_wave * quiet))
    assert abs(with_ref - with_ref_quiet) < 0.02
    assert _mean_arousal(diarizer(wave * quiet)) < _mean_arousal(diarizer(wave)) - 0.2
