"""The outside read-back of rendered videos (lip sync, face presence, identity)."""

import numpy as np
import pytest
import torch
from skimage.data import astronaut

from emogen.arkit import arkit_index
from emogen.evaluation import audio_envelope, check_video, mouth_opening, shape_distance
from emogen.motion import MotionTrack


def test_envelope_follows_loudness():
    sr, fps = 16000, 25
    t = np.arange(sr * 2) / sr
    audio = np.sin(2 * np.pi * 220 * t) * (t > 1.0)  # silent first second, then a tone
    env = audio_envelope(audio.astype(np.float32), sr, fps, 50)
    assert env[:20].max() == 0.0 and env[30:].min() > 0.6  # tone RMS = 1/sqrt(2)


def test_shape_distance_ignores_pose_and_scale():
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(478, 2)) * 50 + 200
    pts[468], pts[473] = (180, 200), (240, 200)  # irises 60 px apart
    angle = 0.3
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = (pts - 200) @ rot.T * 1.7 + 50
    assert shape_distance(pts, moved) < 1e-6
    warped = pts.copy()
    warped[:100] += 6.0  # 0.1 inter-pupil distances on a fifth of the points
    assert 0.01 < shape_distance(pts, warped) < 0.1


def test_mouth_opening_in_ipd():
    lm = np.zeros((478, 3))
    lm[468, :2], lm[473, :2] = (0, 0), (60, 0)
    lm[13, :2], lm[14, :2] = (30, 80), (30, 98)
    assert mouth_opening(lm) == pytest.approx(0.3)


def test_rendered_lip_sync_reads_back(tmp_path):
    """Animate jawOpen with a speech-like envelope, write mp4 + audio, read it back from outside."""
    from emogen.export import write_video
    from emogen.render.portrait import PortraitAnimator

    fps, sr, n = 25, 16000, 60
    rng = np.random.default_rng(1)
    # syllables at ~2 Hz with random loudness, silent between them (speech-like envelope)
    phase = np.sin(np.linspace(0, 10 * np.pi, n))
    syllables = np.clip(phase, 0, None) * np.repeat(rng.uniform(0.5, 1.0, 5), -(-n // 5))[:n]
    jaw = torch.tensor(0.7 * syllables / syllables.max(), dtype=torch.float32)
    weights = torch.zeros(n, 52)
    weights[:, arkit_index("jawOpen")] = jaw
    motion = MotionTrack.from_blendshapes(weights, fps=fps)
    image = astronaut()
    animator = PortraitAnimator()
    frames = animator(animator.prepare(image), motion, size=256, progress=False)
    hop = sr // fps
    carrier = np.sin(2 * np.pi * 180 * np.arange(n * hop) / sr)
    audio = (carrier * np.repeat(jaw.numpy(), hop) * 0.5).astype(np.float32)
    path = write_video(tmp_path / "lips.mp4", frames, fps=fps, audio=audio, sample_rate=sr)

    check = check_video(path, reference_image=image, show_progress=False)
    assert check.num_frames == n and check.face_rate == 1.0
    assert check.lip_sync_r > 0.8 and abs(check.lip_sync_lag) <= 1
    assert np.nanmedian(check.identity_distance) < 0.15
    assert check.summary()["frames_with_face"] == f"{n}/{n}"


def test_missing_video_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        check_video(tmp_path / "nope.mp4")
