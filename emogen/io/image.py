"""Image input normalisation: every entry point accepts the same kinds of images."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np
import torch

if TYPE_CHECKING:
    import PIL.Image

__all__ = ["PortraitInput", "to_rgb_uint8"]

#: What every entry point accepts as an image: a path, a PIL image, an array or a tensor.
PortraitInput = Union[np.ndarray, torch.Tensor, "PIL.Image.Image", str, os.PathLike]  # noqa: UP007 (forward ref)


def to_rgb_uint8(image, *, name: str = "image") -> np.ndarray:
    """Convert an image to a contiguous ``uint8`` RGB array of shape ``(H, W, 3)``.

    Accepted: a path; a PIL image (any mode); a numpy array or torch tensor of shape ``(H, W)`` (grayscale),
    ``(H, W, 1|3|4)`` (RGBA is composited on white) or ``(3, H, W)`` (channels-first tensors), either ``uint8``
    in [0, 255] or floating point in [0, 1].

    Raises:
        TypeError: for other types.
        ValueError: for other shapes, empty images or non-finite values.
    """
    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        if not path.is_file():
            raise ValueError(f"{name}: no such file {str(path)!r}.")
        from PIL import Image

        with Image.open(path) as im:
            return to_rgb_uint8(
                np.asarray(im.convert("RGBA") if im.mode in ("RGBA", "LA", "P") else im.convert("RGB"))
            )
    try:
        from PIL import Image

        if isinstance(image, Image.Image):
            return to_rgb_uint8(np.asarray(image.convert("RGBA") if "A" in image.getbands() else image.convert("RGB")))
    except ImportError:  # pragma: no cover - PIL ships with scikit-image / gradio
        pass
    if isinstance(image, torch.Tensor):
        t = image.detach().cpu()
        if t.ndim == 3 and t.shape[0] in (1, 3, 4) and t.shape[-1] not in (1, 3, 4):
            t = t.permute(1, 2, 0)
        image = t.numpy()
    if not isinstance(image, np.ndarray):
        raise TypeError(
            f"{name} must be a path, a PIL image, a numpy array or a torch tensor, got {type(image).__name__}."
        )
    arr = image
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)):
        raise ValueError(f"{name} must have shape (H, W), (H, W, 3) or (H, W, 4), got {arr.shape}.")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}).")
    if arr.dtype == np.uint8:
        if arr.ndim == 3 and arr.shape[-1] == 3:
            return np.ascontiguousarray(arr)
        if arr.ndim == 2:
            return np.ascontiguousarray(np.repeat(arr[..., None], 3, axis=-1))
        f = arr.astype(np.float32) / 255.0
    elif arr.dtype == bool:
        f = arr.astype(np.float32)
    elif np.issubdtype(arr.dtype, np.floating):
        f = arr.astype(np.float32)
        if not np.isfinite(f).all():
            raise ValueError(f"{name} contains NaN or infinite values.")
        if f.min() < -1e-3 or f.max() > 1.0 + 1e-3:
            raise ValueError(f"Floating-point {name} must lie in [0, 1], got range [{f.min():.3g}, {f.max():.3g}].")
    elif np.issubdtype(arr.dtype, np.integer):
        if arr.min() < 0 or arr.max() > 255:
            raise ValueError(f"Integer {name} must lie in [0, 255], got range [{arr.min()}, {arr.max()}].")
        f = arr.astype(np.float32) / 255.0
    else:
        raise TypeError(f"{name} has unsupported dtype {arr.dtype}; use uint8 or float in [0, 1].")
    if f.ndim == 2:
        f = np.repeat(f[..., None], 3, axis=-1)
    elif f.shape[-1] == 4:
        alpha = f[..., 3:4]
        f = f[..., :3] * alpha + (1.0 - alpha)
    return np.ascontiguousarray(np.clip(np.rint(f * 255.0), 0, 255).astype(np.uint8))
