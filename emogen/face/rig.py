"""The face rig: a photo's face as a blendshape model on MediaPipe's canonical topology (smplx style).

``FaceRig.from_tracking(face)`` turns the 478 landmarks of a photo into an identity (the face in its own frame,
inter-pupil-distance units) and a camera (scale, rotation, position in the photo), and calibrates the ARKit
blendshape fields to the face. ``rig(blendshapes, head_rotation, head_translation, gaze)`` returns the deformed
landmarks in the photo's pixel frame, batched.

Expressions are *relative to the photo's own expression*: the FaceLandmarker's blendshape scores of the photo
(``rest_weights``) are taken out of the identity, so a broadly smiling portrait can still be made sad::

    v(w) = identity + Σ_k (w_k - rest_k) · B_k           # (b, v, c) = (v, c) + (b, k) · (k, v, c)
    x(w) = s · flip(P(R_head · (R_0 · v - p) + p + T))   # camera → pixels, weak perspective

with ``B`` the calibrated fields, ``R_0`` the photo's head rotation, ``p`` the neck pivot and ``P`` the weak
perspective scaling of the z translation.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..arkit import ARKIT_BLENDSHAPES, ARKIT_INDEX, NUM_BLENDSHAPES
from ..utils import dataclass_to
from .authoring import eye_fields
from .blendshapes import canonical_template, load_blendshapes
from .topology import NUM_LANDMARKS, load_canonical_mesh

logger = logging.getLogger(__name__)

__all__ = ["FaceRig", "FaceRigOutput", "euler_to_rotation", "gaze_to_blendshapes", "IPD_METRES"]

#: Mean adult inter-pupil distance (Dodgson 2004, "Variation and extrema of human interpupillary distance"), m.
IPD_METRES = 0.063
_CAMERA_DISTANCE_M = 0.6  # weak-perspective camera distance used for z translation
#: Neck pivot of head rotations in the face frame (IPD): roughly at the atlas joint, below and behind the eyes.
_PIVOT = (0.0, -1.3, -1.6)
#: Gaze angle (radians) that equals weight 1 of the ``eyeLook*`` shapes: asin(iris shift / eyeball radius).
_GAZE_OUT = math.asin(0.10 / 0.19)
_GAZE_DOWN = math.asin(0.09 / 0.19)
_GAZE_UP = math.asin(0.08 / 0.19)
#: MediaPipe's blendshape scores are noisy near zero on relaxed faces; scores below this are treated as zero.
_REST_DEADZONE = 0.12
#: Scores MediaPipe's blendshape model gives relaxed faces on some channels (low, heavy brows read as browDown
#: 0.5-0.65, a relaxed lower lid as eyeSquint 0.3-0.45, closed relaxed lips as mouthPress up to 0.45): below
#: these a photo's score is no evidence of the action, and above them it is rescaled. Without this, "neutral"
#: raised such faces' brows by ~5 mm and a full frown lowered them by ~2 mm from the photo.
_REST_BASELINE = {"browDown": 0.45, "eyeSquint": 0.3, "mouthPress": 0.25}
#: Height of relaxed inner brows above the pupils (IPD, landmarks 107/336 over 468/473, face frame): 0.29-0.35 on
#: the twelve relaxed photos at hand (median 0.31). A photo's brow action is taken out so that its neutral lands in
#: this range (:func:`_fit_brow_rest`).
_RELAXED_BROW = (0.29, 0.35)
#: Raw MediaPipe scores (browDown mean, browInnerUp) above which a photo shows that brow action.
_BROW_EVIDENCE = (0.3, 0.15)
#: How far a full smile can lift the middle of the upper lip from rest (IPD): from a rest display of the upper
#: incisors' edges of 1-4 mm (Vig & Brundo 1978) to the whole crown, ≈ 10.5 mm (Wheeler's central incisor), and up
#: to 2 mm of gum in a high smile line (Tjan, Miller & The 1984): at most ≈ 10 mm of 63. A smiling photo's neutral
#: lips meet no lower than that (before the corners' lowering); without the bound a broad open smile's upper lip
#: came down up to 14 mm, a long neutral upper lip over teeth set so low that smiling again bared the gums.
_SMILE_LIP_LIFT = 0.16
#: IPD the neutral mouth corners of a smiling photo are lowered beyond what its smile score explains.
_CORNER_MARGIN = 0.1
_MOUTH_SHAPES = tuple(n for n in ARKIT_BLENDSHAPES if n.startswith(("mouth", "jaw", "cheek", "tongue")))
#: Shapes whose image-plane amplitude is kept on turned faces (everything but eyelid closure and gaze).
_EXPRESSION_SHAPES = tuple(n for n in ARKIT_BLENDSHAPES if not n.startswith(("eyeBlink", "eyeLook")))
_MAX_FORESHORTENING_GAIN = 1.6


def _inner_brow_height(v: np.ndarray) -> float:
    """Height (IPD) of the inner brows (107, 336) above the pupils (468, 473), face frame."""
    return float((v[107, 1] + v[336, 1]) / 2 - (v[468, 1] + v[473, 1]) / 2)


def _fit_brow_rest(rest: np.ndarray, raw: np.ndarray, shapes: np.ndarray, face_v: np.ndarray) -> None:
    """Adjust the photo's brow weights (in place) so that its neutral inner brows lie in :data:`_RELAXED_BROW`.

    MediaPipe's scores say *which* brow action a photo shows but not reliably how much: taken out as scored, a
    posed anger's brows stayed 0.04 IPD too low (browDown 0.43, under the relaxed-face floor), a posed fear's came
    down 0.06 too low (browInnerUp 0.49, over-removed) and a frowning speaker's went 0.03 too high: neutral then
    frowned or looked startled. Only an action the detector reports is adjusted (``raw`` browDown above
    :data:`_BROW_EVIDENCE`'s first value, browInnerUp above its second), by the least change of its weight that
    brings the neutral's inner brows into the relaxed range, so brows that are simply high or low are kept.
    """
    down = [ARKIT_INDEX["browDownLeft"], ARKIT_INDEX["browDownRight"]]
    up = ARKIT_INDEX["browInnerUp"]
    lo, hi = _RELAXED_BROW
    for ks, evidence in ((down, raw[down].mean() > _BROW_EVIDENCE[0]), ([up], raw[up] > _BROW_EVIDENCE[1])):
        if not evidence:
            continue
        h = _inner_brow_height(face_v - np.einsum("k,kvc->vc", rest, shapes))
        # the neutral's height moves by per_unit for each unit more of the weights taken out
        per_unit = -sum(_inner_brow_height(shapes[k]) for k in ks)  # the height is linear in the vertices
        target = float(np.clip(h, lo, hi))
        if abs(per_unit) < 1e-6 or target == h:
            continue
        rest[ks] = np.clip(rest[ks] + (target - h) / per_unit, 0.0, 1.0)


def euler_to_rotation(angles: torch.Tensor) -> torch.Tensor:
    """``R = Rz(roll) @ Ry(yaw) @ Rx(pitch)`` from ``(..., 3)`` pitch, yaw, roll (see :mod:`emogen.motion`).

    Returns:
        `torch.Tensor` of shape `(..., 3, 3)`.
    """
    # Camera axes are x right, y up, z to the viewer; a positive pitch about +x must tip the nose (at +z) down,
    # which is the right-hand rotation by +pitch; +yaw about +y moves the nose to +x; +roll about +z moves the
    # top of the head (+y) to -x.
    p, y, r = angles.unbind(-1)
    cp, sp, cy, sy, cr, sr = p.cos(), p.sin(), y.cos(), y.sin(), r.cos(), r.sin()
    one, zero = torch.ones_like(p), torch.zeros_like(p)
    rx = torch.stack([one, zero, zero, zero, cp, -sp, zero, sp, cp], -1).reshape(*p.shape, 3, 3)
    ry = torch.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1).reshape(*p.shape, 3, 3)
    rz = torch.stack([cr, -sr, zero, sr, cr, zero, zero, zero, one], -1).reshape(*p.shape, 3, 3)
    # Right-hand +pitch about x maps the nose (0,0,1) to (0,-sin,cos): down. Good. +yaw maps it to (sin,0,cos).
    return rz @ ry @ rx


def gaze_to_blendshapes(gaze: torch.Tensor) -> torch.Tensor:
    """ARKit ``eyeLook*`` weights equivalent to a gaze direction.

    Args:
        gaze (`torch.Tensor` of shape `(..., 2)`): yaw (positive: towards the image right = the subject's left)
            and pitch (positive: down), radians.

    Returns:
        `torch.Tensor` of shape `(..., 52)`: zero except the eight ``eyeLook*`` columns (weights may exceed 1 for
        extreme angles).
    """
    yaw, pitch = gaze[..., 0], gaze[..., 1]
    out = gaze.new_zeros(*gaze.shape[:-1], NUM_BLENDSHAPES)
    right = (yaw / _GAZE_OUT).clamp(min=0)  # towards +x: left eye looks out, right eye looks in
    left = (-yaw / _GAZE_OUT).clamp(min=0)
    down = (pitch / _GAZE_DOWN).clamp(min=0)
    up = (-pitch / _GAZE_UP).clamp(min=0)
    out[..., ARKIT_INDEX["eyeLookOutLeft"]] = right
    out[..., ARKIT_INDEX["eyeLookInRight"]] = right
    out[..., ARKIT_INDEX["eyeLookInLeft"]] = left
    out[..., ARKIT_INDEX["eyeLookOutRight"]] = left
    for side in ("Left", "Right"):
        out[..., ARKIT_INDEX[f"eyeLookDown{side}"]] = down
        out[..., ARKIT_INDEX[f"eyeLookUp{side}"]] = up
    return out


def _umeyama(src: np.ndarray, dst: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Weighted similarity ``dst ≈ s R src + t`` (Umeyama 1991)."""
    w = w / w.sum()
    mu_s, mu_d = (w[:, None] * src).sum(0), (w[:, None] * dst).sum(0)
    xs, xd = src - mu_s, dst - mu_d
    cov = (w[:, None] * xd).T @ xs
    u, d, vt = np.linalg.svd(cov)
    sign = np.eye(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[2, 2] = -1
    rot = u @ sign @ vt
    var = (w * (xs**2).sum(1)).sum()
    scale = float(np.trace(np.diag(d) @ sign) / var)
    return scale, rot, mu_d - scale * rot @ mu_s


def _corner_lift(v: np.ndarray) -> float:
    """Height of the mouth corners above the centre of the lips (IPD): large in smiling faces."""
    return float(v[[61, 291], 1].mean() - v[[13, 14], 1].mean())


def _calibrate_smile(shapes: np.ndarray, rest: np.ndarray, face_v: np.ndarray, template: np.ndarray) -> float | None:
    """Scale the smile fields so that the photo's smile (its rest weight) explains its mouth-corner lift and its
    mouth width (measured against the canonical face). Returns the corner lift (IPD) left unexplained
    (``None`` when the photo does not smile).

    Faces smile with very different amplitudes for the same detector score; without this a broad smile is only
    partly removed (the face cannot look sad), or removed too much (the mouth is pinched into a pucker).
    """
    kl, kr = ARKIT_INDEX["mouthSmileLeft"], ARKIT_INDEX["mouthSmileRight"]
    smile = (rest[kl] + rest[kr]) / 2
    if smile < 0.3:
        return None
    both = template + shapes[kl] + shapes[kr]
    lift = _corner_lift(face_v) - _corner_lift(template)

    def width(v: np.ndarray) -> float:
        return float(v[291, 0] - v[61, 0])

    width_unit = width(both) - width(template)
    widen = width(face_v) - width(template)
    # The vertical gain acts on the corners, fading to 1 at the lips' centre (by lateral distance): what a broad
    # smile lifts more than the fields is the corners; scaling the centre too would take a smiling photo's upper
    # lip down too far, lengthening its neutral upper lip (and leaving the gums bare when it smiles again).
    d = both - template
    corner_up = float(d[[61, 291], 1].mean())
    centre_up = float(d[[13, 14], 1].mean())
    x = template[:, 0] - template[[61, 291], 0].mean()
    profile = np.clip(np.abs(x) / (0.5 * width(template)), 0.0, 1.0) ** 2
    gy = float(np.clip((lift / smile + centre_up) / corner_up, 0.6, 2.0)) if corner_up > 1e-6 else 1.0
    gx = float(np.clip(widen / (smile * width_unit), 0.2, 0.5)) if width_unit > 1e-6 else 1.0
    logger.debug("smile gains x %.2f y %.2f (lift %.3f, widening %.3f IPD at smile %.2f)", gx, gy, lift, widen, smile)
    for k in (kl, kr):
        shapes[k, :, 0] *= gx
        shapes[k, :, 1:] *= (1.0 + (gy - 1.0) * profile)[:, None]
    return max(0.0, lift - smile * (gy * corner_up - centre_up))


def _lower_corners(identity: np.ndarray, shapes: np.ndarray, rest: np.ndarray, residual: float | None) -> np.ndarray:
    """Lower the neutral identity's mouth corners by the photo's corner lift that its smile score does not explain
    (broad smiles lift the corners more than the largest smile gain can take out; the remaining upturn reads as a
    smile to expression classifiers), plus _CORNER_MARGIN: on a smile-stretched mouth even level corners read as
    a smile (measured with the FER check, weights/face_rig/README.md). Done with the frown fields, up to 0.45 of
    them; ``-D`` is spread over the
    photo's active shapes, as in :func:`_close_lips`, so the photo itself is still reproduced exactly."""
    fl, fr = ARKIT_INDEX["mouthFrownLeft"], ARKIT_INDEX["mouthFrownRight"]
    unit = _corner_lift(identity) - _corner_lift(identity + shapes[fl] + shapes[fr])
    if residual is None or unit <= 1e-6 or (rest**2).sum() < 0.05:
        return identity
    amount = float(np.clip((residual + _CORNER_MARGIN) / unit, 0.0, 0.45))
    d = amount * (shapes[fl] + shapes[fr])
    shapes += -np.einsum("k,vc->kvc", rest / (rest**2).sum(), d)
    return identity + d


def _close_lips(
    identity: np.ndarray, shapes: np.ndarray, rest: np.ndarray, photo: np.ndarray | None = None
) -> np.ndarray:
    """Close the lips of the neutral identity when the photo's parted lips are not explained by its jaw weights.

    With the ``photo``'s own vertices, the upper lip ends at most :data:`_SMILE_LIP_LIFT` below where the photo has
    it (the lower lip closes the rest).

    The closing displacement ``D`` is added to the identity and ``-D`` is spread over the shapes active in the
    photo (``shapes += -outer(rest / |rest|², D)``), so the photo itself is still reproduced exactly.
    """
    from .authoring import _Author

    if (rest**2).sum() < 0.05:
        return identity
    a = _Author(identity)
    g = a.g
    up, lo = np.array(g.lips_inner_upper[1:-1]), np.array(g.lips_inner_lower[1:-1])
    gap = identity[up, 1] - identity[lo, 1]  # > 0 where the lips are apart
    if gap.max() < 0.01:
        return identity
    gap = np.clip(gap, 0, None)
    outer_up, outer_lo = np.array(g.lips_outer_upper[1:-1]), np.array(g.lips_outer_lower[1:-1])
    # Where the lips meet: halfway, unless a smile stretched the upper lip thinner than a relaxed one
    # (vermilion ≈ 0.09 IPD at the centre): then more of the opening goes to the upper lip.
    thick_up = identity[outer_up, 1] - identity[up, 1]
    profile = np.sin(np.linspace(0, np.pi, len(up) + 2)[1:-1])
    share = np.clip((0.09 * profile - thick_up) / np.maximum(gap, 1e-6), 0.5, 0.85)
    drop = share * gap
    if photo is not None:
        # the upper lip comes down no further than a smile lifts it (_SMILE_LIP_LIFT): the rest of the opening is
        # the lower lip's, which a broad smile pulls down below the upper teeth
        drop = np.minimum(drop, np.clip(_SMILE_LIP_LIFT - (photo[up, 1] - identity[up, 1]), 0.0, None))
    d_up = np.zeros((len(up), 3))
    d_lo = np.zeros((len(lo), 3))
    d_up[:, 1] = -drop
    d_lo[:, 1] = gap - drop
    # the outer upper lip line follows, less towards the corners (which do not move): a uniform shift would fold the
    # upper lip beside the corners over the opening. The lower lip rises as a whole (a smile pulls the whole lip
    # down), its outer line with the inner one across the mouth, and its red regains the height the smile's
    # stretch took (the same volume over the narrower relaxed mouth: the photo's height times its width over the
    # neutral's)
    t_up, t_lo = a.lip_taper(outer_up), a.lip_taper(outer_lo)
    order = np.argsort(identity[lo, 0])
    d_outer_lo = np.zeros((len(outer_lo), 3))
    d_outer_lo[:, 1] = np.interp(identity[outer_lo, 0], identity[lo[order], 0], d_lo[order, 1])
    if photo is not None:
        relaxed = (photo[14, 1] - photo[17, 1]) * (photo[291, 0] - photo[61, 0]) / (identity[291, 0] - identity[61, 0])
        # the lower red's height at the middle (14 to 17) if the outer line did not move, then the outer line's
        # move there that gives it the relaxed height, faded towards the corners
        closed = identity[14, 1] - identity[17, 1] + d_lo[list(lo).index(14), 1]
        d_outer_lo[:, 1] -= (relaxed - closed + d_outer_lo[list(outer_lo).index(17), 1]) * t_lo
    d = a.deform(
        [(up, d_up), (lo, d_lo), (outer_up, 0.6 * d_up.mean(0) * t_up[:, None]), (outer_lo, d_outer_lo)],
        radius=0.25,
    )
    shapes += -np.einsum("k,vc->kvc", rest / (rest**2).sum(), d)
    return identity + d


def _compensate_foreshortening(shapes: np.ndarray, rot: np.ndarray) -> None:
    """Scale the expression fields' in-plane components so that a turned or downcast face shows an expression as
    strongly in the image as a frontal face does.

    A face turned by ``yaw`` shows its x movements shortened by ``cos(yaw)``, a downcast face its y movements by
    ``cos(pitch)``: the same 3D smile barely shows. The x / y components of the expression fields are divided by
    the image-plane length of the face's x / y axes (at most 1.6×, i.e. up to ~50° of turn). Eyelid closure and
    gaze keep their geometry (a blink must close the lids exactly)."""
    gains = 1.0 / np.clip(np.linalg.norm(rot[:2, :2], axis=0), 1.0 / _MAX_FORESHORTENING_GAIN, 1.0)  # (x, y)
    for name in _EXPRESSION_SHAPES:
        shapes[ARKIT_INDEX[name], :, :2] *= gains


@dataclass(frozen=True)
class FaceRigOutput:
    """Rig output.

    Args:
        vertices (`torch.Tensor` of shape `(batch, 478, 3)`): photo pixels: x right, y down, z towards the camera
            (pixels, relative to the face origin).
        face_vertices (`torch.Tensor` of shape `(batch, 478, 3)`): the deformed face in its own frame (IPD).
    """

    vertices: torch.Tensor
    face_vertices: torch.Tensor

    def to(self, device=None, dtype=None) -> FaceRigOutput:
        return dataclass_to(self, device, dtype)


class FaceRig(nn.Module):
    """Blendshape face rig of one photographed face.

    Buffers (move with ``.to()``): ``identity`` (478, 3), ``shapedirs`` (52, 478, 3), ``rest_weights`` (52,),
    ``rotation`` (3, 3), ``origin`` (3,), ``pivot`` (3,), ``scale`` (): see the module docstring.

    Build with :meth:`from_tracking`; the constructor takes the tensors directly (for tests and loading).
    """

    def __init__(
        self,
        identity: torch.Tensor,
        shapedirs: torch.Tensor,
        rest_weights: torch.Tensor,
        rotation: torch.Tensor,
        origin: torch.Tensor,
        scale: float | torch.Tensor,
        pivot: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        if identity.shape != (NUM_LANDMARKS, 3):
            raise ValueError(f"identity must have shape (478, 3), got {tuple(identity.shape)}.")
        if shapedirs.shape != (NUM_BLENDSHAPES, NUM_LANDMARKS, 3):
            raise ValueError(f"shapedirs must have shape (52, 478, 3), got {tuple(shapedirs.shape)}.")
        self.register_buffer("identity", identity.float())
        self.register_buffer("shapedirs", shapedirs.float())
        self.register_buffer("rest_weights", rest_weights.float().reshape(NUM_BLENDSHAPES))
        self.register_buffer("rotation", rotation.float().reshape(3, 3))
        self.register_buffer("origin", origin.float().reshape(3))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32).reshape(()))
        self.register_buffer("pivot", torch.tensor(_PIVOT) if pivot is None else pivot.float().reshape(3))

    # --------------------------------------------------------------------------------------------- construction
    @classmethod
    def from_tracking(
        cls,
        face,
        blendshapes_path: str | None = None,
        relative: bool = True,
        deadzone: float = _REST_DEADZONE,
    ) -> FaceRig:
        """Rig the face of a :class:`~emogen.face.tracking.FaceTrackingResult`.

        Args:
            face: the tracked photo face.
            blendshapes_path: folder with ``blendshapes.safetensors`` (default: the shipped fields).
            relative: take the photo's own expression (its blendshape scores) out of the identity, so weights
                are absolute (0 = neutral) whatever the photo shows. With ``False`` the photo is the neutral.
            deadzone: scores below this are treated as 0 (detector noise on relaxed faces; some channels have a
                higher floor, :data:`_REST_BASELINE`).
        """
        lm = face.landmarks.detach().cpu().double().numpy()
        cam = np.stack([lm[:, 0], -lm[:, 1], -lm[:, 2]], -1)  # y up, z to the camera
        template = canonical_template()
        mesh = load_canonical_mesh()
        idx = mesh.procrustes_indices
        scale, rot, origin = _umeyama(template[idx], cam[idx], mesh.procrustes_weights + 1e-3)
        face_v = (cam - origin) @ rot / scale  # R^T (x - t) / s, row vectors
        # Re-normalise so the *measured* iris centres are exactly one unit apart (IPD units for this face).
        ipd = np.linalg.norm(face_v[468] - face_v[473])
        if not 0.5 < ipd < 2.0:
            logger.warning("Unusual face proportions (IPD %.2f of the canonical); the rig may look odd.", ipd)
        face_v, scale = face_v / ipd, scale * ipd
        _, shapes, _ = load_blendshapes(blendshapes_path)
        shapes = shapes.double().numpy().copy()
        # --- calibrate to this face
        rest = face.blendshapes.detach().cpu().double().numpy().copy() if relative else np.zeros(NUM_BLENDSHAPES)
        base = np.full(NUM_BLENDSHAPES, deadzone)
        for prefix, b in _REST_BASELINE.items():
            base[[ARKIT_INDEX[prefix + side] for side in ("Left", "Right")]] = max(b, deadzone)
        raw = rest
        rest = np.clip((rest - base) / (1.0 - base), 0.0, 1.0)
        if relative:
            # MediaPipe never scores cheekSquint (AU6), so a laughing photo's raised cheeks and narrowed eyes would
            # stay in every expression: infer it from the smile and the lower-lid squint that come with it (the
            # squint above what relaxed eyes score, _REST_BASELINE: a smiling photo with open eyes keeps them)
            floor = _REST_BASELINE["eyeSquint"]
            for side in ("Left", "Right"):
                smile, squint = raw[ARKIT_INDEX[f"mouthSmile{side}"]], raw[ARKIT_INDEX[f"eyeSquint{side}"]]
                narrowed = float(np.clip((squint - floor) / (0.6 - floor), 0, 1))
                au6 = 0.8 * float(np.clip((smile - 0.3) / 0.5, 0, 1)) * narrowed
                rest[ARKIT_INDEX[f"cheekSquint{side}"]] = max(rest[ARKIT_INDEX[f"cheekSquint{side}"]], au6)
        for side in ("Left", "Right"):
            # eyes in photos are open unless the detector is sure they are not
            k = ARKIT_INDEX[f"eyeBlink{side}"]
            rest[k] = rest[k] if rest[k] > 0.6 else 0.0
        # Eyelid fields from the face's own geometry; computed twice so that they fit the *neutral* eyes (the
        # photo's squint or wide eyes taken out), which is what eyeBlink = 1 must close.
        eye_geometry = face_v
        for _ in range(2):
            for name, field in eye_fields(eye_geometry).items():
                k = ARKIT_INDEX[name]
                gain = 1.0 / max(1.0 - rest[k], 0.2) if name.startswith("eyeBlink") else 1.0
                shapes[k] = field * gain
            eye_geometry = face_v - np.einsum("k,kvc->vc", rest, shapes)
        # Vertical proportions of the lower face scale the mouth shapes (a long face moves its mouth more).
        t_mouth = np.linalg.norm(template[[13, 14]].mean(0) - (template[468] + template[473]) / 2)
        f_mouth = np.linalg.norm(face_v[[13, 14]].mean(0) - (face_v[468] + face_v[473]) / 2)
        gain = float(np.clip(f_mouth / t_mouth, 0.85, 1.2))
        for name in _MOUTH_SHAPES:
            shapes[ARKIT_INDEX[name]] *= gain
        residual = _calibrate_smile(shapes, rest, face_v, template) if relative else None
        _compensate_foreshortening(shapes, rot)
        if relative:
            _fit_brow_rest(rest, raw, shapes, face_v)
        identity = face_v - np.einsum("k,kvc->vc", rest, shapes)
        if relative:
            identity = _close_lips(identity, shapes, rest, face_v)
            identity = _lower_corners(identity, shapes, rest, residual)
        return cls(
            identity=torch.from_numpy(identity).float(),
            shapedirs=torch.from_numpy(shapes).float(),
            rest_weights=torch.from_numpy(rest).float(),
            rotation=torch.from_numpy(rot).float(),
            origin=torch.from_numpy(origin).float(),
            scale=float(scale),
        )

    # ------------------------------------------------------------------------------------------------- forward
    @property
    def pixels_per_ipd(self) -> float:
        return float(self.scale)

    def forward(
        self,
        blendshapes: torch.Tensor | None = None,
        head_rotation: torch.Tensor | None = None,
        head_translation: torch.Tensor | None = None,
        gaze: torch.Tensor | None = None,
    ) -> FaceRigOutput:
        """Deform and pose the face.

        Args:
            blendshapes (`torch.Tensor` of shape `(batch, 52)`, *optional*): absolute ARKit weights; ``None``
                reproduces the photo's own expression.
            head_rotation (`torch.Tensor` of shape `(batch, 3)`, *optional*): pitch, yaw, roll (radians) relative
                to the photo's head pose.
            head_translation (`torch.Tensor` of shape `(batch, 3)`, *optional*): metres, camera axes.
            gaze (`torch.Tensor` of shape `(batch, 2)`, *optional*): yaw, pitch (radians), added to ``eyeLook*``.

        Returns:
            :class:`FaceRigOutput`.
        """
        tensors = [t for t in (blendshapes, head_rotation, head_translation, gaze) if t is not None]
        batch = tensors[0].shape[0] if tensors else 1
        v = self.deform(blendshapes, gaze, batch=batch)
        return FaceRigOutput(vertices=self.project(v, head_rotation, head_translation), face_vertices=v)

    def deform(
        self, blendshapes: torch.Tensor | None = None, gaze: torch.Tensor | None = None, batch: int = 1
    ) -> torch.Tensor:
        """The deformed face in its own frame (IPD units), ``(batch, 478, 3)``; arguments as in :meth:`forward`."""
        dev, dt = self.identity.device, self.identity.dtype
        w = self.rest_weights.expand(batch, -1) if blendshapes is None else blendshapes.to(dev, dt)
        if w.ndim != 2 or w.shape[1] != NUM_BLENDSHAPES:
            raise ValueError(f"blendshapes must have shape (batch, 52), got {tuple(w.shape)}.")
        if gaze is not None:
            w = w + gaze_to_blendshapes(gaze.to(dev, dt))
        # (b, v, c) = (v, c) + (b, k) · (k, v, c)
        return self.identity + torch.einsum("bk,kvc->bvc", w, self.shapedirs)

    def project(
        self,
        face_vertices: torch.Tensor,
        head_rotation: torch.Tensor | None = None,
        head_translation: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Pose face-frame vertices ``(batch, V, 3)`` and map them to photo pixels ``(batch, V, 3)``."""
        dev, dt = self.identity.device, self.identity.dtype
        x = face_vertices @ self.rotation.T  # face frame → camera orientation (IPD, relative to the face origin)
        if head_rotation is not None:
            rh = euler_to_rotation(head_rotation.to(dev, dt))  # (b, 3, 3)
            p = self.rotation @ self.pivot
            x = torch.einsum("bij,bvj->bvi", rh, x - p) + p
        if head_translation is not None:
            t = head_translation.to(dev, dt) / IPD_METRES
            zoom = _CAMERA_DISTANCE_M / (_CAMERA_DISTANCE_M - t[:, 2:3] * IPD_METRES).clamp(min=0.05)
            x = (x + torch.cat([t[:, :2], torch.zeros_like(t[:, 2:])], -1).unsqueeze(1)) * zoom.unsqueeze(1)
        x = x * self.scale + self.origin
        return torch.stack([x[..., 0], -x[..., 1], x[..., 2] - self.origin[2]], -1)

    def rest_vertices(self) -> torch.Tensor:
        """The photo's own landmarks as the rig reproduces them, ``(478, 3)`` pixels."""
        return self.forward().vertices[0]
