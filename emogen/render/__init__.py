"""Rendering: rasterisers (moderngl / torch) and the shading helpers the animators use."""

from .raster import Fragments, ModernGLRasterizer, Rasterizer, TorchRasterizer, egl_available, get_rasterizer

__all__ = ["Fragments", "Rasterizer", "TorchRasterizer", "ModernGLRasterizer", "get_rasterizer", "egl_available"]
