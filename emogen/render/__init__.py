"""Rendering as composition (pytorch3d style): rasterisers → :class:`Fragments` → shaders, and the animators.

* :class:`TorchRasterizer` / :class:`~emogen.render.gl.GLRasterizer` — meshes → :class:`Fragments`;
* :class:`MeshRenderer` — a rasteriser composed with a shader (one OpenGL pass when both are GL);
* :class:`~emogen.render.portrait.PortraitAnimator` — the 2D talking-head renderer (a photo + motion → frames).

Heavy modules (moderngl, mediapipe) load only when used.
"""

from __future__ import annotations

from .raster import Fragments, Rasterizer, TorchRasterizer, get_rasterizer

__all__ = [
    "Fragments",
    "GLRasterizer",
    "MeshRenderer",
    "PortraitAnimator",
    "PreparedPortrait",
    "Rasterizer",
    "TorchRasterizer",
    "egl_available",
    "get_rasterizer",
]

_LAZY = {
    "GLRasterizer": ".gl",
    "egl_available": ".gl",
    "MeshRenderer": ".renderer",
    "PortraitAnimator": ".portrait",
    "PreparedPortrait": ".portrait",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
