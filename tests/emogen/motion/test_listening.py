"""The listener's motion: cue timing from the speaker's prosody, closed lips, nods at the cues, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emogen.arkit import ARKIT_INDEX
from emogen.motion.listening import ListeningSettings, listener_cues, listening_motion

FPS = 50.0


def _speaker(seconds: float = 5.0):
    """Speech from 0.2 s to 3.2 s at 200 Hz with a 250 ms dip to 120 Hz at 1.5 s, then silence."""
    n = int(seconds * FPS)
    t = np.arange(n) / FPS
    speech = (t >= 0.2) & (t < 3.2)
    f0 = np.where(speech, 200.0 + 10 * np.sin(2 * np.pi * 3 * t), 0.0)
    f0[(t >= 1.5) & (t < 1.75)] = 120.0
    energy = np.where(speech, -20.0, -80.0)
    return f0, f0 > 0, energy


def test_cues_follow_low_pitch_and_pauses():
    f0, voiced, energy = _speaker()
    cues = listener_cues(f0, voiced, energy, FPS)
    kinds = {c.kind: c.time for c in cues}
    assert kinds["low_pitch"] == pytest.approx(1.5 + 0.7, abs=0.03)  # Ward & Tsukahara: ~700 ms after the onset
    assert kinds["pause"] == pytest.approx(3.2 + 0.2, abs=0.05)  # the phrase end's pause
    times = [c.time for c in cues]
    assert all(b - a >= 0.8 for a, b in zip(times, times[1:], strict=False))


def test_no_cue_before_enough_speech_or_without_low_pitch():
    f0, voiced, energy = _speaker()
    early = listener_cues(f0, voiced, energy, FPS, ListeningSettings(min_speech_s=3.5))
    assert early == []
    flat = np.where(voiced, 200.0, 0.0)
    assert all(c.kind == "pause" for c in listener_cues(flat, voiced, energy, FPS))
    assert listener_cues(np.zeros(10), np.zeros(10, bool), np.full(10, -90.0), FPS) == []


def test_listener_keeps_lips_closed_and_nods_at_cues():
    f0, voiced, energy = _speaker()
    cues = listener_cues(f0, voiced, energy, FPS)
    frames = 125  # 5 s at 25 fps
    expression = torch.zeros(frames, 52)
    expression[:, ARKIT_INDEX["jawOpen"]] = 0.5  # what a speaking prior would add: must not open the mouth
    expression[:, ARKIT_INDEX["browInnerUp"]] = 0.4
    settings = ListeningSettings(nod_probability=1.0, smile_probability=1.0)
    motion = listening_motion(frames, 25.0, cues, expression, settings, torch.Generator().manual_seed(0))
    b = motion.blendshapes
    assert b[:, ARKIT_INDEX["jawOpen"]].abs().max() == 0 and b[:, ARKIT_INDEX["mouthFunnel"]].abs().max() == 0
    assert torch.allclose(b[:, ARKIT_INDEX["browInnerUp"]], torch.full((frames,), 0.4))  # own expression kept
    pitch = motion.head_rotation[:, 0]
    for cue in cues:
        i = round(cue.time * 25)
        window = pitch[max(0, i - 3) : i + 4]
        assert window.max() > pitch.median() + np.radians(2.5), cue  # the head dips at each cue
        assert b[i, ARKIT_INDEX["mouthSmileLeft"]] > 0.2
    again = listening_motion(frames, 25.0, cues, expression, settings, torch.Generator().manual_seed(0))
    assert torch.equal(again.head_rotation, motion.head_rotation) and torch.equal(again.gaze, motion.gaze)


def test_bad_input():
    with pytest.raises(ValueError, match="share"):
        ListeningSettings(nod_probability=1.5)
    with pytest.raises(ValueError, match="shape"):
        listening_motion(10, 25.0, [], torch.zeros(5, 52))
    with pytest.raises(ValueError, match="same length"):
        listener_cues(np.zeros(5), np.zeros(4, bool), np.zeros(5), FPS)
    with pytest.raises(ValueError, match="num_frames"):
        listening_motion(0, 25.0, [])
