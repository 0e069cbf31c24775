"""Cameras and lights for rendering head avatars: an orbit camera around the head, a key light fixed to it."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = ["Lighting", "OrbitCamera", "orbit_rotation", "project"]


@dataclass(frozen=True)
class Lighting:
    """A key light fixed to the camera plus ambient light.

    The photo texture already holds the photo's own shading, so the default light is soft: mostly ambient, with
    enough direction to model the head as it turns.

    Args:
        direction: towards the light in camera axes (x right, y up, z to the viewer).
        ambient: light reaching every surface.
        diffuse: strength of the key light (Lambert).
        specular: strength of the skin's highlight (Blinn-Phong); the eyes use a sharper, wet one.
        shininess: Blinn-Phong exponent of the skin.
    """

    direction: tuple[float, float, float] = (0.35, 0.45, 1.0)
    ambient: float = 0.62
    diffuse: float = 0.45
    specular: float = 0.05
    shininess: float = 24.0

    def __post_init__(self) -> None:
        for name in ("ambient", "diffuse", "specular", "shininess"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"Lighting.{name} must be a non-negative number, got {value!r}.")
        if len(self.direction) != 3 or not any(self.direction):
            raise ValueError(f"Lighting.direction must be a non-zero 3-vector, got {self.direction!r}.")

    def unit_direction(self) -> torch.Tensor:
        d = torch.tensor(self.direction, dtype=torch.float32)
        return d / d.norm()


@dataclass(frozen=True)
class OrbitCamera:
    """A perspective camera orbiting the head.

    Args:
        yaw: degrees around the vertical axis, with a MotionTrack's sign: the head appears turned by ``yaw``
            (positive turns the nose towards the image right, showing the subject's right cheek).
        pitch: degrees, likewise: positive looks down on the head (the nose appears tipped down).
        distance: metres from ``target``; ``None`` frames the head and neck.
        fov: vertical field of view, degrees.
        target: the point looked at (metres, avatar axes); ``None``: the middle of the head and neck.
    """

    yaw: float = 0.0
    pitch: float = 0.0
    distance: float | None = None
    fov: float = 20.0
    target: tuple[float, float, float] | None = None

    def __post_init__(self) -> None:
        if not 1.0 <= self.fov <= 120.0:
            raise ValueError(f"fov must be in [1, 120] degrees, got {self.fov!r}.")
        if self.distance is not None and not (math.isfinite(self.distance) and self.distance > 0.05):
            raise ValueError(f"distance must be more than 0.05 m, got {self.distance!r}.")


def orbit_rotation(yaw: torch.Tensor, pitch: torch.Tensor) -> torch.Tensor:
    """World → camera rotations ``(b, 3, 3)`` for orbit angles in radians ``(b,)``."""
    cy, sy, cp, sp = yaw.cos(), yaw.sin(), pitch.cos(), pitch.sin()
    one, zero = torch.ones_like(yaw), torch.zeros_like(yaw)
    # turn the world by yaw about y and tip it by pitch about x: the head appears turned as by a MotionTrack's pose
    ry = torch.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1).reshape(-1, 3, 3)
    rx = torch.stack([one, zero, zero, zero, cp, -sp, zero, sp, cp], -1).reshape(-1, 3, 3)
    return rx @ ry


def project(
    points: torch.Tensor,
    rotation: torch.Tensor,
    target: torch.Tensor,
    distance: float,
    fov: float,
    height: int,
    width: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Project world points ``(b, V, 3)`` to pixels with depth for the rasterisers.

    Returns:
        ``(positions (b, V, 3), camera points (b, V, 3))``: x, y in pixels (y down), depth larger for nearer
        points (within (-1, 1) for points less than 0.5 m from the target); and the points in camera axes.
    """
    cam = torch.einsum("bij,bvj->bvi", rotation, points - target)
    z = cam[..., 2] - distance  # the camera looks down -z
    f = 0.5 * height / math.tan(math.radians(fov) / 2)
    s = f / (-z).clamp(min=1e-3)
    px = 0.5 * width + cam[..., 0] * s
    py = 0.5 * height - cam[..., 1] * s
    return torch.stack([px, py, cam[..., 2] / 0.5], -1), cam
