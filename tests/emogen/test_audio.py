"""emogen.audio: loading (bad inputs, rates, channels), log-mel at 50 Hz, alignment to video fps, prosody."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import soundfile as sf
import torch

from emogen.audio import (
    FEATURE_FPS,
    ProsodyFeatures,
    align_to_fps,
    log_mel,
    num_feature_frames,
    prosody_features,
)
from emogen.io.audio import load_audio

SR = 16000


def _voiced(
    duration: float, sr: int = SR, f0: float = 150.0, amp: float = 0.3, syllable_rate: float = 4.0
) -> np.ndarray:
    """A harmonic 'vowel' with an F0 contour and syllable-like amplitude modulation."""
    t = np.arange(int(duration * sr)) / sr
    freq = f0 * (1.0 + 0.1 * np.sin(2 * np.pi * 0.5 * t))
    phase = 2 * np.pi * np.cumsum(freq) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 15))
    env = 0.5 - 0.5 * np.cos(2 * np.pi * syllable_rate * t)
    return (amp * x / np.abs(x).max() * env).astype(np.float32)


# ------------------------------------------------------------------------------------------------------ loading
def test_load_resamples_8k_and_48k_to_16k(tmp_path):
    for rate in (8000, 22050, 48000):
        x = _voiced(1.0, sr=rate)
        path = tmp_path / f"a{rate}.wav"
        sf.write(path, x, rate)
        y, sr = load_audio(path)
        assert sr == SR and y.dtype == np.float32 and y.ndim == 1
        assert abs(len(y) - SR) <= 2
        # the pitch survives resampling: F0 of the middle frames near 150 Hz (±10 % contour)
        f0 = prosody_features(y).f0_hz.numpy()
        assert 130 < np.median(f0[f0 > 0]) < 170


def test_load_stereo_file_and_arrays_mix_to_mono(tmp_path):
    left = _voiced(0.5)
    stereo = np.stack([left, -left * 0.0 + left], axis=1)  # (samples, 2)
    sf.write(tmp_path / "st.wav", stereo, SR)
    y, _ = load_audio(tmp_path / "st.wav")
    assert y.shape == (len(left),)
    np.testing.assert_allclose(y, left, atol=1e-4)
    # (channels, samples) and torch input
    y2, _ = load_audio(torch.from_numpy(stereo.T.copy()))
    np.testing.assert_allclose(y2, left, atol=1e-6)
    # opposite-phase channels cancel: the mix is the mean
    y3, _ = load_audio(np.stack([left, -left], axis=1))
    assert np.abs(y3).max() < 1e-6


def test_load_int16_array_and_source_rate():
    x = (_voiced(0.5, sr=8000) * 32767).astype(np.int16)
    y, sr = load_audio(x, source_rate=8000)
    assert sr == SR and abs(len(y) - 8000) <= 2 and np.abs(y).max() <= 1.0 and np.abs(y).max() > 0.2


def test_bad_inputs_have_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_audio(tmp_path / "missing.wav")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        load_audio(empty)
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio at all\n" * 20)
    with pytest.raises(ValueError, match="not a readable audio file"):
        load_audio(text)
    sf.write(tmp_path / "zero.wav", np.zeros(0, np.float32), SR)
    with pytest.raises(ValueError, match="no samples"):
        load_audio(tmp_path / "zero.wav")
    with pytest.raises(ValueError, match="ms long"):
        load_audio(np.zeros(100, np.float32))
    with pytest.raises(ValueError, match="NaN"):
        load_audio(np.full(SR, np.nan, np.float32))
    with pytest.raises(TypeError, match="path, a numpy array"):
        load_audio(12345)
    with pytest.raises(ValueError, match="sample_rate"):
        load_audio(np.zeros(SR, np.float32), sample_rate=0)
    with pytest.raises(ValueError, match="channels"):
        load_audio(np.zeros((100, 100), np.float32))
    with pytest.raises(ValueError, match="directory"):
        load_audio(tmp_path)


def test_clipping_and_silence_are_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="emogen.audio"):
        y, _ = load_audio(np.clip(_voiced(1.0) * 10, -1, 1))
    assert "clipped" in caplog.text and y.max() <= 1.0
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="emogen.audio"):
        load_audio(np.zeros(SR, np.float32))
    assert "silent" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="emogen.audio"):
        load_audio(_voiced(1.0))
    assert caplog.text == ""


def test_load_video_container_through_ffmpeg(tmp_path):
    import subprocess

    import imageio_ffmpeg

    wav = tmp_path / "a.wav"
    sf.write(wav, _voiced(1.0), SR)
    m4a = tmp_path / "a.m4a"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(wav), "-c:a", "aac", str(m4a)], check=True
    )
    y, sr = load_audio(m4a)
    assert sr == SR and abs(len(y) - SR) < 2048  # aac pads a little


# ------------------------------------------------------------------------------------------------------ log-mel
def test_log_mel_shape_rate_and_batching():
    x = _voiced(2.0)
    m = log_mel(x)
    assert m.shape == (len(x) // 320 + 1, 80) == (num_feature_frames(len(x)), 80)
    assert m.dtype == torch.float32 and torch.isfinite(m).all()
    batch = log_mel(torch.from_numpy(np.stack([x, 0.5 * x])))
    assert batch.shape == (2, *m.shape)
    torch.testing.assert_close(batch[0], m)
    # halving the amplitude lowers every log-mel value by ln(4) (power), except at the floor
    above = batch[1] > -11
    torch.testing.assert_close(
        batch[0][above] - batch[1][above], torch.full_like(batch[1][above], np.log(4.0)), atol=1e-3, rtol=0
    )


def test_log_mel_puts_a_tone_in_the_right_band_and_frame():
    import librosa

    t = np.arange(SR) / SR
    x = np.where(t >= 0.5, np.sin(2 * np.pi * 1000 * t), 0.0).astype(np.float32)
    m = log_mel(x)
    mel_freqs = librosa.mel_frequencies(n_mels=82, fmin=0, fmax=SR / 2)[1:-1]
    assert abs(mel_freqs[int(m[40].argmax())] - 1000) < 100
    energy = m.exp().sum(-1)
    onset = int(torch.nonzero(energy > energy.max() / 4)[0])
    assert abs(onset / FEATURE_FPS - 0.5) <= 0.02  # frame i is centred at i / 50 s


@pytest.mark.gpu
def test_log_mel_cuda_matches_cpu():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    x = torch.from_numpy(_voiced(1.0))
    torch.testing.assert_close(log_mel(x, device="cuda").cpu(), log_mel(x), atol=1e-3, rtol=1e-4)


def test_align_to_fps_keeps_timing():
    feats = torch.arange(100, dtype=torch.float32).unsqueeze(-1).repeat(1, 3)  # 2 s at 50 Hz, value = frame index
    out = align_to_fps(feats, 25)
    assert out.shape == (50, 3)
    torch.testing.assert_close(out[:, 0], torch.arange(50, dtype=torch.float32) * 2)
    out30 = align_to_fps(feats.unsqueeze(0), 30.0)
    assert out30.shape == (1, 60, 3)
    torch.testing.assert_close(out30[0, 3, 0], torch.tensor(5.0))  # 0.1 s = frame 5
    assert align_to_fps(feats, 25, num_frames=7).shape == (7, 3)
    with pytest.raises(ValueError, match="fps"):
        align_to_fps(feats, 0)
    with pytest.raises(ValueError, match="shape"):
        align_to_fps(torch.zeros(5), 25)


# ------------------------------------------------------------------------------------------------------ prosody
def test_prosody_features_measure_what_they_claim():
    slow, fast = _voiced(3.0, syllable_rate=3.0), _voiced(3.0, f0=220.0, syllable_rate=6.0)
    p_slow, p_fast = prosody_features(slow), prosody_features(fast)
    assert isinstance(p_slow, ProsodyFeatures) and p_slow.num_frames == num_feature_frames(len(slow))
    assert p_slow.as_tensor().shape == (p_slow.num_frames, len(ProsodyFeatures.CHANNELS))
    mid = slice(50, 100)
    f0s, f0f = p_slow.f0_hz[mid], p_fast.f0_hz[mid]
    assert 135 < f0s[f0s > 0].median() < 165 and 200 < f0f[f0f > 0].median() < 240
    assert abs(float(p_slow.speaking_rate[mid].mean()) - 3.0) < 1.0
    assert abs(float(p_fast.speaking_rate[mid].mean()) - 6.0) < 1.5
    # 6 dB louder → energy up by 6 dB; silence is unvoiced and very quiet
    p_loud = prosody_features(2.0 * slow)
    assert abs(float((p_loud.energy_db - p_slow.energy_db)[mid].median()) - 6.02) < 0.1
    p_sil = prosody_features(np.zeros(SR, np.float32))
    assert not p_sil.voiced.any() and float(p_sil.energy_db.max()) <= -99
    # harmonic signal: high HNR; white noise: unvoiced / low HNR; flatter spectrum → higher alpha ratio
    rng = np.random.default_rng(0)
    p_noise = prosody_features((0.1 * rng.standard_normal(SR)).astype(np.float32))
    assert float(p_slow.hnr_db[p_slow.voiced].median()) > 10
    assert p_noise.voiced.float().mean() < 0.2
    assert float(p_noise.alpha_ratio.median()) > float(p_slow.alpha_ratio[p_slow.voiced].median()) + 5


def test_prosody_to_moves_and_casts():
    p = prosody_features(_voiced(0.5)).to(dtype=torch.float64)
    assert p.f0_hz.dtype == torch.float64 and p.voiced.dtype == torch.bool


def test_recording_conditions():
    from emogen.audio import band_limit, pink_noise, reverberate

    rng = np.random.default_rng(0)
    pink = pink_noise(32000, rng)
    power = np.abs(np.fft.rfft(pink)) ** 2
    f = np.fft.rfftfreq(len(pink), 1 / 16000)
    low, high = power[(f > 100) & (f < 200)].mean(), power[(f > 3200) & (f < 6400)].mean()
    assert abs(np.std(pink) - 1) < 1e-6 and 10 < low / high < 60  # 1/f: about 32× less power 5 octaves up
    t = np.arange(16000) / 16000
    tone = lambda hz: np.sin(2 * np.pi * hz * t)  # noqa: E731
    assert np.std(band_limit(tone(1000), 16000, 300, 3400)) > 0.6
    assert np.std(band_limit(tone(60), 16000, 300, 3400)) < 0.05
    dry = tone(440) * (t < 0.5)
    wet = reverberate(dry, 16000, 0.5, 0.5, np.random.default_rng(1))
    assert np.std(wet[9000:]) > 0.05 and np.std(dry[9000:]) == 0  # the room rings on after the sound stops
