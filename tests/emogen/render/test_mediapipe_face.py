"""MediaPipe-face ControlNet conditioning images: drawn exactly as MediaPipe's own drawing utilities draw them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emogen.render.mediapipe_face import (
    FACE_CONTROL_GROUPS,
    LEFT_PUPIL,
    RIGHT_PUPIL,
    canonical_face_rig,
    draw_face_landmarks,
    draw_face_landmarks_batch,
    normalized_to_pixels,
)

mp_vision = pytest.importorskip("mediapipe.tasks.python.vision", reason="mediapipe is not installed")


def _landmarks(seed: int = 0, jitter: float = 0.01) -> np.ndarray:
    """The canonical face framed in a 96 × 128 image, jittered so lines run at arbitrary sub-pixel positions."""
    rig = canonical_face_rig(height=96, width=128, ipd=0.3)
    px = rig.rest_vertices()[:, :2].double().numpy()
    lm = px / np.array([128.0, 96.0])
    return lm + np.random.default_rng(seed).normal(0.0, jitter, lm.shape)


def _mediapipe_drawing(lm: np.ndarray, height: int, width: int) -> np.ndarray:
    """The published annotator's recipe, with MediaPipe's own ``drawing_utils.draw_landmarks``: a black BGR canvas,
    the contour groups with one BGR ``DrawingSpec`` each (thickness 2), no landmark dots, 4 × 4 pupil squares, and
    the channels flipped to RGB at the end."""
    from mediapipe.tasks.python.components.containers.landmark import NormalizedLandmark
    from mediapipe.tasks.python.vision import drawing_utils
    from mediapipe.tasks.python.vision.face_landmarker import FaceLandmarksConnections as C

    bgr = {  # the annotator's colours, BGR
        "FACE_OVAL": (10, 200, 10),
        "LEFT_EYE": (180, 200, 10),
        "LEFT_EYEBROW": (180, 220, 10),
        "RIGHT_EYE": (10, 200, 180),
        "RIGHT_EYEBROW": (10, 220, 180),
        "LIPS": (10, 180, 10),
    }
    spec, connections = {}, []
    for name, color in bgr.items():
        for c in getattr(C, f"FACE_LANDMARKS_{name}"):
            spec[(c.start, c.end)] = drawing_utils.DrawingSpec(color=color, thickness=2, circle_radius=1)
            connections.append(c)
    landmarks = [NormalizedLandmark(x=float(x), y=float(y), z=0.0) for x, y in lm]
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    drawing_utils.draw_landmarks(
        canvas, landmarks, connections=connections, landmark_drawing_spec=None, connection_drawing_spec=spec
    )
    for index, color in ((468, (10, 200, 250)), (473, (250, 200, 10))):  # right, left iris centre (BGR)
        x, y = lm[index]
        if 0 <= x < 1 and 0 <= y < 1:
            cx, cy = int(width * x), int(height * y)
            canvas[cy - 2 : cy + 2, cx - 2 : cx + 2] = color
    return canvas[:, :, ::-1]


def test_connections_are_mediapipes():
    from mediapipe.tasks.python.vision.face_landmarker import FaceLandmarksConnections as C

    for name, connections, _ in FACE_CONTROL_GROUPS:
        assert [(c.start, c.end) for c in getattr(C, f"FACE_LANDMARKS_{name}")] == list(connections), name


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pixels_match_mediapipe_drawing_utils(seed):
    lm = _landmarks(seed)
    ours = draw_face_landmarks(lm, 96, 128)
    theirs = _mediapipe_drawing(lm, 96, 128)
    assert ours.dtype == np.uint8 and ours.shape == (96, 128, 3)
    assert (ours != 0).any(axis=-1).sum() > 500
    np.testing.assert_array_equal(ours, theirs)


def test_off_image_landmarks_are_skipped_like_mediapipe():
    lm = _landmarks(3)
    lm[:, 0] += 0.45  # the face's right half leaves the image
    lm[100, 0] = 1.0  # exactly on the border: drawn at width - 1
    ours = draw_face_landmarks(lm, 96, 128)
    np.testing.assert_array_equal(ours, _mediapipe_drawing(lm, 96, 128))
    px, visible = normalized_to_pixels(lm, 96, 128)
    assert visible[100] and px[100, 0] == 127 and not visible.all()


def test_colours_and_pupils():
    lm = _landmarks(0, jitter=0.0)
    img = draw_face_landmarks(torch.from_numpy(lm), 96, 128)
    colours = {tuple(c) for c in img.reshape(-1, 3)} - {(0, 0, 0)}
    expected = {c for _, _, c in FACE_CONTROL_GROUPS} | {RIGHT_PUPIL[1], LEFT_PUPIL[1]}
    assert colours == expected
    x, y = (lm[RIGHT_PUPIL[0]] * [128, 96]).astype(int)
    assert (img[y - 2 : y + 2, x - 2 : x + 2] == RIGHT_PUPIL[1]).all()
    # the subject's right eye is on the image left
    ys, xs = np.nonzero((img == (180, 200, 10)).all(-1))
    assert xs.mean() < 64


def test_batch_and_validation():
    lm = np.stack([_landmarks(0), _landmarks(1)])
    frames = draw_face_landmarks_batch(lm, 96, 128)
    assert frames.shape == (2, 96, 128, 3)
    np.testing.assert_array_equal(frames[1], draw_face_landmarks(lm[1], 96, 128))
    with pytest.raises(ValueError, match="478"):
        draw_face_landmarks(lm[0, :400], 96, 128)
    with pytest.raises(ValueError, match="height"):
        draw_face_landmarks(lm[0], 0, 128)
    bad = lm[0].copy()
    bad[5, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        draw_face_landmarks(bad, 96, 128)
    with pytest.raises(ValueError, match="ipd"):
        canonical_face_rig(ipd=2.0)


def test_small_faces_warn(caplog):
    lm = 0.5 + (_landmarks(0, jitter=0.0) - 0.5) * 0.2
    with caplog.at_level("WARNING"):
        draw_face_landmarks(lm, 96, 128)
    assert "64 pixels" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        draw_face_landmarks_batch(np.stack([lm] * 5), 96, 128)
    assert caplog.text.count("64 pixels") == 1  # once per clip, not per frame
    with pytest.raises(ValueError, match="frames, 478"):
        draw_face_landmarks_batch(lm, 96, 128)
