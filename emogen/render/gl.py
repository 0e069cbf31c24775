"""OpenGL backend (``moderngl`` on a headless EGL context): a rasteriser that composes with GLSL shaders.

On a CPU machine EGL gives Mesa's llvmpipe, on a GPU machine the GPU's driver. The backend has two uses:

* :meth:`GLRasterizer.__call__` rasterises meshes into :class:`~emogen.render.raster.Fragments` (interpolated vertex
  attributes read back as float textures), the same contract as :class:`~emogen.render.raster.TorchRasterizer`;
* :meth:`GLRasterizer.draw` rasterises *and* shades in one pass with a :class:`GLShader` — the shader contributes
  the fragment stage (GLSL source, textures and uniforms), the rasteriser the vertex stage and the draw. This is
  pytorch3d's rasteriser → fragments → shader composition, fused into one program because reading a float G-buffer
  back from llvmpipe costs more than shading it there; only 8-bit colour comes back.

Vertex inputs are ``in_pos`` (x, y in pixels of the output, y down; depth, larger is nearer, within (-1, 1)) and the
attributes packed into ``vec4`` slots ``a0 … a{n-1}``, plus per-frame ``vec4 frame0 …`` (``flat``): a batch of
frames is stacked vertically in one framebuffer and drawn with one call.

One context serves the whole process, from any thread: EGL lets a context be current on one thread at a time, so
every GL call runs inside :func:`current_context` (a process-wide lock plus making the context current on the
calling thread), and the context is released by the thread that created it. Renders from a web server's worker
threads therefore work, one at a time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

from .raster import Fragments, Rasterizer

logger = logging.getLogger(__name__)

__all__ = ["GLRasterizer", "GLShader", "current_context", "egl_available", "gl_context"]

_MAX_ROWS = 8192  # framebuffer height budget for stacking the frames of a batch


class _GLContext:
    _ctx = None
    _tried = False

    @classmethod
    def get(cls):
        if not cls._tried:
            cls._tried = True
            try:
                import moderngl

                cls._ctx = moderngl.create_standalone_context(backend="egl", require=330)
                with cls._ctx:  # leaving the block releases it from this thread, so any thread can make it current
                    pass
                logger.debug("OpenGL context: %s", cls._ctx.info.get("GL_RENDERER"))
            except Exception as exc:  # noqa: BLE001 - any failure means "no EGL here"
                logger.warning("No headless OpenGL (EGL) context (%s); using the torch rasteriser.", exc)
                cls._ctx = None
        return cls._ctx


def gl_context():
    """The shared headless OpenGL 3.3 context, or ``None`` where EGL is unavailable (created once)."""
    return _GLContext.get()


_LOCK = threading.RLock()


@contextmanager
def current_context(ctx=None) -> Iterator:
    """Make the shared context (or ``ctx``) current on the calling thread for the block, one thread at a time.

    Every GL call must run inside it; blocks nest on one thread.
    """
    ctx = gl_context() if ctx is None else ctx
    with _LOCK, ctx:
        yield ctx


def egl_available() -> bool:
    """Whether a headless OpenGL 3.3 context can be created (cached)."""
    return gl_context() is not None


def _vertex_source(slots: int, frame_slots: int = 1) -> str:
    ins = "".join(f"in vec4 in_a{i};\n" for i in range(slots))
    ins += "".join(f"in vec4 in_frame{i};\n" for i in range(frame_slots))
    outs = "".join(f"out vec4 a{i};\n" for i in range(slots))
    outs += "".join(f"flat out vec4 frame{i};\n" for i in range(frame_slots))
    copy = " ".join(f"a{i} = in_a{i};" for i in range(slots))
    copy += " ".join(f" frame{i} = in_frame{i};" for i in range(frame_slots))
    return f"""
#version 330
in vec3 in_pos;
{ins}uniform vec2 target;  // framebuffer size (frames are stacked vertically)
{outs}void main() {{
    // pixels (y down) -> NDC (y up); depth: larger is nearer -> smaller NDC z
    gl_Position = vec4(in_pos.x / target.x * 2.0 - 1.0, 1.0 - in_pos.y / target.y * 2.0, -in_pos.z, 1.0);
    {copy}
}}
"""


_GBUFFER_FRAGMENT = """
#version 330
in vec4 a0; in vec4 a1; in vec4 a2;
flat in vec4 frame0;
layout(location = 0) out vec4 o0;
layout(location = 1) out vec4 o1;
layout(location = 2) out vec4 o2;
void main() { o0 = a0; o1 = a1; o2 = vec4(a2.xyz, 1.0); }
"""


class GLShader:
    """The fragment stage of a GL program: subclasses set :attr:`slots`, :attr:`frame_slots` and
    :attr:`fragment_source` and bind their textures and uniforms in :meth:`bind`.

    The fragment source declares ``in vec4 a0 … a{slots-1}; flat in vec4 frame0 … frame{frame_slots-1};`` (per-frame
    values, the same for every vertex of a frame) and writes one ``vec4`` colour (alpha > 0.5 marks covered pixels).
    """

    slots: int = 3
    frame_slots: int = 1
    fragment_source: str = ""

    def bind(self, ctx, program, inputs, height: int, width: int) -> None:
        """Set uniforms and bind textures for one draw (``inputs`` is the shader's own per-call data)."""


class GLRasterizer(Rasterizer):
    """OpenGL rasteriser on a headless EGL context (CPU tensors in and out).

    Depth must be normalised by the caller to roughly [-1, 1] for the depth test (the animators do this).
    """

    name = "moderngl"
    max_channels = 11  # attributes of __call__ (three float RGBA targets, the last alpha marks coverage)

    def __init__(self) -> None:
        ctx = gl_context()
        if ctx is None:
            raise RuntimeError("moderngl could not create a headless EGL context.")
        self.ctx = ctx
        self._programs: dict[type, object] = {}
        self._fbos: dict[tuple, tuple] = {}

    # ---------------------------------------------------------------------------------------------- plumbing
    def _program(self, shader_type: type, slots: int, frame_slots: int, fragment: str):
        if shader_type not in self._programs:
            vertex = _vertex_source(slots, frame_slots)
            self._programs[shader_type] = self.ctx.program(vertex_shader=vertex, fragment_shader=fragment)
        return self._programs[shader_type]

    def _framebuffer(self, height: int, width: int, kind: str):
        key = (kind, height, width)
        if key not in self._fbos:
            for old_key in [k for k in self._fbos if k[0] == kind]:  # one framebuffer per kind
                for obj in self._fbos.pop(old_key):
                    obj.release()
            ctx = self.ctx
            if kind == "gbuffer":
                color = [ctx.texture((width, height), 4, dtype="f4") for _ in range(3)]
            else:
                color = [ctx.renderbuffer((width, height), 4)]
            depth = ctx.depth_renderbuffer((width, height))
            self._fbos[key] = (ctx.framebuffer(color_attachments=color, depth_attachment=depth), depth, *color)
        return self._fbos[key][0]

    @staticmethod
    def _vertex_data(
        positions, attributes, frame, slots: int, frame_slots: int, per_draw: int, height: int
    ) -> np.ndarray:
        b, v = positions.shape[:2]
        pos = positions.detach().to("cpu", torch.float32).clone()
        pos[..., 1] += (torch.arange(b, dtype=torch.float32) % per_draw).view(b, 1) * height
        att = torch.zeros(b, v, 4 * slots)
        c = attributes.shape[-1]
        if c > 4 * slots:
            raise ValueError(f"The shader takes {4 * slots} attribute channels, got {c}.")
        att[..., :c] = attributes.detach().to("cpu", torch.float32)
        n = 4 * frame_slots
        fr = torch.zeros(b, n) if frame is None else frame.detach().to("cpu", torch.float32).reshape(b, -1)
        if fr.shape[1] > n:
            raise ValueError(f"The shader takes {n} per-frame values, got {fr.shape[1]}.")
        fr = torch.nn.functional.pad(fr, (0, n - fr.shape[1]))
        return torch.cat([pos, att, fr.view(b, 1, n).expand(b, v, n)], -1).numpy()

    def _draw(
        self, program, data: np.ndarray, faces: torch.Tensor, slots: int, frame_slots: int, fbo, n: int, v: int
    ) -> None:
        import moderngl

        tri = faces.to("cpu", torch.int64)
        index = (tri.unsqueeze(0) + torch.arange(n).view(n, 1, 1) * v).reshape(-1).to(torch.int32).numpy()
        ibo = self.ctx.buffer(index.tobytes())
        vbo = self.ctx.buffer(np.ascontiguousarray(data).tobytes())
        layout = "3f " + "4f " * (slots + frame_slots)
        names = ["in_pos", *(f"in_a{i}" for i in range(slots)), *(f"in_frame{i}" for i in range(frame_slots))]
        vao = self.ctx.vertex_array(program, [(vbo, layout, *names)], index_buffer=ibo, skip_errors=True)
        try:
            vao.render(moderngl.TRIANGLES)
        finally:
            vao.release()
            vbo.release()
            ibo.release()

    # ---------------------------------------------------------------------------------------------- contracts
    def __call__(self, positions, faces, attributes, height, width) -> Fragments:
        """Rasterise into :class:`Fragments` (up to :attr:`max_channels` attribute channels)."""
        with current_context(self.ctx):
            return self._rasterise(positions, faces, attributes, height, width)

    def _rasterise(self, positions, faces, attributes, height, width) -> Fragments:
        import moderngl

        b, v, c = attributes.shape
        if c > self.max_channels:
            raise ValueError(f"GLRasterizer supports at most {self.max_channels} channels, got {c}.")
        device, dtype = attributes.device, attributes.dtype
        program = self._program(Fragments, 3, 1, _GBUFFER_FRAGMENT)
        program["target"].value = (float(width), float(height))
        fbo = self._framebuffer(height, width, "gbuffer")
        fbo.use()
        self.ctx.enable(moderngl.DEPTH_TEST)
        data = self._vertex_data(positions, attributes, None, 3, 1, 1, height)
        out = np.empty((b, 3, height, width, 4), dtype=np.float32)
        for i in range(b):
            fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
            self._draw(program, data[i : i + 1], faces, 3, 1, fbo, 1, v)
            for a in range(3):
                raw = fbo.read(attachment=a, dtype="f4", components=4)
                out[i, a] = np.frombuffer(raw, np.float32).reshape(height, width, 4)
        # OpenGL rows run bottom-up
        t = torch.from_numpy(out[:, :, ::-1].copy()).permute(0, 2, 3, 1, 4).reshape(b, height, width, 12)
        mask = t[..., 11] > 0.5
        return Fragments(attributes=t[..., :c].to(device=device, dtype=dtype), mask=mask.to(device))

    def draw(
        self,
        positions: torch.Tensor,
        faces: torch.Tensor,
        attributes: torch.Tensor,
        shader: GLShader,
        inputs,
        height: int,
        width: int,
        frame: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Rasterise and shade a batch in one pass.

        Args:
            positions (`(B, V, 3)`): pixels and depth (larger is nearer, within (-1, 1)).
            faces (`(F, 3)`): triangles shared by the batch.
            attributes (`(B, V, C)`): vertex attributes, ``C <= 4 · shader.slots``.
            shader: the fragment stage.
            inputs: what ``shader.bind`` needs (textures, uniforms).
            frame (`(B, 4 · frame_slots)`, *optional*): per-frame values (``flat vec4 frame0 …``).

        Returns:
            ``(rgb uint8 (B, H, W, 3), covered bool (B, H, W))`` on the CPU.
        """
        with current_context(self.ctx):
            return self._shade(positions, faces, attributes, shader, inputs, height, width, frame)

    def _shade(self, positions, faces, attributes, shader, inputs, height, width, frame):
        import moderngl

        b, v = positions.shape[:2]
        per_draw = max(1, min(b, _MAX_ROWS // height))  # frames stacked in one framebuffer, drawn in one call
        program = self._program(type(shader), shader.slots, shader.frame_slots, shader.fragment_source)
        fbo = self._framebuffer(per_draw * height, width, "colour")
        fbo.use()
        self.ctx.enable(moderngl.DEPTH_TEST)
        program["target"].value = (float(width), float(per_draw * height))
        shader.bind(self.ctx, program, inputs, height, width)
        data = self._vertex_data(positions, attributes, frame, shader.slots, shader.frame_slots, per_draw, height)
        out = np.empty((b, height, width, 4), dtype=np.uint8)
        for start in range(0, b, per_draw):
            n = min(per_draw, b - start)
            fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
            self._draw(program, data[start : start + n], faces, shader.slots, shader.frame_slots, fbo, n, v)
            raw = np.frombuffer(fbo.read(components=4, alignment=1), np.uint8)
            raw = raw.reshape(per_draw, height, width, 4)[::-1, ::-1]  # OpenGL rows run bottom-up
            out[start : start + n] = raw[:n]
        rgba = torch.from_numpy(out)
        return rgba[..., :3], rgba[..., 3] > 127
