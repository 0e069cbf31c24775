"""Face-landmark conditioning images in the drawing convention of the public MediaPipe-face ControlNets.

The ControlNets trained on LAION-Face annotations (CrucibleAI's "ControlNet MediaPipe Face",
``CrucibleAI/ControlNetMediaPipeFace``, for SD 1.5 and SD 2.1; its annotator is also ``controlnet_aux``'s
``MediapipeFaceDetector``) were trained on images drawn like this, so emogen's landmarks must be drawn the same way
for those models to follow them:

* a black canvas; MediaPipe's contour connections (``FaceLandmarksConnections`` in the Tasks API, identical to the
  legacy ``mp.solutions.face_mesh.FACEMESH_*`` sets) for the face oval, both eyes, both eyebrows and the lips (outer
  and inner lip lines) — no tessellation, no nose, no iris circles;
* each connection a ``cv2.line`` of thickness 2 (8-connected, no anti-aliasing), as MediaPipe's
  ``drawing_utils.draw_landmarks`` draws a connection, with its landmark → pixel rounding
  (``min(floor(x · width), width - 1)``; landmarks outside [0, 1] are not drawn, nor their connections), and no
  landmark dots;
* one colour per group, given by the annotator in BGR and flipped to RGB at the end (values below are RGB):
  face oval (10, 200, 10), lips (10, 180, 10), the subject's left eye (10, 200, 180) and eyebrow (10, 220, 180),
  the subject's right eye (180, 200, 10) and eyebrow (180, 220, 10);
* the two pupils (iris centres, landmarks 468 = right and 473 = left) as 4 × 4 squares
  ``image[y - 2 : y + 2, x - 2 : x + 2]`` with ``x = int(x_norm · width)``: left (10, 200, 250), right (250, 200, 10);
* groups drawn in the annotator's order: oval, left eye, left eyebrow, right eye, right eyebrow, lips, then pupils.

The annotator drops faces smaller than 64 pixels (the models never saw smaller ones); :func:`draw_face_landmarks`
logs a warning for those. :func:`canonical_face_rig` frames MediaPipe's canonical face (with emogen's ARKit fields)
in an image, for conditioning without a portrait.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

logger = logging.getLogger(__name__)

__all__ = [
    "FACE_CONTROL_GROUPS",
    "LEFT_PUPIL",
    "MIN_FACE_PIXELS",
    "RIGHT_PUPIL",
    "canonical_face_rig",
    "draw_face_landmarks",
    "draw_face_landmarks_batch",
    "normalized_to_pixels",
]

# MediaPipe's face contour connections (mediapipe/python/solutions/face_mesh_connections.py; the Tasks API's
# FaceLandmarksConnections holds the same edges). "Left" is the subject's left.
_FACE_OVAL = (
    (10, 338), (338, 297), (297, 332), (332, 284), (284, 251), (251, 389), (389, 356), (356, 454), (454, 323),
    (323, 361), (361, 288), (288, 397), (397, 365), (365, 379), (379, 378), (378, 400), (400, 377), (377, 152),
    (152, 148), (148, 176), (176, 149), (149, 150), (150, 136), (136, 172), (172, 58), (58, 132), (132, 93),
    (93, 234), (234, 127), (127, 162), (162, 21), (21, 54), (54, 103), (103, 67), (67, 109), (109, 10),
)  # fmt: skip
_LIPS = (
    (61, 146), (146, 91), (91, 181), (181, 84), (84, 17), (17, 314), (314, 405), (405, 321), (321, 375),
    (375, 291), (61, 185), (185, 40), (40, 39), (39, 37), (37, 0), (0, 267), (267, 269), (269, 270), (270, 409),
    (409, 291), (78, 95), (95, 88), (88, 178), (178, 87), (87, 14), (14, 317), (317, 402), (402, 318), (318, 324),
    (324, 308), (78, 191), (191, 80), (80, 81), (81, 82), (82, 13), (13, 312), (312, 311), (311, 310), (310, 415),
    (415, 308),
)  # fmt: skip
_LEFT_EYE = (
    (263, 249), (249, 390), (390, 373), (373, 374), (374, 380), (380, 381), (381, 382), (382, 362), (263, 466),
    (466, 388), (388, 387), (387, 386), (386, 385), (385, 384), (384, 398), (398, 362),
)  # fmt: skip
_LEFT_EYEBROW = ((276, 283), (283, 282), (282, 295), (295, 285), (300, 293), (293, 334), (334, 296), (296, 336))
_RIGHT_EYE = (
    (33, 7), (7, 163), (163, 144), (144, 145), (145, 153), (153, 154), (154, 155), (155, 133), (33, 246),
    (246, 161), (161, 160), (160, 159), (159, 158), (158, 157), (157, 173), (173, 133),
)  # fmt: skip
_RIGHT_EYEBROW = ((46, 53), (53, 52), (52, 65), (65, 55), (70, 63), (63, 105), (105, 66), (66, 107))

#: ``(name, connections, RGB colour)`` in drawing order; the name is MediaPipe's ``FACE_LANDMARKS_<NAME>``.
FACE_CONTROL_GROUPS: tuple[tuple[str, tuple[tuple[int, int], ...], tuple[int, int, int]], ...] = (
    ("FACE_OVAL", _FACE_OVAL, (10, 200, 10)),
    ("LEFT_EYE", _LEFT_EYE, (10, 200, 180)),
    ("LEFT_EYEBROW", _LEFT_EYEBROW, (10, 220, 180)),
    ("RIGHT_EYE", _RIGHT_EYE, (180, 200, 10)),
    ("RIGHT_EYEBROW", _RIGHT_EYEBROW, (180, 220, 10)),
    ("LIPS", _LIPS, (10, 180, 10)),
)
#: Pupil landmark (iris centre) and its RGB colour.
RIGHT_PUPIL: tuple[int, tuple[int, int, int]] = (468, (250, 200, 10))
LEFT_PUPIL: tuple[int, tuple[int, int, int]] = (473, (10, 200, 250))
LINE_THICKNESS = 2
PUPIL_HALF_WIDTH = 2
#: Faces smaller than this (pixels, the smaller side of the landmarks' box) were left out of the training data.
MIN_FACE_PIXELS = 64


def normalized_to_pixels(landmarks: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe's landmark → pixel rule.

    Args:
        landmarks (`np.ndarray` of shape `(N, 2+)`): normalised x, y (0…1 across the image).

    Returns:
        ``(pixels (N, 2) int64, visible (N,) bool)``: ``min(floor(x · width), width - 1)`` (same for y), and whether
        the landmark lies in [0, 1] (its ``math.isclose`` tolerance at 1 included).
    """
    xy = np.asarray(landmarks, dtype=np.float64)[:, :2]

    def valid(v: np.ndarray) -> np.ndarray:
        return (v >= 0.0) & ((v < 1.0) | (np.abs(v - 1.0) <= 1e-9 * np.maximum(1.0, np.abs(v))))

    visible = valid(xy[:, 0]) & valid(xy[:, 1])
    px = np.minimum(np.floor(xy[:, 0] * width), width - 1)
    py = np.minimum(np.floor(xy[:, 1] * height), height - 1)
    pixels = np.stack([px, py], -1)
    pixels[~visible] = 0
    return pixels.astype(np.int64), visible


def _check_size(height: int, width: int) -> None:
    for name, v in (("height", height), ("width", width)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 8:
            raise ValueError(f"{name} must be an integer >= 8, got {v!r}.")


def _as_array(landmarks: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(landmarks, torch.Tensor):
        return landmarks.detach().cpu().double().numpy()
    return np.asarray(landmarks, dtype=np.float64)


def _check_landmarks(lm: np.ndarray, leading: tuple[int, ...] = ()) -> None:
    shape = "(frames, 478, 2 | 3)" if leading else "(478, 2) or (478, 3)"
    if lm.ndim != 2 + len(leading) or lm.shape[-2] != 478 or lm.shape[-1] not in (2, 3):
        raise ValueError(f"landmarks must have shape {shape}, got {tuple(lm.shape)}.")
    if not np.isfinite(lm[..., :2]).all():
        raise ValueError("landmarks contain NaN or infinite values.")


def _warn_if_small(lm: np.ndarray, height: int, width: int) -> None:
    """One warning when the smallest face of ``lm`` `(..., 478, 2+)` is below :data:`MIN_FACE_PIXELS`."""
    box = lm[..., :468, :2].max(-2) - lm[..., :468, :2].min(-2)
    w, h = box[..., 0] * width, box[..., 1] * height
    i = np.unravel_index(np.argmin(np.minimum(w, h)), w.shape)
    if min(w[i], h[i]) < MIN_FACE_PIXELS:
        logger.warning(
            "The face is %.0f × %.0f pixels; MediaPipe-face ControlNets were trained on faces of at least %d pixels.",
            w[i], h[i], MIN_FACE_PIXELS,
        )  # fmt: skip


def _draw(lm: np.ndarray, height: int, width: int, image: np.ndarray) -> np.ndarray:
    import cv2

    pixels, visible = normalized_to_pixels(lm, height, width)
    for _name, connections, color in FACE_CONTROL_GROUPS:
        for a, b in connections:
            if visible[a] and visible[b]:
                cv2.line(
                    image, tuple(int(v) for v in pixels[a]), tuple(int(v) for v in pixels[b]), color, LINE_THICKNESS
                )
    hw = PUPIL_HALF_WIDTH
    for index, color in (RIGHT_PUPIL, LEFT_PUPIL):
        x, y = float(lm[index, 0]), float(lm[index, 1])
        if not (0.0 <= x < 1.0 and 0.0 <= y < 1.0):
            continue
        px, py = int(width * x), int(height * y)
        # Python slice semantics on purpose (a start below 0 wraps and draws nothing), as the annotator does.
        image[py - hw : py + hw, px - hw : px + hw] = color
    return image


def draw_face_landmarks(
    landmarks: np.ndarray | torch.Tensor, height: int, width: int, image: np.ndarray | None = None
) -> np.ndarray:
    """Draw one face's 478 landmarks as a MediaPipe-face ControlNet conditioning image (see the module docstring).

    Args:
        landmarks (`np.ndarray` or `torch.Tensor` of shape `(478, 2)` or `(478, 3)`): normalised coordinates
            (x across the width, y down the height, both 0…1), as MediaPipe's FaceLandmarker returns them.
        height: image height in pixels.
        width: image width in pixels.
        image (`np.ndarray` of shape `(height, width, 3)`, uint8, *optional*): draw onto this RGB image (in place)
            instead of a black canvas — for several faces in one image.

    Returns:
        `np.ndarray` of shape `(height, width, 3)`, uint8 RGB.
    """
    _check_size(height, width)
    lm = _as_array(landmarks)
    _check_landmarks(lm)
    if image is None:
        image = np.zeros((height, width, 3), dtype=np.uint8)
    elif image.shape != (height, width, 3) or image.dtype != np.uint8:
        raise ValueError(f"image must be a ({height}, {width}, 3) uint8 array, got {image.shape} {image.dtype}.")
    _warn_if_small(lm, height, width)
    return _draw(lm, height, width, image)


def draw_face_landmarks_batch(landmarks: np.ndarray | torch.Tensor, height: int, width: int) -> np.ndarray:
    """:func:`draw_face_landmarks` for every frame of `(frames, 478, 2 | 3)` landmarks → `(frames, H, W, 3)` uint8."""
    _check_size(height, width)
    lm = _as_array(landmarks)
    _check_landmarks(lm, leading=(1,))
    _warn_if_small(lm, height, width)
    out = np.zeros((lm.shape[0], height, width, 3), dtype=np.uint8)
    for i in range(lm.shape[0]):
        _draw(lm[i], height, width, out[i])
    return out


def canonical_face_rig(
    height: int = 512, width: int = 512, ipd: float = 0.2, center: tuple[float, float] = (0.5, 0.42)
):
    """MediaPipe's canonical face as a :class:`~emogen.face.rig.FaceRig` framed in a ``height × width`` image.

    The rig has emogen's ARKit-52 blendshape fields, no expression of its own (rest weights 0) and a frontal head.

    Args:
        height: image height in pixels.
        width: image width in pixels.
        ipd: inter-pupil distance as a fraction of the smaller image side (0.2: the face fills about half the width,
            a head-and-shoulders portrait).
        center: where the midpoint between the eyes lies, as fractions of (width, height).
    """
    from emogen.arkit import NUM_BLENDSHAPES
    from emogen.face.blendshapes import load_blendshapes
    from emogen.face.rig import FaceRig

    _check_size(height, width)
    if not 0.02 <= ipd <= 0.5:
        raise ValueError(f"ipd must be in [0.02, 0.5] (a fraction of the smaller image side), got {ipd!r}.")
    if len(center) != 2 or not all(0.0 <= c <= 1.0 for c in center):
        raise ValueError(f"center must be two fractions in [0, 1], got {center!r}.")
    template, shapes, _ = load_blendshapes()
    # the template's origin is between the eye centres; rig pixels are x = s·v_x + o_x, y = -(s·v_y + o_y)
    origin = torch.tensor([center[0] * width, -center[1] * height, 0.0])
    return FaceRig(
        identity=template,
        shapedirs=shapes,
        rest_weights=torch.zeros(NUM_BLENDSHAPES),
        rotation=torch.eye(3),
        origin=origin,
        scale=ipd * min(height, width),
    )
