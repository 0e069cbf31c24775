"""Window features for the prosodic emotion backend: 50 Hz prosody → speaker-normalised descriptors per frame.

Every 50 Hz frame gets descriptors of a centred window (default 1 s) of :class:`~emogen.audio.ProsodyFeatures`.
Two kinds, so that the linear map can read both *how aroused this recording is* and *how this moment differs
from the rest of it*:

* **invariant** descriptors that do not depend on who speaks or on the recording gain: speaking rate
  (syllable nuclei / s), F0 spread in semitones, alpha ratio, HNR, F0 perturbation, voiced fraction, loudness
  spread; plus F0 level (semitones re 100 Hz) and loudness (dBFS), which *do* depend on the voice and the gain
  and are kept because the calibration data shows how much they help on average;
* **deviations** from the speaker's own reference (the median over the recording's speech frames, or a given
  reference): rate, F0 level, alpha ratio and loudness. This is the per-speaker normalisation (a z-score without
  the division: the units are already comparable, semitones and dB).

F0 statistics are robust, because pitch trackers make octave errors on recorded speech (reverberation, noise and
band-limited channels that cut the fundamental): a few percent of halved or doubled frames moved a recording's F0
standard deviation from about 2 to 8 semitones in the calibration corpus. So the window's F0 level is a median, its
spread the median absolute deviation (scaled to a standard deviation: ×1.4826), and frame F0 perturbations above
10 % (tracking errors, not jitter) are clipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import uniform_filter1d

from ..audio import ProsodyFeatures

__all__ = ["FEATURE_NAMES", "SpeakerReference", "speaker_reference", "speech_mask", "window_features"]

FEATURE_NAMES: tuple[str, ...] = (
    "rate",
    "f0_spread_st",
    "f0_level_st",
    "alpha_ratio",
    "hnr_db",
    "f0_perturbation",
    "voiced_fraction",
    "loudness_db",
    "loudness_spread_db",
    "d_rate",
    "d_f0_level_st",
    "d_alpha_ratio",
    "d_loudness_db",
)

_ACTIVE_DB_BELOW_PEAK = 35.0  # frames within this many dB of the loud (95th percentile) frames count as speech
_MAX_PERTURBATION = 0.1  # larger frame-to-frame F0 deviations are tracking errors (octave jumps), not jitter
_MAD_TO_STD = 1.4826  # median absolute deviation → standard deviation of a normal distribution
_CHUNK = 8192  # frames per block of the sliding medians (bounds their memory on long recordings)


def _semitones(f0_hz: np.ndarray) -> np.ndarray:
    return 12.0 * np.log2(np.maximum(f0_hz, 1e-3) / 100.0)


def _masked_mean(x: np.ndarray, mask: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Centred moving mean of ``x`` over frames where ``mask``; also the fraction of masked frames."""
    m = mask.astype(np.float64)
    num = uniform_filter1d(np.where(mask, x, 0.0), size=size, mode="constant")
    den = uniform_filter1d(m, size=size, mode="constant")
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(den > 1e-9, num / np.maximum(den, 1e-12), np.nan)
    return mean, den


def _masked_std(x: np.ndarray, mask: np.ndarray, size: int) -> np.ndarray:
    mean, den = _masked_mean(x, mask, size)
    sq, _ = _masked_mean(x**2, mask, size)
    return np.sqrt(np.maximum(sq - mean**2, 0.0))


def _masked_median_mad(x: np.ndarray, mask: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Centred moving median of ``x`` over frames where ``mask``, and the median absolute deviation around it
    (NaN where a window has no masked frame); the same windows as :func:`_masked_mean`."""
    left = size // 2
    padded = np.concatenate([np.full(left, np.nan), np.where(mask, x, np.nan), np.full(size - 1 - left, np.nan)])
    windows = sliding_window_view(padded, size)
    med, mad = np.full(len(x), np.nan), np.full(len(x), np.nan)
    has = uniform_filter1d(mask.astype(np.float64), size=size, mode="constant") > 1e-9
    for start in range(0, len(x), _CHUNK):
        sel = np.flatnonzero(has[start : start + _CHUNK]) + start
        if len(sel):
            w = windows[sel]
            m = np.nanmedian(w, axis=1)
            med[sel] = m
            mad[sel] = np.nanmedian(np.abs(w - m[:, None]), axis=1)
    return med, mad


def speech_mask(prosody: ProsodyFeatures) -> np.ndarray:
    """Frames that carry speech: within 35 dB of the loud frames and above -70 dBFS. Shape `(frames,)`, bool."""
    e = prosody.energy_db.double().numpy()
    peak = np.percentile(e, 95)
    return (e > peak - _ACTIVE_DB_BELOW_PEAK) & (e > -70.0)


@dataclass(frozen=True)
class SpeakerReference:
    """A speaker's reference values, the medians over (ideally neutral) speech of that speaker.

    Args:
        rate: syllable nuclei per second.
        f0_level_st: F0 in semitones re 100 Hz.
        alpha_ratio: dB.
        loudness_db: frame energy in dBFS.
    """

    rate: float
    f0_level_st: float
    alpha_ratio: float
    loudness_db: float


def _reference_from_frames(
    rate: np.ndarray, st: np.ndarray, alpha: np.ndarray, energy: np.ndarray, voiced: np.ndarray, active: np.ndarray
) -> SpeakerReference:
    def med(x: np.ndarray, m: np.ndarray, default: float) -> float:
        return float(np.median(x[m])) if m.any() else default

    return SpeakerReference(
        rate=med(rate, active, 0.0),
        f0_level_st=med(st, voiced, 0.0),
        alpha_ratio=med(alpha, active, -15.0),
        loudness_db=med(energy, active, -30.0),
    )


def speaker_reference(prosody: ProsodyFeatures) -> SpeakerReference:
    """A speaker's reference from (ideally neutral) speech: medians over its speech / voiced frames."""
    active = speech_mask(prosody)
    voiced = prosody.voiced.numpy() & active
    return _reference_from_frames(
        prosody.speaking_rate.double().numpy(),
        _semitones(prosody.f0_hz.double().numpy()),
        prosody.alpha_ratio.double().numpy(),
        prosody.energy_db.double().numpy(),
        voiced,
        active,
    )


def window_features(
    prosody: ProsodyFeatures,
    *,
    window_s: float = 1.0,
    reference: SpeakerReference | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Descriptors of a centred window around every frame.

    Args:
        prosody: 50 Hz prosodic features of one recording (one speaker).
        window_s: window length in seconds.
        reference: the speaker's reference (default: medians over this recording, see :func:`speaker_reference`).

    Returns:
        ``(features, speech)``: `torch.Tensor` of shape `(frames, len(FEATURE_NAMES))` (float32, finite) and
        `torch.Tensor` of shape `(frames,)` (bool, True where the window holds voiced speech). Windows without
        voiced speech take the recording-level values.
    """
    size = max(1, int(round(window_s * prosody.fps)))
    active = speech_mask(prosody)
    voiced = prosody.voiced.numpy() & active
    rate = prosody.speaking_rate.double().numpy()
    st = _semitones(prosody.f0_hz.double().numpy())
    alpha = prosody.alpha_ratio.double().numpy()
    hnr = prosody.hnr_db.double().numpy()
    pert = np.minimum(prosody.f0_perturbation.double().numpy(), _MAX_PERTURBATION)
    energy = prosody.energy_db.double().numpy()
    if reference is None:
        reference = _reference_from_frames(rate, st, alpha, energy, voiced, active)

    w_rate, _ = _masked_mean(rate, active, size)
    _, vfrac = _masked_mean(st, voiced, size)
    w_st, w_st_mad = _masked_median_mad(st, voiced, size)  # robust to octave errors
    w_st_spread = _MAD_TO_STD * w_st_mad
    w_alpha, _ = _masked_mean(alpha, active, size)
    w_hnr, _ = _masked_mean(hnr, voiced, size)
    w_pert, _ = _masked_mean(pert, voiced, size)
    w_loud, _ = _masked_mean(energy, active, size)
    w_loud_spread = _masked_std(energy, active, size)

    cols = [w_rate, w_st_spread, w_st, w_alpha, w_hnr, w_pert, vfrac, w_loud, w_loud_spread]
    cols += [w_rate - reference.rate, w_st - reference.f0_level_st, w_alpha - reference.alpha_ratio]
    cols += [w_loud - reference.loudness_db]
    feats = np.stack(cols, axis=-1)
    speech = vfrac > (2.0 / size)  # at least two voiced frames in the window

    # Windows without speech: recording-level values (deviations 0), so smoothing carries across pauses.
    if speech.any():
        fill = np.nanmedian(feats[speech], axis=0)
    else:
        fill = np.zeros(feats.shape[1])
    fill = np.nan_to_num(fill)
    bad = ~np.isfinite(feats) | ~speech[:, None]
    feats = np.where(bad, fill[None, :], feats)
    return torch.from_numpy(feats.astype(np.float32)), torch.from_numpy(speech)
