"""``MeshRenderer``: a rasteriser composed with a shader (pytorch3d's ``MeshRenderer(rasterizer, shader)``).

``renderer(positions, faces, attributes, inputs, height, width)`` rasterises the meshes into
:class:`~emogen.render.raster.Fragments` and shades them. When both halves are OpenGL
(:class:`~emogen.render.gl.GLRasterizer` + a :class:`~emogen.render.gl.GLShader`) the two run as one GPU program
(the fragments never leave the GL context); otherwise the shader is a torch callable
``shader(fragments, inputs) -> (rgb, covered)``.
"""

from __future__ import annotations

import torch

from .gl import GLRasterizer, GLShader
from .raster import Rasterizer

__all__ = ["MeshRenderer"]


class MeshRenderer:
    """Rasteriser + shader.

    Args:
        rasterizer: a :class:`~emogen.render.raster.Rasterizer`.
        shader: a torch shader (``shader(fragments, inputs)``) or, with a GL rasteriser, a
            :class:`~emogen.render.gl.GLShader`.
    """

    def __init__(self, rasterizer: Rasterizer, shader) -> None:
        if isinstance(shader, GLShader) and not isinstance(rasterizer, GLRasterizer):
            raise TypeError(f"A GLSL shader needs the OpenGL rasteriser, got {type(rasterizer).__name__}.")
        self.rasterizer = rasterizer
        self.shader = shader

    @property
    def fused(self) -> bool:
        """Whether rasterisation and shading run as one OpenGL pass."""
        return isinstance(self.shader, GLShader)

    def __call__(
        self,
        positions: torch.Tensor,
        faces: torch.Tensor,
        attributes: torch.Tensor,
        inputs,
        height: int,
        width: int,
        frame: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Render a batch of meshes sharing one triangle list.

        Args:
            positions (`torch.Tensor` of shape `(batch, vertices, 3)`): x, y in pixels, depth (larger is nearer).
            faces (`torch.Tensor` of shape `(faces, 3)`).
            attributes (`torch.Tensor` of shape `(batch, vertices, channels)`).
            inputs: the shader's own inputs (textures, uniforms).
            height, width: output size in pixels.
            frame (`torch.Tensor` of shape `(batch, 4k)`, *optional*): per-frame values for a GL shader.

        Returns:
            ``(rgb uint8 (batch, height, width, 3), covered bool (batch, height, width))``.
        """
        if self.fused:
            return self.rasterizer.draw(positions, faces, attributes, self.shader, inputs, height, width, frame)
        return self.shader(self.rasterizer(positions, faces, attributes, height, width), inputs)
