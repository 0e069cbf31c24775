"""The portrait shading model in GLSL: the fragment stage of :class:`~emogen.render.gl.GLRasterizer`'s fused pass.

A line-for-line transcription of :class:`~emogen.render.portrait.shading.TorchPortraitShader` (see there for the
model); the golden-image tests hold the two backends to the same frames.
"""

from __future__ import annotations

import numpy as np
import torch

from ..gl import GLShader
from .shading import LIP_LINE, LIP_LINE_CLEAR, PortraitShading

__all__ = ["GLPortraitShader"]

_FRAGMENT = f"""
#version 330
in vec4 a0; in vec4 a1; in vec4 a2; flat in vec4 frame;
uniform vec2 size;  // one frame's window (texture) size
uniform float ipd;
uniform vec3 teeth;
const float LIP_LINE = {LIP_LINE};
const float LIP_LINE_CLEAR = {LIP_LINE_CLEAR};
uniform sampler2D photo;    // rgb: photo with the mouth filled, a: forehead wrinkles
uniform sampler2D relax;    // rgb: relaxed-skin delta (encoded 0.5 + 2 d), a: glabella wrinkles
uniform sampler2D eyeball;  // rgb: eyeball, a: nose wrinkles
uniform sampler2D orig;     // rgb: the photo as is
out vec4 colour_out;

float ss(float e0, float e1, float x) {{
    float t = clamp((x - e0) / (e1 - e0), 0.0, 1.0);
    return t * t * (3.0 - 2.0 * t);
}}

vec3 mouth_colour(float dist, float gap, float u) {{
    float t = clamp(dist / max(gap, 1e-3), 0.0, 1.0);
    float across = 1.0 - abs(2.0 * u - 1.0);
    float depth = min(t, 1.0 - t) * 2.0;
    vec3 col = vec3(0.24, 0.07, 0.07) * (0.45 + 0.55 * sqrt(across)) * (1.0 - 0.45 * depth);
    vec3 tongue = vec3(0.55, 0.24, 0.24);
    float tz = pow((u - 0.5) / 0.32, 2.0) + pow((t - 1.0) / 0.55, 2.0);
    float t_alpha = ss(1.0, 0.7, tz) * ss(0.15 * ipd, 0.35 * ipd, gap) * 0.9;
    col = mix(col, tongue * (0.7 + 0.3 * across), t_alpha);
    float light = 0.5 + 0.5 * sqrt(across);
    float h_up = min(0.09 * ipd, 0.6 * gap);
    float up_alpha = ss(1.0, 0.0, (dist - h_up) / 1.2) * ss(0.08, 0.25, u) * ss(0.08, 0.25, 1.0 - u)
                     * ss(0.02 * ipd, 0.05 * ipd, gap);
    float seam = 1.0 - 0.16 * pow(abs(cos(3.14159265 * 7.0 * (u - 0.5))), 8.0);
    float r = clamp(dist / max(h_up, 1e-3), 0.0, 1.0);
    float occlusion = 0.7 + 0.3 * ss(0.0, 0.45, r);
    col = mix(col, teeth * (light * occlusion * (1.0 - 0.1 * pow(r, 4.0)) * seam), up_alpha);
    float h_lo = min(0.09 * ipd, 0.3 * gap);
    float lo_alpha = ss(1.0, 0.0, ((gap - dist) - h_lo) / 1.2) * ss(0.22, 0.35, u) * ss(0.22, 0.35, 1.0 - u)
                     * ss(0.4 * ipd, 0.55 * ipd, gap);
    col = mix(col, teeth * (0.78 * light), lo_alpha);
    return col;
}}

void main() {{
    float relax_w = frame.x;
    vec3 wrinkle_w = frame.yzw;
    vec2 suv = a0.xy / size;
    vec4 p0 = texture(photo, suv);
    vec3 col = p0.rgb;
    float crease = wrinkle_w.z * p0.a;
    if (relax_w > 0.0 || wrinkle_w.x > 0.0) {{  // uniform branches: skipped for most frames
        vec4 p1 = texture(relax, suv);
        col += relax_w * (p1.rgb - 0.5) * 0.5;
        crease += wrinkle_w.x * p1.a;
    }}
    if (wrinkle_w.y > 0.0) {{
        crease += wrinkle_w.y * texture(eyeball, suv).a;
    }}
    col *= 1.0 - crease;
    float m_eye = a1.x, m_mouth = a1.y, dist = a1.z, gap = a1.w;
    if (m_eye < 0.5 && m_mouth < 0.5) {{
        col *= 1.0 - 0.55 * pow(clamp(a2.z, 0.0, 1.0), 3.0);
    }}
    if (m_eye > 0.5) {{
        vec3 ball = texture(eyeball, a0.zw / size).rgb;
        float shadow = 1.0 - 0.28 * exp(-dist / (0.18 * gap + 0.6));
        float alpha = ss(0.0, 1.0, min(dist, gap - dist) / 0.9);
        col = mix(col, ball * shadow, alpha);
    }}
    if (m_mouth > 0.5) {{
        vec3 synth_col = mouth_colour(clamp(dist, 0.0, gap), gap, a2.x);
        vec3 own = texture(orig, suv).rgb;
        float synth = max(ss(1.25, 2.0, a2.y), ss(0.1, 0.5, relax_w));
        vec3 m = mix(own, synth_col, synth);
        float lw = max(1.0, LIP_LINE * ipd);
        float closed = 1.0 - ss(0.0, 2.0 * lw, gap);
        float alpha = clamp(min(dist, gap - dist) + 0.5 + 0.5 * lw * closed, 0.0, 1.0);
        alpha *= 1.0 - LIP_LINE_CLEAR * closed;
        col = mix(col, m, alpha);
    }}
    colour_out = vec4(clamp(col, 0.0, 1.0), 1.0);
}}
"""


class GLPortraitShader(GLShader):
    """Portrait shading in GLSL; keeps the textures of the last few photos on the GPU side (by ``inputs.key``)."""

    slots = 3
    fragment_source = _FRAGMENT

    def __init__(self) -> None:
        self._textures: dict[int, list] = {}

    def bind(self, ctx, program, inputs: PortraitShading, height: int, width: int) -> None:
        values = {
            "size": (float(width), float(height)),
            "ipd": float(inputs.ipd_px),
            "teeth": tuple(float(x) for x in inputs.teeth_rgb.detach().cpu().tolist()),
        }
        for name, value in values.items():
            if name in program:
                program[name].value = value
        for i, name in enumerate(("photo", "relax", "eyeball", "orig")):
            if name in program:
                program[name].value = i
        for i, tex in enumerate(self._upload(ctx, inputs.key, inputs.texture)):
            tex.use(location=i)

    def _upload(self, ctx, key: int, texture: torch.Tensor) -> list:
        """Textures of one canvas (cached by ``key``): (1, 15, h, w) float → four RGBA8 textures (8-bit sampling
        is several times faster than float on llvmpipe; the relaxed-skin delta is stored as 0.5 + 2·delta)."""
        import moderngl

        if key not in self._textures:
            tex = texture[0].detach().to("cpu", torch.float32).permute(1, 2, 0).numpy()
            h, w = tex.shape[:2]
            photo, relax, eyeball, orig, wr = (tex[..., 3 * i : 3 * i + 3] for i in range(5))
            packed = [
                np.concatenate([photo, wr[..., 2:3]], -1),
                np.concatenate([0.5 + 2.0 * relax, wr[..., 0:1]], -1),
                np.concatenate([eyeball, wr[..., 1:2]], -1),
                np.concatenate([orig, np.ones_like(orig[..., :1])], -1),
            ]
            out = []
            for arr in packed:
                data = np.clip(np.rint(arr * 255.0), 0, 255).astype(np.uint8)
                t = ctx.texture((w, h), 4, np.ascontiguousarray(data).tobytes())
                t.filter = (moderngl.LINEAR, moderngl.LINEAR)
                t.repeat_x = t.repeat_y = False
                out.append(t)
            if len(self._textures) > 8:
                for old in self._textures.pop(next(iter(self._textures))):
                    old.release()
            self._textures[key] = out
        return self._textures[key]
