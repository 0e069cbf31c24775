"""Shading a head avatar: the texture with its expression layers, procedural eyes, the shaded mouth; two backends.

Per vertex the rasteriser interpolates two ``vec4`` slots:

* ``a0 = (normal (camera axes), material)`` — material 0 skin, 1 eye, 2 mouth;
* ``a1`` — skin: texture coordinates ``(u, v)``; eye: the direction in the eyeball's own frame (the iris is drawn
  from it: pupil, radially striated iris with a darker limbal ring, sclera) and, in ``w``, the upper lid's shadow
  (:func:`lid_shadow`); mouth: its colour, already shaded by :func:`emogen.head.mouth.shade_mouth`.

Per frame (``flat``): ``frame0 = (glabella, forehead AU1, forehead AU2, nose)``, ``frame1 = (nasolabial right,
nasolabial left, crow's feet, lower lid)``, ``frame2 = (chin, flush, pallor, -)``, ``frame3 = (eye cover inner,
outer, -, -)`` — the weights of the texture's expression layers (:data:`emogen.head.avatar.texture.LAYER_CHANNELS`),
applied like the portrait animator's: the unfolded eye cover mixed in
(``mix(colour, cover, w_inner c_inner + w_outer c_outer)``), then
``colour · (1 + Σ w s) · (1 + w_flush g_flush) · (1 + w_pallor g_pallor)``.

Lighting is Lambert plus ambient with a Blinn-Phong highlight (sharper and stronger on the eyes' wet surface);
the mouth brings its own. :class:`GLAvatarShader` is the GLSL fragment stage of
:class:`~emogen.render.gl.GLRasterizer`'s fused pass, :class:`TorchAvatarShader` the same model in torch for the
torch rasteriser (any device); the tests hold the two to the same frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ...head.avatar.eyes import IRIS_ANGLE, PUPIL_ANGLE
from ..gl import GLShader
from .camera import Lighting

__all__ = ["AvatarShading", "GLAvatarShader", "TorchAvatarShader", "FRAME_SLOTS"]

FRAME_SLOTS = 4
CREASE_BIAS = 0.6


@dataclass(frozen=True)
class AvatarShading:
    """What the shaders need besides the vertex attributes.

    Args:
        albedo (`torch.Tensor` of shape `(T, T, 3)`, uint8), layers (`torch.Tensor` of shape `(T, T, 20)`, uint8):
            the avatar's textures.
        key: identifies the textures (for the GL texture cache).
        iris, sclera: sRGB colours in [0, 1].
        lighting: the :class:`Lighting`.
        frame (`torch.Tensor` of shape `(batch, 16)`): the per-frame layer weights.
    """

    albedo: torch.Tensor
    layers: torch.Tensor
    key: int
    iris: tuple[float, float, float]
    sclera: tuple[float, float, float]
    lighting: Lighting
    frame: torch.Tensor


_FRAGMENT = f"""
#version 330
in vec4 a0; in vec4 a1;
flat in vec4 frame0; flat in vec4 frame1; flat in vec4 frame2; flat in vec4 frame3;
uniform sampler2D albedo;    // rgb, a: the subject's left share (for the sided nasolabial fold)
uniform sampler2D creases0;  // glabella, forehead AU1, forehead AU2, nose  (+ {CREASE_BIAS})
uniform sampler2D creases1;  // nasolabial, crow's feet, lower lid, chin   (+ {CREASE_BIAS})
uniform sampler2D flush;     // rgb: 0.5 + flush gain
uniform sampler2D pallor;    // rgb: 0.5 + pallor gain, a: the eye cover's outer weight
uniform sampler2D cover;     // rgb: the unfolded eye cover's colour, a: its inner weight
uniform vec3 light;          // towards the light, camera axes
uniform vec4 lighting;       // ambient, diffuse, specular, shininess
uniform vec3 iris;
uniform vec3 sclera;
out vec4 colour_out;
const float CREASE_BIAS = {CREASE_BIAS};
const float IRIS = {IRIS_ANGLE:.4f};
const float PUPIL = {PUPIL_ANGLE:.4f};

float ss(float e0, float e1, float x) {{
    float t = clamp((x - e0) / (e1 - e0), 0.0, 1.0);
    return t * t * (3.0 - 2.0 * t);
}}

void main() {{
    vec3 n = normalize(a0.xyz);
    float mat = a0.w;
    vec3 col;
    float spec_k = lighting.z;
    float shin = lighting.w;
    float lit = 1.0;
    if (mat < 0.5) {{
        vec2 uv = a1.xy;
        vec4 alb = texture(albedo, uv);
        col = alb.rgb;
        if (frame3.x > 0.0 || frame3.y > 0.0) {{
            vec4 cv = texture(cover, uv);
            col = mix(col, cv.rgb, clamp(frame3.x * cv.a + frame3.y * texture(pallor, uv).a, 0.0, 1.0));
        }}
        if (any(notEqual(frame0, vec4(0.0))) || any(notEqual(frame1, vec4(0.0))) || frame2.x != 0.0) {{
            vec4 c0 = texture(creases0, uv) - CREASE_BIAS;
            vec4 c1 = texture(creases1, uv) - CREASE_BIAS;
            float naso = mix(frame1.x, frame1.y, alb.a);
            float shade = 1.0 + dot(frame0, c0) + dot(vec4(naso, frame1.z, frame1.w, frame2.x), c1);
            col *= max(shade, 0.05);
        }}
        if (frame2.y > 0.0 || frame2.z > 0.0) {{
            vec3 fl = texture(flush, uv).rgb;
            vec3 pal = texture(pallor, uv).rgb;
            col *= (1.0 + frame2.y * (fl - 0.5)) * (1.0 + frame2.z * (pal - 0.5));
        }}
    }} else if (mat < 1.5) {{
        vec3 d = normalize(a1.xyz);
        float ang = degrees(acos(clamp(d.z, -1.0, 1.0)));
        float phi = atan(d.y, d.x);
        float r = clamp(ang / IRIS, 0.0, 1.0);
        float fibres = 0.86 + 0.1 * sin(phi * 37.0) * sin(phi * 11.0 + 1.3) + 0.08 * sin(phi * 23.0 + 4.0 * r);
        vec3 ir = iris * fibres * (0.75 + 0.4 * r) * (1.0 - 0.5 * exp(-pow((ang - IRIS) / 2.2, 2.0)));
        col = mix(ir, sclera * (1.0 - 0.25 * ss(60.0, 100.0, ang)), ss(IRIS - 0.5, IRIS + 0.5, ang));
        col = mix(vec3(0.02), col, ss(PUPIL - 0.5, PUPIL + 0.5, ang));
        col *= 1.0 - a1.w;
        spec_k = 0.5;
        shin = 90.0;
    }} else {{
        col = a1.rgb;
        lit = 0.0;
        spec_k = 0.0;
    }}
    float ndl = max(dot(n, light), 0.0);
    vec3 h = normalize(light + vec3(0.0, 0.0, 1.0));
    float s = spec_k * pow(max(dot(n, h), 0.0), shin);
    vec3 shaded = col * mix(1.0, lighting.x + lighting.y * ndl, lit) + s * lit;
    colour_out = vec4(clamp(shaded, 0.0, 1.0), 1.0);
}}
"""


class GLAvatarShader(GLShader):
    """The avatar shading in GLSL; keeps the textures of the last few avatars on the GL side (by ``inputs.key``)."""

    slots = 2
    frame_slots = FRAME_SLOTS
    fragment_source = _FRAGMENT

    def __init__(self) -> None:
        self._textures: dict[int, list] = {}

    def bind(self, ctx, program, inputs: AvatarShading, height: int, width: int) -> None:
        lt = inputs.lighting
        values = {
            "light": tuple(float(x) for x in lt.unit_direction()),
            "lighting": (float(lt.ambient), float(lt.diffuse), float(lt.specular), float(lt.shininess)),
            "iris": tuple(float(x) for x in inputs.iris),
            "sclera": tuple(float(x) for x in inputs.sclera),
        }
        for name, value in values.items():
            if name in program:
                program[name].value = value
        for i, name in enumerate(("albedo", "creases0", "creases1", "flush", "pallor", "cover")):
            if name in program:
                program[name].value = i
        for i, tex in enumerate(self._upload(ctx, inputs)):
            tex.use(location=i)

    def _upload(self, ctx, inputs: AvatarShading) -> list:
        import moderngl

        if inputs.key not in self._textures:
            albedo = inputs.albedo.detach().cpu().numpy()
            layers = inputs.layers.detach().cpu().numpy()
            h, w = albedo.shape[:2]
            packed = [
                np.concatenate([albedo, layers[..., 11:12]], -1),
                layers[..., 0:4],
                layers[..., 4:8],
                layers[..., 8:12],
                layers[..., 12:16],
                layers[..., 16:20],
            ]
            out = []
            for k, arr in enumerate(packed):
                t = ctx.texture((w, h), 4, np.ascontiguousarray(arr).tobytes())
                if k == 0:
                    t.build_mipmaps()
                    t.filter = (moderngl.LINEAR_MIPMAP_LINEAR, moderngl.LINEAR)
                else:
                    t.filter = (moderngl.LINEAR, moderngl.LINEAR)
                t.repeat_x, t.repeat_y = True, False  # the chart wraps around the head in u
                out.append(t)
            if len(self._textures) > 4:
                for old in self._textures.pop(next(iter(self._textures))):
                    old.release()
            self._textures[inputs.key] = out
        return self._textures[inputs.key]


def _ss(e0: float, e1: float, x: torch.Tensor) -> torch.Tensor:
    t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


class TorchAvatarShader:
    """The avatar shading in torch: ``shader(fragments, inputs) -> (rgb uint8 (B, H, W, 3), covered (B, H, W))``."""

    def __init__(self) -> None:
        self._cache: dict[tuple, torch.Tensor] = {}

    def _textures(self, inputs: AvatarShading, device) -> torch.Tensor:
        key = (inputs.key, str(device))
        if key not in self._cache:
            tex = torch.cat([inputs.albedo, inputs.layers], -1).to(device=device, dtype=torch.float32) / 255.0
            if len(self._cache) > 4:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = tex.permute(2, 0, 1).unsqueeze(0)  # (1, 23, T, T)
        return self._cache[key]

    def __call__(self, fragments, inputs: AvatarShading) -> tuple[torch.Tensor, torch.Tensor]:
        a, covered = fragments.attributes, fragments.mask
        b, h, w, _ = a.shape
        dev = a.device
        n = a[..., 0:3] / a[..., 0:3].norm(dim=-1, keepdim=True).clamp(min=1e-6)
        mat = a[..., 3]
        tex = self._textures(inputs, dev)
        uv = torch.stack([a[..., 4].remainder(1.0), a[..., 5]], -1)  # the chart wraps around the head in u
        grid = (uv * 2.0 - 1.0).reshape(1, b * h, w, 2)
        s = F.grid_sample(tex, grid, mode="bilinear", padding_mode="border", align_corners=False)
        s = s[0].permute(1, 2, 0).reshape(b, h, w, -1)
        col = s[..., 0:3]
        fr = inputs.frame.to(dev, torch.float32).view(b, 1, 1, -1)
        cover = (fr[..., 12:13] * s[..., 22:23] + fr[..., 13:14] * s[..., 18:19]).clamp(0.0, 1.0)
        col = col + (s[..., 19:22] - col) * cover
        c0 = s[..., 3:7] - CREASE_BIAS
        c1 = s[..., 7:11] - CREASE_BIAS
        fl, left, pal = s[..., 11:14], s[..., 14], s[..., 15:18]
        naso = fr[..., 4] + (fr[..., 5] - fr[..., 4]) * left
        w1 = torch.stack(
            [naso, fr[..., 6].expand_as(naso), fr[..., 7].expand_as(naso), fr[..., 8].expand_as(naso)], -1
        )
        shade = 1.0 + (fr[..., 0:4] * c0).sum(-1) + (w1 * c1).sum(-1)
        col = col * shade.clamp(min=0.05).unsqueeze(-1)
        col = col * (1.0 + fr[..., 9:10] * (fl - 0.5)) * (1.0 + fr[..., 10:11] * (pal - 0.5))
        # eyes
        d = a[..., 4:7] / a[..., 4:7].norm(dim=-1, keepdim=True).clamp(min=1e-6)
        ang = torch.rad2deg(torch.acos(d[..., 2].clamp(-1.0, 1.0)))
        phi = torch.atan2(d[..., 1], d[..., 0])
        r = (ang / IRIS_ANGLE).clamp(0.0, 1.0)
        fibres = (
            0.86 + 0.1 * torch.sin(phi * 37.0) * torch.sin(phi * 11.0 + 1.3) + 0.08 * torch.sin(phi * 23.0 + 4.0 * r)
        )
        iris = torch.tensor(inputs.iris, device=dev, dtype=torch.float32)
        sclera = torch.tensor(inputs.sclera, device=dev, dtype=torch.float32)
        ring = 1.0 - 0.5 * torch.exp(-(((ang - IRIS_ANGLE) / 2.2) ** 2))
        ir = iris * (fibres * (0.75 + 0.4 * r) * ring).unsqueeze(-1)
        eye = ir + (sclera * (1.0 - 0.25 * _ss(60.0, 100.0, ang)).unsqueeze(-1) - ir) * _ss(
            IRIS_ANGLE - 0.5, IRIS_ANGLE + 0.5, ang
        ).unsqueeze(-1)
        eye = 0.02 + (eye - 0.02) * _ss(PUPIL_ANGLE - 0.5, PUPIL_ANGLE + 0.5, ang).unsqueeze(-1)
        eye = eye * (1.0 - a[..., 7:8])
        lt = inputs.lighting
        light = lt.unit_direction().to(dev)
        half = light + torch.tensor([0.0, 0.0, 1.0], device=dev)
        half = half / half.norm()
        ndl = (n * light).sum(-1).clamp(min=0.0)
        ndh = (n * half).sum(-1).clamp(min=0.0)
        is_eye = (mat > 0.5) & (mat < 1.5)
        is_mouth = mat >= 1.5
        base = torch.where(is_eye.unsqueeze(-1), eye, col)
        spec = torch.where(is_eye, 0.5 * ndh**90.0, lt.specular * ndh ** float(lt.shininess))
        shaded = base * (lt.ambient + lt.diffuse * ndl).unsqueeze(-1) + spec.unsqueeze(-1)
        shaded = torch.where(is_mouth.unsqueeze(-1), a[..., 4:7], shaded)
        rgb = (shaded.clamp(0.0, 1.0) * 255.0 + 0.5).to(torch.uint8)
        return rgb, covered


#: Darkening of the eye right under the upper lid's margin (the lid and lashes shade the eyeball), as in the
#: portrait animator's eyeball layer (:mod:`emogen.render.portrait.shading`); it fades over LID_SHADOW_WIDTH.
LID_SHADOW = 0.28
LID_SHADOW_WIDTH = 0.035  # IPD (≈ 2 mm)


def lid_shadow(below_lid: torch.Tensor) -> torch.Tensor:
    """The lid's shadow (0 = none) on eyeball vertices ``below_lid`` IPD under the upper lid's margin."""
    return LID_SHADOW * torch.exp(-below_lid.clamp(min=0.0) / LID_SHADOW_WIDTH)


def frame_weights(blendshapes: torch.Tensor, rest: torch.Tensor, colour: torch.Tensor | None) -> torch.Tensor:
    """``(b, 16)`` per-frame layer weights from ARKit weights ``(b, 52)`` (relative to the photo's ``rest``) and
    optional ``(b, 2)`` flush/pallor weights."""
    from ..portrait.appearance.layers import arkit_layer_weights

    lw = arkit_layer_weights(blendshapes.detach().float().cpu(), rest.detach().float().cpu())
    b = blendshapes.shape[0]
    out = torch.zeros(b, 4 * FRAME_SLOTS)
    for i, name in enumerate(("glabella", "forehead_au1", "forehead_au2", "nose")):
        out[:, i] = lw[name].mean(-1)
    out[:, 4:6] = lw["nasolabial"]
    out[:, 6] = lw["crows_feet"].mean(-1)
    out[:, 7] = lw["lower_lid"].mean(-1)
    out[:, 8] = lw["chin"].mean(-1)
    if colour is not None:
        out[:, 9:11] = colour.float().cpu()
    out[:, 12] = lw["cover_inner"].mean(-1)
    out[:, 13] = lw["cover_outer"].mean(-1)
    return out
