"""Small helpers shared across emogen: moving typed values between devices, the sRGB transfer functions."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import TypeVar

import numpy as np
import torch

__all__ = ["dataclass_to", "linear_to_srgb", "srgb_to_linear"]

T = TypeVar("T")


def dataclass_to(value: T, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> T:
    """A copy of the (frozen) dataclass ``value`` with every tensor field moved to ``device``; floating-point
    tensors are also cast to ``dtype`` (integer and bool tensors keep theirs). Other fields are shared."""
    changes = {}
    for f in fields(value):
        x = getattr(value, f.name)
        if isinstance(x, torch.Tensor):
            changes[f.name] = x.to(device=device, dtype=dtype if dtype is not None and x.is_floating_point() else None)
    return replace(value, **changes)


def srgb_to_linear(c):
    """sRGB-encoded values in [0, 1] → linear light (IEC 61966-2-1), for a ``torch.Tensor`` or anything numpy takes
    (returned as the same kind; values are clipped to [0, 1] first)."""
    if isinstance(c, torch.Tensor):
        c = c.clamp(0.0, 1.0)
        return torch.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    c = np.clip(np.asarray(c, dtype=np.float64), 0.0, 1.0)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c):
    """Linear light in [0, 1] → sRGB-encoded values (IEC 61966-2-1), for a ``torch.Tensor`` or anything numpy takes
    (returned as the same kind; values are clipped to [0, 1] first)."""
    if isinstance(c, torch.Tensor):
        c = c.clamp(0.0, 1.0)
        return torch.where(c <= 0.0031308, 12.92 * c, 1.055 * c.clamp(min=1e-12) ** (1 / 2.4) - 0.055)
    c = np.clip(np.asarray(c, dtype=np.float64), 0.0, 1.0)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.maximum(c, 1e-12) ** (1 / 2.4) - 0.055)
