"""Small helpers shared by emogen's typed values."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import TypeVar

import torch

__all__ = ["dataclass_to"]

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
