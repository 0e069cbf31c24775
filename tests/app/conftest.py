"""A small real stand-in for the talking-head pipeline, shared by the app tests."""

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from emogen.controls import resolve_emotion
from emogen.emotion import EmotionTrack
from emogen.motion import MotionTrack


@dataclass
class _Output:
    frames: np.ndarray
    audio: np.ndarray
    sample_rate: int
    motion: MotionTrack
    emotion_track: EmotionTrack


class _Pipe:
    """Follows EmoTalkingHeadPipeline's call signature; renders grey frames whose brightness follows valence."""

    def __init__(self):
        self.calls = []

    def __call__(self, image, text=None, audio=None, emotion=None, num_inference_steps=20, height=512, width=512,
                 generator=None):  # fmt: skip
        self.calls.append(dict(text=text, audio=audio, emotion=emotion, height=height))
        track = resolve_emotion(emotion, duration=1.0, fps=25) if emotion is not None else resolve_emotion(
            "neutral", duration=1.0)  # fmt: skip
        level = (128 + 100 * track.vad[:, 0]).clamp(0, 255).to(torch.uint8).numpy()
        frames = np.broadcast_to(level[:, None, None, None], (track.num_frames, 64, 64, 3)).copy()
        motion = MotionTrack.zeros(track.num_frames, fps=25.0)
        return _Output(frames, np.zeros(16000, np.float32), 16000, motion, track)


@pytest.fixture
def stand_in_pipe():
    return _Pipe()
