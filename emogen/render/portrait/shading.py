"""The portrait shading model, behind one interface with one implementation per backend.

Given the fragments of the warp mesh (per pixel: source texture coordinates, eyeball coordinates, which opening
the pixel is in, its distance below the upper lid or lip and the opening's height, the position across the mouth,
the opening ratio and the lid/lip seam weight — see :mod:`emogen.render.portrait.geometry`), a shader produces:

* skin: the photo (mouth interior inpainted with lip colour), plus the relaxed-skin layer weighted by how much of
  the photo's smile the frame takes away, shaded by the expression's furrows and folds and coloured by flush and
  pallor (:mod:`emogen.render.portrait.appearance`);
* eyes: the eyeball texture moved with the iris, shaded under the lid;
* mouth: the 3D interior (:mod:`emogen.head.mouth`: teeth, gums, tongue, cavity), posed with the jaw and shaded
  per vertex (the photo's own interior while the opening is close to the photo's), its rim feathered into the
  lips; a dark line between closed lips.

:class:`TorchPortraitShader` shades :class:`~emogen.render.raster.Fragments` in torch (any device, differentiable);
:class:`~emogen.render.portrait.shading_gl.GLPortraitShader` is the same model in GLSL for the fused OpenGL pass.
The golden-image tests hold the two to the same frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..raster import Fragments
from .layers import UPPER_LID_BAND

__all__ = [
    "ATTRIBUTE_CHANNELS",
    "LIP_LINE",
    "LIP_LINE_CLEAR",
    "FRAME_SLOTS",
    "FRAME_VALUES",
    "PortraitShading",
    "TorchPortraitShader",
    "colour_gains",
    "cover_mix",
    "crease_shading",
    "lip_line_width",
    "mouth_colour",
    "own_mouth_weight",
    "smoothstep",
]

#: Vertex attribute channels of the warp mesh: su, sv, eu, ev, m_eye, m_mouth, dist (below the upper lid/lip, px),
#: gap (px), u (along the mouth), opening ratio (target gap / photo gap), seam (1 on the lid and inner-lip contours).
#: Mouth-interior vertices (m_mouth = 2) carry their shaded colour in channels 2, 3 and 6 instead.
ATTRIBUTE_CHANNELS = 11
LIP_LINE = 0.03  # IPD: width of the dark line between closed lips (at least 1 px)
LIP_LINE_CLEAR = 0.55  # the line is this much lighter than the mouth cavity
#: The rim of an open mouth is the wet inner lip curling into the cavity: the photo's lip colour in the lip's own
#: shadow (this share of it), not the dark line of closed lips, once the lips are 2-4 lip-line widths apart; it then
#: only anti-aliases the edge's own pixel, so the opening keeps its full size.
INNER_LIP_SHADE = 0.7


def lip_line_width(ipd_px: float) -> float:
    """Width (px) of the dark line drawn between closed lips: without it a closed mouth vanishes at the ~64-px
    face sizes that expression classifiers look at."""
    return max(1.0, LIP_LINE * ipd_px)


def crease_shading(creases: torch.Tensor, left: torch.Tensor, frame: torch.Tensor) -> torch.Tensor:
    """The multiplicative shading ``max(1 + Σ w_l s_l, 0.05)`` `(b, 1, h, w)` of the crease layers `(b, 8, h, w)`
    under per-frame weights (``frame`` `(b, ≥ 12)`, :data:`FRAME_VALUES`); ``left`` `(b, h, w)` splits the
    nasolabial fold's two weights between the sides."""
    w = frame[:, [1, 2, 3, 4, 5, 7, 8, 9]].clone()  # nasolabial: the right side's weight, the left's mixed in below
    naso = frame[:, 5].view(-1, 1, 1) + (frame[:, 6] - frame[:, 5]).view(-1, 1, 1) * left
    s = (creases * w.view(*w.shape, 1, 1)).sum(1) + creases[:, 4] * (naso - frame[:, 5].view(-1, 1, 1))
    return (1.0 + s).clamp(min=0.05).unsqueeze(1)


def cover_mix(alphas: torch.Tensor, frame: torch.Tensor) -> torch.Tensor:
    """How much `(b, 1, h, w)` of each pixel takes the unfolded eye cover's colour: the inner and outer weights
    `(b, 2, h, w)` under the brows' raise (``frame``, :data:`FRAME_VALUES` ``cover_inner``, ``cover_outer``)."""
    w = frame[:, 12:14].view(-1, 2, 1, 1)
    return (alphas * w).sum(1, keepdim=True).clamp(0.0, 1.0)


def colour_gains(gains: torch.Tensor, frame: torch.Tensor) -> torch.Tensor:
    """Per-channel gains `(b, 3, h, w)` of flush (channels 0-2 of ``gains``) and pallor (3-5) at their per-frame
    weights."""
    flush, pallor = frame[:, 10].view(-1, 1, 1, 1), frame[:, 11].view(-1, 1, 1, 1)
    return (1.0 + flush * gains[:, 0:3]) * (1.0 + pallor * gains[:, 3:6])


def smoothstep(e0: float, e1: float, x: torch.Tensor) -> torch.Tensor:
    t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def own_mouth_weight(relax: torch.Tensor, rest_smile: float) -> torch.Tensor:
    """How much of the photo's own mouth interior a frame may keep (``(B,)``, before the opening's check).

    Only a smiling photo's (``rest_smile``, :func:`~emogen.render.portrait.canvas.rig_rest_smile`) interior, its
    teeth between smiling lips, and only while the frame keeps that smile (``relax``, the share of the smile the frame
    takes away, below 0.1-0.5). The interior of a photo whose mouth is open for any other reason (a surprised or
    speaking photo: dark cavity, tongue, lower teeth) belongs to its own mouth shape: squeezed into a smile or a
    sneer it is a smear, so such photos always get the 3D interior.
    """
    return (1.0 - smoothstep(0.1, 0.5, relax)) * smoothstep(0.15, 0.3, torch.as_tensor(float(rest_smile)))


#: Per-frame values of :attr:`PortraitShading.frame`, in order: the relaxed-skin weight, the crease layers'
#: weights (the nasolabial fold per side), the colour cues' weights, the unfolded eye cover's (inner and outer brow
#: raise), the weight of the photo's own mouth interior (:func:`own_mouth_weight`), padded to whole ``vec4``
#: slots.
FRAME_VALUES: tuple[str, ...] = (
    "relax",
    "glabella",
    "forehead_au1",
    "forehead_au2",
    "nose",
    "nasolabial_right",
    "nasolabial_left",
    "crows_feet",
    "lower_lid",
    "chin",
    "flush",
    "pallor",
    "cover_inner",
    "cover_outer",
    "own_mouth",
)
FRAME_SLOTS = 4  # vec4 slots the GL shader receives (16 values)


@dataclass(frozen=True)
class PortraitShading:
    """What the portrait shaders need besides the fragments, for one batch.

    Args:
        texture (`torch.Tensor` of shape `(1, 32, h, w)`): the canvas layers, see
            :data:`~emogen.render.portrait.canvas.TEXTURE_LAYOUT`.
        key: a stable id of ``texture`` (GPU-side texture caches).
        ipd_px: pixels between the pupils.
        teeth_rgb (`torch.Tensor` of shape `(3,)`): teeth colour.
        frame (`torch.Tensor` of shape `(B, 4 · FRAME_SLOTS)`): per-frame values, see :data:`FRAME_VALUES`.
        lip_rgb (`torch.Tensor` of shape `(3,)`, *optional*): the photo's lip colour (sRGB): the rim of an open
            mouth (:func:`rim_colour`); ``None`` keeps the cavity's colour there.
    """

    texture: torch.Tensor
    key: int
    ipd_px: float
    teeth_rgb: torch.Tensor
    frame: torch.Tensor
    lip_rgb: torch.Tensor | None = None


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
        fv = inputs.frame.to(a.device, a.dtype)
        relax = fv[:, 0]
        own_mouth = fv[:, FRAME_VALUES.index("own_mouth")]
        scale = torch.tensor([2.0 / w, 2.0 / h], device=a.device)
        grid = a[..., 0:2] * scale - 1.0
        skin = F.grid_sample(
            tex.expand(b, -1, -1, -1), grid, mode="bilinear", padding_mode="border", align_corners=False
        )  # (b, 32, h, w)
        colour = skin[:, 0:3] + relax.view(b, 1, 1, 1) * skin[:, 3:6]
        colour = colour + (skin[:, 27:30] - colour) * cover_mix(skin[:, 30:32], fv)
        colour = colour * crease_shading(skin[:, 12:20], skin[:, 20], fv) * colour_gains(skin[:, 21:27], fv)
        colour = colour.permute(0, 2, 3, 1)  # (b, h, w, 3)
        seam = torch.where(mask & (a[..., 4] < 0.5) & (a[..., 5] < 0.5), a[..., 10], torch.zeros_like(a[..., 10]))
        colour = colour * (1.0 - 0.55 * seam.clamp(0, 1) ** 3).unsqueeze(-1)

        m_eye = (a[..., 4] > 0.5) & mask
        m_mouth = (a[..., 5] > 0.5) & (a[..., 5] < 1.5) & mask
        m_inside = (a[..., 5] > 1.5) & mask
        if m_eye.any():
            sel = a[m_eye]  # (n, 11)
            g2 = (sel[:, 2:4] * scale - 1.0).view(1, 1, -1, 2)
            eyeball = F.grid_sample(tex[:, 6:9], g2, mode="bilinear", padding_mode="border", align_corners=False)
            eyeball = eyeball.view(3, -1).T
            dist, gap = sel[:, 6], sel[:, 7]
            # the band under the upper lid (its shadow, the lashes) moves with the lid: the photo's opening there
            band = UPPER_LID_BAND * inputs.ipd_px
            lid = (1.0 - smoothstep(0.5 * band, band, dist)).unsqueeze(-1)
            eyeball = eyeball + (colour[m_eye] - eyeball) * lid
            shadow = 1.0 - 0.28 * torch.exp(-dist / (0.18 * gap + 0.6))
            alpha = smoothstep(0.0, 1.0, torch.minimum(dist, gap - dist) / 0.9).unsqueeze(-1)
            colour[m_eye] = colour[m_eye] * (1 - alpha) + (eyeball * shadow.unsqueeze(-1)) * alpha
        if m_inside.any():
            # the 3D interior, shaded per vertex; the photo's own interior (a smiling photo's teeth) while the
            # opening is close to the photo's and the frame keeps the smile (:func:`own_mouth_weight`)
            sel = a[m_inside]
            col = sel[:, [2, 3, 6]]
            g3 = (sel[:, 0:2] * scale - 1.0).view(1, 1, -1, 2)
            own = F.grid_sample(tex[:, 9:12], g3, mode="bilinear", padding_mode="border", align_corners=False)
            own = own.view(3, -1).T
            b_idx = m_inside.nonzero()[:, 0]
            synth = torch.maximum(smoothstep(1.25, 2.0, sel[:, 9]), 1.0 - own_mouth[b_idx])
            colour[m_inside] = own * (1 - synth.unsqueeze(-1)) + col * synth.unsqueeze(-1)
        if m_mouth.any():
            # the lip-line bands (and the flat strip behind the interior): the shadowed rim of the opening
            sel = a[m_mouth]
            dist, gap = sel[:, 6], sel[:, 7]
            lw = lip_line_width(inputs.ipd_px)
            # how far the lips are parted, 0 (a closed-lip line) to 1 (2-4 line widths apart); only with a lip colour
            parted = None if inputs.lip_rgb is None else smoothstep(2.0 * lw, 4.0 * lw, gap)
            col = rim_colour(sel[:, 8], parted, inputs.lip_rgb)
            g3 = (sel[:, 0:2] * scale - 1.0).view(1, 1, -1, 2)
            own = F.grid_sample(tex[:, 9:12], g3, mode="bilinear", padding_mode="border", align_corners=False)
            own = own.view(3, -1).T
            b_idx = m_mouth.nonzero()[:, 0]
            synth = torch.maximum(smoothstep(1.25, 2.0, sel[:, 9]), 1.0 - own_mouth[b_idx])
            col = own * (1 - synth.unsqueeze(-1)) + col * synth.unsqueeze(-1)
            # pixel coverage of the true opening (1 px box filter), widened to a lip line of _lip_line_width px
            # as the lips close
            closed = 1.0 - smoothstep(0.0, 2.0 * lw, gap)
            edge = torch.minimum(dist, gap - dist)  # px into the opening from the nearer lip
            alpha = (edge + 0.5 + 0.5 * lw * closed).clamp(0.0, 1.0) * (1.0 - LIP_LINE_CLEAR * closed)
            if parted is not None:
                # parted lips: only the edge's own pixel blends lip and cavity, the opening keeps its full size
                alpha = alpha + (0.5 * (1.0 - edge.abs()).clamp(min=0.0) - alpha) * parted
            alpha = alpha.unsqueeze(-1)
            colour[m_mouth] = colour[m_mouth] * (1 - alpha) + col * alpha
        rgb = (colour.clamp(0, 1) * 255 + 0.5).to(torch.uint8)
        return rgb, mask


def rim_colour(u: torch.Tensor, parted: torch.Tensor | None, lip_rgb: torch.Tensor | None) -> torch.Tensor:
    """Colour of the lip-line bands, ``(n, 3)``: the dark line of closed lips (:func:`mouth_colour`) turning into the
    inner lip (``lip_rgb`` · :data:`INNER_LIP_SHADE`) as the lips part (``parted`` from 0 to 1, per band pixel)."""
    col = mouth_colour(u)
    if lip_rgb is None or parted is None:
        return col
    inner = lip_rgb.to(col) * INNER_LIP_SHADE
    return col + (inner - col) * parted.unsqueeze(-1)


def mouth_colour(u: torch.Tensor) -> torch.Tensor:
    """Colour of the shadowed cavity at the lip edge, ``(n, 3)``: the anti-aliased rim of the opening, the dark line of
    closed lips and whatever of the opening the 3D interior misses (``u``: 0…1 across the mouth, darker at the
    corners)."""
    across = 1.0 - (2.0 * u - 1.0).abs()
    cavity = torch.tensor([0.24, 0.07, 0.07], device=u.device, dtype=u.dtype)
    return cavity * (0.45 + 0.55 * across.sqrt()).unsqueeze(-1)
