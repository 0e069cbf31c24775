"""The 3D mouth interior (:mod:`emogen.head.mouth`) inside the portrait warp.

The interior (teeth, gums, tongue, cavity) is fitted once per photo behind the rig's neutral lips, posed per frame
with the jaw, projected with the same camera as the skin and appended to the warp mesh. Its depth is pushed behind
every skin triangle, so it shows only through the lip opening, where the face mesh has a hole. Its vertices carry
their colour (shaded per vertex in torch, :func:`~emogen.head.mouth.shade_mouth`, light fixed to the camera) and
where they lay in the photo, so a photo whose mouth is open can keep its own teeth moving with the jaw.
"""

from __future__ import annotations

import functools

import torch

from ...arkit import ARKIT_INDEX
from ...face.rig import FaceRig
from ...head.mouth import MouthGeometry, MouthInterior, shade_mouth

__all__ = ["INTERIOR_DEPTH_BIAS", "LIGHT", "cull_interior", "interior_vertices", "mouth_interior", "rest_interior"]

#: Normalised depth subtracted from the interior: more than the face's depth range, so skin always wins.
INTERIOR_DEPTH_BIAS = 0.4
#: Light direction in camera axes (x right, y up, z towards the camera): from above the camera.
LIGHT = (0.0, 0.45, 1.0)


@functools.lru_cache(maxsize=1)
def mouth_interior() -> MouthInterior:
    """The shared (immutable) interior mesh, built once per process (≈10 ms)."""
    return MouthInterior().eval()


def rest_interior(rig: FaceRig) -> tuple[MouthGeometry, torch.Tensor]:
    """Fit the interior to ``rig``'s neutral face; returns the geometry and the interior posed at the photo's own
    expression, in photo pixels ``(V, 3)``."""
    mouth = mouth_interior()
    geometry = mouth.fit(rig.identity)
    rest = rig.deform()
    verts = mouth.pose(geometry, rig.identity, rest, rig.rest_weights[ARKIT_INDEX["tongueOut"]].reshape(1))
    return geometry, rig.project(verts)[0]


def interior_vertices(
    rig: FaceRig,
    geometry: MouthGeometry,
    deformed: torch.Tensor,
    tongue_out: torch.Tensor,
    head_rotation: torch.Tensor | None,
    head_translation: torch.Tensor | None,
    teeth_rgb: torch.Tensor,
    exposure: float = 1.0,
    lip_rgb: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pose, project and shade the interior for a batch of deformed faces.

    Args:
        rig: the photo's rig; geometry: from :func:`rest_interior`.
        deformed (`torch.Tensor` of shape `(B, 478, 3)`): ``rig.deform(...)`` (face frame).
        tongue_out (`torch.Tensor` of shape `(B,)`): ARKit ``tongueOut``.
        head_rotation, head_translation: the frames' head motion (as for ``rig.project``).
        teeth_rgb (`torch.Tensor` of shape `(3,)`): sRGB teeth colour.
        exposure: gain of the light (the photo's lip brightness relative to the shader's unit light).
        lip_rgb (`torch.Tensor` of shape `(3,)`): the photo's lip colour (sRGB), for the inner lips at the opening.

    Returns:
        ``(pixels (B, V, 3), rgb (B, V, 3))``: photo pixels with depth (larger is nearer) and sRGB colour.
    """
    mouth = mouth_interior()
    verts, attributes = mouth(geometry, rig.identity, deformed, tongue_out)
    light = rig.rotation.T @ torch.tensor(LIGHT, dtype=verts.dtype, device=verts.device)
    view = rig.rotation.T @ torch.tensor((0.0, 0.0, 1.0), dtype=verts.dtype, device=verts.device)
    rgb = shade_mouth(
        attributes,
        light=light,
        view=view,
        teeth_color=teeth_rgb.to(verts),
        exposure=exposure,
        lip_color=None if lip_rgb is None else lip_rgb.to(verts),
    )
    return rig.project(verts, head_rotation, head_translation), rgb


def cull_interior(
    faces: torch.Tensor, positions: torch.Tensor, lips: torch.Tensor, gap: torch.Tensor, margin: float = 2.0
) -> torch.Tensor:
    """The interior triangles that can show through the lip opening in some frame of the batch.

    Args:
        faces (`torch.Tensor` of shape `(F, 3)`): interior triangles (indices into ``positions``' vertices).
        positions (`torch.Tensor` of shape `(B, V, ≥2)`): the interior's vertices in window pixels.
        lips (`torch.Tensor` of shape `(B, L, 2)`): the inner lip loop in window pixels.
        gap (`torch.Tensor` of shape `(B,)`): the widest lip opening of each frame (pixels).
        margin: pixels added around the opening's box.

    Returns:
        the kept rows of ``faces`` (none when the lips are closed in every frame).
    """
    lo = lips.amin(1) - margin  # (B, 2)
    hi = lips.amax(1) + margin
    tri = positions[:, faces, :2]  # (B, F, 3, 2)
    t_lo, t_hi = tri.amin(2), tri.amax(2)
    overlap = ((t_hi >= lo.unsqueeze(1)) & (t_lo <= hi.unsqueeze(1))).all(-1)  # (B, F)
    keep = (overlap & (gap > 0.25).unsqueeze(1)).any(0)
    return faces[keep]
