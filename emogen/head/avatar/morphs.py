"""The avatar's rig: the 52 ARKit fields on the whole head, the neck's skinning weights, the eye sockets and the
inner lips, and rigid transforms.

* **Fields.** The face's fields (:class:`~emogen.face.rig.FaceRig`'s ``shapedirs``, 478 landmarks) act on the 468
  face vertices as they are. On the shell they are continued by a harmonic extension (the same Laplace problem the
  face's own fields are authored with, :mod:`emogen.face.blendshapes`): fixed to the face's values on the face
  outline and to zero 1.1 IPD away from it, so a jaw opening stretches the skin under the chin and a brow raise
  the forehead above the outline, fading smoothly. Ears and eye sockets do not deform, except the sockets' rims,
  which are the lid margins themselves.
* **Foreshortening.** ``FaceRig`` enlarges the in-plane parts of the expression fields of turned photos so that a
  2D warp shows them as strongly as on a frontal face; a 3D head must not, so that gain is taken out again.
* **Neck.** Head rotations turn everything above the neck about the rig's pivot (the atlas joint); the neck blends
  from the head's rotation to none at its base (linear blend skinning), so the shoulders stay where they are.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from ...arkit import NUM_BLENDSHAPES
from .shell import smooth_extension

logger = logging.getLogger(__name__)

__all__ = [
    "eye_sockets",
    "extend_fields",
    "lip_sleeve",
    "pose_rigid",
    "undo_foreshortening",
]


def undo_foreshortening(shapedirs: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """Divide out ``FaceRig``'s foreshortening gain of the expression fields (see the module docstring).

    The gain is measured by running the rig's own compensation on a probe of ones, so this stays right if the rig
    changes how it computes it.
    """
    from ...face import rig as face_rig

    compensate = getattr(face_rig, "_compensate_foreshortening", None)
    if compensate is None:
        logger.debug("FaceRig has no foreshortening compensation to undo.")
        return shapedirs
    probe = np.ones((shapedirs.shape[0], 1, 3))
    compensate(probe, np.asarray(rotation, dtype=np.float64))
    return shapedirs / probe


def extend_fields(
    vertices: np.ndarray,
    faces: np.ndarray,
    face_fields: np.ndarray,
    distance: np.ndarray,
    radius: float = 1.1,
) -> np.ndarray:
    """Continue the face's fields over the head.

    Args:
        vertices (`np.ndarray` of shape `(V, 3)`): the head's vertices, the 468 face vertices first.
        faces (`np.ndarray` of shape `(F, 3)`): triangles joining the face outline to the rest (face triangles may
            be included; they are fixed).
        face_fields (`np.ndarray` of shape `(K, 468, 3)`): the fields on the face vertices.
        distance (`np.ndarray` of shape `(V,)`): geodesic distance from the face outline (``inf`` where the rest of
            the head does not connect).
        radius: distance at which the extension reaches zero.

    Returns:
        `np.ndarray` of shape `(K, V, 3)`.
    """
    k = face_fields.shape[0]
    n = len(vertices)
    known = np.zeros(n, bool)
    known[:468] = True
    values = np.zeros((n, 3 * k))
    values[:468] = face_fields.transpose(1, 0, 2).reshape(468, 3 * k)
    zero = ~known & ~(distance < radius)
    out = smooth_extension(vertices, faces, known, values, zero)
    return out.reshape(n, k, 3).transpose(1, 0, 2)


def eye_sockets(
    face: np.ndarray, contours: tuple[np.ndarray, np.ndarray], centres: np.ndarray, radius: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sleeves from the lid margins into the eyeballs, closing the eye openings (no gap around the eyes).

    Args:
        face (`np.ndarray` of shape `(468+, 3)`): the neutral face.
        contours: the lid-margin loops (left, right), landmark indices.
        centres (`np.ndarray` of shape `(2, 3)`): eyeball centres.
        radius: eyeball radius.

    Returns:
        ``(vertices (N, 3), faces (M, 3), rim (N,))``: new vertices (numbered from 0 after the caller's offset),
        triangles whose indices ``< 0`` mean landmark ``-1 - i`` (the lid margin), and for each new vertex the
        landmark it hangs from.
    """
    verts, tris, rim = [], [], []
    for loop, c in zip(contours, centres, strict=True):
        base = len(verts)
        for i in loop:
            d = face[i] - c
            verts.append(c + 0.82 * radius * d / max(np.linalg.norm(d), 1e-9))
            rim.append(int(i))
        verts.append(c.copy())
        rim.append(int(loop[0]))
        cap = base + len(loop)
        m = len(loop)
        for j in range(m):
            a, b = -1 - int(loop[j]), -1 - int(loop[(j + 1) % m])
            ia, ib = base + j, base + (j + 1) % m
            tris += [(a, ia, ib), (a, ib, b), (ia, cap, ib)]
    return np.asarray(verts), np.asarray(tris, dtype=np.int64), np.asarray(rim, dtype=np.int64)


def orient_sockets(all_vertices: np.ndarray, faces: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Orient socket triangles to face away from their eyeball's axis (seen from inside the opening)."""
    cen = all_vertices[faces].mean(1)
    near = np.argmin(np.linalg.norm(cen[:, None, :2] - centres[None, :, :2], axis=-1), 1)
    c = centres[near]
    fn = np.cross(
        all_vertices[faces[:, 1]] - all_vertices[faces[:, 0]], all_vertices[faces[:, 2]] - all_vertices[faces[:, 0]]
    )
    axis = cen - np.stack([c[:, 0], c[:, 1], cen[:, 2]], -1)
    flip = (fn * axis).sum(-1) > 0
    faces = faces.copy()
    faces[flip] = faces[flip][:, ::-1]
    return faces


def lip_sleeve(loop: np.ndarray, rim: np.ndarray, mouth_vertices: np.ndarray, loop_points: np.ndarray) -> np.ndarray:
    """The inner lips: a strip from the inner lip line (``loop_points``) to the mouth cavity's rim.

    Args:
        loop (`np.ndarray` of shape `(R,)`): index of each lip-line vertex in the mouth part's numbering.
        rim (`np.ndarray` of shape `(R,)`): the cavity rim's vertices, in the same order.
        mouth_vertices (`np.ndarray` of shape `(M, 3)`): the mouth part's vertices (lip line included).
        loop_points: unused positions of the lip line (kept for symmetry with :func:`eye_sockets`).

    Returns:
        `np.ndarray` of shape `(2R, 3)`: triangles facing the mouth's axis.
    """
    del loop_points
    m = len(loop)
    tris = []
    for j in range(m):
        a, b, c, d = loop[j], loop[(j + 1) % m], rim[(j + 1) % m], rim[j]
        tris += [(a, b, c), (a, c, d)]
    tris = np.asarray(tris, dtype=np.int64)
    v = mouth_vertices
    centre = v[loop].mean(0)
    cen = v[tris].mean(1)
    fn = np.cross(v[tris[:, 1]] - v[tris[:, 0]], v[tris[:, 2]] - v[tris[:, 0]])
    axis = cen - np.stack([np.full(len(cen), centre[0]), np.full(len(cen), centre[1]), cen[:, 2]], -1)
    flip = (fn * axis).sum(-1) > 0
    tris[flip] = tris[flip][:, ::-1]
    return tris


# ============================================================================================ rigid motions
def pose_rigid(
    vertices: torch.Tensor, rotation: torch.Tensor, pivot: torch.Tensor, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Rotate ``vertices (b, V, 3)`` by ``rotation (b, 3, 3)`` about ``pivot (3,)``, blended by ``weight (V,)``.

    ``x' = x + w (R (x - p) + p - x)`` — linear blend skinning between the rotated head and the still body.
    """
    turned = torch.einsum("bij,bvj->bvi", rotation, vertices - pivot) + pivot
    if weight is None:
        return turned
    return vertices + weight[None, :, None] * (turned - vertices)


def check_fields(fields: np.ndarray, n: int) -> None:
    if fields.shape != (NUM_BLENDSHAPES, n, 3):
        raise ValueError(f"fields must have shape (52, {n}, 3), got {fields.shape}.")


# ============================================================================== the mouth behind the skin
#: How far (IPD, ≈ 1 mm) the mouth interior is kept behind the skin in front of it.
MOUTH_CLEARANCE = 0.016


def locate_under_skin(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each point, the front-most skin triangle over it seen along the face's depth axis (z).

    Args:
        points (`np.ndarray` of shape `(M, 3)`), vertices (`np.ndarray` of shape `(V, 3)`),
        faces (`np.ndarray` of shape `(F, 3)`): the skin (the face mesh without its mouth opening).

    Returns:
        ``(triangle (M,), barycentric (M, 3))``; triangle ``-1`` where no skin lies in front of the point.
    """
    tri = vertices[faces]  # (F, 3, 3)
    a, b, c = tri[:, 0, :2], tri[:, 1, :2], tri[:, 2, :2]
    v0, v1 = b - a, c - a
    d00, d01, d11 = (v0 * v0).sum(-1), (v0 * v1).sum(-1), (v1 * v1).sum(-1)
    den = d00 * d11 - d01 * d01
    ok = np.abs(den) > 1e-12
    tri_out = np.full(len(points), -1, dtype=np.int64)
    bary_out = np.zeros((len(points), 3))
    for s in range(0, len(points), 512):
        p = points[s : s + 512]
        v2 = p[:, None, :2] - a[None]
        d20, d21 = (v2 * v0).sum(-1), (v2 * v1).sum(-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.where(ok, (d11 * d20 - d01 * d21) / den, -1.0)
            w = np.where(ok, (d00 * d21 - d01 * d20) / den, -1.0)
        u = 1.0 - v - w
        inside = (u >= -1e-6) & (v >= -1e-6) & (w >= -1e-6)
        z = u * tri[None, :, 0, 2] + v * tri[None, :, 1, 2] + w * tri[None, :, 2, 2]
        z = np.where(inside, z, -np.inf)
        best = np.argmax(z, 1)
        hit = np.isfinite(z[np.arange(len(p)), best])
        tri_out[s : s + 512] = np.where(hit, best, -1)
        bary_out[s : s + 512] = np.stack([u, v, w], -1)[np.arange(len(p)), best]
    return tri_out, bary_out


def keep_behind_skin(
    mouth: torch.Tensor,
    face: torch.Tensor,
    skin_faces: torch.Tensor,
    triangle: torch.Tensor,
    barycentric: torch.Tensor,
    clearance: float = MOUTH_CLEARANCE,
) -> torch.Tensor:
    """Push mouth-interior vertices ``(b, M, 3)`` back behind the skin of the deformed face ``(b, 478, 3)``.

    The interior is fitted for a 2D warp, where whatever lies behind the lips is hidden; in 3D the teeth and the
    cavity's vestibule would poke through the lips and chin in places. Each vertex keeps the skin triangle that
    was in front of it on the neutral face (:func:`locate_under_skin`; it moves with the same jaw) and is moved
    back to ``clearance`` behind it where it came closer.
    """
    has = triangle >= 0
    t = triangle.clamp(min=0)
    corners = face[:, skin_faces[t]]  # (b, M, 3, 3)
    z_skin = (corners[..., 2] * barycentric.to(face)).sum(-1)
    z = mouth[..., 2]
    limited = torch.where(has, torch.minimum(z, z_skin - clearance), z)
    return torch.cat([mouth[..., :2], limited.unsqueeze(-1)], -1)
