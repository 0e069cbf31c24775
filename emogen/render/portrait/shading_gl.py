"""The portrait shading model in GLSL: the fragment stage of :class:`~emogen.render.gl.GLRasterizer`'s fused pass.

A line-for-line transcription of :class:`~emogen.render.portrait.shading.TorchPortraitShader` (see there for the
model); the golden-image tests hold the two backends to the same frames.
"""

from __future__ import annotations

import numpy as np
import torch

from ..gl import GLShader
from .canvas import TEXTURE_LAYOUT
from .layers import UPPER_LID_BAND
from .shading import FRAME_SLOTS, INNER_LIP_SHADE, LIP_LINE, LIP_LINE_CLEAR, PortraitShading

#: Offset of the signed crease layers in the 8-bit textures (they lie within about [-0.55, 0.25]).
CREASE_BIAS = 0.6

__all__ = ["GLPortraitShader"]

_FRAGMENT = f"""
#version 330
in vec4 a0; in vec4 a1; in vec4 a2;
flat in vec4 frame0; flat in vec4 frame1; flat in vec4 frame2; flat in vec4 frame3;
uniform vec2 size;  // one frame's window (texture) size
uniform float ipd;
uniform vec4 lip;  // rgb: the photo's lip colour, a: 1 if known
const float LIP_LINE = {LIP_LINE};
const float LIP_LINE_CLEAR = {LIP_LINE_CLEAR};
const float UPPER_LID_BAND = {UPPER_LID_BAND};
const float INNER_LIP_SHADE = {INNER_LIP_SHADE};
// crease layers are stored as s + CREASE_BIAS, colour gains as 0.5 + g, the relaxed-skin delta as 0.5 + 2 d
const float CREASE_BIAS = {CREASE_BIAS};
uniform sampler2D photo;    // rgb: photo with the mouth filled, a: glabella crease
uniform sampler2D relax;    // rgb: relaxed-skin delta, a: forehead (AU1) creases
uniform sampler2D eyeball;  // rgb: eyeball, a: forehead (AU2) creases
uniform sampler2D orig;     // rgb: the photo as is, a: nose creases
uniform sampler2D creases;  // nasolabial fold, crow's feet, lower lid, chin
uniform sampler2D flush;    // rgb: flush gain, a: the subject's left share
uniform sampler2D pallor;   // rgb: pallor gain, a: the unfolded eye cover's outer (AU2) weight
uniform sampler2D cover;    // rgb: the unfolded eye cover's colour, a: its inner (AU1) weight
out vec4 colour_out;

float ss(float e0, float e1, float x) {{
    float t = clamp((x - e0) / (e1 - e0), 0.0, 1.0);
    return t * t * (3.0 - 2.0 * t);
}}

vec3 mouth_colour(float u) {{
    float across = 1.0 - abs(2.0 * u - 1.0);
    return vec3(0.24, 0.07, 0.07) * (0.45 + 0.55 * sqrt(across));
}}

void main() {{
    float relax_w = frame0.x;
    vec2 suv = a0.xy / size;
    vec4 p0 = texture(photo, suv);
    vec4 p1 = texture(relax, suv);
    vec4 p2 = texture(eyeball, suv);
    vec4 p3 = texture(orig, suv);
    vec4 p4 = texture(creases, suv);
    vec4 p5 = texture(flush, suv);
    vec3 col = p0.rgb + relax_w * (p1.rgb - 0.5) * 0.5;
    if (frame3.x > 0.0 || frame3.y > 0.0) {{  // uniform branch: only frames with raised brows
        vec4 cv = texture(cover, suv);
        col = mix(col, cv.rgb, clamp(frame3.x * cv.a + frame3.y * texture(pallor, suv).a, 0.0, 1.0));
    }}
    float naso_w = mix(frame1.y, frame1.z, p5.a);
    float shade = 1.0 + frame0.y * (p0.a - CREASE_BIAS) + frame0.z * (p1.a - CREASE_BIAS)
                + frame0.w * (p2.a - CREASE_BIAS) + frame1.x * (p3.a - CREASE_BIAS)
                + dot(vec4(naso_w, frame1.w, frame2.x, frame2.y), p4 - CREASE_BIAS);
    col *= max(shade, 0.05);
    if (frame2.z > 0.0 || frame2.w > 0.0) {{  // uniform branch: only frames with a colour cue
        vec3 pal = texture(pallor, suv).rgb;
        col *= (1.0 + frame2.z * (p5.rgb - 0.5)) * (1.0 + frame2.w * (pal - 0.5));
    }}
    float m_eye = a1.x, m_mouth = a1.y, dist = a1.z, gap = a1.w;
    if (m_eye < 0.5 && m_mouth < 0.5) {{
        col *= 1.0 - 0.55 * pow(clamp(a2.z, 0.0, 1.0), 3.0);
    }}
    if (m_eye > 0.5) {{
        vec3 ball = texture(eyeball, a0.zw / size).rgb;
        float band = UPPER_LID_BAND * ipd;
        ball = mix(ball, col, 1.0 - ss(0.5 * band, band, dist));  // the lid's band moves with the lid
        float shadow = 1.0 - 0.28 * exp(-dist / (0.18 * gap + 0.6));
        float alpha = ss(0.0, 1.0, min(dist, gap - dist) / 0.9);
        col = mix(col, ball * shadow, alpha);
    }}
    if (m_mouth > 1.5) {{
        float synth = max(ss(1.25, 2.0, a2.y), 1.0 - frame3.z);
        col = mix(p3.rgb, vec3(a0.z, a0.w, a1.z), synth);
    }} else if (m_mouth > 0.5) {{
        float lw = max(1.0, LIP_LINE * ipd);
        float parted = lip.a * ss(2.0 * lw, 4.0 * lw, gap);  // 0: a closed-lip line, 1: lips 2-4 line widths apart
        vec3 synth_col = mix(mouth_colour(a2.x), lip.rgb * INNER_LIP_SHADE, parted);
        vec3 own = p3.rgb;
        float synth = max(ss(1.25, 2.0, a2.y), 1.0 - frame3.z);
        vec3 m = mix(own, synth_col, synth);
        float closed = 1.0 - ss(0.0, 2.0 * lw, gap);
        float edge = min(dist, gap - dist);
        float alpha = clamp(edge + 0.5 + 0.5 * lw * closed, 0.0, 1.0);
        alpha *= 1.0 - LIP_LINE_CLEAR * closed;
        alpha = mix(alpha, 0.5 * max(1.0 - abs(edge), 0.0), parted);
        col = mix(col, m, alpha);
    }}
    colour_out = vec4(clamp(col, 0.0, 1.0), 1.0);
}}
"""


class GLPortraitShader(GLShader):
    """Portrait shading in GLSL; keeps the textures of the last few photos on the GPU side (by ``inputs.key``)."""

    slots = 3
    frame_slots = FRAME_SLOTS
    fragment_source = _FRAGMENT

    def __init__(self) -> None:
        self._textures: dict[int, list] = {}

    def bind(self, ctx, program, inputs: PortraitShading, height: int, width: int) -> None:
        values = {
            "size": (float(width), float(height)),
            "ipd": float(inputs.ipd_px),
            "lip": (0.0, 0.0, 0.0, 0.0) if inputs.lip_rgb is None else (*map(float, inputs.lip_rgb.tolist()), 1.0),
        }
        for name, value in values.items():
            if name in program:
                program[name].value = value
        for i, name in enumerate(("photo", "relax", "eyeball", "orig", "creases", "flush", "pallor", "cover")):
            if name in program:
                program[name].value = i
        for i, tex in enumerate(self._upload(ctx, inputs.key, inputs.texture)):
            tex.use(location=i)

    def _upload(self, ctx, key: int, texture: torch.Tensor) -> list:
        """Textures of one canvas (cached by ``key``): (1, 32, h, w) float → eight RGBA8 textures (8-bit sampling is
        several times faster than float on llvmpipe; signed layers are stored with an offset, see the GLSL)."""
        import moderngl

        if key not in self._textures:
            tex = texture[0].detach().to("cpu", torch.float32).permute(1, 2, 0).numpy()
            h, w = tex.shape[:2]
            c = {name: tex[..., sl] for name, sl in TEXTURE_LAYOUT.items()}
            creases = c["creases"] + CREASE_BIAS
            packed = [
                np.concatenate([c["photo"], creases[..., 0:1]], -1),
                np.concatenate([0.5 + 2.0 * c["relax"], creases[..., 1:2]], -1),
                np.concatenate([c["eyeball"], creases[..., 2:3]], -1),
                np.concatenate([c["orig"], creases[..., 3:4]], -1),
                creases[..., 4:8],
                np.concatenate([0.5 + c["flush"], c["left"]], -1),
                np.concatenate([0.5 + c["pallor"], c["cover_alpha"][..., 1:2]], -1),
                np.concatenate([c["cover"], c["cover_alpha"][..., 0:1]], -1),
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
