"""Rasterisers: torch vs moderngl agreement, depth test, coverage."""

from __future__ import annotations

import pytest
import torch

from emogen.render import TorchRasterizer, egl_available, get_rasterizer
from emogen.render.gl import GLRasterizer


def _grid_mesh(n: int = 12, size: int = 64, jitter: float = 1.0, batch: int = 2):
    torch.manual_seed(0)
    ys, xs = torch.meshgrid(torch.linspace(4, size - 4, n), torch.linspace(4, size - 4, n), indexing="ij")
    pos = torch.stack([xs, ys, torch.zeros_like(xs)], -1).reshape(-1, 3)
    pos = pos.unsqueeze(0).repeat(batch, 1, 1)
    pos[..., :2] += torch.randn(batch, n * n, 2) * jitter
    idx = torch.arange(n * n).reshape(n, n)
    faces = torch.cat(
        [
            torch.stack([idx[:-1, :-1], idx[1:, :-1], idx[:-1, 1:]], -1).reshape(-1, 3),
            torch.stack([idx[1:, :-1], idx[1:, 1:], idx[:-1, 1:]], -1).reshape(-1, 3),
        ]
    )
    attr = torch.cat([pos[..., :2] / size, torch.rand(batch, n * n, 3)], -1)
    return pos, faces, attr


def test_torch_rasterizer_interpolates_exactly():
    pos, faces, attr = _grid_mesh()
    frag = TorchRasterizer()(pos, faces, attr, 64, 64)
    assert frag.attributes.shape == (2, 64, 64, 5) and frag.mask.shape == (2, 64, 64)
    ys, xs = torch.meshgrid(torch.arange(64) + 0.5, torch.arange(64) + 0.5, indexing="ij")
    # the first two attributes are the position / 64: interpolation must return the pixel centre
    m = frag.mask[0]
    assert torch.allclose(frag.attributes[0, ..., 0][m] * 64, xs[m], atol=1e-2)
    assert torch.allclose(frag.attributes[0, ..., 1][m] * 64, ys[m], atol=1e-2)
    assert 0.7 < m.float().mean() < 0.9


def test_depth_test_nearest_wins():
    pos = torch.tensor([[[0, 0, 0.1], [32, 0, 0.1], [0, 32, 0.1], [0, 0, 0.5], [32, 0, 0.5], [0, 32, 0.5]]]).float()
    faces = torch.tensor([[0, 1, 2], [3, 4, 5]])
    attr = torch.tensor([[[1.0], [1.0], [1.0], [2.0], [2.0], [2.0]]])
    frag = TorchRasterizer()(pos, faces, attr, 32, 32)
    assert (frag.attributes[0, ..., 0][frag.mask[0]] == 2.0).all()
    # area of the triangle: half of 32², within a pixel row
    assert abs(frag.mask[0].sum().item() - 512) < 40


def test_out_of_bounds_and_degenerate_triangles():
    pos = torch.tensor([[[-50, -50, 0], [-10, -50, 0], [-50, -10, 0], [5, 5, 0], [5, 5, 0], [5, 5, 0]]]).float()
    frag = TorchRasterizer()(pos, torch.tensor([[0, 1, 2], [3, 4, 5]]), torch.ones(1, 6, 2), 16, 16)
    assert not frag.mask.any()


def test_chunking_gives_same_result():
    pos, faces, attr = _grid_mesh(n=10, size=48)
    a = TorchRasterizer()(pos, faces, attr, 48, 48)
    b = TorchRasterizer(max_candidates=500)(pos, faces, attr, 48, 48)
    assert torch.equal(a.mask, b.mask)
    assert torch.allclose(a.attributes, b.attributes, atol=1e-6)


@pytest.mark.skipif(not egl_available(), reason="no headless EGL")
def test_moderngl_matches_torch():
    pos, faces, attr = _grid_mesh(n=16, size=96, jitter=1.5)
    a = TorchRasterizer()(pos, faces, attr, 96, 96)
    b = GLRasterizer()(pos, faces, attr, 96, 96)
    assert (a.mask != b.mask).float().mean() < 0.002
    both = a.mask & b.mask
    diff = (a.attributes - b.attributes)[both].abs().amax(-1)
    assert torch.quantile(diff, 0.99) < 1e-3


def test_get_rasterizer_choice():
    assert get_rasterizer("torch").name == "torch"
    assert get_rasterizer("auto", "cpu").name == ("moderngl" if egl_available() else "torch")
    with pytest.raises(ValueError, match="backend"):
        get_rasterizer("vulkan")


def test_egl_failure_falls_back_to_torch(monkeypatch, caplog):
    from emogen.render import gl as raster

    monkeypatch.setattr(raster._GLContext, "_ctx", None)
    monkeypatch.setattr(raster._GLContext, "_tried", True)
    with caplog.at_level("WARNING"):
        r = get_rasterizer("moderngl")
    assert r.name == "torch"
    assert "falling back" in caplog.text


@pytest.mark.skipif(not egl_available(), reason="needs headless EGL")
def test_gl_renders_from_any_thread():
    """One shared context serves every thread (web servers call renderers from worker threads), one at a time."""
    from concurrent.futures import ThreadPoolExecutor

    from emogen.render.gl import GLRasterizer

    pos, faces, attr = _grid_mesh(n=6, size=24, batch=2)
    rasterizer = GLRasterizer()
    expected = rasterizer(pos, faces, attr, 24, 24).attributes
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: rasterizer(pos, faces, attr, 24, 24).attributes, range(8)))
    assert all(torch.equal(r, expected) for r in results)


def test_torch_rasterizer_gradients_flow_to_attributes():
    pos, faces, attr = _grid_mesh(n=6, size=24, batch=1)
    attr = attr.clone().requires_grad_(True)
    frag = TorchRasterizer()(pos, faces, attr, 24, 24)
    frag.attributes.sum().backward()
    assert attr.grad is not None and attr.grad.abs().sum() > 0


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    pos, faces, attr = _grid_mesh(n=16, size=96)
    a = TorchRasterizer()(pos, faces, attr, 96, 96)
    b = TorchRasterizer()(pos.cuda(), faces.cuda(), attr.cuda(), 96, 96)
    assert torch.equal(a.mask, b.mask.cpu())
    assert torch.allclose(a.attributes, b.attributes.cpu(), atol=1e-4)
