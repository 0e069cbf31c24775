"""EmoVideoPipeline on tiny real motion components: idle, listening (silent, reacting, mirroring) and speaking."""

from __future__ import annotations

import pytest
import skimage.data
import torch

from emogen.arkit import ARKIT_INDEX
from emogen.emotion import LABELS

SPEAKER = "[sad] I lost my keys again this morning, and I was late for work. [happy] But then I found them!"


@pytest.fixture(scope="module")
def pipe(make_tiny_talking_head):
    from emogen.pipelines import EmoVideoPipeline

    th = make_tiny_talking_head()
    p = EmoVideoPipeline(**{k: getattr(th, k) for k in ("emotion_encoder", "motion_denoiser", "scheduler", "tts")})
    p.set_progress_bar_config(disable=True)
    return p


@pytest.fixture(scope="module")
def listening(pipe):
    return pipe(skimage.data.astronaut(), mode="listening", text=SPEAKER, mirror=0.6, fps=10, height=64, width=64,
                generator=torch.Generator().manual_seed(0))  # fmt: skip


def test_idle_clip(pipe):
    out = pipe(skimage.data.astronaut(), emotion="0s neutral, 1s angry", mode="idle", duration=1.5, fps=10,
               height=64, width=64, generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert out.frames.shape == (15, 64, 64, 3) and len(out.audio) == 0 and out.cues is None and out.grade is None
    brow = out.motion.blendshapes[:, ARKIT_INDEX["browDownLeft"]]
    assert brow[-1] > 0.5 > brow[0]


def test_listener_stays_silent_and_reacts(listening):
    out = listening
    seconds = len(out.audio) / out.sample_rate
    assert out.mode == "listening" and seconds > 3 and out.frames.shape[0] == round(seconds * 10)
    b = out.motion.blendshapes
    for name in ("jawOpen", "mouthFunnel", "mouthPucker", "mouthLowerDownLeft", "mouthUpperUpLeft"):
        assert b[:, ARKIT_INDEX[name]].abs().max() == 0, name  # the lips stay closed while the other speaks
    assert out.cues, "no backchannel point found in the speaker's prosody"
    times = [t for t, _ in out.cues]
    assert all(0 < t < seconds for t in times)


def test_listener_mirrors_the_speakers_emotion(pipe, listening):
    alone = pipe(skimage.data.astronaut(), mode="listening", text=SPEAKER, mirror=0.0, fps=10, height=64, width=64,
                 generator=torch.Generator().manual_seed(0))  # fmt: skip
    sad, happy = LABELS.index("sad"), LABELS.index("happy")
    n = listening.emotion_track.num_frames
    first, last = slice(0, n // 3), slice(2 * n // 3, n)
    assert alone.emotion_track.probs[:, sad].max() < 0.05  # its own timeline is neutral
    assert listening.emotion_track.probs[first, sad].mean() > 0.2  # takes on the speaker's sadness…
    assert listening.emotion_track.probs[last, happy].mean() > listening.emotion_track.probs[first, happy].mean()


def test_speaking_and_grade(pipe):
    out = pipe(skimage.data.astronaut(), emotion="happy", text="Hello there.", grade=True, fps=10, height=64,
               width=64, generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert out.mode == "speaking" and out.motion.blendshapes[:, ARKIT_INDEX["jawOpen"]].max() > 0.05
    assert out.grade is not None and min(out.grade["brightness"]) > 1.0  # happy: brighter, warmer
    assert min(out.grade["warmth"]) > 0


def test_bad_input(pipe):
    photo = skimage.data.astronaut()
    with pytest.raises(ValueError, match="mode"):
        pipe(photo, mode="dancing")
    with pytest.raises(ValueError, match="needs `audio` or `text`"):
        pipe(photo, mode="listening")
    with pytest.raises(ValueError, match="takes no speech"):
        pipe(photo, mode="idle", text="hi")
    with pytest.raises(ValueError, match="mirror"):
        pipe(photo, mode="listening", text="hi", mirror=2.0)
    with pytest.raises(ValueError, match="[Uu]nknown emotion"):
        pipe(photo, mode="idle", emotion="blorp")


def test_responses_fall_in_the_speakers_pauses(listening):
    """Pauses measured on the synthesised speech itself (frame level 35 dB below its loud frames for ≥ 0.3 s):
    every phrase-end response comes within 0.6 s after one starts, and the head nods at most responses."""
    import numpy as np

    out = listening
    hop = out.sample_rate // 100
    frames = out.audio[: len(out.audio) // hop * hop].reshape(-1, hop)
    level = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)
    silent = level < np.percentile(level, 95) - 35
    onsets, run = [], 0
    for i, s in enumerate(silent):
        run = run + 1 if s else 0
        if run == 30 and i - 30 > 0 and not silent[: i - 29].all():
            onsets.append((i - 29) / 100)
    pauses = [t for t, kind in out.cues if kind == "pause"]
    assert onsets and pauses
    for t in pauses:
        assert any(0 <= t - onset <= 0.6 for onset in onsets), (t, onsets)
    pitch = out.motion.head_rotation[:, 0]
    fps = out.motion.fps
    nods = sum(
        float(pitch[max(0, round(t * fps) - 3) : round(t * fps) + 4].max()) > float(pitch.median()) + np.radians(2.5)
        for t, _ in out.cues
    )
    assert nods >= len(out.cues) / 2


def test_speaking_reads_the_emotion_from_the_text(pipe):
    out = pipe(skimage.data.astronaut(), emotion="auto", text="I am so happy, this is the best day of my life!",
               fps=10, height=64, width=64, generator=torch.Generator().manual_seed(0))  # fmt: skip
    happy = out.emotion_track.probs[:, LABELS.index("happy")]
    assert happy.mean() > 0.4, happy.mean()
    with pytest.raises(ValueError, match="'auto'.*mode='speaking'"):
        pipe(skimage.data.astronaut(), emotion="auto", mode="listening", text="Hello there.")
