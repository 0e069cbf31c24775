"""Triangle rasterisers producing interpolated vertex attributes per pixel (a G-buffer), pytorch3d style.

Two interchangeable backends share one contract, :meth:`Rasterizer.__call__`:

* :class:`ModernGLRasterizer` draws with OpenGL through ``moderngl`` on a headless EGL context (Mesa llvmpipe on a
  CPU machine, the GPU's driver elsewhere). Fastest on CPU.
* :class:`TorchRasterizer` is vectorised torch (CPU or CUDA, batched, differentiable in the attributes): the
  pixel span of every (triangle, row) is computed from the edge functions, every candidate pixel of every span is
  tested at once, and the z-buffer is resolved with ``scatter_reduce``.

Conventions: positions are pixel coordinates ``(x right, y down)`` of the output grid, pixel ``(i, j)`` covers
``[j, j+1) × [i, i+1)`` and is sampled at its centre; the third coordinate is a depth where **larger is nearer**
(the nearest triangle wins). Attributes are interpolated linearly in screen space (no perspective correction:
the 2D warp is affine per triangle).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

logger = logging.getLogger(__name__)

__all__ = ["Fragments", "Rasterizer", "TorchRasterizer", "ModernGLRasterizer", "get_rasterizer", "egl_available"]


@dataclass(frozen=True)
class Fragments:
    """Rasteriser output.

    Args:
        attributes (`torch.Tensor` of shape `(batch, height, width, channels)`): interpolated vertex attributes
            (zero where no triangle covers the pixel).
        mask (`torch.Tensor` of shape `(batch, height, width)`, bool): covered pixels.
    """

    attributes: torch.Tensor
    mask: torch.Tensor


class Rasterizer:
    """Base class: ``rasterizer(positions, faces, attributes, height, width) -> Fragments``."""

    name = "base"

    def __call__(
        self, positions: torch.Tensor, faces: torch.Tensor, attributes: torch.Tensor, height: int, width: int
    ) -> Fragments:
        """Rasterise a batch of meshes sharing one triangle list.

        Args:
            positions (`torch.Tensor` of shape `(batch, vertices, 3)`): x, y in pixels, depth (larger is nearer).
            faces (`torch.Tensor` of shape `(faces, 3)`, int64).
            attributes (`torch.Tensor` of shape `(batch, vertices, channels)`).
            height, width: output size in pixels.
        """
        raise NotImplementedError


class TorchRasterizer(Rasterizer):
    """Vectorised torch rasteriser (any device).

    Args:
        max_candidates: upper bound of (triangle, pixel) pairs processed at once; larger batches are split.
    """

    name = "torch"

    def __init__(self, max_candidates: int = 6_000_000) -> None:
        self.max_candidates = int(max_candidates)

    def __call__(self, positions, faces, attributes, height, width) -> Fragments:
        b = positions.shape[0]
        c = attributes.shape[-1]
        dev = positions.device
        pos = positions.float()
        out = attributes.new_zeros(b * height * width, c)
        best = torch.full((b * height * width,), float("-inf"), device=dev)
        tri = pos[:, faces]  # (b, f, 3 corners, 3)
        xy = tri[..., :2]
        lo = (xy.amin(2) - 0.5).ceil().clamp(min=0)
        hi = (xy.amax(2) - 0.5).floor()
        hi = torch.stack([hi[..., 0].clamp(max=width - 1), hi[..., 1].clamp(max=height - 1)], -1)
        size = (hi - lo + 1).clamp(min=0)
        # Edge functions as planes: l_i(x, y) = a_i x + b_i y + c_i (barycentric i), depth likewise.
        x0, y0, x1, y1, x2, y2 = (tri[..., k, d] for k in range(3) for d in range(2))
        area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
        ok = area.abs() > 1e-9
        inv = torch.where(ok, 1.0 / torch.where(ok, area, torch.ones_like(area)), torch.zeros_like(area))
        rows = []
        for (xa, ya), (xb, yb) in (((x1, y1), (x2, y2)), ((x2, y2), (x0, y0)), ((x0, y0), (x1, y1))):
            rows.append(torch.stack([(ya - yb) * inv, (xb - xa) * inv, (xa * yb - xb * ya) * inv], -1))
        rows[0] = torch.where(ok.unsqueeze(-1), rows[0], rows[0].new_tensor([0.0, 0.0, -1.0]))
        planes = torch.stack(rows, -2)  # (b, f, 3, 3)
        zplane = (planes * tri[..., 2].unsqueeze(-1)).sum(-2, keepdim=True)
        coef = torch.cat([planes, zplane], -2).reshape(-1, 12)  # (b·f, 12)
        # Scanline spans: for every (triangle, pixel row) the x range where all three edge functions are ≥ 0, so
        # only pixels (nearly) inside a triangle become candidates, however thin the triangle is.
        nrows = size[..., 1].long().reshape(-1)
        tri_of_row = torch.arange(nrows.numel(), device=dev).repeat_interleave(nrows)
        first_row = (torch.cumsum(nrows, 0) - nrows).repeat_interleave(nrows)
        py = lo.reshape(-1, 2)[tri_of_row, 1] + (torch.arange(tri_of_row.numel(), device=dev) - first_row).float()
        cf = coef[tri_of_row].reshape(-1, 4, 3)[:, :3]  # (r, 3 planes, (a, b, c))
        a = cf[..., 0]
        rest = cf[..., 1] * (py + 0.5).unsqueeze(1) + cf[..., 2] + 1e-5  # a·x + rest ≥ 0
        tiny = a.abs() < 1e-12
        bound = -rest / torch.where(tiny, torch.ones_like(a), a)
        inf = torch.full_like(a, float("inf"))
        lower = torch.where(~tiny & (a > 0), bound, -inf).amax(1)
        upper = torch.where(~tiny & (a < 0), bound, inf).amin(1)
        empty = (tiny & (rest < 0)).any(1)
        x_lo = lo.reshape(-1, 2)[tri_of_row, 0]
        x_hi = x_lo + size.reshape(-1, 2)[tri_of_row, 0] - 1
        start_x = torch.maximum((lower - 0.5).ceil() - 1, x_lo)  # one pixel of slack; the exact test follows
        stop_x = torch.minimum((upper - 0.5).floor() + 1, x_hi)
        counts = torch.where(empty, torch.zeros_like(start_x), (stop_x - start_x + 1).clamp(min=0)).long()
        rows = (tri_of_row, py, start_x)
        csum = counts.cumsum(0)
        nr = counts.numel()
        begin = 0
        while begin < nr:
            base = int(csum[begin - 1]) if begin > 0 else 0
            stop = max(int(torch.searchsorted(csum, base + self.max_candidates, right=True)), begin + 1)
            stop = min(stop, nr)
            self._chunk(begin, stop, counts, rows, coef, faces, attributes, out, best, height, width)
            begin = stop
        mask = torch.isfinite(best).reshape(b, height, width)
        return Fragments(attributes=out.reshape(b, height, width, c), mask=mask)

    def _chunk(self, begin, stop, counts, rows, coef, faces, attributes, out, best, height, width) -> None:
        f = faces.shape[0]
        dev = coef.device
        cnt = counts[begin:stop]
        total = int(cnt.sum())
        if total == 0:
            return
        tri_of_row, row_y, row_x = (r[begin:stop] for r in rows)
        first = (torch.cumsum(cnt, 0) - cnt).repeat_interleave(cnt)
        k = (torch.arange(total, device=dev) - first).float()
        ids = tri_of_row.repeat_interleave(cnt)  # flat (b·f) index per candidate
        px = row_x.repeat_interleave(cnt) + k
        py = row_y.repeat_interleave(cnt)
        cf = coef[ids].reshape(-1, 4, 3)
        lam = cf[..., 0] * (px + 0.5).unsqueeze(1) + cf[..., 1] * (py + 0.5).unsqueeze(1) + cf[..., 2]  # (n, 4)
        inside = lam[:, :3].amin(1) >= -1e-5
        sel = inside.nonzero().squeeze(1)
        if sel.numel() == 0:
            return
        ids, lam = ids[sel], lam[sel]
        bi = ids // f
        key = (bi * height + py[sel].long()) * width + px[sel].long()
        depth = lam[:, 3]
        best.scatter_reduce_(0, key, depth, reduce="amax")
        win = depth >= best[key]
        key, lam, ids, bi = key[win], lam[win, :3], ids[win], bi[win]
        attr = attributes[bi.unsqueeze(1), faces[ids % f]]  # (n, 3, c)
        out[key] = (attr * lam.unsqueeze(-1).to(attr.dtype)).sum(1)


def egl_available() -> bool:
    """Whether a headless OpenGL 3.3 context can be created (cached)."""
    return _GLContext.get() is not None


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
                logger.debug("OpenGL context: %s", cls._ctx.info.get("GL_RENDERER"))
            except Exception as exc:  # noqa: BLE001 - any failure means "no EGL here"
                logger.warning("No headless OpenGL (EGL) context (%s); using the torch rasteriser.", exc)
                cls._ctx = None
        return cls._ctx


_VERT = """
#version 330
in vec3 in_pos;
in vec4 in_a0;
in vec4 in_a1;
in vec4 in_a2;
uniform vec2 size;
out vec4 a0; out vec4 a1; out vec4 a2;
void main() {
    // pixels (y down) -> NDC (y up); depth: larger is nearer -> smaller NDC z
    gl_Position = vec4(in_pos.x / size.x * 2.0 - 1.0, 1.0 - in_pos.y / size.y * 2.0, -in_pos.z, 1.0);
    a0 = in_a0; a1 = in_a1; a2 = in_a2;
}
"""
_FRAG = """
#version 330
in vec4 a0; in vec4 a1; in vec4 a2;
layout(location = 0) out vec4 o0;
layout(location = 1) out vec4 o1;
layout(location = 2) out vec4 o2;
void main() { o0 = a0; o1 = a1; o2 = vec4(a2.xyz, 1.0); }
"""


class ModernGLRasterizer(Rasterizer):
    """OpenGL rasteriser on a headless EGL context (CPU tensors in and out; up to 11 attribute channels).

    Depth must be normalised by the caller to roughly [-1, 1] for the depth test (the animator does this).
    """

    name = "moderngl"
    max_channels = 11

    def __init__(self) -> None:
        ctx = _GLContext.get()
        if ctx is None:
            raise RuntimeError("moderngl could not create a headless EGL context.")
        self.ctx = ctx
        self.prog = ctx.program(vertex_shader=_VERT, fragment_shader=_FRAG)
        self._fbo = None
        self._fbo_size = None

    def _framebuffer(self, height: int, width: int):
        if self._fbo_size != (height, width):
            if self._fbo is not None:
                self._fbo.release()
            ctx = self.ctx
            self._color = [ctx.texture((width, height), 4, dtype="f4") for _ in range(3)]
            self._depth = ctx.depth_renderbuffer((width, height))
            self._fbo = ctx.framebuffer(color_attachments=self._color, depth_attachment=self._depth)
            self._fbo_size = (height, width)
        return self._fbo

    def __call__(self, positions, faces, attributes, height, width) -> Fragments:
        import moderngl
        import numpy as np

        b, v, c = attributes.shape
        if c > self.max_channels:
            raise ValueError(f"ModernGLRasterizer supports at most {self.max_channels} channels, got {c}.")
        device, dtype = attributes.device, attributes.dtype
        fbo = self._framebuffer(height, width)
        fbo.use()
        self.ctx.enable(moderngl.DEPTH_TEST)
        self.prog["size"].value = (float(width), float(height))
        pos = positions.detach().to("cpu", torch.float32)
        att = torch.zeros(b, v, 12)
        att[..., :c] = attributes.detach().to("cpu", torch.float32)
        data = torch.cat([pos, att], -1).numpy()  # (b, v, 15)
        ibo = self.ctx.buffer(faces.to("cpu", torch.int32).numpy().astype(np.int32).tobytes())
        vbo = self.ctx.buffer(reserve=data[0].nbytes)
        vao = self.ctx.vertex_array(
            self.prog, [(vbo, "3f 4f 4f 4f", "in_pos", "in_a0", "in_a1", "in_a2")], index_buffer=ibo
        )
        out = np.empty((b, 3, height, width, 4), dtype=np.float32)
        try:
            for i in range(b):
                vbo.write(np.ascontiguousarray(data[i]).tobytes())
                fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
                vao.render(moderngl.TRIANGLES)
                for a in range(3):
                    out[i, a] = np.frombuffer(fbo.read(attachment=a, dtype="f4", components=4), np.float32).reshape(
                        height, width, 4
                    )
        finally:
            vao.release()
            vbo.release()
            ibo.release()
        # OpenGL rows run bottom-up
        t = torch.from_numpy(out[:, :, ::-1].copy()).permute(0, 2, 3, 1, 4).reshape(b, height, width, 12)
        mask = t[..., 11] > 0.5
        return Fragments(attributes=t[..., :c].to(device=device, dtype=dtype), mask=mask.to(device))


def get_rasterizer(backend: str = "auto", device: torch.device | str = "cpu") -> Rasterizer:
    """Pick a rasteriser.

    Args:
        backend: ``"auto"`` (moderngl on CPU when EGL works, else torch; torch on CUDA), ``"moderngl"`` or
            ``"torch"``.
        device: where the animation tensors live.
    """
    if backend not in ("auto", "moderngl", "torch"):
        raise ValueError(f"backend must be 'auto', 'moderngl' or 'torch', got {backend!r}.")
    if backend == "torch" or (backend == "auto" and torch.device(device).type != "cpu"):
        return TorchRasterizer()
    if egl_available():
        return ModernGLRasterizer()
    if backend == "moderngl":
        logger.warning("moderngl/EGL is unavailable; falling back to the torch rasteriser.")
    return TorchRasterizer()
