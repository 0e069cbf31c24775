"""The portrait shading model, behind one interface with one implementation per backend.

Given the fragments of the warp mesh (per pixel: source texture coordinates, eyeball coordinates, which opening
the pixel is in, its distance below the upper lid or lip and the opening's height, the position across the mouth,
the opening ratio and the lid/lip seam weight — see :mod:`emogen.render.portrait.geometry`), a shader produces:

* skin: the photo (mouth interior inpainted with lip colour), plus the relaxed-skin layer weighted by how much of
  the photo's smile the frame takes away, darkened by the expression-wrinkle maps;
* eyes: the eyeball texture moved with the iris, shaded under the lid;
* mouth: a shaded cavity with an upper-teeth band hanging from the upper lip, lower teeth and tongue when wide open
  (the photo's own interior while the opening is close to the photo's), feathered into the lips; a dark line
  between closed lips.

:class:`TorchPortraitShader` shades :class:`~emogen.render.raster.Fragments` in torch (any device, differentiable);
:class:`~emogen.render.portrait.shading_gl.GLPortraitShader` is the same model in GLSL for the fused OpenGL pass.
The golden-image tests hold the two to the same frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..raster import Fragments

__all__ = [
    "ATTRIBUTE_CHANNELS",
    "LIP_LINE",
    "LIP_LINE_CLEAR",
    "PortraitShading",
    "TorchPortraitShader",
    "lip_line_width",
    "mouth_colour",
    "smoothstep",
]

#: Vertex attribute channels of the warp mesh: su, sv, eu, ev, m_eye, m_mouth, dist (below the upper lid/lip, px),
#: gap (px), u (along the mouth), opening ratio (target gap / photo gap), seam (1 on the lid and inner-lip contours).
ATTRIBUTE_CHANNELS = 11
LIP_LINE = 0.03  # IPD: width of the dark line between closed lips (at least 1 px)
LIP_LINE_CLEAR = 0.55  # the line is this much lighter than the mouth cavity


def lip_line_width(ipd_px: float) -> float:
    """Width (px) of the dark line drawn between closed lips: without it a closed mouth vanishes at the ~64-px
    face sizes that expression classifiers look at."""
    return max(1.0, LIP_LINE * ipd_px)


def smoothstep(e0: float, e1: float, x: torch.Tensor) -> torch.Tensor:
    t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


@dataclass(frozen=True)
class PortraitShading:
    """What the portrait shaders need besides the fragments, for one batch.

    Args:
        texture (`torch.Tensor` of shape `(1, 15, h, w)`): photo (mouth filled), relaxed-skin delta, eyeball,
            original photo, wrinkle maps (glabella, nose, forehead), in [0, 1].
        key: a stable id of ``texture`` (GPU-side texture caches).
        ipd_px: pixels between the pupils.
        teeth_rgb (`torch.Tensor` of shape `(3,)`): teeth colour.
        frame (`torch.Tensor` of shape `(B, 4)`): per frame: relaxed-layer weight, wrinkle weights (glabella, nose,
            forehead).
    """

    texture: torch.Tensor
    key: int
    ipd_px: float
    teeth_rgb: torch.Tensor
    frame: torch.Tensor


class TorchPortraitShader:
    """The portrait shading in torch."""

    def __call__(self, fragments: Fragments, inputs: PortraitShading) -> tuple[torch.Tensor, torch.Tensor]:
        """Shade rasterised warp-mesh fragments.

        Returns:
            ``(rgb uint8 (B, H, W, 3), covered bool (B, H, W))`` on the fragments' device.
        """
        a, mask = fragments.attributes, fragments.mask
        b, h, w = a.shape[:3]
        tex = inputs.texture.to(a.device)
        relax, wrinkle_w = inputs.frame[:, 0].to(a.device), inputs.frame[:, 1:4].to(a.device)
        scale = torch.tensor([2.0 / w, 2.0 / h], device=a.device)
        grid = a[..., 0:2] * scale - 1.0
        skin = F.grid_sample(
            tex[:, [0, 1, 2, 3, 4, 5, 12, 13, 14]].expand(b, -1, -1, -1),
            grid,
            mode="bilinear",
            padding_mode="border",
            align_corners=False,
        )  # (b, 9, h, w)
        relax = relax.to(a.dtype)
        colour = skin[:, :3] + relax.view(b, 1, 1, 1) * skin[:, 3:6]
        crease = (skin[:, 6:9] * wrinkle_w.to(a.dtype).view(b, 3, 1, 1)).sum(1, keepdim=True)
        colour = colour * (1.0 - crease)
        colour = colour.permute(0, 2, 3, 1)  # (b, h, w, 3)
        seam = torch.where(mask & (a[..., 4] < 0.5) & (a[..., 5] < 0.5), a[..., 10], torch.zeros_like(a[..., 10]))
        colour = colour * (1.0 - 0.55 * seam.clamp(0, 1) ** 3).unsqueeze(-1)

        m_eye = (a[..., 4] > 0.5) & mask
        m_mouth = (a[..., 5] > 0.5) & mask
        if m_eye.any():
            sel = a[m_eye]  # (n, 11)
            g2 = (sel[:, 2:4] * scale - 1.0).view(1, 1, -1, 2)
            eyeball = F.grid_sample(tex[:, 6:9], g2, mode="bilinear", padding_mode="border", align_corners=False)
            eyeball = eyeball.view(3, -1).T
            dist, gap = sel[:, 6], sel[:, 7]
            shadow = 1.0 - 0.28 * torch.exp(-dist / (0.18 * gap + 0.6))
            alpha = smoothstep(0.0, 1.0, torch.minimum(dist, gap - dist) / 0.9).unsqueeze(-1)
            colour[m_eye] = colour[m_eye] * (1 - alpha) + (eyeball * shadow.unsqueeze(-1)) * alpha
        if m_mouth.any():
            sel = a[m_mouth]
            dist, gap = sel[:, 6], sel[:, 7]
            col = mouth_colour(dist.clamp(min=0).minimum(gap), gap, sel[:, 8], inputs.ipd_px, inputs.teeth_rgb.to(a))
            # reuse the photo's own mouth interior while the opening is close to the photo's, and only while the
            # smile that shaped it is kept (a grin's teeth don't belong in other faces)
            g3 = (sel[:, 0:2] * scale - 1.0).view(1, 1, -1, 2)
            own = F.grid_sample(tex[:, 9:12], g3, mode="bilinear", padding_mode="border", align_corners=False)
            own = own.view(3, -1).T
            b_idx = m_mouth.nonzero()[:, 0]
            synth = torch.maximum(smoothstep(1.25, 2.0, sel[:, 9]), smoothstep(0.1, 0.5, relax[b_idx]))
            col = own * (1 - synth.unsqueeze(-1)) + col * synth.unsqueeze(-1)
            # pixel coverage of the true opening (1 px box filter), widened to a lip line of _lip_line_width px
            # as the lips close
            lw = lip_line_width(inputs.ipd_px)
            closed = 1.0 - smoothstep(0.0, 2.0 * lw, gap)
            alpha = (torch.minimum(dist, gap - dist) + 0.5 + 0.5 * lw * closed).clamp(0.0, 1.0)
            alpha = (alpha * (1.0 - LIP_LINE_CLEAR * closed)).unsqueeze(-1)
            colour[m_mouth] = colour[m_mouth] * (1 - alpha) + col * alpha
        rgb = (colour.clamp(0, 1) * 255 + 0.5).to(torch.uint8)
        return rgb, mask


def mouth_colour(
    dist: torch.Tensor, gap: torch.Tensor, u: torch.Tensor, ipd: float, teeth: torch.Tensor
) -> torch.Tensor:
    """Procedural mouth interior (cavity, upper/lower teeth, tongue), shape ``(n, 3)``.

    Args:
        dist: distance below the upper inner lip (px); gap: lip opening (px); u: 0…1 across the mouth.
        ipd: pixels between the pupils; teeth: (3,) teeth colour.
    """
    t = (dist / gap.clamp(min=1e-3)).clamp(0, 1)
    across = 1.0 - (2.0 * u - 1.0).abs()  # 1 at the centre, 0 at the corners
    depth = torch.minimum(t, 1 - t) * 2  # 0 at the lips, 1 in the middle
    cavity = torch.tensor([0.24, 0.07, 0.07], device=dist.device)
    col = cavity * (0.45 + 0.55 * across.sqrt()).unsqueeze(-1) * (1.0 - 0.45 * depth).unsqueeze(-1)
    # tongue: lower middle when the mouth is open
    tongue = torch.tensor([0.55, 0.24, 0.24], device=dist.device)
    tz = ((u - 0.5) / 0.32) ** 2 + ((t - 1.0) / 0.55) ** 2
    t_alpha = smoothstep(1.0, 0.7, tz) * smoothstep(0.15 * ipd, 0.35 * ipd, gap) * 0.9
    col = col * (1 - t_alpha.unsqueeze(-1)) + (tongue * (0.7 + 0.3 * across).unsqueeze(-1)) * t_alpha.unsqueeze(-1)
    # The lateral teeth recede into the dark and the upper lip shades the top of the upper teeth (flat, evenly
    # bright teeth read as dentures). Darkening the teeth of narrow openings as well, though physical, made
    # the fear prototype's parted lips read as surprise to FER2013 (fear 0.28 → 0.25, surprise 0.25 → 0.39).
    light = 0.5 + 0.5 * across.sqrt()
    # upper teeth: a band hanging from the upper lip
    h_up = torch.minimum(0.09 * ipd * torch.ones_like(gap), 0.6 * gap)
    up_alpha = (
        smoothstep(1.0, 0.0, (dist - h_up) / 1.2)
        * smoothstep(0.08, 0.25, u)
        * smoothstep(0.08, 0.25, 1 - u)
        * smoothstep(0.02 * ipd, 0.05 * ipd, gap)
    )
    seam = 1.0 - 0.16 * torch.cos(math.pi * 7 * (u - 0.5)).abs() ** 8
    r = (dist / h_up.clamp(min=1e-3)).clamp(0, 1)
    occlusion = 0.7 + 0.3 * smoothstep(0.0, 0.45, r)
    up_col = teeth * (light * occlusion * (1.0 - 0.1 * r**4) * seam).unsqueeze(-1)
    col = col * (1 - up_alpha.unsqueeze(-1)) + up_col * up_alpha.unsqueeze(-1)
    # lower teeth when wide open
    h_lo = torch.minimum(0.09 * ipd * torch.ones_like(gap), 0.3 * gap)
    lo_alpha = (
        smoothstep(1.0, 0.0, ((gap - dist) - h_lo) / 1.2)
        * smoothstep(0.22, 0.35, u)
        * smoothstep(0.22, 0.35, 1 - u)
        * smoothstep(0.4 * ipd, 0.55 * ipd, gap)
    )
    col = col * (1 - lo_alpha.unsqueeze(-1)) + (teeth * (0.78 * light).unsqueeze(-1)) * lo_alpha.unsqueeze(-1)
    return col
