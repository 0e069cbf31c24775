"""Frame-level audio features: the 50 Hz clock every speech-driven part of emogen runs on.

* :func:`log_mel` computes 80-band log-mel spectrograms at 50 Hz (hop 20 ms, window 25 ms) with ``torch.stft``
  and librosa's Slaney mel filters, batched, on CPU or CUDA. :func:`align_to_fps` resamples 50 Hz features to a
  video frame rate.
* :func:`prosody_features` returns :class:`ProsodyFeatures` at the same 50 Hz clock: F0 and voicing (Praat's
  autocorrelation pitch tracker, Boersma 1993, through ``parselmouth``), energy in dB, a speaking-rate proxy from
  syllable nuclei (intensity peaks in voiced speech, after de Jong & Wempe 2009, "Praat script to detect syllable
  nuclei and measure speech rate automatically", Behavior Research Methods 41), the alpha ratio (energy
  1–5 kHz over 50 Hz–1 kHz, a spectral-tilt measure of vocal effort; Patel et al. 2011, eGeMAPS: Eyben et al.
  2016, IEEE Trans. Affective Computing 7), harmonics-to-noise ratio (Praat cross-correlation HNR) and a local F0
  perturbation (a frame-level stand-in for jitter).

* :func:`pink_noise`, :func:`reverberate` and :func:`band_limit` simulate recording conditions (noise, a room, a
  band-limited channel) for training data that should sound like microphones record it.

Frame ``i`` of every 50 Hz feature is centred at ``i / 50`` seconds; a waveform of ``N`` samples at 16 kHz has
``N // 320 + 1`` frames.
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass

import numpy as np
import torch

from .utils import dataclass_to

logger = logging.getLogger(__name__)

__all__ = [
    "SAMPLE_RATE",
    "FEATURE_FPS",
    "N_MELS",
    "num_feature_frames",
    "log_mel",
    "align_to_fps",
    "ProsodyFeatures",
    "prosody_features",
    "pink_noise",
    "reverberate",
    "band_limit",
]

#: Sample rate every feature in emogen is computed at.
SAMPLE_RATE: int = 16000
#: Frame rate of every audio feature (hop 20 ms).
FEATURE_FPS: float = 50.0
#: Mel bands of :func:`log_mel`.
N_MELS: int = 80


# ----------------------------------------------------------------------------------------------------- spectrogram
def _frame_params(sample_rate: int, fps: float = FEATURE_FPS) -> tuple[int, int, int]:
    """(hop, win, n_fft): hop = one frame period, 25 ms window, FFT size the next power of two."""
    hop = sample_rate / fps
    if abs(hop - round(hop)) > 1e-6:
        raise ValueError(f"sample_rate {sample_rate} is not a whole multiple of {fps} frames per second.")
    win = round(0.025 * sample_rate)
    return int(round(hop)), win, 1 << (win - 1).bit_length()


def num_feature_frames(num_samples: int, sample_rate: int = SAMPLE_RATE) -> int:
    """Number of 50 Hz frames for ``num_samples`` samples: ``num_samples // hop + 1``."""
    hop, _, _ = _frame_params(sample_rate)
    return num_samples // hop + 1


@functools.lru_cache(maxsize=8)
def _mel_basis(sample_rate: int, n_fft: int, n_mels: int) -> torch.Tensor:
    import librosa

    fb = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=0.0, fmax=sample_rate / 2)
    return torch.from_numpy(fb)  # (n_mels, n_fft // 2 + 1), Slaney-normalised


def _as_batch(waveform: np.ndarray | torch.Tensor, device: torch.device | str | None) -> tuple[torch.Tensor, bool]:
    x = torch.as_tensor(waveform) if not isinstance(waveform, torch.Tensor) else waveform
    if device is not None:
        x = x.to(device)
    if not x.is_floating_point():
        raise TypeError(f"waveform must be floating point, got {x.dtype}; use load_audio() for PCM.")
    if x.ndim not in (1, 2):
        raise ValueError(f"waveform must have shape (samples,) or (batch, samples), got {tuple(x.shape)}.")
    return (x.unsqueeze(0), True) if x.ndim == 1 else (x, False)


def _power_spectrogram(x: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """``(batch, samples)`` → power spectrogram ``(batch, frames, n_fft // 2 + 1)`` at 50 Hz (centred frames)."""
    hop, win, n_fft = _frame_params(sample_rate)
    if x.shape[-1] < 2:
        raise ValueError(f"waveform needs at least 2 samples, got {x.shape[-1]}.")
    x32 = x.float()
    window = torch.hann_window(win, device=x.device, dtype=torch.float32)
    mode = "reflect" if x.shape[-1] > n_fft // 2 else "constant"
    spec = torch.stft(
        x32,
        n_fft=n_fft,
        hop_length=hop,
        win_length=win,
        window=window,
        center=True,
        pad_mode=mode,
        return_complex=True,
    )
    return spec.abs().pow(2).transpose(-1, -2)


def log_mel(
    waveform: np.ndarray | torch.Tensor,
    sample_rate: int = SAMPLE_RATE,
    n_mels: int = N_MELS,
    *,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Log-mel spectrogram at 50 Hz: 25 ms Hann window, 20 ms hop, Slaney mel filters, ``ln(max(mel, 1e-5))``.

    Args:
        waveform (`np.ndarray` or `torch.Tensor` of shape `(samples,)` or `(batch, samples)`): float samples.
        sample_rate: rate of ``waveform`` (must be a multiple of 50 Hz; 16 kHz gives hop 320, window 400, FFT 512).
        n_mels: number of mel bands.
        device: where to compute (default: where the tensor is, CPU for arrays).

    Returns:
        `torch.Tensor` of shape `(frames, n_mels)` or `(batch, frames, n_mels)`, float32, with
        ``frames = samples // hop + 1`` (frame ``i`` centred at ``i / 50`` s).
    """
    x, squeeze = _as_batch(waveform, device)
    power = _power_spectrogram(x, sample_rate)
    _, _, n_fft = _frame_params(sample_rate)
    basis = _mel_basis(sample_rate, n_fft, n_mels).to(power.device)
    mel = power @ basis.T
    out = mel.clamp_min(1e-5).log()
    return out[0] if squeeze else out


def align_to_fps(
    features: torch.Tensor,
    fps: float,
    *,
    source_fps: float = FEATURE_FPS,
    num_frames: int | None = None,
) -> torch.Tensor:
    """Resample features along time (linear interpolation), keeping timing in seconds.

    Frame ``j`` of the result lies at ``j / fps`` s and takes the value at source position ``j · source_fps / fps``;
    positions past the end hold the last frame.

    Args:
        features (`torch.Tensor` of shape `(frames, channels)` or `(batch, frames, channels)`).
        fps: the target frame rate (e.g. 25 for video).
        source_fps: rate of ``features`` (50 Hz for every emogen audio feature).
        num_frames: length of the result (default ``round(frames / source_fps · fps)``, at least 1).

    Returns:
        `torch.Tensor` of shape `(num_frames, channels)` or `(batch, num_frames, channels)`.
    """
    if not isinstance(features, torch.Tensor) or features.ndim not in (2, 3):
        shape = tuple(features.shape) if isinstance(features, torch.Tensor) else type(features).__name__
        raise ValueError(f"features must be a tensor of shape (frames, C) or (batch, frames, C), got {shape}.")
    for name, value in (("fps", fps), ("source_fps", source_fps)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a positive number, got {value!r}.")
    t = features.shape[-2]
    if t < 1:
        raise ValueError("features have no frames.")
    if num_frames is None:
        num_frames = max(1, round(t / source_fps * fps))
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}.")
    pos = torch.arange(num_frames, dtype=torch.float64, device=features.device) * (source_fps / fps)
    pos = pos.clamp(0, t - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=t - 1)
    w = (pos - lo).unsqueeze(-1)
    if features.is_floating_point():
        w = w.to(features.dtype)
        return features[..., lo, :] * (1 - w) + features[..., hi, :] * w
    return features[..., torch.where(w.squeeze(-1) < 0.5, lo, hi), :]  # integer / bool features: nearest


# --------------------------------------------------------------------------------------------------------- prosody
@dataclass(frozen=True)
class ProsodyFeatures:
    """Prosodic features of one waveform at ``fps`` (50 Hz), each a `torch.Tensor` of shape `(frames,)`.

    Args:
        f0_hz: fundamental frequency in Hz, 0 where unvoiced (Praat autocorrelation tracker).
        voiced: bool, True where a pitch was found.
        energy_db: frame RMS in dBFS (25 ms window), floored at -100.
        speaking_rate: syllable nuclei per second in a centred 1.5 s window (de Jong & Wempe 2009 style:
            intensity peaks with ≥ 2 dB prominence, in voiced frames, above the loudness floor).
        alpha_ratio: dB energy ratio of 1–5 kHz over 50 Hz–1 kHz (higher = flatter spectrum = more effort).
        hnr_db: harmonics-to-noise ratio in dB (Praat cross-correlation), 0 where unvoiced.
        f0_perturbation: relative deviation of F0 from its local 5-frame median (a frame-level jitter stand-in),
            0 where unvoiced.
        fps: frame rate (50).
    """

    f0_hz: torch.Tensor
    voiced: torch.Tensor
    energy_db: torch.Tensor
    speaking_rate: torch.Tensor
    alpha_ratio: torch.Tensor
    hnr_db: torch.Tensor
    f0_perturbation: torch.Tensor
    fps: float = FEATURE_FPS

    #: Names of the float channels, in the column order of :meth:`as_tensor`.
    CHANNELS = ("f0_hz", "voiced", "energy_db", "speaking_rate", "alpha_ratio", "hnr_db", "f0_perturbation")

    def __post_init__(self) -> None:
        t = self.f0_hz.shape
        for name in self.CHANNELS:
            value = getattr(self, name)
            if not isinstance(value, torch.Tensor) or value.shape != t or value.ndim != 1:
                raise ValueError(f"ProsodyFeatures.{name} must be a tensor of shape {tuple(t)}.")

    @property
    def num_frames(self) -> int:
        return self.f0_hz.shape[0]

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps

    def as_tensor(self) -> torch.Tensor:
        """All channels stacked: `torch.Tensor` of shape `(frames, 7)` in :attr:`CHANNELS` order (float32)."""
        return torch.stack([getattr(self, n).float() for n in self.CHANNELS], dim=-1)

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> ProsodyFeatures:
        return dataclass_to(self, device, dtype)


def _sample_praat(xs: np.ndarray, values: np.ndarray, times: np.ndarray, dt: float) -> np.ndarray:
    """Nearest Praat frame value at ``times`` (0 outside the analysed range)."""
    if len(xs) == 0:
        return np.zeros_like(times)
    idx = np.rint((times - xs[0]) / dt).astype(np.int64)
    inside = (idx >= 0) & (idx < len(xs))
    out = np.zeros_like(times)
    out[inside] = values[idx[inside]]
    return out


def _syllable_rate(energy_db: np.ndarray, voiced: np.ndarray, fps: float, window_s: float = 1.5) -> np.ndarray:
    from scipy.ndimage import uniform_filter1d
    from scipy.signal import find_peaks

    smooth = uniform_filter1d(energy_db, size=3, mode="nearest")  # 60 ms smoothing
    floor = np.percentile(smooth, 95) - 25.0  # nuclei must be within 25 dB of the loud parts
    peaks, _ = find_peaks(smooth, prominence=2.0, distance=max(1, int(0.08 * fps)))
    peaks = peaks[(smooth[peaks] > floor) & voiced[peaks]]
    impulses = np.zeros_like(energy_db)
    impulses[peaks] = 1.0
    width = max(1, int(round(window_s * fps)))
    return uniform_filter1d(impulses, size=width, mode="constant") * fps  # peaks per second


def prosody_features(
    waveform: np.ndarray | torch.Tensor,
    sample_rate: int = SAMPLE_RATE,
    *,
    pitch_floor: float = 60.0,
    pitch_ceiling: float = 600.0,
) -> ProsodyFeatures:
    """Prosodic features of a mono waveform at 50 Hz (see :class:`ProsodyFeatures`).

    Args:
        waveform (`np.ndarray` or `torch.Tensor` of shape `(samples,)`): mono float samples.
        sample_rate: rate of ``waveform`` (a multiple of 50 Hz; 16 kHz recommended).
        pitch_floor: lowest F0 searched, Hz.
        pitch_ceiling: highest F0 searched, Hz.

    Returns:
        :class:`ProsodyFeatures` with ``samples // (sample_rate / 50) + 1`` frames.
    """
    import parselmouth

    x = waveform.detach().cpu().numpy() if isinstance(waveform, torch.Tensor) else np.asarray(waveform)
    if x.ndim != 1:
        raise ValueError(f"prosody_features needs a mono waveform of shape (samples,), got {x.shape}.")
    x = x.astype(np.float64)
    fps = FEATURE_FPS
    num_frames = num_feature_frames(len(x), sample_rate)
    times = np.arange(num_frames) / fps
    dt = 1.0 / fps

    # Power spectrum (shared with log_mel's framing) → energy and alpha ratio.
    power = _power_spectrogram(torch.from_numpy(x).float().unsqueeze(0), sample_rate)[0].double().numpy()
    _, win, n_fft = _frame_params(sample_rate)
    window_energy = float((np.hanning(win) ** 2).sum())
    energy = power.sum(-1) * 2.0 / (window_energy * n_fft)  # ≈ mean square of the windowed frame
    energy_db = np.maximum(10.0 * np.log10(energy + 1e-10), -100.0)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    lo_band = power[:, (freqs >= 50) & (freqs < 1000)].sum(-1)
    hi_band = power[:, (freqs >= 1000) & (freqs < min(5000, sample_rate / 2))].sum(-1)
    alpha = 10.0 * np.log10((hi_band + 1e-10) / (lo_band + 1e-10))

    # Pitch and HNR with Praat; sound shorter than three pitch periods has neither.
    f0 = np.zeros(num_frames)
    hnr = np.zeros(num_frames)
    if len(x) / sample_rate > 3.0 / pitch_floor:
        sound = parselmouth.Sound(x, sampling_frequency=float(sample_rate))
        pitch = sound.to_pitch_ac(time_step=dt, pitch_floor=pitch_floor, pitch_ceiling=pitch_ceiling)
        f0 = _sample_praat(np.asarray(pitch.xs()), np.nan_to_num(pitch.selected_array["frequency"]), times, dt)
        harm = sound.to_harmonicity_cc(time_step=dt, minimum_pitch=pitch_floor)
        hvals = np.asarray(harm.values[0])
        hvals = np.where(hvals < -100, 0.0, hvals)  # Praat marks unvoiced frames with -200 dB
        hnr = _sample_praat(np.asarray(harm.xs()), hvals, times, dt)
    voiced = f0 > 0
    hnr = np.where(voiced, hnr, 0.0)

    from scipy.ndimage import median_filter

    med = median_filter(np.where(voiced, f0, np.nan), size=5, mode="nearest")
    perturb = np.where(voiced & np.isfinite(med), np.abs(f0 - med) / np.where(med > 0, med, 1.0), 0.0)
    perturb = np.nan_to_num(perturb)

    rate = _syllable_rate(energy_db, voiced, fps)

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))

    return ProsodyFeatures(
        f0_hz=t(f0),
        voiced=torch.from_numpy(voiced),
        energy_db=t(energy_db),
        speaking_rate=t(rate),
        alpha_ratio=t(alpha),
        hnr_db=t(hnr),
        f0_perturbation=t(perturb),
        fps=fps,
    )


# ------------------------------------------------------------------------------------------ recording conditions
def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of 1/f noise with unit standard deviation."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec))
    spec[1:] /= np.sqrt(f[1:])
    x = np.fft.irfft(spec, n)
    return x / (np.std(x) + 1e-9)


def reverberate(wave: np.ndarray, sample_rate: int, rt60: float, wet: float, rng: np.random.Generator) -> np.ndarray:
    """``wave`` in a small room: convolved with exponentially decaying noise (−60 dB at ``rt60`` seconds, drawn from
    ``rng``), the reverberant part at the dry level and mixed in by the share ``wet``."""
    from scipy.signal import fftconvolve

    n = int(sample_rate * rt60)
    t = np.arange(n) / sample_rate
    ir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    ir[0] = 0.0
    ir /= np.sqrt(np.sum(ir**2)) + 1e-9
    out = fftconvolve(wave, ir)[: len(wave)]
    return (1 - wet) * wave + wet * out * (np.std(wave) / (np.std(out) + 1e-9))


def band_limit(wave: np.ndarray, sample_rate: int, low: float, high: float) -> np.ndarray:
    """``wave`` through a band-limited channel (telephone, cheap microphone): a 4th-order Butterworth band-pass from
    ``low`` to ``high`` Hz (at most 0.45 × the sample rate), zero-phase."""
    from scipy.signal import butter, sosfiltfilt

    sos = butter(4, [low, min(high, 0.45 * sample_rate)], btype="bandpass", fs=sample_rate, output="sos")
    return sosfiltfilt(sos, wave)
