"""Face tracking on real images: the astronaut, converted variants, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import torch

from emogen.arkit import ARKIT_INDEX
from emogen.face.tracking import FaceTracker, NoFaceFoundError, rotation_to_euler


@pytest.fixture(scope="module")
def tracker():
    with FaceTracker() as t:
        yield t


@pytest.fixture(scope="module")
def astronaut():
    return skimage.data.astronaut()


@pytest.fixture(scope="module")
def face(tracker, astronaut):
    return tracker.track(astronaut)


def test_astronaut_landmarks_and_scores(face):
    assert face.landmarks.shape == (478, 3)
    assert face.blendshapes.shape == (52,)
    x0, y0, x1, y1 = face.bbox
    # the face sits in the upper middle of the 512² photo
    assert 150 < x0 < x1 < 300 and 50 < y0 < y1 < 200
    # she smiles broadly; the detector must say so
    assert face.blendshape("mouthSmileLeft") > 0.6 and face.blendshape("mouthSmileRight") > 0.6
    assert face.blendshape("jawOpen") < 0.3
    # iris centres: 468 is the subject's right (image left)
    assert face.landmarks[468, 0] < face.landmarks[473, 0]
    assert 35 < face.inter_pupil_distance < 55
    assert face.head_rotation.abs().max() < 0.4  # roughly frontal


def test_grayscale_rgba_and_float_inputs(tracker, astronaut, face):
    gray = (skimage.color.rgb2gray(astronaut) * 255).astype(np.uint8)
    rgba = np.concatenate([astronaut, np.full(astronaut.shape[:2] + (1,), 255, np.uint8)], -1)
    for img in (gray, rgba, astronaut.astype(np.float32) / 255, torch.from_numpy(astronaut).permute(2, 0, 1)):
        other = tracker.track(img)
        assert (other.landmarks[:, :2] - face.landmarks[:, :2]).abs().mean() < 1.5


def test_large_photo_matches_small(tracker, astronaut, face):
    big = np.kron(astronaut, np.ones((12, 12, 1), dtype=np.uint8))  # 6144 px
    res = tracker.track(big)
    err = (res.landmarks[:, :2] / 12 - face.landmarks[:, :2]).norm(dim=-1).mean()
    assert err < 0.05 * face.inter_pupil_distance
    assert res.image_size == (6144, 6144)


def test_several_faces_face_index(tracker, astronaut):
    canvas = np.full((512, 1024, 3), 128, np.uint8)
    canvas[:, :512] = astronaut
    small = astronaut[::2, ::2]  # a second, smaller face
    canvas[100:356, 640:896] = small
    faces = tracker.track_all(canvas)
    assert len(faces) == 2
    assert faces[0].face_size > faces[1].face_size  # largest first
    assert tracker.track(canvas, face_index=1).bbox[0] > 600
    with pytest.raises(ValueError, match="face_index"):
        tracker.track(canvas, face_index=5)


def test_no_face_and_tiny_image(tracker):
    rng = np.random.default_rng(0)
    with pytest.raises(NoFaceFoundError, match="No face"):
        tracker.track(np.full((256, 256, 3), 200, np.uint8))
    with pytest.raises(ValueError, match="No face"):
        tracker.track(rng.integers(0, 255, (300, 200, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="at least"):
        tracker.track(np.zeros((20, 20, 3), np.uint8))


def test_bad_input_types(tracker):
    with pytest.raises(TypeError):
        tracker.track(12)
    with pytest.raises(ValueError, match="shape"):
        tracker.track(np.zeros((10, 10, 5), np.uint8))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        tracker.track(np.full((64, 64, 3), 3.0, np.float32))
    with pytest.raises(ValueError, match="no such file"):
        tracker.track("/nonexistent/photo.jpg")


def test_rotation_to_euler_conventions():
    from emogen.face.rig import euler_to_rotation

    angles = torch.tensor([[0.2, -0.3, 0.1], [0.0, 0.5, 0.0]])
    assert torch.allclose(rotation_to_euler(euler_to_rotation(angles)), angles, atol=1e-5)
    nose = torch.tensor([0.0, 0.0, 1.0])
    assert (euler_to_rotation(torch.tensor([0.3, 0.0, 0.0])) @ nose)[1] < 0  # +pitch: nose down
    assert (euler_to_rotation(torch.tensor([0.0, 0.3, 0.0])) @ nose)[0] > 0  # +yaw: nose to image right


def test_blendshape_order_is_arkit(face):
    assert ARKIT_INDEX["mouthSmileLeft"] == 43
    assert face.blendshapes.min() >= 0 and face.blendshapes.max() <= 1
