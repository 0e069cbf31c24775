"""emogen.diarize.features: window statistics, and F0 statistics that survive the pitch tracker's octave errors."""

from __future__ import annotations

import numpy as np
import torch

from emogen.audio import ProsodyFeatures
from emogen.diarize import features
from emogen.diarize.features import FEATURE_NAMES, window_features

FPS = 50.0


def _prosody(f0_hz: np.ndarray, perturbation: np.ndarray | None = None) -> ProsodyFeatures:
    """Prosody of a steady voice: constant energy, rate, tilt and HNR; the given F0 (0 = unvoiced)."""
    n = len(f0_hz)
    f0 = torch.as_tensor(f0_hz, dtype=torch.float32)
    voiced = f0 > 0
    pert = torch.zeros(n) if perturbation is None else torch.as_tensor(perturbation, dtype=torch.float32)
    return ProsodyFeatures(
        f0_hz=f0,
        voiced=voiced,
        energy_db=torch.full((n,), -20.0),
        speaking_rate=torch.full((n,), 4.0),
        alpha_ratio=torch.full((n,), -15.0),
        hnr_db=torch.where(voiced, 10.0, 0.0),
        f0_perturbation=pert,
        fps=FPS,
    )


def _column(feats: torch.Tensor, name: str) -> np.ndarray:
    return feats[:, FEATURE_NAMES.index(name)].numpy()


def test_octave_errors_do_not_move_f0_level_or_spread():
    t = np.arange(int(4 * FPS)) / FPS
    f0 = 180.0 * 2 ** (1.5 * np.sin(2 * np.pi * t / 1.3) / 12)  # ±1.5 semitones around 180 Hz
    f0[(t % 0.8) > 0.65] = 0.0  # unvoiced gaps
    broken = f0.copy()
    voiced_idx = np.flatnonzero(f0 > 0)
    broken[voiced_idx[::20]] *= 0.5  # 5 % of the voiced frames tracked an octave low
    pert = np.zeros_like(f0)
    pert[voiced_idx[::20]] = 1.0  # the tracker's jump shows up as a 100 % "perturbation"

    clean, speech = window_features(_prosody(f0))
    noisy, _ = window_features(_prosody(broken, pert))
    st = 12 * np.log2(f0[f0 > 0] / 100)
    st_broken = 12 * np.log2(broken[broken > 0] / 100)
    assert np.std(st_broken) > 2 * np.std(st)  # a plain standard deviation would be ruined
    for name in ("f0_spread_st", "f0_level_st", "d_f0_level_st"):
        diff = np.abs(_column(noisy, name) - _column(clean, name))[speech.numpy()]
        assert np.median(diff) < 0.15 and np.percentile(diff, 90) < 0.4, (name, np.percentile(diff, [50, 90]))
    spread = _column(clean, "f0_spread_st")[speech.numpy()]
    assert 0.5 < np.median(spread) < 1.5  # a robust estimate of the ±1.5 st sine's spread (1.06 st)
    assert _column(noisy, "f0_perturbation").max() <= 0.1 + 1e-6  # tracking errors are not jitter


def test_moving_median_and_mad_match_a_direct_computation(monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.normal(size=203)
    mask = rng.random(203) < 0.6
    mask[100:140] = False  # a window-length gap: no value there
    for size in (7, 50):
        expected_med, expected_mad = np.full(203, np.nan), np.full(203, np.nan)
        for i in range(203):
            lo = i - size // 2  # the same window as the moving means (scipy's uniform_filter1d)
            sel = [j for j in range(max(lo, 0), min(lo + size, 203)) if mask[j]]
            if sel:
                expected_med[i] = np.median(x[sel])
                expected_mad[i] = np.median(np.abs(x[sel] - expected_med[i]))
        for chunk in (8192, 16):  # long recordings are done block by block
            monkeypatch.setattr(features, "_CHUNK", chunk)
            med, mad = features._masked_median_mad(x, mask, size)
            np.testing.assert_allclose(med, expected_med, equal_nan=True)
            np.testing.assert_allclose(mad, expected_mad, equal_nan=True)
    mean, _ = features._masked_mean(x, mask, 7)
    assert np.array_equal(np.isnan(mean), np.isnan(features._masked_median_mad(x, mask, 7)[0]))


def test_features_are_finite_for_unvoiced_and_silent_input():
    feats, speech = window_features(_prosody(np.zeros(120)))
    assert torch.isfinite(feats).all() and not speech.any()
