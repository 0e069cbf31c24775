"""Lip sync measured from outside: mouth opening read off detected landmarks against the audio's envelope."""

from __future__ import annotations

import numpy as np

__all__ = ["audio_envelope", "best_lag_correlation", "mouth_opening"]

# Inner-lip midpoints and the two iris centres of MediaPipe's 478 landmarks.
_UPPER_INNER_LIP, _LOWER_INNER_LIP = 13, 14
_IRIS_RIGHT, _IRIS_LEFT = 468, 473


def audio_envelope(audio: np.ndarray, sample_rate: int, fps: float, num_frames: int) -> np.ndarray:
    """The speech amplitude envelope per video frame.

    RMS amplitude over a Hann-weighted window of three frames centred on each frame (120 ms at 25 fps), which
    keeps the envelope's syllabic modulations (2–7 Hz), the band in which mouth opening and the acoustic envelope
    are coupled (Chandrasekaran et al. 2009, "The natural statistics of audiovisual speech", PLoS Comput. Biol.).
    0 past the end of the audio.
    """
    hop = sample_rate / fps
    power = np.zeros(num_frames)
    for i in range(num_frames):
        a = int(round((i - 0.5) * hop))
        b = int(round((i + 0.5) * hop))
        seg = audio[max(0, a) : max(0, b)]
        if seg.size:
            power[i] = np.mean(seg.astype(np.float64) ** 2)
    smoothed = np.convolve(np.pad(power, 1, mode="edge"), [0.25, 0.5, 0.25], mode="valid")
    return np.sqrt(smoothed)


def mouth_opening(landmarks: np.ndarray) -> float:
    """Inner-lip gap in inter-pupil distances from 478 landmarks (pixels)."""
    gap = np.linalg.norm(landmarks[_UPPER_INNER_LIP, :2] - landmarks[_LOWER_INNER_LIP, :2])
    ipd = np.linalg.norm(landmarks[_IRIS_RIGHT, :2] - landmarks[_IRIS_LEFT, :2])
    return float(gap / max(ipd, 1e-6))


def best_lag_correlation(x: np.ndarray, y: np.ndarray, max_lag: int) -> tuple[float, int]:
    """Pearson r between ``x`` and ``y`` at the lag within ±``max_lag`` frames that maximises it.

    Returns:
        ``(r, lag)``; a positive lag means ``x`` follows ``y`` (the mouth follows the audio). ``(nan, 0)`` when no lag
        leaves 10 finite, non-constant pairs.
    """
    best = (-np.inf, 0)
    for lag in range(-max_lag, max_lag + 1):
        if lag >= 0:
            xs, ys = x[lag:], y[: len(y) - lag]
        else:
            xs, ys = x[:lag], y[-lag:]
        ok = np.isfinite(xs) & np.isfinite(ys)
        if ok.sum() < 10 or np.std(xs[ok]) == 0 or np.std(ys[ok]) == 0:
            continue
        r = float(np.corrcoef(xs[ok], ys[ok])[0, 1])
        if r > best[0]:
            best = (r, lag)
    return best if np.isfinite(best[0]) else (float("nan"), 0)
