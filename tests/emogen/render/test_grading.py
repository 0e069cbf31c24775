"""Emotion-aware colour grading: direction of each change, neutral is the identity, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from emogen.render.grading import emotion_grade, grade_frames


def test_grade_follows_valence_and_arousal():
    g = emotion_grade(np.array([[0.0, 0.0, 0.0], [0.8, 0.6, 0.0], [-0.8, -0.5, 0.0]]))
    assert g.brightness[0] == 1.0 and g.saturation[0] == 1.0 and g.warmth[0] == 0.0
    assert g.brightness[1] > 1.0 > g.brightness[2] and g.saturation[1] > 1.0 > g.saturation[2]
    assert g.warmth[1] > 0 > g.warmth[2]


def test_grade_frames():
    rng = np.random.default_rng(0)
    frames = rng.integers(30, 220, (3, 8, 8, 3), dtype=np.uint8)
    g = emotion_grade(np.array([[0.0, 0.0, 0.0], [0.9, 0.8, 0.0], [-0.9, -0.8, 0.0]]))
    out = grade_frames(frames, g)
    assert np.abs(out[0].astype(int) - frames[0]).max() <= 1  # neutral: unchanged
    assert out[1].mean() > frames[1].mean() and out[2].mean() < frames[2].mean()
    chroma = lambda x: (x.max(-1).astype(int) - x.min(-1)).mean()  # noqa: E731
    assert chroma(out[1]) > chroma(frames[1]) and chroma(out[2]) < chroma(frames[2])
    warm = out[1].astype(int) - frames[1]
    assert (warm[..., 0] - warm[..., 2]).mean() > 0  # warmer: more red than blue


def test_bad_input():
    with pytest.raises(ValueError, match="strength"):
        emotion_grade(np.zeros((1, 3)), strength=5)
    with pytest.raises(ValueError, match="frames"):
        grade_frames(np.zeros((2, 4, 4, 3), np.uint8), emotion_grade(np.zeros((3, 3))))
