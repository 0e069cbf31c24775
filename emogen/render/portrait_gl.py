"""OpenGL (moderngl, headless EGL) renderer of the portrait warp: rasterises the warp mesh *and* shades it.

This is the fast path of :class:`~emogen.face.animator.PortraitAnimator` on CPU machines ("draw the target mesh
with the photo as texture, UVs = source landmark positions"). The shading is a GLSL transcription of the torch
shading in :mod:`emogen.face.animator` (skin + relaxed layer, eyeball, mouth interior, lid/lip seam); the golden
tests check that both backends agree.
"""

from __future__ import annotations

import numpy as np
import torch

from .raster import _GLContext

__all__ = ["GLPortraitRenderer"]

_MAX_ROWS = 8192  # framebuffer height budget for stacking the frames of a batch

_VERT = """
#version 330
in vec3 in_pos;
in vec4 in_a0;
in vec4 in_a1;
in vec4 in_a2;
in vec4 in_frame;  // relaxed-layer weight, wrinkle weights (glabella, nose, forehead) of the vertex's frame
uniform vec2 target;  // size of the framebuffer (frames are stacked vertically)
out vec4 a0; out vec4 a1; out vec4 a2; flat out vec4 frame;
void main() {
    gl_Position = vec4(in_pos.x / target.x * 2.0 - 1.0, 1.0 - in_pos.y / target.y * 2.0, -in_pos.z, 1.0);
    a0 = in_a0; a1 = in_a1; a2 = in_a2; frame = in_frame;
}
"""

_FRAG = """
#version 330
in vec4 a0; in vec4 a1; in vec4 a2; flat in vec4 frame;
uniform vec2 size;  // one frame's window (texture) size
uniform float ipd;
uniform vec3 teeth;
const float LIP_LINE = 0.03;  // keep equal to emogen.face.animator._LIP_LINE
const float LIP_LINE_CLEAR = 0.55;  // ... and _LIP_LINE_CLEAR
uniform sampler2D photo;    // rgb: photo with the mouth filled, a: forehead wrinkles
uniform sampler2D relax;    // rgb: relaxed-skin delta (encoded 0.5 + 2 d), a: glabella wrinkles
uniform sampler2D eyeball;  // rgb: eyeball, a: nose wrinkles
uniform sampler2D orig;     // rgb: the photo as is
out vec4 colour_out;

float ss(float e0, float e1, float x) {
    float t = clamp((x - e0) / (e1 - e0), 0.0, 1.0);
    return t * t * (3.0 - 2.0 * t);
}

vec3 mouth_colour(float dist, float gap, float u) {
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
}

void main() {
    float relax_w = frame.x;
    vec3 wrinkle_w = frame.yzw;
    vec2 suv = a0.xy / size;
    vec4 p0 = texture(photo, suv);
    vec3 col = p0.rgb;
    float crease = wrinkle_w.z * p0.a;
    if (relax_w > 0.0 || wrinkle_w.x > 0.0) {  // uniform branches: skipped for most frames
        vec4 p1 = texture(relax, suv);
        col += relax_w * (p1.rgb - 0.5) * 0.5;
        crease += wrinkle_w.x * p1.a;
    }
    if (wrinkle_w.y > 0.0) {
        crease += wrinkle_w.y * texture(eyeball, suv).a;
    }
    col *= 1.0 - crease;
    float m_eye = a1.x, m_mouth = a1.y, dist = a1.z, gap = a1.w;
    if (m_eye < 0.5 && m_mouth < 0.5) {
        col *= 1.0 - 0.55 * pow(clamp(a2.z, 0.0, 1.0), 3.0);
    }
    if (m_eye > 0.5) {
        vec3 ball = texture(eyeball, a0.zw / size).rgb;
        float shadow = 1.0 - 0.28 * exp(-dist / (0.18 * gap + 0.6));
        float alpha = ss(0.0, 1.0, min(dist, gap - dist) / 0.9);
        col = mix(col, ball * shadow, alpha);
    }
    if (m_mouth > 0.5) {
        vec3 synth_col = mouth_colour(clamp(dist, 0.0, gap), gap, a2.x);
        vec3 own = texture(orig, suv).rgb;
        float synth = max(ss(1.25, 2.0, a2.y), ss(0.1, 0.5, relax_w));
        vec3 m = mix(own, synth_col, synth);
        float lw = max(1.0, LIP_LINE * ipd);
        float closed = 1.0 - ss(0.0, 2.0 * lw, gap);
        float alpha = clamp(min(dist, gap - dist) + 0.5 + 0.5 * lw * closed, 0.0, 1.0);
        alpha *= 1.0 - LIP_LINE_CLEAR * closed;
        col = mix(col, m, alpha);
    }
    colour_out = vec4(clamp(col, 0.0, 1.0), 1.0);
}
"""


class GLPortraitRenderer:
    """Draws warp-mesh batches with the portrait shading into an RGBA8 framebuffer."""

    def __init__(self) -> None:
        ctx = _GLContext.get()
        if ctx is None:
            raise RuntimeError("moderngl could not create a headless EGL context.")
        self.ctx = ctx
        self.prog = ctx.program(vertex_shader=_VERT, fragment_shader=_FRAG)
        for i, name in enumerate(("photo", "relax", "eyeball", "orig")):
            if name in self.prog:
                self.prog[name].value = i
        self._fbo = None
        self._fbo_size = None
        self._textures: dict[int, list] = {}

    def _framebuffer(self, height: int, width: int):
        if self._fbo_size != (height, width):
            if self._fbo is not None:
                self._fbo.release()
            self._color = self.ctx.renderbuffer((width, height), 4)
            self._depth = self.ctx.depth_renderbuffer((width, height))
            self._fbo = self.ctx.framebuffer(color_attachments=[self._color], depth_attachment=self._depth)
            self._fbo_size = (height, width)
        return self._fbo

    def _upload(self, key: int, texture: torch.Tensor) -> list:
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
                t = self.ctx.texture((w, h), 4, np.ascontiguousarray(data).tobytes())
                t.filter = (moderngl.LINEAR, moderngl.LINEAR)
                t.repeat_x = t.repeat_y = False
                out.append(t)
            if len(self._textures) > 8:
                for old in self._textures.pop(next(iter(self._textures))):
                    old.release()
            self._textures[key] = out
        return self._textures[key]

    def render(
        self,
        positions: torch.Tensor,
        faces: torch.Tensor,
        attributes: torch.Tensor,
        relax: torch.Tensor,
        wrinkle_w: torch.Tensor,
        texture: torch.Tensor,
        ipd: float,
        teeth: torch.Tensor,
        height: int,
        width: int,
        key: int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Render a batch.

        Args:
            positions (`(B, V, 3)`): window pixels and depth (larger is nearer, within (-1, 1)).
            faces (`(F, 3)`).
            attributes (`(B, V, 11)`): see the animator.
            relax (`(B,)`): relaxed-layer weight per frame.
            wrinkle_w (`(B, 3)`): glabella, nose and forehead wrinkle weights per frame.
            texture (`(1, 15, h, w)`): the canvas textures.
            ipd: pixels per inter-pupil distance; teeth: (3,) colour.
            key: a stable identifier of ``texture`` for the GPU-side texture cache (default: a fresh upload).

        Returns:
            ``(rgb uint8 (B, H, W, 3), covered bool (B, H, W))`` on the CPU.
        """
        import moderngl

        b, v, c = attributes.shape
        ctx = self.ctx
        per_draw = max(1, min(b, _MAX_ROWS // height))  # frames stacked in one framebuffer, drawn in one call
        fbo = self._framebuffer(per_draw * height, width)
        fbo.use()
        ctx.enable(moderngl.DEPTH_TEST)
        values = {
            "size": (float(width), float(height)),
            "target": (float(width), float(per_draw * height)),
            "ipd": float(ipd),
            "teeth": tuple(float(x) for x in teeth.detach().cpu().tolist()),
        }
        for name, value in values.items():
            if name in self.prog:
                self.prog[name].value = value
        textures = self._upload(key if key is not None else -1, texture)
        for i, tex in enumerate(textures):
            tex.use(location=i)
        pos = positions.detach().to("cpu", torch.float32).clone()
        pos[..., 1] += (torch.arange(b, dtype=torch.float32) % per_draw).view(b, 1) * height
        att = torch.zeros(b, v, 12)
        att[..., :c] = attributes.detach().to("cpu", torch.float32)
        frame = torch.cat([relax.detach().cpu().float().view(b, 1), wrinkle_w.detach().cpu().float()], -1)
        data = torch.cat([pos, att, frame.view(b, 1, 4).expand(b, v, 4)], -1).numpy()  # (b, v, 19)
        tri = faces.to("cpu", torch.int64)
        out = np.empty((b, height, width, 4), dtype=np.uint8)
        for start in range(0, b, per_draw):
            n = min(per_draw, b - start)
            index = (tri.unsqueeze(0) + torch.arange(n).view(n, 1, 1) * v).reshape(-1).to(torch.int32).numpy()
            ibo = ctx.buffer(index.tobytes())
            vbo = ctx.buffer(np.ascontiguousarray(data[start : start + n]).tobytes())
            vao = ctx.vertex_array(
                self.prog,
                [(vbo, "3f 4f 4f 4f 4f", "in_pos", "in_a0", "in_a1", "in_a2", "in_frame")],
                index_buffer=ibo,
                skip_errors=True,
            )
            try:
                fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
                vao.render(moderngl.TRIANGLES)
                raw = np.frombuffer(fbo.read(components=4, alignment=1), np.uint8)
                raw = raw.reshape(per_draw, height, width, 4)[::-1, ::-1]  # OpenGL rows run bottom-up
                out[start : start + n] = raw[:n]
            finally:
                vao.release()
                vbo.release()
                ibo.release()
        if key is None:
            for tex in self._textures.pop(-1):
                tex.release()
        out = torch.from_numpy(out)
        return out[..., :3], out[..., 3] > 127
