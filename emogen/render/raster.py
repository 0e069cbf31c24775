"""Triangle rasterisers producing interpolated vertex attributes per pixel (a G-buffer), pytorch3d style.

Two interchangeable backends share one contract, :meth:`Rasterizer.__call__`:

* :class:`~emogen.render.gl.GLRasterizer` draws with OpenGL through ``moderngl`` on a headless EGL context (Mesa
  llvmpipe on a CPU machine, the GPU's driver elsewhere). Fastest on CPU.
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

__all__ = ["Fragments", "Rasterizer", "TorchRasterizer", "get_rasterizer"]


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
    from .gl import GLRasterizer, egl_available

    if egl_available():
        return GLRasterizer()
    if backend == "moderngl":
        logger.warning("moderngl/EGL is unavailable; falling back to the torch rasteriser.")
    return TorchRasterizer()
