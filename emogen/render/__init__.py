"""Rendering as composition (pytorch3d style): rasterisers → :class:`Fragments` → shaders, and the animators.

* :class:`TorchRasterizer` / :class:`~emogen.render.gl.GLRasterizer` — meshes → :class:`Fragments`;
* :class:`MeshRenderer` — a rasteriser composed with a shader (one OpenGL pass when both are GL);
* :class:`~emogen.render.portrait.PortraitAnimator` — the 2D talking-head renderer (a photo + motion → frames);
* :func:`~emogen.render.mediapipe_face.draw_face_landmarks` — landmarks → conditioning images for MediaPipe-face
  ControlNets.

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
    "canonical_face_rig",
    "draw_face_landmarks",
    "draw_face_landmarks_batch",
    "egl_available",
    "get_rasterizer",
]

_LAZY = {
    "GLRasterizer": ".gl",
    "egl_available": ".gl",
    "MeshRenderer": ".renderer",
    "PortraitAnimator": ".portrait",
    "PreparedPortrait": ".portrait",
    "canonical_face_rig": ".mediapipe_face",
    "draw_face_landmarks": ".mediapipe_face",
    "draw_face_landmarks_batch": ".mediapipe_face",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
