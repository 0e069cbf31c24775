"""The photo read as a face: the per-pixel map to the face frame, the light, the skin, the valleys (lines)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from ....face.blendshapes import face_topology

#: Names of the scalar (H, W) shading layers, in contact-sheet order.
LAYER_NAMES = (
    "glabella",
    "forehead_au1",
    "forehead_au2",
    "nose",
    "nasolabial",
    "crows_feet",
    "lower_lid",
    "chin",
)

WORK_IPD = 96.0  # px: the working resolution's largest inter-pupil distance
_LINE_MIN = (
    0.0012  # mean oriented valley strength (≈ log contrast) of a profile peak above its background: a photo line
)
_F32 = np.float32

# MediaPipe face-mesh landmark indices used below (subject's right, subject's left).
_BROW_UPPER = ((70, 63, 105, 66, 107), (336, 296, 334, 293, 300))
_BROW_LOWER = ((46, 53, 52, 65, 55), (285, 295, 282, 283, 276))
_EYE_OUTER = (33, 263)
_EYE_INNER = (133, 362)
_ALA = (129, 358)
_NASOLABIAL = ((203, 206, 216, 212), (423, 426, 436, 432))
_MOUTH_CORNER = (61, 291)
_CHEEK = ((117, 118, 50, 101, 36, 205), (346, 347, 280, 330, 266, 425))
_NOSE_BRIDGE = (6, 197, 195, 5, 168)
_FOREHEAD = (9, 151, 108, 337, 69, 299)
_LOWER_LIP_BOTTOM, _CHIN_BOTTOM = 17, 152


@dataclass(frozen=True)
class Light:
    """Dominant light in the image plane, fitted from the face's shading.

    Attributes:
        direction: unit vector (2,) in image coordinates (x right, y down) pointing *towards* the light.
        strength: tangential light over the frontal+ambient part, in [0, 1]: 0 for flat frontal light, ~0.5 and
            above for a clear side light. Scales the directional part of crease shading.
        ambient: the fitted constant term over the mean skin luminance (for diagnostics).
        camera_direction: unit light direction (3,) in the camera frame (x right, y up, z to the camera).
    """

    direction: np.ndarray
    strength: float
    ambient: float
    camera_direction: np.ndarray


def _seed_from_photo(gray: np.ndarray) -> int:
    """Deterministic per-photo seed from a coarse thumbnail of the face crop."""
    thumb = cv2.resize(gray.astype(_F32), (12, 12), interpolation=cv2.INTER_AREA)
    # an "average hash": which cells are brighter than the median. Invariant to exposure and contrast (the same
    # face, darker, draws the same lines) and to small noise; a different face or framing changes it.
    q = np.packbits(thumb > np.median(thumb))
    return int.from_bytes(hashlib.blake2b(q.tobytes(), digest_size=8).digest(), "little")


def _rng(seed: int, name: str) -> np.random.Generator:
    """A generator per layer, so the lines of one layer do not change when another layer changes."""
    sub = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), "little")
    return np.random.default_rng([seed & 0xFFFFFFFF, seed >> 32, sub])


class _Noise1D:
    """Smooth band-limited 1-D noise in roughly [-1, 1]: a few random-phase sinusoids."""

    def __init__(self, rng: np.random.Generator, period: float, octaves: int = 3) -> None:
        self.freqs = (2 * np.pi / period) * np.array([1.0, 2.13, 4.37][:octaves]) * rng.uniform(0.8, 1.25, octaves)
        self.phases = rng.uniform(0, 2 * np.pi, octaves)
        self.amps = np.array([1.0, 0.5, 0.25][:octaves])
        self.amps = self.amps / self.amps.sum()

    def __call__(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, np.float64)[..., None]
        return (np.sin(t * self.freqs + self.phases) * self.amps).sum(-1)


def _smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _poly_mask(shape: tuple[int, int], poly: np.ndarray) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    cv2.fillPoly(m, [np.round(poly * 4).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=2)
    return m.astype(_F32) / 255.0


def _blur(a: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(a, (0, 0), max(float(sigma), 0.3), borderType=cv2.BORDER_REPLICATE)


def _profile(u: np.ndarray, shoulder: float = 0.35, spread: float = 2.6) -> tuple[np.ndarray, np.ndarray]:
    """Cross-section of a crease at ``u = d / sigma``: a narrow valley with broad, low shoulders.

    Returns the height ``p(u)`` (−1+shoulder at the centre, slightly positive at |u|≈2–3, ~zero mean) and its
    derivative ``dp/du``.
    """
    g1 = np.exp(-0.5 * u * u)
    us = u / spread
    g2 = np.exp(-0.5 * us * us)
    p = -g1 + shoulder * g2
    dp = u * g1 - shoulder * us / spread * g2
    return p, dp


def _pose(pts: np.ndarray, identity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weak-perspective fit ``pts ≈ identity @ A.T + t``; returns the rotation (3, 3) face→camera (rows: camera x
    right, y up, z to camera, expressed in face coordinates) and ``A`` (2, 3)."""
    n = 468
    X = np.concatenate([identity[:n], np.ones((n, 1))], 1)
    sol, *_ = np.linalg.lstsq(X, pts[:n], rcond=None)
    A = sol[:3].T  # (2, 3)
    r1 = A[0] / np.linalg.norm(A[0])
    r2 = -A[1]
    r2 = r2 - r1 * (r1 @ r2)
    r2 /= np.linalg.norm(r2)
    r3 = np.cross(r1, r2)
    return np.stack([r1, r2, r3]), A


def _vertex_normals(v: np.ndarray, faces: np.ndarray) -> np.ndarray:
    fn = np.cross(v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]])
    vn = np.zeros_like(v)
    for k in range(3):
        np.add.at(vn, faces[:, k], fn)
    # orient towards the camera (+z in the face frame)
    if vn[:, 2].sum() < 0:
        vn = -vn
    return vn / np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-9)


@dataclass
class _FaceMap:
    """Per-pixel face-frame coordinates on the working crop."""

    U: np.ndarray  # (h, w) face x (IPD, subject's left +)
    V: np.ndarray  # (h, w) face y (IPD, up +)
    J: np.ndarray  # (h, w, 2, 2) d(U,V)/d(x,y)
    inside: np.ndarray  # (h, w) bool: covered by the visible mesh
    valid: np.ndarray  # (h, w) float: 1 on/near the mesh, fading with extrapolation distance


def _face_map(shape: tuple[int, int], pts: np.ndarray, identity: np.ndarray, rot: np.ndarray, ipd: float) -> _FaceMap:
    h, w = shape
    faces = face_topology().faces
    P = pts[faces]  # (F, 3, 2)
    Q = identity[faces]  # (F, 3, 3)
    area = (P[:, 1, 0] - P[:, 0, 0]) * (P[:, 2, 1] - P[:, 0, 1]) - (P[:, 2, 0] - P[:, 0, 0]) * (
        P[:, 1, 1] - P[:, 0, 1]
    )
    area_id = (Q[:, 1, 0] - Q[:, 0, 0]) * (Q[:, 2, 1] - Q[:, 0, 1]) - (Q[:, 2, 0] - Q[:, 0, 0]) * (
        Q[:, 1, 1] - Q[:, 0, 1]
    )
    # image y is down, face y is up: a front-facing triangle flips the sign of its signed area
    front = (area * area_id < 0) & (np.abs(area) > 1e-3)
    depth = (Q @ rot[2]).mean(1)  # towards the camera
    order = [i for i in np.argsort(depth) if front[i]]
    tid = np.zeros((h, w), np.int32)
    for i in order:  # painter's algorithm, far to near
        cv2.fillConvexPoly(tid, np.round(P[i] * 16).astype(np.int32), int(i) + 1, lineType=cv2.LINE_8, shift=4)
    inside = tid > 0
    # affine maps image (x, y, 1) -> face (U, V) per triangle
    Ph = np.concatenate([P, np.ones((len(faces), 3, 1))], 2)  # (F, 3, 3)
    ok = np.abs(np.linalg.det(Ph)) > 1e-6
    M = np.zeros((len(faces), 3, 2))
    M[ok] = np.linalg.solve(Ph[ok], Q[ok][..., :2])  # rows: coefficients of x, y, 1
    if not inside.any():
        raise ValueError("the landmarks cover no pixel of the working crop")
    dist, (iy, ix) = ndimage.distance_transform_edt(~inside, return_indices=True)
    tid_all = tid[iy, ix] - 1
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    Mt = M[tid_all]  # (h, w, 3, 2)
    U = Mt[..., 0, 0] * xx + Mt[..., 1, 0] * yy + Mt[..., 2, 0]
    V = Mt[..., 0, 1] * xx + Mt[..., 1, 1] * yy + Mt[..., 2, 1]
    J = np.stack([np.stack([Mt[..., 0, 0], Mt[..., 1, 0]], -1), np.stack([Mt[..., 0, 1], Mt[..., 1, 1]], -1)], -2)
    # smooth the piecewise-constant Jacobian a little (it only orients shading and sets widths)
    J = np.stack([_blur(J[..., a, b].astype(_F32), 1.0 + 0.01 * ipd) for a in range(2) for b in range(2)], -1)
    J = J.reshape(h, w, 2, 2)
    valid = 1.0 - _smoothstep(0.35 * ipd, 0.6 * ipd, dist)
    return _FaceMap(U.astype(_F32), V.astype(_F32), J, inside, valid.astype(_F32))


def fit_light(values: np.ndarray, normals: np.ndarray, weights: np.ndarray | None = None, iters: int = 3) -> Light:
    """Fit a first-order Lambertian model ``I ≈ b0 + b · n`` to luminance samples with known camera-frame normals.

    A robust (Tukey-reweighted) least-squares fit of the first four spherical-harmonic terms, which is what a
    convex Lambertian surface under a distant light plus ambient reflects to first order (Basri & Jacobs 2003).

    Args:
        values: (N,) linear luminance samples.
        normals: (N, 3) unit normals in the camera frame (x right, y up, z towards the camera).
        weights: optional (N,) sample weights.
        iters: reweighting iterations.

    Returns:
        The :class:`Light`; its image-plane ``direction`` is ``(b_x, -b_y)`` normalised (image y is down).
    """
    values = np.asarray(values, np.float64)
    normals = np.asarray(normals, np.float64)
    w = np.ones(len(values)) if weights is None else np.asarray(weights, np.float64).copy()
    X = np.concatenate([np.ones((len(values), 1)), normals], 1)
    b = np.zeros(4)
    for _ in range(max(1, iters)):
        sw = np.sqrt(w)
        b, *_ = np.linalg.lstsq(X * sw[:, None], values * sw, rcond=None)
        r = values - X @ b
        s = 1.4826 * np.median(np.abs(r)) + 1e-9
        u = r / (4.685 * s)
        w = (weights if weights is not None else 1.0) * np.where(np.abs(u) < 1, (1 - u * u) ** 2, 0.0)
        if w.sum() < 8:
            break
    mean = max(float(np.average(values, weights=None)), 1e-6)
    bxy = np.array([b[1], -b[2]])
    # sine of the light's angle from the view axis times the direct share of the light: |b_xy| / (b0 + |b|)
    strength = float(np.clip(np.linalg.norm(bxy) / max(max(b[0], 0.0) + np.linalg.norm(b[1:]), 1e-6), 0.0, 1.0))
    d2 = bxy / max(np.linalg.norm(bxy), 1e-9)
    d3 = b[1:] / max(np.linalg.norm(b[1:]), 1e-9)
    return Light(direction=d2.astype(_F32), strength=strength, ambient=float(b[0] / mean), camera_direction=d3)


def _skin_vertex_mask() -> np.ndarray:
    """Vertices (of 468) on plain skin: not on or next to the eyes, brows, lips or nostrils."""
    g = face_topology().groups
    bad = set(g.left_eye_upper + g.left_eye_lower + g.right_eye_upper + g.right_eye_lower)
    bad |= set(g.left_brow + g.right_brow + g.lips_outer_upper + g.lips_outer_lower)
    bad |= set(g.lips_inner_upper + g.lips_inner_lower)
    bad |= {2, 97, 98, 99, 326, 327, 328, 94, 141, 370, 79, 309, 60, 290, 75, 305, 20, 250, 242, 462}
    m = np.ones(468, bool)
    m[list(i for i in bad if i < 468)] = False
    return m


def estimate_light(photo: np.ndarray, pts: np.ndarray, identity: np.ndarray) -> Light:
    """Estimate the dominant light direction in the image plane from the face's own shading.

    Luminance (linearised sRGB, blurred to suppress texture) is sampled at the skin landmarks and fitted against
    the rig's vertex normals rotated into the camera (:func:`fit_light`): brighter cheek on one side, the shadow
    beside the nose and the lit brow ridge all pull the fit the same way.

    Args:
        photo: (H, W, 3) uint8 RGB.
        pts: (478, 2) landmark pixels in the photo.
        identity: (478, 3) neutral face in its own frame (IPD units, x subject's left, y up, z to camera).
    """
    rot, _ = _pose(pts, identity)
    faces = face_topology().faces
    n_face = _vertex_normals(identity[:468], faces)
    n_cam = n_face @ rot.T
    ipd = float(np.linalg.norm(pts[468] - pts[473])) if len(pts) > 473 else 60.0
    y = photo.astype(_F32) @ np.array([0.2126, 0.7152, 0.0722], _F32) / 255.0
    y = y**2.2
    y = _blur(y, max(1.0, 0.04 * ipd))
    p = pts[:468]
    h, w = y.shape
    inb = (p[:, 0] >= 0) & (p[:, 0] <= w - 1) & (p[:, 1] >= 0) & (p[:, 1] <= h - 1)
    vals = cv2.remap(
        y,
        p[:, 0].astype(_F32).reshape(-1, 1),
        p[:, 1].astype(_F32).reshape(-1, 1),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    ).ravel()
    use = _skin_vertex_mask() & inb & (n_cam[:, 2] > 0.15)
    return fit_light(vals[use], n_cam[use], n_cam[use, 2])


def valley_response(logy: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Hessian valley (dark-line) filter at one scale.

    Args:
        logy: (h, w) log-luminance.
        sigma: scale in pixels (about half the crease width).

    Returns:
        ``(strength, normal)``: the scale-normalised across-line curvature of dark lines (≈ their log contrast;
        blobs and saddles suppressed, cf. Frangi et al. 1998) and the unit across-line direction ``(h, w, 2)``.
    """
    g = _blur(logy, sigma)
    gy, gx = np.gradient(g)
    gxy, gxx = np.gradient(gx)
    gyy, _ = np.gradient(gy)
    s2 = sigma * sigma
    hxx, hyy, hxy = gxx * s2, gyy * s2, gxy * s2
    half_tr = 0.5 * (hxx + hyy)
    disc = np.sqrt(0.25 * (hxx - hyy) ** 2 + hxy * hxy)
    l1 = half_tr + disc  # largest: across a valley
    l2 = half_tr - disc
    rb = l2 / np.maximum(l1, 1e-6)
    strength = np.where(l1 > 0, l1 * np.exp(-0.5 * (rb / 0.6) ** 2), 0.0).astype(_F32)
    theta = 0.5 * np.arctan2(2 * hxy, hxx - hyy)
    normal = np.stack([np.cos(theta), np.sin(theta)], -1).astype(_F32)
    return strength, normal


def _skin_mask(
    rgb: np.ndarray, pts: np.ndarray, identity: np.ndarray, fm: _FaceMap, ipd: float, A: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Soft skin mask: the face oval extended over the forehead, minus eyes, brows, lips and nostrils, times a
    robust colour model of the face's own skin (which removes hair over the forehead, beards, glasses frames)."""
    h, w = rgb.shape[:2]
    g = face_topology().groups
    oval = pts[list(g.face_oval)].copy()
    up_img = A[:, 1] / np.linalg.norm(A[:, 1])  # image direction of face-up (A maps face y to image)
    # extend the upper part of the oval towards the hairline (the mesh stops mid-forehead)
    oy = identity[list(g.face_oval), 1]
    lift = np.clip(oy / max(float(identity[10, 1]), 0.3), 0.0, 1.0) ** 1.5 * 0.45 * ipd
    oval = oval + lift[:, None] * up_img[None]
    # and sideways at the temples, where crow's feet reach past the mesh's outline
    ox = identity[list(g.face_oval), 0]
    side_img = A[:, 0] / np.linalg.norm(A[:, 0])  # image direction of the subject's left
    push = 0.1 * ipd * np.exp(-0.5 * ((oy - 0.05) / 0.3) ** 2) * np.sign(ox)
    oval = oval + push[:, None] * side_img[None]
    region = _poly_mask((h, w), oval)
    cut = np.zeros((h, w), _F32)
    for up, lo in ((g.left_eye_upper, g.left_eye_lower), (g.right_eye_upper, g.right_eye_lower)):
        cut = np.maximum(cut, _poly_mask((h, w), np.concatenate([pts[list(up)], pts[list(lo)][::-1]])))
    for brow in (g.left_brow, g.right_brow):
        hull = cv2.convexHull(pts[list(brow)].astype(np.float32)).reshape(-1, 2)
        cut = np.maximum(cut, _poly_mask((h, w), hull))
    cut = np.maximum(
        cut, _poly_mask((h, w), np.concatenate([pts[list(g.lips_outer_upper)], pts[list(g.lips_outer_lower)][::-1]]))
    )
    r = max(1, int(round(0.04 * ipd)))
    cut = cv2.dilate(cut, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    geo = np.clip(region - cut, 0, 1)
    # colour model from seed patches (cheeks, nose bridge, mid forehead)
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb).astype(_F32)
    seeds = list(_CHEEK[0]) + list(_CHEEK[1]) + list(_NOSE_BRIDGE) + list(_FOREHEAD)
    rr = max(1, int(0.03 * ipd))
    samples = []
    for i in seeds:
        x, y = np.round(pts[i]).astype(int)
        if 0 <= x < w and 0 <= y < h:
            samples.append(ycc[max(0, y - rr) : y + rr + 1, max(0, x - rr) : x + rr + 1].reshape(-1, 3))
    if samples:
        s = np.concatenate(samples)
        med = np.median(s, 0)
        mad = 1.4826 * np.median(np.abs(s - med), 0) + np.array([8.0, 2.5, 2.5])
        z = (ycc - med) / (mad * np.array([3.5, 2.8, 2.8]))
        zc = np.sqrt(z[..., 1] ** 2 + z[..., 2] ** 2)
        ly = np.log((ycc[..., 0] + 8) / (med[0] + 8))
        col = np.exp(-0.5 * np.maximum(zc - 1.0, 0) ** 2 / 0.35) * np.exp(
            -0.5 * np.maximum(np.abs(ly) - 0.55, 0) ** 2 / 0.04
        )
        col = _blur(col.astype(_F32), max(0.7, 0.012 * ipd))
    else:
        col = np.ones((h, w), _F32)
    m = geo * col * fm.valid
    r2 = max(1, int(round(0.1 * ipd)))
    far = 1 - cv2.dilate(cut, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r2 + 1, 2 * r2 + 1)))
    return _blur(m.astype(_F32), max(0.8, 0.03 * ipd)), _blur((m * far).astype(_F32), max(0.8, 0.03 * ipd))
