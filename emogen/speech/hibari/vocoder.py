"""Pitch and voice quality, rendered inside hibari's own source-filter vocoder (no re-analysis).

hibari's vocoder (``hibari.dsp``, host-side numpy) builds each 12.5 ms frame's spectrum from five network outputs::

    S = exp(lh)·e^{iπ·tanh θ}·STFT(pulses(f0)) + exp(ln)·Z + exp(lr)·e^{iφ}

Pitch is set before the decoder through the patched graph's ``f0_scale`` (:func:`f0_scale`), so the decoder and the
pulse source agree. Voice quality edits the vocoder's parts in voiced frames, weighted by w(f) rising from 0 at
500 Hz to 1 at 3 kHz (the weighting of emogen's WORLD edits for espeak-ng, :mod:`emogen.speech.prosody`):

* breathiness b: harmonics −9·b·w dB, plus aspiration noise shaped by the harmonic envelope (Gobl & Ní Chasaide
  2003: breathy voice = weaker upper harmonics + aspiration);
* tension t: harmonics +6·t·w dB (flatter tilt), the free-phase (aperiodic) branch −3·t·w dB;
* jitter j: a 2 %·j tremor at 7 Hz in the F0 scale, plus cycle-to-cycle jitter of 3 %·j·N(0, 1) per glottal cycle
  in a copy of hibari's pulse generator (:func:`pulses`, identical to ``hibari.dsp.pulses`` at j = 0).

The edited spectrum is scaled back to the unedited energy, so loudness stays a separate gain. With b = t = j = 0
the vocoder is ``hibari.dsp.synth`` itself: the neutral output is hibari's own.
"""

from __future__ import annotations

import math

import numpy as np

from .model import HOP, SAMPLE_RATE

__all__ = ["VOICED_HZ", "f0_scale", "pulses", "vocode", "warp_f0"]

#: F0 below this (Hz) is unvoiced for hibari's pulse source (``hibari.dsp.pulses``' ``vthresh``).
VOICED_HZ: float = 40.0
#: Breathiness 1: harmonics this many dB weaker at ≥ 3 kHz …
BREATHY_HARM_DB: float = 9.0
#: … plus aspiration noise at this level (dB) re the harmonics' mean power per bin.
BREATHY_NOISE_DB: float = 0.0
FRAME_S: float = HOP / SAMPLE_RATE


def f0_scale(
    f0: np.ndarray, shift: float, pitch_range: float, contour: float, jitter: float, rng: np.random.Generator
) -> np.ndarray | None:
    """Per-frame F0 factor for one segment's predicted F0 (``None``: no change needed).

    ``2**((shift + contour·(τ − ½))/12) · clip(f0/median, ½, 2)**(pitch_range − 1)`` times a 7 Hz tremor of
    ``2 %·jitter``; τ runs 0 → 1 from the first to the last voiced frame, the median is over the voiced frames
    (ratios beyond an octave are voicing on/offset ramps, not accents). Voiced frames stay above 45 Hz, so the
    voicing pattern (and with it every duration) is unchanged.

    Args:
        f0 (`np.ndarray` of shape `(frames,)`): predicted F0 in Hz (0 = unvoiced), the segment's model calls joined.
        shift: level in semitones.
        pitch_range: factor on excursions around the median.
        contour: slope in semitones, last voiced frame minus first.
        jitter: 0 … 1 (tremor part).
        rng: phase of the tremor.
    """
    voiced = f0 > VOICED_HZ
    if not voiced.any():
        return None
    semis = np.full(len(f0), shift, np.float64)
    if contour:
        idx = np.flatnonzero(voiced)
        tau = np.clip((np.arange(len(f0)) - idx[0]) / max(1, idx[-1] - idx[0]), 0.0, 1.0)
        semis += contour * (tau - 0.5)
    scale = 2.0 ** (semis / 12.0)
    if pitch_range != 1.0:
        med = float(np.median(f0[voiced]))
        ratio = np.where(voiced, f0 / med, 1.0)
        scale *= np.power(np.clip(ratio, 0.5, 2.0), pitch_range - 1.0)
    if jitter:
        t = np.arange(len(f0)) * FRAME_S
        scale *= 1.0 + jitter * 0.02 * np.sin(2 * np.pi * 7.0 * t + rng.uniform(0, 2 * np.pi))
    scale = np.where(voiced, np.maximum(scale, (VOICED_HZ + 5.0) / np.maximum(f0, 1e-3)), scale)
    return scale.astype(np.float32)


def warp_f0(f0: np.ndarray, durations: np.ndarray, new_durations: np.ndarray, new_f0: np.ndarray) -> np.ndarray:
    """The F0 the voice predicts at its own pace, time-warped symbol by symbol onto new durations.

    hibari's prosody predictor reshapes F0 with the speaking rate (faster: higher and more steeply falling). To
    render rate as timing only, as espeak-ng does (pitch is the plan's own feature), each symbol's F0 frames at
    speed 1 are stretched linearly onto its frames at the new speed. Frames the model voices at the new speed but
    not at speed 1 keep the new prediction; unvoiced frames stay unvoiced.

    Args:
        f0 (`np.ndarray` of shape `(2·sum(durations),)`): F0 predicted at speed 1 (Hz, 0 = unvoiced).
        durations: per-symbol durations at speed 1 (25 ms units = 2 frames).
        new_durations: per-symbol durations at the new speeds.
        new_f0 (`np.ndarray` of shape `(2·sum(new_durations),)`): F0 predicted at the new speeds.

    Returns:
        `np.ndarray` shaped like ``new_f0``.
    """
    src_len = 2 * np.asarray(durations, np.int64)
    dst_len = 2 * np.asarray(new_durations, np.int64)
    src_start = np.concatenate([[0], np.cumsum(src_len)[:-1]])
    sym = np.repeat(np.arange(len(dst_len)), dst_len)  # symbol of each new frame
    local = np.arange(len(sym)) - np.repeat(np.concatenate([[0], np.cumsum(dst_len)[:-1]]), dst_len)
    pos = (local + 0.5) * src_len[sym] / dst_len[sym] - 0.5  # position inside the symbol's frames at speed 1
    pos = src_start[sym] + np.clip(pos, 0.0, np.maximum(src_len[sym] - 1, 0))
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, len(f0) - 1)
    w = (pos - lo).astype(np.float32)
    a, b = f0[lo], f0[hi]
    both = (a > VOICED_HZ) & (b > VOICED_HZ)
    warped = np.where(both, a * (1 - w) + b * w, np.where(w < 0.5, a, b))
    return np.where((new_f0 > VOICED_HZ) & (warped > VOICED_HZ), warped, new_f0).astype(np.float32)


def pulses(f0: np.ndarray, jitter: float, rng: np.random.Generator) -> np.ndarray:
    """``hibari.dsp.pulses`` (same closed-form band-limited pulse train) with optional cycle-to-cycle jitter.

    Without jitter this is exactly ``hibari.dsp.pulses(f0)``. With ``jitter`` j > 0 the per-sample F0 is multiplied,
    one glottal cycle at a time, by ``1 + 0.03·j·n`` with n ~ N(0, 1) held for the cycle.
    """
    from hibari import dsp

    if jitter <= 0:
        return dsp.pulses(f0)
    vthresh, fmax, sr, h2 = VOICED_HZ, 11000.0, dsp.SR, dsp.HOP // 2
    u, v = dsp._interp_w()
    fp = np.pad(np.asarray(f0, np.float32), 1, mode="edge")
    f = np.empty((len(f0), dsp.HOP), np.float32)
    f[:, :h2] = fp[:-2, None] * v[:h2] + fp[1:-1, None] * u[:h2]
    f[:, h2:] = fp[1:-1, None] * v[h2:] + fp[2:, None] * u[h2:]
    f = f.reshape(-1)
    voiced = f > vthresh
    f = np.maximum(f, vthresh)
    cycle = np.floor(np.cumsum(f, dtype=np.float64) / sr).astype(np.int64)
    f = f * (1.0 + 0.03 * jitter * rng.standard_normal(int(cycle[-1]) + 1).astype(np.float32))[cycle]
    f = np.maximum(f, vthresh)
    t = np.cumsum(f, dtype=np.float64) / sr
    t = (2 * np.pi * np.modf(t)[0]).astype(np.float32)
    n_harm = np.floor(fmax / f) + 0.5
    s = 2 * np.sin(t * 0.5)
    bad = np.abs(s) <= 2e-3
    s[bad] = 1
    e = np.sin(n_harm * t) / s
    e[bad] = n_harm[bad]
    e -= 0.5
    e[~voiced] = 0
    return e.astype(np.float32)


def vocode(
    out: dict[str, np.ndarray],
    rng: np.random.Generator,
    breathiness: float = 0.0,
    tension: float = 0.0,
    jitter: float = 0.0,
) -> np.ndarray:
    """hibari's vocoder with the voice-quality edits of the module docstring → float32 waveform.

    Args:
        out: the full graph's outputs (``lh theta ln lr phi`` of shape `(1, 601, F)`, ``f0`` of shape `(1, F)`).
        rng: noise source (seeded: results are reproducible).
        breathiness, tension, jitter: 0 … 1.
    """
    from hibari import dsp

    lh, th, ln, lr, phi = (out[k][0] for k in ("lh", "theta", "ln", "lr", "phi"))
    f0 = out["f0"][0]
    if breathiness <= 0 and tension <= 0 and jitter <= 0:
        return dsp.synth(lh, th, ln, lr, phi, f0, rng)
    n_frames = lh.shape[1]
    src = dsp.stft(pulses(f0, jitter, rng), n_frames)
    env = dsp.ex(lh)
    c = np.tanh(th)
    c *= np.pi
    rot = np.empty(lh.shape, np.complex64)
    np.cos(c, out=rot.real)
    np.sin(c, out=rot.imag)
    rot *= env
    harm = src * rot
    z = rng.standard_normal((lh.shape[0], 2 * n_frames), dtype=np.float32).view(np.complex64)
    z *= dsp.ex(ln)
    resid = np.empty(lh.shape, np.complex64)
    np.cos(phi, out=resid.real)
    np.sin(phi, out=resid.imag)
    resid *= dsp.ex(lr)
    if breathiness <= 0 and tension <= 0:
        return dsp.ola(harm + z + resid)
    energy = [float(np.vdot(p, p).real) for p in (harm, z, resid)]
    freqs = np.arange(lh.shape[0], dtype=np.float32) * np.float32(SAMPLE_RATE / dsp.N_FFT)
    w = np.clip((freqs - 500.0) / 2500.0, 0.0, 1.0)[:, None].astype(np.float32)
    wv = w * (f0 > VOICED_HZ)[None, :].astype(np.float32)  # [bins, F]: 0 below 500 Hz and in unvoiced frames
    harm *= np.power(np.float32(10.0), (-BREATHY_HARM_DB * breathiness + 6.0 * tension) / 20.0 * wv)
    if tension > 0:
        resid *= np.power(np.float32(10.0), -3.0 * tension / 20.0 * wv)
    spec = harm + z + resid
    added = 0.0
    if breathiness > 0:
        src_rms = np.sqrt(np.mean(src.real**2 + src.imag**2, axis=0, keepdims=True))  # [1, F]
        asp = rng.standard_normal((lh.shape[0], 2 * n_frames), dtype=np.float32).view(np.complex64)
        asp *= np.float32(breathiness * 10.0 ** (BREATHY_NOISE_DB / 20.0)) * wv * src_rms * env
        added = float(np.vdot(asp, asp).real)
        spec += asp
    after = float(np.vdot(harm, harm).real) + energy[1] + float(np.vdot(resid, resid).real) + added
    if after > 0:  # the parts are nearly uncorrelated: keep the summed energy
        spec *= np.float32(math.sqrt(sum(energy) / after))
    return dsp.ola(spec)
