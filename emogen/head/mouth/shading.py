"""Shading the rasterised mouth interior (see :mod:`emogen.head.mouth`)."""

from __future__ import annotations

import torch

from ...utils import linear_to_srgb, srgb_to_linear
from .anatomy import CAVITY, GUM, TEETH, TONGUE
from .interior import ATTR_AO, ATTR_APERTURE, ATTR_EDGE, ATTR_HEIGHT, ATTR_LIP, ATTR_MATERIAL, ATTR_NORMAL

__all__ = [
    "AMBIENT",
    "AO_STRENGTH",
    "APERTURE_FLOOR",
    "CAVITY_DEPTH_RANGE",
    "CAVITY_LAB",
    "INNER_LIP_DEPTH",
    "INNER_LIP_LIGHT",
    "GUM_LAB",
    "MUCOSA_LAB",
    "TEETH_LAB",
    "TONGUE_LAB",
    "lab_to_srgb",
    "shade_mouth",
]


# ================================================================================================ shading
def lab_to_srgb(lab) -> torch.Tensor:
    """CIELAB (D65) → sRGB in [0, 1]: ``(..., 3)`` → ``(..., 3)``."""
    lab = torch.as_tensor(lab, dtype=torch.float32)
    fy = (lab[..., 0] + 16.0) / 116.0
    fx = fy + lab[..., 1] / 500.0
    fz = fy - lab[..., 2] / 200.0

    def finv(f):
        return torch.where(f > 6.0 / 29.0, f**3, 3.0 * (6.0 / 29.0) ** 2 * (f - 4.0 / 29.0))

    xyz = torch.stack([0.95047 * finv(fx), finv(fy), 1.08883 * finv(fz)], -1)
    m = torch.tensor([[3.2406, -1.5372, -0.4986], [-0.9689, 1.8758, 0.0415], [0.0557, -0.2040, 1.0570]])
    return linear_to_srgb(xyz @ m.T)


#: Default colours, CIELAB: teeth (Oh et al. 2022), gingiva (Gómez-Polo et al. 2019), alveolar mucosa (redder and
#: darker than attached gingiva, Ho et al. 2015 / J Prosthet Dent 117:294), tongue (pink), cavity (dark red-brown).
TEETH_LAB = (82.0, 1.5, 16.0)
GUM_LAB = (50.0, 24.0, 15.5)
MUCOSA_LAB = (42.0, 32.0, 14.0)
TONGUE_LAB = (48.0, 22.0, 9.0)
CAVITY_LAB = (28.0, 24.0, 14.0)
_WARM = torch.tensor([1.0, 0.78, 0.72])  # colour of the light bounced inside the mouth (linear gains)

# How much light reaches inside the mouth. The light of a portrait comes from near the camera, so most of what the
# camera sees through the lips is lit directly, and the walls bounce it around: calibrated so that the median
# luminance inside open lips over the lips' own (both linear) is ≈ 0.2 over views of six faces at jaw openings of
# 0.3-0.6, as in real open-mouth photos (the median of ten, 0.05-0.64; before this calibration 0.06, a black hole).
AMBIENT = 0.8  #: share of light reaching surfaces that face away from the light (bounce from the cavity's walls)
AO_STRENGTH = (0.6, 0.88, 1.0, 0.48)  #: per material (cavity, teeth, gum, tongue): light × exp(-k · depth)
APERTURE_FLOOR = 0.7  #: light behind an almost closed lip opening, relative to a wide-open one
#: The cavity's colour goes from the wet mucosa at the opening to the dark throat over this range of depth.
CAVITY_DEPTH_RANGE = (0.3, 1.0)
INNER_LIP_DEPTH = 0.12  #: depth over which the cavity's rim takes the lips' colour (with ``lip_color``)
INNER_LIP_LIGHT = 0.8  #: light on the inner lip, relative to the outer lip as photographed


def shade_mouth(
    attributes: torch.Tensor,
    light: tuple[float, float, float] | torch.Tensor = (0.0, 0.45, 1.0),
    teeth_color: torch.Tensor | tuple[float, float, float] | None = None,
    ambient: float = AMBIENT,
    exposure: float = 1.0,
    view: tuple[float, float, float] | torch.Tensor = (0.0, 0.0, 1.0),
    lip_color: torch.Tensor | tuple[float, float, float] | None = None,
) -> torch.Tensor:
    """Shade rasterised mouth-interior attributes.

    Teeth are off-white (``teeth_color``) with a bluish, translucent incisal edge, a warmer neck, darkened gaps
    between the crowns and a wet highlight; gums are pink-red, darker towards the vestibule; the tongue is pink,
    darker towards the back; the cavity dark red-brown. Everything is attenuated by a Lambert term
    (``ambient + (1 - ambient) max(0, n·l)``), by the depth into the mouth (ambient occlusion) and by the upper
    lip's shadow just below the lip line and by the aperture of the lips in front of the point (light enters the
    mouth through the opening only). Computed in linear light, returned as sRGB.

    Args:
        attributes (`torch.Tensor` of shape `(..., NUM_ATTRIBUTES)`): interpolated vertex attributes (e.g.
            ``Fragments.attributes``).
        light: light direction (towards the light) in the frame of the normals (the face frame).
        teeth_color: sRGB teeth colour in [0, 1], shape `(3,)` (e.g. sampled from the photo); default CIELAB
            :data:`TEETH_LAB`.
        ambient: share of light that reaches surfaces facing away from ``light``.
        exposure: overall gain (linear light).
        view: direction towards the camera in the frame of the normals (for the wet highlights). With a posed
            head, pass ``R.T @ light_camera`` and ``R.T @ (0, 0, 1)`` with ``R`` the face-to-camera rotation
            (``FaceRig.rotation``, times the animated head rotation) so the light stays fixed to the camera.
        lip_color: sRGB colour of the person's lips as photographed (shape `(3,)`), for the wet inner lip at the
            opening (it is divided by ``exposure``, so pass the photo's colour as it is); default: the mucosa
            colour :data:`MUCOSA_LAB`.

    Returns:
        `torch.Tensor` of shape `(..., 3)`: sRGB in [0, 1] (meaningless where the rasteriser's mask is False).
    """
    a = attributes
    dev, dt = a.device, a.dtype if a.is_floating_point() else torch.float32
    mat = a[..., ATTR_MATERIAL].round().long()
    n = a[..., ATTR_NORMAL]
    n = n / n.norm(dim=-1, keepdim=True).clamp(min=1e-6)
    ao = a[..., ATTR_AO].clamp(0.0, 1.0)
    edge = a[..., ATTR_EDGE].clamp(0.0, 1.0)
    h = a[..., ATTR_HEIGHT]
    lip = a[..., ATTR_LIP]
    aperture = a[..., ATTR_APERTURE].clamp(0.0, 1.0) if a.shape[-1] > ATTR_APERTURE else torch.ones_like(lip)
    l_dir = torch.as_tensor(light, dtype=dt, device=dev)
    l_dir = l_dir / l_dir.norm()
    view = torch.as_tensor(view, dtype=dt, device=dev)
    view = view / view.norm()
    half = (l_dir + view) / (l_dir + view).norm()
    ndl = (n * l_dir).sum(-1).clamp(min=0.0)
    ndh = (n * half).sum(-1).clamp(min=0.0)

    def lin(lab) -> torch.Tensor:
        return srgb_to_linear(lab_to_srgb(torch.tensor(lab)).to(dev, dt))

    if teeth_color is not None:
        teeth = srgb_to_linear(torch.as_tensor(teeth_color, dtype=dt, device=dev))
    else:
        teeth = lin(TEETH_LAB)

    def ss(e0: float, e1: float, x: torch.Tensor) -> torch.Tensor:
        t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0)
        return t * t * (3.0 - 2.0 * t)

    hu = h.unsqueeze(-1)
    # --- teeth: translucent incisal third (enamel over the dark mouth), warmer neck, gaps
    trans = 0.35 * (1.0 - ss(0.0, 0.14, h)).unsqueeze(-1)
    c_teeth = teeth * (1.0 - trans + trans * torch.tensor([0.50, 0.56, 0.68], dtype=dt, device=dev))
    c_teeth = c_teeth * (1.0 - ss(0.6, 1.0, h).unsqueeze(-1) * torch.tensor([0.0, 0.04, 0.14], dtype=dt, device=dev))
    c_teeth = c_teeth * (1.0 - 0.35 * ss(0.6, 1.0, edge)).unsqueeze(-1)
    # --- gum: attached gingiva at the margin, redder/darker mucosa towards the vestibule
    c_gum = lin(GUM_LAB) + (lin(MUCOSA_LAB) - lin(GUM_LAB)) * ss(0.3, 1.0, h).unsqueeze(-1)
    # --- tongue: pink, darker towards the back
    c_tongue = lin(TONGUE_LAB) * (1.0 - 0.55 * hu.clamp(0.0, 1.0) ** 1.2)
    # the cavity: the inner lips at the opening (the lips' own colour), wet red mucosa (cheeks, palate) behind
    # them, darker red-brown towards the throat
    mucosa = lin(MUCOSA_LAB)
    c_cavity = mucosa + (lin(CAVITY_LAB) - mucosa) * ss(*CAVITY_DEPTH_RANGE, ao).unsqueeze(-1)
    inner_lip = torch.zeros_like(ao)
    if lip_color is not None:
        lips = srgb_to_linear(torch.as_tensor(lip_color, dtype=dt, device=dev)) / max(exposure, 1e-3)
        inner_lip = (1.0 - ss(0.0, INNER_LIP_DEPTH, ao)) * (mat == CAVITY)
        c_cavity = c_cavity + (lips - c_cavity) * inner_lip.unsqueeze(-1)
    base = torch.where(
        (mat == TEETH).unsqueeze(-1),
        c_teeth,
        torch.where((mat == GUM).unsqueeze(-1), c_gum, torch.where((mat == TONGUE).unsqueeze(-1), c_tongue, c_cavity)),
    )
    diffuse = ambient + (1.0 - ambient) * ndl
    k_ao = torch.tensor(AO_STRENGTH, dtype=dt, device=dev)[mat.clamp(0, 3)]
    occlusion = torch.exp(-k_ao * ao)
    shadow = 1.0 - 0.4 * torch.exp(-lip.clamp(min=0.0) / 0.025)
    shadow = shadow * (APERTURE_FLOOR + (1.0 - APERTURE_FLOOR) * aperture)
    spec_k = torch.tensor([0.0, 0.18, 0.04, 0.08], dtype=dt, device=dev)[mat.clamp(0, 3)]
    spec = spec_k * ndh**40 * occlusion * shadow
    # the inner lip is the lip itself turning inwards: lit like the lip (a little darker), not like the cavity
    light = occlusion * shadow
    light = light + (INNER_LIP_LIGHT - light).clamp(min=0.0) * inner_lip
    # what light there is deep in the mouth has bounced off its red walls: shadows turn warm, not grey/olive
    warm = _WARM.to(dev, dt)
    tint = warm + (1.0 - warm) * light.unsqueeze(-1)
    rgb = exposure * (base * tint * (diffuse * light).unsqueeze(-1) + spec.unsqueeze(-1))
    return linear_to_srgb(rgb)
