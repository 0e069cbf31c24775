"""Rendering head avatars in 3D: an orbit camera, a soft key light, the avatar shader and a turntable helper.

* :class:`AvatarRenderer` — ``renderer(avatar, motion, yaw=, pitch=, size=)`` → uint8 frames;
* :func:`turntable` — a full turn of the camera around an avatar;
* :class:`OrbitCamera`, :class:`Lighting` — the camera and light settings;
* :class:`GLAvatarShader` / :class:`TorchAvatarShader` — the shading, for the OpenGL and torch rasterisers.
"""

from .camera import Lighting, OrbitCamera
from .renderer import AvatarRenderer, turntable
from .shader import AvatarShading, GLAvatarShader, TorchAvatarShader

__all__ = [
    "AvatarRenderer",
    "AvatarShading",
    "GLAvatarShader",
    "Lighting",
    "OrbitCamera",
    "TorchAvatarShader",
    "turntable",
]
