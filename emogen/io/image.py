"""Image input: every entry point reads and normalises images here, the same way.

:func:`read_image` is the one decoding layer for image files: a missing, empty, truncated or corrupt file, a file
that is not an image, or one too large to decode is a :class:`~emogen.io.errors.UnreadableInputError` (a
``ValueError``) naming the file, never a decoder's own exception. It also honours a photo's EXIF orientation and
reads 16-bit images at their full range. :func:`to_rgb_uint8` accepts paths, PIL images, arrays and tensors.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np
import torch

from .errors import UnreadableInputError, decoder_reason
from .limits import MAX_IMAGE_PIXELS, WorkLimitError

if TYPE_CHECKING:
    import PIL.Image

__all__ = ["IMAGE_FORMATS", "PortraitInput", "read_image", "to_rgb_uint8"]

#: What every entry point accepts as an image: a path, a PIL image, an array or a tensor.
PortraitInput = Union[np.ndarray, torch.Tensor, "PIL.Image.Image", str, os.PathLike]  # noqa: UP007 (forward ref)

#: Image files accepted (anything Pillow decodes; these are the common ones).
IMAGE_FORMATS = "PNG, JPEG, WebP, BMP, TIFF, GIF"


def _check_pixels(width: int, height: int, what: str) -> None:
    if width * height > MAX_IMAGE_PIXELS:
        raise WorkLimitError(
            f"{what} is {width}x{height} pixels ({width * height / 1e6:.0f} MP); the largest accepted image has "
            f"{MAX_IMAGE_PIXELS / 1e6:.0f} MP. Scale it down first."
        )


def _pil_to_array(im: PIL.Image.Image) -> np.ndarray:
    """A decoded PIL image → uint8 RGB, or float in [0, 1] for images deeper than 8 bits."""
    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        # 16-bit and 32-bit grayscale: scale by the depth the values fit, not by clipping at 255.
        arr = np.asarray(im).astype(np.float64)
        if im.mode.startswith("I;16"):
            return arr / 65535.0
        finite = arr[np.isfinite(arr)]
        top = float(finite.max()) if finite.size else 1.0
        low = float(finite.min()) if finite.size else 0.0
        if low >= 0.0 and top <= 1.0 and im.mode == "F":
            return np.nan_to_num(arr, nan=0.0)
        scale = 255.0 if top <= 255.0 else 65535.0 if top <= 65535.0 else top
        return np.clip(np.nan_to_num(arr, nan=0.0), 0.0, scale) / scale
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        return np.asarray(im.convert("RGBA"))
    return np.asarray(im.convert("RGB"))


def read_image(path: str | os.PathLike, *, name: str = "image") -> np.ndarray:
    """Decode an image file into an array (uint8 RGB/RGBA, or float in [0, 1] for 16-bit images).

    The EXIF orientation of photos is applied (as viewers show them); animated files give their first frame.

    Raises:
        UnreadableInputError: no such file, a folder, an empty file, a file that is not an image, or one that is
            truncated or corrupt (the message names the file and what is accepted).
        WorkLimitError: more than :data:`~emogen.io.limits.MAX_IMAGE_PIXELS` pixels.
    """
    from PIL import Image, ImageOps

    path = Path(path)
    what = f"{name} {str(path)!r}"
    if not path.exists():
        raise UnreadableInputError(f"{name}: no such file {str(path)!r}.")
    if path.is_dir():
        raise UnreadableInputError(f"{what} is a folder; give an image file ({IMAGE_FORMATS}).")
    if path.stat().st_size == 0:
        raise UnreadableInputError(f"{what} is empty (0 bytes); give an image file ({IMAGE_FORMATS}).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                _check_pixels(im.width, im.height, what)
                im.load()  # decode now: truncated or corrupt data fails here, not later in a pipeline
                im = ImageOps.exif_transpose(im)
                return _pil_to_array(im)
    except WorkLimitError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise WorkLimitError(
            f"{what} is too large to decode; the largest accepted image has {MAX_IMAGE_PIXELS / 1e6:.0f} MP."
        ) from None
    except Image.UnidentifiedImageError:
        raise UnreadableInputError(
            f"{what} is not an image file (its contents are not a known image format); accepted: {IMAGE_FORMATS}."
        ) from None
    except Exception as err:  # every other decoder failure: truncated data, bad chunks, broken headers, …
        raise UnreadableInputError(
            f"{what} could not be decoded ({decoder_reason(err)}): the file looks truncated or corrupt; "
            f"accepted: {IMAGE_FORMATS}."
        ) from None


def to_rgb_uint8(image, *, name: str = "image") -> np.ndarray:
    """Convert an image to a contiguous ``uint8`` RGB array of shape ``(H, W, 3)``.

    Accepted: a path (decoded by :func:`read_image`); a PIL image (any mode, 16-bit included); a numpy array or
    torch tensor of shape ``(H, W)`` (grayscale), ``(H, W, 1|3|4)`` (RGBA is composited on white) or ``(3, H, W)``
    (channels-first tensors), either ``uint8`` in [0, 255], ``uint16`` in [0, 65535] (16-bit images) or floating
    point in [0, 1].

    Raises:
        TypeError: for other types.
        ValueError: for unreadable files (:class:`~emogen.io.errors.UnreadableInputError`), other shapes, empty
            images, non-finite values or too many pixels.
    """
    if isinstance(image, (str, os.PathLike)):
        return to_rgb_uint8(read_image(image, name=name), name=name)
    try:
        from PIL import Image

        if isinstance(image, Image.Image):
            _check_pixels(image.width, image.height, name)
            try:
                arr = _pil_to_array(image)
            except Exception as err:  # a lazily opened PIL image decodes here
                raise UnreadableInputError(f"{name} could not be decoded ({decoder_reason(err)}).") from None
            return to_rgb_uint8(arr, name=name)
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
    _check_pixels(arr.shape[1], arr.shape[0], name)
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
    elif arr.dtype == np.uint16:
        f = arr.astype(np.float32) / 65535.0
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
