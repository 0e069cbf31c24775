"""Avatar renderer: golden images, agreement of the OpenGL and torch backends, a face MediaPipe still finds when the
head is seen at ±30°, batching, the turntable, the appearance layers, bad arguments.

Golden images live in tests/emogen/render/golden/ (``avatar_*.png``). Set ``EMOGEN_GOLDEN_DEBUG=1`` to dump
rendered, expected and difference images to ``$EMOGEN_GOLDEN_DIR`` (default /tmp/emogen-golden);
``EMOGEN_UPDATE_GOLDEN=1`` rewrites the golden files (look at them before committing).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image

from emogen.emotion import LABELS, EmotionTrack
from emogen.face.tracking import FaceTracker
from emogen.head.avatar import HeadAvatar
from emogen.motion import MotionTrack
from emogen.render import egl_available
from emogen.render.avatar import AvatarRenderer, turntable

GOLDEN = Path(__file__).parent / "golden"
SIZE = 160
CASES = {
    "front": ({}, 0.0, 0.0),
    "jaw_open_yaw30": ({"jawOpen": 0.7}, 30.0, 0.0),
    "frown_blink": (
        {"browDownLeft": 1, "browDownRight": 1, "mouthFrownLeft": 1, "mouthFrownRight": 1, "eyeBlinkLeft": 1},
        0.0,
        10.0,
    ),  # fmt: skip
    "back": ({}, 180.0, 0.0),
    "profile": ({"mouthSmileLeft": 0.8, "mouthSmileRight": 0.8}, 90.0, 0.0),
}

needs_gl = pytest.mark.skipif(not egl_available(), reason="needs moderngl with a headless EGL context")


@pytest.fixture(scope="module")
def avatar():
    return HeadAvatar.from_portrait(skimage.data.astronaut(), progress=False)


@pytest.fixture(scope="module")
def renderer():
    return AvatarRenderer(backend="auto")


def _render(renderer: AvatarRenderer, avatar: HeadAvatar, case: str, size: int = SIZE) -> np.ndarray:
    weights, yaw, pitch = CASES[case]
    return renderer(avatar, MotionTrack.from_weights(weights), yaw=yaw, pitch=pitch, size=size)[0]


def _compare(name: str, image: np.ndarray, mean_tol: float = 2.0, p99_tol: float = 40.0) -> None:
    path = GOLDEN / f"avatar_{name}.png"
    if os.environ.get("EMOGEN_UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        Image.fromarray(image).save(path)
    expected = np.asarray(Image.open(path).convert("RGB"))
    diff = np.abs(image.astype(np.int16) - expected.astype(np.int16))
    if os.environ.get("EMOGEN_GOLDEN_DEBUG"):
        out = Path(os.environ.get("EMOGEN_GOLDEN_DIR", "/tmp/emogen-golden"))
        out.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.concatenate([image, expected, np.clip(diff * 8, 0, 255).astype(np.uint8)], 1)).save(
            out / f"avatar_{name}.png"
        )
    assert diff.mean() < mean_tol, f"{name}: mean |diff| {diff.mean():.2f}"
    assert np.percentile(diff, 99) < p99_tol, f"{name}: p99 |diff| {np.percentile(diff, 99):.1f}"


@needs_gl
@pytest.mark.parametrize("case", list(CASES))
def test_golden_renders(renderer, avatar, case):
    _compare(case, _render(renderer, avatar, case))


@needs_gl
def test_gl_and_torch_backends_agree(avatar):
    gl = AvatarRenderer(backend="moderngl")
    th = AvatarRenderer(backend="torch")
    assert (gl.backend, th.backend) == ("moderngl", "torch")
    motion = MotionTrack.from_weights({"jawOpen": 0.5, "browInnerUp": 0.8})
    a = gl(avatar, motion, yaw=20.0, size=128)[0].astype(float)
    b = th(avatar, motion, yaw=20.0, size=128)[0].astype(float)
    # the GL texture is mipmapped, the torch one is not: small differences in the textured skin only
    assert np.abs(a - b).mean() < 3.0, np.abs(a - b).mean()


def test_upper_lid_shades_the_eye(avatar, monkeypatch):
    """The lid's shadow darkens the eyes (the top of the iris and sclera under the lid) and nothing else."""
    import emogen.render.avatar.shader as shader

    renderer = AvatarRenderer(backend="torch")
    with_shadow = renderer(avatar, MotionTrack.from_weights({}), size=256)[0].astype(float)
    monkeypatch.setattr(shader, "LID_SHADOW", 0.0)
    without = renderer(avatar, MotionTrack.from_weights({}), size=256)[0].astype(float)
    diff = (without - with_shadow).sum(-1)
    changed = diff > 3
    assert changed.sum() > 20, changed.sum()  # both eyes, a band under each lid
    assert (diff >= -1).all()  # only darker
    ys, xs = np.nonzero(changed)
    assert ys.max() - ys.min() < 0.1 * 256 and xs.max() - xs.min() < 0.5 * 256  # in the eyes only


@pytest.mark.parametrize("yaw", [-30.0, 0.0, 30.0])
def test_face_stays_detectable_when_turned(renderer, avatar, yaw):
    frame = renderer(avatar, yaw=yaw, size=384)[0]
    with FaceTracker() as tracker:
        face = tracker.track(frame)
    measured = math.degrees(float(face.head_rotation[1]))
    assert abs(measured - yaw) < 15.0, (yaw, measured)  # MediaPipe sees the head turned by the camera's yaw


def _changed(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of pixels that differ by more than 10 levels."""
    return float((np.abs(a.astype(int) - b.astype(int)).max(-1) > 10).mean())


def test_batches_yaw_per_frame_and_turntable(renderer, avatar):
    t = torch.linspace(0, 1, 4)
    b = torch.zeros(4, 52)
    b[:, 24] = t  # jawOpen
    motion = MotionTrack.from_blendshapes(b)
    frames = renderer(avatar, motion, yaw=[0, 10, 20, 30], size=96)
    assert frames.shape == (4, 96, 96, 3) and frames.dtype == np.uint8
    assert np.abs(frames[0].astype(int) - frames[3].astype(int)).mean() > 1.0
    single = renderer(avatar, MotionTrack.from_blendshapes(b[3:]), yaw=30, size=96)
    assert _changed(single[0], frames[3]) < 0.005  # batching changes nothing (but the order of depth ties)
    tt = turntable(avatar, renderer, frames=4, size=96)
    assert tt.shape == (4, 96, 96, 3)
    assert _changed(tt[0], renderer(avatar, size=96)[0]) < 0.005
    pt = renderer(avatar, size=64, output_type="pt", supersample=2)
    assert isinstance(pt, torch.Tensor) and pt.shape == (1, 64, 64, 3)


def test_expression_layers_and_flush_change_the_skin(renderer, avatar):
    # the same pose with and without the appearance path: compare brow furrows rendered with zero layer weights
    frown = MotionTrack.from_weights({"browDownLeft": 1.0, "browDownRight": 1.0})
    with_layers = renderer(avatar, frown, size=192)[0].astype(float)
    flat = AvatarRenderer(backend=renderer.backend)
    flat_avatar = HeadAvatar({k: v.clone() for k, v in avatar.named_buffers(recurse=False)}, mouth=avatar.mouth)
    flat_avatar.layers[..., :8] = 153  # 0.6 · 255: no crease signal
    without = flat(flat_avatar, frown, size=192)[0].astype(float)
    furrows = with_layers.mean(-1) - without.mean(-1)
    assert furrows.min() < -8.0 and (furrows < -3.0).sum() > 10  # lines appear (darker), the rest is unchanged
    assert np.abs(furrows).mean() < 1.0
    probs = torch.zeros(1, len(LABELS))
    probs[0, LABELS.index("angry")] = 1.0
    angry = EmotionTrack(vad=torch.tensor([[-0.5, 0.6, 0.4]]), probs=probs, intensity=torch.ones(1), fps=25.0)
    red = renderer(avatar, size=192, emotion=angry)[0].astype(float)
    calm = renderer(avatar, size=192)[0].astype(float)
    face = (slice(60, 130), slice(70, 122))
    ratio = lambda im: (im[face][..., 0] / np.maximum(im[face][..., 1], 1)).mean()  # noqa: E731
    assert ratio(red) > ratio(calm) + 0.01


@pytest.mark.parametrize("backend", ["torch", pytest.param("moderngl", marks=needs_gl)])
def test_raised_brows_unfold_the_eye_cover(avatar, backend):
    """The eye-cover colour takes over where its weights say, by the inner (AU1) and outer (AU2) brow raise only."""
    from emogen.head.avatar.texture import LAYER_CHANNELS

    renderer = AvatarRenderer(backend=backend)
    marked = HeadAvatar({k: v.clone() for k, v in avatar.named_buffers(recurse=False)}, mouth=avatar.mouth)
    ch = {name: i for i, name in enumerate(LAYER_CHANNELS)}
    marked.layers[..., ch["cover_r"]], marked.layers[..., ch["cover_g"]], marked.layers[..., ch["cover_b"]] = 0, 255, 0
    marked.layers[..., ch["cover_inner"]] = 255
    marked.layers[..., ch["cover_outer"]] = 0
    green = lambda im: (im[..., 1].astype(float) - im[..., 0]).mean()  # noqa: E731
    rest = renderer(marked, size=96)[0]
    inner = renderer(marked, MotionTrack.from_weights({"browInnerUp": 1.0}), size=96)[0]
    outer = renderer(marked, MotionTrack.from_weights({"browOuterUpLeft": 1.0, "browOuterUpRight": 1.0}), size=96)[0]
    assert green(inner) > green(rest) + 20.0  # the whole skin takes the marked colour
    assert abs(green(outer) - green(rest)) < 3.0  # no outer weight marked
    marked.layers[..., ch["cover_outer"]] = 255
    marked = HeadAvatar(dict(marked.named_buffers(recurse=False)), mouth=avatar.mouth)  # new textures: a new key
    outer = renderer(marked, MotionTrack.from_weights({"browOuterUpLeft": 1.0, "browOuterUpRight": 1.0}), size=96)[0]
    assert green(outer) > green(rest) + 20.0


def test_bad_arguments(renderer, avatar):
    with pytest.raises(ValueError, match="size"):
        renderer(avatar, size=8)
    with pytest.raises(ValueError, match="yaw"):
        renderer(avatar, MotionTrack.zeros(3), yaw=[0, 10])
    with pytest.raises(TypeError, match="HeadAvatar"):
        renderer(object())
    with pytest.raises(ValueError, match="output_type"):
        renderer(avatar, output_type="pil")
    with pytest.raises(ValueError, match="supersample"):
        renderer(avatar, supersample=9)
    with pytest.raises(ValueError, match="background"):
        AvatarRenderer(background=(2, 0, 0))
    with pytest.raises(ValueError, match="fov"):
        AvatarRenderer(fov=0.1)
