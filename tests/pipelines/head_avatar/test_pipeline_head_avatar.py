"""EmoHeadAvatarPipeline on tiny real motion components: silent and speaking avatars, save/load, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import torch

from emogen.arkit import ARKIT_INDEX


@pytest.fixture(scope="module")
def pipe(make_tiny_talking_head):
    from emogen.pipelines import EmoHeadAvatarPipeline

    th = make_tiny_talking_head()
    p = EmoHeadAvatarPipeline(
        **{k: getattr(th, k) for k in ("emotion_encoder", "motion_denoiser", "scheduler", "tts")}
    )
    p.set_progress_bar_config(disable=True)
    return p


def test_silent_avatar_follows_the_emotion(pipe):
    out = pipe(skimage.data.astronaut(), emotion="0s neutral, 0.4s happy", duration=0.8, fps=10, size=64,
               generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert out.motion.num_frames == 8 and out.emotion_track.num_frames == 8
    assert out.frames.shape == (8, 64, 64, 3) and out.frames.dtype == np.uint8
    assert len(out.audio) == 0
    smile = out.motion.blendshapes[:, ARKIT_INDEX["mouthSmileLeft"]]
    assert smile[-1] > 0.5 > smile[0]  # neutral → happy
    assert out.avatar.skin_morphs.shape[0] == 52  # the whole head carries the ARKit-52 morph targets
    # the rendered face changes with the expression (the last frame smiles)
    assert np.abs(out.frames[-1].astype(int) - out.frames[0].astype(int)).mean() > 0.5


def test_speaking_avatar_has_the_speech(pipe):
    out = pipe(skimage.data.astronaut(), text="Hello there.", fps=25, output_type="avatar",
               generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert out.frames is None
    seconds = len(out.audio) / out.sample_rate
    assert seconds > 0.3 and out.motion.num_frames == round(seconds * 25)
    assert out.motion.blendshapes[:, ARKIT_INDEX["jawOpen"]].max() > 0.05  # the lips move with the words


def test_save_and_load(pipe, tmp_path):
    from emogen.pipelines import EmoHeadAvatarPipeline

    pipe.save_pretrained(tmp_path)
    again = EmoHeadAvatarPipeline.from_pretrained(tmp_path)
    for name in ("emotion_encoder", "motion_denoiser"):
        a, b = getattr(pipe, name).state_dict(), getattr(again, name).state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a)


def test_bad_input(pipe):
    photo = skimage.data.astronaut()
    with pytest.raises(ValueError, match="image"):
        pipe(None)
    with pytest.raises(ValueError, match="not both"):
        pipe(photo, audio=np.zeros(1600, np.float32), text="hi")
    with pytest.raises(ValueError, match="yaw"):
        pipe(photo, yaw=400.0)
    with pytest.raises(ValueError, match="output_type"):
        pipe(photo, output_type="glb")
    with pytest.raises(ValueError, match="[Uu]nknown emotion"):
        pipe(photo, emotion="blorp")
    with pytest.raises(ValueError):
        pipe(np.full((200, 200, 3), 90, np.uint8), duration=0.2)  # no face
