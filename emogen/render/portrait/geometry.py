"""Geometry of the portrait warp mesh: where each vertex goes in a frame, and what it carries to the shader.

The warp mesh is the skin triangles of the face mesh (478 landmarks), four rings around the face outline that carry
hair and neck with the head and decay to zero displacement (:data:`RING_SCALE` …), and separate triangle strips
filling the eye and mouth openings plus two thin bands along the lip lines (anti-aliased edges, the dark line of
closed lips). :func:`warp_targets` moves it with a :class:`~emogen.motion.MotionTrack`; :func:`warp_attributes`
computes the per-vertex data the shaders interpolate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from ...arkit import ARKIT_INDEX
from ...face.blendshapes import face_topology
from ...face.rig import FaceRig
from ...motion import MotionTrack
from .mouth import INTERIOR_DEPTH_BIAS, interior_vertices
from .shading import ATTRIBUTE_CHANNELS, lip_line_width

if TYPE_CHECKING:
    from .canvas import Canvas

__all__ = [
    "RING_EXPR",
    "RING_HEAD",
    "RING_NECK_DROP",
    "RING_SCALE",
    "band_margin",
    "uncross_openings",
    "warp_attributes",
    "warp_targets",
]

# Rings around the face outline: scale about the outline centre, how much they follow the head, how much they
# follow the outline's own (expression) motion. The last ring is pinned (DESIGN §5: pin only rings ≥ 1.6×).
RING_SCALE = (1.15, 1.4, 1.7, 2.05)
RING_HEAD = (1.0, 0.8, 0.35, 0.0)
RING_EXPR = (0.45, 0.12, 0.0, 0.0)
# Below the chin the rings cover neck, collar and shoulders, which follow the head much less than hair does.
RING_NECK_DROP = (0.4, 0.75, 1.0, 1.0)
MOUTH_MARGIN = 1.0  # px the mouth bands extend beyond the closed-lip line's half width (anti-aliasing)
BAND_INSET = 1.0  # px the mouth bands reach into the opening (the lips' shadow; hides aliased 1-px interior slivers)
MOUTH_STRIP_DEPTH = -0.9  # the flat mouth strip lies behind the 3D interior: it fills what the interior misses


def band_inset(upper: torch.Tensor, lower: torch.Tensor) -> torch.Tensor:
    """How far (px) the lip-line bands reach into the opening, per column: ``BAND_INSET``, or half the opening
    where it is narrower (``upper``, ``lower``: the inner lip lines, ``(B, m, 2)``)."""
    return (0.5 * (upper - lower).norm(dim=-1)).clamp(max=BAND_INSET)


def band_margin(ipd_px: float) -> float:
    """Width (px) of the bands along the lip lines."""
    return MOUTH_MARGIN + 0.5 * lip_line_width(ipd_px)


def uncross_openings(pixels: torch.Tensor) -> torch.Tensor:
    """Lips and lids press together instead of passing through each other: where a lower contour point lies above
    its upper partner (on screen, across the opening), both move to their midpoint along the opening's up direction.

    Args:
        pixels (`torch.Tensor` of shape `(B, 478, 3)`): projected landmarks (y down).
    """
    g = face_topology().groups
    out = pixels.clone()
    for up, lo in (
        (g.lips_inner_upper, g.lips_inner_lower),
        (g.left_eye_upper, g.left_eye_lower),
        (g.right_eye_upper, g.right_eye_lower),
    ):
        up_i = torch.as_tensor(up[1:-1], device=pixels.device)  # the corners are shared
        lo_i = torch.as_tensor(lo[1:-1], device=pixels.device)
        corner = pixels[:, up[-1], :2] - pixels[:, up[0], :2]
        normal = torch.stack([corner[:, 1], -corner[:, 0]], -1)
        normal = normal / normal.norm(dim=-1, keepdim=True).clamp(min=1e-6)
        normal = torch.where(normal[:, 1:2] > 0, -normal, normal).unsqueeze(1)  # up on screen
        gap = ((pixels[:, up_i, :2] - pixels[:, lo_i, :2]) * normal).sum(-1, keepdim=True)  # < 0: crossed
        shift = 0.5 * gap.clamp(max=0.0) * normal
        out[:, up_i, :2] = pixels[:, up_i, :2] - shift
        out[:, lo_i, :2] = pixels[:, lo_i, :2] + shift
    return out


def warp_targets(rig: FaceRig, canvas: Canvas, motion: MotionTrack) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Target positions (window px) and depths of the warp-mesh vertices, shape ``(B, V, 3)``, the target
    landmarks ``(B, 478, 2)`` (window px) and the mouth interior's vertex colours ``(B, V_m, 3)`` (sRGB)."""
    b = motion.num_frames
    deformed = rig.deform(motion.blendshapes, motion.gaze, batch=b)
    full = uncross_openings(rig.project(deformed, motion.head_rotation, motion.head_translation))
    # head-only motion (the photo's expression, posed) of the outline, for the rings
    rest_face = canvas.rest_face.to(full)
    head = rig.project(rest_face.expand(b, -1, -1), motion.head_rotation, motion.head_translation)
    rest = canvas.rest_pixels.to(full)
    k = canvas.k
    shift = torch.tensor(
        [canvas.offset[0] + canvas.window[0], canvas.offset[1] + canvas.window[1]], device=full.device
    )

    def to_win(v: torch.Tensor) -> torch.Tensor:
        return v[..., :2] * k - shift

    tgt, hd, rs = to_win(full), to_win(head), to_win(rest)
    z = full[..., 2] / (rig.scale * 6.0)  # normalised depth, larger is nearer (about ±0.3)
    # rigid head motion of the rings: 2D affine least-squares fit rest → head-only landmarks (b, 3, 2), solved
    # by the normal equations in float64. (torch.linalg.lstsq on CPU is not reproducible: its last bits vary
    # from call to call with memory alignment, and identical calls rendered different pixels now and then.)
    wide = torch.float32 if hd.device.type == "mps" else torch.float64
    a_rest = torch.cat([rs, torch.ones_like(rs[:, :1])], -1).to(wide)  # (478, 3)
    aff = torch.linalg.solve(a_rest.T @ a_rest, a_rest.T @ hd.to(wide)).to(hd.dtype)  # (b, 3, 2)
    topo = face_topology()
    oval = torch.as_tensor(topo.groups.face_oval, device=full.device)
    expr = tgt[:, oval] - hd[:, oval]  # (b, 36, 2) expression motion of the outline
    ring_src = canvas.src[478 : 478 + len(RING_SCALE) * len(oval)].reshape(len(RING_SCALE), -1, 2)
    rings = []
    for r, (fh, fe, drop) in enumerate(zip(RING_HEAD, RING_EXPR, RING_NECK_DROP, strict=True)):
        src_r = ring_src[r]
        moved = torch.cat([src_r, torch.ones_like(src_r[:, :1])], -1) @ aff  # (b, 36, 2)
        follow = (fh * (1.0 - drop * canvas.ring_lower)).view(1, -1, 1)
        pos = src_r + follow * (moved - src_r) + fe * expr
        depth = torch.full_like(pos[..., :1], -0.5 - 0.1 * r)
        rings.append(torch.cat([pos, depth], -1))
    g = topo.groups
    skin = torch.cat([tgt, z.unsqueeze(-1)], -1)  # (b, 478, 3)
    parts = [skin] + rings
    lip_up, lip_lo = list(g.lips_inner_upper), list(g.lips_inner_lower)
    for up, lo in ((g.right_eye_upper, g.right_eye_lower), (g.left_eye_upper, g.left_eye_lower), (lip_up, lip_lo)):
        ids = torch.as_tensor(list(up) + list(lo), device=full.device)
        strip = skin[:, ids].clone()
        if up is lip_up:
            strip[..., 2] = MOUTH_STRIP_DEPTH
        else:
            strip[..., 2] = strip[..., 2] - 0.05  # behind the skin: folded lids cover the openings
        parts.append(strip)
    # Bands along the lip lines, in front of the lips and the interior: from BAND_INSET px inside the opening to
    # band_margin px outside it. They anti-alias the opening's edge, shade the interior just below the lips and,
    # when the lips are closed, draw the dark line between them.
    corner = skin[:, lip_up[-1], :2] - skin[:, lip_up[0], :2]
    mouth_up = torch.stack([corner[:, 1], -corner[:, 0]], -1)
    mouth_up = mouth_up / mouth_up.norm(dim=-1, keepdim=True).clamp(min=1e-6)
    if (mouth_up[:, 1] > 0).any():  # keep it pointing up on screen (y down)
        mouth_up = torch.where(mouth_up[:, 1:2] > 0, -mouth_up, mouth_up)
    inset = band_inset(skin[:, lip_up, :2], skin[:, lip_lo, :2]).unsqueeze(-1)  # (b, m, 1)
    for arc, sign in ((lip_up, 1.0), (lip_lo, -1.0)):
        ids = torch.as_tensor(arc, device=full.device)
        edge = skin[:, ids].clone()
        edge[..., 2] = edge[..., 2] + 0.02
        outer, inner = edge.clone(), edge.clone()
        outer[..., :2] = outer[..., :2] + sign * band_margin(canvas.ipd_px) * mouth_up.unsqueeze(1)
        inner[..., :2] = inner[..., :2] - sign * inset * mouth_up.unsqueeze(1)
        parts.append(torch.cat([inner, outer], 1))
    # the mouth interior, behind all skin: it shows through the lip opening only
    tongue = motion.blendshapes[:, ARKIT_INDEX["tongueOut"]]
    mouth_px, mouth_rgb = interior_vertices(
        rig,
        canvas.mouth_geometry,
        deformed,
        tongue,
        motion.head_rotation,
        motion.head_translation,
        canvas.teeth_rgb,
        canvas.mouth_exposure,
        canvas.lip_rgb,
    )
    mouth_z = mouth_px[..., 2:3] / (rig.scale * 6.0) - INTERIOR_DEPTH_BIAS
    parts.append(torch.cat([to_win(mouth_px), mouth_z], -1))
    return torch.cat(parts, 1), tgt, mouth_rgb


def warp_attributes(canvas: Canvas, pos: torch.Tensor, tgt: torch.Tensor, mouth_rgb: torch.Tensor) -> torch.Tensor:
    """Per-vertex attributes ``(B, V, ATTRIBUTE_CHANNELS)`` of the warp mesh at the target positions (see
    :data:`~emogen.render.portrait.shading.ATTRIBUTE_CHANNELS`); ``mouth_rgb`` from :func:`warp_targets`."""
    b, v = pos.shape[:2]
    g = face_topology().groups
    attr = pos.new_zeros(b, v, ATTRIBUTE_CHANNELS)
    attr[..., 0:2] = canvas.src
    attr[..., 4:6] = canvas.static[:, :2]
    attr[..., 8] = canvas.static[:, 2]
    attr[..., 10] = canvas.static[:, 3]
    base = 478 + len(RING_SCALE) * len(g.face_oval)
    src_pts = canvas.src[:478]
    lip = torch.as_tensor(list(g.lips_inner_upper) + list(g.lips_inner_lower), device=pos.device)
    m_lip = len(g.lips_inner_upper)
    true = tgt[:, lip]
    lip_gap = (true[:, :m_lip] - true[:, m_lip:]).norm(dim=-1)  # (b, m) true lip opening per pair
    margin = band_margin(canvas.ipd_px)
    inset = band_inset(true[:, :m_lip], true[:, m_lip:])
    for kind, up, iris in (
        ("eye", g.right_eye_upper, 468),
        ("eye", g.left_eye_upper, 473),
        ("mouth", g.lips_inner_upper, None),
        ("band_up", g.lips_inner_upper, None),
        ("band_lo", g.lips_inner_upper, None),
    ):
        m = len(up)
        sl = slice(base, base + 2 * m)
        p = pos[:, sl, :2]
        if kind == "eye":
            gap = (p[:, :m] - p[:, m:]).norm(dim=-1)  # (b, m)
            first, second = torch.zeros_like(gap), gap
        else:
            gap = lip_gap
            first, second = {
                "mouth": (torch.zeros_like(gap), gap),
                "band_up": (inset, torch.full_like(gap, -margin)),
                "band_lo": (gap - inset, gap + margin),
            }[kind]
        attr[:, base : base + m, 6] = first
        attr[:, base + m : base + 2 * m, 6] = second
        attr[:, sl, 7] = torch.cat([gap, gap], 1)
        attr[:, sl, 9] = torch.cat([gap, gap], 1) / canvas.src_gap[sl].clamp(min=1e-3)
        if iris is not None:
            # eyeball coordinates: the source eye moved rigidly with the iris (similarity from the corners)
            c0, c1 = up[0], up[-1]
            s0, s1 = src_pts[c0], src_pts[c1]
            t0, t1 = tgt[:, c0], tgt[:, c1]
            ds, dt = s1 - s0, t1 - t0
            zs = torch.complex(ds[0], ds[1])
            zt = torch.complex(dt[..., 0], dt[..., 1])
            a = zs / zt  # target → source linear part (b,)
            rel = p - tgt[:, iris].unsqueeze(1)
            rel_c = torch.complex(rel[..., 0], rel[..., 1]) * a.unsqueeze(1)
            eu = torch.stack([rel_c.real, rel_c.imag], -1) + src_pts[iris]
            attr[:, sl, 2:4] = eu
        base += 2 * m
    # the mouth interior: its colour in channels 2, 3, 6, the frame's opening ratio in 9
    mouth_src_gap = canvas.src_gap[base - 6 * len(g.lips_inner_upper) : base - 4 * len(g.lips_inner_upper)]
    ratio = lip_gap.mean(1) / mouth_src_gap.mean().clamp(min=1e-3)
    attr[:, base:, 2:4] = mouth_rgb[..., 0:2].to(attr)
    attr[:, base:, 6] = mouth_rgb[..., 2].to(attr)
    attr[:, base:, 9] = ratio.unsqueeze(1)
    return attr
