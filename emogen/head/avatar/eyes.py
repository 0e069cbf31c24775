"""Eyeballs for the head avatar: geometry, placement behind the lids, gaze, colours from the photo.

* Size: the adult eyeball is nearly a sphere of 24 mm (axial length ≈ 23.7-24 mm, transverse ≈ 24.2 mm; Bekerman,
  Gottlieb & Vaiman 2014, "Variations in eyeball diameters of the healthy adults", J Ophthalmol 2014:503645), i.e.
  a radius of 12 mm = 0.19 inter-pupil distances (IPD, 63 mm).
* Iris: the visible iris is ≈ 11.7 mm across (horizontal visible iris diameter, Rüfer, Schröder & Erb 2005,
  "White-to-white corneal diameter", Cornea 24:259), an angular radius of asin(5.85 / 12) ≈ 29° on the eyeball;
  the pupil ≈ 3.5 mm across in ordinary indoor light (≈ 8.4°).
* Placement: each eyeball sits behind its iris landmarks, as far forward as it can go while every lid vertex (open,
  squinting, blinking) stays outside it, so the lids close over the eye and never cut into it.
* Gaze: ARKit ``eyeLook*`` weights turn into eye rotations with the angles of
  :func:`emogen.face.rig.gaze_to_blendshapes` (weight 1 = the iris shifted by about half the eyeball radius:
  ≈ 32° out/in, 28° down, 25° up); a MotionTrack's ``gaze`` adds to them.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ...arkit import ARKIT_INDEX

__all__ = [
    "EYEBALL_RADIUS",
    "IRIS_ANGLE",
    "PUPIL_ANGLE",
    "eye_rotations",
    "eyeball_mesh",
    "fit_eye_centres",
    "eye_contours",
    "sample_eye_colours",
    "below_upper_lid",
]

EYEBALL_RADIUS = 0.19  # IPD: 12 mm / 63 mm
IRIS_ANGLE = math.degrees(math.asin(5.85 / 12.0))  # ≈ 29.2°
PUPIL_ANGLE = math.degrees(math.asin(1.75 / 12.0))  # ≈ 8.4°
#: Gaze angles (radians) of an ``eyeLook*`` weight of 1, as in :func:`emogen.face.rig.gaze_to_blendshapes`.
GAZE_OUT = math.asin(0.10 / 0.19)
GAZE_DOWN = math.asin(0.09 / 0.19)
GAZE_UP = math.asin(0.08 / 0.19)


def eyeball_mesh(segments: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """A unit sphere looking along +z, with rings packed at the pupil and iris edges (crisp vertex colours).

    Returns:
        ``(directions (V, 3), faces (F, 3))``; the first vertex is the front pole (+z), the last the back pole.
    """
    polar = [2.0, 5.0, PUPIL_ANGLE - 0.4, PUPIL_ANGLE + 0.4, 14.0, 20.0, 25.0, IRIS_ANGLE - 1.4]
    polar += [IRIS_ANGLE - 0.3, IRIS_ANGLE + 0.3, IRIS_ANGLE + 3.0, 40.0, 52.0, 66.0, 82.0, 100.0, 135.0]
    theta = np.radians(np.asarray(polar))
    phi = np.linspace(0.0, 2 * math.pi, segments, endpoint=False)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    ring = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], -1).reshape(-1, 3)
    dirs = np.concatenate([[[0.0, 0.0, 1.0]], ring, [[0.0, 0.0, -1.0]]])
    n_r, last = len(polar), len(dirs) - 1

    def rid(i: int, j: int) -> int:
        return 1 + i * segments + j % segments

    tris = []
    for j in range(segments):
        tris.append((0, rid(0, j), rid(0, j + 1)))
        tris.append((last, rid(n_r - 1, j + 1), rid(n_r - 1, j)))
        for i in range(n_r - 1):
            tris += [(rid(i, j), rid(i + 1, j), rid(i + 1, j + 1)), (rid(i, j), rid(i + 1, j + 1), rid(i, j + 1))]
    faces = np.asarray(tris, dtype=np.int64)
    fn = np.cross(dirs[faces[:, 1]] - dirs[faces[:, 0]], dirs[faces[:, 2]] - dirs[faces[:, 0]])
    flip = (fn * dirs[faces].mean(1)).sum(-1) < 0
    faces[flip] = faces[flip][:, ::-1]
    return dirs, faces


def below_upper_lid(face: torch.Tensor, eyeballs: torch.Tensor) -> torch.Tensor:
    """How far each eyeball vertex lies below its upper lid's margin (face frame, IPD; negative above it).

    The lid's height at the vertex's x is interpolated along the lid-margin landmarks (held flat past the corners).

    Args:
        face (`torch.Tensor` of shape `(batch, 478, 3)`): the deformed face.
        eyeballs (`torch.Tensor` of shape `(batch, 2, E, 3)`): the left and right eyeball vertices, same frame.

    Returns:
        `torch.Tensor` of shape `(batch, 2, E)`.
    """
    from ...face.topology import landmark_groups

    g = landmark_groups()
    out = []
    for k, contour in enumerate((g.left_eye_upper, g.right_eye_upper)):
        lid = face[:, list(contour)]
        order = lid[..., 0].argsort(-1)
        xs, ys = lid[..., 0].gather(-1, order).contiguous(), lid[..., 1].gather(-1, order)
        px, py = eyeballs[:, k, :, 0].contiguous(), eyeballs[:, k, :, 1]
        i = torch.searchsorted(xs, px).clamp(1, xs.shape[-1] - 1)
        x0, x1 = xs.gather(-1, i - 1), xs.gather(-1, i)
        t = ((px - x0) / (x1 - x0).clamp(min=1e-6)).clamp(0.0, 1.0)
        lid_y = ys.gather(-1, i - 1) + t * (ys.gather(-1, i) - ys.gather(-1, i - 1))
        out.append(lid_y - py)
    return torch.stack(out, 1)


def eye_contours() -> tuple[np.ndarray, np.ndarray]:
    """The closed lid-margin loops (landmark indices) of the subject's left and right eye, each ordered around the
    opening (upper lid from the inner... to the outer corner, then the lower lid back)."""
    from ...face.topology import landmark_groups

    g = landmark_groups()

    def loop(upper, lower) -> np.ndarray:
        return np.asarray(list(upper) + list(lower[1:-1])[::-1], dtype=np.int64)

    return loop(g.left_eye_upper, g.left_eye_lower), loop(g.right_eye_upper, g.right_eye_lower)


def fit_eye_centres(
    identity: np.ndarray, shapedirs: np.ndarray, radius: float = EYEBALL_RADIUS, clearance: float = 0.01
) -> np.ndarray:
    """Eyeball centres ``(2, 3)`` (left, right) behind the iris landmarks, as far forward as the lids allow.

    Every face vertex within 1.6 radii of the iris centre (lids, lid folds, the skin around the eye) must stay at
    least ``clearance`` outside the eyeball in the neutral face and with ``eyeBlink``, ``eyeSquint`` and
    ``eyeWide`` of that side at 1.

    Args:
        identity (`np.ndarray` of shape `(478, 3)`): neutral face (IPD).
        shapedirs (`np.ndarray` of shape `(52, 478, 3)`): the face's blendshape fields.
    """
    centres = []
    for side, iris in (("Left", 473), ("Right", 468)):
        poses = [identity]
        for name in ("eyeBlink", "eyeSquint", "eyeWide"):
            poses.append(identity + shapedirs[ARKIT_INDEX[name + side]])
        poses.append(identity + shapedirs[ARKIT_INDEX["eyeBlink" + side]] + shapedirs[ARKIT_INDEX["eyeSquint" + side]])
        c_xy = identity[iris, :2]
        pts = np.concatenate([p[:468] for p in poses])
        near = np.linalg.norm(pts[:, :2] - c_xy, axis=-1) < 1.6 * radius
        pts = pts[near]
        # largest z_c with |p - c| >= r + clearance for all points: z_c <= p_z - sqrt((r+cl)^2 - d_xy^2)
        d2 = ((pts[:, :2] - c_xy) ** 2).sum(-1)
        reach = (radius + clearance) ** 2 - d2
        ok = reach > 0
        z_c = float(np.min(pts[ok, 2] - np.sqrt(reach[ok]))) if ok.any() else float(identity[iris, 2] - radius)
        z_c = min(z_c, float(identity[iris, 2]) - 0.6 * radius)  # never further forward than a bulging eye
        centres.append([c_xy[0], c_xy[1], z_c])
    return np.asarray(centres)


def eye_rotations(weights: torch.Tensor, gaze: torch.Tensor | None = None) -> torch.Tensor:
    """Eye rotations from ARKit weights (and a MotionTrack gaze).

    Args:
        weights (`torch.Tensor` of shape `(batch, 52)`): ARKit weights (gaze already folded into ``eyeLook*``, as
            :class:`~emogen.head.avatar.HeadAvatar` does, or not).
        gaze (`torch.Tensor` of shape `(batch, 2)`, *optional*): extra yaw, pitch (radians) for both eyes.

    Returns:
        `torch.Tensor` of shape `(batch, 2, 2)`: ``(pitch, yaw)`` in radians of the left and right eye (positive
        pitch looks down, positive yaw towards the subject's left).
    """
    w = weights

    def c(name: str) -> torch.Tensor:
        return w[:, ARKIT_INDEX[name]]

    yaw_l = (c("eyeLookOutLeft") - c("eyeLookInLeft")) * GAZE_OUT
    yaw_r = (c("eyeLookInRight") - c("eyeLookOutRight")) * GAZE_OUT
    pitch_l = c("eyeLookDownLeft") * GAZE_DOWN - c("eyeLookUpLeft") * GAZE_UP
    pitch_r = c("eyeLookDownRight") * GAZE_DOWN - c("eyeLookUpRight") * GAZE_UP
    out = torch.stack([torch.stack([pitch_l, yaw_l], -1), torch.stack([pitch_r, yaw_r], -1)], 1)
    if gaze is not None:
        out = out + gaze.to(out).flip(-1).unsqueeze(1)
    return out


def sample_eye_colours(photo: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Iris and sclera colours (sRGB in [0, 1]) read from the photo inside the lid openings.

    The iris colour is the median of the pixels between 35 % and 85 % of the iris radius (no pupil, no limbus); the
    sclera colour the brighter half of the pixels outside the iris, lightened towards white (the sclera is mostly
    in the lids' shadow in photos). Falls back to brown and off-white when too few pixels are visible.

    Args:
        photo (`np.ndarray` of shape `(H, W, 3)`, uint8).
        landmarks (`np.ndarray` of shape `(478, 2+)`): pixel coordinates.
    """
    import cv2

    h, w = photo.shape[:2]
    lm = np.asarray(landmarks, dtype=np.float64)[:, :2]
    iris_px, sclera_px = [], []
    for contour, centre in zip(eye_contours(), (473, 468), strict=True):
        poly = np.round(lm[contour]).astype(np.int32)
        x0, y0 = np.maximum(poly.min(0) - 1, 0)
        x1, y1 = np.minimum(poly.max(0) + 2, [w, h])
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(mask, [poly - [x0, y0]], 1)
        yy, xx = np.mgrid[y0:y1, x0:x1]
        r_iris = np.linalg.norm(lm[centre + 1 : centre + 5] - lm[centre], axis=-1).mean()
        d = np.hypot(xx - lm[centre, 0], yy - lm[centre, 1]) / max(r_iris, 1e-3)
        crop = photo[y0:y1, x0:x1].reshape(-1, 3).astype(np.float64) / 255.0
        m = mask.ravel() > 0
        iris_px.append(crop[m & (d.ravel() > 0.35) & (d.ravel() < 0.85)])
        sclera_px.append(crop[m & (d.ravel() > 1.15)])
    iris = np.concatenate(iris_px) if iris_px else np.zeros((0, 3))
    sclera = np.concatenate(sclera_px) if sclera_px else np.zeros((0, 3))
    iris_c = np.median(iris, 0) if len(iris) >= 6 else np.array([0.33, 0.22, 0.14])
    if len(sclera) >= 6:
        lum = sclera.mean(1)
        bright = sclera[lum >= np.median(lum)]
        sclera_c = 0.4 * np.median(bright, 0) + 0.6 * np.array([0.93, 0.91, 0.88])
    else:
        sclera_c = np.array([0.93, 0.91, 0.88])
    return np.clip(iris_c, 0.02, 0.9), np.clip(sclera_c, 0.6, 1.0)
