"""Shading the rasterised mouth interior (see :mod:`emogen.head.mouth`)."""

from __future__ import annotations

import torch

from .anatomy import GUM, TEETH, TONGUE
from .interior import ATTR_AO, ATTR_APERTURE, ATTR_EDGE, ATTR_HEIGHT, ATTR_LIP, ATTR_MATERIAL, ATTR_NORMAL

__all__ = ["CAVITY_LAB", "GUM_LAB", "MUCOSA_LAB", "TEETH_LAB", "TONGUE_LAB", "lab_to_srgb", "shade_mouth"]


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
    lin = (xyz @ m.T).clamp(0.0, 1.0)
    return torch.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin.clamp(min=1e-12) ** (1 / 2.4) - 0.055)


def _to_linear(c: torch.Tensor) -> torch.Tensor:
    return torch.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _to_srgb(c: torch.Tensor) -> torch.Tensor:
    c = c.clamp(0.0, 1.0)
    return torch.where(c <= 0.0031308, 12.92 * c, 1.055 * c.clamp(min=1e-12) ** (1 / 2.4) - 0.055)


#: Default colours, CIELAB: teeth (Oh et al. 2022), gingiva (Gómez-Polo et al. 2019), alveolar mucosa (redder and
#: darker than attached gingiva, Ho et al. 2015 / J Prosthet Dent 117:294), tongue (pink), cavity (dark red-brown).
TEETH_LAB = (82.0, 1.5, 16.0)
GUM_LAB = (50.0, 24.0, 15.5)
MUCOSA_LAB = (42.0, 32.0, 14.0)
TONGUE_LAB = (48.0, 22.0, 9.0)
CAVITY_LAB = (28.0, 24.0, 14.0)
_WARM = torch.tensor([1.0, 0.78, 0.72])  # colour of the light bounced inside the mouth (linear gains)


def shade_mouth(
    attributes: torch.Tensor,
    light: tuple[float, float, float] | torch.Tensor = (0.0, 0.45, 1.0),
    teeth_color: torch.Tensor | tuple[float, float, float] | None = None,
    ambient: float = 0.45,
    exposure: float = 1.0,
    view: tuple[float, float, float] | torch.Tensor = (0.0, 0.0, 1.0),
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
        return _to_linear(lab_to_srgb(torch.tensor(lab)).to(dev, dt))

    teeth = (
        _to_linear(torch.as_tensor(teeth_color, dtype=dt, device=dev)) if teeth_color is not None else lin(TEETH_LAB)
    )

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
    # the cavity: wet red mucosa (the inner lips, cheeks) near the opening, darker red-brown deeper in
    c_cavity = lin(MUCOSA_LAB) + (lin(CAVITY_LAB) - lin(MUCOSA_LAB)) * ss(0.0, 0.3, ao).unsqueeze(-1)
    base = torch.where(
        (mat == TEETH).unsqueeze(-1),
        c_teeth,
        torch.where((mat == GUM).unsqueeze(-1), c_gum, torch.where((mat == TONGUE).unsqueeze(-1), c_tongue, c_cavity)),
    )
    diffuse = ambient + (1.0 - ambient) * ndl
    k_ao = torch.tensor([1.5, 2.2, 2.5, 1.2], dtype=dt, device=dev)[mat.clamp(0, 3)]
    occlusion = torch.exp(-k_ao * ao)
    shadow = 1.0 - 0.4 * torch.exp(-lip.clamp(min=0.0) / 0.025)
    shadow = shadow * (0.35 + 0.65 * aperture)
    spec_k = torch.tensor([0.0, 0.18, 0.04, 0.08], dtype=dt, device=dev)[mat.clamp(0, 3)]
    spec = spec_k * ndh**40 * occlusion * shadow
    light = occlusion * shadow
    # what light there is deep in the mouth has bounced off its red walls: shadows turn warm, not grey/olive
    warm = _WARM.to(dev, dt)
    tint = warm + (1.0 - warm) * light.unsqueeze(-1)
    rgb = exposure * (base * tint * (diffuse * light).unsqueeze(-1) + spec.unsqueeze(-1))
    return _to_srgb(rgb)
