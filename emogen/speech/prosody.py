"""Prosody and voice-quality edits of a waveform with the WORLD vocoder (``pyworld``).

WORLD (Morise et al. 2016, "WORLD: a vocoder-based high-quality speech synthesis system for real-time
applications", IEICE Trans. E99-D(7)) splits speech into F0, spectral envelope and aperiodicity; each can be edited
and the speech resynthesised with the same length, so phone timings are unchanged by every edit here.

Edits (all optional, a no-op returns the input):

- F0 level shift (semitones) and a linear F0 slope over the voiced span (the plan's ``contour``);
- jitter: random cycle-level F0 perturbation plus a ~7 Hz tremor (fear's "irregular voicing");
- breathiness: more aperiodic energy and weaker harmonics above ~500 Hz (Gobl & Ní Chasaide 2003);
- tension: flatter spectral tilt (up to +6 dB at high frequencies) and less aspiration.

The level of the result is matched to the input's RMS, so loudness stays an explicit, separate feature.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np

__all__ = ["reshape_voice", "FRAME_PERIOD_MS"]

logger = logging.getLogger(__name__)

#: WORLD analysis hop in milliseconds.
FRAME_PERIOD_MS: float = 5.0


def _pyworld():
    with warnings.catch_warnings():  # pyworld imports pkg_resources, which warns on new setuptools
        warnings.simplefilter("ignore")
        import pyworld

    return pyworld


def reshape_voice(
    waveform: np.ndarray,
    sample_rate: int,
    *,
    pitch_shift: float = 0.0,
    contour: float = 0.0,
    jitter: float = 0.0,
    breathiness: float = 0.0,
    tension: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """Re-render ``waveform`` with WORLD after editing F0 and voice quality; the length is kept.

    Args:
        waveform (`np.ndarray` of shape `(N,)`): mono audio, float in [-1, 1].
        sample_rate: its sample rate.
        pitch_shift: F0 level change in semitones.
        contour: F0 slope in semitones from the first to the last voiced frame (+ rising).
        jitter: 0…1, F0 irregularity (up to ~3 % random + 2 % tremor at 7 Hz).
        breathiness: 0…1, aspiration noise above ~500 Hz.
        tension: 0…1, spectral-tilt flattening (up to +6 dB) and less aspiration.
        seed: seed of the jitter noise (results are deterministic).

    Returns:
        `np.ndarray` of shape `(N,)`, float32.
    """
    x = np.asarray(waveform, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"waveform must be 1-D, got shape {x.shape}.")
    if all(abs(v) < 1e-6 for v in (pitch_shift, contour, jitter, breathiness, tension)) or len(x) < sample_rate // 20:
        return x.astype(np.float32)
    pw = _pyworld()
    f0, times = pw.dio(x, sample_rate, f0_floor=50.0, f0_ceil=800.0, frame_period=FRAME_PERIOD_MS)
    f0 = pw.stonemask(x, f0, times, sample_rate)
    sp = pw.cheaptrick(x, f0, times, sample_rate)
    ap = pw.d4c(x, f0, times, sample_rate)
    voiced = f0 > 0
    if not voiced.any():
        return x.astype(np.float32)

    # F0: level + linear slope over the voiced span
    idx = np.flatnonzero(voiced)
    tau = np.clip((np.arange(len(f0)) - idx[0]) / max(1, idx[-1] - idx[0]), 0.0, 1.0)
    semitones = pitch_shift + contour * (tau - 0.5)
    if jitter > 0:
        rng = np.random.default_rng(seed)
        tremor = 0.02 * np.sin(2 * np.pi * 7.0 * times + rng.uniform(0, 2 * np.pi))
        noise = 0.03 * rng.standard_normal(len(f0))
        f0 = f0 * (1.0 + jitter * (tremor + noise))
    f0 = np.where(voiced, f0 * 2.0 ** (semitones / 12.0), 0.0)

    # voice quality: a weight rising from 0 at 500 Hz to 1 at 3 kHz
    freqs = np.linspace(0, sample_rate / 2, sp.shape[1])
    w = np.clip((freqs - 500.0) / 2500.0, 0.0, 1.0)[None, :]
    v = voiced[:, None]
    if breathiness > 0:
        ap = np.where(v, ap + breathiness * 0.7 * w * (1.0 - ap), ap)
        sp = np.where(v, sp * (1.0 - 0.5 * breathiness * w), sp)
    if tension > 0:
        sp = np.where(v, sp * 10.0 ** (tension * 6.0 * w / 10.0), sp)
        ap = np.where(v, ap * (1.0 - 0.5 * tension * w), ap)
    ap = np.clip(ap, 0.0, 1.0)

    y = pw.synthesize(
        np.ascontiguousarray(f0), np.ascontiguousarray(sp), np.ascontiguousarray(ap), sample_rate, FRAME_PERIOD_MS
    )
    y = y[: len(x)] if len(y) >= len(x) else np.pad(y, (0, len(x) - len(y)))
    rms_in, rms_out = np.sqrt(np.mean(x**2)), np.sqrt(np.mean(y**2))
    if rms_out > 1e-9:
        y = y * (rms_in / rms_out)
    return y.astype(np.float32)
